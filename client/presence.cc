// presencectl presence: who was present on a date.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/args.h"
#include "client/commands.h"
#include "client/format.h"
#include "services/common/status_macros.h"

namespace presence::cli {

void AddPresenceCommand(const CommandSet& set) {
  struct Flags {
    std::string date;
    std::vector<std::string> kinds;
    int max_events = 0;
    bool include_unknown_bounds = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = set.app.add_subcommand("presence", "Who was present on a date, with strength and leaders (those whose start is not recorded apart)");
  cmd->add_option("date", f->date, "e.g. 2009-06-01, 2009, early 2010")->required();
  cmd->add_option("--kind", f->kinds, "Only organizations of this kind (repeatable)");
  cmd->add_option("--max-events", f->max_events, "Events per organization (default 10)");
  cmd->add_flag("--include-unknown-bounds", f->include_unknown_bounds,
                "List those whose start is not recorded among the present (basis: its start is "
                "not recorded) rather than apart");
  cmd->footer(
      "Examples:\n  presencectl presence 2009-06-01\n  presencectl presence \"mid 2008\" -o json\n"
      "  presencectl presence 2009 --include-unknown-bounds");
  Context& context = set.context;
  set.Select(cmd, [f, &context]() -> absl::Status {
    timeline::v1::GetPresenceRequest request;
    PRESENCE_ASSIGN_OR_RETURN(*request.mutable_date(), ParseDateArg(f->date, "date"));
    for (const auto& k : f->kinds) {
      PRESENCE_ASSIGN_OR_RETURN(const registry::v1::Organization::Kind kind,
                                OrganizationKindArg(k));
      request.add_kinds(kind);
    }
    request.set_max_events(f->max_events);
    request.set_include_unknown_bounds(f->include_unknown_bounds);
    timeline::v1::Presence response;
    PRESENCE_RETURN_IF_ERROR(context.Call("presence on " + f->date, [&](grpc::ClientContext* c) {
      return context.timeline().GetPresence(c, request, &response);
    }));
    context.output().Resource(response, [&] { return PresenceReport(response); });
    return absl::OkStatus();
  });
}

}  // namespace presence::cli
