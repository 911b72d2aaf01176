#include "services/common/error_reasons.h"

#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace presence {

absl::Span<const ReasonInfo> AllReasons() {
  using C = absl::StatusCode;
  static constexpr ReasonInfo kReasons[] = {
      {kInvalidField, C::kInvalidArgument, "both"},
      {kFieldRequired, C::kInvalidArgument, "both"},
      {kLimitExceeded, C::kInvalidArgument, "both"},
      {kInvalidDate, C::kInvalidArgument, "both"},
      {kInvalidName, C::kInvalidArgument, "both"},
      {kInvalidRequestId, C::kInvalidArgument, "both"},
      {kInvalidPageToken, C::kInvalidArgument, "both"},
      {kInvalidUpdateMask, C::kInvalidArgument, "both"},
      {kDuplicateEntry, C::kInvalidArgument, "both"},
      {kRequestIdReused, C::kInvalidArgument, "both"},
      {kUnknownOrganization, C::kInvalidArgument, "both"},
      {kDeletedOrganization, C::kInvalidArgument, "both"},
      {kEtagMismatch, C::kAborted, "both"},
      {kTokenRequired, C::kUnauthenticated, "both"},
      {kTokenInvalid, C::kUnauthenticated, "both"},
      {kRoleInsufficient, C::kPermissionDenied, "both"},
      {kWritesDisabled, C::kPermissionDenied, "both"},
      {kShuttingDown, C::kUnavailable, "registry"},
      {kMalformedRequest, C::kInvalidArgument, "both"},
      {kTooManyCalls, C::kResourceExhausted, "both"},
      {kConcurrentModification, C::kAborted, "both"},
      {kStoreUnavailable, C::kUnavailable, "both"},
      {kCommitOutcomeUnknown, C::kUnavailable, "both"},
      {kInternalError, C::kInternal, "both"},
      {kDataCorrupted, C::kDataLoss, "both"},
      {kServiceUnavailable, C::kUnavailable, "both"},
      {kDeadlineExceeded, C::kDeadlineExceeded, "both"},
      {kCancelled, C::kCancelled, "both"},
      {kUnknownError, C::kUnknown, "both"},
      {kOrganizationNotFound, C::kNotFound, "registry"},
      {kOrganizationAlreadyExists, C::kAlreadyExists, "registry"},
      {kAliasTaken, C::kAlreadyExists, "registry"},
      {kOrganizationIsDeleted, C::kFailedPrecondition, "registry"},
      {kOrganizationNotDeleted, C::kFailedPrecondition, "registry"},
      {kParentHasLiveChildren, C::kFailedPrecondition, "registry"},
      {kParentCycle, C::kInvalidArgument, "registry"},
      {kRevisionNotRetained, C::kOutOfRange, "registry"},
      {kRevisionAhead, C::kOutOfRange, "registry"},
      {kTooManyWatchers, C::kResourceExhausted, "registry"},
      {kEventNotFound, C::kNotFound, "timeline"},
      {kEventAlreadyExists, C::kAlreadyExists, "timeline"},
      {kRegistryUnavailable, C::kUnavailable, "timeline"},
      {kOrganizationsNotLoaded, C::kUnavailable, "timeline"},
  };
  return absl::MakeConstSpan(kReasons, std::size(kReasons));
}

std::string ErrorDomainOfMethod(absl::string_view method) {
  // "/presence.<service>.v1.<Service>/<Method>"
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::StripPrefix(method, "/"), '.');
  if (parts.size() >= 3 && parts[0] == "presence" && !parts[1].empty()) {
    return absl::StrCat(parts[1], ".presence.dev");
  }
  return "presence.dev";
}

}  // namespace presence
