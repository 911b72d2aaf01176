#ifndef PRESENCE_SERVICES_COMMON_ERROR_DETAILS_H_
#define PRESENCE_SERVICES_COMMON_ERROR_DETAILS_H_

// Machine-readable error details (AIP-193) on absl::Status, for the domain
// layers (no gRPC here): a reason with metadata (google.rpc.ErrorInfo),
// field violations (BadRequest), the resource concerned (ResourceInfo),
// failed preconditions (PreconditionFailure) and a retry delay (RetryInfo).
//
// Each detail is an absl::Status payload keyed by its message's type URL
// ("type.googleapis.com/google.rpc.ErrorInfo") holding the serialized
// message, exactly as google.rpc.Status.details holds it in an Any, so that
// services/common/server/grpc_status.h turns them into the
// grpc-status-details-bin trailer (and back) without knowing them.
//
//   return ErrorBuilder(absl::NotFoundError(absl::StrCat(name, " not found")))
//       .Reason(kOrganizationNotFound)
//       .Meta("organization", name)
//       .Resource(kOrganizationType, name);
//
// Reasons are the constants of services/common/error_reasons.h. The domain
// is normally left empty and filled in by the server from the service that
// answers (CompleteErrorDetails).

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace google::rpc {
class ErrorInfo;
}  // namespace google::rpc

namespace presence {

// "type.googleapis.com/" + the full name of a message type.
inline std::string TypeUrlOf(absl::string_view full_name) {
  return absl::StrCat("type.googleapis.com/", full_name);
}

// Adds details to a non-OK status. Each call merges into the payload of its
// type (Meta and FieldViolation append; Reason, Resource, RetryAfter
// replace). On an OK status every call is a no-op. Values that may come
// from the caller are bounded as every echo is (services/common/echo.h):
// metadata values, resource names and precondition subjects through Echo
// (a valid id is kept as is), descriptions cut at 1 KiB. Not thread-safe;
// cheap enough for error paths only (each call re-serializes one payload).
class ErrorBuilder {
 public:
  // Starts from `status`, keeping the details it already has.
  explicit ErrorBuilder(absl::Status status) : status_(std::move(status)) {}

  // google.rpc.ErrorInfo.reason: UPPER_SNAKE_CASE, stable.
  ErrorBuilder& Reason(absl::string_view reason);
  // google.rpc.ErrorInfo.domain; normally left to CompleteErrorDetails.
  ErrorBuilder& Domain(absl::string_view domain);
  // google.rpc.ErrorInfo.metadata[key] = value; keys in lowerCamelCase.
  ErrorBuilder& Meta(absl::string_view key, absl::string_view value);
  // Appends google.rpc.BadRequest.FieldViolation{field, description}; `field`
  // is a path such as "organization.leaders[0].person".
  ErrorBuilder& FieldViolation(absl::string_view field,
                               absl::string_view description);
  // google.rpc.ResourceInfo: `type` is the resource type
  // ("registry.presence.dev/Organization"), `name` its resource name.
  ErrorBuilder& Resource(absl::string_view type, absl::string_view name,
                         absl::string_view description = "");
  // Appends google.rpc.PreconditionFailure.Violation{type, subject,
  // description}.
  ErrorBuilder& Precondition(absl::string_view type, absl::string_view subject,
                             absl::string_view description);
  // google.rpc.RetryInfo.retry_delay.
  ErrorBuilder& RetryAfter(absl::Duration delay);

  const absl::Status& status() const& { return status_; }
  absl::Status status() && { return std::move(status_); }
  operator absl::Status() const& { return status_; }  // NOLINT
  operator absl::Status() && { return std::move(status_); }  // NOLINT
  template <typename T>
  operator absl::StatusOr<T>() const& {  // NOLINT
    return absl::StatusOr<T>(status_);
  }
  template <typename T>
  operator absl::StatusOr<T>() && {  // NOLINT
    return absl::StatusOr<T>(std::move(status_));
  }

 private:
  absl::Status status_;
};

// The detail of type T (a google.rpc message) on `status`, if any.
template <typename T>
std::optional<T> GetErrorDetail(const absl::Status& status) {
  auto payload =  // absl::optional<absl::Cord>
      status.GetPayload(TypeUrlOf(T::descriptor()->full_name()));
  if (!payload) return std::nullopt;
  T detail;
  if (!detail.ParseFromString(std::string(*payload))) return std::nullopt;
  return detail;
}

// INVALID_ARGUMENT "<field>: is required<detail>" with reason FIELD_REQUIRED,
// metadata field and a field violation: the error of a missing required
// field (AIP-203), hand-checked or from the annotations.
absl::Status FieldRequiredError(absl::string_view field,
                                absl::string_view detail = "");

// The ErrorInfo reason of `status`; empty if it has none.
std::string ErrorReason(const absl::Status& status);

// `status` with `prefix` put before its message and before the path of each
// of its field violations, its other details kept: for errors about one
// element of a batch ("requests[3]." + "organization.kind: ...").
absl::Status PrefixFieldPath(const absl::Status& status,
                             absl::string_view prefix);

// Completes the details every error a service sends must carry (AIP-193):
//   - an ErrorInfo: its domain set to `domain` if empty; without one, an
//     ErrorInfo with the catch-all reason of the status code
//     (DefaultReason);
//   - INVALID_ARGUMENT: a BadRequest field violation if it has none, the
//     field path taken from the message ("organization.kind: 99 is not a
//     kind" -> field "organization.kind"; our messages start with the path);
//   - UNAVAILABLE and RESOURCE_EXHAUSTED: a RetryInfo of one second if it
//     has none.
// OK stays OK.
absl::Status CompleteErrorDetails(absl::Status status, absl::string_view domain);

// The reason given to an error of `code` that names none of its own (see
// error_reasons.h).
absl::string_view DefaultReason(absl::StatusCode code);

// The field path a message starts with ("a.b[2].c: ..." -> "a.b[2].c"),
// or empty if it does not start with one.
absl::string_view FieldPathOfMessage(absl::string_view message);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_ERROR_DETAILS_H_
