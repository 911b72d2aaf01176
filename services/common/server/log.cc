#include "services/common/server/log.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/stubs/logging.h"

namespace presence {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::string* g_service = new std::string("presence");

// The --log_level spelling of a level.
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

// The "severity" of a line, as Cloud Logging and OpenTelemetry name them.
const char* SeverityName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    default:
      return "ERROR";
  }
}

// Lines are queued and written by a background thread in as few writes as
// possible, so that logging one line per RPC costs the RPC a formatted string
// and a queue push rather than a system call. Errors and Flush() write at
// once; a crash loses at most the last few milliseconds of lines.
class LogWriter {
 public:
  LogWriter() : thread_([this] { Run(); }) { thread_.detach(); }

  void Append(const std::string& line, bool urgent) {
    {
      absl::MutexLock lock(&mu_);
      pending_ += line;
    }
    if (urgent) Flush();
  }

  // Writes what is queued; concurrent flushes write in queue order.
  void Flush() {
    absl::MutexLock write_lock(&write_mu_);
    {
      absl::MutexLock lock(&mu_);
      // The two buffers keep their capacity: at thousands of lines a second
      // a fresh buffer per batch cost a reallocation chain and page faults
      // every few milliseconds.
      writing_.swap(pending_);
    }
    if (!writing_.empty()) std::fwrite(writing_.data(), 1, writing_.size(), stderr);
    writing_.clear();
  }

 private:
  void Run() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        const auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return !pending_.empty();
        };
        mu_.Await(absl::Condition(&ready));
      }
      // Let lines gather for a moment, then write them all at once.
      absl::SleepFor(absl::Milliseconds(5));
      Flush();
    }
  }

  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  std::string writing_ ABSL_GUARDED_BY(write_mu_);
  std::thread thread_;
};

LogWriter& Writer() {
  static LogWriter* const writer = [] {
    auto* w = new LogWriter();
    std::atexit([] { Writer().Flush(); });
    return w;
  }();
  return *writer;
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

namespace {

// Appends `text` as a JSON string (RFC 8259): quotes, backslashes and
// control characters escaped, UTF-8 passed through.
void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  // Characters that need no escape are copied in runs (every RPC's log line
  // passes through here).
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        absl::StrAppendFormat(out, "\\u%04x", c);
    }
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

void AppendJsonNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
  } else if (v == std::floor(v) && std::fabs(v) < 9e15) {
    absl::StrAppend(out, static_cast<int64_t>(v));
  } else {
    absl::StrAppendFormat(out, "%.9g", v);
  }
}

}  // namespace

void Log(LogLevel level, absl::string_view event,
         absl::Span<const LogField> fields) {
  if (!LogEnabled(level)) return;
  // Hand-written rather than a google.protobuf.Struct printed with the JSON
  // mapping: this runs once per RPC, and the Struct route cost about half
  // the registry's throughput (bench/README.md).
  std::string line;
  line.reserve(320);
  line.append("{\"time\":");
  {
    // Formatting the date and time costs more than the rest of a line; redo
    // it once a second per thread.
    thread_local int64_t cached_second = -1;
    thread_local std::string cached_prefix;  // "2026-11-28T00:33:37."
    const absl::Time now = absl::Now();
    const int64_t micros = absl::ToUnixMicros(now);
    const int64_t second = micros / 1000000;
    if (second != cached_second) {
      cached_second = second;
      cached_prefix = absl::FormatTime("%Y-%m-%dT%H:%M:%S.", absl::FromUnixSeconds(second),
                                       absl::UTCTimeZone());
    }
    line.push_back('"');
    line.append(cached_prefix);
    absl::StrAppendFormat(&line, "%06dZ\"", static_cast<int>(micros % 1000000));
  }
  line.append(",\"severity\":");
  AppendJsonString(&line, SeverityName(level));
  // The message: a field named "message", else the event.
  const LogField* message = nullptr;
  for (const LogField& field : fields) {
    if (field.key == "message" && !field.is_number) message = &field;
  }
  line.append(",\"message\":");
  AppendJsonString(&line, message != nullptr ? message->text : event);
  line.append(",\"service\":");
  AppendJsonString(&line, *g_service);
  line.append(",\"event\":");
  AppendJsonString(&line, event);
  for (const LogField& field : fields) {
    if (&field == message) continue;
    line.push_back(',');
    AppendJsonString(&line, field.key);
    line.push_back(':');
    if (field.is_number) {
      AppendJsonNumber(&line, field.number);
    } else {
      AppendJsonString(&line, field.text);
    }
  }
  line.append("}\n");
  Writer().Append(line, level >= LogLevel::kError);
}

void Log(LogLevel level, absl::string_view event, const LogFields& fields) {
  if (!LogEnabled(level)) return;
  std::vector<LogField> views;
  views.reserve(fields.size());
  for (const auto& [key, value] : fields) {
    if (value.is_number) {
      views.emplace_back(key, value.number);
    } else {
      views.emplace_back(key, value.text);
    }
  }
  Log(level, event, absl::MakeConstSpan(views));
}

void FlushLogs() { Writer().Flush(); }

namespace {
thread_local ProtobufLogCapture* t_capture = nullptr;
}  // namespace

// REQUIRES: t_capture is set.
void AppendProtobufLog(absl::string_view message) {
  std::string& text = t_capture->text_;
  if (!text.empty()) text.append("; ");
  const absl::string_view stripped = absl::StripAsciiWhitespace(message);
  text.append(stripped.data(), stripped.size());
}

namespace {

void ProtobufLogHandler(google::protobuf::LogLevel level, const char* filename,
                        int line, const std::string& message) {
  if (t_capture != nullptr && level != google::protobuf::LOGLEVEL_FATAL) {
    AppendProtobufLog(message);
    return;
  }
  const LogLevel ours = level == google::protobuf::LOGLEVEL_INFO      ? LogLevel::kInfo
                        : level == google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarning
                                                                      : LogLevel::kError;
  Log(ours, "protobuf",
      {{"message", message}, {"file", filename == nullptr ? "" : filename}, {"line", line}});
  if (level == google::protobuf::LOGLEVEL_FATAL) FlushLogs();
}

}  // namespace

void RouteProtobufLogs() {
  static const bool kRouted = [] {
    google::protobuf::SetLogHandler(&ProtobufLogHandler);
    return true;
  }();
  (void)kRouted;
}

ProtobufLogCapture::ProtobufLogCapture() : outer_(t_capture) { t_capture = this; }
ProtobufLogCapture::~ProtobufLogCapture() { t_capture = outer_; }

}  // namespace presence
