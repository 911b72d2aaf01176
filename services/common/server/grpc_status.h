#ifndef PRESENCE_SERVICES_COMMON_SERVER_GRPC_STATUS_H_
#define PRESENCE_SERVICES_COMMON_SERVER_GRPC_STATUS_H_

// The one place where domain statuses become gRPC statuses. Both use the
// canonical codes, so only the types differ.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/status.h"

namespace presence {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

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
