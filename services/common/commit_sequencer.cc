#include "services/common/commit_sequencer.h"

#include <utility>

namespace presence {

CommitSequencer::CommitSequencer(int64_t last_revision)
    : last_allocated_(last_revision), watermark_(last_revision) {}

int64_t CommitSequencer::BeginBatch(int64_t n) {
  absl::MutexLock lock(&mu_);
  const int64_t first = last_allocated_ + 1;
  for (int64_t i = 0; i < n; ++i) in_flight_.insert(++last_allocated_);
  return first;
}

void CommitSequencer::FinishBatch(int64_t first, int64_t n) {
  int64_t watermark;
  {
    absl::MutexLock lock(&mu_);
    for (int64_t i = 0; i < n; ++i) in_flight_.erase(first + i);
    const int64_t next =
        in_flight_.empty() ? last_allocated_ : *in_flight_.begin() - 1;
    if (next <= watermark_) return;
    watermark_ = watermark = next;
  }
  absl::MutexLock lock(&listeners_mu_);
  // A concurrent Finish may have announced a higher watermark already;
  // listeners only ever see it advance.
  if (watermark <= last_notified_) return;
  last_notified_ = watermark;
  for (auto& [id, listener] : listeners_) listener(watermark);
}

int64_t CommitSequencer::watermark() const {
  absl::MutexLock lock(&mu_);
  return watermark_;
}

bool CommitSequencer::WaitFor(int64_t revision, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, revision]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return watermark_ >= revision;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

CommitSequencer::ListenerId CommitSequencer::AddListener(Listener listener) {
  absl::MutexLock lock(&listeners_mu_);
  const ListenerId id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void CommitSequencer::RemoveListener(ListenerId id) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(id);
}

}  // namespace presence
