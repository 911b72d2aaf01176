// The registry's change feed (services/registry/change_feed.h) over a log
// of the test's own: what it holds, whom it wakes, and what it does when
// retention removed changes before it read them.

#include "services/registry/change_feed.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace presence::registry {
namespace {

using ::presence::testing::IsOk;

// A change log with retention: revisions (first, last] are held.
class Log {
 public:
  void Append(int n) {
    absl::MutexLock lock(&mu_);
    last_ += n;
  }
  void Trim(int64_t oldest) {
    absl::MutexLock lock(&mu_);
    oldest_ = oldest;
  }
  // The reader the feed is given: from the oldest retained change when the
  // one after `after` is gone (Registry::ReadSerializedChanges with
  // from_oldest_retained).
  absl::StatusOr<std::vector<ChangeFeed::Change>> Read(int64_t after, size_t max) {
    absl::MutexLock lock(&mu_);
    std::vector<ChangeFeed::Change> out;
    for (int64_t r = std::max(after + 1, oldest_); r <= last_ && out.size() < max; ++r) {
      out.push_back({r, std::make_shared<const std::string>(absl::StrCat("change ", r))});
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  int64_t oldest_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t last_ ABSL_GUARDED_BY(mu_) = 0;
};

class Watcher final : public ChangeFeed::Waiter {
 public:
  void Wake() override {
    absl::MutexLock lock(&mu_);
    ++wakes_;
  }
  // Waits (on the condition, no sleep) until woken `n` times in all; false
  // if that did not happen within a bound far above any wake-up's time.
  [[nodiscard]] bool AwaitWakes(int n) {
    absl::MutexLock lock(&mu_);
    const auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wakes_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Seconds(30));
  }

 private:
  absl::Mutex mu_;
  int wakes_ ABSL_GUARDED_BY(mu_) = 0;
};

std::vector<int64_t> Revisions(const std::vector<ChangeFeed::Change>& changes) {
  std::vector<int64_t> out;
  for (const auto& c : changes) out.push_back(c.revision);
  return out;
}

TEST(ChangeFeedTest, WakesParkedWatchersAndServesWhatFollowsThem) {
  Log log;
  ChangeFeed feed([&](int64_t after, size_t max) { return log.Read(after, max); }, 0, 16,
                  nullptr);
  Watcher w;
  std::vector<ChangeFeed::Change> out;
  ASSERT_THAT(feed.Read(0, 10, &w, &out), IsOk());
  log.Append(3);
  feed.Notify();
  ASSERT_TRUE(w.AwaitWakes(1)) << "not woken";
  absl::StatusOr<ChangeFeed::Outcome> read = feed.Read(0, 10, nullptr, &out);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, ChangeFeed::Outcome::kChanges);
  EXPECT_THAT(Revisions(out), ::testing::ElementsAre(1, 2, 3));
  feed.Unpark(&w);
}

// One batch of more changes than the log retains used to stop the feed for
// good (OUT_OF_RANGE for every watcher, even one at the current revision).
TEST(ChangeFeedTest, GoesOnFromTheOldestRetainedChangeWhenRetentionOvertookIt) {
  Log log;
  log.Append(2);
  ChangeFeed feed([&](int64_t after, size_t max) { return log.Read(after, max); }, 2, 16,
                  nullptr);
  Watcher early;
  std::vector<ChangeFeed::Change> out;
  ASSERT_THAT(feed.Read(2, 10, &early, &out), IsOk());
  log.Append(64);  // Revisions 3..66; only the last is retained.
  log.Trim(66);
  feed.Notify();
  ASSERT_TRUE(early.AwaitWakes(1)) << "not woken";
  EXPECT_EQ(feed.head(), 66);
  // The watcher parked at 2 is behind the feed now: it reads the log itself
  // (and is told there that revision 3 is gone).
  absl::StatusOr<ChangeFeed::Outcome> read = feed.Read(2, 10, nullptr, &out);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, ChangeFeed::Outcome::kBehind);
  // A watcher from the current revision follows the next changes.
  Watcher current;
  read = feed.Read(66, 10, &current, &out);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, ChangeFeed::Outcome::kParked);
  log.Append(2);
  feed.Notify();
  ASSERT_TRUE(current.AwaitWakes(1)) << "not woken";
  read = feed.Read(65, 10, nullptr, &out);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, ChangeFeed::Outcome::kChanges);
  EXPECT_THAT(Revisions(out), ::testing::ElementsAre(66, 67, 68));
}

}  // namespace
}  // namespace presence::registry
