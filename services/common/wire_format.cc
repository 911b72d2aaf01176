#include "services/common/wire_format.h"

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace presence {

using ::google::protobuf::internal::WireFormatLite;

bool IsWellFormedMessage(absl::string_view bytes) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  return WireFormatLite::SkipMessage(&in) && in.ConsumedEntireMessage();
}

void AppendLengthDelimitedField(uint32_t field, absl::string_view value, std::string* out) {
  google::protobuf::io::StringOutputStream stream(out);  // Appends to *out.
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteTag(WireFormatLite::MakeTag(static_cast<int>(field),
                                         WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  coded.WriteVarint32(static_cast<uint32_t>(value.size()));
  coded.WriteRaw(value.data(), static_cast<int>(value.size()));
}

}  // namespace presence
