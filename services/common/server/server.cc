#include "services/common/server/server.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/common/happens_before.h"
#include "services/common/storage/kv_store.h"
#include "services/common/server/log.h"
#include "services/common/server/reflection_v1.h"

namespace presence {
namespace {

namespace exp = ::grpc::experimental;

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

// Adds `presence-version: <version line>` to the initial metadata of
// grpc.health.v1.Health/Check answers, so that a client (`presencectl
// version`) learns what it talks to with a call every deployment allows.
// Other methods get no interceptor at all (the factory returns null), so
// they pay nothing.
class VersionInterceptor final : public exp::Interceptor {
 public:
  explicit VersionInterceptor(const std::string* version) : version_(version) {}
  void Intercept(exp::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            exp::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kVersionMetadataKey, *version_);
    }
    methods->Proceed();
  }

 private:
  const std::string* const version_;
};

class VersionInterceptorFactory final
    : public exp::ServerInterceptorFactoryInterface {
 public:
  explicit VersionInterceptorFactory(std::string version)
      : version_(std::move(version)) {}
  exp::Interceptor* CreateServerInterceptor(exp::ServerRpcInfo* info) override {
    if (std::strcmp(info->method(), kHealthCheckMethod) != 0) return nullptr;
    return new VersionInterceptor(&version_);
  }

 private:
  const std::string version_;
};

// The interceptors of a server reporting `version` (none if empty).
std::vector<std::unique_ptr<exp::ServerInterceptorFactoryInterface>>
VersionInterceptors(const std::string& version) {
  std::vector<std::unique_ptr<exp::ServerInterceptorFactoryInterface>> out;
  if (!version.empty()) {
    out.push_back(std::make_unique<VersionInterceptorFactory>(version));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  if (tls.key_file.empty()) {
    return absl::InvalidArgumentError("tls_key: is required with tls_cert");
  }
  for (const std::string* file : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
    if (!file->empty() && !ReadFileToString(*file).ok()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot read ", *file));
    }
  }
  auto provider = std::make_shared<exp::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.client_ca_file,
      static_cast<unsigned>(tls.refresh_seconds));
  exp::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return exp::TlsServerCredentials(options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunningServer>> RunningServer::Start(
    ServerOptions options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // gRPC's default health service is written without protobuf's generated
  // classes, so nothing puts grpc.health.v1 into the generated descriptor
  // pool that reflection answers from: a reflection client lists Health but
  // cannot describe it (and grpcui refuses to start). Touching a generated
  // message registers its file.
  grpc::health::v1::HealthCheckRequest::descriptor();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFor(options.tls);
  if (!credentials.ok()) return credentials.status();

  for (const std::string* address : {&options.listen_address, &options.health_listen}) {
    if (address->empty()) continue;
    const size_t colon = address->rfind(':');
    int port = -1;
    if (colon == std::string::npos || !absl::SimpleAtoi(address->substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen address \"", *address, "\" is not host:port with a port in 0..65535"));
    }
  }
  std::unique_ptr<RunningServer> running(new RunningServer());
  std::vector<std::string> listed = options.service_names;
  listed.push_back("grpc.health.v1.Health");
  listed.push_back("grpc.reflection.v1.ServerReflection");
  listed.push_back("grpc.reflection.v1alpha.ServerReflection");
  running->reflection_v1_ = NewReflectionV1Service(std::move(listed));

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, *credentials, &running->port_);
  for (grpc::Service* service : options.services) {
    builder.RegisterService(service);
  }
  builder.RegisterService(running->reflection_v1_.get());
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  grpc::ResourceQuota quota("presence");
  quota.SetMaxThreads(options.max_threads);
  quota.Resize(options.memory_quota_bytes);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age_grace)));
  // Clients keep idle connections (watch streams) alive with pings every
  // ~20 s; accept those, and close connections that ping more often.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Sync services (health, reflection) poll their completion queues with
  // this timeout; shutdown waits for the pollers to notice, so keep it short.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::CQ_TIMEOUT_MSEC,
                              200);
  // gRPC's defaults (1 to 2 polling threads) make the synchronous server
  // start a thread for every call that arrives while the others are busy and
  // end it when the call is done: under concurrent calls that is a thread
  // created and joined per call. Idle threads keep polling instead, up to the
  // thread limit.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              std::max(2, options.max_threads));
  builder.experimental().SetInterceptorCreators(
      VersionInterceptors(options.version));
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
  if (!options.health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.experimental().SetInterceptorCreators(
        VersionInterceptors(options.version));
    health_builder.AddListeningPort(options.health_listen,
                                    grpc::InsecureServerCredentials(),
                                    &running->health_port_);
    running->health_server_ = health_builder.BuildAndStart();
    if (running->health_server_ == nullptr || running->health_port_ == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", options.health_listen, " for health"));
    }
    grpc::HealthCheckServiceInterface* plain =
        running->health_server_->GetHealthCheckService();
    plain->SetServingStatus(true);
    for (const std::string& name : options.service_names) {
      plain->SetServingStatus(name, true);
    }
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
  if (health_server_) health_server_->GetHealthCheckService()->SetServingStatus(false);
  if (before_stop) before_stop();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  PRESENCE_HAPPENS_AFTER(&kReactorsDone);  // Every reactor's OnDone.
  if (health_server_) {
    health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    health_server_->Wait();
  }
}

