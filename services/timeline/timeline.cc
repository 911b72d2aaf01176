#include "services/timeline/timeline.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/field_behavior.h"
#include "services/common/field_mask.h"
#include "services/common/limits.h"
#include "services/common/page_token.h"
#include "services/common/partial_date.h"
#include "services/common/resource_name.h"
#include "services/common/standard_errors.h"
#include "services/common/key_codec.h"
#include "services/common/status_macros.h"
#include "services/common/write/batch_create.h"
#include "services/common/write/preconditions.h"
#include "services/timeline/event_index.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/presence_query.h"
#include "services/timeline/registry_client.h"
#include "services/timeline/timeline_internal.pb.h"

namespace presence::timeline {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;
using ::presence::timeline::v1::Presence;
using ::presence::type::v1::PartialDate;

constexpr char kCollection[] = "events";

// [lower(start), upper(end or start)] as day numbers.
std::pair<int64_t, int64_t> Span(const Event& event) {
  const DayInterval start = ToInterval(event.start());
  const DayInterval end =
      IsSet(event.has_end(), event.end()) ? ToInterval(event.end()) : start;
  return {DayNumber(start.lower), DayNumber(end.upper)};
}

absl::Status CheckLimits(const Event& event) {
  PRESENCE_RETURN_IF_ERROR(CheckLength("event.title", event.title(), kMaxMediumText));
  PRESENCE_RETURN_IF_ERROR(CheckLength("event.description", event.description(), kMaxLongText));
  PRESENCE_RETURN_IF_ERROR(CheckCount("event.organizations", event.organizations_size(), kMaxListEntries));
  for (int i = 0; i < event.organizations_size(); ++i) {
    PRESENCE_RETURN_IF_ERROR(CheckLength(absl::StrCat("event.organizations[", i, "]"),
                                         event.organizations(i), kMaxShortText));
  }
  PRESENCE_RETURN_IF_ERROR(CheckCount("event.sources", event.sources_size(), kMaxListEntries));
  for (int i = 0; i < event.sources_size(); ++i) {
    const std::string field = absl::StrCat("event.sources[", i, "]");
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".document", event.sources(i).document(), kMaxMediumText));
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".quote", event.sources(i).quote(), kMaxLongText));
  }
  return absl::OkStatus();
}

absl::Status ValidateEvent(const Event& event) {
  PRESENCE_RETURN_IF_ERROR(CheckLimits(event));
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(event, "event."));
  if (!Event::Kind_IsValid(event.kind())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event.kind: ", event.kind(), " is not a kind; set one of DECLARATION .. OTHER"));
  }
  PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(event.start(), "event.start"));
  if (IsSet(event.has_end(), event.end())) {
    PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(event.end(), "event.end"));
    if (ToInterval(event.end()).upper < ToInterval(event.start()).lower) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event.end: ", FormatPartialDate(event.end()),
          " is before event.start ", FormatPartialDate(event.start())));
    }
  }
  std::set<std::string> seen;
  for (int i = 0; i < event.organizations_size(); ++i) {
    const std::string field = absl::StrCat("event.organizations[", i, "]");
    PRESENCE_ASSIGN_OR_RETURN(
        std::string id,
        ParseResourceName(event.organizations(i), "organizations", field));
    if (!seen.insert(id).second) {
      return DuplicateEntryError(
          field, absl::StrCat(field, ": ", event.organizations(i), " is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Event> ParseEvent(absl::string_view bytes,
                                 absl::string_view where) {
  Event event;
  if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("unreadable event at ", where));
  }
  return event;
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// The event a create request asks for: its fields without the output-only
// ones (from the annotations) and the etag, named events/{id}.
Event NewEvent(const Event& requested, absl::string_view id) {
  Event event = requested;
  ClearOutputOnlyFields(&event);
  event.clear_etag();  // AIP-154: a precondition of updates only.
  event.set_name(ResourceName(kCollection, id));
  ClearEmptyPartialDates(&event);
  return event;
}

std::string NewEtag() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* const gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("\"%016x\"", absl::Uniform<uint64_t>(*gen));
}

std::string OrgId(absl::string_view name) {
  return std::string(absl::StripPrefix(name, "organizations/"));
}

// ALREADY_EXISTS, EVENT_ALREADY_EXISTS, with ResourceInfo; `prefix` goes
// before the message ("event_id: ").
absl::Status EventAlreadyExistsError(absl::string_view name, absl::string_view prefix) {
  return ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(prefix, name, " already exists")))
      .Reason(kEventAlreadyExists)
      .Meta("event", name)
      .Resource(kEventType, name);
}

