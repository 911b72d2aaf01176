// presencectl orgs: the registry's organizations.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/args.h"
#include "client/commands.h"
#include "client/format.h"
#include "client/listing.h"
#include "client/status.h"
#include "services/common/partial_date.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

namespace rv1 = ::presence::registry::v1;
using ::presence::registry::v1::Organization;

constexpr char kKinds[] =
    "military-mission, civilian-mission, rule-of-law-mission, field-mission, "
    "interim-administration, steering-body, international-organization, "
    "government, security-force, other";

// The field flags of create and update.
struct OrgFlags {
  std::string display_name, acronym, kind, parent, description, established, ended;
  std::vector<std::string> aliases, legal_basis;
  std::string from_file, etag, request_id;
  bool validate_only = false;

  void Add(CLI::App* cmd) {
    cmd->add_option("--display-name", display_name, "Full name, e.g. \"Kosovo Force\"");
    cmd->add_option("--acronym", acronym, "Short name, e.g. KFOR");
    cmd->add_option("--alias", aliases, "Another name or spelling (repeatable)");
    cmd->add_option("--kind", kind, kKinds);
    cmd->add_option("--parent", parent, "The body it belongs to (id, acronym or alias)");
    cmd->add_option("--description", description, "The mandate, in prose");
    cmd->add_option("--legal-basis", legal_basis, "An instrument it rests on (repeatable)");
    cmd->add_option("--established", established, "Date, e.g. 2008-02-28, 1999, early 2010");
    cmd->add_option("--ended", ended, "Date it ended");
    cmd->add_option("--from-file", from_file, "Organization in protobuf JSON (file or - for stdin); flags override it");
    cmd->add_option("--validate-only", validate_only, "Check without writing")
        ->expected(0, 1)->default_str("false");
  }

  // The organization the flags (over --from-file) describe, and the fields
  // the flags set.
  absl::Status Build(Context& context, const CLI::App* cmd, Organization* org,
                     std::vector<std::string>* paths) const {
    if (!from_file.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(const std::string text, ReadInput(from_file));
      if (absl::Status s = FromJson(text, org); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(from_file, ": ", s.message()));
      }
    }
    const auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
    if (given("--display-name")) { org->set_display_name(display_name); paths->push_back("display_name"); }
    if (given("--acronym")) { org->set_acronym(acronym); paths->push_back("acronym"); }
    if (given("--alias")) {
      org->clear_aliases();
      for (const auto& a : aliases) org->add_aliases(a);
      paths->push_back("aliases");
    }
    if (given("--kind")) {
      PRESENCE_ASSIGN_OR_RETURN(const Organization::Kind k, OrganizationKindArg(kind));
      org->set_kind(k);
      paths->push_back("kind");
    }
    if (given("--parent")) {
      std::string name;
      if (!parent.empty()) {
        PRESENCE_ASSIGN_OR_RETURN(name, ResolveOrganization(context, parent, true));
      }
      org->set_parent_organization(name);
      paths->push_back("parent_organization");
    }
    if (given("--description")) { org->set_description(description); paths->push_back("description"); }
    if (given("--legal-basis")) {
      org->clear_legal_basis();
      for (const auto& l : legal_basis) org->add_legal_basis(l);
      paths->push_back("legal_basis");
    }
    if (given("--established")) {
      PRESENCE_ASSIGN_OR_RETURN(*org->mutable_established(),
                                ParseDateArg(established, "--established"));
      paths->push_back("established");
    }
    if (given("--ended")) {
      PRESENCE_ASSIGN_OR_RETURN(*org->mutable_ended(), ParseDateArg(ended, "--ended"));
      paths->push_back("ended");
    }
    return absl::OkStatus();
  }
};

std::string DateCell(bool has, const type::v1::PartialDate& date) {
  return IsSet(has, date) ? FormatPartialDateHuman(date) : "-";
}

std::string OrgRowsTable(const google::protobuf::RepeatedPtrField<Organization>& orgs) {
  Table table({"ID", "ACRONYM", "NAME", "KIND", "PARENT", "ESTABLISHED", "ENDED"});
  for (const auto& o : orgs) {
    table.AddRow({IdOf(o.name()) + (o.state() == Organization::DELETED ? " (deleted)" : ""),
                  o.acronym().empty() ? "-" : o.acronym(), o.display_name(),
                  KindName(o.kind()),
                  o.parent_organization().empty() ? "-" : IdOf(o.parent_organization()),
                  DateCell(o.has_established(), o.established()),
                  DateCell(o.has_ended(), o.ended())});
  }
  return table.Render();
}

