// presencectl export and import (the logic is client/transfer.h).

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/args.h"
#include "client/commands.h"
#include "client/presencectl.pb.h"
#include "client/status.h"
#include "client/transfer.h"
#include "client/transfer_grpc.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

absl::Status RunImport(Context& context, const std::string& path, bool fail_fast) {
  PRESENCE_ASSIGN_OR_RETURN(const std::string text, ReadInput(path));
  Output& out = context.output();
  ImportReport report;
  report.set_file(path);
  const auto on_error = [&](int line, absl::string_view message) {
    ImportReport::LineError* error = report.add_errors();
    error->set_line(line);
    error->set_message(std::string(message));
    if (out.table()) out.err() << path << ":" << line << ": " << message << "\n";
  };
  const std::vector<ImportLine> lines = ParseImportText(text, on_error);
  if (report.errors_size() > 0 && fail_fast) {
    report.set_failed(report.errors_size());
    if (!out.table()) out.Resource(report, [] { return std::string(); });
    return PartialFailure("import: stopped at a line that does not parse; nothing written");
  }
  std::unique_ptr<TransferTarget> target = NewGrpcTransferTarget(context);
  ImportOptions options;
  options.fail_fast = fail_fast;
  PRESENCE_ASSIGN_OR_RETURN(const ImportSummary summary,
                            Import(*target, lines, options, on_error));
  report.set_created(summary.created);
  report.set_updated(summary.updated);
  report.set_unchanged(summary.unchanged);
  report.set_failed(report.errors_size());  // Parse errors and failed writes.
  report.set_not_attempted(summary.not_attempted);
  std::string line = absl::StrCat("import: ", report.created(), " created, ", report.updated(),
                                  " updated, ", report.unchanged(), " unchanged, ",
                                  report.failed(), " failed");
  if (report.not_attempted() > 0) {
    absl::StrAppend(&line, ", ", report.not_attempted(), " not attempted");
  }
  if (!out.table()) out.Resource(report, [] { return std::string(); });
  if (report.failed() > 0) return PartialFailure(line);
  if (out.table()) out.Note(line);
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
      "resources go in batches of 1000 (one atomic write each). Each failing line is\n"
      "reported as file:line: CODE: message; -o json prints a report instead.\n"
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
