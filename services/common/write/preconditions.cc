#include "services/common/write/preconditions.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/echo.h"

namespace presence {

absl::Status CheckEtag(absl::string_view field, absl::string_view given,
                       absl::string_view current, absl::string_view resource) {
  if (given.empty() || given == current) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat(field, ": ", Echo(given),
                                         " does not match the current ", current,
                                         " of ", resource, "; re-read and retry"));
}

bool Unchanged(const google::protobuf::Message& current,
               const google::protobuf::Message& updated) {
  return google::protobuf::util::MessageDifferencer::Equals(current, updated);
}

}  // namespace presence
