// Failover of the services on a real HA PostgreSQL (issue 11, "Failover"):
// the Patroni cluster of tests/testing/patroni_cluster.h, two replicas of
// each service on it as real processes (registry A/B; timeline A on
// registry A, timeline B on registry B), every one with --store (read-write,
// multi-host) and --store_read (prefer-standby). Under continuous writes
// through both services -- CreateOrganization and UpdateOrganization
// (request ids, etags), CreateEvent (request ids), 1,000-event
// BatchCreateEvents -- continuous reads (ListEvents, GetEvent, GetPresence,
// GetOrganization) and an open WatchOrganizations on each registry replica,
// one test kills, in turn:
//   1. the synchronous standby's postgres: writes go on, none fails;
//   2. the primary's postgres (Patroni promotes the synchronous standby);
//   3. the whole primary member, Patroni too (a machine crash: the leader
//      key must expire first).
// After each primary kill, writes resume within 35 s (the bound,
// measured from the kill to the first write acknowledged once the new
// primary serves). Throughout: errors are only UNAVAILABLE or ABORTED
// (retryable), reads keep being answered, watchers see consecutive
// revisions with no duplicate, reconnecting from their last revision on
// either replica. Afterwards every acknowledged write is present exactly
// once (the change feed replayed from revision 0, the events listed), and a
// write whose outcome stayed unknown is present at most once.
//
// A write that fails with a retryable code is retried with the same
// request_id (or etag) until it settles, alternating replicas, as a client
// following the API's contract would: that is what makes "exactly once"
// checkable after ambiguous commits.
//
// Figures are printed and recorded as test properties (the README's High
// availability section quotes them); only the 35 s bound is
// asserted. Every wait is on a condition, with a bound.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "tests/testing/patroni_cluster.h"
#include "tests/testing/service_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

using ::presence::registry::v1::CreateOrganizationRequest;
using ::presence::registry::v1::GetOrganizationRequest;
using ::presence::registry::v1::ListOrganizationsRequest;
using ::presence::registry::v1::ListOrganizationsResponse;
using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;
using ::presence::registry::v1::RegistryService;
using ::presence::registry::v1::UpdateOrganizationRequest;
using ::presence::registry::v1::WatchOrganizationsRequest;
using ::presence::testing::PatroniCluster;
using ::presence::testing::ServiceProcess;
using ::presence::testing::WaitUntil;
using ::presence::timeline::v1::BatchCreateEventsRequest;
using ::presence::timeline::v1::BatchCreateEventsResponse;
using ::presence::timeline::v1::CreateEventRequest;
using ::presence::timeline::v1::Event;
using ::presence::timeline::v1::GetEventRequest;
using ::presence::timeline::v1::GetPresenceRequest;
using ::presence::timeline::v1::ListEventsRequest;
using ::presence::timeline::v1::ListEventsResponse;
using ::presence::timeline::v1::Presence;
using ::presence::timeline::v1::TimelineService;
using Target = PatroniCluster::Target;

// The bound for writes to resume after a primary kill.
constexpr absl::Duration kResumeGoal = absl::Seconds(35);
// Bounds of waits (generous: they only stop a broken run).
constexpr absl::Duration kFailoverBound = absl::Seconds(90);
constexpr absl::Duration kSettleBound = absl::Seconds(120);
// The deadline of one call: a call still unanswered after it is a failure
// (DEADLINE_EXCEEDED is not one of the retryable codes).
constexpr absl::Duration kCallDeadline = absl::Seconds(20);

constexpr int kOrgWriters = 2;
constexpr int kEventWriters = 2;
constexpr int kBatchSize = 1000;
// One batch at most every this long: 1,000 events a second is load enough
// for two cores, and keeps the final listing short.
constexpr absl::Duration kBatchInterval = absl::Seconds(1);
// Events written one by one fall in this year; batch n in year
// kBatchFirstYear + n (so that one ListEvents call shows a batch whole).
constexpr int kSingleYear = 1990;
constexpr int kBatchFirstYear = 2100;
constexpr int kProbeYear = 1999;

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = kCallDeadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// A UUID (the services accept only those as request ids), unique per
// (kind, writer, sequence number).
std::string RequestId(int kind, int writer, int64_t seq) {
  return absl::StrFormat("%08x-0000-4000-8000-%012x", kind * 256 + writer, seq);
}

bool IsRetryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::ABORTED;
}

enum WriteKind { kCreateOrganization, kUpdateOrganization, kCreateEvent, kBatchCreateEvents };
constexpr const char* kWriteKindNames[] = {"CreateOrganization", "UpdateOrganization",
                                           "CreateEvent", "BatchCreateEvents"};
constexpr const char* kReadNames[] = {"ListEvents", "GetEvent", "GetPresence",
                                      "GetOrganization"};
constexpr int kReadKinds = 4;

struct Failure {
  absl::Time at;
  std::string rpc;
  grpc::StatusCode code;
  std::string message;
};

// "N x CODE (first message)" per RPC and code, for the log.
std::string Summarize(const std::vector<Failure>& failures) {
  std::map<std::pair<std::string, int>, std::pair<int, std::string>> by;
  for (const Failure& f : failures) {
    auto& entry = by[{f.rpc, static_cast<int>(f.code)}];
    if (entry.first++ == 0) entry.second = f.message.substr(0, 200);
  }
  std::string out;
  for (const auto& [key, entry] : by) {
    absl::StrAppend(&out, "\n    ", entry.first, " x ", key.first, " code ", key.second, ": ",
                    entry.second);
  }
  return out.empty() ? " none" : out;
}

