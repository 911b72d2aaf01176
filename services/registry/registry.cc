#include "services/registry/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/key_codec.h"
#include "services/common/resource_name.h"
#include "services/common/status_macros.h"
#include "services/registry/registry_internal.pb.h"
#include "services/registry/registry_keys.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::Organization;

// Changes the feed keeps in memory (about 1 KB each): watchers less than
// this far behind are served from memory.
constexpr size_t kFeedCapacity = 2048;

// The revision of the change-log entry `it` is at (the newest, when
// positioned by SeekToLast), 0 if there is none. Retention never removes the
// newest entry, so this is the current revision.
absl::StatusOr<int64_t> RevisionAt(storage::Iterator& it) {
  PRESENCE_RETURN_IF_ERROR(it.status());
  if (!it.Valid()) return 0;
  absl::string_view key = it.key();
  std::optional<uint64_t> rev = ConsumeUint64(&key);
  if (!rev) return absl::DataLossError("unreadable change-log key");
  return static_cast<int64_t>(*rev);
}

RequestIdOptions RequestIdOptionsOf(const RegistryOptions& options) {
  RequestIdOptions out;
  out.table = kMeta;
  out.retention = options.request_id_retention;
  out.now = options.now;
  return out;
}

}  // namespace

bool IsValidOrganizationId(absl::string_view id) {
  return IsValidResourceId(id);
}

absl::StatusOr<std::string> ParseOrganizationName(absl::string_view name,
                                                  absl::string_view field) {
  return ParseResourceName(name, kCollection, field);
}

absl::Status UpgradeStore(storage::KvStore* store, int64_t stored_version,
                          absl::Time now) {
  if (stored_version != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no upgrade from registry schema version ", stored_version));
  }
  // Version 1 kept request ids as {organization id, revision} forever;
  // version 2 keeps the result with the time it was recorded (expiring after
  // the retention, counted from the upgrade). Records already converted are
  // left alone, so an interrupted upgrade can run again.
  RequestIdOptions options;
  options.table = kMeta;
  options.now = [now] { return now; };
  const RequestIds request_ids(options);
  return store->Transact([&](storage::Transaction& txn) -> absl::Status {
    storage::ReadOptions ro;
    ro.lower_bound = "r/";
    ro.upper_bound = PrefixSuccessor(ro.lower_bound);
    std::vector<std::pair<std::string, internal::StoredRequest>> old;
    {
      std::unique_ptr<storage::Iterator> it = txn.NewIterator(kMeta, ro);
      for (it->Seek(ro.lower_bound); it->Valid(); it->Next()) {
        internal::StoredRequest record;
        // A version-1 record has a revision (field 2, a varint); a converted
        // one has none (field 2 is then the result's bytes).
        if (record.ParseFromArray(it->value().data(),
                                  static_cast<int>(it->value().size())) &&
            record.revision() > 0) {
          old.emplace_back(std::string(it->key().substr(2)), std::move(record));
        }
      }
      PRESENCE_RETURN_IF_ERROR(it->status());
    }
    for (const auto& [request_id, record] : old) {
      PRESENCE_ASSIGN_OR_RETURN(
          std::optional<std::string> org,
          txn.Get(kRevisions, RevisionKey(record.organization_id(), record.revision())));
      if (!org) continue;  // Nothing to answer a retry with.
      txn.Delete(kMeta, absl::StrCat("r/", request_id));
      PRESENCE_RETURN_IF_ERROR(
          request_ids.Record(txn, request_id, record.organization_id(), *org));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    std::unique_ptr<storage::KvStore> store, RegistryOptions options) {
  if (options.change_retention < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "change retention ", options.change_retention, " must be at least 1"));
  }
  if (options.request_id_retention < absl::Minutes(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request id retention ", absl::FormatDuration(options.request_id_retention),
        " must be at least 1m"));
  }
  std::unique_ptr<Registry> registry(
      new Registry(std::move(store), std::move(options)));
  PRESENCE_ASSIGN_OR_RETURN(const int64_t revision, registry->CurrentRevision());
  Registry* const r = registry.get();
  registry->feed_ = std::make_unique<ChangeFeed>(
      [r](int64_t after, size_t max) {
        return r->ReadSerializedChanges(after, max, /*from_oldest_retained=*/true);
      },
      revision, kFeedCapacity, [r] { r->watchers_.NotifyAll(); });
  registry->store_listener_ = registry->store_->AddCommitListener([r] { r->OnCommit(); });
  return registry;
}

Registry::Registry(std::unique_ptr<storage::KvStore> store,
                   RegistryOptions options)
    : store_(std::move(store)),
      options_(std::move(options)),
      request_ids_(RequestIdOptionsOf(options_)) {}

Registry::~Registry() {
  if (store_listener_ != 0) store_->RemoveCommitListener(store_listener_);
  feed_.reset();
}

void Registry::OnCommit() { feed_->Notify(); }

absl::StatusOr<int64_t> Registry::CurrentRevision() {
  return LastRevision(nullptr);
}

absl::StatusOr<int64_t> Registry::LastRevision(storage::Transaction& txn) {
  std::unique_ptr<storage::Iterator> it =
      txn.NewIterator(kChanges, storage::ReadOptions{});
  it->SeekToLast();
  return RevisionAt(*it);
}

absl::StatusOr<int64_t> Registry::LastRevision(const storage::Snapshot* snapshot) {
  storage::ReadOptions ro;
  ro.snapshot = snapshot;
  std::unique_ptr<storage::Iterator> it = store_->NewIterator(kChanges, ro);
  it->SeekToLast();
  return RevisionAt(*it);
}

absl::StatusOr<std::optional<Organization>> Registry::ReadRecord(
    absl::string_view id, const storage::Snapshot* snapshot) {
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            store_->Get(kRecords, id, snapshot));
  if (!bytes) return std::nullopt;
  PRESENCE_ASSIGN_OR_RETURN(Organization org,
                            ParseOrganization(*bytes, Name(id)));
  return org;
}

absl::StatusOr<std::optional<Organization>> Registry::ReadRecord(
    storage::Transaction& txn, absl::string_view id) {
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            txn.Get(kRecords, id));
  if (!bytes) return std::nullopt;
  PRESENCE_ASSIGN_OR_RETURN(Organization org,
                            ParseOrganization(*bytes, Name(id)));
  return org;
}

absl::Status Registry::Checkpoint(const std::string& dir) {
  return store_->Checkpoint(dir);
}

}  // namespace presence::registry
