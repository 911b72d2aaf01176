// The embedded Kosovo data set against the fact sheet it comes from
// (data/kosovo/fact-sheet.txt): every organization, figure and leader the
// text names is there, and every quote is verbatim.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/partial_date.h"
#include "services/common/storage/rocksdb_kv_store.h"
#include "services/registry/registry.h"
#include "services/registry/seed.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

using ::presence::registry::Registry;
using ::presence::registry::v1::ListOrganizationsRequest;
using ::presence::registry::v1::Organization;
using ::presence::testing::IsOk;
using Headcount = Organization::Headcount;

constexpr char kDocument[] =
    "U.S. Department of State, Fact Sheet: International Presence in Kosovo "
    "(July 2010)";

class SeedDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::RocksDbOptions options;
    options.path = dir_.Sub("db");
    options.tables.assign(std::begin(registry::kTableNames),
                          std::end(registry::kTableNames));
    auto store = storage::OpenRocksDbKvStore(options);
    ASSERT_THAT(store, IsOk());
    auto opened = Registry::Open(*std::move(store), {});
    ASSERT_THAT(opened, IsOk());
    registry_ = *std::move(opened);
    auto created = registry::LoadSeedOnce(*registry_, registry::KosovoSeed());
    ASSERT_THAT(created, IsOk());
    created_ = *created;
    fact_sheet_ = testing::ReadFile(PRESENCE_FACT_SHEET);
    ASSERT_FALSE(fact_sheet_.empty());
  }

  Organization Get(const std::string& id) {
    auto org = registry_->GetOrganization("organizations/" + id);
    EXPECT_THAT(org, IsOk()) << id;
    return org.ok() ? *org : Organization();
  }

  testing::TempDir dir_;
  std::unique_ptr<Registry> registry_;
  int created_ = 0;
  std::string fact_sheet_;
};

// "10,000" for 10000; the words the fact sheet uses for small numbers.
std::vector<std::string> Spellings(int64_t n) {
  static const std::map<int64_t, std::string> kWords = {{7, "seven"}};
  std::string digits = absl::StrCat(n);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  std::vector<std::string> out = {grouped};
  if (auto it = kWords.find(n); it != kWords.end()) out.push_back(it->second);
  return out;
}

std::string StripInferred(const std::string& quote) {
  const size_t at = quote.find(" [inferred:");
  return at == std::string::npos ? quote : quote.substr(0, at);
}

TEST_F(SeedDataTest, HasEveryOrganizationOfTheFactSheet) {
  EXPECT_GE(created_, 10);
  for (const char* id : {"isg", "ico", "kfor", "eulex", "omik", "unmik", "nato",
                         "eu", "osce", "un"}) {
    SCOPED_TRACE(id);
    Organization org = Get(id);
    EXPECT_EQ(org.state(), Organization::ACTIVE);
    EXPECT_FALSE(org.display_name().empty());
    EXPECT_FALSE(org.sources().empty());
  }
  EXPECT_EQ(Get("kfor").parent_organization(), "organizations/nato");
  EXPECT_EQ(Get("eulex").parent_organization(), "organizations/eu");
  EXPECT_EQ(Get("omik").parent_organization(), "organizations/osce");
  EXPECT_EQ(Get("unmik").parent_organization(), "organizations/un");
  EXPECT_EQ(Get("kfor").kind(), Organization::KIND_MILITARY_MISSION);
  EXPECT_EQ(Get("eulex").kind(), Organization::KIND_RULE_OF_LAW_MISSION);
  EXPECT_EQ(Get("unmik").kind(), Organization::KIND_INTERIM_ADMINISTRATION);
  EXPECT_EQ(Get("isg").kind(), Organization::KIND_STEERING_BODY);
  EXPECT_THAT(Get("kfor").legal_basis(),
              ::testing::Contains(::testing::HasSubstr("1244")));
  // Other actors the text names.
  for (const char* id : {"kosovo-government", "ksf", "pisg"}) {
    EXPECT_TRUE(registry_->GetOrganization(absl::StrCat("organizations/", id)).ok())
        << id;
  }
}

TEST_F(SeedDataTest, DatesFollowTheText) {
  Organization isg = Get("isg");
  EXPECT_EQ(FormatPartialDate(isg.established()), "2008-02-28");
  EXPECT_EQ(FormatPartialDate(Get("eulex").established()), "2008-12-09");
  EXPECT_EQ(Get("unmik").established().year(), 1999);
  // UNMIK's administration ended in 2008, the mission did not.
  EXPECT_FALSE(Get("unmik").has_ended());
}

