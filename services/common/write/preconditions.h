#ifndef PRESENCE_SERVICES_COMMON_WRITE_PRECONDITIONS_H_
#define PRESENCE_SERVICES_COMMON_WRITE_PRECONDITIONS_H_

// The conditions every update and delete of both services checks against
// the current version of a resource.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace presence {

// AIP-154: OK if `given` is empty or equals `current`; otherwise ABORTED
// naming `field` and `resource` ("re-read and retry"), reason ETAG_MISMATCH
// with ResourceInfo of `resource_type` (EtagMismatchError).
absl::Status CheckEtag(absl::string_view field, absl::string_view given,
                       absl::string_view current, absl::string_view resource,
                       absl::string_view resource_type);

// True if an update would leave `current` as it is: `updated` (the result of
// applying the update, output-only fields still those of `current`) equals
// it field by field. Such an update writes nothing: no new revision, etag or
// update time; it returns the current version.
bool Unchanged(const google::protobuf::Message& current,
               const google::protobuf::Message& updated);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_WRITE_PRECONDITIONS_H_
