#ifndef PRESENCE_SERVICES_COMMON_SERVER_METRICS_H_
#define PRESENCE_SERVICES_COMMON_SERVER_METRICS_H_

// Prometheus metrics with prometheus-cpp (Debian's prometheus-cpp-dev 1.0:
// its core library for the metric types and the text format), served over
// HTTP by cpp-httplib, which the services already use (prometheus-cpp's own
// pull exposer would add civetweb for one endpoint).
//
// Names and labels follow the gRPC ecosystem's middleware
// (go-grpc-prometheus / grpc-ecosystem), so stock Grafana dashboards and
// alerts work unchanged:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
//   grpc_server_msg_received_total, grpc_server_msg_sent_total{...}
// with grpc_type "unary" or "server_stream" and grpc_code the canonical
// code name ("OK", "NOT_FOUND"); the standard process_* metrics
// (ProcessCollector); the project's own under presence_, byte values in
// _bytes.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace presence {

enum class RpcType { kUnary, kServerStream };

// The metrics of one method. Thread-safe; owned by Metrics, never freed.
class MethodMetrics {
 public:
  void Started();
  void MessageReceived();
  void MessageSent();
  // `code` is a canonical status code (0 OK .. 16 UNAUTHENTICATED).
  void Handled(int code, double seconds);
  // (presence_rpc_in_flight is computed at scrape time from started and
  // handled, so that no RPC updates a counter shared by every method.)

 private:
  friend class Metrics;
  static constexpr int kCodes = 17;
  MethodMetrics() = default;
  prometheus::Counter* started_ = nullptr;
  prometheus::Counter* received_ = nullptr;
  prometheus::Counter* sent_ = nullptr;
  prometheus::Histogram* handling_ = nullptr;
  // grpc_server_handled_total per code, made on first use (so that the
  // exposition lists only codes that occurred).
  std::atomic<prometheus::Counter*> handled_[kCodes] = {};
  std::function<prometheus::Counter*(int code)> make_handled_;
};

// Thread-safe.
class Metrics {
 public:
  // The process-wide instance.
  static Metrics& Global();

  // The metrics of `method` ("/package.Service/Method"), made on first use.
  // Cheap to call per RPC: a per-thread lookup by the address of
  // `method`'s characters, so `method` must be a string literal (or
  // otherwise never change and never be freed).
  MethodMetrics* Method(absl::string_view method, RpcType type);

  // A gauge (or, with `counter`, a counter) whose value `value` computes at
  // every scrape. `name` must be a valid metric name, registered once.
  void AddGauge(const std::string& name, const std::string& help,
                std::function<double()> value);
  void AddCounter(const std::string& name, const std::string& help,
                  std::function<double()> value);

  // The text exposition (format 0.0.4) of every metric.
  std::string Render() const;

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

 private:
  class Callbacks;
  Metrics();
  MethodMetrics* Lookup(absl::string_view method, RpcType type);
  // grpc_server_started_total less grpc_server_handled_total, all methods.
  double InFlight();

  const std::shared_ptr<prometheus::Registry> registry_;
  const std::shared_ptr<Callbacks> callbacks_;
  const std::shared_ptr<class ProcessCollector> process_;
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Counter>* received_;
  prometheus::Family<prometheus::Counter>* sent_;
  prometheus::Family<prometheus::Histogram>* handling_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> methods_
      ABSL_GUARDED_BY(mu_);
};

// "OK", "NOT_FOUND", ... for a canonical status code.
const char* StatusCodeName(int code);

// GET /metrics on its own thread.
class MetricsServer {
 public:
  // `listen` is "host:port"; port 0 picks one.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen);
  ~MetricsServer();  // Stops.
  int port() const { return port_; }

 private:
  MetricsServer();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_METRICS_H_
