#ifndef PRESENCE_SERVICES_COMMON_SERVER_SERVER_H_
#define PRESENCE_SERVICES_COMMON_SERVER_SERVER_H_

// Running a presence gRPC server: the same set-up for both services — health
// (grpc.health.v1), reflection (v1 and v1alpha), one log line per RPC — and
// the same graceful shutdown.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace presence {

struct ServerOptions {
  // "host:port"; port 0 picks a free port (see RunningServer::port()).
  std::string listen_address = "127.0.0.1:0";
  // The application services; not owned, must outlive the server.
  std::vector<grpc::Service*> services;
  // Full names of the application services, reported SERVING by health and
  // listed by reflection.
  std::vector<std::string> service_names;
  // Log one line per RPC to stderr (method, status code, latency).
  bool log_rpcs = true;
};

class RunningServer {
 public:
  // Builds and starts the server. FAILED_PRECONDITION if it cannot listen.
  static absl::StatusOr<std::unique_ptr<RunningServer>> Start(
      ServerOptions options);
  ~RunningServer();  // Shuts down with no grace if still running.

  // The port actually bound.
  int port() const { return port_; }
  grpc::Server* server() { return server_.get(); }

  // Graceful shutdown: health turns NOT_SERVING, `before_stop` runs (services
  // end their long-lived streams there), no new RPCs are accepted, in-flight
  // RPCs get until now + grace to finish and are cancelled after that.
  // Returns when every RPC is done. Idempotent.
  void Shutdown(absl::Duration grace,
                const std::function<void()>& before_stop = nullptr);

 private:
  RunningServer();
  std::unique_ptr<grpc::Service> reflection_v1_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Prepares a service process: blocks SIGINT, SIGTERM and SIGHUP in the
// calling thread and every thread it starts afterwards (so that
// WaitForTerminationSignal() is the only receiver), and sets gRPC's
// environment defaults. Call first thing in main(), before any thread or gRPC
// object exists.
void BlockSignals();

// Waits for SIGINT or SIGTERM and returns it. REQUIRES: BlockSignals().
int WaitForTerminationSignal();

// The common tail of a service's main(): writes the port file (if
// `port_file` is not empty), waits for SIGTERM/SIGINT, then shuts `server`
// down gracefully (see RunningServer::Shutdown). REQUIRES: BlockSignals().
absl::Status ServeUntilTerminated(RunningServer& server,
                                  const std::string& port_file,
                                  absl::Duration grace,
                                  const std::function<void()>& before_stop);

// The content of the file at `path`; NOT_FOUND if it cannot be read.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes `port` to `path` atomically (write + rename), so that a process
// waiting for the file never reads a partial number.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_SERVER_H_
