#include "services/common/storage/postgres_kv_store.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/status_macros.h"
#include "services/common/storage/store_schema.h"

namespace presence::storage {
namespace {

constexpr char kSchemaLockKey[] = "presence.schema";
// Marks a status as retryable by Transact: the payload's value says why.
constexpr char kRetryPayload[] = "type.presence.dev/postgres-retry";
constexpr size_t kFirstPage = 8;
constexpr size_t kMaxPage = 512;
// A flush with at least this many puts into one table sends them with COPY
// (see PgTransaction::Flush).
constexpr size_t kCopyRows = 64;
// Savepoints (subtransactions) a transaction's flushes take at most: past
// PostgreSQL's 64 cached subtransaction ids per backend, every snapshot in
// the database gets slower.
constexpr int kMaxCopySavepoints = 16;
constexpr char kUniqueViolation[] = "23505";

void AppendBe32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

std::string Be64(int64_t v) {
  std::string out;
  const uint64_t u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((u >> shift) & 0xff));
  }
  return out;
}

// A bytea[] in PostgreSQL's binary array format.
std::string ByteaArray(const std::vector<absl::string_view>& items) {
  std::string out;
  AppendBe32(&out, 1);   // Dimensions.
  AppendBe32(&out, 0);   // No NULLs.
  AppendBe32(&out, 17);  // Element type: bytea.
  AppendBe32(&out, static_cast<uint32_t>(items.size()));
  AppendBe32(&out, 1);  // Lower bound.
  for (absl::string_view item : items) {
    AppendBe32(&out, static_cast<uint32_t>(item.size()));
    out.append(item.data(), item.size());
  }
  return out;
}

// Rows in PostgreSQL's binary COPY format: two bytea columns (k, v).
std::string CopyData(const std::vector<absl::string_view>& keys,
                     const std::vector<absl::string_view>& values) {
  std::string out("PGCOPY\n\377\r\n\0", 11);
  AppendBe32(&out, 0);  // Flags.
  AppendBe32(&out, 0);  // Header extension length.
  for (size_t i = 0; i < keys.size(); ++i) {
    out.append("\0\2", 2);  // Fields in this tuple.
    for (absl::string_view field : {keys[i], values[i]}) {
      AppendBe32(&out, static_cast<uint32_t>(field.size()));
      out.append(field.data(), field.size());
    }
  }
  out.append("\377\377", 2);  // Trailer: -1.
  return out;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// UNAVAILABLE with reason STORE_UNAVAILABLE and a retry delay: the database
// is out of reach (or its connections all busy); nothing was written.
absl::Status StoreUnavailable(absl::Status status) {
  return ErrorBuilder(std::move(status))
      .Reason(kStoreUnavailable)
      .RetryAfter(absl::Seconds(1));
}

absl::Status Retryable(absl::Status status, absl::string_view why) {
  status.SetPayload(kRetryPayload, absl::Cord(why));
  return status;
}

// "conflict", "connection" or empty.
std::string RetryReason(const absl::Status& status) {
  absl::optional<absl::Cord> why = status.GetPayload(kRetryPayload);
  return why ? std::string(*why) : "";
}

// The status of a failed statement (`result` may be null when the
// connection failed before answering).
absl::Status ErrorOf(PGconn* conn, const PGresult* result,
                     absl::string_view context) {
  const char* state =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string message(absl::StripTrailingAsciiWhitespace(
      result != nullptr && *PQresultErrorMessage(result) != '\0'
          ? PQresultErrorMessage(result)
          : PQerrorMessage(conn)));
  const std::string text = absl::StrCat(
      "PostgreSQL ", context, ": ", message,
      sqlstate.empty() ? "" : absl::StrCat(" (SQLSTATE ", sqlstate, ")"));
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return Retryable(absl::AbortedError(text), "conflict");
  }
  // Connection exceptions, shutdowns, a demoted primary (read-only), too
  // many connections: the database is (for now) out of reach.
  if (PQstatus(conn) == CONNECTION_BAD || absl::StartsWith(sqlstate, "08") ||
      sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" ||
      sqlstate == "25006" || sqlstate == "53300") {
    return Retryable(absl::UnavailableError(text), "connection");
  }
  return absl::InternalError(text);
}

std::string Quote(absl::string_view identifier) {
  return absl::StrCat("\"", identifier, "\"");  // Names are [a-z0-9_].
}

