#include "services/timeline/timeline_grpc_service.h"

#include "google/protobuf/empty.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/call_context.h"
#include "services/common/server/auth.h"
#include "services/common/server/raw_call.h"
#include "services/common/server/rpc_gate.h"
#include "services/timeline/timeline.h"

#define PRESENCE_TIMELINE_METHOD(name) "/presence.timeline.v1.TimelineService/" name

namespace presence::timeline {

TimelineGrpcService::TimelineGrpcService(Timeline* timeline, const RpcGate* gate) {
  // In the order of the service's methods in timeline.proto.
  AddUnaryMethod<v1::GetEventRequest>(gate, PRESENCE_TIMELINE_METHOD("GetEvent"), Access::kRead,
      [timeline](const v1::GetEventRequest& r, const CallContext&) {
        return timeline->GetEvent(r.name());
      });
  AddUnaryMethod<v1::ListEventsRequest>(gate, PRESENCE_TIMELINE_METHOD("ListEvents"), Access::kRead,
      [timeline](const v1::ListEventsRequest& r, const CallContext&) {
        return timeline->ListEvents(r);
      });
  AddUnaryMethod<v1::CreateEventRequest>(gate, PRESENCE_TIMELINE_METHOD("CreateEvent"), Access::kWrite,
      [timeline](const v1::CreateEventRequest& r, const CallContext& call) {
        return timeline->CreateEvent(r, call);
      });
  AddUnaryMethod<v1::BatchCreateEventsRequest>(gate, PRESENCE_TIMELINE_METHOD("BatchCreateEvents"), Access::kWrite,
      [timeline](const v1::BatchCreateEventsRequest& r, const CallContext& call) {
        return timeline->BatchCreateEvents(r, call);
      });
  AddUnaryMethod<v1::UpdateEventRequest>(gate, PRESENCE_TIMELINE_METHOD("UpdateEvent"), Access::kWrite,
      [timeline](const v1::UpdateEventRequest& r, const CallContext& call) {
        return timeline->UpdateEvent(r, call);
      });
  AddUnaryMethod<v1::DeleteEventRequest>(gate, PRESENCE_TIMELINE_METHOD("DeleteEvent"), Access::kWrite,
      [timeline](const v1::DeleteEventRequest& r,
                 const CallContext&) -> absl::StatusOr<google::protobuf::Empty> {
        if (absl::Status s = timeline->DeleteEvent(r); !s.ok()) return s;
        return google::protobuf::Empty();
      });
  AddUnaryMethod<v1::GetPresenceRequest>(gate, PRESENCE_TIMELINE_METHOD("GetPresence"), Access::kRead,
      [timeline](const v1::GetPresenceRequest& r, const CallContext&) {
        return timeline->GetPresence(r);
      });
}

}  // namespace presence::timeline
