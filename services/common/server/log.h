#ifndef PRESENCE_SERVICES_COMMON_SERVER_LOG_H_
#define PRESENCE_SERVICES_COMMON_SERVER_LOG_H_

#include "absl/strings/string_view.h"

namespace presence {

// Writes one line "<RFC 3339 time> <level> <message>" to stderr. Lines from
// concurrent threads never interleave. (Debian 12's abseil has no absl/log.)
void LogLine(absl::string_view level, absl::string_view message);

inline void LogInfo(absl::string_view message) { LogLine("INFO", message); }
inline void LogWarning(absl::string_view message) { LogLine("WARN", message); }
inline void LogError(absl::string_view message) { LogLine("ERROR", message); }

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_LOG_H_