// One libpq connection with the store's statements prepared.
class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& conninfo, const std::string& application,
      const std::string& prepare_sql) {
    const char* keys[] = {"dbname", "fallback_application_name", "connect_timeout",
                          nullptr};
    const char* values[] = {conninfo.c_str(), application.c_str(), "5", nullptr};
    PGconn* raw = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    auto conn = std::unique_ptr<Connection>(new Connection(raw));
    // NOTICEs ("relation ... already exists, skipping") are not errors and
    // would go to stderr, which holds JSON log lines only.
    if (raw != nullptr) PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
    if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
      return Retryable(
          absl::UnavailableError(absl::StrCat(
              "cannot connect to PostgreSQL: ",
              absl::StripTrailingAsciiWhitespace(
                  raw != nullptr ? PQerrorMessage(raw) : "out of memory"))),
          "connection");
    }
    // Session settings, then every statement the store uses, in one round
    // trip. A transaction left open (a leaked snapshot) cannot hold locks
    // and old row versions for long.
    PRESENCE_RETURN_IF_ERROR(conn->Exec(absl::StrCat(
        "SET idle_in_transaction_session_timeout = '10min'; ", prepare_sql)));
    return conn;
  }

  ~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  PGconn* raw() const { return conn_; }
  bool healthy() const {
    return PQstatus(conn_) == CONNECTION_OK &&
           PQtransactionStatus(conn_) == PQTRANS_IDLE &&
           PQpipelineStatus(conn_) == PQ_PIPELINE_OFF;
  }

  // A simple query (several statements allowed, no parameters).
  absl::Status Exec(const std::string& sql) {
    Result r(PQexec(conn_, sql.c_str()));
    // With several statements, the last result stands for all (an error
    // stops the rest).
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      return absl::OkStatus();
    }
    return ErrorOf(conn_, r.get(), sql.substr(0, 60));
  }

  // A prepared statement with binary parameters and results.
  absl::StatusOr<Result> Run(const char* statement,
                             const std::vector<std::string>& params) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats(params.size(), 1);
    for (const std::string& p : params) {
      values.push_back(p.data());
      lengths.push_back(static_cast<int>(p.size()));
    }
    Result r(PQexecPrepared(conn_, statement, static_cast<int>(params.size()),
                            values.data(), lengths.data(), formats.data(),
                            /*resultFormat=*/1));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    return ErrorOf(conn_, r.get(), statement);
  }

  // One statement of a Pipeline: a prepared statement (binary parameters)
  // or, with `sql` set, a parameterless statement of that text.
  struct Statement {
    std::string name;  // Prepared statement; also the error's context.
    std::vector<std::string> params;
    std::string sql;
  };
  struct Pipelined {
    // The results of the statements that succeeded, in order.
    std::vector<Result> results;
    // OK, or the error of statement results.size(): PostgreSQL skips the
    // statements after a failed one (and a transaction block it is in is
    // then failed, until ROLLBACK).
    absl::Status status;
    // The error is PostgreSQL's answer to that statement (so none after it
    // ran), not a connection lost before every answer came.
    bool answered = false;
  };
  // Sends `statements` in one round trip (libpq's pipeline mode, one Sync)
  // and collects their results (binary).
  Pipelined Pipeline(const std::vector<Statement>& statements) {
    Pipelined out;
    if (PQenterPipelineMode(conn_) != 1) {
      out.status = ErrorOf(conn_, nullptr, "pipeline");
      return out;
    }
    bool sent = true;
    for (const Statement& st : statements) {
      if (!st.sql.empty()) {
        sent = PQsendQueryParams(conn_, st.sql.c_str(), 0, nullptr, nullptr, nullptr,
                                 nullptr, /*resultFormat=*/1) == 1;
      } else {
        std::vector<const char*> values;
        std::vector<int> lengths;
        std::vector<int> formats(st.params.size(), 1);
        for (const std::string& p : st.params) {
          values.push_back(p.data());
          lengths.push_back(static_cast<int>(p.size()));
        }
        sent = PQsendQueryPrepared(conn_, st.name.c_str(), static_cast<int>(st.params.size()),
                                   values.data(), lengths.data(), formats.data(),
                                   /*resultFormat=*/1) == 1;
      }
      if (!sent) break;
    }
    if (!sent || PQpipelineSync(conn_) != 1) {
      // The connection is unusable (it stays in pipeline mode and is closed
      // by Pool::Release).
      out.status = ErrorOf(conn_, nullptr, "pipeline");
      if (PQstatus(conn_) == CONNECTION_OK) {
        out.status = Retryable(absl::UnavailableError(std::string(out.status.message())),
                               "connection");
      }
      return out;
    }
    // Each statement's result, then a null; at the end the Sync's.
    for (const Statement& st : statements) {
      Result r(PQgetResult(conn_));
      if (r == nullptr) break;  // The connection failed.
      while (Result more{PQgetResult(conn_)}) {
      }
      const ExecStatusType status = PQresultStatus(r.get());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (out.status.ok()) out.results.push_back(std::move(r));
      } else if (out.status.ok()) {
        out.status = ErrorOf(conn_, r.get(), st.sql.empty() ? st.name : st.sql.substr(0, 60));
        out.answered = true;
      }
    }
    Result sync(PQgetResult(conn_));
    const bool synced = sync != nullptr && PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC;
    if (!synced || PQexitPipelineMode(conn_) != 1) {
      if (out.status.ok() || RetryReason(out.status) != "connection") {
        absl::Status lost = ErrorOf(conn_, nullptr, "pipeline");
        out.status = RetryReason(lost) == "connection"
                         ? lost
                         : Retryable(absl::UnavailableError(std::string(lost.message())),
                                     "connection");
      }
      // Pool::Release closes a connection left in pipeline mode.
      return out;
    }
    return out;
  }

  // COPY ... FROM STDIN (FORMAT binary) of `keys` and `values`, inside the
  // open transaction. Returns false if a key already exists (SQLSTATE 23505:
  // the transaction is then in its failed state until rolled back, e.g. to
  // a savepoint), true once every row is in.
  absl::StatusOr<bool> CopyIn(const std::string& copy_sql,
                              const std::vector<absl::string_view>& keys,
                              const std::vector<absl::string_view>& values) {
    Result start(PQexec(conn_, copy_sql.c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
      return ErrorOf(conn_, start.get(), copy_sql.substr(0, 60));
    }
    const std::string data = CopyData(keys, values);
    const bool sent = PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) == 1 &&
                      PQputCopyEnd(conn_, nullptr) == 1;
    // The command's result, then null (also after a failed send).
    Result end(PQgetResult(conn_));
    while (Result more{PQgetResult(conn_)}) {
    }
    const ExecStatusType status = end ? PQresultStatus(end.get()) : PGRES_FATAL_ERROR;
    if (sent && status == PGRES_COMMAND_OK) return true;
    const char* state = end ? PQresultErrorField(end.get(), PG_DIAG_SQLSTATE) : nullptr;
    if (sent && state != nullptr && std::strcmp(state, kUniqueViolation) == 0) return false;
    return ErrorOf(conn_, end.get(), copy_sql.substr(0, 60));
  }

  // A statement with text parameters and results (schema work only).
  absl::StatusOr<Result> RunText(const std::string& sql,
                                 const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()),
                          nullptr, values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    return ErrorOf(conn_, r.get(), sql.substr(0, 60));
  }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  PGconn* conn_;
};

// At most `size` connections, opened on demand and reused.
class Pool {
 public:
  Pool(std::string conninfo, std::string application, std::string prepare_sql,
       int size, absl::Duration acquire_timeout)
      : conninfo_(std::move(conninfo)),
        application_(std::move(application)),
        prepare_sql_(std::move(prepare_sql)),
        size_(size),
        acquire_timeout_(acquire_timeout) {}

  absl::StatusOr<std::unique_ptr<Connection>> Acquire() { return Acquire(acquire_timeout_); }
  absl::StatusOr<std::unique_ptr<Connection>> Acquire(absl::Duration timeout) {
    {
      absl::MutexLock lock(&mu_);
      const auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < size_;
      };
      if (!mu_.AwaitWithTimeout(absl::Condition(&available), timeout)) {
        return StoreUnavailable(absl::UnavailableError(absl::StrCat(
            "all ", size_, " PostgreSQL connections stayed busy for ",
            absl::FormatDuration(acquire_timeout_), " (--store_pool_size)")));
      }
      if (!idle_.empty()) {
        std::unique_ptr<Connection> conn = std::move(idle_.back());
        idle_.pop_back();
        return conn;
      }
      ++open_;
    }
    absl::StatusOr<std::unique_ptr<Connection>> conn =
        Connection::Open(conninfo_, application_, prepare_sql_);
    if (!conn.ok()) {
      absl::MutexLock lock(&mu_);
      --open_;
    }
    return conn;
  }

  // Takes the connection back; a broken one (or one left inside a
  // transaction) is closed instead.
  void Release(std::unique_ptr<Connection> conn) {
    if (conn == nullptr) return;
    if (!conn->healthy()) conn.reset();
    absl::MutexLock lock(&mu_);
    if (conn) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }

  // Closes the idle connections (after a failover they point at the old
  // primary).
  void DropIdle() {
    std::vector<std::unique_ptr<Connection>> dropped;
    absl::MutexLock lock(&mu_);
    open_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
  }

  const std::string& conninfo() const { return conninfo_; }
  const std::string& application() const { return application_; }
  const std::string& prepare_sql() const { return prepare_sql_; }

 private:
  const std::string conninfo_;
  const std::string application_;
  const std::string prepare_sql_;
  const int size_;
  const absl::Duration acquire_timeout_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // Idle and in use.
};

using Rows = std::vector<std::pair<std::string, std::string>>;

Rows RowsOf(const PGresult* r) {
  Rows rows;
  const int n = PQntuples(r);
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    rows.emplace_back(std::string(PQgetvalue(r, i, 0), PQgetlength(r, i, 0)),
                      std::string(PQgetvalue(r, i, 1), PQgetlength(r, i, 1)));
  }
  return rows;
}

// Where an iterator's pages come from: a snapshot or a transaction.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual absl::StatusOr<Result> Query(const std::string& statement,
                                       const std::vector<std::string>& params) = 0;
};