// The id of event `i` of batch `n`.
std::string BatchEventId(int n, int i) { return absl::StrFormat("b%d-%04d", n, i); }

// Two replicas of each service and their stubs.
struct Services {
  std::vector<std::unique_ptr<ServiceProcess>> registries, timelines;
  std::vector<std::unique_ptr<RegistryService::Stub>> registry;
  std::vector<std::unique_ptr<TimelineService::Stub>> timeline;
};

// What the workload saw, shared by its threads.
class Record {
 public:
  struct Ack {
    WriteKind kind;
    absl::Time end;
  };

  void Acked(WriteKind kind) {
    absl::MutexLock lock(&mu_);
    acks_.push_back({kind, absl::Now()});
  }
  void WriteFailed(Failure f) {
    absl::MutexLock lock(&mu_);
    write_failures_.push_back(std::move(f));
  }
  void Read(int kind, const grpc::Status& s) {
    absl::MutexLock lock(&mu_);
    if (s.ok()) {
      reads_[kind].push_back(absl::Now());
    } else {
      read_failures_.push_back(
          {absl::Now(), kReadNames[kind], s.error_code(), s.error_message()});
    }
  }

  // Acknowledgements of `kind` (any kind if nullopt) ending after `after`.
  int AcksAfter(absl::Time after, std::optional<WriteKind> kind = std::nullopt) const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count_if(acks_.begin(), acks_.end(), [&](const Ack& a) {
      return a.end > after && (!kind || a.kind == *kind);
    }));
  }
  // The first acknowledgement ending after `after`.
  std::optional<absl::Time> FirstAckAfter(absl::Time after,
                                          std::optional<WriteKind> kind = std::nullopt) const {
    absl::MutexLock lock(&mu_);
    std::optional<absl::Time> first;
    for (const Ack& a : acks_) {
      if (a.end > after && (!kind || a.kind == *kind) && (!first || a.end < *first))
        first = a.end;
    }
    return first;
  }
  // The longest time in [from, to] without an answered read of `kind`.
  absl::Duration LongestReadGap(int kind, absl::Time from, absl::Time to) const {
    absl::MutexLock lock(&mu_);
    absl::Time last = from;
    absl::Duration longest = absl::ZeroDuration();
    for (absl::Time t : reads_[kind]) {
      if (t <= from || t > to) continue;
      longest = std::max(longest, t - last);
      last = t;
    }
    return std::max(longest, to - last);
  }
  int ReadsBetween(int kind, absl::Time from, absl::Time to) const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count_if(reads_[kind].begin(), reads_[kind].end(),
                                          [&](absl::Time t) { return t > from && t <= to; }));
  }
  std::vector<Failure> write_failures(absl::Time from = absl::InfinitePast(),
                                      absl::Time to = absl::InfiniteFuture()) const {
    absl::MutexLock lock(&mu_);
    std::vector<Failure> out;
    for (const Failure& f : write_failures_) {
      if (f.at > from && f.at <= to) out.push_back(f);
    }
    return out;
  }
  std::vector<Failure> read_failures() const {
    absl::MutexLock lock(&mu_);
    return read_failures_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Ack> acks_ ABSL_GUARDED_BY(mu_);
  std::vector<Failure> write_failures_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> reads_[kReadKinds] ABSL_GUARDED_BY(mu_);
  std::vector<Failure> read_failures_ ABSL_GUARDED_BY(mu_);
};

// What each writer wrote: acknowledged, or with an outcome never learned
// (it gave up retrying). Owned by one thread until the workload stops.
struct Written {
  std::set<std::string> orgs_acked, orgs_unknown;        // organization ids
  std::map<std::string, std::string> updates_acked;      // description -> org id
  std::map<std::string, std::string> updates_unknown;
  std::set<std::string> events_acked, events_unknown;    // event ids
  std::set<int> batches_acked, batches_unknown;          // batch numbers
  int settled_by_reading = 0;  // retries answered by "already there"
};

// One registry replica's watch, from revision 0, reconnecting from the last
// revision it received (on the other replica) whenever the stream ends.
class Watcher {
 public:
  Watcher(const Services& services, int first_replica) : services_(services) {
    thread_ = std::thread([this, first_replica] { Run(first_replica); });
  }
  ~Watcher() { Stop(absl::ZeroDuration(), 0); }

  // Waits (up to `timeout`) until the watcher has seen `revision`, then
  // ends its watch.
  bool Stop(absl::Duration timeout, int64_t revision) {
    const bool reached =
        WaitUntil([&] { return last_.load() >= revision; }, timeout);
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
    return reached;
  }

  int64_t last() const { return last_.load(); }
  // revision -> the change as received (serialized); only after Stop().
  const std::map<int64_t, std::string>& changes() const { return changes_; }
  // Revisions received out of order (a gap or a duplicate), after Stop().
  const std::vector<std::string>& disorder() const { return disorder_; }
  // How each watch ended before Stop() and which replica resumed.
  const std::vector<Failure>& ends() const { return ends_; }
  int resumes() const { return resumes_; }

