#ifndef PRESENCE_SERVICES_COMMON_STORAGE_ROCKSDB_KV_STORE_H_
#define PRESENCE_SERVICES_COMMON_STORAGE_ROCKSDB_KV_STORE_H_

// The RocksDB implementation of KvStore. This header is the factory only;
// RocksDB headers are included by rocksdb_kv_store.cc alone.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/storage/kv_store.h"

namespace presence::storage {

struct RocksDbOptions {
  // Directory of the database; created (with parents) if missing.
  std::string path;
  // Table names, one column family each; TableId i is tables[i]. Must be
  // non-empty, unique, and not "default" (used internally for the schema
  // version).
  std::vector<std::string> tables;
  // The data layout version this binary reads and writes. A new database is
  // stamped with it. Opening a database stamped with a newer version fails
  // with FAILED_PRECONDITION; one stamped with an older version is passed to
  // `upgrade` and then stamped, or refused with FAILED_PRECONDITION if
  // `upgrade` is null.
  int64_t schema_version = 1;
  // Brings a store of `stored_version` up to schema_version. It runs before
  // the store is returned, and must be idempotent: a crash before the new
  // version is stamped runs it again at the next open.
  std::function<absl::Status(KvStore* store, int64_t stored_version)> upgrade;
  // Size of the LRU block cache shared by all tables.
  size_t block_cache_bytes = size_t{64} << 20;
};

// Opens (creating if needed) the database at options.path. Every Write is
// synced to the write-ahead log before it returns; concurrent writes are
// group-committed by RocksDB. Preconditions are checked under striped
// per-key locks held only by writers that share keys.
//
// Errors: FAILED_PRECONDITION for a schema version mismatch or a database
// locked by another process, INVALID_ARGUMENT for bad options, INTERNAL or
// DATA_LOSS for I/O errors and corruption.
absl::StatusOr<std::unique_ptr<KvStore>> OpenRocksDbKvStore(
    const RocksDbOptions& options);

}  // namespace presence::storage

#endif  // PRESENCE_SERVICES_COMMON_STORAGE_ROCKSDB_KV_STORE_H_