// Pages through [lower, upper) of one table.
class PgIterator final : public Iterator {
 public:
  // `first_page`: ReadOptions::first_page (0: kFirstPage).
  PgIterator(Reader* reader, std::shared_ptr<const void> keep_alive,
             TableId table, std::string lower, std::string upper,
             size_t first_page = 0)
      : reader_(reader),
        keep_alive_(std::move(keep_alive)),
        suffix_(std::to_string(table)),
        lower_(std::move(lower)),
        upper_(std::move(upper)),
        first_page_(first_page == 0 ? kFirstPage : std::min(first_page, kMaxPage)) {}

  // Gives the iterator its range's first page, read ahead by NewIterators:
  // the first `rows` of the range ascending (descending if `reverse`), and
  // whether the range holds more. The next positioning is answered from
  // it if it lands there.
  void Prime(Rows rows, bool more, bool reverse) {
    primed_ = std::move(rows);
    primed_more_ = more;
    primed_reverse_ = reverse;
    has_primed_ = true;
  }
  // Fails the iterator (the read ahead failed).
  void Fail(absl::Status status) {
    status_ = std::move(status);
    rows_.clear();
    has_primed_ = false;
  }

  bool Valid() const override { return status_.ok() && pos_ < rows_.size(); }
  void SeekToFirst() override { Seek(lower_); }
  void SeekToLast() override {
    if (FromPrimed(/*reverse=*/true, std::nullopt)) return;
    page_ = first_page_;
    FetchBackward(std::nullopt, /*inclusive=*/false);
  }
  void Seek(absl::string_view target) override {
    if (FromPrimed(/*reverse=*/false, target)) return;
    page_ = first_page_;
    FetchForward(std::string(target), /*inclusive=*/true);
  }
  void SeekForPrev(absl::string_view target) override {
    const bool to_end = !upper_.empty() && target >= upper_;
    if (FromPrimed(/*reverse=*/true,
                   to_end ? std::nullopt : std::optional<absl::string_view>(target))) {
      return;
    }
    page_ = first_page_;
    if (to_end) {
      FetchBackward(std::nullopt, false);
    } else {
      FetchBackward(std::string(target), /*inclusive=*/true);
    }
  }
  void Next() override {
    const std::string current = rows_[pos_].first;
    if (forward_ && ++pos_ < rows_.size()) return;
    if (forward_ && !more_) return;
    FetchForward(current, /*inclusive=*/false);
  }
  void Prev() override {
    const std::string current = rows_[pos_].first;
    if (!forward_ && ++pos_ < rows_.size()) return;
    if (!forward_ && !more_) return;
    FetchBackward(current, /*inclusive=*/false);
  }
  absl::string_view key() const override { return rows_[pos_].first; }
  absl::string_view value() const override { return rows_[pos_].second; }
  absl::Status status() const override { return status_; }

 private:
  // Positions from the primed page if it answers this first positioning:
  // the first key >= *target (forward) or the last key <= *target
  // (reverse; nullopt: the last key of the range). The page answers if it
  // holds that key or holds the whole rest of the range in its direction.
  // Drops the page either way: only the first positioning uses it.
  bool FromPrimed(bool reverse, std::optional<absl::string_view> target) {
    if (!has_primed_ || !status_.ok()) return false;
    has_primed_ = false;
    if (reverse != primed_reverse_) return false;
    size_t pos = 0;
    if (target) {
      const auto before = [&](const std::pair<std::string, std::string>& row) {
        return reverse ? absl::string_view(row.first) > *target
                       : absl::string_view(row.first) < *target;
      };
      pos = static_cast<size_t>(
          std::find_if_not(primed_.begin(), primed_.end(), before) - primed_.begin());
    }
    if (pos == primed_.size() && primed_more_) return false;
    rows_ = std::move(primed_);
    primed_.clear();
    pos_ = pos;
    forward_ = !reverse;
    more_ = primed_more_;
    page_ = std::min(first_page_ * 8, kMaxPage);
    return true;
  }

  void Load(const std::string& statement, std::vector<std::string> params) {
    params.push_back(Be64(static_cast<int64_t>(page_)));
    absl::StatusOr<Result> r = reader_->Query(statement, params);
    pos_ = 0;
    if (!r.ok()) {
      status_ = r.status();
      rows_.clear();
      more_ = false;
      return;
    }
    rows_ = RowsOf(r->get());
    more_ = rows_.size() == page_;
    page_ = std::min(page_ * 8, kMaxPage);
  }

  void FetchForward(std::string from, bool inclusive) {
    forward_ = true;
    if (!inclusive) from.push_back('\0');  // The smallest key after it.
    if (from < lower_) from = lower_;
    if (upper_.empty()) {
      Load("fwu" + suffix_, {from});
    } else if (from >= upper_) {
      rows_.clear();
      pos_ = 0;
      more_ = false;
    } else {
      Load("fwd" + suffix_, {from, upper_});
    }
  }

  // From the end of the range when `from` is nullopt.
  void FetchBackward(std::optional<std::string> from, bool inclusive) {
    forward_ = false;
    if (!from) {
      if (upper_.empty()) {
        Load("bwe" + suffix_, {lower_});
      } else {
        Load("bwx" + suffix_, {upper_, lower_});
      }
    } else {
      Load((inclusive ? "bwi" : "bwx") + suffix_, {*from, lower_});
    }
  }

  Reader* const reader_;
  const std::shared_ptr<const void> keep_alive_;
  const std::string suffix_;
  const std::string lower_;
  const std::string upper_;
  const size_t first_page_;
  Rows rows_;
  size_t pos_ = 0;
  bool forward_ = true;
  bool more_ = false;  // Rows beyond rows_ in its direction.
  size_t page_ = kFirstPage;
  absl::Status status_;
  // The read-ahead first page (Prime), until the first positioning.
  Rows primed_;
  bool primed_more_ = false;
  bool primed_reverse_ = false;
  bool has_primed_ = false;
};

