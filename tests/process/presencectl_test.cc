// The real presencectl binary against both real services, started as
// processes on ephemeral loopback ports with the Kosovo data.
//
// Golden outputs live in tests/golden/; regenerate them after an intended
// change with PRESENCE_UPDATE_GOLDEN=1 and review the diff.

#include <png.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "client/presencectl.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/service_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/svg.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

using ::presence::testing::CommandResult;
using ::presence::testing::ServiceProcess;
using ::testing::HasSubstr;
using ::testing::Not;

// Both services, seeded or empty.
class Stack {
 public:
  Stack(const testing::TempDir& dir, const std::string& prefix, bool seed)
      : registry_(PRESENCE_REGISTRY_BIN, dir.path(), prefix + "registry",
                  {seed ? "--seed=true" : "--seed=false"}),
        timeline_(PRESENCE_TIMELINE_BIN, dir.path(), prefix + "timeline",
                  {seed ? "--seed=true" : "--seed=false",
                   "--registry=" + registry_.address()}),
        dir_(dir) {}

  bool ok() const { return registry_.ok() && timeline_.ok(); }

  CommandResult Run(std::vector<std::string> args,
                    std::vector<std::string> env = {}) const {
    std::vector<std::string> argv = {PRESENCECTL_BIN,
                                     "--registry=" + registry_.address(),
                                     "--timeline=" + timeline_.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, dir_.path(), env);
  }
  const ServiceProcess& registry() const { return registry_; }
  const ServiceProcess& timeline() const { return timeline_; }

 private:
  ServiceProcess registry_;
  ServiceProcess timeline_;
  const testing::TempDir& dir_;
};

// Output-only values that differ from run to run.
std::string Normalize(std::string text) {
  text = std::regex_replace(
      text, std::regex("\"(createTime|updateTime|deleteTime)\": \"[^\"]*\""),
      "\"$1\": \"<time>\"");
  text = std::regex_replace(text, std::regex("\"etag\": \"\\\\\"[0-9a-f]{16}\\\\\"\""),
                            "\"etag\": \"<etag>\"");
  return text;
}

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = absl::StrCat(PRESENCE_GOLDEN_DIR, "/", name);
  const std::string normalized = Normalize(actual);
  if (std::getenv("PRESENCE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::trunc) << normalized;
    return;
  }
  const std::string expected = testing::ReadFile(path);
  ASSERT_FALSE(expected.empty()) << path << " is missing; run with PRESENCE_UPDATE_GOLDEN=1";
  EXPECT_EQ(normalized, expected) << "differs from " << path;
}

class PresencectlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    stack_ = new Stack(*dir_, "", /*seed=*/true);
  }
  static void TearDownTestSuite() {
    delete stack_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(stack_->ok()) << stack_->registry().log() << stack_->timeline().log();
  }
  // GetPresence needs the timeline's organization cache: wait for it.
  static void WaitForPresence() {
    ASSERT_TRUE(testing::WaitUntil(
        [] { return stack_->Run({"presence", "2009-06-01"}).exit_code == 0; }));
  }

  static testing::TempDir* dir_;
  static Stack* stack_;
};
testing::TempDir* PresencectlTest::dir_ = nullptr;
Stack* PresencectlTest::stack_ = nullptr;

TEST_F(PresencectlTest, GoldenOutputs) {
  WaitForPresence();
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"orgs-list.txt", {"orgs", "list"}},
      {"orgs-list.json", {"orgs", "list", "-o", "json"}},
      {"orgs-get-kfor.txt", {"orgs", "get", "kfor"}},
      {"orgs-get-kfor.json", {"orgs", "get", "kfor", "-o", "json"}},
      {"events-list-eulex.txt", {"events", "list", "--org", "eulex"}},
      {"events-list-eulex.json", {"events", "list", "--org", "EULEX", "-o", "json"}},
      {"presence-2009-06-01.txt", {"presence", "2009-06-01"}},
      {"presence-2009-06-01.json", {"presence", "2009-06-01", "-o", "json"}},
      {"chart-kosovo.svg", {"chart", "--at", "2009-06-01"}},
  };
  for (const auto& [golden, args] : cases) {
    SCOPED_TRACE(golden);
    CommandResult result = stack_->Run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.err, "");
    ExpectGolden(golden, result.out);
  }
}

