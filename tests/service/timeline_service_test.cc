// The timeline's API through a real gRPC server on a loopback port, with
// real RocksDB, and the registry replaced by the RegistryClient seam.

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/call_context.h"
#include "services/common/partial_date.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_grpc_service.h"
#include "tests/testing/fake_registry_client.h"
#include "tests/testing/faulty_kv_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::timeline::v1::CreateEventRequest;
using ::presence::timeline::v1::DeleteEventRequest;
using ::presence::timeline::v1::Event;
using ::presence::timeline::v1::GetEventRequest;
using ::presence::timeline::v1::GetPresenceRequest;
using ::presence::timeline::v1::ListEventsRequest;
using ::presence::timeline::v1::ListEventsResponse;
using ::presence::timeline::v1::Presence;
using ::presence::timeline::v1::UpdateEventRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

type::v1::PartialDate D(const std::string& text) {
  auto date = ParsePartialDate(text);
  EXPECT_THAT(date, IsOk()) << text;
  return date.ok() ? *date : type::v1::PartialDate();
}

Event MakeEvent(const std::string& start, const std::string& end = "",
                std::vector<std::string> orgs = {"organizations/kfor"}) {
  Event event;
  event.set_title("Something happened");
  event.set_kind(Event::DEPLOYMENT);
  *event.mutable_start() = D(start);
  if (!end.empty()) *event.mutable_end() = D(end);
  for (auto& org : orgs) event.add_organizations(org);
  return event;
}

Organization MakeOrg(const std::string& id, bool deleted = false) {
  Organization org;
  org.set_name("organizations/" + id);
  org.set_display_name(id);
  org.set_kind(Organization::KIND_MILITARY_MISSION);
  org.set_state(deleted ? Organization::DELETED : Organization::ACTIVE);
  org.set_revision(1);
  return org;
}

class TimelineServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"kfor", "nato", "eulex", "unmik"}) fake_.Put(MakeOrg(id));
    fake_.Put(MakeOrg("gone", /*deleted=*/true));
    auto store = testing::OpenTestStore(dir_.Sub("db"), timeline::kTableNames);
    ASSERT_THAT(store, IsOk());
    auto faulty = std::make_unique<testing::FaultyKvStore>(*std::move(store));
    faulty_ = faulty.get();
    auto opened = timeline::Timeline::Open(std::move(faulty), &fake_, &cache_);
    ASSERT_THAT(opened, IsOk());
    timeline_ = *std::move(opened);
    service_ = std::make_unique<timeline::TimelineGrpcService>(
        timeline_.get(), testing::DefaultTestGate());
    auto server =
        testing::StartTestServer(service_.get(), "presence.timeline.v1.TimelineService");
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    stub_ = timeline::v1::TimelineService::NewStub(
        testing::LoopbackChannel(server_->port()));
  }

  void TearDown() override { server_->Shutdown(absl::ZeroDuration()); }

  grpc::Status Create(const std::string& id, const Event& event,
                      Event* out = nullptr, const std::string& request_id = "",
                      absl::Duration timeout = absl::Seconds(20)) {
    CreateEventRequest request;
    request.set_event_id(id);
    *request.mutable_event() = event;
    request.set_request_id(request_id);
    Event response;
    grpc::Status s = stub_->CreateEvent(Ctx(timeout).get(), request, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  Event MustCreate(const std::string& id, const Event& event) {
    Event out;
    grpc::Status s = Create(id, event, &out);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    return out;
  }

  std::vector<std::string> ListAll(ListEventsRequest request) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 10000; ++pages) {
      ListEventsResponse response;
      grpc::Status s = stub_->ListEvents(Ctx().get(), request, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const auto& e : response.events()) ids.push_back(e.name());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return ids;
  }

  ListEventsRequest Window(const std::string& since, const std::string& until) {
    ListEventsRequest request;
    if (!since.empty()) *request.mutable_since() = D(since);
    if (!until.empty()) *request.mutable_until() = D(until);
    return request;
  }

  testing::TempDir dir_;
  testing::FakeRegistryClient fake_;
  testing::FaultyKvStore* faulty_ = nullptr;  // The timeline's store.
  timeline::OrganizationCache cache_;
  std::unique_ptr<timeline::Timeline> timeline_;
  std::unique_ptr<timeline::TimelineGrpcService> service_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<timeline::v1::TimelineService::Stub> stub_;
};

