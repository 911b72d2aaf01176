#ifndef PRESENCE_SERVICES_TIMELINE_PRESENCE_QUERY_H_
#define PRESENCE_SERVICES_TIMELINE_PRESENCE_QUERY_H_

// GetPresence: who was present on a date, in what strength, under whom, and
// what had happened to them.
//
// The organizations come from the OrganizationCache (one shared, immutable
// view: nothing is copied but what the answer holds); their recent events
// from the recent table (event_index.h): per organization reported one seek
// and a forward scan of the events returned, all in one snapshot, whatever
// the number of events stored.

#include <string>

#include "absl/status/statusor.h"
#include "services/common/storage/kv_store.h"

namespace presence::timeline::v1 {
class GetPresenceRequest;
class Presence;
}  // namespace presence::timeline::v1

namespace presence::timeline {

class OrganizationCache;

// Answers `request` from `cache` and the `recent` table of `store` (see
// event_index.h), read in one snapshot, serialized as a v1::Presence: the
// stored events are copied into it as they are (checked well-formed, not
// parsed). Errors: INVALID_ARGUMENT naming the field (date, kinds[i],
// max_events); UNAVAILABLE (ORGANIZATIONS_NOT_LOADED) until the cache has
// been filled once; DATA_LOSS for an unreadable index entry; those of the
// store. Thread-safe.
absl::StatusOr<std::string> QueryPresenceBytes(const v1::GetPresenceRequest& request,
                                               const OrganizationCache& cache,
                                               storage::KvStore* store,
                                               storage::TableId recent);

// As QueryPresenceBytes, parsed (DATA_LOSS also for a stored event that is
// well-formed but not an Event).
absl::StatusOr<v1::Presence> QueryPresence(const v1::GetPresenceRequest& request,
                                           const OrganizationCache& cache,
                                           storage::KvStore* store,
                                           storage::TableId recent);

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_PRESENCE_QUERY_H_
