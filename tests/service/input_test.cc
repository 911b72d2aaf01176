// Hostile and malformed input through both services' public APIs (real gRPC
// servers on loopback ports, real RocksDB): requests that do not parse,
// huge values echoed in errors, page tokens used across methods, empty
// dates. Each test here failed before its fix (issue 12, defects 1, 2, 3, 5).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/partial_date.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_grpc_service.h"
#include "tests/testing/fake_registry_client.h"
#include "tests/testing/raw_rpc.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRegistry[] = "/presence.registry.v1.RegistryService/";
constexpr char kTimeline[] = "/presence.timeline.v1.TimelineService/";

// Field 1, length-delimited, holding the two bytes C3 28: not UTF-8 (a lead
// byte followed by an ASCII character, as a truncated character leaves).
const std::string kBadString("\x0a\x02\xc3\x28", 4);
// Field 1, a message whose field 1 is kBadString's string.
const std::string kBadNested = std::string("\x0a\x04", 2) + kBadString;
// Field 1, length-delimited, announcing 5 bytes and holding 1.
const std::string kTruncated("\x0a\x05\x08", 3);

rv1::Organization MakeOrg(const std::string& name) {
  rv1::Organization org;
  org.set_display_name(name);
  org.set_kind(rv1::Organization::KIND_MILITARY_MISSION);
  return org;
}

tv1::Event MakeEvent(const std::string& start) {
  tv1::Event event;
  event.set_title("Something happened");
  event.set_kind(tv1::Event::DEPLOYMENT);
  *event.mutable_start() = *ParsePartialDate(start);
  event.add_organizations("organizations/kfor");
  return event;
}

class InputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = testing::InProcessRegistry::Start(dir_.Sub("registry"));
    ASSERT_THAT(registry, IsOk());
    registry_ = *std::move(registry);

    rv1::Organization kfor = MakeOrg("KFOR");
    kfor.set_name("organizations/kfor");
    kfor.set_state(rv1::Organization::ACTIVE);
    fake_.Put(kfor);
    auto store = testing::OpenTestStore(dir_.Sub("timeline"), timeline::kTableNames);
    ASSERT_THAT(store, IsOk());
    auto opened = timeline::Timeline::Open(*std::move(store), &fake_, &cache_);
    ASSERT_THAT(opened, IsOk());
    timeline_ = *std::move(opened);
    timeline_service_ = std::make_unique<timeline::TimelineGrpcService>(
        timeline_.get(), testing::DefaultTestGate());
    auto server = testing::StartTestServer(timeline_service_.get(),
                                           "presence.timeline.v1.TimelineService");
    ASSERT_THAT(server, IsOk());
    timeline_server_ = *std::move(server);
    timeline_channel_ = testing::LoopbackChannel(timeline_server_->port());
    timeline_stub_ = tv1::TimelineService::NewStub(timeline_channel_);
  }

  void TearDown() override {
    timeline_server_->Shutdown(absl::ZeroDuration());
    registry_->Shutdown();
  }

  rv1::RegistryService::Stub& registry() { return registry_->stub(); }
  tv1::TimelineService::Stub& timeline() { return *timeline_stub_; }

  testing::TempDir dir_;
  std::unique_ptr<testing::InProcessRegistry> registry_;
  testing::FakeRegistryClient fake_;
  timeline::OrganizationCache cache_;
  std::unique_ptr<timeline::Timeline> timeline_;
  std::unique_ptr<timeline::TimelineGrpcService> timeline_service_;
  std::unique_ptr<RunningServer> timeline_server_;
  std::shared_ptr<grpc::Channel> timeline_channel_;
  std::unique_ptr<tv1::TimelineService::Stub> timeline_stub_;
};

// ---------------------------------------------------------------------------
// Defect 1: requests that do not parse.

struct Unparsable {
  std::string method;
  std::string bytes;
  // Part of protobuf's reason, when it gives one.
  std::string why;
};

