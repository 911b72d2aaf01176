// presencectl's formatting and parsing helpers.

#include "client/format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace presence::cli {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::timeline::v1::Event;
using ::testing::HasSubstr;

TEST(TableTest, AlignsColumnsToTheWidestCell) {
  Table table({"ID", "NAME"});
  table.AddRow({"kfor", "Kosovo Force"});
  table.AddRow({"un-secretary-general", "-"});
  table.AddRow({"x"});  // Short rows are padded.
  EXPECT_EQ(table.Render(),
            "ID                    NAME\n"
            "kfor                  Kosovo Force\n"
            "un-secretary-general  -\n"
            "x\n");
  EXPECT_EQ(table.rows(), 3u);
}

TEST(KindTest, NamesRoundTripAndAcceptWhatOperatorsType) {
  for (int k = 1; Organization::Kind_IsValid(k); ++k) {
    const auto kind = static_cast<Organization::Kind>(k);
    auto parsed = ParseOrganizationKind(KindName(kind));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, kind);
  }
  for (int k = 1; Event::Kind_IsValid(k); ++k) {
    const auto kind = static_cast<Event::Kind>(k);
    auto parsed = ParseEventKind(KindName(kind));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(KindName(Organization::KIND_MILITARY_MISSION), "military-mission");
  EXPECT_EQ(KindName(Event::TRANSFER_OF_AUTHORITY), "transfer-of-authority");
  EXPECT_EQ(*ParseOrganizationKind("KIND_RULE_OF_LAW_MISSION"),
            Organization::KIND_RULE_OF_LAW_MISSION);
  EXPECT_EQ(*ParseOrganizationKind("Field_Mission"), Organization::KIND_FIELD_MISSION);
  EXPECT_EQ(*ParseEventKind("legal act"), Event::LEGAL_ACT);
  EXPECT_THAT(ParseOrganizationKind("navy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("military-mission")));
  EXPECT_THAT(ParseOrganizationKind("unspecified"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEventKind("party"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deployment")));
}

TEST(FormatCountTest, GroupsThousandsAndShowsTheBound) {
  Organization::Headcount h;
  h.set_count(10000);
  h.set_bound(Organization::Headcount::APPROXIMATE);
  EXPECT_EQ(FormatCount(h), "~10,000");
  h.set_count(30);
  h.set_bound(Organization::Headcount::MORE_THAN);
  EXPECT_EQ(FormatCount(h), ">30");
  h.set_count(1234567);
  h.set_bound(Organization::Headcount::EXACT);
  EXPECT_EQ(FormatCount(h), "1,234,567");
  h.set_count(0);
  EXPECT_EQ(FormatCount(h), "0");
  EXPECT_EQ(CategoryName(Organization::Headcount::INTERNATIONAL_STAFF),
            "international staff");
}

TEST(JsonTest, UsesProtobufsMappingBothWays) {
  Organization org;
  org.set_name("organizations/kfor");
  org.set_kind(Organization::KIND_MILITARY_MISSION);
  org.mutable_established()->set_year(1999);
  const std::string line = ToJson(org, /*one_line=*/true);
  EXPECT_EQ(line,
            "{\"name\":\"organizations/kfor\",\"kind\":\"KIND_MILITARY_MISSION\","
            "\"established\":{\"year\":1999}}");
  Organization back;
  ASSERT_THAT(FromJson(line, &back), IsOk());
  EXPECT_EQ(back.SerializeAsString(), org.SerializeAsString());
  EXPECT_THAT(ToJson(org, false), HasSubstr("\n"));
  EXPECT_THAT(FromJson("{\"colour\": 1}", &back),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Organization")));
  EXPECT_EQ(IdOf("organizations/kfor"), "kfor");
  EXPECT_EQ(IdOf("events/a-b"), "a-b");
}

TEST(ReportTest, PresenceReadsLikeAReport) {
  timeline::v1::Presence presence;
  presence.mutable_date()->set_year(2009);
  presence.mutable_date()->set_month(6);
  presence.mutable_date()->set_day(1);
  auto* p = presence.add_organizations();
  p->set_organization("organizations/eulex");
  p->set_acronym("EULEX");
  p->set_display_name("EU Rule of Law Mission");
  p->set_kind(Organization::KIND_RULE_OF_LAW_MISSION);
  p->set_parent_organization("organizations/eu");
  auto* h = p->add_headcounts();
  h->set_count(1900);
  h->set_bound(Organization::Headcount::APPROXIMATE);
  h->set_category(Organization::Headcount::INTERNATIONAL_STAFF);
  h->mutable_as_of()->set_year(2009);
  h->mutable_as_of()->set_month(4);
  EXPECT_EQ(PresenceReport(presence),
            "Present on 1 Jun 2009: 1 organizations\n"
            "\n"
            "EULEX - EU Rule of Law Mission (rule-of-law-mission, part of eu)\n"
            "  strength ~1,900 international staff (Apr 2009)\n");
}

// Each organization's basis when its lifespan does not plainly cover the
// date; unknown bounds apart, after the others.
TEST(ReportTest, PresenceShowsTheBasisAndKeepsUnknownBoundsApart) {
  timeline::v1::Presence presence;
  presence.mutable_date()->set_year(1999);
  presence.mutable_date()->set_month(3);
  auto* kfor = presence.add_organizations();
  kfor->set_organization("organizations/kfor");
  kfor->set_acronym("KFOR");
  kfor->set_display_name("Kosovo Force");
  kfor->set_kind(Organization::KIND_MILITARY_MISSION);
  kfor->set_basis(type::v1::WITHIN_BOUND_UNCERTAINTY);
  auto* ico = presence.add_unknown_bound_organizations();
  ico->set_organization("organizations/ico");
  ico->set_acronym("ICO");
  ico->set_display_name("International Civilian Office");
  ico->set_kind(Organization::KIND_CIVILIAN_MISSION);
  ico->set_basis(type::v1::BOUND_UNKNOWN);
  EXPECT_EQ(PresenceReport(presence),
            "Present on Mar 1999: 1 organizations\n"
            "\n"
            "KFOR - Kosovo Force (military-mission)\n"
            "  basis    the date is within the uncertainty of a partial bound\n"
            "\n"
            "Presence on Mar 1999 unknown (start not recorded): 1 organizations\n"
            "\n"
            "ICO - International Civilian Office (civilian-mission)\n");
}

}  // namespace
}  // namespace presence::cli
