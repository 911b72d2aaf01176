#include "services/timeline/seed.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/text_proto.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_internal.pb.h"

namespace presence::timeline {

absl::StatusOr<int> LoadSeedOnce(Timeline& timeline, absl::string_view textproto) {
  internal::SeedEvents seed;
  if (absl::Status parsed = ParseTextProto(textproto, &seed); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed events: ", parsed.message()));
  }
  absl::StatusOr<int> created = timeline.SeedOnce(
      std::vector<v1::Event>(seed.events().begin(), seed.events().end()));
  if (!created.ok()) {
    return absl::Status(created.status().code(),
                        absl::StrCat("seed events: ", created.status().message()));
  }
  return created;
}

}  // namespace presence::timeline
