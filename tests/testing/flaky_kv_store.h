#ifndef PRESENCE_TESTS_TESTING_FLAKY_KV_STORE_H_
#define PRESENCE_TESTS_TESTING_FLAKY_KV_STORE_H_

// A storage::KvStore that forwards to another one, except that it can be
// told to fail the next few reads through snapshots or the next few
// transactions with UNAVAILABLE, as a store shared over the network does
// when its connection is lost mid-read (a failover of the database): what
// the services' handling of a lost store is tested with, deterministically.
// It can also run a hook just before a read, to put another writer's commit
// (another replica's, say) between two reads of one call.
//
// Thread-safe as the wrapped store is; the failure counters are atomic.

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

class FlakyKvStore final : public storage::KvStore {
 public:
  explicit FlakyKvStore(std::unique_ptr<storage::KvStore> store) : store_(std::move(store)) {}

  // The next `n` iterators made on a snapshot fail (status() UNAVAILABLE,
  // never Valid()).
  void FailNextSnapshotReads(int n) { failing_reads_.store(n); }
  // The next `n` calls of Transact fail with UNAVAILABLE, running nothing.
  void FailNextTransactions(int n) { failing_transactions_.store(n); }
  // How many calls failed so.
  int failed() const { return failed_.load(); }

  // Runs `hook` once, just before the next Get of `table` through the store
  // (not through a transaction), on the reading thread; the hook may use the
  // store.
  void BeforeNextGet(storage::TableId table, std::function<void()> hook) {
    absl::MutexLock lock(&hook_mu_);
    hook_table_ = table;
    hook_ = std::move(hook);
  }

  absl::StatusOr<std::optional<std::string>> Get(storage::TableId table, absl::string_view key,
                                                 const storage::Snapshot* snapshot) override {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&hook_mu_);
      if (hook_ && hook_table_ == table) hook.swap(hook_);
    }
    if (hook) hook();
    return store_->Get(table, key, snapshot);
  }
  std::unique_ptr<storage::Iterator> NewIterator(storage::TableId table,
                                                 const storage::ReadOptions& options) override {
    if (options.snapshot != nullptr && Take(failing_reads_)) {
      return storage::NewErrorIterator(Lost());
    }
    return store_->NewIterator(table, options);
  }
  absl::StatusOr<std::shared_ptr<const storage::Snapshot>> GetSnapshot() override {
    return store_->GetSnapshot();
  }
  absl::Status Transact(const TransactionFn& fn,
                        const storage::TransactOptions& options) override {
    if (Take(failing_transactions_)) return Lost();
    return store_->Transact(fn, options);
  }
  ListenerId AddCommitListener(CommitListener listener) override {
    return store_->AddCommitListener(std::move(listener));
  }
  void RemoveCommitListener(ListenerId id) override { store_->RemoveCommitListener(id); }
  const std::string& TableName(storage::TableId table) const override {
    return store_->TableName(table);
  }
  absl::Status Checkpoint(const std::string& dir) override { return store_->Checkpoint(dir); }
  std::vector<std::pair<std::string, uint64_t>> Stats() override { return store_->Stats(); }

 private:
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

  std::unique_ptr<storage::KvStore> store_;
  std::atomic<int> failing_reads_{0};
  std::atomic<int> failing_transactions_{0};
  std::atomic<int> failed_{0};
  absl::Mutex hook_mu_;
  storage::TableId hook_table_ ABSL_GUARDED_BY(hook_mu_) = 0;
  std::function<void()> hook_ ABSL_GUARDED_BY(hook_mu_);
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_FLAKY_KV_STORE_H_
