#include "services/common/standard_errors.h"

#include "absl/strings/str_cat.h"
#include "services/common/echo.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"

namespace presence {

absl::Status OrganizationNotFoundError(absl::string_view name,
                                       const std::string& message) {
  return ErrorBuilder(absl::NotFoundError(message))
      .Reason(kOrganizationNotFound)
      .Meta("organization", name)
      .Resource(kOrganizationType, name);
}

absl::Status EtagMismatchError(absl::string_view field, absl::string_view sent,
                               absl::string_view current, absl::string_view name,
                               absl::string_view resource_type) {
  return ErrorBuilder(absl::AbortedError(absl::StrCat(
             field, ": ", Echo(sent), " does not match the current ", current, " of ",
             name, "; re-read and retry")))
      .Reason(kEtagMismatch)
      .Meta("name", name)
      .Meta("etag", sent)
      .Meta("currentEtag", current)
      .Resource(resource_type, name);
}

absl::Status RequestIdReusedError(absl::string_view request_id,
                                  absl::string_view created) {
  return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
             "request_id: ", request_id, " was already used to create ", created)))
      .Reason(kRequestIdReused)
      .Meta("requestId", request_id)
      .Meta("created", created);
}

namespace {

// INVALID_ARGUMENT about the organization `name` that `field` refers to.
absl::Status ReferenceError(absl::string_view reason, absl::string_view field,
                            absl::string_view name, absl::string_view what,
                            absl::string_view where) {
  return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(field, ": ", name, what, where)))
      .Reason(reason)
      .Meta("field", field)
      .Meta("organization", name);
}

}  // namespace

absl::Status UnknownOrganizationError(absl::string_view field, absl::string_view name,
                                      absl::string_view where) {
  return ReferenceError(kUnknownOrganization, field, name, " does not exist", where);
}

absl::Status DeletedOrganizationError(absl::string_view field, absl::string_view name,
                                      absl::string_view where) {
  return ReferenceError(kDeletedOrganization, field, name, " is deleted", where);
}

absl::Status DuplicateEntryError(absl::string_view field, const std::string& message) {
  return ErrorBuilder(absl::InvalidArgumentError(message))
      .Reason(kDuplicateEntry)
      .Meta("field", field);
}

}  // namespace presence
