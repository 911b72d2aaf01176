// presence-bench-null: the baseline server of the benchmark. A 1 KB echo on
// the same gRPC, the same server set-up (RunningServer) and the same API
// (callback) as the registry, without the service's own work.

#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "presence/bench/v1/bench.grpc.pb.h"
#include "services/common/server/log.h"
#include "services/common/server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port");
ABSL_FLAG(std::string, port_file, "", "Write the bound port here.");
ABSL_FLAG(std::string, data_dir, "", "Ignored (the null server stores nothing).");

namespace {

class NullService final : public presence::bench::v1::NullService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const presence::bench::v1::EchoRequest* request,
                                 presence::bench::v1::EchoResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  presence::BlockSignals();
  absl::ParseCommandLine(argc, argv);
  NullService service;
  presence::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.services = {&service};
  options.service_names = {"presence.bench.v1.NullService"};
  auto server = presence::RunningServer::Start(options);
  if (!server.ok()) {
    presence::LogError(server.status().ToString());
    return 1;
  }
  auto s = presence::ServeUntilTerminated(**server, absl::GetFlag(FLAGS_port_file),
                                          absl::Seconds(1), nullptr);
  return s.ok() ? 0 : 1;
}
