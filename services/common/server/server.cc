#include "services/common/server/server.h"

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/common/server/log.h"
#include "services/common/server/reflection_v1.h"

namespace presence {
namespace {

namespace exp = ::grpc::experimental;

// Logs "rpc <method> <code> <latency>" when the server sends the status.
class LoggingInterceptor final : public exp::Interceptor {
 public:
  explicit LoggingInterceptor(exp::ServerRpcInfo* info)
      : method_(info->method() != nullptr ? info->method() : "?"),
        start_(absl::Now()) {}

  void Intercept(exp::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            exp::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      LogInfo(absl::StrCat("rpc ", method_, " ",
                           CodeName(status.error_code()), " ",
                           absl::FormatDuration(absl::Now() - start_)));
    }
    methods->Proceed();
  }

 private:
  static const char* CodeName(grpc::StatusCode code) {
    static constexpr const char* kNames[] = {
        "OK",        "CANCELLED",          "UNKNOWN",
        "INVALID_ARGUMENT",     "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS",       "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",  "ABORTED",           "OUT_OF_RANGE",
        "UNIMPLEMENTED",        "INTERNAL",          "UNAVAILABLE",
        "DATA_LOSS",            "UNAUTHENTICATED"};
    const int i = static_cast<int>(code);
    return i >= 0 && i < 17 ? kNames[i] : "?";
  }

  std::string method_;
  absl::Time start_;
};

class LoggingInterceptorFactory final
    : public exp::ServerInterceptorFactoryInterface {
 public:
  exp::Interceptor* CreateServerInterceptor(exp::ServerRpcInfo* info) override {
    return new LoggingInterceptor(info);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<RunningServer>> RunningServer::Start(
    ServerOptions options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<RunningServer> running(new RunningServer());
  std::vector<std::string> listed = options.service_names;
  listed.push_back("grpc.health.v1.Health");
  listed.push_back("grpc.reflection.v1.ServerReflection");
  listed.push_back("grpc.reflection.v1alpha.ServerReflection");
  running->reflection_v1_ = NewReflectionV1Service(std::move(listed));

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address,
                           grpc::InsecureServerCredentials(), &running->port_);
  for (grpc::Service* service : options.services) {
    builder.RegisterService(service);
  }
  builder.RegisterService(running->reflection_v1_.get());
  // Clients keep idle connections (watch streams) alive with pings every
  // ~20 s; accept them instead of answering with GOAWAY "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Sync services (health, reflection) poll their completion queues with
  // this timeout; shutdown waits for the pollers to notice, so keep it short.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::CQ_TIMEOUT_MSEC,
                              200);
  if (options.log_rpcs) {
    std::vector<std::unique_ptr<exp::ServerInterceptorFactoryInterface>>
        creators;
    creators.push_back(std::make_unique<LoggingInterceptorFactory>());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  running->server_ = builder.BuildAndStart();
  if (running->server_ == nullptr || running->port_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", options.listen_address));
  }
  grpc::HealthCheckServiceInterface* health =
      running->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const std::string& name : options.service_names) {
    health->SetServingStatus(name, true);
  }
  return running;
}

RunningServer::RunningServer() = default;
RunningServer::~RunningServer() { Shutdown(absl::ZeroDuration()); }

void RunningServer::Shutdown(absl::Duration grace,
                             const std::function<void()>& before_stop) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  if (before_stop) before_stop();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

void BlockSignals() {
  // gRPC 1.51 leaves some connection work of idle client channels (ours to
  // the registry) to its backup poller, which runs every 5 s by default, so
  // noticing a peer's shutdown can take that long (grpc/grpc#41050). Poll
  // more often unless the operator chose otherwise. Read by grpc_init, hence
  // here, first thing.
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

absl::Status ServeUntilTerminated(RunningServer& server,
                                  const std::string& port_file,
                                  absl::Duration grace,
                                  const std::function<void()>& before_stop) {
  if (!port_file.empty()) {
    if (absl::Status s = WritePortFile(port_file, server.port()); !s.ok()) {
      return s;
    }
  }
  const int signal = WaitForTerminationSignal();
  LogInfo(absl::StrCat("signal ", signal, ": shutting down within ",
                       absl::FormatDuration(grace)));
  server.Shutdown(grace, before_stop);
  LogInfo("server stopped");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return text;
}

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.good()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace presence