TEST_F(InputTest, UnparsableRequestsAreInvalidArgumentOnEveryMethod) {
  const std::string utf8 = "invalid UTF-8";
  const std::vector<Unparsable> registry_calls = {
      {"GetOrganization", kBadString, utf8},
      {"BatchGetOrganizations", kBadString, utf8},
      {"ListOrganizations", kTruncated, ""},
      {"CreateOrganization", kBadString, utf8},
      {"BatchCreateOrganizations", kBadNested, utf8},
      {"UpdateOrganization", kBadNested, utf8},
      {"DeleteOrganization", kBadString, utf8},
      {"UndeleteOrganization", kBadString, utf8},
      {"LookupOrganization", kBadString, utf8},
      {"ListOrganizationRevisions", kBadString, utf8},
  };
  for (const Unparsable& c : registry_calls) {
    SCOPED_TRACE(c.method);
    EXPECT_THAT(testing::RawUnaryCall(registry_->channel(), kRegistry + c.method, c.bytes),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("request: could not be parsed as presence.registry.v1."),
                               HasSubstr(c.why))));
  }
  EXPECT_THAT(testing::RawServerStreamingCall(
                  registry_->channel(), std::string(kRegistry) + "WatchOrganizations",
                  std::string("\x08", 1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("could not be parsed as "
                                 "presence.registry.v1.WatchOrganizationsRequest")));

  const std::vector<Unparsable> timeline_calls = {
      {"GetEvent", kBadString, utf8},
      {"ListEvents", kTruncated, ""},
      {"CreateEvent", kBadString, utf8},
      {"BatchCreateEvents", kBadNested, utf8},
      {"UpdateEvent", kBadNested, utf8},
      {"DeleteEvent", kBadString, utf8},
      {"GetPresence", kTruncated, ""},
  };
  for (const Unparsable& c : timeline_calls) {
    SCOPED_TRACE(c.method);
    EXPECT_THAT(testing::RawUnaryCall(timeline_channel_, kTimeline + c.method, c.bytes),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("request: could not be parsed as presence.timeline.v1."),
                               HasSubstr(c.why))));
  }
  // The reason names the field.
  EXPECT_THAT(testing::RawUnaryCall(registry_->channel(),
                                    std::string(kRegistry) + "GetOrganization", kBadString),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("presence.registry.v1.GetOrganizationRequest.name")));
}

