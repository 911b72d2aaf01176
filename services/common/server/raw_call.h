#ifndef PRESENCE_SERVICES_COMMON_SERVER_RAW_CALL_H_
#define PRESENCE_SERVICES_COMMON_SERVER_RAW_CALL_H_

// The services receive requests as bytes and parse them here, rather than
// letting gRPC parse them: gRPC answers a request whose bytes are not a
// valid message (a string field holding invalid UTF-8, say) with
// UNIMPLEMENTED (callback API) or INTERNAL (synchronous API), an empty
// message and no log line of ours, while libprotobuf prints a raw line to
// stderr. Parsed here, such a request is INVALID_ARGUMENT saying why,
// passes the gate and is logged and counted like any other call.
//
// ServeUnary is the body of every unary handler of both services; handlers
// stay translation only.

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "services/common/call_context.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/server/auth.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/rpc_gate.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace presence {

// Parses `raw` into `*request`. INVALID_ARGUMENT "request: could not be
// parsed as <type>: <why>" when the bytes are not a valid message of that
// type (why: protobuf's reason where it gives one, bounded), reason
// MALFORMED_REQUEST with metadata type and a field violation of "request".
absl::Status ParseRequest(const grpc::ByteBuffer& raw,
                          google::protobuf::Message* request);

// RESOURCE_EXHAUSTED, TOO_MANY_CALLS: `max_in_flight` calls are in flight
// (--max_in_flight); metadata maxInFlight, RetryInfo.
absl::Status TooManyCallsError(int max_in_flight);

// Serializes `response` into `*raw` (replacing its content).
grpc::Status SerializeResponse(const google::protobuf::Message& response,
                               grpc::ByteBuffer* raw);

// A response already serialized (a record as stored is the API's message):
// a ServeUnary call may answer with it instead of a message, which then is
// neither parsed nor serialized on the call's path.
struct SerializedMessage {
  std::string bytes;
  static absl::StatusOr<SerializedMessage> Of(absl::StatusOr<std::string> bytes) {
    if (!bytes.ok()) return bytes.status();
    return SerializedMessage{*std::move(bytes)};
  }
};
// Copies `response`'s bytes into `*raw` (replacing its content).
grpc::Status SerializeResponse(const SerializedMessage& response, grpc::ByteBuffer* raw);

// The answer of one unary call within `scope`: passes the gate with `access`
// (RESOURCE_EXHAUSTED unless `entered`, the caller's RpcGate::TryEnter(); a
// call whose deadline has already passed is DEADLINE_EXCEEDED without being
// served), parses `raw_request` as a Request and answers with `call(request,
// call_context)` (an absl::StatusOr<Response>, Response a message or a
// SerializedMessage; for a read, called once more if it fails with
// UNAVAILABLE) serialized into `*raw_response`. Returns the status to pass to
// scope.Finish.
template <typename Request, typename Call>
grpc::Status AnswerUnary(RpcScope& scope, Access access, const RpcGate* gate,
                         const grpc::ByteBuffer* raw_request,
                         grpc::ByteBuffer* raw_response, bool entered, Call& call) {
  absl::StatusOr<CallContext> admitted = scope.Admit(access);
  if (admitted.ok() && !entered) admitted = TooManyCallsError(gate->options().max_in_flight);
  if (admitted.ok() && admitted->deadline <= absl::Now()) {
    // Shed at once: under overload calls wait for a thread past their
    // deadline, and the caller no longer waits for the answer.
    admitted = ErrorBuilder(absl::DeadlineExceededError(
                   "the deadline passed before the call was served; the server is "
                   "busy, retry with backoff"))
                   .Reason(kDeadlineExceeded);
  }
  Request request;
  absl::Status parsed =
      admitted.ok() ? ParseRequest(*raw_request, &request) : admitted.status();
  if (!parsed.ok()) return ToGrpcStatus(parsed);
  auto result = call(request, *admitted);
  // A read is idempotent: served once more when the store lost its
  // connection under it (a failover of a shared database), from a new
  // snapshot on a server that answers. A write is not: its outcome may be
  // unknown, and the client retries it with its request id or etag.
  if (access == Access::kRead && absl::IsUnavailable(result.status()) &&
      admitted->deadline > absl::Now()) {
    result = call(request, *admitted);
  }
  return result.ok() ? SerializeResponse(*result, raw_response)
                     : ToGrpcStatus(result.status());
}

// One unary call: AnswerUnary, then the gate echoes the request id, logs and
// counts the call. Returns the status to finish the call with.
template <typename Request, typename Call>
grpc::Status ServeUnary(const RpcGate* gate, grpc::ServerContextBase* context,
                        absl::string_view method, Access access,
                        const grpc::ByteBuffer* raw_request,
                        grpc::ByteBuffer* raw_response, bool entered, Call call) {
  RpcScope scope(gate, context, method);
  grpc::Status status =
      AnswerUnary<Request>(scope, access, gate, raw_request, raw_response, entered, call);
  return scope.Finish(context, std::move(status), raw_request->Length());
}

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_RAW_CALL_H_
