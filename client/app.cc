#include "client/app.h"

#include <algorithm>
#include <functional>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/commands.h"
#include "client/context.h"
#include "client/format.h"
#include "client/output.h"
#include "client/status.h"

namespace presence::cli {
namespace {

constexpr char kDescription[] =
    "presencectl - query and maintain the presence registry and timeline.";

constexpr char kRootFooter[] =
    "Dates: 2008-02-17, 2009-04, 2010, early 2010, mid 2009-06, late 2009, 1999~ (approximate).\n"
    "Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 invalid input,\n"
    "            5 unavailable or deadline exceeded, 6 conflict (exists, etag,\n"
    "            precondition), 7 unauthenticated or denied, 8 import had failures.\n"
    "Examples:\n"
    "  presencectl orgs get kfor\n"
    "  presencectl events list --org EULEX\n"
    "  presencectl presence 2009-06-01\n"
    "  presencectl chart --at 2009-06-01 > presence.svg\n"
    "Run 'presencectl COMMAND --help' for each command's flags and examples.";

void AddGlobalFlags(CLI::App& app, GlobalFlags& flags, bool* version) {
  app.add_option("--registry", flags.registry, "Registry address host:port")
      ->envname("PRESENCE_REGISTRY")->capture_default_str()->type_name("HOST:PORT");
  app.add_option("--timeline", flags.timeline, "Timeline address host:port")
      ->envname("PRESENCE_TIMELINE")->capture_default_str()->type_name("HOST:PORT");
  app.add_option("--timeout", flags.timeout, "Deadline of each call (5s, 500ms, 2.5)")
      ->capture_default_str()->type_name("DURATION");
  app.add_option("-o,--output", flags.output, "table, json or jsonl (chart: svg, html, json)")
      ->capture_default_str()->type_name("FORMAT");
  app.add_option("--token", flags.token, "Bearer token for writes (and reads where required)")
      ->envname("PRESENCE_TOKEN")->type_name("TOKEN");
  app.add_option("--tls_ca", flags.tls_ca, "PEM CA of the services' certificates: use TLS")
      ->envname("PRESENCE_TLS_CA")->type_name("FILE");
  app.add_option("--tls_cert", flags.tls_cert, "PEM client certificate (mTLS)")
      ->envname("PRESENCE_TLS_CERT")->type_name("FILE");
  app.add_option("--tls_key", flags.tls_key, "PEM key of --tls_cert")
      ->envname("PRESENCE_TLS_KEY")->type_name("FILE");
  app.add_flag("--version", *version, "Print the versions of presencectl and both services");
}

// The root's flags as a help section, so that every command's --help shows
// them.
std::string GlobalFlagsHelp(const CLI::App& root) {
  Table table({"Global flags (every command):", ""});
  for (const CLI::Option* opt : root.get_options()) {
    if (opt->get_lnames() == std::vector<std::string>{"help"} ||
        opt->get_lnames() == std::vector<std::string>{"version"}) {
      continue;
    }
    std::vector<std::string> names;
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    std::string text = opt->get_description();
    if (!opt->get_default_str().empty()) absl::StrAppend(&text, " (default ", opt->get_default_str(), ")");
    if (!opt->get_envname().empty()) absl::StrAppend(&text, " [$", opt->get_envname(), "]");
    table.AddRow({absl::StrCat("  ", absl::StrJoin(names, ", "), " ", opt->get_type_name()), text});
  }
  return table.Render();
}

void AppendToFooters(CLI::App* app, const std::string& text) {
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    std::string footer = sub->get_footer();
    sub->footer(footer.empty() ? text : absl::StrCat(footer, "\n\n", text));
    AppendToFooters(sub, text);
  }
}

std::vector<const CLI::App*> VisibleSubcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::string CommandPath(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    names.push_back(a->get_parent() == nullptr ? "presencectl" : a->get_name());
  }
  std::reverse(names.begin(), names.end());
  return absl::StrJoin(names, " ");
}

// The option named by `word` ("--x", "--x=1", "-o", "-ojson"), looked up in
// `app` and its parents (global flags fall through).
const CLI::Option* FindOption(const CLI::App& app, absl::string_view word, bool* inline_value) {
  std::string name(word);
  *inline_value = false;
  if (absl::StartsWith(word, "--")) {
    if (size_t eq = word.find('='); eq != absl::string_view::npos) {
      name = std::string(word.substr(0, eq));
      *inline_value = true;
    }
  } else if (word.size() > 2) {
    name = std::string(word.substr(0, 2));
    *inline_value = true;
  }
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    if (const CLI::Option* opt = a->get_option_no_throw(name)) return opt;
  }
  return nullptr;
}

}  // namespace

