#ifndef PRESENCE_SERVICES_COMMON_PROGRAM_FLAGS_H_
#define PRESENCE_SERVICES_COMMON_PROGRAM_FLAGS_H_

// Command-line parsing shared by every presence binary that uses abseil
// flags (the services, the benchmark, the crash-loop tool).

#include "absl/strings/string_view.h"

namespace presence {

// True if `file`, the file defining a flag (as abseil reports it, absolute
// or not), lies under `source_dir` (e.g. "services/") of the source tree.
bool FlagDefinedUnder(absl::string_view file, absl::string_view source_dir);

// Parses the command line of `program` (e.g. "presence-bench"). --help and
// --helpshort list the flags defined in source files under `source_dir`
// (e.g. "services/", "bench/"), each by its path from `source_dir` on,
// never by the build machine's absolute one (abseil's default lists only a
// file named after the program: "No flags matched" for ours). --version
// prints VersionLine(program). `usage` says in one line what the binary is.
// Exits on --help (status 1, abseil's convention), --version (0) and bad
// flags (1), as absl::ParseCommandLine does.
// REQUIRES: called once, from main, before any flag is read.
void ParseProgramFlags(int argc, char** argv, absl::string_view program,
                       absl::string_view usage, absl::string_view source_dir);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_PROGRAM_FLAGS_H_