// NOT_FOUND, EVENT_NOT_FOUND, with ResourceInfo.
absl::Status EventNotFoundError(absl::string_view name) {
  return ErrorBuilder(absl::NotFoundError(absl::StrCat(name, " not found")))
      .Reason(kEventNotFound)
      .Meta("event", name)
      .Resource(kEventType, name);
}

}  // namespace

namespace {

// Which index entries of an event to write.
enum class Indexes { kAll, kRecentOnly };

// Writes the index entries of `event` (or their deletions) in `txn`, raising
// `bounds` (and recording the raise in `txn`) for a new entry.
void AddIndexEntries(const Event& event, bool remove, SpanBounds* bounds,
                     storage::Transaction& txn, Indexes which = Indexes::kAll) {
  const auto [lower, upper] = Span(event);
  const std::string id(absl::StripPrefix(event.name(), "events/"));
  // Covering entries: the event itself is the value (see event_index.h).
  const std::string value = remove ? "" : event.SerializeAsString();
  const auto apply = [&](storage::TableId table, const std::string& key) {
    if (remove) {
      txn.Delete(table, key);
    } else {
      txn.Put(table, key, value);
    }
  };
  const bool all = which == Indexes::kAll;
  if (all) apply(kByStart, StartIndexKey(lower, upper, id));
  for (const std::string& org : event.organizations()) {
    const std::string org_id = OrgId(org);
    if (all) {
      apply(kByOrg, OrgIndexKey(org_id, lower, upper, id));
      apply(kByOrg, OrgRunKey(org_id, lower, upper, id));
    }
    apply(kRecent, RecentKey(org_id, lower, upper, id));
  }
  if (all && !remove) bounds->Raise(upper - lower, kMeta, txn);
}

// Rebuilds the indexes and the span bounds from the records (layouts 2
// and 3 bucketed spans by octaves), or only the recent table (layout 5 had
// none). Index keys start with a level byte (by_start) or an organization
// id (by_org, recent), never 0xFF, so [empty, 0xFF) is all of them.
absl::Status RebuildIndexes(storage::KvStore* store, Indexes which) {
  PRESENCE_RETURN_IF_ERROR(store->Transact([which](storage::Transaction& txn) {
    const std::string end(1, '\xff');
    if (which == Indexes::kAll) {
      txn.DeleteRange(kByStart, "", end);
      txn.DeleteRange(kByOrg, "", end);
      SpanBounds::ClearAll(kMeta, txn);
    }
    txn.DeleteRange(kRecent, "", end);
    return absl::OkStatus();
  }));
  // A thousand events per transaction, each resuming after the last.
  std::string after;
  for (bool more = true; more;) {
    PRESENCE_RETURN_IF_ERROR(store->Transact([&](storage::Transaction& txn) -> absl::Status {
      PRESENCE_ASSIGN_OR_RETURN(SpanBounds bounds, SpanBounds::Load(txn, kMeta));
      std::vector<Event> events;
      {
        std::unique_ptr<storage::Iterator> it =
            txn.NewIterator(kEvents, storage::ReadOptions{});
        it->Seek(after);
        if (!after.empty() && it->Valid() && it->key() == after) it->Next();
        for (; it->Valid() && events.size() < 1000; it->Next()) {
          PRESENCE_ASSIGN_OR_RETURN(Event event, ParseEvent(it->value(), it->key()));
          event.set_name(ResourceName(kCollection, it->key()));
          events.push_back(std::move(event));
        }
        PRESENCE_RETURN_IF_ERROR(it->status());
      }
      more = events.size() == 1000;
      for (const Event& event : events) {
        AddIndexEntries(event, /*remove=*/false, &bounds, txn, which);
      }
      if (!events.empty()) {
        after = std::string(absl::StripPrefix(events.back().name(), "events/"));
      }
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

// Layout 5 keeps request ids with the time they were recorded (they
// expire); older records get the upgrade's time. Records already converted
// are left alone.
absl::Status ConvertRequestRecords(storage::KvStore* store, absl::Time now) {
  RequestIdOptions options;
  options.table = kMeta;
  options.now = [now] { return now; };
  const RequestIds request_ids(options);
  return store->Transact([&](storage::Transaction& txn) -> absl::Status {
    storage::ReadOptions ro;
    ro.lower_bound = "r/";
    ro.upper_bound = PrefixSuccessor(ro.lower_bound);
    std::vector<std::pair<std::string, internal::StoredRequest>> old;
    {
      std::unique_ptr<storage::Iterator> it = txn.NewIterator(kMeta, ro);
      for (it->Seek(ro.lower_bound); it->Valid(); it->Next()) {
        internal::StoredRequest record;
        if (record.ParseFromArray(it->value().data(),
                                  static_cast<int>(it->value().size()))) {
          old.emplace_back(std::string(it->key().substr(2)), std::move(record));
        }
      }
      PRESENCE_RETURN_IF_ERROR(it->status());
    }
    for (const auto& [request_id, record] : old) {
      // Converted records have a record time (field 3), which version-4
      // records lack.
      if (record.GetReflection()->GetUnknownFields(record).field_count() > 0) continue;
      txn.Delete(kMeta, absl::StrCat("r/", request_id));
      PRESENCE_RETURN_IF_ERROR(request_ids.Record(
          txn, request_id, record.event_id(), record.result().SerializeAsString()));
    }
    return absl::OkStatus();
  });
}

RequestIdOptions RequestIdOptionsOf(const TimelineOptions& options) {
  RequestIdOptions out;
  out.table = kMeta;
  out.retention = options.request_id_retention;
  out.now = options.now;
  return out;
}

// The timeline's transactions: every rule they check is about a key they
// write (an event id, a request id, a span bound record they replace), so
// snapshot isolation suffices (see storage::TransactOptions) and concurrent
// creates do not fail each other over neighbouring keys.
storage::TransactOptions PerKeyWrites() {
  storage::TransactOptions options;
  options.snapshot_isolation = true;
  return options;
}

// A create that read one state outside its transaction and found another
// inside: it is planned again.
absl::Status Changed() { return absl::AbortedError("changed meanwhile"); }
bool IsChanged(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAborted && s.message() == "changed meanwhile";
}
constexpr int kMaxPlanAttempts = 16;
// meta: set once the seed data was loaded (or found unnecessary).
constexpr char kSeededKey[] = "seeded";

}  // namespace

absl::Status UpgradeStore(storage::KvStore* store, int64_t stored_version,
                          absl::Time now) {
  if (stored_version < 2 || stored_version > 5) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no upgrade from timeline schema version ", stored_version));
  }
  // Versions 2 and 3 bucketed spans by octaves (3 added the all-spans runs
  // and the span bounds); version 4 could hold several span bound records
  // per level: their indexes and bounds are rebuilt from the records.
  // Version 5 had no recent table: it is built from the records. An
  // interrupted upgrade starts over.
  if (stored_version == 5) return RebuildIndexes(store, Indexes::kRecentOnly);
  PRESENCE_RETURN_IF_ERROR(RebuildIndexes(store, Indexes::kAll));
  return ConvertRequestRecords(store, now);
}

absl::StatusOr<std::unique_ptr<Timeline>> Timeline::Open(
    std::unique_ptr<storage::KvStore> store, RegistryClient* registry,
    const OrganizationCache* cache, TimelineOptions options) {
  if (options.request_id_retention < absl::Minutes(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request id retention ", absl::FormatDuration(options.request_id_retention),
        " must be at least 1m"));
  }
  // Fails early if the store cannot be read.
  PRESENCE_RETURN_IF_ERROR(SpanBounds::Load(store.get(), kMeta, nullptr).status());
  return std::unique_ptr<Timeline>(
      new Timeline(std::move(store), registry, cache, std::move(options)));
}

Timeline::Timeline(std::unique_ptr<storage::KvStore> store,
                   RegistryClient* registry, const OrganizationCache* cache,
                   TimelineOptions options)
    : store_(std::move(store)),
      registry_(registry),
      cache_(cache),
      options_(std::move(options)),
      request_ids_(RequestIdOptionsOf(options_)) {}

Timeline::~Timeline() = default;

absl::StatusOr<bool> Timeline::EverWritten(storage::Transaction& txn) {
  {
    std::unique_ptr<storage::Iterator> it =
        txn.NewIterator(kEvents, storage::ReadOptions{});
    it->SeekToFirst();
    PRESENCE_RETURN_IF_ERROR(it->status());
    if (it->Valid()) return true;
  }
  PRESENCE_ASSIGN_OR_RETURN(const SpanBounds bounds, SpanBounds::Load(txn, kMeta));
  for (int level = 0; level < kIndexLevels; ++level) {
    if (bounds.Bound(level) >= 0) return true;
  }
  return false;
}

absl::StatusOr<std::optional<std::string>> Timeline::ReadRaw(
    absl::string_view id) {
  return store_->Get(kEvents, id);
}

absl::StatusOr<Event> Timeline::GetEvent(absl::string_view name) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id,
                            ParseResourceName(name, kCollection, "name"));
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadRaw(id));
  if (!raw) return EventNotFoundError(name);
  return ParseEvent(*raw, name);
}

