// presencectl's export and import against the real services (in-process
// gRPC servers on loopback, real RocksDB), as a property: for random
// histories of creations, updates (aliases moved between organizations,
// re-parenting, leaders), deletions and undeletions of organizations and of
// events, export -> import into empty services -> export is byte-identical,
// and importing again changes nothing.
//
// PRESENCE_ROUNDTRIP_SEEDS=N runs N histories instead of the default 16,
// from seed PRESENCE_ROUNDTRIP_FIRST_SEED (1).

#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/context.h"
#include "client/output.h"
#include "client/transfer.h"
#include "client/transfer_grpc.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/server/server.h"
#include "services/timeline/grpc_registry_client.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_grpc_service.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::presence::registry::v1::Organization;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;
using ::presence::timeline::v1::Event;

// A registry and a timeline that checks writes against it (through the
// registry; no change feed, so that a deletion counts at once), in `dir`.
class Stack {
 public:
  explicit Stack(const std::string& dir) {
    auto registry = testing::InProcessRegistry::Start(dir + "/registry");
    EXPECT_THAT(registry, IsOk());
    registry_ = *std::move(registry);
    timeline::GrpcRegistryClientOptions client_options;
    client_options.address = registry_->address();
    auto client = timeline::NewGrpcRegistryClient(client_options);
    EXPECT_THAT(client, IsOk());
    client_ = *std::move(client);
    auto store = testing::OpenTestStore(dir + "/timeline", timeline::kTableNames,
                                        timeline::kSchemaVersion);
    EXPECT_THAT(store, IsOk());
    auto opened = timeline::Timeline::Open(*std::move(store), client_.get(), &cache_);
    EXPECT_THAT(opened, IsOk());
    timeline_ = *std::move(opened);
    service_ = std::make_unique<timeline::TimelineGrpcService>(timeline_.get(),
                                                               testing::DefaultTestGate());
    auto server = testing::StartTestServer(service_.get(), "presence.timeline.v1.TimelineService");
    EXPECT_THAT(server, IsOk());
    server_ = *std::move(server);
    timeline_stub_ = tv1::TimelineService::NewStub(testing::LoopbackChannel(server_->port()));
    context_.flags().registry = registry_->address();
    context_.flags().timeline = absl::StrCat("127.0.0.1:", server_->port());
    EXPECT_THAT(context_.Prepare(), IsOk());
    target_ = cli::NewGrpcTransferTarget(context_);
  }
  ~Stack() {
    server_->Shutdown(absl::ZeroDuration());
    registry_->Shutdown();
  }

  rv1::RegistryService::Stub& registry() { return registry_->stub(); }
  tv1::TimelineService::Stub& timeline() { return *timeline_stub_; }
  cli::TransferTarget& target() { return *target_; }

  std::string Export() {
    std::ostringstream out;
    EXPECT_THAT(cli::Export(*target_, out), IsOk());
    return out.str();
  }
  int64_t Revision() {
    rv1::ListOrganizationsRequest request;
    request.set_page_size(1);
    rv1::ListOrganizationsResponse response;
    EXPECT_TRUE(registry().ListOrganizations(Ctx().get(), request, &response).ok());
    return response.revision();
  }

 private:
  std::unique_ptr<testing::InProcessRegistry> registry_;
  std::unique_ptr<timeline::RegistryClient> client_;
  timeline::OrganizationCache cache_;  // Never filled: writes ask the registry.
  std::unique_ptr<timeline::Timeline> timeline_;
  std::unique_ptr<timeline::TimelineGrpcService> service_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<tv1::TimelineService::Stub> timeline_stub_;
  std::ostringstream out_, err_;
  cli::Output output_{out_, err_};
  cli::Context context_{&output_};
  std::unique_ptr<cli::TransferTarget> target_;
};

// Random histories over a few ids and names, so that names collide often:
// acronyms and aliases are drawn from a pool that includes some of the ids.
class History {
 public:
  History(Stack& stack, uint32_t seed) : stack_(stack), rng_(seed) {}

  // Runs `steps` random operations; those the services refuse are skipped
  // (the services' rules decide which states are reachable).
  void Run(int steps) {
    for (int i = 0; i < steps; ++i) {
      switch (Pick(10)) {
        case 0: case 1: case 2: CreateOrganization(); break;
        case 3: case 4: UpdateOrganization(); break;
        case 5: DeleteOrganization(); break;
        case 6: UndeleteOrganization(); break;
        case 7: case 8: CreateEvent(); break;
        case 9: UpdateEvent(); break;
      }
    }
  }
  int writes() const { return writes_; }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  template <typename T>
  const T& Any(const std::vector<T>& v) { return v[Pick(static_cast<int>(v.size()))]; }

