#include "services/timeline/grpc_registry_client.h"

#include <algorithm>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "services/common/server/grpc_status.h"

namespace presence::timeline {
namespace {

namespace rv1 = ::presence::registry::v1;

// Retry idempotent reads on UNAVAILABLE only (AIP-194); never writes.
constexpr char kServiceConfig[] = R"json({
  "methodConfig": [{
    "name": [
      {"service": "presence.registry.v1.RegistryService", "method": "GetOrganization"},
      {"service": "presence.registry.v1.RegistryService", "method": "BatchGetOrganizations"},
      {"service": "presence.registry.v1.RegistryService", "method": "ListOrganizations"},
      {"service": "presence.registry.v1.RegistryService", "method": "LookupOrganization"},
      {"service": "presence.registry.v1.RegistryService", "method": "ListOrganizationRevisions"}
    ],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

class GrpcOrganizationStream final : public OrganizationStream {
 public:
  GrpcOrganizationStream(rv1::RegistryService::Stub* stub,
                         int64_t start_revision) {
    rv1::WatchOrganizationsRequest request;
    request.set_start_revision(start_revision);
    reader_ = stub->WatchOrganizations(&context_, request);
  }

  bool WaitUntilEstablished() override {
    reader_->WaitForInitialMetadata();
    // The registry sends this header as soon as it accepts the stream; a
    // stream that failed first has none.
    return context_.GetServerInitialMetadata().count("presence-revision") > 0;
  }
  bool Read(rv1::OrganizationChange* change) override {
    return reader_->Read(change);
  }
  absl::Status Finish() override { return FromGrpcStatus(reader_->Finish()); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<rv1::OrganizationChange>> reader_;
};

class GrpcRegistryClient final : public RegistryClient {
 public:
  explicit GrpcRegistryClient(const GrpcRegistryClientOptions& options)
      : options_(options) {
    grpc::ChannelArguments args;
    args.SetServiceConfigJSON(kServiceConfig);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // Reconnect quickly after the registry restarts.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    channel_ = grpc::CreateCustomChannel(
        options.address, grpc::InsecureChannelCredentials(), args);
    stub_ = rv1::RegistryService::NewStub(channel_);
  }

  absl::StatusOr<rv1::Organization> GetOrganization(
      const std::string& name, absl::Time deadline) override {
    rv1::GetOrganizationRequest request;
    request.set_name(name);
    rv1::Organization response;
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    grpc::Status status = stub_->GetOrganization(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  absl::StatusOr<rv1::ListOrganizationsResponse> ListOrganizations(
      const rv1::ListOrganizationsRequest& request,
      absl::Time deadline) override {
    rv1::ListOrganizationsResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    grpc::Status status =
        stub_->ListOrganizations(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  std::unique_ptr<OrganizationStream> WatchOrganizations(
      int64_t start_revision) override {
    return std::make_unique<GrpcOrganizationStream>(stub_.get(),
                                                    start_revision);
  }

 private:
  void SetDeadline(grpc::ClientContext* context, absl::Time deadline) const {
    context->set_deadline(absl::ToChronoTime(
        std::min(deadline, absl::Now() + options_.call_timeout)));
  }

  const GrpcRegistryClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rv1::RegistryService::Stub> stub_;
};

}  // namespace

std::unique_ptr<RegistryClient> NewGrpcRegistryClient(
    const GrpcRegistryClientOptions& options) {
  return std::make_unique<GrpcRegistryClient>(options);
}

}  // namespace presence::timeline
