#include "services/registry/seed.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/text_proto.h"
#include "services/registry/registry.h"
#include "services/registry/registry_internal.pb.h"

namespace presence::registry {

absl::StatusOr<int> LoadSeedIfEmpty(Registry& registry,
                                    absl::string_view textproto) {
  internal::SeedData seed;
  if (absl::Status parsed = ParseTextProto(textproto, &seed); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed data: ", parsed.message()));
  }
  absl::StatusOr<bool> empty = registry.IsEmpty();
  if (!empty.ok()) return empty.status();
  if (!*empty) return 0;
  int created = 0;
  CallContext call;
  call.principal = "seed";
  for (const v1::Organization& org : seed.organizations()) {
    v1::CreateOrganizationRequest request;
    request.set_organization_id(
        std::string(absl::StripPrefix(org.name(), "organizations/")));
    *request.mutable_organization() = org;
    absl::StatusOr<v1::Organization> result =
        registry.CreateOrganization(request, call);
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat("seed organization ", org.name(), ": ",
                                       result.status().message()));
    }
    ++created;
  }
  return created;
}

}  // namespace presence::registry
