#ifndef PRESENCE_SERVICES_COMMON_SERVER_RPC_GATE_H_
#define PRESENCE_SERVICES_COMMON_SERVER_RPC_GATE_H_

// Every RPC passes the gate twice: a server interceptor notes who is calling
// (bearer token → principal), the request id (x-request-id from the client,
// or a new one, echoed back in the response headers), logs one JSON line
// when the status is sent and counts it in the metrics; then the handler
// asks Admit() whether the caller may read or write, and gets the
// CallContext (principal, deadline, request id) to hand to the domain.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/call_context.h"
#include "services/common/server/auth.h"

namespace grpc {
class ServerContextBase;
namespace experimental {
class ServerInterceptorFactoryInterface;
}  // namespace experimental
}  // namespace grpc

namespace presence {

struct GateOptions {
  AuthPolicy auth;
  // The deadline of a request that came without one.
  absl::Duration default_deadline = absl::Seconds(30);
  // One log line per RPC.
  bool log_rpcs = true;
};

// Thread-safe. Must outlive the servers using its interceptor.
class RpcGate {
 public:
  explicit RpcGate(GateOptions options) : options_(std::move(options)) {}

  // For the RPC served with `context`: OK with its CallContext if the caller
  // may have `access`, else UNAUTHENTICATED or PERMISSION_DENIED.
  absl::StatusOr<CallContext> Admit(const grpc::ServerContextBase* context,
                                    Access access) const;

  // The interceptor to install on the server (one factory per server).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

  const GateOptions& options() const { return options_; }

 private:
  const GateOptions options_;
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_RPC_GATE_H_
