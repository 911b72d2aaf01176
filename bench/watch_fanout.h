#ifndef PRESENCE_BENCH_WATCH_FANOUT_H_
#define PRESENCE_BENCH_WATCH_FANOUT_H_

// Issue 15, target 3 (watchers cost writers nothing): CreateOrganization at a
// fixed rate while `watchers` WatchOrganizations streams follow the feed,
// measuring the writes' latency and, for every change at every watcher, the
// time from the write being sent to the change being received.

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace presence::bench {

struct WatchFanoutResult {
  int64_t writes = 0, write_errors = 0;
  double write_p50_us = 0, write_p99_us = 0;
  // Over every (change, watcher) pair: sent to received.
  int64_t deliveries = 0, expected_deliveries = 0;
  double delivery_p50_us = 0, delivery_p99_us = 0, delivery_max_us = 0;
  // Changes a watcher got out of order, twice, or never; streams that failed.
  int64_t feed_errors = 0;
  bool ok = false;
  std::string error;  // When !ok.
};

// Against the registry at `address` (loopback, insecure): opens `watchers`
// streams at the current revision over channels of at most 100 streams each,
// waits until all are established, writes organizations "<prefix>NNNNNNNN"
// one after another at `writes_per_second` for `duration`, then waits (up to
// 30 s) for every watcher to receive every change.
WatchFanoutResult MeasureWatchFanout(const std::string& address, int watchers,
                                     double writes_per_second, absl::Duration duration,
                                     const std::string& prefix);

}  // namespace presence::bench

#endif  // PRESENCE_BENCH_WATCH_FANOUT_H_
