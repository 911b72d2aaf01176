#ifndef PRESENCE_SERVICES_REGISTRY_SEED_H_
#define PRESENCE_SERVICES_REGISTRY_SEED_H_

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace presence::registry {

class Registry;

// The Kosovo data set (data/kosovo/organizations.textproto), embedded in the
// binary at build time.
absl::string_view KosovoSeed();

// Creates every organization of `textproto` (an internal.SeedData in text
// format, in dependency order) once per database (Registry::SeedOnce): never
// into a database that was seeded or written before, whatever it holds now,
// and once among replicas starting together; existing data is never
// overwritten. Returns how many organizations were created (0 if none).
// INVALID_ARGUMENT if the text does not parse; errors name the
// organization ("requests[i]").
absl::StatusOr<int> LoadSeedOnce(Registry& registry, absl::string_view textproto);

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_SEED_H_
