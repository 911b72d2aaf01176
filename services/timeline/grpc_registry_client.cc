#include "services/timeline/grpc_registry_client.h"

#include <algorithm>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "absl/strings/strip.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/server.h"

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
  grpc::ClientContext* context() { return &context_; }
  void Start(rv1::RegistryService::Stub* stub, int64_t start_revision) {
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
  explicit GrpcRegistryClient(const GrpcRegistryClientOptions& options,
                              std::shared_ptr<grpc::ChannelCredentials> credentials)
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
    channel_ = grpc::CreateCustomChannel(options.address, credentials, args);
    stub_ = rv1::RegistryService::NewStub(channel_);
  }

  absl::Status ReloadCredentials() override {
    if (options_.token_file.empty()) return absl::OkStatus();
    absl::StatusOr<std::string> token = ReadFileToString(options_.token_file);
    if (!token.ok()) return token.status();
    absl::MutexLock lock(&mu_);
    token_ = std::string(absl::StripAsciiWhitespace(*token));
    return absl::OkStatus();
  }

  absl::StatusOr<rv1::Organization> GetOrganization(
      const std::string& name, const CallContext& call) override {
    rv1::GetOrganizationRequest request;
    request.set_name(name);
    rv1::Organization response;
    grpc::ClientContext context;
    Prepare(&context, call);
    grpc::Status status = stub_->GetOrganization(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  absl::StatusOr<rv1::ListOrganizationsResponse> ListOrganizations(
      const rv1::ListOrganizationsRequest& request,
      const CallContext& call) override {
    rv1::ListOrganizationsResponse response;
    grpc::ClientContext context;
    Prepare(&context, call);
    grpc::Status status =
        stub_->ListOrganizations(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  std::unique_ptr<OrganizationStream> WatchOrganizations(
      int64_t start_revision) override {
    auto stream = std::make_unique<GrpcOrganizationStream>();
    AddToken(stream->context());
    stream->Start(stub_.get(), start_revision);
    return stream;
  }

 private:
  void Prepare(grpc::ClientContext* context, const CallContext& call) {
    context->set_deadline(absl::ToChronoTime(
        std::min(call.deadline, absl::Now() + options_.call_timeout)));
    if (!call.request_id.empty()) {
      context->AddMetadata("x-request-id", call.request_id);
    }
    // The caller's trace context, passed on unchanged (W3C Trace Context).
    if (!call.traceparent.empty()) {
      context->AddMetadata("traceparent", call.traceparent);
      if (!call.tracestate.empty()) context->AddMetadata("tracestate", call.tracestate);
    }
    AddToken(context);
  }

  void AddToken(grpc::ClientContext* context) {
    absl::MutexLock lock(&mu_);
    if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
  }

  const GrpcRegistryClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rv1::RegistryService::Stub> stub_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryClient>> NewGrpcRegistryClient(
    const GrpcRegistryClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadFileToString(options.tls_ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    if (!options.tls_cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadFileToString(options.tls_cert_file);
      absl::StatusOr<std::string> key = ReadFileToString(options.tls_key_file);
      if (!cert.ok()) return cert.status();
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  }
  auto client = std::make_unique<GrpcRegistryClient>(options, credentials);
  if (absl::Status s = client->ReloadCredentials(); !s.ok()) return s;
  return client;
}

}  // namespace presence::timeline
