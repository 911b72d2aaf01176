// Tests of the KvStore contract against the RocksDB implementation, on real
// databases in temporary directories.

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

// Every (key, value) from the iterator's current position onwards, forwards.
std::vector<std::pair<std::string, std::string>> Rest(Iterator& it) {
  std::vector<std::pair<std::string, std::string>> out;
  for (; it.Valid(); it.Next()) {
    out.emplace_back(std::string(it.key()), std::string(it.value()));
  }
  EXPECT_THAT(it.status(), IsOk());
  return out;
}

std::vector<std::string> KeysForward(Iterator& it) {
  std::vector<std::string> out;
  for (it.SeekToFirst(); it.Valid(); it.Next()) out.emplace_back(it.key());
  EXPECT_THAT(it.status(), IsOk());
  return out;
}

std::vector<std::string> KeysBackward(Iterator& it) {
  std::vector<std::string> out;
  for (it.SeekToLast(); it.Valid(); it.Prev()) out.emplace_back(it.key());
  EXPECT_THAT(it.status(), IsOk());
  return out;
}

using KV = std::pair<std::string, std::string>;

std::string Esc(absl::string_view s) { return absl::CHexEscape(s); }

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(Options(path()));
    ASSERT_NE(store_, nullptr);
  }

  std::string path() const { return dir_.Sub("db"); }

  TempDir dir_;
  std::unique_ptr<KvStore> store_;
};

TEST_F(KvStoreTest, GetAbsentIsNullopt) {
  absl::StatusOr<std::optional<std::string>> v = store_->Get(kT0, "missing");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(*v, std::nullopt);
}

TEST_F(KvStoreTest, PutThenGet) {
  ASSERT_THAT(Put(*store_, kT0, "k", "v"), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "k"), "v");
  // Overwrite.
  ASSERT_THAT(Put(*store_, kT0, "k", "w"), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "k"), "w");
  // Binary keys and values, empty value.
  const std::string key("\0\xff\0", 3), value("\xff\0\x01", 3);
  ASSERT_THAT(Put(*store_, kT0, key, value), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, key), value);
  ASSERT_THAT(Put(*store_, kT0, "empty", ""), IsOk());
  absl::StatusOr<std::optional<std::string>> empty = store_->Get(kT0, "empty");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(*empty, std::optional<std::string>(""));
  // A prefix or extension of a key is another key.
  EXPECT_EQ(GetString(*store_, kT0, std::string("\0\xff", 2)), "<absent>");
  EXPECT_EQ(GetString(*store_, kT0, "kk"), "<absent>");
}

TEST_F(KvStoreTest, TablesAreIndependent) {
  ASSERT_THAT(Put(*store_, kT0, "k", "zero"), IsOk());
  EXPECT_EQ(GetString(*store_, kT1, "k"), "<absent>");
  ASSERT_THAT(Put(*store_, kT1, "k", "one"), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "k"), "zero");
  EXPECT_EQ(GetString(*store_, kT1, "k"), "one");

  std::unique_ptr<Iterator> it = store_->NewIterator(kT1, ReadOptions());
  EXPECT_THAT(KeysForward(*it), ElementsAre("k"));
  // The schema-version entry of the default column family is not in any
  // table.
  std::unique_ptr<Iterator> it0 = store_->NewIterator(kT0, ReadOptions());
  EXPECT_THAT(KeysForward(*it0), ElementsAre("k"));

  WriteBatch batch;
  batch.Delete(kT0, "k");
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "k"), "<absent>");
  EXPECT_EQ(GetString(*store_, kT1, "k"), "one");
}

TEST_F(KvStoreTest, Delete) {
  ASSERT_THAT(Put(*store_, kT0, "a", "1"), IsOk());
  ASSERT_THAT(Put(*store_, kT0, "b", "2"), IsOk());
  WriteBatch batch;
  batch.Delete(kT0, "a");
  batch.Delete(kT0, "never-existed");  // Not an error.
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "a"), "<absent>");
  EXPECT_EQ(GetString(*store_, kT0, "b"), "2");
}