// NewIterators on PostgreSQL: the iterators, and the first page of every
// range in one statement (mfw/mbw, see PrepareSql) read through `reader`.
std::vector<std::unique_ptr<Iterator>> PgIterators(
    Reader* reader, const std::shared_ptr<const void>& keep_alive, TableId table,
    const std::vector<KeyRange>& ranges, const MultiRangeOptions& options) {
  const size_t page =
      options.first_page == 0 ? kFirstPage : std::min(options.first_page, kMaxPage);
  std::vector<std::unique_ptr<Iterator>> out;
  std::vector<PgIterator*> iterators;
  // The ranges read, as indexes into `ranges`: bounded ones first, then
  // those without an upper bound (the statement's second branch).
  std::vector<size_t> read;
  std::vector<absl::string_view> lowers, uppers, open_lowers;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const KeyRange& range = ranges[i];
    auto it = std::make_unique<PgIterator>(reader, keep_alive, table, range.lower_bound,
                                           range.upper_bound, page);
    iterators.push_back(it.get());
    out.push_back(std::move(it));
    if (range.upper_bound.empty()) continue;
    if (range.lower_bound >= range.upper_bound) {
      iterators.back()->Prime({}, /*more=*/false, options.reverse);  // Empty.
      continue;
    }
    read.push_back(i);
    lowers.push_back(range.lower_bound);
    uppers.push_back(range.upper_bound);
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (!ranges[i].upper_bound.empty()) continue;
    read.push_back(i);
    open_lowers.push_back(ranges[i].lower_bound);
  }
  if (read.empty()) return out;
  absl::StatusOr<Result> r = reader->Query(
      absl::StrCat(options.reverse ? "mbw" : "mfw", table),
      {ByteaArray(lowers), ByteaArray(uppers), ByteaArray(open_lowers),
       Be64(static_cast<int64_t>(page))});
  if (!r.ok()) {
    for (PgIterator* it : iterators) it->Fail(r.status());
    return out;
  }
  // Rows: (1-based position in `read`, k, v), a range's rows together in
  // its order as the plan produces them (sorted again should a plan not).
  std::vector<Rows> pages(read.size());
  const int n = PQntuples(r->get());
  for (int row = 0; row < n; ++row) {
    uint64_t index = 0;
    const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(r->get(), row, 0));
    for (int b = 0; b < PQgetlength(r->get(), row, 0); ++b) index = (index << 8) | bytes[b];
    if (index < 1 || index > read.size()) {
      const absl::Status bad = absl::InternalError(absl::StrCat(
          "PostgreSQL multi-range read: a row of range ", index, " of ", read.size()));
      for (PgIterator* it : iterators) it->Fail(bad);
      return out;
    }
    pages[index - 1].emplace_back(
        std::string(PQgetvalue(r->get(), row, 1), PQgetlength(r->get(), row, 1)),
        std::string(PQgetvalue(r->get(), row, 2), PQgetlength(r->get(), row, 2)));
  }
  const auto in_order = [&](const std::pair<std::string, std::string>& a,
                            const std::pair<std::string, std::string>& b) {
    return options.reverse ? a.first > b.first : a.first < b.first;
  };
  for (size_t j = 0; j < read.size(); ++j) {
    Rows& rows = pages[j];
    if (!std::is_sorted(rows.begin(), rows.end(), in_order)) {
      std::sort(rows.begin(), rows.end(), in_order);
    }
    const bool more = rows.size() == page;
    iterators[read[j]]->Prime(std::move(rows), more, options.reverse);
  }
  return out;
}

class PostgresKvStore;

// A REPEATABLE READ READ ONLY transaction on a pooled connection.
class PgSnapshot final : public Snapshot, public Reader {
 public:
  PgSnapshot(Pool* pool, std::unique_ptr<Connection> conn)
      : pool_(pool), conn_(std::move(conn)) {}
  ~PgSnapshot() override {
    if (conn_->Exec("COMMIT").ok()) pool_->Release(std::move(conn_));
  }

  absl::StatusOr<Result> Query(const std::string& statement,
                               const std::vector<std::string>& params) override {
    absl::MutexLock lock(&mu_);
    return conn_->Run(statement.c_str(), params);
  }

 private:
  Pool* const pool_;
  absl::Mutex mu_;
  std::unique_ptr<Connection> conn_ ABSL_PT_GUARDED_BY(mu_);
};

// The transaction view of Transact. Writes are buffered per table (the last
// write of a key wins) and flushed before range reads and at commit. Round
// trips are few (bench/results/profile-postgresql-create.txt: each costs the
// service and its backend more than the statement's work): the BEGIN goes
// with the first statement, a flush's statements go together, and the
// commit sends the last writes, NOTIFY and COMMIT at once (libpq's pipeline
// mode).
class PgTransaction final : public Transaction, public Reader {
 public:
  // `copy_sql[table]`: the COPY statement of each table (CopySql). `begin`:
  // the statements that open the transaction (BEGIN ..., LOCK ...), sent
  // with the first statement of the transaction.
  PgTransaction(Connection* conn, const std::vector<std::string>* copy_sql,
                std::vector<std::string> begin)
      : conn_(conn), copy_sql_(copy_sql), begin_(std::move(begin)) {}

  absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key) override {
    if (auto t = pending_.find(table); t != pending_.end()) {
      if (auto it = t->second.find(std::string(key)); it != t->second.end()) {
        return it->second;
      }
    }
    absl::StatusOr<Result> r = Run("get" + std::to_string(table), {std::string(key)});
    if (!r.ok()) return r.status();
    if (PQntuples(r->get()) == 0) return std::nullopt;
    return std::string(PQgetvalue(r->get(), 0, 0), PQgetlength(r->get(), 0, 0));
  }

  absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      TableId table, const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> values(keys.size());
    std::vector<absl::string_view> asked;
    std::map<std::string, std::vector<size_t>> where;  // Key -> positions.
    const auto pending = pending_.find(table);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (pending != pending_.end()) {
        if (auto it = pending->second.find(keys[i]); it != pending->second.end()) {
          values[i] = it->second;
          continue;
        }
      }
      auto [slot, fresh] = where.try_emplace(keys[i]);
      if (fresh) asked.push_back(keys[i]);
      slot->second.push_back(i);
    }
    if (asked.empty()) return values;
    absl::StatusOr<Result> r = Run("mget" + std::to_string(table), {ByteaArray(asked)});
    if (!r.ok()) return r.status();
    for (const auto& [key, value] : RowsOf(r->get())) {
      for (size_t i : where[key]) values[i] = value;
    }
    return values;
  }

  std::unique_ptr<Iterator> NewIterator(TableId table,
                                        const ReadOptions& options) override {
    return std::make_unique<PgIterator>(this, nullptr, table, options.lower_bound,
                                        options.upper_bound, options.first_page);
  }
  std::vector<std::unique_ptr<Iterator>> NewIterators(
      TableId table, const std::vector<KeyRange>& ranges,
      const MultiRangeOptions& options) override {
    return PgIterators(this, nullptr, table, ranges, options);
  }

  void Put(TableId table, absl::string_view key, absl::string_view value) override {
    pending_[table][std::string(key)] = std::string(value);
    wrote_ = true;
  }
  void Delete(TableId table, absl::string_view key) override {
    pending_[table][std::string(key)] = std::nullopt;
    wrote_ = true;
  }
  void DeleteRange(TableId table, absl::string_view begin,
                   absl::string_view end) override {
    wrote_ = true;
    if (!Flush().ok()) return;
    (void)Run("rng" + std::to_string(table), {std::string(begin), std::string(end)});
  }

  absl::StatusOr<Result> Query(const std::string& statement,
                               const std::vector<std::string>& params) override {
    // The buffered writes go with the query, unless by COPY.
    if (WouldCopy()) PRESENCE_RETURN_IF_ERROR(Flush());
    std::vector<Connection::Statement> statements = WriteStatements();
    pending_.clear();
    statements.push_back({statement, params, ""});
    return RunAll(std::move(statements));
  }

  // Sends the buffered writes: per table, one DELETE of the deleted keys and
  // one upsert (INSERT ... ON CONFLICT DO UPDATE) of the put ones, all in one
  // round trip. A table
  // with kCopyRows puts or more gets them by COPY instead, under a
  // savepoint: a plain insert without ON CONFLICT's per-row speculative
  // insertion (an extra index probe, a lock and a second pass over the
  // tuple: a third of PostgreSQL's CPU for a 1,000-event batch, see
  // bench/results/profile-postgresql-batch.txt) and with multi-row heap
  // inserts. Puts are mostly of new keys; if one already exists (unique
  // violation), the flush is rolled back to the savepoint and sent as
  // upserts, and the transaction does not try COPY again (nor after
  // kMaxCopySavepoints flushes).
  absl::Status Flush() {
    PRESENCE_RETURN_IF_ERROR(error_);
    if (WouldCopy()) {
      ++savepoints_;
      PRESENCE_RETURN_IF_ERROR(RunAll({{"SAVEPOINT", {}, "SAVEPOINT presence_copy"}}).status());
      absl::StatusOr<bool> copied = SendCopying();
      if (!copied.ok()) {
        error_ = copied.status();
        return error_;
      }
      if (*copied) {
        pending_.clear();
        return absl::OkStatus();
      }
      copy_failed_ = true;
      if (absl::Status s = conn_->Exec("ROLLBACK TO SAVEPOINT presence_copy"); !s.ok()) {
        error_ = s;
        return s;
      }
    }
    std::vector<Connection::Statement> writes = WriteStatements();
    pending_.clear();
    if (writes.empty()) return absl::OkStatus();
    return RunAll(std::move(writes)).status();
  }

  struct Committed {
    absl::Status status;
    // The failure may have come after PostgreSQL received the COMMIT (the
    // connection was lost): the transaction may have been applied.
    bool outcome_unknown = false;
  };
  // Sends the buffered writes, `notify_sql` (if not empty) and COMMIT, in
  // one round trip unless the writes go by COPY. Nothing at all when the
  // transaction never sent a statement nor wrote. REQUIRES: error() is OK.
  Committed Commit(const std::string& notify_sql) {
    if (!begin_.empty() && pending_.empty()) {
      begin_.clear();  // Nothing was read or written: nothing to commit.
      return {};
    }
    if (WouldCopy()) {
      if (absl::Status s = Flush(); !s.ok()) return {s};
    }
    std::vector<Connection::Statement> statements = WriteStatements();
    pending_.clear();
    if (!notify_sql.empty()) statements.push_back({"NOTIFY", {}, notify_sql});
    statements.push_back({"COMMIT", {}, "COMMIT"});
    const size_t commit = statements.size() - 1;
    const Connection::Pipelined p = Send(std::move(statements));
    if (p.status.ok()) return {};
    // Unknown unless PostgreSQL refused a statement before the COMMIT (which
    // then did not run) or the COMMIT itself with an error of its own.
    const bool before_commit = p.answered && p.results.size() < commit;
    return {p.status, RetryReason(p.status) == "connection" && !before_commit};
  }

  bool wrote() const { return wrote_; }
  // The first error of the store (a failed statement aborts the whole
  // PostgreSQL transaction).
  const absl::Status& error() const { return error_; }

 private:
  absl::StatusOr<Result> Run(const std::string& statement,
                             const std::vector<std::string>& params) {
    return RunAll({{statement, params, ""}});
  }

  // Runs `statements` after the transaction's BEGIN if not yet sent, in one
  // round trip; the last one's result. The first failure is error().
  absl::StatusOr<Result> RunAll(std::vector<Connection::Statement> statements) {
    PRESENCE_RETURN_IF_ERROR(error_);
    if (begin_.empty() && statements.size() == 1 && statements[0].sql.empty()) {
      absl::StatusOr<Result> r = conn_->Run(statements[0].name.c_str(), statements[0].params);
      if (!r.ok()) error_ = r.status();
      return r;
    }
    Connection::Pipelined p = Send(std::move(statements));
    if (!p.status.ok()) return p.status;
    return std::move(p.results.back());
  }

  // Connection::Pipeline of the BEGIN statements if not yet sent, then
  // `statements`, with the BEGIN statements' results removed (a failure
  // among them leaves no result: it came before the first of
  // `statements`). A failure becomes error(). REQUIRES: error() is OK.
  Connection::Pipelined Send(std::vector<Connection::Statement> statements) {
    std::vector<Connection::Statement> all;
    const size_t begins = begin_.size();
    for (std::string& sql : begin_) all.push_back({"BEGIN", {}, std::move(sql)});
    begin_.clear();
    for (Connection::Statement& st : statements) all.push_back(std::move(st));
    Connection::Pipelined p = conn_->Pipeline(all);
    p.results.erase(p.results.begin(),
                    p.results.begin() + static_cast<std::ptrdiff_t>(std::min(begins, p.results.size())));
    if (!p.status.ok()) error_ = p.status;
    return p;
  }

  // Whether a flush now would send puts by COPY (see Flush).
  bool WouldCopy() const {
    if (copy_failed_ || savepoints_ >= kMaxCopySavepoints) return false;
    for (const auto& [table, writes] : pending_) {
      const auto puts = std::count_if(writes.begin(), writes.end(),
                                      [](const auto& write) { return write.second.has_value(); });
      if (static_cast<size_t>(puts) >= kCopyRows) return true;
    }
    return false;
  }

  // One table's pending writes as the statements take them: the put keys
  // and their values, and the deleted keys (views into pending_).
  struct SplitWrites {
    std::vector<absl::string_view> put_keys, put_values, delete_keys;
  };
  static SplitWrites Split(const std::map<std::string, std::optional<std::string>>& writes) {
    SplitWrites split;
    for (const auto& [key, value] : writes) {
      if (value) {
        split.put_keys.push_back(key);
        split.put_values.push_back(*value);
      } else {
        split.delete_keys.push_back(key);
      }
    }
    return split;
  }

  // The statements that send pending_ without COPY: per table, a DELETE of
  // the deleted keys and an upsert of the put ones.
  std::vector<Connection::Statement> WriteStatements() const {
    std::vector<Connection::Statement> statements;
    for (const auto& [table, writes] : pending_) {
      const auto [put_keys, put_values, delete_keys] = Split(writes);
      const std::string suffix = std::to_string(table);
      if (!delete_keys.empty()) {
        statements.push_back({"del" + suffix, {ByteaArray(delete_keys)}, ""});
      }
      if (!put_keys.empty()) {
        statements.push_back(
            {"put" + suffix, {ByteaArray(put_keys), ByteaArray(put_values)}, ""});
      }
    }
    return statements;
  }

  // One pass of Flush over pending_, by COPY for the tables with kCopyRows
  // puts or more: false if a COPY met an existing key (the statements after
  // the savepoint must be rolled back).
  absl::StatusOr<bool> SendCopying() {
    for (const auto& [table, writes] : pending_) {
      const auto [put_keys, put_values, delete_keys] = Split(writes);
      const std::string suffix = std::to_string(table);
      if (!delete_keys.empty()) {
        PRESENCE_RETURN_IF_ERROR(Run("del" + suffix, {ByteaArray(delete_keys)}).status());
      }
      if (put_keys.size() >= kCopyRows) {
        PRESENCE_ASSIGN_OR_RETURN(
            const bool copied,
            conn_->CopyIn((*copy_sql_)[static_cast<size_t>(table)], put_keys, put_values));
        if (!copied) return false;
      } else if (!put_keys.empty()) {
        PRESENCE_RETURN_IF_ERROR(
            Run("put" + suffix, {ByteaArray(put_keys), ByteaArray(put_values)}).status());
      }
    }
    return true;
  }

  Connection* const conn_;
  const std::vector<std::string>* const copy_sql_;
  std::map<TableId, std::map<std::string, std::optional<std::string>>> pending_;
  absl::Status error_;
  bool wrote_ = false;
  bool copy_failed_ = false;  // A COPY met an existing key: upserts only.
  int savepoints_ = 0;        // Taken by Flush.
  std::vector<std::string> begin_;  // Not yet sent.
};

