// The KvStore contract (services/common/storage/kv_store.h), one typed suite
// for every engine: this file is built twice, as kv_store_test against
// RocksDB in temporary directories (label unit) and as
// kv_store_postgres_test against a real PostgreSQL cluster started by the
// test, a database per test (label postgres).

#include "services/common/storage/kv_store.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_engines.h"
#include "tests/testing/subprocess.h"

namespace presence {
namespace {

using ::presence::storage::Iterator;
using ::presence::storage::KvStore;
using ::presence::storage::ReadOptions;
using ::presence::storage::Snapshot;
using ::presence::storage::StoreOptions;
using ::presence::storage::TableId;
using ::presence::storage::Transaction;
using ::presence::storage::TransactOptions;
using ::presence::storage::WriteBatch;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::testing::WaitUntil;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Key;

constexpr TableId kT0 = 0;
constexpr TableId kT1 = 1;

StoreOptions Options(int64_t schema_version = 1) {
  StoreOptions options;
  options.tables = {"t0", "t1"};
  options.schema_version = schema_version;
  return options;
}

// The value of `key`, "<absent>" if absent, or the error.
std::string GetString(KvStore& store, TableId table, absl::string_view key,
                      const Snapshot* snapshot = nullptr) {
  absl::StatusOr<std::optional<std::string>> v = store.Get(table, key, snapshot);
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

// In `txn`, moves `amount` from the balance at key `from` of kT0 to the one
// at `to` (decimal numbers).
absl::Status MoveAmount(Transaction& txn, const std::string& from, const std::string& to,
                        int64_t amount) {
  absl::StatusOr<std::optional<std::string>> a = txn.Get(kT0, from);
  absl::StatusOr<std::optional<std::string>> b = txn.Get(kT0, to);
  if (!a.ok()) return a.status();
  if (!b.ok()) return b.status();
  int64_t x = 0, y = 0;
  if (!a->has_value() || !b->has_value() || !absl::SimpleAtoi(**a, &x) ||
      !absl::SimpleAtoi(**b, &y)) {
    return absl::InternalError("bad balance");
  }
  txn.Put(kT0, from, absl::StrCat(x - amount));
  txn.Put(kT0, to, absl::StrCat(y + amount));
  return absl::OkStatus();
}

std::string Esc(absl::string_view s) { return absl::CHexEscape(s); }

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

template <typename Engine>
class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(engine_.Init(), IsOk());
    store_ = MustOpen();
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<KvStore> MustOpen(const StoreOptions& options = Options()) {
    absl::StatusOr<std::unique_ptr<KvStore>> store = engine_.Open(options);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string KeyAt(Iterator& it) {
    return it.Valid() ? Esc(it.key()) : "<invalid>";
  }

  // Writes OrderedKeys() to kT0 (value "v:" key), in an order unrelated to
  // the key order, in two batches, and one key to kT1.
  void WriteOrderedKeys() {
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

  Engine engine_;
  std::unique_ptr<KvStore> store_;
};

#ifdef PRESENCE_TEST_POSTGRES
using Engines = ::testing::Types<testing::PostgresEngine>;
#else
using Engines = ::testing::Types<testing::RocksEngine>;
#endif
struct EngineNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(KvStoreTest, Engines, EngineNames);

// --- Point reads and batches ---

TYPED_TEST(KvStoreTest, GetAbsentIsNullopt) {
  absl::StatusOr<std::optional<std::string>> v = this->store_->Get(kT0, "missing");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(*v, std::nullopt);
}

TYPED_TEST(KvStoreTest, PutThenGet) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "k", "v"), IsOk());
  EXPECT_EQ(GetString(store, kT0, "k"), "v");
  ASSERT_THAT(Put(store, kT0, "k", "w"), IsOk());  // Overwrite.
  EXPECT_EQ(GetString(store, kT0, "k"), "w");
  // Binary keys and values, empty value.
  const std::string key("\0\xff\0", 3), value("\xff\0\x01", 3);
  ASSERT_THAT(Put(store, kT0, key, value), IsOk());
  EXPECT_EQ(GetString(store, kT0, key), value);
  ASSERT_THAT(Put(store, kT0, "empty", ""), IsOk());
  absl::StatusOr<std::optional<std::string>> empty = store.Get(kT0, "empty");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(*empty, std::optional<std::string>(""));
  // A prefix or extension of a key is another key.
  EXPECT_EQ(GetString(store, kT0, std::string("\0\xff", 2)), "<absent>");
  EXPECT_EQ(GetString(store, kT0, "kk"), "<absent>");
  // A large value.
  const std::string big(300000, 'x');
  ASSERT_THAT(Put(store, kT1, "big", big), IsOk());
  EXPECT_EQ(GetString(store, kT1, "big"), big);
}

TYPED_TEST(KvStoreTest, TablesAreIndependent) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "k", "zero"), IsOk());
  EXPECT_EQ(GetString(store, kT1, "k"), "<absent>");
  ASSERT_THAT(Put(store, kT1, "k", "one"), IsOk());
  EXPECT_EQ(GetString(store, kT0, "k"), "zero");
  EXPECT_EQ(GetString(store, kT1, "k"), "one");
  // Whatever the engine keeps for itself (the schema version) is in no
  // table.
  std::unique_ptr<Iterator> it0 = store.NewIterator(kT0, ReadOptions());
  EXPECT_THAT(KeysForward(*it0), ElementsAre("k"));
  WriteBatch batch;
  batch.Delete(kT0, "k");
  ASSERT_THAT(store.Write(batch), IsOk());
  EXPECT_EQ(GetString(store, kT0, "k"), "<absent>");
  EXPECT_EQ(GetString(store, kT1, "k"), "one");
  EXPECT_EQ(store.TableName(kT1), "t1");
}

TYPED_TEST(KvStoreTest, DeleteOfAbsentKeyIsFine) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "a", "1"), IsOk());
  ASSERT_THAT(Put(store, kT0, "b", "2"), IsOk());
  WriteBatch batch;
  batch.Delete(kT0, "a");
  batch.Delete(kT0, "never-existed");
  ASSERT_THAT(store.Write(batch), IsOk());
  EXPECT_EQ(GetString(store, kT0, "a"), "<absent>");
  EXPECT_EQ(GetString(store, kT0, "b"), "2");
}

TYPED_TEST(KvStoreTest, BatchAppliesInOrder) {
  KvStore& store = *this->store_;
  WriteBatch batch;
  batch.Put(kT0, "k", "first");
  batch.Delete(kT0, "k");
  batch.Put(kT0, "j", "first");
  batch.Put(kT0, "j", "second");
  batch.Put(kT1, "x", "y");
  ASSERT_THAT(store.Write(batch), IsOk());
  EXPECT_EQ(GetString(store, kT0, "k"), "<absent>");
  EXPECT_EQ(GetString(store, kT0, "j"), "second");
  EXPECT_EQ(GetString(store, kT1, "x"), "y");
  EXPECT_THAT(store.Write(WriteBatch()), IsOk());  // An empty batch is fine.
}

