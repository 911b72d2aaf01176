#include "services/common/server/rpc_gate.h"

#include <iterator>

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "services/common/error_reasons.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/log.h"
#include "services/common/server/metrics.h"

namespace presence {
namespace {

constexpr size_t kMaxRequestIdLength = 128;

std::string NewRequestId() {
  thread_local absl::InsecureBitGen gen;
  return absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
}

bool IsPrintable(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  return true;
}


}  // namespace

RpcScope::RpcScope(const RpcGate* gate, const grpc::ServerContextBase* context,
                   absl::string_view method, RpcType type)
    : gate_(gate),
      context_(context),
      method_(method),
      type_(type),
      metrics_(Metrics::Global().Method(method, type)),
      start_(absl::Now()) {
  metrics_->Started();
  const auto& metadata = context->client_metadata();
  auto id = metadata.find("x-request-id");
  if (id != metadata.end() && !id->second.empty() &&
      id->second.size() <= kMaxRequestIdLength &&
      IsPrintable(absl::string_view(id->second.data(), id->second.size()))) {
    request_id_.assign(id->second.data(), id->second.size());
  } else {
    request_id_ = NewRequestId();
  }
  auto auth = metadata.find("authorization");
  if (auth != metadata.end()) {
    credentials_.presented = true;
    const absl::string_view token =
        BearerToken(absl::string_view(auth->second.data(), auth->second.size()));
    const auto& tokens = gate_->options().auth.tokens;
    if (!token.empty() && tokens != nullptr) {
      credentials_.principal = tokens->Authenticate(token);
    }
    principal_ = credentials_.principal ? credentials_.principal->name : "invalid-token";
  }
}

absl::StatusOr<CallContext> RpcScope::Admit(Access access) {
  absl::StatusOr<std::string> principal =
      Authorize(gate_->options().auth, credentials_, access);
  if (!principal.ok()) return principal.status();
  CallContext call;
  call.principal = *std::move(principal);
  call.request_id = request_id_;
  const auto deadline = context_->deadline();
  call.deadline = deadline == std::chrono::system_clock::time_point::max()
                      ? absl::Now() + gate_->options().default_deadline
                      : absl::FromChrono(deadline);
  return call;
}

grpc::Status RpcScope::Finish(grpc::ServerContextBase* context, grpc::Status status,
                              size_t request_bytes) {
  // In the trailers, not the headers: an error sent without headers
  // ("trailers-only") stays retryable for clients with a retry policy.
  context->AddTrailingMetadata("x-request-id", request_id_);
  // Every error leaves with its details complete (AIP-193), in the domain of
  // the service answering.
  if (!status.ok()) status = CompleteGrpcStatus(status, ErrorDomainOfMethod(method_));
  const absl::Duration latency = absl::Now() - start_;
  const char* code = StatusCodeName(status.error_code());
  metrics_->MessageReceived();  // The request (one, for every method of ours).
  if (type_ == RpcType::kUnary && status.ok()) metrics_->MessageSent();
  metrics_->Handled(status.error_code(), absl::ToDoubleSeconds(latency));
  if (!gate_->options().log_rpcs) return status;
  const LogLevel level = status.ok() ? LogLevel::kInfo
                         : status.error_code() == grpc::StatusCode::INTERNAL ||
                                 status.error_code() == grpc::StatusCode::DATA_LOSS ||
                                 status.error_code() == grpc::StatusCode::UNKNOWN
                             ? LogLevel::kError
                             : LogLevel::kWarning;
  if (!LogEnabled(level)) return status;
  // Named: the fields are views, and both come back by value.
  const std::string peer = context_->peer();
  const std::string message = status.error_message();
  const LogField fields[] = {{"method", method_},
                             {"peer", peer},
                             {"principal", principal_},
                             {"code", code},
                             {"latency_ms", absl::ToDoubleMilliseconds(latency)},
                             {"request_bytes", static_cast<int64_t>(request_bytes)},
                             {"request_id", request_id_},
                             {"message", message}};
  // The message (last) only for a failed call.
  Log(level, "rpc", absl::MakeConstSpan(fields, std::size(fields) - (status.ok() ? 1 : 0)));
  return status;
}

}  // namespace presence
