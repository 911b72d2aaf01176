#ifndef PRESENCE_SERVICES_COMMON_STORAGE_KV_STORE_H_
#define PRESENCE_SERVICES_COMMON_STORAGE_KV_STORE_H_

// The storage contract of both services: an ordered key-value store with
// named tables, point reads, range scans over consistent snapshots, and
// atomic, durable, conditional write batches. Modeled on LevelDB's DB
// interface; the domain layer owns this interface and the RocksDB
// implementation (rocksdb_kv_store.h) is the only code that includes RocksDB
// headers. A distributed ordered store (e.g. one with multi-key transactions)
// can implement the same contract.
//
// Keys and values are arbitrary byte strings; keys within a table are ordered
// bytewise (memcmp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace presence::storage {

// A table ("column family"): an index into the table names the store was
// opened with.
using TableId = int;

// A consistent read view. Reads through the same snapshot see the store as it
// was when the snapshot was taken. Obtained from KvStore::GetSnapshot().
class Snapshot {
 public:
  virtual ~Snapshot() = default;
};

// Iterates over one table in key order. Not thread-safe: use one iterator
// from one thread at a time. An iterator must be destroyed before the store
// and before the snapshot it reads from.
class Iterator {
 public:
  virtual ~Iterator() = default;

  // True while positioned at an entry. When it becomes false, check status().
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // Positions at the first key >= target.
  virtual void Seek(absl::string_view target) = 0;
  // Positions at the last key <= target.
  virtual void SeekForPrev(absl::string_view target) = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  // REQUIRES: Valid().
  virtual void Prev() = 0;
  // REQUIRES: Valid(). Valid until the iterator is moved or destroyed.
  virtual absl::string_view key() const = 0;
  virtual absl::string_view value() const = 0;
  // OK unless an I/O error or corruption was found.
  virtual absl::Status status() const = 0;
};

struct ReadOptions {
  // Read from this snapshot; null reads the latest committed state.
  const Snapshot* snapshot = nullptr;
  // If non-empty, iterators see only keys in [lower_bound, upper_bound).
  // Bounds let the store skip work outside the range.
  std::string lower_bound;
  std::string upper_bound;
};

// A set of preconditions and mutations applied atomically by KvStore::Write:
// either every precondition holds and every mutation is applied, or nothing
// is.
class WriteBatch {
 public:
  enum class OpType { kPut, kDelete, kDeleteRange };
  struct Op {
    OpType type;
    TableId table;
    std::string key;    // kDeleteRange: begin (inclusive).
    std::string value;  // kDeleteRange: end (exclusive).
  };
  struct Precondition {
    TableId table;
    std::string key;
    // nullopt: the key must be absent. Otherwise the key must hold exactly
    // this value.
    std::optional<std::string> value;
  };

  // Precondition: `key` currently holds exactly `value`.
  void ExpectValue(TableId table, absl::string_view key, absl::string_view value);
  // Precondition: `key` is currently absent.
  void ExpectAbsent(TableId table, absl::string_view key);

  void Put(TableId table, absl::string_view key, absl::string_view value);
  void Delete(TableId table, absl::string_view key);
  // Deletes every key in [begin, end). Not covered by preconditions.
  void DeleteRange(TableId table, absl::string_view begin, absl::string_view end);

  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<Precondition>& preconditions() const {
    return preconditions_;
  }
  bool empty() const { return ops_.empty() && preconditions_.empty(); }

 private:
  std::vector<Op> ops_;
  std::vector<Precondition> preconditions_;
};

class KvStore {
 public:
  KvStore() = default;
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;
  // Closes the store cleanly. Every Snapshot and Iterator must be gone.
  virtual ~KvStore() = default;

  // Returns the value of `key`, or nullopt if absent. Never blocks on
  // writers. Errors: INTERNAL/UNAVAILABLE/DATA_LOSS for I/O errors or
  // corruption.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key,
      const Snapshot* snapshot = nullptr) = 0;

  // Returns an iterator over `table`; it starts unpositioned (call a Seek).
  // The caller owns it.
  virtual std::unique_ptr<Iterator> NewIterator(TableId table,
                                                const ReadOptions& options) = 0;

  // Returns a snapshot of the current committed state. Shared: the snapshot
  // is released when the last reference is dropped, which must happen before
  // the store is destroyed.
  virtual std::shared_ptr<const Snapshot> GetSnapshot() = 0;

  // Applies `batch` atomically and durably: on OK, the batch is in the synced
  // write-ahead log and survives a crash of the process or the machine.
  // Returns FAILED_PRECONDITION, naming the table and key, if a precondition
  // does not hold (nothing is written); other errors for I/O failures (in
  // which case nothing is acknowledged and the store may refuse later
  // writes).
  //
  // Thread-safe. Concurrent Write calls on disjoint keys do not wait for each
  // other's sync one by one: the store may commit them in one group.
  virtual absl::Status Write(const WriteBatch& batch) = 0;

  // Writes a consistent, openable copy of the store to `dir`, which must not
  // exist. Used for backups.
  virtual absl::Status Checkpoint(const std::string& dir) = 0;

  // Approximate figures for monitoring, by name (e.g. "estimate-num-keys",
  // "live-sst-files-size"); summed over tables.
  virtual std::vector<std::pair<std::string, uint64_t>> Stats() = 0;
};

}  // namespace presence::storage

#endif  // PRESENCE_SERVICES_COMMON_STORAGE_KV_STORE_H_
