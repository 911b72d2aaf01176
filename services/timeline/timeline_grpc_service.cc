#include "services/timeline/timeline_grpc_service.h"

#include <chrono>

#include "absl/time/time.h"
#include "services/common/server/grpc_status.h"
#include "services/timeline/timeline.h"

namespace presence::timeline {
namespace {

// The request's deadline, which calls made for it must not outlive.
absl::Time Deadline(const grpc::ServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

}  // namespace

grpc::Status TimelineGrpcService::GetEvent(grpc::ServerContext*,
                                           const v1::GetEventRequest* request,
                                           v1::Event* response) {
  return Reply(timeline_->GetEvent(request->name()), response);
}

grpc::Status TimelineGrpcService::ListEvents(
    grpc::ServerContext*, const v1::ListEventsRequest* request,
    v1::ListEventsResponse* response) {
  return Reply(timeline_->ListEvents(*request), response);
}

grpc::Status TimelineGrpcService::CreateEvent(
    grpc::ServerContext* context, const v1::CreateEventRequest* request,
    v1::Event* response) {
  return Reply(timeline_->CreateEvent(*request, Deadline(context)), response);
}

grpc::Status TimelineGrpcService::UpdateEvent(
    grpc::ServerContext* context, const v1::UpdateEventRequest* request,
    v1::Event* response) {
  return Reply(timeline_->UpdateEvent(*request, Deadline(context)), response);
}

grpc::Status TimelineGrpcService::DeleteEvent(
    grpc::ServerContext*, const v1::DeleteEventRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(timeline_->DeleteEvent(*request));
}

grpc::Status TimelineGrpcService::GetPresence(
    grpc::ServerContext*, const v1::GetPresenceRequest* request,
    v1::Presence* response) {
  return Reply(timeline_->GetPresence(*request), response);
}

}  // namespace presence::timeline
