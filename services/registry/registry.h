#ifndef PRESENCE_SERVICES_REGISTRY_REGISTRY_H_
#define PRESENCE_SERVICES_REGISTRY_REGISTRY_H_

// The registry's domain service: every rule about organizations lives here,
// in plain C++ over protobuf messages and absl::Status. The gRPC handler only
// translates; storage is reached through storage::KvStore.
//
// Where each job lives:
//   registry_validation.*  rules about one organization (fields, aliases,
//                          output-only fields, updates)
//   registry_keys.*        key layout, names, etags, lock keys
//   registry_mutation.*    the mutation engine (locks, checks against the
//                          store, commit) and the plan it is given
//   registry_writes.cc     Create/BatchCreate/Update/Delete/Undelete plans
//   registry_reads.cc      Get/BatchGet/List/Lookup/ListRevisions
//   registry_changes.cc    the change log (watch, retention)
//   registry.cc            opening, record reads shared by all of them
//
// Storage layout (tables of the KvStore; "BE64(n)" is n as 8 big-endian
// bytes, so numeric order is key order):
//   records   {id}                     -> Organization, current version
//   revisions {id} 0x00 BE64(revision) -> Organization as of that revision
//             (every version; 0x00 cannot occur in an id, so a prefix scan
//             of "{id}\0" yields exactly one organization's history)
//   changes   BE64(revision)           -> OrganizationChange (the change log;
//             the oldest entries beyond the retention are range-deleted)
//   index     "a/" lower(alias)        -> {id} for the acronym and aliases of
//             live organizations (enforces uniqueness, serves Lookup)
//             "p/" {parent id} 0x00 {id} -> "" for every organization with a
//             parent, deleted or not (serves delete checks and the parent
//             filter)
//   meta      "r/" {request_id}        -> internal.StoredRequest
// Values are binary protobuf. Every mutation writes all of its keys in one
// atomic, synced batch.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/call_context.h"
#include "services/common/commit_sequencer.h"
#include "services/common/key_locks.h"
#include "services/common/storage/kv_store.h"

namespace presence::registry::v1 {
class BatchCreateOrganizationsRequest;
class BatchCreateOrganizationsResponse;
class BatchGetOrganizationsRequest;
class BatchGetOrganizationsResponse;
class CreateOrganizationRequest;
class DeleteOrganizationRequest;
class ListOrganizationRevisionsRequest;
class ListOrganizationRevisionsResponse;
class ListOrganizationsRequest;
class ListOrganizationsResponse;
class Organization;
class OrganizationChange;
class UndeleteOrganizationRequest;
class UpdateOrganizationRequest;
}  // namespace presence::registry::v1

namespace presence::registry {

// The registry's tables, in the order OpenRocksDbKvStore must be given them
// (see kTableNames).
enum Table : storage::TableId {
  kRecords = 0,
  kRevisions = 1,
  kChanges = 2,
  kIndex = 3,
  kMeta = 4,
};
inline constexpr const char* kTableNames[] = {"records", "revisions",
                                              "changes", "index", "meta"};
inline constexpr int64_t kSchemaVersion = 1;

struct RegistryOptions {
  // How many of the most recent changes the change log keeps for
  // WatchOrganizations; older start revisions are OUT_OF_RANGE. At least 1.
  int64_t change_retention = 100000;
  // The clock for create/update/delete times.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// Thread-safe. Reads never block on writers; writers block only on writers
// touching the same organization, alias or parent.
class Registry {
 public:
  // Opens the registry over `store`, which must have been opened with
  // kTableNames. Recovers the current revision from the change log.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(
      std::unique_ptr<storage::KvStore> store, RegistryOptions options);

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // True if no organization was ever written.
  absl::StatusOr<bool> IsEmpty();

  // Mutations record `call.principal` with the revision.
  // Errors of every method: INVALID_ARGUMENT naming the field and value,
  // NOT_FOUND naming the resource, and storage errors as returned by the
  // store. Method-specific errors are listed in the API
  // (proto/presence/registry/v1/registry.proto).
  absl::StatusOr<v1::Organization> GetOrganization(absl::string_view name);
  absl::StatusOr<v1::BatchGetOrganizationsResponse> BatchGetOrganizations(
      const v1::BatchGetOrganizationsRequest& request);
  absl::StatusOr<v1::ListOrganizationsResponse> ListOrganizations(
      const v1::ListOrganizationsRequest& request);
  absl::StatusOr<v1::Organization> CreateOrganization(
      const v1::CreateOrganizationRequest& request, const CallContext& call = {});
  absl::StatusOr<v1::BatchCreateOrganizationsResponse> BatchCreateOrganizations(
      const v1::BatchCreateOrganizationsRequest& request,
      const CallContext& call = {});
  absl::StatusOr<v1::Organization> UpdateOrganization(
      const v1::UpdateOrganizationRequest& request, const CallContext& call = {});
  absl::StatusOr<v1::Organization> DeleteOrganization(
      const v1::DeleteOrganizationRequest& request, const CallContext& call = {});
  absl::StatusOr<v1::Organization> UndeleteOrganization(
      const v1::UndeleteOrganizationRequest& request, const CallContext& call = {});
  absl::StatusOr<v1::Organization> LookupOrganization(absl::string_view alias);
  absl::StatusOr<v1::ListOrganizationRevisionsResponse>
  ListOrganizationRevisions(const v1::ListOrganizationRevisionsRequest& request);