TYPED_TEST(KvStoreTest, DeleteRange) {
  KvStore& store = *this->store_;
  for (const char* k : {"a", "b", "ba", "c", "d"}) {
    ASSERT_THAT(Put(store, kT0, k, k), IsOk());
    ASSERT_THAT(Put(store, kT1, k, k), IsOk());
  }
  ASSERT_THAT(Put(store, kT0, std::string("\xff\x00", 2), "x"), IsOk());
  WriteBatch batch;
  batch.DeleteRange(kT0, "b", "d");  // [b, d): b, ba, c.
  ASSERT_THAT(store.Write(batch), IsOk());
  std::unique_ptr<Iterator> it = store.NewIterator(kT0, ReadOptions());
  EXPECT_THAT(KeysForward(*it), ElementsAre("a", "d", std::string("\xff\x00", 2)));
  EXPECT_EQ(GetString(store, kT0, "ba"), "<absent>");
  // The other table is untouched.
  std::unique_ptr<Iterator> it1 = store.NewIterator(kT1, ReadOptions());
  EXPECT_THAT(KeysForward(*it1), ElementsAre("a", "b", "ba", "c", "d"));
  // Keys written after the range deletion are visible again.
  ASSERT_THAT(Put(store, kT0, "c", "again"), IsOk());
  EXPECT_EQ(GetString(store, kT0, "c"), "again");
  // A range of bytes above 0x7f.
  WriteBatch high;
  high.DeleteRange(kT0, "\xff", "\xff\x01");
  ASSERT_THAT(store.Write(high), IsOk());
  EXPECT_EQ(GetString(store, kT0, std::string("\xff\x00", 2)), "<absent>");
}

// --- Iterators ---

TYPED_TEST(KvStoreTest, FullScanInBytewiseOrder) {
  this->WriteOrderedKeys();
  std::unique_ptr<Iterator> it = this->store_->NewIterator(kT0, ReadOptions());
  EXPECT_FALSE(it->Valid());  // Starts unpositioned.
  std::vector<std::string> want = OrderedKeys();
  EXPECT_THAT(KeysForward(*it), ElementsAreArray(want));
  std::vector<std::string> reversed(want.rbegin(), want.rend());
  EXPECT_THAT(KeysBackward(*it), ElementsAreArray(reversed));
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->value(), "v:" + std::string("\0", 1));
}

TYPED_TEST(KvStoreTest, SeekAndSeekForPrev) {
  this->WriteOrderedKeys();
  std::unique_ptr<Iterator> it = this->store_->NewIterator(kT0, ReadOptions());
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
    EXPECT_EQ(this->KeyAt(*it), c.seek == "<invalid>" ? c.seek : Esc(c.seek));
    if (it->Valid()) {
      EXPECT_EQ(it->value(), "v:" + std::string(it->key()));
    }
    it->SeekForPrev(c.target);
    EXPECT_EQ(this->KeyAt(*it), c.seek_for_prev == "<invalid>"
                                    ? c.seek_for_prev
                                    : Esc(c.seek_for_prev));
    EXPECT_THAT(it->status(), IsOk());
  }
}

TYPED_TEST(KvStoreTest, NextAndPrevChangeDirection) {
  this->WriteOrderedKeys();
  std::unique_ptr<Iterator> it = this->store_->NewIterator(kT0, ReadOptions());
  it->Seek("a\x7f");
  ASSERT_EQ(this->KeyAt(*it), Esc("a\x7f"));
  it->Next();
  EXPECT_EQ(this->KeyAt(*it), Esc("a\x80"));
  it->Prev();
  EXPECT_EQ(this->KeyAt(*it), Esc("a\x7f"));
  it->Prev();
  EXPECT_EQ(this->KeyAt(*it), Esc("a\x01"));
  it->Prev();
  EXPECT_EQ(this->KeyAt(*it), Esc(std::string("a\0b", 3)));
  it->SeekToLast();
  EXPECT_EQ(this->KeyAt(*it), Esc("\xff\xff"));
  it->Next();
  EXPECT_FALSE(it->Valid());
  it->SeekToFirst();
  it->Prev();
  EXPECT_FALSE(it->Valid());
  EXPECT_THAT(it->status(), IsOk());
}

TYPED_TEST(KvStoreTest, BoundsRestrictIteration) {
  this->WriteOrderedKeys();
  KvStore& store = *this->store_;
  ReadOptions options;
  options.lower_bound = "a\x01";
  options.upper_bound = "a\xff";  // Exclusive.
  std::unique_ptr<Iterator> it = store.NewIterator(kT0, options);
  EXPECT_THAT(KeysForward(*it), ElementsAre("a\x01", "a\x7f", "a\x80"));
  EXPECT_THAT(KeysBackward(*it), ElementsAre("a\x80", "a\x7f", "a\x01"));
  it->Seek("a");
  EXPECT_EQ(this->KeyAt(*it), Esc("a\x01"));
  it->SeekForPrev("b");
  EXPECT_EQ(this->KeyAt(*it), Esc("a\x80"));
  it->SeekForPrev("a\xff");  // The upper bound itself is outside.
  EXPECT_EQ(this->KeyAt(*it), Esc("a\x80"));
  it->SeekForPrev("a");
  EXPECT_FALSE(it->Valid());
  it->Seek("a\x81");
  EXPECT_FALSE(it->Valid());

  // Only an upper bound: a prefix scan.
  ReadOptions prefix;
  prefix.upper_bound = "b";
  it = store.NewIterator(kT0, prefix);
  it->Seek("a");
  EXPECT_THAT(Rest(*it), ElementsAre(Key("a"), Key(std::string("a\0", 2)),
                                     Key(std::string("a\0b", 3)), Key("a\x01"),
                                     Key("a\x7f"), Key("a\x80"), Key("a\xff"),
                                     Key("a\xff\xff")));
  // Only a lower bound.
  ReadOptions from;
  from.lower_bound = "\x80";
  it = store.NewIterator(kT0, from);
  EXPECT_THAT(KeysForward(*it), ElementsAre("\x80", "\xff", "\xff\xff"));
  EXPECT_THAT(KeysBackward(*it), ElementsAre("\xff\xff", "\xff", "\x80"));

  // The bounds are copied: changing the options afterwards has no effect.
  ReadOptions temp;
  temp.lower_bound = "b";
  temp.upper_bound = "\x80";
  it = store.NewIterator(kT0, temp);
  temp.lower_bound = "a";
  temp.upper_bound = "z";
  EXPECT_THAT(KeysForward(*it), ElementsAre("b", "\x7f"));
}

