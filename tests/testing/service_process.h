#ifndef PRESENCE_TESTS_TESTING_SERVICE_PROCESS_H_
#define PRESENCE_TESTS_TESTING_SERVICE_PROCESS_H_

// A presence service binary run as a real process on a loopback port.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "tests/testing/subprocess.h"

namespace presence::testing {

class ServiceProcess {
 public:
  // Starts `binary` with --listen (port 0 unless `port` is given),
  // --data_dir=<dir>/<name>-db, --port_file and `flags`; waits until it
  // serves. Check ok() afterwards.
  ServiceProcess(const std::string& binary, const std::string& dir,
                 const std::string& name, std::vector<std::string> flags,
                 int port = 0) {
    const std::string port_file = absl::StrCat(dir, "/", name, ".port");
    std::remove(port_file.c_str());
    log_ = absl::StrCat(dir, "/", name, ".log");
    std::vector<std::string> argv = {
        binary, absl::StrCat("--listen=127.0.0.1:", port),
        absl::StrCat("--data_dir=", dir, "/", name, "-db"),
        "--port_file=" + port_file};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = Subprocess::Start(argv, log_);
    if (!process_) return;
    std::optional<int> bound = WaitForPortFile(port_file);
    if (!bound) return;
    port_ = *bound;
    channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }

  bool ok() const { return channel_ != nullptr; }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  Subprocess& process() { return *process_; }
  std::string log() const { return ReadFile(log_); }
  // Waits until the log contains `text` (services write log lines within a
  // few milliseconds, not at once).
  bool LogContains(const std::string& text,
                   absl::Duration timeout = absl::Seconds(10)) const {
    return WaitUntil([&] { return log().find(text) != std::string::npos; }, timeout);
  }

  // Sends `signal` and waits for the exit; returns the wait status.
  std::optional<int> Stop(int signal) {
    process_->Signal(signal);
    return process_->Wait(absl::Seconds(60));
  }

 private:
  std::string log_;
  std::optional<Subprocess> process_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_SERVICE_PROCESS_H_
