#ifndef PRESENCE_SERVICES_TIMELINE_TIMELINE_GRPC_SERVICE_H_
#define PRESENCE_SERVICES_TIMELINE_TIMELINE_GRPC_SERVICE_H_

#include "presence/timeline/v1/timeline.grpc.pb.h"

namespace presence {
class RpcGate;
}  // namespace presence

namespace presence::timeline {

class Timeline;

// presence.timeline.v1.TimelineService. Translation only: every rule lives in
// Timeline. Synchronous API: writes wait on the registry over the network,
// which must not happen on gRPC's callback threads.
class TimelineGrpcService final : public v1::TimelineService::Service {
 public:
  // `timeline` and `gate` are not owned and must outlive this service.
  TimelineGrpcService(Timeline* timeline, const RpcGate* gate)
      : timeline_(timeline), gate_(gate) {}

  grpc::Status GetEvent(grpc::ServerContext* context,
                        const v1::GetEventRequest* request,
                        v1::Event* response) override;
  grpc::Status ListEvents(grpc::ServerContext* context,
                          const v1::ListEventsRequest* request,
                          v1::ListEventsResponse* response) override;
  grpc::Status CreateEvent(grpc::ServerContext* context,
                           const v1::CreateEventRequest* request,
                           v1::Event* response) override;
  grpc::Status BatchCreateEvents(grpc::ServerContext* context,
                                 const v1::BatchCreateEventsRequest* request,
                                 v1::BatchCreateEventsResponse* response) override;
  grpc::Status UpdateEvent(grpc::ServerContext* context,
                           const v1::UpdateEventRequest* request,
                           v1::Event* response) override;
  grpc::Status DeleteEvent(grpc::ServerContext* context,
                           const v1::DeleteEventRequest* request,
                           google::protobuf::Empty* response) override;
  grpc::Status GetPresence(grpc::ServerContext* context,
                           const v1::GetPresenceRequest* request,
                           v1::Presence* response) override;

 private:
  Timeline* const timeline_;
  const RpcGate* const gate_;
};

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_TIMELINE_GRPC_SERVICE_H_
