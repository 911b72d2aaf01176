#ifndef PRESENCE_SERVICES_TIMELINE_SEED_H_
#define PRESENCE_SERVICES_TIMELINE_SEED_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace presence::timeline {

class Timeline;

// The Kosovo events (data/kosovo/events.textproto), embedded at build time.
absl::string_view KosovoEvents();

// Imports every event of `textproto` (an internal.SeedEvents in text format)
// if and only if the timeline is empty; returns how many (0 when it was not
// empty). The events reference the registry's embedded organizations; a test
// checks that they all exist there, so the import does not ask the registry.
absl::StatusOr<int> LoadSeedIfEmpty(Timeline& timeline,
                                    absl::string_view textproto);

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_SEED_H_
