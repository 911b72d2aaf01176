#ifndef PRESENCE_SERVICES_COMMON_STORAGE_KV_STORE_H_
#define PRESENCE_SERVICES_COMMON_STORAGE_KV_STORE_H_

// The storage contract of both services: an ordered key-value store with
// named tables, point reads, range scans over consistent snapshots,
// serializable read-write transactions, and commit notifications. Modeled
// on LevelDB's DB interface; the domain layer owns this interface, and each
// engine has one implementation, the only code that includes the engine's
// headers:
//   rocksdb_kv_store.cc   embedded RocksDB (one process owns the database)
//   postgres_kv_store.cc  PostgreSQL through libpq (any number of processes
//                         share the database)
//
// Keys and values are arbitrary byte strings; keys within a table are ordered
// bytewise (memcmp, shorter first on a common prefix).
//
// Visibility and durability. Reads outside transactions (Get, NewIterator,
// GetSnapshot) see exactly the committed state that is durable: a write is
// visible to them only once it is acknowledged, and everything acknowledged
// survives a crash of the process (and, with the engines' settings here, of
// the machine). Transactions are serializable (unless they opt into
// snapshot isolation, see TransactOptions): every committed transaction
// behaves as if it ran alone, in commit order.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace presence::storage {

// A table: an index into the table names the store was opened with.
using TableId = int;

// A consistent read view. Reads through the same snapshot see the store as it
// was when the snapshot was taken. Obtained from KvStore::GetSnapshot().
class Snapshot {
 public:
  virtual ~Snapshot() = default;
};

// Iterates over one table in key order. Not thread-safe: use one iterator
// from one thread at a time. An iterator must be destroyed before the store,
// and before the snapshot or transaction it reads from.
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
  // OK unless the store failed (I/O error, corruption, connection lost);
  // then Valid() is false.
  virtual absl::Status status() const = 0;
};

struct ReadOptions {
  // Read from this snapshot; null reads the latest durable committed state
  // (an iterator then reads one consistent state throughout its life).
  // Ignored by Transaction::NewIterator, which reads the transaction.
  const Snapshot* snapshot = nullptr;
  // If non-empty, iterators see only keys in [lower_bound, upper_bound).
  // Bounds let the store skip work outside the range.
  std::string lower_bound;
  std::string upper_bound;
  // A hint: about how many entries the caller reads after its first seek.
  // An engine that reads in pages (PostgreSQL) makes its first page this
  // large, so that a read of a known small range costs one round trip; 0:
  // the engine's default (PostgreSQL: 8, each later page 8x larger, up to
  // 512). Never changes what the iterator returns.
  size_t first_page = 0;
};

// One range of a multi-range read (NewIterators): keys in [lower_bound,
// upper_bound); an empty upper_bound is no upper bound. A range whose
// lower_bound is not below its non-empty upper_bound is empty.
struct KeyRange {
  std::string lower_bound;
  std::string upper_bound;
};

// How NewIterators reads its ranges.
struct MultiRangeOptions {
  // Read from this snapshot; null: every iterator of the call reads one
  // consistent state, the same for all of them, taken by the call (and
  // released with the last of them). Ignored by Transaction::NewIterators.
  const Snapshot* snapshot = nullptr;
  // The first positioning the caller gives each iterator: false, the start
  // of its range (SeekToFirst, or Seek to a key in the first entries);
  // true, its end (SeekToLast, or SeekForPrev to a key in the last entries).
  bool reverse = false;
  // As ReadOptions::first_page, per range.
  size_t first_page = 0;
};

// A transaction's view of the store, handed to the function given to
// KvStore::Transact. Reads see the committed state the transaction runs
// against plus the transaction's own writes; writes take effect at commit,
// all of them or none. Used by one thread, only during the call.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // The value of `key`, or nullopt if absent. Errors: as KvStore::Get.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key) = 0;
  // The values of `keys` (nullopt where absent), in order: as many Gets, in
  // one round trip where the engine can.
  virtual absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      TableId table, const std::vector<std::string>& keys);
  // An iterator over the transaction's view of `table` (options.snapshot is
  // ignored). REQUIRES: destroyed before the transaction function returns,
  // and no write of the transaction between its creation and its last use.
  virtual std::unique_ptr<Iterator> NewIterator(TableId table,
                                                const ReadOptions& options) = 0;
  // Iterators over several ranges of the transaction's view of `table`, as
  // KvStore::NewIterators (options.snapshot is ignored). REQUIRES: as
  // NewIterator's, for every returned iterator.
  virtual std::vector<std::unique_ptr<Iterator>> NewIterators(
      TableId table, const std::vector<KeyRange>& ranges,
      const MultiRangeOptions& options);

  virtual void Put(TableId table, absl::string_view key,
                   absl::string_view value) = 0;
  virtual void Delete(TableId table, absl::string_view key) = 0;
  // Deletes every key in [begin, end) at commit. REQUIRES: the transaction
  // neither reads nor writes a key in [begin, end) otherwise.
  virtual void DeleteRange(TableId table, absl::string_view begin,
                           absl::string_view end) = 0;
};

