#ifndef PRESENCE_BENCH_ETCD_PEER_H_
#define PRESENCE_BENCH_ETCD_PEER_H_

// The benchmark's peer (issue 15, target 6): what a user might pick instead
// of the registry for a small record read by key. One etcd 3.4 member
// (Debian's etcd-server, /usr/bin/etcd) on loopback TCP with its own data
// directory, holding one 1 KB value, read with serializable Range calls
// through etcd's v3 gRPC API (bench/etcdserverpb/kv.proto).

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace presence::bench {

class EtcdPeer {
 public:
  // Starts one etcd member with its data directory under `work_dir`, on two
  // loopback ports found free (bound to port 0 and released; if etcd then
  // fails to bind one, it is restarted on others), waits until it answers,
  // and writes the 1 KB value. Fails with etcd's log tail if it does not
  // serve within its start-up budget.
  // With `pprof`, etcd also serves Go's profiler at its client URL
  // (/debug/pprof/, for profiles of the peer under load).
  static absl::StatusOr<std::unique_ptr<EtcdPeer>> Start(const std::string& work_dir,
                                                         bool pprof = false);

  // Stops etcd (SIGTERM, then SIGKILL after 10 s) and removes its data
  // directory.
  ~EtcdPeer();
  EtcdPeer(const EtcdPeer&) = delete;
  EtcdPeer& operator=(const EtcdPeer&) = delete;

  pid_t pid() const;

  // Starts one asynchronous serializable Range of the value and calls
  // `done(ok)` when it completes; ok only if etcd returned the value, whole.
  // Thread-safe; the peer must outlive the calls.
  void StartRange(std::function<void(bool)> done);

 private:
  struct State;
  explicit EtcdPeer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace presence::bench

#endif  // PRESENCE_BENCH_ETCD_PEER_H_