struct ExpectedFigure {
  std::string org;
  Headcount::Category category;
  int64_t count;
  Headcount::Bound bound;
  std::string contributor;
  std::string as_of;  // FormatPartialDate without "~".
};

TEST_F(SeedDataTest, EveryFigureOfTheTextIsRecordedAndCited) {
  const std::vector<ExpectedFigure> expected = {
      {"isg", Headcount::MEMBER_STATES, 25, Headcount::EXACT, "", "2010-07"},
      {"ico", Headcount::INTERNATIONAL_STAFF, 200, Headcount::APPROXIMATE, "", "2010-07"},
      {"ico", Headcount::SECONDED_POSITIONS, 7, Headcount::EXACT, "United States", "2010-07"},
      {"kfor", Headcount::CONTRIBUTING_NATIONS, 30, Headcount::MORE_THAN, "", "2010-07"},
      {"kfor", Headcount::TROOPS, 10000, Headcount::APPROXIMATE, "", "2010-07"},
      {"kfor", Headcount::TROOPS, 1300, Headcount::APPROXIMATE, "United States", "2010-07"},
      {"eulex", Headcount::INTERNATIONAL_STAFF, 1900, Headcount::APPROXIMATE, "", "2009-04"},
      {"eulex", Headcount::LOCAL_STAFF, 1100, Headcount::APPROXIMATE, "", "2009-04"},
      {"omik", Headcount::INTERNATIONAL_STAFF, 200, Headcount::APPROXIMATE, "", "2010-07"},
      {"omik", Headcount::LOCAL_STAFF, 500, Headcount::APPROXIMATE, "", "2010-07"},
  };
  int total = 0;
  ListOrganizationsRequest all;
  all.set_page_size(1000);
  auto listed = registry_->ListOrganizations(all);
  ASSERT_THAT(listed, IsOk());
  for (const Organization& org : listed->organizations()) total += org.headcounts_size();
  EXPECT_EQ(total, static_cast<int>(expected.size()))
      << "a figure is missing or recorded twice";

  for (const ExpectedFigure& want : expected) {
    SCOPED_TRACE(absl::StrCat(want.org, " ", want.count));
    Organization org = Get(want.org);
    const Headcount* found = nullptr;
    for (const Headcount& h : org.headcounts()) {
      if (h.category() == want.category && h.count() == want.count &&
          h.contributor() == want.contributor) {
        found = &h;
      }
    }
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->bound(), want.bound);
    std::string as_of = FormatPartialDate(found->as_of());
    if (!as_of.empty() && as_of.back() == '~') as_of.pop_back();
    EXPECT_EQ(as_of, want.as_of);
    // Some citation of the organization quotes the figure.
    bool cited = false;
    for (const auto& source : org.sources()) {
      for (const std::string& spelling : Spellings(want.count)) {
        cited |= StripInferred(source.quote()).find(spelling) != std::string::npos;
      }
    }
    EXPECT_TRUE(cited) << "no citation of " << want.org << " quotes " << want.count;
  }
}

TEST_F(SeedDataTest, EveryLeaderOfTheTextIsRecordedAndCited) {
  Organization ico = Get("ico");
  ASSERT_GE(ico.leaders_size(), 1);
  EXPECT_EQ(ico.leaders(0).person(), "Pieter Feith");
  EXPECT_EQ(ico.leaders(0).appointed_by(), "organizations/isg");
  EXPECT_THAT(ico.leaders(0).role(),
              ::testing::HasSubstr("International Civilian Representative"));

  Organization unmik = Get("unmik");
  ASSERT_GE(unmik.leaders_size(), 1);
  EXPECT_EQ(unmik.leaders(0).person(), "Lamberto Zannier");
  EXPECT_EQ(FormatPartialDate(unmik.leaders(0).appointed()), "2008-06");

  for (const char* id : {"ico", "unmik", "un"}) {
    Organization org = Get(id);
    for (const auto& leader : org.leaders()) {
      bool cited = false;
      for (const auto& source : org.sources()) {
        cited |= source.quote().find(leader.person()) != std::string::npos;
      }
      EXPECT_TRUE(cited) << leader.person() << " of " << id << " is not cited";
    }
  }
}

