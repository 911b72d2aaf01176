#include "services/common/server/raw_service.h"

#include <utility>

#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/support/method_handler.h"

namespace presence {

void RawSyncService::AddRawUnaryMethod(const char* full_method, Handler handler) {
  ++methods_;
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

void RawSyncService::AddRawCallbackMethod(const char* full_method,
                                          CallbackHandler handler) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      full_method, grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
  MarkMethodCallback(
      methods_++,
      new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
          [handler = std::move(handler)](grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) {
            return handler(context, request, response);
          }));
}

}  // namespace presence
