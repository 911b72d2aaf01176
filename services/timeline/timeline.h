#ifndef PRESENCE_SERVICES_TIMELINE_TIMELINE_H_
#define PRESENCE_SERVICES_TIMELINE_TIMELINE_H_

// The timeline's domain service: every rule about events and presence
// reports, in plain C++ over protobuf messages and absl::Status.
//
// Storage layout (tables of the KvStore):
//   events    {event_id}        -> Event
//   by_start  see event_index.h -> Event (window queries)
//   by_org    see event_index.h -> Event (per-organization window queries,
//             and per-organization runs for queries without a lower bound)
//   recent    see event_index.h -> Event (per organization, most recent
//             first: GetPresence's events, presence_query.h)
//   meta      request-id records (services/common/write/request_ids.h)
//             "span_bound/" ... -> "" (SpanBounds, event_index.h)
//             "seeded"          -> "" once the seed data was loaded
// Every write is one transaction of the store: the record, all its index
// entries and the span bounds they raise.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/call_context.h"
#include "services/common/storage/kv_store.h"
#include "services/common/write/request_ids.h"

namespace google::protobuf {
class Timestamp;
}  // namespace google::protobuf

namespace presence::timeline::v1 {
class BatchCreateEventsRequest;
class BatchCreateEventsResponse;
class CreateEventRequest;
class DeleteEventRequest;
class Event;
class GetPresenceRequest;
class ListEventsRequest;
class ListEventsResponse;
class Presence;
class UpdateEventRequest;
}  // namespace presence::timeline::v1

namespace presence::timeline {

class OrganizationCache;
class RegistryClient;
class SpanBounds;

enum Table : storage::TableId {
  kEvents = 0,
  kByStart = 1,
  kByOrg = 2,
  kMeta = 3,
  kRecent = 4,
};
inline constexpr const char* kTableNames[] = {"events", "by_start", "by_org",
                                              "meta", "recent"};
// 2: covering indexes (index entries hold the event).
// 3: by_org's all-spans runs and the span bounds in meta (event_index.h).
// 4: span levels by half-octaves instead of octaves.
// 5: one span bound record per level; request-id records with their time,
//    expiring (services/common/write/request_ids.h).
// 6: the recent table (per organization, most recent first: GetPresence).
inline constexpr int64_t kSchemaVersion = 6;

// Brings a store of an older schema version up to kSchemaVersion in place
// (for StoreOptions::upgrade); `now` stamps converted request-id records.
// Idempotent: an upgrade interrupted by a crash is redone at the next
// start. Errors: FAILED_PRECONDITION for a version it cannot upgrade, and
// those of the store.
absl::Status UpgradeStore(storage::KvStore* store, int64_t stored_version,
                          absl::Time now = absl::Now());

struct TimelineOptions {
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Check the organizations of every write against the registry (through
  // the cache while it follows the registry live). Off only for benchmarks
  // and trusted bulk loads.
  bool check_registry = true;
  // How long a CreateEvent request_id is remembered (AIP-155): retries
  // within it return the first result.
  absl::Duration request_id_retention = absl::Hours(24);
};

// Thread-safe, and safe to run as several replicas (processes) over one
// shared store: every write is one serializable transaction of the store,
// and nothing a query depends on is kept in memory (span bounds are read in
// each query's snapshot). Reads never block on writers or on the registry.
class Timeline {
 public:
  // `registry` and `cache` are not owned and must outlive the Timeline.
  // `store` must have been opened with kTableNames at kSchemaVersion.
  // Errors: those of the store, while reading the span bounds.
  static absl::StatusOr<std::unique_ptr<Timeline>> Open(
      std::unique_ptr<storage::KvStore> store, RegistryClient* registry,
      const OrganizationCache* cache, TimelineOptions options = {});
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;
  ~Timeline();

  // Loads `events` (trusted seed data: validated, not checked against the
  // registry) in one transaction, once per database: unless the database
  // was seeded before, or ever held an event, in which case it is only
  // marked as seeded. Concurrent replicas seed it once between them.
  // Returns how many events were created.
  absl::StatusOr<int> SeedOnce(const std::vector<v1::Event>& events);

  // `call.deadline` is the deadline of the request being served: calls into
  // the registry made for it never outlive it; `call.principal` is recorded
  // as created_by/updated_by. Errors: INVALID_ARGUMENT naming the field and
  // value; NOT_FOUND; ALREADY_EXISTS; ABORTED for an etag mismatch;
  // UNAVAILABLE (nothing written) when the registry cannot be asked.
  absl::StatusOr<v1::Event> GetEvent(absl::string_view name);
  absl::StatusOr<v1::ListEventsResponse> ListEvents(
      const v1::ListEventsRequest& request);
  absl::StatusOr<v1::Event> CreateEvent(const v1::CreateEventRequest& request,
                                        const CallContext& call);
  absl::StatusOr<v1::Event> UpdateEvent(const v1::UpdateEventRequest& request,
                                        const CallContext& call);
  // Up to 1000 events in one atomic write; each distinct organization is
  // checked once.
  absl::StatusOr<v1::BatchCreateEventsResponse> BatchCreateEvents(
      const v1::BatchCreateEventsRequest& request, const CallContext& call);
  absl::Status DeleteEvent(const v1::DeleteEventRequest& request);
  // UNAVAILABLE until the organization cache has been filled once
  // (presence_query.h).
  absl::StatusOr<v1::Presence> GetPresence(const v1::GetPresenceRequest& request);
  // As GetPresence, serialized (the stored events copied, not parsed).
  absl::StatusOr<std::string> GetPresenceBytes(const v1::GetPresenceRequest& request);

  storage::KvStore* store() { return store_.get(); }


 private:
  Timeline(std::unique_ptr<storage::KvStore> store, RegistryClient* registry,
           const OrganizationCache* cache, TimelineOptions options);
  absl::StatusOr<v1::BatchCreateEventsResponse> BatchCreate(
      const v1::BatchCreateEventsRequest& request, const CallContext& call,
      bool check_registry, bool seed);
  // True if the store ever held an event.
  static absl::StatusOr<bool> EverWritten(storage::Transaction& txn);
  // Every organization of `event` exists and is live in the registry.
  absl::Status CheckOrganizations(const v1::Event& event, const CallContext& call);
  // Whether CheckOrganizations(event) passes without asking the registry:
  // the check is off, or the live cache holds every organization, none
  // deleted.
  bool OrganizationsPassLocally(const v1::Event& event) const;
  absl::Status CheckOrganization(const std::string& name, const std::string& field,
                                 const CallContext& call);
  absl::StatusOr<std::optional<std::string>> ReadRaw(absl::string_view id);
  // Stamps a new event's output fields and writes its record and index
  // entries in `txn` (raising `bounds`, loaded in `txn`).
  void AppendCreation(const google::protobuf::Timestamp& now,
                      const std::string& principal, v1::Event* event,
                      SpanBounds* bounds, storage::Transaction& txn);
  static absl::StatusOr<v1::Event> PreviousResult(
      const RequestIds::Stored& previous, absl::string_view request_id,
      absl::string_view id);

  std::unique_ptr<storage::KvStore> store_;
  RegistryClient* const registry_;
  const OrganizationCache* const cache_;
  TimelineOptions options_;
  RequestIds request_ids_;
};

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_TIMELINE_H_