TYPED_TEST(KvStoreTest, LongScansPageThroughInBothDirections) {
  KvStore& store = *this->store_;
  constexpr int kKeys = 3000;
  WriteBatch batch;
  for (int i = 0; i < kKeys; ++i) {
    batch.Put(kT0, absl::StrFormat("k%05d", i), absl::StrCat(i));
  }
  ASSERT_THAT(store.Write(batch), IsOk());
  std::unique_ptr<Iterator> it = store.NewIterator(kT0, ReadOptions());
  EXPECT_EQ(KeysForward(*it).size(), static_cast<size_t>(kKeys));
  std::vector<std::string> back = KeysBackward(*it);
  ASSERT_EQ(back.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(back.front(), absl::StrFormat("k%05d", kKeys - 1));
  // Direction changes deep into a scan.
  it->Seek("k01000");
  for (int i = 0; i < 700; ++i) it->Next();
  EXPECT_EQ(this->KeyAt(*it), "k01700");
  for (int i = 0; i < 1500; ++i) it->Prev();
  EXPECT_EQ(this->KeyAt(*it), "k00200");
  EXPECT_EQ(it->value(), "200");
}

// --- Multi-range reads (NewIterators) ---

using ::presence::storage::KeyRange;
using ::presence::storage::MultiRangeOptions;

// The keys of OrderedKeys() in [lower, upper) (empty upper: no bound).
std::vector<std::string> KeysIn(const std::string& lower, const std::string& upper) {
  std::vector<std::string> out;
  for (const std::string& k : OrderedKeys()) {
    if (k >= lower && (upper.empty() || k < upper)) out.push_back(k);
  }
  return out;
}

// Ranges with 0x00 and 0xFF bytes at their ends, empty ones (lower ==
// upper, and one between two keys), an unbounded one and one of the whole
// table.
std::vector<KeyRange> AwkwardRanges() {
  return {
      {std::string("a\0", 2), "a\xff"},
      {"", std::string("\0\0", 2)},
      {"a\x80", "a\x80"},
      {"a\xff", ""},
      {std::string("\0\0\0", 3), "a"},
      {"a\x7f", std::string("a\x7f\0", 3)},
      {"", ""},
      {"\x7f", "\xff\xff"},
  };
}

TYPED_TEST(KvStoreTest, NewIteratorsReadEachRangeWithItsBytesAndBounds) {
  KvStore& store = *this->store_;
  this->WriteOrderedKeys();
  const std::vector<KeyRange> ranges = AwkwardRanges();
  for (const bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    MultiRangeOptions options;
    options.reverse = reverse;
    std::vector<std::unique_ptr<Iterator>> its = store.NewIterators(kT0, ranges, options);
    ASSERT_EQ(its.size(), ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) {
      SCOPED_TRACE(absl::StrCat("range ", i, " [", Esc(ranges[i].lower_bound), ", ",
                                Esc(ranges[i].upper_bound), ")"));
      std::vector<std::string> expected = KeysIn(ranges[i].lower_bound, ranges[i].upper_bound);
      // The first positioning is the one the options name; then the other
      // direction, from the same iterator.
      if (reverse) {
        std::vector<std::string> back = KeysBackward(*its[i]);
        std::reverse(back.begin(), back.end());
        EXPECT_EQ(back, expected);
        EXPECT_EQ(KeysForward(*its[i]), expected);
      } else {
        EXPECT_EQ(KeysForward(*its[i]), expected);
        std::vector<std::string> back = KeysBackward(*its[i]);
        std::reverse(back.begin(), back.end());
        EXPECT_EQ(back, expected);
      }
      its[i]->SeekToFirst();
      if (!expected.empty()) {
        ASSERT_TRUE(its[i]->Valid());
        EXPECT_EQ(its[i]->value(), "v:" + expected.front());
      }
    }
  }
  // An empty list is no iterators.
  EXPECT_TRUE(store.NewIterators(kT0, {}, MultiRangeOptions()).empty());
}

TYPED_TEST(KvStoreTest, NewIteratorsAnswerAnyFirstPositioning) {
  KvStore& store = *this->store_;
  this->WriteOrderedKeys();
  const KeyRange range{std::string("\0", 1), "b"};
  for (const bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    MultiRangeOptions options;
    options.reverse = reverse;
    // Seek and SeekForPrev as first positioning, inside the first keys and
    // past them, and the direction the options did not name.
    std::vector<std::unique_ptr<Iterator>> its =
        store.NewIterators(kT0, {range, range, range, range, range}, options);
    its[0]->Seek(std::string("a\0", 2));
    EXPECT_EQ(this->KeyAt(*its[0]), Esc(std::string("a\0", 2)));
    its[1]->Seek("a\x81");
    EXPECT_EQ(this->KeyAt(*its[1]), Esc("a\xff"));
    its[2]->SeekForPrev("a\x7f\x01");
    EXPECT_EQ(this->KeyAt(*its[2]), Esc("a\x7f"));
    its[3]->SeekForPrev(std::string("\0\0", 2));
    EXPECT_EQ(this->KeyAt(*its[3]), Esc(std::string("\0\0", 2)));
    its[4]->Seek("b");
    EXPECT_FALSE(its[4]->Valid());
    EXPECT_THAT(its[4]->status(), IsOk());
    its[4]->SeekForPrev("zzz");
    EXPECT_EQ(this->KeyAt(*its[4]), Esc("a\xff\xff"));
  }
}

TYPED_TEST(KvStoreTest, NewIteratorsPageThroughRangesLongerThanAPage) {
  KvStore& store = *this->store_;
  WriteBatch batch;
  for (int i = 0; i < 300; ++i) batch.Put(kT0, absl::StrFormat("k%04d", i), absl::StrCat(i));
  ASSERT_THAT(store.Write(batch), IsOk());
  const std::vector<KeyRange> ranges = {
      {"k0000", "k0100"}, {"k0100", "k0103"}, {"k0150", ""}, {"k0042", "k0043"}};
  const std::vector<std::pair<int, int>> expected = {{0, 100}, {100, 103}, {150, 300}, {42, 43}};
  for (const size_t first_page : {size_t{0}, size_t{1}, size_t{3}, size_t{1000}}) {
    for (const bool reverse : {false, true}) {
      SCOPED_TRACE(absl::StrCat("first_page ", first_page, reverse ? " reverse" : ""));
      MultiRangeOptions options;
      options.reverse = reverse;
      options.first_page = first_page;
      std::vector<std::unique_ptr<Iterator>> its = store.NewIterators(kT0, ranges, options);
      for (size_t r = 0; r < ranges.size(); ++r) {
        std::vector<std::string> want;
        for (int i = expected[r].first; i < expected[r].second; ++i) {
          want.push_back(absl::StrFormat("k%04d", i));
        }
        std::vector<std::string> got = reverse ? KeysBackward(*its[r]) : KeysForward(*its[r]);
        if (reverse) std::reverse(got.begin(), got.end());
        EXPECT_EQ(got, want) << "range " << r;
      }
    }
  }
}

TYPED_TEST(KvStoreTest, NewIteratorsReadOneStateUnderConcurrentWriters) {
  // Each write puts one key into each of two ranges and moves an amount
  // between two accounts of a third: every multi-range read, with a
  // snapshot or without, sees as many keys in the first range as in the
  // second and the same total in the third.
  KvStore& store = *this->store_;
  constexpr int kAccounts = 20;
  WriteBatch init;
  for (int i = 0; i < kAccounts; ++i) init.Put(kT0, absl::StrFormat("c%02d", i), "100");
  ASSERT_THAT(store.Write(init), IsOk());
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    for (int n = 0; !stop; ++n) {
      const std::string from = absl::StrFormat("c%02d", n % kAccounts);
      const std::string to = absl::StrFormat("c%02d", (n * 7 + 1) % kAccounts);
      absl::Status s = store.Transact([&](Transaction& txn) -> absl::Status {
        if (from != to) {
          if (absl::Status moved = MoveAmount(txn, from, to, 1); !moved.ok()) return moved;
        }
        txn.Put(kT0, absl::StrFormat("a%06d", n), "");
        txn.Put(kT0, absl::StrFormat("b%06d", n), "");
        return absl::OkStatus();
      });
      ASSERT_THAT(s, IsOk());
      ++writes;
    }
  });
  const std::vector<KeyRange> ranges = {{"a", "b"}, {"b", "c"}, {"c", "d"}};
  for (int round = 0; round < 20 || writes < 20; ++round) {
    std::shared_ptr<const Snapshot> snapshot;
    MultiRangeOptions options;
    if (round % 2 == 0) {
      absl::StatusOr<std::shared_ptr<const Snapshot>> taken = store.GetSnapshot();
      ASSERT_THAT(taken, IsOk());
      snapshot = *std::move(taken);
      options.snapshot = snapshot.get();
    }
    options.reverse = round % 3 == 0;
    std::vector<std::unique_ptr<Iterator>> its = store.NewIterators(kT0, ranges, options);
    // Read the ranges one after the other, while the writer goes on.
    std::vector<size_t> counts;
    for (int r = 0; r < 2; ++r) counts.push_back(KeysForward(*its[r]).size());
    int64_t total = 0;
    for (its[2]->SeekToFirst(); its[2]->Valid(); its[2]->Next()) {
      int64_t v = 0;
      ASSERT_TRUE(absl::SimpleAtoi(its[2]->value(), &v));
      total += v;
    }
    ASSERT_THAT(its[2]->status(), IsOk());
    EXPECT_EQ(counts[0], counts[1]) << "round " << round;
    EXPECT_EQ(total, 100 * kAccounts) << "round " << round;
    if (snapshot != nullptr) {
      // The snapshot's own reads agree with the iterators'.
      std::unique_ptr<Iterator> it = store.NewIterator(kT0, {snapshot.get(), "a", "b"});
      EXPECT_EQ(KeysForward(*it).size(), counts[0]) << "round " << round;
    }
  }
  stop = true;
  writer.join();
}

