#include "services/common/server/grpc_status.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/error_details.h"
#include "services/common/error_details.h"

namespace presence {
namespace {

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";

// Details in a fixed order, ErrorInfo first (clients that read one detail
// read the first), then the others by type URL.
int Rank(absl::string_view url) {
  static constexpr absl::string_view kOrder[] = {
      "type.googleapis.com/google.rpc.ErrorInfo",
      "type.googleapis.com/google.rpc.BadRequest",
      "type.googleapis.com/google.rpc.ResourceInfo",
      "type.googleapis.com/google.rpc.PreconditionFailure",
      "type.googleapis.com/google.rpc.RetryInfo"};
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if (url == kOrder[i]) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kOrder));
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::vector<std::pair<std::string, std::string>> details;
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    if (absl::StartsWith(url, kTypeUrlPrefix)) {
      details.emplace_back(std::string(url), std::string(payload));
    }
  });
  const auto code = static_cast<grpc::StatusCode>(status.code());
  if (details.empty()) return grpc::Status(code, std::string(status.message()));
  std::sort(details.begin(), details.end(), [](const auto& a, const auto& b) {
    return std::make_pair(Rank(a.first), a.first) < std::make_pair(Rank(b.first), b.first);
  });
  google::rpc::Status proto;
  proto.set_code(static_cast<int32_t>(status.code()));
  proto.set_message(std::string(status.message()));
  for (auto& [url, value] : details) {
    google::protobuf::Any* any = proto.add_details();
    any->set_type_url(std::move(url));
    any->set_value(std::move(value));
  }
  grpc::Status out;
  grpc::SetErrorDetails(proto, &out);
  return out;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message());
  if (status.error_details().empty()) return out;
  google::rpc::Status proto;
  if (!grpc::ExtractErrorDetails(status, &proto).ok()) return out;
  for (const google::protobuf::Any& any : proto.details()) {
    if (absl::StartsWith(any.type_url(), kTypeUrlPrefix)) {
      out.SetPayload(any.type_url(), absl::Cord(any.value()));
    }
  }
  return out;
}

grpc::Status CompleteGrpcStatus(const grpc::Status& status,
                                absl::string_view domain) {
  if (status.ok()) return status;
  return ToGrpcStatus(CompleteErrorDetails(FromGrpcStatus(status), domain));
}

}  // namespace presence
