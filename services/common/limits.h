#ifndef PRESENCE_SERVICES_COMMON_LIMITS_H_
#define PRESENCE_SERVICES_COMMON_LIMITS_H_

// Input limits: every string field has a maximum length and every repeated
// field a maximum count (documented in the README), enforced with
// INVALID_ARGUMENT naming the field and the limit.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"

namespace presence {

inline constexpr size_t kMaxShortText = 256;     // names, roles, contributors
inline constexpr size_t kMaxMediumText = 2048;   // notes, documents, legal bases
inline constexpr size_t kMaxLongText = 16384;    // descriptions, quotes
inline constexpr int kMaxListEntries = 64;       // aliases, leaders, sources, ...
inline constexpr int kMaxHeadcounts = 256;

inline absl::Status CheckLength(absl::string_view field, absl::string_view value,
                                size_t max) {
  if (value.size() <= max) return absl::OkStatus();
  return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
             field, ": ", value.size(), " bytes exceed the limit of ", max)))
      .Reason(kLimitExceeded)
      .Meta("field", field)
      .Meta("limit", absl::StrCat(max));
}

inline absl::Status CheckCount(absl::string_view field, int count, int max) {
  if (count <= max) return absl::OkStatus();
  return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
             field, ": ", count, " entries exceed the limit of ", max)))
      .Reason(kLimitExceeded)
      .Meta("field", field)
      .Meta("limit", absl::StrCat(max));
}

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_LIMITS_H_
