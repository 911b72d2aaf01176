#ifndef PRESENCE_SERVICES_COMMON_RESOURCE_NAME_H_
#define PRESENCE_SERVICES_COMMON_RESOURCE_NAME_H_

// AIP-122 resource names ("organizations/kfor", "events/isg-formed") and
// AIP-155 request ids, shared by both services.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace presence {

// True if `id` matches ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$.
bool IsValidResourceId(absl::string_view id);

// "{collection}/{id}".
std::string ResourceName(absl::string_view collection, absl::string_view id);

// Returns the id of "{collection}/{id}"; INVALID_ARGUMENT naming `field` if
// `name` is empty or not of that form.
absl::StatusOr<std::string> ParseResourceName(absl::string_view name,
                                              absl::string_view collection,
                                              absl::string_view field);

// INVALID_ARGUMENT naming `field` unless `id` is a valid resource id.
absl::Status ValidateResourceId(absl::string_view id, absl::string_view field);

// OK for an empty request id or a UUID (8-4-4-4-12 hex digits, AIP-155);
// INVALID_ARGUMENT naming request_id otherwise.
absl::Status ValidateRequestId(absl::string_view request_id);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_RESOURCE_NAME_H_
