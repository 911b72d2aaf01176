#ifndef PRESENCE_SERVICES_COMMON_KEY_CODEC_H_
#define PRESENCE_SERVICES_COMMON_KEY_CODEC_H_

// Order-preserving key encodings. Keys compare bytewise (memcmp order), so
// integers are written big-endian, and signed integers with their sign bit
// flipped so that negative numbers sort before positive ones.

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace presence {

// Appends `v` as 8 big-endian bytes.
void AppendUint64(std::string* key, uint64_t v);
// Appends `v` as 8 big-endian bytes with the sign bit flipped.
void AppendInt64(std::string* key, int64_t v);

std::string EncodeUint64(uint64_t v);
std::string EncodeInt64(int64_t v);

// Decodes 8 bytes written by AppendUint64/AppendInt64 from the front of
// `*in` and advances it; nullopt if fewer than 8 bytes remain.
std::optional<uint64_t> ConsumeUint64(absl::string_view* in);
std::optional<int64_t> ConsumeInt64(absl::string_view* in);

// The smallest key greater than every key starting with `prefix`; empty when
// there is none (prefix is all 0xff), meaning "no upper bound".
std::string PrefixSuccessor(absl::string_view prefix);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_KEY_CODEC_H_
