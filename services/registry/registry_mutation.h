#ifndef PRESENCE_SERVICES_REGISTRY_REGISTRY_MUTATION_H_
#define PRESENCE_SERVICES_REGISTRY_REGISTRY_MUTATION_H_

// What the registry's write methods (registry_writes.cc) hand the mutation
// engine (registry_mutation.cc). Internal to the registry.

#include "presence/registry/v1/registry.pb.h"
#include "services/registry/registry.h"

namespace presence::registry {

// The outcome a mutation plans from the current version: the new version
// (before the engine stamps its revision and times) and the change type.
struct Registry::Plan {
  v1::Organization result;
  v1::OrganizationChange::Type type;
  // The mutation changes nothing: `result` is the current version, returned
  // as it is, and nothing is written (no new revision).
  bool unchanged = false;
};

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_REGISTRY_MUTATION_H_