 private:
  void Run(int replica) {
    absl::Duration backoff = absl::Milliseconds(20);
    while (true) {
      grpc::ClientContext context;
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
        context_ = &context;
      }
      WatchOrganizationsRequest request;
      request.set_start_revision(last_.load());
      auto reader = services_.registry[replica]->WatchOrganizations(&context, request);
      OrganizationChange change;
      while (reader->Read(&change)) {
        const int64_t expected = last_.load() + 1;
        if (change.revision() != expected) {
          disorder_.push_back(absl::StrCat("expected revision ", expected, ", got ",
                                           change.revision(), " from replica ", replica));
        }
        if (!changes_.emplace(change.revision(), change.SerializeAsString()).second) {
          disorder_.push_back(absl::StrCat("revision ", change.revision(), " twice"));
        }
        last_.store(std::max(last_.load(), change.revision()));
        backoff = absl::Milliseconds(20);
      }
      const grpc::Status status = reader->Finish();
      {
        absl::MutexLock lock(&mu_);
        context_ = nullptr;
        if (stop_) return;
      }
      ends_.push_back({absl::Now(), absl::StrCat("WatchOrganizations on replica ", replica),
                       status.error_code(), status.error_message()});
      ++resumes_;
      replica = 1 - replica;
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Milliseconds(500));
    }
  }

  const Services& services_;
  std::thread thread_;
  std::atomic<int64_t> last_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Written by the thread only, read after it ended.
  std::map<int64_t, std::string> changes_;
  std::vector<std::string> disorder_;
  std::vector<Failure> ends_;
  int resumes_ = 0;
};

// The writers and the reader, until Stop().
class Workload {
 public:
  explicit Workload(const Services& services) : services_(services) {
    written_.resize(kOrgWriters + kEventWriters + 1);
    for (int w = 0; w < kOrgWriters; ++w) {
      threads_.emplace_back([this, w] { OrgWriter(w, &written_[w]); });
    }
    for (int w = 0; w < kEventWriters; ++w) {
      threads_.emplace_back([this, w] { EventWriter(w, &written_[kOrgWriters + w]); });
    }
    threads_.emplace_back([this] { BatchWriter(&written_.back()); });
    threads_.emplace_back([this] { Reader(); });
  }
  ~Workload() { Stop(); }

