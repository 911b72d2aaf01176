#ifndef PRESENCE_SERVICES_COMMON_STORAGE_STORE_SCHEMA_H_
#define PRESENCE_SERVICES_COMMON_STORAGE_STORE_SCHEMA_H_

// The schema-version rules of StoreOptions, shared by the engines'
// factories (not by their users).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/storage/kv_store.h"

namespace presence::storage {

// Given the version stamped in database `where` (nullopt: none, a new
// database), returns the version to proceed from: options.schema_version
// for a new or current database, an older one to upgrade from.
// FAILED_PRECONDITION for a newer version or an older one without an
// upgrade; DATA_LOSS for an unreadable stamp.
absl::StatusOr<int64_t> CheckStoredSchemaVersion(
    const std::optional<std::string>& stored, const StoreOptions& options,
    absl::string_view where);

// Runs options.upgrade from `from`; errors say what was being upgraded.
absl::Status RunSchemaUpgrade(KvStore* store, int64_t from,
                              const StoreOptions& options,
                              absl::string_view where);

}  // namespace presence::storage

#endif  // PRESENCE_SERVICES_COMMON_STORAGE_STORE_SCHEMA_H_
