#include "bench/etcd_peer.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "etcdserverpb/kv.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/testing/free_port.h"
#include "tests/testing/subprocess.h"

namespace presence::bench {
namespace {

constexpr char kEtcd[] = "/usr/bin/etcd";
constexpr char kKey[] = "presence-bench/value";
constexpr size_t kValueBytes = 1024;
constexpr int kStartAttempts = 5;
constexpr absl::Duration kServeBudget = absl::Seconds(30);

std::string Tail(const std::string& text, size_t bytes = 600) {
  return text.size() <= bytes ? text : text.substr(text.size() - bytes);
}

}  // namespace

struct EtcdPeer::State {
  std::string data_dir;
  std::optional<testing::Subprocess> process;
  std::unique_ptr<etcdserverpb::KV::Stub> stub;
  etcdserverpb::RangeRequest range;
};

EtcdPeer::EtcdPeer(std::unique_ptr<State> state) : state_(std::move(state)) {}

EtcdPeer::~EtcdPeer() {
  if (state_->process) {
    state_->process->Signal(SIGTERM);
    // The destructor SIGKILLs it if it has not exited by then.
    (void)state_->process->Wait(absl::Seconds(10));
  }
  std::error_code ignored;
  std::filesystem::remove_all(state_->data_dir, ignored);
}

pid_t EtcdPeer::pid() const { return state_->process->pid(); }

absl::StatusOr<std::unique_ptr<EtcdPeer>> EtcdPeer::Start(const std::string& work_dir,
                                                          bool pprof) {
  if (::access(kEtcd, X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(kEtcd, " missing: run scripts/install-deps (Debian's etcd-server)"));
  }
  auto state = std::make_unique<State>();
  state->data_dir = work_dir + "/etcd-peer";
  const std::string log = work_dir + "/etcd-peer.log";
  std::string last_error;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    std::error_code ignored;
    std::filesystem::remove_all(state->data_dir, ignored);
    const int client_port = testing::FreeLoopbackPort();
    const int peer_port = testing::FreeLoopbackPort();
    if (client_port == 0 || peer_port == 0 || client_port == peer_port) continue;
    const std::string client = absl::StrCat("http://127.0.0.1:", client_port);
    const std::string peer = absl::StrCat("http://127.0.0.1:", peer_port);
    // Defaults otherwise (fsync on, its own logging), as a user would run it.
    std::vector<std::string> argv = {
        kEtcd, "--name=bench", "--data-dir=" + state->data_dir,
        "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
        "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
        "--initial-cluster=bench=" + peer, "--initial-cluster-state=new",
        "--logger=zap", "--log-outputs=stderr"};
    if (pprof) argv.push_back("--enable-pprof");
    state->process = testing::Subprocess::Start(argv, log);
    if (!state->process) return absl::InternalError(absl::StrCat("could not spawn ", kEtcd));
    state->stub = etcdserverpb::KV::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", client_port),
                            grpc::InsecureChannelCredentials()));
    // Serving once a Put is acknowledged (a one-member cluster elects itself
    // within about a second); gone if etcd exited (e.g. a port was taken).
    etcdserverpb::PutRequest put;
    put.set_key(kKey);
    put.set_value(std::string(kValueBytes, 'v'));
    bool exited = false, served = false;
    const absl::Time deadline = absl::Now() + kServeBudget;
    while (!served && !exited && absl::Now() < deadline) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
      etcdserverpb::PutResponse response;
      grpc::Status s = state->stub->Put(&context, put, &response);
      served = s.ok();
      if (!s.ok()) last_error = s.error_message();
      exited = !served && state->process->Wait(absl::Milliseconds(50)).has_value();
    }
    if (served) {
      state->range.set_key(kKey);
      state->range.set_serializable(true);
      return std::unique_ptr<EtcdPeer>(new EtcdPeer(std::move(state)));
    }
    state->process.reset();  // SIGKILLs it if it still runs.
    if (!exited) break;      // Running but not serving: another port will not help.
  }
  std::error_code ignored;
  std::filesystem::remove_all(state->data_dir, ignored);
  return absl::UnavailableError(absl::StrCat("etcd did not serve (", last_error, "); log ",
                                             log, ": ", Tail(testing::ReadFile(log))));
}

void EtcdPeer::StartRange(std::function<void(bool)> done) {
  struct Call {
    grpc::ClientContext context;
    etcdserverpb::RangeResponse response;
  };
  auto* call = new Call();
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  state_->stub->async()->Range(
      &call->context, &state_->range, &call->response,
      [call, done = std::move(done)](grpc::Status status) {
        done(status.ok() && call->response.kvs_size() == 1 &&
             call->response.kvs(0).value().size() == kValueBytes);
        delete call;
      });
}

}  // namespace presence::bench