  // --- Change feed (WatchOrganizations) ---

  // The revision up to which every change is committed and readable.
  int64_t CurrentRevision() const { return sequencer_.watermark(); }

  // Validates a watch's start revision (changes after it are streamed; 0 is
  // the beginning of history). OUT_OF_RANGE if the change log no longer holds
  // the changes after it, or if it is ahead of the current revision;
  // INVALID_ARGUMENT if negative.
  absl::Status CheckWatchStart(int64_t start_revision);

  // Returns up to `max_changes` changes with revisions in
  // (after, CurrentRevision()], in order and without gaps (empty when none).
  // OUT_OF_RANGE if retention removed the change after `after` meanwhile.
  absl::StatusOr<std::vector<v1::OrganizationChange>> ReadChanges(
      int64_t after, size_t max_changes);

  // Calls `listener` with the new revision whenever CurrentRevision()
  // advances. See CommitSequencer::AddListener for the rules.
  CommitSequencer::ListenerId Subscribe(CommitSequencer::Listener listener) {
    return sequencer_.AddListener(std::move(listener));
  }
  void Unsubscribe(CommitSequencer::ListenerId id) {
    sequencer_.RemoveListener(id);
  }

  // Backs the database up to `dir` (which must not exist).
  absl::Status Checkpoint(const std::string& dir);
  storage::KvStore* store() { return store_.get(); }

 private:
  struct Plan;
  using PlanFn = std::function<absl::StatusOr<Plan>(
      const std::optional<v1::Organization>& current)>;
  using LockKeysFn = std::function<std::vector<std::string>(
      const std::optional<v1::Organization>& current)>;

  Registry(std::unique_ptr<storage::KvStore> store, RegistryOptions options,
           int64_t last_revision);

  absl::StatusOr<std::optional<v1::Organization>> ReadRecord(
      absl::string_view id, const storage::Snapshot* snapshot = nullptr);
  absl::StatusOr<v1::Organization> ReadRevision(absl::string_view id,
                                                int64_t revision);
  // Checks that `name` names a live organization; `field` is used in errors.
  absl::Status CheckLiveReference(absl::string_view name,
                                  absl::string_view field);
  // The one write path: locks, re-reads, plans, checks uniqueness, commits.
  absl::StatusOr<v1::Organization> Mutate(absl::string_view id,
                                          absl::string_view request_id,
                                          const CallContext& call,
                                          bool validate_only,
                                          const LockKeysFn& lock_keys,
                                          const PlanFn& plan);
  absl::Status CheckAliasesFree(const v1::Organization& org,
                                const std::optional<v1::Organization>& current);
  absl::Status CheckNoLiveChildren(absl::string_view id);
  absl::Status CheckNoCycle(absl::string_view id, absl::string_view parent_name);
  absl::Status CheckAppointers(const v1::Organization& org);
  // Sets the output fields a mutation gives `org` at `revision`.
  void Stamp(v1::Organization* org, int64_t revision, int type,
             const std::string& principal) const;
  // Adds everything one mutation writes to `batch`: the record (conditional
  // on it still being `seen`), its history and change-log entries and the
  // index updates from `current` to `org`.
  void AppendMutation(absl::string_view id,
                      const std::optional<std::string>& seen,
                      const std::optional<v1::Organization>& current,
                      const v1::Organization& org, int type,
                      const std::string& principal,
                      storage::WriteBatch* batch) const;
  // Adds the trimming of the change log to the retention to `batch` when
  // one of the revisions [first, first + n) is due for it.
  void AppendChangeLogTrim(int64_t first, int64_t n,
                           storage::WriteBatch* batch) const;
  // Writes `batch` (trimming the change log if due) and finishes revisions
  // [first, first + n). On failure the registry refuses further writes.
  absl::Status Commit(storage::WriteBatch* batch, int64_t first, int64_t n);

  // Set to the first revision of a write that failed after its revisions
  // were allocated: they may never appear in the change log, so no later
  // revision is handed out (writes fail with UNAVAILABLE until a restart)
  // and readers of the change log stop before them.
  absl::Mutex failure_mu_;
  int64_t failed_revision_ ABSL_GUARDED_BY(failure_mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(failure_mu_);

  std::unique_ptr<storage::KvStore> store_;
  RegistryOptions options_;
  CommitSequencer sequencer_;
  KeyLocks locks_;
};

// Returns the id in "organizations/{id}", or INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::string> ParseOrganizationName(absl::string_view name,
                                                  absl::string_view field);
// True if `id` matches ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$.
bool IsValidOrganizationId(absl::string_view id);

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_REGISTRY_H_
