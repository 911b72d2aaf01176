#ifndef PRESENCE_SERVICES_REGISTRY_REGISTRY_H_
#define PRESENCE_SERVICES_REGISTRY_REGISTRY_H_

// The registry's domain service: every rule about organizations lives here,
// in plain C++ over protobuf messages and absl::Status. The gRPC handler only
// translates; storage is reached through storage::KvStore.
//
// Where each job lives:
//   registry_validation.*  rules about one organization (fields, aliases,
//                          output-only fields, updates)
//   registry_keys.*        key layout, names, etags
//   registry_mutation.*    the mutation engine (one transaction: checks
//                          against the store, revision, commit) and the
//                          plan it is given
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
//   meta      request-id records (services/common/write/request_ids.h)
//             "seeded" -> "" once the seed data was loaded
// Values are binary protobuf. Every mutation is one transaction of the
// store; its revision is the change log's newest plus one.

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
#include "absl/synchronization/mutex.h"
#include "services/common/call_context.h"
#include "services/common/storage/kv_store.h"
#include "services/common/write/request_ids.h"
#include "services/registry/change_feed.h"

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
// 1: the first layout.
// 2: request-id records with their result and time, expiring
//    (services/common/write/request_ids.h).
inline constexpr int64_t kSchemaVersion = 2;

// Brings a store of an older schema version up to kSchemaVersion in place
// (for StoreOptions::upgrade); `now` stamps converted request-id records.
// Idempotent. Errors: FAILED_PRECONDITION for a version it cannot upgrade,
// and those of the store.
absl::Status UpgradeStore(storage::KvStore* store, int64_t stored_version,
                          absl::Time now = absl::Now());

struct RegistryOptions {
  // How many of the most recent changes the change log keeps for
  // WatchOrganizations; older start revisions are OUT_OF_RANGE. At least 1.
  int64_t change_retention = 100000;
  // How long a CreateOrganization request_id is remembered (AIP-155):
  // retries within it return the first result.
  absl::Duration request_id_retention = absl::Hours(24);
  // The clock for create/update/delete times and request-id expiry.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// Thread-safe, and safe to run as several replicas (processes) over one
// shared store: every rule that spans organizations (unique aliases, live
// parents, no live children of a deleted organization, no cycles, one
// result per request id) is checked in the mutation's own serializable
// transaction, and revisions are allocated in it, so they are consecutive
// in commit order. Reads never block on writers.
class Registry {
 public:
  // Opens the registry over `store`, which must have been opened with
  // kTableNames.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(
      std::unique_ptr<storage::KvStore> store, RegistryOptions options);

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // Creates `orgs` (seed data, in dependency order, each named
  // organizations/{id}) in one transaction, once per database: unless the
  // database was seeded before or ever held an organization, in which case
  // it is only marked as seeded. Concurrent replicas seed it once between
  // them. Returns how many organizations were created.
  absl::StatusOr<int> SeedOnce(const std::vector<v1::Organization>& orgs);

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
  // GetOrganization and LookupOrganization answering with the organization
  // as stored: its serialized bytes, as the API returns it, so that the
  // read path (other services call it on theirs) neither parses (Get) nor
  // re-serializes (either) the message. Same errors as the parsed forms
  // (Get checks that the stored bytes are a well-formed message, DATA_LOSS
  // if not, without decoding them).
  absl::StatusOr<std::string> GetOrganizationBytes(absl::string_view name);
  absl::StatusOr<std::string> LookupOrganizationBytes(absl::string_view alias);
  absl::StatusOr<v1::ListOrganizationRevisionsResponse>
  ListOrganizationRevisions(const v1::ListOrganizationRevisionsRequest& request);

  // --- Change feed (WatchOrganizations) ---

  // The revision of the latest committed change, read from the store (0
  // before the first). Every change up to it is in the change log.
  absl::StatusOr<int64_t> CurrentRevision();

  // Validates a watch's start revision (changes after it are streamed; 0 is
  // the beginning of history). OUT_OF_RANGE if the change log no longer holds
  // the changes after it, or if it is ahead of the current revision;
  // INVALID_ARGUMENT if negative.
  absl::Status CheckWatchStart(int64_t start_revision);

  // Returns up to `max_changes` of the changes after revision `after`, in
  // order and without gaps (empty when there are none yet). OUT_OF_RANGE if
  // retention removed the change after `after`.
  absl::StatusOr<std::vector<v1::OrganizationChange>> ReadChanges(
      int64_t after, size_t max_changes);

  // As ReadChanges, serialized (what a watch stream sends). With
  // `from_oldest_retained` (the change feed's reads), a log that no longer
  // holds the change after `after` is no error: the changes returned start
  // at the oldest one retained (gap-free from there).
  absl::StatusOr<std::vector<ChangeFeed::Change>> ReadSerializedChanges(
      int64_t after, size_t max_changes, bool from_oldest_retained = false);

