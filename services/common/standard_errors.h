#ifndef PRESENCE_SERVICES_COMMON_STANDARD_ERRORS_H_
#define PRESENCE_SERVICES_COMMON_STANDARD_ERRORS_H_

// The errors both services raise about the same things, each with its
// reason and details (services/common/error_reasons.h), so that the two
// services say them the same way. Each returns a non-OK status; `message`
// arguments are the complete message (field path first where there is a
// field).

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace presence {

// NOT_FOUND, ORGANIZATION_NOT_FOUND, metadata organization, ResourceInfo.
absl::Status OrganizationNotFoundError(absl::string_view name,
                                       const std::string& message);

// ABORTED, ETAG_MISMATCH: `sent` (in `field`) is not the current etag of
// `name` (of `resource_type`); metadata name, etag, currentEtag;
// ResourceInfo.
absl::Status EtagMismatchError(absl::string_view field, absl::string_view sent,
                               absl::string_view current, absl::string_view name,
                               absl::string_view resource_type);

// INVALID_ARGUMENT, REQUEST_ID_REUSED: `request_id` already created
// `created` (a resource name), not the resource asked for now.
absl::Status RequestIdReusedError(absl::string_view request_id,
                                  absl::string_view created);

// INVALID_ARGUMENT, UNKNOWN_ORGANIZATION (`name`, in `field`, names no
// organization) or DELETED_ORGANIZATION (it is deleted); `where` completes
// the message (" in the registry"); metadata field, organization.
absl::Status UnknownOrganizationError(absl::string_view field, absl::string_view name,
                                      absl::string_view where = "");
absl::Status DeletedOrganizationError(absl::string_view field, absl::string_view name,
                                      absl::string_view where = "");

// INVALID_ARGUMENT, DUPLICATE_ENTRY: `message` about the field `field`.
absl::Status DuplicateEntryError(absl::string_view field, const std::string& message);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_STANDARD_ERRORS_H_
