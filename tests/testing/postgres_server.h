#ifndef PRESENCE_TESTS_TESTING_POSTGRES_SERVER_H_
#define PRESENCE_TESTS_TESTING_POSTGRES_SERVER_H_

// A real PostgreSQL 15 cluster for tests: initdb and pg_ctl from
// /usr/lib/postgresql/15/bin, a temporary data directory, 127.0.0.1 on a
// free port. PostgreSQL refuses to run as root, and tests run as root, so
// the cluster runs as the dedicated user "presence-pg" (created once, as a
// system user without a home or shell); a non-root developer runs it as
// themselves. One cluster serves a whole test binary (Shared()); each test
// takes a database of its own (CreateDatabase()), so tests stay fast and
// independent.
//
// The cluster is stopped and its directory removed when the process exits,
// also when it crashes: a watchdog process (a shell waiting on a pipe the
// test process holds) does it when the pipe closes. Settings favour speed
// (fsync off: the cluster is thrown away; what is tested is presence's use
// of PostgreSQL, not PostgreSQL's durability).

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "tests/testing/free_port.h"
#include "tests/testing/subprocess.h"

namespace presence::testing {

class PostgresServer {
 public:
  static constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
  static constexpr char kUser[] = "presence-pg";

  // The cluster of this test binary, started at the first call; null (with
  // the reason in *error) if it cannot start.
  static PostgresServer* Shared(std::string* error = nullptr) {
    static absl::StatusOr<std::unique_ptr<PostgresServer>>* const server = [] {
      auto* s = new absl::StatusOr<std::unique_ptr<PostgresServer>>(Start());
      if (s->ok()) {
        // Stopped at exit; the watchdog covers crashes.
        std::atexit([] { Shared()->Stop(); });
      }
      return s;
    }();
    if (!server->ok()) {
      if (error != nullptr) *error = server->status().ToString();
      return nullptr;
    }
    return server->value().get();
  }

  struct Options {
    // fsync, full page writes and synchronous commits on, as in production
    // (the benchmark's PostgreSQL); off for tests.
    bool durable = false;
    // A streaming standby that every commit waits for
    // (synchronous_standby_names = '*').
    bool synchronous_standby = false;
  };

  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start() { return Start(Options()); }
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(Options options) {
    std::unique_ptr<PostgresServer> server(new PostgresServer());
    server->options_ = options;
    absl::Status s = server->Init();
    if (s.ok() && options.synchronous_standby) s = server->StartStandby();
    if (!s.ok()) return s;
    return server;
  }

  // The standby's port (0 without one).
  int standby_port() const { return standby_port_; }

  ~PostgresServer() { Stop(); }

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // A libpq connection string for `database`.
  std::string ConnInfo(const std::string& database) const {
    return absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=", database);
  }

  // Creates a fresh, empty database and returns its name.
  absl::StatusOr<std::string> CreateDatabase() {
    static std::atomic<int> counter{0};
    const std::string name = absl::StrCat("t", getpid(), "_", ++counter);
    absl::Status s = Sql("postgres", absl::StrCat("CREATE DATABASE ", name));
    if (!s.ok()) return s;
    return name;
  }

  // Runs `sql` with psql in `database`; the output (unaligned, tuples only).
  absl::StatusOr<std::string> Query(const std::string& database,
                                    const std::string& sql) const {
    CommandResult r = RunCommand(
        {absl::StrCat(kBinDir, "/psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
         "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", "-d",
         database, "-c", sql},
        scratch_);
    if (r.exit_code != 0) {
      return absl::InternalError(absl::StrCat("psql: ", sql, ": ", r.err));
    }
    return r.out;
  }
  absl::Status Sql(const std::string& database, const std::string& sql) const {
    return Query(database, sql).status();
  }

  void Stop() {
    if (dir_.empty()) return;
    if (standby_port_ != 0) {
      RunAsOwner({absl::StrCat(kBinDir, "/pg_ctl"), "-D", dir_ + "/standby", "-m",
                  "immediate", "-w", "stop"});
    }
    RunAsOwner({absl::StrCat(kBinDir, "/pg_ctl"), "-D", data_, "-m", "immediate",
                "-w", "stop"});
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
    if (watchdog_write_ >= 0) {
      close(watchdog_write_);  // The watchdog finds nothing left to do.
      watchdog_write_ = -1;
    }
    if (watchdog_pid_ > 0) {
      int status = 0;
      waitpid(watchdog_pid_, &status, 0);
      watchdog_pid_ = 0;
    }
  }

 private:
  PostgresServer() = default;

  // Whether the cluster runs as kUser (we are root) or as ourselves.
  bool as_other_user() const { return geteuid() == 0; }

  std::vector<std::string> AsOwner(std::vector<std::string> argv) const {
    if (!as_other_user()) return argv;
    argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", kUser, "--"});
    return argv;
  }
  CommandResult RunAsOwner(const std::vector<std::string>& argv) const {
    return RunCommand(AsOwner(argv), scratch_);
  }

  static absl::Status EnsureUser() {
    if (getpwnam(kUser) != nullptr) return absl::OkStatus();
    CommandResult r = RunCommand({"/usr/sbin/useradd", "--system", "--no-create-home",
                                  "--home-dir", "/nonexistent", "--shell",
                                  "/usr/sbin/nologin", kUser},
                                 "/tmp");
    // Another test binary may have created it meanwhile.
    if (r.exit_code != 0 && getpwnam(kUser) == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("useradd ", kUser, ": ", r.err));
    }
    return absl::OkStatus();
  }

