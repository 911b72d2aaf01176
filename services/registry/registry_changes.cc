// The registry's change log: what WatchOrganizations streams, and its
// retention.

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/key_codec.h"
#include "services/common/status_macros.h"
#include "services/registry/registry.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::OrganizationChange;

// How often (in revisions) the change log is trimmed to the retention.
constexpr int64_t kTrimInterval = 64;

}  // namespace

void Registry::AppendChangeLogTrim(int64_t first, int64_t n,
                                   storage::Transaction& txn) const {
  // Trim the change log to the retention at every kTrimInterval-th revision.
  for (int64_t revision = first + n - 1; revision >= first; --revision) {
    if (revision % kTrimInterval == 0 &&
        revision > options_.change_retention) {
      txn.DeleteRange(
          kChanges, EncodeUint64(0),
          EncodeUint64(
              static_cast<uint64_t>(revision - options_.change_retention + 1)));
      break;
    }
  }
}

absl::Status Registry::CheckWatchStart(int64_t start_revision) {
  if (start_revision < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("start_revision: ", start_revision, " is negative"));
  }
  PRESENCE_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Snapshot> snapshot,
                            store_->GetSnapshot());
  PRESENCE_ASSIGN_OR_RETURN(const int64_t current, LastRevision(snapshot.get()));
  if (start_revision > current) {
    return ErrorBuilder(absl::OutOfRangeError(absl::StrCat(
               "start_revision: ", start_revision,
               " is ahead of the registry's current revision ", current)))
        .Reason(kRevisionAhead)
        .Meta("startRevision", absl::StrCat(start_revision))
        .Meta("currentRevision", absl::StrCat(current));
  }
  if (start_revision == current) return absl::OkStatus();
  storage::ReadOptions ro;
  ro.snapshot = snapshot.get();
  std::unique_ptr<storage::Iterator> it = store_->NewIterator(kChanges, ro);
  it->SeekToFirst();
  PRESENCE_RETURN_IF_ERROR(it->status());
  int64_t first = current + 1;
  if (it->Valid()) {
    absl::string_view key = it->key();
    first = static_cast<int64_t>(ConsumeUint64(&key).value_or(0));
  }
  if (start_revision < first - 1) {
    return ErrorBuilder(absl::OutOfRangeError(absl::StrCat(
               "start_revision: the changes after ", start_revision,
               " are no longer retained (the oldest retained revision is ", first,
               "; the registry keeps the last ", options_.change_retention,
               " changes); list the organizations and watch from the list's "
               "revision")))
        .Reason(kRevisionNotRetained)
        .Meta("startRevision", absl::StrCat(start_revision))
        .Meta("oldestRevision", absl::StrCat(first));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OrganizationChange>> Registry::ReadChanges(
    int64_t after, size_t max_changes) {
  return ReadChanges(after, max_changes, /*from_oldest_retained=*/false);
}

absl::StatusOr<std::vector<OrganizationChange>> Registry::ReadChanges(
    int64_t after, size_t max_changes, bool from_oldest_retained) {
  std::vector<OrganizationChange> changes;
  if (max_changes == 0) return changes;
  // Revisions are allocated in commit order inside the committing
  // transaction, so the log of any committed state has no gaps: whatever
  // follows `after` is `after + 1` onwards, or retention removed it.
  storage::ReadOptions ro;
  ro.lower_bound = EncodeUint64(static_cast<uint64_t>(after + 1));
  std::unique_ptr<storage::Iterator> it = store_->NewIterator(kChanges, ro);
  int64_t expected = after + 1;
  for (it->Seek(ro.lower_bound); it->Valid() && changes.size() < max_changes;
       it->Next()) {
    OrganizationChange change;
    if (!change.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("unreadable change at revision ", expected));
    }
    if (from_oldest_retained && changes.empty() && change.revision() > expected) {
      expected = change.revision();
    }
    if (change.revision() != expected) {
      return ErrorBuilder(absl::OutOfRangeError(absl::StrCat(
                 "the change log no longer holds revision ", expected,
                 " (retention: the last ", options_.change_retention,
                 " changes); list the organizations and watch from the list's "
                 "revision")))
          .Reason(kRevisionNotRetained)
          .Meta("revision", absl::StrCat(expected));
    }
    ++expected;
    changes.push_back(std::move(change));
  }
  PRESENCE_RETURN_IF_ERROR(it->status());
  return changes;
}

absl::StatusOr<std::vector<ChangeFeed::Change>> Registry::ReadSerializedChanges(
    int64_t after, size_t max_changes, bool from_oldest_retained) {
  PRESENCE_ASSIGN_OR_RETURN(std::vector<OrganizationChange> changes,
                            ReadChanges(after, max_changes, from_oldest_retained));
  std::vector<ChangeFeed::Change> out;
  out.reserve(changes.size());
  for (const OrganizationChange& c : changes) {
    out.push_back({c.revision(), std::make_shared<const std::string>(c.SerializeAsString())});
  }
  return out;
}

}  // namespace presence::registry