// The signals a service handles itself (see ServeUntilTerminated).
sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, signal);
  return set;
}

void BlockSignals() {
  // gRPC 1.51 leaves some connection work of idle client channels (ours to
  // the registry) to its backup poller, which runs every 5 s by default, so
  // noticing a peer's shutdown can take that long (grpc/grpc#41050). Poll
  // more often unless the operator chose otherwise. Read by grpc_init, hence
  // here, first thing.
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);
  // Debian builds abseil with assertions on, which turns on absl::Mutex's
  // deadlock detection: a lock-order graph updated on every lock of every
  // mutex, gRPC's own included (perf: GraphCycles::GetId/InsertEdge/
  // RemoveNode at several percent of the registry's CPU). Lock order is
  // checked by the tests and the thread annotations instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const sigset_t set = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForSignal() {
  const sigset_t set = HandledSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

absl::Status ServeUntilTerminated(RunningServer& server,
                                  const std::string& port_file,
                                  absl::Duration grace,
                                  const std::function<void()>& before_stop,
                                  const std::function<void()>& on_reload,
                                  const std::function<void()>& on_backup) {
  if (!port_file.empty()) {
    if (absl::Status s = WritePortFile(port_file, server.port()); !s.ok()) {
      return s;
    }
  }
  while (true) {
    const int signal = WaitForSignal();
    if (signal == SIGHUP) {
      Log(LogLevel::kInfo, "reload", {{"signal", "SIGHUP"}});
      if (on_reload) on_reload();
      continue;
    }
    if (signal == SIGUSR1) {
      if (on_backup) on_backup();
      continue;
    }
    Log(LogLevel::kInfo, "shutdown",
        {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
         {"grace_ms", absl::ToDoubleMilliseconds(grace)}});
    server.Shutdown(grace, before_stop);
    Log(LogLevel::kInfo, "server stopped");
    return absl::OkStatus();
  }
}

void BackupStore(storage::KvStore* store, const std::string& backup_dir) {
  const std::string dir = absl::StrCat(
      backup_dir, "/",
      absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()));
  std::error_code ec;
  std::filesystem::create_directories(backup_dir, ec);
  absl::Status s = store->Checkpoint(dir);
  if (s.ok()) {
    Log(LogLevel::kInfo, "backup", {{"dir", dir}});
  } else {
    Log(LogLevel::kError, "backup failed", {{"dir", dir}, {"error", s.ToString()}});
  }
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
