#ifndef PRESENCE_TESTS_TESTING_FAULTY_KV_STORE_H_
#define PRESENCE_TESTS_TESTING_FAULTY_KV_STORE_H_

// A storage::KvStore that forwards every call to a real one, except where a
// test tells it to misbehave — the storage failures and races a test cannot
// provoke in RocksDB or PostgreSQL on demand:
//   - until told otherwise, every Get (of the store or of a transaction) or
//     every Transact fails with a given status, or values read are changed
//     on their way (a record that changes under its reader);
//   - the next few iterators made on a snapshot, or the next few
//     transactions, fail with UNAVAILABLE, as a store shared over the
//     network does when its connection is lost mid-read (a failover);
//   - a hook runs just before the next Get of a table, to put another
//     writer's commit (another replica's, say) between two reads of a call.
//
// Thread-safe as the wrapped store is.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/storage/kv_store.h"

namespace presence::testing {

class FaultyKvStore final : public storage::KvStore {
 public:
  explicit FaultyKvStore(std::unique_ptr<storage::KvStore> store)
      : store_(std::move(store)) {}

  // While not OK, every Get (of the store or of a transaction) returns
  // `status`.
  void FailGets(absl::Status status) {
    absl::MutexLock lock(&mu_);
    get_failure_ = std::move(status);
  }
  // While not OK, every Transact returns `status` without running.
  void FailTransactions(absl::Status status) {
    absl::MutexLock lock(&mu_);
    transact_failure_ = std::move(status);
  }
  // While set, values read by Get pass through `filter` (which may change
  // them: a record that changes under its reader).
  using Filter = std::function<void(storage::TableId, std::string* value)>;
  void FilterGets(Filter filter) {
    absl::MutexLock lock(&mu_);
    filter_ = std::move(filter);
  }

  // The next `n` iterators made on a snapshot fail (status() UNAVAILABLE,
  // never Valid()).
  void FailNextSnapshotReads(int n) { failing_reads_.store(n); }
  // The next `n` calls of Transact fail with UNAVAILABLE, running nothing.
  void FailNextTransactions(int n) { failing_transactions_.store(n); }
  // How many calls failed so (by the two above).
  int failed() const { return failed_.load(); }

  // Runs `hook` once, just before the next Get of `table` through the store
  // (not through a transaction), on the reading thread; the hook may use the
  // store.
  void BeforeNextGet(storage::TableId table, std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    hook_table_ = table;
    hook_ = std::move(hook);
  }

  absl::StatusOr<std::optional<std::string>> Get(
      storage::TableId table, absl::string_view key,
      const storage::Snapshot* snapshot = nullptr) override {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      if (hook_ && hook_table_ == table) hook.swap(hook_);
    }
    if (hook) hook();
    return Read(table, [&] { return store_->Get(table, key, snapshot); });
  }
  std::unique_ptr<storage::Iterator> NewIterator(
      storage::TableId table, const storage::ReadOptions& options) override {
    if (options.snapshot != nullptr && Take(failing_reads_)) {
      return storage::NewErrorIterator(Lost());
    }
    return store_->NewIterator(table, options);
  }
  absl::StatusOr<std::shared_ptr<const storage::Snapshot>> GetSnapshot() override {
    return store_->GetSnapshot();
  }
  absl::Status Transact(const TransactionFn& fn,
                        const storage::TransactOptions& options = {}) override {
    {
      absl::MutexLock lock(&mu_);
      if (!transact_failure_.ok()) return transact_failure_;
    }
    if (Take(failing_transactions_)) return Lost();
    return store_->Transact(
        [&](storage::Transaction& txn) {
          FaultyTransaction faulty(this, &txn);
          return fn(faulty);
        },
        options);
  }
  ListenerId AddCommitListener(CommitListener listener) override {
    return store_->AddCommitListener(std::move(listener));
  }
  void RemoveCommitListener(ListenerId id) override { store_->RemoveCommitListener(id); }
  const std::string& TableName(storage::TableId table) const override {
    return store_->TableName(table);
  }
  absl::Status Checkpoint(const std::string& dir) override {
    return store_->Checkpoint(dir);
  }
  std::vector<std::pair<std::string, uint64_t>> Stats() override {
    return store_->Stats();
  }

 private:
  class FaultyTransaction final : public storage::Transaction {
   public:
    FaultyTransaction(FaultyKvStore* store, storage::Transaction* txn)
        : store_(store), txn_(txn) {}
    absl::StatusOr<std::optional<std::string>> Get(storage::TableId table,
                                                   absl::string_view key) override {
      return store_->Read(table, [&] { return txn_->Get(table, key); });
    }
    std::unique_ptr<storage::Iterator> NewIterator(
        storage::TableId table, const storage::ReadOptions& options) override {
      return txn_->NewIterator(table, options);
    }
    void Put(storage::TableId table, absl::string_view key,
             absl::string_view value) override {
      txn_->Put(table, key, value);
    }
    void Delete(storage::TableId table, absl::string_view key) override {
      txn_->Delete(table, key);
    }
    void DeleteRange(storage::TableId table, absl::string_view begin,
                     absl::string_view end) override {
      txn_->DeleteRange(table, begin, end);
    }

   private:
    FaultyKvStore* const store_;
    storage::Transaction* const txn_;
  };

  static absl::Status Lost() {
    return absl::UnavailableError("test: the connection to the store was lost");
  }

  // Consumes one failure of `counter` if any is left.
  bool Take(std::atomic<int>& counter) {
    int left = counter.load();
    while (left > 0) {
      if (counter.compare_exchange_weak(left, left - 1)) {
        failed_.fetch_add(1);
        return true;
      }
    }
    return false;
  }

  template <typename ReadFn>
  absl::StatusOr<std::optional<std::string>> Read(storage::TableId table, ReadFn read) {
    Filter filter;
    {
      absl::MutexLock lock(&mu_);
      if (!get_failure_.ok()) return get_failure_;
      filter = filter_;
    }
    absl::StatusOr<std::optional<std::string>> value = read();
    if (filter && value.ok() && value->has_value()) filter(table, &**value);
    return value;
  }

  const std::unique_ptr<storage::KvStore> store_;
  std::atomic<int> failing_reads_{0};
  std::atomic<int> failing_transactions_{0};
  std::atomic<int> failed_{0};
  absl::Mutex mu_;
  absl::Status get_failure_ ABSL_GUARDED_BY(mu_);
  absl::Status transact_failure_ ABSL_GUARDED_BY(mu_);
  Filter filter_ ABSL_GUARDED_BY(mu_);
  storage::TableId hook_table_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_FAULTY_KV_STORE_H_