TYPED_TEST(KvStoreTest, TransactionNewIteratorsSeeCommittedAndOwnWrites) {
  KvStore& store = *this->store_;
  this->WriteOrderedKeys();
  ASSERT_THAT(store.Transact([&](Transaction& txn) -> absl::Status {
    txn.Put(kT0, "a\x7f\x01", "mine");
    txn.Delete(kT0, "a\x80");
    txn.Put(kT0, "\xff\xff\xff", "mine too");
    const std::vector<KeyRange> ranges = {{"a\x7f", "a\xff"}, {"\xff", ""}, {"b", "b"}};
    for (const bool reverse : {false, true}) {
      MultiRangeOptions options;
      options.reverse = reverse;
      std::vector<std::unique_ptr<Iterator>> its = txn.NewIterators(kT0, ranges, options);
      EXPECT_THAT(reverse ? KeysBackward(*its[0]) : KeysForward(*its[0]),
                  reverse ? ElementsAre("a\x7f\x01", "a\x7f") : ElementsAre("a\x7f", "a\x7f\x01"));
      its[1]->SeekToFirst();
      EXPECT_THAT(Rest(*its[1]), ElementsAre(KV("\xff", "v:\xff"), KV("\xff\xff", "v:\xff\xff"),
                                             KV("\xff\xff\xff", "mine too")));
      EXPECT_THAT(KeysForward(*its[2]), ::testing::IsEmpty());
    }
    return absl::OkStatus();
  }), IsOk());
  EXPECT_EQ(GetString(store, kT0, "a\x7f\x01"), "mine");
}

// --- Snapshots ---

TYPED_TEST(KvStoreTest, SnapshotIsolation) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "k", "old"), IsOk());
  ASSERT_THAT(Put(store, kT0, "gone", "here"), IsOk());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = store.GetSnapshot();
  ASSERT_THAT(snapshot, IsOk());

  WriteBatch batch;
  batch.Put(kT0, "k", "new");
  batch.Put(kT0, "added", "x");
  batch.Delete(kT0, "gone");
  ASSERT_THAT(store.Write(batch), IsOk());

  EXPECT_EQ(GetString(store, kT0, "k", snapshot->get()), "old");
  EXPECT_EQ(GetString(store, kT0, "added", snapshot->get()), "<absent>");
  EXPECT_EQ(GetString(store, kT0, "gone", snapshot->get()), "here");
  {
    ReadOptions options;
    options.snapshot = snapshot->get();
    std::unique_ptr<Iterator> it = store.NewIterator(kT0, options);
    it->SeekToFirst();
    EXPECT_THAT(Rest(*it), ElementsAre(KV("gone", "here"), KV("k", "old")));
  }
  EXPECT_EQ(GetString(store, kT0, "k"), "new");
  EXPECT_EQ(GetString(store, kT0, "added"), "x");
  EXPECT_EQ(GetString(store, kT0, "gone"), "<absent>");
  {
    std::unique_ptr<Iterator> it = store.NewIterator(kT0, ReadOptions());
    it->SeekToFirst();
    EXPECT_THAT(Rest(*it), ElementsAre(KV("added", "x"), KV("k", "new")));
  }
  absl::StatusOr<std::shared_ptr<const Snapshot>> later = store.GetSnapshot();
  ASSERT_THAT(later, IsOk());
  EXPECT_EQ(GetString(store, kT0, "k", later->get()), "new");
}

TYPED_TEST(KvStoreTest, IteratorWithoutSnapshotIsConsistentWithItsCreation) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "a", "1"), IsOk());
  std::unique_ptr<Iterator> it = store.NewIterator(kT0, ReadOptions());
  ASSERT_THAT(Put(store, kT0, "b", "2"), IsOk());
  EXPECT_THAT(KeysForward(*it), ElementsAre("a"));
}

TYPED_TEST(KvStoreTest, SnapshotsStayConsistentUnderConcurrentWriters) {
  // Writers move amounts between accounts in transactions; every snapshot,
  // taken at any moment, sees the same total, in a scan as in point reads.
  KvStore& store = *this->store_;
  constexpr int kAccounts = 40;
  WriteBatch init;
  for (int i = 0; i < kAccounts; ++i) init.Put(kT0, absl::StrFormat("acct%02d", i), "100");
  ASSERT_THAT(store.Write(init), IsOk());
  std::atomic<bool> stop{false};
  std::atomic<int> transfers{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int n = 0; !stop; ++n) {
        const std::string from = absl::StrFormat("acct%02d", (n * 7 + w) % kAccounts);
        const std::string to = absl::StrFormat("acct%02d", (n * 13 + w + 1) % kAccounts);
        if (from == to) continue;
        absl::Status s = store.Transact(
            [&](Transaction& txn) { return MoveAmount(txn, from, to, 3); });
        ASSERT_THAT(s, IsOk());
        ++transfers;
      }
    });
  }
  for (int round = 0; round < 15 || transfers < 30; ++round) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = store.GetSnapshot();
    ASSERT_THAT(snapshot, IsOk());
    ReadOptions ro;
    ro.snapshot = snapshot->get();
    std::unique_ptr<Iterator> it = store.NewIterator(kT0, ro);
    int64_t scanned = 0;
    int count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++count) {
      int64_t v = 0;
      ASSERT_TRUE(absl::SimpleAtoi(it->value(), &v));
      scanned += v;
    }
    ASSERT_THAT(it->status(), IsOk());
    int64_t read = 0;
    for (int i = 0; i < kAccounts; ++i) {
      int64_t v = 0;
      ASSERT_TRUE(absl::SimpleAtoi(
          GetString(store, kT0, absl::StrFormat("acct%02d", i), snapshot->get()), &v));
      read += v;
    }
    EXPECT_EQ(count, kAccounts);
    EXPECT_EQ(scanned, 100 * kAccounts) << "round " << round;
    EXPECT_EQ(read, 100 * kAccounts) << "round " << round;
  }
  stop = true;
  for (auto& w : writers) w.join();
}

// --- Preconditions ---