int EditDistance(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

absl::Status CheckCommandWords(const CLI::App& root, const std::vector<std::string>& args) {
  const CLI::App* level = &root;
  bool version = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") break;
    if (word == "-h" || word == "--help" || word == "--help-all") return absl::OkStatus();
    if (word.size() > 1 && word[0] == '-') {
      bool inline_value = false;
      const CLI::Option* opt = FindOption(*level, word, &inline_value);
      if (opt != nullptr && opt->get_lnames() == std::vector<std::string>{"version"}) {
        version = true;
      }
      // Unknown options are CLI11's to report.
      if (opt != nullptr && !inline_value && opt->get_expected_min() > 0) ++i;
      continue;
    }
    const std::vector<const CLI::App*> subs = VisibleSubcommands(*level);
    const std::vector<const CLI::App*> all =
        level->get_subcommands([](const CLI::App*) { return true; });
    if (all.empty()) return absl::OkStatus();  // A leaf: its arguments follow.
    auto named = std::find_if(all.begin(), all.end(),
                              [&](const CLI::App* s) { return s->check_name(word); });
    if (named != all.end()) {
      level = *named;
      continue;
    }
    std::string message =
        absl::StrCat("unknown command \"", word, "\" for \"", CommandPath(*level), "\"");
    const CLI::App* best = nullptr;
    int best_distance = 0;
    for (const CLI::App* s : subs) {
      const int d = EditDistance(word, s->get_name());
      const bool prefix = absl::StartsWith(s->get_name(), word) && word.size() >= 2;
      if ((d <= 2 || prefix) && (best == nullptr || d < best_distance)) {
        best = s;
        best_distance = d;
      }
    }
    if (best != nullptr) {
      absl::StrAppend(&message, "; did you mean \"", best->get_name(), "\"?");
    } else {
      absl::StrAppend(&message, "; run '", CommandPath(*level), " --help' for its commands");
    }
    return UsageError(message);
  }
  if (level->get_require_subcommand_min() > 0 || (level == &root && !version)) {
    std::vector<std::string> names;
    for (const CLI::App* s : VisibleSubcommands(*level)) names.push_back(s->get_name());
    return UsageError(absl::StrCat("\"", CommandPath(*level), "\" needs a command: ",
                                   absl::StrJoin(names, ", "), " (run '", CommandPath(*level),
                                   " --help')"));
  }
  return absl::OkStatus();
}

int RunPresencectl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Output output(out, err);
  Context context(&output);
  Command selected;
  bool version = false;

  CLI::App app{kDescription, "presencectl"};
  app.require_subcommand(0, 1);
  app.fallthrough();
  app.footer(kRootFooter);
  AddGlobalFlags(app, context.flags(), &version);
  const CommandSet set{app, context, &selected};
  AddOrgsCommands(set);
  AddEventsCommands(set);
  AddPresenceCommand(set);
  AddTransferCommands(set);
  AddChartCommand(set);
  AddHealthCommands(set);
  AddCompletionCommands(set);  // Last: it reads the whole tree.
  AppendToFooters(&app, GlobalFlagsHelp(app));

  const std::vector<std::string> args(argv + 1, argv + argc);
  if (absl::Status s = CheckCommandWords(app, args); !s.ok()) {
    output.Error(s);
    return ExitCode(s);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    const absl::Status s = UsageError(absl::StrCat(
        absl::StripTrailingAsciiWhitespace(e.what()), "; run 'presencectl ",
        "COMMAND --help' for usage"));
    output.Error(s);
    return ExitCode(s);
  }
  absl::Status status = context.Prepare();
  const std::vector<CLI::App*> chosen = app.get_subcommands();
  const bool chart = !chosen.empty() && chosen.front()->get_name() == "chart";
  if (status.ok() && !chart &&
      (output.format() == Format::kSvg || output.format() == Format::kHtml)) {
    status = UsageError("-o svg and -o html are for chart; use table, json or jsonl");
  }
  if (status.ok()) {
    if (version) {
      status = PrintVersion(context, /*client_only=*/false);
    } else if (selected) {
      status = selected();
    }
  }
  output.Error(status);
  return ExitCode(status);
}

}  // namespace presence::cli
