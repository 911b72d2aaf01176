#include "services/registry/registry_grpc_service.h"

#include <atomic>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/call_context.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/happens_before.h"
#include "services/common/server/auth.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/raw_call.h"
#include "services/common/server/rpc_gate.h"
#include "services/common/server/work_pool.h"
#include "services/common/server/write_call.h"
#include "services/common/status_macros.h"
#include "services/registry/change_feed.h"
#include "services/registry/registry.h"

namespace presence::registry {
namespace {

// Changes read from the log per batch while catching up.
constexpr size_t kWatchBatch = 256;

// Where calls that block run (services/common/server/work_pool.h): writes
// always (the commit section, a database round trip; not their sync, see
// write_call.h), reads too when the store is remote.
WorkPool& BlockingCalls() {
  static WorkPool* const pool = new WorkPool(32);
  return *pool;
}
std::atomic<bool> blocking_reads{false};

// What a read answers, which decides how long the gate counts it in flight
// (--max_in_flight bounds the memory that answers waiting for slow clients
// hold under overload, FaultTest.OverloadShedsCallsWithBoundedMemoryAndRecovers).
enum class Answer {
  // At most one record (Get, Lookup: a few KB): counted while served. Such
  // a call finishes with gRPC's default reactor, whose OnDone runs inline;
  // the OnDone of a reactor of ours is scheduled on gRPC's executor, a thread
  // hop per call, which on a busy machine also let finished calls pile up in
  // the gate's count until reads were refused with TOO_MANY_CALLS at 64 in
  // flight.
  kOneRecord,
  // Pages and batches (up to megabytes): counted until the answer is sent.
  kPages,
};

// ServeUnary (services/common/server/raw_call.h) for a read on the callback
// API: on gRPC's callback thread or, when the store is remote (a round trip
// per read), on BlockingCalls(). The write methods use ServeWrite
// (services/common/server/write_call.h). `call` must not refer to the
// handler's locals: it may run after the handler returned (it gets the
// parsed request as its argument).
template <typename Request, typename Call>
grpc::ServerUnaryReactor* Serve(const RpcGate* gate,
                                grpc::CallbackServerContext* context,
                                absl::string_view method, Answer answer,
                                const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response, Call call) {
  if (answer == Answer::kPages) {
    auto* reactor = new CountedReactor(gate);
    auto serve = [gate, context, method, request, response, reactor, call = std::move(call)] {
      grpc::Status status = ServeUnary<Request>(gate, context, method, Access::kRead, request,
                                                response, reactor->entered(), call);
      PRESENCE_HAPPENS_BEFORE(reactor);  // OnDone follows Finish.
      reactor->Finish(std::move(status));
    };
    if (blocking_reads) {
      BlockingCalls().Run(std::move(serve));
    } else {
      serve();
    }
    return reactor;
  }
  // In flight while it is served (as on the synchronous API: the answer
  // then waits for the client in gRPC's buffers, under the server's memory
  // quota) and finished with the default reactor, here on gRPC's thread or,
  // when the store is remote, from BlockingCalls() (a delayed Finish, which
  // the default reactor supports: its OnDone still runs inline, no thread
  // hop; bench/results/profile-postgresql-get.txt).
  const bool entered = gate->TryEnter();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto serve = [gate, context, method, request, response, reactor, entered,
                call = std::move(call)] {
    grpc::Status status = ServeUnary<Request>(gate, context, method, Access::kRead, request,
                                              response, entered, call);
    if (entered) gate->Leave();
    reactor->Finish(std::move(status));
    PRESENCE_HAPPENS_BEFORE(&kReactorsDone);
  };
  if (blocking_reads) {
    BlockingCalls().Run(std::move(serve));
  } else {
    serve();
  }
  return reactor;
}

}  // namespace

// Streams the change log to one watcher: replays from the start revision,
// then follows the registry's change feed (change_feed.h). At most one write
// is in flight; the next changes are taken from the feed when the buffer
// runs dry — from memory, shared with every other watcher, or from the log
// when this watcher is behind what the feed holds — so a slow watcher only
// holds a position, never a queue of changes. A caught-up watcher parks in
// the feed and is woken by the feed's thread: commits do nothing per
// watcher.
class WatchReactor final
    : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
      private ChangeFeed::Waiter {
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
    PRESENCE_HAPPENS_AFTER(this);  // The StartWrite in Pump.
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
    } else {
      Pump();
    }
    // OnDone runs after this reaction has returned (gRPC counts it), as
    // after OnCancel below.
    PRESENCE_HAPPENS_BEFORE(this);
  }

  void OnCancel() override {
    Stop(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
    // gRPC runs OnDone only after OnCancel has returned (it holds a
    // reference on the call for it), through atomics TSan does not see.
    PRESENCE_HAPPENS_BEFORE(this);
  }

  void OnDone() override {
    PRESENCE_HAPPENS_AFTER(this);  // Every StartWrite and the Finish.
    registry_->feed().Unpark(this);
    owner_->Forget(this);
    delete this;
    PRESENCE_HAPPENS_BEFORE(&kReactorsDone);
  }

 private:
  // The feed moved on (on the feed's thread).
  void Wake() override { Pump(); }

  // Finishes the stream through the gate (trailers, log line, metrics).
  void End(grpc::Status status) {
    grpc::Status final_status = scope_->Finish(context_, std::move(status), 0);
    PRESENCE_HAPPENS_BEFORE(this);  // OnDone follows Finish.
    Finish(std::move(final_status));
  }

  // Fills the buffer from the feed, or from the log when behind it. OK with
  // an empty buffer: parked in the feed until the next change.
  absl::Status Refill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<ChangeFeed::Change> changes;
    PRESENCE_ASSIGN_OR_RETURN(
        const ChangeFeed::Outcome outcome,
        registry_->feed().Read(after_, kWatchBatch, this, &changes));
    if (outcome == ChangeFeed::Outcome::kBehind) {
      PRESENCE_ASSIGN_OR_RETURN(changes,
                                registry_->ReadSerializedChanges(after_, kWatchBatch));
      // Never empty: the feed holds later changes, so the log has the next.
      if (changes.empty()) {
        return absl::InternalError(absl::StrCat(
            "the change log has nothing after revision ", after_,
            " although the feed holds later changes"));
      }
    }
    for (ChangeFeed::Change& c : changes) buffer_.push_back(std::move(c));
    return absl::OkStatus();
  }

  // Writes the next change if none is in flight, refilling the buffer when
  // it is empty.
  void Pump() {
    absl::Status error;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finishing_) return;
      if (buffer_.empty()) error = Refill();
      if (error.ok()) {
        if (buffer_.empty()) return;  // Caught up: parked in the feed.
        const ChangeFeed::Change& next = buffer_.front();
        grpc::Slice slice(next.bytes->data(), next.bytes->size());
        current_bytes_ = grpc::ByteBuffer(&slice, 1);
        after_ = next.revision;
        buffer_.pop_front();
        writing_ = true;
      }
    }
    if (!error.ok()) {
      Stop(ToGrpcStatus(error));
      return;
    }
    scope_->MessageSent();
    PRESENCE_HAPPENS_BEFORE(this);  // OnWriteDone follows StartWrite.
    StartWrite(&current_bytes_);
  }

  RegistryGrpcService* const owner_;
  Registry* const registry_;
  grpc::CallbackServerContext* const context_;
  const std::unique_ptr<RpcScope> scope_;

  absl::Mutex mu_;
  int64_t after_ ABSL_GUARDED_BY(mu_);
  std::deque<ChangeFeed::Change> buffer_ ABSL_GUARDED_BY(mu_);
  // Owned here while a write is in flight.
  grpc::ByteBuffer current_bytes_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> final_status_ ABSL_GUARDED_BY(mu_);
};

