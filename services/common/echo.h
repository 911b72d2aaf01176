#ifndef PRESENCE_SERVICES_COMMON_ECHO_H_
#define PRESENCE_SERVICES_COMMON_ECHO_H_

// Bounded echoes of caller-supplied values: every value a service repeats
// back (in a status message, a log line or error details) goes through one
// of these, so that a 70 KB resource name produces a message of a few hundred
// bytes, never one that exceeds a client's metadata limit.
//
// A value of at most kMaxEchoBytes is echoed whole; a longer one (or one
// whose escapes would be longer) is cut to at most kMaxEchoBytes of echo
// (at a UTF-8 character boundary), followed by "…"
// and its length: `organizations/aaaa… (9216 bytes)`. Control characters
// and backslashes are escaped C-style, so an echo is always one
// printable line; QuotedEcho also escapes double quotes, so that it is
// unambiguous.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace presence {

inline constexpr size_t kMaxEchoBytes = 100;

// The bounded, escaped value, unquoted: `organizations/kfor`.
std::string Echo(absl::string_view value);

// The same in double quotes: `"organizations/kfor"`, `"aaaa…" (9216 bytes)`.
std::string QuotedEcho(absl::string_view value);

// At most `max_bytes` of `text` (cut at a UTF-8 character boundary, then
// "… (N bytes)" appended), unescaped. The last-resort bound of whole
// messages at the gRPC boundary and in log lines.
std::string BoundText(absl::string_view text, size_t max_bytes);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_ECHO_H_
