#include "services/registry/registry_keys.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/key_codec.h"

namespace presence::registry {

using ::presence::registry::v1::Organization;

std::string Name(absl::string_view id) { return absl::StrCat(kNamePrefix, id); }

std::string Etag(int64_t revision) { return absl::StrCat("\"", revision, "\""); }

std::string RevisionKey(absl::string_view id, int64_t revision) {
  std::string key(id);
  key.push_back('\0');
  AppendUint64(&key, static_cast<uint64_t>(revision));
  return key;
}

std::string AliasIndexKey(absl::string_view normalized) {
  return absl::StrCat("a/", normalized);
}

std::string ParentIndexPrefix(absl::string_view parent_id) {
  std::string key = absl::StrCat("p/", parent_id);
  key.push_back('\0');
  return key;
}

std::string ParentId(const Organization& org) {
  absl::string_view name = org.parent_organization();
  absl::ConsumePrefix(&name, kNamePrefix);
  return std::string(name);
}

absl::StatusOr<Organization> ParseOrganization(absl::string_view bytes,
                                               absl::string_view where) {
  Organization org;
  if (!org.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("unreadable record at ", where));
  }
  return org;
}

}  // namespace presence::registry