  // Ends the workload; every write in flight settles first.
  void Stop() {
    stop_.store(true);
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  const Record& record() const { return record_; }
  // What every writer wrote; only after Stop().
  Written written() const {
    Written all;
    for (const Written& w : written_) {
      all.orgs_acked.insert(w.orgs_acked.begin(), w.orgs_acked.end());
      all.orgs_unknown.insert(w.orgs_unknown.begin(), w.orgs_unknown.end());
      all.updates_acked.insert(w.updates_acked.begin(), w.updates_acked.end());
      all.updates_unknown.insert(w.updates_unknown.begin(), w.updates_unknown.end());
      all.events_acked.insert(w.events_acked.begin(), w.events_acked.end());
      all.events_unknown.insert(w.events_unknown.begin(), w.events_unknown.end());
      all.batches_acked.insert(w.batches_acked.begin(), w.batches_acked.end());
      all.batches_unknown.insert(w.batches_unknown.begin(), w.batches_unknown.end());
      all.settled_by_reading += w.settled_by_reading;
    }
    return all;
  }

 private:
  // Calls `attempt(i)` for i = 0, 1, ... (the caller alternates replicas by
  // i) until it returns something else than a retryable failure, or
  // kSettleBound passed (then nullopt: the outcome is unknown). Every
  // failure is recorded; DEADLINE_EXCEEDED is retried too (the outcome of
  // such a call is unknown) but counts as a failure of the test.
  std::optional<grpc::Status> Settle(WriteKind kind,
                                     const std::function<grpc::Status(int)>& attempt,
                                     bool* failed_before) {
    const absl::Time give_up = absl::Now() + kSettleBound;
    absl::Duration backoff = absl::Milliseconds(20);
    *failed_before = false;
    for (int i = 0;; ++i) {
      const grpc::Status s = attempt(i);
      if (s.ok() || !(IsRetryable(s.error_code()) ||
                      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
        return s;
      }
      record_.WriteFailed({absl::Now(), kWriteKindNames[kind], s.error_code(), s.error_message()});
      *failed_before = true;
      if (absl::Now() > give_up) return std::nullopt;
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Milliseconds(500));
    }
  }

  void Unexpected(WriteKind kind, const grpc::Status& s) {
    record_.WriteFailed({absl::Now(), kWriteKindNames[kind], s.error_code(), s.error_message()});
  }

  RegistryService::Stub& Registry(int64_t i) const { return *services_.registry[i % 2]; }
  TimelineService::Stub& Timeline(int64_t i) const { return *services_.timeline[i % 2]; }

  // Creates organization w<writer>-<n> with a request id, then updates its
  // description with its etag; repeats.
  void OrgWriter(int writer, Written* out) {
    for (int64_t n = 0; !stop_.load(); ++n) {
      const std::string id = absl::StrFormat("w%d-%d", writer, n);
      CreateOrganizationRequest create;
      create.set_organization_id(id);
      create.set_request_id(RequestId(kCreateOrganization, writer, n));
      Organization* org = create.mutable_organization();
      org->set_display_name(absl::StrCat("Writer ", writer, " organization ", n));
      org->set_kind(Organization::KIND_FIELD_MISSION);
      Organization created;
      bool failed_before = false;
      std::optional<grpc::Status> s = Settle(
          kCreateOrganization,
          [&](int i) {
            return Registry(writer + n + i).CreateOrganization(Ctx().get(), create, &created);
          },
          &failed_before);
      if (!s) {
        out->orgs_unknown.insert(id);
        continue;
      }
      if (!s->ok()) {
        Unexpected(kCreateOrganization, *s);
        out->orgs_unknown.insert(id);
        continue;
      }
      record_.Acked(kCreateOrganization);
      out->orgs_acked.insert(id);

      // The update: with the etag, so that a retry after an ambiguous
      // outcome cannot apply it twice. ABORTED (the etag moved, or a
      // conflict): re-read; the description shows whether it was applied,
      // else retry with the etag read (this writer alone updates it).
      const std::string description = absl::StrFormat("update w%d-%d", writer, n);
      UpdateOrganizationRequest update;
      *update.mutable_organization() = created;
      update.mutable_organization()->set_description(description);
      update.mutable_update_mask()->add_paths("description");
      bool found_applied = false;
      s = Settle(
          kUpdateOrganization,
          [&](int i) {
            Organization updated;
            grpc::Status u =
                Registry(writer + n + i).UpdateOrganization(Ctx().get(), update, &updated);
            if (u.error_code() != grpc::StatusCode::ABORTED) return u;
            GetOrganizationRequest get;
            get.set_name(created.name());
            Organization current;
            grpc::Status g = Registry(writer + n + i + 1).GetOrganization(Ctx().get(), get, &current);
            if (!g.ok()) return g;
            if (current.description() == description) {
              found_applied = true;
              return grpc::Status::OK;
            }
            update.mutable_organization()->set_etag(current.etag());
            return u;
          },
          &failed_before);
      if (s && s->ok()) {
        record_.Acked(kUpdateOrganization);
        out->updates_acked[description] = id;
        if (found_applied) ++out->settled_by_reading;
      } else {
        if (s) Unexpected(kUpdateOrganization, *s);
        out->updates_unknown[description] = id;
      }
    }
  }

  void EventWriter(int writer, Written* out) {
    for (int64_t n = 0; !stop_.load(); ++n) {
      const std::string id = absl::StrFormat("e%d-%d", writer, n);
      CreateEventRequest create;
      create.set_event_id(id);
      create.set_request_id(RequestId(kCreateEvent, writer, n));
      Event* e = create.mutable_event();
      e->set_title(absl::StrCat("Event ", n, " of writer ", writer));
      e->set_kind(Event::DEPLOYMENT);
      e->mutable_start()->set_year(kSingleYear);
      e->add_organizations("organizations/kfor");
      Event created;
      bool failed_before = false;
      std::optional<grpc::Status> s = Settle(
          kCreateEvent,
          [&](int i) { return Timeline(writer + n + i).CreateEvent(Ctx().get(), create, &created); },
          &failed_before);
      if (s && s->ok()) {
        record_.Acked(kCreateEvent);
        out->events_acked.insert(id);
      } else {
        if (s) Unexpected(kCreateEvent, *s);
        out->events_unknown.insert(id);
      }
    }
  }

  void BatchWriter(Written* out) {
    for (int n = 0; !stop_.load(); ++n) {
      const absl::Time next = absl::Now() + kBatchInterval;
      BatchCreateEventsRequest batch;
      for (int i = 0; i < kBatchSize; ++i) {
        CreateEventRequest* create = batch.add_requests();
        create->set_event_id(BatchEventId(n, i));
        Event* e = create->mutable_event();
        e->set_title(absl::StrCat("Batch ", n, " event ", i));
        e->set_kind(Event::DEPLOYMENT);
        e->mutable_start()->set_year(kBatchFirstYear + n);
        e->add_organizations("organizations/kfor");
      }
      bool failed_before = false;
      std::optional<grpc::Status> s = Settle(
          kBatchCreateEvents,
          [&](int i) {
            BatchCreateEventsResponse response;
            return Timeline(n + i).BatchCreateEvents(Ctx().get(), batch, &response);
          },
          &failed_before);
      if (s && s->ok()) {
        record_.Acked(kBatchCreateEvents);
        out->batches_acked.insert(n);
      } else if (s && failed_before && s->error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        // A batch has no request id: a retry after an ambiguous failure
        // finds its events there if the first attempt committed. Then all
        // of them must be (the final listing checks it).
        out->batches_acked.insert(n);
        ++out->settled_by_reading;
      } else {
        if (s) Unexpected(kBatchCreateEvents, *s);
        out->batches_unknown.insert(n);
      }
      const absl::Time now = absl::Now();
      if (!stop_.load() && now < next) absl::SleepFor(next - now);
    }
  }

  // The reads the issue wants answered throughout, round robin over the
  // replicas.
  void Reader() {
    for (int i = 0; !stop_.load(); ++i) {
      const int kind = i % kReadKinds;
      TimelineService::Stub& timeline = Timeline(i / kReadKinds);
      grpc::Status s;
      if (kind == 0) {
        ListEventsRequest request;
        request.set_page_size(50);
        request.mutable_since()->set_year(kProbeYear);
        request.mutable_until()->set_year(kProbeYear);
        ListEventsResponse response;
        s = timeline.ListEvents(Ctx().get(), request, &response);
        if (s.ok() && response.events_size() != 1)
          s = grpc::Status(grpc::StatusCode::INTERNAL, "ListEvents lost the probe event");
      } else if (kind == 1) {
        GetEventRequest request;
        request.set_name("events/probe");
        Event response;
        s = timeline.GetEvent(Ctx().get(), request, &response);
      } else if (kind == 2) {
        GetPresenceRequest request;
        request.mutable_date()->set_year(kProbeYear);
        // The organizations here have no established date: reported apart
        // (presence basis BOUND_UNKNOWN) unless asked for among the others.
        request.set_include_unknown_bounds(true);
        Presence response;
        s = timeline.GetPresence(Ctx().get(), request, &response);
        if (s.ok() && response.organizations_size() == 0)
          s = grpc::Status(grpc::StatusCode::INTERNAL, "GetPresence lost KFOR");
      } else {
        GetOrganizationRequest request;
        request.set_name("organizations/kfor");
        Organization response;
        s = Registry(i / kReadKinds).GetOrganization(Ctx().get(), request, &response);
      }
      record_.Read(kind, s);
      // Reads are cheap; a short pause leaves the cores to the failover.
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  const Services& services_;
  std::atomic<bool> stop_{false};
  Record record_;
  std::vector<Written> written_;  // one per writer thread
  std::vector<std::thread> threads_;
};

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<std::unique_ptr<PatroniCluster>> cluster = PatroniCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    std::cout << "[failover] cluster up in " << absl::FormatDuration(absl::Now() - t0) << "\n"
              << cluster_->Status() << std::flush;
    // The services' libpq reads the password from PGPASSFILE (inherited).
    ASSERT_EQ(::setenv("PGPASSFILE", cluster_->passfile().c_str(), 1), 0);
    const std::vector<std::string> store = {
        "--store=" + cluster_->uri(Target::kReadWrite),
        "--store_read=" + cluster_->uri(Target::kPreferStandby), "--seed=false",
        "--metrics_listen="};
    for (const char* name : {"registry-a", "registry-b"}) {
      services_.registries.push_back(
          std::make_unique<ServiceProcess>(PRESENCE_REGISTRY_BIN, dir_.path(), name, store));
      ASSERT_TRUE(services_.registries.back()->ok()) << services_.registries.back()->log();
      services_.registry.push_back(
          RegistryService::NewStub(services_.registries.back()->channel()));
    }
    // The organization every event names, and the probe event the reader
    // fetches, before the timelines start (their cache fills at once).
    CreateOrganizationRequest kfor;
    kfor.set_organization_id("kfor");
    kfor.mutable_organization()->set_display_name("Kosovo Force");
    kfor.mutable_organization()->set_acronym("KFOR");
    kfor.mutable_organization()->set_kind(Organization::KIND_MILITARY_MISSION);
    Organization created;
    grpc::Status s = services_.registry[0]->CreateOrganization(Ctx().get(), kfor, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (int i = 0; i < 2; ++i) {
      std::vector<std::string> flags = store;
      flags.push_back("--registry=" + services_.registries[i]->address());
      services_.timelines.push_back(std::make_unique<ServiceProcess>(
          PRESENCE_TIMELINE_BIN, dir_.path(), i == 0 ? "timeline-a" : "timeline-b", flags));
      ASSERT_TRUE(services_.timelines.back()->ok()) << services_.timelines.back()->log();
      services_.timeline.push_back(
          TimelineService::NewStub(services_.timelines.back()->channel()));
    }
    CreateEventRequest probe;
    probe.set_event_id("probe");
    probe.mutable_event()->set_title("KFOR deploys");
    probe.mutable_event()->set_kind(Event::DEPLOYMENT);
    probe.mutable_event()->mutable_start()->set_year(kProbeYear);
    probe.mutable_event()->add_organizations("organizations/kfor");
    Event event;
    s = services_.timeline[0]->CreateEvent(Ctx().get(), probe, &event);
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::cout << "[failover] cluster and services up in "
              << absl::FormatDuration(absl::Now() - t0) << "\n";
  }

  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) {
      std::cout << "[failover] cluster at the end:\n" << cluster_->Status();
      for (const auto* group : {&services_.registries, &services_.timelines}) {
        for (const auto& p : *group) {
          // Its warnings and errors (each RPC has an info line).
          std::string lines;
          for (absl::string_view line : absl::StrSplit(p->log(), '\n')) {
            if (!absl::StrContains(line, "\"level\":\"info\"") &&
                !absl::StrContains(line, "\"code\":\"CANCELLED\""))
              absl::StrAppend(&lines, line.substr(0, 400), "\n");
          }
          std::cout << "[failover] a service's warnings and errors:\n"
                    << lines.substr(lines.size() > 6000 ? lines.size() - 6000 : 0);
        }
      }
    }
  }

