// presence-crashloop: random crash loops with verification against the real
// binaries (issue 12). Each cycle runs concurrent writers against a running
// registry and timeline — organizations and events, single and batch,
// creates, updates, deletes, undeletes, with and without request ids, plus
// writes that must fail — kill -9s the registry, the timeline or both at a
// random moment, restarts them on the same data and verifies:
//   - every acknowledged write is present with its acknowledged content
//     (exactly, revision and etag included, unless a later write of the same
//     entity was in flight at the crash, in which case the entity is one of
//     its possible states);
//   - every definitely-failed write (rejected, validate_only) left nothing;
//   - the registry's change feed, replayed from 0, is consecutive from
//     revision 1 and holds exactly the acknowledged changes (identical
//     content), plus only changes of writes whose outcome was unknown;
//   - a retried request_id returns the first result;
//   - the timeline's view of the registry catches up: it accepts events
//     naming an organization created after the restart, and its presence
//     reports reach the registry's current revision.
// Any violation is printed with its evidence and makes the exit status 1.
//
//   presence-crashloop --bin_dir=build/dev --cycles=200 --writers=8

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/partial_date.h"
#include "services/common/program_flags.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(std::string, bin_dir, "build/dev", "Build directory with the service binaries.");
ABSL_FLAG(int, cycles, 3, "Crash cycles to run.");
ABSL_FLAG(int, writers, 4, "Concurrent writers per service.");
ABSL_FLAG(int, max_crash_ms, 400, "The crash comes 20..max_crash_ms ms after the writers start.");
ABSL_FLAG(uint64_t, seed, 0, "Random seed (0: from the clock); printed for reproduction.");
ABSL_FLAG(std::string, dir, "", "Working directory (default: a temporary one, removed after a clean run).");
ABSL_FLAG(bool, keep_going, false,
          "Go on after a violation (each distinct violation is printed once), to run "
          "every cycle; the exit status is still 1.");

namespace presence {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::google::protobuf::util::MessageDifferencer;
using testing::Subprocess;

std::mutex g_report_mu;
std::atomic<int> g_violations{0};
std::set<std::string>* g_reported = new std::set<std::string>();

void Violation(const std::string& what) {
  std::lock_guard<std::mutex> lock(g_report_mu);
  ++g_violations;
  if (g_reported->insert(what).second) std::fprintf(stderr, "VIOLATION: %s\n", what.c_str());
}

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(5)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

enum class Outcome { kAcked, kFailed, kUnknown };

// What a status says about whether the write happened.
Outcome Classify(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return Outcome::kAcked;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return Outcome::kFailed;
    default:  // UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, ...
      return Outcome::kUnknown;
  }
}

