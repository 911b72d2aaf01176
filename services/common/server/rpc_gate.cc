#include "services/common/server/rpc_gate.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/common/server/log.h"
#include "services/common/server/metrics.h"

namespace presence {
namespace {

namespace exp = ::grpc::experimental;

constexpr size_t kMaxRequestIdLength = 128;

// What the interceptor learned about one RPC, for its handler.
struct RpcRecord {
  std::string request_id;
  Credentials credentials;
};

// RPCs in flight, by server context. The interceptor adds a record before the
// handler runs and removes it when the RPC is done.
class RpcRecords {
 public:
  void Put(const grpc::ServerContextBase* context, RpcRecord record) {
    absl::MutexLock lock(&mu_);
    records_[context] = std::move(record);
  }
  RpcRecord Get(const grpc::ServerContextBase* context) const {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(context);
    return it == records_.end() ? RpcRecord{} : it->second;
  }
  void Erase(const grpc::ServerContextBase* context) {
    absl::MutexLock lock(&mu_);
    records_.erase(context);
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, RpcRecord> records_
      ABSL_GUARDED_BY(mu_);
};

RpcRecords& Records() {
  static RpcRecords* const records = new RpcRecords();
  return *records;
}

std::string NewRequestId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* const gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(*gen));
}

bool IsPrintable(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

class GateInterceptor final : public exp::Interceptor {
 public:
  GateInterceptor(const RpcGate* gate, exp::ServerRpcInfo* info)
      : gate_(gate),
        context_(info->server_context()),
        method_(info->method() != nullptr ? info->method() : "?"),
        // Only our own services' messages are protobuf messages for sure
        // (gRPC's health service reads raw bytes).
        protobuf_request_(absl::StartsWith(method_, "/presence.")),
        start_(absl::Now()) {
    Metrics::Global().RpcStarted();
  }

  ~GateInterceptor() override {
    Records().Erase(context_);
    if (!finished_) {
      Metrics::Global().RpcFinished(method_, "CANCELLED",
                                    absl::ToDoubleSeconds(absl::Now() - start_));
    }
  }

  void Intercept(exp::InterceptorBatchMethods* methods) override {
    using Hook = exp::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
      RecordCaller(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) &&
        protobuf_request_ && methods->GetRecvMessage() != nullptr) {
      request_bytes_ += static_cast<const google::protobuf::Message*>(
                            methods->GetRecvMessage())->ByteSizeLong();
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      // In the trailers, not the headers: an error sent without headers
      // ("trailers-only") stays retryable for clients with a retry policy.
      methods->GetSendTrailingMetadata()->emplace("x-request-id", request_id_);
      Finish(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void RecordCaller(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    RpcRecord record;
    auto id = metadata.find("x-request-id");
    if (id != metadata.end() && !id->second.empty() &&
        id->second.size() <= kMaxRequestIdLength &&
        IsPrintable(absl::string_view(id->second.data(), id->second.size()))) {
      record.request_id.assign(id->second.data(), id->second.size());
    } else {
      record.request_id = NewRequestId();
    }
    auto auth = metadata.find("authorization");
    if (auth != metadata.end()) {
      record.credentials.presented = true;
      const absl::string_view token =
          BearerToken(absl::string_view(auth->second.data(), auth->second.size()));
      const auto& tokens = gate_->options().auth.tokens;
      if (!token.empty() && tokens != nullptr) {
        record.credentials.principal = tokens->Authenticate(token);
      }
    }
    request_id_ = record.request_id;
    principal_ = record.credentials.principal ? record.credentials.principal->name
                 : record.credentials.presented ? "invalid-token"
                                                : "anonymous";
    Records().Put(context_, std::move(record));
  }

  void Finish(const grpc::Status& status) {
    finished_ = true;
    const absl::Duration latency = absl::Now() - start_;
    const char* code = CodeName(status.error_code());
    Metrics::Global().RpcFinished(method_, code, absl::ToDoubleSeconds(latency));
    if (!gate_->options().log_rpcs) return;
    const LogLevel level = status.ok() ? LogLevel::kInfo
                           : status.error_code() == grpc::StatusCode::INTERNAL ||
                                   status.error_code() == grpc::StatusCode::DATA_LOSS ||
                                   status.error_code() == grpc::StatusCode::UNKNOWN
                               ? LogLevel::kError
                               : LogLevel::kWarning;
    if (!LogEnabled(level)) return;
    LogFields fields = {{"method", method_},
                        {"peer", context_->peer()},
                        {"principal", principal_},
                        {"code", code},
                        {"latency_ms", absl::ToDoubleMilliseconds(latency)},
                        {"request_bytes", static_cast<int64_t>(request_bytes_)},
                        {"request_id", request_id_}};
    if (!status.ok()) fields.emplace_back("message", status.error_message());
    Log(level, "rpc", fields);
  }

  const RpcGate* const gate_;
  const grpc::ServerContextBase* const context_;
  const std::string method_;
  const bool protobuf_request_;
  const absl::Time start_;
  std::string request_id_ = "-";
  std::string principal_ = "anonymous";
  size_t request_bytes_ = 0;
  bool finished_ = false;
};

class GateInterceptorFactory final : public exp::ServerInterceptorFactoryInterface {
 public:
  explicit GateInterceptorFactory(const RpcGate* gate) : gate_(gate) {}
  exp::Interceptor* CreateServerInterceptor(exp::ServerRpcInfo* info) override {
    return new GateInterceptor(gate_, info);
  }

 private:
  const RpcGate* const gate_;
};

}  // namespace

absl::StatusOr<CallContext> RpcGate::Admit(const grpc::ServerContextBase* context,
                                           Access access) const {
  const RpcRecord record = Records().Get(context);
  absl::StatusOr<std::string> principal =
      Authorize(options_.auth, record.credentials, access);
  if (!principal.ok()) return principal.status();
  CallContext call;
  call.principal = *std::move(principal);
  call.request_id = record.request_id;
  const auto deadline = context->deadline();
  call.deadline = deadline == std::chrono::system_clock::time_point::max()
                      ? absl::Now() + options_.default_deadline
                      : absl::FromChrono(deadline);
  return call;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcGate::NewInterceptorFactory() {
  return std::make_unique<GateInterceptorFactory>(this);
}

}  // namespace presence
