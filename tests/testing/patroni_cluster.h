#ifndef PRESENCE_TESTS_TESTING_PATRONI_CLUSTER_H_
#define PRESENCE_TESTS_TESTING_PATRONI_CLUSTER_H_

// A highly available PostgreSQL on loopback for tests: PostgreSQL 15 under
// Patroni 3 (3 members, synchronous_mode on) with a 3-member etcd 3.4 as its
// DCS, started by tests/ha/cluster (the same script a developer runs by
// hand; its header says how the cluster is set up and tuned). This class is
// a thin, synchronous wrapper of that script: every method runs one of its
// commands.
//
// Link the CMake target `presence_patroni_cluster` (it defines where the
// script is). Starting takes about 10 s on a 2-core machine.
//
//   absl::StatusOr<std::unique_ptr<PatroniCluster>> cluster = PatroniCluster::Start();
//   ASSERT_TRUE(cluster.ok()) << cluster.status();
//   // services: --store=(*cluster)->uri(kReadWrite), environment ClientEnv()
//   // libpq in the test: PQconnectdb((*cluster)->LibpqUri(kReadWrite).c_str())
//   absl::StatusOr<std::string> old = (*cluster)->KillPostgres("primary");
//   absl::StatusOr<std::string> now = (*cluster)->WaitForPrimary(*old,
//   absl::Seconds(60));
//
// Cleanup: the destructor tears the cluster down (SIGKILL of every process,
// data removed). If the test process dies without running it (a crash, a
// SIGKILL from ctest's timeout), the script's watchdog, told this process's
// pid, does the same within a second.
//
// Thread safety: not thread-safe; call it from the test's main thread (the
// workload's threads only need the connection strings, which do not change).

#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

#ifndef PRESENCE_HA_CLUSTER_SCRIPT
#error "link presence_patroni_cluster (it defines PRESENCE_HA_CLUSTER_SCRIPT)"
#endif

namespace presence::testing {

class PatroniCluster {
 public:
  // Which server a multi-host connection string reaches (libpq's
  // target_session_attrs): the primary, or a standby when one answers.
  enum class Target { kReadWrite, kPreferStandby };

  // Starts a cluster of `members` members in a fresh temporary directory and
  // waits (up to `timeout`) until a leader and a synchronous standby are
  // streaming and the role and database `presence` exist. Fails with
  // UNAVAILABLE (the script's output in the message) if it does not come up.
  static absl::StatusOr<std::unique_ptr<PatroniCluster>> Start(
      int members = 3, absl::Duration timeout = absl::Seconds(120)) {
    auto cluster = std::unique_ptr<PatroniCluster>(new PatroniCluster());
    CommandResult up =
        cluster->Run("up", {absl::StrCat("--members=", members),
                            absl::StrCat("--owner-pid=", ::getpid()),
                            absl::StrCat("--timeout=", absl::ToInt64Seconds(timeout))});
    if (up.exit_code != 0) {
      return absl::UnavailableError(absl::StrCat("tests/ha/cluster up failed: ", up.err));
    }
    for (absl::string_view line : absl::StrSplit(up.out, '\n', absl::SkipEmpty())) {
      // NAME='value' (shell-sourceable; values hold no quote).
      std::pair<std::string, std::string> kv =
          absl::StrSplit(line, absl::MaxSplits('=', 1));
      kv.second = std::string(absl::StripSuffix(absl::StripPrefix(kv.second, "'"), "'"));
      if (kv.first == "PRESENCE_HA_STORE") cluster->read_write_ = kv.second;
      if (kv.first == "PRESENCE_HA_STORE_READ") cluster->prefer_standby_ = kv.second;
      if (kv.first == "PGPASSFILE") cluster->passfile_ = kv.second;
      if (kv.first == "PRESENCE_HA_MEMBERS")
        cluster->members_ = absl::StrSplit(kv.second, ',');
      if (kv.first == "PRESENCE_HA_PG_PORTS") {
        for (absl::string_view port : absl::StrSplit(kv.second, ',')) {
          int p = 0;
          if (absl::SimpleAtoi(port, &p)) cluster->ports_.push_back(p);
        }
      }
    }
    if (cluster->read_write_.empty() || cluster->passfile_.empty() ||
        cluster->ports_.size() != cluster->members_.size()) {
      return absl::InternalError(
          absl::StrCat("tests/ha/cluster up printed no connection strings: ", up.out));
    }
    return cluster;
  }

  ~PatroniCluster() { Run("down"); }
  PatroniCluster(const PatroniCluster&) = delete;
  PatroniCluster& operator=(const PatroniCluster&) = delete;