TYPED_TEST(KvStoreTest, ExpectAbsentOnExistingKeyWritesNothing) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "exists", "1"), IsOk());
  WriteBatch batch;
  batch.Put(kT0, "new", "n");
  batch.Put(kT1, "other", "o");
  batch.Delete(kT0, "exists");
  batch.ExpectAbsent(kT0, "exists");
  EXPECT_THAT(store.Write(batch),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("t0"), HasSubstr("exists"))));
  EXPECT_EQ(GetString(store, kT0, "new"), "<absent>");
  EXPECT_EQ(GetString(store, kT1, "other"), "<absent>");
  EXPECT_EQ(GetString(store, kT0, "exists"), "1");
}

TYPED_TEST(KvStoreTest, ExpectValueMismatchWritesNothing) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "k", "1"), IsOk());
  {
    WriteBatch batch;
    batch.ExpectValue(kT0, "k", "2");
    batch.Put(kT0, "k", "3");
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(store.Write(batch),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("t0/k")));
  }
  {
    // Expecting a value of an absent key fails too.
    WriteBatch batch;
    batch.ExpectValue(kT1, "k", "1");  // "k" exists in t0 only.
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(store.Write(batch),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("t1")));
  }
  {
    // Expecting the empty value is not expecting absence.
    WriteBatch batch;
    batch.ExpectValue(kT0, "absent", "");
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(store.Write(batch), StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  {
    // One failing precondition among holding ones.
    WriteBatch batch;
    batch.ExpectValue(kT0, "k", "1");
    batch.ExpectAbsent(kT0, "absent");
    batch.ExpectAbsent(kT0, "k");
    batch.Put(kT1, "side", "effect");
    EXPECT_THAT(store.Write(batch), StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  EXPECT_EQ(GetString(store, kT0, "k"), "1");
  EXPECT_EQ(GetString(store, kT1, "side"), "<absent>");
}

TYPED_TEST(KvStoreTest, HoldingPreconditionsApply) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "k", "1"), IsOk());
  ASSERT_THAT(Put(store, kT0, "empty", ""), IsOk());
  WriteBatch batch;
  batch.ExpectValue(kT0, "k", "1");
  batch.ExpectValue(kT0, "empty", "");
  batch.ExpectAbsent(kT1, "k");
  batch.Put(kT0, "k", "2");
  batch.Put(kT1, "k", "new");
  ASSERT_THAT(store.Write(batch), IsOk());
  EXPECT_EQ(GetString(store, kT0, "k"), "2");
  EXPECT_EQ(GetString(store, kT1, "k"), "new");
}

TYPED_TEST(KvStoreTest, ConcurrentCompareAndSwapLosesNoUpdate) {
  KvStore& store = *this->store_;
  constexpr int kThreads = 6;
  constexpr int kIncrements = 25;
  ASSERT_THAT(Put(store, kT0, "counter", "0"), IsOk());
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements;) {
        absl::StatusOr<std::optional<std::string>> old = store.Get(kT0, "counter");
        int64_t n = 0;
        if (!old.ok() || !old->has_value() || !absl::SimpleAtoi(**old, &n)) {
          errors[t] = "bad read";
          return;
        }
        WriteBatch batch;
        batch.ExpectValue(kT0, "counter", **old);
        batch.Put(kT0, "counter", absl::StrCat(n + 1));
        const absl::Status s = store.Write(batch);
        if (s.ok()) {
          ++i;
        } else if (s.code() != absl::StatusCode::kFailedPrecondition) {
          errors[t] = s.ToString();
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;
  EXPECT_EQ(GetString(store, kT0, "counter"), absl::StrCat(kThreads * kIncrements));
}

// --- Transactions ---

TYPED_TEST(KvStoreTest, TransactionsReadTheirOwnWritesAndCommitAtomically) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "b", "old"), IsOk());
  ASSERT_THAT(Put(store, kT0, "d", "gone soon"), IsOk());
  absl::Notification inside, checked;
  std::thread observer([&] {
    inside.WaitForNotification();
    // Nothing of the open transaction is visible outside it.
    EXPECT_EQ(GetString(store, kT0, "a"), "<absent>");
    EXPECT_EQ(GetString(store, kT0, "b"), "old");
    checked.Notify();
  });
  int runs = 0;
  ASSERT_THAT(store.Transact([&](Transaction& txn) -> absl::Status {
    ++runs;
    txn.Put(kT0, "a", "1");
    txn.Put(kT0, "b", "new");
    txn.Delete(kT0, "d");
    txn.Put(kT1, "c", "x");
    EXPECT_EQ(*txn.Get(kT0, "a"), std::optional<std::string>("1"));
    EXPECT_EQ(*txn.Get(kT0, "b"), std::optional<std::string>("new"));
    EXPECT_EQ(*txn.Get(kT0, "d"), std::nullopt);
    {
      std::unique_ptr<Iterator> it = txn.NewIterator(kT0, ReadOptions());
      EXPECT_THAT(KeysForward(*it), ElementsAre("a", "b"));
      ReadOptions bounded;
      bounded.lower_bound = "b";
      it = txn.NewIterator(kT0, bounded);
      EXPECT_THAT(KeysBackward(*it), ElementsAre("b"));
    }
    if (runs == 1) {
      inside.Notify();
      checked.WaitForNotification();
    }
    return absl::OkStatus();
  }), IsOk());
  observer.join();
  EXPECT_EQ(GetString(store, kT0, "a"), "1");
  EXPECT_EQ(GetString(store, kT0, "b"), "new");
  EXPECT_EQ(GetString(store, kT0, "d"), "<absent>");
  EXPECT_EQ(GetString(store, kT1, "c"), "x");
}

TYPED_TEST(KvStoreTest, MultiGetReadsCommittedAndOwnWrites) {
  KvStore& store = *this->store_;
  ASSERT_THAT(Put(store, kT0, "a", "1"), IsOk());
  ASSERT_THAT(Put(store, kT0, "b", "2"), IsOk());
  ASSERT_THAT(store.Transact([](Transaction& txn) -> absl::Status {
    txn.Put(kT0, "c", "3");
    txn.Delete(kT0, "b");
    absl::StatusOr<std::vector<std::optional<std::string>>> values =
        txn.MultiGet(kT0, {"a", "b", "c", "missing", "a"});
    if (!values.ok()) return values.status();
    EXPECT_THAT(*values, ElementsAre(std::optional<std::string>("1"), std::nullopt,
                                     std::optional<std::string>("3"), std::nullopt,
                                     std::optional<std::string>("1")));
    return absl::OkStatus();
  }), IsOk());
}

