#ifndef PRESENCE_SERVICES_COMMON_SERVER_GRPC_STATUS_H_
#define PRESENCE_SERVICES_COMMON_SERVER_GRPC_STATUS_H_

// The one place where domain statuses become gRPC statuses and back. Both
// use the canonical codes; the error details of an absl::Status (its
// google.rpc payloads, services/common/error_details.h) travel as a
// google.rpc.Status in the grpc-status-details-bin trailer (gRPC's
// grpcpp/support/error_details.h), AIP-193.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace presence {

// Code, message and details (every payload whose key is a
// "type.googleapis.com/..." URL, ErrorInfo first) of `status`. Without
// details, no trailer. Servers complete the details first (RpcScope::Finish
// does, with CompleteErrorDetails).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Code, message and, from the grpc-status-details-bin trailer, the details
// as payloads (unreadable details are dropped).
absl::Status FromGrpcStatus(const grpc::Status& status);

// `status` with its details completed for `domain` (CompleteErrorDetails):
// what servers send. OK stays OK.
grpc::Status CompleteGrpcStatus(const grpc::Status& status,
                                absl::string_view domain);

// Moves the value of `result` into `*response` and returns OK, or returns the
// error. For unary handlers: `reactor->Finish(Reply(domain_call(), resp))`.
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_GRPC_STATUS_H_
