// presencectl events: the timeline's events.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/args.h"
#include "client/commands.h"
#include "client/format.h"
#include "client/listing.h"
#include "client/status.h"
#include "services/common/partial_date.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

namespace tv1 = ::presence::timeline::v1;
using ::presence::timeline::v1::Event;

constexpr char kKinds[] =
    "declaration, establishment, deployment, appointment, legal-act, "
    "mandate-change, operational-milestone, downsizing, transfer-of-authority, "
    "administration, other";

// The field flags of create and update.
struct EventFlags {
  std::string title, kind, start, end, description, from_file, etag, request_id;
  std::vector<std::string> orgs;
  bool validate_only = false;

  void Add(CLI::App* cmd) {
    cmd->add_option("--title", title, "One-line summary");
    cmd->add_option("--kind", kind, kKinds);
    cmd->add_option("--start", start, "When it happened or began, e.g. 2008-12-09, early 2010");
    cmd->add_option("--end", end, "When a period ended");
    cmd->add_option("--org", orgs, "An organization involved: id, acronym or alias (repeatable)");
    cmd->add_option("--description", description, "What happened");
    cmd->add_option("--from-file", from_file, "Event in protobuf JSON (file or -); flags override it");
    cmd->add_option("--validate-only", validate_only, "Check without writing")
        ->expected(0, 1)->default_str("false");
  }

  absl::Status Build(Context& context, const CLI::App* cmd, Event* event,
                     std::vector<std::string>* paths) const {
    if (!from_file.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(const std::string text, ReadInput(from_file));
      if (absl::Status s = FromJson(text, event); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(from_file, ": ", s.message()));
      }
    }
    const auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
    if (given("--title")) { event->set_title(title); paths->push_back("title"); }
    if (given("--kind")) {
      PRESENCE_ASSIGN_OR_RETURN(const Event::Kind k, EventKindArg(kind));
      event->set_kind(k);
      paths->push_back("kind");
    }
    if (given("--start")) {
      PRESENCE_ASSIGN_OR_RETURN(*event->mutable_start(), ParseDateArg(start, "--start"));
      paths->push_back("start");
    }
    if (given("--end")) {
      PRESENCE_ASSIGN_OR_RETURN(*event->mutable_end(), ParseDateArg(end, "--end"));
      paths->push_back("end");
    }
    if (given("--org")) {
      event->clear_organizations();
      for (const auto& o : orgs) {
        PRESENCE_ASSIGN_OR_RETURN(std::string name, ResolveOrganization(context, o, true));
        event->add_organizations(std::move(name));
      }
      paths->push_back("organizations");
    }
    if (given("--description")) { event->set_description(description); paths->push_back("description"); }
    return absl::OkStatus();
  }
};

std::string EventRowsTable(const google::protobuf::RepeatedPtrField<Event>& events) {
  Table table({"ID", "START", "END", "KIND", "ORGANIZATIONS", "TITLE"});
  for (const auto& e : events) {
    std::vector<std::string> orgs;
    for (const auto& o : e.organizations()) orgs.push_back(IdOf(o));
    table.AddRow({IdOf(e.name()), FormatPartialDateHuman(e.start()),
                  IsSet(e.has_end(), e.end()) ? FormatPartialDateHuman(e.end()) : "-",
                  KindName(e.kind()), absl::StrJoin(orgs, ","), e.title()});
  }
  return table.Render();
}

absl::Status Print(Context& context, const Event& event) {
  context.output().Resource(event, [&] { return EventReport(event); });
  return absl::OkStatus();
}