void Timeline::AppendCreation(const google::protobuf::Timestamp& now,
                              const std::string& principal, Event* event,
                              SpanBounds* bounds, storage::Transaction& txn) {
  *event->mutable_create_time() = now;
  *event->mutable_update_time() = now;
  event->set_created_by(principal);
  event->set_updated_by(principal);
  event->set_etag(NewEtag());
  const std::string id(absl::StripPrefix(event->name(), "events/"));
  txn.Put(kEvents, id, event->SerializeAsString());
  AddIndexEntries(*event, /*remove=*/false, bounds, txn);
}

absl::Status Timeline::CheckOrganization(const std::string& name,
                                         const std::string& field,
                                         const CallContext& call) {
  // While the cache follows the registry live it answers; a miss (say, an
  // organization created a moment ago) asks the registry.
  if (cache_ != nullptr && cache_->live()) {
    if (const std::shared_ptr<const Organization> cached = cache_->Get(name)) {
      if (cached->state() == Organization::DELETED) {
        return DeletedOrganizationError(field, name, " in the registry");
      }
      return absl::OkStatus();
    }
  }
  absl::StatusOr<Organization> org = registry_->GetOrganization(name, call);
  if (org.ok()) {
    if (org->state() == Organization::DELETED) {
      return DeletedOrganizationError(field, name, " in the registry");
    }
    return absl::OkStatus();
  }
  if (org.status().code() == absl::StatusCode::kNotFound) {
    return UnknownOrganizationError(field, name, " in the registry");
  }
  if (org.status().code() == absl::StatusCode::kDeadlineExceeded &&
      absl::Now() >= call.deadline) {
    return org.status();
  }
  ErrorBuilder unavailable(absl::UnavailableError(absl::StrCat(
      "cannot check ", field, " ", name, " against the registry: ",
      org.status().message(), "; nothing was written")));
  unavailable.Reason(kRegistryUnavailable)
      .Meta("organization", name)
      .Meta("registryCode", absl::StatusCodeToString(org.status().code()))
      .RetryAfter(absl::Seconds(1));
  if (const std::string reason = ErrorReason(org.status()); !reason.empty()) {
    unavailable.Meta("registryReason", reason);
  }
  return unavailable;
}

