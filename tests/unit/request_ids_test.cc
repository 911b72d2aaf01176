// AIP-155 request ids with expiry (services/common/write/request_ids.h)
// over a real store, with an injected clock.

#include "services/common/write/request_ids.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_engines.h"

namespace presence {
namespace {

using ::presence::storage::KvStore;
using ::presence::storage::Transaction;
using ::presence::testing::IsOk;

constexpr char kId[] = "5a0d4b2e-6f1c-4c8e-9b3a-2d7e1f0c9a84";
constexpr char kOther[] = "7c2e9f10-3b4d-4a5e-8f6a-1b2c3d4e5f60";

class RequestIdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(engine_.Init(), IsOk());
    storage::StoreOptions options;
    options.tables = {"meta"};
    auto store = engine_.Open(options);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    RequestIdOptions ids;
    ids.table = 0;
    ids.retention = absl::Hours(24);
    ids.sweep_interval = absl::Hours(24);
    ids.sweep_batch = 2;  // Several sweep transactions in one sweep.
    ids.now = [this] {
      absl::MutexLock lock(&mu_);
      return now_;
    };
    ids_ = std::make_unique<RequestIds>(ids);
  }

  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

  std::optional<RequestIds::Stored> Find(const std::string& id) {
    std::optional<RequestIds::Stored> found;
    EXPECT_THAT(store_->Transact([&](Transaction& txn) -> absl::Status {
      absl::StatusOr<std::optional<RequestIds::Stored>> f = ids_->Find(txn, id);
      if (!f.ok()) return f.status();
      found = *f;
      return absl::OkStatus();
    }), IsOk());
    return found;
  }

  void Record(const std::string& id, const std::string& resource, const std::string& result) {
    ASSERT_THAT(store_->Transact([&](Transaction& txn) {
      return ids_->Record(txn, id, resource, result);
    }), IsOk());
  }

  int Keys() {
    std::unique_ptr<storage::Iterator> it = store_->NewIterator(0, {});
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }

  testing::RocksEngine engine_;
  std::unique_ptr<KvStore> store_;
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<RequestIds> ids_;
};

TEST_F(RequestIdsTest, ARecordAnswersWithinTheRetentionThenExpires) {
  Record(kId, "kfor", "result");
  std::optional<RequestIds::Stored> found = Find(kId);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->resource_id, "kfor");
  EXPECT_EQ(found->result, "result");
  Advance(absl::Hours(24) - absl::Seconds(1));
  EXPECT_TRUE(Find(kId).has_value());
  Advance(absl::Seconds(1));
  EXPECT_FALSE(Find(kId).has_value()) << "expired after the retention";
  // Outside a transaction too.
  auto outside = ids_->Find(store_.get(), kId);
  ASSERT_THAT(outside, IsOk());
  EXPECT_FALSE(outside->has_value());
}

TEST_F(RequestIdsTest, SweepsRemoveExpiredRecordsOnly) {
  Record(kId, "a", "1");
  Advance(absl::Hours(12));
  Record(kOther, "b", "2");
  for (int i = 0; i < 5; ++i) {
    Record(absl::StrFormat("00000000-0000-4000-8000-%012d", i), "c", "3");
  }
  EXPECT_EQ(Keys(), 14);  // A record and an expiry entry each.
  Advance(absl::Hours(13));  // kId expired, the others not.
  ASSERT_THAT(ids_->SweepIfDue(store_.get()), IsOk());
  EXPECT_EQ(Keys(), 12);
  EXPECT_TRUE(Find(kOther).has_value());
  // Not due again within the interval, whatever expired meanwhile (a
  // lookup treats them as absent all the same).
  Advance(absl::Hours(12));
  ASSERT_THAT(ids_->SweepIfDue(store_.get()), IsOk());
  EXPECT_EQ(Keys(), 12);
  EXPECT_FALSE(Find(kOther).has_value());
  Advance(absl::Hours(12));
  ASSERT_THAT(ids_->SweepIfDue(store_.get()), IsOk());
  EXPECT_EQ(Keys(), 0);
}

TEST_F(RequestIdsTest, AnExpiredIdRecordedAgainIsNotSweptWithItsOldEntry) {
  Record(kId, "a", "first");
  Advance(absl::Hours(25));
  ASSERT_FALSE(Find(kId).has_value());
  Record(kId, "b", "second");  // Replaces the expired record and its entry.
  EXPECT_EQ(Keys(), 2);
  ASSERT_THAT(ids_->SweepIfDue(store_.get()), IsOk());
  std::optional<RequestIds::Stored> found = Find(kId);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->result, "second");
}

}  // namespace
}  // namespace presence
