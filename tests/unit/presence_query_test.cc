// GetPresence's events, read from the recent table, against an independent
// answer (ListEvents of each organization, descending, until the date: the
// all-spans runs of by_org) through creates, updates that move events in
// time and between organizations, and deletes; and the recent table built
// by the layout upgrade from version 5, exactly once. On real RocksDB, and
// on a real PostgreSQL as presence_query_postgres_test.

#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "tests/testing/fake_registry_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_engines.h"

namespace presence::timeline {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::timeline::v1::Event;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

#ifdef PRESENCE_TEST_POSTGRES
using Engine = testing::PostgresEngine;
#else
using Engine = testing::RocksEngine;
#endif

constexpr const char* kOrgs[] = {"a", "b", "c"};

type::v1::PartialDate Day(int y, int m, int d) {
  type::v1::PartialDate date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

Organization MakeOrg(const std::string& id, bool known_start) {
  Organization org;
  org.set_name("organizations/" + id);
  org.set_display_name("Organization " + id);
  org.set_kind(Organization::KIND_FIELD_MISSION);
  org.set_state(Organization::ACTIVE);
  org.set_revision(1);
  if (known_start) *org.mutable_established() = Day(1900, 1, 1);
  return org;
}

std::vector<std::string> Names(const google::protobuf::RepeatedPtrField<Event>& events) {
  std::vector<std::string> names;
  for (const Event& e : events) names.push_back(e.name());
  return names;
}

class PresenceQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(engine_.Init(), IsOk());
    // "a" and "b" with a known start, "c" with an unknown one (reported
    // apart): both lists of the answer are checked.
    cache_.Replace({MakeOrg("a", true), MakeOrg("b", true), MakeOrg("c", false)}, 1);
  }

  storage::StoreOptions Options(int64_t version) {
    storage::StoreOptions options;
    options.tables = {std::begin(kTableNames), std::end(kTableNames)};
    options.schema_version = version;
    options.upgrade = [this](storage::KvStore* store, int64_t from) {
      ++upgrades_;
      return UpgradeStore(store, from);
    };
    return options;
  }

  void Open(int64_t version = kSchemaVersion) {
    timeline_.reset();
    auto store = engine_.Open(Options(version));
    ASSERT_THAT(store, IsOk());
    TimelineOptions options;
    options.check_registry = false;
    auto timeline = Timeline::Open(*std::move(store), &registry_, &cache_, options);
    ASSERT_THAT(timeline, IsOk());
    timeline_ = *std::move(timeline);
  }

  // A random event: a day or a period of up to ~40 years between 1950 and
  // 2000 (many on the same days, so ties order by upper and id), of one or
  // two organizations.
  Event RandomEvent() {
    Event e;
    e.set_title("An event");
    e.set_kind(Event::OTHER);
    std::uniform_int_distribution<int> year(1950, 2000), month(1, 12), day(1, 2);
    *e.mutable_start() = Day(year(rng_), month(rng_), day(rng_));
    if (rng_() % 3 == 0) {
      *e.mutable_end() = Day(e.start().year() + static_cast<int>(rng_() % 40), 12, 31);
    }
    const int first = static_cast<int>(rng_() % 3);
    e.add_organizations(absl::StrCat("organizations/", kOrgs[first]));
    if (rng_() % 4 == 0) {
      e.add_organizations(absl::StrCat("organizations/", kOrgs[(first + 1) % 3]));
    }
    return e;
  }

  void Create(const std::string& id) {
    v1::CreateEventRequest request;
    request.set_event_id(id);
    *request.mutable_event() = RandomEvent();
    ASSERT_THAT(timeline_->CreateEvent(request, CallContext{}), IsOk());
    ids_.push_back(id);
  }

  // Moves an event in time or between organizations.
  void Update(const std::string& id) {
    v1::UpdateEventRequest request;
    *request.mutable_event() = RandomEvent();
    request.mutable_event()->set_name("events/" + id);
    for (const char* path : {"start", "end", "organizations"}) {
      request.mutable_update_mask()->add_paths(path);
    }
    ASSERT_THAT(timeline_->UpdateEvent(request, CallContext{}), IsOk());
  }

  void Delete(size_t index) {
    v1::DeleteEventRequest request;
    request.set_name("events/" + ids_[index]);
    ASSERT_THAT(timeline_->DeleteEvent(request), IsOk());
    ids_.erase(ids_.begin() + static_cast<std::ptrdiff_t>(index));
  }

