#ifndef PRESENCE_SERVICES_REGISTRY_REGISTRY_VALIDATION_H_
#define PRESENCE_SERVICES_REGISTRY_REGISTRY_VALIDATION_H_

// The registry's rules about one organization on its own: field validation,
// aliases and liveness. (Which fields are output only or
// required comes from the protos' annotations, services/common/
// field_behavior.h.) Pure functions of
// their arguments (no store); the checks that need the store (references,
// uniqueness, children, cycles) are in registry_mutation.cc.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/field_mask.h"
#include "services/common/partial_date.h"

namespace presence::registry::v1 {
class Organization;
}  // namespace presence::registry::v1

namespace presence::registry {

// Checks every field of `org` (lengths and counts first, then the REQUIRED
// fields of its annotations), naming the offending field, as
// "organization.<path>", in INVALID_ARGUMENT. References to other organizations are
// only checked for their form here.
absl::Status ValidateOrganization(const v1::Organization& org);

// The case-insensitive form of an acronym or alias (trimmed, lower case).
std::string NormalizeAlias(absl::string_view alias);
// The normalized acronym and aliases, sorted and unique.
std::vector<std::string> AliasKeys(const v1::Organization& org);

bool IsLive(const v1::Organization& org);
bool IsLive(const std::optional<v1::Organization>& org);

// `current` with the masked fields of `patch`; output-only fields (from the
// annotations), the name and the etag always come from `current`.
v1::Organization ApplyUpdate(const v1::Organization& current,
                             const v1::Organization& patch,
                             const UpdateMask& mask);

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_REGISTRY_VALIDATION_H_
