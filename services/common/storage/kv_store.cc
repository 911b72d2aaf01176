#include "services/common/storage/kv_store.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace presence::storage {

void WriteBatch::ExpectValue(TableId table, absl::string_view key,
                             absl::string_view value) {
  preconditions_.push_back({table, std::string(key), std::string(value)});
}

void WriteBatch::ExpectAbsent(TableId table, absl::string_view key) {
  preconditions_.push_back({table, std::string(key), std::nullopt});
}

void WriteBatch::Put(TableId table, absl::string_view key,
                     absl::string_view value) {
  ops_.push_back({OpType::kPut, table, std::string(key), std::string(value)});
}

void WriteBatch::Delete(TableId table, absl::string_view key) {
  ops_.push_back({OpType::kDelete, table, std::string(key), {}});
}

void WriteBatch::DeleteRange(TableId table, absl::string_view begin,
                             absl::string_view end) {
  ops_.push_back(
      {OpType::kDeleteRange, table, std::string(begin), std::string(end)});
}

namespace {

class ErrorIterator final : public Iterator {
 public:
  explicit ErrorIterator(absl::Status status) : status_(std::move(status)) {}
  bool Valid() const override { return false; }
  void SeekToFirst() override {}
  void SeekToLast() override {}
  void Seek(absl::string_view) override {}
  void SeekForPrev(absl::string_view) override {}
  void Next() override {}
  void Prev() override {}
  absl::string_view key() const override { return {}; }
  absl::string_view value() const override { return {}; }
  absl::Status status() const override { return status_; }

 private:
  absl::Status status_;
};

// Makes its iterator at its first positioning (the default NewIterators),
// from `store` or else `txn`.
class LazyIterator final : public Iterator {
 public:
  LazyIterator(KvStore* store, Transaction* txn, TableId table, ReadOptions options,
               std::shared_ptr<const Snapshot> keep_alive)
      : store_(store),
        txn_(txn),
        table_(table),
        options_(std::move(options)),
        keep_alive_(std::move(keep_alive)) {}

  bool Valid() const override { return it_ != nullptr && it_->Valid(); }
  void SeekToFirst() override { Made().SeekToFirst(); }
  void SeekToLast() override { Made().SeekToLast(); }
  void Seek(absl::string_view target) override { Made().Seek(target); }
  void SeekForPrev(absl::string_view target) override { Made().SeekForPrev(target); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  absl::string_view key() const override { return it_->key(); }
  absl::string_view value() const override { return it_->value(); }
  absl::Status status() const override {
    return it_ != nullptr ? it_->status() : absl::OkStatus();
  }

 private:
  Iterator& Made() {
    if (it_ == nullptr) {
      it_ = store_ != nullptr ? store_->NewIterator(table_, options_)
                              : txn_->NewIterator(table_, options_);
    }
    return *it_;
  }

  KvStore* const store_;
  Transaction* const txn_;
  const TableId table_;
  const ReadOptions options_;
  // The snapshot NewIterators took for all its iterators, if it took one.
  const std::shared_ptr<const Snapshot> keep_alive_;
  std::unique_ptr<Iterator> it_;
};

ReadOptions RangeOptions(const KeyRange& range, const MultiRangeOptions& options) {
  ReadOptions ro;
  ro.snapshot = options.snapshot;
  ro.lower_bound = range.lower_bound;
  ro.upper_bound = range.upper_bound;
  ro.first_page = options.first_page;
  return ro;
}

}  // namespace

std::unique_ptr<Iterator> NewErrorIterator(absl::Status status) {
  return std::make_unique<ErrorIterator>(std::move(status));
}

std::vector<std::unique_ptr<Iterator>> KvStore::NewIterators(
    TableId table, const std::vector<KeyRange>& ranges,
    const MultiRangeOptions& options) {
  std::vector<std::unique_ptr<Iterator>> out;
  out.reserve(ranges.size());
  // Without a snapshot, one is taken now for all of them.
  std::shared_ptr<const Snapshot> shared;
  if (options.snapshot == nullptr && !ranges.empty()) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> taken = GetSnapshot();
    if (!taken.ok()) {
      for (size_t i = 0; i < ranges.size(); ++i) {
        out.push_back(NewErrorIterator(taken.status()));
      }
      return out;
    }
    shared = *std::move(taken);
  }
  for (const KeyRange& range : ranges) {
    ReadOptions ro = RangeOptions(range, options);
    if (shared != nullptr) ro.snapshot = shared.get();
    out.push_back(std::make_unique<LazyIterator>(this, nullptr, table, std::move(ro), shared));
  }
  return out;
}