absl::Status Timeline::CheckOrganizations(const Event& event,
                                          const CallContext& call) {
  if (!options_.check_registry) return absl::OkStatus();
  for (int i = 0; i < event.organizations_size(); ++i) {
    PRESENCE_RETURN_IF_ERROR(CheckOrganization(
        event.organizations(i), absl::StrCat("event.organizations[", i, "]"), call));
  }
  return absl::OkStatus();
}

bool Timeline::OrganizationsPassLocally(const Event& event) const {
  if (!options_.check_registry) return true;
  if (cache_ == nullptr || !cache_->live()) return false;
  for (const std::string& name : event.organizations()) {
    const std::shared_ptr<const Organization> cached = cache_->Get(name);
    if (!cached || cached->state() == Organization::DELETED) return false;
  }
  return true;
}

// The answer to a retry of `request_id` (for event `id`), or INVALID_ARGUMENT
// if the id created another event.
absl::StatusOr<Event> Timeline::PreviousResult(const RequestIds::Stored& previous,
                                               absl::string_view request_id,
                                               absl::string_view id) {
  if (previous.resource_id != id) {
    return RequestIdReusedError(request_id, ResourceName(kCollection, previous.resource_id));
  }
  return ParseEvent(previous.result, id);
}

absl::StatusOr<Event> Timeline::CreateEvent(const v1::CreateEventRequest& request,
                                            const CallContext& call) {
  const std::string& id = request.event_id();
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request, "", Nested::kSkip));
  PRESENCE_RETURN_IF_ERROR(CheckCreateEnvelope(
      {"event_id", id, "event", request.has_event(), request.request_id()}));
  Event event = NewEvent(request.event(), id);
  PRESENCE_RETURN_IF_ERROR(ValidateEvent(event));
  const std::string& request_id = request.request_id();

  // A retry is answered, and a taken id refused, before the registry is
  // asked (outside the transaction: it is another service); the
  // transaction looks again. When the organizations check needs no
  // registry, the transaction's look is the only one (two round trips less
  // on PostgreSQL, bench/results/profile-postgresql-create.txt), in the
  // same order, so the answers are the same.
  if (!OrganizationsPassLocally(event)) {
    if (!request_id.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(std::optional<RequestIds::Stored> previous,
                                request_ids_.Find(store_.get(), request_id));
      if (previous) return PreviousResult(*previous, request_id, id);
    }
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> existing, ReadRaw(id));
    if (existing) {
      // The event may be this very request's, committed (with its record,
      // in one transaction) by another replica since the first look: look
      // again now that the event is seen, so that a retry is never refused.
      if (!request_id.empty()) {
        PRESENCE_ASSIGN_OR_RETURN(std::optional<RequestIds::Stored> previous,
                                  request_ids_.Find(store_.get(), request_id));
        if (previous) return PreviousResult(*previous, request_id, id);
      }
      return EventAlreadyExistsError(event.name(), "");
    }
    PRESENCE_RETURN_IF_ERROR(CheckOrganizations(event, call));
  }
  Event result;
  PRESENCE_RETURN_IF_ERROR(store_->Transact([&](storage::Transaction& txn) -> absl::Status {
    if (!request_id.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(std::optional<RequestIds::Stored> previous,
                                request_ids_.Find(txn, request_id));
      if (previous) {
        PRESENCE_ASSIGN_OR_RETURN(result, PreviousResult(*previous, request_id, id));
        return absl::OkStatus();
      }
    }
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(kEvents, id));
    if (raw) return EventAlreadyExistsError(event.name(), "");
    result = event;
    if (request.validate_only()) return absl::OkStatus();
    const auto [lower, upper] = Span(result);
    PRESENCE_ASSIGN_OR_RETURN(SpanBounds bounds, SpanBounds::LoadFor(txn, kMeta, upper - lower));
    AppendCreation(ToProtoTime(options_.now()), call.principal, &result, &bounds, txn);
    if (!request_id.empty()) {
      PRESENCE_RETURN_IF_ERROR(
          request_ids_.Record(txn, request_id, id, result.SerializeAsString()));
    }
    return absl::OkStatus();
  }, PerKeyWrites()));
  if (!request_id.empty()) (void)request_ids_.SweepIfDue(store_.get());  // Best effort.
  return result;
}