  // GetPresence on `date` with `max_events` (0: the default of 10) matches,
  // organization by organization, the descending history until the date.
  void ExpectMatchesHistories(const type::v1::PartialDate& date, int max_events) {
    v1::GetPresenceRequest request;
    *request.mutable_date() = date;
    request.set_max_events(max_events);
    absl::StatusOr<v1::Presence> presence = timeline_->GetPresence(request);
    ASSERT_THAT(presence, IsOk());
    std::vector<const v1::Presence::PresentOrganization*> all;
    for (const auto& p : presence->organizations()) all.push_back(&p);
    for (const auto& p : presence->unknown_bound_organizations()) all.push_back(&p);
    ASSERT_EQ(all.size(), 3u);
    for (const v1::Presence::PresentOrganization* present : all) {
      v1::ListEventsRequest history;
      history.add_organizations(present->organization());
      *history.mutable_until() = date;
      history.set_descending(true);
      history.set_page_size(max_events == 0 ? 10 : max_events);
      absl::StatusOr<v1::ListEventsResponse> listed = timeline_->ListEvents(history);
      ASSERT_THAT(listed, IsOk());
      ASSERT_EQ(Names(present->events()), Names(listed->events()))
          << present->organization() << " on " << date.ShortDebugString();
      for (int i = 0; i < listed->events_size(); ++i) {
        EXPECT_EQ(present->events(i).SerializeAsString(),
                  listed->events(i).SerializeAsString());
      }
    }
  }

  void ExpectAllMatch() {
    for (const type::v1::PartialDate& date :
         {Day(1949, 1, 1), Day(1950, 1, 1), Day(1960, 6, 2), Day(1975, 3, 1), Day(2001, 1, 1)}) {
      for (int max_events : {0, 1, 3, 100}) {
        ExpectMatchesHistories(date, max_events);
        if (HasFatalFailure()) return;
      }
    }
  }

  Engine engine_;
  testing::FakeRegistryClient registry_;
  OrganizationCache cache_;
  std::unique_ptr<Timeline> timeline_;
  std::mt19937_64 rng_{15};
  std::vector<std::string> ids_;
  int upgrades_ = 0;
};

TEST_F(PresenceQueryTest, EventsFollowCreatesUpdatesAndDeletes) {
  Open();
  for (int i = 0; i < 60; ++i) ASSERT_NO_FATAL_FAILURE(Create(absl::StrFormat("e%03d", i)));
  // Ids that are prefixes of one another on one day: "ab" comes after "abc"
  // most recent first, as in the history.
  for (const char* id : {"ab", "abc", "abd", "a"}) {
    v1::CreateEventRequest request;
    request.set_event_id(id);
    request.mutable_event()->set_title("Same day");
    request.mutable_event()->set_kind(Event::OTHER);
    *request.mutable_event()->mutable_start() = Day(2000, 12, 31);
    request.mutable_event()->add_organizations("organizations/a");
    ASSERT_THAT(timeline_->CreateEvent(request, CallContext{}), IsOk());
    ids_.push_back(id);
  }
  ASSERT_NO_FATAL_FAILURE(ExpectAllMatch());
  v1::GetPresenceRequest request;
  *request.mutable_date() = Day(2001, 1, 1);
  request.set_max_events(4);
  absl::StatusOr<v1::Presence> presence = timeline_->GetPresence(request);
  ASSERT_THAT(presence, IsOk());
  ASSERT_EQ(presence->organizations(0).organization(), "organizations/a");
  EXPECT_THAT(Names(presence->organizations(0).events()),
              ElementsAre("events/abd", "events/abc", "events/ab", "events/a"));

  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 15; ++i) ASSERT_NO_FATAL_FAILURE(Update(ids_[rng_() % ids_.size()]));
    for (int i = 0; i < 8; ++i) ASSERT_NO_FATAL_FAILURE(Delete(rng_() % ids_.size()));
    ASSERT_NO_FATAL_FAILURE(ExpectAllMatch());
  }
  while (!ids_.empty()) ASSERT_NO_FATAL_FAILURE(Delete(0));
  presence = timeline_->GetPresence(request);
  ASSERT_THAT(presence, IsOk());
  for (const auto& present : presence->organizations()) EXPECT_THAT(present.events(), IsEmpty());
  for (const auto& present : presence->unknown_bound_organizations()) {
    EXPECT_THAT(present.events(), IsEmpty());
  }
}

