#ifndef PRESENCE_TESTS_TESTING_FAULTY_KV_STORE_H_
#define PRESENCE_TESTS_TESTING_FAULTY_KV_STORE_H_

// A KvStore that passes every call to a real one until told to fail: Get or
// Write then return the given error (storage failures that a test cannot
// provoke in RocksDB on demand).

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/common/storage/kv_store.h"

namespace presence::testing {

class FaultyKvStore final : public storage::KvStore {
 public:
  explicit FaultyKvStore(std::unique_ptr<storage::KvStore> store)
      : store_(std::move(store)) {}

  // While not OK, every Get (or Write) returns `status`.
  void FailGets(absl::Status status) {
    absl::MutexLock lock(&mu_);
    get_failure_ = std::move(status);
  }
  void FailWrites(absl::Status status) {
    absl::MutexLock lock(&mu_);
    write_failure_ = std::move(status);
  }
  // While set, values read by Get pass through `filter` (which may change
  // them: a record that changes under its reader).
  using Filter = std::function<void(storage::TableId, std::string* value)>;
  void FilterGets(Filter filter) {
    absl::MutexLock lock(&mu_);
    filter_ = std::move(filter);
  }

  absl::StatusOr<std::optional<std::string>> Get(
      storage::TableId table, absl::string_view key,
      const storage::Snapshot* snapshot = nullptr) override {
    Filter filter;
    {
      absl::MutexLock lock(&mu_);
      if (!get_failure_.ok()) return get_failure_;
      filter = filter_;
    }
    absl::StatusOr<std::optional<std::string>> value = store_->Get(table, key, snapshot);
    if (filter && value.ok() && value->has_value()) filter(table, &**value);
    return value;
  }
  std::unique_ptr<storage::Iterator> NewIterator(
      storage::TableId table, const storage::ReadOptions& options) override {
    return store_->NewIterator(table, options);
  }
  std::shared_ptr<const storage::Snapshot> GetSnapshot() override {
    return store_->GetSnapshot();
  }
  absl::Status Write(const storage::WriteBatch& batch) override {
    {
      absl::MutexLock lock(&mu_);
      if (!write_failure_.ok()) return write_failure_;
    }
    return store_->Write(batch);
  }
  absl::Status Checkpoint(const std::string& dir) override {
    return store_->Checkpoint(dir);
  }
  std::vector<std::pair<std::string, uint64_t>> Stats() override {
    return store_->Stats();
  }

 private:
  const std::unique_ptr<storage::KvStore> store_;
  absl::Mutex mu_;
  absl::Status get_failure_ ABSL_GUARDED_BY(mu_);
  absl::Status write_failure_ ABSL_GUARDED_BY(mu_);
  Filter filter_ ABSL_GUARDED_BY(mu_);
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_FAULTY_KV_STORE_H_
