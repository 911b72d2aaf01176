#ifndef PRESENCE_SERVICES_COMMON_SERVER_WORK_POOL_H_
#define PRESENCE_SERVICES_COMMON_SERVER_WORK_POOL_H_

// Threads for blocking work started from gRPC's callback API. Callback
// handlers run on a few library threads (about one per core); a handler
// that blocks — on a write's sync, on a database round trip — holds one,
// and a handful of concurrent writes would then run one after another
// instead of being committed as a group. Such handlers hand the work to a
// pool and finish their reactor from there.

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace presence {

// Thread-safe.
class WorkPool {
 public:
  explicit WorkPool(int threads);
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;
  // Runs what is queued, then joins the threads.
  ~WorkPool();

  // Runs `work` on one of the pool's threads, in FIFO order of submission.
  void Run(std::function<void()> work);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_WORK_POOL_H_