  // Waits until every kind of write has been acknowledged at least `n`
  // times after `after`.
  bool WaitForEveryKind(const Record& record, absl::Time after, int n,
                        absl::Duration timeout) {
    return WaitUntil(
        [&] {
          for (WriteKind k : {kCreateOrganization, kUpdateOrganization, kCreateEvent,
                              kBatchCreateEvents}) {
            if (record.AcksAfter(after, k) < n) return false;
          }
          return true;
        },
        timeout);
  }

  // Kills the primary (`kill`), waits for a new one and for every kind of
  // write to resume on it; prints and records the figures; returns the
  // seconds from the kill to the first write acknowledged once the new
  // primary served.
  template <typename Kill>
  double FailOver(const Workload& load, const std::string& how, const std::string& key,
                  Kill kill) {
    absl::StatusOr<std::string> old_primary = cluster_->Primary();
    EXPECT_TRUE(old_primary.ok()) << old_primary.status();
    if (!old_primary.ok()) return -1;
    // From before the kill command: the figures are upper bounds.
    const absl::Time killed = absl::Now();
    absl::StatusOr<std::string> victim = kill();
    EXPECT_TRUE(victim.ok()) << victim.status();
    EXPECT_EQ(victim.value_or(""), *old_primary);
    absl::StatusOr<std::string> new_primary =
        cluster_->WaitForPrimary(*old_primary, kFailoverBound);
    EXPECT_TRUE(new_primary.ok()) << new_primary.status() << "\n" << cluster_->Status();
    if (!new_primary.ok()) return -1;
    // (Sessions on a killed postmaster's backends may go on committing for
    // a moment, while its walsenders still get the synchronous standby's
    // confirmations: writes count as resumed once the new primary serves.)
    const absl::Time promoted = absl::Now();
    const Record& record = load.record();
    EXPECT_TRUE(WaitForEveryKind(record, promoted, 1, kFailoverBound))
        << "writes did not resume on " << *new_primary << "\n"
        << cluster_->Status();
    const absl::Time resumed_all = absl::Now();
    const std::optional<absl::Time> first = record.FirstAckAfter(promoted);
    const double resumed =
        first ? absl::ToDoubleSeconds(*first - killed) : absl::ToDoubleSeconds(kFailoverBound);
    std::string per_kind, reads;
    for (WriteKind k :
         {kCreateOrganization, kUpdateOrganization, kCreateEvent, kBatchCreateEvents}) {
      const std::optional<absl::Time> t = record.FirstAckAfter(promoted, k);
      absl::StrAppendFormat(&per_kind, " %s %.1f s", kWriteKindNames[k],
                            t ? absl::ToDoubleSeconds(*t - killed) : -1.0);
    }
    for (int k = 0; k < kReadKinds; ++k) {
      absl::StrAppendFormat(&reads, " %s %d (longest wait %.2f s)", kReadNames[k],
                            record.ReadsBetween(k, killed, resumed_all),
                            absl::ToDoubleSeconds(record.LongestReadGap(k, killed, resumed_all)));
    }
    const std::vector<Failure> failures = record.write_failures(killed, resumed_all);
    std::cout << absl::StrFormat(
        "[failover] %s: %s -> %s, new primary serving %.1f s after the kill; writes "
        "resumed after %.1f s (goal <= %.0f s); first of each kind:%s\n"
        "[failover]   reads answered meanwhile:%s\n"
        "[failover]   write failures meanwhile (%d, retried):%s\n",
        how, *old_primary, *new_primary, absl::ToDoubleSeconds(promoted - killed), resumed,
        absl::ToDoubleSeconds(kResumeGoal), per_kind, reads, failures.size(),
        Summarize(failures));
    RecordProperty(key + "_writes_resumed_seconds", absl::StrFormat("%.1f", resumed));
    EXPECT_LE(resumed, absl::ToDoubleSeconds(kResumeGoal)) << how;
    return resumed;
  }

