#ifndef PRESENCE_SERVICES_TIMELINE_GRPC_REGISTRY_CLIENT_H_
#define PRESENCE_SERVICES_TIMELINE_GRPC_REGISTRY_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/timeline/registry_client.h"

namespace presence::timeline {

struct GrpcRegistryClientOptions {
  // host:port of the registry.
  std::string address = "127.0.0.1:50051";
  // Upper bound of every unary call, retries included.
  absl::Duration call_timeout = absl::Seconds(2);
  // HTTP/2 keepalive pings on the connection, also while idle.
  absl::Duration keepalive_time = absl::Seconds(20);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // A file holding the bearer token the timeline presents to the registry
  // (re-read by ReloadCredentials); empty: none.
  std::string token_file;
  // TLS: the CA that signed the registry's certificate (enables TLS), and a
  // client certificate and key for mTLS.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
};

// The gRPC RegistryClient. Idempotent reads (Get, BatchGet, List, Lookup,
// ListOrganizationRevisions) are retried on UNAVAILABLE by gRPC's retry
// policy (service config: up to 4 attempts, exponential backoff from 50 ms to
// 1 s); writes never are (the timeline makes none).
// INVALID_ARGUMENT or NOT_FOUND if a credentials file cannot be used.
absl::StatusOr<std::unique_ptr<RegistryClient>> NewGrpcRegistryClient(
    const GrpcRegistryClientOptions& options);

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_GRPC_REGISTRY_CLIENT_H_
