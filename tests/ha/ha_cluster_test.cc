// The HA cluster (tests/testing/patroni_cluster.h) proven with libpq alone,
// before any presence code runs on it: continuous single-row INSERT
// transactions from several threads through the multi-host read-write
// connection string, then kill -9 of the primary (its postgres, or the whole
// member as a machine crash would) or of the synchronous standby. Afterwards
// every acknowledged row is present exactly once, no row appears that was
// not written, writes resumed, and the only errors meanwhile were the
// classes the services map to UNAVAILABLE (connection failures, a server
// shutting down, a read-only standby). Reads through the prefer-standby
// connection string keep being answered during the failover.
//
// Times are measured and printed (and recorded as test properties), never
// asserted: the waits are bounded generously and the README states the
// figures.

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/patroni_cluster.h"

namespace presence {
namespace {

using testing::PatroniCluster;
using Target = PatroniCluster::Target;

constexpr int kWriters = 8;
// Bounds of the waits (not expectations: the measured figures are printed).
constexpr absl::Duration kFailoverBound = absl::Seconds(90);

// A failed statement or connection attempt.
struct PgError {
  absl::Time at;
  std::string sqlstate;  // empty when the server sent none (connection lost)
  std::string message;
};

// The classes the services map to UNAVAILABLE (a retry may succeed once a
// primary serves): connection exceptions (08), the server shutting down,
// crashing or starting (57P01, 57P02, 57P03), a standby refusing a write
// (25006) or cancelling a read that conflicts with replay (40001), and no
// SQLSTATE at all, which libpq reports when the connection is gone.
bool IsRetryableClass(const PgError& e) {
  return e.sqlstate.empty() || e.sqlstate.rfind("08", 0) == 0 || e.sqlstate == "57P01" ||
         e.sqlstate == "57P02" || e.sqlstate == "57P03" || e.sqlstate == "25006" ||
         e.sqlstate == "40001";
}

PgError ErrorOf(PGconn* conn, const PGresult* result) {
  PgError e{absl::Now(), "", ""};
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state != nullptr) e.sqlstate = state;
    e.message = PQresultErrorMessage(result);
  }
  if (e.message.empty()) e.message = PQerrorMessage(conn);
  while (!e.message.empty() && (e.message.back() == '\n' || e.message.back() == ' ')) {
    e.message.pop_back();
  }
  return e;
}

