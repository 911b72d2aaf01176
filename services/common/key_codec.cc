#include "services/common/key_codec.h"

namespace presence {
namespace {
constexpr uint64_t kSignBit = uint64_t{1} << 63;
}  // namespace

void AppendUint64(std::string* key, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    key->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void AppendInt64(std::string* key, int64_t v) {
  AppendUint64(key, static_cast<uint64_t>(v) ^ kSignBit);
}

std::string EncodeUint64(uint64_t v) {
  std::string out;
  AppendUint64(&out, v);
  return out;
}

std::string EncodeInt64(int64_t v) {
  std::string out;
  AppendInt64(&out, v);
  return out;
}

std::optional<uint64_t> ConsumeUint64(absl::string_view* in) {
  if (in->size() < 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>((*in)[i]);
  }
  in->remove_prefix(8);
  return v;
}

std::optional<int64_t> ConsumeInt64(absl::string_view* in) {
  std::optional<uint64_t> v = ConsumeUint64(in);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v ^ kSignBit);
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    unsigned char last = static_cast<unsigned char>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace presence
