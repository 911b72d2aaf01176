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

// The escaped value (in quotes if `quotes`), cut so that the escaped text
// stays within kMaxEchoBytes (an escape takes up to 4 bytes per input byte)
// at a UTF-8 boundary, followed by "…" and the value's length when cut.
std::string Bounded(absl::string_view value, bool quotes) {
  const char* const quote = quotes ? "\"" : "";
  const std::string all = Escape(value.substr(0, kMaxEchoBytes), quotes);
  if (value.size() <= kMaxEchoBytes && all.size() <= kMaxEchoBytes) {
    return absl::StrCat(quote, all, quote);
  }
  // Take input bytes while their escapes fit.
  size_t take = 0;
  size_t out = 0;
  while (take < value.size()) {
    const size_t n = Escape(value.substr(take, 1), quotes).size();
    if (out + n > kMaxEchoBytes) break;
    out += n;
    ++take;
  }
  take = CutPoint(value, take);
  return absl::StrCat(quote, Escape(value.substr(0, take), quotes), "\xE2\x80\xA6", quote,
                      " (", value.size(), " bytes)");
}

}  // namespace

std::string Echo(absl::string_view value) { return Bounded(value, /*quotes=*/false); }

std::string QuotedEcho(absl::string_view value) { return Bounded(value, /*quotes=*/true); }

std::string BoundText(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return absl::StrCat(text.substr(0, CutPoint(text, max_bytes)), "\xE2\x80\xA6 (",
                      text.size(), " bytes)");
}

}  // namespace presence
