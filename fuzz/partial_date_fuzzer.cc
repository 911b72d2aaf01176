// PartialDate: parsing the notation, validation, intervals and the
// parse(format(d)) == d round trip, from text and from arbitrary field values.

#include <cstddef>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz/fuzz_check.h"
#include "google/protobuf/util/message_differencer.h"
#include "presence/type/v1/types.pb.h"
#include "services/common/partial_date.h"

namespace {

using ::presence::type::v1::PartialDate;

void CheckValid(const PartialDate& date) {
  const presence::DayInterval interval = presence::ToInterval(date);
  PRESENCE_FUZZ_CHECK(interval.lower <= interval.upper, date.ShortDebugString());
  PRESENCE_FUZZ_CHECK(presence::MinDay() <= interval.lower, date.ShortDebugString());
  PRESENCE_FUZZ_CHECK(interval.upper <= presence::MaxDay(), date.ShortDebugString());
  const std::string text = presence::FormatPartialDate(date);
  absl::StatusOr<PartialDate> again = presence::ParsePartialDate(text);
  PRESENCE_FUZZ_CHECK(again.ok(), text);
  PRESENCE_FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*again, date),
                      text + " vs " + date.ShortDebugString());
  PRESENCE_FUZZ_CHECK(!presence::FormatPartialDateHuman(date).empty(), text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // As text in the notation.
  absl::StatusOr<PartialDate> parsed = presence::ParsePartialDate(text);
  if (parsed.ok()) {
    PRESENCE_FUZZ_CHECK(presence::ValidatePartialDate(*parsed, "d").ok(), text);
    CheckValid(*parsed);
  } else {
    PRESENCE_FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument, text);
    presence::fuzz::CheckBounded(parsed.status());
  }
  // As field values.
  FuzzedDataProvider provider(data, size);
  PartialDate date;
  date.set_year(provider.ConsumeIntegral<int32_t>());
  date.set_month(provider.ConsumeIntegral<int32_t>());
  date.set_day(provider.ConsumeIntegral<int32_t>());
  date.set_part(static_cast<PartialDate::Part>(provider.ConsumeIntegral<int32_t>()));
  date.set_approximate(provider.ConsumeBool());
  // Bias towards plausible dates so that the valid paths are explored.
  if (provider.ConsumeBool()) {
    date.set_year(1 + date.year() % 9999 + (date.year() % 9999 < 0 ? 9999 : 0));
    date.set_month(date.month() % 13 < 0 ? -(date.month() % 13) : date.month() % 13);
    date.set_day(date.day() % 32 < 0 ? -(date.day() % 32) : date.day() % 32);
    date.set_part(static_cast<PartialDate::Part>(date.part() & 3));
  }
  const absl::Status valid = presence::ValidatePartialDate(date, "date");
  if (valid.ok()) {
    CheckValid(date);
  } else {
    PRESENCE_FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument, valid.ToString());
    presence::fuzz::CheckBounded(valid);
  }
  PartialDate cleared = date;
  // An empty date is unset; anything else is kept.
  presence::ClearEmptyPartialDates(&cleared);
  return 0;
}