TEST_F(KvStoreTest, BatchAppliesInOrder) {
  WriteBatch batch;
  batch.Put(kT0, "k", "first");
  batch.Delete(kT0, "k");
  batch.Put(kT0, "j", "first");
  batch.Put(kT0, "j", "second");
  batch.Put(kT1, "x", "y");
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "k"), "<absent>");
  EXPECT_EQ(GetString(*store_, kT0, "j"), "second");
  EXPECT_EQ(GetString(*store_, kT1, "x"), "y");
  // An empty batch is fine.
  EXPECT_THAT(store_->Write(WriteBatch()), IsOk());
}

TEST_F(KvStoreTest, DeleteRange) {
  for (const char* k : {"a", "b", "ba", "c", "d"}) {
    ASSERT_THAT(Put(*store_, kT0, k, k), IsOk());
    ASSERT_THAT(Put(*store_, kT1, k, k), IsOk());
  }
  WriteBatch batch;
  batch.DeleteRange(kT0, "b", "d");  // [b, d): b, ba, c.
  ASSERT_THAT(store_->Write(batch), IsOk());
  std::unique_ptr<Iterator> it = store_->NewIterator(kT0, ReadOptions());
  EXPECT_THAT(KeysForward(*it), ElementsAre("a", "d"));
  EXPECT_THAT(KeysBackward(*it), ElementsAre("d", "a"));
  EXPECT_EQ(GetString(*store_, kT0, "ba"), "<absent>");
  EXPECT_EQ(GetString(*store_, kT0, "d"), "d");
  // The other table is untouched.
  std::unique_ptr<Iterator> it1 = store_->NewIterator(kT1, ReadOptions());
  EXPECT_THAT(KeysForward(*it1), ElementsAre("a", "b", "ba", "c", "d"));
  // Keys written after the range deletion are visible again.
  ASSERT_THAT(Put(*store_, kT0, "c", "again"), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "c"), "again");
}

// Keys in bytewise (memcmp) order, including \0 and \xff bytes.
std::vector<std::string> OrderedKeys() {
  return {
      std::string("\0", 1),
      std::string("\0\0", 2),
      "a",
      std::string("a\0", 2),
      std::string("a\0b", 3),
      "a\x01",
      "a\x7f",
      "a\x80",
      "a\xff",
      "a\xff\xff",
      "b",
      "\x7f",
      "\x80",
      "\xff",
      "\xff\xff",
  };
}

class KvStoreIteratorTest : public KvStoreTest {
 protected:
  void SetUp() override {
    KvStoreTest::SetUp();
    ASSERT_NE(store_, nullptr);
    // Written in an order unrelated to the key order, in two batches.
    std::vector<std::string> keys = OrderedKeys();
    WriteBatch first, second;
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string& k = keys[(i * 7) % keys.size()];
      (i % 2 == 0 ? first : second).Put(kT0, k, "v:" + k);
    }
    ASSERT_THAT(store_->Write(first), IsOk());
    ASSERT_THAT(store_->Write(second), IsOk());
    ASSERT_THAT(Put(*store_, kT1, "a\x01", "other table"), IsOk());
  }

  std::string KeyAt(Iterator& it) {
    return it.Valid() ? Esc(it.key()) : "<invalid>";
  }
};

TEST_F(KvStoreIteratorTest, FullScanInBytewiseOrder) {
  std::unique_ptr<Iterator> it = store_->NewIterator(kT0, ReadOptions());
  EXPECT_FALSE(it->Valid());  // Starts unpositioned.
  std::vector<std::string> want = OrderedKeys();
  EXPECT_THAT(KeysForward(*it), ElementsAreArray(want));
  std::vector<std::string> reversed(want.rbegin(), want.rend());
  EXPECT_THAT(KeysBackward(*it), ElementsAreArray(reversed));
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->value(), "v:" + std::string("\0", 1));
}

