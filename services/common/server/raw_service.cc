#include "services/common/server/raw_service.h"

#include <utility>

#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/support/method_handler.h"

namespace presence {

void RawSyncService::AddRawUnaryMethod(const char* full_method, Handler handler) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      full_method, grpc::internal::RpcMethod::NORMAL_RPC,
      new grpc::internal::RpcMethodHandler<RawSyncService, grpc::ByteBuffer,
                                           grpc::ByteBuffer>(
          [handler = std::move(handler)](RawSyncService*, grpc::ServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) {
            return handler(context, request, response);
          },
          this)));
}

}  // namespace presence