// Hundreds of puts in one transaction (a batch create): new keys, keys that
// already exist, keys the transaction itself wrote before a read flushed
// them, binary keys and empty values all land as plain puts, and a failed
// one writes nothing. (PostgreSQL sends such flushes by COPY, and as
// upserts again when a key already existed.)
TYPED_TEST(KvStoreTest, LargeTransactionsLandWhetherTheirKeysAreNewOrNot) {
  KvStore& store = *this->store_;
  const auto key = [](int i) { return absl::StrFormat("k%04d", i) + std::string("\0\xff", 2); };
  WriteBatch existing;
  for (int i = 0; i < 100; ++i) existing.Put(kT0, key(i), "old");
  ASSERT_THAT(store.Write(existing), IsOk());
  // 100 existing keys among 300, and 200 new keys in another table.
  ASSERT_THAT(store.Transact([&](Transaction& txn) -> absl::Status {
    for (int i = 0; i < 300; ++i) txn.Put(kT0, key(i), absl::StrCat("a", i));
    for (int i = 0; i < 200; ++i) txn.Put(kT1, key(i), i % 2 == 0 ? "" : "odd");
    return absl::OkStatus();
  }), IsOk());
  // New keys, flushed by a read, then written again with deletes beside.
  ASSERT_THAT(store.Transact([&](Transaction& txn) -> absl::Status {
    for (int i = 300; i < 500; ++i) txn.Put(kT0, key(i), "first");
    std::unique_ptr<Iterator> it = txn.NewIterator(kT0, ReadOptions());
    it->SeekToLast();
    EXPECT_TRUE(it->Valid());
    if (it->Valid()) {
      EXPECT_EQ(it->value(), "first");
    }
    for (int i = 400; i < 500; ++i) txn.Put(kT0, key(i), "second");
    for (int i = 0; i < 10; ++i) txn.Delete(kT0, key(i));
    return it->status();
  }), IsOk());
  EXPECT_THAT(store.Transact([&](Transaction& txn) -> absl::Status {
    for (int i = 500; i < 800; ++i) txn.Put(kT0, key(i), "never");
    std::unique_ptr<Iterator> it = txn.NewIterator(kT1, ReadOptions());
    it->SeekToFirst();  // Flushes the puts before failing.
    return absl::AbortedError("the function's own error");
  }),
              StatusIs(absl::StatusCode::kAborted, "the function's own error"));
  std::unique_ptr<Iterator> it = store.NewIterator(kT0, ReadOptions());
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++n) {
    const int i = n + 10;
    ASSERT_EQ(it->key(), key(i));
    EXPECT_EQ(it->value(), i < 300 ? absl::StrCat("a", i) : i < 400 ? "first" : "second") << i;
  }
  EXPECT_THAT(it->status(), IsOk());
  EXPECT_EQ(n, 490);
  EXPECT_EQ(GetString(store, kT1, key(10)), "");
  EXPECT_EQ(GetString(store, kT1, key(11)), "odd");
  EXPECT_EQ(GetString(store, kT1, key(200)), "<absent>");
}

TYPED_TEST(KvStoreTest, FailedTransactionWritesNothing) {
  KvStore& store = *this->store_;
  EXPECT_THAT(store.Transact([](Transaction& txn) -> absl::Status {
    txn.Put(kT0, "a", "1");
    txn.DeleteRange(kT1, "", "\xff");
    return absl::AlreadyExistsError("the function's own error");
  }),
              StatusIs(absl::StatusCode::kAlreadyExists, "the function's own error"));
  EXPECT_EQ(GetString(store, kT0, "a"), "<absent>");
  // A transaction that only reads commits nothing and succeeds.
  EXPECT_THAT(store.Transact([](Transaction& txn) { return txn.Get(kT0, "a").status(); }),
              IsOk());
}

TYPED_TEST(KvStoreTest, TransactionDeleteRangeAppliesAtCommit) {
  KvStore& store = *this->store_;
  for (const char* k : {"a", "b", "c"}) ASSERT_THAT(Put(store, kT0, k, k), IsOk());
  ASSERT_THAT(store.Transact([](Transaction& txn) {
    txn.Put(kT0, "d", "d");
    txn.DeleteRange(kT0, "a", "c");
    return absl::OkStatus();
  }), IsOk());
  std::unique_ptr<Iterator> it = store.NewIterator(kT0, ReadOptions());
  EXPECT_THAT(KeysForward(*it), ElementsAre("c", "d"));
}

