// AIP-193 error details as a gRPC client sees them: every reason of
// services/common/error_reasons.h is provoked through a real server (the
// registry over real RocksDB, the timeline asking that registry through its
// real gRPC client), and every error is checked for what its code requires:
// an ErrorInfo with the reason and the answering service's domain; a field
// violation for INVALID_ARGUMENT; ResourceInfo for NOT_FOUND and
// ALREADY_EXISTS; PreconditionFailure for FAILED_PRECONDITION; RetryInfo for
// UNAVAILABLE and RESOURCE_EXHAUSTED.

#include <fstream>
#include <thread>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/support/error_details.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/error_reasons.h"
#include "services/common/server/auth.h"
#include "services/common/server/rpc_gate.h"
#include "services/registry/registry.h"
#include "services/registry/registry_grpc_service.h"
#include "services/timeline/grpc_registry_client.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_grpc_service.h"
#include "tests/testing/faulty_kv_store.h"
#include "tests/testing/raw_rpc.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;
using ::testing::HasSubstr;

constexpr char kEditorToken[] = "editor-token-bbbbbbbbbbbb";
constexpr char kReaderToken[] = "reader-token-aaaaaaaaaaaa";

// What a client finds in grpc-status-details-bin.
struct Details {
  google::rpc::Status status;
  std::optional<google::rpc::ErrorInfo> info;
  std::optional<google::rpc::BadRequest> bad_request;
  std::optional<google::rpc::ResourceInfo> resource;
  std::optional<google::rpc::PreconditionFailure> precondition;
  std::optional<google::rpc::RetryInfo> retry;
  std::string meta(const std::string& key) const {
    if (!info) return "";
    auto it = info->metadata().find(key);
    return it == info->metadata().end() ? "" : it->second;
  }
};

template <typename T>
void Unpack(const google::rpc::Status& status, std::optional<T>* out) {
  for (const google::protobuf::Any& any : status.details()) {
    T detail;
    if (any.Is<T>() && any.UnpackTo(&detail)) *out = detail;
  }
}

Details Parse(const grpc::Status& status) {
  Details d;
  EXPECT_TRUE(grpc::ExtractErrorDetails(status, &d.status).ok());
  Unpack(d.status, &d.info);
  Unpack(d.status, &d.bad_request);
  Unpack(d.status, &d.resource);
  Unpack(d.status, &d.precondition);
  Unpack(d.status, &d.retry);
  return d;
}

// Checks the rules every error obeys; returns its details.
Details ExpectDetails(const grpc::Status& status, const std::string& reason,
                      const std::string& domain) {
  EXPECT_FALSE(status.ok());
  const Details d = Parse(status);
  EXPECT_EQ(d.status.code(), status.error_code());
  EXPECT_EQ(d.status.message(), status.error_message());
  EXPECT_TRUE(d.info.has_value()) << status.error_message();
  if (d.info) {
    EXPECT_EQ(d.info->reason(), reason) << status.error_message();
    EXPECT_EQ(d.info->domain(), domain);
    // The first detail is the ErrorInfo.
    EXPECT_TRUE(d.status.details(0).Is<google::rpc::ErrorInfo>());
  }
  for (const ReasonInfo& r : AllReasons()) {
    if (r.reason == reason) {
      EXPECT_EQ(static_cast<int>(status.error_code()), static_cast<int>(r.code))
          << reason << ": " << status.error_message();
    }
  }
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      EXPECT_TRUE(d.bad_request && d.bad_request->field_violations_size() > 0)
          << status.error_message();
      break;
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
      EXPECT_TRUE(d.resource && !d.resource->resource_name().empty())
          << status.error_message();
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      EXPECT_TRUE(d.precondition && d.precondition->violations_size() > 0)
          << status.error_message();
      break;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      EXPECT_TRUE(d.retry && (d.retry->retry_delay().seconds() > 0 ||
                              d.retry->retry_delay().nanos() > 0))
          << status.error_message();
      break;
    default:
      break;
  }
  return d;
}

rv1::Organization Org(const std::string& display_name,
                      rv1::Organization::Kind kind = rv1::Organization::KIND_MILITARY_MISSION) {
  rv1::Organization org;
  org.set_display_name(display_name);
  org.set_kind(kind);
  return org;
}

tv1::Event Ev(std::vector<std::string> orgs = {"organizations/nato"}) {
  tv1::Event event;
  event.set_title("Something");
  event.set_kind(tv1::Event::DEPLOYMENT);
  event.mutable_start()->set_year(2008);
  for (auto& org : orgs) event.add_organizations(org);
  return event;
}

