#ifndef PRESENCE_SERVICES_COMMON_FIELD_MASK_H_
#define PRESENCE_SERVICES_COMMON_FIELD_MASK_H_

// AIP-134 update masks, shared by every Update method.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace google::protobuf {
class FieldMask;
class Message;
}  // namespace google::protobuf

namespace presence {

struct UpdateMask {
  // "*": replace every field.
  bool full_replacement = false;
  // Otherwise the (possibly nested) paths to copy from the patch.
  std::vector<std::string> paths;
};

// Resolves the mask of an update: `mask` null (omitted) means every field
// populated in `patch`; "*" alone means full replacement; any other path must
// name a field of `patch`'s type (INVALID_ARGUMENT naming update_mask and the
// path, also for an empty path or an empty segment as in "a..b"; reason
// INVALID_UPDATE_MASK). Paths under the OUTPUT_ONLY fields of `patch`'s type
// (its google.api.field_behavior annotations, AIP-203) are dropped, and so
// are `name` (it identifies the resource, AIP-134) and `etag` (a
// precondition, AIP-154).
absl::StatusOr<UpdateMask> ResolveUpdateMask(
    const google::protobuf::Message& patch,
    const google::protobuf::FieldMask* mask);

// Copies the masked fields of `patch` into `*target` (same type). A masked
// field absent from `patch` is cleared; repeated fields are replaced, not
// appended. With full replacement `*target` becomes a copy of `patch`: the
// caller restores output-only fields.
void ApplyUpdateMask(const google::protobuf::Message& patch,
                     const UpdateMask& mask, google::protobuf::Message* target);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_FIELD_MASK_H_
