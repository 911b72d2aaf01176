#ifndef PRESENCE_TESTS_TESTING_STORE_ENGINES_H_
#define PRESENCE_TESTS_TESTING_STORE_ENGINES_H_

// The storage engines as test parameters: each gives fresh data and opens
// KvStores over it (again, for reopen tests; at once, for shared engines).
// Typed tests run one suite over both (tests/unit/kv_store_test.cc).

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/storage/kv_store.h"
#include "services/common/storage/postgres_kv_store.h"
#include "services/common/storage/rocksdb_kv_store.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/temp_dir.h"

namespace presence::testing {

// Embedded RocksDB in a temporary directory: one process at a time.
class RocksEngine {
 public:
  static constexpr bool kShared = false;
  static constexpr const char* kName = "rocksdb";

  absl::Status Init() { return absl::OkStatus(); }

  absl::StatusOr<std::unique_ptr<storage::KvStore>> Open(
      const storage::StoreOptions& options) {
    storage::RocksDbOptions rocks;
    static_cast<storage::StoreOptions&>(rocks) = options;
    rocks.path = dir_.Sub("db");
    rocks.block_cache_bytes = size_t{8} << 20;
    return storage::OpenRocksDbKvStore(rocks);
  }

  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
};

// A database of its own on the test binary's shared PostgreSQL cluster:
// any number of stores at once.
class PostgresEngine {
 public:
  static constexpr bool kShared = true;
  static constexpr const char* kName = "postgres";

  absl::Status Init() {
    std::string error;
    server_ = PostgresServer::Shared(&error);
    if (server_ == nullptr) return absl::FailedPreconditionError(error);
    absl::StatusOr<std::string> db = server_->CreateDatabase();
    if (!db.ok()) return db.status();
    database_ = *db;
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<storage::KvStore>> Open(
      const storage::StoreOptions& options, const std::string& name = "test") {
    storage::PostgresOptions pg;
    static_cast<storage::StoreOptions&>(pg) = options;
    pg.conninfo = conninfo();
    pg.name = name;
    pg.pool_size = 8;
    pg.poll_interval = absl::Milliseconds(200);
    return storage::OpenPostgresKvStore(pg);
  }

  std::string conninfo() const { return server_->ConnInfo(database_); }
  PostgresServer& server() { return *server_; }
  const std::string& database() const { return database_; }

 private:
  PostgresServer* server_ = nullptr;
  std::string database_;
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_STORE_ENGINES_H_
