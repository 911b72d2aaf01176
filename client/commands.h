#ifndef PRESENCE_CLIENT_COMMANDS_H_
#define PRESENCE_CLIENT_COMMANDS_H_

// presencectl's command groups, one file each. Every group adds its
// commands to the app; the command the command line names stores what to
// run in `*selected` (CLI11 calls it back after parsing), and the entry
// point (client/app.cc) runs it once the global flags are prepared.

#include <functional>
#include <memory>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "client/context.h"

namespace presence::cli {

using Command = std::function<absl::Status()>;

// What a group needs to add its commands.
struct CommandSet {
  CLI::App& app;
  Context& context;
  Command* selected;

  // Makes `command` what runs when `cmd` is the command chosen.
  void Select(CLI::App* cmd, Command command) const {
    Command* slot = selected;
    cmd->callback([slot, command = std::move(command)] { *slot = command; });
  }
};

void AddOrgsCommands(const CommandSet& set);       // client/orgs.cc
void AddEventsCommands(const CommandSet& set);     // client/events.cc
void AddPresenceCommand(const CommandSet& set);    // client/presence.cc
void AddTransferCommands(const CommandSet& set);   // client/transfer_commands.cc
void AddHealthCommands(const CommandSet& set);     // client/health.cc
void AddChartCommand(const CommandSet& set);       // client/chart_command.cc
void AddCompletionCommands(const CommandSet& set); // client/completion.cc (last)

// `presencectl version`, also run for --version: presencectl's version line
// and, unless `client_only`, each service's as it reports it.
absl::Status PrintVersion(Context& context, bool client_only);  // client/health.cc

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_COMMANDS_H_
