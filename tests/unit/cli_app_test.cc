// presencectl's entry point without processes: exit codes, command-word
// checks and suggestions, the rendering of failures.

#include "client/app.h"

#include <sstream>

#include "client/output.h"
#include "client/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace presence::cli {
namespace {

using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ExitCodeTest, MapsStatusCodesToDocumentedExitCodes) {
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kOk), 0);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kNotFound), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kInvalidArgument), kExitInvalid);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kUnavailable), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kDeadlineExceeded), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kAborted), kExitConflict);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kPermissionDenied), kExitDenied);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kInternal), kExitError);
  EXPECT_EQ(ExitCode(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCode(UsageError("x")), kExitUsage);
  EXPECT_EQ(ExitCode(PartialFailure("x")), kExitPartial);
  EXPECT_EQ(ExitCode(absl::InvalidArgumentError("x")), kExitInvalid);
  EXPECT_EQ(ExitCode(CallError(grpc::Status(grpc::StatusCode::NOT_FOUND, "gone"), "getting x")),
            kExitNotFound);
}

TEST(OutputTest, RendersCallErrorsWithTheServersCodeAndMessage) {
  std::ostringstream out, err;
  Output output(out, err);
  const absl::Status call = CallError(
      grpc::Status(grpc::StatusCode::NOT_FOUND, "organizations/x not found"), "getting organizations/x");
  output.Error(call);
  EXPECT_EQ(err.str(), "presencectl: getting organizations/x: NOT_FOUND: organizations/x not found\n");
  err.str("");
  output.Error(absl::InvalidArgumentError("--since: bad date"));
  EXPECT_EQ(err.str(), "presencectl: --since: bad date\n");
  err.str("");
  output.set_format(Format::kJsonl);
  output.Error(call);
  EXPECT_EQ(err.str(),
            "{\"error\":{\"status\":\"NOT_FOUND\",\"code\":5,\"message\":\"organizations/x not "
            "found\",\"call\":\"getting organizations/x\",\"exitCode\":3}}\n");
  EXPECT_EQ(out.str(), "");
}

TEST(EditDistanceTest, CountsEdits) {
  EXPECT_EQ(EditDistance("org", "orgs"), 1);
  EXPECT_EQ(EditDistance("lst", "list"), 1);
  EXPECT_EQ(EditDistance("evnets", "events"), 2);
  EXPECT_EQ(EditDistance("", "abc"), 3);
  EXPECT_EQ(EditDistance("same", "same"), 0);
}

class CommandWordsTest : public ::testing::Test {
 protected:
  CommandWordsTest() : app_("test", "presencectl") {
    app_.add_option("--registry", registry_);
    app_.add_option("-o,--output", output_);
    app_.add_flag("--version", version_);
    CLI::App* orgs = app_.add_subcommand("orgs", "");
    orgs->require_subcommand(1);
    orgs->add_subcommand("list", "")->add_flag("--all", all_);
    orgs->add_subcommand("get", "")->add_option("org", org_);
    app_.add_subcommand("events", "");
    app_.add_subcommand("hidden", "")->group("");
  }
  absl::Status Check(std::vector<std::string> args) { return CheckCommandWords(app_, args); }

  CLI::App app_;
  std::string registry_, output_, org_;
  bool version_ = false, all_ = false;
};

TEST_F(CommandWordsTest, SuggestsTheNearestCommand) {
  EXPECT_THAT(Check({"org", "list"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown command \"org\" for \"presencectl\"; did you mean \"orgs\"?"));
  EXPECT_THAT(Check({"orgs", "lst"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown command \"lst\" for \"presencectl orgs\"; did you mean \"list\"?"));
  EXPECT_THAT(Check({"--registry", "x:1", "evnts"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("did you mean \"events\"?")));
  EXPECT_THAT(Check({"frobnicate"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("run 'presencectl --help' for its commands")));
  EXPECT_TRUE(IsUsageError(Check({"org"})));
  // Hidden commands are never suggested.
  EXPECT_THAT(Check({"hiden"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                         ::testing::Not(HasSubstr("hidden"))));
}

TEST_F(CommandWordsTest, SkipsOptionsAndTheirValues) {
  EXPECT_THAT(Check({"--registry", "orgs", "events"}), IsOk());  // "orgs" is a value.
  EXPECT_THAT(Check({"--registry=x", "orgs", "list", "--all"}), IsOk());
  EXPECT_THAT(Check({"-o", "json", "orgs", "get", "anything"}), IsOk());
  EXPECT_THAT(Check({"-ojson", "orgs", "get", "kfor"}), IsOk());
  EXPECT_THAT(Check({"orgs", "--help"}), IsOk());
  EXPECT_THAT(Check({"--version"}), IsOk());
  EXPECT_THAT(Check({"hidden"}), IsOk());
}

TEST_F(CommandWordsTest, AGroupWithoutACommandListsItsCommands) {
  EXPECT_THAT(Check({"orgs"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"presencectl orgs\" needs a command: list, get")));
  EXPECT_THAT(Check({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("\"presencectl\" needs a command: orgs, events")));
}

}  // namespace
}  // namespace presence::cli
