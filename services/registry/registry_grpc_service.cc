#include "services/registry/registry_grpc_service.h"

#include <deque>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/call_context.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/server/auth.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/rpc_gate.h"
#include "services/registry/registry.h"

namespace presence::registry {
namespace {

// Changes read from the log per batch while catching up.
constexpr size_t kWatchBatch = 256;

// Passes the gate with `access`, answers with `call(context)`, then lets the
// gate log and count the call.
template <typename Request, typename Response, typename Call>
grpc::ServerUnaryReactor* Serve(const RpcGate* gate,
                                grpc::CallbackServerContext* context,
                                absl::string_view method, Access access,
                                const Request* request, Response* response,
                                Call call) {
  RpcScope scope(gate, context, method);
  absl::StatusOr<CallContext> admitted = scope.Admit(access);
  grpc::Status status = admitted.ok() ? Reply(call(*admitted), response)
                                      : ToGrpcStatus(admitted.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(scope.Finish(context, std::move(status), request->ByteSizeLong()));
  return reactor;
}

}  // namespace

// Streams the change log to one watcher: replays from the start revision,
// then waits for commits. At most one write is in flight; the next batch is
// read from the log when the buffer runs dry, so a slow watcher only holds a
// position in the log, never a queue of changes.
class WatchReactor final
    : public grpc::ServerWriteReactor<v1::OrganizationChange> {
 public:
  WatchReactor(RegistryGrpcService* owner, Registry* registry,
               grpc::CallbackServerContext* context,
               std::unique_ptr<RpcScope> scope, int64_t after)
      : owner_(owner),
        registry_(registry),
        context_(context),
        scope_(std::move(scope)),
        after_(after) {}

  // Starts streaming. Called once, after the owner registered the reactor.
  void Begin() {
    // Headers go out at once, so the client knows the stream is established
    // even when there is nothing to replay.
    StartSendInitialMetadata();
    listener_ = registry_->Subscribe([this](int64_t) { Pump(); });
    Pump();
  }

  // Ends the stream with `status` once the write in flight (if any) is done.
  void Stop(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (finishing_) return;
      finishing_ = true;
      if (writing_) {
        final_status_ = std::move(status);
        return;
      }
    }
    End(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // The client went away.
      Stop(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
    }
    std::optional<grpc::Status> deferred;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (finishing_) deferred = std::move(final_status_);
    }
    if (deferred) {
      End(*std::move(deferred));
      return;
    }
    Pump();
  }

  void OnCancel() override {
    Stop(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

  void OnDone() override {
    registry_->Unsubscribe(listener_);
    owner_->Forget(this);
    delete this;
  }

 private:
  // Finishes the stream through the gate (trailers, log line, metrics).
  void End(grpc::Status status) {
    Finish(scope_->Finish(context_, std::move(status), 0));
  }

  // Writes the next change if none is in flight, reading from the log when
  // the buffer is empty.
  void Pump() {
    absl::Status error;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finishing_) return;
      if (buffer_.empty()) {
        absl::StatusOr<std::vector<v1::OrganizationChange>> changes =
            registry_->ReadChanges(after_, kWatchBatch);
        if (!changes.ok()) {
          error = changes.status();
        } else {
          for (auto& c : *changes) buffer_.push_back(std::move(c));
        }
      }
      if (error.ok()) {
        if (buffer_.empty()) return;  // Caught up: wait for a commit.
        current_ = std::move(buffer_.front());
        buffer_.pop_front();
        after_ = current_.revision();
        writing_ = true;
      }
    }
    if (!error.ok()) {
      Stop(ToGrpcStatus(error));
      return;
    }
    scope_->MessageSent();
    StartWrite(&current_);
  }

  RegistryGrpcService* const owner_;
  Registry* const registry_;
  grpc::CallbackServerContext* const context_;
  const std::unique_ptr<RpcScope> scope_;
  CommitSequencer::ListenerId listener_ = 0;

  absl::Mutex mu_;
  int64_t after_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::OrganizationChange> buffer_ ABSL_GUARDED_BY(mu_);
  // Owned here while a write is in flight.
  v1::OrganizationChange current_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> final_status_ ABSL_GUARDED_BY(mu_);
};

RegistryGrpcService::RegistryGrpcService(Registry* registry,
                                         const RpcGate* gate, int max_watchers)
    : registry_(registry), gate_(gate), max_watchers_(max_watchers) {}

int RegistryGrpcService::watchers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watchers_.size());
}

RegistryGrpcService::~RegistryGrpcService() = default;

void RegistryGrpcService::EndStreams() {
  absl::MutexLock lock(&mu_);
  streams_ended_ = true;
  for (WatchReactor* watcher : watchers_) {
    watcher->Stop(ToGrpcStatus(
        ErrorBuilder(absl::UnavailableError("the registry is shutting down; resume "
                                            "from the last revision received"))
            .Reason(kShuttingDown)
            .RetryAfter(absl::Seconds(1))));
  }
}

void RegistryGrpcService::Forget(WatchReactor* reactor) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(reactor);
}

