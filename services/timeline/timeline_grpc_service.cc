#include "services/timeline/timeline_grpc_service.h"

#include "services/common/call_context.h"
#include "services/common/server/auth.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/rpc_gate.h"
#include "services/timeline/timeline.h"

namespace presence::timeline {
namespace {

// Admits the call with `access`, then answers with `call(context)`.
template <typename Response, typename Call>
grpc::Status Serve(const RpcGate* gate, grpc::ServerContext* context,
                   Access access, Response* response, Call call) {
  absl::StatusOr<CallContext> admitted = gate->Admit(context, access);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  return Reply(call(*admitted), response);
}

}  // namespace

grpc::Status TimelineGrpcService::GetEvent(grpc::ServerContext* context,
                                           const v1::GetEventRequest* request,
                                           v1::Event* response) {
  return Serve(gate_, context, Access::kRead, response,
               [&](const CallContext&) { return timeline_->GetEvent(request->name()); });
}

grpc::Status TimelineGrpcService::ListEvents(
    grpc::ServerContext* context, const v1::ListEventsRequest* request,
    v1::ListEventsResponse* response) {
  return Serve(gate_, context, Access::kRead, response,
               [&](const CallContext&) { return timeline_->ListEvents(*request); });
}

grpc::Status TimelineGrpcService::CreateEvent(
    grpc::ServerContext* context, const v1::CreateEventRequest* request,
    v1::Event* response) {
  return Serve(gate_, context, Access::kWrite, response,
               [&](const CallContext& call) { return timeline_->CreateEvent(*request, call); });
}

grpc::Status TimelineGrpcService::BatchCreateEvents(
    grpc::ServerContext* context, const v1::BatchCreateEventsRequest* request,
    v1::BatchCreateEventsResponse* response) {
  return Serve(gate_, context, Access::kWrite, response,
               [&](const CallContext& call) { return timeline_->BatchCreateEvents(*request, call); });
}

grpc::Status TimelineGrpcService::UpdateEvent(
    grpc::ServerContext* context, const v1::UpdateEventRequest* request,
    v1::Event* response) {
  return Serve(gate_, context, Access::kWrite, response,
               [&](const CallContext& call) { return timeline_->UpdateEvent(*request, call); });
}

grpc::Status TimelineGrpcService::DeleteEvent(
    grpc::ServerContext* context, const v1::DeleteEventRequest* request,
    google::protobuf::Empty*) {
  absl::StatusOr<CallContext> admitted = gate_->Admit(context, Access::kWrite);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  return ToGrpcStatus(timeline_->DeleteEvent(*request));
}

grpc::Status TimelineGrpcService::GetPresence(
    grpc::ServerContext* context, const v1::GetPresenceRequest* request,
    v1::Presence* response) {
  return Serve(gate_, context, Access::kRead, response,
               [&](const CallContext&) { return timeline_->GetPresence(*request); });
}

}  // namespace presence::timeline
