#ifndef PRESENCE_SERVICES_COMMON_WIRE_FORMAT_H_
#define PRESENCE_SERVICES_COMMON_WIRE_FORMAT_H_

// Working with serialized protobuf messages without parsing them: the stored
// records of both services are the API's messages, so a read may answer with
// their bytes (the registry's Get, the timeline's GetPresence) instead of
// parsing and serializing them again.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace presence {

// True if `bytes` are a well-formed protobuf message: every field's tag,
// length and varint is checked, as a parse would, but no field is decoded
// or allocated, nor are nested messages looked into (a stored record was
// serialized from a validated message; this catches what the store did to
// it).
bool IsWellFormedMessage(absl::string_view bytes);

// Appends to `*out` field `field` (a message or bytes field, e.g. one entry
// of a repeated message field) holding `value`: its tag, the varint length
// and the bytes. Appending a message's fields to its serialization is what
// setting them would serialize to (field order aside, which parsers ignore).
// REQUIRES: 0 < field < 2^29.
void AppendLengthDelimitedField(uint32_t field, absl::string_view value, std::string* out);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_WIRE_FORMAT_H_
