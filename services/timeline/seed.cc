#include "services/timeline/seed.h"

#include "absl/strings/str_cat.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/text_proto.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_internal.pb.h"

namespace presence::timeline {

absl::StatusOr<int> LoadSeedIfEmpty(Timeline& timeline,
                                    absl::string_view textproto) {
  internal::SeedEvents seed;
  if (absl::Status parsed = ParseTextProto(textproto, &seed); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed events: ", parsed.message()));
  }
  absl::StatusOr<bool> empty = timeline.IsEmpty();
  if (!empty.ok()) return empty.status();
  if (!*empty) return 0;
  int created = 0;
  for (const v1::Event& event : seed.events()) {
    absl::StatusOr<v1::Event> result = timeline.ImportEvent(event);
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat("seed event ", event.name(), ": ",
                                       result.status().message()));
    }
    ++created;
  }
  return created;
}

}  // namespace presence::timeline
