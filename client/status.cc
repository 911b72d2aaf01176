#include "client/status.h"

#include "absl/strings/cord.h"

namespace presence::cli {
namespace {

// Payload type URLs; private to presencectl.
constexpr char kUsagePayload[] = "presencectl/usage";
constexpr char kPartialPayload[] = "presencectl/partial";
constexpr char kCallPayload[] = "presencectl/call";
constexpr char kDetailsPayload[] = "type.googleapis.com/google.rpc.Status";

std::string Payload(const absl::Status& status, absl::string_view url) {
  auto payload = status.GetPayload(url);
  return payload ? std::string(*payload) : std::string();
}

}  // namespace

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitInvalid;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return kExitConflict;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitDenied;
    default:
      return kExitError;
  }
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.GetPayload(kUsagePayload)) return kExitUsage;
  if (status.GetPayload(kPartialPayload)) return kExitPartial;
  return ExitCodeFor(status.code());
}

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord());
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

absl::Status PartialFailure(absl::string_view message) {
  absl::Status status = absl::AbortedError(message);
  status.SetPayload(kPartialPayload, absl::Cord());
  return status;
}

absl::Status CallError(const grpc::Status& status, absl::string_view what) {
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message());
  // A status built from an OK grpc::Status would drop its payloads.
  if (out.ok()) out = absl::UnknownError("the call failed without a status");
  out.SetPayload(kCallPayload, absl::Cord(what));
  if (!status.error_details().empty()) {
    out.SetPayload(kDetailsPayload, absl::Cord(status.error_details()));
  }
  return out;
}

std::string CallDescription(const absl::Status& status) {
  return Payload(status, kCallPayload);
}

std::string CallErrorDetails(const absl::Status& status) {
  return Payload(status, kDetailsPayload);
}

}  // namespace presence::cli