TEST_F(KvStoreIteratorTest, SeekAndSeekForPrev) {
  std::unique_ptr<Iterator> it = store_->NewIterator(kT0, ReadOptions());
  const struct {
    std::string target;
    std::string seek;           // First key >= target.
    std::string seek_for_prev;  // Last key <= target.
  } cases[] = {
      {"a", "a", "a"},
      {"a\x02", "a\x7f", "a\x01"},
      {std::string("a\0a", 3), std::string("a\0b", 3), std::string("a\0", 2)},
      {std::string("a\xff\0", 3), "a\xff\xff", "a\xff"},
      {"a\xff\xff\xff", "b", "a\xff\xff"},
      {"", std::string("\0", 1), "<invalid>"},
      {"\xff\xff\xff", "<invalid>", "\xff\xff"},
      {"c", "\x7f", "b"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("target " + Esc(c.target));
    it->Seek(c.target);
    EXPECT_EQ(KeyAt(*it), c.seek == "<invalid>" ? c.seek : Esc(c.seek));
    if (it->Valid()) {
      EXPECT_EQ(it->value(), "v:" + std::string(it->key()));
    }
    it->SeekForPrev(c.target);
    EXPECT_EQ(KeyAt(*it), c.seek_for_prev == "<invalid>"
                              ? c.seek_for_prev
                              : Esc(c.seek_for_prev));
    EXPECT_THAT(it->status(), IsOk());
  }
}

TEST_F(KvStoreIteratorTest, NextAndPrevChangeDirection) {
  std::unique_ptr<Iterator> it = store_->NewIterator(kT0, ReadOptions());
  it->Seek("a\x7f");
  ASSERT_EQ(KeyAt(*it), Esc("a\x7f"));
  it->Next();
  EXPECT_EQ(KeyAt(*it), Esc("a\x80"));
  it->Prev();
  EXPECT_EQ(KeyAt(*it), Esc("a\x7f"));
  it->Prev();
  EXPECT_EQ(KeyAt(*it), Esc("a\x01"));
  it->Prev();
  EXPECT_EQ(KeyAt(*it), Esc(std::string("a\0b", 3)));
  it->SeekToLast();
  EXPECT_EQ(KeyAt(*it), Esc("\xff\xff"));
  it->Next();
  EXPECT_FALSE(it->Valid());
  it->SeekToFirst();
  it->Prev();
  EXPECT_FALSE(it->Valid());
  EXPECT_THAT(it->status(), IsOk());
}

TEST_F(KvStoreIteratorTest, BoundsRestrictIteration) {
  ReadOptions options;
  options.lower_bound = "a\x01";
  options.upper_bound = "a\xff";  // Exclusive.
  std::unique_ptr<Iterator> it = store_->NewIterator(kT0, options);
  EXPECT_THAT(KeysForward(*it), ElementsAre("a\x01", "a\x7f", "a\x80"));
  EXPECT_THAT(KeysBackward(*it), ElementsAre("a\x80", "a\x7f", "a\x01"));
  it->Seek("a");
  EXPECT_EQ(KeyAt(*it), Esc("a\x01"));
  it->SeekForPrev("b");
  EXPECT_EQ(KeyAt(*it), Esc("a\x80"));
  it->Seek("a\x81");
  EXPECT_FALSE(it->Valid());

  // Only an upper bound: a prefix scan.
  ReadOptions prefix;
  prefix.upper_bound = "b";
  it = store_->NewIterator(kT0, prefix);
  it->Seek("a");
  EXPECT_THAT(Rest(*it), ElementsAre(Key("a"), Key(std::string("a\0", 2)),
                                     Key(std::string("a\0b", 3)), Key("a\x01"),
                                     Key("a\x7f"), Key("a\x80"), Key("a\xff"),
                                     Key("a\xff\xff")));

  // Only a lower bound.
  ReadOptions from;
  from.lower_bound = "\x80";
  it = store_->NewIterator(kT0, from);
  EXPECT_THAT(KeysForward(*it), ElementsAre("\x80", "\xff", "\xff\xff"));

  // The bounds are copied: changing the options afterwards has no effect.
  ReadOptions temp;
  temp.lower_bound = "b";
  temp.upper_bound = "\x80";
  it = store_->NewIterator(kT0, temp);
  temp.lower_bound = "a";
  temp.upper_bound = "z";
  EXPECT_THAT(KeysForward(*it), ElementsAre("b", "\x7f"));
}

TEST_F(KvStoreTest, SnapshotIsolation) {
  ASSERT_THAT(Put(*store_, kT0, "k", "old"), IsOk());
  ASSERT_THAT(Put(*store_, kT0, "gone", "here"), IsOk());
  std::shared_ptr<const Snapshot> snapshot = *store_->GetSnapshot();
  ASSERT_NE(snapshot, nullptr);

  WriteBatch batch;
  batch.Put(kT0, "k", "new");
  batch.Put(kT0, "added", "x");
  batch.Delete(kT0, "gone");
  ASSERT_THAT(store_->Write(batch), IsOk());

  // Through the snapshot: the old state.
  EXPECT_EQ(GetString(*store_, kT0, "k", snapshot.get()), "old");
  EXPECT_EQ(GetString(*store_, kT0, "added", snapshot.get()), "<absent>");
  EXPECT_EQ(GetString(*store_, kT0, "gone", snapshot.get()), "here");
  {
    ReadOptions options;
    options.snapshot = snapshot.get();
    std::unique_ptr<Iterator> it = store_->NewIterator(kT0, options);
    it->SeekToFirst();
    EXPECT_THAT(Rest(*it), ElementsAre(KV("gone", "here"), KV("k", "old")));
  }
  // Without: the new state.
  EXPECT_EQ(GetString(*store_, kT0, "k"), "new");
  EXPECT_EQ(GetString(*store_, kT0, "added"), "x");
  EXPECT_EQ(GetString(*store_, kT0, "gone"), "<absent>");
  {
    std::unique_ptr<Iterator> it = store_->NewIterator(kT0, ReadOptions());
    it->SeekToFirst();
    EXPECT_THAT(Rest(*it), ElementsAre(KV("added", "x"), KV("k", "new")));
  }
  // A later snapshot sees the new state.
  std::shared_ptr<const Snapshot> later = *store_->GetSnapshot();
  EXPECT_EQ(GetString(*store_, kT0, "k", later.get()), "new");
}

TEST_F(KvStoreTest, IteratorWithoutSnapshotIsConsistentWithItsCreation) {
  ASSERT_THAT(Put(*store_, kT0, "a", "1"), IsOk());
  std::unique_ptr<Iterator> it = store_->NewIterator(kT0, ReadOptions());
  ASSERT_THAT(Put(*store_, kT0, "b", "2"), IsOk());
  EXPECT_THAT(KeysForward(*it), ElementsAre("a"));
}

TEST_F(KvStoreTest, ExpectAbsentOnExistingKeyWritesNothing) {
  ASSERT_THAT(Put(*store_, kT0, "exists", "1"), IsOk());
  WriteBatch batch;
  batch.Put(kT0, "new", "n");
  batch.Put(kT1, "other", "o");
  batch.Delete(kT0, "exists");
  batch.ExpectAbsent(kT0, "exists");
  EXPECT_THAT(store_->Write(batch),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("t0"), HasSubstr("exists"))));
  EXPECT_EQ(GetString(*store_, kT0, "new"), "<absent>");
  EXPECT_EQ(GetString(*store_, kT1, "other"), "<absent>");
  EXPECT_EQ(GetString(*store_, kT0, "exists"), "1");
}