TEST_F(InputTest, ValidRawRequestsAreServed) {
  // The same path serves well-formed requests (here an empty GetPresence
  // date and an unknown event): the usual answers, not parse errors.
  EXPECT_THAT(testing::RawUnaryCall(timeline_channel_, std::string(kTimeline) + "GetEvent",
                                    std::string("\x0a\x08" "events/x", 10)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(testing::RawUnaryCall(registry_->channel(),
                                    std::string(kRegistry) + "ListOrganizations", ""),
              IsOk());
}

// ---------------------------------------------------------------------------
// Defect 2: echoed values are bounded.

MATCHER(IsShortAndSaysTheLength, "is short and gives the value's length") {
  const absl::Status status = testing::ToAbsl(arg);
  *result_listener << "whose status is " << status.code() << " with a message of "
                   << status.message().size() << " bytes: "
                   << status.message().substr(0, 300);
  return status.message().size() <= 400 &&
         status.message().find(" bytes)") != absl::string_view::npos;
}

TEST_F(InputTest, HugeValuesAreEchoedBounded) {
  for (const size_t size : {size_t{9 * 1024}, size_t{70 * 1024}}) {
    SCOPED_TRACE(size);
    const std::string huge(size, 'x');
    const std::string name = "organizations/" + huge;

    rv1::GetOrganizationRequest get;
    get.set_name(name);
    rv1::Organization org;
    grpc::Status s = registry().GetOrganization(Ctx().get(), get, &org);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: \"organizations/xxx")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr(absl::StrCat("(", name.size(), " bytes)"))));

    rv1::CreateOrganizationRequest create;
    create.set_organization_id(huge);
    *create.mutable_organization() = MakeOrg("X");
    s = registry().CreateOrganization(Ctx().get(), create, &org);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("organization_id")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    create.set_organization_id("ok");
    create.set_request_id(huge);
    s = registry().CreateOrganization(Ctx().get(), create, &org);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    rv1::BatchGetOrganizationsRequest batch_get;
    batch_get.add_names(name);
    rv1::BatchGetOrganizationsResponse batch_got;
    s = registry().BatchGetOrganizations(Ctx().get(), batch_get, &batch_got);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names[0]")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    rv1::ListOrganizationsRequest list;
    list.set_parent_organization(name);
    rv1::ListOrganizationsResponse listed;
    s = registry().ListOrganizations(Ctx().get(), list, &listed);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("parent_organization")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());
    list.clear_parent_organization();
    list.set_page_token(huge);
    s = registry().ListOrganizations(Ctx().get(), list, &listed);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    rv1::UpdateOrganizationRequest update;
    *update.mutable_organization() = MakeOrg("X");
    update.mutable_organization()->set_name("organizations/kfor");
    update.mutable_update_mask()->add_paths(huge);
    s = registry().UpdateOrganization(Ctx().get(), update, &org);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("update_mask")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    rv1::DeleteOrganizationRequest del;
    del.set_name(name);
    s = registry().DeleteOrganization(Ctx().get(), del, &org);
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    rv1::LookupOrganizationRequest lookup;
    lookup.set_alias(huge);
    s = registry().LookupOrganization(Ctx().get(), lookup, &org);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alias")));

    tv1::GetEventRequest get_event;
    get_event.set_name("events/" + huge);
    tv1::Event event;
    s = timeline().GetEvent(Ctx().get(), get_event, &event);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    tv1::CreateEventRequest create_event;
    create_event.set_event_id(huge);
    *create_event.mutable_event() = MakeEvent("2009");
    s = timeline().CreateEvent(Ctx().get(), create_event, &event);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event_id")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());

    tv1::ListEventsRequest list_events;
    list_events.add_organizations(name);
    tv1::ListEventsResponse events;
    s = timeline().ListEvents(Ctx().get(), list_events, &events);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("organizations[0]")));
    EXPECT_THAT(s, IsShortAndSaysTheLength());
  }
}

TEST_F(InputTest, HugeEtagsAreEchoedBounded) {
  rv1::CreateOrganizationRequest create;
  create.set_organization_id("kfor");
  *create.mutable_organization() = MakeOrg("KFOR");
  rv1::Organization org;
  ASSERT_THAT(registry().CreateOrganization(Ctx().get(), create, &org), IsOk());
  const std::string huge(70 * 1024, 'e');

  rv1::UpdateOrganizationRequest update;
  update.mutable_organization()->set_name("organizations/kfor");
  update.mutable_organization()->set_description("new");
  update.mutable_organization()->set_etag(huge);
  grpc::Status s = registry().UpdateOrganization(Ctx().get(), update, &org);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAborted, HasSubstr("etag")));
  EXPECT_THAT(s, IsShortAndSaysTheLength());

  rv1::DeleteOrganizationRequest del;
  del.set_name("organizations/kfor");
  del.set_etag(huge);
  s = registry().DeleteOrganization(Ctx().get(), del, &org);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAborted, HasSubstr("etag")));
  EXPECT_THAT(s, IsShortAndSaysTheLength());

  tv1::CreateEventRequest create_event;
  create_event.set_event_id("e");
  *create_event.mutable_event() = MakeEvent("2009");
  tv1::Event event;
  ASSERT_THAT(timeline().CreateEvent(Ctx().get(), create_event, &event), IsOk());
  tv1::DeleteEventRequest delete_event;
  delete_event.set_name("events/e");
  delete_event.set_etag(huge);
  google::protobuf::Empty empty;
  s = timeline().DeleteEvent(Ctx().get(), delete_event, &empty);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAborted, HasSubstr("etag")));
  EXPECT_THAT(s, IsShortAndSaysTheLength());
}

