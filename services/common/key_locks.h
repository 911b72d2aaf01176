#ifndef PRESENCE_SERVICES_COMMON_KEY_LOCKS_H_
#define PRESENCE_SERVICES_COMMON_KEY_LOCKS_H_

#include <cstddef>
#include <memory>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/synchronization/mutex.h"

namespace presence {

// Striped exclusive locks over string keys. Writers lock the keys they read
// and write, so writers of unrelated keys proceed in parallel (and their
// synced writes can be group-committed by the store) while writers of the
// same key are serialized.
//
// Distinct keys may share a stripe; that only costs concurrency, never
// correctness. Stripes are always acquired in ascending order, so two
// LockAll() calls cannot deadlock against each other.
//
// Thread-safe.
class KeyLocks {
 public:
  // Holds the stripes of one LockAll() call until destroyed.
  class Guard {
   public:
    Guard(Guard&&) = default;
    Guard& operator=(Guard&&) = delete;
    // Releases the stripes. The set is known only at run time, which clang's
    // thread-safety analysis cannot follow (hence unchecked).
    ~Guard() ABSL_NO_THREAD_SAFETY_ANALYSIS;

   private:
    friend class KeyLocks;
    Guard(KeyLocks* owner, std::vector<size_t> stripes);
    KeyLocks* owner_;
    std::vector<size_t> stripes_;  // Ascending, unique.
  };

  explicit KeyLocks(size_t num_stripes = 1024);
  KeyLocks(const KeyLocks&) = delete;
  KeyLocks& operator=(const KeyLocks&) = delete;

  // Blocks until every key in `keys` is held by the caller.
  // REQUIRES: the calling thread holds no Guard of this object.
  // The set of stripes is known only at run time, which clang's
  // thread-safety analysis cannot follow (hence unchecked); the ascending
  // order is what prevents deadlocks.
  Guard LockAll(const std::vector<absl::string_view>& keys)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;

 private:
  std::unique_ptr<absl::Mutex[]> stripes_;
  size_t num_stripes_;
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_KEY_LOCKS_H_
