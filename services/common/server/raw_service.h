#ifndef PRESENCE_SERVICES_COMMON_SERVER_RAW_SERVICE_H_
#define PRESENCE_SERVICES_COMMON_SERVER_RAW_SERVICE_H_

// A synchronous gRPC service whose unary methods take their requests as
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

namespace presence {

class RawSyncService : public grpc::Service {
 protected:
  using Handler = std::function<grpc::Status(
      grpc::ServerContext*, const grpc::ByteBuffer* request, grpc::ByteBuffer* response)>;

  // Registers unary method `full_method` ("/package.Service/Method"; must
  // outlive the service, e.g. a literal). Call from the constructor, once
  // per method of the service.
  void AddRawUnaryMethod(const char* full_method, Handler handler);

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
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_RAW_SERVICE_H_
