#include "services/common/storage/rocksdb_kv_store.h"

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "services/common/key_locks.h"
#include "services/common/server/log.h"
#include "services/common/status_macros.h"

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
    return absl::UnavailableError(message);
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

class RocksIterator final : public Iterator {
 public:
  // Owns the bound strings because RocksDB keeps pointers to them.
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                const ReadOptions& options)
      : lower_(options.lower_bound), upper_(options.upper_bound) {
    rocksdb::ReadOptions ro;
    if (options.snapshot != nullptr) {
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    }
    if (!lower_.empty()) {
      lower_slice_ = rocksdb::Slice(lower_);
      ro.iterate_lower_bound = &lower_slice_;
    }
    if (!upper_.empty()) {
      upper_slice_ = rocksdb::Slice(upper_);
      ro.iterate_upper_bound = &upper_slice_;
    }
    it_.reset(db->NewIterator(ro, cf));
  }

  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(absl::string_view target) override { it_->Seek(ToSlice(target)); }
  void SeekForPrev(absl::string_view target) override {
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
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksDbKvStore final : public KvStore {
 public:
  RocksDbKvStore(std::unique_ptr<rocksdb::DB> db,
                 std::vector<rocksdb::ColumnFamilyHandle*> handles,
                 std::vector<std::string> table_names)
      : db_(std::move(db)),
        handles_(std::move(handles)),
        table_names_(std::move(table_names)) {}

  ~RocksDbKvStore() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h);
    }
    // Flushes nothing (the WAL holds everything acknowledged) but waits for
    // background work and releases the lock file.
    db_->Close().PermitUncheckedError();
  }

  absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key, const Snapshot* snapshot) override {
    rocksdb::ReadOptions ro;
    if (snapshot != nullptr) {
      ro.snapshot = static_cast<const RocksSnapshot*>(snapshot)->get();
    }
    std::string value;
    rocksdb::Status s = db_->Get(ro, Handle(table), ToSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return FromRocks(s, absl::StrCat("get ", table_names_[table]));
    return value;
  }

  std::unique_ptr<Iterator> NewIterator(TableId table,
                                        const ReadOptions& options) override {
    return std::make_unique<RocksIterator>(db_.get(), Handle(table), options);
  }

  std::shared_ptr<const Snapshot> GetSnapshot() override {
    return std::make_shared<RocksSnapshot>(db_.get(), db_->GetSnapshot());
  }

  absl::Status Write(const WriteBatch& batch) override {
    // Lock every key the batch reads or writes, so that preconditions are
    // checked and the batch applied without another writer in between.
    // Writers with disjoint keys do not wait for each other, and RocksDB
    // group-commits their synced writes.
    std::vector<std::string> lock_keys;
    for (const auto& p : batch.preconditions()) {
      lock_keys.push_back(absl::StrCat(p.table, ":", p.key));
    }
    for (const auto& op : batch.ops()) {
      if (op.type != WriteBatch::OpType::kDeleteRange) {
        lock_keys.push_back(absl::StrCat(op.table, ":", op.key));
      }
    }
    std::vector<absl::string_view> views(lock_keys.begin(), lock_keys.end());
    KeyLocks::Guard guard = locks_.LockAll(views);

    for (const auto& p : batch.preconditions()) {
      absl::StatusOr<std::optional<std::string>> current =
          Get(p.table, p.key, nullptr);
      if (!current.ok()) return current.status();
      if (*current != p.value) {
        return absl::FailedPreconditionError(absl::StrCat(
            "precondition failed on ", table_names_[p.table], "/",
            absl::CEscape(p.key), ": expected ",
            p.value ? "a specific value" : "absence", ", found ",
            current->has_value() ? "another value" : "absence"));
      }
    }

    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      rocksdb::Status s;
      switch (op.type) {
        case WriteBatch::OpType::kPut:
          s = wb.Put(Handle(op.table), ToSlice(op.key), ToSlice(op.value));
          break;
        case WriteBatch::OpType::kDelete:
          s = wb.Delete(Handle(op.table), ToSlice(op.key));
          break;
        case WriteBatch::OpType::kDeleteRange:
          s = wb.DeleteRange(Handle(op.table), ToSlice(op.key),
                             ToSlice(op.value));
          break;
      }
      if (!s.ok()) return FromRocks(s, "write batch");
    }
    if (wb.Count() == 0) return absl::OkStatus();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Write(wo, &wb), "write");
  }

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

  std::unique_ptr<rocksdb::DB> db_;
  // [0] is the default column family, [i + 1] is table i.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> table_names_;
  KeyLocks locks_{256};
};

absl::Status StampSchemaVersion(rocksdb::DB* db, int64_t version) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db->Put(wo, kSchemaVersionKey, absl::StrCat(version)),
                   "stamp schema version");
}

// The schema version stored in `db`, stamping `want` on a new database.
absl::StatusOr<int64_t> StoredSchemaVersion(rocksdb::DB* db, int64_t want,
                                            const std::string& path) {
  std::string stored;
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(),
              kSchemaVersionKey, &stored);
  if (s.IsNotFound()) {
    PRESENCE_RETURN_IF_ERROR(StampSchemaVersion(db, want));
    return want;
  }
  if (!s.ok()) return FromRocks(s, "read schema version");
  int64_t have = 0;
  if (!absl::SimpleAtoi(stored, &have)) {
    return absl::DataLossError(absl::StrCat("database ", path,
                                            ": unreadable schema version \"",
                                            absl::CEscape(stored), "\""));
  }
  if (have > want) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", path, " has schema version ", have,
        ", newer than this binary supports (", want,
        "); run a newer release"));
  }
  return have;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KvStore>> OpenRocksDbKvStore(
    const RocksDbOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("storage path is empty");
  }
  if (options.tables.empty()) {
    return absl::InvalidArgumentError("no tables given");
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& t : options.tables) {
    if (t.empty() || t == rocksdb::kDefaultColumnFamilyName ||
        !seen.insert(t).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad or duplicate table name \"", t, "\""));
    }
  }
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
  // The leader of a write group inserts the whole group into the memtable:
  // with parallel inserts every follower is woken once to insert and once
  // more when the group completes, and on few cores those hand-offs cost
  // more than the inserts.
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
  absl::StatusOr<int64_t> have =
      StoredSchemaVersion(db.get(), options.schema_version, options.path);
  if (have.ok() && *have < options.schema_version && !options.upgrade) {
    have = absl::FailedPreconditionError(
        absl::StrCat("database ", options.path, " has schema version ", *have,
                     " and this binary needs ", options.schema_version,
                     "; no upgrade exists for it"));
  }
  if (!have.ok()) {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close().PermitUncheckedError();
    return have.status();
  }
  rocksdb::DB* const db_ptr = db.get();
  auto store = std::make_unique<RocksDbKvStore>(std::move(db), std::move(handles),
                                                options.tables);
  if (*have < options.schema_version) {
    if (absl::Status s = options.upgrade(store.get(), *have); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("upgrading ", options.path, " from schema version ",
                                                 *have, ": ", s.message()));
    }
    PRESENCE_RETURN_IF_ERROR(StampSchemaVersion(db_ptr, options.schema_version));
  }
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace presence::storage