void AddList(const CommandSet& set, CLI::App* events) {
  struct Flags {
    std::vector<std::string> orgs, kinds;
    std::string since, until, page_token;
    bool desc = false, all = false;
    int page_size = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = events->add_subcommand("list", "List events overlapping a window, oldest first");
  cmd->add_option("--org", f->orgs, "Involving this organization: id, acronym or alias (repeatable: any of)");
  cmd->add_option("--since", f->since, "Overlapping this date or later");
  cmd->add_option("--until", f->until, "Overlapping this date or earlier");
  cmd->add_option("--kind", f->kinds, "Only this kind, e.g. deployment (repeatable: any of)");
  cmd->add_flag("--desc", f->desc, "Newest first");
  cmd->add_option("--page-size", f->page_size, "Results per page (default 50, max 1000)");
  cmd->add_option("--page-token", f->page_token, "Continue from a previous page");
  cmd->add_flag("--all", f->all, "Follow next_page_token to the end");
  cmd->footer("Examples:\n  presencectl events list --org EULEX\n  presencectl events list --since 2008-06 --until 2008-06\n  presencectl events list --since \"early 2010\" --kind downsizing --desc");
  Context& context = set.context;
  set.Select(cmd, [f, &context]() -> absl::Status {
    tv1::ListEventsRequest request;
    for (const auto& o : f->orgs) {
      PRESENCE_ASSIGN_OR_RETURN(std::string name, ResolveOrganization(context, o, true));
      request.add_organizations(std::move(name));
    }
    for (const auto& k : f->kinds) {
      PRESENCE_ASSIGN_OR_RETURN(const Event::Kind kind, EventKindArg(k));
      request.add_kinds(kind);
    }
    if (!f->since.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(*request.mutable_since(), ParseDateArg(f->since, "--since"));
    }
    if (!f->until.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(*request.mutable_until(), ParseDateArg(f->until, "--until"));
    }
    request.set_descending(f->desc);
    request.set_page_size(f->page_size);
    request.set_page_token(f->page_token);
    PRESENCE_ASSIGN_OR_RETURN(const tv1::ListEventsResponse response,
                              ListEvents(context, request, f->all));
    context.output().List(response, response.events(),
                          [&] { return EventRowsTable(response.events()); });
    context.output().MoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

void AddGet(const CommandSet& set, CLI::App* events) {
  auto arg = std::make_shared<std::string>();
  CLI::App* cmd = events->add_subcommand("get", "Show one event");
  cmd->add_option("event", *arg, "id or resource name")->required();
  cmd->footer("Example:\n  presencectl events get eulex-deployed");
  Context& context = set.context;
  set.Select(cmd, [arg, &context]() -> absl::Status {
    tv1::GetEventRequest request;
    request.set_name(EventName(*arg));
    Event event;
    PRESENCE_RETURN_IF_ERROR(context.Call("getting " + request.name(), [&](grpc::ClientContext* c) {
      return context.timeline().GetEvent(c, request, &event);
    }));
    return Print(context, event);
  });
}

void AddWrites(const CommandSet& set, CLI::App* events) {
  Context& context = set.context;
  struct Create {
    std::string id;
    EventFlags flags;
  };
  auto c = std::make_shared<Create>();
  CLI::App* create = events->add_subcommand("create", "Create an event");
  create->add_option("id", c->id, "The new id, e.g. eulex-deployed")->required();
  c->flags.Add(create);
  create->add_option("--request-id", c->flags.request_id, "A UUID making retries safe (default: a new one)");
  create->footer("Examples:\n  presencectl events create kfor-second-phase --title \"KFOR completes its second downsizing phase\" \\\n      --kind downsizing --start \"late 2011\" --org KFOR --org NATO\n  presencectl events create x --from-file event.json");
  set.Select(create, [c, create, &context]() -> absl::Status {
    tv1::CreateEventRequest request;
    std::vector<std::string> paths;
    PRESENCE_RETURN_IF_ERROR(c->flags.Build(context, create, request.mutable_event(), &paths));
    request.set_event_id(c->id);
    request.set_request_id(c->flags.request_id.empty() ? NewRequestId() : c->flags.request_id);
    request.set_validate_only(c->flags.validate_only);
    Event event;
    PRESENCE_RETURN_IF_ERROR(context.Call("creating events/" + c->id, [&](grpc::ClientContext* call) {
      return context.timeline().CreateEvent(call, request, &event);
    }));
    return Print(context, event);
  });

  struct Update {
    std::string event;
    EventFlags flags;
  };
  auto u = std::make_shared<Update>();
  CLI::App* update = events->add_subcommand("update", "Update fields of an event");
  update->add_option("event", u->event, "id or resource name")->required();
  u->flags.Add(update);
  update->add_option("--etag", u->flags.etag, "Only if the event still has this etag");
  update->footer("Only the fields given by flags change (with --from-file: the fields the file sets).\nExample:\n  presencectl events update eulex-deployed --title \"EULEX deploys throughout Kosovo\"");
  set.Select(update, [u, update, &context]() -> absl::Status {
    tv1::UpdateEventRequest request;
    std::vector<std::string> paths;
    PRESENCE_RETURN_IF_ERROR(u->flags.Build(context, update, request.mutable_event(), &paths));
    request.mutable_event()->set_name(EventName(u->event));
    request.mutable_event()->set_etag(u->flags.etag);
    if (u->flags.from_file.empty()) {
      if (paths.empty()) return UsageError("nothing to update: give field flags or --from-file");
      for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
    }
    request.set_validate_only(u->flags.validate_only);
    Event event;
    PRESENCE_RETURN_IF_ERROR(context.Call("updating " + request.event().name(), [&](grpc::ClientContext* call) {
      return context.timeline().UpdateEvent(call, request, &event);
    }));
    return Print(context, event);
  });

  struct Delete {
    std::string event, etag;
  };
  auto d = std::make_shared<Delete>();
  CLI::App* del = events->add_subcommand("delete", "Delete an event");
  del->add_option("event", d->event, "id or resource name")->required();
  del->add_option("--etag", d->etag, "Only if the event still has this etag");
  del->footer("Example:\n  presencectl events delete kfor-second-phase");
  set.Select(del, [d, &context]() -> absl::Status {
    tv1::DeleteEventRequest request;
    request.set_name(EventName(d->event));
    request.set_etag(d->etag);
    google::protobuf::Empty empty;
    PRESENCE_RETURN_IF_ERROR(context.Call("deleting " + request.name(), [&](grpc::ClientContext* call) {
      return context.timeline().DeleteEvent(call, request, &empty);
    }));
    if (context.output().table()) {
      context.output().err() << "deleted " << request.name() << "\n";
    } else {
      context.output().Resource(empty, [] { return std::string(); });
    }
    return absl::OkStatus();
  });
}

}  // namespace

void AddEventsCommands(const CommandSet& set) {
  CLI::App* events = set.app.add_subcommand("events", "Events in the timeline");
  events->require_subcommand(1);
  events->footer("Examples:\n  presencectl events list --org EULEX\n  presencectl events get eulex-deployed\nRun 'presencectl events COMMAND --help' for each command's flags.");
  AddList(set, events);
  AddGet(set, events);
  AddWrites(set, events);
}

}  // namespace presence::cli
