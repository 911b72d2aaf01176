#ifndef PRESENCE_TESTS_TESTING_TEST_SERVER_H_
#define PRESENCE_TESTS_TESTING_TEST_SERVER_H_

// Building blocks of in-process services: a RocksDB store in a test
// directory and a real gRPC server on an ephemeral loopback port.

#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/server/rpc_gate.h"
#include "services/common/server/server.h"
#include "services/common/storage/rocksdb_kv_store.h"

namespace presence::testing {

template <size_t N>
absl::StatusOr<std::unique_ptr<storage::KvStore>> OpenTestStore(
    const std::string& path, const char* const (&tables)[N],
    int64_t schema_version = 1) {
  storage::RocksDbOptions options;
  options.path = path;
  options.tables.assign(std::begin(tables), std::end(tables));
  options.schema_version = schema_version;
  options.block_cache_bytes = 8 << 20;
  return storage::OpenRocksDbKvStore(options);
}

// The gate of in-process test servers: no tokens, a loopback listener (so
// writes are open), no log lines.
inline RpcGate* DefaultTestGate() {
  static RpcGate* const gate = [] {
    GateOptions options;
    options.log_rpcs = false;
    return new RpcGate(options);
  }();
  return gate;
}

// Serves `service` (named `name` for health and reflection) on 127.0.0.1:0.
inline absl::StatusOr<std::unique_ptr<RunningServer>> StartTestServer(
    grpc::Service* service, const std::string& name) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.services = {service};
  options.service_names = {name};
  return RunningServer::Start(options);
}

inline std::shared_ptr<grpc::Channel> LoopbackChannel(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureChannelCredentials());
}

// A ClientContext with a deadline, so that no test call can hang.
inline std::unique_ptr<grpc::ClientContext> Ctx(
    absl::Duration timeout = absl::Seconds(20)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_TEST_SERVER_H_
