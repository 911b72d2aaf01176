#include "services/common/server/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace presence {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::string* g_service = new std::string("presence");

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warn";
    default:
      return "error";
  }
}

}  // namespace

void SetLogService(absl::string_view service) { *g_service = std::string(service); }

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  const std::string name = absl::AsciiStrToLower(text);
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                     LogLevel::kError}) {
    if (name == LevelName(l) || (l == LogLevel::kWarning && name == "warning")) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void Log(LogLevel level, absl::string_view event, const LogFields& fields) {
  if (!LogEnabled(level)) return;
  google::protobuf::Struct line;
  auto& f = *line.mutable_fields();
  f["time"].set_string_value(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(),
                                              absl::UTCTimeZone()));
  f["level"].set_string_value(LevelName(level));
  f["service"].set_string_value(*g_service);
  f["event"].set_string_value(std::string(event));
  for (const auto& [key, value] : fields) {
    if (value.is_number) {
      f[key].set_number_value(value.number);
    } else {
      f[key].set_string_value(value.text);
    }
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(line, &json);
  json += '\n';
  // One fwrite per line: stdio locks the stream for the call.
  std::fwrite(json.data(), 1, json.size(), stderr);
  std::fflush(stderr);
}

}  // namespace presence
