#include "services/common/storage/store_schema.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace presence::storage {

absl::StatusOr<int64_t> CheckStoredSchemaVersion(
    const std::optional<std::string>& stored, const StoreOptions& options,
    absl::string_view where) {
  if (!stored) return options.schema_version;
  int64_t have = 0;
  if (!absl::SimpleAtoi(*stored, &have)) {
    return absl::DataLossError(absl::StrCat("database ", where,
                                            ": unreadable schema version \"",
                                            absl::CEscape(*stored), "\""));
  }
  if (have > options.schema_version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", where, " has schema version ", have,
        ", newer than this binary supports (", options.schema_version,
        "); run a newer release"));
  }
  if (have < options.schema_version && !options.upgrade) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", where, " has schema version ", have,
                     " and this binary needs ", options.schema_version,
                     "; no upgrade exists for it"));
  }
  return have;
}

absl::Status RunSchemaUpgrade(KvStore* store, int64_t from,
                              const StoreOptions& options,
                              absl::string_view where) {
  absl::Status s = options.upgrade(store, from);
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrCat("upgrading ", where, " from schema version ",
                                   from, ": ", s.message()));
}

}  // namespace presence::storage
