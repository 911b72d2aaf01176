#ifndef PRESENCE_TESTS_TESTING_SUBPROCESS_H_
#define PRESENCE_TESTS_TESTING_SUBPROCESS_H_

// Real service processes for process-level tests.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace presence::testing {

// Polls `condition` until it holds or `timeout` passes; returns whether it
// held. The poll interval is short: this waits on a condition, it does not
// guess a duration.
template <typename Condition>
bool WaitUntil(Condition condition, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class Subprocess {
 public:
  // Starts `argv` with stdout and stderr appended to `log_path`.
  static std::optional<Subprocess> Start(const std::vector<std::string>& argv,
                                         const std::string& log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
    // The test process may block signals in its threads; the child must not
    // inherit that.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc =
        posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return std::nullopt;
    return Subprocess(pid);
  }

  Subprocess(Subprocess&& other) noexcept : pid_(other.pid_) { other.pid_ = 0; }
  Subprocess& operator=(Subprocess&& other) noexcept {
    std::swap(pid_, other.pid_);
    return *this;
  }
  Subprocess(const Subprocess&) = delete;
  ~Subprocess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }

  pid_t pid() const { return pid_; }
  void Signal(int signal) { ::kill(pid_, signal); }

  // Waits up to `timeout` for the process to exit; returns its wait status,
  // or nullopt if it is still running.
  std::optional<int> Wait(absl::Duration timeout = absl::Seconds(30)) {
    std::optional<int> result;
    WaitUntil(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            result = status;
            return true;
          }
          return false;
        },
        timeout);
    if (result) pid_ = 0;
    return result;
  }

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally.
  std::string out;
  std::string err;
};

// Runs `argv` to completion with stdin from /dev/null, stdout and stderr
// captured through files in `scratch_dir`, and `extra_env` ("NAME=value")
// added to the environment.
inline CommandResult RunCommand(const std::vector<std::string>& argv,
                                const std::string& scratch_dir,
                                const std::vector<std::string>& extra_env = {}) {
  static int counter = 0;
  const std::string base = scratch_dir + "/cmd" + std::to_string(++counter);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (base + ".out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (base + ".err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env_storage.push_back(*e);
  std::vector<char*> env;
  for (std::string& e : env_storage) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  CommandResult result;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return result;
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = ReadFile(base + ".out");
  result.err = ReadFile(base + ".err");
  return result;
}

// Reads the port a server wrote with --port_file, waiting for the file.
inline std::optional<int> WaitForPortFile(const std::string& path,
                                          absl::Duration timeout = absl::Seconds(60)) {
  int port = 0;
  const bool ok = WaitUntil(
      [&] {
        return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(path)), &port) &&
               port > 0;
      },
      timeout);
  if (!ok) return std::nullopt;
  return port;
}

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_SUBPROCESS_H_