// ---------------------------------------------------------------------------
// Defect 3: page tokens are bound to their method and parameters.

TEST_F(InputTest, PageTokensAreRefusedByOtherMethods) {
  for (const char* id : {"a", "b", "c"}) {
    rv1::CreateOrganizationRequest create;
    create.set_organization_id(id);
    *create.mutable_organization() = MakeOrg(id);
    rv1::Organization org;
    ASSERT_THAT(registry().CreateOrganization(Ctx().get(), create, &org), IsOk());
    rv1::UpdateOrganizationRequest update;
    update.mutable_organization()->set_name(std::string("organizations/") + id);
    update.mutable_organization()->set_description("again");
    ASSERT_THAT(registry().UpdateOrganization(Ctx().get(), update, &org), IsOk());
  }
  for (const char* id : {"e1", "e2", "e3"}) {
    tv1::CreateEventRequest create;
    create.set_event_id(id);
    *create.mutable_event() = MakeEvent("2009");
    tv1::Event event;
    ASSERT_THAT(timeline().CreateEvent(Ctx().get(), create, &event), IsOk());
  }
  // One token of each List method, from requests without other parameters.
  tv1::ListEventsRequest list_events;
  list_events.set_page_size(1);
  tv1::ListEventsResponse events;
  ASSERT_THAT(timeline().ListEvents(Ctx().get(), list_events, &events), IsOk());
  ASSERT_FALSE(events.next_page_token().empty());
  rv1::ListOrganizationsRequest list_orgs;
  list_orgs.set_page_size(1);
  rv1::ListOrganizationsResponse orgs;
  ASSERT_THAT(registry().ListOrganizations(Ctx().get(), list_orgs, &orgs), IsOk());
  ASSERT_FALSE(orgs.next_page_token().empty());
  rv1::ListOrganizationRevisionsRequest list_revisions;
  list_revisions.set_name("organizations/a");
  list_revisions.set_page_size(1);
  rv1::ListOrganizationRevisionsResponse revisions;
  ASSERT_THAT(registry().ListOrganizationRevisions(Ctx().get(), list_revisions, &revisions),
              IsOk());
  ASSERT_FALSE(revisions.next_page_token().empty());

  const auto other_method = StatusIs(absl::StatusCode::kInvalidArgument,
                                     AllOf(HasSubstr("page_token"), HasSubstr("method")));
  // Each method's token, given to every other.
  list_orgs.set_page_token(events.next_page_token());
  EXPECT_THAT(registry().ListOrganizations(Ctx().get(), list_orgs, &orgs), other_method);
  list_orgs.set_page_token(revisions.next_page_token());
  EXPECT_THAT(registry().ListOrganizations(Ctx().get(), list_orgs, &orgs), other_method);
  list_revisions.set_page_token(events.next_page_token());
  EXPECT_THAT(registry().ListOrganizationRevisions(Ctx().get(), list_revisions, &revisions),
              other_method);
  list_revisions.set_page_token(orgs.next_page_token());
  EXPECT_THAT(registry().ListOrganizationRevisions(Ctx().get(), list_revisions, &revisions),
              other_method);
  list_events.set_page_token(orgs.next_page_token());
  EXPECT_THAT(timeline().ListEvents(Ctx().get(), list_events, &events), other_method);

  // A token with changed parameters, and the right use.
  rv1::ListOrganizationsResponse first;
  list_orgs.clear_page_token();
  ASSERT_THAT(registry().ListOrganizations(Ctx().get(), list_orgs, &first), IsOk());
  list_orgs.set_page_token(first.next_page_token());
  list_orgs.set_show_deleted(true);
  EXPECT_THAT(registry().ListOrganizations(Ctx().get(), list_orgs, &orgs),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  list_orgs.set_show_deleted(false);
  EXPECT_THAT(registry().ListOrganizations(Ctx().get(), list_orgs, &orgs), IsOk());
  ASSERT_EQ(orgs.organizations_size(), 1);
  EXPECT_EQ(orgs.organizations(0).name(), "organizations/b");
}

// ---------------------------------------------------------------------------
// Defect 5: an empty PartialDate in an optional field means "unset".

TEST_F(InputTest, EmptyDatesInOptionalFieldsAreUnset) {
  rv1::CreateOrganizationRequest create;
  create.set_organization_id("kfor");
  *create.mutable_organization() = MakeOrg("KFOR");
  create.mutable_organization()->mutable_established();
  create.mutable_organization()->mutable_ended();
  rv1::Organization::Leader* leader = create.mutable_organization()->add_leaders();
  leader->set_role("Commander");
  leader->set_person("Someone");
  leader->mutable_appointed();
  leader->mutable_left();
  rv1::Organization created;
  ASSERT_THAT(registry().CreateOrganization(Ctx().get(), create, &created), IsOk());
  rv1::Organization got;
  rv1::GetOrganizationRequest get;
  get.set_name("organizations/kfor");
  ASSERT_THAT(registry().GetOrganization(Ctx().get(), get, &got), IsOk());
  for (const rv1::Organization* org : {&created, &got}) {
    EXPECT_FALSE(org->has_established());
    EXPECT_FALSE(org->has_ended());
    ASSERT_EQ(org->leaders_size(), 1);
    EXPECT_FALSE(org->leaders(0).has_appointed());
    EXPECT_FALSE(org->leaders(0).has_left());
  }

  // Under a mask, an empty date clears the field.
  rv1::UpdateOrganizationRequest update;
  update.mutable_organization()->set_name("organizations/kfor");
  *update.mutable_organization()->mutable_established() = *ParsePartialDate("1999-06");
  ASSERT_THAT(registry().UpdateOrganization(Ctx().get(), update, &got), IsOk());
  ASSERT_TRUE(got.has_established());
  update.mutable_organization()->mutable_established()->Clear();
  update.mutable_update_mask()->add_paths("established");
  ASSERT_THAT(registry().UpdateOrganization(Ctx().get(), update, &got), IsOk());
  EXPECT_FALSE(got.has_established());

  // A required date stays required.
  rv1::Organization::Headcount* figure = create.mutable_organization()->add_headcounts();
  figure->mutable_as_of();
  figure->set_category(rv1::Organization::Headcount::TROOPS);
  create.set_organization_id("other");
  EXPECT_THAT(registry().CreateOrganization(Ctx().get(), create, &created),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("as_of: is required")));

  // The timeline: an empty end is an instant.
  tv1::CreateEventRequest create_event;
  create_event.set_event_id("e");
  *create_event.mutable_event() = MakeEvent("2009");
  create_event.mutable_event()->mutable_end();
  tv1::Event event;
  ASSERT_THAT(timeline().CreateEvent(Ctx().get(), create_event, &event), IsOk());
  EXPECT_FALSE(event.has_end());
  tv1::GetEventRequest get_event;
  get_event.set_name("events/e");
  ASSERT_THAT(timeline().GetEvent(Ctx().get(), get_event, &event), IsOk());
  EXPECT_FALSE(event.has_end());
  tv1::UpdateEventRequest update_event;
  update_event.mutable_event()->set_name("events/e");
  *update_event.mutable_event()->mutable_end() = *ParsePartialDate("2010");
  ASSERT_THAT(timeline().UpdateEvent(Ctx().get(), update_event, &event), IsOk());
  ASSERT_TRUE(event.has_end());
  update_event.mutable_event()->mutable_end()->Clear();
  update_event.mutable_update_mask()->add_paths("end");
  ASSERT_THAT(timeline().UpdateEvent(Ctx().get(), update_event, &event), IsOk());
  EXPECT_FALSE(event.has_end());
  create_event.set_event_id("f");
  create_event.mutable_event()->mutable_start()->Clear();
  EXPECT_THAT(timeline().CreateEvent(Ctx().get(), create_event, &event),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event.start: is required")));
}

}  // namespace
}  // namespace presence
