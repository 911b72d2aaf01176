// Page tokens: decoding anything never crashes and is INVALID_ARGUMENT
// unless the token was issued for the same method and request; every token
// issued decodes to its key for its request only.

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/page_token.h"

// Arbitrary bytes parsed as messages make libprotobuf log every invalid
// UTF-8 string it meets; the parse result is what is checked here
// (PRESENCE_FUZZ_VERBOSE=1 keeps them, to debug a finding).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("PRESENCE_FUZZ_VERBOSE") == nullptr) google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  presence::registry::v1::ListOrganizationsRequest orgs;
  orgs.set_show_deleted(provider.ConsumeBool());
  orgs.set_parent_organization(provider.ConsumeRandomLengthString(64));
  presence::timeline::v1::ListEventsRequest events;
  events.set_descending(provider.ConsumeBool());
  const std::string key = provider.ConsumeRandomLengthString(256);
  const std::string token = provider.ConsumeRemainingBytesAsString();

  for (const google::protobuf::Message* request :
       {static_cast<const google::protobuf::Message*>(&orgs),
        static_cast<const google::protobuf::Message*>(&events)}) {
    absl::StatusOr<std::string> decoded = presence::DecodePageToken(token, *request);
    if (!decoded.ok()) {
      PRESENCE_FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument,
                          decoded.status().ToString());
      presence::fuzz::CheckBounded(decoded.status());
    } else {
      PRESENCE_FUZZ_CHECK(!decoded->empty(), "decoded an empty key");
    }
  }
  if (!key.empty()) {
    const std::string issued = presence::EncodePageToken(orgs, key);
    absl::StatusOr<std::string> back = presence::DecodePageToken(issued, orgs);
    PRESENCE_FUZZ_CHECK(back.ok() && *back == key, "round trip");
    PRESENCE_FUZZ_CHECK(!presence::DecodePageToken(issued, events).ok(),
                        "a ListOrganizations token accepted by ListEvents");
    presence::registry::v1::ListOrganizationsRequest changed = orgs;
    changed.set_show_deleted(!orgs.show_deleted());
    PRESENCE_FUZZ_CHECK(!presence::DecodePageToken(issued, changed).ok(),
                        "a token accepted with changed parameters");
  }
  const int32_t page_size = static_cast<int32_t>(key.size()) - 128;
  absl::StatusOr<int32_t> effective = presence::EffectivePageSize(page_size * 9);
  PRESENCE_FUZZ_CHECK(effective.ok() == (page_size >= 0), "page size");
  if (effective.ok()) {
    PRESENCE_FUZZ_CHECK(*effective >= 1 && *effective <= presence::kMaxPageSize, "page size range");
  }
  return 0;
}
