// presencectl completion bash|zsh|fish: shell completion scripts generated
// from the command tree (commands, flags, -o values, kinds), with
// organization ids and acronyms asked from the registry through the hidden
// `presencectl __complete orgs`. `__complete commands` lists every command
// (for the man page, client/man.cmake).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/commands.h"
#include "client/format.h"
#include "client/listing.h"
#include "client/output.h"
#include "client/status.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

namespace rv1 = ::presence::registry::v1;

// What an option's (or a positional's) value is.
enum class Values { kText, kFlag, kFormats, kChartFormats, kOrgKinds, kEventKinds, kOrgs, kFiles, kShells };

struct CommandInfo {
  std::vector<std::string> path;  // {"orgs", "list"}; empty for the root.
  const CLI::App* app = nullptr;
  std::vector<const CLI::App*> subcommands;
  std::vector<const CLI::Option*> options;  // Its own and the global flags.
  Values positional = Values::kText;
};

bool Visible(const CLI::App* app) { return !app->get_group().empty(); }

std::vector<std::string> NamesOf(const CLI::Option* opt) {
  std::vector<std::string> names;
  for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
  return names;
}

Values ValuesOf(const CommandInfo& command, const CLI::Option* opt) {
  const bool in_events = !command.path.empty() && command.path.front() == "events";
  if (opt->get_positional()) {
    const std::string name = opt->get_name(true);
    if (name == "organization") return Values::kOrgs;
    if (name == "file") return Values::kFiles;
    if (name == "shell") return Values::kShells;
    return Values::kText;
  }
  if (opt->get_expected_min() == 0) return Values::kFlag;
  if (opt->check_lname("output")) {
    return !command.path.empty() && command.path.front() == "chart" ? Values::kChartFormats
                                                                    : Values::kFormats;
  }
  if (opt->check_lname("kind")) return in_events ? Values::kEventKinds : Values::kOrgKinds;
  if (opt->check_lname("org") || opt->check_lname("parent")) return Values::kOrgs;
  if (opt->check_lname("from-file") || opt->check_lname("tls_ca") ||
      opt->check_lname("tls_cert") || opt->check_lname("tls_key") || opt->check_lname("out")) {
    return Values::kFiles;
  }
  return Values::kText;
}

std::vector<std::string> WordsOf(Values values) {
  switch (values) {
    case Values::kFormats:
      return {"table", "json", "jsonl"};
    case Values::kChartFormats:
      return {"svg", "html", "json"};
    case Values::kShells:
      return {"bash", "zsh", "fish"};
    case Values::kOrgKinds:
      return OrganizationKindNames();
    case Values::kEventKinds:
      return EventKindNames();
    default:
      return {};
  }
}

void Collect(const CLI::App& root, const CLI::App* app, std::vector<std::string> path,
             std::vector<CommandInfo>* out) {
  CommandInfo info;
  info.path = path;
  info.app = app;
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App* s) { return Visible(s); })) {
    info.subcommands.push_back(sub);
  }
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) {
    for (const CLI::Option* opt : a->get_options()) {
      if (opt->get_positional()) {
        if (a == app && info.positional == Values::kText) info.positional = ValuesOf(info, opt);
        continue;
      }
      // The root's own --version only at the root; --help everywhere once.
      if (a != app && (opt->check_lname("help") || opt->check_lname("version"))) continue;
      info.options.push_back(opt);
    }
  }
  const std::vector<const CLI::App*> subs = info.subcommands;
  out->push_back(std::move(info));
  for (const CLI::App* sub : subs) {
    std::vector<std::string> sub_path = path;
    sub_path.push_back(sub->get_name());
    Collect(root, sub, sub_path, out);
  }
}

std::vector<CommandInfo> Commands(const CLI::App& root) {
  std::vector<CommandInfo> out;
  Collect(root, &root, {}, &out);
  return out;
}

