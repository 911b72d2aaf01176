// The gRPC boundary's request parser (services/common/server/raw_call.h):
// any bytes, as any request of either service, are either a message or
// INVALID_ARGUMENT "could not be parsed" with a bounded reason; libprotobuf's
// complaints are captured, never printed.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/server/raw_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  namespace rv1 = ::presence::registry::v1;
  namespace tv1 = ::presence::timeline::v1;
  static const google::protobuf::Message* const kPrototypes[] = {
      &rv1::GetOrganizationRequest::default_instance(),
      &rv1::ListOrganizationsRequest::default_instance(),
      &rv1::CreateOrganizationRequest::default_instance(),
      &rv1::BatchCreateOrganizationsRequest::default_instance(),
      &rv1::UpdateOrganizationRequest::default_instance(),
      &rv1::WatchOrganizationsRequest::default_instance(),
      &tv1::ListEventsRequest::default_instance(),
      &tv1::CreateEventRequest::default_instance(),
      &tv1::UpdateEventRequest::default_instance(),
      &tv1::GetPresenceRequest::default_instance(),
  };
  const auto* prototype = kPrototypes[data[0] % (sizeof(kPrototypes) / sizeof(kPrototypes[0]))];
  grpc::Slice slice(data + 1, size - 1);
  const grpc::ByteBuffer raw(&slice, 1);
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  const absl::Status parsed = presence::ParseRequest(raw, request.get());
  if (!parsed.ok()) {
    PRESENCE_FUZZ_CHECK(parsed.code() == absl::StatusCode::kInvalidArgument, parsed.ToString());
    PRESENCE_FUZZ_CHECK(absl::StartsWith(parsed.message(), "request: could not be parsed as "),
                        parsed.ToString());
    presence::fuzz::CheckBounded(parsed);
    return 0;
  }
  // A parsed request serializes back (what the handlers then read).
  grpc::ByteBuffer out;
  PRESENCE_FUZZ_CHECK(presence::SerializeResponse(*request, &out).ok(), "serialize");
  return 0;
}