std::string RevisionsTable(const google::protobuf::RepeatedPtrField<Organization>& orgs) {
  Table table({"REVISION", "UPDATED", "STATE", "ETAG", "DISPLAY NAME"});
  for (const auto& o : orgs) {
    table.AddRow({absl::StrCat(o.revision()),
                  absl::FormatTime("%Y-%m-%d %H:%M:%S",
                                   absl::FromUnixSeconds(o.update_time().seconds()),
                                   absl::UTCTimeZone()),
                  o.state() == Organization::DELETED ? "deleted" : "active", o.etag(),
                  o.display_name()});
  }
  return table.Render();
}

absl::Status Print(Context& context, const Organization& org) {
  context.output().Resource(org, [&] { return OrganizationReport(org); });
  return absl::OkStatus();
}

void AddList(const CommandSet& set, CLI::App* orgs) {
  struct Flags {
    std::string kind, parent, active_on, page_token;
    int page_size = 0;
    bool show_deleted = false, all = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = orgs->add_subcommand("list", "List organizations, ordered by id");
  cmd->add_option("--kind", f->kind, "Only this kind (e.g. military-mission)");
  cmd->add_option("--parent", f->parent, "Only children of this organization");
  cmd->add_option("--active-on", f->active_on, "Only those active on this date");
  cmd->add_flag("--show-deleted", f->show_deleted, "Include deleted organizations");
  cmd->add_option("--page-size", f->page_size, "Results per page (default 50, max 1000)");
  cmd->add_option("--page-token", f->page_token, "Continue from a previous page");
  cmd->add_flag("--all", f->all, "Follow next_page_token to the end");
  cmd->footer("Examples:\n  presencectl orgs list\n  presencectl orgs list --kind military-mission --active-on 2009\n  presencectl orgs list --all -o jsonl");
  Context& context = set.context;
  set.Select(cmd, [f, &context]() -> absl::Status {
    rv1::ListOrganizationsRequest request;
    request.set_page_size(f->page_size);
    request.set_page_token(f->page_token);
    request.set_show_deleted(f->show_deleted);
    if (!f->kind.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(const Organization::Kind k, OrganizationKindArg(f->kind));
      request.set_kind(k);
    }
    if (!f->parent.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(const std::string parent,
                                ResolveOrganization(context, f->parent, true));
      request.set_parent_organization(parent);
    }
    if (!f->active_on.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(*request.mutable_active_on(),
                                ParseDateArg(f->active_on, "--active-on"));
    }
    PRESENCE_ASSIGN_OR_RETURN(const rv1::ListOrganizationsResponse response,
                              ListOrganizations(context, request, f->all));
    context.output().List(response, response.organizations(),
                          [&] { return OrgRowsTable(response.organizations()); });
    context.output().MoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

// get and lookup.
void AddReads(const CommandSet& set, CLI::App* orgs) {
  Context& context = set.context;

  auto get_arg = std::make_shared<std::string>();
  CLI::App* get = orgs->add_subcommand("get", "Show one organization");
  get->add_option("organization", *get_arg, "id, resource name, acronym or alias")->required();
  get->footer("Examples:\n  presencectl orgs get kfor\n  presencectl orgs get OMiK -o json");
  set.Select(get, [get_arg, &context]() -> absl::Status {
    PRESENCE_ASSIGN_OR_RETURN(const std::string name,
                              ResolveOrganization(context, *get_arg, false));
    rv1::GetOrganizationRequest request;
    request.set_name(name);
    Organization org;
    PRESENCE_RETURN_IF_ERROR(context.Call("getting " + name, [&](grpc::ClientContext* c) {
      return context.registry().GetOrganization(c, request, &org);
    }));
    return Print(context, org);
  });

  auto alias = std::make_shared<std::string>();
  CLI::App* lookup = orgs->add_subcommand("lookup", "Find an organization by id, acronym or alias");
  lookup->add_option("alias", *alias, "e.g. OMIK, \"Kosovo Force\"")->required();
  lookup->footer("Examples:\n  presencectl orgs lookup omik\n  presencectl orgs lookup \"Kosovo Force\"");
  set.Select(lookup, [alias, &context]() -> absl::Status {
    rv1::LookupOrganizationRequest request;
    request.set_alias(*alias);
    Organization org;
    PRESENCE_RETURN_IF_ERROR(context.Call(
        absl::StrCat("looking up \"", *alias, "\""), [&](grpc::ClientContext* c) {
          return context.registry().LookupOrganization(c, request, &org);
        }));
    return Print(context, org);
  });

}

void AddWrites(const CommandSet& set, CLI::App* orgs) {
  Context& context = set.context;
  struct Create {
    std::string id;
    OrgFlags flags;
  };
  auto c = std::make_shared<Create>();
  CLI::App* create = orgs->add_subcommand("create", "Create an organization");
  create->add_option("id", c->id, "The new id, e.g. eulex")->required();
  c->flags.Add(create);
  create->add_option("--request-id", c->flags.request_id, "A UUID making retries safe (default: a new one)");
  create->footer("Examples:\n  presencectl orgs create unmik --display-name \"UN Mission in Kosovo\" --kind interim-administration --parent un --established 1999\n  presencectl orgs create eulex --from-file eulex.json");
  set.Select(create, [c, create, &context]() -> absl::Status {
    rv1::CreateOrganizationRequest request;
    std::vector<std::string> paths;
    PRESENCE_RETURN_IF_ERROR(c->flags.Build(context, create, request.mutable_organization(), &paths));
    request.set_organization_id(c->id);
    request.set_request_id(c->flags.request_id.empty() ? NewRequestId() : c->flags.request_id);
    request.set_validate_only(c->flags.validate_only);
    Organization org;
    PRESENCE_RETURN_IF_ERROR(context.Call("creating " + c->id, [&](grpc::ClientContext* call) {
      return context.registry().CreateOrganization(call, request, &org);
    }));
    return Print(context, org);
  });

  struct Update {
    std::string org;
    OrgFlags flags;
  };
  auto u = std::make_shared<Update>();
  CLI::App* update = orgs->add_subcommand("update", "Update fields of an organization");
  update->add_option("organization", u->org, "id, resource name, acronym or alias")->required();
  u->flags.Add(update);
  update->add_option("--etag", u->flags.etag, "Only if the organization still has this etag");
  update->footer("Only the fields given by flags change (with --from-file: the fields the file sets).\nExamples:\n  presencectl orgs update kfor --description \"NATO-led force\"\n  presencectl orgs update eulex --alias EULEX --alias \"EU Rule of Law Mission\" --etag '\"12\"'");
  set.Select(update, [u, update, &context]() -> absl::Status {
    rv1::UpdateOrganizationRequest request;
    std::vector<std::string> paths;
    PRESENCE_RETURN_IF_ERROR(u->flags.Build(context, update, request.mutable_organization(), &paths));
    PRESENCE_ASSIGN_OR_RETURN(const std::string name,
                              ResolveOrganization(context, u->org, false));
    request.mutable_organization()->set_name(name);
    request.mutable_organization()->set_etag(u->flags.etag);
    if (u->flags.from_file.empty()) {
      if (paths.empty()) return UsageError("nothing to update: give field flags or --from-file");
      for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
    }
    request.set_validate_only(u->flags.validate_only);
    Organization org;
    PRESENCE_RETURN_IF_ERROR(context.Call("updating " + name, [&](grpc::ClientContext* call) {
      return context.registry().UpdateOrganization(call, request, &org);
    }));
    return Print(context, org);
  });
}

// delete or undelete: an organization argument, an etag, one call.
template <typename Request>
void AddStateChange(const CommandSet& set, CLI::App* orgs, const char* name,
                    const char* description, const char* footer, const char* doing,
                    grpc::Status (rv1::RegistryService::StubInterface::*method)(
                        grpc::ClientContext*, const Request&, Organization*)) {
  struct Target {
    std::string org, etag;
  };
  auto t = std::make_shared<Target>();
  CLI::App* cmd = orgs->add_subcommand(name, description);
  cmd->add_option("organization", t->org, "id or resource name")->required();
  cmd->add_option("--etag", t->etag, "Only if the organization still has this etag");
  cmd->footer(footer);
  Context& context = set.context;
  set.Select(cmd, [t, &context, doing, method]() -> absl::Status {
    PRESENCE_ASSIGN_OR_RETURN(const std::string org, ResolveOrganization(context, t->org, false));
    Request request;
    request.set_name(org);
    request.set_etag(t->etag);
    Organization out;
    PRESENCE_RETURN_IF_ERROR(context.Call(absl::StrCat(doing, " ", org), [&](grpc::ClientContext* c) {
      return (context.registry().*method)(c, request, &out);
    }));
    return Print(context, out);
  });
}

void AddHistory(const CommandSet& set, CLI::App* orgs) {
  struct Flags {
    std::string org, page_token;
    int page_size = 0;
    bool all = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = orgs->add_subcommand("history", "Every version of an organization, newest first");
  cmd->add_option("organization", f->org, "id or resource name")->required();
  cmd->add_option("--page-size", f->page_size, "Versions per page");
  cmd->add_option("--page-token", f->page_token, "Continue from a previous page");
  cmd->add_flag("--all", f->all, "Follow next_page_token to the end");
  cmd->footer("Example:\n  presencectl orgs history kfor --all");
  Context& context = set.context;
  set.Select(cmd, [f, &context]() -> absl::Status {
    PRESENCE_ASSIGN_OR_RETURN(const std::string name,
                              ResolveOrganization(context, f->org, false));
    rv1::ListOrganizationRevisionsRequest request;
    request.set_name(name);
    request.set_page_size(f->page_size);
    request.set_page_token(f->page_token);
    rv1::ListOrganizationRevisionsResponse response;
    PRESENCE_RETURN_IF_ERROR((
        ListPages<rv1::ListOrganizationRevisionsRequest, rv1::ListOrganizationRevisionsResponse>(
            request, f->all,
            [&](const rv1::ListOrganizationRevisionsRequest& r,
                rv1::ListOrganizationRevisionsResponse* page) {
              return context.Call("listing revisions of " + name, [&](grpc::ClientContext* c) {
                return context.registry().ListOrganizationRevisions(c, r, page);
              });
            },
            [](rv1::ListOrganizationRevisionsResponse& r) { return r.mutable_organizations(); },
            &response)));
    context.output().List(response, response.organizations(),
                          [&] { return RevisionsTable(response.organizations()); });
    context.output().MoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

void AddWatch(const CommandSet& set, CLI::App* orgs) {
  struct Flags {
    int64_t from = -1;
    int count = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = orgs->add_subcommand("watch", "Stream changes as they happen");
  cmd->add_option("--from", f->from, "Replay the changes after this revision (0: all history; default: from now)");
  cmd->add_option("--count", f->count, "Stop after this many changes");
  cmd->footer("Examples:\n  presencectl orgs watch\n  presencectl orgs watch --from 0 --count 5 -o jsonl");
  Context& context = set.context;
  set.Select(cmd, [f, &context]() -> absl::Status {
    rv1::WatchOrganizationsRequest request;
    int64_t from = f->from;
    if (from < 0) {
      rv1::ListOrganizationsRequest list;
      list.set_page_size(1);
      rv1::ListOrganizationsResponse page;
      PRESENCE_RETURN_IF_ERROR(context.Call("reading the current revision", [&](grpc::ClientContext* c) {
        return context.registry().ListOrganizations(c, list, &page);
      }));
      from = page.revision();
    }
    request.set_start_revision(from);
    grpc::ClientContext call;  // No deadline: a watch runs until stopped.
    context.Authorize(&call);
    auto reader = context.registry().WatchOrganizations(&call, request);
    rv1::OrganizationChange change;
    int seen = 0;
    Output& out = context.output();
    while ((f->count == 0 || seen < f->count) && reader->Read(&change)) {
      ++seen;
      if (out.table()) {
        out.out() << change.revision() << "  "
                  << absl::AsciiStrToLower(rv1::OrganizationChange::Type_Name(change.type()))
                  << "  " << change.organization().name() << std::endl;
      } else {
        out.Line(change);
      }
    }
    if (f->count > 0 && seen == f->count) {
      call.TryCancel();
      reader->Finish();
      return absl::OkStatus();
    }
    grpc::Status status = reader->Finish();
    return status.ok() ? absl::OkStatus() : CallError(status, "watching");
  });
}

}  // namespace

void AddOrgsCommands(const CommandSet& set) {
  CLI::App* orgs = set.app.add_subcommand("orgs", "Organizations in the registry");
  orgs->require_subcommand(1);
  orgs->footer("Examples:\n  presencectl orgs list --active-on 2009\n  presencectl orgs get KFOR\n  presencectl orgs history kfor\nRun 'presencectl orgs COMMAND --help' for each command's flags.");
  AddList(set, orgs);
  AddReads(set, orgs);
  AddWrites(set, orgs);
  AddStateChange<rv1::DeleteOrganizationRequest>(
      set, orgs, "delete", "Soft-delete an organization",
      "Examples:\n  presencectl orgs delete omik\n  presencectl orgs undelete omik", "deleting",
      &rv1::RegistryService::StubInterface::DeleteOrganization);
  AddStateChange<rv1::UndeleteOrganizationRequest>(
      set, orgs, "undelete", "Restore a deleted organization",
      "Example:\n  presencectl orgs undelete omik", "undeleting",
      &rv1::RegistryService::StubInterface::UndeleteOrganization);
  AddHistory(set, orgs);
  AddWatch(set, orgs);
}

}  // namespace presence::cli
