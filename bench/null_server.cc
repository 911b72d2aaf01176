// presence-bench-null: the baseline server of the benchmark, on the same
// gRPC and the same server set-up (RunningServer) as the services, without
// the services' own work. Two methods:
//   Echo             a 1 KB echo;
//   GetOrganization  answers every request, unparsed, with the bytes of
//                    --response_file (the registry's answer for the
//                    benchmarked organization, which the bench writes), so
//                    the client parses the same message of the same size.
// --api chooses gRPC's server API: "callback" (the registry's reads were on
// it) or "sync" (the synchronous API the timeline is on); the bench measures
// both and takes the faster as the baseline.

#include <string>

#include "absl/flags/flag.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "presence/bench/v1/bench.grpc.pb.h"
#include "services/common/program_flags.h"
#include "services/common/server/log.h"
#include "services/common/server/raw_service.h"
#include "services/common/server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port");
ABSL_FLAG(std::string, port_file, "", "Write the bound port here.");
ABSL_FLAG(std::string, data_dir, "", "Ignored (the null server stores nothing).");
ABSL_FLAG(std::string, api, "callback", "gRPC's server API: \"callback\" or \"sync\".");
ABSL_FLAG(int32_t, max_threads, 64, "Threads the gRPC server may use (RunningServer's).");
ABSL_FLAG(std::string, response_file, "",
          "The bytes GetOrganization answers with (empty: an empty message).");

namespace {

namespace bv1 = ::presence::bench::v1;

constexpr char kEcho[] = "/presence.bench.v1.NullService/Echo";
constexpr char kGetOrganization[] = "/presence.bench.v1.NullService/GetOrganization";

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

class CallbackNullService final
    : public bv1::NullService::WithRawCallbackMethod_GetOrganization<
          bv1::NullService::WithCallbackMethod_Echo<bv1::NullService::Service>> {
 public:
  explicit CallbackNullService(const std::string& response) : response_(ToByteBuffer(response)) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const bv1::EchoRequest* request,
                                 bv1::EchoResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* GetOrganization(grpc::CallbackServerContext* context,
                                            const grpc::ByteBuffer* /*request*/,
                                            grpc::ByteBuffer* response) override {
    *response = response_;  // Shares the slice.
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const grpc::ByteBuffer response_;
};

// The synchronous API, registered as the timeline's raw methods are.
class SyncNullService final : public presence::RawSyncService {
 public:
  explicit SyncNullService(const std::string& response) : response_(ToByteBuffer(response)) {
    // EchoResponse has EchoRequest's field: the request's bytes are the answer.
    AddRawUnaryMethod(kEcho, [](grpc::ServerContext*, const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response) {
      *response = *request;
      return grpc::Status::OK;
    });
    AddRawUnaryMethod(kGetOrganization, [this](grpc::ServerContext*, const grpc::ByteBuffer*,
                                               grpc::ByteBuffer* response) {
      *response = response_;
      return grpc::Status::OK;
    });
  }

 private:
  const grpc::ByteBuffer response_;
};

}  // namespace

int main(int argc, char** argv) {
  presence::BlockSignals();
  presence::ParseProgramFlags(
      argc, argv, "presence-bench-null",
      "the benchmark's null gRPC server: answers NullService calls with fixed "
      "bytes, the baseline of the read targets (started by presence-bench)",
      "bench/");
  std::string response;
  if (const std::string file = absl::GetFlag(FLAGS_response_file); !file.empty()) {
    absl::StatusOr<std::string> read = presence::ReadFileToString(file);
    if (!read.ok()) {
      presence::LogError(read.status().ToString());
      return 1;
    }
    response = *std::move(read);
  }
  const std::string api = absl::GetFlag(FLAGS_api);
  if (api != "callback" && api != "sync") {
    presence::LogError("--api: \"callback\" or \"sync\"");
    return 2;
  }
  CallbackNullService callback(response);
  SyncNullService sync(response);
  presence::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.services = {api == "sync" ? static_cast<grpc::Service*>(&sync) : &callback};
  options.service_names = {"presence.bench.v1.NullService"};
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  auto server = presence::RunningServer::Start(options);
  if (!server.ok()) {
    presence::LogError(server.status().ToString());
    return 1;
  }
  auto s = presence::ServeUntilTerminated(**server, absl::GetFlag(FLAGS_port_file),
                                          absl::Seconds(1), nullptr);
  return s.ok() ? 0 : 1;
}
