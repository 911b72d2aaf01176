#ifndef PRESENCE_CLIENT_APP_H_
#define PRESENCE_CLIENT_APP_H_

// presencectl's entry point: the command tree (global flags and every
// command group), the check that each command word names a command (with a
// suggestion when it does not), and the one place where a command's status
// becomes the exit code.

#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace presence::cli {

// Runs one command line (argv[0] is the program); returns the exit code.
// Data goes to `out`, diagnostics to `err`.
int RunPresencectl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

// OK if every command word of `args` (argv without argv[0]) names a command
// of `root`; else a UsageError: `unknown command "org" for "presencectl";
// did you mean "orgs"?`, or, when a group is given without a command, the
// commands it has. Options and their values are skipped; scanning stops at
// --help and at the first leaf command.
absl::Status CheckCommandWords(const CLI::App& root, const std::vector<std::string>& args);

// The edit distance (insertions, deletions, substitutions) between two
// words, for suggestions.
int EditDistance(const std::string& a, const std::string& b);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_APP_H_
