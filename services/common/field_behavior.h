#ifndef PRESENCE_SERVICES_COMMON_FIELD_BEHAVIOR_H_
#define PRESENCE_SERVICES_COMMON_FIELD_BEHAVIOR_H_

// AIP-203 field behavior, read from the protos' google.api.field_behavior
// annotations rather than hand-written lists: output-only fields are
// cleared from requests, required fields are checked. Shared by both
// services (and usable for any message type).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Descriptor;
class Message;
}  // namespace google::protobuf

namespace presence {

// Clears every OUTPUT_ONLY field of `message` and, recursively, of the
// messages it holds (singular and repeated message fields). Maps are left
// alone (none of our messages has an annotated map).
void ClearOutputOnlyFields(google::protobuf::Message* message);

// The names of the OUTPUT_ONLY fields of `type` itself (not nested), in
// field-number order: the paths an update mask ignores (AIP-203).
const std::vector<std::string>& OutputOnlyFieldNames(
    const google::protobuf::Descriptor* type);

// Sets each OUTPUT_ONLY field of `to` (top level) to its value in `from`
// (cleared where `from` has none): after a full-replacement update, the
// output-only fields come from the stored version. Same type.
void CopyOutputOnlyFields(const google::protobuf::Message& from,
                          google::protobuf::Message* to);

// Whether CheckRequiredFields descends into the messages `message` holds.
enum class Nested { kCheck, kSkip };

// OK if every REQUIRED field of `message` is present, else INVALID_ARGUMENT
// FIELD_REQUIRED (FieldRequiredError) naming the first missing one, in
// field-number order, as `prefix` + its path ("organization." +
// "leaders[2].person"). Present means: a string or bytes field not blank
// (not empty after trimming ASCII whitespace), a number or enum not zero, a
// repeated field not empty, a message field set and not empty (an empty
// message counts as unset, as an empty PartialDate does). With
// Nested::kCheck the REQUIRED fields of every present message field (and
// of every element of a repeated one) are checked too.
absl::Status CheckRequiredFields(const google::protobuf::Message& message,
                                 absl::string_view prefix = "",
                                 Nested nested = Nested::kCheck);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_FIELD_BEHAVIOR_H_
