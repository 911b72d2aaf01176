#include "services/common/storage/rocksdb_kv_store.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "rocksdb/cache.h"
#include "rocksdb/comparator.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/utilities/write_batch_with_index.h"
#include "rocksdb/write_batch.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/server/log.h"
#include "services/common/status_macros.h"
#include "services/common/storage/store_schema.h"

namespace presence::storage {
namespace {

constexpr char kSchemaVersionKey[] = "presence.schema_version";

// RocksDB's own log, as "rocksdb" events of the JSON log, warnings and
// errors only. Not its LOG file in the data directory: when writes to the
// data directory fail (a full disk, an I/O error), Debian's RocksDB (built
// with assertions) aborts the process on the LOG writer's next write after a
// failed one — it logs the very error — so a failing disk crashed the
// service instead of failing its writes (tests/fault/fault_test.cc).
class JsonInfoLogger final : public rocksdb::Logger {
 public:
  JsonInfoLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char message[2048];
    std::vsnprintf(message, sizeof(message), format, ap);
    Log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? LogLevel::kError : LogLevel::kWarning,
        "rocksdb", {{"message", message}});
  }
};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(context, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return ErrorBuilder(absl::UnavailableError(message))
        .Reason(kStoreUnavailable)
        .RetryAfter(absl::Seconds(1));
  }
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

// A RocksDB snapshot, released with the last reference.
class RocksSnapshot final : public Snapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snapshot)
      : db_(db), snapshot_(snapshot) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snapshot_); }
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

// Enforces [lower, upper) over a RocksDB iterator (the iterators of a
// WriteBatchWithIndex do not all honour the bounds of their ReadOptions),
// and keeps what the iterator reads from alive.
class BoundedIterator final : public Iterator {
 public:
  BoundedIterator(std::string lower, std::string upper,
                  std::shared_ptr<const RocksSnapshot> keep_alive)
      : lower_(std::move(lower)),
        upper_(std::move(upper)),
        keep_alive_(std::move(keep_alive)) {}

  // The bounds RocksDB should apply too; they point into this object.
  void FillBounds(rocksdb::ReadOptions* ro) {
    if (!lower_.empty()) {
      lower_slice_ = rocksdb::Slice(lower_);
      ro->iterate_lower_bound = &lower_slice_;
    }
    if (!upper_.empty()) {
      upper_slice_ = rocksdb::Slice(upper_);
      ro->iterate_upper_bound = &upper_slice_;
    }
  }
  void Reset(rocksdb::Iterator* it) { it_.reset(it); }

  bool Valid() const override {
    if (!it_->Valid()) return false;
    const absl::string_view k = ToView(it_->key());
    return k >= lower_ && (upper_.empty() || k < upper_);
  }
  void SeekToFirst() override {
    if (lower_.empty()) {
      it_->SeekToFirst();
    } else {
      it_->Seek(lower_);
    }
  }
  void SeekToLast() override {
    if (upper_.empty()) {
      it_->SeekToLast();
      return;
    }
    it_->SeekForPrev(upper_);
    if (it_->Valid() && ToView(it_->key()) >= upper_) it_->Prev();
  }
  void Seek(absl::string_view target) override {
    it_->Seek(ToSlice(std::max(target, absl::string_view(lower_))));
  }
  void SeekForPrev(absl::string_view target) override {
    if (!upper_.empty() && target >= upper_) {
      SeekToLast();
      return;
    }
    it_->SeekForPrev(ToSlice(target));
  }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  absl::string_view key() const override { return ToView(it_->key()); }
  absl::string_view value() const override { return ToView(it_->value()); }
  absl::Status status() const override {
    return FromRocks(it_->status(), "iterator");
  }

