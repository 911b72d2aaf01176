#include "services/common/key_locks.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

namespace presence {

KeyLocks::Guard::Guard(KeyLocks* owner, std::vector<size_t> stripes)
    : owner_(owner), stripes_(std::move(stripes)) {}

KeyLocks::Guard::~Guard() {
  // A moved-from Guard has an empty stripe list.
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) {
    owner_->stripes_[*it].Unlock();
  }
}

KeyLocks::KeyLocks(size_t num_stripes)
    : stripes_(new absl::Mutex[num_stripes]), num_stripes_(num_stripes) {}

KeyLocks::Guard KeyLocks::LockAll(const std::vector<absl::string_view>& keys) {
  std::vector<size_t> stripes;
  stripes.reserve(keys.size());
  for (absl::string_view key : keys) {
    stripes.push_back(absl::HashOf(key) % num_stripes_);
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (size_t s : stripes) stripes_[s].Lock();
  return Guard(this, std::move(stripes));
}

}  // namespace presence
