// Malformed and hostile input against the real binaries: a request that does
// not parse is answered INVALID_ARGUMENT, logged as one JSON RPC line like
// any other call, and nothing but JSON lines reaches stderr; a 9 KB or 70 KB
// resource name gives presencectl INVALID_ARGUMENT (exit 4), not a
// metadata-limit error (issue 12, defects 1 and 2).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/raw_rpc.h"
#include "tests/testing/service_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

using ::presence::testing::ServiceProcess;
using ::presence::testing::StatusIs;
using ::testing::HasSubstr;

// A string field holding bytes that are not UTF-8.
const std::string kBadString("\x0a\x02\xc3\x28", 4);

// Every line of `log` is a JSON object; returns the "rpc" lines for `method`.
std::vector<google::protobuf::Struct> RpcLines(const std::string& log,
                                               const std::string& method) {
  std::vector<google::protobuf::Struct> out;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct parsed;
    const auto status = google::protobuf::util::JsonStringToMessage(
        std::string(line), &parsed);
    EXPECT_TRUE(status.ok()) << "not a JSON line on stderr: " << line;
    if (!status.ok()) continue;
    const auto& f = parsed.fields();
    if (f.count("event") && f.at("event").string_value() == "rpc" &&
        f.count("method") && f.at("method").string_value() == method) {
      out.push_back(parsed);
    }
  }
  return out;
}

void ExpectOneParseErrorLine(const ServiceProcess& service, const std::string& method) {
  ASSERT_TRUE(service.LogContains("could not be parsed")) << service.log();
  const std::vector<google::protobuf::Struct> lines = RpcLines(service.log(), method);
  ASSERT_EQ(lines.size(), 1u) << service.log();
  const auto& f = lines[0].fields();
  EXPECT_EQ(f.at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(f.at("message").string_value(), HasSubstr("could not be parsed"));
  EXPECT_GT(f.at("request_bytes").number_value(), 0);
  // libprotobuf's own complaint did not reach stderr as raw text (RpcLines
  // checked every line is JSON), nor as a line of its own.
  EXPECT_THAT(service.log(), ::testing::Not(HasSubstr("\"event\":\"protobuf\"")));
}

TEST(InputProcessTest, UnparsableRequestsAreAnsweredAndLoggedLikeAnyCall) {
  testing::TempDir dir;
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry", {"--seed=false"});
  ASSERT_TRUE(registry.ok()) << registry.log();
  ServiceProcess timeline(PRESENCE_TIMELINE_BIN, dir.path(), "timeline",
                          {"--seed=false", "--registry=" + registry.address()});
  ASSERT_TRUE(timeline.ok()) << timeline.log();

  const std::string get = "/presence.registry.v1.RegistryService/GetOrganization";
  EXPECT_THAT(testing::RawUnaryCall(registry.channel(), get, kBadString),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid UTF-8")));
  ExpectOneParseErrorLine(registry, get);

  const std::string create = "/presence.timeline.v1.TimelineService/CreateEvent";
  EXPECT_THAT(testing::RawUnaryCall(timeline.channel(), create, kBadString),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid UTF-8")));
  ExpectOneParseErrorLine(timeline, create);

  const std::string watch = "/presence.registry.v1.RegistryService/WatchOrganizations";
  EXPECT_THAT(testing::RawServerStreamingCall(registry.channel(), watch, std::string("\x08", 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("could not be parsed")));
  ASSERT_TRUE(testing::WaitUntil([&] { return RpcLines(registry.log(), watch).size() == 1; },
                                 absl::Seconds(10)))
      << registry.log();
}

TEST(InputProcessTest, HugeResourceNamesAreInvalidArgumentForPresencectl) {
  testing::TempDir dir;
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry", {"--seed=false"});
  ASSERT_TRUE(registry.ok()) << registry.log();
  for (const size_t size : {size_t{9 * 1024}, size_t{70 * 1024}}) {
    SCOPED_TRACE(size);
    const testing::CommandResult result = testing::RunCommand(
        {PRESENCECTL_BIN, "--registry=" + registry.address(), "orgs", "get",
         "organizations/" + std::string(size, 'x')},
        dir.path());
    EXPECT_EQ(result.exit_code, 4) << result.err.substr(0, 500);
    EXPECT_THAT(result.err, HasSubstr("INVALID_ARGUMENT"));
    // The server's message is bounded (presencectl's own prefix repeats its
    // argument: the CLI's business).
    EXPECT_THAT(result.err,
                HasSubstr(absl::StrCat("(", size + 14, " bytes) is not a organizations name")));
  }
}

}  // namespace
}  // namespace presence
