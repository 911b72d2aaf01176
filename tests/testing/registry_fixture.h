#ifndef PRESENCE_TESTS_TESTING_REGISTRY_FIXTURE_H_
#define PRESENCE_TESTS_TESTING_REGISTRY_FIXTURE_H_

// An in-process registry: real RocksDB in a temporary directory behind a
// real gRPC server on an ephemeral loopback port, reached through the
// generated stub.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "services/common/server/server.h"
#include "services/common/storage/rocksdb_kv_store.h"
#include "services/registry/registry.h"
#include "services/registry/registry_grpc_service.h"
#include "tests/testing/temp_dir.h"

namespace presence::testing {

class InProcessRegistry {
 public:
  // Opens (or reopens) the database in `dir` and starts serving.
  static absl::StatusOr<std::unique_ptr<InProcessRegistry>> Start(
      const std::string& dir, registry::RegistryOptions options = {}) {
    storage::RocksDbOptions storage_options;
    storage_options.path = dir;
    storage_options.tables.assign(std::begin(registry::kTableNames),
                                  std::end(registry::kTableNames));
    storage_options.schema_version = registry::kSchemaVersion;
    storage_options.block_cache_bytes = 8 << 20;
    auto store = storage::OpenRocksDbKvStore(storage_options);
    if (!store.ok()) return store.status();
    auto reg = registry::Registry::Open(*std::move(store), options);
    if (!reg.ok()) return reg.status();
    std::unique_ptr<InProcessRegistry> r(new InProcessRegistry());
    r->registry_ = *std::move(reg);
    r->service_ =
        std::make_unique<registry::RegistryGrpcService>(r->registry_.get());
    ServerOptions server_options;
    server_options.listen_address = "127.0.0.1:0";
    server_options.services = {r->service_.get()};
    server_options.service_names = {"presence.registry.v1.RegistryService"};
    server_options.log_rpcs = false;
    auto server = RunningServer::Start(server_options);
    if (!server.ok()) return server.status();
    r->server_ = *std::move(server);
    r->address_ = "127.0.0.1:" + std::to_string(r->server_->port());
    r->channel_ =
        grpc::CreateChannel(r->address_, grpc::InsecureChannelCredentials());
    r->stub_ = registry::v1::RegistryService::NewStub(r->channel_);
    return r;
  }

  ~InProcessRegistry() { Shutdown(); }

  void Shutdown(absl::Duration grace = absl::ZeroDuration()) {
    if (server_) {
      server_->Shutdown(grace, [this] { service_->EndStreams(); });
      server_.reset();
    }
  }

  registry::v1::RegistryService::Stub& stub() { return *stub_; }
  registry::Registry& registry() { return *registry_; }
  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  InProcessRegistry() = default;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<registry::RegistryGrpcService> service_;
  std::unique_ptr<RunningServer> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<registry::v1::RegistryService::Stub> stub_;
};

// A ClientContext with a deadline, so that no test call can hang.
inline std::unique_ptr<grpc::ClientContext> Ctx(
    absl::Duration timeout = absl::Seconds(20)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_REGISTRY_FIXTURE_H_