  // The multi-host URI over every member, without a password (libpq reads
  // it from PGPASSFILE): what the services take as --store (kReadWrite) and
  // --store_read (kPreferStandby).
  const std::string& uri(Target target) const {
    return target == Target::kReadWrite ? read_write_ : prefer_standby_;
  }
  // uri() with the passfile named in it, for libpq clients in this process.
  std::string LibpqUri(Target target) const {
    return absl::StrCat(uri(target), "&passfile=", passfile_);
  }
  // The password file of the roles `presence` (the application's, owner of
  // the database `presence`) and `postgres` (superuser).
  const std::string& passfile() const { return passfile_; }
  // "NAME=value" entries for a child process using uri() (RunCommand's
  // extra_env): PGPASSFILE.
  std::vector<std::string> ClientEnv() const { return {"PGPASSFILE=" + passfile_}; }
  // The members' names, pg1...
  const std::vector<std::string>& members() const { return members_; }
  // The PostgreSQL port of `member` (what inet_server_port() returns on
  // it), or 0 for an unknown name.
  int port(absl::string_view member) const {
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i] == member) return ports_[i];
    }
    return 0;
  }
  // The directory holding the cluster (logs in <dir>/log).
  const std::string& dir() const { return dir_.path(); }

  // The member now serving as the running primary, or the synchronous
  // standby (Patroni's health endpoints); NOT_FOUND if none is.
  absl::StatusOr<std::string> Primary() const { return Name("primary"); }
  absl::StatusOr<std::string> SyncStandby() const { return Name("sync-standby"); }

  // kill -9 of `member`'s postmaster (a name, or "primary", "sync-standby",
  // "replica" for an asynchronous standby); returns the member's name.
  // Patroni then fails over at once (a primary) or restarts it (a standby).
  absl::StatusOr<std::string> KillPostgres(absl::string_view member) const {
    return Name("kill", {std::string(member)});
  }
  // kill -9 of `member`'s Patroni and every PostgreSQL process of it, as a
  // crash of its machine would: a primary is replaced once its leader key
  // expires (Patroni's ttl, 10 s). The member stays down.
  absl::StatusOr<std::string> KillMember(absl::string_view member) const {
    return Name("kill", {std::string(member), "--member"});
  }

  // Waits until a member other than `not_member` (empty: any) is the running
  // primary; returns its name, or DEADLINE_EXCEEDED.
  absl::StatusOr<std::string> WaitForPrimary(absl::string_view not_member,
                                             absl::Duration timeout) const {
    std::vector<std::string> args = {
        "--for=primary", absl::StrCat("--timeout=", absl::ToDoubleSeconds(timeout))};
    if (!not_member.empty()) args.push_back(absl::StrCat("--not=", not_member));
    absl::StatusOr<std::string> name = Name("wait", args);
    if (!name.ok()) return absl::DeadlineExceededError(name.status().message());
    return name;
  }
  // Waits until every member runs and replicates again with a synchronous
  // standby (after a kill: the old primary rejoined as a standby).
  absl::Status WaitHealthy(absl::Duration timeout) const {
    return Name("wait", {"--for=healthy",
                         absl::StrCat("--timeout=", absl::ToDoubleSeconds(timeout))})
        .status();
  }

  // `patronictl list`, for failure messages.
  std::string Status() const {
    CommandResult r = Run("status");
    return r.out + r.err;
  }

 private:
  PatroniCluster() = default;

  // Runs `tests/ha/cluster COMMAND --dir=DIR ARGS...`.
  CommandResult Run(const std::string& command,
                    const std::vector<std::string>& args = {}) const {
    std::vector<std::string> argv = {PRESENCE_HA_CLUSTER_SCRIPT, command,
                                     "--dir=" + dir_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, scratch_.path());
  }
  // Runs a command that prints a member's name.
  absl::StatusOr<std::string> Name(const std::string& command,
                                   const std::vector<std::string>& args = {}) const {
    CommandResult r = Run(command, args);
    if (r.exit_code != 0) return absl::NotFoundError(absl::StripAsciiWhitespace(r.err));
    return std::string(absl::StripAsciiWhitespace(r.out));
  }

  TempDir dir_;      // the cluster's (handed to presence-pg by the script)
  TempDir scratch_;  // the script's captured output
  std::vector<std::string> members_;
  std::vector<int> ports_;  // members_[i]'s PostgreSQL port
  std::string read_write_;
  std::string prefer_standby_;
  std::string passfile_;
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_PATRONI_CLUSTER_H_
