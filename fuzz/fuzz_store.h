#ifndef PRESENCE_FUZZ_FUZZ_STORE_H_
#define PRESENCE_FUZZ_FUZZ_STORE_H_

// A real RocksDB store in a fresh directory for one fuzz input (on /dev/shm
// when there is one, so that opening and syncing cost little), removed
// when the FreshStore goes away. Each input starts from an empty database,
// so a crash reproduces from its input alone.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>

#include "fuzz/fuzz_check.h"
#include "services/common/storage/rocksdb_kv_store.h"

namespace presence::fuzz {

class FreshStore {
 public:
  template <size_t N>
  FreshStore(const char* const (&tables)[N], int64_t schema_version) {
    static int counter = 0;
    const char* tmp = std::getenv("TMPDIR");
    const std::string base = std::filesystem::is_directory("/dev/shm")
                                 ? "/dev/shm"
                                 : (tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
    path_ = base + "/presence-fuzz-" + std::to_string(::getpid()) + "-" +
            std::to_string(++counter);
    storage::RocksDbOptions options;
    options.path = path_;
    options.tables.assign(std::begin(tables), std::end(tables));
    options.schema_version = schema_version;
    options.block_cache_bytes = 1 << 20;
    absl::StatusOr<std::unique_ptr<storage::KvStore>> store =
        storage::OpenRocksDbKvStore(options);
    if (!store.ok()) Fail("cannot open the store", store.status().ToString());
    store_ = *std::move(store);
  }
  ~FreshStore() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  FreshStore(const FreshStore&) = delete;
  FreshStore& operator=(const FreshStore&) = delete;

  // The store, for the service under test to own. Must be destroyed before
  // this FreshStore (it removes the directory).
  std::unique_ptr<storage::KvStore> Take() { return std::move(store_); }

 private:
  std::string path_;
  std::unique_ptr<storage::KvStore> store_;
};

}  // namespace presence::fuzz

#endif  // PRESENCE_FUZZ_FUZZ_STORE_H_
