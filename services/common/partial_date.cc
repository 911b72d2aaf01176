#include "services/common/partial_date.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "presence/type/v1/types.pb.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/echo.h"

namespace presence {
namespace {

using ::presence::type::v1::PartialDate;

constexpr int kMinYear = 1;
constexpr int kMaxYear = 9999;
constexpr char kAcceptedForms[] =
    "accepted forms: YYYY-MM-DD, YYYY-MM, YYYY, optionally preceded by "
    "\"early\", \"mid\" or \"late\" (year or month only), optionally followed "
    "by \"~\" for approximate; e.g. 2008-02-17, 2009-04, 2010, early 2010, "
    "mid 2009-06, late 2009, 1999~";

int DaysInMonth(int year, int month) {
  // The day before the first of the next month; CivilMonth arithmetic handles
  // December -> January.
  const absl::CivilMonth next = absl::CivilMonth(year, month) + 1;
  return (absl::CivilDay(next) - 1).day();
}

absl::string_view PartWord(PartialDate::Part part) {
  switch (part) {
    case PartialDate::PART_EARLY:
      return "early";
    case PartialDate::PART_MID:
      return "mid";
    case PartialDate::PART_LATE:
      return "late";
    default:
      return "";
  }
}

}  // namespace

absl::CivilDay MinDay() { return absl::CivilDay(kMinYear, 1, 1); }
absl::CivilDay MaxDay() { return absl::CivilDay(kMaxYear, 12, 31); }

bool IsUnset(const PartialDate& date) {
  return date.year() == 0 && date.month() == 0 && date.day() == 0 &&
         date.part() == PartialDate::PART_UNSPECIFIED && !date.approximate();
}

namespace {

// INVALID_ARGUMENT with reason INVALID_DATE naming `field` (when known).
absl::Status InvalidDate(absl::string_view field, const std::string& message) {
  ErrorBuilder error(absl::InvalidArgumentError(message));
  error.Reason(kInvalidDate);
  if (!field.empty()) error.Meta("field", field);
  return error;
}

}  // namespace

absl::Status ValidatePartialDate(const PartialDate& date,
                                 absl::string_view field) {
  if (date.year() < kMinYear || date.year() > kMaxYear) {
    return InvalidDate(field, absl::StrCat(
        field, ".year: ", date.year(), " is not a year in ", kMinYear, "..",
        kMaxYear));
  }
  if (date.month() < 0 || date.month() > 12) {
    return InvalidDate(field, absl::StrCat(
        field, ".month: ", date.month(), " is not a month (1..12, or 0 when unknown)"));
  }
  if (date.day() != 0) {
    if (date.month() == 0) {
      return InvalidDate(field, absl::StrCat(
          field, ".day: ", date.day(), " is set but the month is not"));
    }
    const int days = DaysInMonth(date.year(), date.month());
    if (date.day() < 0 || date.day() > days) {
      return InvalidDate(field, absl::StrFormat(
          "%s.day: %04d-%02d-%02d does not exist (%04d-%02d has %d days)",
          field, date.year(), date.month(), date.day(), date.year(),
          date.month(), days));
    }
  }
  if (!PartialDate::Part_IsValid(date.part())) {
    return InvalidDate(field,
        absl::StrCat(field, ".part: ", date.part(), " is not a known part"));
  }
  if (date.part() != PartialDate::PART_UNSPECIFIED && date.day() != 0) {
    return InvalidDate(field, absl::StrCat(
        field, ".part: ", PartialDate::Part_Name(date.part()),
        " cannot narrow a date known to the day (day ", date.day(), ")"));
  }
  return absl::OkStatus();
}

void ClearEmptyPartialDates(google::protobuf::Message* message) {
  const google::protobuf::Reflection* reflection = message->GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        ClearEmptyPartialDates(reflection->MutableRepeatedMessage(message, field, i));
      }
      continue;
    }
    google::protobuf::Message* value = reflection->MutableMessage(message, field);
    if (field->message_type() == PartialDate::descriptor()) {
      if (IsUnset(*static_cast<PartialDate*>(value))) {
        reflection->ClearField(message, field);
      }
    } else {
      ClearEmptyPartialDates(value);
    }
  }
}

DayInterval ToInterval(const PartialDate& date) {
  const int y = date.year();
  if (date.month() == 0) {
    switch (date.part()) {
      case PartialDate::PART_EARLY:
        return {absl::CivilDay(y, 1, 1), absl::CivilDay(y, 4, 30)};
      case PartialDate::PART_MID:
        return {absl::CivilDay(y, 5, 1), absl::CivilDay(y, 8, 31)};
      case PartialDate::PART_LATE:
        return {absl::CivilDay(y, 9, 1), absl::CivilDay(y, 12, 31)};
      default:
        return {absl::CivilDay(y, 1, 1), absl::CivilDay(y, 12, 31)};
    }
  }
  const int m = date.month();
  if (date.day() != 0) {
    const absl::CivilDay d(y, m, date.day());
    return {d, d};
  }
  const int last = DaysInMonth(y, m);
  switch (date.part()) {
    case PartialDate::PART_EARLY:
      return {absl::CivilDay(y, m, 1), absl::CivilDay(y, m, 10)};
    case PartialDate::PART_MID:
      return {absl::CivilDay(y, m, 11), absl::CivilDay(y, m, 20)};
    case PartialDate::PART_LATE:
      return {absl::CivilDay(y, m, 21), absl::CivilDay(y, m, last)};
    default:
      return {absl::CivilDay(y, m, 1), absl::CivilDay(y, m, last)};
  }
}

