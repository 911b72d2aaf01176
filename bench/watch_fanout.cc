#include "bench/watch_fanout.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "presence/registry/v1/registry.grpc.pb.h"

namespace presence::bench {
namespace {

namespace rv1 = ::presence::registry::v1;

// The registry allows 100 concurrent streams per connection.
constexpr int kStreamsPerChannel = 100;

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// One watch stream: records when each revision arrived, and whether the
// feed stayed consecutive.
class Watcher final : public grpc::ClientReadReactor<rv1::OrganizationChange> {
 public:
  Watcher(rv1::RegistryService::Stub* stub, int64_t start, absl::Mutex* mu, int* established,
          int* done)
      : start_(start), last_(start), mu_(mu), established_(established), done_(done) {
    request_.set_start_revision(start);
    stub->async()->WatchOrganizations(&context_, &request_, this);
    StartRead(&change_);
    StartCall();
  }

  void OnReadInitialMetadataDone(bool ok) override {
    absl::MutexLock lock(mu_);
    if (ok) ++*established_;
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows.
    const int64_t now = absl::GetCurrentTimeNanos();
    if (change_.revision() != last_ + 1) ++errors_;
    last_ = change_.revision();
    seen_.store(last_, std::memory_order_relaxed);
    arrivals_.push_back({last_, now});
    StartRead(&change_);
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(mu_);
    status_ = status;
    ++*done_;
  }
  void Cancel() { context_.TryCancel(); }
  // The newest revision received so far; any thread.
  int64_t seen() const { return seen_.load(std::memory_order_relaxed); }

  struct Arrival {
    int64_t revision, ns;
  };
  // REQUIRES: OnDone ran.
  const std::vector<Arrival>& arrivals() const { return arrivals_; }
  int64_t errors() const { return errors_; }
  const grpc::Status& status() const { return status_; }
  int64_t last() const { return last_; }

 private:
  grpc::ClientContext context_;
  rv1::WatchOrganizationsRequest request_;
  rv1::OrganizationChange change_;
  const int64_t start_;
  int64_t last_;
  int64_t errors_ = 0;
  std::atomic<int64_t> seen_{0};
  std::vector<Arrival> arrivals_;
  absl::Mutex* const mu_;
  int* const established_;
  int* const done_;
  grpc::Status status_;
};

// The registry's current revision: the "presence-revision" header of a
// watch (one from far ahead, refused at once after the header).
absl::StatusOr<int64_t> CurrentRevision(rv1::RegistryService::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  rv1::WatchOrganizationsRequest request;
  request.set_start_revision(int64_t{1} << 60);
  auto reader = stub.WatchOrganizations(&context, request);
  rv1::OrganizationChange change;
  while (reader->Read(&change)) {
  }
  reader->Finish().ok();
  const auto& md = context.GetServerInitialMetadata();
  auto it = md.find("presence-revision");
  int64_t revision = 0;
  if (it == md.end() ||
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &revision)) {
    return absl::UnavailableError("no presence-revision header");
  }
  return revision;
}

}  // namespace

WatchFanoutResult MeasureWatchFanout(const std::string& address, int watchers,
                                     double writes_per_second, absl::Duration duration,
                                     const std::string& prefix) {
  WatchFanoutResult r;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<rv1::RegistryService::Stub>> stubs;
  for (int i = 0; i < std::max(1, (watchers + kStreamsPerChannel - 1) / kStreamsPerChannel);
       ++i) {
    grpc::ChannelArguments args;
    args.SetInt("presence.bench.channel", i);  // A connection of its own.
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    stubs.push_back(rv1::RegistryService::NewStub(channels.back()));
  }
  // Writes go through a connection of their own.
  grpc::ChannelArguments writer_args;
  writer_args.SetInt("presence.bench.channel", -1);
  auto writer = rv1::RegistryService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), writer_args));
  absl::StatusOr<int64_t> start = CurrentRevision(*writer);
  if (!start.ok()) {
    r.error = std::string(start.status().message());
    return r;
  }

  absl::Mutex mu;
  int established = 0, done = 0;
  std::vector<std::unique_ptr<Watcher>> streams;
  for (int i = 0; i < watchers; ++i) {
    streams.push_back(std::make_unique<Watcher>(stubs[i / kStreamsPerChannel].get(), *start,
                                                &mu, &established, &done));
  }
  {
    absl::MutexLock lock(&mu);
    const auto up = [&] { return established + done >= watchers; };
    mu.AwaitWithTimeout(absl::Condition(&up), absl::Seconds(60));
  }

  // The writes, paced; each one's send time by its revision.
  std::vector<std::pair<int64_t, int64_t>> sent;  // revision, ns
  std::vector<double> write_us;
  const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(
                                             absl::ToDoubleSeconds(duration) * writes_per_second));
  const absl::Time begin = absl::Now();
  for (int64_t i = 0; i < n; ++i) {
    absl::SleepFor(begin + absl::Seconds(i / writes_per_second) - absl::Now());
    rv1::CreateOrganizationRequest request;
    request.set_organization_id(absl::StrFormat("%s%08d", prefix, i));
    request.mutable_organization()->set_display_name("Written by the fan-out benchmark");
    request.mutable_organization()->set_kind(rv1::Organization::KIND_OTHER);
    rv1::Organization created;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    const int64_t t0 = absl::GetCurrentTimeNanos();
    grpc::Status s = writer->CreateOrganization(&context, request, &created);
    const int64_t t1 = absl::GetCurrentTimeNanos();
    ++r.writes;
    if (!s.ok()) {
      ++r.write_errors;
      continue;
    }
    write_us.push_back((t1 - t0) / 1e3);
    sent.push_back({created.revision(), t0});
  }
  const int64_t last = sent.empty() ? *start : sent.back().first;

  // Every watcher should reach the last revision (a bench may poll).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline &&
         !std::all_of(streams.begin(), streams.end(),
                      [&](const auto& w) { return w->seen() >= last; })) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (auto& w : streams) w->Cancel();
  {
    absl::MutexLock lock(&mu);
    const auto all_done = [&] { return done >= watchers; };
    mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(30));
    if (done < watchers) {
      r.error = "watch streams did not end";
      return r;  // Leaks the streams rather than destroying them in use.
    }
  }

  std::vector<int64_t> sent_ns(static_cast<size_t>(last - *start + 1), 0);
  for (const auto& [revision, ns] : sent) {
    if (revision > *start && revision <= last) sent_ns[revision - *start] = ns;
  }
  std::vector<double> delivery_us;
  for (const auto& w : streams) {
    r.feed_errors += w->errors();
    if (w->last() < last) ++r.feed_errors;  // Missed changes.
    for (const Watcher::Arrival& a : w->arrivals()) {
      if (a.revision <= *start || a.revision > last || sent_ns[a.revision - *start] == 0) {
        continue;
      }
      delivery_us.push_back(std::max<int64_t>(0, a.ns - sent_ns[a.revision - *start]) / 1e3);
    }
  }
  r.expected_deliveries = static_cast<int64_t>(sent.size()) * watchers;
  r.deliveries = static_cast<int64_t>(delivery_us.size());
  r.write_p50_us = Percentile(write_us, 0.5);
  r.write_p99_us = Percentile(write_us, 0.99);
  r.delivery_p50_us = Percentile(delivery_us, 0.5);
  r.delivery_p99_us = Percentile(delivery_us, 0.99);
  r.delivery_max_us = delivery_us.empty() ? 0 : delivery_us.back();
  r.ok = true;
  return r;
}

}  // namespace presence::bench