class ErrorDetailsTest : public ::testing::Test {
 public:  // The cases below drive the fixture from outside.
  void SetUp() override {
    auto store = testing::OpenTestStore(dir_.Sub("registry"), registry::kTableNames,
                                        registry::kSchemaVersion);
    ASSERT_THAT(store, IsOk());
    auto faulty = std::make_unique<testing::FaultyKvStore>(*std::move(store));
    faulty_ = faulty.get();
    registry::RegistryOptions options;
    options.change_retention = 1;
    auto opened = registry::Registry::Open(std::move(faulty), options);
    ASSERT_THAT(opened, IsOk());
    registry_ = *std::move(opened);

    service_ = std::make_unique<registry::RegistryGrpcService>(
        registry_.get(), testing::DefaultTestGate(), /*max_watchers=*/2);
    auto server = testing::StartTestServer(service_.get(), "presence.registry.v1.RegistryService");
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    stub_ = rv1::RegistryService::NewStub(testing::LoopbackChannel(server_->port()));

    // The same registry behind a gate with tokens, and behind one that
    // listens beyond loopback without tokens.
    const std::string tokens_path = dir_.Sub("tokens");
    std::ofstream(tokens_path) << "ops reader " << kReaderToken << "\nalice editor "
                               << kEditorToken << "\n";
    auto tokens = TokenStore::Load(tokens_path);
    ASSERT_THAT(tokens, IsOk());
    GateOptions with_tokens;
    with_tokens.log_rpcs = false;
    with_tokens.auth.tokens = *tokens;
    auth_gate_ = std::make_unique<RpcGate>(with_tokens);
    GateOptions open;
    open.log_rpcs = false;
    open.auth.loopback_only = false;
    open_gate_ = std::make_unique<RpcGate>(open);
    for (auto [gate, service, server, stub] :
         {std::tuple(auth_gate_.get(), &auth_service_, &auth_server_, &auth_stub_),
          std::tuple(open_gate_.get(), &open_service_, &open_server_, &open_stub_)}) {
      *service = std::make_unique<registry::RegistryGrpcService>(registry_.get(), gate);
      auto started =
          testing::StartTestServer(service->get(), "presence.registry.v1.RegistryService");
      ASSERT_THAT(started, IsOk());
      *server = *std::move(started);
      *stub = rv1::RegistryService::NewStub(testing::LoopbackChannel((*server)->port()));
    }

    // NATO with KFOR under it, and a deleted organization.
    rv1::Organization nato = Org("North Atlantic Treaty Organization",
                                 rv1::Organization::KIND_INTERNATIONAL_ORGANIZATION);
    nato.set_acronym("NATO");
    ASSERT_TRUE(Create("nato", nato).ok());
    rv1::Organization kfor = Org("Kosovo Force");
    kfor.set_parent_organization("organizations/nato");
    ASSERT_TRUE(Create("kfor", kfor, &kfor_).ok());
    ASSERT_TRUE(Create("gone", Org("Gone")).ok());
    rv1::DeleteOrganizationRequest del;
    del.set_name("organizations/gone");
    rv1::Organization deleted;
    ASSERT_TRUE(stub_->DeleteOrganization(Ctx().get(), del, &deleted).ok());

    // The timeline, asking this registry through its gRPC client; its
    // cache is never filled, so every check asks the registry.
    timeline::GrpcRegistryClientOptions client;
    client.address = absl::StrCat("127.0.0.1:", server_->port());
    auto registry_client = timeline::NewGrpcRegistryClient(client);
    ASSERT_THAT(registry_client, IsOk());
    registry_client_ = *std::move(registry_client);
    // One pointing at a port nobody listens on.
    client.address = "127.0.0.1:1";
    client.call_timeout = absl::Seconds(1);
    auto dead_client = timeline::NewGrpcRegistryClient(client);
    ASSERT_THAT(dead_client, IsOk());
    dead_client_ = *std::move(dead_client);
    for (auto [name, client_ptr, timeline, tservice, tserver, tstub] :
         {std::tuple("timeline", registry_client_.get(), &timeline_, &timeline_service_,
                     &timeline_server_, &timeline_stub_),
          std::tuple("cut-off", dead_client_.get(), &cut_off_, &cut_off_service_,
                     &cut_off_server_, &cut_off_stub_)}) {
      auto tstore = testing::OpenTestStore(dir_.Sub(name), timeline::kTableNames,
                                           timeline::kSchemaVersion);
      ASSERT_THAT(tstore, IsOk());
      auto tfaulty = std::make_unique<testing::FaultyKvStore>(*std::move(tstore));
      if (timeline == &timeline_) timeline_faulty_ = tfaulty.get();
      auto t = timeline::Timeline::Open(std::move(tfaulty), client_ptr, &cache_);
      ASSERT_THAT(t, IsOk());
      *timeline = *std::move(t);
      *tservice = std::make_unique<timeline::TimelineGrpcService>(
          timeline->get(), testing::DefaultTestGate());
      auto started =
          testing::StartTestServer(tservice->get(), "presence.timeline.v1.TimelineService");
      ASSERT_THAT(started, IsOk());
      *tserver = *std::move(started);
      *tstub = tv1::TimelineService::NewStub(testing::LoopbackChannel((*tserver)->port()));
    }
  }