// Per table, the statement a transaction's flush copies many puts with.
std::vector<std::string> CopySql(const PostgresOptions& options) {
  std::vector<std::string> sql;
  for (const std::string& table : options.tables) {
    sql.push_back(absl::StrCat("COPY ", Quote(absl::StrCat(options.name, "_", table)),
                               " (k, v) FROM STDIN (FORMAT binary)"));
  }
  return sql;
}

class PostgresKvStore final : public KvStore {
 public:
  PostgresKvStore(const PostgresOptions& options, std::string prepare_sql)
      : options_(options),
        copy_sql_(CopySql(options)),
        channel_(absl::StrCat("presence_", options.name)),
        pool_(options.conninfo, absl::StrCat("presence-", options.name),
              prepare_sql, options.pool_size, options.acquire_timeout) {
    if (!options.read_conninfo.empty()) {
      read_pool_ = std::make_unique<Pool>(
          options.read_conninfo, absl::StrCat("presence-", options.name, "-read"),
          std::move(prepare_sql), options.pool_size, options.acquire_timeout);
    }
  }

  ~PostgresKvStore() override {
    if (listener_.joinable()) {
      stop_ = true;
      WakeListener(kStop);
      listener_.join();
    }
    if (wake_[0] >= 0) {
      close(wake_[0]);
      close(wake_[1]);
    }
  }

  absl::Status StartListener() {
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return absl::InternalError("cannot create the listener's wake-up pipe");
    }
    listener_ = std::thread([this] { Listen(); });
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> Get(
      TableId table, absl::string_view key, const Snapshot* snapshot) override {
    const std::string statement = "get" + std::to_string(table);
    absl::StatusOr<Result> r;
    if (snapshot != nullptr) {
      r = const_cast<PgSnapshot*>(static_cast<const PgSnapshot*>(snapshot))
              ->Query(statement, {std::string(key)});
    } else {
      // A point read is idempotent: one more try on a fresh connection, then
      // on the read pool if there is one.
      for (Pool* pool : ReadPools()) {
        for (int attempt = 0; attempt < 2; ++attempt) {
          absl::StatusOr<std::unique_ptr<Connection>> conn = pool->Acquire();
          if (!conn.ok()) {
            r = conn.status();
            continue;
          }
          r = (*conn)->Run(statement.c_str(), {std::string(key)});
          pool->Release(*std::move(conn));
          if (r.ok() || RetryReason(r.status()) != "connection") break;
        }
        if (r.ok() || RetryReason(r.status()) != "connection") break;
        PrimaryUnreachable(*pool);
      }
    }
    if (!r.ok()) return Public(r.status());
    if (PQntuples(r->get()) == 0) return std::nullopt;
    return std::string(PQgetvalue(r->get(), 0, 0), PQgetlength(r->get(), 0, 0));
  }

  std::unique_ptr<Iterator> NewIterator(TableId table,
                                        const ReadOptions& options) override {
    std::shared_ptr<const Snapshot> own;
    const Snapshot* snapshot = options.snapshot;
    if (snapshot == nullptr) {
      absl::StatusOr<std::shared_ptr<const Snapshot>> s = GetSnapshot();
      if (!s.ok()) return NewErrorIterator(s.status());
      own = *std::move(s);
      snapshot = own.get();
    }
    auto* reader = const_cast<PgSnapshot*>(static_cast<const PgSnapshot*>(snapshot));
    return std::make_unique<PgIterator>(reader, std::move(own), table, options.lower_bound,
                                        options.upper_bound, options.first_page);
  }

  std::vector<std::unique_ptr<Iterator>> NewIterators(
      TableId table, const std::vector<KeyRange>& ranges,
      const MultiRangeOptions& options) override {
    std::shared_ptr<const Snapshot> own;
    const Snapshot* snapshot = options.snapshot;
    if (snapshot == nullptr && !ranges.empty()) {
      absl::StatusOr<std::shared_ptr<const Snapshot>> s = GetSnapshot();
      if (!s.ok()) {
        std::vector<std::unique_ptr<Iterator>> failed;
        for (size_t i = 0; i < ranges.size(); ++i) failed.push_back(NewErrorIterator(s.status()));
        return failed;
      }
      own = *std::move(s);
      snapshot = own.get();
    }
    auto* reader = const_cast<PgSnapshot*>(static_cast<const PgSnapshot*>(snapshot));
    return PgIterators(reader, own, table, ranges, options);
  }

  absl::StatusOr<std::shared_ptr<const Snapshot>> GetSnapshot() override {
    absl::Status s;
    for (Pool* pool : ReadPools()) {
      for (int attempt = 0; attempt < 2; ++attempt) {
        absl::StatusOr<std::unique_ptr<Connection>> conn = pool->Acquire();
        s = conn.status();
        if (s.ok()) {
          // The snapshot is taken by the first query, not by BEGIN.
          s = (*conn)->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1");
          if (s.ok()) {
            return std::shared_ptr<const Snapshot>(
                std::make_shared<PgSnapshot>(pool, *std::move(conn)));
          }
          pool->Release(*std::move(conn));
        }
        if (RetryReason(s) != "connection") return Public(s);
      }
      PrimaryUnreachable(*pool);
    }
    return Public(s);
  }

  absl::Status Transact(const TransactionFn& fn,
                        const TransactOptions& options) override {
    const absl::Time give_up = absl::Now() + options_.unavailable_retry;
    absl::Duration backoff = absl::Milliseconds(1);
    int conflicts = 0;
    while (true) {
      absl::Status s = TryTransaction(fn, options);
      const std::string why = RetryReason(s);
      if (why.empty()) return s;
      if (why == "conflict") {
        if (++conflicts >= options_.max_conflict_attempts) {
          return ErrorBuilder(absl::AbortedError(absl::StrCat(
                     "the transaction kept conflicting with concurrent ones (",
                     conflicts, " attempts; last: ", s.message(),
                     "); nothing was written; retry")))
              .Reason(kConcurrentModification)
              .Meta("attempts", absl::StrCat(conflicts))
              .RetryAfter(absl::Milliseconds(100));
        }
      } else if (absl::Now() >= give_up) {  // "connection"
        pool_.DropIdle();
        return StoreUnavailable(absl::UnavailableError(absl::StrCat(
            s.message(), "; nothing was written; retry")));
      } else {
        pool_.DropIdle();
        backoff = std::max(backoff, absl::Milliseconds(50));
      }
      absl::SleepFor(Jitter(backoff));
      backoff = std::min(backoff * 2, absl::Milliseconds(500));
    }
  }

  ListenerId AddCommitListener(CommitListener listener) override {
    return listeners_.Add(std::move(listener));
  }
  void RemoveCommitListener(ListenerId id) override { listeners_.Remove(id); }

  const std::string& TableName(TableId table) const override {
    return options_.tables[static_cast<size_t>(table)];
  }

  absl::Status Checkpoint(const std::string&) override {
    return absl::UnimplementedError(
        "a PostgreSQL store is backed up by PostgreSQL (pg_basebackup and WAL "
        "archiving; see deploy/README.md), not by the service");
  }

