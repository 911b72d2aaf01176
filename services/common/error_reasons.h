#ifndef PRESENCE_SERVICES_COMMON_ERROR_REASONS_H_
#define PRESENCE_SERVICES_COMMON_ERROR_REASONS_H_

// Every google.rpc.ErrorInfo reason the presence services send (AIP-193):
// stable, UPPER_SNAKE_CASE, unique within their domain. A reason is a
// contract with other programs: never rename or re-purpose one; add new
// ones. The README's "Errors" table lists them all (a unit test keeps the
// two in step), and tests/service/error_details_test.cc provokes each one
// from a gRPC client.
//
// Domains: the service that answers, "registry.presence.dev" or
// "timeline.presence.dev" (ErrorDomainOfMethod). Resource types (in
// ResourceInfo and the protos' google.api.resource annotations) are
// "<domain>/<Type>".

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace presence {

inline constexpr char kRegistryDomain[] = "registry.presence.dev";
inline constexpr char kTimelineDomain[] = "timeline.presence.dev";
inline constexpr char kOrganizationType[] = "registry.presence.dev/Organization";
inline constexpr char kEventType[] = "timeline.presence.dev/Event";

// Both services.
inline constexpr char kInvalidField[] = "INVALID_FIELD";
inline constexpr char kFieldRequired[] = "FIELD_REQUIRED";
inline constexpr char kLimitExceeded[] = "LIMIT_EXCEEDED";
inline constexpr char kInvalidDate[] = "INVALID_DATE";
inline constexpr char kInvalidName[] = "INVALID_NAME";
inline constexpr char kInvalidRequestId[] = "INVALID_REQUEST_ID";
inline constexpr char kInvalidPageToken[] = "INVALID_PAGE_TOKEN";
inline constexpr char kInvalidUpdateMask[] = "INVALID_UPDATE_MASK";
inline constexpr char kDuplicateEntry[] = "DUPLICATE_ENTRY";
inline constexpr char kRequestIdReused[] = "REQUEST_ID_REUSED";
inline constexpr char kUnknownOrganization[] = "UNKNOWN_ORGANIZATION";
inline constexpr char kDeletedOrganization[] = "DELETED_ORGANIZATION";
inline constexpr char kEtagMismatch[] = "ETAG_MISMATCH";
inline constexpr char kTokenRequired[] = "TOKEN_REQUIRED";
inline constexpr char kTokenInvalid[] = "TOKEN_INVALID";
inline constexpr char kRoleInsufficient[] = "ROLE_INSUFFICIENT";
inline constexpr char kWritesDisabled[] = "WRITES_DISABLED";
inline constexpr char kShuttingDown[] = "SHUTTING_DOWN";
inline constexpr char kMalformedRequest[] = "MALFORMED_REQUEST";
inline constexpr char kTooManyCalls[] = "TOO_MANY_CALLS";
inline constexpr char kConcurrentModification[] = "CONCURRENT_MODIFICATION";
inline constexpr char kStoreUnavailable[] = "STORE_UNAVAILABLE";
inline constexpr char kCommitOutcomeUnknown[] = "COMMIT_OUTCOME_UNKNOWN";
// Catch-alls (DefaultReason): errors without a reason of their own.
inline constexpr char kInternalError[] = "INTERNAL_ERROR";
inline constexpr char kDataCorrupted[] = "DATA_CORRUPTED";
inline constexpr char kServiceUnavailable[] = "SERVICE_UNAVAILABLE";
inline constexpr char kDeadlineExceeded[] = "DEADLINE_EXCEEDED";
inline constexpr char kCancelled[] = "CANCELLED";
inline constexpr char kUnknownError[] = "UNKNOWN_ERROR";

// Registry.
inline constexpr char kOrganizationNotFound[] = "ORGANIZATION_NOT_FOUND";
inline constexpr char kOrganizationAlreadyExists[] = "ORGANIZATION_ALREADY_EXISTS";
inline constexpr char kAliasTaken[] = "ALIAS_TAKEN";
inline constexpr char kOrganizationIsDeleted[] = "ORGANIZATION_IS_DELETED";
inline constexpr char kOrganizationNotDeleted[] = "ORGANIZATION_NOT_DELETED";
inline constexpr char kParentHasLiveChildren[] = "PARENT_HAS_LIVE_CHILDREN";
inline constexpr char kParentCycle[] = "PARENT_CYCLE";
inline constexpr char kRevisionNotRetained[] = "REVISION_NOT_RETAINED";
inline constexpr char kRevisionAhead[] = "REVISION_AHEAD";
inline constexpr char kTooManyWatchers[] = "TOO_MANY_WATCHERS";

// Timeline.
inline constexpr char kEventNotFound[] = "EVENT_NOT_FOUND";
inline constexpr char kEventAlreadyExists[] = "EVENT_ALREADY_EXISTS";
inline constexpr char kRegistryUnavailable[] = "REGISTRY_UNAVAILABLE";
inline constexpr char kOrganizationsNotLoaded[] = "ORGANIZATIONS_NOT_LOADED";

struct ReasonInfo {
  const char* reason;
  absl::StatusCode code;
  // Which services send it: "both", "registry" or "timeline".
  const char* services;
};

// Every reason above with its status code, for the tests that keep the
// README and the service tests complete.
absl::Span<const ReasonInfo> AllReasons();

// The domain of the service a full method name belongs to:
// "/presence.registry.v1.RegistryService/GetOrganization" ->
// "registry.presence.dev"; "presence.dev" for anything else.
std::string ErrorDomainOfMethod(absl::string_view method);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_ERROR_REASONS_H_
