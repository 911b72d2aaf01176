// A timeline store written by schema version 2 (leveled covering indexes
// only) is upgraded in place to version 3 (all-spans runs and span bounds)
// at open, on real RocksDB.

#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/key_codec.h"
#include "services/common/partial_date.h"
#include "services/common/storage/rocksdb_kv_store.h"
#include "services/timeline/event_index.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/timeline.h"
#include "tests/testing/fake_registry_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace presence::timeline {
namespace {

using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::timeline::v1::Event;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

storage::RocksDbOptions Options(const std::string& path, int64_t version) {
  storage::RocksDbOptions options;
  options.path = path;
  options.tables = {std::begin(kTableNames), std::end(kTableNames)};
  options.schema_version = version;
  if (version == kSchemaVersion) {
    options.upgrade = [](storage::KvStore* store, int64_t from) {
      return UpgradeStore(store, from);
    };
  }
  return options;
}

type::v1::PartialDate Day(int y, int m, int d) {
  type::v1::PartialDate date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

// Version 2's level: powers of two, 0 for one day, 17 above 2^16 - 1 days.
int Version2Level(int64_t span) {
  int level = 0;
  while (span > 0 && level < 17) {
    span >>= 1;
    ++level;
  }
  return span > 0 ? 17 : level;
}

// A version 2 index key: prefix, level byte, I64(lower), I64(upper), id.
std::string Version2Key(const std::string& prefix, int64_t lower, int64_t upper,
                        const std::string& id) {
  std::string key = prefix;
  key.push_back(static_cast<char>(Version2Level(upper - lower)));
  AppendInt64(&key, lower);
  AppendInt64(&key, upper);
  return key + id;
}

// Writes `event` as version 2 did: the record and the leveled entries.
void WriteVersion2(storage::KvStore& store, const std::string& id, Event event) {
  event.set_name("events/" + id);
  const int64_t lower = DayNumber(ToInterval(event.start()).lower);
  const int64_t upper =
      DayNumber(ToInterval(event.has_end() ? event.end() : event.start()).upper);
  const std::string value = event.SerializeAsString();
  storage::WriteBatch batch;
  batch.Put(kEvents, id, value);
  batch.Put(kByStart, Version2Key("", lower, upper, id), value);
  for (const std::string& org : event.organizations()) {
    batch.Put(kByOrg,
              Version2Key(org.substr(org.find('/') + 1) + std::string(1, '\0'), lower,
                          upper, id),
              value);
  }
  ASSERT_THAT(store.Write(batch), IsOk());
}

// The number of entries in `table`.
int CountEntries(storage::KvStore& store, storage::TableId table) {
  std::unique_ptr<storage::Iterator> it = store.NewIterator(table, storage::ReadOptions{});
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  return n;
}

std::vector<std::string> Names(const v1::ListEventsResponse& response) {
  std::vector<std::string> names;
  for (const Event& e : response.events()) names.push_back(e.name());
  return names;
}

// Versions 2 and 3 (which added runs and span bounds, with octave levels)
// are upgraded alike: the indexes and bounds are rebuilt from the records.
class TimelineUpgradeTest : public ::testing::TestWithParam<int64_t> {};

INSTANTIATE_TEST_SUITE_P(FromVersion, TimelineUpgradeTest, ::testing::Values(2, 3, 4));

TEST_P(TimelineUpgradeTest, OldStoreIsUpgradedAndAnswersEveryQuery) {
  testing::TempDir dir;
  const std::string path = dir.Sub("db");
  {
    auto store = storage::OpenRocksDbKvStore(Options(path, GetParam()));
    ASSERT_THAT(store, IsOk());
    if (GetParam() == 3) {
      // A version-3 span bound at an octave level: left in place it would
      // not match its half-octave level, and the timeline would refuse to
      // open.
      storage::WriteBatch batch;
      std::string key = "span_bound/";
      key.push_back(static_cast<char>(12));
      AppendInt64(&key, 3293);
      batch.Put(kMeta, key, "");
      ASSERT_THAT((*store)->Write(batch), IsOk());
    }
    Event administration;
    administration.set_title("UNMIK administers Kosovo");
    *administration.mutable_start() = Day(1999, 6, 10);
    *administration.mutable_end() = Day(2008, 6, 15);
    administration.add_organizations("organizations/unmik");
    WriteVersion2(**store, "unmik-administration", administration);
    Event constitution;
    constitution.set_title("The constitution enters into force");
    *constitution.mutable_start() = Day(2008, 6, 15);
    constitution.add_organizations("organizations/unmik");
    constitution.add_organizations("organizations/ico");
    WriteVersion2(**store, "constitution", constitution);
  }

  auto store = storage::OpenRocksDbKvStore(Options(path, kSchemaVersion));
  ASSERT_THAT(store, IsOk());
  // The indexes were rebuilt, nothing of version 2's levels left: one
  // by_start entry per event; in by_org one leveled entry and one run entry
  // per (event, organization).
  EXPECT_EQ(CountEntries(**store, kByStart), 2);
  EXPECT_EQ(CountEntries(**store, kByOrg), 6);
  testing::FakeRegistryClient registry;
  OrganizationCache cache;
  auto timeline = Timeline::Open(*std::move(store), &registry, &cache);
  ASSERT_THAT(timeline, IsOk());

  // An organization's history reads the all-spans run the upgrade wrote.
  v1::ListEventsRequest history;
  history.add_organizations("organizations/unmik");
  auto listed = (*timeline)->ListEvents(history);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(Names(*listed), ElementsAre("events/unmik-administration", "events/constitution"));
  history.set_descending(true);
  history.mutable_until()->set_year(2007);
  listed = (*timeline)->ListEvents(history);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(Names(*listed), ElementsAre("events/unmik-administration"));

  // A window reaches the nine-year period through the span bound the
  // upgrade recorded.
  v1::ListEventsRequest june;
  *june.mutable_since() = Day(2008, 6, 1);
  june.mutable_since()->clear_day();
  *june.mutable_until() = june.since();
  listed = (*timeline)->ListEvents(june);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(Names(*listed), ElementsAre("events/unmik-administration", "events/constitution"));
  timeline->reset();

  // Stamped: an older binary is now refused.
  EXPECT_THAT(storage::OpenRocksDbKvStore(Options(path, GetParam())),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(TimelineUpgradeRefusalTest, VersionsWithoutAnUpgradeAreRefused) {
  testing::TempDir dir;
  const std::string path = dir.Sub("db");
  ASSERT_THAT(storage::OpenRocksDbKvStore(Options(path, 1)), IsOk());
  EXPECT_THAT(storage::OpenRocksDbKvStore(Options(path, kSchemaVersion)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no upgrade from timeline schema version 1")));
}

}  // namespace
}  // namespace presence::timeline