// Another replica commits the same request (event and request-id record,
// in one transaction) after this call's first look for the record and
// before its look for the event: the call must answer the first result,
// not refuse the retry as ALREADY_EXISTS (seen with two timeline replicas
// on PostgreSQL). The hook stands for the other replica: the domain keeps
// nothing in memory that a replica's answer depends on.
TEST_F(TimelineServiceTest, ARequestCommittedByAnotherReplicaBetweenTwoLooksIsAnswered) {
  CreateEventRequest request;
  request.set_event_id("raced");
  request.set_request_id("7d444840-9dc0-4c4b-8b2a-5f1e2d3c4b5a");
  *request.mutable_event() = MakeEvent("1999-06-12");
  absl::StatusOr<Event> other = absl::UnknownError("the other replica did not run");
  faulty_->BeforeNextGet(timeline::kEvents,
                        [&] { other = timeline_->CreateEvent(request, CallContext{}); });
  absl::StatusOr<Event> created = timeline_->CreateEvent(request, CallContext{});
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->SerializeAsString(), other->SerializeAsString());
}

TEST_F(TimelineServiceTest, CreateGetUpdateDelete) {
  Event event = MakeEvent("2008-12-09");
  event.set_etag("ignored");
  Event created = MustCreate("eulex-deployed", event);
  EXPECT_EQ(created.name(), "events/eulex-deployed");
  EXPECT_FALSE(created.etag().empty());
  EXPECT_NE(created.etag(), "ignored");
  EXPECT_GT(created.create_time().seconds(), 0);

  GetEventRequest get;
  get.set_name("events/eulex-deployed");
  Event got;
  ASSERT_THAT(stub_->GetEvent(Ctx().get(), get, &got), IsOk());
  EXPECT_EQ(got.DebugString(), created.DebugString());

  UpdateEventRequest update;
  update.mutable_event()->set_name(created.name());
  update.mutable_event()->set_title("EULEX deploys");
  update.mutable_event()->set_etag(created.etag());
  update.mutable_update_mask()->add_paths("title");
  Event updated;
  ASSERT_THAT(stub_->UpdateEvent(Ctx().get(), update, &updated), IsOk());
  EXPECT_EQ(updated.title(), "EULEX deploys");
  EXPECT_NE(updated.etag(), created.etag());
  EXPECT_EQ(updated.create_time().seconds(), created.create_time().seconds());
  // Every index holds the updated event: the window's levels and the
  // organization's run (a history has no lower bound).
  ListEventsRequest history;
  history.add_organizations("organizations/kfor");
  for (const ListEventsRequest& list : {history, Window("2008", "2008")}) {
    ListEventsResponse listed;
    ASSERT_THAT(stub_->ListEvents(Ctx().get(), list, &listed), IsOk());
    ASSERT_EQ(listed.events_size(), 1);
    EXPECT_EQ(listed.events(0).DebugString(), updated.DebugString());
  }
  // The old etag is stale now.
  EXPECT_THAT(stub_->UpdateEvent(Ctx().get(), update, &updated),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("etag")));

  DeleteEventRequest del;
  del.set_name(created.name());
  del.set_etag(created.etag());
  google::protobuf::Empty empty;
  EXPECT_THAT(stub_->DeleteEvent(Ctx().get(), del, &empty),
              StatusIs(absl::StatusCode::kAborted));
  del.set_etag(updated.etag());
  ASSERT_THAT(stub_->DeleteEvent(Ctx().get(), del, &empty), IsOk());
  EXPECT_THAT(stub_->GetEvent(Ctx().get(), get, &got),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(ListAll(ListEventsRequest()).empty()) << "index entries left";
  EXPECT_TRUE(ListAll(history).empty()) << "run entries left";
}

