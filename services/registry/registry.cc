#include "services/registry/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/key_codec.h"
#include "services/common/resource_name.h"
#include "services/common/status_macros.h"
#include "services/registry/registry_keys.h"

namespace presence::registry {

using ::presence::registry::v1::Organization;

bool IsValidOrganizationId(absl::string_view id) {
  return IsValidResourceId(id);
}

absl::StatusOr<std::string> ParseOrganizationName(absl::string_view name,
                                                  absl::string_view field) {
  return ParseResourceName(name, kCollection, field);
}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    std::unique_ptr<storage::KvStore> store, RegistryOptions options) {
  if (options.change_retention < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "change retention ", options.change_retention, " must be at least 1"));
  }
  // The newest change-log entry carries the current revision; retention
  // never removes it.
  int64_t last_revision = 0;
  {
    std::unique_ptr<storage::Iterator> it =
        store->NewIterator(kChanges, storage::ReadOptions{});
    it->SeekToLast();
    if (it->Valid()) {
      absl::string_view key = it->key();
      std::optional<uint64_t> rev = ConsumeUint64(&key);
      if (!rev) return absl::DataLossError("unreadable change-log key");
      last_revision = static_cast<int64_t>(*rev);
    }
    if (!it->status().ok()) return it->status();
  }
  return std::unique_ptr<Registry>(
      new Registry(std::move(store), std::move(options), last_revision));
}

Registry::Registry(std::unique_ptr<storage::KvStore> store,
                   RegistryOptions options, int64_t last_revision)
    : store_(std::move(store)),
      options_(std::move(options)),
      sequencer_(last_revision) {}

Registry::~Registry() = default;

absl::StatusOr<bool> Registry::IsEmpty() {
  std::unique_ptr<storage::Iterator> it =
      store_->NewIterator(kRecords, storage::ReadOptions{});
  it->SeekToFirst();
  if (!it->status().ok()) return it->status();
  return !it->Valid() && CurrentRevision() == 0;
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

absl::StatusOr<Organization> Registry::ReadRevision(absl::string_view id,
                                                    int64_t revision) {
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            store_->Get(kRevisions, RevisionKey(id, revision)));
  if (!bytes) {
    return absl::DataLossError(absl::StrCat("revision ", revision, " of ",
                                            Name(id), " is missing"));
  }
  return ParseOrganization(*bytes, Name(id));
}

absl::Status Registry::Checkpoint(const std::string& dir) {
  return store_->Checkpoint(dir);
}

}  // namespace presence::registry
