#include "services/common/server/raw_call.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/slice.h"
#include "services/common/echo.h"
#include "services/common/server/log.h"

namespace presence {
namespace {

// How much of protobuf's reason a message repeats.
constexpr size_t kMaxReasonBytes = 300;

// protobuf's reason without its advice to the schema's author ("Use the
// 'bytes' type if you intend to send raw bytes."), which a caller cannot act
// on: the first sentence.
absl::string_view FirstSentence(absl::string_view text) {
  const size_t end = text.find(". ");
  return end == absl::string_view::npos ? absl::StripSuffix(text, ".")
                                        : text.substr(0, end);
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& raw,
                          google::protobuf::Message* request) {
  RouteProtobufLogs();
  grpc::ByteBuffer copy(raw);  // Shares the slices; the reader needs a non-const buffer.
  bool ok = false;
  std::string why;
  {
    grpc::ProtoBufferReader reader(&copy);
    if (reader.status().ok()) {
      ProtobufLogCapture capture;
      ok = request->ParseFromZeroCopyStream(&reader);
      why = capture.text();
    } else {
      why = reader.status().error_message();
    }
  }
  if (ok) return absl::OkStatus();
  const std::string reason = why.empty() ? "the bytes are not a valid message of this type"
                                         : BoundText(FirstSentence(why), kMaxReasonBytes);
  const std::string& type = request->GetDescriptor()->full_name();
  return ErrorBuilder(absl::InvalidArgumentError(
             absl::StrCat("request: could not be parsed as ", type, ": ", reason)))
      .Reason(kMalformedRequest)
      .Meta("type", type)
      .FieldViolation("request", absl::StrCat("could not be parsed as ", type, ": ", reason));
}

absl::Status TooManyCallsError(int max_in_flight) {
  return ErrorBuilder(absl::ResourceExhaustedError(absl::StrCat(
             "the server has ", max_in_flight,
             " calls in flight (--max_in_flight); retry with backoff")))
      .Reason(kTooManyCalls)
      .Meta("maxInFlight", absl::StrCat(max_in_flight))
      .RetryAfter(absl::Seconds(1));
}

grpc::Status SerializeResponse(const google::protobuf::Message& response,
                               grpc::ByteBuffer* raw) {
  raw->Clear();  // gRPC's serializer requires an empty buffer.
  bool own_buffer = false;
  return grpc::SerializationTraits<google::protobuf::Message>::Serialize(
      response, raw, &own_buffer);
}

grpc::Status SerializeResponse(const SerializedMessage& response, grpc::ByteBuffer* raw) {
  grpc::Slice slice(response.bytes);
  grpc::ByteBuffer(&slice, 1).Swap(raw);
  return grpc::Status::OK;
}

}  // namespace presence