// Issue 12, defect 4: an empty mask path is refused, naming it, and an
// update that changes nothing writes nothing (same etag and update time).
TEST_F(TimelineServiceTest, EmptyMaskPathsAreRefusedAndNoOpUpdatesWriteNothing) {
  Event created;
  ASSERT_THAT(Create("noop", MakeEvent("2008-12-09"), &created), IsOk());
  UpdateEventRequest update;
  update.mutable_event()->set_name(created.name());
  update.mutable_event()->set_title(created.title());
  update.mutable_update_mask()->add_paths("");
  Event updated;
  EXPECT_THAT(stub_->UpdateEvent(Ctx().get(), update, &updated),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("update_mask: \"\"")));
  update.mutable_update_mask()->set_paths(0, "title");
  ASSERT_THAT(stub_->UpdateEvent(Ctx().get(), update, &updated), IsOk());
  EXPECT_EQ(updated.DebugString(), created.DebugString());
  update.mutable_update_mask()->set_paths(0, "etag");  // Output-only: nothing.
  ASSERT_THAT(stub_->UpdateEvent(Ctx().get(), update, &updated), IsOk());
  EXPECT_EQ(updated.etag(), created.etag());
}

TEST_F(TimelineServiceTest, BadInputsGetPreciseStatuses) {
  MustCreate("existing", MakeEvent("2009"));
  const auto create = [this](const std::string& id, std::function<void(Event*)> edit,
                             const std::string& request_id = "") {
    return [this, id, edit, request_id] {
      Event e = MakeEvent("2009-04");
      edit(&e);
      return Create(id, e, nullptr, request_id);
    };
  };
  const auto none = [](Event*) {};
  const auto list = [this](std::function<void(ListEventsRequest*)> edit) {
    return [this, edit] {
      ListEventsRequest r;
      edit(&r);
      ListEventsResponse out;
      return stub_->ListEvents(Ctx().get(), r, &out);
    };
  };
  const auto presence = [this](std::function<void(GetPresenceRequest*)> edit) {
    return [this, edit] {
      GetPresenceRequest r;
      *r.mutable_date() = D("2009");
      edit(&r);
      Presence out;
      return stub_->GetPresence(Ctx().get(), r, &out);
    };
  };
  struct Case {
    std::string label;
    std::function<grpc::Status()> call;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"create: no id", create("", none), absl::StatusCode::kInvalidArgument, "event_id"},
      {"create: bad id", create("Bad_Id", none), absl::StatusCode::kInvalidArgument, "event_id: \"Bad_Id\""},
      {"create: no event", [this] { CreateEventRequest r; r.set_event_id("x"); Event o; return stub_->CreateEvent(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "event: is required"},
      {"create: no title", create("x", [](Event* e) { e->clear_title(); }), absl::StatusCode::kInvalidArgument, "event.title"},
      {"create: no kind", create("x", [](Event* e) { e->clear_kind(); }), absl::StatusCode::kInvalidArgument, "event.kind"},
      {"create: bad kind", create("x", [](Event* e) { e->set_kind(static_cast<Event::Kind>(77)); }), absl::StatusCode::kInvalidArgument, "event.kind: 77"},
      {"create: no start", create("x", [](Event* e) { e->clear_start(); }), absl::StatusCode::kInvalidArgument, "event.start: is required"},
      {"create: 2009-02-30", create("x", [](Event* e) { e->mutable_start()->set_day(30); e->mutable_start()->set_month(2); }), absl::StatusCode::kInvalidArgument, "event.start.day: 2009-02-30"},
      {"create: month 13", create("x", [](Event* e) { e->mutable_start()->set_month(13); }), absl::StatusCode::kInvalidArgument, "event.start.month: 13"},
      {"create: end before start", create("x", [](Event* e) { *e->mutable_end() = D("2008"); }), absl::StatusCode::kInvalidArgument, "event.end: 2008 is before event.start 2009-04"},
      {"create: no organizations", create("x", [](Event* e) { e->clear_organizations(); }), absl::StatusCode::kInvalidArgument, "event.organizations"},
      {"create: bad organization", create("x", [](Event* e) { e->add_organizations("kfor"); }), absl::StatusCode::kInvalidArgument, "event.organizations[1]: \"kfor\""},
      {"create: duplicate organization", create("x", [](Event* e) { e->add_organizations("organizations/kfor"); }), absl::StatusCode::kInvalidArgument, "listed twice"},
      {"create: unknown organization", create("x", [](Event* e) { e->add_organizations("organizations/nope"); }), absl::StatusCode::kInvalidArgument, "event.organizations[1]: organizations/nope does not exist"},
      {"create: deleted organization", create("x", [](Event* e) { e->add_organizations("organizations/gone"); }), absl::StatusCode::kInvalidArgument, "organizations/gone is deleted"},
      {"create: source without document", create("x", [](Event* e) { e->add_sources()->set_quote("q"); }), absl::StatusCode::kInvalidArgument, "event.sources[0].document"},
      {"create: bad request id", create("x", none, "nope"), absl::StatusCode::kInvalidArgument, "request_id"},
      {"create: existing", create("existing", none), absl::StatusCode::kAlreadyExists, "events/existing"},
      {"get: bad name", [this] { GetEventRequest r; r.set_name("existing"); Event o; return stub_->GetEvent(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "name: \"existing\""},
      {"get: missing", [this] { GetEventRequest r; r.set_name("events/nope"); Event o; return stub_->GetEvent(Ctx().get(), r, &o); }, absl::StatusCode::kNotFound, "events/nope"},
      {"list: negative page size", list([](ListEventsRequest* r) { r->set_page_size(-3); }), absl::StatusCode::kInvalidArgument, "page_size: -3"},
      {"list: garbage token", list([](ListEventsRequest* r) { r->set_page_token("%%%"); }), absl::StatusCode::kInvalidArgument, "page_token"},
      {"list: bad since", list([](ListEventsRequest* r) { r->mutable_since()->set_year(2009); r->mutable_since()->set_month(2); r->mutable_since()->set_day(29); }), absl::StatusCode::kInvalidArgument, "since.day"},
      {"list: until before since", list([](ListEventsRequest* r) { *r->mutable_since() = D("2009"); *r->mutable_until() = D("2008"); }), absl::StatusCode::kInvalidArgument, "until: 2008"},
      {"list: bad kind", list([](ListEventsRequest* r) { r->add_kinds(static_cast<Event::Kind>(99)); }), absl::StatusCode::kInvalidArgument, "kinds[0]: 99"},
      {"list: bad organization", list([](ListEventsRequest* r) { r->add_organizations("kfor"); }), absl::StatusCode::kInvalidArgument, "organizations[0]"},
      {"update: unknown path", [this] { UpdateEventRequest r; r.mutable_event()->set_name("events/existing"); r.mutable_update_mask()->add_paths("colour"); Event o; return stub_->UpdateEvent(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "update_mask: \"colour\""},
      {"update: missing", [this] { UpdateEventRequest r; r.mutable_event()->set_name("events/nope"); r.mutable_update_mask()->add_paths("title"); Event o; return stub_->UpdateEvent(Ctx().get(), r, &o); }, absl::StatusCode::kNotFound, "events/nope"},
      {"update: clears start", [this] { UpdateEventRequest r; r.mutable_event()->set_name("events/existing"); r.mutable_update_mask()->add_paths("start"); Event o; return stub_->UpdateEvent(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "event.start: is required"},
      {"update: unknown organization", [this] { UpdateEventRequest r; r.mutable_event()->set_name("events/existing"); r.mutable_event()->add_organizations("organizations/nope"); r.mutable_update_mask()->add_paths("organizations"); Event o; return stub_->UpdateEvent(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "organizations/nope does not exist"},
      {"delete: missing", [this] { DeleteEventRequest r; r.set_name("events/nope"); google::protobuf::Empty o; return stub_->DeleteEvent(Ctx().get(), r, &o); }, absl::StatusCode::kNotFound, "events/nope"},
      {"presence: no date", presence([](GetPresenceRequest* r) { r->clear_date(); }), absl::StatusCode::kInvalidArgument, "date: is required"},
      {"presence: bad date", presence([](GetPresenceRequest* r) { r->mutable_date()->set_month(14); }), absl::StatusCode::kInvalidArgument, "date.month: 14"},
      {"presence: negative max", presence([](GetPresenceRequest* r) { r->set_max_events(-1); }), absl::StatusCode::kInvalidArgument, "max_events: -1"},
      {"presence: bad kind", presence([](GetPresenceRequest* r) { r->add_kinds(static_cast<Organization::Kind>(99)); }), absl::StatusCode::kInvalidArgument, "kinds[0]: 99"},
      {"presence: cache empty", presence([](GetPresenceRequest*) {}), absl::StatusCode::kUnavailable, "not been loaded"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    EXPECT_THAT(c.call(), StatusIs(c.code, HasSubstr(c.message)));
  }
  EXPECT_THAT(ListAll(ListEventsRequest()), ElementsAre("events/existing"));
}

TEST_F(TimelineServiceTest, BatchCreateChecksEachOrganizationOnceAndIsAtomic) {
  timeline::v1::BatchCreateEventsRequest request;
  for (int i = 0; i < 50; ++i) {
    auto* create = request.add_requests();
    create->set_event_id(absl::StrFormat("b%02d", i));
    *create->mutable_event() = MakeEvent(absl::StrFormat("2009-%02d", 1 + i % 12), "",
                                         {"organizations/kfor", "organizations/nato"});
  }
  timeline::v1::BatchCreateEventsResponse response;
  const int calls_before = fake_.calls();
  ASSERT_THAT(stub_->BatchCreateEvents(Ctx().get(), request, &response), IsOk());
  EXPECT_EQ(response.events_size(), 50);
  EXPECT_EQ(fake_.calls() - calls_before, 2) << "one check per distinct organization";
  EXPECT_EQ(ListAll(Window("2009", "2009")).size(), 50u);

  request.Clear();
  auto* ok = request.add_requests();
  ok->set_event_id("fine");
  *ok->mutable_event() = MakeEvent("2011");
  auto* bad = request.add_requests();
  bad->set_event_id("bad");
  *bad->mutable_event() = MakeEvent("2011", "", {"organizations/nope"});
  EXPECT_THAT(stub_->BatchCreateEvents(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("requests[1].event.organizations[0]: organizations/nope")));
  bad->set_event_id("b00");  // Exists already.
  *bad->mutable_event() = MakeEvent("2011");
  EXPECT_THAT(stub_->BatchCreateEvents(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("requests[1].")));
  EXPECT_TRUE(ListAll(Window("2011", "2011")).empty()) << "nothing of a failed batch";
}

TEST_F(TimelineServiceTest, ALiveCacheAnswersForTheRegistry) {
  Organization kfor = MakeOrg("kfor");
  cache_.Replace({kfor, MakeOrg("gone", /*deleted=*/true)}, 7);
  cache_.SetLive(true);
  fake_.FailWith(absl::UnavailableError("registry down"));
  // Cached: no registry call needed.
  EXPECT_THAT(Create("cached", MakeEvent("2010")), IsOk());
  EXPECT_THAT(Create("deleted", MakeEvent("2010", "", {"organizations/gone"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is deleted")));
  // A miss asks the registry, which is down.
  EXPECT_THAT(Create("missed", MakeEvent("2010", "", {"organizations/nato"})),
              StatusIs(absl::StatusCode::kUnavailable));
  // Without a live feed every check asks the registry.
  cache_.SetLive(false);
  EXPECT_THAT(Create("not-live", MakeEvent("2010")), StatusIs(absl::StatusCode::kUnavailable));
  fake_.FailWith(absl::OkStatus());
  EXPECT_THAT(Create("not-live", MakeEvent("2010")), IsOk());
}

TEST_F(TimelineServiceTest, UnreachableRegistryMeansUnavailableAndNothingWritten) {
  MustCreate("before", MakeEvent("2009"));
  fake_.FailWith(absl::UnavailableError("connection refused"));
  Event out;
  EXPECT_THAT(Create("during", MakeEvent("2009"), &out),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("nothing was written")));
  UpdateEventRequest update;
  update.mutable_event()->set_name("events/before");
  update.mutable_event()->set_title("changed");
  update.mutable_update_mask()->add_paths("title");
  EXPECT_THAT(stub_->UpdateEvent(Ctx().get(), update, &out),
              StatusIs(absl::StatusCode::kUnavailable));
  // Reads never depend on the registry.
  EXPECT_THAT(ListAll(ListEventsRequest()), ElementsAre("events/before"));
  GetEventRequest get;
  get.set_name("events/before");
  ASSERT_THAT(stub_->GetEvent(Ctx().get(), get, &out), IsOk());
  EXPECT_EQ(out.title(), "Something happened");
  get.set_name("events/during");
  EXPECT_THAT(stub_->GetEvent(Ctx().get(), get, &out),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(TimelineServiceTest, RegistryCallsNeverOutliveTheRequestDeadline) {
  const absl::Time before = absl::Now();
  ASSERT_THAT(Create("e", MakeEvent("2009", "", {"organizations/kfor", "organizations/nato"}),
                     nullptr, "", absl::Milliseconds(1500)),
              IsOk());
  const std::vector<absl::Time> deadlines = fake_.deadlines();
  ASSERT_EQ(deadlines.size(), 2u);
  for (absl::Time d : deadlines) {
    EXPECT_LE(d, before + absl::Milliseconds(1500) + absl::Milliseconds(50));
    EXPECT_GT(d, before);
  }
}

TEST_F(TimelineServiceTest, RequestIdRetryAndValidateOnly) {
  const std::string request_id = "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60";
  Event first;
  ASSERT_THAT(Create("e", MakeEvent("2009"), &first, request_id), IsOk());
  Event retry;
  ASSERT_THAT(Create("e", MakeEvent("2010"), &retry, request_id), IsOk());
  EXPECT_EQ(retry.DebugString(), first.DebugString());
  EXPECT_THAT(Create("e", MakeEvent("2009")), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Create("f", MakeEvent("2009"), nullptr, request_id),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("events/e")));

  CreateEventRequest request;
  request.set_event_id("dry-run");
  *request.mutable_event() = MakeEvent("2009");
  request.set_validate_only(true);
  Event would_be;
  ASSERT_THAT(stub_->CreateEvent(Ctx().get(), request, &would_be), IsOk());
  EXPECT_EQ(would_be.name(), "events/dry-run");
  EXPECT_THAT(ListAll(ListEventsRequest()), ElementsAre("events/e"));
  // validate_only still asks the registry.
  request.mutable_event()->add_organizations("organizations/nope");
  EXPECT_THAT(stub_->CreateEvent(Ctx().get(), request, &would_be),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TimelineServiceTest, WindowsOrderAndFilters) {
  MustCreate("unmik-administration",
             MakeEvent("1999", "2008-06-15", {"organizations/unmik"}));
  MustCreate("constitution", MakeEvent("2008-06-15", "", {"organizations/unmik"}));
  MustCreate("srsg", MakeEvent("2008-06", "", {"organizations/unmik"}));
  MustCreate("eulex", MakeEvent("2008-12-09", "", {"organizations/eulex"}));
  Event downsizing = MakeEvent("early 2010", "", {"organizations/kfor", "organizations/nato"});
  downsizing.set_kind(Event::DOWNSIZING);
  MustCreate("kfor-downsizing", downsizing);
  MustCreate("open-ended", MakeEvent("2009-06", "9999", {"organizations/kfor"}));

  // Ties on lower(start) (June 1 for "2008-06" is earlier than June 15).
  EXPECT_THAT(ListAll(Window("2008-06", "2008-06")),
              ElementsAre("events/unmik-administration", "events/srsg",
                          "events/constitution"));
  ListEventsRequest desc = Window("2008-06", "2008-06");
  desc.set_descending(true);
  EXPECT_THAT(ListAll(desc), ElementsAre("events/constitution", "events/srsg",
                                         "events/unmik-administration"));
  // Open bounds.
  EXPECT_THAT(ListAll(Window("2010", "")),
              ElementsAre("events/open-ended", "events/kfor-downsizing"));
  EXPECT_THAT(ListAll(Window("", "2000")), ElementsAre("events/unmik-administration"));
  // A far-future window still finds the open-ended period.
  EXPECT_THAT(ListAll(Window("2500", "2600")), ElementsAre("events/open-ended"));
  // Filters.
  ListEventsRequest by_org;
  by_org.add_organizations("organizations/nato");
  by_org.add_organizations("organizations/kfor");
  EXPECT_THAT(ListAll(by_org),
              ElementsAre("events/open-ended", "events/kfor-downsizing"));
  ListEventsRequest by_kind;
  by_kind.add_kinds(Event::DOWNSIZING);
  EXPECT_THAT(ListAll(by_kind), ElementsAre("events/kfor-downsizing"));
  // Pages of one, and a token bound to its request.
  ListEventsRequest paged;
  paged.set_page_size(1);
  EXPECT_EQ(ListAll(paged).size(), 6u);
  ListEventsResponse first;
  ASSERT_THAT(stub_->ListEvents(Ctx().get(), paged, &first), IsOk());
  paged.set_page_token(first.next_page_token());
  paged.set_descending(true);
  EXPECT_THAT(stub_->ListEvents(Ctx().get(), paged, &first),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

TEST_F(TimelineServiceTest, UpdatingDatesMovesTheEventBetweenWindows) {
  Event created = MustCreate("moving", MakeEvent("2008-03"));
  EXPECT_THAT(ListAll(Window("2008", "2008")), ElementsAre("events/moving"));
  UpdateEventRequest update;
  update.mutable_event()->set_name(created.name());
  *update.mutable_event()->mutable_start() = D("2011-05-05");
  update.mutable_update_mask()->add_paths("start");
  Event updated;
  ASSERT_THAT(stub_->UpdateEvent(Ctx().get(), update, &updated), IsOk());
  EXPECT_TRUE(ListAll(Window("2008", "2008")).empty());
  EXPECT_THAT(ListAll(Window("2011", "2011")), ElementsAre("events/moving"));
  ListEventsRequest by_org;
  by_org.add_organizations("organizations/kfor");
  EXPECT_THAT(ListAll(by_org), ElementsAre("events/moving"));
}

TEST_F(TimelineServiceTest, PaginationUnderConcurrentInsertsNeverDuplicatesOrSkips) {
  std::set<std::string> stable;
  for (int i = 0; i < 60; ++i) {
    const std::string id = absl::StrFormat("stable-%02d", i);
    MustCreate(id, MakeEvent(absl::StrFormat("2008-%02d-%02d", 1 + i % 12, 1 + i % 28)));
    stable.insert("events/" + id);
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 300; ++i) {
      Create(absl::StrFormat("churn-%03d", i),
             MakeEvent(absl::StrFormat("2008-%02d-%02d", 1 + (i * 5) % 12, 1 + i % 28)));
    }
  });
  for (int round = 0; round < 4; ++round) {
    ListEventsRequest request = Window("2008", "2008");
    request.set_page_size(7);
    const std::vector<std::string> seen = ListAll(request);
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "an event came twice";
    for (const auto& name : stable) EXPECT_TRUE(unique.count(name)) << name;
  }
  stop = true;
  writer.join();
}

TEST_F(TimelineServiceTest, PresenceFromTheCache) {
  Organization kfor = MakeOrg("kfor");
  *kfor.mutable_established() = D("1999-06");
  auto* leader = kfor.add_leaders();
  leader->set_role("Commander");
  leader->set_person("Old");
  *leader->mutable_appointed() = D("2007");
  *leader->mutable_left() = D("2008-08");
  leader = kfor.add_leaders();
  leader->set_role("Commander");
  leader->set_person("New");
  *leader->mutable_appointed() = D("2008-09");
  for (const auto& [date, count] : std::vector<std::pair<std::string, int>>{
           {"2008-01", 15000}, {"2009-01", 14000}, {"2010-07", 10000}}) {
    auto* h = kfor.add_headcounts();
    *h->mutable_as_of() = D(date);
    h->set_category(Organization::Headcount::TROOPS);
    h->set_count(count);
  }
  Organization nato = MakeOrg("nato");
  nato.set_kind(Organization::KIND_INTERNATIONAL_ORGANIZATION);
  Organization ended = MakeOrg("unmik");
  *ended.mutable_ended() = D("2008-06-15");
  cache_.Replace({kfor, nato, ended, MakeOrg("gone", true)}, 42);
  MustCreate("a", MakeEvent("2008-03"));
  MustCreate("b", MakeEvent("2009-03"));
  MustCreate("c", MakeEvent("2009-08"));

  GetPresenceRequest request;
  *request.mutable_date() = D("2009-06-01");
  Presence presence;
  ASSERT_THAT(stub_->GetPresence(Ctx().get(), request, &presence), IsOk());
  EXPECT_EQ(presence.registry_revision(), 42);
  ASSERT_EQ(presence.organizations_size(), 1);  // Not nato, unmik, gone.
  const auto& p = presence.organizations(0);
  EXPECT_EQ(p.organization(), "organizations/kfor");
  EXPECT_EQ(p.basis(), type::v1::SPAN_COVERS_DATE);
  EXPECT_EQ(presence.unknown_bound_organizations_size(), 0) << "unmik ended before";
  ASSERT_EQ(p.leaders_size(), 1);
  EXPECT_EQ(p.leaders(0).person(), "New");
  ASSERT_EQ(p.headcounts_size(), 1);
  EXPECT_EQ(p.headcounts(0).count(), 14000);
  ASSERT_EQ(p.events_size(), 2);
  EXPECT_EQ(p.events(0).name(), "events/b");
  EXPECT_EQ(p.events(1).name(), "events/a");

  request.set_max_events(1);
  request.add_kinds(Organization::KIND_INTERNATIONAL_ORGANIZATION);
  request.add_kinds(Organization::KIND_MILITARY_MISSION);
  ASSERT_THAT(stub_->GetPresence(Ctx().get(), request, &presence), IsOk());
  // nato has no establishment date: apart, as an unknown bound.
  ASSERT_EQ(presence.organizations_size(), 1);
  EXPECT_EQ(presence.organizations(0).organization(), "organizations/kfor");
  EXPECT_EQ(presence.organizations(0).events_size(), 1);
  ASSERT_EQ(presence.unknown_bound_organizations_size(), 1);
  EXPECT_EQ(presence.unknown_bound_organizations(0).organization(), "organizations/nato");
  EXPECT_EQ(presence.unknown_bound_organizations(0).basis(), type::v1::BOUND_UNKNOWN);
  // Together when asked, each with its basis.
  request.set_include_unknown_bounds(true);
  ASSERT_THAT(stub_->GetPresence(Ctx().get(), request, &presence), IsOk());
  ASSERT_EQ(presence.organizations_size(), 2);
  EXPECT_EQ(presence.organizations(1).organization(), "organizations/nato");
  EXPECT_EQ(presence.organizations(1).basis(), type::v1::BOUND_UNKNOWN);
  EXPECT_EQ(presence.unknown_bound_organizations_size(), 0);
  // Within the uncertainty of KFOR's "June 1999".
  *request.mutable_date() = D("1999-06-10");
  ASSERT_THAT(stub_->GetPresence(Ctx().get(), request, &presence), IsOk());
  ASSERT_GE(presence.organizations_size(), 1);
  EXPECT_EQ(presence.organizations(0).organization(), "organizations/kfor");
  EXPECT_EQ(presence.organizations(0).basis(), type::v1::WITHIN_BOUND_UNCERTAINTY);
}

// A snapshot of a shared store dies with its connection (a failover of the
// database): a read is answered from a new snapshot rather than failing; a
// write is not run again by the server (its outcome may be unknown: the
// client retries with its request id).
TEST_F(TimelineServiceTest, AReadWhoseSnapshotIsLostIsAnsweredAndAWriteIsNotRetried) {
  MustCreate("a", MakeEvent("2008-03"));
  cache_.Replace({MakeOrg("kfor")}, 1);
  faulty_->FailNextSnapshotReads(1);
  ListEventsResponse listed;
  ASSERT_THAT(stub_->ListEvents(Ctx().get(), Window("2008", "2008"), &listed), IsOk());
  EXPECT_EQ(listed.events_size(), 1);
  EXPECT_EQ(faulty_->failed(), 1);

  faulty_->FailNextSnapshotReads(1);
  GetPresenceRequest request;
  *request.mutable_date() = D("2009");
  request.set_include_unknown_bounds(true);  // kfor has no established date.
  Presence presence;
  ASSERT_THAT(stub_->GetPresence(Ctx().get(), request, &presence), IsOk());
  ASSERT_EQ(presence.organizations_size(), 1);
  EXPECT_EQ(presence.organizations(0).events_size(), 1);
  EXPECT_EQ(faulty_->failed(), 2);

  faulty_->FailNextTransactions(1);
  EXPECT_THAT(Create("b", MakeEvent("2009")), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(faulty_->failed(), 3);
  GetEventRequest get;
  get.set_name("events/b");
  Event event;
  EXPECT_THAT(stub_->GetEvent(Ctx().get(), get, &event), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace presence