  void TearDown() override {
    for (auto* server : {&timeline_server_, &cut_off_server_, &auth_server_,
                         &open_server_}) {
      if (*server) (*server)->Shutdown(absl::ZeroDuration());
    }
    if (server_) server_->Shutdown(absl::ZeroDuration(), [this] { service_->EndStreams(); });
  }

  grpc::Status Create(const std::string& id, const rv1::Organization& org,
                      rv1::Organization* out = nullptr, const std::string& request_id = "") {
    rv1::CreateOrganizationRequest request;
    request.set_organization_id(id);
    *request.mutable_organization() = org;
    request.set_request_id(request_id);
    rv1::Organization response;
    grpc::Status s = stub_->CreateOrganization(Ctx().get(), request, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  grpc::Status Get(const std::string& name) {
    rv1::GetOrganizationRequest request;
    request.set_name(name);
    rv1::Organization response;
    return stub_->GetOrganization(Ctx().get(), request, &response);
  }

  grpc::Status Update(const rv1::Organization& org, std::vector<std::string> paths = {}) {
    rv1::UpdateOrganizationRequest request;
    *request.mutable_organization() = org;
    for (auto& p : paths) request.mutable_update_mask()->add_paths(p);
    rv1::Organization response;
    return stub_->UpdateOrganization(Ctx().get(), request, &response);
  }

  // A watch stream's final status (after reading whatever it sends).
  grpc::Status WatchFrom(int64_t start) {
    rv1::WatchOrganizationsRequest request;
    request.set_start_revision(start);
    auto context = Ctx();
    auto reader = stub_->WatchOrganizations(context.get(), request);
    rv1::OrganizationChange change;
    while (reader->Read(&change)) {
    }
    return reader->Finish();
  }

  grpc::Status CreateEvent(tv1::TimelineService::Stub& stub, const std::string& id,
                           const tv1::Event& event, const std::string& request_id = "",
                           tv1::Event* out = nullptr) {
    tv1::CreateEventRequest request;
    request.set_event_id(id);
    *request.mutable_event() = event;
    request.set_request_id(request_id);
    tv1::Event response;
    grpc::Status s = stub.CreateEvent(Ctx().get(), request, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  // A second registry server on the fixture's registry, behind a gate that
  // admits one unary call at a time (--max_in_flight=1), without RPC logs.
  struct OneCallServer {
    std::unique_ptr<RpcGate> gate;
    std::unique_ptr<registry::RegistryGrpcService> service;
    std::unique_ptr<RunningServer> server;
    std::unique_ptr<rv1::RegistryService::Stub> stub;
  };
  absl::StatusOr<OneCallServer> StartOneCallServer() {
    GateOptions options;
    options.log_rpcs = false;
    options.max_in_flight = 1;
    OneCallServer s;
    s.gate = std::make_unique<RpcGate>(options);
    s.service = std::make_unique<registry::RegistryGrpcService>(registry_.get(), s.gate.get());
    auto server = testing::StartTestServer(s.service.get(), "presence.registry.v1.RegistryService");
    if (!server.ok()) return server.status();
    s.server = *std::move(server);
    s.stub = rv1::RegistryService::NewStub(testing::LoopbackChannel(s.server->port()));
    return s;
  }

  testing::TempDir dir_;
  testing::FaultyKvStore* faulty_ = nullptr;
  testing::FaultyKvStore* timeline_faulty_ = nullptr;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<registry::RegistryGrpcService> service_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<rv1::RegistryService::Stub> stub_;
  std::unique_ptr<RpcGate> auth_gate_, open_gate_;
  std::unique_ptr<registry::RegistryGrpcService> auth_service_, open_service_;
  std::unique_ptr<RunningServer> auth_server_, open_server_;
  std::unique_ptr<rv1::RegistryService::Stub> auth_stub_, open_stub_;
  rv1::Organization kfor_;

  timeline::OrganizationCache cache_;
  std::unique_ptr<timeline::RegistryClient> registry_client_, dead_client_;
  std::unique_ptr<timeline::Timeline> timeline_, cut_off_;
  std::unique_ptr<timeline::TimelineGrpcService> timeline_service_, cut_off_service_;
  std::unique_ptr<RunningServer> timeline_server_, cut_off_server_;
  std::unique_ptr<tv1::TimelineService::Stub> timeline_stub_, cut_off_stub_;
};

// One provoked error: the call, and what else to check beyond the rules.
struct Case {
  const char* reason;
  const char* domain;
  std::function<grpc::Status(ErrorDetailsTest*)> call;
  std::function<void(const Details&)> check = nullptr;
};

// The cases that share one fixture (every reason but those of the tests
// below that break their fixture), in order.
std::vector<Case> SharedCases();

TEST_F(ErrorDetailsTest, EveryReasonFromAClient) {
  for (const Case& c : SharedCases()) {
    SCOPED_TRACE(c.reason);
    const grpc::Status status = c.call(this);
    const Details d = ExpectDetails(status, c.reason, c.domain);
    if (c.check) c.check(d);
  }
}


grpc::Status GetWithStoreError(ErrorDetailsTest* t, absl::Status error) {
  t->faulty_->FailGets(std::move(error));
  grpc::Status s = t->Get("organizations/nato");
  t->faulty_->FailGets(absl::OkStatus());
  return s;
}

std::vector<Case> SharedCases() {
  const char* R = kRegistryDomain;
  const char* T = kTimelineDomain;
  const auto field_is = [](const std::string& field) {
    return [field](const Details& d) {
      ASSERT_TRUE(d.bad_request);
      EXPECT_EQ(d.bad_request->field_violations(0).field(), field);
    };
  };
  return {
      {kInvalidField, R,
       [](ErrorDetailsTest* t) { return t->Create("x1", Org("X", rv1::Organization::Kind(99))); },
       field_is("organization.kind")},
      {kFieldRequired, R, [](ErrorDetailsTest* t) { return t->Create("x1", Org("  ")); },
       [](const Details& d) {
         EXPECT_EQ(d.meta("field"), "organization.display_name");
         EXPECT_EQ(d.bad_request->field_violations(0).field(), "organization.display_name");
       }},
      {kLimitExceeded, R,
       [](ErrorDetailsTest* t) { return t->Create("x1", Org(std::string(300, 'x'))); },
       [](const Details& d) {
         EXPECT_EQ(d.meta("limit"), "256");
         EXPECT_EQ(d.bad_request->field_violations(0).field(), "organization.display_name");
       }},
      {kInvalidDate, R,
       [](ErrorDetailsTest* t) {
         rv1::Organization org = Org("X");
         org.mutable_established()->set_year(2008);
         org.mutable_established()->set_month(13);
         return t->Create("x1", org);
       },
       field_is("organization.established.month")},
      {kInvalidName, R, [](ErrorDetailsTest* t) { return t->Get("kfor"); }, field_is("name")},
      {kInvalidRequestId, R,
       [](ErrorDetailsTest* t) { return t->Create("x1", Org("X"), nullptr, "not-a-uuid"); },
       field_is("request_id")},
      {kInvalidPageToken, R,
       [](ErrorDetailsTest* t) {
         rv1::ListOrganizationsRequest request;
         request.set_page_token("garbage");
         rv1::ListOrganizationsResponse response;
         return t->stub_->ListOrganizations(Ctx().get(), request, &response);
       },
       field_is("page_token")},
      {kInvalidUpdateMask, R,
       [](ErrorDetailsTest* t) { return t->Update(t->kfor_, {"no_such_field"}); },
       [](const Details& d) { EXPECT_EQ(d.meta("path"), "no_such_field"); }},
      {kDuplicateEntry, R,
       [](ErrorDetailsTest* t) {
         rv1::BatchCreateOrganizationsRequest request;
         for (int i = 0; i < 2; ++i) {
           auto* create = request.add_requests();
           create->set_organization_id("twice");
           *create->mutable_organization() = Org("Twice");
         }
         rv1::BatchCreateOrganizationsResponse response;
         return t->stub_->BatchCreateOrganizations(Ctx().get(), request, &response);
       },
       field_is("requests[1].organization_id")},
      {kRequestIdReused, R,
       [](ErrorDetailsTest* t) {
         const std::string id = "123e4567-e89b-42d3-a456-426614174000";
         EXPECT_TRUE(t->Create("first", Org("First"), nullptr, id).ok());
         return t->Create("second", Org("Second"), nullptr, id);
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("requestId"), "123e4567-e89b-42d3-a456-426614174000");
         EXPECT_EQ(d.meta("created"), "organizations/first");
       }},
      {kUnknownOrganization, R,
       [](ErrorDetailsTest* t) {
         rv1::Organization org = Org("X");
         org.set_parent_organization("organizations/nope");
         return t->Create("x1", org);
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("organization"), "organizations/nope");
         EXPECT_EQ(d.bad_request->field_violations(0).field(), "organization.parent_organization");
       }},
      {kDeletedOrganization, R,
       [](ErrorDetailsTest* t) {
         rv1::Organization org = Org("X");
         org.set_parent_organization("organizations/gone");
         return t->Create("x1", org);
       },
       [](const Details& d) { EXPECT_EQ(d.meta("organization"), "organizations/gone"); }},
      {kEtagMismatch, R,
       [](ErrorDetailsTest* t) {
         rv1::Organization patch;
         patch.set_name("organizations/kfor");
         patch.set_etag("\"stale\"");
         patch.set_description("x");
         return t->Update(patch);
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("etag"), "\"stale\"");
         EXPECT_FALSE(d.meta("currentEtag").empty());
         ASSERT_TRUE(d.resource);
         EXPECT_EQ(d.resource->resource_name(), "organizations/kfor");
       }},
      {kOrganizationNotFound, R, [](ErrorDetailsTest* t) { return t->Get("organizations/nope"); },
       [](const Details& d) {
         EXPECT_EQ(d.resource->resource_type(), "registry.presence.dev/Organization");
         EXPECT_EQ(d.resource->resource_name(), "organizations/nope");
         EXPECT_EQ(d.meta("organization"), "organizations/nope");
       }},
      {kOrganizationAlreadyExists, R,
       [](ErrorDetailsTest* t) { return t->Create("gone", Org("Gone again")); },
       [](const Details& d) {
         EXPECT_EQ(d.resource->resource_name(), "organizations/gone");
         EXPECT_EQ(d.meta("state"), "DELETED");
       }},
      {kAliasTaken, R,
       [](ErrorDetailsTest* t) {
         rv1::Organization org = Org("Other");
         org.add_aliases("nato");
         return t->Create("other", org);
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("alias"), "nato");
         EXPECT_EQ(d.meta("holder"), "organizations/nato");
         EXPECT_EQ(d.resource->resource_name(), "organizations/nato");
       }},
      {kOrganizationIsDeleted, R,
       [](ErrorDetailsTest* t) {
         rv1::Organization patch;
         patch.set_name("organizations/gone");
         patch.set_description("x");
         return t->Update(patch);
       },
       [](const Details& d) {
         EXPECT_EQ(d.precondition->violations(0).subject(), "organizations/gone");
       }},
      {kOrganizationNotDeleted, R,
       [](ErrorDetailsTest* t) {
         rv1::UndeleteOrganizationRequest request;
         request.set_name("organizations/nato");
         rv1::Organization response;
         return t->stub_->UndeleteOrganization(Ctx().get(), request, &response);
       }},
      {kParentHasLiveChildren, R,
       [](ErrorDetailsTest* t) {
         rv1::DeleteOrganizationRequest request;
         request.set_name("organizations/nato");
         rv1::Organization response;
         return t->stub_->DeleteOrganization(Ctx().get(), request, &response);
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("organization"), "organizations/nato");
         EXPECT_EQ(d.meta("child"), "organizations/kfor");
         EXPECT_EQ(d.precondition->violations(0).type(), "LIVE_CHILD");
         EXPECT_EQ(d.precondition->violations(0).subject(), "organizations/kfor");
       }},
      {kParentCycle, R,
       [](ErrorDetailsTest* t) {
         rv1::Organization patch;
         patch.set_name("organizations/nato");
         patch.set_parent_organization("organizations/kfor");
         return t->Update(patch, {"parent_organization"});
       },
       field_is("organization.parent_organization")},
      {kRevisionAhead, R, [](ErrorDetailsTest* t) { return t->WatchFrom(1000000); },
       [](const Details& d) { EXPECT_EQ(d.meta("startRevision"), "1000000"); }},
      {kRevisionNotRetained, R,
       [](ErrorDetailsTest* t) {
         // 64 revisions in one write cross a trim point of the change log,
         // which keeps only the last change (change_retention 1).
         rv1::BatchCreateOrganizationsRequest request;
         for (int i = 0; i < 64; ++i) {
           auto* create = request.add_requests();
           create->set_organization_id(absl::StrCat("bulk-", i));
           *create->mutable_organization() = Org(absl::StrCat("Bulk ", i));
         }
         rv1::BatchCreateOrganizationsResponse response;
         EXPECT_TRUE(t->stub_->BatchCreateOrganizations(Ctx().get(), request, &response).ok());
         return t->WatchFrom(0);
       },
       [](const Details& d) { EXPECT_EQ(d.meta("startRevision"), "0"); }},
      {kTooManyWatchers, R,
       [](ErrorDetailsTest* t) {
         // Two established streams (the limit of this fixture), then a third.
         std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
         std::vector<std::unique_ptr<grpc::ClientReader<rv1::OrganizationChange>>> readers;
         rv1::WatchOrganizationsRequest request;
         request.set_start_revision(*t->registry_->CurrentRevision());
         for (int i = 0; i < 2; ++i) {
           contexts.push_back(Ctx());
           readers.push_back(t->stub_->WatchOrganizations(contexts.back().get(), request));
           readers.back()->WaitForInitialMetadata();
         }
         grpc::Status third = t->WatchFrom(*t->registry_->CurrentRevision());
         for (auto& c : contexts) c->TryCancel();
         for (auto& r : readers) r->Finish().ok();
         return third;
       },
       [](const Details& d) { EXPECT_EQ(d.meta("maxWatchers"), "2"); }},
      {kTokenRequired, R,
       [](ErrorDetailsTest* t) {
         rv1::CreateOrganizationRequest request;
         request.set_organization_id("x1");
         *request.mutable_organization() = Org("X");
         rv1::Organization response;
         return t->auth_stub_->CreateOrganization(Ctx().get(), request, &response);
       }},
      {kTokenInvalid, R,
       [](ErrorDetailsTest* t) {
         auto context = Ctx();
         context->AddMetadata("authorization", "Bearer not-a-known-token-xxxxx");
         rv1::GetOrganizationRequest request;
         request.set_name("organizations/nato");
         rv1::Organization response;
         return t->auth_stub_->GetOrganization(context.get(), request, &response);
       }},
      {kRoleInsufficient, R,
       [](ErrorDetailsTest* t) {
         auto context = Ctx();
         context->AddMetadata("authorization", absl::StrCat("Bearer ", kReaderToken));
         rv1::CreateOrganizationRequest request;
         request.set_organization_id("x1");
         *request.mutable_organization() = Org("X");
         rv1::Organization response;
         return t->auth_stub_->CreateOrganization(context.get(), request, &response);
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("principal"), "ops");
         EXPECT_EQ(d.meta("role"), "reader");
       }},
      {kWritesDisabled, R,
       [](ErrorDetailsTest* t) {
         rv1::CreateOrganizationRequest request;
         request.set_organization_id("x1");
         *request.mutable_organization() = Org("X");
         rv1::Organization response;
         return t->open_stub_->CreateOrganization(Ctx().get(), request, &response);
       }},
      {kDataCorrupted, R,
       [](ErrorDetailsTest* t) {
         storage::WriteBatch batch;
         batch.Put(registry::kRecords, "corrupt", "\xff\xff\xff");
         EXPECT_THAT(t->registry_->store()->Write(batch), IsOk());
         return t->Get("organizations/corrupt");
       }},
      {kServiceUnavailable, R,
       [](ErrorDetailsTest* t) { return GetWithStoreError(t, absl::UnavailableError("disk busy")); }},
      {kInternalError, R,
       [](ErrorDetailsTest* t) { return GetWithStoreError(t, absl::InternalError("I/O error")); }},
      {kDeadlineExceeded, R,
       [](ErrorDetailsTest* t) {
         return GetWithStoreError(t, absl::DeadlineExceededError("too slow"));
       }},
      {kCancelled, R,
       [](ErrorDetailsTest* t) { return GetWithStoreError(t, absl::CancelledError("stopped")); }},
      {kUnknownError, R,
       [](ErrorDetailsTest* t) { return GetWithStoreError(t, absl::UnknownError("what")); }},

      // The timeline.
      {kEventNotFound, T,
       [](ErrorDetailsTest* t) {
         tv1::GetEventRequest request;
         request.set_name("events/nope");
         tv1::Event response;
         return t->timeline_stub_->GetEvent(Ctx().get(), request, &response);
       },
       [](const Details& d) {
         EXPECT_EQ(d.resource->resource_type(), "timeline.presence.dev/Event");
         EXPECT_EQ(d.resource->resource_name(), "events/nope");
       }},
      {kEventAlreadyExists, T,
       [](ErrorDetailsTest* t) {
         EXPECT_TRUE(t->CreateEvent(*t->timeline_stub_, "e1", Ev()).ok());
         return t->CreateEvent(*t->timeline_stub_, "e1", Ev());
       },
       [](const Details& d) { EXPECT_EQ(d.resource->resource_name(), "events/e1"); }},
      {kEtagMismatch, T,
       [](ErrorDetailsTest* t) {
         tv1::DeleteEventRequest request;
         request.set_name("events/e1");
         request.set_etag("\"stale\"");
         google::protobuf::Empty response;
         return t->timeline_stub_->DeleteEvent(Ctx().get(), request, &response);
       },
       [](const Details& d) { EXPECT_EQ(d.resource->resource_name(), "events/e1"); }},
      {kRequestIdReused, T,
       [](ErrorDetailsTest* t) {
         const std::string id = "123e4567-e89b-42d3-a456-426614174001";
         EXPECT_TRUE(t->CreateEvent(*t->timeline_stub_, "e2", Ev(), id).ok());
         return t->CreateEvent(*t->timeline_stub_, "e3", Ev(), id);
       },
       [](const Details& d) { EXPECT_EQ(d.meta("created"), "events/e2"); }},
      {kUnknownOrganization, T,
       [](ErrorDetailsTest* t) {
         return t->CreateEvent(*t->timeline_stub_, "e4",
                                  Ev({"organizations/nato", "organizations/nope"}));
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("organization"), "organizations/nope");
         EXPECT_EQ(d.bad_request->field_violations(0).field(), "event.organizations[1]");
       }},
      {kDeletedOrganization, T,
       [](ErrorDetailsTest* t) {
         return t->CreateEvent(*t->timeline_stub_, "e4", Ev({"organizations/gone"}));
       },
       field_is("event.organizations[0]")},
      {kDuplicateEntry, T,
       [](ErrorDetailsTest* t) {
         return t->CreateEvent(*t->timeline_stub_, "e4",
                                  Ev({"organizations/nato", "organizations/nato"}));
       },
       field_is("event.organizations[1]")},
      {kFieldRequired, T,
       [](ErrorDetailsTest* t) {
         tv1::Event event = Ev();
         event.clear_title();
         return t->CreateEvent(*t->timeline_stub_, "e4", event);
       },
       field_is("event.title")},
      {kRegistryUnavailable, T,
       [](ErrorDetailsTest* t) { return t->CreateEvent(*t->cut_off_stub_, "e4", Ev()); },
       [](const Details& d) {
         EXPECT_EQ(d.meta("organization"), "organizations/nato");
         EXPECT_FALSE(d.meta("registryCode").empty());
       }},
      {kOrganizationsNotLoaded, T,
       [](ErrorDetailsTest* t) {
         tv1::GetPresenceRequest request;
         request.mutable_date()->set_year(2009);
         tv1::Presence response;
         return t->timeline_stub_->GetPresence(Ctx().get(), request, &response);
       }},
      {kConcurrentModification, T,
       [](ErrorDetailsTest* t) {
         // The event changes between every read of it outside the update's
         // transaction and the read inside it.
         EXPECT_TRUE(t->CreateEvent(*t->timeline_stub_, "e5", Ev()).ok());
         int counter = 0;
         t->timeline_faulty_->FilterGets([&counter](storage::TableId table, std::string* value) {
           if (table != timeline::kEvents) return;
           tv1::Event event;
           if (event.ParseFromString(*value)) {
             event.set_description(absl::StrCat(++counter));
             *value = event.SerializeAsString();
           }
         });
         tv1::UpdateEventRequest request;
         request.mutable_event()->set_name("events/e5");
         request.mutable_event()->set_title("Changed");
         request.mutable_update_mask()->add_paths("title");
         tv1::Event response;
         grpc::Status s = t->timeline_stub_->UpdateEvent(Ctx().get(), request, &response);
         t->timeline_faulty_->FilterGets(nullptr);
         return s;
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("event"), "events/e5");
         EXPECT_TRUE(d.retry);
       }},
      {kMalformedRequest, R,
       [](ErrorDetailsTest* t) {
         // A string field (name, field 1) holding invalid UTF-8.
         const std::string bytes = std::string("\x0a\x02\xff\xfe", 4);
         return testing::RawUnaryCall(testing::LoopbackChannel(t->server_->port()),
                                      "/presence.registry.v1.RegistryService/GetOrganization",
                                      bytes);
       },
       [](const Details& d) {
         EXPECT_EQ(d.meta("type"), "presence.registry.v1.GetOrganizationRequest");
         EXPECT_EQ(d.bad_request->field_violations(0).field(), "request");
       }},
      {kMalformedRequest, T,
       [](ErrorDetailsTest* t) {
         const std::string bytes = std::string("\x0a\x02\xff\xfe", 4);
         return testing::RawUnaryCall(testing::LoopbackChannel(t->timeline_server_->port()),
                                      "/presence.timeline.v1.TimelineService/GetEvent", bytes);
       }},
      {kInvalidPageToken, R,
       [](ErrorDetailsTest* t) {
         // A token of ListOrganizations given to ListOrganizationRevisions.
         rv1::ListOrganizationsRequest list;
         list.set_page_size(1);
         rv1::ListOrganizationsResponse page;
         EXPECT_TRUE(t->stub_->ListOrganizations(Ctx().get(), list, &page).ok());
         EXPECT_FALSE(page.next_page_token().empty());
         rv1::ListOrganizationRevisionsRequest request;
         request.set_name("organizations/kfor");
         request.set_page_token(page.next_page_token());
         rv1::ListOrganizationRevisionsResponse response;
         return t->stub_->ListOrganizationRevisions(Ctx().get(), request, &response);
       },
       field_is("page_token")},
  };
}

