#ifndef PRESENCE_SERVICES_COMMON_SERVER_RAW_SERVICE_H_
#define PRESENCE_SERVICES_COMMON_SERVER_RAW_SERVICE_H_

// A synchronous gRPC service (its writes on the callback API, see
// AddWriteMethod) whose unary methods take their requests as
// bytes, to be parsed by ServeUnary (raw_call.h). gRPC's generated code
// offers raw methods for the async and callback APIs only; this registers
// them the way generated synchronous services register theirs (the
// grpc::internal method handler the generated code uses), with grpc::ByteBuffer
// as the message type.

#include <functional>

#include "grpcpp/impl/service_type.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "services/common/server/raw_call.h"
#include "services/common/server/work_pool.h"
#include "services/common/server/write_call.h"

namespace presence {

class RawSyncService : public grpc::Service {
 protected:
  using Handler = std::function<grpc::Status(
      grpc::ServerContext*, const grpc::ByteBuffer* request, grpc::ByteBuffer* response)>;

  // Registers unary method `full_method` ("/package.Service/Method"; must
  // outlive the service, e.g. a literal). Call from the constructor, once
  // per method of the service.
  void AddRawUnaryMethod(const char* full_method, Handler handler);

  using CallbackHandler = std::function<grpc::ServerUnaryReactor*(
      grpc::CallbackServerContext*, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response)>;
  // As AddRawUnaryMethod, on gRPC's callback API (the service then mixes
  // both; the server runs callback methods on its callback threads).
  void AddRawCallbackMethod(const char* full_method, CallbackHandler handler);

  // Registers write method `full_method` served by ServeWrite
  // (write_call.h) on `pool` with `gate`: the call runs on a pool thread,
  // and the store's group sync answers it; no thread sleeps on the sync.
  template <typename Request, typename Call>
  void AddWriteMethod(WorkPool* pool, const RpcGate* gate, const char* full_method,
                      Call call) {
    AddRawCallbackMethod(full_method, [pool, gate, full_method, call](
                                          grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) {
      return ServeWrite<Request>(*pool, gate, context, full_method, request, response, call);
    });
  }

  // Registers unary method `full_method` served by ServeUnary with `gate`
  // and `access`: `call(request, call_context)` answers a Request with an
  // absl::StatusOr of the response.
  template <typename Request, typename Call>
  void AddUnaryMethod(const RpcGate* gate, const char* full_method, Access access,
                      Call call) {
    AddRawUnaryMethod(full_method, [gate, full_method, access, call](
                                       grpc::ServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) {
      // A synchronous call is in flight while its handler runs.
      const bool entered = gate->TryEnter();
      grpc::Status status = ServeUnary<Request>(gate, context, full_method, access,
                                                request, response, entered, call);
      if (entered) gate->Leave();
      return status;
    });
  }

 private:
  // Methods registered so far (the index of the next).
  int methods_ = 0;
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_RAW_SERVICE_H_
