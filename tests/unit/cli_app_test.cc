// presencectl's entry point without processes: exit codes, command-word
// checks and suggestions, the rendering of failures.

#include "client/app.h"

#include "absl/strings/str_split.h"

#include <fstream>
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

// The command line run in-process.
struct Result {
  int exit_code;
  std::string out, err;
};
Result RunCli(std::vector<std::string> args) {
  args.insert(args.begin(), "presencectl");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  const int rc = RunPresencectl(static_cast<int>(argv.size()), argv.data(), out, err);
  return {rc, out.str(), err.str()};
}

std::vector<std::string> AllCommands() {
  std::vector<std::string> commands;
  std::istringstream in(RunCli({"__complete", "commands"}).out);
  for (std::string line; std::getline(in, line);) commands.push_back(line);
  return commands;
}

TEST(HelpTest, EveryCommandShowsItsExamplesAndTheGlobalFlags) {
  const std::vector<std::string> commands = AllCommands();
  EXPECT_THAT(commands, ::testing::IsSupersetOf({"orgs", "orgs list", "events get", "presence",
                                                 "import", "export", "health", "version",
                                                 "completion"}));
  for (const std::string& command : commands) {
    SCOPED_TRACE(command);
    std::vector<std::string> args = absl::StrSplit(command, ' ');
    args.push_back("--help");
    const Result help = RunCli(args);
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_THAT(help.out, HasSubstr("Example"));
    EXPECT_THAT(help.out, HasSubstr("Global flags (every command):"));
    EXPECT_THAT(help.out, HasSubstr("--timeout DURATION"));
  }
}

TEST(ManPageTest, HasEveryCommandFromTheHelpTexts) {
  std::ifstream in(PRESENCECTL_MAN);
  std::stringstream page;
  page << in.rdbuf();
  ASSERT_FALSE(page.str().empty()) << PRESENCECTL_MAN << " was not generated";
  EXPECT_THAT(page.str(), HasSubstr(".SH NAME\npresencectl \\- query and maintain"));
  EXPECT_THAT(page.str(), HasSubstr("\\fB\\-\\-registry\\fR"));
  EXPECT_THAT(page.str(), HasSubstr(".SH COMMANDS"));
  EXPECT_THAT(page.str(), HasSubstr(".SH ENVIRONMENT"));
  for (const std::string& command : AllCommands()) {
    EXPECT_THAT(page.str(), HasSubstr(".SS \"presencectl " + command + "\""));
  }
  // The example of a command, as its --help shows it.
  EXPECT_THAT(page.str(), HasSubstr("presencectl orgs list \\-\\-kind military\\-mission"));
}

TEST(CompletionTest, ScriptsNameEveryCommand) {
  for (const char* shell : {"bash", "zsh", "fish"}) {
    SCOPED_TRACE(shell);
    const Result script = RunCli({"completion", shell});
    EXPECT_EQ(script.exit_code, 0);
    for (const std::string& command : AllCommands()) {
      const std::string last = command.substr(command.rfind(' ') + 1);
      EXPECT_THAT(script.out, HasSubstr(last));
    }
  }
  EXPECT_EQ(RunCli({"completion", "tcsh"}).exit_code, kExitUsage);
}

}  // namespace
}  // namespace presence::cli