TEST_F(KvStoreTest, ExpectValueMismatchWritesNothing) {
  ASSERT_THAT(Put(*store_, kT0, "k", "1"), IsOk());
  {
    WriteBatch batch;
    batch.ExpectValue(kT0, "k", "2");
    batch.Put(kT0, "k", "3");
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(
        store_->Write(batch),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("k")));
  }
  {
    // Expecting a value of an absent key fails too.
    WriteBatch batch;
    batch.ExpectValue(kT1, "k", "1");  // "k" exists in t0 only.
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(
        store_->Write(batch),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("t1")));
  }
  {
    // Expecting the empty value is not expecting absence.
    WriteBatch batch;
    batch.ExpectValue(kT0, "absent", "");
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(store_->Write(batch),
                StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  {
    // One failing precondition among holding ones.
    WriteBatch batch;
    batch.ExpectValue(kT0, "k", "1");
    batch.ExpectAbsent(kT0, "absent");
    batch.ExpectAbsent(kT0, "k");
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(store_->Write(batch),
                StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  EXPECT_EQ(GetString(*store_, kT0, "k"), "1");
  EXPECT_EQ(GetString(*store_, kT1, "side"), "<absent>");
}

TEST_F(KvStoreTest, HoldingPreconditionsApply) {
  ASSERT_THAT(Put(*store_, kT0, "k", "1"), IsOk());
  ASSERT_THAT(Put(*store_, kT0, "empty", ""), IsOk());
  WriteBatch batch;
  batch.ExpectValue(kT0, "k", "1");
  batch.ExpectValue(kT0, "empty", "");
  batch.ExpectAbsent(kT1, "k");
  batch.ExpectAbsent(kT0, "absent");
  batch.Put(kT0, "k", "2");
  batch.Put(kT1, "k", "created");
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_EQ(GetString(*store_, kT0, "k"), "2");
  EXPECT_EQ(GetString(*store_, kT1, "k"), "created");
  // Replaying the same batch now fails: its preconditions no longer hold.
  EXPECT_THAT(store_->Write(batch),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Preconditions alone, no mutations.
  WriteBatch check;
  check.ExpectValue(kT0, "k", "2");
  EXPECT_THAT(store_->Write(check), IsOk());
}

TEST_F(KvStoreTest, ConcurrentCompareAndSwapLosesNoUpdate) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 40;
  ASSERT_THAT(Put(*store_, kT0, "counter", "0"), IsOk());
  std::vector<std::thread> threads;
  std::vector<int> conflicts(kThreads, 0);
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements;) {
        absl::StatusOr<std::optional<std::string>> old =
            store_->Get(kT0, "counter");
        int64_t n = 0;
        if (!old.ok() || !old->has_value() || !absl::SimpleAtoi(**old, &n)) {
          errors[t] = "bad read";
          return;
        }
        WriteBatch batch;
        batch.ExpectValue(kT0, "counter", **old);
        batch.Put(kT0, "counter", absl::StrCat(n + 1));
        const absl::Status s = store_->Write(batch);
        if (s.ok()) {
          ++i;
        } else if (s.code() == absl::StatusCode::kFailedPrecondition) {
          ++conflicts[t];
        } else {
          errors[t] = s.ToString();
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;
  EXPECT_EQ(GetString(*store_, kT0, "counter"),
            absl::StrCat(kThreads * kIncrements));
}

TEST_F(KvStoreTest, ConcurrentWritersOfDisjointKeys) {
  constexpr int kThreads = 4;
  constexpr int kWrites = 100;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        WriteBatch batch;
        const std::string key = absl::StrCat("t", t, "/", i);
        batch.ExpectAbsent(kT1, key);
        batch.Put(kT1, key, "x");
        if (!store_->Write(batch).ok()) ++failures[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(failures, ::testing::Each(0));
  std::unique_ptr<Iterator> it = store_->NewIterator(kT1, ReadOptions());
  EXPECT_EQ(KeysForward(*it).size(), size_t{kThreads * kWrites});
}

TEST_F(KvStoreTest, DataPersistsAcrossReopen) {
  ASSERT_THAT(Put(*store_, kT0, "persist", "me"), IsOk());
  ASSERT_THAT(Put(*store_, kT1, std::string("\0bin", 4), "ary"), IsOk());
  store_.reset();
  store_ = OpenOrDie(Options(path()));
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(GetString(*store_, kT0, "persist"), "me");
  EXPECT_EQ(GetString(*store_, kT1, std::string("\0bin", 4)), "ary");
  EXPECT_EQ(GetString(*store_, kT1, "persist"), "<absent>");
}

TEST(KvStoreOpenTest, OlderSchemaVersionFails) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  {
    std::unique_ptr<KvStore> store = OpenOrDie(Options(path, 1));
    ASSERT_NE(store, nullptr);
    ASSERT_THAT(Put(*store, kT0, "k", "v"), IsOk());
  }
  EXPECT_THAT(OpenRocksDbKvStore(Options(path, 2)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("schema version 1"), HasSubstr(" 2"))));
  // The failed open neither restamped the database nor kept it locked.
  std::unique_ptr<KvStore> store = OpenOrDie(Options(path, 1));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetString(*store, kT0, "k"), "v");
}

TEST(KvStoreOpenTest, OlderSchemaVersionIsUpgradedThenStamped) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  {
    std::unique_ptr<KvStore> store = OpenOrDie(Options(path, 1));
    ASSERT_NE(store, nullptr);
    ASSERT_THAT(Put(*store, kT0, "k", "v"), IsOk());
  }
  int calls = 0;
  RocksDbOptions options = Options(path, 2);
  options.upgrade = [&calls](KvStore* store, int64_t from) {
    ++calls;
    EXPECT_EQ(from, 1);
    EXPECT_EQ(GetString(*store, kT0, "k"), "v");
    return Put(*store, kT0, "upgraded", "yes");
  };
  {
    std::unique_ptr<KvStore> store = OpenOrDie(options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(GetString(*store, kT0, "upgraded"), "yes");
  }
  // Stamped: the upgrade does not run again, and the old binary is refused.
  EXPECT_NE(OpenOrDie(options), nullptr);
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(OpenRocksDbKvStore(Options(path, 1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(KvStoreOpenTest, FailedUpgradeLeavesTheOldVersionToRetry) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  ASSERT_NE(OpenOrDie(Options(path, 1)), nullptr);
  RocksDbOptions options = Options(path, 2);
  options.upgrade = [](KvStore*, int64_t) {
    return absl::DataLossError("event x cannot be parsed");
  };
  EXPECT_THAT(OpenRocksDbKvStore(options),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("from schema version 1"),
                             HasSubstr("event x cannot be parsed"))));
  int calls = 0;
  options.upgrade = [&calls](KvStore*, int64_t from) {
    ++calls;
    EXPECT_EQ(from, 1);
    return absl::OkStatus();
  };
  EXPECT_NE(OpenOrDie(options), nullptr);
  EXPECT_EQ(calls, 1);
}

TEST(KvStoreOpenTest, NewerSchemaVersionFails) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  ASSERT_NE(OpenOrDie(Options(path, 3)), nullptr);  // Stamp 3, close.
  EXPECT_THAT(OpenRocksDbKvStore(Options(path, 2)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("newer"), HasSubstr("3"))));
  EXPECT_NE(OpenOrDie(Options(path, 3)), nullptr);
}

TEST(KvStoreOpenTest, SameSchemaVersionReopens) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  ASSERT_NE(OpenOrDie(Options(path, 7)), nullptr);
  EXPECT_NE(OpenOrDie(Options(path, 7)), nullptr);
}

