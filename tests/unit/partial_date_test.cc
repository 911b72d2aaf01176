#include "services/common/partial_date.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/type/v1/types.pb.h"
#include "tests/testing/status_matchers.h"

namespace presence {
namespace {

using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::type::v1::PartialDate;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr PartialDate::Part kNone = PartialDate::PART_UNSPECIFIED;
constexpr PartialDate::Part kEarly = PartialDate::PART_EARLY;
constexpr PartialDate::Part kMid = PartialDate::PART_MID;
constexpr PartialDate::Part kLate = PartialDate::PART_LATE;

PartialDate Date(int year, int month = 0, int day = 0,
                 PartialDate::Part part = kNone, bool approximate = false) {
  PartialDate d;
  d.set_year(year);
  d.set_month(month);
  d.set_day(day);
  d.set_part(part);
  d.set_approximate(approximate);
  return d;
}

std::string DayStr(absl::CivilDay d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

// "YYYY-MM-DD..YYYY-MM-DD", so that failures print readably.
std::string Str(const DayInterval& interval) {
  return DayStr(interval.lower) + ".." + DayStr(interval.upper);
}

std::string Describe(const PartialDate& d) {
  return "year=" + std::to_string(d.year()) +
         " month=" + std::to_string(d.month()) +
         " day=" + std::to_string(d.day()) +
         " part=" + std::to_string(static_cast<int>(d.part())) +
         " approximate=" + std::to_string(d.approximate());
}

// ---------------------------------------------------------------------------
// ToInterval

struct IntervalCase {
  PartialDate date;
  std::string want;  // As produced by Str().
};

void PrintTo(const IntervalCase& c, std::ostream* os) {
  *os << Describe(c.date) << " -> " << c.want;
}

// E.g. "y2009_m02_late", from the date alone.
std::string IntervalCaseName(
    const ::testing::TestParamInfo<IntervalCase>& info) {
  const PartialDate& d = info.param.date;
  std::string name = absl::StrFormat("y%04d", d.year());
  if (d.month() != 0) absl::StrAppendFormat(&name, "_m%02d", d.month());
  if (d.day() != 0) absl::StrAppendFormat(&name, "_d%02d", d.day());
  switch (d.part()) {
    case kEarly:
      name += "_early";
      break;
    case kMid:
      name += "_mid";
      break;
    case kLate:
      name += "_late";
      break;
    default:
      break;
  }
  return name;
}

class ToIntervalTest : public ::testing::TestWithParam<IntervalCase> {};

TEST_P(ToIntervalTest, DenotesExpectedDays) {
  const IntervalCase& c = GetParam();
  ASSERT_THAT(ValidatePartialDate(c.date, "d"), IsOk()) << Describe(c.date);
  EXPECT_EQ(Str(ToInterval(c.date)), c.want) << Describe(c.date);
}

TEST_P(ToIntervalTest, ApproximateDoesNotChangeInterval) {
  const IntervalCase& c = GetParam();
  PartialDate approximate = c.date;
  approximate.set_approximate(!approximate.approximate());
  ASSERT_THAT(ValidatePartialDate(approximate, "d"), IsOk());
  EXPECT_EQ(Str(ToInterval(approximate)), c.want) << Describe(approximate);
}

INSTANTIATE_TEST_SUITE_P(
    YearPrecision, ToIntervalTest,
    ::testing::Values(
        IntervalCase{Date(2010), "2010-01-01..2010-12-31"},
        IntervalCase{Date(2010, 0, 0, kEarly), "2010-01-01..2010-04-30"},
        IntervalCase{Date(2010, 0, 0, kMid), "2010-05-01..2010-08-31"},
        IntervalCase{Date(2010, 0, 0, kLate), "2010-09-01..2010-12-31"},
        IntervalCase{Date(2008, 0, 0, kEarly), "2008-01-01..2008-04-30"},
        IntervalCase{Date(1, 0, 0, kEarly), "0001-01-01..0001-04-30"},
        IntervalCase{Date(9999, 0, 0, kLate), "9999-09-01..9999-12-31"},
        IntervalCase{Date(1), "0001-01-01..0001-12-31"},
        IntervalCase{Date(9999), "9999-01-01..9999-12-31"}),
    IntervalCaseName);

INSTANTIATE_TEST_SUITE_P(
    MonthPrecision, ToIntervalTest,
    ::testing::Values(
        // Whole months: 31 and 30 days, and February in leap and non-leap
        // years (2000 is a leap year, 1900 is not).
        IntervalCase{Date(2009, 1), "2009-01-01..2009-01-31"},
        IntervalCase{Date(2009, 4), "2009-04-01..2009-04-30"},
        IntervalCase{Date(2009, 6), "2009-06-01..2009-06-30"},
        IntervalCase{Date(2009, 7), "2009-07-01..2009-07-31"},
        IntervalCase{Date(2009, 12), "2009-12-01..2009-12-31"},
        IntervalCase{Date(2008, 2), "2008-02-01..2008-02-29"},
        IntervalCase{Date(2000, 2), "2000-02-01..2000-02-29"},
        IntervalCase{Date(2009, 2), "2009-02-01..2009-02-28"},
        IntervalCase{Date(1900, 2), "1900-02-01..1900-02-28"},
        // Parts of a 31-day month.
        IntervalCase{Date(2009, 1, 0, kEarly), "2009-01-01..2009-01-10"},
        IntervalCase{Date(2009, 1, 0, kMid), "2009-01-11..2009-01-20"},
        IntervalCase{Date(2009, 1, 0, kLate), "2009-01-21..2009-01-31"},
        // Parts of a 30-day month.
        IntervalCase{Date(2009, 6, 0, kEarly), "2009-06-01..2009-06-10"},
        IntervalCase{Date(2009, 6, 0, kMid), "2009-06-11..2009-06-20"},
        IntervalCase{Date(2009, 6, 0, kLate), "2009-06-21..2009-06-30"},
        // December: the end of the month is the end of the year.
        IntervalCase{Date(2009, 12, 0, kLate), "2009-12-21..2009-12-31"},
        // Parts of February, leap and non-leap.
        IntervalCase{Date(2008, 2, 0, kEarly), "2008-02-01..2008-02-10"},
        IntervalCase{Date(2008, 2, 0, kMid), "2008-02-11..2008-02-20"},
        IntervalCase{Date(2008, 2, 0, kLate), "2008-02-21..2008-02-29"},
        IntervalCase{Date(2000, 2, 0, kLate), "2000-02-21..2000-02-29"},
        IntervalCase{Date(2009, 2, 0, kEarly), "2009-02-01..2009-02-10"},
        IntervalCase{Date(2009, 2, 0, kMid), "2009-02-11..2009-02-20"},
        IntervalCase{Date(2009, 2, 0, kLate), "2009-02-21..2009-02-28"},
        IntervalCase{Date(1900, 2, 0, kLate), "1900-02-21..1900-02-28"}),
    IntervalCaseName);

INSTANTIATE_TEST_SUITE_P(
    DayPrecision, ToIntervalTest,
    ::testing::Values(
        IntervalCase{Date(2008, 2, 17), "2008-02-17..2008-02-17"},
        IntervalCase{Date(2008, 2, 29), "2008-02-29..2008-02-29"},
        IntervalCase{Date(2009, 12, 31), "2009-12-31..2009-12-31"},
        IntervalCase{Date(1, 1, 1), "0001-01-01..0001-01-01"},
        IntervalCase{Date(9999, 12, 31), "9999-12-31..9999-12-31"}),
    IntervalCaseName);

TEST(MinMaxDayTest, CoverEveryValidDate) {
  EXPECT_EQ(MinDay(), absl::CivilDay(1, 1, 1));
  EXPECT_EQ(MaxDay(), absl::CivilDay(9999, 12, 31));
  EXPECT_EQ(ToInterval(Date(1)).lower, MinDay());
  EXPECT_EQ(ToInterval(Date(9999)).upper, MaxDay());
}

// ---------------------------------------------------------------------------
// ValidatePartialDate

struct InvalidCase {
  std::string name;
  PartialDate date;
  std::string field;  // The offending field, below the "x" prefix.
};

void PrintTo(const InvalidCase& c, std::ostream* os) {
  *os << c.name << ": " << Describe(c.date);
}

class ValidateRejectsTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ValidateRejectsTest, InvalidArgumentNamingField) {
  const InvalidCase& c = GetParam();
  EXPECT_THAT(
      ValidatePartialDate(c.date, "x"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("x." + c.field)))
      << Describe(c.date);
  // The prefix is the caller's, whatever it is.
  EXPECT_THAT(ValidatePartialDate(c.date, "organization.established"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organization.established." + c.field)))
      << Describe(c.date);
}

INSTANTIATE_TEST_SUITE_P(
    All, ValidateRejectsTest,
    ::testing::Values(
        InvalidCase{"Year0", Date(0), "year"},
        InvalidCase{"Year0WithMonth", Date(0, 5), "year"},
        InvalidCase{"Year10000", Date(10000), "year"},
        InvalidCase{"NegativeYear", Date(-5), "year"},
        InvalidCase{"Month13", Date(2009, 13), "month"},
        InvalidCase{"MonthMinus1", Date(2009, -1), "month"},
        InvalidCase{"DayWithoutMonth", Date(2009, 0, 3), "day"},
        InvalidCase{"Feb29NonLeap", Date(2009, 2, 29), "day"},
        InvalidCase{"Feb29Year1900", Date(1900, 2, 29), "day"},
        InvalidCase{"Feb30", Date(2009, 2, 30), "day"},
        InvalidCase{"Apr31", Date(2023, 4, 31), "day"},
        InvalidCase{"Day32", Date(2009, 1, 32), "day"},
        InvalidCase{"NegativeDay", Date(2009, 1, -1), "day"},
        InvalidCase{"EarlyWithDay", Date(2009, 2, 3, kEarly), "part"},
        InvalidCase{"LateWithDay", Date(2009, 2, 3, kLate), "part"},
        InvalidCase{"PartEnum7",
                    Date(2009, 0, 0, static_cast<PartialDate::Part>(7)),
                    "part"},
        InvalidCase{"PartEnumMinus1",
                    Date(2009, 2, 0, static_cast<PartialDate::Part>(-1)),
                    "part"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) {
      return info.param.name;
    });

TEST(ValidatePartialDateTest, MessageNamesOffendingValue) {
  EXPECT_THAT(ValidatePartialDate(Date(10000), "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10000")));
  EXPECT_THAT(ValidatePartialDate(Date(2009, 13), "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("13")));
  EXPECT_THAT(
      ValidatePartialDate(Date(2009, 2, 30), "x"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2009-02-30")));
}

TEST(ValidatePartialDateTest, AcceptsValidDates) {
  const std::vector<PartialDate> valid = {
      Date(1),
      Date(9999),
      Date(2008, 2, 29),
      Date(2000, 2, 29),
      Date(2009, 2, 28),
      Date(2009, 1, 31),
      Date(2009, 12),
      Date(2009, 0, 0, kEarly),
      Date(2009, 0, 0, kMid, true),
      Date(2009, 6, 0, kLate),
      Date(1999, 0, 0, kNone, true),
  };
  for (const PartialDate& d : valid) {
    SCOPED_TRACE(Describe(d));
    EXPECT_THAT(ValidatePartialDate(d, "x"), IsOk());
  }
}

TEST(IsUnsetTest, OnlyTheDefaultDateIsUnset) {
  EXPECT_TRUE(IsUnset(PartialDate()));
  EXPECT_FALSE(IsUnset(Date(2009)));
  EXPECT_FALSE(IsUnset(Date(0, 0, 0, kNone, true)));
  EXPECT_FALSE(IsUnset(Date(0, 0, 0, kEarly)));
  // And "unset" is not a valid date.
  EXPECT_THAT(ValidatePartialDate(PartialDate(), "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Day numbers and intervals

TEST(DayNumberTest, EpochIsZero) {
  EXPECT_EQ(DayNumber(absl::CivilDay(1970, 1, 1)), 0);
  EXPECT_EQ(DayNumber(absl::CivilDay(1970, 1, 2)), 1);
  EXPECT_EQ(DayNumber(absl::CivilDay(1969, 12, 31)), -1);
  EXPECT_EQ(DayNumber(absl::CivilDay(2000, 3, 1)), 11017);
  EXPECT_EQ(DayFromNumber(0), absl::CivilDay(1970, 1, 1));
  EXPECT_EQ(DayFromNumber(-1), absl::CivilDay(1969, 12, 31));
}

TEST(DayNumberTest, OrderPreservingAndRoundTrips) {
  const std::vector<absl::CivilDay> days = {
      MinDay(),
      absl::CivilDay(1, 1, 2),
      absl::CivilDay(1900, 2, 28),
      absl::CivilDay(1900, 3, 1),
      absl::CivilDay(1969, 12, 31),
      absl::CivilDay(1970, 1, 1),
      absl::CivilDay(2000, 2, 29),
      absl::CivilDay(2008, 2, 17),
      absl::CivilDay(2038, 1, 19),
      MaxDay(),
  };
  for (size_t i = 0; i < days.size(); ++i) {
    SCOPED_TRACE(DayStr(days[i]));
    EXPECT_EQ(DayFromNumber(DayNumber(days[i])), days[i]);
    if (i > 0) {
      EXPECT_LT(DayNumber(days[i - 1]), DayNumber(days[i]));
    }
  }
  // Consecutive days have consecutive numbers across month, year and leap
  // boundaries.
  for (absl::CivilDay d(1999, 12, 1); d < absl::CivilDay(2001, 1, 31); ++d) {
    ASSERT_EQ(DayNumber(d + 1), DayNumber(d) + 1) << d;
  }
  for (int64_t n : {int64_t{-719162}, int64_t{-1}, int64_t{0}, int64_t{1},
                    int64_t{2932896}}) {
    EXPECT_EQ(DayNumber(DayFromNumber(n)), n);
  }
}

TEST(DayIntervalTest, Overlaps) {
  const auto iv = [](absl::CivilDay a, absl::CivilDay b) {
    return DayInterval{a, b};
  };
  const absl::CivilDay d1(2009, 1, 1), d10(2009, 1, 10), d11(2009, 1, 11),
      d20(2009, 1, 20), d5(2009, 1, 5), d15(2009, 1, 15);
  struct Case {
    DayInterval a, b;
    bool want;
  };
  const std::vector<Case> cases = {
      {iv(d1, d10), iv(d11, d20), false},  // Adjacent, disjoint.
      {iv(d1, d10), iv(d10, d20), true},   // Touching endpoint.
      {iv(d1, d10), iv(d5, d15), true},    // Partial overlap.
      {iv(d1, d20), iv(d5, d10), true},    // Containment.
      {iv(d5, d5), iv(d5, d5), true},      // Same single day.
      {iv(d5, d5), iv(d1, d10), true},     // Single day inside.
      {iv(d1, d1), iv(d10, d10), false},   // Distinct single days.
      {iv(d10, d10), iv(d1, d10), true},   // Single day at upper endpoint.
      {iv(d1, d1), iv(d1, d10), true},     // Single day at lower endpoint.
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Str(c.a) + " vs " + Str(c.b));
    EXPECT_EQ(c.a.Overlaps(c.b), c.want);
    EXPECT_EQ(c.b.Overlaps(c.a), c.want);  // Symmetric.
  }
}

TEST(DayIntervalTest, EarlyMidLateOfAYearDoNotOverlap) {
  const DayInterval early = ToInterval(Date(2009, 0, 0, kEarly));
  const DayInterval mid = ToInterval(Date(2009, 0, 0, kMid));
  const DayInterval late = ToInterval(Date(2009, 0, 0, kLate));
  EXPECT_FALSE(early.Overlaps(mid));
  EXPECT_FALSE(mid.Overlaps(late));
  EXPECT_EQ(early.upper + 1, mid.lower);
  EXPECT_EQ(mid.upper + 1, late.lower);
  EXPECT_TRUE(early.Overlaps(ToInterval(Date(2009))));
  EXPECT_TRUE(late.Overlaps(ToInterval(Date(2009, 12, 31))));
  EXPECT_FALSE(late.Overlaps(ToInterval(Date(2010, 1, 1))));
}

// ---------------------------------------------------------------------------
// FormatPartialDate / ParsePartialDate

struct NotationCase {
  std::string text;
  PartialDate date;
  std::string human;
};

void PrintTo(const NotationCase& c, std::ostream* os) {
  *os << "\"" << c.text << "\" / \"" << c.human << "\"";
}

// E.g. "early_2010_approx".
std::string NotationCaseName(
    const ::testing::TestParamInfo<NotationCase>& info) {
  std::string name;
  for (char c : info.param.text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      name += c;
    } else if (c == '~') {
      name += "_approx";
    } else {
      name += '_';
    }
  }
  return name;
}

class NotationTest : public ::testing::TestWithParam<NotationCase> {};

TEST_P(NotationTest, Format) {
  const NotationCase& c = GetParam();
  EXPECT_EQ(FormatPartialDate(c.date), c.text);
}

TEST_P(NotationTest, Parse) {
  const NotationCase& c = GetParam();
  absl::StatusOr<PartialDate> parsed = ParsePartialDate(c.text);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(Describe(*parsed), Describe(c.date));
}

TEST_P(NotationTest, RoundTrip) {
  const NotationCase& c = GetParam();
  absl::StatusOr<PartialDate> parsed =
      ParsePartialDate(FormatPartialDate(c.date));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(FormatPartialDate(*parsed), c.text);
  EXPECT_EQ(Describe(*parsed), Describe(c.date));
}

TEST_P(NotationTest, Human) {
  const NotationCase& c = GetParam();
  EXPECT_EQ(FormatPartialDateHuman(c.date), c.human);
}

INSTANTIATE_TEST_SUITE_P(
    AcceptedForms, NotationTest,
    ::testing::Values(
        NotationCase{"2008-02-17", Date(2008, 2, 17), "17 Feb 2008"},
        NotationCase{"2009-04", Date(2009, 4), "Apr 2009"},
        NotationCase{"2010", Date(2010), "2010"},
        NotationCase{"early 2010", Date(2010, 0, 0, kEarly), "early 2010"},
        NotationCase{"mid 2009-06", Date(2009, 6, 0, kMid), "mid Jun 2009"},
        NotationCase{"late 2009", Date(2009, 0, 0, kLate), "late 2009"},
        NotationCase{"late 2009-12", Date(2009, 12, 0, kLate), "late Dec 2009"},
        NotationCase{"1999~", Date(1999, 0, 0, kNone, true), "c. 1999"},
        NotationCase{"early 2010~", Date(2010, 0, 0, kEarly, true),
                     "c. early 2010"},
        NotationCase{"2008-02-29", Date(2008, 2, 29), "29 Feb 2008"},
        NotationCase{"2009-01~", Date(2009, 1, 0, kNone, true), "c. Jan 2009"},
        NotationCase{"0001", Date(1), "1"},
        NotationCase{"0987-06-05", Date(987, 6, 5), "5 Jun 987"},
        NotationCase{"9999-12-31", Date(9999, 12, 31), "31 Dec 9999"}),
    NotationCaseName);

TEST(ParsePartialDateTest, PartWordsAreCaseInsensitive) {
  for (absl::string_view text : {"EARLY 2010", "Early 2010", "eArLy 2010"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<PartialDate> parsed = ParsePartialDate(text);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(Describe(*parsed), Describe(Date(2010, 0, 0, kEarly)));
    EXPECT_EQ(FormatPartialDate(*parsed), "early 2010");
  }
  absl::StatusOr<PartialDate> parsed = ParsePartialDate("MID 2009-06~");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(FormatPartialDate(*parsed), "mid 2009-06~");
}

TEST(ParsePartialDateTest, IgnoresSurroundingSpaces) {
  const struct {
    absl::string_view text;
    std::string formatted;
  } cases[] = {
      {"  2010  ", "2010"},    {" 2008-02-17", "2008-02-17"},
      {"2009-04 ", "2009-04"}, {"  early 2010 ", "early 2010"},
      {" 1999~ ", "1999~"},    {"\t2010\n", "2010"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.text));
    absl::StatusOr<PartialDate> parsed = ParsePartialDate(c.text);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(FormatPartialDate(*parsed), c.formatted);
  }
}

TEST(ParsePartialDateTest, RejectsWithAcceptedForms) {
  for (absl::string_view text : {"",
                                 "   ",
                                 "2009-4",
                                 "99",
                                 "2009-02-30",
                                 "2009-02-29",
                                 "2009-13",
                                 "2009-00",
                                 "0000",
                                 "soon 2009",
                                 "early 2009-02-03",
                                 "2009/02/03",
                                 "2009-02-03-04",
                                 "abcd",
                                 "early",
                                 "1999~~",
                                 "~",
                                 "early mid 2009",
                                 "2009-02-3",
                                 "20090",
                                 "+200"}) {
    SCOPED_TRACE(std::string("\"") + std::string(text) + "\"");
    EXPECT_THAT(ParsePartialDate(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("accepted forms"),
                               HasSubstr("\"" + std::string(text) + "\""))));
  }
}

// The presence basis of a lifespan on a date (presence.type.v1.PresenceBasis).
TEST(ActiveBasisTest, KnownCoverageBoundUncertaintyAndUnknownBounds) {
  using ::presence::type::v1::BOUND_UNKNOWN;
  using ::presence::type::v1::SPAN_COVERS_DATE;
  using ::presence::type::v1::WITHIN_BOUND_UNCERTAINTY;
  const auto date = [](const std::string& text) { return *ParsePartialDate(text); };
  const auto basis = [&](const char* established, const char* ended, const char* on) {
    const PartialDate e = *established ? date(established) : PartialDate();
    const PartialDate x = *ended ? date(ended) : PartialDate();
    return ActiveBasis(*established ? &e : nullptr, *ended ? &x : nullptr,
                       ToInterval(date(on)));
  };
  // Established to the day before the date: known.
  EXPECT_EQ(basis("2008-02-28", "", "2008-03"), SPAN_COVERS_DATE);
  EXPECT_EQ(basis("2008-02-28", "", "2008-02-28"), SPAN_COVERS_DATE);
  // "Established 2008", asked about March 2008: it may have been December.
  EXPECT_EQ(basis("2008", "", "2008-03"), WITHIN_BOUND_UNCERTAINTY);
  EXPECT_EQ(basis("2008", "", "2008-12-31"), SPAN_COVERS_DATE);
  // Asked about all of 2008: whenever in 2008 it began, it was there.
  EXPECT_EQ(basis("2008", "", "2008"), SPAN_COVERS_DATE);
  EXPECT_EQ(basis("1999", "", "2007-06-01"), SPAN_COVERS_DATE);
  // Known not to be: began after the date, ended before it.
  EXPECT_EQ(basis("2008-02-28", "", "2008-02-27"), std::nullopt);
  EXPECT_EQ(basis("2008", "", "2007"), std::nullopt);
  EXPECT_EQ(basis("1999", "2008-06-15", "2009"), std::nullopt);
  // A partial end: may have ended before the date.
  EXPECT_EQ(basis("1999", "2008-06", "2008-06-20"), WITHIN_BOUND_UNCERTAINTY);
  EXPECT_EQ(basis("1999", "2008-06", "2008-06"), SPAN_COVERS_DATE);
  // No established date: unknown, whatever the date, unless it ended before.
  EXPECT_EQ(basis("", "", "2007-06-01"), BOUND_UNKNOWN);
  EXPECT_EQ(basis("", "", "1500"), BOUND_UNKNOWN);
  EXPECT_EQ(basis("", "2005", "2007"), std::nullopt);
  EXPECT_EQ(basis("", "2005", "2004"), BOUND_UNKNOWN);
  // An all-zero date is unset.
  const PartialDate empty;
  EXPECT_EQ(ActiveBasis(&empty, &empty, ToInterval(date("2009"))), BOUND_UNKNOWN);
}

}  // namespace
}  // namespace presence
