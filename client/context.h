#ifndef PRESENCE_CLIENT_CONTEXT_H_
#define PRESENCE_CLIENT_CONTEXT_H_

// The connection and credentials of one presencectl run: the global flags,
// the channels and stubs to both services (created on first use), and the
// deadline and token every call carries.

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/output.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"

namespace presence::cli {

// The global flags, bound to the command line by the app (client/app.cc).
struct GlobalFlags {
  std::string registry = "127.0.0.1:50051";
  std::string timeline = "127.0.0.1:50052";
  std::string timeout = "5s";
  std::string output = "table";
  std::string token;
  std::string tls_ca, tls_cert, tls_key;
};

// Not thread-safe; one per process.
class Context {
 public:
  // `output` is not owned and must outlive this.
  explicit Context(Output* output) : output_(*output) {}

  // Bound to the command line before parsing.
  GlobalFlags& flags() { return flags_; }
  const GlobalFlags& flags() const { return flags_; }

  // After parsing: checks the flags, sets the output format, reads the TLS
  // files. A UsageError names the flag.
  absl::Status Prepare();

  Output& output() { return output_; }

  registry::v1::RegistryService::StubInterface& registry();
  timeline::v1::TimelineService::StubInterface& timeline();
  // A channel to `address` with the run's credentials.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address) const;

  // A context with the per-call deadline (--timeout) and the token.
  std::unique_ptr<grpc::ClientContext> NewCall() const;
  // Adds the token, if any, to a context the caller made (streams).
  void Authorize(grpc::ClientContext* context) const;

  // Runs one unary call on a NewCall() context; a failure becomes
  // CallError(status, what).
  absl::Status Call(absl::string_view what,
                    absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call) const;

 private:
  Output& output_;
  GlobalFlags flags_;
  absl::Duration timeout_ = absl::Seconds(5);
  std::shared_ptr<grpc::ChannelCredentials> credentials_ =
      grpc::InsecureChannelCredentials();
  std::unique_ptr<registry::v1::RegistryService::StubInterface> registry_;
  std::unique_ptr<timeline::v1::TimelineService::StubInterface> timeline_;
};

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_CONTEXT_H_
