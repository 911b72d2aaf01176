// presencectl: the operator's CLI for the registry and the timeline.
// Deliberately thin: argument parsing (CLI11), synchronous gRPC calls and
// output formatting; every rule lives in the services. The commands are in
// client/ (one file per group, see client/commands.h); this is the entry
// point.

#include <iostream>

#include "client/app.h"

int main(int argc, char** argv) {
  return presence::cli::RunPresencectl(argc, argv, std::cout, std::cerr);
}