absl::StatusOr<v1::BatchCreateEventsResponse> Timeline::BatchCreateEvents(
    const v1::BatchCreateEventsRequest& request, const CallContext& call) {
  return BatchCreate(request, call, options_.check_registry, /*seed=*/false);
}

absl::StatusOr<int> Timeline::SeedOnce(const std::vector<Event>& events) {
  v1::BatchCreateEventsRequest request;
  for (const Event& event : events) {
    v1::CreateEventRequest* create = request.add_requests();
    create->set_event_id(std::string(absl::StripPrefix(event.name(), "events/")));
    *create->mutable_event() = event;
  }
  CallContext call;
  call.principal = "seed";
  PRESENCE_ASSIGN_OR_RETURN(v1::BatchCreateEventsResponse created,
                            BatchCreate(request, call, /*check_registry=*/false,
                                        /*seed=*/true));
  return created.events_size();
}

absl::StatusOr<v1::BatchCreateEventsResponse> Timeline::BatchCreate(
    const v1::BatchCreateEventsRequest& request, const CallContext& call,
    bool check_registry, bool seed) {
  const int n = request.requests_size();
  std::vector<Event> events;
  std::map<std::string, std::string> organizations;  // name -> first field
  PRESENCE_RETURN_IF_ERROR(CheckBatchCreate(
      n,
      [&](int i) -> CreateEnvelope {
        const v1::CreateEventRequest& create = request.requests(i);
        return {"event_id", create.event_id(), "event", create.has_event(), ""};
      },
      [&](int i) {
        PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request.requests(i), "", Nested::kSkip));
        events.push_back(NewEvent(request.requests(i).event(),
                                  request.requests(i).event_id()));
        const Event& event = events.back();
        PRESENCE_RETURN_IF_ERROR(ValidateEvent(event));
        for (int j = 0; j < event.organizations_size(); ++j) {
          organizations.emplace(
              event.organizations(j),
              absl::StrCat("requests[", i, "].event.organizations[", j, "]"));
        }
        return absl::OkStatus();
      }));
  // Each distinct organization is checked once.
  if (check_registry) {
    for (const auto& [name, field] : organizations) {
      PRESENCE_RETURN_IF_ERROR(CheckOrganization(name, field, call));
    }
  }
  v1::BatchCreateEventsResponse response;
  PRESENCE_RETURN_IF_ERROR(store_->Transact([&](storage::Transaction& txn) -> absl::Status {
    response.Clear();
    if (seed) {
      // Once per database: the marker says it was seeded; a database that
      // ever held an event (span bounds are never removed) is not seeded
      // either, and is marked so.
      PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> marker,
                                txn.Get(kMeta, kSeededKey));
      if (marker) return absl::OkStatus();
      PRESENCE_ASSIGN_OR_RETURN(const bool written, EverWritten(txn));
      txn.Put(kMeta, kSeededKey, "");
      if (written) return absl::OkStatus();
    }
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back(request.requests(i).event_id());
    PRESENCE_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> existing,
                              txn.MultiGet(kEvents, ids));
    for (int i = 0; i < n; ++i) {
      if (existing[i]) return InRequest(i, EventAlreadyExistsError(events[i].name(), "event_id: "));
    }
    if (request.validate_only()) {
      for (const Event& e : events) *response.add_events() = e;
      return absl::OkStatus();
    }
    PRESENCE_ASSIGN_OR_RETURN(SpanBounds bounds, SpanBounds::Load(txn, kMeta));
    const google::protobuf::Timestamp now = ToProtoTime(options_.now());
    for (const Event& e : events) {
      Event event = e;
      AppendCreation(now, call.principal, &event, &bounds, txn);
      *response.add_events() = std::move(event);
    }
    return absl::OkStatus();
  }, PerKeyWrites()));
  return response;
}