  std::vector<Organization> Orgs(bool live_only) {
    rv1::ListOrganizationsRequest request;
    request.set_page_size(1000);
    request.set_show_deleted(!live_only);
    rv1::ListOrganizationsResponse response;
    EXPECT_TRUE(stack_.registry().ListOrganizations(Ctx().get(), request, &response).ok());
    return {response.organizations().begin(), response.organizations().end()};
  }
  std::vector<Organization> Deleted() {
    std::vector<Organization> out;
    for (const Organization& o : Orgs(false)) {
      if (o.state() == Organization::DELETED) out.push_back(o);
    }
    return out;
  }

  type::v1::PartialDate Date() {
    type::v1::PartialDate d;
    d.set_year(1995 + Pick(20));
    switch (Pick(4)) {
      case 0: d.set_month(1 + Pick(12)); d.set_day(1 + Pick(28)); break;
      case 1: d.set_month(1 + Pick(12)); break;
      case 2: d.set_part(static_cast<type::v1::PartialDate::Part>(1 + Pick(3))); break;
      default: break;
    }
    d.set_approximate(Pick(4) == 0);
    return d;
  }

  // Names, aliases and leaders drawn at random; `self` is the organization's
  // own name (its leaders may be appointed by anyone that exists).
  void Fill(Organization* org, const std::string& self) {
    static const std::vector<std::string> kNames = {"K1", "K2", "Alpha", "o1", "o2", "o5", "Beta"};
    org->set_display_name(absl::StrCat("Organization ", Pick(100)));
    org->set_kind(static_cast<Organization::Kind>(1 + Pick(10)));
    org->clear_acronym();
    if (Pick(2) == 0) org->set_acronym(Any(kNames));
    org->clear_aliases();
    for (int n = Pick(3); n > 0; --n) org->add_aliases(Any(kNames));
    org->clear_established();
    if (Pick(2) == 0) *org->mutable_established() = Date();
    org->clear_leaders();
    if (Pick(3) == 0) {
      auto* leader = org->add_leaders();
      leader->set_role("Head");
      leader->set_person(absl::StrCat("Person ", Pick(10)));
      const std::vector<Organization> all = Orgs(false);
      if (!all.empty() && Pick(2) == 0) leader->set_appointed_by(Any(all).name());
      if (Pick(4) == 0) leader->set_appointed_by(self);
    }
    if (Pick(3) == 0) {
      auto* h = org->add_headcounts();
      *h->mutable_as_of() = Date();
      h->set_category(Organization::Headcount::STAFF);
      h->set_count(Pick(5000));
    }
  }

  void CreateOrganization() {
    rv1::CreateOrganizationRequest request;
    request.set_organization_id(absl::StrCat("o", Pick(9)));
    const std::string self = "organizations/" + request.organization_id();
    Fill(request.mutable_organization(), self);
    const std::vector<Organization> live = Orgs(true);
    if (!live.empty() && Pick(3) != 0) {
      request.mutable_organization()->set_parent_organization(Any(live).name());
    }
    Organization out;
    Count(stack_.registry().CreateOrganization(Ctx().get(), request, &out));
  }

  void UpdateOrganization() {
    const std::vector<Organization> live = Orgs(true);
    if (live.empty()) return;
    Organization org = Any(live);
    rv1::UpdateOrganizationRequest request;
    switch (Pick(3)) {
      case 0: {  // New names: aliases move between organizations this way.
        Organization names;
        Fill(&names, org.name());
        org.set_acronym(names.acronym());
        *org.mutable_aliases() = names.aliases();
        break;
      }
      case 1: {  // Re-parent, or no parent.
        const Organization& parent = Any(live);
        org.set_parent_organization(Pick(4) == 0 ? "" : parent.name());
        break;
      }
      default:
        Fill(&org, org.name());
        org.set_description(absl::StrCat("Revised ", Pick(1000)));
        break;
    }
    *request.mutable_organization() = org;
    request.mutable_update_mask()->add_paths("*");
    Organization out;
    Count(stack_.registry().UpdateOrganization(Ctx().get(), request, &out));
  }

