#ifndef PRESENCE_SERVICES_REGISTRY_REGISTRY_GRPC_SERVICE_H_
#define PRESENCE_SERVICES_REGISTRY_REGISTRY_GRPC_SERVICE_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "presence/registry/v1/registry.grpc.pb.h"

namespace presence {
class RpcGate;
}  // namespace presence

namespace presence::registry {

class Registry;
class WatchReactor;

// presence.registry.v1.RegistryService on gRPC's callback API. Translation
// only: every rule lives in Registry.
class RegistryGrpcService final : public v1::RegistryService::CallbackService {
 public:
  // `registry` and `gate` are not owned and must outlive this service. At
  // most `max_watchers` WatchOrganizations streams are open at once; more
  // are refused with RESOURCE_EXHAUSTED. Writes run on a pool of threads of
  // their own (each blocks until durable); with `remote_store` (a network
  // round trip per read) reads do too.
  RegistryGrpcService(Registry* registry, const RpcGate* gate,
                      int max_watchers = 1000, bool remote_store = false);

  // Open watch streams (for metrics).
  int watchers() const;
  ~RegistryGrpcService() override;

  // Ends every open WatchOrganizations stream with UNAVAILABLE and refuses
  // new ones; call before grpc::Server::Shutdown so that streams end at once
  // rather than at the shutdown deadline.
  void EndStreams();

  grpc::ServerUnaryReactor* GetOrganization(
      grpc::CallbackServerContext* context,
      const v1::GetOrganizationRequest* request,
      v1::Organization* response) override;
  grpc::ServerUnaryReactor* BatchGetOrganizations(
      grpc::CallbackServerContext* context,
      const v1::BatchGetOrganizationsRequest* request,
      v1::BatchGetOrganizationsResponse* response) override;
  grpc::ServerUnaryReactor* ListOrganizations(
      grpc::CallbackServerContext* context,
      const v1::ListOrganizationsRequest* request,
      v1::ListOrganizationsResponse* response) override;
  grpc::ServerUnaryReactor* CreateOrganization(
      grpc::CallbackServerContext* context,
      const v1::CreateOrganizationRequest* request,
      v1::Organization* response) override;
  grpc::ServerUnaryReactor* BatchCreateOrganizations(
      grpc::CallbackServerContext* context,
      const v1::BatchCreateOrganizationsRequest* request,
      v1::BatchCreateOrganizationsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateOrganization(
      grpc::CallbackServerContext* context,
      const v1::UpdateOrganizationRequest* request,
      v1::Organization* response) override;
  grpc::ServerUnaryReactor* DeleteOrganization(
      grpc::CallbackServerContext* context,
      const v1::DeleteOrganizationRequest* request,
      v1::Organization* response) override;
  grpc::ServerUnaryReactor* UndeleteOrganization(
      grpc::CallbackServerContext* context,
      const v1::UndeleteOrganizationRequest* request,
      v1::Organization* response) override;
  grpc::ServerUnaryReactor* LookupOrganization(
      grpc::CallbackServerContext* context,
      const v1::LookupOrganizationRequest* request,
      v1::Organization* response) override;
  grpc::ServerUnaryReactor* ListOrganizationRevisions(
      grpc::CallbackServerContext* context,
      const v1::ListOrganizationRevisionsRequest* request,
      v1::ListOrganizationRevisionsResponse* response) override;
  grpc::ServerWriteReactor<v1::OrganizationChange>* WatchOrganizations(
      grpc::CallbackServerContext* context,
      const v1::WatchOrganizationsRequest* request) override;

 private:
  friend class WatchReactor;
  void Forget(WatchReactor* reactor);

  Registry* const registry_;
  const RpcGate* const gate_;
  const int max_watchers_;
  mutable absl::Mutex mu_;
  bool streams_ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<WatchReactor*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace presence::registry

#endif  // PRESENCE_SERVICES_REGISTRY_REGISTRY_GRPC_SERVICE_H_