TEST_F(ErrorDetailsTest, AStorageFailureOfAWriteIsInternal) {
  faulty_->FailTransactions(absl::InternalError("disk on fire"));
  ExpectDetails(Create("x1", Org("X")), kInternalError, kRegistryDomain);
  faulty_->FailTransactions(absl::OkStatus());
  EXPECT_TRUE(Create("x1", Org("X")).ok());
}

TEST_F(ErrorDetailsTest, CallsBeyondMaxInFlightAreTooManyCalls) {
  absl::StatusOr<OneCallServer> one = StartOneCallServer();
  ASSERT_THAT(one, IsOk());
  rv1::RegistryService::Stub* stub = one->stub.get();
  // The first call stays in flight, held inside its read of the store.
  absl::Notification reading, release;
  faulty_->FilterGets([&](storage::TableId, std::string*) {
    if (!reading.HasBeenNotified()) reading.Notify();
    release.WaitForNotification();
  });
  std::thread first([&] {
    rv1::GetOrganizationRequest request;
    request.set_name("organizations/nato");
    rv1::Organization response;
    EXPECT_TRUE(stub->GetOrganization(Ctx().get(), request, &response).ok());
  });
  reading.WaitForNotification();
  rv1::GetOrganizationRequest request;
  request.set_name("organizations/kfor");
  rv1::Organization response;
  const grpc::Status second = stub->GetOrganization(Ctx().get(), request, &response);
  release.Notify();
  first.join();
  faulty_->FilterGets(nullptr);
  const Details d = ExpectDetails(second, kTooManyCalls, kRegistryDomain);
  EXPECT_EQ(d.meta("maxInFlight"), "1");
  one->server->Shutdown(absl::ZeroDuration());
}