  std::vector<std::pair<std::string, uint64_t>> Stats() override {
    std::vector<std::pair<std::string, uint64_t>> out;
    // Monitoring never waits long for a busy pool.
    absl::StatusOr<std::unique_ptr<Connection>> conn = pool_.Acquire(absl::Milliseconds(100));
    if (!conn.ok()) return out;
    std::string names;
    for (const std::string& t : options_.tables) {
      absl::StrAppend(&names, names.empty() ? "" : ",", "'", options_.name, "_", t, "'");
    }
    absl::StatusOr<Result> r = (*conn)->RunText(
        absl::StrCat("SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint, "
                     "coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint "
                     "FROM pg_class c WHERE c.relkind = 'r' AND c.relname IN (",
                     names, ")"),
        {});
    if (r.ok() && PQntuples(r->get()) == 1) {
      out.emplace_back("estimate-num-keys",
                       std::strtoull(PQgetvalue(r->get(), 0, 0), nullptr, 10));
      out.emplace_back("table-bytes",
                       std::strtoull(PQgetvalue(r->get(), 0, 1), nullptr, 10));
    }
    pool_.Release(*std::move(conn));
    return out;
  }

  Pool& pool() { return pool_; }

 private:
  // The pools reads outside transactions try, in order: the primary's
  // (unless it was just found unreachable), then the read pool.
  std::vector<Pool*> ReadPools() {
    if (read_pool_ == nullptr) return {&pool_};
    if (absl::Now() < absl::FromUnixNanos(primary_down_until_.load())) {
      return {read_pool_.get(), &pool_};
    }
    return {&pool_, read_pool_.get()};
  }
  // For a second after the primary's pool failed to connect, reads go to
  // the read pool first (a dead primary can take a connect timeout to
  // refuse).
  void PrimaryUnreachable(Pool& pool) {
    if (&pool == &pool_ && read_pool_ != nullptr) {
      primary_down_until_ = absl::ToUnixNanos(absl::Now() + absl::Seconds(1));
      pool_.DropIdle();
    }
  }

  static constexpr char kStop = 0;
  static constexpr char kLocalCommit = 1;
  void WakeListener(char why) {
    // Non-blocking: a full pipe already holds a wake-up.
    if (wake_[1] >= 0) (void)!write(wake_[1], &why, 1);
  }

  // Without the retry marker: what callers see.
  // An unreachable database: STORE_UNAVAILABLE.
  static absl::Status Public(absl::Status s) {
    s.ErasePayload(kRetryPayload);
    if (s.code() == absl::StatusCode::kUnavailable && ErrorReason(s).empty()) {
      return StoreUnavailable(std::move(s));
    }
    return s;
  }

  static absl::Duration Jitter(absl::Duration d) {
    static absl::Mutex mu(absl::kConstInit);
    static absl::BitGen* const gen = new absl::BitGen();
    absl::MutexLock lock(&mu);
    return d * absl::Uniform(*gen, 0.5, 1.5);
  }

  // One attempt. Retryable failures carry the retry payload; nothing is
  // applied unless it returns OK or the "may have been applied" error.
  absl::Status TryTransaction(const TransactionFn& fn,
                              const TransactOptions& options) {
    absl::StatusOr<std::unique_ptr<Connection>> acquired = pool_.Acquire();
    if (!acquired.ok()) return acquired.status();
    std::unique_ptr<Connection> conn = *std::move(acquired);
    struct Returner {
      Pool* pool;
      std::unique_ptr<Connection>* conn;
      ~Returner() { pool->Release(std::move(*conn)); }
    } returner{&pool_, &conn};

    // Serialized transactions lock before their snapshot is taken (LOCK is
    // not a query), so they queue instead of conflicting. Both go with the
    // transaction's first statement.
    std::vector<std::string> begin = {options.snapshot_isolation
                                          ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                                          : "BEGIN ISOLATION LEVEL SERIALIZABLE"};
    if (options.serialized) {
      begin.push_back(
          absl::StrCat("LOCK TABLE ", Quote(options_.name + "__serial"), " IN EXCLUSIVE MODE"));
    }
    PgTransaction txn(conn.get(), &copy_sql_, std::move(begin));
    const auto rollback = [&] {
      if (PQtransactionStatus(conn->raw()) == PQTRANS_INTRANS ||
          PQtransactionStatus(conn->raw()) == PQTRANS_INERROR) {
        (void)conn->Exec("ROLLBACK");
      }
    };
    absl::Status s = fn(txn);
    if (!txn.error().ok()) s = txn.error();  // The store failed first.
    if (!s.ok()) {
      rollback();
      return s;
    }
    const bool notify = options.notify && txn.wrote();
    PgTransaction::Committed committed = txn.Commit(notify ? "NOTIFY " + channel_ : "");
    if (committed.status.ok()) {
      // This process's listeners need not wait for the NOTIFY to come
      // back: the listener thread runs them now. (Never here: a listener
      // may read, and this thread still holds a pooled connection.)
      if (notify) WakeListener(kLocalCommit);
      return absl::OkStatus();
    }
    if (committed.outcome_unknown && txn.wrote()) {
      // The server may have committed before the connection was lost.
      return ErrorBuilder(absl::UnavailableError(absl::StrCat(
                 "the connection to PostgreSQL was lost during COMMIT (",
                 committed.status.message(),
                 "); the write may have been applied: retry with the same request_id, "
                 "or re-read and retry")))
          .Reason(kCommitOutcomeUnknown)
          .RetryAfter(absl::Seconds(1));
    }
    rollback();
    return committed.status;
  }

  // The commit listener's thread: LISTENs on a connection of its own and
  // calls the listeners on every notification and at least every
  // poll_interval (also while it cannot connect).
  void Listen() {
    std::unique_ptr<Connection> conn;
    const int timeout_ms =
        static_cast<int>(absl::ToInt64Milliseconds(options_.poll_interval));
    while (!stop_) {
      if (conn == nullptr || PQstatus(conn->raw()) != CONNECTION_OK) {
        conn.reset();
        absl::StatusOr<std::unique_ptr<Connection>> opened =
            Connection::Open(pool_.conninfo(), pool_.application() + "-listen", "");
        if (opened.ok() && (*opened)->Exec("LISTEN " + channel_).ok()) {
          conn = *std::move(opened);
        }
      }
      pollfd fds[2] = {{wake_[0], POLLIN, 0}, {-1, POLLIN, 0}};
      if (conn != nullptr) fds[1].fd = PQsocket(conn->raw());
      const int ready = poll(fds, conn != nullptr ? 2 : 1, timeout_ms);
      if (stop_) break;
      bool notified = ready == 0;  // The poll fallback.
      if ((fds[0].revents & POLLIN) != 0) {  // Commits of this process.
        char drained[64];
        while (read(wake_[0], drained, sizeof(drained)) > 0) {
        }
        notified = true;
      }
      if (conn != nullptr && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        if (PQconsumeInput(conn->raw()) == 0) {
          conn.reset();
          notified = true;
        } else {
          while (PGnotify* n = PQnotifies(conn->raw())) {
            notified = true;
            PQfreemem(n);
          }
        }
      }
      if (notified) listeners_.NotifyAll();
    }
  }

  const PostgresOptions options_;
  const std::vector<std::string> copy_sql_;  // Per table, for PgTransaction.
  const std::string channel_;
  Pool pool_;
  std::unique_ptr<Pool> read_pool_;  // Null without read_conninfo.
  std::atomic<int64_t> primary_down_until_{0};  // Unix nanos.
  CommitListeners listeners_;
  std::thread listener_;
  std::atomic<bool> stop_{false};
  int wake_[2] = {-1, -1};
};

