#include "services/common/server/metrics.h"

#include <httplib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "services/common/version.h"

namespace presence {

// The standard process metrics, from /proc/self (Linux), as the official
// Prometheus clients export them; prometheus-cpp has no such collector, so
// this one is hand-written: process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_start_time_seconds, process_open_fds, process_max_fds.
class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector() : start_time_(StartTime()) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    const auto add = [&](const char* name, const char* help, prometheus::MetricType type,
                         double value) {
      prometheus::MetricFamily family;
      family.name = name;
      family.help = help;
      family.type = type;
      prometheus::ClientMetric metric;
      if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
      } else {
        metric.gauge.value = value;
      }
      family.metric.push_back(std::move(metric));
      out.push_back(std::move(family));
    };
    const std::vector<std::string> stat = StatFields();
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    // Fields of /proc/self/stat after the command: utime is the 14th of
    // the line, so index 11 here; stime 12; vsize 20; rss (pages) 21.
    if (stat.size() > 21) {
      double utime = 0, stime = 0, vsize = 0, rss = 0;
      if (absl::SimpleAtod(stat[11], &utime) && absl::SimpleAtod(stat[12], &stime)) {
        add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
            prometheus::MetricType::Counter, (utime + stime) / ticks);
      }
      if (absl::SimpleAtod(stat[20], &vsize)) {
        add("process_virtual_memory_bytes", "Virtual memory size in bytes.",
            prometheus::MetricType::Gauge, vsize);
      }
      if (absl::SimpleAtod(stat[21], &rss)) {
        add("process_resident_memory_bytes", "Resident memory size in bytes.",
            prometheus::MetricType::Gauge, rss * static_cast<double>(sysconf(_SC_PAGESIZE)));
      }
    }
    if (start_time_ > 0) {
      add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          prometheus::MetricType::Gauge, start_time_);
    }
    std::error_code ec;
    double fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++fds;
    }
    if (!ec) {
      // Less the one the listing itself held open.
      add("process_open_fds", "Number of open file descriptors.", prometheus::MetricType::Gauge,
          fds > 0 ? fds - 1 : 0);
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      add("process_max_fds", "Maximum number of open file descriptors.",
          prometheus::MetricType::Gauge, static_cast<double>(limit.rlim_cur));
    }
    return out;
  }

 private:
  // The fields of /proc/self/stat after "pid (comm)" (comm may hold spaces).
  static std::vector<std::string> StatFields() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) return {};
    return absl::StrSplit(absl::StripAsciiWhitespace(line.substr(paren + 1)), ' ',
                          absl::SkipEmpty());
  }

  // Boot time (/proc/stat btime) plus the start time in ticks after boot.
  static double StartTime() {
    const std::vector<std::string> stat = StatFields();
    double start_ticks = 0;
    if (stat.size() <= 19 || !absl::SimpleAtod(stat[19], &start_ticks)) return 0;
    std::ifstream in("/proc/stat");
    std::string line;
    while (std::getline(in, line)) {
      absl::string_view rest = line;
      double boot = 0;
      if (absl::ConsumePrefix(&rest, "btime ") &&
          absl::SimpleAtod(absl::StripAsciiWhitespace(rest), &boot)) {
        return boot + start_ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
      }
    }
    return 0;
  }

  const double start_time_;
};