// A read leaves the count of --max_in_flight before its answer is sent, so
// a client calling one read after another never meets its own previous
// call there. (Reads used to leave in their reactor's OnDone, which gRPC
// runs on its executor thread after the answer is out: the next call could
// arrive first and be refused with TOO_MANY_CALLS, and under load finished
// calls piled up in the count.)
TEST_F(ErrorDetailsTest, ReadsOneAfterAnotherNeverMeetTheirOwnCountAtMaxInFlight) {
  absl::StatusOr<OneCallServer> one = StartOneCallServer();
  ASSERT_THAT(one, IsOk());
  rv1::RegistryService::Stub* stub = one->stub.get();
  int refused = 0;
  for (int i = 0; i < 500; ++i) {
    rv1::GetOrganizationRequest request;
    request.set_name("organizations/kfor");
    rv1::Organization response;
    const grpc::Status s = stub->GetOrganization(Ctx().get(), request, &response);
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
    ASSERT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
  }
  EXPECT_EQ(refused, 0);
  one->server->Shutdown(absl::ZeroDuration());
}

TEST_F(ErrorDetailsTest, WatchStreamsEndWithShuttingDown) {
  rv1::WatchOrganizationsRequest request;
  request.set_start_revision(*registry_->CurrentRevision());
  auto context = Ctx();
  auto reader = stub_->WatchOrganizations(context.get(), request);
  reader->WaitForInitialMetadata();
  server_->Shutdown(absl::Seconds(5), [this] { service_->EndStreams(); });
  server_.reset();
  rv1::OrganizationChange change;
  while (reader->Read(&change)) {
  }
  ExpectDetails(reader->Finish(), kShuttingDown, kRegistryDomain);
}

// Every reason of the catalogue is provoked: above (the tests that break
// their fixture provoke INTERNAL_ERROR, TOO_MANY_CALLS and SHUTTING_DOWN);
// STORE_UNAVAILABLE, the PostgreSQL store's CONCURRENT_MODIFICATION and
// COMMIT_OUTCOME_UNKNOWN (a deferred trigger terminates the backend inside
// COMMIT) in tests/unit/kv_store_test.cc (PostgresStoreErrorsTest, label
// postgres).
TEST(ErrorReasonCoverageTest, EveryReasonHasACase) {
  std::set<std::string> provoked = {kInternalError, kTooManyCalls, kShuttingDown,
                                    kStoreUnavailable, kCommitOutcomeUnknown};
  for (const Case& c : SharedCases()) provoked.insert(c.reason);
  for (const ReasonInfo& r : AllReasons()) {
    EXPECT_TRUE(provoked.count(r.reason)) << r.reason << " is never provoked";
  }
}

}  // namespace
}  // namespace presence