grpc::ServerUnaryReactor* RegistryGrpcService::GetOrganization(
    grpc::CallbackServerContext* context,
    const v1::GetOrganizationRequest* request, v1::Organization* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/GetOrganization", Access::kRead, request, response,
               [&](const CallContext& /*call*/) { return registry_->GetOrganization(request->name()); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::BatchGetOrganizations(
    grpc::CallbackServerContext* context,
    const v1::BatchGetOrganizationsRequest* request,
    v1::BatchGetOrganizationsResponse* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/BatchGetOrganizations", Access::kRead, request, response,
               [&](const CallContext& /*call*/) { return registry_->BatchGetOrganizations(*request); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::ListOrganizations(
    grpc::CallbackServerContext* context,
    const v1::ListOrganizationsRequest* request,
    v1::ListOrganizationsResponse* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/ListOrganizations", Access::kRead, request, response,
               [&](const CallContext& /*call*/) { return registry_->ListOrganizations(*request); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::CreateOrganization(
    grpc::CallbackServerContext* context,
    const v1::CreateOrganizationRequest* request, v1::Organization* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/CreateOrganization", Access::kWrite, request, response,
               [&](const CallContext& call) { return registry_->CreateOrganization(*request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::BatchCreateOrganizations(
    grpc::CallbackServerContext* context,
    const v1::BatchCreateOrganizationsRequest* request,
    v1::BatchCreateOrganizationsResponse* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/BatchCreateOrganizations", Access::kWrite, request, response,
               [&](const CallContext& call) { return registry_->BatchCreateOrganizations(*request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::UpdateOrganization(
    grpc::CallbackServerContext* context,
    const v1::UpdateOrganizationRequest* request, v1::Organization* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/UpdateOrganization", Access::kWrite, request, response,
               [&](const CallContext& call) { return registry_->UpdateOrganization(*request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::DeleteOrganization(
    grpc::CallbackServerContext* context,
    const v1::DeleteOrganizationRequest* request, v1::Organization* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/DeleteOrganization", Access::kWrite, request, response,
               [&](const CallContext& call) { return registry_->DeleteOrganization(*request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::UndeleteOrganization(
    grpc::CallbackServerContext* context,
    const v1::UndeleteOrganizationRequest* request,
    v1::Organization* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/UndeleteOrganization", Access::kWrite, request, response,
               [&](const CallContext& call) { return registry_->UndeleteOrganization(*request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::LookupOrganization(
    grpc::CallbackServerContext* context,
    const v1::LookupOrganizationRequest* request, v1::Organization* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/LookupOrganization", Access::kRead, request, response,
               [&](const CallContext& /*call*/) { return registry_->LookupOrganization(request->alias()); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::ListOrganizationRevisions(
    grpc::CallbackServerContext* context,
    const v1::ListOrganizationRevisionsRequest* request,
    v1::ListOrganizationRevisionsResponse* response) {
  return Serve(gate_, context, "/presence.registry.v1.RegistryService/ListOrganizationRevisions", Access::kRead, request, response,
               [&](const CallContext& /*call*/) { return registry_->ListOrganizationRevisions(*request); });
}

grpc::ServerWriteReactor<v1::OrganizationChange>*
RegistryGrpcService::WatchOrganizations(
    grpc::CallbackServerContext* context,
    const v1::WatchOrganizationsRequest* request) {
  // Sent at once (see WatchReactor::Begin): tells the client the stream is
  // established and at which revision the registry stood.
  context->AddInitialMetadata("presence-revision",
                              std::to_string(registry_->CurrentRevision()));
  auto scope = std::make_unique<RpcScope>(
      gate_, context, "/presence.registry.v1.RegistryService/WatchOrganizations",
      RpcType::kServerStream);
  absl::Status valid = scope->Admit(Access::kRead).status();
  auto* reactor = new WatchReactor(this, registry_, context, std::move(scope),
                                   request->start_revision());
  if (valid.ok()) valid = registry_->CheckWatchStart(request->start_revision());
  {
    absl::MutexLock lock(&mu_);
    if (valid.ok() && streams_ended_) {
      valid = ErrorBuilder(absl::UnavailableError("the registry is shutting down"))
                  .Reason(kShuttingDown)
                  .RetryAfter(absl::Seconds(1));
    }
    if (valid.ok() && static_cast<int>(watchers_.size()) >= max_watchers_) {
      valid = ErrorBuilder(absl::ResourceExhaustedError(absl::StrCat(
                  "the registry serves at most ", max_watchers_,
                  " watch streams at once (--max_watchers); retry later")))
                  .Reason(kTooManyWatchers)
                  .Meta("maxWatchers", absl::StrCat(max_watchers_))
                  .RetryAfter(absl::Seconds(5));
    }
    if (valid.ok()) watchers_.insert(reactor);
  }
  if (!valid.ok()) {
    reactor->Stop(ToGrpcStatus(valid));
  } else {
    reactor->Begin();
  }
  return reactor;
}

}  // namespace presence::registry
