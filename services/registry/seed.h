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
// format), in file order, if and only if the registry is empty: existing data
// is never overwritten. Returns how many organizations were created (0 when
// the registry was not empty). INVALID_ARGUMENT if the text does not parse;
// a create error names the organization.
absl::StatusOr<int> LoadSeedIfEmpty(Registry& registry,
                                    absl::string_view textproto);

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_SEED_H_
