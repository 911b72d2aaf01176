// Log lines are valid JSON whatever the text in them: written to stderr,
// read back and parsed with protobuf's JSON parser.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/server/log.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

// The lines logged by `log`, captured from stderr.
template <typename F>
std::string CaptureStderr(const testing::TempDir& dir, F log) {
  const std::string path = dir.Sub("stderr");
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, STDERR_FILENO);
  close(fd);
  log();
  FlushLogs();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string text;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return text;
}

TEST(LogTest, EveryTextIsEscapedIntoValidJson) {
  testing::TempDir dir;
  SetLogService("log-test");
  const std::string tricky =
      std::string("plain, \"quoted\", back\\slash, new\nline, tab\t, cr\r, ") +
      std::string("\x01\x1f control, \0 nul, ", 19) + "UTF-8 Prishtinë — end";
  const std::string lines = CaptureStderr(dir, [&] {
    Log(LogLevel::kInfo, "escape", {{"text", tricky}, {"n", 7}, {"plain", "abc"}});
  });
  ASSERT_FALSE(lines.empty());
  ASSERT_EQ(lines.back(), '\n');
  EXPECT_EQ(lines.find('\n'), lines.size() - 1) << "one line: " << lines;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines, &parsed).ok()) << lines;
  EXPECT_EQ(parsed.fields().at("text").string_value(), tricky);
  EXPECT_EQ(parsed.fields().at("plain").string_value(), "abc");
  EXPECT_EQ(parsed.fields().at("n").number_value(), 7);
  EXPECT_EQ(parsed.fields().at("event").string_value(), "escape");
}

}  // namespace
}  // namespace presence