absl::StatusOr<Event> Timeline::UpdateEvent(const v1::UpdateEventRequest& request,
                                            const CallContext& call) {
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request, "", Nested::kSkip));
  PRESENCE_ASSIGN_OR_RETURN(
      std::string id,
      ParseResourceName(request.event().name(), kCollection, "event.name"));
  PRESENCE_ASSIGN_OR_RETURN(
      const UpdateMask mask,
      ResolveUpdateMask(request.event(),
                        request.has_update_mask() ? &request.update_mask()
                                                  : nullptr));
  // The update is planned from the current version outside a transaction
  // (its organizations are checked against the registry, another service),
  // then committed if the version is still the same, else planned again.
  for (int attempt = 0; attempt < kMaxPlanAttempts; ++attempt) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadRaw(id));
    if (!raw) return EventNotFoundError(request.event().name());
    PRESENCE_ASSIGN_OR_RETURN(const Event current, ParseEvent(*raw, id));
    PRESENCE_RETURN_IF_ERROR(CheckEtag("event.etag", request.event().etag(),
                                       current.etag(), current.name(), kEventType));
    Event updated = current;
    ApplyUpdateMask(request.event(), mask, &updated);
    ClearEmptyPartialDates(&updated);
    // Output-only fields, the name and the etag come from the current version.
    CopyOutputOnlyFields(current, &updated);
    updated.set_name(current.name());
    updated.set_etag(current.etag());
    // Nothing changes: nothing is written (same etag and update time).
    if (Unchanged(current, updated)) return current;
    PRESENCE_RETURN_IF_ERROR(ValidateEvent(updated));
    PRESENCE_RETURN_IF_ERROR(CheckOrganizations(updated, call));
    if (request.validate_only()) return updated;

    *updated.mutable_update_time() = ToProtoTime(options_.now());
    updated.set_updated_by(call.principal);
    updated.set_etag(NewEtag());
    absl::Status committed = store_->Transact([&](storage::Transaction& txn) -> absl::Status {
      PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> now_raw, txn.Get(kEvents, id));
      if (now_raw != raw) return Changed();
      const auto [lower, upper] = Span(updated);
      PRESENCE_ASSIGN_OR_RETURN(SpanBounds bounds,
                                SpanBounds::LoadFor(txn, kMeta, upper - lower));
      AddIndexEntries(current, /*remove=*/true, &bounds, txn);
      AddIndexEntries(updated, /*remove=*/false, &bounds, txn);
      txn.Put(kEvents, id, updated.SerializeAsString());
      return absl::OkStatus();
    }, PerKeyWrites());
    if (IsChanged(committed)) continue;
    PRESENCE_RETURN_IF_ERROR(committed);
    return updated;
  }
  return ErrorBuilder(absl::AbortedError(absl::StrCat(
             request.event().name(), " changed too often while being updated; retry")))
      .Reason(kConcurrentModification)
      .Meta("event", request.event().name())
      .RetryAfter(absl::Milliseconds(100));
}

