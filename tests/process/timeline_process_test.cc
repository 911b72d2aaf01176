// The timeline and the registry as real processes: the registry link
// (unknown and deleted organizations, outages, restarts, lost history), the
// request deadline bounding registry calls, durability across SIGKILL and
// graceful SIGTERM.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/partial_date.h"
#include "tests/testing/log_lines.h"
#include "tests/testing/service_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::registry::v1::RegistryService;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;
using ::presence::testing::ServiceProcess;
using ::presence::testing::StatusIs;
using ::presence::testing::WaitUntil;
using ::presence::timeline::v1::CreateEventRequest;
using ::presence::timeline::v1::Event;
using ::presence::timeline::v1::GetEventRequest;
using ::presence::timeline::v1::GetPresenceRequest;
using ::presence::timeline::v1::ListEventsRequest;
using ::presence::timeline::v1::ListEventsResponse;
using ::presence::timeline::v1::Presence;
using ::presence::timeline::v1::TimelineService;
using ::testing::HasSubstr;

Event MakeEvent(std::vector<std::string> orgs) {
  Event event;
  event.set_title("Test event");
  event.set_kind(Event::OTHER);
  *event.mutable_start() = *ParsePartialDate("2010-07");
  for (auto& org : orgs) event.add_organizations(org);
  return event;
}

class Services {
 public:
  explicit Services(const testing::TempDir& dir,
                    std::vector<std::string> registry_flags = {})
      : dir_(dir) {
    StartRegistry(std::move(registry_flags));
    timeline_ = std::make_unique<ServiceProcess>(
        PRESENCE_TIMELINE_BIN, dir.path(), "timeline",
        std::vector<std::string>{"--registry=" + registry_->address(),
                                 "--shutdown_grace=20s"});
    if (timeline_->ok()) timeline_stub_ = TimelineService::NewStub(timeline_->channel());
  }

  void StartRegistry(std::vector<std::string> flags = {}, int port = 0,
                     const std::string& name = "registry") {
    registry_ = std::make_unique<ServiceProcess>(PRESENCE_REGISTRY_BIN, dir_.path(),
                                                 name, std::move(flags), port);
    if (registry_->ok()) registry_stub_ = RegistryService::NewStub(registry_->channel());
  }

  bool ok() const { return registry_->ok() && timeline_->ok(); }
  ServiceProcess& registry() { return *registry_; }
  ServiceProcess& timeline() { return *timeline_; }
  RegistryService::Stub& registry_stub() { return *registry_stub_; }
  TimelineService::Stub& timeline_stub() { return *timeline_stub_; }

  grpc::Status CreateEvent(const std::string& id, const Event& event,
                           Event* out = nullptr) {
    CreateEventRequest request;
    request.set_event_id(id);
    *request.mutable_event() = event;
    Event response;
    grpc::Status s = timeline_stub().CreateEvent(Ctx().get(), request, &response);
    if (out) *out = response;
    return s;
  }

  // The organizations GetPresence reports on `date`, or an error status.
  absl::StatusOr<std::vector<std::string>> Present(const std::string& date) {
    GetPresenceRequest request;
    *request.mutable_date() = *ParsePartialDate(date);
    // Organizations the tests create have no dates: unknown bounds, which
    // GetPresence otherwise reports apart.
    request.set_include_unknown_bounds(true);
    Presence presence;
    grpc::Status s = timeline_stub().GetPresence(Ctx().get(), request, &presence);
    if (!s.ok()) return testing::ToAbsl(s);
    std::vector<std::string> names;
    for (const auto& p : presence.organizations()) names.push_back(p.organization());
    return names;
  }

  bool WaitUntilPresent(const std::string& date, const std::string& name) {
    return WaitUntil([&] {
      auto present = Present(date);
      return present.ok() &&
             std::find(present->begin(), present->end(), name) != present->end();
    });
  }

  grpc::Status CreateOrganization(const std::string& id, bool* ok_out = nullptr) {
    registry::v1::CreateOrganizationRequest request;
    request.set_organization_id(id);
    request.mutable_organization()->set_display_name(id);
    request.mutable_organization()->set_kind(Organization::KIND_FIELD_MISSION);
    Organization out;
    grpc::Status s = registry_stub().CreateOrganization(Ctx().get(), request, &out);
    if (ok_out) *ok_out = s.ok();
    return s;
  }

 private:
  const testing::TempDir& dir_;
  std::unique_ptr<ServiceProcess> registry_;
  std::unique_ptr<ServiceProcess> timeline_;
  std::unique_ptr<RegistryService::Stub> registry_stub_;
  std::unique_ptr<TimelineService::Stub> timeline_stub_;
};

