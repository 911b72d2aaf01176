#ifndef PRESENCE_SERVICES_TIMELINE_TIMELINE_GRPC_SERVICE_H_
#define PRESENCE_SERVICES_TIMELINE_TIMELINE_GRPC_SERVICE_H_

#include "services/common/server/raw_service.h"

namespace presence {
class RpcGate;
}  // namespace presence

namespace presence::timeline {

class Timeline;

// presence.timeline.v1.TimelineService. Translation only: every rule lives in
// Timeline. Synchronous API: writes wait on the registry over the network,
// which must not happen on gRPC's callback threads. Every method takes its
// request as bytes (parsed by ServeUnary, services/common/server/raw_call.h).
class TimelineGrpcService final : public RawSyncService {
 public:
  // `timeline` and `gate` are not owned and must outlive this service.
  TimelineGrpcService(Timeline* timeline, const RpcGate* gate);
};

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_TIMELINE_GRPC_SERVICE_H_