absl::Status Timeline::DeleteEvent(const v1::DeleteEventRequest& request) {
  PRESENCE_ASSIGN_OR_RETURN(
      std::string id, ParseResourceName(request.name(), kCollection, "name"));
  return store_->Transact([&](storage::Transaction& txn) -> absl::Status {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(kEvents, id));
    if (!raw) return EventNotFoundError(request.name());
    PRESENCE_ASSIGN_OR_RETURN(const Event current, ParseEvent(*raw, id));
    PRESENCE_RETURN_IF_ERROR(CheckEtag("etag", request.etag(), current.etag(),
                                       current.name(), kEventType));
    SpanBounds unused;  // Removals raise nothing.
    AddIndexEntries(current, /*remove=*/true, &unused, txn);
    txn.Delete(kEvents, id);
    return absl::OkStatus();
  }, PerKeyWrites());
}

absl::StatusOr<v1::ListEventsResponse> Timeline::ListEvents(
    const v1::ListEventsRequest& request) {
  PRESENCE_ASSIGN_OR_RETURN(int32_t page_size,
                            EffectivePageSize(request.page_size()));
  WindowQuery query;
  query.descending = request.descending();
  for (int i = 0; i < request.organizations_size(); ++i) {
    PRESENCE_ASSIGN_OR_RETURN(
        std::string id,
        ParseResourceName(request.organizations(i), "organizations",
                          absl::StrCat("organizations[", i, "]")));
    query.organization_ids.push_back(std::move(id));
  }
  std::set<int> kinds;
  for (int i = 0; i < request.kinds_size(); ++i) {
    if (!Event::Kind_IsValid(request.kinds(i)) ||
        request.kinds(i) == Event::KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kinds[", i, "]: ", request.kinds(i), " is not a kind"));
    }
    kinds.insert(request.kinds(i));
  }
  query.window_lower = std::numeric_limits<int64_t>::min();  // No lower bound.
  query.window_upper = DayNumber(MaxDay());
  if (IsSet(request.has_since(), request.since())) {
    PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(request.since(), "since"));
    query.window_lower = DayNumber(ToInterval(request.since()).lower);
  }
  if (IsSet(request.has_until(), request.until())) {
    PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(request.until(), "until"));
    query.window_upper = DayNumber(ToInterval(request.until()).upper);
  }
  if (query.window_upper < query.window_lower) {
    return absl::InvalidArgumentError(absl::StrCat(
        "until: ", FormatPartialDate(request.until()), " ends before since ",
        FormatPartialDate(request.since()), " begins"));
  }
  v1::ListEventsRequest fingerprint = request;
  fingerprint.clear_page_size();
  fingerprint.clear_page_token();
  if (!request.page_token().empty()) {
    PRESENCE_ASSIGN_OR_RETURN(query.after,
                              DecodePageToken(request.page_token(), fingerprint));
    if (EventIdOfSortKey(query.after).empty()) {
      return ErrorBuilder(absl::InvalidArgumentError(
                              "page_token: is not a page token issued by this method"))
          .Reason(kInvalidPageToken);
    }
  }

  PRESENCE_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Snapshot> snapshot,
                            store_->GetSnapshot());
  // Read in the query's snapshot: whichever replica wrote an event, its
  // span bound comes with it.
  PRESENCE_ASSIGN_OR_RETURN(const SpanBounds bounds,
                            SpanBounds::Load(store_.get(), kMeta, snapshot.get()));
  query.span_bounds = &bounds;
  WindowScan scan(store_.get(), kByStart, kByOrg, snapshot.get(), query);
  v1::ListEventsResponse response;
  std::string last_key;
  while (true) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<WindowScan::Entry> entry, scan.Next());
    if (!entry) break;
    PRESENCE_ASSIGN_OR_RETURN(Event event,
                              ParseEvent(entry->value, EventIdOfSortKey(entry->sort_key)));
    if (!kinds.empty() && !kinds.count(event.kind())) continue;
    if (response.events_size() == page_size) {
      response.set_next_page_token(EncodePageToken(fingerprint, last_key));
      break;
    }
    last_key = std::move(entry->sort_key);
    *response.add_events() = std::move(event);
  }
  return response;
}

absl::StatusOr<Presence> Timeline::GetPresence(
    const v1::GetPresenceRequest& request) {
  return QueryPresence(request, *cache_, store_.get(), kRecent);
}

absl::StatusOr<std::string> Timeline::GetPresenceBytes(
    const v1::GetPresenceRequest& request) {
  return QueryPresenceBytes(request, *cache_, store_.get(), kRecent);
}

}  // namespace presence::timeline
