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
#include "services/common/status_macros.h"
#include "services/timeline/event_index.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/registry_client.h"
#include "services/timeline/timeline_internal.pb.h"

namespace presence::timeline {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;
using ::presence::timeline::v1::Presence;
using ::presence::type::v1::PartialDate;

constexpr char kCollection[] = "events";
constexpr int kDefaultMaxEvents = 10;
constexpr int kMaxMaxEvents = 100;
constexpr int kMaxBatchCreate = 1000;

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

// NOT_FOUND, EVENT_NOT_FOUND, with ResourceInfo.
absl::Status EventNotFoundError(absl::string_view name) {
  return ErrorBuilder(absl::NotFoundError(absl::StrCat(name, " not found")))
      .Reason(kEventNotFound)
      .Meta("event", name)
      .Resource(kEventType, name);
}

bool IsPresenceKind(Organization::Kind kind) {
  switch (kind) {
    case Organization::KIND_MILITARY_MISSION:
    case Organization::KIND_CIVILIAN_MISSION:
    case Organization::KIND_RULE_OF_LAW_MISSION:
    case Organization::KIND_FIELD_MISSION:
    case Organization::KIND_INTERIM_ADMINISTRATION:
    case Organization::KIND_STEERING_BODY:
      return true;
    default:
      return false;
  }
}

}  // namespace

namespace {

// Adds the index entries of `event` (or their deletions) to `batch`, raising
// `bounds` (and recording the raise in `batch`) for a new entry.
void AddIndexEntries(const Event& event, bool remove, SpanBounds* bounds,
                     storage::WriteBatch* batch) {
  const auto [lower, upper] = Span(event);
  const std::string id(absl::StripPrefix(event.name(), "events/"));
  // Covering entries: the event itself is the value (see event_index.h).
  const std::string value = remove ? "" : event.SerializeAsString();
  const auto apply = [&](storage::TableId table, const std::string& key) {
    if (remove) {
      batch->Delete(table, key);
    } else {
      batch->Put(table, key, value);
    }
  };
  apply(kByStart, StartIndexKey(lower, upper, id));
  for (const std::string& org : event.organizations()) {
    const std::string org_id = OrgId(org);
    apply(kByOrg, OrgIndexKey(org_id, lower, upper, id));
    apply(kByOrg, OrgRunKey(org_id, lower, upper, id));
  }
  if (!remove) bounds->Raise(upper - lower, kMeta, batch);
}

}  // namespace

absl::Status UpgradeStore(storage::KvStore* store, int64_t stored_version) {
  if (stored_version != 2 && stored_version != 3) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no upgrade from timeline schema version ", stored_version));
  }
  // Versions 2 and 3 bucketed spans by octaves (3 added the all-spans runs
  // and the span bounds): the indexes and the bounds are rebuilt from the
  // records. Index keys start with a level byte (by_start) or an
  // organization id (by_org), never 0xFF, so [empty, 0xFF) is all of them.
  // An interrupted upgrade starts over.
  storage::WriteBatch clear;
  const std::string end(1, '\xff');
  clear.DeleteRange(kByStart, "", end);
  clear.DeleteRange(kByOrg, "", end);
  SpanBounds::ClearAll(kMeta, &clear);
  PRESENCE_RETURN_IF_ERROR(store->Write(clear));
  SpanBounds bounds;
  std::unique_ptr<storage::Iterator> it =
      store->NewIterator(kEvents, storage::ReadOptions{});
  storage::WriteBatch batch;
  int64_t pending = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    PRESENCE_ASSIGN_OR_RETURN(Event event, ParseEvent(it->value(), it->key()));
    event.set_name(ResourceName(kCollection, it->key()));
    AddIndexEntries(event, /*remove=*/false, &bounds, &batch);
    if (++pending == 1000) {
      PRESENCE_RETURN_IF_ERROR(store->Write(batch));
      batch = storage::WriteBatch();
      pending = 0;
    }
  }
  PRESENCE_RETURN_IF_ERROR(it->status());
  return store->Write(batch);
}

absl::StatusOr<std::unique_ptr<Timeline>> Timeline::Open(
    std::unique_ptr<storage::KvStore> store, RegistryClient* registry,
    const OrganizationCache* cache, TimelineOptions options) {
  PRESENCE_ASSIGN_OR_RETURN(std::unique_ptr<SpanBounds> bounds,
                            SpanBounds::Load(store.get(), kMeta));
  return std::unique_ptr<Timeline>(new Timeline(std::move(store), std::move(bounds),
                                                registry, cache, std::move(options)));
}

