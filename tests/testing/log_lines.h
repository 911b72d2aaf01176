#ifndef PRESENCE_TESTS_TESTING_LOG_LINES_H_
#define PRESENCE_TESTS_TESTING_LOG_LINES_H_

// Reading the services' JSON log lines in tests.

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace presence::testing {

// Every line of `log` that is a JSON object; other lines are skipped.
inline std::vector<google::protobuf::Struct> ParseLogLines(const std::string& log) {
  std::vector<google::protobuf::Struct> lines;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct parsed;
    if (google::protobuf::util::JsonStringToMessage(std::string(line), &parsed).ok()) {
      lines.push_back(std::move(parsed));
    }
  }
  return lines;
}

inline std::string Field(const google::protobuf::Struct& line, const std::string& key) {
  auto it = line.fields().find(key);
  if (it == line.fields().end()) return "";
  if (it->second.has_number_value()) return std::to_string(it->second.number_value());
  return it->second.string_value();
}

// The RPC log lines of `method` (full name, e.g.
// "/presence.registry.v1.RegistryService/GetOrganization").
inline std::vector<google::protobuf::Struct> RpcLines(const std::string& log,
                                                     const std::string& method) {
  std::vector<google::protobuf::Struct> out;
  for (auto& line : ParseLogLines(log)) {
    if (Field(line, "event") == "rpc" && Field(line, "method") == method) {
      out.push_back(std::move(line));
    }
  }
  return out;
}

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_LOG_LINES_H_
