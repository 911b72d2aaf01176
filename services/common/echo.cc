#include "services/common/echo.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace presence {
namespace {

// The length of the longest prefix of `text` of at most `max_bytes` that
// does not end inside a UTF-8 multi-byte sequence.
size_t CutPoint(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  size_t cut = max_bytes;
  // Step back over continuation bytes (10xxxxxx), at most three.
  for (int i = 0; i < 3 && cut > 0 &&
                  (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80;
       ++i) {
    --cut;
  }
  return cut;
}

// C-style escapes for control characters, backslashes and (if `quotes`)
// double quotes; everything else (UTF-8 included) as is.
std::string Escape(absl::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"':
        out += quotes ? "\\\"" : "\"";
        break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", u);
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace

std::string Echo(absl::string_view value) {
  if (value.size() <= kMaxEchoBytes) return Escape(value, /*quotes=*/false);
  return absl::StrCat(Escape(value.substr(0, CutPoint(value, kMaxEchoBytes)), /*quotes=*/false),
                      "\xE2\x80\xA6 (", value.size(), " bytes)");
}

std::string QuotedEcho(absl::string_view value) {
  if (value.size() <= kMaxEchoBytes) {
    return absl::StrCat("\"", Escape(value, /*quotes=*/true), "\"");
  }
  return absl::StrCat("\"",
                      Escape(value.substr(0, CutPoint(value, kMaxEchoBytes)), /*quotes=*/true),
                      "\xE2\x80\xA6\" (", value.size(), " bytes)");
}

std::string BoundText(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return absl::StrCat(text.substr(0, CutPoint(text, max_bytes)), "\xE2\x80\xA6 (",
                      text.size(), " bytes)");
}

}  // namespace presence
