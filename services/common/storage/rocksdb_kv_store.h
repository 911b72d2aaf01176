#ifndef PRESENCE_SERVICES_COMMON_STORAGE_ROCKSDB_KV_STORE_H_
#define PRESENCE_SERVICES_COMMON_STORAGE_ROCKSDB_KV_STORE_H_

// The RocksDB implementation of KvStore. This header is the factory only;
// RocksDB headers are included by rocksdb_kv_store.cc alone.

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/storage/kv_store.h"

namespace presence::storage {

struct RocksDbOptions : StoreOptions {
  // Directory of the database; created (with parents) if missing.
  std::string path;
  // Size of the LRU block cache shared by all tables.
  size_t block_cache_bytes = size_t{64} << 20;
};

// Opens (creating if needed) the database at options.path; one table is one
// column family (the default one holds the schema version).
//
// Transactions run one at a time in a short commit section: the function
// runs against the latest applied state plus its own writes (a
// WriteBatchWithIndex), and its batch is appended to the write-ahead log
// without a sync. The sync that makes it durable is shared: whoever waits
// first syncs everything appended so far while later commits proceed, and
// the next sync covers those. Reads outside transactions see a snapshot
// published after each sync, so nothing not yet durable is ever visible to
// them, and since the log is replayed in order, a crash always recovers a
// prefix of the commit order. Commit listeners run after each publication.
//
// Errors: FAILED_PRECONDITION for a schema version mismatch or a database
// locked by another process, INVALID_ARGUMENT for bad options, INTERNAL or
// DATA_LOSS for I/O errors and corruption.
absl::StatusOr<std::unique_ptr<KvStore>> OpenRocksDbKvStore(
    const RocksDbOptions& options);

}  // namespace presence::storage

#endif  // PRESENCE_SERVICES_COMMON_STORAGE_ROCKSDB_KV_STORE_H_
