// presencectl export and import (the logic is client/transfer.h).

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/args.h"
#include "client/commands.h"
#include "client/status.h"
#include "client/transfer.h"
#include "client/transfer_grpc.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

absl::Status RunImport(Context& context, const std::string& path, bool fail_fast) {
  PRESENCE_ASSIGN_OR_RETURN(const std::string text, ReadInput(path));
  Output& out = context.output();
  int failed = 0;
  const auto on_error = [&](int line, absl::string_view message) {
    out.err() << path << ":" << line << ": " << message << "\n";
    ++failed;
  };
  const std::vector<ImportLine> lines = ParseImportText(text, on_error);
  if (failed > 0 && fail_fast) {
    return PartialFailure(absl::StrCat("import: stopped at a line that does not parse; nothing written"));
  }
  std::unique_ptr<TransferTarget> target = NewGrpcTransferTarget(context);
  ImportOptions options;
  options.fail_fast = fail_fast;
  PRESENCE_ASSIGN_OR_RETURN(const ImportSummary summary,
                            Import(*target, lines, options, on_error));
  std::string report = absl::StrCat("import: ", summary.created, " created, ", summary.updated,
                                    " updated, ", summary.unchanged, " unchanged, ", failed,
                                    " failed");
  if (summary.not_attempted > 0) {
    absl::StrAppend(&report, ", ", summary.not_attempted, " not attempted");
  }
  if (failed > 0) return PartialFailure(report);
  out.Note(report);
  return absl::OkStatus();
}

}  // namespace

void AddTransferCommands(const CommandSet& set) {
  Context& context = set.context;
  struct ImportFlags {
    std::string file;
    bool fail_fast = false;
  };
  auto f = std::make_shared<ImportFlags>();
  CLI::App* import = set.app.add_subcommand("import", "Load organizations and events from JSON Lines");
  import->add_option("file", f->file, "JSON Lines (protobuf JSON, one resource per line), or -")->required();
  import->add_flag("--fail-fast", f->fail_fast, "Stop at the first failing line");
  import->footer(
      "Reproduces the file's state: creates what is missing, updates what differs,\n"
      "deletes and undeletes as the file says, and leaves the rest, so re-running it\n"
      "changes nothing. Writes go in an order the services accept (parents before\n"
      "children, children deleted before parents, aliases handed over); new\n"
      "resources go in batches of 1000 (one atomic write each).\n"
      "Example:\n  presencectl export > backup.jsonl && presencectl import backup.jsonl");
  set.Select(import, [f, &context] { return RunImport(context, f->file, f->fail_fast); });

  CLI::App* export_cmd = set.app.add_subcommand("export", "Write every organization and event as JSON Lines");
  export_cmd->footer("Organizations come first, parents before children, then events.\nExample:\n  presencectl export > presence.jsonl");
  set.Select(export_cmd, [&context] {
    std::unique_ptr<TransferTarget> source = NewGrpcTransferTarget(context);
    return Export(*source, context.output().out());
  });
}

}  // namespace presence::cli