// Gauges and counters computed at scrape time (AddGauge, AddCounter).
class Metrics::Callbacks final : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, prometheus::MetricType type,
           std::function<double()> value) {
    absl::MutexLock lock(&mu_);
    entries_.push_back({std::move(name), std::move(help), type, std::move(value)});
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<Entry> entries;
    {
      absl::MutexLock lock(&mu_);
      entries = entries_;
    }
    std::vector<prometheus::MetricFamily> out;
    for (const Entry& e : entries) {
      prometheus::MetricFamily family;
      family.name = e.name;
      family.help = e.help;
      family.type = e.type;
      prometheus::ClientMetric metric;
      const double value = e.value();
      if (e.type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
      } else {
        metric.gauge.value = value;
      }
      family.metric.push_back(std::move(metric));
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Entry {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    std::function<double()> value;
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Handling-time buckets, seconds: 50 µs to 10 s (our calls take from tens
// of microseconds; the ecosystem's default starts at 5 ms).
const std::vector<double>& Buckets() {
  static const auto* const kBuckets = new std::vector<double>{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  return *kBuckets;
}

const char* TypeName(RpcType type) {
  return type == RpcType::kServerStream ? "server_stream" : "unary";
}

// {grpc_type, grpc_service, grpc_method} of "/package.Service/Method".
prometheus::Labels MethodLabels(absl::string_view method, RpcType type) {
  absl::string_view full = absl::StripPrefix(method, "/");
  const size_t slash = full.find('/');
  return {{"grpc_type", TypeName(type)},
          {"grpc_service", std::string(full.substr(0, slash))},
          {"grpc_method",
           slash == absl::string_view::npos ? std::string() : std::string(full.substr(slash + 1))}};
}

}  // namespace

void MethodMetrics::Started() { started_->Increment(); }
void MethodMetrics::MessageReceived() { received_->Increment(); }
void MethodMetrics::MessageSent() { sent_->Increment(); }

void MethodMetrics::Handled(int code, double seconds) {
  const int c = code >= 0 && code < kCodes ? code : 2;  // UNKNOWN
  prometheus::Counter* counter = handled_[c].load(std::memory_order_acquire);
  if (counter == nullptr) counter = make_handled_(c);
  counter->Increment();
  handling_->Observe(seconds);
}

Metrics& Metrics::Global() {
  static Metrics* const metrics = new Metrics();
  return *metrics;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      callbacks_(std::make_shared<Callbacks>()),
      process_(std::make_shared<ProcessCollector>()) {
  started_ = &prometheus::BuildCounter()
                  .Name("grpc_server_started_total")
                  .Help("Total number of RPCs started on the server.")
                  .Register(*registry_);
  handled_ = &prometheus::BuildCounter()
                  .Name("grpc_server_handled_total")
                  .Help("Total number of RPCs completed on the server, regardless of success or failure.")
                  .Register(*registry_);
  received_ = &prometheus::BuildCounter()
                   .Name("grpc_server_msg_received_total")
                   .Help("Total number of RPC stream messages received on the server.")
                   .Register(*registry_);
  sent_ = &prometheus::BuildCounter()
               .Name("grpc_server_msg_sent_total")
               .Help("Total number of gRPC stream messages sent by the server.")
               .Register(*registry_);
  handling_ = &prometheus::BuildHistogram()
                   .Name("grpc_server_handling_seconds")
                   .Help("Histogram of response latency (seconds) of gRPC that had been "
                         "application-level handled by the server.")
                   .Register(*registry_);
  prometheus::BuildGauge()
      .Name("presence_build_info")
      .Help("The presence version and git revision of this binary; always 1.")
      .Register(*registry_)
      .Add({{"version", std::string(Version())}, {"revision", std::string(GitRevision())}})
      .Set(1);
  // Computed when scraped, not counted per RPC.
  AddGauge("presence_rpc_in_flight", "RPCs being served (started and not yet handled).",
           [this] { return InFlight(); });
}

MethodMetrics* Metrics::Method(absl::string_view method, RpcType type) {
  // Per thread, by the address of the method's name (a literal at every
  // call site): no lock on the RPC path once a thread has seen the method.
  thread_local absl::flat_hash_map<const char*, MethodMetrics*> cache;
  MethodMetrics*& cached = cache[method.data()];
  if (cached == nullptr) cached = Lookup(method, type);
  return cached;
}

MethodMetrics* Metrics::Lookup(absl::string_view method, RpcType type) {
  absl::MutexLock lock(&mu_);
  auto it = methods_.find(method);
  if (it != methods_.end()) return it->second.get();
  auto m = std::unique_ptr<MethodMetrics>(new MethodMetrics());
  const prometheus::Labels labels = MethodLabels(method, type);
  m->started_ = &started_->Add(labels);
  m->received_ = &received_->Add(labels);
  m->sent_ = &sent_->Add(labels);
  m->handling_ = &handling_->Add(labels, Buckets());
  MethodMetrics* raw = m.get();
  m->make_handled_ = [this, raw, labels](int code) {
    absl::MutexLock lock(&mu_);
    prometheus::Counter* counter = raw->handled_[code].load(std::memory_order_relaxed);
    if (counter == nullptr) {
      prometheus::Labels with_code = labels;
      with_code["grpc_code"] = StatusCodeName(code);
      counter = &handled_->Add(with_code);
      raw->handled_[code].store(counter, std::memory_order_release);
    }
    return counter;
  };
  methods_.emplace(std::string(method), std::move(m));
  return raw;
}

double Metrics::InFlight() {
  absl::MutexLock lock(&mu_);
  double in_flight = 0;
  for (const auto& [method, m] : methods_) {
    in_flight += m->started_->Value();
    for (const auto& handled : m->handled_) {
      if (const prometheus::Counter* c = handled.load(std::memory_order_acquire)) {
        in_flight -= c->Value();
      }
    }
  }
  // Started and handled are read one after the other: never below zero.
  return in_flight > 0 ? in_flight : 0;
}

void Metrics::AddGauge(const std::string& name, const std::string& help,
                       std::function<double()> value) {
  callbacks_->Add(name, help, prometheus::MetricType::Gauge, std::move(value));
}

void Metrics::AddCounter(const std::string& name, const std::string& help,
                         std::function<double()> value) {
  callbacks_->Add(name, help, prometheus::MetricType::Counter, std::move(value));
}

std::string Metrics::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (const prometheus::Collectable* more :
       {static_cast<const prometheus::Collectable*>(process_.get()),
        static_cast<const prometheus::Collectable*>(callbacks_.get())}) {
    std::vector<prometheus::MetricFamily> extra = more->Collect();
    families.insert(families.end(), std::make_move_iterator(extra.begin()),
                    std::make_move_iterator(extra.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
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