std::string NewUuid(std::mt19937_64& rng) {
  const uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-8%03x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>(a >> 16) & 0xffff,
                static_cast<unsigned>(a) & 0xfff, static_cast<unsigned>(b >> 48) & 0xfff,
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// A service binary restarted on the same data directory and port.
class Service {
 public:
  Service(std::string binary, std::string dir, std::string name, std::vector<std::string> flags)
      : binary_(std::move(binary)), dir_(std::move(dir)), name_(std::move(name)),
        flags_(std::move(flags)) {}

  bool Start() {
    const std::string port_file = absl::StrCat(dir_, "/", name_, ".port");
    std::remove(port_file.c_str());
    std::vector<std::string> argv = {binary_, absl::StrCat("--listen=127.0.0.1:", port_),
                                     absl::StrCat("--data_dir=", dir_, "/", name_, "-db"),
                                     "--port_file=" + port_file, "--seed=false",
                                     "--metrics_listen="};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    const std::string log = absl::StrCat(dir_, "/", name_, ".log");
    process_ = Subprocess::Start(argv, log);
    if (!process_) {
      failure_ = "cannot run " + binary_;
      return false;
    }
    // Until it serves (its port file) or exits: a service that cannot start
    // says so at once, with its exit status, rather than after the timeout.
    int port = 0;
    std::optional<int> exited;
    const bool up = testing::WaitUntil(
        [&] {
          if (absl::SimpleAtoi(absl::StripAsciiWhitespace(testing::ReadFile(port_file)), &port) &&
              port > 0) {
            return true;
          }
          exited = process_->Wait(absl::ZeroDuration());
          return exited.has_value();
        },
        absl::Seconds(60));
    if (!up || exited) {
      failure_ = exited ? absl::StrCat("exited with wait status ", *exited, " before serving")
                        : "not serving after 60 s";
      absl::StrAppend(&failure_, " (log: ", log, ")");
      process_.reset();
      return false;
    }
    port_ = port;
    return true;
  }
  // Why the last Start failed.
  const std::string& failure() const { return failure_; }
  void Kill() {
    if (process_) {
      process_->Signal(SIGKILL);
      process_->Wait(absl::Seconds(30));
      process_.reset();
    }
  }
  void Stop() {
    if (process_) {
      process_->Signal(SIGTERM);
      if (!process_->Wait(absl::Seconds(30))) Kill();
      process_.reset();
    }
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  const std::string binary_, dir_, name_;
  const std::vector<std::string> flags_;
  std::optional<Subprocess> process_;
  int port_ = 0;
  std::string failure_;
};

// The states an entity may be in: exactly `exact` if known, else any of the
// candidate contents (absent included), as left by writes of unknown outcome.
template <typename Message>
struct Entity {
  std::optional<Message> exact;      // Known state (nullopt with known_absent).
  bool known_absent = true;
  bool uncertain = false;            // A write of unknown outcome is pending.
  std::vector<std::optional<std::string>> candidates;  // Content keys.
  // The create request with a request id, to retry at verification.
  std::optional<std::string> create_request;
  std::optional<Message> create_result;  // Its first result, when acked.
};

// What identifies an organization's content across versions.
std::string OrgKey(const rv1::Organization& o) {
  return absl::StrCat(o.display_name(), "|", o.description(), "|", o.state());
}
std::string EventKey(const tv1::Event& e) { return e.title(); }

struct Totals {
  int64_t acked = 0, failed = 0, unknown = 0, verified = 0, retries = 0, feed = 0;
};

class Crashloop {
 public:
  Crashloop(const std::string& bin_dir, const std::string& dir, uint64_t seed)
      : dir_(dir), rng_(seed),
        registry_(bin_dir + "/services/registry/presence-registry", dir, "registry",
                  {"--change_retention=1000000"}),
        timeline_bin_(bin_dir + "/services/timeline/presence-timeline") {}

  bool Start() {
    if (!registry_.Start()) return Fail("the registry did not start: " + registry_.failure());
    timeline_ = std::make_unique<Service>(
        timeline_bin_, dir_, "timeline",
        std::vector<std::string>{"--registry=" + registry_.address(), "--registry_timeout=2s"});
    if (!timeline_->Start()) return Fail("the timeline did not start: " + timeline_->failure());
    Connect();
    // An organization every event names; never deleted.
    rv1::CreateOrganizationRequest create;
    create.set_organization_id("anchor");
    create.mutable_organization()->set_display_name("Anchor");
    create.mutable_organization()->set_kind(rv1::Organization::KIND_MILITARY_MISSION);
    rv1::Organization org;
    const grpc::Status s = registry_stub_->CreateOrganization(Ctx().get(), create, &org);
    if (!s.ok()) return Fail("cannot create the anchor: " + s.error_message());
    RecordAckedOrg(org);
    orgs_["anchor"].exact = org;
    orgs_["anchor"].known_absent = false;
    return WaitTimelineFollows();
  }

  void Stop() {
    if (timeline_) timeline_->Stop();
    registry_.Stop();
  }

  void Cycle(int cycle, int writers, int max_crash_ms) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    std::vector<std::vector<std::string>> org_ids(writers), event_ids(writers);
    for (int w = 0; w < writers; ++w) {
      const uint64_t seed = rng_();
      threads.emplace_back([this, w, seed, cycle, &stop] { RegistryWriter(cycle, w, seed, stop); });
      threads.emplace_back([this, w, seed, cycle, &stop] { TimelineWriter(cycle, w, seed ^ 0x5555, stop); });
    }
    std::uniform_int_distribution<int> when(20, std::max(21, max_crash_ms));
    absl::SleepFor(absl::Milliseconds(when(rng_)));
    const int victim = std::uniform_int_distribution<int>(0, 3)(rng_);  // 0,1 registry; 2 timeline; 3 both
    if (victim != 2) registry_.Kill();
    if (victim >= 2) timeline_->Kill();
    absl::SleepFor(absl::Milliseconds(100));  // Writers meet the dead process.
    stop = true;
    for (auto& t : threads) t.join();
    if (victim != 2 && !registry_.Start()) {
      Violation("the registry did not restart: " + registry_.failure());
    }
    if (victim >= 2 && !timeline_->Start()) {
      Violation("the timeline did not restart: " + timeline_->failure());
    }
    Connect();
    Verify(cycle);
    std::printf("cycle %d: killed %s; acked %lld, failed %lld, unknown %lld, verified %lld, "
                "retried request ids %lld, feed %lld changes\n",
                cycle, victim < 2 ? "registry" : victim == 2 ? "timeline" : "both",
                static_cast<long long>(totals_.acked), static_cast<long long>(totals_.failed),
                static_cast<long long>(totals_.unknown), static_cast<long long>(totals_.verified),
                static_cast<long long>(totals_.retries), static_cast<long long>(totals_.feed));
    std::fflush(stdout);
  }

  const Totals& totals() const { return totals_; }

 private:
  bool Fail(const std::string& what) {
    Violation(what);
    return false;
  }

  void Connect() {
    registry_stub_ = rv1::RegistryService::NewStub(
        grpc::CreateChannel(registry_.address(), grpc::InsecureChannelCredentials()));
    timeline_stub_ = tv1::TimelineService::NewStub(
        grpc::CreateChannel(timeline_->address(), grpc::InsecureChannelCredentials()));
  }

  void RecordAckedOrg(const rv1::Organization& org) {
    std::lock_guard<std::mutex> lock(mu_);
    acked_revisions_[org.revision()] = org;
  }

  // --- Writers: each owns its entities, so the model of an entity is
  // updated by one thread at a time (mu_ guards the maps themselves).

  void RegistryWriter(int cycle, int w, uint64_t seed, const std::atomic<bool>& stop) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> mine;
    int n = 0;
    while (!stop) {
      const int op = std::uniform_int_distribution<int>(0, 99)(rng);
      const std::string fresh = absl::StrCat("r", w, "c", cycle, "n", n++);
      if (op < 30) {
        rv1::CreateOrganizationRequest r;
        r.set_organization_id(fresh);
        r.mutable_organization()->set_display_name("Org " + fresh);
        r.mutable_organization()->set_kind(rv1::Organization::KIND_CIVILIAN_MISSION);
        if (rng() % 2) r.set_request_id(NewUuid(rng));
        CreateOrg(r);
        mine.push_back(fresh);
      } else if (op < 40) {
        rv1::BatchCreateOrganizationsRequest r;
        for (int i = 0; i < 3; ++i) {
          rv1::CreateOrganizationRequest* c = r.add_requests();
          c->set_organization_id(absl::StrCat(fresh, "b", i));
          c->mutable_organization()->set_display_name("Batch " + c->organization_id());
          c->mutable_organization()->set_kind(rv1::Organization::KIND_FIELD_MISSION);
          mine.push_back(c->organization_id());
        }
        BatchCreateOrgs(r);
      } else if (op < 50) {
        // Must fail, and leave nothing: an invalid or validate_only create.
        rv1::CreateOrganizationRequest r;
        r.set_organization_id(fresh);
        r.mutable_organization()->set_display_name("Never " + fresh);
        if (rng() % 2) {
          r.mutable_organization()->set_kind(rv1::Organization::KIND_OTHER);
          r.set_validate_only(true);
        }
        rv1::Organization out;
        const grpc::Status s = registry_stub_->CreateOrganization(Ctx().get(), r, &out);
        Count(Classify(s) == Outcome::kAcked ? Outcome::kFailed : Classify(s));
        if (s.ok() && !r.validate_only()) Violation("an invalid create was accepted: " + fresh);
        std::lock_guard<std::mutex> lock(mu_);
        orgs_[fresh];  // Known absent: must stay so.
      } else if (!mine.empty()) {
        const std::string id = mine[rng() % mine.size()];
        Mutate(id, op, rng);
      }
    }
  }

  // Counts an outcome; after an unknown one (the service is likely down)
  // the writer backs off a little, as a client would.
  void Count(Outcome o) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      (o == Outcome::kAcked ? totals_.acked : o == Outcome::kFailed ? totals_.failed
                                                                    : totals_.unknown)++;
    }
    if (o == Outcome::kUnknown) absl::SleepFor(absl::Milliseconds(20));
  }

  void CreateOrg(const rv1::CreateOrganizationRequest& r) {
    rv1::Organization out;
    const grpc::Status s = registry_stub_->CreateOrganization(Ctx().get(), r, &out);
    const Outcome o = Classify(s);
    Count(o);
    std::lock_guard<std::mutex> lock(mu_);
    Entity<rv1::Organization>& e = orgs_[r.organization_id()];
    if (!r.request_id().empty()) e.create_request = r.SerializeAsString();
    if (o == Outcome::kAcked) {
      e.exact = out;
      e.known_absent = false;
      e.create_result = out;
      acked_revisions_[out.revision()] = out;
    } else if (o == Outcome::kUnknown) {
      rv1::Organization expected = r.organization();
      expected.set_state(rv1::Organization::ACTIVE);
      e.uncertain = true;
      e.candidates = {std::nullopt, OrgKey(expected)};
    } else {
      Violation(absl::StrCat("create of fresh ", r.organization_id(), " failed: ", s.error_message()));
    }
  }

  void BatchCreateOrgs(const rv1::BatchCreateOrganizationsRequest& r) {
    rv1::BatchCreateOrganizationsResponse out;
    const grpc::Status s = registry_stub_->BatchCreateOrganizations(Ctx().get(), r, &out);
    const Outcome o = Classify(s);
    Count(o);
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < r.requests_size(); ++i) {
      Entity<rv1::Organization>& e = orgs_[r.requests(i).organization_id()];
      if (o == Outcome::kAcked) {
        e.exact = out.organizations(i);
        e.known_absent = false;
        acked_revisions_[out.organizations(i).revision()] = out.organizations(i);
      } else if (o == Outcome::kUnknown) {
        rv1::Organization expected = r.requests(i).organization();
        expected.set_state(rv1::Organization::ACTIVE);
        e.uncertain = true;
        e.candidates = {std::nullopt, OrgKey(expected)};
        batch_unknown_.insert(r.requests(i).organization_id());
      } else {
        Violation("batch create of fresh organizations failed: " + s.error_message());
      }
    }
  }

  void Mutate(const std::string& id, int op, std::mt19937_64& rng) {
    std::optional<rv1::Organization> current;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Entity<rv1::Organization>& e = orgs_[id];
      if (e.uncertain || !e.exact) return;  // Untouched until verified.
      current = e.exact;
    }
    rv1::Organization out;
    grpc::Status s;
    rv1::Organization expected = *current;
    const bool live = current->state() == rv1::Organization::ACTIVE;
    if (live && op < 80) {
      rv1::UpdateOrganizationRequest r;
      r.mutable_organization()->set_name(current->name());
      r.mutable_organization()->set_description(absl::StrCat("v", rng() % 1000000));
      r.mutable_organization()->set_etag(current->etag());
      expected.set_description(r.organization().description());
      s = registry_stub_->UpdateOrganization(Ctx().get(), r, &out);
    } else if (live) {
      rv1::DeleteOrganizationRequest r;
      r.set_name(current->name());
      r.set_etag(current->etag());
      expected.set_state(rv1::Organization::DELETED);
      s = registry_stub_->DeleteOrganization(Ctx().get(), r, &out);
    } else {
      rv1::UndeleteOrganizationRequest r;
      r.set_name(current->name());
      expected.set_state(rv1::Organization::ACTIVE);
      s = registry_stub_->UndeleteOrganization(Ctx().get(), r, &out);
    }
    const Outcome o = Classify(s);
    Count(o);
    std::lock_guard<std::mutex> lock(mu_);
    Entity<rv1::Organization>& e = orgs_[id];
    if (o == Outcome::kAcked) {
      if (OrgKey(out) != OrgKey(expected)) Violation("acked mutation returned other content: " + id);
      e.exact = out;
      acked_revisions_[out.revision()] = out;
    } else if (o == Outcome::kUnknown) {
      e.uncertain = true;
      e.candidates = {OrgKey(*current), OrgKey(expected)};
    } else {
      Violation(absl::StrCat("mutation of ", id, " failed: ", s.error_message()));
    }
  }

  void TimelineWriter(int cycle, int w, uint64_t seed, const std::atomic<bool>& stop) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> mine;
    int n = 0;
    while (!stop) {
      const int op = std::uniform_int_distribution<int>(0, 99)(rng);
      const std::string fresh = absl::StrCat("t", w, "c", cycle, "n", n++);
      tv1::Event event;
      event.set_title("Event " + fresh);
      event.set_kind(tv1::Event::DEPLOYMENT);
      *event.mutable_start() = *ParsePartialDate(absl::StrCat(1990 + rng() % 20));
      event.add_organizations("organizations/anchor");
      if (op < 35) {
        tv1::CreateEventRequest r;
        r.set_event_id(fresh);
        *r.mutable_event() = event;
        if (rng() % 2) r.set_request_id(NewUuid(rng));
        tv1::Event out;
        const grpc::Status s = timeline_stub_->CreateEvent(Ctx().get(), r, &out);
        RecordEvent(fresh, r.request_id().empty() ? "" : r.SerializeAsString(), s, out,
                    std::nullopt, EventKey(event));
        mine.push_back(fresh);
      } else if (op < 45) {
        tv1::BatchCreateEventsRequest r;
        for (int i = 0; i < 3; ++i) {
          tv1::CreateEventRequest* c = r.add_requests();
          c->set_event_id(absl::StrCat(fresh, "b", i));
          *c->mutable_event() = event;
          c->mutable_event()->set_title("Batch " + c->event_id());
        }
        tv1::BatchCreateEventsResponse out;
        const grpc::Status s = timeline_stub_->BatchCreateEvents(Ctx().get(), r, &out);
        for (int i = 0; i < r.requests_size(); ++i) {
          RecordEvent(r.requests(i).event_id(), "", s,
                      s.ok() ? out.events(i) : tv1::Event(), std::nullopt,
                      EventKey(r.requests(i).event()), /*count=*/i == 0);
          mine.push_back(r.requests(i).event_id());
        }
      } else if (op < 50) {
        tv1::CreateEventRequest r;
        r.set_event_id(fresh);
        *r.mutable_event() = event;
        r.mutable_event()->clear_start();  // Invalid: must fail, leave nothing.
        tv1::Event out;
        const grpc::Status s = timeline_stub_->CreateEvent(Ctx().get(), r, &out);
        Count(s.ok() ? Outcome::kAcked : Classify(s));
        if (s.ok()) Violation("an invalid event was accepted: " + fresh);
        std::lock_guard<std::mutex> lock(mu_);
        events_[fresh];
      } else if (!mine.empty()) {
        const std::string id = mine[rng() % mine.size()];
        std::optional<tv1::Event> current;
        {
          std::lock_guard<std::mutex> lock(mu_);
          Entity<tv1::Event>& e = events_[id];
          if (e.uncertain || !e.exact) continue;
          current = e.exact;
        }
        tv1::Event out;
        grpc::Status s;
        std::optional<std::string> expected;
        if (op < 85) {
          tv1::UpdateEventRequest r;
          r.mutable_event()->set_name(current->name());
          r.mutable_event()->set_title(absl::StrCat("Title ", rng() % 1000000));
          r.mutable_event()->set_etag(current->etag());
          expected = r.event().title();
          s = timeline_stub_->UpdateEvent(Ctx().get(), r, &out);
        } else {
          tv1::DeleteEventRequest r;
          r.set_name(current->name());
          r.set_etag(current->etag());
          google::protobuf::Empty empty;
          s = timeline_stub_->DeleteEvent(Ctx().get(), r, &empty);
        }
        RecordEvent(id, "", s, out, EventKey(*current), expected);
      }
    }
  }

  // `before`: the content key before the write (nullopt: it did not exist);
  // `after`: the content key it writes (nullopt: a delete).
  void RecordEvent(const std::string& id, const std::string& create_request,
                   const grpc::Status& s, const tv1::Event& out,
                   std::optional<std::string> before, std::optional<std::string> after,
                   bool count = true) {
    const Outcome o = Classify(s);
    if (count) Count(o);
    std::lock_guard<std::mutex> lock(mu_);
    Entity<tv1::Event>& e = events_[id];
    if (!create_request.empty()) e.create_request = create_request;
    if (o == Outcome::kAcked) {
      if (after) {
        e.exact = out;
        e.known_absent = false;
        if (!before) e.create_result = out;
      } else {
        e.exact.reset();
        e.known_absent = true;
      }
    } else if (o == Outcome::kUnknown) {
      e.uncertain = true;
      e.candidates = {before, after};
    } else if (s.error_code() != grpc::StatusCode::ABORTED) {
      // The timeline refuses writes while the registry is down
      // (UNAVAILABLE, classified unknown); nothing else may fail here.
      Violation(absl::StrCat("event write ", id, " failed: ", s.error_message()));
    }
  }

  // --- Verification (single-threaded, after the restart).

  template <typename Message, typename Read, typename KeyFn>
  void VerifyEntities(std::map<std::string, Entity<Message>>& entities, Read read, KeyFn key,
                      const char* kind) {
    for (auto& [id, e] : entities) {
      std::optional<Message> now;
      grpc::Status s;
      for (int attempt = 0; attempt < 50; ++attempt) {
        Message got;
        s = read(id, &got);
        if (s.ok()) now = got;
        if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) break;
        absl::SleepFor(absl::Milliseconds(100));
      }
      if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
        Violation(absl::StrCat("cannot read ", kind, " ", id, ": ", s.error_message()));
        continue;
      }
      if (e.uncertain) {
        const std::optional<std::string> observed =
            now ? std::optional<std::string>(key(*now)) : std::nullopt;
        bool allowed = false;
        for (const auto& c : e.candidates) allowed |= c == observed;
        if (!allowed) {
          Violation(absl::StrCat(kind, " ", id, " is in a state no write produced: ",
                                 observed.value_or("<absent>")));
        }
        e.uncertain = false;
        if (now && !e.exact) e.create_result = now;  // An unknown create took effect.
        e.exact = now;
        e.known_absent = !now;
      } else if (e.known_absent) {
        if (now) Violation(absl::StrCat(kind, " ", id, " exists but no write of it was acknowledged"));
      } else if (!now) {
        Violation(absl::StrCat("acknowledged ", kind, " ", id, " is gone"));
      } else if (!MessageDifferencer::Equals(*now, *e.exact)) {
        Violation(absl::StrCat("acknowledged ", kind, " ", id, " differs: stored ",
                               now->ShortDebugString(), " acknowledged ",
                               e.exact->ShortDebugString()));
      } else {
        ++totals_.verified;
      }
    }
  }

  void VerifyRetries() {
    for (auto& [id, e] : orgs_) {
      if (!e.create_request) continue;
      rv1::CreateOrganizationRequest r;
      r.ParseFromString(*e.create_request);
      rv1::Organization out;
      const grpc::Status s = registry_stub_->CreateOrganization(Ctx().get(), r, &out);
      ++totals_.retries;
      if (!s.ok()) {
        Violation(absl::StrCat("retry of request_id ", r.request_id(), " failed: ", s.error_message()));
      } else if (e.create_result && !MessageDifferencer::Equals(out, *e.create_result)) {
        Violation(absl::StrCat("retry of request_id ", r.request_id(),
                               " did not return the first result"));
      } else if (!e.create_result) {
        // The first attempt never happened: this retry created it.
        e.create_result = out;
        e.exact = out;
        e.known_absent = false;
        acked_revisions_[out.revision()] = out;
      }
      e.create_request.reset();  // Retried once; later cycles need not.
    }
    for (auto& [id, e] : events_) {
      if (!e.create_request) continue;
      tv1::CreateEventRequest r;
      r.ParseFromString(*e.create_request);
      tv1::Event out;
      grpc::Status s;
      for (int attempt = 0; attempt < 50; ++attempt) {
        s = timeline_stub_->CreateEvent(Ctx().get(), r, &out);
        if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
        absl::SleepFor(absl::Milliseconds(100));
      }
      ++totals_.retries;
      if (!s.ok()) {
        Violation(absl::StrCat("retry of event request_id ", r.request_id(), " failed: ",
                               s.error_message()));
      } else if (e.create_result && !MessageDifferencer::Equals(out, *e.create_result)) {
        Violation(absl::StrCat("retry of event request_id ", r.request_id(),
                               " did not return the first result"));
      } else if (!e.create_result) {
        e.create_result = out;
        if (!e.exact && e.known_absent) {
          e.exact = out;
          e.known_absent = false;
        }
      }
      e.create_request.reset();
    }
  }

  // The change feed from 0: consecutive, and exactly the acknowledged
  // changes plus changes of writes whose outcome was unknown.
  void VerifyFeed() {
    rv1::ListOrganizationsRequest list;
    list.set_page_size(1);
    rv1::ListOrganizationsResponse listed;
    grpc::Status s = registry_stub_->ListOrganizations(Ctx().get(), list, &listed);
    if (!s.ok()) {
      Violation("cannot list organizations: " + s.error_message());
      return;
    }
    const int64_t current = listed.revision();
    rv1::WatchOrganizationsRequest watch;
    watch.set_start_revision(0);
    auto context = Ctx(absl::Seconds(60));
    std::unique_ptr<grpc::ClientReader<rv1::OrganizationChange>> reader =
        registry_stub_->WatchOrganizations(context.get(), watch);
    int64_t expected = 1;
    rv1::OrganizationChange change;
    std::set<std::string> changed_unacked;
    while (expected <= current && reader->Read(&change)) {
      if (change.revision() != expected) {
        Violation(absl::StrCat("change feed: revision ", change.revision(), " where ", expected,
                               " was due"));
        break;
      }
      auto acked = acked_revisions_.find(change.revision());
      if (acked != acked_revisions_.end()) {
        if (!MessageDifferencer::Equals(acked->second, change.organization())) {
          Violation(absl::StrCat("change feed: revision ", expected,
                                 " differs from the acknowledged write"));
        }
      } else {
        changed_unacked.insert(change.organization().name());
      }
      ++expected;
    }
    if (expected <= current) {
      const grpc::Status end = reader->Finish();
      // (The registry's current revision is not in the message, so that a
      // lasting gap is reported once with --keep_going.)
      Violation(absl::StrCat("change feed: replay from 0 stops before revision ", expected,
                             ": ", end.error_code(), " ", end.error_message()));
    } else {
      context->TryCancel();
      reader->Finish();
    }
    totals_.feed = expected - 1;
    for (const auto& [revision, org] : acked_revisions_) {
      if (revision > current) {
        Violation(absl::StrCat("acknowledged revision ", revision, " is beyond the feed's ", current));
      }
    }
    // Every unacknowledged change belongs to a write of unknown outcome:
    // such an entity is exact now only because verification resolved it.
    for (const std::string& name : changed_unacked) {
      const std::string id = name.substr(std::string("organizations/").size());
      if (!unknown_ever_.count(id)) {
        Violation("change feed: a change of " + name + " no call acknowledged or left unknown");
      }
    }
  }

  bool WaitTimelineFollows() {
    // A fresh organization: the timeline must accept an event naming it.
    const std::string id = absl::StrCat("probe", probes_++);
    rv1::CreateOrganizationRequest create;
    create.set_organization_id(id);
    create.mutable_organization()->set_display_name("Probe");
    create.mutable_organization()->set_kind(rv1::Organization::KIND_MILITARY_MISSION);
    rv1::Organization org;
    grpc::Status s;
    for (int attempt = 0; attempt < 100; ++attempt) {
      s = registry_stub_->CreateOrganization(Ctx().get(), create, &org);
      if (s.ok() || s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (!s.ok()) return Fail("probe organization: " + s.error_message());
    acked_revisions_[org.revision()] = org;
    orgs_[id].exact = org;
    orgs_[id].known_absent = false;
    tv1::CreateEventRequest event;
    event.set_event_id(id);
    event.mutable_event()->set_title("Probe");
    event.mutable_event()->set_kind(tv1::Event::OTHER);
    *event.mutable_event()->mutable_start() = *ParsePartialDate("2000");
    event.mutable_event()->add_organizations(org.name());
    event.set_validate_only(true);
    tv1::Event out;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (true) {
      s = timeline_stub_->CreateEvent(Ctx().get(), event, &out);
      if (s.ok()) break;
      if (absl::Now() > deadline) {
        return Fail("the timeline does not accept an event naming a new organization: " +
                    s.error_message());
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    // Its presence reports reach the registry's revision.
    tv1::GetPresenceRequest presence;
    *presence.mutable_date() = *ParsePartialDate("2000");
    while (true) {
      tv1::Presence report;
      s = timeline_stub_->GetPresence(Ctx().get(), presence, &report);
      if (s.ok() && report.registry_revision() >= org.revision()) return true;
      if (absl::Now() > deadline) {
        return Fail(absl::StrCat("the timeline's registry view is stuck at revision ",
                                 report.registry_revision(), " < ", org.revision(), ": ",
                                 s.error_message()));
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  void Verify(int /*cycle*/) {
    for (const auto& [id, e] : orgs_) {
      if (e.uncertain) unknown_ever_.insert(id);
    }
    VerifyEntities(
        orgs_,
        [this](const std::string& id, rv1::Organization* out) {
          rv1::GetOrganizationRequest r;
          r.set_name("organizations/" + id);
          return registry_stub_->GetOrganization(Ctx().get(), r, out);
        },
        OrgKey, "organization");
    // Resolved creates and mutations of unknown outcome enter the model of
    // acknowledged revisions as what the registry holds now.
    for (auto& [id, e] : orgs_) {
      if (e.exact && unknown_ever_.count(id)) acked_revisions_.emplace(e.exact->revision(), *e.exact);
    }
    VerifyEntities(
        events_,
        [this](const std::string& id, tv1::Event* out) {
          tv1::GetEventRequest r;
          r.set_name("events/" + id);
          return timeline_stub_->GetEvent(Ctx().get(), r, out);
        },
        EventKey, "event");
    VerifyRetries();
    VerifyFeed();
    WaitTimelineFollows();
  }

  const std::string dir_;
  std::mt19937_64 rng_;
  Service registry_;
  const std::string timeline_bin_;
  std::unique_ptr<Service> timeline_;
  std::unique_ptr<rv1::RegistryService::Stub> registry_stub_;
  std::unique_ptr<tv1::TimelineService::Stub> timeline_stub_;

  std::mutex mu_;
  std::map<std::string, Entity<rv1::Organization>> orgs_;
  std::map<std::string, Entity<tv1::Event>> events_;
  std::map<int64_t, rv1::Organization> acked_revisions_;  // revision -> acknowledged version
  std::set<std::string> batch_unknown_;
  std::set<std::string> unknown_ever_;  // ids that had a write of unknown outcome
  Totals totals_;
  int probes_ = 0;
};

}  // namespace
}  // namespace presence

int main(int argc, char** argv) {
  presence::ParseProgramFlags(
      argc, argv, "presence-crashloop",
      "kills the services with SIGKILL under concurrent writes, restarts them "
      "and checks that every acknowledged write and the change feed survive",
      "tests/crash/");
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  std::optional<presence::testing::TempDir> temp;
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) {
    temp.emplace();
    dir = temp->path();
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  }
  std::printf("presence-crashloop: seed %llu, %d cycles, %d writers per service, dir %s\n",
              static_cast<unsigned long long>(seed), absl::GetFlag(FLAGS_cycles),
              absl::GetFlag(FLAGS_writers), dir.c_str());
  presence::Crashloop loop(absl::GetFlag(FLAGS_bin_dir), dir, seed);
  if (loop.Start()) {
    for (int cycle = 1; cycle <= absl::GetFlag(FLAGS_cycles); ++cycle) {
      loop.Cycle(cycle, absl::GetFlag(FLAGS_writers), absl::GetFlag(FLAGS_max_crash_ms));
      if (presence::g_violations > 0 && !absl::GetFlag(FLAGS_keep_going)) break;
    }
  }
  loop.Stop();
  const presence::Totals& t = loop.totals();
  std::printf("presence-crashloop: %s; writes acked %lld, definitely failed %lld, unknown %lld; "
              "verified %lld entity states, %lld request-id retries, feed %lld changes\n",
              presence::g_violations == 0 ? "OK" : "VIOLATIONS", static_cast<long long>(t.acked),
              static_cast<long long>(t.failed), static_cast<long long>(t.unknown),
              static_cast<long long>(t.verified), static_cast<long long>(t.retries),
              static_cast<long long>(t.feed));
  if (presence::g_violations > 0) {
    std::printf("logs and data kept in %s\n", dir.c_str());
    if (temp) {
      // Keep the evidence: move the directory out of the TempDir's reach.
      const std::string kept = dir + "-kept";
      std::rename(dir.c_str(), kept.c_str());
      std::printf("(moved to %s)\n", kept.c_str());
    }
    return 1;
  }
  return 0;
}
