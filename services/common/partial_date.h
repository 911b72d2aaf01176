#ifndef PRESENCE_SERVICES_COMMON_PARTIAL_DATE_H_
#define PRESENCE_SERVICES_COMMON_PARTIAL_DATE_H_

// Interval semantics, validation and the human notation of
// presence.type.v1.PartialDate. This is the one implementation of those rules:
// the services, their storage keys and the CLI all use it.

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace presence::type::v1 {
class PartialDate;
enum PresenceBasis : int;  // As protoc declares it.
}  // namespace presence::type::v1

namespace presence {

// A closed interval of days [lower, upper]; lower <= upper.
struct DayInterval {
  absl::CivilDay lower;
  absl::CivilDay upper;

  // True if the two closed intervals share at least one day.
  bool Overlaps(const DayInterval& other) const {
    return lower <= other.upper && other.lower <= upper;
  }
  friend bool operator==(const DayInterval& a, const DayInterval& b) {
    return a.lower == b.lower && a.upper == b.upper;
  }
};

// The earliest and latest days any PartialDate can denote; used as -inf and
// +inf of open-ended ranges.
absl::CivilDay MinDay();
absl::CivilDay MaxDay();

// Returns OK if `date` is a valid PartialDate, else INVALID_ARGUMENT with a
// message that starts with `field` (e.g. "organization.established") and
// names the offending value.
absl::Status ValidatePartialDate(const type::v1::PartialDate& date,
                                 absl::string_view field);

// True for the default (all-zero) PartialDate, which APIs treat as "unset".
bool IsUnset(const type::v1::PartialDate& date);

// True if an optional date field is present (`present`: its has_ accessor)
// and not the all-zero "unset" value.
inline bool IsSet(bool present, const type::v1::PartialDate& date) {
  return present && !IsUnset(date);
}

// An empty PartialDate (`established: {}`, all fields zero) in an optional
// field means "unset", everywhere in both services: clears every such
// singular PartialDate field of `message`, recursively through nested and
// repeated message fields, so that an empty date is never stored or
// returned. Required date fields stay "is required" (their callers check
// IsSet). The write paths call this on what they are about to store.
void ClearEmptyPartialDates(google::protobuf::Message* message);

// The interval of days `date` denotes.
// REQUIRES: ValidatePartialDate(date) is OK.
DayInterval ToInterval(const type::v1::PartialDate& date);

// The interval [lower(from), upper(to)]; a null or unset (all-zero) bound is
// open: MinDay() or MaxDay(). Used for lifespans and terms of office.
// REQUIRES: set bounds are valid.
DayInterval SpanBetween(const type::v1::PartialDate* from,
                        const type::v1::PartialDate* to);

// On what basis a lifespan from `established` to `ended` is active on
// `date` (presence.type.v1.PresenceBasis: SPAN_COVERS_DATE,
// WITHIN_BOUND_UNCERTAINTY or BOUND_UNKNOWN), or nullopt if it is known not
// to be: it began after the date's last day or ended before its first. A
// null or unset `established` is an unknown start; a null or unset `ended`
// counts as still active. The one rule for GetPresence and
// ListOrganizations' active_on.
// REQUIRES: set bounds are valid.
std::optional<type::v1::PresenceBasis> ActiveBasis(const type::v1::PartialDate* established,
                                                   const type::v1::PartialDate* ended,
                                                   const DayInterval& date);

// Days since 1970-01-01 (negative before). Order-preserving.
int64_t DayNumber(absl::CivilDay day);
absl::CivilDay DayFromNumber(int64_t day_number);

// The canonical machine notation, accepted back by ParsePartialDate:
//   "2008-02-17", "2009-04", "2010", "early 2010", "mid 2009-06",
//   "late 2009", and a trailing "~" for approximate ("1999~").
// REQUIRES: ValidatePartialDate(date) is OK.
std::string FormatPartialDate(const type::v1::PartialDate& date);

// Human notation for tables: "17 Feb 2008", "Apr 2009", "early 2010",
// "mid Jun 2009", "c. 1999".
// REQUIRES: ValidatePartialDate(date) is OK.
std::string FormatPartialDateHuman(const type::v1::PartialDate& date);

// Parses the notation FormatPartialDate produces (leading/trailing spaces
// ignored, part words case-insensitive). On failure returns INVALID_ARGUMENT
// naming the text and listing the accepted forms.
absl::StatusOr<type::v1::PartialDate> ParsePartialDate(absl::string_view text);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_PARTIAL_DATE_H_
