#include "services/common/server/metrics.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "services/common/version.h"

namespace presence {
namespace {

// Latency buckets, seconds: 50 µs to 10 s.
constexpr double kBuckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                               0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                               0.5,     1,      2.5,     5,      10};
constexpr size_t kNumBuckets = sizeof(kBuckets) / sizeof(kBuckets[0]);

std::string Number(double v) { return absl::StrFormat("%.17g", v); }

}  // namespace

Metrics& Metrics::Global() {
  static Metrics* const metrics = new Metrics();
  return *metrics;
}

Metrics::Metrics() : start_time_(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch())) {}

void Metrics::RpcStarted() {
  absl::MutexLock lock(&mu_);
  ++in_flight_;
}

void Metrics::RpcFinished(absl::string_view method, int code, double seconds) {
  absl::MutexLock lock(&mu_);
  --in_flight_;
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    it = methods_.emplace(std::string(method), MethodStats()).first;
    it->second.buckets.assign(kNumBuckets, 0);
  }
  MethodStats& m = it->second;
  ++m.codes[code >= 0 && code < kCodes ? code : 2];
  for (size_t i = 0; i < kNumBuckets; ++i) {
    if (seconds <= kBuckets[i]) {
      ++m.buckets[i];
      break;
    }
  }
  ++m.count;
  m.sum += seconds;
}

const char* StatusCodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kNames[code] : "UNKNOWN";
}

void Metrics::AddCollector(Collector collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::Render() const {
  std::string out;
  std::vector<Collector> collectors;
  {
    absl::MutexLock lock(&mu_);
    absl::StrAppend(&out,
                    "# HELP presence_rpc_requests_total RPCs finished, by method and status code.\n"
                    "# TYPE presence_rpc_requests_total counter\n");
    // Sorted, for stable output.
    std::map<std::string, const MethodStats*> sorted;
    for (const auto& [method, stats] : methods_) sorted[method] = &stats;
    for (const auto& [method, m] : sorted) {
      for (int code = 0; code < kCodes; ++code) {
        if (m->codes[code] == 0) continue;
        absl::StrAppend(&out, "presence_rpc_requests_total{method=\"", method,
                        "\",code=\"", StatusCodeName(code), "\"} ", m->codes[code], "\n");
      }
    }
    absl::StrAppend(&out,
                    "# HELP presence_rpc_latency_seconds Time in the handler, from the call's start to its status.\n"
                    "# TYPE presence_rpc_latency_seconds histogram\n");
    for (const auto& [method, h] : sorted) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < kNumBuckets; ++i) {
        cumulative += h->buckets[i];
        absl::StrAppend(&out, "presence_rpc_latency_seconds_bucket{method=\"", method,
                        "\",le=\"", Number(kBuckets[i]), "\"} ", cumulative, "\n");
      }
      absl::StrAppend(&out, "presence_rpc_latency_seconds_bucket{method=\"", method,
                      "\",le=\"+Inf\"} ", h->count, "\n",
                      "presence_rpc_latency_seconds_sum{method=\"", method, "\"} ",
                      Number(h->sum), "\n", "presence_rpc_latency_seconds_count{method=\"",
                      method, "\"} ", h->count, "\n");
    }
    AppendGauge(&out, "presence_rpc_in_flight", "RPCs being served.",
                static_cast<double>(in_flight_));
    collectors = collectors_;
  }
  AppendGauge(&out, "presence_process_start_time_seconds",
              "Start time of the process since the Unix epoch.", start_time_);
  AppendGauge(&out, "presence_build_info", "Build information.", 1,
              absl::StrCat("version=\"", Version(), "\",revision=\"", GitRevision(), "\""));
  for (const Collector& collect : collectors) collect(&out);
  return out;
}

void AppendGauge(std::string* out, absl::string_view name, absl::string_view help,
                 double value, absl::string_view labels) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n", name,
                  labels.empty() ? "" : "{", labels, labels.empty() ? "" : "}", " ",
                  Number(value), "\n");
}

MetricsServer::MetricsServer() = default;

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen: \"", listen, "\" is not host:port"));
  }
  const std::string host = listen.substr(0, colon);
  std::unique_ptr<MetricsServer> metrics(new MetricsServer());
  metrics->server_ = std::make_unique<httplib::Server>();
  metrics->server_->Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(Metrics::Global().Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  metrics->port_ = port == 0 ? metrics->server_->bind_to_any_port(host)
                             : (metrics->server_->bind_to_port(host, port) ? port : -1);
  if (metrics->port_ <= 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot listen on ", listen, " for metrics"));
  }
  httplib::Server* server = metrics->server_.get();
  metrics->thread_ = std::thread([server] { server->listen_after_bind(); });
  return metrics;
}

}  // namespace presence