struct TransactOptions {
  // Runs ordered with every other `serialized` transaction of the store: no
  // two of them overlap, so a record they all read and write (the
  // registry's revision) never makes them conflict. On PostgreSQL they queue
  // for one lock before they read; RocksDB runs every transaction this way.
  bool serialized = false;
  // After the commit, wake every commit listener of every process using the
  // store (see AddCommitListener).
  bool notify = false;
  // Snapshot isolation instead of serializability: the transaction's writes
  // still conflict with concurrent writes of the same keys (the first to
  // commit wins, the other is run again), but what it only read is not
  // checked at commit. Enough when every rule the transaction checks is
  // about keys it writes ("this id is free": the create writes the id);
  // wrong for a rule about a key it only reads (write skew). Cheaper on
  // PostgreSQL (REPEATABLE READ: no predicate locks, whose page granularity
  // makes concurrent inserts of neighbouring keys fail as serialization
  // conflicts). RocksDB runs every transaction serializably anyway.
  bool snapshot_isolation = false;
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
  // Deletes every key in [begin, end). Not covered by preconditions; the
  // batch must not otherwise touch keys in the range.
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
  // Runs a transaction: see Transact.
  using TransactionFn = std::function<absl::Status(Transaction& txn)>;
  // Called after commits: see AddCommitListener.
  using CommitListener = std::function<void()>;
  using ListenerId = uint64_t;

  KvStore() = default;
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;
  // Closes the store cleanly. Every Snapshot and Iterator must be gone and
  // no call may be in progress.
  virtual ~KvStore() = default;

  // Returns the value of `key`, or nullopt if absent. Never blocks on
  // writers. Errors: UNAVAILABLE when the store cannot be reached (retry),
  // INTERNAL or DATA_LOSS for I/O errors and corruption.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key,
      const Snapshot* snapshot = nullptr) = 0;

  // Returns an iterator over `table`; it starts unpositioned (call a Seek).
  // The caller owns it. Errors are reported by its status().
  virtual std::unique_ptr<Iterator> NewIterator(TableId table,
                                                const ReadOptions& options) = 0;

  // Returns one iterator per range, in the order of `ranges`: the i-th sees
  // only keys in ranges[i], as if made by NewIterator with those bounds,
  // and starts unpositioned. All of them read the same state (see
  // MultiRangeOptions::snapshot). The caller owns them; each is used as an
  // iterator of NewIterator (one thread at a time, destroyed before the
  // store and the snapshot). Errors are reported by their status() (by
  // every one of them if the read they share failed).
  //
  // Cost: an engine whose reads are round trips (PostgreSQL) reads the
  // first page of every range at once, in one statement, during this call,
  // from the end options.reverse names; an iterator's first positioning
  // that lands in its page is then answered without a round trip, and
  // anything else (another positioning, the pages after the first) costs
  // what it costs a NewIterator iterator. The default implementation, which
  // an embedded engine keeps (RocksDB), opens each range's iterator at its
  // first positioning: a range never positioned costs nothing. Use it for
  // ranges read together (the levels of an index), of which the caller may
  // end up needing only some. Thread-safe.
  virtual std::vector<std::unique_ptr<Iterator>> NewIterators(
      TableId table, const std::vector<KeyRange>& ranges,
      const MultiRangeOptions& options);

  // Returns a snapshot of the current durable committed state. Shared: the
  // snapshot is released when the last reference is dropped, which must
  // happen before the store is destroyed. Errors: as Get.
  virtual absl::StatusOr<std::shared_ptr<const Snapshot>> GetSnapshot() = 0;

  // Runs `fn` against a new transaction and commits what it wrote, atomically
  // and durably: on OK every write of `fn` is applied, survives a crash, and
  // is visible to every later read. `fn` may run several times (after a
  // conflict with a concurrent transaction it is run again against a newer
  // state), so it must reset whatever it computes at its start and have no
  // effect outside the transaction; the outcome is that of its last run.
  //
  // Returns fn's status if it is not OK (nothing is written); ABORTED if the
  // transaction kept conflicting over a bounded number of attempts
  // (nothing is written; retry later); UNAVAILABLE if the store cannot be
  // reached (nothing is written) or if the commit's outcome is unknown (the
  // connection was lost during the commit: the message says the write may
  // have been applied); INTERNAL or DATA_LOSS for storage failures.
  // A transaction that writes nothing commits nothing, but still returns
  // only once what it read is durable.
  //
  // Thread-safe. Concurrent transactions do not wait for each other's
  // sync one by one: the store may sync them as a group.
  //
  // Inside a DeferredSync scope (below) on an engine that supports it, an OK
  // Transact returns once the commit is applied, before it is durable, and
  // the scope owes its durability.
  virtual absl::Status Transact(const TransactionFn& fn,
                                const TransactOptions& options = {}) = 0;

  // Calls `done` once everything committed up to `token` (a value the
  // engine gave a DeferredSync through Owe) is durable, with OK, or with the
  // error that kept it from being synced. May call it before returning, on
  // this thread, or later on another (the store's syncing thread: `done`
  // must be quick and must not commit through the store). For DeferredSync;
  // engines that never defer keep this default (it is never called).
  using DurableFn = std::function<void(absl::Status)>;
  virtual void WhenDurable(uint64_t token, DurableFn done);

  // Applies `batch` atomically and durably (one transaction). Returns
  // FAILED_PRECONDITION, naming the table and key, if a precondition does not
  // hold (nothing is written); otherwise as Transact.
  absl::Status Write(const WriteBatch& batch,
                     const TransactOptions& options = {});

  // Registers `listener`, called after every `notify` transaction commits —
  // one of this process or, for a store shared by several processes, of any
  // of them — once the commit is visible to reads, and at times with no
  // commit (a shared store also polls; at least once a second). Calls are
  // coalesced: one call may stand for several commits. Listeners run on a
  // thread of the store, one at a time; they must be quick and must not
  // call AddCommitListener or RemoveCommitListener. Thread-safe.
  virtual ListenerId AddCommitListener(CommitListener listener) = 0;
  // After it returns, the listener is not running and will not run again.
  virtual void RemoveCommitListener(ListenerId id) = 0;

  // The name `table` was opened with (for messages).
  virtual const std::string& TableName(TableId table) const = 0;

  // Writes a consistent, openable copy of the store to `dir`, which must not
  // exist. UNIMPLEMENTED for engines backed up by their own tools.
  virtual absl::Status Checkpoint(const std::string& dir) = 0;

  // Approximate figures for monitoring, by name (e.g. "estimate-num-keys",
  // "live-sst-files-size"); summed over tables.
  virtual std::vector<std::pair<std::string, uint64_t>> Stats() = 0;
};