Timeline::Timeline(std::unique_ptr<storage::KvStore> store,
                   std::unique_ptr<SpanBounds> span_bounds,
                   RegistryClient* registry, const OrganizationCache* cache,
                   TimelineOptions options)
    : store_(std::move(store)),
      span_bounds_(std::move(span_bounds)),
      registry_(registry),
      cache_(cache),
      options_(std::move(options)) {}

Timeline::~Timeline() = default;

absl::StatusOr<bool> Timeline::IsEmpty() {
  std::unique_ptr<storage::Iterator> it =
      store_->NewIterator(kEvents, storage::ReadOptions{});
  it->SeekToFirst();
  PRESENCE_RETURN_IF_ERROR(it->status());
  return !it->Valid();
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
                              storage::WriteBatch* batch) {
  *event->mutable_create_time() = now;
  *event->mutable_update_time() = now;
  event->set_created_by(principal);
  event->set_updated_by(principal);
  event->set_etag(NewEtag());
  const std::string id(absl::StripPrefix(event->name(), "events/"));
  batch->ExpectAbsent(kEvents, id);
  batch->Put(kEvents, id, event->SerializeAsString());
  IndexEntries(*event, /*remove=*/false, batch);
}

void Timeline::IndexEntries(const Event& event, bool remove,
                            storage::WriteBatch* batch) {
  AddIndexEntries(event, remove, span_bounds_.get(), batch);
}

absl::Status Timeline::CheckOrganization(const std::string& name,
                                         const std::string& field,
                                         const CallContext& call) {
  // While the cache follows the registry live it answers; a miss (say, an
  // organization created a moment ago) asks the registry.
  if (cache_ != nullptr && cache_->live()) {
    if (std::optional<Organization> cached = cache_->Get(name)) {
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

absl::StatusOr<Event> Timeline::CreateEvent(const v1::CreateEventRequest& request,
                                            const CallContext& call) {
  return Create(request, call, /*check_registry=*/true);
}

absl::StatusOr<Event> Timeline::ImportEvent(const Event& event) {
  v1::CreateEventRequest request;
  request.set_event_id(std::string(absl::StripPrefix(event.name(), "events/")));
  *request.mutable_event() = event;
  CallContext call;
  call.principal = "seed";
  return Create(request, call, /*check_registry=*/false);
}

absl::StatusOr<Event> Timeline::Create(const v1::CreateEventRequest& request,
                                       const CallContext& call,
                                       bool check_registry) {
  const std::string& id = request.event_id();
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request, "", Nested::kSkip));
  PRESENCE_RETURN_IF_ERROR(ValidateResourceId(id, "event_id"));
  PRESENCE_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  Event event = NewEvent(request.event(), id);
  PRESENCE_RETURN_IF_ERROR(ValidateEvent(event));

  std::vector<absl::string_view> keys = {id};
  const std::string request_key = absl::StrCat("r/", request.request_id());
  if (!request.request_id().empty()) keys.push_back(request_key);
  KeyLocks::Guard guard = locks_.LockAll(keys);

  if (!request.request_id().empty()) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                              store_->Get(kMeta, request_key));
    if (stored) {
      internal::StoredRequest previous;
      if (!previous.ParseFromString(*stored)) {
        return absl::DataLossError("unreadable request record");
      }
      if (previous.event_id() != id) {
        return RequestIdReusedError(request.request_id(),
                                    ResourceName(kCollection, previous.event_id()));
      }
      return previous.result();
    }
  }
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> existing, ReadRaw(id));
  if (existing) {
    return ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(event.name(), " already exists")))
        .Reason(kEventAlreadyExists)
        .Meta("event", event.name())
        .Resource(kEventType, event.name());
  }
  if (check_registry) {
    PRESENCE_RETURN_IF_ERROR(CheckOrganizations(event, call));
  }
  if (request.validate_only()) return event;

  storage::WriteBatch batch;
  AppendCreation(ToProtoTime(options_.now()), call.principal, &event, &batch);
  if (!request.request_id().empty()) {
    internal::StoredRequest record;
    record.set_event_id(id);
    *record.mutable_result() = event;
    batch.Put(kMeta, request_key, record.SerializeAsString());
  }
  PRESENCE_RETURN_IF_ERROR(store_->Write(batch));
  return event;
}

