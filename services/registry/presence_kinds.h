#ifndef PRESENCE_SERVICES_REGISTRY_PRESENCE_KINDS_H_
#define PRESENCE_SERVICES_REGISTRY_PRESENCE_KINDS_H_

#include "presence/registry/v1/registry.pb.h"

namespace presence {
namespace registry {

// The kinds of organization that make up a presence: what GetPresence
// reports when the request names no kinds, and the lanes presencectl chart
// draws by default. One list for both, so that they cannot drift.
inline bool IsPresenceKind(v1::Organization::Kind kind) {
  switch (kind) {
    case v1::Organization::KIND_MILITARY_MISSION:
    case v1::Organization::KIND_CIVILIAN_MISSION:
    case v1::Organization::KIND_RULE_OF_LAW_MISSION:
    case v1::Organization::KIND_FIELD_MISSION:
    case v1::Organization::KIND_INTERIM_ADMINISTRATION:
    case v1::Organization::KIND_STEERING_BODY:
      return true;
    default:
      return false;
  }
}

}  // namespace registry
}  // namespace presence

#endif  // PRESENCE_SERVICES_REGISTRY_PRESENCE_KINDS_H_
