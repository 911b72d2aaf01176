#ifndef PRESENCE_SERVICES_COMMON_SERVER_METRICS_H_
#define PRESENCE_SERVICES_COMMON_SERVER_METRICS_H_

// Prometheus metrics in the text exposition format (version 0.0.4), served
// over HTTP by cpp-httplib. The format is written by hand: Debian 12
// packages no Prometheus client for C++, and what we expose is a few
// counters, one histogram family and gauges.

#include <cstdint>
#include <functional>
#include <map>
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

namespace presence {

// Thread-safe.
class Metrics {
 public:
  // Appends exposition lines (with their # HELP and # TYPE) to `out`.
  using Collector = std::function<void(std::string* out)>;

  // The process-wide instance.
  static Metrics& Global();

  void RpcStarted();
  // `code` is a canonical status code (0 OK .. 16 UNAUTHENTICATED).
  void RpcFinished(absl::string_view method, int code, double seconds);
  void AddCollector(Collector collector);

  std::string Render() const;

 private:
  Metrics();
  static constexpr int kCodes = 17;
  struct MethodStats {
    uint64_t codes[kCodes] = {};
    std::vector<uint64_t> buckets;  // Per upper bound, not cumulative.
    uint64_t count = 0;
    double sum = 0;
  };
  mutable absl::Mutex mu_;
  // Keyed by method; looked up without allocating.
  absl::flat_hash_map<std::string, MethodStats> methods_ ABSL_GUARDED_BY(mu_);
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Collector> collectors_ ABSL_GUARDED_BY(mu_);
  const double start_time_;
};

// "OK", "NOT_FOUND", ... for a canonical status code.
const char* StatusCodeName(int code);

// Helpers for collectors.
void AppendGauge(std::string* out, absl::string_view name, absl::string_view help,
                 double value, absl::string_view labels = "");

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