  absl::Status Init() {
    if (!std::filesystem::exists(absl::StrCat(kBinDir, "/initdb"))) {
      return absl::FailedPreconditionError(absl::StrCat(
          kBinDir, "/initdb is missing: install postgresql-15 (scripts/install-deps)"));
    }
    if (as_other_user()) {
      if (absl::Status s = EnsureUser(); !s.ok()) return s;
    }
    // The owner must be able to reach the directory: under /tmp, not under
    // a private $TMPDIR.
    std::string pattern = "/tmp/presence-pg-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError("mkdtemp failed");
    }
    dir_ = pattern;
    data_ = dir_ + "/data";
    scratch_ = dir_ + "/scratch";
    std::filesystem::create_directories(scratch_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_exec);
    if (as_other_user()) {
      const passwd* pw = getpwnam(kUser);
      if (pw == nullptr || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return absl::InternalError("cannot give the cluster directory to " +
                                   std::string(kUser));
      }
    }
    StartWatchdog();
    CommandResult init = RunAsOwner(
        {absl::StrCat(kBinDir, "/initdb"), "-D", data_, "-U", "postgres",
         "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"});
    if (init.exit_code != 0) {
      return absl::InternalError(absl::StrCat("initdb: ", init.out, init.err));
    }
    // A port picked free can be taken before the server binds it: retry.
    std::string last_error;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreeLoopbackPort();
      CommandResult start = RunAsOwner({absl::StrCat(kBinDir, "/pg_ctl"), "-D", data_,
                                        "-l", dir_ + "/postgres.log", "-o",
                                        ServerOptions(port_), "-w", "-t", "60", "start"});
      if (start.exit_code == 0) return absl::OkStatus();
      last_error = start.out + start.err + ReadFile(dir_ + "/postgres.log");
    }
    return absl::InternalError("pg_ctl start: " + last_error);
  }

  std::string ServerOptions(int port) const {
    std::vector<std::string> options = {
        absl::StrCat("-p ", port), "-c listen_addresses=127.0.0.1",
        absl::StrCat("-c unix_socket_directories=", dir_), "-c max_connections=300",
        "-c shared_buffers=32MB", "-c max_locks_per_transaction=256",
        "-c max_pred_locks_per_transaction=256"};
    if (!options_.durable) {
      options.insert(options.end(), {"-c fsync=off", "-c full_page_writes=off",
                                     "-c synchronous_commit=off"});
    }
    return absl::StrJoin(options, " ");
  }

  // A streaming standby from a base backup, then every commit waits for it.
  absl::Status StartStandby() {
    const std::string standby = dir_ + "/standby";
    CommandResult backup = RunAsOwner(
        {absl::StrCat(kBinDir, "/pg_basebackup"), "-h", "127.0.0.1", "-p",
         std::to_string(port_), "-U", "postgres", "-D", standby, "-R", "-X", "stream",
         "--no-sync"});
    if (backup.exit_code != 0) {
      return absl::InternalError(absl::StrCat("pg_basebackup: ", backup.err));
    }
    std::string last_error;
    for (int attempt = 0; attempt < 5 && standby_port_ == 0; ++attempt) {
      const int port = FreeLoopbackPort();
      CommandResult start = RunAsOwner({absl::StrCat(kBinDir, "/pg_ctl"), "-D", standby,
                                        "-l", dir_ + "/standby.log", "-o",
                                        ServerOptions(port), "-w", "-t", "60", "start"});
      if (start.exit_code == 0) {
        standby_port_ = port;
      } else {
        last_error = start.out + start.err;
      }
    }
    if (standby_port_ == 0) return absl::InternalError("standby: " + last_error);
    if (absl::Status s = Sql("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*'");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Sql("postgres", "SELECT pg_reload_conf()"); !s.ok()) return s;
    const bool sync = WaitUntil([&] {
      absl::StatusOr<std::string> state =
          Query("postgres", "SELECT sync_state FROM pg_stat_replication");
      return state.ok() && absl::StripAsciiWhitespace(*state) == "sync";
    }, absl::Seconds(60));
    if (!sync) return absl::InternalError("the standby did not become synchronous");
    return absl::OkStatus();
  }

  // A shell that waits for this process's end (the pipe's EOF), then stops
  // the cluster and removes its directory.
  void StartWatchdog() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    const std::string script = absl::StrCat(
        "read _; ",
        absl::StrJoin(AsOwner({absl::StrCat(kBinDir, "/pg_ctl"), "-D", dir_ + "/standby",
                               "-m", "immediate", "-w", "stop"}),
                      " "),
        " >/dev/null 2>&1; ",
        absl::StrJoin(AsOwner({absl::StrCat(kBinDir, "/pg_ctl"), "-D", data_, "-m",
                               "immediate", "-w", "stop"}),
                      " "),
        " >/dev/null 2>&1; rm -rf ", dir_);
    // The shell's stdin is the pipe's read end (dup2 clears CLOEXEC; the
    // write end stays close-on-exec, so only this process holds it).
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, const_cast<char**>(argv),
                    environ) == 0) {
      watchdog_pid_ = pid;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[0]);
    watchdog_write_ = fds[1];
  }

  std::string dir_;
  std::string data_;
  std::string scratch_;
  int port_ = 0;
  int standby_port_ = 0;
  Options options_;
  pid_t watchdog_pid_ = 0;
  int watchdog_write_ = -1;
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_POSTGRES_SERVER_H_
