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
#include "services/registry/registry.h"
#include "services/registry/registry_grpc_service.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence::testing {

class InProcessRegistry {
 public:
  // Opens (or reopens) the database in `dir` and starts serving.
  static absl::StatusOr<std::unique_ptr<InProcessRegistry>> Start(
      const std::string& dir, registry::RegistryOptions options = {}) {
    auto store = OpenTestStore(dir, registry::kTableNames,
                               registry::kSchemaVersion);
    if (!store.ok()) return store.status();
    auto reg = registry::Registry::Open(*std::move(store), options);
    if (!reg.ok()) return reg.status();
    std::unique_ptr<InProcessRegistry> r(new InProcessRegistry());
    r->registry_ = *std::move(reg);
    r->service_ =
        std::make_unique<registry::RegistryGrpcService>(r->registry_.get(),
                                                        DefaultTestGate());
    auto server = StartTestServer(r->service_.get(),
                                  "presence.registry.v1.RegistryService");
    if (!server.ok()) return server.status();
    r->server_ = *std::move(server);
    r->address_ = "127.0.0.1:" + std::to_string(r->server_->port());
    r->channel_ = LoopbackChannel(r->server_->port());
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

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_REGISTRY_FIXTURE_H_