// Single-quoted for sh.
std::string Quote(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

// The bash completion function, shared by the bash and zsh scripts.
std::string BashFunction(const CLI::App& root) {
  const std::vector<CommandInfo> commands = Commands(root);
  std::vector<std::string> valued;  // Options taking a value, anywhere.
  std::vector<std::string> globals;  // Global options taking a value.
  for (const CommandInfo& c : commands) {
    for (const CLI::Option* opt : c.options) {
      if (opt->get_expected_min() == 0) continue;
      for (const std::string& n : NamesOf(opt)) {
        if (std::find(valued.begin(), valued.end(), n) == valued.end()) valued.push_back(n);
        if (c.path.empty() && n.size() > 2 &&
            std::find(globals.begin(), globals.end(), n) == globals.end()) {
          globals.push_back(n);
        }
      }
    }
  }
  std::vector<std::string> paths;
  for (const CommandInfo& c : commands) {
    if (!c.path.empty()) paths.push_back("/" + absl::StrJoin(c.path, "/"));
  }
  std::string out = absl::StrCat(
      "__presencectl_orgs() {\n"
      "  presencectl \"${__presencectl_globals[@]}\" --timeout=2s __complete orgs 2>/dev/null\n"
      "}\n"
      "__presencectl_words() { COMPREPLY=($(compgen -W \"$1\" -- \"$cur\")); }\n"
      "__presencectl_bash() {\n"
      "  # zsh (bashcompinit): arrays indexed from 0 as in bash.\n"
      "  [[ -n \"${ZSH_VERSION-}\" ]] && setopt localoptions ksharrays\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" cmdpath=\"\" i w\n"
      "  (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
      "  # bash splits --flag=value at '='.\n"
      "  if [[ \"$cur\" == \"=\" ]]; then cur=\"\";\n"
      "  elif [[ \"$prev\" == \"=\" ]] && (( COMP_CWORD > 1 )); then prev=\"${COMP_WORDS[COMP_CWORD-2]}\"; fi\n"
      "  __presencectl_globals=()\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=\"${COMP_WORDS[i]}\"\n"
      "    case \"$w\" in\n"
      "      ", absl::StrJoin(globals, "|"), ")\n"
      "        if [[ \"${COMP_WORDS[i+1]}\" == \"=\" ]]; then\n"
      "          __presencectl_globals+=(\"$w=${COMP_WORDS[i+2]}\"); ((i += 2))\n"
      "        else\n"
      "          __presencectl_globals+=(\"$w\" \"${COMP_WORDS[i+1]}\"); ((i++))\n"
      "        fi\n"
      "        continue;;\n"
      "      ", absl::StrJoin(valued, "|"), ")\n"
      "        if [[ \"${COMP_WORDS[i+1]}\" == \"=\" ]]; then ((i += 2)); else ((i++)); fi\n"
      "        continue;;\n"
      "      -*) continue;;\n"
      "    esac\n"
      "    case \"$cmdpath/$w\" in\n"
      "      ", absl::StrJoin(paths, "|"), ") cmdpath=\"$cmdpath/$w\";;\n"
      "    esac\n"
      "  done\n"
      "  local cmds=\"\" opts=\"\" pos=\"\"\n"
      "  # Not $path: zsh ties it to $PATH.\n  case \"$cmdpath\" in\n");
  for (const CommandInfo& c : commands) {
    std::vector<std::string> names, opts;
    for (const CLI::App* s : c.subcommands) names.push_back(s->get_name());
    std::string value_cases;
    for (const CLI::Option* opt : c.options) {
      const std::vector<std::string> option_names = NamesOf(opt);
      opts.insert(opts.end(), option_names.begin(), option_names.end());
      const Values v = ValuesOf(c, opt);
      if (v == Values::kFlag) continue;
      std::string action = "return;;";
      if (v == Values::kOrgs) {
        action = "__presencectl_words \"$(__presencectl_orgs)\"; return;;";
      } else if (v == Values::kFiles) {
        action = "COMPREPLY=($(compgen -f -- \"$cur\")); return;;";
      } else if (!WordsOf(v).empty()) {
        action = absl::StrCat("__presencectl_words ", Quote(absl::StrJoin(WordsOf(v), " ")),
                              "; return;;");
      }
      absl::StrAppend(&value_cases, "        ", absl::StrJoin(option_names, "|"), ") ", action, "\n");
    }
    std::string pos;
    if (c.positional == Values::kOrgs) pos = "__presencectl_words \"$(__presencectl_orgs)\"";
    if (c.positional == Values::kFiles) pos = "COMPREPLY=($(compgen -f -- \"$cur\"))";
    if (!WordsOf(c.positional).empty()) {
      pos = absl::StrCat("__presencectl_words ", Quote(absl::StrJoin(WordsOf(c.positional), " ")));
    }
    absl::StrAppend(&out, "    \"", c.path.empty() ? "" : "/" + absl::StrJoin(c.path, "/"),
                    "\")\n      case \"$prev\" in\n", value_cases, "      esac\n",
                    "      cmds=", Quote(absl::StrJoin(names, " ")),
                    "; opts=", Quote(absl::StrJoin(opts, " ")), "; pos=", Quote(pos), ";;\n");
  }
  absl::StrAppend(&out,
                  "  esac\n"
                  "  if [[ \"$cur\" == -* ]]; then __presencectl_words \"$opts\"; return; fi\n"
                  "  if [[ -n \"$cmds\" ]]; then __presencectl_words \"$cmds\"; return; fi\n"
                  "  # The command's first positional argument.\n"
                  "  [[ -n \"$pos\" ]] && eval \"$pos\"\n"
                  "  return 0\n"
                  "}\n");
  return out;
}

std::string BashScript(const CLI::App& root) {
  return absl::StrCat(
      "# bash completion for presencectl (generated by `presencectl completion bash`).\n"
      "# Install as /usr/share/bash-completion/completions/presencectl, or:\n"
      "#   source <(presencectl completion bash)\n"
      "# Organization ids and acronyms come from the registry (the --registry\n"
      "# typed on the line, else $PRESENCE_REGISTRY or the default).\n",
      BashFunction(root), "complete -o default -F __presencectl_bash presencectl\n");
}

std::string ZshScript(const CLI::App& root) {
  return absl::StrCat(
      "#compdef presencectl\n"
      "# zsh completion for presencectl (generated by `presencectl completion zsh`):\n"
      "# the bash completion through zsh's bashcompinit. Put it in $fpath as\n"
      "# _presencectl, or: source <(presencectl completion zsh)\n"
      "autoload -U +X bashcompinit && bashcompinit\n",
      BashFunction(root), "complete -o default -F __presencectl_bash presencectl\n",
      "# Autoloaded from $fpath rather than sourced: answer this request too.\n"
      "[[ \"${funcstack[1]}\" == _presencectl ]] && _bash_complete -o default -F __presencectl_bash\n"
      "return 0\n");
}

std::string FishScript(const CLI::App& root) {
  const std::vector<CommandInfo> commands = Commands(root);
  std::string out =
      "# fish completion for presencectl (generated by `presencectl completion fish`).\n"
      "# Install as ~/.config/fish/completions/presencectl.fish, or:\n"
      "#   presencectl completion fish | source\n"
      "function __presencectl_path\n"
      "    # The command words typed so far, options and their values left out.\n"
      "    set -l words (commandline -opc)\n"
      "    set -l path\n"
      "    set -l skip 0\n"
      "    for w in $words[2..-1]\n"
      "        if test $skip = 1\n"
      "            set skip 0\n"
      "            continue\n"
      "        end\n"
      "        switch $w\n"
      "            case '--*=*'\n"
      "                continue\n";
  std::vector<std::string> valued;
  for (const CommandInfo& c : commands) {
    for (const CLI::Option* opt : c.options) {
      if (opt->get_expected_min() == 0) continue;
      for (const std::string& n : NamesOf(opt)) {
        if (std::find(valued.begin(), valued.end(), n) == valued.end()) valued.push_back(n);
      }
    }
  }
  std::vector<std::string> quoted;
  for (const std::string& v : valued) quoted.push_back(Quote(v));
  absl::StrAppend(&out, "            case ", absl::StrJoin(quoted, " "), "\n",
                  "                set skip 1\n"
                  "            case '-*'\n"
                  "                continue\n"
                  "            case '*'\n"
                  "                set path $path $w\n"
                  "        end\n"
                  "    end\n"
                  "    echo (string join ' ' -- $path)\n"
                  "end\n"
                  "function __presencectl_at\n"
                  "    test (__presencectl_path) = \"$argv\"\n"
                  "end\n"
                  "function __presencectl_orgs\n"
                  "    set -l words (commandline -opc)\n"
                  "    set -l globals\n"
                  "    for i in (seq 2 (count $words))\n"
                  "        switch $words[$i]\n"
                  "            case '--registry=*' '--token=*' '--tls_*=*'\n"
                  "                set globals $globals $words[$i]\n"
                  "            case --registry --token --tls_ca --tls_cert --tls_key\n"
                  "                set globals $globals $words[$i] $words[(math $i + 1)]\n"
                  "        end\n"
                  "    end\n"
                  "    presencectl $globals --timeout=2s __complete orgs 2>/dev/null\n"
                  "end\n"
                  "complete -c presencectl -f\n");
  for (const CommandInfo& c : commands) {
    const std::string at = absl::StrCat("-n ", Quote(absl::StrCat("__presencectl_at ",
                                                                   absl::StrJoin(c.path, " "))));
    for (const CLI::App* s : c.subcommands) {
      absl::StrAppend(&out, "complete -c presencectl ", at, " -a ", Quote(s->get_name()), " -d ",
                      Quote(s->get_description()), "\n");
    }
    for (const CLI::Option* opt : c.options) {
      std::string line = absl::StrCat("complete -c presencectl ", at);
      for (const std::string& s : opt->get_snames()) absl::StrAppend(&line, " -s ", s);
      for (const std::string& l : opt->get_lnames()) absl::StrAppend(&line, " -l ", l);
      const Values v = ValuesOf(c, opt);
      if (v == Values::kOrgs) {
        absl::StrAppend(&line, " -x -a '(__presencectl_orgs)'");
      } else if (v == Values::kFiles) {
        absl::StrAppend(&line, " -r -F");
      } else if (!WordsOf(v).empty()) {
        absl::StrAppend(&line, " -x -a ", Quote(absl::StrJoin(WordsOf(v), " ")));
      } else if (v == Values::kText) {
        absl::StrAppend(&line, " -x");
      }
      absl::StrAppend(&out, line, " -d ", Quote(opt->get_description()), "\n");
    }
    if (c.positional == Values::kOrgs) {
      absl::StrAppend(&out, "complete -c presencectl ", at, " -a '(__presencectl_orgs)'\n");
    } else if (c.positional == Values::kFiles) {
      absl::StrAppend(&out, "complete -c presencectl ", at, " -F\n");
    } else if (!WordsOf(c.positional).empty()) {
      absl::StrAppend(&out, "complete -c presencectl ", at, " -a ",
                      Quote(absl::StrJoin(WordsOf(c.positional), " ")), "\n");
    }
  }
  return out;
}

// Ids and acronyms of the live organizations, one per line.
absl::Status CompleteOrgs(Context& context) {
  rv1::ListOrganizationsRequest request;
  request.set_page_size(1000);
  PRESENCE_ASSIGN_OR_RETURN(const rv1::ListOrganizationsResponse all,
                            ListOrganizations(context, request, /*all=*/true));
  for (const auto& org : all.organizations()) {
    context.output().Text(absl::StrCat(IdOf(org.name()), "\n"));
    if (!org.acronym().empty() && org.acronym().find_first_of(" \t'\"") == std::string::npos) {
      context.output().Text(absl::StrCat(org.acronym(), "\n"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void AddCompletionCommands(const CommandSet& set) {
  Context& context = set.context;
  const CLI::App* root = &set.app;
  auto shell = std::make_shared<std::string>();
  CLI::App* completion = set.app.add_subcommand("completion", "Print a shell completion script");
  completion->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completion->footer(
      "Completes commands, flags, -o values and kinds, and organization ids and\n"
      "acronyms (asked from the registry as you type).\n"
      "Examples:\n"
      "  source <(presencectl completion bash)      # in ~/.bashrc\n"
      "  source <(presencectl completion zsh)       # in ~/.zshrc\n"
      "  presencectl completion fish | source       # in ~/.config/fish/config.fish");
  set.Select(completion, [shell, root, &context]() -> absl::Status {
    if (*shell == "bash") context.output().Text(BashScript(*root));
    if (*shell == "zsh") context.output().Text(ZshScript(*root));
    if (*shell == "fish") context.output().Text(FishScript(*root));
    return absl::OkStatus();
  });

  // Hidden (no group): what the scripts and the man page generator ask.
  auto what = std::make_shared<std::string>();
  CLI::App* complete = set.app.add_subcommand("__complete", "For completion scripts");
  complete->group("");
  complete->add_option("what", *what, "orgs or commands")
      ->required()
      ->check(CLI::IsMember({"orgs", "commands"}));
  set.Select(complete, [what, root, &context]() -> absl::Status {
    if (*what == "orgs") return CompleteOrgs(context);
    for (const CommandInfo& c : Commands(*root)) {
      if (!c.path.empty()) context.output().Text(absl::StrCat(absl::StrJoin(c.path, " "), "\n"));
    }
    return absl::OkStatus();
  });
}

}  // namespace presence::cli
