#include "services/timeline/timeline_grpc_service.h"

#include "google/protobuf/empty.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/call_context.h"
#include "services/common/server/auth.h"
#include "services/common/server/raw_call.h"
#include "services/common/server/rpc_gate.h"
#include "services/common/server/work_pool.h"
#include "services/timeline/timeline.h"

#define PRESENCE_TIMELINE_METHOD(name) "/presence.timeline.v1.TimelineService/" name

namespace presence::timeline {
namespace {

// Where writes run (services/common/server/write_call.h): they may block on
// the commit section, on the registry check or on a database round trip,
// but never on their sync.
WorkPool& Writes() {
  static WorkPool* const pool = new WorkPool(32);
  return *pool;
}

}  // namespace

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
  AddWriteMethod<v1::CreateEventRequest>(&Writes(), gate, PRESENCE_TIMELINE_METHOD("CreateEvent"),
      [timeline](const v1::CreateEventRequest& r, const CallContext& call) {
        return timeline->CreateEvent(r, call);
      });
  AddWriteMethod<v1::BatchCreateEventsRequest>(&Writes(), gate, PRESENCE_TIMELINE_METHOD("BatchCreateEvents"),
      [timeline](const v1::BatchCreateEventsRequest& r, const CallContext& call) {
        return timeline->BatchCreateEvents(r, call);
      });
  AddWriteMethod<v1::UpdateEventRequest>(&Writes(), gate, PRESENCE_TIMELINE_METHOD("UpdateEvent"),
      [timeline](const v1::UpdateEventRequest& r, const CallContext& call) {
        return timeline->UpdateEvent(r, call);
      });
  AddWriteMethod<v1::DeleteEventRequest>(&Writes(), gate, PRESENCE_TIMELINE_METHOD("DeleteEvent"),
      [timeline](const v1::DeleteEventRequest& r,
                 const CallContext&) -> absl::StatusOr<google::protobuf::Empty> {
        if (absl::Status s = timeline->DeleteEvent(r); !s.ok()) return s;
        return google::protobuf::Empty();
      });
  AddUnaryMethod<v1::GetPresenceRequest>(gate, PRESENCE_TIMELINE_METHOD("GetPresence"), Access::kRead,
      [timeline](const v1::GetPresenceRequest& r, const CallContext&) {
        return SerializedMessage::Of(timeline->GetPresenceBytes(r));
      });
}

}  // namespace presence::timeline