 private:
  std::string lower_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  const std::shared_ptr<const RocksSnapshot> keep_alive_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Reads the latest applied state (durable or not: transactions run one at
// a time, see RocksDbKvStore::Transact) merged with the transaction's own
// writes.
class RocksTransaction final : public Transaction {
 public:
  RocksTransaction(rocksdb::DB* db,
                   const std::vector<rocksdb::ColumnFamilyHandle*>* handles)
      : db_(db),
        handles_(handles),
        batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {}

  absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key) override {
    std::string value;
    rocksdb::Status s = batch_.GetFromBatchAndDB(db_, rocksdb::ReadOptions(),
                                                 Handle(table), ToSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return FromRocks(s, "transaction get");
    return value;
  }

  std::unique_ptr<Iterator> NewIterator(TableId table,
                                        const ReadOptions& options) override {
    auto it = std::make_unique<BoundedIterator>(options.lower_bound,
                                                options.upper_bound, nullptr);
    rocksdb::ReadOptions ro;
    it->FillBounds(&ro);
    base_options_.push_back(ro);
    it->Reset(batch_.NewIteratorWithBase(
        Handle(table), db_->NewIterator(ro, Handle(table)), &base_options_.back()));
    return it;
  }

  void Put(TableId table, absl::string_view key,
           absl::string_view value) override {
    Check(batch_.Put(Handle(table), ToSlice(key), ToSlice(value)));
    written_ = true;
  }
  void Delete(TableId table, absl::string_view key) override {
    Check(batch_.Delete(Handle(table), ToSlice(key)));
    written_ = true;
  }
  void DeleteRange(TableId table, absl::string_view begin,
                   absl::string_view end) override {
    ranges_.push_back({table, std::string(begin), std::string(end)});
    written_ = true;
  }

  bool written() const { return written_; }
  // The batch to commit. REQUIRES: the transaction function returned.
  absl::StatusOr<rocksdb::WriteBatch*> Finish() {
    PRESENCE_RETURN_IF_ERROR(error_);
    rocksdb::WriteBatch* wb = batch_.GetWriteBatch();
    for (const Range& r : ranges_) {
      PRESENCE_RETURN_IF_ERROR(FromRocks(
          wb->DeleteRange(Handle(r.table), r.begin, r.end), "delete range"));
    }
    return wb;
  }

 private:
  struct Range {
    TableId table;
    std::string begin, end;
  };
  rocksdb::ColumnFamilyHandle* Handle(TableId table) const {
    return (*handles_)[static_cast<size_t>(table) + 1];  // [0] is "default".
  }
  void Check(const rocksdb::Status& s) {
    if (error_.ok()) error_ = FromRocks(s, "transaction write");
  }

  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* const handles_;
  rocksdb::WriteBatchWithIndex batch_;
  std::vector<Range> ranges_;
  // The delta iterators keep a pointer to their ReadOptions.
  std::deque<rocksdb::ReadOptions> base_options_;
  absl::Status error_;
  bool written_ = false;
};

class RocksDbKvStore final : public KvStore {
 public:
  RocksDbKvStore(std::unique_ptr<rocksdb::DB> db,
                 std::vector<rocksdb::ColumnFamilyHandle*> handles,
                 std::vector<std::string> table_names)
      : db_(std::move(db)),
        handles_(std::move(handles)),
        table_names_(std::move(table_names)) {
    synced_seq_ = db_->GetLatestSequenceNumber();
    published_ = std::make_shared<RocksSnapshot>(db_.get(), db_->GetSnapshot());
    sync_thread_ = std::thread([this] { SyncThread(); });
  }

  ~RocksDbKvStore() override {
    {
      absl::MutexLock lock(&sync_mu_);
      stopping_ = true;
    }
    sync_thread_.join();
    published_.reset();
    // Writes the memtables to SST files, so that the next start does not
    // replay (and flush) up to db_write_buffer_size of log before serving:
    // with 100,000 organizations that replay took 2-4 s, the flush here
    // makes the next start ~0.2 s (the README's cold-start target). Nothing
    // depends on it: the WAL holds everything acknowledged, and after a
    // crash recovery replays it as before.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush, handles_).PermitUncheckedError();
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h);
    }
    // Waits for background work and releases the lock file.
    db_->Close().PermitUncheckedError();
  }

  absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key, const Snapshot* snapshot) override {
    std::shared_ptr<const RocksSnapshot> published;
    rocksdb::ReadOptions ro;
    if (snapshot != nullptr) {
      ro.snapshot = static_cast<const RocksSnapshot*>(snapshot)->get();
    } else {
      published = Published();
      ro.snapshot = published->get();
    }
    std::string value;
    rocksdb::Status s = db_->Get(ro, Handle(table), ToSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return FromRocks(s, absl::StrCat("get ", table_names_[table]));
    return value;
  }

  std::unique_ptr<Iterator> NewIterator(TableId table,
                                        const ReadOptions& options) override {
    std::shared_ptr<const RocksSnapshot> published;
    rocksdb::ReadOptions ro;
    if (options.snapshot != nullptr) {
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    } else {
      published = Published();
      ro.snapshot = published->get();
    }
    auto it = std::make_unique<BoundedIterator>(
        options.lower_bound, options.upper_bound, std::move(published));
    it->FillBounds(&ro);
    it->Reset(db_->NewIterator(ro, Handle(table)));
    return it;
  }

  absl::StatusOr<std::shared_ptr<const Snapshot>> GetSnapshot() override {
    return std::shared_ptr<const Snapshot>(Published());
  }

  absl::Status Transact(const TransactionFn& fn,
                        const TransactOptions& options) override {
    rocksdb::SequenceNumber seq;
    {
      // The commit section: one transaction at a time reads the latest
      // applied state and appends its batch to the log, unsynced.
      absl::MutexLock lock(&commit_mu_);
      RocksTransaction txn(db_.get(), &handles_);
      PRESENCE_RETURN_IF_ERROR(fn(txn));
      if (txn.written()) {
        PRESENCE_ASSIGN_OR_RETURN(rocksdb::WriteBatch * batch, txn.Finish());
        rocksdb::WriteOptions wo;
        wo.sync = false;
        PRESENCE_RETURN_IF_ERROR(FromRocks(db_->Write(wo, batch), "write"));
        if (options.notify) notify_pending_ = true;
      }
      // What the transaction read or wrote: all of it must be durable
      // before the caller hears of it.
      seq = db_->GetLatestSequenceNumber();
    }
    if (DeferredSync* deferred = DeferredSync::Current();
        deferred != nullptr && deferred->Owe(this, seq)) {
      return absl::OkStatus();  // The caller answers once WhenDurable says so.
    }
    return WaitDurable(seq);
  }

  void WhenDurable(uint64_t token, DurableFn done) override {
    const rocksdb::SequenceNumber seq = token;
    bool now = false;
    bool lead = false;
    {
      absl::MutexLock lock(&sync_mu_);
      if (synced_seq_ >= seq) {
        now = true;
      } else {
        waiting_.push_back({seq, std::move(done)});
        if (!syncing_) lead = syncing_ = true;
      }
    }
    if (now) {
      done(absl::OkStatus());
      return;
    }
    if (!lead) return;  // The thread syncing covers it.
    // Lead: sync until `seq` is covered, then leave what still waits (later
    // commits) to the sync thread, so that this thread goes back to its
    // caller while a busy store keeps syncing groups.
    while (SyncRound(seq)) {
    }
  }

  const std::string& TableName(TableId table) const override {
    return table_names_[static_cast<size_t>(table)];
  }

  ListenerId AddCommitListener(CommitListener listener) override {
    return listeners_.Add(std::move(listener));
  }
  void RemoveCommitListener(ListenerId id) override { listeners_.Remove(id); }

  absl::Status Checkpoint(const std::string& dir) override {
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    if (!s.ok()) return FromRocks(s, "checkpoint");
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    return FromRocks(checkpoint->CreateCheckpoint(dir), "checkpoint " + dir);
  }

  std::vector<std::pair<std::string, uint64_t>> Stats() override {
    static constexpr std::pair<const char*, const char*> kProperties[] = {
        {"estimate-num-keys", "rocksdb.estimate-num-keys"},
        {"live-sst-files-size", "rocksdb.live-sst-files-size"},
        {"estimate-pending-compaction-bytes",
         "rocksdb.estimate-pending-compaction-bytes"},
        {"size-all-mem-tables", "rocksdb.size-all-mem-tables"},
    };
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& [name, property] : kProperties) {
      uint64_t total = 0;
      for (size_t i = 1; i < handles_.size(); ++i) {  // Tables only.
        rocksdb::ColumnFamilyHandle* h = handles_[i];
        uint64_t v = 0;
        if (db_->GetIntProperty(h, property, &v)) total += v;
      }
      out.emplace_back(name, total);
    }
    uint64_t cache = 0;
    if (db_->GetIntProperty("rocksdb.block-cache-usage", &cache)) {
      out.emplace_back("block-cache-usage", cache);
    }
    return out;
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(TableId table) const {
    return handles_[static_cast<size_t>(table) + 1];  // [0] is "default".
  }

  std::shared_ptr<const RocksSnapshot> Published() {
    absl::MutexLock lock(&view_mu_);
    return published_;
  }

  // Returns once the log is synced up to `seq`: as WhenDurable, waiting.
  absl::Status WaitDurable(rocksdb::SequenceNumber seq) {
    absl::Notification durable;
    absl::Status result;
    WhenDurable(seq, [&](absl::Status s) {
      result = std::move(s);
      durable.Notify();
    });
    durable.WaitForNotification();
    return result;
  }

  // One group sync: syncs everything appended so far (commits continue
  // meanwhile), publishes the read view of exactly that, runs the commit
  // listeners if a notifying transaction was among the commits, then
  // answers the waiters it covers. Returns true if the caller keeps the
  // syncing role for another round; otherwise the role was released
  // (nothing waits) or, for a leader whose own `leader_seq` is covered,
  // handed to the sync thread (`leader_seq` 0: the sync thread itself).
  // Touches nothing of the store after the answers (an answered caller may
  // destroy it), unless it returns true. REQUIRES: the caller holds the
  // syncing role (syncing_).
  bool SyncRound(rocksdb::SequenceNumber leader_seq) {
    rocksdb::SequenceNumber target;
    const rocksdb::Snapshot* view;
    bool notify;
    {
      absl::MutexLock commit(&commit_mu_);
      target = db_->GetLatestSequenceNumber();
      view = db_->GetSnapshot();
      notify = notify_pending_;
      notify_pending_ = false;
    }
    auto snapshot = std::make_shared<RocksSnapshot>(db_.get(), view);
    const absl::Status synced = FromRocks(db_->SyncWAL(), "sync the write-ahead log");
    if (synced.ok()) {
      absl::MutexLock view_lock(&view_mu_);
      published_ = std::move(snapshot);
    }
    std::vector<DurableFn> covered;
    bool again = false;
    {
      absl::MutexLock lock(&sync_mu_);
      if (synced.ok()) synced_seq_ = std::max(synced_seq_, target);
      auto rest = std::partition(waiting_.begin(), waiting_.end(),
                                 [&](const Waiting& w) { return w.seq > target; });
      for (auto it = rest; it != waiting_.end(); ++it) covered.push_back(std::move(it->done));
      waiting_.erase(rest, waiting_.end());
      if (waiting_.empty()) {
        syncing_ = false;
      } else if (leader_seq != 0 && target >= leader_seq) {
        handoff_ = true;  // syncing_ stays true: the sync thread has it.
      } else {
        again = true;
      }
    }
    if (synced.ok() && notify) listeners_.NotifyAll();
    for (DurableFn& done : covered) done(synced);
    return again;
  }

  // Takes the syncing role over from a leader that was answered (handoff_)
  // and syncs groups until nothing waits.
  void SyncThread() {
    while (true) {
      {
        absl::MutexLock lock(&sync_mu_);
        const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sync_mu_) {
          return handoff_ || stopping_;
        };
        sync_mu_.Await(absl::Condition(&ready));
        if (!handoff_) return;  // Stopping.
        handoff_ = false;
      }
      while (SyncRound(0)) {
      }
    }
  }

  std::unique_ptr<rocksdb::DB> db_;
  // [0] is the default column family, [i + 1] is table i.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> table_names_;

  // Held while a transaction runs and appends to the log.
  absl::Mutex commit_mu_;
  bool notify_pending_ ABSL_GUARDED_BY(commit_mu_) = false;

  struct Waiting {
    rocksdb::SequenceNumber seq;
    DurableFn done;
  };
  absl::Mutex sync_mu_ ABSL_ACQUIRED_BEFORE(commit_mu_);
  // One thread at a time syncs: a waiter that found nobody syncing (the
  // leader), or sync_thread_ once a leader handed over.
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
  bool handoff_ ABSL_GUARDED_BY(sync_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(sync_mu_) = false;
  rocksdb::SequenceNumber synced_seq_ ABSL_GUARDED_BY(sync_mu_) = 0;
  std::vector<Waiting> waiting_ ABSL_GUARDED_BY(sync_mu_);
  std::thread sync_thread_;

  // What reads outside transactions see: everything durable, nothing else.
  absl::Mutex view_mu_;
  std::shared_ptr<const RocksSnapshot> published_ ABSL_GUARDED_BY(view_mu_);

  CommitListeners listeners_;
};