// Every statement the store prepares on each connection.
std::string PrepareSql(const PostgresOptions& options) {
  std::string sql;
  for (size_t i = 0; i < options.tables.size(); ++i) {
    const std::string t = Quote(absl::StrCat(options.name, "_", options.tables[i]));
    const std::string n = std::to_string(i);
    absl::StrAppend(
        &sql, "PREPARE get", n, " (bytea) AS SELECT v FROM ", t, " WHERE k = $1; ",
        "PREPARE put", n, " (bytea[], bytea[]) AS INSERT INTO ", t,
        " (k, v) SELECT * FROM unnest($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v; ",
        "PREPARE del", n, " (bytea[]) AS DELETE FROM ", t, " WHERE k = ANY($1); ",
        "PREPARE mget", n, " (bytea[]) AS SELECT k, v FROM ", t, " WHERE k = ANY($1); ",
        "PREPARE rng", n, " (bytea, bytea) AS DELETE FROM ", t, " WHERE k >= $1 AND k < $2; ",
        "PREPARE fwd", n, " (bytea, bytea, bigint) AS SELECT k, v FROM ", t,
        " WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3; ",
        "PREPARE fwu", n, " (bytea, bigint) AS SELECT k, v FROM ", t,
        " WHERE k >= $1 ORDER BY k LIMIT $2; ",
        "PREPARE bwi", n, " (bytea, bytea, bigint) AS SELECT k, v FROM ", t,
        " WHERE k <= $1 AND k >= $2 ORDER BY k DESC LIMIT $3; ",
        "PREPARE bwx", n, " (bytea, bytea, bigint) AS SELECT k, v FROM ", t,
        " WHERE k < $1 AND k >= $2 ORDER BY k DESC LIMIT $3; ",
        "PREPARE bwe", n, " (bytea, bigint) AS SELECT k, v FROM ", t,
        " WHERE k >= $1 ORDER BY k DESC LIMIT $2; ");
    // The first pages of several ranges (NewIterators): [$1[i], $2[i]) and
    // [$3[i], end), $4 rows each, as (position among the ranges, k, v).
    for (const bool reverse : {false, true}) {
      const char* order = reverse ? " ORDER BY k DESC LIMIT $4) s" : " ORDER BY k LIMIT $4) s";
      absl::StrAppend(
          &sql, "PREPARE ", reverse ? "mbw" : "mfw", n,
          " (bytea[], bytea[], bytea[], bigint) AS "
          "SELECT r.i, s.k, s.v FROM unnest($1, $2) WITH ORDINALITY AS r(lo, hi, i) "
          "CROSS JOIN LATERAL (SELECT k, v FROM ", t, " WHERE k >= r.lo AND k < r.hi",
          order, " UNION ALL SELECT r.i + coalesce(cardinality($1), 0), s.k, s.v "
          "FROM unnest($3) WITH ORDINALITY AS r(lo, i) "
          "CROSS JOIN LATERAL (SELECT k, v FROM ", t, " WHERE k >= r.lo", order, "; ");
    }
  }
  return sql;
}

bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > 40 || !absl::ascii_islower(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

// Creates what is missing and checks, stamps or upgrades the schema version,
// under the advisory lock every presence process takes for it.
absl::Status PrepareSchema(Connection& conn, PostgresKvStore* store,
                           const PostgresOptions& options) {
  const std::string where = absl::StrCat("PostgreSQL store \"", options.name, "\"");
  PRESENCE_RETURN_IF_ERROR(conn.RunText("SELECT pg_advisory_lock(hashtextextended($1, 0))",
                                        {kSchemaLockKey})
                               .status());
  std::string ddl =
      "CREATE TABLE IF NOT EXISTS presence_schema (name text PRIMARY KEY, "
      "version bigint NOT NULL); ";
  for (const std::string& t : options.tables) {
    absl::StrAppend(&ddl, "CREATE TABLE IF NOT EXISTS ",
                    Quote(absl::StrCat(options.name, "_", t)),
                    " (k bytea PRIMARY KEY, v bytea NOT NULL); ");
  }
  absl::StrAppend(&ddl, "CREATE TABLE IF NOT EXISTS ", Quote(options.name + "__serial"),
                  " (id int)");
  PRESENCE_RETURN_IF_ERROR(conn.Exec(ddl));
  PRESENCE_ASSIGN_OR_RETURN(
      Result stored,
      conn.RunText("SELECT version::text FROM presence_schema WHERE name = $1",
                   {options.name}));
  std::optional<std::string> version;
  if (PQntuples(stored.get()) == 1) version = PQgetvalue(stored.get(), 0, 0);
  PRESENCE_ASSIGN_OR_RETURN(const int64_t have,
                            CheckStoredSchemaVersion(version, options, where));
  if (!version) {
    return conn.RunText("INSERT INTO presence_schema (name, version) VALUES ($1, $2)",
                        {options.name, std::to_string(options.schema_version)})
        .status();
  }
  if (have < options.schema_version) {
    PRESENCE_RETURN_IF_ERROR(RunSchemaUpgrade(store, have, options, where));
    PRESENCE_RETURN_IF_ERROR(
        conn.RunText("UPDATE presence_schema SET version = $2 WHERE name = $1",
                     {options.name, std::to_string(options.schema_version)})
            .status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KvStore>> OpenPostgresKvStore(
    const PostgresOptions& options) {
  if (options.conninfo.empty()) {
    return absl::InvalidArgumentError("PostgreSQL connection string is empty");
  }
  if (!IsValidName(options.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PostgreSQL store name \"", options.name, "\" is not [a-z][a-z0-9_]*"));
  }
  PRESENCE_RETURN_IF_ERROR(ValidateTableNames(options.tables));
  for (const std::string* conninfo : {&options.conninfo, &options.read_conninfo}) {
    if (conninfo->empty()) continue;
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo->c_str(), &error);
    if (parsed == nullptr) {
      const std::string why = error != nullptr ? error : "out of memory";
      PQfreemem(error);
      return absl::InvalidArgumentError(absl::StrCat(
          "PostgreSQL connection string: ", absl::StripTrailingAsciiWhitespace(why)));
    }
    bool has_password = false;
    for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0') {
        has_password = true;
      }
    }
    PQconninfoFree(parsed);
    if (has_password) {
      return absl::InvalidArgumentError(
          "PostgreSQL connection string holds a password: give it in PGPASSWORD "
          "or a PGPASSFILE instead (command lines and logs are not secret)");
    }
  }
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PostgreSQL pool size ", options.pool_size, " must be at least 1"));
  }
  auto store = std::make_unique<PostgresKvStore>(options, PrepareSql(options));
  // The schema step has a connection of its own (its statements cannot be
  // prepared before the tables exist); it waits for the database to come up.
  const absl::Time deadline = absl::Now() + options.open_timeout;
  std::unique_ptr<Connection> conn;
  while (true) {
    absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(
        options.conninfo, absl::StrCat("presence-", options.name, "-schema"), "");
    if (opened.ok()) {
      conn = *std::move(opened);
      break;
    }
    if (absl::Now() >= deadline) return opened.status();
    absl::SleepFor(absl::Milliseconds(250));
  }
  absl::Status schema = PrepareSchema(*conn, store.get(), options);
  conn.reset();  // Closing the session releases the advisory lock.
  if (!schema.ok()) {
    schema.ErasePayload(kRetryPayload);
    return schema;
  }
  PRESENCE_RETURN_IF_ERROR(store->StartListener());
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace presence::storage
