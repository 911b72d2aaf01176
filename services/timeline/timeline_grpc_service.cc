#include "services/timeline/timeline_grpc_service.h"

#include "services/common/call_context.h"
#include "services/common/server/auth.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/rpc_gate.h"
#include "services/timeline/timeline.h"

namespace presence::timeline {
namespace {

// Passes the gate with `access`, answers with `call(context)`, then lets the
// gate log and count the call.
template <typename Request, typename Response, typename Call>
grpc::Status Serve(const RpcGate* gate, grpc::ServerContext* context,
                   absl::string_view method, Access access,
                   const Request* request, Response* response, Call call) {
  RpcScope scope(gate, context, method);
  absl::StatusOr<CallContext> admitted = scope.Admit(access);
  grpc::Status status = admitted.ok() ? Reply(call(*admitted), response)
                                      : ToGrpcStatus(admitted.status());
  return scope.Finish(context, std::move(status), request->ByteSizeLong());
}

}  // namespace

grpc::Status TimelineGrpcService::GetEvent(grpc::ServerContext* context,
                                           const v1::GetEventRequest* request,
                                           v1::Event* response) {
  return Serve(gate_, context, "/presence.timeline.v1.TimelineService/GetEvent", Access::kRead, request, response,
               [&](const CallContext&) { return timeline_->GetEvent(request->name()); });
}

grpc::Status TimelineGrpcService::ListEvents(
    grpc::ServerContext* context, const v1::ListEventsRequest* request,
    v1::ListEventsResponse* response) {
  return Serve(gate_, context, "/presence.timeline.v1.TimelineService/ListEvents", Access::kRead, request, response,
               [&](const CallContext&) { return timeline_->ListEvents(*request); });
}

grpc::Status TimelineGrpcService::CreateEvent(
    grpc::ServerContext* context, const v1::CreateEventRequest* request,
    v1::Event* response) {
  return Serve(gate_, context, "/presence.timeline.v1.TimelineService/CreateEvent", Access::kWrite, request, response,
               [&](const CallContext& call) { return timeline_->CreateEvent(*request, call); });
}

grpc::Status TimelineGrpcService::BatchCreateEvents(
    grpc::ServerContext* context, const v1::BatchCreateEventsRequest* request,
    v1::BatchCreateEventsResponse* response) {
  return Serve(gate_, context, "/presence.timeline.v1.TimelineService/BatchCreateEvents", Access::kWrite, request, response,
               [&](const CallContext& call) { return timeline_->BatchCreateEvents(*request, call); });
}

grpc::Status TimelineGrpcService::UpdateEvent(
    grpc::ServerContext* context, const v1::UpdateEventRequest* request,
    v1::Event* response) {
  return Serve(gate_, context, "/presence.timeline.v1.TimelineService/UpdateEvent", Access::kWrite, request, response,
               [&](const CallContext& call) { return timeline_->UpdateEvent(*request, call); });
}

grpc::Status TimelineGrpcService::DeleteEvent(
    grpc::ServerContext* context, const v1::DeleteEventRequest* request,
    google::protobuf::Empty*) {
  RpcScope scope(gate_, context, "/presence.timeline.v1.TimelineService/DeleteEvent");
  absl::StatusOr<CallContext> admitted = scope.Admit(Access::kWrite);
  grpc::Status status = admitted.ok() ? ToGrpcStatus(timeline_->DeleteEvent(*request))
                                      : ToGrpcStatus(admitted.status());
  return scope.Finish(context, std::move(status), request->ByteSizeLong());
}

grpc::Status TimelineGrpcService::GetPresence(
    grpc::ServerContext* context, const v1::GetPresenceRequest* request,
    v1::Presence* response) {
  return Serve(gate_, context, "/presence.timeline.v1.TimelineService/GetPresence", Access::kRead, request, response,
               [&](const CallContext&) { return timeline_->GetPresence(*request); });
}

}  // namespace presence::timeline
