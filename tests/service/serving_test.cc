// Production serving through real gRPC servers on loopback ports: the
// authorization matrix for both services, principals recorded with writes,
// input limits, watcher limits, request ids and metrics.

#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/partial_date.h"
#include "services/common/server/metrics.h"
#include "services/common/server/rpc_gate.h"
#include "services/common/version.h"
#include "services/registry/registry.h"
#include "services/registry/registry_grpc_service.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_grpc_service.h"
#include "tests/testing/fake_registry_client.h"
#include "tests/testing/prometheus.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::testing::HasSubstr;
namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;

constexpr char kReader[] = "reader-token-aaaaaaaaaaaa";
constexpr char kEditor[] = "editor-token-bbbbbbbbbbbb";
constexpr char kAdmin[] = "admin-token-cccccccccccc";

// A context with a deadline and, unless empty, a bearer token.
std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
  auto context = testing::Ctx();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

tv1::Event MakeEvent() {
  tv1::Event event;
  event.set_title("T");
  event.set_kind(tv1::Event::OTHER);
  event.mutable_start()->set_year(2010);
  event.add_organizations("organizations/kfor");
  return event;
}

using StatusMatcher = ::testing::Matcher<grpc::Status>;

class ServingTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(/*require_auth_for_reads=*/false, ""); }

  // Databases go under `prefix`, so that a second start begins empty. The
  // watcher limit is high by default: cancelled streams leave the server
  // asynchronously, so tests that are not about the limit must not meet it.
  void Start(bool require_auth_for_reads, const std::string& prefix,
             int max_watchers = 1000) {
    const std::string tokens_path = dir_.Sub("tokens");
    std::ofstream(tokens_path) << "ops reader " << kReader << "\nalice editor " << kEditor
                               << "\nroot admin " << kAdmin << "\n";
    auto tokens = TokenStore::Load(tokens_path);
    ASSERT_THAT(tokens, IsOk());
    GateOptions gate;
    gate.auth.tokens = *tokens;
    gate.auth.require_auth_for_reads = require_auth_for_reads;
    gate.log_rpcs = false;
    gate_ = std::make_unique<RpcGate>(gate);

    auto store = testing::OpenTestStore(dir_.Sub(prefix + "registry"), registry::kTableNames);
    ASSERT_THAT(store, IsOk());
    auto reg = registry::Registry::Open(*std::move(store), {});
    ASSERT_THAT(reg, IsOk());
    registry_ = *std::move(reg);
    registry_service_ = std::make_unique<registry::RegistryGrpcService>(
        registry_.get(), gate_.get(), max_watchers);
    auto server = testing::StartTestServer(registry_service_.get(),
                                           "presence.registry.v1.RegistryService");
    ASSERT_THAT(server, IsOk());
    registry_server_ = *std::move(server);
    registry_stub_ = rv1::RegistryService::NewStub(testing::LoopbackChannel(registry_server_->port()));

    auto tstore = testing::OpenTestStore(dir_.Sub(prefix + "timeline"), timeline::kTableNames);
    ASSERT_THAT(tstore, IsOk());
    auto opened = timeline::Timeline::Open(*std::move(tstore), &fake_, &cache_);
    ASSERT_THAT(opened, IsOk());
    timeline_ = *std::move(opened);
    timeline_service_ = std::make_unique<timeline::TimelineGrpcService>(timeline_.get(), gate_.get());
    auto tserver = testing::StartTestServer(timeline_service_.get(),
                                            "presence.timeline.v1.TimelineService");
    ASSERT_THAT(tserver, IsOk());
    timeline_server_ = *std::move(tserver);
    timeline_stub_ = tv1::TimelineService::NewStub(testing::LoopbackChannel(timeline_server_->port()));

    // Something to read, update and delete.
    rv1::CreateOrganizationRequest create;
    create.set_organization_id("kfor");
    create.mutable_organization()->set_display_name("Kosovo Force");
    create.mutable_organization()->set_kind(Organization::KIND_MILITARY_MISSION);
    Organization kfor;
    ASSERT_THAT(registry_stub_->CreateOrganization(As(kEditor).get(), create, &kfor), IsOk());
    fake_.Put(kfor);
    cache_.Replace({kfor}, 1);
  }

  // Stops both servers and starts again over fresh databases.
  void Restart(bool require_auth_for_reads, const std::string& prefix,
               int max_watchers = 1000) {
    TearDown();
    registry_server_.reset();
    timeline_server_.reset();
    Start(require_auth_for_reads, prefix, max_watchers);
  }

  void TearDown() override {
    if (timeline_server_) timeline_server_->Shutdown(absl::ZeroDuration());
    if (registry_server_) {
      registry_server_->Shutdown(absl::ZeroDuration(), [this] { registry_service_->EndStreams(); });
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<RpcGate> gate_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<registry::RegistryGrpcService> registry_service_;
  std::unique_ptr<RunningServer> registry_server_;
  std::unique_ptr<rv1::RegistryService::Stub> registry_stub_;
  testing::FakeRegistryClient fake_;
  timeline::OrganizationCache cache_;
  std::unique_ptr<timeline::Timeline> timeline_;
  std::unique_ptr<timeline::TimelineGrpcService> timeline_service_;
  std::unique_ptr<RunningServer> timeline_server_;
  std::unique_ptr<tv1::TimelineService::Stub> timeline_stub_;
  int counter_ = 0;
};

struct MethodCase {
  std::string name;
  bool write;
  std::function<grpc::Status(const std::string& token)> call;
};

std::vector<MethodCase> Methods(rv1::RegistryService::Stub* reg,
                                tv1::TimelineService::Stub* tl, int* counter) {
  return {
      {"GetOrganization", false, [=](const std::string& token) {
         rv1::GetOrganizationRequest r; r.set_name("organizations/kfor"); Organization o;
         return reg->GetOrganization(As(token).get(), r, &o); }},
      {"ListOrganizations", false, [=](const std::string& token) {
         rv1::ListOrganizationsRequest r; rv1::ListOrganizationsResponse o;
         return reg->ListOrganizations(As(token).get(), r, &o); }},
      {"WatchOrganizations", false, [=](const std::string& token) {
         rv1::WatchOrganizationsRequest r; r.set_start_revision(0);
         auto c = As(token); auto reader = reg->WatchOrganizations(c.get(), r);
         rv1::OrganizationChange ch;
         if (!reader->Read(&ch)) return reader->Finish();
         c->TryCancel(); reader->Finish();
         return grpc::Status::OK; }},
      {"CreateOrganization", true, [=](const std::string& token) {
         rv1::CreateOrganizationRequest r; r.set_organization_id(absl::StrCat("o", ++*counter));
         r.mutable_organization()->set_display_name("O");
         r.mutable_organization()->set_kind(Organization::KIND_OTHER); Organization o;
         return reg->CreateOrganization(As(token).get(), r, &o); }},
      {"UpdateOrganization", true, [=](const std::string& token) {
         rv1::UpdateOrganizationRequest r; r.mutable_organization()->set_name("organizations/kfor");
         r.mutable_organization()->set_description(absl::StrCat(++*counter));
         r.mutable_update_mask()->add_paths("description"); Organization o;
         return reg->UpdateOrganization(As(token).get(), r, &o); }},
      {"DeleteOrganization", true, [=](const std::string& token) {
         rv1::DeleteOrganizationRequest r; r.set_name("organizations/none"); Organization o;
         grpc::Status s = reg->DeleteOrganization(As(token).get(), r, &o);
         // Admitted calls get as far as the lookup.
         return s.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : s; }},
      {"ListEvents", false, [=](const std::string& token) {
         tv1::ListEventsRequest r; tv1::ListEventsResponse o;
         return tl->ListEvents(As(token).get(), r, &o); }},
      {"GetPresence", false, [=](const std::string& token) {
         tv1::GetPresenceRequest r; r.mutable_date()->set_year(2009); tv1::Presence o;
         return tl->GetPresence(As(token).get(), r, &o); }},
      {"CreateEvent", true, [=](const std::string& token) {
         tv1::CreateEventRequest r; r.set_event_id(absl::StrCat("e", ++*counter));
         *r.mutable_event() = MakeEvent(); tv1::Event o;
         return tl->CreateEvent(As(token).get(), r, &o); }},
      {"DeleteEvent", true, [=](const std::string& token) {
         tv1::DeleteEventRequest r; r.set_name("events/none"); google::protobuf::Empty o;
         grpc::Status s = tl->DeleteEvent(As(token).get(), r, &o);
         return s.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : s; }},
  };
}

TEST_F(ServingTest, AuthorizationMatrix) {
  const std::string bad = "not-a-valid-token-zzzzzz";
  for (const MethodCase& m : Methods(registry_stub_.get(), timeline_stub_.get(), &counter_)) {
    SCOPED_TRACE(m.name);
    EXPECT_THAT(m.call(kReader),
                m.write ? StatusMatcher(StatusIs(absl::StatusCode::kPermissionDenied,
                                                 HasSubstr("principal ops has role reader")))
                        : StatusMatcher(IsOk()));
    EXPECT_THAT(m.call(kEditor), IsOk());
    EXPECT_THAT(m.call(kAdmin), IsOk());
    EXPECT_THAT(m.call(""), m.write ? StatusMatcher(StatusIs(absl::StatusCode::kUnauthenticated))
                                    : StatusMatcher(IsOk()));
    EXPECT_THAT(m.call(bad), StatusIs(absl::StatusCode::kUnauthenticated,
                                      ::testing::Not(HasSubstr(bad))));
  }
}

TEST_F(ServingTest, ReadsCanRequireAToken) {
  Restart(/*require_auth_for_reads=*/true, "second-");
  for (const MethodCase& m : Methods(registry_stub_.get(), timeline_stub_.get(), &counter_)) {
    SCOPED_TRACE(m.name);
    EXPECT_THAT(m.call(""), StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_THAT(m.call(kReader), m.write ? StatusMatcher(StatusIs(absl::StatusCode::kPermissionDenied))
                                         : StatusMatcher(IsOk()));
  }
}

TEST_F(ServingTest, WritesRecordThePrincipal) {
  rv1::UpdateOrganizationRequest update;
  update.mutable_organization()->set_name("organizations/kfor");
  update.mutable_organization()->set_description("by root");
  update.mutable_update_mask()->add_paths("description");
  Organization updated;
  ASSERT_THAT(registry_stub_->UpdateOrganization(As(kAdmin).get(), update, &updated), IsOk());
  EXPECT_EQ(updated.last_modified_by(), "root");
  rv1::ListOrganizationRevisionsRequest revisions_request;
  revisions_request.set_name("organizations/kfor");
  rv1::ListOrganizationRevisionsResponse revisions;
  ASSERT_THAT(registry_stub_->ListOrganizationRevisions(As("").get(), revisions_request, &revisions), IsOk());
  ASSERT_EQ(revisions.organizations_size(), 2);
  EXPECT_EQ(revisions.organizations(0).last_modified_by(), "root");
  EXPECT_EQ(revisions.organizations(1).last_modified_by(), "alice");
  rv1::WatchOrganizationsRequest watch;
  auto context = As("");
  auto reader = registry_stub_->WatchOrganizations(context.get(), watch);
  rv1::OrganizationChange change;
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.principal(), "alice");
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.principal(), "root");
  context->TryCancel();
  reader->Finish();

  tv1::CreateEventRequest create;
  create.set_event_id("e");
  *create.mutable_event() = MakeEvent();
  tv1::Event event;
  ASSERT_THAT(timeline_stub_->CreateEvent(As(kEditor).get(), create, &event), IsOk());
  EXPECT_EQ(event.created_by(), "alice");
  tv1::UpdateEventRequest update_event;
  update_event.mutable_event()->set_name("events/e");
  update_event.mutable_event()->set_title("T2");
  update_event.mutable_update_mask()->add_paths("title");
  ASSERT_THAT(timeline_stub_->UpdateEvent(As(kAdmin).get(), update_event, &event), IsOk());
  EXPECT_EQ(event.created_by(), "alice");
  EXPECT_EQ(event.updated_by(), "root");
}

