// services/common/field_behavior.h over the API's own annotations.

#include "services/common/field_behavior.h"

#include "google/rpc/error_details.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "tests/testing/status_matchers.h"

namespace presence {
namespace {

using ::presence::registry::v1::BatchCreateOrganizationsRequest;
using ::presence::registry::v1::CreateOrganizationRequest;
using ::presence::registry::v1::Organization;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::timeline::v1::CreateEventRequest;
using ::presence::timeline::v1::Event;
using ::testing::ElementsAre;

Organization Valid() {
  Organization org;
  org.set_display_name("Kosovo Force");
  org.set_kind(Organization::KIND_MILITARY_MISSION);
  return org;
}

CreateOrganizationRequest ValidCreate() {
  CreateOrganizationRequest request;
  request.set_organization_id("kfor");
  *request.mutable_organization() = Valid();
  return request;
}

TEST(OutputOnlyTest, NamesFromTheAnnotations) {
  EXPECT_THAT(OutputOnlyFieldNames(Organization::descriptor()),
              ElementsAre("state", "revision", "create_time", "update_time", "delete_time",
                          "last_modified_by"));
  EXPECT_THAT(OutputOnlyFieldNames(Event::descriptor()),
              ElementsAre("create_time", "update_time", "created_by", "updated_by"));
  EXPECT_TRUE(OutputOnlyFieldNames(CreateOrganizationRequest::descriptor()).empty());
}

TEST(OutputOnlyTest, ClearsThemRecursivelyAndNothingElse) {
  BatchCreateOrganizationsRequest batch;
  for (int i = 0; i < 2; ++i) {
    CreateOrganizationRequest* create = batch.add_requests();
    *create = ValidCreate();
    Organization* org = create->mutable_organization();
    org->set_name("organizations/kfor");
    org->set_etag("\"1\"");
    org->set_state(Organization::DELETED);
    org->set_revision(7);
    org->mutable_create_time()->set_seconds(1);
    org->mutable_update_time()->set_seconds(2);
    org->mutable_delete_time()->set_seconds(3);
    org->set_last_modified_by("mallory");
    org->add_leaders()->set_person("Someone");
  }
  ClearOutputOnlyFields(&batch);
  for (const CreateOrganizationRequest& create : batch.requests()) {
    const Organization& org = create.organization();
    EXPECT_EQ(org.state(), Organization::STATE_UNSPECIFIED);
    EXPECT_EQ(org.revision(), 0);
    EXPECT_FALSE(org.has_create_time());
    EXPECT_FALSE(org.has_update_time());
    EXPECT_FALSE(org.has_delete_time());
    EXPECT_EQ(org.last_modified_by(), "");
    // Not output only: the name identifies, the etag is a precondition.
    EXPECT_EQ(org.name(), "organizations/kfor");
    EXPECT_EQ(org.etag(), "\"1\"");
    EXPECT_EQ(org.display_name(), "Kosovo Force");
    EXPECT_EQ(org.leaders(0).person(), "Someone");
    EXPECT_EQ(create.organization_id(), "kfor");
  }
}

TEST(OutputOnlyTest, CopiesThemFromTheStoredVersion) {
  Organization stored = Valid();
  stored.set_state(Organization::ACTIVE);
  stored.set_revision(4);
  stored.mutable_create_time()->set_seconds(10);
  stored.set_last_modified_by("alice");
  Organization replacement = Valid();
  replacement.set_display_name("New");
  replacement.set_state(Organization::DELETED);
  replacement.set_revision(99);
  replacement.mutable_delete_time()->set_seconds(5);
  CopyOutputOnlyFields(stored, &replacement);
  EXPECT_EQ(replacement.display_name(), "New");
  EXPECT_EQ(replacement.state(), Organization::ACTIVE);
  EXPECT_EQ(replacement.revision(), 4);
  EXPECT_EQ(replacement.create_time().seconds(), 10);
  EXPECT_FALSE(replacement.has_delete_time());  // The stored version has none.
  EXPECT_EQ(replacement.last_modified_by(), "alice");
}

TEST(RequiredTest, ValidRequestsPass) {
  EXPECT_THAT(CheckRequiredFields(ValidCreate()), IsOk());
  CreateOrganizationRequest request = ValidCreate();
  // An empty optional date is unset, not a date without a year.
  request.mutable_organization()->mutable_established();
  EXPECT_THAT(CheckRequiredFields(request), IsOk());
}

TEST(RequiredTest, NamesTheFirstMissingFieldByItsPath) {
  CreateOrganizationRequest request;
  absl::Status s = CheckRequiredFields(request);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "organization_id: is required"));
  EXPECT_EQ(ErrorReason(s), kFieldRequired);
  EXPECT_EQ(GetErrorDetail<google::rpc::BadRequest>(s)->field_violations(0).field(),
            "organization_id");

  request.set_organization_id("kfor");
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument, "organization: is required"));
  request.mutable_organization();  // Set but empty: still missing.
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument, "organization: is required"));

  *request.mutable_organization() = Valid();
  request.mutable_organization()->set_display_name(" \t ");  // Blank.
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "organization.display_name: is required"));

  *request.mutable_organization() = Valid();
  request.mutable_organization()->clear_kind();  // Enum zero.
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument, "organization.kind: is required"));

  *request.mutable_organization() = Valid();
  auto* leader = request.mutable_organization()->add_leaders();
  leader->set_role("Commander");
  leader->set_person("A");
  request.mutable_organization()->add_leaders()->set_role("Deputy");
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "organization.leaders[1].person: is required"));

  *request.mutable_organization() = Valid();
  request.mutable_organization()->mutable_established()->set_month(3);
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "organization.established.year: is required"));

  *request.mutable_organization() = Valid();
  auto* figure = request.mutable_organization()->add_headcounts();
  figure->mutable_as_of()->set_year(2010);
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "organization.headcounts[0].category: is required"));
}

TEST(RequiredTest, PrefixAndShallowChecks) {
  Organization org = Valid();
  org.add_sources()->set_quote("no document");
  EXPECT_THAT(CheckRequiredFields(org, "requests[2].organization."),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "requests[2].organization.sources[0].document: is required"));
  CreateOrganizationRequest request = ValidCreate();
  request.mutable_organization()->clear_display_name();
  EXPECT_THAT(CheckRequiredFields(request, "", Nested::kSkip), IsOk());
}

TEST(RequiredTest, RepeatedRequiredFieldsNeedAnEntry) {
  CreateEventRequest request;
  request.set_event_id("e");
  Event* event = request.mutable_event();
  event->set_title("t");
  event->set_kind(Event::DEPLOYMENT);
  event->mutable_start()->set_year(2008);
  EXPECT_THAT(CheckRequiredFields(request),
              StatusIs(absl::StatusCode::kInvalidArgument, "event.organizations: is required"));
  event->add_organizations("organizations/kfor");
  EXPECT_THAT(CheckRequiredFields(request), IsOk());
}

}  // namespace
}  // namespace presence