TEST_F(SeedDataTest, EveryQuoteIsVerbatimFromTheFactSheet) {
  ListOrganizationsRequest all;
  all.set_page_size(1000);
  auto listed = registry_->ListOrganizations(all);
  ASSERT_THAT(listed, IsOk());
  int quotes = 0;
  for (const Organization& org : listed->organizations()) {
    for (const auto& source : org.sources()) {
      SCOPED_TRACE(absl::StrCat(org.name(), ": ", source.quote()));
      EXPECT_EQ(source.document(), kDocument);
      const std::string verbatim = StripInferred(source.quote());
      ASSERT_FALSE(verbatim.empty());
      EXPECT_NE(fact_sheet_.find(verbatim), std::string::npos);
      ++quotes;
    }
  }
  EXPECT_GT(quotes, 20);
}

TEST_F(SeedDataTest, LookupFindsTheFactSheetsSpellings) {
  for (const auto& [alias, id] : std::vector<std::pair<std::string, std::string>>{
           {"OMiK", "omik"}, {"OMIK", "omik"}, {"UNMiK", "unmik"},
           {"UNMIK", "unmik"}, {"KFOR", "kfor"}, {"Kosovo Force", "kfor"},
           {"EULEX", "eulex"}, {"ICO", "ico"}, {"ISG", "isg"}}) {
    auto org = registry_->LookupOrganization(alias);
    ASSERT_THAT(org, IsOk()) << alias;
    EXPECT_EQ(org->name(), "organizations/" + id) << alias;
  }
}

TEST_F(SeedDataTest, ActiveOnFollowsLifespansAndSaysOnWhatBasis) {
  // name -> basis, for the listed and (apart) the unknown-bound ones.
  struct Listed {
    std::map<std::string, int> bases;
    std::vector<std::string> unknown;
  };
  const auto active_on = [&](const std::string& date, bool include_unknown) {
    ListOrganizationsRequest request;
    request.set_page_size(1000);
    request.set_include_unknown_bounds(include_unknown);
    auto parsed = ParsePartialDate(date);
    EXPECT_THAT(parsed, IsOk());
    *request.mutable_active_on() = *parsed;
    auto listed = registry_->ListOrganizations(request);
    EXPECT_THAT(listed, IsOk());
    Listed out;
    EXPECT_EQ(listed->active_on_bases_size(), listed->organizations_size());
    for (int i = 0; i < listed->organizations_size(); ++i) {
      out.bases[listed->organizations(i).name()] = listed->active_on_bases(i);
    }
    out.unknown.assign(listed->unknown_bound_organizations().begin(),
                       listed->unknown_bound_organizations().end());
    return out;
  };
  using ::presence::type::v1::BOUND_UNKNOWN;
  using ::presence::type::v1::SPAN_COVERS_DATE;
  using ::testing::Contains;
  using ::testing::ElementsAre;
  using ::testing::Key;
  using ::testing::Not;
  using ::testing::Pair;
  const Listed in_2009 = active_on("2009-06-01", false);
  for (const char* id : {"eulex", "kfor", "unmik", "isg"}) {
    EXPECT_THAT(in_2009.bases, Contains(Pair(absl::StrCat("organizations/", id), SPAN_COVERS_DATE)));
  }
  // The fact sheet gives no establishment date for the ICO or OMiK: they
  // are reported apart, not as present.
  EXPECT_THAT(in_2009.bases, Not(Contains(Key("organizations/ico"))));
  EXPECT_THAT(in_2009.bases, Not(Contains(Key("organizations/omik"))));
  EXPECT_THAT(in_2009.unknown, Contains("organizations/ico"));
  EXPECT_THAT(in_2009.unknown, Contains("organizations/omik"));
  const Listed merged = active_on("2009-06-01", true);
  EXPECT_THAT(merged.bases, Contains(Pair("organizations/ico", BOUND_UNKNOWN)));
  EXPECT_THAT(merged.bases, Contains(Pair("organizations/omik", BOUND_UNKNOWN)));
  EXPECT_TRUE(merged.unknown.empty());

  const Listed in_2007 = active_on("2007-06-01", false);
  EXPECT_THAT(in_2007.bases, Not(Contains(Key("organizations/eulex"))));
  EXPECT_THAT(in_2007.bases, Not(Contains(Key("organizations/isg"))));
  EXPECT_THAT(in_2007.bases, Contains(Pair("organizations/kfor", SPAN_COVERS_DATE)));
  EXPECT_THAT(in_2007.unknown, Contains("organizations/ico"));
}

TEST_F(SeedDataTest, SeedNeverOverwritesExistingData) {
  auto again = registry::LoadSeedOnce(*registry_, registry::KosovoSeed());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, 0);
  auto bad = registry::LoadSeedOnce(*registry_, "organizations { bogus: 1 }");
  EXPECT_THAT(bad, testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                     ::testing::HasSubstr("line 1")));
}

}  // namespace
}  // namespace presence