// Runs `sql` on a fresh connection; returns the error message, empty on success.
std::string ExecOnce(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

// A reconnecting libpq session for one thread: on any failure the
// connection is dropped and the next call reconnects, backing off from
// 10 ms to 250 ms while no server accepts (so that a failover is not slowed
// by clients spinning on two cores).
class Session {
 public:
  explicit Session(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  ~Session() { Drop(); }

  // Runs `sql` with text parameters; returns the result (the caller
  // PQclear()s it) or the error, with the connection dropped.
  PGresult* Exec(const char* sql, const std::vector<std::string>& params,
                 PgError* error) {
    if (conn_ == nullptr) {
      conn_ = PQconnectdb(conninfo_.c_str());
      if (PQstatus(conn_) != CONNECTION_OK) {
        *error = ErrorOf(conn_, nullptr);
        Drop();
        absl::SleepFor(backoff_);
        backoff_ = std::min(backoff_ * 2, absl::Milliseconds(250));
        return nullptr;
      }
      backoff_ = absl::Milliseconds(10);
    }
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    const ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    *error = ErrorOf(conn_, r);
    PQclear(r);
    Drop();
    return nullptr;
  }

 private:
  void Drop() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  const std::string conninfo_;
  PGconn* conn_ = nullptr;
  absl::Duration backoff_ = absl::Milliseconds(10);
};

// kWriters threads inserting one row per transaction (autocommit), each row
// with a token of its own, and one thread reading through the
// prefer-standby string, until Stop().
class Workload {
 public:
  struct Write {
    int64_t token;
    absl::Time start, end;
    int server_port;  // of the server that acknowledged it
  };
  struct Read {
    absl::Time end;
    bool from_standby;
  };

  Workload(std::string write_conninfo, std::string read_conninfo) {
    for (int w = 0; w < kWriters; ++w) {
      threads_.emplace_back([this, w, write_conninfo] { WriteLoop(w, write_conninfo); });
    }
    threads_.emplace_back([this, read_conninfo] { ReadLoop(read_conninfo); });
  }
  ~Workload() { Stop(); }

  void Stop() {
    stop_.store(true);
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // Waits until `n` writes that started after `after` were acknowledged
  // (by the server on `port`, unless it is 0).
  bool WaitForWrites(absl::Time after, int n, absl::Duration timeout,
                     int port = 0) const {
    return testing::WaitUntil(
        [&] {
          absl::MutexLock lock(&mu_);
          return std::count_if(acked_.begin(), acked_.end(), [&](const Write& w) {
                   return w.start > after && (port == 0 || w.server_port == port);
                 }) >= n;
        },
        timeout);
  }

  std::vector<Write> acked() const {
    absl::MutexLock lock(&mu_);
    return acked_;
  }
  std::set<int64_t> failed_tokens() const {
    absl::MutexLock lock(&mu_);
    return failed_tokens_;
  }
  std::vector<PgError> write_errors() const {
    absl::MutexLock lock(&mu_);
    return write_errors_;
  }
  std::vector<PgError> read_errors() const {
    absl::MutexLock lock(&mu_);
    return read_errors_;
  }
  std::vector<Read> reads() const {
    absl::MutexLock lock(&mu_);
    return reads_;
  }

 private:
  void WriteLoop(int writer, const std::string& conninfo) {
    Session session(conninfo);
    for (int64_t seq = 1; !stop_.load(); ++seq) {
      const int64_t token = (static_cast<int64_t>(writer) << 40) | seq;
      PgError error;
      const absl::Time start = absl::Now();
      PGresult* r = session.Exec(
          "INSERT INTO ha_probe (token, writer) VALUES ($1, $2) RETURNING "
          "inet_server_port()",
          {absl::StrCat(token), absl::StrCat(writer)}, &error);
      absl::MutexLock lock(&mu_);
      if (r != nullptr) {
        int port = 0;
        (void)absl::SimpleAtoi(PQgetvalue(r, 0, 0), &port);
        acked_.push_back({token, start, absl::Now(), port});
        PQclear(r);
      } else {
        // Whether a failed write was applied is unknown (the connection may
        // have been lost during COMMIT): it may be present, or not.
        failed_tokens_.insert(token);
        write_errors_.push_back(error);
      }
    }
  }

  void ReadLoop(const std::string& conninfo) {
    Session session(conninfo);
    while (!stop_.load()) {
      PgError error;
      PGresult* r =
          session.Exec("SELECT count(*), pg_is_in_recovery() FROM ha_probe", {}, &error);
      absl::MutexLock lock(&mu_);
      if (r != nullptr) {
        reads_.push_back({absl::Now(), std::string(PQgetvalue(r, 0, 1)) == "t"});
        PQclear(r);
      } else {
        read_errors_.push_back(error);
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable absl::Mutex mu_;
  std::vector<Write> acked_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> failed_tokens_ ABSL_GUARDED_BY(mu_);
  std::vector<PgError> write_errors_ ABSL_GUARDED_BY(mu_);
  std::vector<PgError> read_errors_ ABSL_GUARDED_BY(mu_);
  std::vector<Read> reads_ ABSL_GUARDED_BY(mu_);
};

// "N x SQLSTATE (first message)" per class, for the log.
std::string Summarize(const std::vector<PgError>& errors) {
  std::map<std::string, std::pair<int, std::string>> by_state;
  for (const PgError& e : errors) {
    auto& entry = by_state[e.sqlstate.empty() ? "none" : e.sqlstate];
    if (entry.first++ == 0)
      entry.second =
          absl::StrReplaceAll(e.message.substr(0, 160), {{"\n", " "}, {"\t", ""}});
  }
  std::string out;
  for (const auto& [state, entry] : by_state) {
    absl::StrAppend(&out, "\n    ", entry.first, " x ", state, ": ", entry.second);
  }
  return out.empty() ? " none" : out;
}

class HaClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<std::unique_ptr<PatroniCluster>> cluster = PatroniCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    std::cout << "[ha] cluster up in " << absl::FormatDuration(absl::Now() - t0) << "\n"
              << cluster_->Status();
    RecordProperty("cluster_start_seconds",
                   absl::StrFormat("%.1f", absl::ToDoubleSeconds(absl::Now() - t0)));
    // The application role owns the database: it creates its own tables. No
    // unique constraint on token, so that a row written twice would show.
    ASSERT_EQ(
        ExecOnce(
            rw(),
            "CREATE TABLE ha_probe (id bigserial PRIMARY KEY, token bigint NOT NULL, "
            "writer int NOT NULL, written timestamptz NOT NULL DEFAULT now())"),
        "");
  }

  std::string rw() const { return cluster_->LibpqUri(Target::kReadWrite); }
  std::string ro() const { return cluster_->LibpqUri(Target::kPreferStandby); }

  // Every acknowledged write present exactly once, nothing present that
  // was not written (a failed write may or may not be present).
  void ExpectEveryAcknowledgedRowExactlyOnce(const Workload& load) {
    PGconn* conn = PQconnectdb(rw().c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* r = PQexec(conn, "SELECT token, count(*) FROM ha_probe GROUP BY token");
    ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
    std::map<int64_t, int64_t> present;
    for (int i = 0; i < PQntuples(r); ++i) {
      int64_t token = 0, count = 0;
      ASSERT_TRUE(absl::SimpleAtoi(PQgetvalue(r, i, 0), &token));
      ASSERT_TRUE(absl::SimpleAtoi(PQgetvalue(r, i, 1), &count));
      present[token] = count;
    }
    PQclear(r);
    PQfinish(conn);

    const std::vector<Workload::Write> acked = load.acked();
    const std::set<int64_t> failed = load.failed_tokens();
    int missing = 0, duplicated = 0, phantom = 0, failed_but_present = 0;
    std::set<int64_t> acked_tokens;
    for (const Workload::Write& w : acked) {
      acked_tokens.insert(w.token);
      auto it = present.find(w.token);
      if (it == present.end()) {
        if (++missing <= 5)
          ADD_FAILURE() << "acknowledged row " << w.token << " is missing";
      }
    }
    for (const auto& [token, count] : present) {
      if (count != 1 && ++duplicated <= 5)
        ADD_FAILURE() << "row " << token << " present " << count << " times";
      if (acked_tokens.count(token) == 0) {
        if (failed.count(token) != 0) {
          ++failed_but_present;  // committed, but the client never heard
        } else if (++phantom <= 5) {
          ADD_FAILURE() << "row " << token << " was never written";
        }
      }
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(duplicated, 0);
    EXPECT_EQ(phantom, 0);
    std::cout << "[ha] " << acked.size() << " acknowledged rows all present once; "
              << failed.size() << " failed writes, " << failed_but_present
              << " of them committed all the same\n";
  }

  void ExpectOnlyRetryableErrors(const std::vector<PgError>& errors,
                                 const std::string& what) {
    for (const PgError& e : errors) {
      EXPECT_TRUE(IsRetryableClass(e))
          << what << ": SQLSTATE " << e.sqlstate << ": " << e.message;
    }
  }

  // Kills the primary (`kill` does it), waits for a new one and for writes
  // to resume, then checks the data, the errors and the reads.
  template <typename Kill>
  void FailOverUnderLoad(const std::string& how, Kill kill) {
    absl::StatusOr<std::string> old_primary = cluster_->Primary();
    ASSERT_TRUE(old_primary.ok()) << old_primary.status();
    Workload load(rw(), ro());
    ASSERT_TRUE(load.WaitForWrites(absl::InfinitePast(), 200, absl::Seconds(60)))
        << cluster_->Status();

    absl::StatusOr<std::string> victim = kill();
    // Times count from the kill's return (the processes are gone by then).
    const absl::Time killed = absl::Now();
    ASSERT_TRUE(victim.ok()) << victim.status();
    ASSERT_EQ(*victim, *old_primary);
    absl::StatusOr<std::string> new_primary =
        cluster_->WaitForPrimary(*old_primary, kFailoverBound);
    ASSERT_TRUE(new_primary.ok()) << new_primary.status() << "\n" << cluster_->Status();
    const absl::Time promoted = absl::Now();
    // (Sessions open on a killed postmaster's backends may go on
    // committing for a moment, as long as its walsenders still confirm
    // them from the synchronous standby: "resumed" counts the new primary.)
    const int new_port = cluster_->port(*new_primary);
    ASSERT_TRUE(load.WaitForWrites(killed, 20 * kWriters, kFailoverBound, new_port))
        << cluster_->Status();
    load.Stop();

    const std::vector<Workload::Write> acked = load.acked();
    absl::Time resumed = absl::InfiniteFuture();
    absl::Duration longest_commit = absl::ZeroDuration();
    int old_after_kill = 0;
    for (const Workload::Write& w : acked) {
      if (w.server_port == new_port) resumed = std::min(resumed, w.end);
      if (w.end > killed && w.server_port != new_port) ++old_after_kill;
      if (w.end > killed)
        longest_commit = std::max(longest_commit, w.end - std::max(w.start, killed));
    }
    const double write_gap = absl::ToDoubleSeconds(resumed - killed);
    // Reads through prefer-standby between the kill and the first write on
    // the new primary, and the longest time without an answer.
    int reads_during = 0;
    absl::Time last_read = killed;
    absl::Duration longest_read_gap = absl::ZeroDuration();
    for (const Workload::Read& r : load.reads()) {
      if (r.end <= killed || r.end > resumed) continue;
      ++reads_during;
      longest_read_gap = std::max(longest_read_gap, r.end - last_read);
      last_read = r.end;
    }
    longest_read_gap = std::max(longest_read_gap, resumed - last_read);
    const std::vector<PgError> write_errors = load.write_errors();
    std::cout << absl::StrFormat(
        "[ha] %s: %s -> %s; new primary serving %.1f s after the kill, writes on it from "
        "%.1f s (a write waited at most %.1f s; %d commits acknowledged by the old "
        "primary "
        "after the kill)\n"
        "[ha] reads through prefer-standby during the failover: %d answered, longest "
        "wait "
        "%.2f s\n[ha] write errors meanwhile (%d):%s\n[ha] read errors (%d):%s\n",
        how, *old_primary, *new_primary, absl::ToDoubleSeconds(promoted - killed),
        write_gap, absl::ToDoubleSeconds(longest_commit), old_after_kill, reads_during,
        absl::ToDoubleSeconds(longest_read_gap), write_errors.size(),
        Summarize(write_errors), load.read_errors().size(),
        Summarize(load.read_errors()));
    RecordProperty("writes_resumed_seconds", absl::StrFormat("%.1f", write_gap));
    RecordProperty("longest_read_gap_seconds",
                   absl::StrFormat("%.2f", absl::ToDoubleSeconds(longest_read_gap)));

    ExpectEveryAcknowledgedRowExactlyOnce(load);
    ExpectOnlyRetryableErrors(write_errors, "write");
    ExpectOnlyRetryableErrors(load.read_errors(), "read");
    EXPECT_GT(reads_during, 0)
        << "no read through prefer-standby was answered during the failover";
  }

  std::unique_ptr<PatroniCluster> cluster_;
};

TEST_F(HaClusterTest, KillPrimaryPostgresLosesNoAcknowledgedWrite) {
  FailOverUnderLoad("kill -9 of the primary's postgres",
                    [&] { return cluster_->KillPostgres("primary"); });
}

TEST_F(HaClusterTest, CrashOfThePrimaryMemberLosesNoAcknowledgedWrite) {
  // Patroni dies with it, so the leader key must expire first (ttl).
  FailOverUnderLoad("kill -9 of the primary's Patroni and postgres (a machine crash)",
                    [&] { return cluster_->KillMember("primary"); });
}

TEST_F(HaClusterTest, KillingTheSynchronousStandbyDoesNotStopWrites) {
  Workload load(rw(), ro());
  ASSERT_TRUE(load.WaitForWrites(absl::InfinitePast(), 200, absl::Seconds(60)))
      << cluster_->Status();
  // The standby every commit waits for: Patroni names another one.
  absl::StatusOr<std::string> victim = cluster_->KillPostgres("sync-standby");
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(victim.ok()) << victim.status();
  ASSERT_TRUE(load.WaitForWrites(killed, 50 * kWriters, kFailoverBound))
      << cluster_->Status();
  // Patroni restarts the killed standby: the cluster heals under the load.
  const absl::Status healed = cluster_->WaitHealthy(kFailoverBound);
  const absl::Time healed_at = absl::Now();
  absl::StatusOr<std::string> sync = cluster_->SyncStandby();
  load.Stop();
  EXPECT_TRUE(healed.ok()) << healed << "\n" << cluster_->Status();

  absl::Duration longest_commit = absl::ZeroDuration();
  for (const Workload::Write& w : load.acked()) {
    if (w.end > killed)
      longest_commit = std::max(longest_commit, w.end - std::max(w.start, killed));
  }
  std::cout << absl::StrFormat(
      "[ha] kill -9 of the synchronous standby %s: the longest commit after it took %.2f "
      "s; all members "
      "streaming again after %.1f s, synchronous standby now %s\n",
      *victim, absl::ToDoubleSeconds(longest_commit),
      absl::ToDoubleSeconds(healed_at - killed), sync.ok() ? *sync : "(none)");
  RecordProperty("longest_commit_after_standby_kill_seconds",
                 absl::StrFormat("%.2f", absl::ToDoubleSeconds(longest_commit)));
  // The primary never went away: no write failed.
  EXPECT_EQ(load.write_errors().size(), 0u) << Summarize(load.write_errors());
  ExpectOnlyRetryableErrors(load.read_errors(), "read");
  ExpectEveryAcknowledgedRowExactlyOnce(load);
}

}  // namespace
}  // namespace presence
