// The timeline's domain entry points, fed with a sequence of requests built
// or parsed from the fuzz input, over a real RocksDB in a fresh temporary
// directory per input and an in-memory registry (live: kfor, nato; deleted:
// gone). After every request:
//   - every error is a documented code with a bounded message;
//   - an accepted write is readable with its acknowledged content and found
//     by a window query over its own span; a rejected or validate_only one
//     left nothing behind; a deleted event is gone from reads and windows;
//   - a retried request_id returns the first result;
//   - at the end a paged listing returns every event exactly once, in the
//     documented order, and the descending listing is its reverse.

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "fuzz/fuzz_store.h"
#include "google/protobuf/util/message_differencer.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/partial_date.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "tests/testing/fake_registry_client.h"

namespace {

namespace v1 = ::presence::timeline::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::presence::fuzz::CheckBounded;
using ::presence::fuzz::Fail;
using ::presence::type::v1::PartialDate;

constexpr const char* kIds[] = {"e1", "e2", "e3", "kfor-deploys"};
constexpr const char* kOrgs[] = {"organizations/kfor", "organizations/nato", "organizations/gone",
                                 "organizations/unknown", "kfor", ""};
constexpr const char* kPaths[] = {"title", "start", "end", "organizations", "kind", "*", "",
                                  "name", "etag", "sources", "bogus"};
constexpr const char* kRequestIds[] = {"", "123e4567-e89b-42d3-a456-426614174000",
                                       "00000000-0000-4000-8000-000000000001", "x"};
constexpr const char* kTitles[] = {"", " ", "Deployed", "KFOR deploys"};

template <size_t N>
std::string Pick(FuzzedDataProvider& p, const char* const (&pool)[N]) {
  if (p.ConsumeIntegralInRange(0, 15) == 0) {
    // Any bytes, as valid UTF-8: requests come parsed by protobuf, which
    // refuses invalid UTF-8 in strings (the domain stores what it is given;
    // a record holding invalid UTF-8 would not parse back).
    std::string s = p.ConsumeRandomLengthString(12);
    for (char& c : s) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    return s;
  }
  return pool[p.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

PartialDate Date(FuzzedDataProvider& p) {
  PartialDate d;
  if (p.ConsumeIntegralInRange(0, 5) == 0) return d;
  d.set_year(p.ConsumeIntegralInRange(1990, 2012) - (p.ConsumeIntegralInRange(0, 30) == 0 ? 3000 : 0));
  d.set_month(p.ConsumeIntegralInRange(0, 12));
  if (d.month() != 0 && p.ConsumeBool()) d.set_day(p.ConsumeIntegralInRange(1, 31));
  if (d.day() == 0) d.set_part(static_cast<PartialDate::Part>(p.ConsumeIntegralInRange(0, 3)));
  d.set_approximate(p.ConsumeBool());
  return d;
}

v1::Event MakeEvent(FuzzedDataProvider& p) {
  v1::Event e;
  if (p.ConsumeIntegralInRange(0, 5) == 0) {
    if (!e.ParseFromString(p.ConsumeRandomLengthString(256))) e.Clear();
    return e;
  }
  e.set_title(Pick(p, kTitles));
  e.set_kind(static_cast<v1::Event::Kind>(p.ConsumeIntegralInRange(0, 12)));
  *e.mutable_start() = Date(p);
  if (p.ConsumeBool()) *e.mutable_end() = Date(p);
  for (int i = p.ConsumeIntegralInRange(0, 2); i > 0; --i) e.add_organizations(Pick(p, kOrgs));
  return e;
}

bool Documented(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

// The documented order of ListEvents: lower(start), upper(end or start), id.
std::tuple<int64_t, int64_t, std::string> SortKey(const v1::Event& e) {
  const presence::DayInterval start = presence::ToInterval(e.start());
  const presence::DayInterval end =
      presence::IsSet(e.has_end(), e.end()) ? presence::ToInterval(e.end()) : start;
  return {presence::DayNumber(start.lower), presence::DayNumber(end.upper), e.name()};
}

class Harness {
 public:
  explicit Harness(std::unique_ptr<presence::timeline::Timeline> timeline)
      : timeline_(std::move(timeline)) {}

  void Check(const absl::Status& status, absl::string_view what) {
    if (!Documented(status.code())) Fail("undocumented code", absl::StrCat(what, ": ", status.ToString()));
    CheckBounded(status);
  }

  std::optional<v1::Event> Read(const std::string& id) {
    absl::StatusOr<v1::Event> got = timeline_->GetEvent("events/" + id);
    if (!got.ok()) {
      if (got.status().code() == absl::StatusCode::kNotFound ||
          got.status().code() == absl::StatusCode::kInvalidArgument) {
        return std::nullopt;
      }
      Fail("Get failed", got.status().ToString());
    }
    return *got;
  }

  // Whether a window query over the event's own span finds it.
  bool InWindow(const v1::Event& event) {
    v1::ListEventsRequest list;
    *list.mutable_since() = event.start();
    *list.mutable_until() =
        presence::IsSet(event.has_end(), event.end()) ? event.end() : event.start();
    list.add_organizations(event.organizations(0));
    list.set_page_size(1000);
    absl::StatusOr<v1::ListEventsResponse> listed = timeline_->ListEvents(list);
    if (!listed.ok()) Fail("window query failed", listed.status().ToString());
    for (const v1::Event& e : listed->events()) {
      if (e.name() == event.name()) return MessageDifferencer::Equals(e, event);
    }
    return false;
  }

  void ExpectModel(const std::string& id) {
    std::optional<v1::Event> now = Read(id);
    auto it = model_.find(id);
    if (it == model_.end()) {
      if (now) Fail("an unacknowledged event exists", id);
      return;
    }
    if (!now || !MessageDifferencer::Equals(*now, it->second)) {
      Fail("stored event differs from the acknowledged one", id);
    }
    PRESENCE_FUZZ_CHECK(InWindow(it->second), "acknowledged event not in its window: " + id);
  }

  void Acknowledge(const v1::Event& event) {
    const std::string id = event.name().substr(std::string("events/").size());
    model_[id] = event;
    ExpectModel(id);
  }

  void Run(FuzzedDataProvider& p) {
    for (int step = 0; step < 24 && p.remaining_bytes() > 0; ++step) {
      switch (p.ConsumeIntegralInRange(0, 7)) {
        case 0:
        case 1:
          Create(p);
          break;
        case 2:
          BatchCreate(p);
          break;
        case 3:
        case 4:
          Update(p);
          break;
        case 5:
          Delete(p);
          break;
        case 6: {
          v1::ListEventsRequest r;
          if (!r.ParseFromString(p.ConsumeRandomLengthString(96))) r.Clear();
          Check(timeline_->ListEvents(r).status(), "List");
          break;
        }
        default: {
          v1::GetPresenceRequest r;
          *r.mutable_date() = Date(p);
          r.set_max_events(p.ConsumeIntegralInRange(-1, 3));
          absl::StatusOr<v1::Presence> presence = timeline_->GetPresence(r);
          Check(presence.status(), "GetPresence");
          break;
        }
      }
    }
    CheckListing();
  }

 private:
  void Create(FuzzedDataProvider& p) {
    v1::CreateEventRequest r;
    r.set_event_id(Pick(p, kIds));
    if (p.ConsumeIntegralInRange(0, 7) != 0) *r.mutable_event() = MakeEvent(p);
    r.set_request_id(Pick(p, kRequestIds));
    r.set_validate_only(p.ConsumeIntegralInRange(0, 5) == 0);
    absl::StatusOr<v1::Event> result = timeline_->CreateEvent(r, {});
    Check(result.status(), "Create");
    if (result.ok() && !r.validate_only()) {
      auto first = requests_.find(r.request_id());
      if (first != requests_.end()) {
        PRESENCE_FUZZ_CHECK(MessageDifferencer::Equals(*result, first->second),
                            "a retried request_id did not return the first result");
        ExpectModel(r.event_id());
        return;
      }
      if (!r.request_id().empty()) requests_[r.request_id()] = *result;
      Acknowledge(*result);
      return;
    }
    ExpectModel(r.event_id());
  }

  void BatchCreate(FuzzedDataProvider& p) {
    v1::BatchCreateEventsRequest r;
    for (int i = p.ConsumeIntegralInRange(0, 3); i > 0; --i) {
      v1::CreateEventRequest* c = r.add_requests();
      c->set_event_id(Pick(p, kIds));
      *c->mutable_event() = MakeEvent(p);
    }
    r.set_validate_only(p.ConsumeIntegralInRange(0, 5) == 0);
    absl::StatusOr<v1::BatchCreateEventsResponse> result = timeline_->BatchCreateEvents(r, {});
    Check(result.status(), "BatchCreate");
    if (result.ok() && !r.validate_only()) {
      PRESENCE_FUZZ_CHECK(result->events_size() == r.requests_size(), "batch size");
      for (const v1::Event& e : result->events()) Acknowledge(e);
      return;
    }
    for (const auto& c : r.requests()) ExpectModel(c.event_id());
  }

  void Update(FuzzedDataProvider& p) {
    v1::UpdateEventRequest r;
    const std::string id = Pick(p, kIds);
    *r.mutable_event() = MakeEvent(p);
    r.mutable_event()->set_name("events/" + id);
    if (p.ConsumeBool()) {
      auto it = model_.find(id);
      r.mutable_event()->set_etag(it != model_.end() && p.ConsumeBool() ? it->second.etag()
                                                                        : "\"0\"");
    }
    if (p.ConsumeBool()) {
      r.mutable_update_mask();
      for (int i = p.ConsumeIntegralInRange(0, 3); i > 0; --i) {
        r.mutable_update_mask()->add_paths(Pick(p, kPaths));
      }
    }
    r.set_validate_only(p.ConsumeIntegralInRange(0, 5) == 0);
    absl::StatusOr<v1::Event> result = timeline_->UpdateEvent(r, {});
    Check(result.status(), "Update");
    if (result.ok() && !r.validate_only()) {
      Acknowledge(*result);
      return;
    }
    ExpectModel(id);
  }

  void Delete(FuzzedDataProvider& p) {
    v1::DeleteEventRequest r;
    const std::string id = Pick(p, kIds);
    r.set_name("events/" + id);
    if (p.ConsumeBool()) {
      auto it = model_.find(id);
      r.set_etag(it != model_.end() && p.ConsumeBool() ? it->second.etag() : "\"0\"");
    }
    const absl::Status deleted = timeline_->DeleteEvent(r);
    Check(deleted, "Delete");
    if (deleted.ok()) {
      auto it = model_.find(id);
      PRESENCE_FUZZ_CHECK(it != model_.end(), "deleted an unacknowledged event");
      const v1::Event gone = it->second;
      model_.erase(it);
      ExpectModel(id);
      PRESENCE_FUZZ_CHECK(!InWindow(gone), "a deleted event is still in its window");
      return;
    }
    ExpectModel(id);
  }

  std::vector<v1::Event> ListAll(bool descending) {
    v1::ListEventsRequest list;
    list.set_page_size(2);
    list.set_descending(descending);
    std::vector<v1::Event> out;
    for (int pages = 0;; ++pages) {
      PRESENCE_FUZZ_CHECK(pages < 1000, "paging does not end");
      absl::StatusOr<v1::ListEventsResponse> page = timeline_->ListEvents(list);
      if (!page.ok()) Fail("List page failed", page.status().ToString());
      for (const v1::Event& e : page->events()) out.push_back(e);
      if (page->next_page_token().empty()) break;
      list.set_page_token(page->next_page_token());
    }
    return out;
  }

  void CheckListing() {
    const std::vector<v1::Event> ascending = ListAll(false);
    PRESENCE_FUZZ_CHECK(ascending.size() == model_.size(),
                        absl::StrCat(ascending.size(), " listed, ", model_.size(), " acknowledged"));
    for (size_t i = 0; i < ascending.size(); ++i) {
      const std::string id = ascending[i].name().substr(std::string("events/").size());
      PRESENCE_FUZZ_CHECK(model_.count(id) && MessageDifferencer::Equals(ascending[i], model_[id]),
                          id);
      if (i > 0) PRESENCE_FUZZ_CHECK(SortKey(ascending[i - 1]) < SortKey(ascending[i]), "order");
    }
    const std::vector<v1::Event> descending = ListAll(true);
    PRESENCE_FUZZ_CHECK(descending.size() == ascending.size(), "descending size");
    for (size_t i = 0; i < descending.size(); ++i) {
      PRESENCE_FUZZ_CHECK(descending[i].name() == ascending[ascending.size() - 1 - i].name(),
                          "descending is not the reverse");
    }
  }

  std::unique_ptr<presence::timeline::Timeline> timeline_;
  std::map<std::string, v1::Event> model_;
  std::map<std::string, v1::Event> requests_;
};

presence::registry::v1::Organization Org(const std::string& id, bool deleted) {
  presence::registry::v1::Organization org;
  org.set_name("organizations/" + id);
  org.set_display_name(id);
  org.set_kind(presence::registry::v1::Organization::KIND_MILITARY_MISSION);
  org.set_state(deleted ? presence::registry::v1::Organization::DELETED
                        : presence::registry::v1::Organization::ACTIVE);
  org.set_revision(1);
  return org;
}

}  // namespace

// Arbitrary bytes parsed as messages make libprotobuf log every invalid
// UTF-8 string it meets; the parse result is what is checked here
// (PRESENCE_FUZZ_VERBOSE=1 keeps them, to debug a finding).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("PRESENCE_FUZZ_VERBOSE") == nullptr) google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static presence::testing::FakeRegistryClient* const registry = [] {
    auto* r = new presence::testing::FakeRegistryClient();
    for (const char* id : {"kfor", "nato"}) r->Put(Org(id, false));
    r->Put(Org("gone", true));
    return r;
  }();
  static presence::timeline::OrganizationCache* const cache = [] {
    auto* c = new presence::timeline::OrganizationCache();
    c->Replace({Org("kfor", false), Org("nato", false), Org("gone", true)}, 1);
    return c;
  }();
  presence::fuzz::FreshStore fresh(presence::timeline::kTableNames,
                                   presence::timeline::kSchemaVersion);
  presence::timeline::TimelineOptions options;
  options.now = [] { return absl::FromUnixSeconds(1700000000); };
  absl::StatusOr<std::unique_ptr<presence::timeline::Timeline>> timeline =
      presence::timeline::Timeline::Open(fresh.Take(), registry, cache, options);
  if (!timeline.ok()) Fail("Open failed", timeline.status().ToString());
  FuzzedDataProvider provider(data, size);
  Harness harness(*std::move(timeline));
  harness.Run(provider);
  return 0;
}
