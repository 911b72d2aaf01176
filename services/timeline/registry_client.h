#ifndef PRESENCE_SERVICES_TIMELINE_REGISTRY_CLIENT_H_
#define PRESENCE_SERVICES_TIMELINE_REGISTRY_CLIENT_H_

// The timeline's only way to the registry: a small interface that tests can
// replace (google-cloud-cpp's "connection" seam). The gRPC implementation is
// grpc_registry_client.h; nothing here includes gRPC.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/call_context.h"

namespace presence::registry::v1 {
class ListOrganizationsRequest;
class ListOrganizationsResponse;
class Organization;
class OrganizationChange;
}  // namespace presence::registry::v1

namespace presence::timeline {

// A WatchOrganizations stream.
class OrganizationStream {
 public:
  virtual ~OrganizationStream() = default;
  // Blocks until the server has accepted the stream; false if it ended first.
  virtual bool WaitUntilEstablished() = 0;
  // Blocks for the next change; false when the stream has ended.
  virtual bool Read(registry::v1::OrganizationChange* change) = 0;
  // After Read returned false: why the stream ended.
  virtual absl::Status Finish() = 0;
  // Ends the stream from any thread; a blocked Read returns false.
  virtual void Cancel() = 0;
};

// Thread-safe.
class RegistryClient {
 public:
  virtual ~RegistryClient() = default;

  // Every call is bounded by `call.deadline` (the deadline of the request
  // being served, so it never outlives it) and by the client's own per-call
  // timeout, whichever is earlier, and carries `call.request_id`. Reads are
  // retried on UNAVAILABLE by the implementation; errors come back with the
  // registry's status code.
  virtual absl::StatusOr<registry::v1::Organization> GetOrganization(
      const std::string& name, const CallContext& call) = 0;
  virtual absl::StatusOr<registry::v1::ListOrganizationsResponse>
  ListOrganizations(const registry::v1::ListOrganizationsRequest& request,
                    const CallContext& call) = 0;
  // Opens a stream of the changes after `start_revision`. Streams have no
  // deadline; keepalive detects a dead peer.
  virtual std::unique_ptr<OrganizationStream> WatchOrganizations(
      int64_t start_revision) = 0;

  // Re-reads credentials from their files (SIGHUP). Default: nothing to do.
  virtual absl::Status ReloadCredentials() { return absl::OkStatus(); }
};

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_REGISTRY_CLIENT_H_
