#ifndef PRESENCE_TESTS_TESTING_PROMETHEUS_H_
#define PRESENCE_TESTS_TESTING_PROMETHEUS_H_

// Parses the Prometheus text exposition format, enough to check samples.

#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace presence::testing {

// Sample name with its label set as written ("m{a=\"b\"}") -> value.
inline std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    double value = 0;
    if (!absl::SimpleAtod(line.substr(space + 1), &value)) continue;
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

inline double Sample(const std::map<std::string, double>& samples,
                     const std::string& key) {
  auto it = samples.find(key);
  return it == samples.end() ? -1 : it->second;
}

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_PROMETHEUS_H_