  // The newest changes in memory, and the watchers waiting for the next
  // (change_feed.h). Commits only notify it.
  ChangeFeed& feed() { return *feed_; }

  // Calls `listener` whenever CurrentRevision() may have advanced — after a
  // write through this registry or, on a shared store, through any replica
  // (within about a second) — see KvStore::AddCommitListener for the rules.
  using ListenerId = storage::KvStore::ListenerId;
  ListenerId Subscribe(storage::KvStore::CommitListener listener) {
    return watchers_.Add(std::move(listener));
  }
  void Unsubscribe(ListenerId id) { watchers_.Remove(id); }

  // Backs the database up to `dir` (which must not exist).
  absl::Status Checkpoint(const std::string& dir);
  storage::KvStore* store() { return store_.get(); }

 private:
  struct Plan;
  // ReadChanges; with `from_oldest_retained`, see ReadSerializedChanges.
  absl::StatusOr<std::vector<v1::OrganizationChange>> ReadChanges(
      int64_t after, size_t max_changes, bool from_oldest_retained);
  // Plans a mutation from the current version (nullopt: none), reading
  // through the mutation's transaction.
  using PlanFn = std::function<absl::StatusOr<Plan>(
      storage::Transaction& txn, const std::optional<v1::Organization>& current)>;

  Registry(std::unique_ptr<storage::KvStore> store, RegistryOptions options);

  absl::StatusOr<v1::BatchCreateOrganizationsResponse> BatchCreate(
      const v1::BatchCreateOrganizationsRequest& request, const CallContext& call,
      bool seed);

  absl::StatusOr<std::optional<v1::Organization>> ReadRecord(
      absl::string_view id, const storage::Snapshot* snapshot = nullptr);
  absl::StatusOr<std::optional<v1::Organization>> ReadRecord(
      storage::Transaction& txn, absl::string_view id);
  // The newest revision in the change log (0 for none).
  static absl::StatusOr<int64_t> LastRevision(storage::Transaction& txn);
  absl::StatusOr<int64_t> LastRevision(const storage::Snapshot* snapshot);
  // Checks that `name` names a live organization; `field` is used in errors.
  absl::Status CheckLiveReference(storage::Transaction& txn,
                                  absl::string_view name,
                                  absl::string_view field);
  // The one write path: one serializable transaction that answers a retried
  // request id, reads the current version, plans, checks uniqueness,
  // allocates the next revision and writes everything.
  absl::StatusOr<v1::Organization> Mutate(absl::string_view id,
                                          absl::string_view request_id,
                                          const CallContext& call,
                                          bool validate_only,
                                          const PlanFn& plan);
  absl::Status CheckAliasesFree(storage::Transaction& txn,
                                const v1::Organization& org,
                                const std::optional<v1::Organization>& current);
  absl::Status CheckNoLiveChildren(storage::Transaction& txn,
                                   absl::string_view id);
  absl::Status CheckNoCycle(storage::Transaction& txn, absl::string_view id,
                            absl::string_view parent_name);
  absl::Status CheckAppointers(storage::Transaction& txn,
                               const v1::Organization& org);
  // Sets the output fields a mutation gives `org` at `revision`.
  void Stamp(v1::Organization* org, int64_t revision, int type,
             const std::string& principal) const;
  // Writes everything one mutation writes through `txn`: the record, its
  // history and change-log entries and the index updates from `current` to
  // `org`.
  void AppendMutation(storage::Transaction& txn, absl::string_view id,
                      const std::optional<v1::Organization>& current,
                      const v1::Organization& org, int type,
                      const std::string& principal) const;
  // Trims the change log to the retention in `txn` when one of the
  // revisions [first, first + n) is due for it.
  void AppendChangeLogTrim(int64_t first, int64_t n,
                           storage::Transaction& txn) const;
  // Called by the store after commits (on the committing thread): notifies
  // the feed, nothing more.
  void OnCommit();

  std::unique_ptr<storage::KvStore> store_;
  RegistryOptions options_;
  RequestIds request_ids_;

  storage::CommitListeners watchers_;
  storage::KvStore::ListenerId store_listener_ = 0;
  // Started by Open; stopped before the store (it reads through it).
  std::unique_ptr<ChangeFeed> feed_;
};

// Returns the id in "organizations/{id}", or INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::string> ParseOrganizationName(absl::string_view name,
                                                  absl::string_view field);
// True if `id` matches ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$.
bool IsValidOrganizationId(absl::string_view id);

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_REGISTRY_H_
