#ifndef PRESENCE_SERVICES_COMMON_TEXT_PROTO_H_
#define PRESENCE_SERVICES_COMMON_TEXT_PROTO_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace presence {

// Parses protobuf text format into `*message`. INVALID_ARGUMENT with the
// line and column of the first error otherwise.
absl::Status ParseTextProto(absl::string_view text,
                            google::protobuf::Message* message);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_TEXT_PROTO_H_