absl::StatusOr<v1::BatchCreateEventsResponse> Timeline::BatchCreateEvents(
    const v1::BatchCreateEventsRequest& request, const CallContext& call) {
  const int n = request.requests_size();
  if (n == 0) {
    return ErrorBuilder(absl::InvalidArgumentError("requests: at least one is required"))
        .Reason(kFieldRequired)
        .Meta("field", "requests");
  }
  if (n > kMaxBatchCreate) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "requests: ", n, " creations, at most ", kMaxBatchCreate, " allowed")))
        .Reason(kLimitExceeded)
        .Meta("field", "requests")
        .Meta("limit", absl::StrCat(kMaxBatchCreate));
  }
  const auto in_request = [](int i, const absl::Status& s) {
    return PrefixFieldPath(s, absl::StrCat("requests[", i, "]."));
  };
  std::vector<Event> events;
  std::set<std::string> ids;
  std::map<std::string, std::string> organizations;  // name -> first field
  for (int i = 0; i < n; ++i) {
    const v1::CreateEventRequest& create = request.requests(i);
    if (absl::Status s = CheckRequiredFields(create, "", Nested::kSkip); !s.ok()) {
      return in_request(i, s);
    }
    if (absl::Status s = ValidateResourceId(create.event_id(), "event_id"); !s.ok()) {
      return in_request(i, s);
    }
    if (!ids.insert(create.event_id()).second) {
      return in_request(i, DuplicateEntryError(
                               "event_id", absl::StrCat("event_id: \"", create.event_id(),
                                                        "\" is created twice in this request")));
    }
    Event event = NewEvent(create.event(), create.event_id());
    if (absl::Status s = ValidateEvent(event); !s.ok()) return in_request(i, s);
    for (int j = 0; j < event.organizations_size(); ++j) {
      organizations.emplace(event.organizations(j),
                            absl::StrCat("requests[", i, "].event.organizations[", j, "]"));
    }
    events.push_back(std::move(event));
  }
  // Each distinct organization is checked once.
  if (options_.check_registry) {
    for (const auto& [name, field] : organizations) {
      PRESENCE_RETURN_IF_ERROR(CheckOrganization(name, field, call));
    }
  }
  const std::vector<absl::string_view> keys(ids.begin(), ids.end());
  KeyLocks::Guard guard = locks_.LockAll(keys);
  for (int i = 0; i < n; ++i) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                              ReadRaw(request.requests(i).event_id()));
    if (existing) {
      return in_request(i, ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                                   "event_id: ", events[i].name(), " already exists")))
                               .Reason(kEventAlreadyExists)
                               .Meta("event", events[i].name())
                               .Resource(kEventType, events[i].name()));
    }
  }
  v1::BatchCreateEventsResponse response;
  if (request.validate_only()) {
    for (Event& e : events) *response.add_events() = std::move(e);
    return response;
  }
  const google::protobuf::Timestamp now = ToProtoTime(options_.now());
  storage::WriteBatch batch;
  for (Event& event : events) AppendCreation(now, call.principal, &event, &batch);
  PRESENCE_RETURN_IF_ERROR(store_->Write(batch));
  for (Event& e : events) *response.add_events() = std::move(e);
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
  KeyLocks::Guard guard = locks_.LockAll({id});
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadRaw(id));
  if (!raw) {
    return EventNotFoundError(request.event().name());
  }
  PRESENCE_ASSIGN_OR_RETURN(const Event current, ParseEvent(*raw, id));
  if (!request.event().etag().empty() &&
      request.event().etag() != current.etag()) {
    return EtagMismatchError("event.etag", request.event().etag(), current.etag(),
                             current.name(), kEventType);
  }
  Event updated = current;
  ApplyUpdateMask(request.event(), mask, &updated);
  // Output-only fields, the name and the etag come from the current version.
  CopyOutputOnlyFields(current, &updated);
  updated.set_name(current.name());
  updated.set_etag(current.etag());
  PRESENCE_RETURN_IF_ERROR(ValidateEvent(updated));
  PRESENCE_RETURN_IF_ERROR(CheckOrganizations(updated, call));
  if (request.validate_only()) return updated;

  *updated.mutable_update_time() = ToProtoTime(options_.now());
  updated.set_updated_by(call.principal);
  updated.set_etag(NewEtag());
  storage::WriteBatch batch;
  batch.ExpectValue(kEvents, id, *raw);
  IndexEntries(current, /*remove=*/true, &batch);
  IndexEntries(updated, /*remove=*/false, &batch);
  batch.Put(kEvents, id, updated.SerializeAsString());
  PRESENCE_RETURN_IF_ERROR(store_->Write(batch));
  return updated;
}

absl::Status Timeline::DeleteEvent(const v1::DeleteEventRequest& request) {
  PRESENCE_ASSIGN_OR_RETURN(
      std::string id, ParseResourceName(request.name(), kCollection, "name"));
  KeyLocks::Guard guard = locks_.LockAll({id});
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadRaw(id));
  if (!raw) return EventNotFoundError(request.name());
  PRESENCE_ASSIGN_OR_RETURN(const Event current, ParseEvent(*raw, id));
  if (!request.etag().empty() && request.etag() != current.etag()) {
    return EtagMismatchError("etag", request.etag(), current.etag(), current.name(),
                             kEventType);
  }
  storage::WriteBatch batch;
  batch.ExpectValue(kEvents, id, *raw);
  IndexEntries(current, /*remove=*/true, &batch);
  batch.Delete(kEvents, id);
  return store_->Write(batch);
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

  std::shared_ptr<const storage::Snapshot> snapshot = store_->GetSnapshot();
  query.span_bounds = span_bounds_.get();  // After the snapshot: see WindowQuery.
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

