// What only the RocksDB store does (one process per database, checkpoints,
// RocksDB's figures), on real databases in temporary directories. The
// contract both stores share is tested by kv_store_test.cc.

#include "services/common/storage/kv_store.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/storage/rocksdb_kv_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

using ::presence::storage::Iterator;
using ::presence::storage::KvStore;
using ::presence::storage::OpenRocksDbKvStore;
using ::presence::storage::ReadOptions;
using ::presence::storage::RocksDbOptions;
using ::presence::storage::Snapshot;
using ::presence::storage::TableId;
using ::presence::storage::WriteBatch;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::testing::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::UnorderedElementsAre;

constexpr TableId kT0 = 0;
constexpr TableId kT1 = 1;

RocksDbOptions Options(const std::string& path, int64_t schema_version = 1) {
  RocksDbOptions options;
  options.path = path;
  options.tables = {"t0", "t1"};
  options.schema_version = schema_version;
  options.block_cache_bytes = size_t{8} << 20;
  return options;
}

std::unique_ptr<KvStore> OpenOrDie(const RocksDbOptions& options) {
  absl::StatusOr<std::unique_ptr<KvStore>> store = OpenRocksDbKvStore(options);
  EXPECT_THAT(store, IsOk());
  return store.ok() ? std::move(*store) : nullptr;
}

// The value of `key`, "<absent>" if absent, or the error.
std::string GetString(KvStore& store, TableId table, absl::string_view key,
                      const Snapshot* snapshot = nullptr) {
  absl::StatusOr<std::optional<std::string>> v =
      store.Get(table, key, snapshot);
  if (!v.ok()) return "<error: " + v.status().ToString() + ">";
  return v->has_value() ? **v : "<absent>";
}

absl::Status Put(KvStore& store, TableId table, absl::string_view key,
                 absl::string_view value) {
  WriteBatch batch;
  batch.Put(table, key, value);
  return store.Write(batch);
}

class RocksDbKvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(Options(path()));
    ASSERT_NE(store_, nullptr);
  }

  std::string path() const { return dir_.Sub("db"); }

  TempDir dir_;
  std::unique_ptr<KvStore> store_;
};

TEST(RocksDbKvStoreOpenTest, EmptyPathIsInvalidArgument) {
  EXPECT_THAT(OpenRocksDbKvStore(Options("")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RocksDbKvStoreOpenTest, SecondOpenOfSamePathIsLocked) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  std::unique_ptr<KvStore> first = OpenOrDie(Options(path));
  ASSERT_NE(first, nullptr);
  EXPECT_THAT(OpenRocksDbKvStore(Options(path)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // The first is unaffected; once it is closed the path opens again.
  ASSERT_THAT(Put(*first, kT0, "k", "v"), IsOk());
  first.reset();
  std::unique_ptr<KvStore> second = OpenOrDie(Options(path));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(GetString(*second, kT0, "k"), "v");
}


TEST(RocksDbKvStoreOpenTest, CreatesMissingParentDirectories) {
  TempDir dir;
  const std::string path = dir.Sub("a/b/c");
  std::unique_ptr<KvStore> store = OpenOrDie(Options(path));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(path));
}


TEST_F(RocksDbKvStoreTest, CheckpointIsOpenableCopy) {
  ASSERT_THAT(Put(*store_, kT0, "before", "1"), IsOk());
  ASSERT_THAT(Put(*store_, kT1, "table1", "2"), IsOk());
  const std::string checkpoint_dir = dir_.Sub("checkpoint");
  ASSERT_THAT(store_->Checkpoint(checkpoint_dir), IsOk());
  ASSERT_THAT(Put(*store_, kT0, "after", "3"), IsOk());

  // The checkpoint opens alongside the live store and holds the data as of
  // the checkpoint.
  std::unique_ptr<KvStore> copy = OpenOrDie(Options(checkpoint_dir));
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(GetString(*copy, kT0, "before"), "1");
  EXPECT_EQ(GetString(*copy, kT1, "table1"), "2");
  EXPECT_EQ(GetString(*copy, kT0, "after"), "<absent>");
  // And is independent of it.
  ASSERT_THAT(Put(*copy, kT0, "copy-only", "4"), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "copy-only"), "<absent>");
  EXPECT_EQ(GetString(*store_, kT0, "after"), "3");

  // The target must not exist.
  EXPECT_THAT(store_->Checkpoint(checkpoint_dir), ::testing::Not(IsOk()));
}


TEST_F(RocksDbKvStoreTest, StatsReturnsNamedFigures) {
  WriteBatch batch;
  for (int i = 0; i < 100; ++i) {
    batch.Put(kT0, absl::StrCat("key", i), std::string(100, 'v'));
  }
  ASSERT_THAT(store_->Write(batch), IsOk());
  std::map<std::string, uint64_t> stats;
  for (const auto& [name, value] : store_->Stats()) {
    EXPECT_TRUE(stats.emplace(name, value).second) << "duplicate " << name;
  }
  EXPECT_THAT(stats, UnorderedElementsAre(
                         Key("estimate-num-keys"), Key("live-sst-files-size"),
                         Key("estimate-pending-compaction-bytes"),
                         Key("size-all-mem-tables"), Key("block-cache-usage")));
  // Everything is still in the memtables.
  EXPECT_GE(stats["estimate-num-keys"], 100u);
  EXPECT_LE(stats["estimate-num-keys"], 101u);
  EXPECT_GE(stats["size-all-mem-tables"], 100u * 100u);
}


}  // namespace
}  // namespace presence