TEST_F(ServingTest, LimitsAreEnforcedAndNamed) {
  const auto create = [&](std::function<void(Organization*)> edit) {
    rv1::CreateOrganizationRequest r;
    r.set_organization_id("big");
    r.mutable_organization()->set_display_name("Big");
    r.mutable_organization()->set_kind(Organization::KIND_OTHER);
    edit(r.mutable_organization());
    Organization o;
    return registry_stub_->CreateOrganization(As(kEditor).get(), r, &o);
  };
  EXPECT_THAT(create([](Organization* o) { o->set_display_name(std::string(257, 'x')); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organization.display_name: 257 bytes exceed the limit of 256")));
  EXPECT_THAT(create([](Organization* o) { for (int i = 0; i < 65; ++i) o->add_aliases(absl::StrCat("a", i)); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organization.aliases: 65 entries exceed the limit of 64")));
  EXPECT_THAT(create([](Organization* o) { o->set_description(std::string(16385, 'x')); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("organization.description")));
  EXPECT_THAT(create([](Organization* o) { o->add_leaders()->set_note(std::string(2049, 'x')); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("organization.leaders[0].note")));
  EXPECT_THAT(create([](Organization* o) {
                for (int i = 0; i < 257; ++i) o->add_headcounts();
              }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit of 256")));
  // The message size limit (1 MiB) comes first.
  EXPECT_THAT(create([](Organization* o) { o->set_description(std::string(2 << 20, 'x')); }),
              StatusIs(absl::StatusCode::kResourceExhausted));

  tv1::CreateEventRequest event;
  event.set_event_id("big");
  *event.mutable_event() = MakeEvent();
  event.mutable_event()->set_title(std::string(2049, 't'));
  tv1::Event out;
  EXPECT_THAT(timeline_stub_->CreateEvent(As(kEditor).get(), event, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event.title: 2049 bytes")));
  *event.mutable_event() = MakeEvent();
  for (int i = 0; i < 65; ++i) event.mutable_event()->add_sources()->set_document("d");
  EXPECT_THAT(timeline_stub_->CreateEvent(As(kEditor).get(), event, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event.sources: 65 entries")));
}

TEST_F(ServingTest, WatchersAreLimited) {
  Restart(/*require_auth_for_reads=*/false, "limited-", /*max_watchers=*/2);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<rv1::OrganizationChange>>> readers;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(As(""));
    rv1::WatchOrganizationsRequest r;
    readers.push_back(registry_stub_->WatchOrganizations(contexts.back().get(), r));
    rv1::OrganizationChange change;
    ASSERT_TRUE(readers.back()->Read(&change));  // Established.
  }
  auto context = As("");
  rv1::WatchOrganizationsRequest r;
  auto third = registry_stub_->WatchOrganizations(context.get(), r);
  rv1::OrganizationChange change;
  EXPECT_FALSE(third->Read(&change));
  EXPECT_THAT(third->Finish(), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("--max_watchers")));
  for (size_t i = 0; i < readers.size(); ++i) {
    contexts[i]->TryCancel();
    readers[i]->Finish();
  }
}

TEST_F(ServingTest, RequestIdsAreEchoedOrMinted) {
  rv1::GetOrganizationRequest get;
  get.set_name("organizations/kfor");
  Organization org;
  auto context = As("");
  context->AddMetadata("x-request-id", "caller-chose-this");
  ASSERT_THAT(registry_stub_->GetOrganization(context.get(), get, &org), IsOk());
  auto echoed = context->GetServerTrailingMetadata().find("x-request-id");
  ASSERT_NE(echoed, context->GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(echoed->second.data(), echoed->second.size()), "caller-chose-this");

  auto fresh = As("");
  get.set_name("organizations/missing");
  EXPECT_THAT(registry_stub_->GetOrganization(fresh.get(), get, &org),
              StatusIs(absl::StatusCode::kNotFound));
  auto minted = fresh->GetServerTrailingMetadata().find("x-request-id");
  ASSERT_NE(minted, fresh->GetServerTrailingMetadata().end());
  EXPECT_EQ(minted->second.size(), 16u);
}

TEST_F(ServingTest, MetricsCountKnownTraffic) {
  // The gRPC ecosystem's names and labels (labels sorted, as
  // prometheus-cpp writes them).
  const std::string labels =
      "grpc_method=\"GetOrganization\",grpc_service=\"presence.registry.v1.RegistryService\","
      "grpc_type=\"unary\"";
  const std::string ok_key =
      "grpc_server_handled_total{grpc_code=\"OK\"," + labels + "}";
  const std::string missing_key =
      "grpc_server_handled_total{grpc_code=\"NOT_FOUND\"," + labels + "}";
  const std::string started_key = "grpc_server_started_total{" + labels + "}";
  const std::string received_key = "grpc_server_msg_received_total{" + labels + "}";
  const std::string sent_key = "grpc_server_msg_sent_total{" + labels + "}";
  const std::string count_key = "grpc_server_handling_seconds_count{" + labels + "}";
  const std::string inf_key = "grpc_server_handling_seconds_bucket{" + labels + ",le=\"+Inf\"}";
  auto before = testing::ParseExposition(Metrics::Global().Render());
  const auto value = [](const std::map<std::string, double>& m, const std::string& k) {
    return std::max(0.0, testing::Sample(m, k));
  };
  rv1::GetOrganizationRequest get;
  Organization org;
  for (int i = 0; i < 3; ++i) {
    get.set_name("organizations/kfor");
    ASSERT_THAT(registry_stub_->GetOrganization(As("").get(), get, &org), IsOk());
  }
  for (int i = 0; i < 2; ++i) {
    get.set_name("organizations/missing");
    ASSERT_THAT(registry_stub_->GetOrganization(As("").get(), get, &org),
                StatusIs(absl::StatusCode::kNotFound));
  }
  // Over HTTP, as Prometheus scrapes it.
  auto server = MetricsServer::Start("127.0.0.1:0");
  ASSERT_THAT(server, IsOk());
  httplib::Client client("127.0.0.1", (*server)->port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->get_header_value("Content-Type"), HasSubstr("text/plain"));
  auto after = testing::ParseExposition(response->body);
  EXPECT_EQ(value(after, ok_key) - value(before, ok_key), 3);
  EXPECT_EQ(value(after, missing_key) - value(before, missing_key), 2);
  EXPECT_EQ(value(after, count_key) - value(before, count_key), 5);
  EXPECT_EQ(value(after, started_key) - value(before, started_key), 5);
  EXPECT_EQ(value(after, received_key) - value(before, received_key), 5);
  EXPECT_EQ(value(after, sent_key) - value(before, sent_key), 3) << "responses of OK calls";
  EXPECT_EQ(testing::Sample(after, inf_key), testing::Sample(after, count_key));
  EXPECT_GE(testing::Sample(after, "presence_rpc_in_flight"), 0);
  EXPECT_GT(testing::Sample(after, "process_start_time_seconds"), 1.7e9);
  EXPECT_GT(testing::Sample(after, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(testing::Sample(after, "process_open_fds"), 2);
  EXPECT_GT(testing::Sample(after, "process_max_fds"), 2);
  EXPECT_GE(testing::Sample(after, "process_cpu_seconds_total"), 0);
  EXPECT_EQ(testing::Sample(after, absl::StrCat("presence_build_info{revision=\"", GitRevision(),
                                                "\",version=\"", Version(), "\"}")),
            1);
}

}  // namespace
}  // namespace presence