absl::StatusOr<std::vector<Event>> Timeline::RecentEvents(
    const std::string& organization_id, int64_t until_day, int limit,
    const storage::Snapshot* snapshot) {
  WindowQuery query;
  query.window_lower = std::numeric_limits<int64_t>::min();  // No lower bound.
  query.window_upper = until_day;
  query.descending = true;
  query.organization_ids = {organization_id};
  WindowScan scan(store_.get(), kByStart, kByOrg, snapshot, query);
  std::vector<Event> events;
  while (static_cast<int>(events.size()) < limit) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<WindowScan::Entry> entry, scan.Next());
    if (!entry) break;
    PRESENCE_ASSIGN_OR_RETURN(Event event,
                              ParseEvent(entry->value, EventIdOfSortKey(entry->sort_key)));
    events.push_back(std::move(event));
  }
  return events;
}

absl::StatusOr<Presence> Timeline::GetPresence(
    const v1::GetPresenceRequest& request) {
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request));
  PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(request.date(), "date"));
  std::set<int> kinds;
  for (int i = 0; i < request.kinds_size(); ++i) {
    if (!Organization::Kind_IsValid(request.kinds(i)) ||
        request.kinds(i) == Organization::KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kinds[", i, "]: ", request.kinds(i), " is not a kind"));
    }
    kinds.insert(request.kinds(i));
  }
  if (request.max_events() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_events: ", request.max_events(), " is negative"));
  }
  const int max_events =
      request.max_events() == 0 ? kDefaultMaxEvents
                                : std::min(request.max_events(), kMaxMaxEvents);
  if (!cache_->filled()) {
    return ErrorBuilder(absl::UnavailableError(
                            "organizations have not been loaded from the registry yet; retry"))
        .Reason(kOrganizationsNotLoaded)
        .RetryAfter(absl::Seconds(1));
  }
  const DayInterval date = ToInterval(request.date());
  Presence presence;
  *presence.mutable_date() = request.date();
  presence.set_registry_revision(cache_->revision());
  std::shared_ptr<const storage::Snapshot> snapshot = store_->GetSnapshot();
  for (const Organization& org : cache_->All()) {
    if (org.state() == Organization::DELETED) continue;
    if (kinds.empty() ? !IsPresenceKind(org.kind()) : !kinds.count(org.kind())) {
      continue;
    }
    const std::optional<type::v1::PresenceBasis> basis =
        ActiveBasis(org.has_established() ? &org.established() : nullptr,
                    org.has_ended() ? &org.ended() : nullptr, date);
    if (!basis) continue;

    // Unknown bounds apart, unless asked for among the others.
    Presence::PresentOrganization* present =
        *basis == type::v1::BOUND_UNKNOWN && !request.include_unknown_bounds()
            ? presence.add_unknown_bound_organizations()
            : presence.add_organizations();
    present->set_basis(*basis);
    present->set_organization(org.name());
    present->set_display_name(org.display_name());
    present->set_acronym(org.acronym());
    present->set_parent_organization(org.parent_organization());
    present->set_kind(org.kind());
    for (const auto& leader : org.leaders()) {
      const DayInterval term =
          SpanBetween(leader.has_appointed() ? &leader.appointed() : nullptr,
                      leader.has_left() ? &leader.left() : nullptr);
      if (term.Overlaps(date)) *present->add_leaders() = leader;
    }
    // The latest figure no later than the date, per category and contributor.
    std::map<std::pair<int, std::string>, const Organization::Headcount*> latest;
    for (const auto& figure : org.headcounts()) {
      const DayInterval as_of = ToInterval(figure.as_of());
      if (as_of.lower > date.upper) continue;
      const Organization::Headcount*& best =
          latest[{figure.category(), figure.contributor()}];
      if (best == nullptr || ToInterval(best->as_of()).lower <= as_of.lower) {
        best = &figure;
      }
    }
    for (const auto& [key, figure] : latest) *present->add_headcounts() = *figure;
    PRESENCE_ASSIGN_OR_RETURN(
        std::vector<Event> events,
        RecentEvents(OrgId(org.name()), DayNumber(date.upper), max_events,
                     snapshot.get()));
    for (Event& e : events) *present->add_events() = std::move(e);
  }
  return presence;
}

}  // namespace presence::timeline
