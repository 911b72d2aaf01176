#ifndef PRESENCE_SERVICES_REGISTRY_REGISTRY_KEYS_H_
#define PRESENCE_SERVICES_REGISTRY_REGISTRY_KEYS_H_

// The registry's key layout (documented in registry.h), its resource names
// and etags, and the decoding of stored records.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace presence::registry::v1 {
class Organization;
}  // namespace presence::registry::v1

namespace presence::registry {

inline constexpr char kCollection[] = "organizations";
inline constexpr absl::string_view kNamePrefix = "organizations/";

// "organizations/{id}".
std::string Name(absl::string_view id);
// The etag of the version at `revision`.
std::string Etag(int64_t revision);

// revisions: {id} 0x00 BE64(revision).
std::string RevisionKey(absl::string_view id, int64_t revision);
// index: "a/" {normalized alias}.
std::string AliasIndexKey(absl::string_view normalized);
// index: "p/" {parent id} 0x00, the prefix of a parent's children.
std::string ParentIndexPrefix(absl::string_view parent_id);

// The parent's id, or empty. REQUIRES: the parent name was validated.
std::string ParentId(const v1::Organization& org);

// Decodes a stored Organization; DATA_LOSS naming `where` if unreadable.
absl::StatusOr<v1::Organization> ParseOrganization(absl::string_view bytes,
                                                   absl::string_view where);

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_REGISTRY_KEYS_H_
