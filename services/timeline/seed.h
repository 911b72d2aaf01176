#ifndef PRESENCE_SERVICES_TIMELINE_SEED_H_
#define PRESENCE_SERVICES_TIMELINE_SEED_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace presence::timeline {

class Timeline;

// The Kosovo events (data/kosovo/events.textproto), embedded at build time.
absl::string_view KosovoEvents();

// Imports every event of `textproto` (an internal.SeedEvents in text format)
// once per database (Timeline::SeedOnce): never into a database that was
// seeded or written before, whatever it holds now, and once among replicas
// starting together. Returns how many were created (0 if none). The events
// reference the registry's embedded organizations; a test checks that they
// all exist there, so the import does not ask the registry.
// INVALID_ARGUMENT if the text does not parse; errors name the event
// ("requests[i]").
absl::StatusOr<int> LoadSeedOnce(Timeline& timeline, absl::string_view textproto);

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_SEED_H_