  // The change feed from revision 0 through replica `replica`, up to
  // `revision` (revision -> serialized change).
  std::map<int64_t, std::string> ReplayFeed(int replica, int64_t revision) {
    std::map<int64_t, std::string> out;
    WatchOrganizationsRequest request;
    auto context = Ctx(absl::Seconds(60));
    auto reader = services_.registry[replica]->WatchOrganizations(context.get(), request);
    OrganizationChange change;
    while (static_cast<int64_t>(out.size()) < revision && reader->Read(&change)) {
      out.emplace(change.revision(), change.SerializeAsString());
    }
    context->TryCancel();
    (void)reader->Finish();
    return out;
  }

  // Every acknowledged registry write once in the feed, an unknown one at
  // most once, nothing the test did not write.
  void CheckRegistry(const Written& written, const std::map<int64_t, std::string>& feed,
                     int64_t revision) {
    ASSERT_EQ(static_cast<int64_t>(feed.size()), revision);
    EXPECT_EQ(feed.begin()->first, 1);
    EXPECT_EQ(feed.rbegin()->first, revision);
    std::map<std::string, int> created, updated;  // org id / description -> changes
    int phantom = 0;
    for (const auto& [rev, bytes] : feed) {
      OrganizationChange change;
      ASSERT_TRUE(change.ParseFromString(bytes));
      const std::string id = change.organization().name().substr(sizeof("organizations/") - 1);
      if (change.type() == OrganizationChange::CREATED) {
        ++created[id];
        if (id != "kfor" && written.orgs_acked.count(id) == 0 &&
            written.orgs_unknown.count(id) == 0 && ++phantom <= 5)
          ADD_FAILURE() << "revision " << rev << " created " << id << ", never written";
      } else if (change.type() == OrganizationChange::UPDATED) {
        const std::string& d = change.organization().description();
        ++updated[d];
        if (written.updates_acked.count(d) == 0 && written.updates_unknown.count(d) == 0 &&
            ++phantom <= 5)
          ADD_FAILURE() << "revision " << rev << " updated " << id << " to " << d
                        << ", never written";
      } else if (++phantom <= 5) {
        ADD_FAILURE() << "revision " << rev << ": unexpected change type " << change.type();
      }
    }
    EXPECT_EQ(phantom, 0);
    int missing = 0, twice = 0, unknown_present = 0;
    for (const std::string& id : written.orgs_acked) {
      const int n = created.count(id) ? created[id] : 0;
      if (n == 0 && ++missing <= 5) ADD_FAILURE() << "acknowledged create " << id << " missing";
      if (n > 1 && ++twice <= 5) ADD_FAILURE() << id << " created " << n << " times";
    }
    for (const auto& [d, id] : written.updates_acked) {
      const int n = updated.count(d) ? updated[d] : 0;
      if (n == 0 && ++missing <= 5) ADD_FAILURE() << "acknowledged update " << d << " missing";
      if (n > 1 && ++twice <= 5) ADD_FAILURE() << d << " applied " << n << " times";
    }
    for (const std::string& id : written.orgs_unknown) {
      const int n = created.count(id) ? created[id] : 0;
      unknown_present += n;
      if (n > 1 && ++twice <= 5) ADD_FAILURE() << id << " created " << n << " times";
    }
    for (const auto& [d, id] : written.updates_unknown) {
      const int n = updated.count(d) ? updated[d] : 0;
      unknown_present += n;
      if (n > 1 && ++twice <= 5) ADD_FAILURE() << d << " applied " << n << " times";
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(twice, 0);
    std::cout << absl::StrFormat(
        "[failover] registry: %d creates and %d updates acknowledged, all in the feed once "
        "(%d revisions); %d with an unknown outcome, %d of them applied\n",
        written.orgs_acked.size(), written.updates_acked.size(), revision,
        written.orgs_unknown.size() + written.updates_unknown.size(), unknown_present);
  }

  // Every acknowledged event listed once, a batch all or nothing.
  void CheckTimeline(const Written& written) {
    const auto list_year = [&](int year, std::map<std::string, int>* ids) -> bool {
      ListEventsRequest request;
      request.set_page_size(1000);
      request.mutable_since()->set_year(year);
      request.mutable_until()->set_year(year);
      do {
        ListEventsResponse response;
        grpc::Status s =
            services_.timeline[0]->ListEvents(Ctx(absl::Seconds(60)).get(), request, &response);
        EXPECT_TRUE(s.ok()) << s.error_message();
        if (!s.ok()) return false;
        for (const Event& e : response.events()) ++(*ids)[e.name().substr(sizeof("events/") - 1)];
        request.set_page_token(response.next_page_token());
      } while (!request.page_token().empty());
      return true;
    };
    std::map<std::string, int> singles;
    ASSERT_TRUE(list_year(kSingleYear, &singles));
    int missing = 0, twice = 0, phantom = 0, unknown_present = 0;
    for (const auto& [id, n] : singles) {
      if (n != 1 && ++twice <= 5) ADD_FAILURE() << "event " << id << " listed " << n << " times";
      if (written.events_acked.count(id) == 0) {
        if (written.events_unknown.count(id) != 0) {
          ++unknown_present;
        } else if (++phantom <= 5) {
          ADD_FAILURE() << "event " << id << " was never written";
        }
      }
    }
    for (const std::string& id : written.events_acked) {
      if (singles.count(id) == 0 && ++missing <= 5)
        ADD_FAILURE() << "acknowledged event " << id << " missing";
    }
    int batches_unknown_present = 0;
    const int batches = written.batches_acked.size() + written.batches_unknown.size();
    for (int n = 0; n < batches; ++n) {
      std::map<std::string, int> ids;
      ASSERT_TRUE(list_year(kBatchFirstYear + n, &ids));
      const bool acked = written.batches_acked.count(n) != 0;
      const bool whole = ids.size() == static_cast<size_t>(kBatchSize) &&
                         ids.begin()->first == BatchEventId(n, 0) &&
                         ids.rbegin()->first == BatchEventId(n, kBatchSize - 1);
      for (const auto& [id, count] : ids) {
        if (count != 1 && ++twice <= 5) ADD_FAILURE() << "event " << id << " listed " << count;
      }
      if (acked) {
        if (!whole && ++missing <= 5)
          ADD_FAILURE() << "acknowledged batch " << n << ": " << ids.size() << " events listed";
      } else {
        EXPECT_TRUE(ids.empty() || whole)
            << "batch " << n << " partly applied: " << ids.size() << " events";
        if (whole) ++batches_unknown_present;
      }
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(twice, 0);
    EXPECT_EQ(phantom, 0);
    std::cout << absl::StrFormat(
        "[failover] timeline: %d events and %d batches of %d acknowledged, all listed once; "
        "%d events and %d batches with an unknown outcome, %d and %d of them applied "
        "(%d updates and batches settled by finding the earlier attempt applied)\n",
        written.events_acked.size(), written.batches_acked.size(), kBatchSize,
        written.events_unknown.size(), written.batches_unknown.size(), unknown_present,
        batches_unknown_present, written.settled_by_reading);
  }

  std::unique_ptr<PatroniCluster> cluster_;
  testing::TempDir dir_;
  Services services_;
};

TEST_F(FailoverTest, KillingStandbyPrimaryAndPrimaryMemberUnderLoad) {
  Watcher watch_a(services_, 0), watch_b(services_, 1);
  Workload load(services_);
  const Record& record = load.record();
  ASSERT_TRUE(WaitForEveryKind(record, absl::InfinitePast(), 3, absl::Seconds(60)))
      << cluster_->Status();

  // 1. The synchronous standby: Patroni names the other standby
  // synchronous; commits wait for that, and none fails.
  {
    const absl::Time killed = absl::Now();
    absl::StatusOr<std::string> victim = cluster_->KillPostgres("sync-standby");
    ASSERT_TRUE(victim.ok()) << victim.status();
    EXPECT_TRUE(WaitForEveryKind(record, killed, 2, kFailoverBound)) << cluster_->Status();
    const absl::Status healed = cluster_->WaitHealthy(kFailoverBound);
    EXPECT_TRUE(healed.ok()) << healed << "\n" << cluster_->Status();
    const std::vector<Failure> failures = record.write_failures(killed, absl::Now());
    std::cout << absl::StrFormat(
        "[failover] kill -9 of the synchronous standby %s: %d writes acknowledged until the "
        "cluster healed (%.1f s), %d failed:%s\n",
        victim.value_or("?"), record.AcksAfter(killed),
        absl::ToDoubleSeconds(absl::Now() - killed), failures.size(), Summarize(failures));
    EXPECT_TRUE(failures.empty()) << "a write failed although the primary never went away";
  }

  // 2. The primary's postgres: the synchronous standby is promoted.
  FailOver(load, "kill -9 of the primary's postgres", "postgres_kill",
           [&] { return cluster_->KillPostgres("primary"); });
  // The old primary rejoins as a standby (pg_rewind), so that the next
  // failover has a synchronous standby to promote.
  {
    const absl::Status healed = cluster_->WaitHealthy(kFailoverBound);
    ASSERT_TRUE(healed.ok()) << healed << "\n" << cluster_->Status();
  }

  // 3. The primary member, Patroni too: the leader key expires (ttl) first.
  FailOver(load, "kill -9 of the primary member (Patroni and postgres)", "member_kill",
           [&] { return cluster_->KillMember("primary"); });
  ASSERT_TRUE(WaitForEveryKind(record, absl::Now(), 2, kFailoverBound));

  load.Stop();
  const Written written = load.written();
  // The revision every watcher must reach: the registry's current one.
  ListOrganizationsRequest list;
  list.set_page_size(1);
  ListOrganizationsResponse listed;
  grpc::Status s = services_.registry[0]->ListOrganizations(Ctx().get(), list, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const int64_t revision = listed.revision();
  EXPECT_TRUE(watch_a.Stop(absl::Seconds(60), revision)) << watch_a.last() << " < " << revision;
  EXPECT_TRUE(watch_b.Stop(absl::Seconds(60), revision)) << watch_b.last() << " < " << revision;

  // Errors: retryable only.
  const std::vector<Failure> write_failures = record.write_failures();
  const std::vector<Failure> read_failures = record.read_failures();
  std::cout << "[failover] all write failures (" << write_failures.size()
            << ", each retried until it settled):" << Summarize(write_failures)
            << "\n[failover] read failures (" << read_failures.size()
            << "):" << Summarize(read_failures) << "\n";
  for (const Failure& f : write_failures) {
    EXPECT_TRUE(IsRetryable(f.code)) << f.rpc << ": code " << f.code << ": " << f.message;
  }
  EXPECT_TRUE(read_failures.empty()) << Summarize(read_failures);
  RecordProperty("read_failures", static_cast<int>(read_failures.size()));

  // The data: every acknowledged write once.
  const std::map<int64_t, std::string> feed = ReplayFeed(1, revision);
  CheckRegistry(written, feed, revision);
  CheckTimeline(written);

  // The watchers: consecutive revisions, no duplicate, each change as the
  // feed holds it, across the failovers.
  for (const Watcher* w : {&watch_a, &watch_b}) {
    for (const std::string& d : w->disorder()) ADD_FAILURE() << "watcher: " << d;
    int differ = 0;
    for (const auto& [rev, bytes] : w->changes()) {
      auto it = feed.find(rev);
      if ((it == feed.end() || it->second != bytes) && ++differ <= 5)
        ADD_FAILURE() << "watcher got revision " << rev << " unlike the feed's";
    }
    EXPECT_EQ(differ, 0);
    std::cout << "[failover] watcher: " << w->changes().size() << " changes in order, "
              << w->resumes() << " resumes:" << Summarize(w->ends()) << "\n";
  }
}

}  // namespace
}  // namespace presence