// The stored events are copied into the answer unparsed, but checked: one
// that is not a well-formed message is DATA_LOSS naming it.
TEST_F(PresenceQueryTest, AnUnreadableStoredEventIsDataLossNamingIt) {
  Open();
  Create("e1");
  storage::KvStore* store = timeline_->store();
  std::string key;
  {
    auto snapshot = store->GetSnapshot();
    ASSERT_THAT(snapshot, IsOk());
    storage::ReadOptions options;
    options.snapshot = snapshot->get();
    auto it = store->NewIterator(kRecent, options);
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    key = std::string(it->key());
  }
  ASSERT_THAT(store->Transact(
                  [&](storage::Transaction& txn) {
                    txn.Put(kRecent, key, "\x0a\x7f");  // A field longer than its message.
                    return absl::OkStatus();
                  },
                  storage::TransactOptions()),
              IsOk());
  v1::GetPresenceRequest request;
  *request.mutable_date() = Day(2001, 1, 1);
  EXPECT_THAT(timeline_->GetPresence(request),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unreadable event at e1")));
  EXPECT_THAT(timeline_->GetPresenceBytes(request),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unreadable event at e1")));
}

// Without a registry to ask, a create looks for its request id and its
// event id only inside its transaction: a retry still gets the first
// answer, a taken id is still ALREADY_EXISTS, a request id reused for
// another event still INVALID_ARGUMENT.
TEST_F(PresenceQueryTest, CreatesAnswerRetriesAndTakenIdsInsideTheirTransaction) {
  ASSERT_NO_FATAL_FAILURE(Open());
  v1::CreateEventRequest request;
  request.set_event_id("x");
  request.set_request_id("2f0c9b1e-4a57-4d38-9c5e-6b7a8d9e0f11");
  *request.mutable_event() = RandomEvent();
  const absl::StatusOr<Event> first = timeline_->CreateEvent(request, CallContext{});
  ASSERT_THAT(first, IsOk());
  const absl::StatusOr<Event> retry = timeline_->CreateEvent(request, CallContext{});
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->SerializeAsString(), first->SerializeAsString());

  v1::CreateEventRequest taken = request;
  taken.set_request_id("7a1d2c3b-5e6f-4a8b-9c0d-1e2f3a4b5c6d");
  EXPECT_THAT(timeline_->CreateEvent(taken, CallContext{}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("events/x")));
  taken.clear_request_id();
  EXPECT_THAT(timeline_->CreateEvent(taken, CallContext{}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("events/x")));

  v1::CreateEventRequest reused = request;
  reused.set_event_id("y");
  EXPECT_THAT(timeline_->CreateEvent(reused, CallContext{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(timeline_->GetEvent("events/y"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(OrganizationCacheViewTest, AViewStaysAsItWasAndTheNextOneShowsTheChange) {
  OrganizationCache cache;
  EXPECT_EQ(cache.Current(), nullptr);
  cache.Replace({MakeOrg("a", true), MakeOrg("b", true)}, 3);
  const std::shared_ptr<const OrganizationCache::View> before = cache.Current();
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(cache.Current(), before);  // Unchanged: the same view, no copy.
  registry::v1::OrganizationChange change;
  *change.mutable_organization() = MakeOrg("a", false);
  change.mutable_organization()->set_revision(4);
  change.set_revision(4);
  cache.Apply(change);
  const std::shared_ptr<const OrganizationCache::View> after = cache.Current();
  EXPECT_EQ(before->revision, 3);
  ASSERT_EQ(before->organizations.size(), 2u);
  EXPECT_TRUE(before->organizations[0]->has_established());
  EXPECT_EQ(after->revision, 4);
  ASSERT_EQ(after->organizations.size(), 2u);
  EXPECT_EQ(after->organizations[0]->name(), "organizations/a");
  EXPECT_FALSE(after->organizations[0]->has_established());
  EXPECT_EQ(after->organizations[1], before->organizations[1]);  // Shared.

  // Get shares the cached organization too: a change replaces it, an
  // organization a holder kept stays as it was.
  const std::shared_ptr<const Organization> b = cache.Get("organizations/b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b, after->organizations[1]);
  const std::shared_ptr<const Organization> a = cache.Get("organizations/a");
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->has_established());
  EXPECT_TRUE(before->organizations[0]->has_established());
  EXPECT_EQ(cache.Get("organizations/nope"), nullptr);
}

TEST_F(PresenceQueryTest, UpgradeFromVersion5BuildsTheRecentTableOnce) {
  // A version-5 store: the records and by_org as now, no recent table
  // (written by this binary, then emptied of it).
  Open(5);
  for (int i = 0; i < 40; ++i) ASSERT_NO_FATAL_FAILURE(Create(absl::StrFormat("e%03d", i)));
  ASSERT_THAT(timeline_->store()->Transact([](storage::Transaction& txn) {
    txn.DeleteRange(kRecent, "", std::string(1, '\xff'));
    return absl::OkStatus();
  }),
              IsOk());
  v1::GetPresenceRequest request;
  *request.mutable_date() = Day(2001, 1, 1);
  absl::StatusOr<v1::Presence> presence = timeline_->GetPresence(request);
  ASSERT_THAT(presence, IsOk());
  ASSERT_EQ(presence->organizations_size(), 2);
  EXPECT_THAT(presence->organizations(0).events(), IsEmpty());

  Open();
  EXPECT_EQ(upgrades_, 1);
  ASSERT_NO_FATAL_FAILURE(ExpectAllMatch());
  presence = timeline_->GetPresence(request);
  ASSERT_THAT(presence, IsOk());
  EXPECT_EQ(presence->organizations(0).events_size(), 10);

  // Stamped: opened again, nothing is upgraded; an older binary is refused.
  Open();
  EXPECT_EQ(upgrades_, 1);
  timeline_.reset();
  EXPECT_THAT(engine_.Open(Options(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

}  // namespace
}  // namespace presence::timeline
