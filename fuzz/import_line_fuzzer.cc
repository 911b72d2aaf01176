// presencectl's JSONL import line parser (client/transfer.h ParseImportLine):
// any line is either exactly one resource or INVALID_ARGUMENT; a parsed
// resource survives export (ToJson) and re-import unchanged.

#include <cstddef>
#include <cstdint>
#include <string>

#include "client/format.h"
#include "client/transfer.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/util/message_differencer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<presence::cli::ImportRecord> record = presence::cli::ParseImportLine(line);
  if (!record.ok()) {
    PRESENCE_FUZZ_CHECK(record.status().code() == absl::StatusCode::kInvalidArgument,
                        record.status().ToString());
    return 0;
  }
  PRESENCE_FUZZ_CHECK(record->organization.has_value() != record->event.has_value(),
                      "exactly one resource");
  const google::protobuf::Message& message =
      record->organization ? static_cast<const google::protobuf::Message&>(*record->organization)
                           : static_cast<const google::protobuf::Message&>(*record->event);
  const std::string exported = presence::cli::ToJson(message, /*one_line=*/true);
  absl::StatusOr<presence::cli::ImportRecord> again = presence::cli::ParseImportLine(exported);
  if (!again.ok()) {
    // Export then import is how presencectl backs up: it must round-trip.
    presence::fuzz::Fail("exported line does not import", exported.substr(0, 300));
  }
  const google::protobuf::Message& back =
      again->organization ? static_cast<const google::protobuf::Message&>(*again->organization)
                          : static_cast<const google::protobuf::Message&>(*again->event);
  PRESENCE_FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(message, back),
                      exported.substr(0, 300));
  return 0;
}