// Lets a thread that answers its caller asynchronously stop waiting for
// the sync of its commits: while a DeferredSync lives on a thread, the OK
// Transact calls of that thread on an engine that can defer (RocksDB)
// return once their commit is applied, and Then(done) calls done once all
// of them are durable — with OK, or with the error that kept them from
// being synced — possibly on another thread. The store syncs the commits of
// all threads as one group, and the thread that stops waiting is free to
// serve the next call meanwhile. On engines that do not defer (PostgreSQL:
// its COMMIT is the sync), Transact is unchanged and Then calls done at
// once. Until done is called, nothing committed in the scope may be
// reported to anyone: done is when the writes are acknowledged.
//
// REQUIRES: one at a time per thread; code run inside the scope reads what
// it committed only inside transactions (reads outside them see durable
// state only); Then is called exactly once, on the creating thread, before
// the scope is destroyed.
class DeferredSync {
 public:
  DeferredSync();
  DeferredSync(const DeferredSync&) = delete;
  DeferredSync& operator=(const DeferredSync&) = delete;
  ~DeferredSync();

  // Ends the scope on this thread (later Transact calls wait as usual) and
  // calls done as described above.
  void Then(KvStore::DurableFn done);

  // For engines: the scope active on this thread, or null.
  static DeferredSync* Current();
  // For engines: the scope owes the durability of `store` up to `token`
  // (the larger of several). False if it cannot take it (it already owes
  // another store's): then the engine waits itself.
  bool Owe(KvStore* store, uint64_t token);

 private:
  KvStore* store_ = nullptr;
  uint64_t token_ = 0;
  bool active_ = true;
};

// What every engine's factory is given besides where the data lives.
struct StoreOptions {
  // Table names; TableId i is tables[i]. Non-empty, unique, made of
  // [a-z0-9_], and not "default".
  std::vector<std::string> tables;
  // The data layout version this binary reads and writes. A new database is
  // stamped with it. Opening a database stamped with a newer version fails
  // with FAILED_PRECONDITION; one stamped with an older version is passed to
  // `upgrade` and then stamped, or refused with FAILED_PRECONDITION if
  // `upgrade` is null. Exactly one process runs an upgrade; others opening
  // the same database meanwhile wait for it.
  int64_t schema_version = 1;
  // Brings a store of `stored_version` up to schema_version. It runs before
  // the store is returned, and must be idempotent: a crash before the new
  // version is stamped runs it again at the next open.
  std::function<absl::Status(KvStore* store, int64_t stored_version)> upgrade;
};

// An iterator that is never Valid and whose status() is `status` (for an
// iterator that could not be made: a snapshot that could not be taken).
std::unique_ptr<Iterator> NewErrorIterator(absl::Status status);

// INVALID_ARGUMENT unless `tables` are valid table names (see StoreOptions).
absl::Status ValidateTableNames(const std::vector<std::string>& tables);

// The commit listeners of one store: the part of AddCommitListener and
// RemoveCommitListener every engine shares. Thread-safe.
class CommitListeners {
 public:
  KvStore::ListenerId Add(KvStore::CommitListener listener);
  void Remove(KvStore::ListenerId id);
  // Calls every listener, one call at a time.
  void NotifyAll();

 private:
  // Held while listeners run, so that Remove can wait them out.
  absl::Mutex mu_;
  KvStore::ListenerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<KvStore::ListenerId, KvStore::CommitListener> listeners_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace presence::storage

#endif  // PRESENCE_SERVICES_COMMON_STORAGE_KV_STORE_H_