absl::Status StampSchemaVersion(rocksdb::DB* db, int64_t version) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db->Put(wo, kSchemaVersionKey, absl::StrCat(version)),
                   "stamp schema version");
}

}  // namespace

absl::StatusOr<std::unique_ptr<KvStore>> OpenRocksDbKvStore(
    const RocksDbOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("storage path is empty");
  }
  PRESENCE_RETURN_IF_ERROR(ValidateTableNames(options.tables));
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create data directory ", options.path, ": ", ec.message()));
  }

  rocksdb::BlockBasedTableOptions table_options;
  // 16 shards: with the default 64, a 64 MiB cache has 1 MiB shards, too
  // small to hold the metadata blocks of large files.
  table_options.block_cache = rocksdb::NewLRUCache(
      options.block_cache_bytes, /*num_shard_bits=*/4,
      /*strict_capacity_limit=*/false, /*high_pri_pool_ratio=*/0.5);
  // Index and filter blocks count against the cache, so the cache size bounds
  // memory whatever the data size. They are partitioned into 4 KiB blocks
  // under a small pinned top level: an unpartitioned index of a 64 MiB file
  // is most of a megabyte, and once the cache evicts it every seek reads and
  // decompresses it again (at a million events that made reads 5-8x slower).
  table_options.cache_index_and_filter_blocks = true;
  table_options.cache_index_and_filter_blocks_with_high_priority = true;
  table_options.pin_l0_filter_and_index_blocks_in_cache = true;
  table_options.pin_top_level_index_and_filter = true;
  table_options.index_type =
      rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table_options.partition_filters = true;
  table_options.metadata_block_size = 4096;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  cf_options.write_buffer_size = 16 << 20;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  db_options.info_log = std::make_shared<JsonInfoLogger>();
  // Writes come from the commit section one at a time (see Transact), so
  // RocksDB's write groups would only add hand-offs.
  db_options.allow_concurrent_memtable_write = false;
  // The machines have little memory to spare: bound the total of memtables.
  db_options.db_write_buffer_size = 64 << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const std::string& t : options.tables) {
    descriptors.emplace_back(t, cf_options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", options.path,
          " is in use by another process: ", s.ToString()));
    }
    return FromRocks(s, absl::StrCat("open ", options.path));
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  const auto close = [&] {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close().PermitUncheckedError();
  };
  // What recovery replayed from the log may not have been synced before the
  // crash: make it durable before anything reads it.
  if (absl::Status synced = FromRocks(db->FlushWAL(/*sync=*/true), "sync recovered log");
      !synced.ok()) {
    close();
    return synced;
  }
  std::string stored;
  s = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(),
              kSchemaVersionKey, &stored);
  absl::StatusOr<int64_t> have =
      s.IsNotFound() ? CheckStoredSchemaVersion(std::nullopt, options, options.path)
      : s.ok()       ? CheckStoredSchemaVersion(stored, options, options.path)
                     : absl::StatusOr<int64_t>(FromRocks(s, "read schema version"));
  if (have.ok() && s.IsNotFound()) {
    // A new database. (A database that has tables but no stamp cannot
    // exist: the stamp is written right after the tables are created.)
    have = StampSchemaVersion(db.get(), options.schema_version).ok()
               ? absl::StatusOr<int64_t>(options.schema_version)
               : absl::InternalError("cannot stamp the schema version");
  }
  if (!have.ok()) {
    close();
    return have.status();
  }
  rocksdb::DB* const db_ptr = db.get();
  auto store = std::make_unique<RocksDbKvStore>(std::move(db), std::move(handles),
                                                options.tables);
  if (*have < options.schema_version) {
    // The database's lock file makes this process the only one using it.
    PRESENCE_RETURN_IF_ERROR(RunSchemaUpgrade(store.get(), *have, options, options.path));
    PRESENCE_RETURN_IF_ERROR(StampSchemaVersion(db_ptr, options.schema_version));
  }
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace presence::storage
