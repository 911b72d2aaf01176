#ifndef PRESENCE_SERVICES_COMMON_SERVER_WRITE_CALL_H_
#define PRESENCE_SERVICES_COMMON_SERVER_WRITE_CALL_H_

// Unary writes on gRPC's callback API with group commit that no thread
// sleeps on. A write handler hands the call to a WorkPool thread (a write
// may block: on the store's commit section, on a database round trip, on
// the registry check of the timeline). That thread runs the call inside a
// storage::DeferredSync scope: on RocksDB its commit returns once applied,
// the thread goes back to the pool at once, and the store's syncing thread
// answers the call after the group's WAL sync — finishing the reactor,
// logging and counting the call with its final status then. On PostgreSQL
// the commit is the sync, and the call is answered by the pool thread as
// before.

#include <memory>
#include <utility>

#include "absl/strings/string_view.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "services/common/happens_before.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/raw_call.h"
#include "services/common/server/rpc_gate.h"
#include "services/common/server/work_pool.h"
#include "services/common/storage/kv_store.h"

namespace grpc {
class CallbackServerContext;
}  // namespace grpc

namespace presence {

// A unary call counted in flight (RpcGate::TryEnter) until its answer has
// been sent (OnDone), not only while its handler runs: under overload the
// answers waiting for slow clients are what holds memory.
class CountedReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit CountedReactor(const RpcGate* gate) : gate_(gate), entered_(gate->TryEnter()) {}
  bool entered() const { return entered_; }
  void OnDone() override {
    PRESENCE_HAPPENS_AFTER(this);  // The Finish.
    if (entered_) gate_->Leave();
    delete this;
    PRESENCE_HAPPENS_BEFORE(&kReactorsDone);
  }

 private:
  const RpcGate* const gate_;
  const bool entered_;
};

// Serves one unary write (Access::kWrite) on `pool` as described above and
// returns its reactor. `call(request, call_context)` answers a Request with
// an absl::StatusOr of the response; it must not refer to the handler's
// locals (it runs after the handler returned). If the sync of what the call
// committed fails, the call fails with the store's error instead of its
// answer. `method` must outlive the call (a literal).
template <typename Request, typename Call>
grpc::ServerUnaryReactor* ServeWrite(WorkPool& pool, const RpcGate* gate,
                                     grpc::CallbackServerContext* context,
                                     absl::string_view method,
                                     const grpc::ByteBuffer* raw_request,
                                     grpc::ByteBuffer* raw_response, Call call) {
  auto* reactor = new CountedReactor(gate);
  pool.Run([gate, context, method, raw_request, raw_response, reactor,
            call = std::move(call)]() mutable {
    auto scope = std::make_shared<RpcScope>(gate, context, method);
    storage::DeferredSync deferred;
    grpc::Status answer = AnswerUnary<Request>(*scope, Access::kWrite, gate, raw_request,
                                               raw_response, reactor->entered(), call);
    const size_t request_bytes = raw_request->Length();
    deferred.Then([scope, context, reactor, request_bytes,
                   answer = std::move(answer)](absl::Status durable) {
      grpc::Status status = durable.ok() ? answer : ToGrpcStatus(durable);
      status = scope->Finish(context, std::move(status), request_bytes);
      PRESENCE_HAPPENS_BEFORE(reactor);  // OnDone follows Finish.
      reactor->Finish(std::move(status));
    });
  });
  return reactor;
}

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_WRITE_CALL_H_
