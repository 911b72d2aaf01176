// presencectl chart: gathers what the chart shows from both services and
// prints it (the drawing is client/chart.h).

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/args.h"
#include "client/chart.h"
#include "client/commands.h"
#include "client/listing.h"
#include "client/presencectl.pb.h"
#include "client/status.h"
#include "services/common/partial_date.h"
#include "services/common/status_macros.h"
#include "services/registry/presence_kinds.h"

namespace presence::cli {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::presence::registry::v1::Organization;

struct ChartFlags {
  std::string since, until, at, title;
  std::vector<std::string> orgs;
};

absl::Status RunChart(Context& context, const ChartFlags& f) {
  const Format format = context.output().format();
  if (format == Format::kTable) context.output().set_format(Format::kSvg);
  ChartInput input;
  input.title = f.title;
  if (!f.since.empty()) { PRESENCE_ASSIGN_OR_RETURN(input.since, ParseDateArg(f.since, "--since")); }
  if (!f.until.empty()) { PRESENCE_ASSIGN_OR_RETURN(input.until, ParseDateArg(f.until, "--until")); }
  if (!f.at.empty()) { PRESENCE_ASSIGN_OR_RETURN(input.at, ParseDateArg(f.at, "--at")); }
  std::set<std::string> chosen;
  for (const std::string& o : f.orgs) {
    PRESENCE_ASSIGN_OR_RETURN(std::string name, ResolveOrganization(context, o, true));
    chosen.insert(std::move(name));
  }

  rv1::ListOrganizationsRequest list;
  list.set_page_size(1000);
  PRESENCE_ASSIGN_OR_RETURN(const rv1::ListOrganizationsResponse all,
                            ListOrganizations(context, list, /*all=*/true));
  // The lanes: those asked for, else the presence kinds; within the window.
  const DayInterval window = SpanBetween(input.since ? &*input.since : nullptr,
                                         input.until ? &*input.until : nullptr);
  std::set<std::string> parents;
  for (const Organization& org : all.organizations()) {
    const bool wanted = chosen.empty() ? registry::IsPresenceKind(org.kind()) : chosen.count(org.name()) > 0;
    if (!wanted) continue;
    const DayInterval life =
        SpanBetween(IsSet(org.has_established(), org.established()) ? &org.established() : nullptr,
                    IsSet(org.has_ended(), org.ended()) ? &org.ended() : nullptr);
    if (!life.Overlaps(window)) continue;
    input.lanes.push_back(org);
    if (!org.parent_organization().empty()) parents.insert(org.parent_organization());
  }
  for (const Organization& org : all.organizations()) {
    if (parents.count(org.name()) > 0) input.parents.push_back(org);
  }
  if (input.lanes.empty()) {
    return absl::NotFoundError("no organization to draw (none of the kinds that make up a "
                               "presence, or none in the window); name some with --org");
  }

  tv1::ListEventsRequest events;
  events.set_page_size(1000);
  for (const Organization& org : input.lanes) events.add_organizations(org.name());
  if (input.since) *events.mutable_since() = *input.since;
  if (input.until) *events.mutable_until() = *input.until;
  PRESENCE_ASSIGN_OR_RETURN(const tv1::ListEventsResponse listed,
                            ListEvents(context, events, /*all=*/true));
  input.events.assign(listed.events().begin(), listed.events().end());

  if (input.at) {
    tv1::GetPresenceRequest request;
    *request.mutable_date() = *input.at;
    std::set<int> kinds;
    for (const Organization& org : input.lanes) kinds.insert(org.kind());
    for (int k : kinds) request.add_kinds(static_cast<Organization::Kind>(k));
    tv1::Presence presence;
    PRESENCE_RETURN_IF_ERROR(
        context.Call("presence on " + f.at, [&](grpc::ClientContext* c) {
          return context.timeline().GetPresence(c, request, &presence);
        }));
    input.presence = std::move(presence);
  }

  Output& out = context.output();
  switch (out.format()) {
    case Format::kHtml:
      out.Text(ChartHtml(input));
      return absl::OkStatus();
    case Format::kJson:
    case Format::kJsonl: {
      ChartData data;
      for (const Organization& org : input.lanes) *data.add_organizations() = org;
      for (const auto& e : input.events) *data.add_events() = e;
      if (input.presence) *data.mutable_presence() = *input.presence;
      out.Resource(data, [] { return std::string(); });
      return absl::OkStatus();
    }
    default:
      out.Text(ChartSvg(input));
      return absl::OkStatus();
  }
}

}  // namespace

void AddChartCommand(const CommandSet& set) {
  auto f = std::make_shared<ChartFlags>();
  CLI::App* cmd = set.app.add_subcommand("chart", "Draw who was present when, as SVG (or HTML)");
  cmd->add_option("--since", f->since, "From this date (default: the first year of the data)");
  cmd->add_option("--until", f->until, "Until this date (default: the last year of the data)");
  cmd->add_option("--org", f->orgs, "Draw this organization (repeatable; default: the missions, "
                                    "administrations and steering bodies)");
  cmd->add_option("--at", f->at, "Mark this date and highlight who was present then");
  cmd->add_option("--title", f->title, "The chart's title");
  cmd->footer(
      "Prints a self-contained SVG (no fonts, scripts or links); -o html wraps it in a\n"
      "page with a legend, -o json prints the data it is drawn from.\n"
      "Examples:\n"
      "  presencectl chart > presence.svg\n"
      "  presencectl chart --at 2009-06-01 -o html > presence.html\n"
      "  presencectl chart --since 2008 --until 2010 --org KFOR --org EULEX > two.svg");
  Context& context = set.context;
  set.Select(cmd, [f, &context] { return RunChart(context, *f); });
}

}  // namespace presence::cli
