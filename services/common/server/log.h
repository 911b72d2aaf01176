#ifndef PRESENCE_SERVICES_COMMON_SERVER_LOG_H_
#define PRESENCE_SERVICES_COMMON_SERVER_LOG_H_

// Structured logs: one JSON object per line on stderr, with the keys common
// pipelines (Cloud Logging, OpenTelemetry collectors, Loki, Elastic) map
// without configuration: "time" (RFC 3339, UTC, microseconds), "severity"
// (DEBUG, INFO, WARNING, ERROR), "message"; then "service", "event" and the
// event's fields. (Debian 12's abseil has no absl/log.)

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace presence {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// A field value: text or a number.
struct LogValue {
  LogValue(absl::string_view text) : text(text), is_number(false) {}  // NOLINT
  LogValue(const char* text) : text(text), is_number(false) {}        // NOLINT
  LogValue(const std::string& text) : text(text), is_number(false) {}  // NOLINT
  LogValue(double number) : number(number), is_number(true) {}        // NOLINT
  LogValue(int64_t number)  // NOLINT
      : number(static_cast<double>(number)), is_number(true) {}
  LogValue(int number) : number(number), is_number(true) {}  // NOLINT
  std::string text;
  double number = 0;
  bool is_number;
};
using LogFields = std::vector<std::pair<std::string, LogValue>>;

// Process-wide settings, set once at start-up before other threads log.
void SetLogService(absl::string_view service);
void SetLogLevel(LogLevel level);
// "debug", "info", "warn" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);
bool LogEnabled(LogLevel level);

// A field of the braced-list form of Log: views of the caller's values,
// which need to live only until Log returns (a braced list's temporaries do).
struct LogField {
  LogField(absl::string_view key, absl::string_view text)
      : key(key), text(text), is_number(false) {}
  LogField(absl::string_view key, const char* text)
      : key(key), text(text), is_number(false) {}
  LogField(absl::string_view key, const std::string& text)
      : key(key), text(text), is_number(false) {}
  LogField(absl::string_view key, double number)
      : key(key), number(number), is_number(true) {}
  LogField(absl::string_view key, int64_t number)
      : key(key), number(static_cast<double>(number)), is_number(true) {}
  LogField(absl::string_view key, int number)
      : key(key), number(number), is_number(true) {}
  absl::string_view key;
  absl::string_view text;
  double number = 0;
  bool is_number;
};

// Queues one line if `level` is enabled; a background thread writes queued
// lines within a few milliseconds (errors at once). Lines never interleave.
// The line's "message" is the text field named "message" if there is one,
// else `event`.
// The LogField forms copy nothing before formatting (they run once per RPC);
// the LogFields form is for fields assembled over several statements.
void Log(LogLevel level, absl::string_view event,
         absl::Span<const LogField> fields);
inline void Log(LogLevel level, absl::string_view event,
                std::initializer_list<LogField> fields = {}) {
  Log(level, event, absl::MakeConstSpan(fields.begin(), fields.size()));
}
void Log(LogLevel level, absl::string_view event, const LogFields& fields);

// Writes every queued line now. Call before the process exits.
void FlushLogs();

// Routes libprotobuf's own log messages (GOOGLE_LOG: a string field with
// invalid UTF-8 met while parsing, say) into this log as "protobuf" events,
// instead of the raw text lines libprotobuf writes to stderr by default.
// Idempotent and thread-safe; the services call it at start-up and
// ParseRequest (server/raw_call.h) before its first parse.
void RouteProtobufLogs();

// While one is alive, the libprotobuf messages the constructing thread
// causes are collected here instead of logged: ParseRequest uses one to say
// why a request could not be parsed. Not thread-safe; one at a time per
// thread. REQUIRES: RouteProtobufLogs() was called.
class ProtobufLogCapture {
 public:
  ProtobufLogCapture();
  ~ProtobufLogCapture();
  ProtobufLogCapture(const ProtobufLogCapture&) = delete;
  ProtobufLogCapture& operator=(const ProtobufLogCapture&) = delete;
  // The messages so far, separated by "; " (empty if none).
  const std::string& text() const { return text_; }

 private:
  friend void AppendProtobufLog(absl::string_view message);
  ProtobufLogCapture* const outer_;
  std::string text_;
};

inline void LogInfo(absl::string_view message) {
  Log(LogLevel::kInfo, "message", {{"message", message}});
}
inline void LogWarning(absl::string_view message) {
  Log(LogLevel::kWarning, "message", {{"message", message}});
}
inline void LogError(absl::string_view message) {
  Log(LogLevel::kError, "message", {{"message", message}});
}

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_LOG_H_
