#include "services/common/server/rpc_gate.h"

#include <algorithm>
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
#include "services/common/echo.h"
#include "services/common/server/log.h"
#include "services/common/server/metrics.h"

namespace presence {
namespace {

constexpr size_t kMaxRequestIdLength = 128;
// The last-resort bound of a status message (every echoed value is bounded
// where it is echoed, services/common/echo.h; this catches what is not): far
// below gRPC's default 8 KiB metadata limit, so that every client sees the
// answer.
constexpr size_t kMaxStatusMessageBytes = 1024;

std::string NewRequestId() {
  thread_local absl::InsecureBitGen gen;
  return absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
}

// W3C Trace Context: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"
// (a later version may append fields after the flags), ids not all zero.
bool IsValidTraceparent(absl::string_view tp) {
  if (tp.size() < 55 || (tp.size() > 55 && tp[55] != '-')) return false;
  const auto hex = [&](size_t from, size_t n) {
    bool nonzero = false;
    for (size_t i = from; i < from + n; ++i) {
      const char c = tp[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
      nonzero |= c != '0';
    }
    return nonzero || n == 2;
  };
  return hex(0, 2) && tp.substr(0, 2) != "ff" && tp[2] == '-' && hex(3, 32) && tp[35] == '-' &&
         hex(36, 16) && tp[52] == '-' && hex(53, 2) && (tp.size() == 55 || tp.substr(0, 2) != "00");
}

constexpr size_t kMaxTracestateLength = 512;

// A client error: the caller's request, not the service, is at fault (or
// the caller gave up), so the line is INFO, not WARNING.
bool IsClientError(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return true;
    default:
      return false;
  }
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
  if (auto tp = metadata.find("traceparent"); tp != metadata.end()) {
    const absl::string_view value(tp->second.data(), tp->second.size());
    if (IsValidTraceparent(value)) {
      traceparent_ = std::string(value);
      if (auto ts = metadata.find("tracestate"); ts != metadata.end()) {
        const absl::string_view state(ts->second.data(), ts->second.size());
        const bool printable = std::all_of(state.begin(), state.end(), [](char ch) {
          return ch >= 0x20 && ch <= 0x7e;
        });
        if (state.size() <= kMaxTracestateLength && printable) {
          tracestate_ = std::string(state);
        }
      }
    }
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
  call.traceparent = traceparent_;
  call.tracestate = tracestate_;
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
  if (status.error_message().size() > kMaxStatusMessageBytes) {
    status = grpc::Status(status.error_code(),
                          BoundText(status.error_message(), kMaxStatusMessageBytes),
                          status.error_details());
  }
  // Every error leaves with its details complete (AIP-193), in the domain of
  // the service answering; after the bound, so that the google.rpc.Status
  // repeats the bounded message.
  if (!status.ok()) status = CompleteGrpcStatus(status, ErrorDomainOfMethod(method_));
  const absl::Duration latency = absl::Now() - start_;
  const char* code = StatusCodeName(status.error_code());
  metrics_->MessageReceived();  // The request (one, for every method of ours).
  if (type_ == RpcType::kUnary && status.ok()) metrics_->MessageSent();
  metrics_->Handled(status.error_code(), absl::ToDoubleSeconds(latency));
  if (!gate_->options().log_rpcs) return status;
  const grpc::StatusCode c = status.error_code();
  const LogLevel level =
      status.ok() || IsClientError(c) ? LogLevel::kInfo
      : c == grpc::StatusCode::INTERNAL || c == grpc::StatusCode::DATA_LOSS ||
              c == grpc::StatusCode::UNKNOWN
          ? LogLevel::kError
          : LogLevel::kWarning;
  if (!LogEnabled(level)) return status;
  // Named: the fields are views, and both come back by value.
  const std::string peer = context_->peer();
  const absl::string_view short_method = method_.substr(method_.rfind('/') + 1);
  const std::string message =
      status.ok() ? absl::StrCat(short_method, " OK")
                  : absl::StrCat(short_method, " ", code, ": ", status.error_message());
  const LogField fields[] = {{"method", method_},
                             {"peer", peer},
                             {"principal", principal_},
                             {"code", code},
                             {"latency_ms", absl::ToDoubleMilliseconds(latency)},
                             {"request_bytes", static_cast<int64_t>(request_bytes)},
                             {"request_id", request_id_},
                             {"message", message},
                             {"traceparent", traceparent_},
                             {"trace_id", absl::string_view(traceparent_).substr(
                                              traceparent_.empty() ? 0 : 3, 32)}};
  // The trace fields (last) only when the caller sent a trace context.
  Log(level, "rpc",
      absl::MakeConstSpan(fields, std::size(fields) - (traceparent_.empty() ? 2 : 0)));
  return status;
}

}  // namespace presence