RegistryGrpcService::RegistryGrpcService(Registry* registry,
                                         const RpcGate* gate, int max_watchers,
                                         bool remote_store)
    : registry_(registry), gate_(gate), max_watchers_(max_watchers) {
  if (remote_store) blocking_reads = true;
}

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
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return Serve<v1::GetOrganizationRequest>(
      gate_, context, "/presence.registry.v1.RegistryService/GetOrganization", Answer::kOneRecord,
      raw_request, raw_response, [this](const v1::GetOrganizationRequest& request, const CallContext& /*call*/) {
        return SerializedMessage::Of(registry_->GetOrganizationBytes(request.name()));
      });
}

grpc::ServerUnaryReactor* RegistryGrpcService::BatchGetOrganizations(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return Serve<v1::BatchGetOrganizationsRequest>(
      gate_, context, "/presence.registry.v1.RegistryService/BatchGetOrganizations", Answer::kPages,
      raw_request, raw_response, [this](const v1::BatchGetOrganizationsRequest& request, const CallContext& /*call*/) { return registry_->BatchGetOrganizations(request); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::ListOrganizations(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return Serve<v1::ListOrganizationsRequest>(
      gate_, context, "/presence.registry.v1.RegistryService/ListOrganizations", Answer::kPages,
      raw_request, raw_response, [this](const v1::ListOrganizationsRequest& request, const CallContext& /*call*/) { return registry_->ListOrganizations(request); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::CreateOrganization(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return ServeWrite<v1::CreateOrganizationRequest>(
      BlockingCalls(), gate_, context, "/presence.registry.v1.RegistryService/CreateOrganization",
      raw_request, raw_response, [this](const v1::CreateOrganizationRequest& request, const CallContext& call) { return registry_->CreateOrganization(request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::BatchCreateOrganizations(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return ServeWrite<v1::BatchCreateOrganizationsRequest>(
      BlockingCalls(), gate_, context, "/presence.registry.v1.RegistryService/BatchCreateOrganizations",
      raw_request, raw_response, [this](const v1::BatchCreateOrganizationsRequest& request, const CallContext& call) { return registry_->BatchCreateOrganizations(request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::UpdateOrganization(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return ServeWrite<v1::UpdateOrganizationRequest>(
      BlockingCalls(), gate_, context, "/presence.registry.v1.RegistryService/UpdateOrganization",
      raw_request, raw_response, [this](const v1::UpdateOrganizationRequest& request, const CallContext& call) { return registry_->UpdateOrganization(request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::DeleteOrganization(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return ServeWrite<v1::DeleteOrganizationRequest>(
      BlockingCalls(), gate_, context, "/presence.registry.v1.RegistryService/DeleteOrganization",
      raw_request, raw_response, [this](const v1::DeleteOrganizationRequest& request, const CallContext& call) { return registry_->DeleteOrganization(request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::UndeleteOrganization(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return ServeWrite<v1::UndeleteOrganizationRequest>(
      BlockingCalls(), gate_, context, "/presence.registry.v1.RegistryService/UndeleteOrganization",
      raw_request, raw_response, [this](const v1::UndeleteOrganizationRequest& request, const CallContext& call) { return registry_->UndeleteOrganization(request, call); });
}

grpc::ServerUnaryReactor* RegistryGrpcService::LookupOrganization(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return Serve<v1::LookupOrganizationRequest>(
      gate_, context, "/presence.registry.v1.RegistryService/LookupOrganization", Answer::kOneRecord,
      raw_request, raw_response, [this](const v1::LookupOrganizationRequest& request, const CallContext& /*call*/) {
        return SerializedMessage::Of(registry_->LookupOrganizationBytes(request.alias()));
      });
}

grpc::ServerUnaryReactor* RegistryGrpcService::ListOrganizationRevisions(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  return Serve<v1::ListOrganizationRevisionsRequest>(
      gate_, context, "/presence.registry.v1.RegistryService/ListOrganizationRevisions", Answer::kPages,
      raw_request, raw_response, [this](const v1::ListOrganizationRevisionsRequest& request, const CallContext& /*call*/) { return registry_->ListOrganizationRevisions(request); });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>*
RegistryGrpcService::WatchOrganizations(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* raw_request) {
  // Sent at once (see WatchReactor::Begin): tells the client the stream is
  // established and at which revision the registry stood.
  absl::StatusOr<int64_t> revision = registry_->CurrentRevision();
  if (revision.ok()) {
    context->AddInitialMetadata("presence-revision", std::to_string(*revision));
  }
  auto scope = std::make_unique<RpcScope>(
      gate_, context, "/presence.registry.v1.RegistryService/WatchOrganizations",
      RpcType::kServerStream);
  absl::Status valid = scope->Admit(Access::kRead).status();
  v1::WatchOrganizationsRequest request;
  if (valid.ok()) valid = ParseRequest(*raw_request, &request);
  auto* reactor = new WatchReactor(this, registry_, context, std::move(scope),
                                   request.start_revision());
  if (valid.ok()) valid = revision.status();
  if (valid.ok()) valid = registry_->CheckWatchStart(request.start_revision());
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