// --include-unknown-bounds lists the organizations whose start is not
// recorded among the present, each saying so, instead of apart.
TEST_F(PresencectlTest, PresenceCanIncludeUnknownBounds) {
  WaitForPresence();
  CommandResult apart = stack_->Run({"presence", "2009-06-01"});
  CommandResult among = stack_->Run({"presence", "2009-06-01", "--include-unknown-bounds"});
  ASSERT_EQ(apart.exit_code, 0) << apart.err;
  ASSERT_EQ(among.exit_code, 0) << among.err;
  EXPECT_THAT(apart.out, HasSubstr("Present on 1 Jun 2009: 4 organizations"));
  EXPECT_THAT(apart.out, HasSubstr("unknown (start not recorded): 2 organizations"));
  EXPECT_THAT(among.out, HasSubstr("Present on 1 Jun 2009: 6 organizations"));
  EXPECT_THAT(among.out, Not(HasSubstr("unknown (start not recorded)")));
  EXPECT_THAT(among.out, HasSubstr("  basis    its start is not recorded\n"));
  CommandResult json = stack_->Run(
      {"presence", "2009-06-01", "--include-unknown-bounds", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("BOUND_UNKNOWN"));
  EXPECT_THAT(json.out, Not(HasSubstr("unknownBoundOrganizations")));
}

TEST_F(PresencectlTest, OrganizationArgumentsAcceptAcronymsAndAliases) {
  CommandResult by_alias = stack_->Run({"events", "list", "--org", "OSCE Mission in Kosovo", "-o", "jsonl"});
  CommandResult by_acronym = stack_->Run({"events", "list", "--org", "omik", "-o", "jsonl"});
  ASSERT_EQ(by_alias.exit_code, 0) << by_alias.err;
  EXPECT_EQ(by_alias.out, by_acronym.out);
  EXPECT_THAT(by_alias.out, HasSubstr("osce-monthly-mandate-review"));
  CommandResult lookup = stack_->Run({"orgs", "lookup", "UNMiK", "-o", "jsonl"});
  ASSERT_EQ(lookup.exit_code, 0) << lookup.err;
  EXPECT_THAT(lookup.out, HasSubstr("\"name\":\"organizations/unmik\""));
}

TEST_F(PresencectlTest, ExitCodesAndDiagnostics) {
  CommandResult missing = stack_->Run({"orgs", "get", "nope"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_EQ(missing.out, "");
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND: organizations/nope not found"));

  CommandResult bad_date = stack_->Run({"presence", "2009-02-30"});
  EXPECT_EQ(bad_date.exit_code, 4);
  EXPECT_THAT(bad_date.err, HasSubstr("accepted forms"));
  EXPECT_THAT(bad_date.err, HasSubstr("early 2010"));

  CommandResult server_says_invalid =
      stack_->Run({"events", "create", "x", "--title", "T", "--kind", "other",
                   "--start", "2010", "--org", "organizations/nope"});
  EXPECT_EQ(server_says_invalid.exit_code, 4);
  EXPECT_THAT(server_says_invalid.err,
              HasSubstr("INVALID_ARGUMENT: event.organizations[0]: organizations/nope "
                        "does not exist in the registry"));

  CommandResult conflict = stack_->Run({"orgs", "create", "kfor", "--display-name", "K", "--kind", "other"});
  EXPECT_EQ(conflict.exit_code, 6);
  EXPECT_THAT(conflict.err, HasSubstr("ALREADY_EXISTS"));

  CommandResult usage = stack_->Run({"orgs", "frobnicate"});
  EXPECT_EQ(usage.exit_code, 2);
  CommandResult help = stack_->Run({"events", "list", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Examples:"));

  const CommandResult unreachable = testing::RunCommand(
      {PRESENCECTL_BIN, "--registry=127.0.0.1:1", "--timeout=2s", "orgs", "get", "kfor"},
      dir_->path());
  EXPECT_EQ(unreachable.exit_code, 5);
  EXPECT_THAT(unreachable.err, HasSubstr("UNAVAILABLE"));

  // Addresses come from the environment when no flag is given.
  const CommandResult from_env = testing::RunCommand(
      {PRESENCECTL_BIN, "health"}, dir_->path(),
      {"PRESENCE_REGISTRY=" + stack_->registry().address(),
       "PRESENCE_TIMELINE=" + stack_->timeline().address()});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.out << from_env.err;
  EXPECT_THAT(from_env.out, HasSubstr("SERVING"));
}

// The server's error details (AIP-193) on stderr and in -o json; exit codes
// as without them.
TEST_F(PresencectlTest, ErrorsShowTheirReasonAndDetails) {
  const CommandResult missing = stack_->Run({"orgs", "get", "nope"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND: organizations/nope not found\n"
                                     "  reason: ORGANIZATION_NOT_FOUND (registry.presence.dev) "
                                     "organization=organizations/nope\n"
                                     "  resource: organizations/nope "
                                     "(registry.presence.dev/Organization)\n"));

  const CommandResult invalid =
      stack_->Run({"events", "create", "x", "--title", "T", "--kind", "other", "--start",
                   "2010", "--org", "organizations/nope"});
  EXPECT_EQ(invalid.exit_code, 4);
  EXPECT_THAT(invalid.err,
              HasSubstr("  reason: UNKNOWN_ORGANIZATION (timeline.presence.dev) "
                        "field=event.organizations[0] organization=organizations/nope\n"
                        "  field event.organizations[0]: "));

  const CommandResult json = stack_->Run({"orgs", "delete", "nato", "-o", "json"});
  EXPECT_EQ(json.exit_code, 6);
  EXPECT_EQ(json.out, "");
  presence::cli::ErrorOutput output;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.err, &output).ok()) << json.err;
  const auto& error = output.error();
  EXPECT_EQ(error.status(), "FAILED_PRECONDITION");
  EXPECT_EQ(error.exit_code(), 6);
  EXPECT_EQ(error.reason(), "PARENT_HAS_LIVE_CHILDREN");
  EXPECT_EQ(error.domain(), "registry.presence.dev");
  EXPECT_EQ(error.metadata().at("organization"), "organizations/nato");
  ASSERT_EQ(error.precondition_violations_size(), 1);
  EXPECT_EQ(error.precondition_violations(0).type(), "LIVE_CHILD");

  const CommandResult invalid_json =
      stack_->Run({"events", "create", "x", "--title", "T", "--kind", "other", "--start",
                   "2010", "--org", "organizations/nope", "-o", "json"});
  EXPECT_EQ(invalid_json.exit_code, 4);
  presence::cli::ErrorOutput violation;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(invalid_json.err, &violation).ok())
      << invalid_json.err;
  EXPECT_EQ(violation.error().reason(), "UNKNOWN_ORGANIZATION");
  ASSERT_EQ(violation.error().field_violations_size(), 1);
  EXPECT_EQ(violation.error().field_violations(0).field(), "event.organizations[0]");
  // The JSON names are protobuf's mapping of ErrorOutput (lowerCamelCase).
  EXPECT_THAT(invalid_json.err, HasSubstr("\"fieldViolations\""));
}

TEST_F(PresencectlTest, AllFollowsPagesToTheEnd) {
  CommandResult everything = stack_->Run({"orgs", "list", "--page-size", "1000", "-o", "jsonl"});
  CommandResult paged = stack_->Run({"orgs", "list", "--page-size", "3", "--all", "-o", "jsonl"});
  ASSERT_EQ(paged.exit_code, 0) << paged.err;
  EXPECT_EQ(paged.out, everything.out);
  EXPECT_EQ(paged.err, "");
  CommandResult one_page = stack_->Run({"orgs", "list", "--page-size", "3", "-o", "jsonl"});
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(one_page.out, '\n', absl::SkipEmpty())).size(), 3u);
  EXPECT_THAT(one_page.err, HasSubstr("more results exist"));
  CommandResult events = stack_->Run({"events", "list", "--page-size", "2", "--all", "-o", "jsonl"});
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(events.out, '\n', absl::SkipEmpty())).size(), 14u);
}

