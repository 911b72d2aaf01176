#ifndef PRESENCE_SERVICES_REGISTRY_CHANGE_FEED_H_
#define PRESENCE_SERVICES_REGISTRY_CHANGE_FEED_H_

// The registry's change feed in memory: the newest changes of the change log,
// serialized once, shared by every watcher, and the watchers that are
// caught up, waiting for the next change.
//
// Why: a commit used to pump every open watch stream from the writer's
// thread, each with its own read of the change log, so one write paid for a
// thousand watchers. Now a commit only notifies the feed (Notify: a flag and
// a signal). The feed's own thread reads the log once per wake-up — the
// changes committed through this process or, on a shared store, through any
// replica (the store's commit listener fires for both) — appends them here
// and wakes the parked watchers, which then pull what they miss from memory
// on their own (gRPC's) threads. A watcher further behind than the feed
// holds reads the log itself, as before: its catching up costs only it.
//
// Gap-free: the feed holds consecutive revisions read from the store's log
// (ReadChanges checks them), so whatever a watcher gets from it follows its
// position with no gap and no duplicate.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace presence::registry {

class ChangeFeed {
 public:
  // One change of the log: its revision and the serialized
  // v1::OrganizationChange (shared, immutable).
  struct Change {
    int64_t revision = 0;
    std::shared_ptr<const std::string> bytes;
  };
  // Reads up to `max` changes after `after` from the store's log, in order
  // and without gaps (Registry::ReadChanges), serialized; when the log no
  // longer holds the change after `after`, from the oldest one it holds.
  using Reader =
      std::function<absl::StatusOr<std::vector<Change>>(int64_t after, size_t max)>;

  // A caught-up watcher. Wake() is called once per Park, on the feed's
  // thread, when the feed moved past the revision it parked at (or failed
  // for good); it must be quick and may call Read (which may park again).
  class Waiter {
   public:
    virtual void Wake() = 0;

   protected:
    ~Waiter() = default;
  };

  // Starts the feed after revision `head` (the store's current revision),
  // holding at most `capacity` changes. `on_advance` (may be null) is called
  // on the feed's thread after each advance.
  ChangeFeed(Reader reader, int64_t head, size_t capacity,
             std::function<void()> on_advance);
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;
  // Stops the feed's thread. REQUIRES: no waiter is parked.
  ~ChangeFeed();

  // Tells the feed the log may have grown. Constant time, never blocks on
  // the store: what a commit listener calls. Thread-safe.
  void Notify();

  enum class Outcome {
    kChanges,  // `*out` holds the next changes after `after`.
    kParked,   // None yet; `waiter` (if not null) is woken at the next one.
    kBehind,   // The feed no longer holds the change after `after`: read
               // the store's log.
  };
  // Appends to `*out` up to `max` changes after `after` that the feed holds.
  // Errors: the feed's reads of the log fail for good (OUT_OF_RANGE when
  // retention removed changes it had not read yet, DATA_LOSS, INTERNAL).
  // Thread-safe.
  absl::StatusOr<Outcome> Read(int64_t after, size_t max, Waiter* waiter,
                               std::vector<Change>* out);
  // After it returns, `waiter` is not parked and Wake is neither running nor
  // called again (until it parks again). Thread-safe; not from Wake.
  void Unpark(Waiter* waiter);

  // The newest revision the feed holds (or started after). Thread-safe.
  int64_t head() const;

 private:
  void Loop();

  const Reader reader_;
  const size_t capacity_;
  const std::function<void()> on_advance_;

  mutable absl::Mutex mu_ ABSL_ACQUIRED_AFTER(wake_mu_);
  // Consecutive revisions, ending at head_ when not empty.
  std::deque<Change> changes_ ABSL_GUARDED_BY(mu_);
  int64_t head_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Waiter*> parked_ ABSL_GUARDED_BY(mu_);
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Held by the feed's thread while it wakes waiters, so that Unpark can
  // wait a wake out.
  absl::Mutex wake_mu_;

  std::thread thread_;
};

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_CHANGE_FEED_H_