// Read-modify-write of one key from several threads: conflicts are re-run
// (on PostgreSQL, serialization failures), and no increment is lost.
TYPED_TEST(KvStoreTest, ConflictingTransactionsAreRetriedAndLoseNoUpdate) {
  KvStore& store = *this->store_;
  for (const char* mode : {"plain", "serialized", "snapshot"}) {
    SCOPED_TRACE(mode);
    const bool serialized = std::string(mode) == "serialized";
    const std::string key = mode;
    ASSERT_THAT(Put(store, kT0, key, "0"), IsOk());
    constexpr int kThreads = 6;
    constexpr int kIncrements = 20;
    std::atomic<int> runs{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        TransactOptions options;
        options.serialized = serialized;
        // Snapshot isolation still makes writers of one key conflict.
        options.snapshot_isolation = std::string(mode) == "snapshot";
        for (int i = 0; i < kIncrements; ++i) {
          ASSERT_THAT(store.Transact(
                          [&](Transaction& txn) -> absl::Status {
                            ++runs;
                            absl::StatusOr<std::optional<std::string>> v = txn.Get(kT0, key);
                            if (!v.ok()) return v.status();
                            int64_t n = 0;
                            if (!absl::SimpleAtoi(v->value_or(""), &n)) {
                              return absl::InternalError("bad counter");
                            }
                            txn.Put(kT0, key, absl::StrCat(n + 1));
                            return absl::OkStatus();
                          },
                          options),
                      IsOk());
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(GetString(store, kT0, key), absl::StrCat(kThreads * kIncrements));
    // Serialized transactions queue rather than conflict: each ran once.
    if (serialized) {
      EXPECT_EQ(runs.load(), kThreads * kIncrements);
    }
  }
}

// The anomaly snapshot isolation allows and serializability does not: two
// transactions each check an invariant over two keys and change a
// different one.
TYPED_TEST(KvStoreTest, WriteSkewIsPrevented) {
  KvStore& store = *this->store_;
  for (int round = 0; round < 15; ++round) {
    const std::string x = absl::StrCat("x", round), y = absl::StrCat("y", round);
    ASSERT_THAT(Put(store, kT0, x, "on"), IsOk());
    ASSERT_THAT(Put(store, kT0, y, "on"), IsOk());
    std::atomic<int> ready{0};
    const auto turn_off = [&](const std::string& mine) {
      return store.Transact([&](Transaction& txn) -> absl::Status {
        auto a = txn.Get(kT0, x);
        auto b = txn.Get(kT0, y);
        if (!a.ok()) return a.status();
        if (!b.ok()) return b.status();
        // Both read before either writes (on the first run). (RocksDB runs
        // transactions one at a time: nothing to wait for.)
        if constexpr (TypeParam::kShared) {
          if (ready.fetch_add(1) < 2) WaitUntil([&] { return ready >= 2; }, absl::Seconds(2));
        }
        // The invariant: at least one stays on.
        if (**a == "on" && **b == "on") txn.Put(kT0, mine, "off");
        return absl::OkStatus();
      });
    };
    absl::Status sa, sb;
    std::thread ta([&] { sa = turn_off(x); });
    std::thread tb([&] { sb = turn_off(y); });
    ta.join();
    tb.join();
    ASSERT_THAT(sa, IsOk());
    ASSERT_THAT(sb, IsOk());
    EXPECT_FALSE(GetString(store, kT0, x) == "off" && GetString(store, kT0, y) == "off")
        << "round " << round;
  }
}

// --- Commit notifications ---

TYPED_TEST(KvStoreTest, CommitListenersHearNotifyingCommits) {
  KvStore& store = *this->store_;
  std::atomic<int> calls{0};
  const KvStore::ListenerId id = store.AddCommitListener([&] { ++calls; });
  TransactOptions notify;
  notify.notify = true;
  const int before = calls;
  ASSERT_THAT(store.Transact([](Transaction& txn) {
    txn.Put(kT0, "n", "1");
    return absl::OkStatus();
  }, notify), IsOk());
  EXPECT_TRUE(WaitUntil([&] { return calls > before; }, absl::Seconds(5)));
  store.RemoveCommitListener(id);
  const int after = calls;
  ASSERT_THAT(store.Transact([](Transaction& txn) {
    txn.Put(kT0, "n", "2");
    return absl::OkStatus();
  }, notify), IsOk());
  // Removed: never called again (also not by a shared store's polling).
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(calls.load(), after);
}

// storage::DeferredSync: concurrent deferred commits, mixed with commits
// that wait, are each answered exactly once, and each only once it is
// visible to reads outside transactions (which see durable state only).
TYPED_TEST(KvStoreTest, DeferredSyncAnswersEachCommitOnceItIsDurable) {
  KvStore& store = *this->store_;
  constexpr int kThreads = 8;
  constexpr int kEach = 60;
  absl::Mutex mu;
  int answered = 0;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string key = absl::StrFormat("d%02d-%03d", t, i);
        const auto put = [&](Transaction& txn) {
          txn.Put(kT0, key, "v");
          return absl::OkStatus();
        };
        if (i % 10 == 9) {  // One in ten waits for its sync itself.
          EXPECT_THAT(store.Transact(put), IsOk());
          EXPECT_EQ(GetString(store, kT0, key), "v");
          absl::MutexLock lock(&mu);
          ++answered;
          continue;
        }
        storage::DeferredSync deferred;
        EXPECT_THAT(store.Transact(put), IsOk());
        deferred.Then([&, key](absl::Status durable) {
          const std::string seen = GetString(store, kT0, key);
          absl::MutexLock lock(&mu);
          if (!durable.ok()) errors.push_back(key + ": " + durable.ToString());
          if (seen != "v") errors.push_back(key + " not visible when answered: " + seen);
          ++answered;
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::MutexLock lock(&mu);
  const auto all = [&] { return answered >= kThreads * kEach; };
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(60)));
  EXPECT_EQ(answered, kThreads * kEach);
  EXPECT_THAT(errors, ::testing::IsEmpty());
}

TYPED_TEST(KvStoreTest, StoresSharingADatabaseSeeAndHearEachOthersCommits) {
  if constexpr (!TypeParam::kShared) {
    GTEST_SKIP() << "one process per database for this engine";
  } else {
    std::unique_ptr<KvStore> other = this->MustOpen();
    ASSERT_NE(other, nullptr);
    std::atomic<int> heard{0};
    const KvStore::ListenerId id = other->AddCommitListener([&] { ++heard; });
    // Let the listener connection settle, then count from a quiet moment.
    absl::SleepFor(absl::Milliseconds(100));
    TransactOptions notify;
    notify.notify = true;
    const int before = heard;
    ASSERT_THAT(this->store_->Transact([](Transaction& txn) {
      txn.Put(kT0, "shared", "yes");
      return absl::OkStatus();
    }, notify), IsOk());
    EXPECT_EQ(GetString(*other, kT0, "shared"), "yes");
    // Heard through NOTIFY (or, at worst, the poll).
    ASSERT_TRUE(WaitUntil([&] { return heard > before; }, absl::Seconds(5)));
    other->RemoveCommitListener(id);
  }
}

// --- Durability and schema versions ---

TYPED_TEST(KvStoreTest, DataPersistsAcrossReopen) {
  ASSERT_THAT(Put(*this->store_, kT0, "persist", "me"), IsOk());
  ASSERT_THAT(Put(*this->store_, kT1, std::string("\0bin", 4), "ary"), IsOk());
  this->store_.reset();
  this->store_ = this->MustOpen();
  ASSERT_NE(this->store_, nullptr);
  EXPECT_EQ(GetString(*this->store_, kT0, "persist"), "me");
  EXPECT_EQ(GetString(*this->store_, kT1, std::string("\0bin", 4)), "ary");
  EXPECT_EQ(GetString(*this->store_, kT1, "persist"), "<absent>");
}

TYPED_TEST(KvStoreTest, OlderSchemaVersionWithoutUpgradeFails) {
  ASSERT_THAT(Put(*this->store_, kT0, "k", "v"), IsOk());
  this->store_.reset();
  EXPECT_THAT(this->engine_.Open(Options(2)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("schema version 1"), HasSubstr(" 2"))));
  // The failed open neither restamped the database nor kept it locked.
  this->store_ = this->MustOpen(Options(1));
  ASSERT_NE(this->store_, nullptr);
  EXPECT_EQ(GetString(*this->store_, kT0, "k"), "v");
}

TYPED_TEST(KvStoreTest, OlderSchemaVersionIsUpgradedOnceThenStamped) {
  ASSERT_THAT(Put(*this->store_, kT0, "k", "v"), IsOk());
  this->store_.reset();
  int calls = 0;
  StoreOptions options = Options(2);
  options.upgrade = [&calls](KvStore* store, int64_t from) {
    ++calls;
    EXPECT_EQ(from, 1);
    EXPECT_EQ(GetString(*store, kT0, "k"), "v");
    return Put(*store, kT0, "upgraded", "yes");
  };
  {
    std::unique_ptr<KvStore> store = this->MustOpen(options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(GetString(*store, kT0, "upgraded"), "yes");
  }
  EXPECT_NE(this->MustOpen(options), nullptr);
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(this->engine_.Open(Options(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TYPED_TEST(KvStoreTest, FailedUpgradeLeavesTheOldVersionToRetry) {
  this->store_.reset();
  StoreOptions options = Options(2);
  options.upgrade = [](KvStore*, int64_t) {
    return absl::DataLossError("event x cannot be parsed");
  };
  EXPECT_THAT(this->engine_.Open(options),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("from schema version 1"),
                             HasSubstr("event x cannot be parsed"))));
  int calls = 0;
  options.upgrade = [&calls](KvStore*, int64_t from) {
    ++calls;
    EXPECT_EQ(from, 1);
    return absl::OkStatus();
  };
  EXPECT_NE(this->MustOpen(options), nullptr);
  EXPECT_EQ(calls, 1);
}

TYPED_TEST(KvStoreTest, SameSchemaVersionReopens) {
  this->store_.reset();
  EXPECT_NE(this->MustOpen(Options(1)), nullptr);
  EXPECT_NE(this->MustOpen(Options(1)), nullptr);
}

TYPED_TEST(KvStoreTest, ConcurrentOpensRunAnUpgradeExactlyOnce) {
  if constexpr (!TypeParam::kShared) {
    GTEST_SKIP() << "one process per database for this engine";
  } else {
    this->store_.reset();
    std::atomic<int> calls{0};
    StoreOptions options = Options(2);
    options.upgrade = [&calls](KvStore* store, int64_t) {
      ++calls;
      absl::SleepFor(absl::Milliseconds(200));  // Others arrive meanwhile.
      return Put(*store, kT0, "upgraded", "once");
    };
    std::vector<absl::StatusOr<std::unique_ptr<KvStore>>> opened(4);
    std::vector<std::thread> threads;
    for (auto& o : opened) {
      threads.emplace_back([&] { o = this->engine_.Open(options); });
    }
    for (auto& t : threads) t.join();
    for (auto& o : opened) {
      ASSERT_THAT(o, IsOk());
      // Each open returned only once the upgrade was done.
      EXPECT_EQ(GetString(**o, kT0, "upgraded"), "once");
    }
    EXPECT_EQ(calls.load(), 1);
  }
}

TYPED_TEST(KvStoreTest, BadTableNamesAreInvalidArgument) {
  const std::vector<std::vector<std::string>> bad = {
      {"default"}, {"t0", "default"}, {"t0", "t0"}, {""}, {"T0"}, {"a-b"}, {},
  };
  for (const std::vector<std::string>& tables : bad) {
    SCOPED_TRACE(::testing::PrintToString(tables));
    StoreOptions options = Options();
    options.tables = tables;
    EXPECT_THAT(this->engine_.Open(options),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

#ifdef PRESENCE_TEST_POSTGRES
// The reasons (services/common/error_reasons.h) of the PostgreSQL store's
// own errors, which the services pass on to their callers unchanged.
class PostgresStoreErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(engine_.Init(), IsOk()); }

  std::unique_ptr<KvStore> Open(int pool_size, int max_conflict_attempts) {
    storage::PostgresOptions pg;
    static_cast<StoreOptions&>(pg) = Options();
    pg.conninfo = engine_.conninfo();
    pg.name = "test";
    pg.pool_size = pool_size;
    pg.acquire_timeout = absl::Milliseconds(100);
    pg.max_conflict_attempts = max_conflict_attempts;
    absl::StatusOr<std::unique_ptr<KvStore>> store = storage::OpenPostgresKvStore(pg);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  testing::PostgresEngine engine_;
};

TEST_F(PostgresStoreErrorsTest, AllConnectionsBusyIsStoreUnavailable) {
  std::unique_ptr<KvStore> store = Open(/*pool_size=*/1, /*max_conflict_attempts=*/32);
  ASSERT_NE(store, nullptr);
  // A transaction holds the only pooled connection while a read waits for one.
  absl::Notification holding, release;
  std::thread holder([&] {
    EXPECT_THAT(store->Transact([&](Transaction&) {
      holding.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    }),
                IsOk());
  });
  holding.WaitForNotification();
  const absl::StatusOr<std::optional<std::string>> read = store->Get(kT0, "k");
  release.Notify();
  holder.join();
  EXPECT_THAT(read, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("stayed busy")));
  EXPECT_EQ(ErrorReason(read.status()), kStoreUnavailable);
  EXPECT_TRUE(GetErrorDetail<google::rpc::RetryInfo>(read.status()).has_value());
}

TEST_F(PostgresStoreErrorsTest, ATransactionThatKeepsConflictingIsConcurrentModification) {
  std::unique_ptr<KvStore> store = Open(/*pool_size=*/4, /*max_conflict_attempts=*/1);
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(Put(*store, kT0, "k", "0"), IsOk());
  // The first transaction reads k; another writes k and commits; then the
  // first writes k: a serialization failure, and no attempt is left.
  const absl::Status first = store->Transact([&](Transaction& txn) -> absl::Status {
    absl::StatusOr<std::optional<std::string>> v = txn.Get(kT0, "k");
    if (!v.ok()) return v.status();
    std::thread other([&] { EXPECT_THAT(Put(*store, kT0, "k", "other"), IsOk()); });
    other.join();
    txn.Put(kT0, "k", "first");
    return absl::OkStatus();
  });
  EXPECT_THAT(first, StatusIs(absl::StatusCode::kAborted, HasSubstr("kept conflicting")));
  EXPECT_EQ(ErrorReason(first), kConcurrentModification);
  EXPECT_TRUE(GetErrorDetail<google::rpc::RetryInfo>(first).has_value());
  EXPECT_EQ(GetString(*store, kT0, "k"), "other");
}
TEST_F(PostgresStoreErrorsTest, AConnectionLostDuringCommitIsCommitOutcomeUnknown) {
  std::unique_ptr<KvStore> store = Open(/*pool_size=*/2, /*max_conflict_attempts=*/32);
  ASSERT_NE(store, nullptr);
  // A deferred constraint trigger runs inside COMMIT; it terminates its own
  // backend there, so the connection is lost between COMMIT and its answer
  // (pg_sleep waits for the termination to be processed inside the
  // trigger, before anything is committed, whatever the machine's load).
  ASSERT_THAT(engine_.server().Sql(
                  engine_.database(),
                  "CREATE FUNCTION presence_die_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(30); "
                  "RETURN NULL; END $$; "
                  "CREATE CONSTRAINT TRIGGER presence_die_at_commit AFTER INSERT OR UPDATE ON "
                  "\"test_t0\" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                  "EXECUTE FUNCTION presence_die_at_commit()"),
              IsOk());
  const absl::Status s = store->Transact([&](Transaction& txn) {
    txn.Put(kT0, "k", "v");
    return absl::OkStatus();
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("may have been applied")));
  EXPECT_EQ(ErrorReason(s), kCommitOutcomeUnknown);
  EXPECT_TRUE(GetErrorDetail<google::rpc::RetryInfo>(s).has_value());
  // The store works on: the next statement gets a live connection.
  ASSERT_THAT(engine_.server().Sql(engine_.database(),
                                   "DROP TRIGGER presence_die_at_commit ON \"test_t0\""),
              IsOk());
  EXPECT_THAT(Put(*store, kT0, "k2", "v2"), IsOk());
  EXPECT_EQ(GetString(*store, kT0, "k2"), "v2");
}

// A transaction's last writes and its COMMIT go in one round trip: a write
// PostgreSQL refuses there fails the transaction with nothing written, as
// an error of that write (not as a commit of unknown outcome), and the
// connection serves the next transaction.
TEST_F(PostgresStoreErrorsTest, AWriteRefusedAtCommitWritesNothing) {
  std::unique_ptr<KvStore> store = Open(/*pool_size=*/1, /*max_conflict_attempts=*/32);
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(engine_.server().Sql(
                  engine_.database(),
                  "CREATE FUNCTION presence_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$ BEGIN IF NEW.k = 'bad'::bytea THEN RAISE EXCEPTION 'refused key'; END IF; "
                  "RETURN NEW; END $$; "
                  "CREATE TRIGGER presence_refuse BEFORE INSERT ON \"test_t1\" "
                  "FOR EACH ROW EXECUTE FUNCTION presence_refuse()"),
              IsOk());
  const absl::Status s = store->Transact([&](Transaction& txn) -> absl::Status {
    absl::StatusOr<std::optional<std::string>> read = txn.Get(kT0, "good");
    if (!read.ok()) return read.status();
    txn.Put(kT0, "good", "1");
    txn.Put(kT1, "bad", "x");
    return absl::OkStatus();
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInternal, HasSubstr("refused key")));
  EXPECT_NE(ErrorReason(s), kCommitOutcomeUnknown);
  EXPECT_EQ(GetString(*store, kT0, "good"), "<absent>");
  // The same connection (the pool holds one) commits the next transaction.
  EXPECT_THAT(store->Transact([&](Transaction& txn) {
    txn.Put(kT0, "good", "2");
    txn.Put(kT1, "fine", "y");
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(GetString(*store, kT0, "good"), "2");
  EXPECT_EQ(GetString(*store, kT1, "fine"), "y");
}

// A transaction that neither reads nor writes commits without a statement.
TEST_F(PostgresStoreErrorsTest, AnEmptyTransactionSucceeds) {
  std::unique_ptr<KvStore> store = Open(/*pool_size=*/1, /*max_conflict_attempts=*/32);
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->Transact([](Transaction&) { return absl::OkStatus(); }), IsOk());
  EXPECT_THAT(Put(*store, kT0, "k", "v"), IsOk());
  EXPECT_EQ(GetString(*store, kT0, "k"), "v");
}
#endif  // PRESENCE_TEST_POSTGRES

}  // namespace
}  // namespace presence
