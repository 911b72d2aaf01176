#include "services/common/write/preconditions.h"

#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/standard_errors.h"

namespace presence {

absl::Status CheckEtag(absl::string_view field, absl::string_view given,
                       absl::string_view current, absl::string_view resource,
                       absl::string_view resource_type) {
  if (given.empty() || given == current) return absl::OkStatus();
  return EtagMismatchError(field, given, current, resource, resource_type);
}

bool Unchanged(const google::protobuf::Message& current,
               const google::protobuf::Message& updated) {
  return google::protobuf::util::MessageDifferencer::Equals(current, updated);
}

}  // namespace presence