DayInterval SpanBetween(const PartialDate* from, const PartialDate* to) {
  DayInterval span{MinDay(), MaxDay()};
  if (from != nullptr && !IsUnset(*from)) span.lower = ToInterval(*from).lower;
  if (to != nullptr && !IsUnset(*to)) span.upper = ToInterval(*to).upper;
  return span;
}

std::optional<type::v1::PresenceBasis> ActiveBasis(const PartialDate* established,
                                                   const PartialDate* ended,
                                                   const DayInterval& date) {
  const bool start_known = established != nullptr && !IsUnset(*established);
  const bool end_known = ended != nullptr && !IsUnset(*ended);
  // The earliest and latest days each bound may denote.
  const DayInterval start = start_known ? ToInterval(*established) : DayInterval{MinDay(), MinDay()};
  const DayInterval end = end_known ? ToInterval(*ended) : DayInterval{MaxDay(), MaxDay()};
  if (start.lower > date.upper || end.upper < date.lower) return std::nullopt;
  if (!start_known) return type::v1::BOUND_UNKNOWN;
  if (start.upper <= date.upper && end.lower >= date.lower) return type::v1::SPAN_COVERS_DATE;
  return type::v1::WITHIN_BOUND_UNCERTAINTY;
}

int64_t DayNumber(absl::CivilDay day) {
  return day - absl::CivilDay(1970, 1, 1);
}

absl::CivilDay DayFromNumber(int64_t day_number) {
  return absl::CivilDay(1970, 1, 1) + day_number;
}

std::string FormatPartialDate(const PartialDate& date) {
  std::string out;
  if (date.part() != PartialDate::PART_UNSPECIFIED) {
    absl::StrAppend(&out, PartWord(date.part()), " ");
  }
  absl::StrAppend(&out, absl::StrFormat("%04d", date.year()));
  if (date.month() != 0) absl::StrAppend(&out, absl::StrFormat("-%02d", date.month()));
  if (date.day() != 0) absl::StrAppend(&out, absl::StrFormat("-%02d", date.day()));
  if (date.approximate()) out += "~";
  return out;
}

std::string FormatPartialDateHuman(const PartialDate& date) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  std::string out;
  if (date.approximate()) out = "c. ";
  if (date.part() != PartialDate::PART_UNSPECIFIED) {
    absl::StrAppend(&out, PartWord(date.part()), " ");
  }
  if (date.day() != 0) absl::StrAppend(&out, date.day(), " ");
  if (date.month() != 0) absl::StrAppend(&out, kMonths[date.month() - 1], " ");
  absl::StrAppend(&out, date.year());
  return out;
}

absl::StatusOr<PartialDate> ParsePartialDate(absl::string_view text) {
  const auto reject = [&](absl::string_view why) {
    return InvalidDate("", absl::StrCat(
        QuotedEcho(text), " is not a date", why.empty() ? "" : " (", why,
        why.empty() ? "" : ")", "; ", kAcceptedForms));
  };
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  PartialDate date;
  if (absl::ConsumeSuffix(&rest, "~")) {
    date.set_approximate(true);
    rest = absl::StripTrailingAsciiWhitespace(rest);
  }
  const std::vector<absl::string_view> words =
      absl::StrSplit(rest, ' ', absl::SkipEmpty());
  if (words.empty() || words.size() > 2) return reject("");
  absl::string_view numeric = words.back();
  if (words.size() == 2) {
    const std::string word = absl::AsciiStrToLower(words[0]);
    if (word == "early") {
      date.set_part(PartialDate::PART_EARLY);
    } else if (word == "mid") {
      date.set_part(PartialDate::PART_MID);
    } else if (word == "late") {
      date.set_part(PartialDate::PART_LATE);
    } else {
      return reject(absl::StrCat("unknown part ", QuotedEcho(words[0])));
    }
  }
  // Dates are YYYY[-MM[-DD]] with exactly these widths: ParseCivilTime checks
  // the calendar (it rejects 2023-02-30 where the CivilDay constructor would
  // normalize it) and the width check rejects "2009-4" and "99".
  const std::vector<absl::string_view> fields = absl::StrSplit(numeric, '-');
  if (fields.size() > 3 || fields[0].size() != 4 ||
      (fields.size() > 1 && fields[1].size() != 2) ||
      (fields.size() > 2 && fields[2].size() != 2)) {
    return reject("");
  }
  for (absl::string_view f : fields) {
    for (char c : f) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return reject("");
    }
  }
  const std::string numeric_str(numeric);
  switch (fields.size()) {
    case 1: {
      absl::CivilYear y;
      if (!absl::ParseCivilTime(numeric_str, &y)) return reject("");
      date.set_year(static_cast<int32_t>(y.year()));
      break;
    }
    case 2: {
      absl::CivilMonth m;
      if (!absl::ParseCivilTime(numeric_str, &m)) {
        return reject("no such month");
      }
      date.set_year(static_cast<int32_t>(m.year()));
      date.set_month(m.month());
      break;
    }
    default: {
      absl::CivilDay d;
      if (!absl::ParseCivilTime(numeric_str, &d)) return reject("no such day");
      date.set_year(static_cast<int32_t>(d.year()));
      date.set_month(d.month());
      date.set_day(d.day());
      break;
    }
  }
  if (absl::Status s = ValidatePartialDate(date, "date"); !s.ok()) {
    return reject(s.message());
  }
  return date;
}

}  // namespace presence
