// The timeline's leveled window index against a brute-force scan, on real
// RocksDB (event_index_test) and on a real PostgreSQL cluster the test
// starts (event_index_postgres_test).

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/key_codec.h"
#include "services/timeline/event_index.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_engines.h"

namespace presence::timeline {
namespace {

using ::presence::testing::IsOk;

#ifdef PRESENCE_TEST_POSTGRES
using Engine = testing::PostgresEngine;
#else
using Engine = testing::RocksEngine;
#endif

TEST(SpanLevelTest, BucketsSpansByHalfOctaves) {
  EXPECT_EQ(SpanLevel(0), 0);
  EXPECT_EQ(SpanLevel(1), 1);
  EXPECT_EQ(SpanLevel(2), 3);  // 2 <= s < 2 * sqrt(2).
  EXPECT_EQ(SpanLevel(3), 4);  // 2 * sqrt(2) <= s < 4.
  EXPECT_EQ(SpanLevel(4), 5);
  EXPECT_EQ(SpanLevel(5), 5);
  EXPECT_EQ(SpanLevel(6), 6);
  EXPECT_EQ(SpanLevel(7), 6);
  EXPECT_EQ(SpanLevel(362), 17);  // 256 * sqrt(2) = 362.04.
  EXPECT_EQ(SpanLevel(363), 18);
  EXPECT_EQ(SpanLevel(65535), 32);
  EXPECT_EQ(SpanLevel(65536), 33);
  EXPECT_EQ(SpanLevel(3000000), 33);
  EXPECT_EQ(MaxSpanOfLevel(0), 0);
  EXPECT_EQ(MaxSpanOfLevel(1), 1);
  EXPECT_EQ(MaxSpanOfLevel(3), 2);
  EXPECT_EQ(MaxSpanOfLevel(17), 362);
  EXPECT_EQ(MaxSpanOfLevel(18), 511);
  for (int64_t span = 0; span < 200000; ++span) {
    EXPECT_LE(span, MaxSpanOfLevel(SpanLevel(span))) << span;
    if (SpanLevel(span) > 0) {
      EXPECT_GT(span, MaxSpanOfLevel(SpanLevel(span) - 1)) << span;
    }
  }
}

TEST(SortKeyTest, OrdersByLowerThenUpperThenId) {
  EXPECT_LT(SortKey(-5, 100, "z"), SortKey(3, 3, "a"));
  EXPECT_LT(SortKey(3, 3, "b"), SortKey(3, 4, "a"));
  EXPECT_LT(SortKey(3, 4, "a"), SortKey(3, 4, "b"));
  EXPECT_EQ(EventIdOfSortKey(SortKey(1, 2, "some-id")), "some-id");
  EXPECT_EQ(EventIdOfSortKey("short"), "");
}

TEST(RecentKeyTest, OrdersMostRecentFirstAndSeeksToTheDay) {
  // Random (lower, upper, id), ids drawn so that many are prefixes of one
  // another: recent keys sort in exactly the reverse order of sort keys.
  std::mt19937_64 rng(7);
  std::vector<std::tuple<int64_t, int64_t, std::string>> events;
  for (int i = 0; i < 2000; ++i) {
    const int64_t lower = static_cast<int64_t>(rng() % 50) - 25;
    std::string id(1 + rng() % 3, 'a');
    for (char& c : id) c = "ab-9"[rng() % 4];
    events.emplace_back(lower, lower + static_cast<int64_t>(rng() % 3), id);
  }
  for (size_t i = 1; i < events.size(); ++i) {
    const auto& [l1, u1, id1] = events[i - 1];
    const auto& [l2, u2, id2] = events[i];
    const std::string s1 = SortKey(l1, u1, id1), s2 = SortKey(l2, u2, id2);
    const std::string r1 = RecentKey("org", l1, u1, id1), r2 = RecentKey("org", l2, u2, id2);
    EXPECT_EQ(s1 < s2, r1 > r2) << s1 << " " << s2;
    EXPECT_EQ(s1 == s2, r1 == r2);
    EXPECT_EQ(EventIdOfRecentKey(r1.substr(RecentPrefix("org").size())), id1);
    // From RecentSeekKey(day) on: the events that start by the day.
    for (const int64_t day : {l1 - 1, l1, l1 + 1}) {
      EXPECT_EQ(r1 >= RecentSeekKey("org", day), l1 <= day) << l1 << " " << day;
    }
    EXPECT_EQ(r1.rfind(RecentPrefix("org"), 0), 0u);
    EXPECT_NE(r1.rfind(RecentPrefix("or"), 0), 0u);
  }
  EXPECT_GE(RecentKey("org", std::numeric_limits<int64_t>::max(), 0, "a"),
            RecentSeekKey("org", std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(EventIdOfRecentKey("short"), "");
}

struct TestEvent {
  int64_t lower;
  int64_t upper;
  std::string id;
  std::vector<std::string> orgs;
};

class WindowScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(engine_.Init(), IsOk());
    storage::StoreOptions options;
    options.tables = {"by_start", "by_org", "meta"};
    auto store = engine_.Open(options);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  void Add(const TestEvent& e) {
    ASSERT_THAT(store_->Transact([&](storage::Transaction& txn) -> absl::Status {
      txn.Put(0, StartIndexKey(e.lower, e.upper, e.id), "");
      for (const auto& org : e.orgs) {
        txn.Put(1, OrgIndexKey(org, e.lower, e.upper, e.id), "");
        txn.Put(1, OrgRunKey(org, e.lower, e.upper, e.id), "");
      }
      absl::StatusOr<SpanBounds> bounds = SpanBounds::Load(txn, kMeta);
      if (!bounds.ok()) return bounds.status();
      bounds->Raise(e.upper - e.lower, kMeta, txn);
      bounds_ = *bounds;
      return absl::OkStatus();
    }), IsOk());
    events_.push_back(e);
  }

  // The span bound records in the meta table.
  int BoundRecords() {
    std::unique_ptr<storage::Iterator> it = store_->NewIterator(kMeta, {});
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }

  // Every id the scan yields, optionally resuming page by page.
  std::vector<std::string> Scan(WindowQuery query, size_t page = 0) {
    std::vector<std::string> ids;
    while (true) {
      query.span_bounds = use_bounds_ ? &bounds_ : nullptr;
      WindowScan scan(store_.get(), 0, 1, nullptr, query);
      size_t in_page = 0;
      std::string last;
      while (true) {
        auto key = scan.Next();
        EXPECT_THAT(key, IsOk());
        if (!key.ok() || !key->has_value()) return ids;
        ids.push_back(EventIdOfSortKey((*key)->sort_key));
        last = (*key)->sort_key;
        if (page > 0 && ++in_page == page) break;
      }
      query.after = last;
    }
  }

  std::vector<std::string> BruteForce(const WindowQuery& query) const {
    std::vector<std::tuple<int64_t, int64_t, std::string>> matches;
    for (const TestEvent& e : events_) {
      if (e.upper < query.window_lower || e.lower > query.window_upper) continue;
      if (!query.organization_ids.empty() &&
          std::none_of(e.orgs.begin(), e.orgs.end(), [&](const std::string& o) {
            return std::find(query.organization_ids.begin(),
                             query.organization_ids.end(),
                             o) != query.organization_ids.end();
          })) {
        continue;
      }
      matches.emplace_back(e.lower, e.upper, e.id);
    }
    std::sort(matches.begin(), matches.end());
    if (query.descending) std::reverse(matches.begin(), matches.end());
    std::vector<std::string> ids;
    for (const auto& m : matches) ids.push_back(std::get<2>(m));
    return ids;
  }

  static constexpr storage::TableId kMeta = 2;
  Engine engine_;
  std::unique_ptr<storage::KvStore> store_;
  std::vector<TestEvent> events_;
  SpanBounds bounds_;
  bool use_bounds_ = true;
};

TEST_F(WindowScanTest, FindsPeriodsThatStartLongBeforeTheWindow) {
  // UNMIK's administration, 1999-01-01 .. 2008-06-15, and an instant.
  Add({10592, 14045, "unmik-administration", {"unmik"}});
  Add({14045, 14045, "constitution-in-force", {"unmik", "kosovo"}});
  Add({13880, 13880, "too-early", {"kosovo"}});
  // June 2008.
  const WindowQuery june{14031, 14060, false, "", {}};
  EXPECT_THAT(Scan(june), ::testing::ElementsAre("unmik-administration",
                                                 "constitution-in-force"));
  WindowQuery by_org = june;
  by_org.organization_ids = {"unmik", "kosovo"};
  // Listed under two of the organizations, reported once.
  EXPECT_THAT(Scan(by_org), ::testing::ElementsAre("unmik-administration",
                                                   "constitution-in-force"));
}

TEST_F(WindowScanTest, TiesOrderByUpperThenId) {
  Add({100, 100, "b", {"x"}});
  Add({100, 100, "a", {"x"}});
  Add({100, 200, "a2", {"x"}});
  Add({99, 300, "z", {"x"}});
  const WindowQuery all{-1000000, 1000000, false, "", {}};
  EXPECT_THAT(Scan(all), ::testing::ElementsAre("z", "a", "b", "a2"));
  WindowQuery desc = all;
  desc.descending = true;
  EXPECT_THAT(Scan(desc), ::testing::ElementsAre("a2", "b", "a", "z"));
}

TEST_F(WindowScanTest, MatchesBruteForceOnRandomData) {
  std::mt19937_64 rng(20261127);
  const std::vector<std::string> orgs = {"a", "b", "c", "d"};
  std::uniform_int_distribution<int64_t> start(-3000, 60000);
  // Spans from one day to centuries, so every level is exercised.
  std::uniform_int_distribution<int> level(0, 18);
  for (int i = 0; i < 600; ++i) {
    TestEvent e;
    e.lower = start(rng);
    const int l = level(rng);
    const int64_t max_span = l == 0 ? 0 : (int64_t{1} << l);
    e.upper = e.lower + (max_span == 0 ? 0 : static_cast<int64_t>(rng() % max_span));
    e.id = absl::StrFormat("e%04d", i);
    for (const auto& org : orgs) {
      if (rng() % 3 == 0) e.orgs.push_back(org);
    }
    Add(e);
  }
  std::uniform_int_distribution<int64_t> point(-5000, 70000);
  for (int q = 0; q < 60; ++q) {
    int64_t a = point(rng), b = point(rng);
    if (a > b) std::swap(a, b);
    if (q % 10 == 0) b = a;  // A single day.
    // Every fourth query has no lower bound (the all-spans runs for
    // organizations).
    if (q % 4 == 2) a = std::numeric_limits<int64_t>::min();
    WindowQuery query{a, b, q % 2 == 1, "", {}};
    if (q % 3 == 0) query.organization_ids = {orgs[q % 4]};
    if (q % 5 == 0) query.organization_ids = {"a", "c"};
    const std::vector<std::string> expected = BruteForce(query);
    for (const bool bounds : {true, false}) {
      use_bounds_ = bounds;
      SCOPED_TRACE(absl::StrFormat("window [%d, %d] desc=%d orgs=%d bounds=%d", a, b,
                                   query.descending, query.organization_ids.size(), bounds));
      EXPECT_EQ(Scan(query), expected);
      EXPECT_EQ(Scan(query, /*page=*/7), expected) << "paged";
    }
  }
}

TEST_F(WindowScanTest, SpanBoundsAreTheLongestSpanPerLevelAndPersist) {
  Add({0, 750, "long", {"x"}});  // Level 20 (725..1023).
  auto before = store_->GetSnapshot();
  ASSERT_THAT(before, IsOk());
  Add({0, 1000, "longer", {"x"}});
  Add({0, 800, "shorter", {"x"}});  // Not a raise.
  Add({5, 5, "instant", {"x"}});
  EXPECT_EQ(bounds_.Bound(SpanLevel(1000)), 1000);
  EXPECT_EQ(bounds_.Bound(0), 0);
  EXPECT_EQ(bounds_.Bound(SpanLevel(3)), -1);
  // One record per level used: a raise replaces the level's record.
  EXPECT_EQ(BoundRecords(), 2);
  auto loaded = SpanBounds::Load(store_.get(), kMeta, nullptr);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->Bound(SpanLevel(1000)), 1000);
  EXPECT_EQ(loaded->Bound(SpanLevel(750)), 1000);
  EXPECT_EQ(loaded->Bound(0), 0);
  EXPECT_EQ(loaded->Bound(SpanLevel(3)), -1);
  // A snapshot's bounds are those of its events.
  auto old = SpanBounds::Load(store_.get(), kMeta, before->get());
  ASSERT_THAT(old, IsOk());
  EXPECT_EQ(old->Bound(SpanLevel(1000)), 750);
  EXPECT_EQ(old->Bound(0), -1);
}

TEST_F(WindowScanTest, SeveralRecordsOfALevelCountAsTheLargest) {
  // Layouts before 5 wrote a record per raise.
  storage::WriteBatch batch;
  for (int64_t span : {730, 900, 800}) {
    std::string key = "span_bound/";
    key.push_back(static_cast<char>(SpanLevel(span)));
    AppendInt64(&key, span);
    batch.Put(kMeta, key, "");
  }
  ASSERT_THAT(store_->Write(batch), IsOk());
  auto loaded = SpanBounds::Load(store_.get(), kMeta, nullptr);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->Bound(SpanLevel(900)), 900);
}

TEST_F(WindowScanTest, EventsBeyondTheRecordedBoundAreNotScanned) {
  // The bound is what makes a level's scan start late: an entry written
  // without raising it (which Timeline never does) is out of reach, which
  // shows the bound is used.
  Add({0, 100, "recorded", {"x"}});
  storage::WriteBatch batch;
  batch.Put(0, StartIndexKey(-30, 97, "unrecorded"), "");  // Span 127.
  ASSERT_THAT(store_->Write(batch), IsOk());
  const WindowQuery query{90, 95, false, "", {}};
  EXPECT_THAT(Scan(query), ::testing::ElementsAre("recorded"));
  use_bounds_ = false;
  EXPECT_THAT(Scan(query), ::testing::ElementsAre("unrecorded", "recorded"));
}

}  // namespace
}  // namespace presence::timeline
