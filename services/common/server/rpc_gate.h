#ifndef PRESENCE_SERVICES_COMMON_SERVER_RPC_GATE_H_
#define PRESENCE_SERVICES_COMMON_SERVER_RPC_GATE_H_

// The gate every RPC of our services passes, in its handler: RpcScope reads
// who is calling (bearer token → principal) and the request id (x-request-id
// from the client, or a new one), admits the call or refuses it, hands the
// domain its CallContext (principal, deadline, request id), and when the
// call finishes echoes the request id in the response trailers, logs one
// JSON line and counts it in the metrics. A valid W3C traceparent (and its
// tracestate) is taken into the CallContext and logged.
//
// The RPC line: severity INFO for successes and client errors (NOT_FOUND,
// INVALID_ARGUMENT, ALREADY_EXISTS, ABORTED, FAILED_PRECONDITION,
// OUT_OF_RANGE, CANCELLED, UNAUTHENTICATED, PERMISSION_DENIED), ERROR for
// INTERNAL, DATA_LOSS and UNKNOWN, WARNING for the rest (UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNIMPLEMENTED); message
// "<Method> <CODE>[: <status message>]".
//
// (An earlier version did the observing in a gRPC server interceptor; the
// interception machinery alone cost a fifth of the registry's throughput, see
// the README's Performance section. gRPC's own health and reflection
// services are therefore neither logged nor counted.)

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/call_context.h"
#include "services/common/server/auth.h"
#include "services/common/server/metrics.h"

namespace grpc {
class ServerContextBase;
class Status;
}  // namespace grpc

namespace presence {

struct GateOptions {
  AuthPolicy auth;
  // The deadline of a request that came without one.
  absl::Duration default_deadline = absl::Seconds(30);
  // One log line per RPC.
  bool log_rpcs = true;
  // Unary calls in flight at once, from their start until their answer is
  // sent (single-record reads of the registry, a few KB: until they are
  // served); more are refused with RESOURCE_EXHAUSTED (0: no limit). Bounds
  // the memory held by answers waiting for slow clients under overload.
  int max_in_flight = 0;
};

// Thread-safe. Must outlive the services using it.
class RpcGate {
 public:
  explicit RpcGate(GateOptions options) : options_(std::move(options)) {}
  const GateOptions& options() const { return options_; }

  // Counts a unary call in flight; false (and nothing counted) at the
  // limit. Every true is paired with one Leave() (see max_in_flight for
  // when).
  bool TryEnter() const {
    if (in_flight_.fetch_add(1, std::memory_order_relaxed) < options_.max_in_flight ||
        options_.max_in_flight <= 0) {
      return true;
    }
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void Leave() const { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  const GateOptions options_;
  mutable std::atomic<int> in_flight_{0};
};

// One RPC passing the gate. Not thread-safe; lives in the handler.
class RpcScope {
 public:
  // `method` is the full method name ("/package.Service/Method"), a string
  // literal (Metrics::Method keys its per-thread cache by its address).
  RpcScope(const RpcGate* gate, const grpc::ServerContextBase* context,
           absl::string_view method, RpcType type = RpcType::kUnary);
  RpcScope(const RpcScope&) = delete;
  RpcScope& operator=(const RpcScope&) = delete;

  // OK with the call's CallContext if the caller may have `access`, else
  // UNAUTHENTICATED or PERMISSION_DENIED.
  absl::StatusOr<CallContext> Admit(Access access);

  // Counts one message sent on a server stream (unary calls count their
  // response in Finish).
  void MessageSent() { metrics_->MessageSent(); }

  // Echoes the request id in the trailers of `context` (before the status is
  // sent), logs and counts the call; returns `status`, an error with its
  // details completed (CompleteGrpcStatus) in the domain of the method's
  // service (ErrorDomainOfMethod) and its message cut to 1 KiB if longer
  // (the last-resort bound of echoed values). Anything that rebuilds the
  // returned grpc::Status must keep its error_details().
  grpc::Status Finish(grpc::ServerContextBase* context, grpc::Status status,
                      size_t request_bytes);

 private:
  const RpcGate* const gate_;
  const grpc::ServerContextBase* const context_;
  const absl::string_view method_;
  const RpcType type_;
  MethodMetrics* const metrics_;
  const absl::Time start_;
  std::string request_id_;
  std::string traceparent_;
  std::string tracestate_;
  Credentials credentials_;
  std::string principal_ = "anonymous";
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_RPC_GATE_H_