std::vector<std::unique_ptr<Iterator>> Transaction::NewIterators(
    TableId table, const std::vector<KeyRange>& ranges,
    const MultiRangeOptions& options) {
  std::vector<std::unique_ptr<Iterator>> out;
  out.reserve(ranges.size());
  for (const KeyRange& range : ranges) {
    out.push_back(std::make_unique<LazyIterator>(nullptr, this, table,
                                                 RangeOptions(range, options), nullptr));
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<std::string>>> Transaction::MultiGet(
    TableId table, const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> values;
  values.reserve(keys.size());
  for (const std::string& key : keys) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(table, key));
    values.push_back(std::move(value));
  }
  return values;
}

absl::Status KvStore::Write(const WriteBatch& batch,
                            const TransactOptions& options) {
  return Transact(
      [this, &batch](Transaction& txn) -> absl::Status {
        for (const WriteBatch::Precondition& p : batch.preconditions()) {
          PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> current,
                                    txn.Get(p.table, p.key));
          if (current != p.value) {
            return absl::FailedPreconditionError(absl::StrCat(
                "precondition failed on ", TableName(p.table), "/",
                absl::CEscape(p.key), ": expected ",
                p.value ? "a specific value" : "absence", ", found ",
                current.has_value() ? "another value" : "absence"));
          }
        }
        for (const WriteBatch::Op& op : batch.ops()) {
          switch (op.type) {
            case WriteBatch::OpType::kPut:
              txn.Put(op.table, op.key, op.value);
              break;
            case WriteBatch::OpType::kDelete:
              txn.Delete(op.table, op.key);
              break;
            case WriteBatch::OpType::kDeleteRange:
              txn.DeleteRange(op.table, op.key, op.value);
              break;
          }
        }
        return absl::OkStatus();
      },
      options);
}

absl::Status ValidateTableNames(const std::vector<std::string>& tables) {
  if (tables.empty()) return absl::InvalidArgumentError("no tables given");
  absl::flat_hash_set<std::string> seen;
  for (const std::string& t : tables) {
    bool valid = !t.empty() && t != "default" && seen.insert(t).second;
    for (char c : t) {
      valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    }
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad or duplicate table name \"", absl::CEscape(t), "\""));
    }
  }
  return absl::OkStatus();
}

KvStore::ListenerId CommitListeners::Add(KvStore::CommitListener listener) {
  absl::MutexLock lock(&mu_);
  const KvStore::ListenerId id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void CommitListeners::Remove(KvStore::ListenerId id) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(id);
}

void CommitListeners::NotifyAll() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, listener] : listeners_) listener();
}

void KvStore::WhenDurable(uint64_t /*token*/, DurableFn done) { done(absl::OkStatus()); }

namespace {
thread_local DeferredSync* current_deferred_sync = nullptr;
}  // namespace

DeferredSync::DeferredSync() { current_deferred_sync = this; }

DeferredSync::~DeferredSync() {
  if (current_deferred_sync == this) current_deferred_sync = nullptr;
}

DeferredSync* DeferredSync::Current() { return current_deferred_sync; }

bool DeferredSync::Owe(KvStore* store, uint64_t token) {
  if (!active_ || (store_ != nullptr && store_ != store)) return false;
  store_ = store;
  token_ = std::max(token_, token);
  return true;
}

void DeferredSync::Then(KvStore::DurableFn done) {
  active_ = false;
  if (current_deferred_sync == this) current_deferred_sync = nullptr;
  if (store_ == nullptr) {
    done(absl::OkStatus());
    return;
  }
  store_->WhenDurable(token_, std::move(done));
}

}  // namespace presence::storage
