#ifndef PRESENCE_SERVICES_COMMON_COMMIT_SEQUENCER_H_
#define PRESENCE_SERVICES_COMMON_COMMIT_SEQUENCER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace presence {

// Hands out consecutive revisions to concurrent writers and tracks the
// watermark: the highest revision R such that every revision <= R has
// finished (committed, or failed and will never appear). Writers commit in
// parallel, possibly out of order; readers of a change log that stop at the
// watermark therefore never miss a revision that commits later than a
// higher one.
//
// Thread-safe.
class CommitSequencer {
 public:
  using ListenerId = uint64_t;
  // Called with the new watermark after it advances.
  using Listener = std::function<void(int64_t watermark)>;

  // `last_revision` is the highest revision already committed (0 for none).
  explicit CommitSequencer(int64_t last_revision);
  CommitSequencer(const CommitSequencer&) = delete;
  CommitSequencer& operator=(const CommitSequencer&) = delete;

  // Allocates the next revision. Every Begin() must be followed by exactly
  // one Finish() of the returned revision, or the watermark stops there.
  int64_t Begin() { return BeginBatch(1); }
  // Marks `revision` finished and notifies listeners if the watermark moved.
  // REQUIRES: `revision` came from Begin() and is not yet finished.
  void Finish(int64_t revision) { FinishBatch(revision, 1); }

  // Allocates `n` >= 1 consecutive revisions and returns the first; finish
  // them together with FinishBatch(first, n).
  int64_t BeginBatch(int64_t n);
  void FinishBatch(int64_t first, int64_t n);

  int64_t watermark() const;

  // Blocks until the watermark reaches `revision` or `timeout` passes; returns
  // whether it reached it.
  bool WaitFor(int64_t revision, absl::Duration timeout) const;

  // Registers a listener. Listeners run on the thread that called Finish(),
  // one at a time, with strictly increasing watermarks (a watermark overtaken
  // by a concurrent Finish is not announced); they must be quick and must not
  // call AddListener or RemoveListener.
  ListenerId AddListener(Listener listener);
  // After it returns, `id`'s listener is not running and will not run again.
  void RemoveListener(ListenerId id);

 private:
  mutable absl::Mutex mu_;
  int64_t last_allocated_ ABSL_GUARDED_BY(mu_);
  int64_t watermark_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> in_flight_ ABSL_GUARDED_BY(mu_);

  // Separate from mu_ so that listeners run without blocking writers'
  // Begin(); held while listeners run so RemoveListener can wait them out.
  absl::Mutex listeners_mu_ ABSL_ACQUIRED_AFTER(mu_);
  ListenerId next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
  int64_t last_notified_ ABSL_GUARDED_BY(listeners_mu_) = 0;
  std::map<ListenerId, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_COMMIT_SEQUENCER_H_