TEST_F(PresencectlTest, ExportThenImportIntoEmptyServicesReproducesTheData) {
  WaitForPresence();
  CommandResult exported = stack_->Run({"export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string file = dir_->Sub("export.jsonl");
  std::ofstream(file) << exported.out;

  Stack empty(*dir_, "empty-", /*seed=*/false);
  ASSERT_TRUE(empty.ok());
  CommandResult imported = empty.Run({"import", file});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_THAT(imported.err, HasSubstr("31 created, 0 updated, 0 unchanged, 0 failed"));
  CommandResult again = empty.Run({"export"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, exported.out);

  // Idempotent: a second import changes nothing, not even the revision.
  const std::string revision_before = empty.Run({"orgs", "list", "--page-size", "1", "-o", "json"}).out;
  CommandResult rerun = empty.Run({"import", file});
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_THAT(rerun.err, HasSubstr("0 created, 0 updated, 31 unchanged, 0 failed"));
  EXPECT_EQ(empty.Run({"orgs", "list", "--page-size", "1", "-o", "json"}).out, revision_before);

  // Bad lines are reported with their numbers; the rest goes in.
  const std::string bad = dir_->Sub("bad.jsonl");
  std::ofstream(bad)
      << "{\"name\":\"organizations/fresh\",\"displayName\":\"Fresh\",\"kind\":\"KIND_OTHER\"}\n"
      << "this is not json\n"
      << "{\"name\":\"events/orphan\",\"title\":\"T\",\"kind\":\"OTHER\",\"start\":{\"year\":2010},"
         "\"organizations\":[\"organizations/nowhere\"]}\n"
      << "{\"name\":\"organizations/fresh2\",\"displayName\":\"Fresh 2\",\"kind\":\"KIND_OTHER\"}\n";
  CommandResult partial = empty.Run({"import", bad});
  EXPECT_EQ(partial.exit_code, 8);
  EXPECT_THAT(partial.err, HasSubstr(bad + ":2: "));
  EXPECT_THAT(partial.err, HasSubstr(bad + ":3: "));
  EXPECT_THAT(partial.err, HasSubstr("organizations/nowhere"));
  EXPECT_EQ(empty.Run({"orgs", "get", "fresh2"}).exit_code, 0);
  // The same as a report on stdout.
  CommandResult report = empty.Run({"import", bad, "-o", "json"});
  EXPECT_EQ(report.exit_code, 8);
  EXPECT_THAT(report.out, HasSubstr("\"unchanged\": 2"));
  EXPECT_THAT(report.out, HasSubstr("\"failed\": 2"));
  EXPECT_THAT(report.out, HasSubstr("\"line\": 3"));
  EXPECT_THAT(report.err, HasSubstr("\"exitCode\": 8"));

  const std::string bad2 = dir_->Sub("bad2.jsonl");
  std::ofstream(bad2) << "garbage\n"
                      << "{\"name\":\"organizations/late\",\"displayName\":\"L\",\"kind\":\"KIND_OTHER\"}\n";
  CommandResult fast = empty.Run({"import", "--fail-fast", bad2});
  EXPECT_EQ(fast.exit_code, 8);
  EXPECT_EQ(empty.Run({"orgs", "get", "late"}).exit_code, 3) << "--fail-fast must stop";
}

// Issue 13: export then import of deleted trees (a deleted parent of a
// deleted child), an alias handed from a deleted organization to a live
// one, and events naming deleted organizations.
TEST_F(PresencectlTest, ExportImportReproducesDeletedTreesAndMovedAliases) {
  Stack source(*dir_, "tree-", /*seed=*/false);
  ASSERT_TRUE(source.ok());
  const std::vector<std::vector<std::string>> history = {
      {"orgs", "create", "p", "--display-name", "Parent", "--kind", "other"},
      {"orgs", "create", "c", "--display-name", "Child", "--kind", "other", "--parent", "p",
       "--alias", "Shared"},
      {"events", "create", "c-opens", "--title", "C opens", "--kind", "establishment",
       "--start", "2009", "--org", "c", "--org", "p"},
      {"orgs", "delete", "c"},
      {"orgs", "delete", "p"},
      {"orgs", "create", "heir", "--display-name", "Heir", "--kind", "other", "--alias",
       "Shared"},
  };
  for (const auto& args : history) {
    CommandResult r = source.Run(args);
    ASSERT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
  }
  CommandResult exported = source.Run({"export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("\"state\":\"DELETED\""));
  const std::string file = dir_->Sub("tree.jsonl");
  std::ofstream(file) << exported.out;

  Stack target(*dir_, "tree-copy-", /*seed=*/false);
  ASSERT_TRUE(target.ok());
  CommandResult imported = target.Run({"import", file});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_THAT(imported.err, HasSubstr("4 created, 0 updated, 0 unchanged, 0 failed"));
  EXPECT_EQ(target.Run({"export"}).out, exported.out);
  CommandResult again = target.Run({"import", file});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("0 created, 0 updated, 4 unchanged, 0 failed"));
}

TEST_F(PresencectlTest, FirstContactLikeKubectl) {
  CommandResult org = stack_->Run({"org", "list"});
  EXPECT_EQ(org.exit_code, 2);
  EXPECT_EQ(org.out, "");
  EXPECT_EQ(org.err,
            "presencectl: unknown command \"org\" for \"presencectl\"; did you mean \"orgs\"?\n");
  CommandResult lst = stack_->Run({"orgs", "lst"});
  EXPECT_EQ(lst.exit_code, 2);
  EXPECT_THAT(lst.err, HasSubstr("unknown command \"lst\" for \"presencectl orgs\"; did you mean "
                                 "\"list\"?"));
  CommandResult nothing = stack_->Run({"events"});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_THAT(nothing.err, HasSubstr("\"presencectl events\" needs a command: list, get"));

  // Global flags are listed in every command's help.
  for (const std::vector<std::string>& help :
       {std::vector<std::string>{"orgs", "get", "--help"}, {"presence", "--help"},
        {"events", "list", "--help"}, {"health", "--help"}}) {
    CommandResult r = stack_->Run(help);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(r.out, HasSubstr("Global flags (every command):"));
    EXPECT_THAT(r.out, HasSubstr("--registry HOST:PORT"));
    EXPECT_THAT(r.out, HasSubstr("-o, --output FORMAT"));
  }
}

TEST_F(PresencectlTest, VersionIsTheClientsAndWhatEachServiceReports) {
  const std::string registry_line =
      testing::RunCommand({PRESENCE_REGISTRY_BIN, "--version"}, dir_->path()).out;
  const std::string timeline_line =
      testing::RunCommand({PRESENCE_TIMELINE_BIN, "--version"}, dir_->path()).out;
  ASSERT_THAT(registry_line, HasSubstr("presence-registry "));
  CommandResult version = stack_->Run({"version"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_THAT(version.out, HasSubstr("presencectl 0."));
  EXPECT_THAT(version.out, HasSubstr(std::string(absl::StripTrailingAsciiWhitespace(registry_line))));
  EXPECT_THAT(version.out, HasSubstr(std::string(absl::StripTrailingAsciiWhitespace(timeline_line))));
  CommandResult flag = stack_->Run({"--version", "-o", "json"});
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_THAT(flag.out, HasSubstr("\"client\": \"presencectl 0."));
  EXPECT_THAT(flag.out, HasSubstr("\"version\": \"presence-timeline "));
  CommandResult client = testing::RunCommand(
      {PRESENCECTL_BIN, "--registry=127.0.0.1:1", "version", "--client"}, dir_->path());
  EXPECT_EQ(client.exit_code, 0);
  EXPECT_THAT(client.out, HasSubstr("presencectl 0."));
  CommandResult down = testing::RunCommand(
      {PRESENCECTL_BIN, "--registry=127.0.0.1:1", "--timeout=2s", "version"}, dir_->path());
  EXPECT_EQ(down.exit_code, 5);
  EXPECT_THAT(down.out, HasSubstr("unreachable"));
}

TEST_F(PresencectlTest, JsonOutputForEveryKindOfResult) {
  CommandResult health = stack_->Run({"health", "-o", "json"});
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr("\"service\": \"registry\""));
  EXPECT_THAT(health.out, HasSubstr("\"status\": \"SERVING\""));
  CommandResult missing = stack_->Run({"orgs", "get", "nope", "-o", "json"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_EQ(missing.out, "");
  EXPECT_THAT(missing.err, HasSubstr("\"status\": \"NOT_FOUND\""));
  EXPECT_THAT(missing.err, HasSubstr("\"exitCode\": 3"));
  CommandResult usage = stack_->Run({"org", "-o", "json"});
  EXPECT_EQ(usage.exit_code, 2);
}

// The completion scripts, run in the shells they are for, complete
// commands, flags and values, and organizations from the registry.
TEST_F(PresencectlTest, CompletionScriptsCompleteCommandsFlagsAndOrganizations) {
  const std::string bin_dir = std::string(PRESENCECTL_BIN).substr(
      0, std::string(PRESENCECTL_BIN).rfind('/'));
  // The scripts call presencectl by name.
  const std::string path = "PATH=" + bin_dir + ":$PATH; ";
  const std::vector<std::string> env = {"PRESENCE_REGISTRY=" + stack_->registry().address()};
  const auto bash = [&](const std::string& words) {
    return testing::RunCommand(
        {"/bin/bash", "-c",
         path + "source <(presencectl completion bash) && COMP_WORDS=(" + words +
             ") && COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )) && __presencectl_bash; "
             "printf '%s\\n' \"${COMPREPLY[@]}\""},
        dir_->path(), env);
  };
  EXPECT_EQ(bash("presencectl or").out, "orgs\n");
  EXPECT_EQ(bash("presencectl orgs li").out, "list\n");
  EXPECT_EQ(bash("presencectl orgs list --kind mil").out, "military-mission\n");
  EXPECT_EQ(bash("presencectl events list --kind down").out, "downsizing\n");
  EXPECT_EQ(bash("presencectl -o js").out, "json\njsonl\n");
  EXPECT_THAT(bash("presencectl events list --s").out, HasSubstr("--since\n"));
  EXPECT_EQ(bash("presencectl orgs get kf").out, "kfor\n");
  EXPECT_EQ(bash("presencectl orgs get KF").out, "KFOR\n");
  EXPECT_EQ(bash("presencectl events list --org OM").out, "OMiK\n");
  EXPECT_EQ(bash("presencectl --registry " + stack_->registry().address() + " orgs get eul").out,
            "eulex\n");

  const CommandResult zsh = testing::RunCommand(
      {"/usr/bin/zsh", "-c",
       path + "autoload -U compinit && compinit -u -D && source <(presencectl completion zsh) && "
       "COMP_WORDS=(presencectl orgs get k) && COMP_CWORD=3 && __presencectl_bash; "
       "print -l $COMPREPLY"},
      dir_->path(), env);
  EXPECT_EQ(zsh.exit_code, 0) << zsh.err;
  EXPECT_THAT(zsh.out, HasSubstr("kfor\n"));

  const auto fish = [&](const std::string& line) {
    return testing::RunCommand(
        {"/usr/bin/fish", "--no-config", "-c",
         "set PATH " + bin_dir + " $PATH; presencectl completion fish | source; complete -C '" + line + "'"},
        dir_->path(), env);
  };
  EXPECT_THAT(fish("presencectl orgs l").out, HasSubstr("list\tList organizations"));
  EXPECT_THAT(fish("presencectl orgs list --kind mil").out, HasSubstr("military-mission"));
  EXPECT_THAT(fish("presencectl orgs get KF").out, HasSubstr("KFOR"));
  EXPECT_THAT(fish("presencectl completion ").out, HasSubstr("zsh"));
}

// The Kosovo chart as a person would look at it: Chromium renders it, and
// the picture is not blank and has each lane's bar, in its colour, where the
// SVG puts it (and nothing of it just above). PRESENCE_UPDATE_GOLDEN=1 also
// refreshes the README's picture.
TEST_F(PresencectlTest, ChartRendersInChromiumWhereTheSvgPutsIt) {
  WaitForPresence();
  CommandResult chart = stack_->Run({"chart", "--at", "2009-06-01"});
  ASSERT_EQ(chart.exit_code, 0) << chart.err;
  testing::Svg svg(chart.out);
  ASSERT_TRUE(svg.ok());
  const int width = static_cast<int>(testing::Svg::Number(svg.One("/s:svg"), "width"));
  const int height = static_cast<int>(std::ceil(testing::Svg::Number(svg.One("/s:svg"), "height")));
  const std::string svg_path = dir_->Sub("chart.svg"), png_path = dir_->Sub("chart.png");
  std::ofstream(svg_path) << chart.out;
  // As the brief for this machine says: no sandbox as root, and nothing
  // that reaches out to the network.
  const CommandResult render = testing::RunCommand(
      {CHROMIUM_BIN, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
       "--no-first-run", "--disable-background-networking", "--disable-component-update",
       "--disable-sync", "--hide-scrollbars", "--user-data-dir=" + dir_->Sub("chromium-profile"),
       "--screenshot=" + png_path, absl::StrCat("--window-size=", width, ",", height),
       "file://" + svg_path},
      dir_->path());
  ASSERT_EQ(render.exit_code, 0) << render.err;

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_NE(png_image_begin_read_from_file(&image, png_path.c_str()), 0) << image.message;
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  ASSERT_NE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr), 0) << image.message;
  ASSERT_EQ(static_cast<int>(image.width), width);
  ASSERT_EQ(static_cast<int>(image.height), height);
  const auto pixel = [&](double x, double y) {
    const size_t at = (static_cast<size_t>(y) * image.width + static_cast<size_t>(x)) * 3;
    return std::array<int, 3>{pixels[at], pixels[at + 1], pixels[at + 2]};
  };
  const auto distance = [](std::array<int, 3> a, std::array<int, 3> b) {
    return std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2]);
  };
  const auto hex = [](const std::string& color) {
    return std::array<int, 3>{std::stoi(color.substr(1, 2), nullptr, 16),
                              std::stoi(color.substr(3, 2), nullptr, 16),
                              std::stoi(color.substr(5, 2), nullptr, 16)};
  };
  // Not blank: ink over a good part of the picture.
  size_t ink = 0;
  for (size_t i = 0; i < pixels.size(); i += 3) {
    ink += pixels[i] + pixels[i + 1] + pixels[i + 2] < 600;
  }
  EXPECT_GT(ink, pixels.size() / 3 / 20) << "less than 5% of the picture is drawn";
  EXPECT_LT(distance(pixel(2, 2), {255, 255, 255}), 10) << "the corner is background";

  const std::vector<xmlNodePtr> lanes = svg.All("//s:g[" + testing::Class("lane") + "]");
  ASSERT_EQ(lanes.size(), 6u);
  for (xmlNodePtr lane : lanes) {
    const std::string org = testing::Svg::Attr(lane, "data-organization");
    SCOPED_TRACE(org);
    xmlNodePtr bar = svg.One("//s:g[@data-organization='" + org + "']/s:rect[" +
                             testing::Class("bar") + "]");
    const double x = testing::Svg::Number(bar, "x"), w = testing::Svg::Number(bar, "width");
    const double y = testing::Svg::Number(bar, "y"), h = testing::Svg::Number(bar, "height");
    // The bar's colour is the last stop of its gradient.
    const std::string fill = testing::Svg::Attr(bar, "fill");
    const std::string id = fill.substr(5, fill.size() - 6);
    const std::array<int, 3> color = hex(testing::Svg::Attr(
        svg.One("//s:linearGradient[@id='" + id + "']/s:stop[3]"), "stop-color"));
    const double sample_x = w < 12 ? x + w / 2 : x + w - 6;
    EXPECT_LT(distance(pixel(sample_x, y + h / 2), color), 90)
        << "no bar at (" << sample_x << ", " << y + h / 2 << ")";
    EXPECT_GT(distance(pixel(sample_x, y - 4), color), 90) << "the bar reaches above its place";
  }
  // The --at line is drawn where the SVG says.
  xmlNodePtr at = svg.One("//s:line[" + testing::Class("at") + "]");
  const double at_x = testing::Svg::Number(at, "x1");
  bool red = false;
  for (double dx : {-1.0, 0.0, 1.0}) {
    const auto p = pixel(at_x + dx, testing::Svg::Number(at, "y2") - 3);
    red = red || (p[0] > 150 && p[1] < 120 && p[2] < 120);
  }
  EXPECT_TRUE(red) << "no red line at x=" << at_x;

  if (std::getenv("PRESENCE_UPDATE_GOLDEN") != nullptr) {
    std::ifstream in(png_path, std::ios::binary);
    std::ofstream(PRESENCE_README_CHART, std::ios::binary | std::ios::trunc) << in.rdbuf();
  }
}

TEST_F(PresencectlTest, WritesThroughTheCli) {
  CommandResult created = stack_->Run(
      {"orgs", "create", "cli-mission", "--display-name", "CLI Mission", "--kind",
       "field-mission", "--acronym", "CLIM", "--alias", "The CLI Mission", "--parent",
       "OSCE", "--established", "mid 2011", "-o", "jsonl"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("\"parentOrganization\":\"organizations/osce\""));
  EXPECT_THAT(created.out, HasSubstr("\"part\":\"PART_MID\""));

  CommandResult updated = stack_->Run({"orgs", "update", "CLIM", "--description", "Updated", "-o", "jsonl"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_THAT(updated.out, HasSubstr("\"description\":\"Updated\""));
  EXPECT_THAT(updated.out, HasSubstr("\"acronym\":\"CLIM\"")) << "other fields kept";
  CommandResult stale = stack_->Run({"orgs", "update", "cli-mission", "--description", "x", "--etag", "\"1\""});
  EXPECT_EQ(stale.exit_code, 6);
  EXPECT_THAT(stale.err, HasSubstr("ABORTED"));

  CommandResult event = stack_->Run(
      {"events", "create", "cli-mission-opens", "--title", "The CLI Mission opens", "--kind",
       "establishment", "--start", "2011-06-01", "--org", "The CLI Mission", "--org", "osce"});
  ASSERT_EQ(event.exit_code, 0) << event.err;
  CommandResult listed = stack_->Run({"events", "list", "--org", "clim", "-o", "jsonl"});
  EXPECT_THAT(listed.out, HasSubstr("events/cli-mission-opens"));
  CommandResult event_updated = stack_->Run({"events", "update", "cli-mission-opens", "--end", "2012"});
  EXPECT_EQ(event_updated.exit_code, 0) << event_updated.err;
  EXPECT_THAT(event_updated.out, HasSubstr("1 Jun 2011"));
  EXPECT_EQ(stack_->Run({"events", "delete", "cli-mission-opens"}).exit_code, 0);
  EXPECT_EQ(stack_->Run({"events", "get", "cli-mission-opens"}).exit_code, 3);

  EXPECT_EQ(stack_->Run({"orgs", "delete", "cli-mission"}).exit_code, 0);
  EXPECT_EQ(stack_->Run({"orgs", "lookup", "CLIM"}).exit_code, 3);
  EXPECT_EQ(stack_->Run({"orgs", "undelete", "cli-mission"}).exit_code, 0);
  CommandResult history = stack_->Run({"orgs", "history", "cli-mission", "--all"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(history.out, '\n', absl::SkipEmpty())).size(),
            5u) << history.out;  // Header and four versions.

  // The change feed replays what the CLI just did.
  CommandResult watched = stack_->Run({"orgs", "watch", "--from", "17", "--count", "4", "-o", "jsonl"});
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_THAT(watched.out, HasSubstr("\"type\":\"CREATED\""));
  EXPECT_THAT(watched.out, HasSubstr("\"type\":\"UNDELETED\""));

  CommandResult from_file_org = testing::RunCommand(
      {"/bin/sh", "-c",
       std::string("echo '{\"displayName\":\"From stdin\",\"kind\":\"KIND_OTHER\"}' | ") +
           PRESENCECTL_BIN + " --registry=" + stack_->registry().address() +
           " orgs create from-stdin --from-file - -o jsonl"},
      dir_->path());
  EXPECT_EQ(from_file_org.exit_code, 0) << from_file_org.err;
  EXPECT_THAT(from_file_org.out, HasSubstr("From stdin"));
}

}  // namespace
}  // namespace presence
