#include "services/registry/change_feed.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace presence::registry {
namespace {

// Changes read from the log per read of the feed's thread.
constexpr size_t kReadBatch = 256;

// The nice value of the feed's thread (0 is the default, 19 the lowest).
constexpr int kFanOutNice = 10;

// Failures that another read may not have: the feed retries them at the
// next notification (a shared store also polls, at least once a second).
bool Transient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsAborted(s) || absl::IsDeadlineExceeded(s) ||
         absl::IsResourceExhausted(s);
}

}  // namespace

ChangeFeed::ChangeFeed(Reader reader, int64_t head, size_t capacity,
                       std::function<void()> on_advance)
    : reader_(std::move(reader)),
      capacity_(capacity < 1 ? 1 : capacity),
      on_advance_(std::move(on_advance)),
      head_(head) {
  thread_ = std::thread([this] { Loop(); });
}

ChangeFeed::~ChangeFeed() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void ChangeFeed::Notify() {
  absl::MutexLock lock(&mu_);
  notified_ = true;
}

int64_t ChangeFeed::head() const {
  absl::MutexLock lock(&mu_);
  return head_;
}

absl::StatusOr<ChangeFeed::Outcome> ChangeFeed::Read(int64_t after, size_t max,
                                                      Waiter* waiter,
                                                      std::vector<Change>* out) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  if (after >= head_) {
    if (waiter != nullptr) parked_.insert(waiter);
    return Outcome::kParked;
  }
  const int64_t first = changes_.empty() ? head_ + 1 : changes_.front().revision;
  if (after + 1 < first) return Outcome::kBehind;
  for (size_t i = static_cast<size_t>(after + 1 - first);
       i < changes_.size() && max > 0; ++i, --max) {
    out->push_back(changes_[i]);
  }
  return Outcome::kChanges;
}

void ChangeFeed::Unpark(Waiter* waiter) {
  {
    absl::MutexLock lock(&mu_);
    parked_.erase(waiter);
  }
  // From a Wake (the feed's thread), that wake is the one in progress.
  if (std::this_thread::get_id() == thread_.get_id()) return;
  absl::MutexLock wait_out(&wake_mu_);
}

void ChangeFeed::Loop() {
  // Below the writers: waking a thousand watchers (each wake starts its
  // stream's write on this thread) must not delay the commits. Best effort.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kFanOutNice);
  while (true) {
    int64_t after;
    {
      absl::MutexLock lock(&mu_);
      const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return notified_ || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      notified_ = false;
      after = head_;
    }
    // One read per wake-up, shared by every watcher; more while full
    // batches come back.
    absl::StatusOr<std::vector<Change>> read = reader_(after, kReadBatch);
    std::vector<Waiter*> woken;
    bool advanced = false;
    // Taken before the waiters leave parked_, so that an Unpark that finds
    // its waiter gone from there waits until its Wake returned.
    absl::MutexLock waking(&wake_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (read.ok()) {
        for (Change& c : *read) {
          if (c.revision <= head_) continue;  // Never happens: the reader checks.
          if (c.revision != head_ + 1) {
            // Retention removed changes before the feed read them (one
            // batch of more changes than are retained, or a feed far
            // behind): it goes on from the oldest change retained. Whoever
            // was before it is kBehind, reads the log itself and is told
            // there what it can no longer get.
            changes_.clear();
          }
          changes_.push_back(std::move(c));
          head_ = changes_.back().revision;
          advanced = true;
        }
        while (changes_.size() > capacity_) changes_.pop_front();
        if (read->size() == kReadBatch) notified_ = true;
      } else if (!Transient(read.status())) {
        error_ = read.status();
      }
      if (advanced || !error_.ok()) {
        woken.assign(parked_.begin(), parked_.end());
        parked_.clear();
      }
    }
    for (Waiter* w : woken) w->Wake();
    if (advanced && on_advance_) on_advance_();
  }
}

}  // namespace presence::registry