  void DeleteOrganization() {
    const std::vector<Organization> live = Orgs(true);
    if (live.empty()) return;
    rv1::DeleteOrganizationRequest request;
    request.set_name(Any(live).name());
    Organization out;
    Count(stack_.registry().DeleteOrganization(Ctx().get(), request, &out));
  }

  void UndeleteOrganization() {
    const std::vector<Organization> deleted = Deleted();
    if (deleted.empty()) return;
    rv1::UndeleteOrganizationRequest request;
    request.set_name(Any(deleted).name());
    Organization out;
    Count(stack_.registry().UndeleteOrganization(Ctx().get(), request, &out));
  }

  void CreateEvent() {
    const std::vector<Organization> live = Orgs(true);
    if (live.empty()) return;
    tv1::CreateEventRequest request;
    request.set_event_id(absl::StrCat("e", Pick(12)));
    Event* event = request.mutable_event();
    event->set_title(absl::StrCat("Event ", Pick(100)));
    event->set_kind(static_cast<Event::Kind>(1 + Pick(11)));
    *event->mutable_start() = Date();
    for (int n = 1 + Pick(2); n > 0; --n) event->add_organizations(Any(live).name());
    Event out;
    Count(stack_.timeline().CreateEvent(Ctx().get(), request, &out));
  }

  void UpdateEvent() {
    const std::vector<Organization> live = Orgs(true);
    tv1::ListEventsRequest list;
    list.set_page_size(1000);
    tv1::ListEventsResponse events;
    EXPECT_TRUE(stack_.timeline().ListEvents(Ctx().get(), list, &events).ok());
    if (events.events().empty() || live.empty()) return;
    Event event = events.events(Pick(events.events_size()));
    event.set_title(absl::StrCat("Retitled ", Pick(100)));
    if (Pick(2) == 0) {
      event.clear_organizations();
      event.add_organizations(Any(live).name());
    }
    tv1::UpdateEventRequest request;
    *request.mutable_event() = event;
    request.mutable_update_mask()->add_paths("*");
    Event out;
    Count(stack_.timeline().UpdateEvent(Ctx().get(), request, &out));
  }

  void Count(const grpc::Status& status) {
    if (status.ok()) ++writes_;
  }

  Stack& stack_;
  std::mt19937 rng_;
  int writes_ = 0;
};

int EnvOr(const char* name, int fallback) {
  const char* env = std::getenv(name);
  return env != nullptr ? std::atoi(env) : fallback;
}

TEST(TransferRoundTripTest, ExportImportExportIsIdenticalAndReimportChangesNothing) {
  int with_deleted = 0;
  const int first = EnvOr("PRESENCE_ROUNDTRIP_FIRST_SEED", 1);
  const int seeds = EnvOr("PRESENCE_ROUNDTRIP_SEEDS", 16);
  for (int seed = first; seed < first + seeds; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    testing::TempDir dir;
    Stack source(dir.Sub("source"));
    History history(source, static_cast<uint32_t>(seed));
    history.Run(60);
    const std::string exported = source.Export();
    ASSERT_FALSE(exported.empty());
    if (exported.find("\"state\":\"DELETED\"") != std::string::npos) ++with_deleted;

    Stack target(dir.Sub("target"));
    std::vector<std::string> errors;
    const auto on_error = [&](int line, absl::string_view m) {
      errors.push_back(absl::StrCat(line, ": ", m));
    };
    const std::vector<cli::ImportLine> lines = cli::ParseImportText(exported, on_error);
    auto first = cli::Import(target.target(), lines, {}, on_error);
    ASSERT_THAT(first, IsOk());
    EXPECT_THAT(errors, ::testing::IsEmpty()) << exported;
    EXPECT_EQ(first->failed, 0);
    EXPECT_EQ(first->created, static_cast<int>(lines.size()));
    const std::string again = target.Export();
    ASSERT_EQ(again, exported) << "history of " << history.writes() << " writes";

    const int64_t revision = target.Revision();
    auto second = cli::Import(target.target(), lines, {}, on_error);
    ASSERT_THAT(second, IsOk());
    EXPECT_EQ(second->unchanged, static_cast<int>(lines.size()));
    EXPECT_EQ(second->created + second->updated + second->failed, 0);
    EXPECT_EQ(target.Revision(), revision) << "a re-import wrote";
    EXPECT_EQ(target.Export(), exported);
  }
  // The histories exercise what the test is about.
  EXPECT_GT(with_deleted, seeds / 2);
}

}  // namespace
}  // namespace presence
