#include "services/registry/seed.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/text_proto.h"
#include "services/registry/registry.h"
#include "services/registry/registry_internal.pb.h"

namespace presence::registry {

absl::StatusOr<int> LoadSeedOnce(Registry& registry, absl::string_view textproto) {
  internal::SeedData seed;
  if (absl::Status parsed = ParseTextProto(textproto, &seed); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed data: ", parsed.message()));
  }
  absl::StatusOr<int> created = registry.SeedOnce(std::vector<v1::Organization>(
      seed.organizations().begin(), seed.organizations().end()));
  if (!created.ok()) {
    return absl::Status(created.status().code(),
                        absl::StrCat("seed data: ", created.status().message()));
  }
  return created;
}

}  // namespace presence::registry