TEST(TimelineProcessTest, WritesCheckTheRegistryAndReadsSurviveItsOutage) {
  testing::TempDir dir;
  Services services(dir);
  ASSERT_TRUE(services.ok()) << services.registry().log() << services.timeline().log();
  ASSERT_TRUE(services.WaitUntilPresent("2009-06-01", "organizations/kfor"))
      << services.timeline().log();

  // Unknown and deleted organizations are refused, naming them.
  EXPECT_THAT(services.CreateEvent("e1", MakeEvent({"organizations/kfor", "organizations/nope"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("event.organizations[1]: organizations/nope does not exist")));
  ASSERT_THAT(services.CreateOrganization("short-lived"), IsOk());
  registry::v1::DeleteOrganizationRequest del;
  del.set_name("organizations/short-lived");
  Organization deleted;
  ASSERT_THAT(services.registry_stub().DeleteOrganization(Ctx().get(), del, &deleted), IsOk());
  // The live cache answers for organizations it knows, so the deletion is
  // seen once the change feed has brought it (validate_only writes nothing).
  CreateEventRequest probe;
  probe.set_event_id("probe");
  *probe.mutable_event() = MakeEvent({"organizations/short-lived"});
  probe.set_validate_only(true);
  EXPECT_TRUE(WaitUntil([&] {
    Event ignored;
    return services.timeline_stub().CreateEvent(Ctx().get(), probe, &ignored).error_code() ==
           grpc::StatusCode::INVALID_ARGUMENT;
  })) << services.timeline().log();
  EXPECT_THAT(services.CreateEvent("e1", MakeEvent({"organizations/short-lived"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organizations/short-lived is deleted")));
  Event created;
  ASSERT_THAT(services.CreateEvent("e1", MakeEvent({"organizations/kfor"}), &created), IsOk());

  // The registry goes down. Once the timeline has noticed (its change feed
  // ended), writes ask the registry, which cannot answer. (Until then the
  // live cache answers for organizations it knows.)
  services.registry().Stop(SIGKILL);
  ASSERT_TRUE(services.timeline().LogContains("registry watch ended"))
      << services.timeline().log();
  EXPECT_THAT(services.CreateEvent("e2", MakeEvent({"organizations/kfor"})),
              StatusIs(absl::StatusCode::kUnavailable));
  GetEventRequest get;
  get.set_name("events/e2");
  Event got;
  EXPECT_THAT(services.timeline_stub().GetEvent(Ctx().get(), get, &got),
              StatusIs(absl::StatusCode::kNotFound)) << "nothing may be written";
  get.set_name("events/e1");
  EXPECT_THAT(services.timeline_stub().GetEvent(Ctx().get(), get, &got), IsOk());
  ListEventsRequest list;
  list.add_organizations("organizations/eulex");
  ListEventsResponse listed;
  ASSERT_THAT(services.timeline_stub().ListEvents(Ctx().get(), list, &listed), IsOk());
  EXPECT_GE(listed.events_size(), 2);
  auto present = services.Present("2009-06-01");
  ASSERT_THAT(present, IsOk());
  EXPECT_THAT(*present, ::testing::Contains("organizations/kfor"));

  // It comes back on the same port and data: the watch resumes, and writes
  // work again.
  const int port = services.registry().port();
  services.StartRegistry({}, port);
  ASSERT_TRUE(services.registry().ok()) << services.registry().log();
  ASSERT_THAT(services.CreateOrganization("newcomer"), IsOk());
  EXPECT_TRUE(services.WaitUntilPresent("2009-06-01", "organizations/newcomer"))
      << services.timeline().log();
  EXPECT_TRUE(WaitUntil([&] {
    return services.CreateEvent("e2", MakeEvent({"organizations/newcomer"})).ok();
  }));
  EXPECT_TRUE(services.timeline().LogContains("resuming from revision"));
}

TEST(TimelineProcessTest, RecoversWhenTheRegistryNoLongerHasItsHistory) {
  testing::TempDir dir;
  Services services(dir);
  ASSERT_TRUE(services.ok());
  ASSERT_TRUE(services.WaitUntilPresent("2009-06-01", "organizations/kfor"));
  const int port = services.registry().port();
  services.registry().Stop(SIGTERM);

  // Another registry history, trimmed to its last few changes, takes the
  // address: the timeline's revision is older than anything it retains.
  {
    ServiceProcess other(PRESENCE_REGISTRY_BIN, dir.path(), "other",
                         {"--change_retention=5"});
    ASSERT_TRUE(other.ok()) << other.log();
    auto stub = RegistryService::NewStub(other.channel());
    for (int i = 0; i < 70; ++i) {
      registry::v1::CreateOrganizationRequest request;
      request.set_organization_id(i == 69 ? "only-in-other" : absl::StrFormat("filler-%02d", i));
      request.mutable_organization()->set_display_name("x");
      request.mutable_organization()->set_kind(Organization::KIND_FIELD_MISSION);
      Organization out;
      ASSERT_THAT(stub->CreateOrganization(Ctx().get(), request, &out), IsOk());
    }
    other.Stop(SIGTERM);
  }
  services.StartRegistry({"--change_retention=5"}, port, "other");
  ASSERT_TRUE(services.registry().ok()) << services.registry().log();
  EXPECT_TRUE(services.WaitUntilPresent("2009-06-01", "organizations/only-in-other"))
      << services.timeline().log();
  EXPECT_TRUE(services.timeline().LogContains("listing again"));
}

TEST(TimelineProcessTest, RegistryCallsEndWithTheRequestDeadline) {
  testing::TempDir dir;
  // A registry that accepts connections and never answers.
  const int hole = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(hole, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(hole, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(hole, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ServiceProcess timeline(
      PRESENCE_TIMELINE_BIN, dir.path(), "timeline",
      {absl::StrCat("--registry=127.0.0.1:", ntohs(addr.sin_port)),
       "--registry_timeout=60s"});
  ASSERT_TRUE(timeline.ok()) << timeline.log();
  auto stub = TimelineService::NewStub(timeline.channel());

  CreateEventRequest request;
  request.set_event_id("e");
  *request.mutable_event() = MakeEvent({"organizations/kfor"});
  Event out;
  EXPECT_THAT(stub->CreateEvent(Ctx(absl::Milliseconds(500)).get(), request, &out),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  // The server side of that call ends with its deadline, not with the 60 s
  // registry timeout: its log line appears, and well before 60 s.
  std::vector<google::protobuf::Struct> lines;
  ASSERT_TRUE(WaitUntil([&] {
    lines = testing::RpcLines(timeline.log(),
                              "/presence.timeline.v1.TimelineService/CreateEvent");
    return !lines.empty();
  }, absl::Seconds(30))) << timeline.log();
  EXPECT_LT(lines[0].fields().at("latency_ms").number_value(), 10000) << timeline.log();
  ::close(hole);
}

TEST(TimelineProcessTest, AcknowledgedEventsSurviveSigkillAndSigtermIsGraceful) {
  testing::TempDir dir;
  std::map<std::string, Event> acknowledged;
  {
    Services services(dir);
    ASSERT_TRUE(services.ok());
    std::mutex mu;
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; i < 15; ++i) {
          const std::string id = absl::StrFormat("w%d-%02d", w, i);
          Event created;
          grpc::Status s = services.CreateEvent(id, MakeEvent({"organizations/eulex"}), &created);
          ASSERT_TRUE(s.ok()) << s.error_message();
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[created.name()] = created;
        }
      });
    }
    for (auto& t : writers) t.join();
    auto status = services.timeline().Stop(SIGKILL);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFSIGNALED(*status));
  }
  ASSERT_EQ(acknowledged.size(), 60u);
  Services restarted(dir);
  ASSERT_TRUE(restarted.ok()) << restarted.timeline().log();
  for (const auto& [name, ack] : acknowledged) {
    GetEventRequest get;
    get.set_name(name);
    Event got;
    ASSERT_THAT(restarted.timeline_stub().GetEvent(Ctx().get(), get, &got), IsOk()) << name;
    EXPECT_EQ(got.etag(), ack.etag());
  }
  ListEventsRequest list;
  list.add_organizations("organizations/eulex");
  list.set_page_size(1000);
  ListEventsResponse listed;
  ASSERT_THAT(restarted.timeline_stub().ListEvents(Ctx().get(), list, &listed), IsOk());
  EXPECT_GE(listed.events_size(), 60) << "index entries are durable too";
  EXPECT_TRUE(restarted.timeline().LogContains("not loaded"));

  auto status = restarted.timeline().Stop(SIGTERM);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0) << restarted.timeline().log();
  EXPECT_THAT(restarted.timeline().log(), HasSubstr("stopped"));
}

// Every line both services write is one JSON object with the keys stock
// pipelines map: time (RFC 3339), severity, message.
void ExpectLogSchema(const std::string& log) {
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "{")) continue;  // gRPC's own, if any.
    ++lines;
    auto parsed = testing::ParseLogLines(std::string(line));
    ASSERT_EQ(parsed.size(), 1u) << line;
    EXPECT_THAT(testing::Field(parsed[0], "time"),
                ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"))
        << line;
    EXPECT_THAT(testing::Field(parsed[0], "severity"),
                ::testing::AnyOf("DEBUG", "INFO", "WARNING", "ERROR"))
        << line;
    EXPECT_FALSE(testing::Field(parsed[0], "message").empty()) << line;
  }
  EXPECT_GT(lines, 0);
}

// A client's W3C trace context reaches the registry through the timeline,
// and both log it; client errors are INFO, not WARNING.
TEST(TimelineProcessTest, TraceContextIsPropagatedAndClientErrorsAreInfo) {
  testing::TempDir dir;
  Services services(dir);
  ASSERT_TRUE(services.ok());
  ASSERT_TRUE(services.WaitUntilPresent("2009-06-01", "organizations/kfor"));
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string traceparent = "00-" + trace_id + "-00f067aa0ba902b7-01";
  // An organization the timeline's cache does not know: it asks the
  // registry, which answers NOT_FOUND; the timeline refuses the event.
  CreateEventRequest request;
  request.set_event_id("traced");
  *request.mutable_event() = MakeEvent({"organizations/no-such-org"});
  auto context = Ctx();
  context->AddMetadata("traceparent", traceparent);
  context->AddMetadata("tracestate", "congo=t61rcWkgMzE");
  Event out;
  EXPECT_THAT(services.timeline_stub().CreateEvent(context.get(), request, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A malformed trace context is neither logged nor passed on.
  auto bad = Ctx();
  bad->AddMetadata("traceparent", "00-not-a-trace-01");
  request.set_event_id("untraced");
  EXPECT_THAT(services.timeline_stub().CreateEvent(bad.get(), request, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));

  std::vector<google::protobuf::Struct> gets;
  ASSERT_TRUE(WaitUntil([&] {
    gets = testing::RpcLines(services.registry().log(),
                             "/presence.registry.v1.RegistryService/GetOrganization");
    return gets.size() >= 2;
  })) << services.registry().log();
  EXPECT_EQ(testing::Field(gets[0], "traceparent"), traceparent);
  EXPECT_EQ(testing::Field(gets[0], "trace_id"), trace_id);
  EXPECT_EQ(testing::Field(gets[0], "code"), "NOT_FOUND");
  EXPECT_EQ(testing::Field(gets[0], "severity"), "INFO");
  EXPECT_THAT(testing::Field(gets[0], "message"), HasSubstr("GetOrganization NOT_FOUND: "));
  EXPECT_EQ(testing::Field(gets[1], "traceparent"), "");

  std::vector<google::protobuf::Struct> creates;
  ASSERT_TRUE(WaitUntil([&] {
    creates = testing::RpcLines(services.timeline().log(),
                                "/presence.timeline.v1.TimelineService/CreateEvent");
    return creates.size() >= 2;
  }));
  EXPECT_EQ(testing::Field(creates[0], "traceparent"), traceparent);
  EXPECT_EQ(testing::Field(creates[0], "code"), "INVALID_ARGUMENT");
  EXPECT_EQ(testing::Field(creates[0], "severity"), "INFO");
  EXPECT_EQ(testing::Field(creates[1], "traceparent"), "");
  ExpectLogSchema(services.registry().log());
  ExpectLogSchema(services.timeline().log());
}

// The registry closes connections at --max_connection_age (after a GOAWAY
// and the grace); the timeline's watch ends and resumes, which is routine:
// INFO, no WARNING.
TEST(TimelineProcessTest, ReconnectsAtMaxConnectionAgeAreInfo) {
  testing::TempDir dir;
  Services services(dir, {"--max_connection_age=1s", "--max_connection_age_grace=1s"});
  ASSERT_TRUE(services.ok());
  ASSERT_TRUE(services.WaitUntilPresent("2009-06-01", "organizations/kfor"));
  std::vector<google::protobuf::Struct> ends;
  const auto watch_ends = [&] {
    ends.clear();
    for (auto& line : testing::ParseLogLines(services.timeline().log())) {
      if (testing::Field(line, "event") == "registry watch ended") ends.push_back(line);
    }
    return ends.size() >= 2;
  };
  ASSERT_TRUE(WaitUntil(watch_ends, absl::Seconds(60))) << services.timeline().log();
  for (const auto& end : ends) {
    EXPECT_EQ(testing::Field(end, "severity"), "INFO") << testing::Field(end, "message");
    EXPECT_EQ(testing::Field(end, "code"), "UNAVAILABLE");
  }
  // And it follows the registry again: a new organization reaches its cache.
  ASSERT_THAT(services.CreateOrganization("after-reconnect"), IsOk());
  EXPECT_TRUE(services.WaitUntilPresent("2009-06-01", "organizations/after-reconnect"));
  ExpectLogSchema(services.timeline().log());
}

}  // namespace
}  // namespace presence
