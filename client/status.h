#ifndef PRESENCE_CLIENT_STATUS_H_
#define PRESENCE_CLIENT_STATUS_H_

// presencectl's one error style. Every command returns absl::Status (or
// absl::StatusOr); the entry point maps it to an exit code with ExitCode and
// Output::Error renders it. A failure is one of:
//   - a failed call: CallError keeps the server's code and message as they
//     came, what presencectl was doing ("getting organizations/kfor") and the
//     call's binary error details (a serialized google.rpc.Status) for the
//     renderer;
//   - a usage error (UsageError): exit 2;
//   - an import that finished with failed lines (PartialFailure): exit 8;
//   - any other local failure: its canonical code picks the exit code
//     (INVALID_ARGUMENT for an unparsable date, NOT_FOUND for a missing file).

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace presence::cli {

// Exit codes (documented in the README and in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;         // Other server or local errors.
inline constexpr int kExitUsage = 2;         // Bad command line.
inline constexpr int kExitNotFound = 3;      // NOT_FOUND.
inline constexpr int kExitInvalid = 4;       // INVALID_ARGUMENT, OUT_OF_RANGE,
                                             // unparsable dates or files.
inline constexpr int kExitUnavailable = 5;   // UNAVAILABLE, DEADLINE_EXCEEDED.
inline constexpr int kExitConflict = 6;      // ALREADY_EXISTS, ABORTED,
                                             // FAILED_PRECONDITION.
inline constexpr int kExitDenied = 7;        // UNAUTHENTICATED,
                                             // PERMISSION_DENIED.
inline constexpr int kExitPartial = 8;       // import: some lines failed.

// The exit code of a canonical code (the table above).
int ExitCodeFor(absl::StatusCode code);

// The exit code of a command's result: kExitUsage for UsageError,
// kExitPartial for PartialFailure, else ExitCodeFor(status.code()).
int ExitCode(const absl::Status& status);

// INVALID_ARGUMENT marked as a usage error.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

// An import (or another bulk command) that finished, with some items failed;
// `message` summarizes (the items were reported as they failed).
absl::Status PartialFailure(absl::string_view message);

// The status of a failed call: the server's code and message, unchanged;
// `what` (what the CLI was doing) and the call's binary error details as
// payloads. REQUIRES: !status.ok().
absl::Status CallError(const grpc::Status& status, absl::string_view what);

// For a CallError: `what`, else empty.
std::string CallDescription(const absl::Status& status);
// For a CallError: the serialized google.rpc.Status the server sent in the
// grpc-status-details-bin trailer, else empty.
std::string CallErrorDetails(const absl::Status& status);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_STATUS_H_