TEST(KvStoreOpenTest, SecondOpenOfSamePathIsLocked) {
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

TEST(KvStoreOpenTest, CreatesMissingParentDirectories) {
  TempDir dir;
  const std::string path = dir.Sub("a/b/c");
  std::unique_ptr<KvStore> store = OpenOrDie(Options(path));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(KvStoreOpenTest, BadTableNamesAreInvalidArgument) {
  TempDir dir;
  const std::vector<std::vector<std::string>> bad = {
      {"default"}, {"t0", "default"}, {"t0", "t0"}, {"t0", "t1", "t0"},
      {""},        {"t0", ""},
  };
  for (const std::vector<std::string>& tables : bad) {
    SCOPED_TRACE(::testing::PrintToString(tables));
    RocksDbOptions options = Options(dir.Sub("db"));
    options.tables = tables;
    EXPECT_THAT(OpenRocksDbKvStore(options),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  RocksDbOptions no_path = Options("");
  EXPECT_THAT(OpenRocksDbKvStore(no_path),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KvStoreOpenTest, EmptyTableListIsInvalidArgument) {
  // rocksdb_kv_store.h: "Must be non-empty".
  TempDir dir;
  RocksDbOptions options = Options(dir.Sub("db"));
  options.tables.clear();
  EXPECT_THAT(OpenRocksDbKvStore(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(KvStoreTest, CheckpointIsOpenableCopy) {
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

TEST_F(KvStoreTest, StatsReturnsNamedFigures) {
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
