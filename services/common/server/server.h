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

namespace storage {
class KvStore;
}  // namespace storage

struct TlsOptions {
  // PEM files. With cert and key the server speaks TLS only.
  std::string cert_file;
  std::string key_file;
  // With a client CA, clients must present a certificate it signed (mTLS).
  std::string client_ca_file;
  // How often the files are re-read (gRPC's FileWatcherCertificateProvider);
  // replaced certificates take effect within this interval.
  int refresh_seconds = 1;
  bool enabled() const { return !cert_file.empty(); }
};

struct ServerOptions {
  // "host:port"; port 0 picks a free port (see RunningServer::port()).
  std::string listen_address = "127.0.0.1:0";
  // The application services; not owned, must outlive the server.
  std::vector<grpc::Service*> services;
  // Full names of the application services, reported SERVING by health and
  // listed by reflection.
  std::vector<std::string> service_names;
  TlsOptions tls;
  // If set, a second, plaintext listener serving only grpc.health.v1 (for
  // Kubernetes' gRPC probes, which cannot speak TLS).
  std::string health_listen;
  // Limits: the largest request message, HTTP/2 streams per connection,
  // threads and memory for the whole server (gRPC ResourceQuota).
  int max_request_bytes = 1 << 20;
  int max_concurrent_streams = 100;
  int max_threads = 64;
  size_t memory_quota_bytes = size_t{256} << 20;
  // Connections are closed (with GOAWAY, after the grace) at this age, so
  // that clients behind a Kubernetes Service re-resolve and spread over new
  // replicas.
  absl::Duration max_connection_age = absl::Minutes(10);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // If set, answers to grpc.health.v1.Health/Check carry it as the
  // kVersionMetadataKey initial metadata (on both listeners), e.g.
  // VersionLine("presence-registry").
  std::string version;
};

// The initial-metadata key under which servers report their version line
// (services/common/version.h) on health checks.
inline constexpr char kVersionMetadataKey[] = "presence-version";

class RunningServer {
 public:
  // Builds and starts the server. FAILED_PRECONDITION if it cannot listen.
  static absl::StatusOr<std::unique_ptr<RunningServer>> Start(
      ServerOptions options);
  ~RunningServer();  // Shuts down with no grace if still running.

  // The ports actually bound (health_port: 0 without health_listen).
  int port() const { return port_; }
  int health_port() const { return health_port_; }
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
  std::unique_ptr<grpc::Server> health_server_;
  int port_ = 0;
  int health_port_ = 0;
  bool shut_down_ = false;
};

// Prepares a service process: blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 in the
// calling thread and every thread it starts afterwards (so that
// WaitForSignal() is the only receiver), sets gRPC's environment defaults and
// turns off absl::Mutex deadlock detection (see server.cc). Call first thing
// in main(), before any thread or gRPC object exists.
void BlockSignals();

// Waits for SIGINT, SIGTERM or SIGHUP and returns it. REQUIRES:
// BlockSignals().
int WaitForSignal();

// The common tail of a service's main(): writes the port file (if
// `port_file` is not empty), then waits for signals: SIGHUP runs `on_reload`,
// SIGUSR1 runs `on_backup` (each if set) and goes on waiting; SIGTERM or
// SIGINT shuts `server` down gracefully (see RunningServer::Shutdown).
// REQUIRES: BlockSignals().
absl::Status ServeUntilTerminated(RunningServer& server,
                                  const std::string& port_file,
                                  absl::Duration grace,
                                  const std::function<void()>& before_stop,
                                  const std::function<void()>& on_reload = nullptr,
                                  const std::function<void()>& on_backup = nullptr);

// Writes a consistent copy of `store` to `<backup_dir>/<UTC timestamp>` and
// logs the outcome (SIGUSR1). The copy is an openable database: restore by
// stopping the service and pointing --data_dir at it (or copying it there).
void BackupStore(storage::KvStore* store, const std::string& backup_dir);

// The content of the file at `path`; NOT_FOUND if it cannot be read.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes `port` to `path` atomically (write + rename), so that a process
// waiting for the file never reads a partial number.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_SERVER_H_
