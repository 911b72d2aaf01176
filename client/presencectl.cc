// presencectl: the operator's CLI for the registry and the timeline.
// Deliberately thin: argument parsing (CLI11), synchronous gRPC calls and
// output formatting; every rule lives in the services.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/partial_date.h"

namespace presence::cli {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;

struct Globals {
  std::string registry = "127.0.0.1:50051";
  std::string timeline = "127.0.0.1:50052";
  std::string timeout = "5s";
  std::string output = "table";
  std::string token;
  std::string tls_ca, tls_cert, tls_key;
};

// A local failure with the exit code to end with.
struct Failure {
  int code;
  std::string message;
};

class Cli {
 public:
  explicit Cli(const Globals& globals) : g_(globals) {}

  // Validates the global flags once parsing is done.
  std::optional<Failure> Prepare() {
    if (g_.output != "table" && g_.output != "json" && g_.output != "jsonl") {
      return Failure{kExitUsage, "-o/--output must be table, json or jsonl"};
    }
    double seconds = 0;
    if (absl::SimpleAtod(g_.timeout, &seconds)) {
      timeout_ = absl::Seconds(seconds);
    } else if (!absl::ParseDuration(g_.timeout, &timeout_)) {
      return Failure{kExitUsage, "--timeout: \"" + g_.timeout +
                                     "\" is not a duration (e.g. 5s, 500ms)"};
    }
    if (timeout_ <= absl::ZeroDuration()) {
      return Failure{kExitUsage, "--timeout must be positive"};
    }
    if (!g_.tls_ca.empty()) {
      grpc::SslCredentialsOptions ssl;
      const auto read = [](const std::string& path, std::string* out) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        *out = text.str();
        return static_cast<bool>(in);
      };
      if (!read(g_.tls_ca, &ssl.pem_root_certs)) {
        return Failure{kExitUsage, "--tls_ca: cannot read " + g_.tls_ca};
      }
      if (!g_.tls_cert.empty() && (!read(g_.tls_cert, &ssl.pem_cert_chain) ||
                                   !read(g_.tls_key, &ssl.pem_private_key))) {
        return Failure{kExitUsage, "--tls_cert/--tls_key: cannot read them"};
      }
      credentials_ = grpc::SslCredentials(ssl);
    }
    return std::nullopt;
  }

  rv1::RegistryService::Stub& registry() {
    if (!registry_) registry_ = rv1::RegistryService::NewStub(Channel(g_.registry));
    return *registry_;
  }
  tv1::TimelineService::Stub& timeline() {
    if (!timeline_) timeline_ = tv1::TimelineService::NewStub(Channel(g_.timeline));
    return *timeline_;
  }
  std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
    return grpc::CreateChannel(address, credentials_);
  }

  // A context with the per-call deadline and the token.
  std::unique_ptr<grpc::ClientContext> Ctx() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    AddToken(context.get());
    return context;
  }
  void AddToken(grpc::ClientContext* context) const {
    if (!g_.token.empty()) context->AddMetadata("authorization", "Bearer " + g_.token);
  }

  const std::string& output() const { return g_.output; }
  const Globals& globals() const { return g_; }

 private:
  const Globals& g_;
  absl::Duration timeout_ = absl::Seconds(5);
  std::shared_ptr<grpc::ChannelCredentials> credentials_ =
      grpc::InsecureChannelCredentials();
  std::unique_ptr<rv1::RegistryService::Stub> registry_;
  std::unique_ptr<tv1::TimelineService::Stub> timeline_;
};

// Prints a failed call's status as the server sent it; returns the exit code.
int Report(const grpc::Status& status, absl::string_view what) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  std::cerr << "presencectl: " << what << ": " << absl::StatusCodeToString(code)
            << ": " << status.error_message() << "\n";
  return ExitCodeFor(code);
}

int Fail(const Failure& failure) {
  std::cerr << "presencectl: " << failure.message << "\n";
  return failure.code;
}

std::optional<Failure> ParseDate(const std::string& text, const std::string& flag,
                                  type::v1::PartialDate* out) {
  absl::StatusOr<type::v1::PartialDate> date = ParsePartialDate(text);
  if (!date.ok()) return Failure{kExitInvalid, flag + ": " + std::string(date.status().message())};
  *out = *date;
  return std::nullopt;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError("cannot read " + path);
    text << in.rdbuf();
  }
  return text.str();
}

std::string NewRequestId() {
  std::random_device device;
  std::mt19937_64 rng(device());
  const uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff,
                         a & 0xfff, 0x8000 | (b >> 48 & 0x3fff),
                         b & 0xffffffffffffULL);
}

// An organization argument: a resource name, an id, or (for anything else)
// an acronym or alias resolved through LookupOrganization.
int ResolveOrganization(Cli& cli, const std::string& arg, std::string* name,
                        bool lookup_ids) {
  if (absl::StartsWith(arg, "organizations/")) {
    *name = arg;
    return kExitOk;
  }
  const bool plain_id =
      !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      });
  if (plain_id && !lookup_ids) {
    *name = "organizations/" + arg;
    return kExitOk;
  }
  rv1::LookupOrganizationRequest request;
  request.set_alias(arg);
  Organization org;
  grpc::Status status = cli.registry().LookupOrganization(cli.Ctx().get(), request, &org);
  if (!status.ok()) {
    // A deleted organization is not found by lookup but keeps its id.
    if (plain_id && status.error_code() == grpc::StatusCode::NOT_FOUND) {
      *name = "organizations/" + arg;
      return kExitOk;
    }
    return Report(status, "resolving organization \"" + arg + "\"");
  }
  *name = org.name();
  return kExitOk;
}

// Prints one resource in the chosen format.
void PrintResource(const Cli& cli, const google::protobuf::Message& message,
                   const std::function<std::string()>& table) {
  if (cli.output() == "table") {
    std::cout << table();
  } else {
    std::cout << ToJson(message, cli.output() == "jsonl") << "\n";
  }
}

void MoreHint(const std::string& token) {
  if (!token.empty()) {
    std::cerr << "presencectl: more results exist; use --all, or --page-token "
              << token << "\n";
  }
}

// --- orgs -------------------------------------------------------------------

struct OrgFlags {
  std::string display_name, acronym, kind, parent, description, established, ended;
  std::vector<std::string> aliases, legal_basis;
  std::string from_file;
  std::string etag;
  std::string request_id;
  bool validate_only = false;

  void Add(CLI::App* cmd) {
    cmd->add_option("--display-name", display_name, "Full name, e.g. \"Kosovo Force\"");
    cmd->add_option("--acronym", acronym, "Short name, e.g. KFOR");
    cmd->add_option("--alias", aliases, "Another name or spelling (repeatable)");
    cmd->add_option("--kind", kind, "military-mission, civilian-mission, rule-of-law-mission, field-mission, interim-administration, steering-body, international-organization, government, security-force, other");
    cmd->add_option("--parent", parent, "The body it belongs to (id, acronym or alias)");
    cmd->add_option("--description", description, "The mandate, in prose");
    cmd->add_option("--legal-basis", legal_basis, "An instrument it rests on (repeatable)");
    cmd->add_option("--established", established, "Date, e.g. 2008-02-28, 1999, early 2010");
    cmd->add_option("--ended", ended, "Date it ended");
    cmd->add_option("--from-file", from_file, "Organization in protobuf JSON (file or - for stdin); flags override it");
    cmd->add_option("--validate-only", validate_only, "Check without writing")->expected(0, 1)->default_str("false");
  }

  // Builds the organization and the list of fields the flags set.
  int Build(Cli& cli, CLI::App* cmd, Organization* org, std::vector<std::string>* paths) {
    if (!from_file.empty()) {
      auto text = ReadInput(from_file);
      if (!text.ok()) return Fail({kExitInvalid, std::string(text.status().message())});
      if (auto s = FromJson(*text, org); !s.ok()) {
        return Fail({kExitInvalid, from_file + ": " + std::string(s.message())});
      }
    }
    const auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
    if (given("--display-name")) { org->set_display_name(display_name); paths->push_back("display_name"); }
    if (given("--acronym")) { org->set_acronym(acronym); paths->push_back("acronym"); }
    if (given("--alias")) {
      org->clear_aliases();
      for (auto& a : aliases) org->add_aliases(a);
      paths->push_back("aliases");
    }
    if (given("--kind")) {
      auto k = ParseOrganizationKind(kind);
      if (!k.ok()) return Fail({kExitInvalid, "--kind: " + std::string(k.status().message())});
      org->set_kind(*k);
      paths->push_back("kind");
    }
    if (given("--parent")) {
      std::string name;
      if (!parent.empty()) {
        if (int rc = ResolveOrganization(cli, parent, &name, true); rc != kExitOk) return rc;
      }
      org->set_parent_organization(name);
      paths->push_back("parent_organization");
    }
    if (given("--description")) { org->set_description(description); paths->push_back("description"); }
    if (given("--legal-basis")) {
      org->clear_legal_basis();
      for (auto& l : legal_basis) org->add_legal_basis(l);
      paths->push_back("legal_basis");
    }
    if (given("--established")) {
      if (auto f = ParseDate(established, "--established", org->mutable_established())) return Fail(*f);
      paths->push_back("established");
    }
    if (given("--ended")) {
      if (auto f = ParseDate(ended, "--ended", org->mutable_ended())) return Fail(*f);
      paths->push_back("ended");
    }
    return kExitOk;
  }
};

std::string OrgRowsTable(const google::protobuf::RepeatedPtrField<Organization>& orgs) {
  Table table({"ID", "ACRONYM", "NAME", "KIND", "PARENT", "ESTABLISHED", "ENDED"});
  for (const auto& o : orgs) {
    table.AddRow({IdOf(o.name()) + (o.state() == Organization::DELETED ? " (deleted)" : ""),
                  o.acronym().empty() ? "-" : o.acronym(), o.display_name(),
                  KindName(o.kind()),
                  o.parent_organization().empty() ? "-" : IdOf(o.parent_organization()),
                  o.has_established() && !IsUnset(o.established())
                      ? FormatPartialDateHuman(o.established()) : "-",
                  o.has_ended() && !IsUnset(o.ended()) ? FormatPartialDateHuman(o.ended()) : "-"});
  }
  return table.Render();
}

void PrintOrgList(const Cli& cli, const rv1::ListOrganizationsResponse& response) {
  if (cli.output() == "table") {
    std::cout << OrgRowsTable(response.organizations());
  } else if (cli.output() == "jsonl") {
    for (const auto& o : response.organizations()) std::cout << ToJson(o, true) << "\n";
  } else {
    std::cout << ToJson(response, false) << "\n";
  }
}

// Pages through ListOrganizations; with `all`, to the end.
int ListOrganizations(Cli& cli, rv1::ListOrganizationsRequest request, bool all,
                      rv1::ListOrganizationsResponse* merged) {
  while (true) {
    rv1::ListOrganizationsResponse page;
    grpc::Status status = cli.registry().ListOrganizations(cli.Ctx().get(), request, &page);
    if (!status.ok()) return Report(status, "listing organizations");
    for (auto& o : *page.mutable_organizations()) *merged->add_organizations() = std::move(o);
    if (merged->revision() == 0) merged->set_revision(page.revision());
    merged->set_next_page_token(page.next_page_token());
    if (!all || page.next_page_token().empty()) return kExitOk;
    request.set_page_token(page.next_page_token());
  }
}

int ListEvents(Cli& cli, tv1::ListEventsRequest request, bool all,
               tv1::ListEventsResponse* merged) {
  while (true) {
    tv1::ListEventsResponse page;
    grpc::Status status = cli.timeline().ListEvents(cli.Ctx().get(), request, &page);
    if (!status.ok()) return Report(status, "listing events");
    for (auto& e : *page.mutable_events()) *merged->add_events() = std::move(e);
    merged->set_next_page_token(page.next_page_token());
    if (!all || page.next_page_token().empty()) return kExitOk;
    request.set_page_token(page.next_page_token());
  }
}

std::string EventRowsTable(const google::protobuf::RepeatedPtrField<Event>& events) {
  Table table({"ID", "START", "END", "KIND", "ORGANIZATIONS", "TITLE"});
  for (const auto& e : events) {
    std::vector<std::string> orgs;
    for (const auto& o : e.organizations()) orgs.push_back(IdOf(o));
    table.AddRow({IdOf(e.name()), FormatPartialDateHuman(e.start()),
                  e.has_end() && !IsUnset(e.end()) ? FormatPartialDateHuman(e.end()) : "-",
                  KindName(e.kind()), absl::StrJoin(orgs, ","), e.title()});
  }
  return table.Render();
}

// --- import / export ----------------------------------------------------------

// Organizations ordered so that every parent and appointing body comes
// before the organizations naming it.
std::vector<Organization> DependencyOrder(std::vector<Organization> orgs) {
  std::map<std::string, Organization> by_name;
  for (auto& o : orgs) by_name[o.name()] = std::move(o);
  std::vector<Organization> out;
  std::set<std::string> done, visiting;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    auto it = by_name.find(name);
    if (it == by_name.end() || done.count(name) || visiting.count(name)) return;
    visiting.insert(name);
    visit(it->second.parent_organization());
    for (const auto& l : it->second.leaders()) visit(l.appointed_by());
    visiting.erase(name);
    done.insert(name);
    out.push_back(it->second);
  };
  for (const auto& [name, org] : by_name) visit(name);
  return out;
}

// The content of a resource without the fields the service sets.
Organization Content(Organization org) {
  org.clear_revision();
  org.clear_etag();
  org.clear_create_time();
  org.clear_update_time();
  org.clear_delete_time();
  org.clear_last_modified_by();
  return org;
}
Event Content(Event event) {
  event.clear_etag();
  event.clear_create_time();
  event.clear_update_time();
  event.clear_created_by();
  event.clear_updated_by();
  return event;
}

int Export(Cli& cli) {
  rv1::ListOrganizationsRequest list;
  list.set_page_size(1000);
  list.set_show_deleted(true);
  rv1::ListOrganizationsResponse orgs;
  if (int rc = ListOrganizations(cli, list, true, &orgs); rc != kExitOk) return rc;
  tv1::ListEventsRequest events_request;
  events_request.set_page_size(1000);
  tv1::ListEventsResponse events;
  if (int rc = ListEvents(cli, events_request, true, &events); rc != kExitOk) return rc;
  for (const Organization& o : DependencyOrder({orgs.organizations().begin(),
                                                orgs.organizations().end()})) {
    std::cout << ToJson(Content(o), true) << "\n";
  }
  for (const Event& e : events.events()) std::cout << ToJson(Content(e), true) << "\n";
  return kExitOk;
}

struct ImportLine {
  int number;
  std::optional<Organization> org;
  std::optional<Event> event;
};

int Import(Cli& cli, const std::string& path, bool fail_fast) {
  auto text = ReadInput(path);
  if (!text.ok()) return Fail({kExitInvalid, std::string(text.status().message())});
  int failed = 0, created = 0, updated = 0, unchanged = 0;
  const auto line_error = [&](int number, const std::string& message) {
    std::cerr << path << ":" << number << ": " << message << "\n";
    ++failed;
  };
  std::vector<ImportLine> lines;
  {
    std::istringstream in(*text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      ImportLine parsed{number, std::nullopt, std::nullopt};
      absl::StatusOr<ImportRecord> record = ParseImportLine(line);
      if (!record.ok()) {
        line_error(number, std::string(record.status().message()));
      } else {
        parsed.org = std::move(record->organization);
        parsed.event = std::move(record->event);
      }
      if (failed > 0 && fail_fast) return kExitPartial;
      if (parsed.org || parsed.event) lines.push_back(std::move(parsed));
    }
  }
  // Organizations first, parents before children; then events.
  std::map<std::string, int> line_of;
  std::vector<Organization> orgs;
  for (const auto& l : lines) {
    if (l.org) { line_of[l.org->name()] = l.number; orgs.push_back(*l.org); }
  }
  // Fast path: chunks of up to 1000 created in one BatchCreate each; a chunk
  // that fails as a whole (say, because some of it exists) goes line by
  // line, which also reports each failing line.
  constexpr size_t kChunk = 1000;
  const std::vector<Organization> ordered = DependencyOrder(orgs);
  const auto import_org = [&](const Organization& wanted) {
    const int number = line_of[wanted.name()];
    rv1::GetOrganizationRequest get;
    get.set_name(wanted.name());
    Organization current;
    grpc::Status status = cli.registry().GetOrganization(cli.Ctx().get(), get, &current);
    Organization desired = Content(wanted);
    desired.clear_state();
    const bool want_deleted = wanted.state() == Organization::DELETED;
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      rv1::CreateOrganizationRequest create;
      create.set_organization_id(IdOf(wanted.name()));
      *create.mutable_organization() = desired;
      create.set_request_id(NewRequestId());
      status = cli.registry().CreateOrganization(cli.Ctx().get(), create, &current);
      if (!status.ok()) { line_error(number, status.error_message()); }
      else ++created;
    } else if (!status.ok()) {
      line_error(number, status.error_message());
    } else {
      Organization have = Content(current);
      const bool is_deleted = have.state() == Organization::DELETED;
      have.clear_state();
      if (is_deleted && !want_deleted) {
        rv1::UndeleteOrganizationRequest undelete;
        undelete.set_name(wanted.name());
        status = cli.registry().UndeleteOrganization(cli.Ctx().get(), undelete, &current);
        if (!status.ok()) line_error(number, status.error_message());
      }
      if (status.ok() && have.SerializeAsString() != desired.SerializeAsString()) {
        rv1::UpdateOrganizationRequest update;
        *update.mutable_organization() = desired;
        update.mutable_update_mask()->add_paths("*");
        status = cli.registry().UpdateOrganization(cli.Ctx().get(), update, &current);
        if (!status.ok()) { line_error(number, status.error_message()); }
        else ++updated;
      } else if (status.ok()) {
        ++unchanged;
      }
    }
    if (status.ok() && want_deleted && current.state() != Organization::DELETED) {
      rv1::DeleteOrganizationRequest del;
      del.set_name(wanted.name());
      status = cli.registry().DeleteOrganization(cli.Ctx().get(), del, &current);
      if (!status.ok()) line_error(number, status.error_message());
    }
  };
  for (size_t start = 0; start < ordered.size(); start += kChunk) {
    const size_t end = std::min(ordered.size(), start + kChunk);
    rv1::BatchCreateOrganizationsRequest batch;
    for (size_t i = start; i < end; ++i) {
      auto* create = batch.add_requests();
      create->set_organization_id(IdOf(ordered[i].name()));
      *create->mutable_organization() = Content(ordered[i]);
    }
    rv1::BatchCreateOrganizationsResponse done;
    if (cli.registry().BatchCreateOrganizations(cli.Ctx().get(), batch, &done).ok()) {
      created += static_cast<int>(end - start);
      for (size_t i = start; i < end; ++i) {
        if (ordered[i].state() != Organization::DELETED) continue;
        rv1::DeleteOrganizationRequest del;
        del.set_name(ordered[i].name());
        Organization out;
        grpc::Status status = cli.registry().DeleteOrganization(cli.Ctx().get(), del, &out);
        if (!status.ok()) line_error(line_of[ordered[i].name()], status.error_message());
      }
    } else {
      for (size_t i = start; i < end; ++i) {
        import_org(ordered[i]);
        if (failed > 0 && fail_fast) return kExitPartial;
      }
    }
    if (failed > 0 && fail_fast) return kExitPartial;
  }
  const auto import_event = [&](const ImportLine& l) {
    tv1::GetEventRequest get;
    get.set_name(l.event->name());
    Event current;
    grpc::Status status = cli.timeline().GetEvent(cli.Ctx().get(), get, &current);
    const Event desired = Content(*l.event);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      tv1::CreateEventRequest create;
      create.set_event_id(IdOf(desired.name()));
      *create.mutable_event() = desired;
      create.set_request_id(NewRequestId());
      status = cli.timeline().CreateEvent(cli.Ctx().get(), create, &current);
      if (!status.ok()) { line_error(l.number, status.error_message()); }
      else ++created;
    } else if (!status.ok()) {
      line_error(l.number, status.error_message());
    } else if (Content(current).SerializeAsString() != desired.SerializeAsString()) {
      tv1::UpdateEventRequest update;
      *update.mutable_event() = desired;
      update.mutable_update_mask()->add_paths("*");
      status = cli.timeline().UpdateEvent(cli.Ctx().get(), update, &current);
      if (!status.ok()) { line_error(l.number, status.error_message()); }
      else ++updated;
    } else {
      ++unchanged;
    }
  };
  std::vector<const ImportLine*> event_lines;
  for (const auto& l : lines) {
    if (l.event) event_lines.push_back(&l);
  }
  for (size_t start = 0; start < event_lines.size(); start += kChunk) {
    const size_t end = std::min(event_lines.size(), start + kChunk);
    tv1::BatchCreateEventsRequest batch;
    for (size_t i = start; i < end; ++i) {
      auto* create = batch.add_requests();
      create->set_event_id(IdOf(event_lines[i]->event->name()));
      *create->mutable_event() = Content(*event_lines[i]->event);
    }
    tv1::BatchCreateEventsResponse done;
    if (cli.timeline().BatchCreateEvents(cli.Ctx().get(), batch, &done).ok()) {
      created += static_cast<int>(end - start);
      continue;
    }
    for (size_t i = start; i < end; ++i) {
      import_event(*event_lines[i]);
      if (failed > 0 && fail_fast) return kExitPartial;
    }
  }
  std::cerr << "presencectl: import: " << created << " created, " << updated
            << " updated, " << unchanged << " unchanged, " << failed << " failed\n";
  return failed > 0 ? kExitPartial : kExitOk;
}

int Health(Cli& cli) {
  int rc = kExitOk;
  Table table({"SERVICE", "ADDRESS", "STATUS"});
  for (const auto& [service, address] :
       std::vector<std::pair<std::string, std::string>>{
           {"registry", cli.globals().registry}, {"timeline", cli.globals().timeline}}) {
    auto stub = grpc::health::v1::Health::NewStub(cli.Channel(address));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(cli.Ctx().get(), request, &response);
    std::string state;
    if (!status.ok()) {
      state = absl::StrCat("UNREACHABLE (", status.error_message(), ")");
      rc = kExitUnavailable;
    } else {
      state = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
      if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
        rc = kExitUnavailable;
      }
    }
    table.AddRow({service, address, state});
  }
  std::cout << table.Render();
  return rc;
}

int Main(int argc, char** argv) {
  Globals globals;
  Cli cli(globals);
  int rc = kExitOk;
  std::function<int()> command;  // Set by the chosen subcommand.

  CLI::App app{"presencectl - query and maintain the presence registry and timeline."};
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Dates: 2008-02-17, 2009-04, 2010, early 2010, mid 2009-06, late 2009, 1999~ (approximate).\n"
      "Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 invalid input,\n"
      "            5 unavailable or deadline exceeded, 6 conflict (exists, etag,\n"
      "            precondition), 7 unauthenticated or denied, 8 import had failures.\n"
      "Examples:\n"
      "  presencectl orgs get kfor\n"
      "  presencectl events list --org EULEX\n"
      "  presencectl presence 2009-06-01");
  app.add_option("--registry", globals.registry, "Registry address host:port")
      ->envname("PRESENCE_REGISTRY")->capture_default_str();
  app.add_option("--timeline", globals.timeline, "Timeline address host:port")
      ->envname("PRESENCE_TIMELINE")->capture_default_str();
  app.add_option("--timeout", globals.timeout, "Deadline of each call (5s, 500ms, 2.5)")
      ->capture_default_str();
  app.add_option("-o,--output", globals.output, "table, json or jsonl")->capture_default_str();
  app.add_option("--token", globals.token, "Bearer token for writes (and reads where required)")
      ->envname("PRESENCE_TOKEN");
  app.add_option("--tls_ca", globals.tls_ca, "PEM CA of the services' certificates: use TLS")
      ->envname("PRESENCE_TLS_CA");
  app.add_option("--tls_cert", globals.tls_cert, "PEM client certificate (mTLS)")
      ->envname("PRESENCE_TLS_CERT");
  app.add_option("--tls_key", globals.tls_key, "PEM key of --tls_cert")
      ->envname("PRESENCE_TLS_KEY");

  // orgs
  CLI::App* orgs = app.add_subcommand("orgs", "Organizations in the registry");
  orgs->require_subcommand(1);
  orgs->footer("Examples:\n  presencectl orgs list --active-on 2009\n  presencectl orgs get KFOR\n  presencectl orgs history kfor\nRun 'presencectl orgs COMMAND --help' for each command's flags.");

  struct {
    std::string kind, parent, active_on, page_token;
    int page_size = 0;
    bool show_deleted = false, all = false;
  } ol;
  CLI::App* orgs_list = orgs->add_subcommand("list", "List organizations, ordered by id");
  orgs_list->add_option("--kind", ol.kind, "Only this kind (e.g. military-mission)");
  orgs_list->add_option("--parent", ol.parent, "Only children of this organization");
  orgs_list->add_option("--active-on", ol.active_on, "Only those active on this date");
  orgs_list->add_flag("--show-deleted", ol.show_deleted, "Include deleted organizations");
  orgs_list->add_option("--page-size", ol.page_size, "Results per page (default 50, max 1000)");
  orgs_list->add_option("--page-token", ol.page_token, "Continue from a previous page");
  orgs_list->add_flag("--all", ol.all, "Follow next_page_token to the end");
  orgs_list->footer("Examples:\n  presencectl orgs list\n  presencectl orgs list --kind military-mission --active-on 2009\n  presencectl orgs list --all -o jsonl");
  orgs_list->callback([&] {
    command = [&] {
      rv1::ListOrganizationsRequest request;
      request.set_page_size(ol.page_size);
      request.set_page_token(ol.page_token);
      request.set_show_deleted(ol.show_deleted);
      if (!ol.kind.empty()) {
        auto k = ParseOrganizationKind(ol.kind);
        if (!k.ok()) return Fail({kExitInvalid, "--kind: " + std::string(k.status().message())});
        request.set_kind(*k);
      }
      if (!ol.parent.empty()) {
        std::string name;
        if (int r = ResolveOrganization(cli, ol.parent, &name, true); r != kExitOk) return r;
        request.set_parent_organization(name);
      }
      if (!ol.active_on.empty()) {
        if (auto f = ParseDate(ol.active_on, "--active-on", request.mutable_active_on())) return Fail(*f);
      }
      rv1::ListOrganizationsResponse response;
      if (int r = ListOrganizations(cli, request, ol.all, &response); r != kExitOk) return r;
      PrintOrgList(cli, response);
      MoreHint(response.next_page_token());
      return kExitOk;
    };
  });

  std::string org_arg;
  CLI::App* orgs_get = orgs->add_subcommand("get", "Show one organization");
  orgs_get->add_option("organization", org_arg, "id, resource name, acronym or alias")->required();
  orgs_get->footer("Examples:\n  presencectl orgs get kfor\n  presencectl orgs get OMiK -o json");
  orgs_get->callback([&] {
    command = [&] {
      rv1::GetOrganizationRequest request;
      std::string name;
      if (int r = ResolveOrganization(cli, org_arg, &name, false); r != kExitOk) return r;
      request.set_name(name);
      Organization org;
      grpc::Status status = cli.registry().GetOrganization(cli.Ctx().get(), request, &org);
      if (!status.ok()) return Report(status, "getting " + name);
      PrintResource(cli, org, [&] { return OrganizationReport(org); });
      return kExitOk;
    };
  });

  std::string alias_arg;
  CLI::App* orgs_lookup = orgs->add_subcommand("lookup", "Find an organization by id, acronym or alias");
  orgs_lookup->add_option("alias", alias_arg, "e.g. OMIK, \"Kosovo Force\"")->required();
  orgs_lookup->footer("Examples:\n  presencectl orgs lookup omik\n  presencectl orgs lookup \"Kosovo Force\"");
  orgs_lookup->callback([&] {
    command = [&] {
      rv1::LookupOrganizationRequest request;
      request.set_alias(alias_arg);
      Organization org;
      grpc::Status status = cli.registry().LookupOrganization(cli.Ctx().get(), request, &org);
      if (!status.ok()) return Report(status, "looking up \"" + alias_arg + "\"");
      PrintResource(cli, org, [&] { return OrganizationReport(org); });
      return kExitOk;
    };
  });

  OrgFlags create_flags;
  std::string create_id;
  CLI::App* orgs_create = orgs->add_subcommand("create", "Create an organization");
  orgs_create->add_option("id", create_id, "The new id, e.g. eulex")->required();
  create_flags.Add(orgs_create);
  orgs_create->add_option("--request-id", create_flags.request_id, "A UUID making retries safe (default: a new one)");
  orgs_create->footer("Examples:\n  presencectl orgs create unmik --display-name \"UN Mission in Kosovo\" --kind interim-administration --parent un --established 1999\n  presencectl orgs create eulex --from-file eulex.json");
  orgs_create->callback([&] {
    command = [&] {
      rv1::CreateOrganizationRequest request;
      std::vector<std::string> paths;
      if (int r = create_flags.Build(cli, orgs_create, request.mutable_organization(), &paths); r != kExitOk) return r;
      request.set_organization_id(create_id);
      request.set_request_id(create_flags.request_id.empty() ? NewRequestId() : create_flags.request_id);
      request.set_validate_only(create_flags.validate_only);
      Organization org;
      grpc::Status status = cli.registry().CreateOrganization(cli.Ctx().get(), request, &org);
      if (!status.ok()) return Report(status, "creating " + create_id);
      PrintResource(cli, org, [&] { return OrganizationReport(org); });
      return kExitOk;
    };
  });

  OrgFlags update_flags;
  std::string update_arg;
  CLI::App* orgs_update = orgs->add_subcommand("update", "Update fields of an organization");
  orgs_update->add_option("organization", update_arg, "id, resource name, acronym or alias")->required();
  update_flags.Add(orgs_update);
  orgs_update->add_option("--etag", update_flags.etag, "Only if the organization still has this etag");
  orgs_update->footer("Only the fields given by flags change (with --from-file: the fields the file sets).\nExamples:\n  presencectl orgs update kfor --description \"NATO-led force\"\n  presencectl orgs update eulex --alias EULEX --alias \"EU Rule of Law Mission\" --etag '\"12\"'");
  orgs_update->callback([&] {
    command = [&] {
      rv1::UpdateOrganizationRequest request;
      std::vector<std::string> paths;
      if (int r = update_flags.Build(cli, orgs_update, request.mutable_organization(), &paths); r != kExitOk) return r;
      std::string name;
      if (int r = ResolveOrganization(cli, update_arg, &name, false); r != kExitOk) return r;
      request.mutable_organization()->set_name(name);
      request.mutable_organization()->set_etag(update_flags.etag);
      if (update_flags.from_file.empty()) {
        if (paths.empty()) return Fail({kExitUsage, "nothing to update: give field flags or --from-file"});
        for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
      }
      request.set_validate_only(update_flags.validate_only);
      Organization org;
      grpc::Status status = cli.registry().UpdateOrganization(cli.Ctx().get(), request, &org);
      if (!status.ok()) return Report(status, "updating " + name);
      PrintResource(cli, org, [&] { return OrganizationReport(org); });
      return kExitOk;
    };
  });

  std::string delete_arg, delete_etag;
  CLI::App* orgs_delete = orgs->add_subcommand("delete", "Soft-delete an organization");
  orgs_delete->add_option("organization", delete_arg, "id or resource name")->required();
  orgs_delete->add_option("--etag", delete_etag, "Only if the organization still has this etag");
  orgs_delete->footer("Examples:\n  presencectl orgs delete omik\n  presencectl orgs undelete omik");
  orgs_delete->callback([&] {
    command = [&] {
      rv1::DeleteOrganizationRequest request;
      std::string name;
      if (int r = ResolveOrganization(cli, delete_arg, &name, false); r != kExitOk) return r;
      request.set_name(name);
      request.set_etag(delete_etag);
      Organization org;
      grpc::Status status = cli.registry().DeleteOrganization(cli.Ctx().get(), request, &org);
      if (!status.ok()) return Report(status, "deleting " + name);
      PrintResource(cli, org, [&] { return OrganizationReport(org); });
      return kExitOk;
    };
  });

  std::string undelete_arg, undelete_etag;
  CLI::App* orgs_undelete = orgs->add_subcommand("undelete", "Restore a deleted organization");
  orgs_undelete->add_option("organization", undelete_arg, "id or resource name")->required();
  orgs_undelete->add_option("--etag", undelete_etag, "Only if the organization still has this etag");
  orgs_undelete->footer("Example:\n  presencectl orgs undelete omik");
  orgs_undelete->callback([&] {
    command = [&] {
      rv1::UndeleteOrganizationRequest request;
      std::string name;
      if (int r = ResolveOrganization(cli, undelete_arg, &name, false); r != kExitOk) return r;
      request.set_name(name);
      request.set_etag(undelete_etag);
      Organization org;
      grpc::Status status = cli.registry().UndeleteOrganization(cli.Ctx().get(), request, &org);
      if (!status.ok()) return Report(status, "undeleting " + name);
      PrintResource(cli, org, [&] { return OrganizationReport(org); });
      return kExitOk;
    };
  });

  std::string history_arg, history_token;
  int history_page_size = 0;
  bool history_all = false;
  CLI::App* orgs_history = orgs->add_subcommand("history", "Every version of an organization, newest first");
  orgs_history->add_option("organization", history_arg, "id or resource name")->required();
  orgs_history->add_option("--page-size", history_page_size, "Versions per page");
  orgs_history->add_option("--page-token", history_token, "Continue from a previous page");
  orgs_history->add_flag("--all", history_all, "Follow next_page_token to the end");
  orgs_history->footer("Example:\n  presencectl orgs history kfor --all");
  orgs_history->callback([&] {
    command = [&] {
      rv1::ListOrganizationRevisionsRequest request;
      std::string name;
      if (int r = ResolveOrganization(cli, history_arg, &name, false); r != kExitOk) return r;
      request.set_name(name);
      request.set_page_size(history_page_size);
      request.set_page_token(history_token);
      rv1::ListOrganizationRevisionsResponse merged;
      while (true) {
        rv1::ListOrganizationRevisionsResponse page;
        grpc::Status status = cli.registry().ListOrganizationRevisions(cli.Ctx().get(), request, &page);
        if (!status.ok()) return Report(status, "listing revisions of " + name);
        for (auto& o : *page.mutable_organizations()) *merged.add_organizations() = std::move(o);
        merged.set_next_page_token(page.next_page_token());
        if (!history_all || page.next_page_token().empty()) break;
        request.set_page_token(page.next_page_token());
      }
      if (cli.output() == "table") {
        Table table({"REVISION", "UPDATED", "STATE", "ETAG", "DISPLAY NAME"});
        for (const auto& o : merged.organizations()) {
          table.AddRow({absl::StrCat(o.revision()),
                        absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(o.update_time().seconds()), absl::UTCTimeZone()),
                        o.state() == Organization::DELETED ? "deleted" : "active", o.etag(), o.display_name()});
        }
        std::cout << table.Render();
      } else if (cli.output() == "jsonl") {
        for (const auto& o : merged.organizations()) std::cout << ToJson(o, true) << "\n";
      } else {
        std::cout << ToJson(merged, false) << "\n";
      }
      MoreHint(merged.next_page_token());
      return kExitOk;
    };
  });

  int64_t watch_from = -1;
  int watch_count = 0;
  CLI::App* orgs_watch = orgs->add_subcommand("watch", "Stream changes as they happen");
  orgs_watch->add_option("--from", watch_from, "Replay the changes after this revision (0: all history; default: from now)");
  orgs_watch->add_option("--count", watch_count, "Stop after this many changes");
  orgs_watch->footer("Examples:\n  presencectl orgs watch\n  presencectl orgs watch --from 0 --count 5 -o jsonl");
  orgs_watch->callback([&] {
    command = [&] {
      rv1::WatchOrganizationsRequest request;
      if (watch_from < 0) {
        rv1::ListOrganizationsRequest list;
        list.set_page_size(1);
        rv1::ListOrganizationsResponse page;
        grpc::Status status = cli.registry().ListOrganizations(cli.Ctx().get(), list, &page);
        if (!status.ok()) return Report(status, "reading the current revision");
        watch_from = page.revision();
      }
      request.set_start_revision(watch_from);
      grpc::ClientContext context;  // No deadline: a watch runs until stopped.
      cli.AddToken(&context);
      auto reader = cli.registry().WatchOrganizations(&context, request);
      rv1::OrganizationChange change;
      int seen = 0;
      while ((watch_count == 0 || seen < watch_count) && reader->Read(&change)) {
        ++seen;
        if (cli.output() == "table") {
          std::cout << change.revision() << "  "
                    << absl::AsciiStrToLower(rv1::OrganizationChange::Type_Name(change.type()))
                    << "  " << change.organization().name() << std::endl;
        } else {
          std::cout << ToJson(change, true) << std::endl;
        }
      }
      if (watch_count > 0 && seen == watch_count) {
        context.TryCancel();
        reader->Finish();
        return kExitOk;
      }
      grpc::Status status = reader->Finish();
      return status.ok() ? kExitOk : Report(status, "watching");
    };
  });

  // events
  CLI::App* events = app.add_subcommand("events", "Events in the timeline");
  events->require_subcommand(1);
  events->footer("Examples:\n  presencectl events list --org EULEX\n  presencectl events get eulex-deployed\nRun 'presencectl events COMMAND --help' for each command's flags.");
  struct {
    std::vector<std::string> orgs, kinds;
    std::string since, until, page_token;
    bool desc = false, all = false;
    int page_size = 0;
  } el;
  CLI::App* events_list = events->add_subcommand("list", "List events overlapping a window, oldest first");
  events_list->add_option("--org", el.orgs, "Involving this organization: id, acronym or alias (repeatable: any of)");
  events_list->add_option("--since", el.since, "Overlapping this date or later");
  events_list->add_option("--until", el.until, "Overlapping this date or earlier");
  events_list->add_option("--kind", el.kinds, "Only this kind, e.g. deployment (repeatable: any of)");
  events_list->add_flag("--desc", el.desc, "Newest first");
  events_list->add_option("--page-size", el.page_size, "Results per page (default 50, max 1000)");
  events_list->add_option("--page-token", el.page_token, "Continue from a previous page");
  events_list->add_flag("--all", el.all, "Follow next_page_token to the end");
  events_list->footer("Examples:\n  presencectl events list --org EULEX\n  presencectl events list --since 2008-06 --until 2008-06\n  presencectl events list --since \"early 2010\" --kind downsizing --desc");
  events_list->callback([&] {
    command = [&] {
      tv1::ListEventsRequest request;
      for (const auto& o : el.orgs) {
        std::string name;
        if (int r = ResolveOrganization(cli, o, &name, true); r != kExitOk) return r;
        request.add_organizations(name);
      }
      for (const auto& k : el.kinds) {
        auto kind = ParseEventKind(k);
        if (!kind.ok()) return Fail({kExitInvalid, "--kind: " + std::string(kind.status().message())});
        request.add_kinds(*kind);
      }
      if (!el.since.empty()) {
        if (auto f = ParseDate(el.since, "--since", request.mutable_since())) return Fail(*f);
      }
      if (!el.until.empty()) {
        if (auto f = ParseDate(el.until, "--until", request.mutable_until())) return Fail(*f);
      }
      request.set_descending(el.desc);
      request.set_page_size(el.page_size);
      request.set_page_token(el.page_token);
      tv1::ListEventsResponse response;
      if (int r = ListEvents(cli, request, el.all, &response); r != kExitOk) return r;
      if (cli.output() == "table") {
        std::cout << EventRowsTable(response.events());
      } else if (cli.output() == "jsonl") {
        for (const auto& e : response.events()) std::cout << ToJson(e, true) << "\n";
      } else {
        std::cout << ToJson(response, false) << "\n";
      }
      MoreHint(response.next_page_token());
      return kExitOk;
    };
  });

  std::string event_arg;
  CLI::App* events_get = events->add_subcommand("get", "Show one event");
  events_get->add_option("event", event_arg, "id or resource name")->required();
  events_get->footer("Example:\n  presencectl events get eulex-deployed");
  events_get->callback([&] {
    command = [&] {
      tv1::GetEventRequest request;
      request.set_name(absl::StartsWith(event_arg, "events/") ? event_arg : "events/" + event_arg);
      Event event;
      grpc::Status status = cli.timeline().GetEvent(cli.Ctx().get(), request, &event);
      if (!status.ok()) return Report(status, "getting " + request.name());
      PrintResource(cli, event, [&] { return EventReport(event); });
      return kExitOk;
    };
  });

  struct EventFlags {
    std::string title, kind, start, end, description, from_file, etag, request_id;
    std::vector<std::string> orgs;
    bool validate_only = false;
    void Add(CLI::App* cmd) {
      cmd->add_option("--title", title, "One-line summary");
      cmd->add_option("--kind", kind, "declaration, establishment, deployment, appointment, legal-act, mandate-change, operational-milestone, downsizing, transfer-of-authority, administration, other");
      cmd->add_option("--start", start, "When it happened or began, e.g. 2008-12-09, early 2010");
      cmd->add_option("--end", end, "When a period ended");
      cmd->add_option("--org", orgs, "An organization involved: id, acronym or alias (repeatable)");
      cmd->add_option("--description", description, "What happened");
      cmd->add_option("--from-file", from_file, "Event in protobuf JSON (file or -); flags override it");
      cmd->add_option("--validate-only", validate_only, "Check without writing")->expected(0, 1)->default_str("false");
    }
    int Build(Cli& cli, CLI::App* cmd, Event* event, std::vector<std::string>* paths) {
      if (!from_file.empty()) {
        auto text = ReadInput(from_file);
        if (!text.ok()) return Fail({kExitInvalid, std::string(text.status().message())});
        if (auto s = FromJson(*text, event); !s.ok()) {
          return Fail({kExitInvalid, from_file + ": " + std::string(s.message())});
        }
      }
      const auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
      if (given("--title")) { event->set_title(title); paths->push_back("title"); }
      if (given("--kind")) {
        auto k = ParseEventKind(kind);
        if (!k.ok()) return Fail({kExitInvalid, "--kind: " + std::string(k.status().message())});
        event->set_kind(*k);
        paths->push_back("kind");
      }
      if (given("--start")) {
        if (auto f = ParseDate(start, "--start", event->mutable_start())) return Fail(*f);
        paths->push_back("start");
      }
      if (given("--end")) {
        if (auto f = ParseDate(end, "--end", event->mutable_end())) return Fail(*f);
        paths->push_back("end");
      }
      if (given("--org")) {
        event->clear_organizations();
        for (const auto& o : orgs) {
          std::string name;
          if (int r = ResolveOrganization(cli, o, &name, true); r != kExitOk) return r;
          event->add_organizations(name);
        }
        paths->push_back("organizations");
      }
      if (given("--description")) { event->set_description(description); paths->push_back("description"); }
      return kExitOk;
    }
  };

  EventFlags ecf;
  std::string ecreate_id;
  CLI::App* events_create = events->add_subcommand("create", "Create an event");
  events_create->add_option("id", ecreate_id, "The new id, e.g. eulex-deployed")->required();
  ecf.Add(events_create);
  events_create->add_option("--request-id", ecf.request_id, "A UUID making retries safe (default: a new one)");
  events_create->footer("Examples:\n  presencectl events create kfor-second-phase --title \"KFOR completes its second downsizing phase\" \\\n      --kind downsizing --start \"late 2011\" --org KFOR --org NATO\n  presencectl events create x --from-file event.json");
  events_create->callback([&] {
    command = [&] {
      tv1::CreateEventRequest request;
      std::vector<std::string> paths;
      if (int r = ecf.Build(cli, events_create, request.mutable_event(), &paths); r != kExitOk) return r;
      request.set_event_id(ecreate_id);
      request.set_request_id(ecf.request_id.empty() ? NewRequestId() : ecf.request_id);
      request.set_validate_only(ecf.validate_only);
      Event event;
      grpc::Status status = cli.timeline().CreateEvent(cli.Ctx().get(), request, &event);
      if (!status.ok()) return Report(status, "creating events/" + ecreate_id);
      PrintResource(cli, event, [&] { return EventReport(event); });
      return kExitOk;
    };
  });

  EventFlags euf;
  std::string eupdate_arg;
  CLI::App* events_update = events->add_subcommand("update", "Update fields of an event");
  events_update->add_option("event", eupdate_arg, "id or resource name")->required();
  euf.Add(events_update);
  events_update->add_option("--etag", euf.etag, "Only if the event still has this etag");
  events_update->footer("Only the fields given by flags change (with --from-file: the fields the file sets).\nExample:\n  presencectl events update eulex-deployed --title \"EULEX deploys throughout Kosovo\"");
  events_update->callback([&] {
    command = [&] {
      tv1::UpdateEventRequest request;
      std::vector<std::string> paths;
      if (int r = euf.Build(cli, events_update, request.mutable_event(), &paths); r != kExitOk) return r;
      request.mutable_event()->set_name(absl::StartsWith(eupdate_arg, "events/") ? eupdate_arg : "events/" + eupdate_arg);
      request.mutable_event()->set_etag(euf.etag);
      if (euf.from_file.empty()) {
        if (paths.empty()) return Fail({kExitUsage, "nothing to update: give field flags or --from-file"});
        for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
      }
      request.set_validate_only(euf.validate_only);
      Event event;
      grpc::Status status = cli.timeline().UpdateEvent(cli.Ctx().get(), request, &event);
      if (!status.ok()) return Report(status, "updating " + request.event().name());
      PrintResource(cli, event, [&] { return EventReport(event); });
      return kExitOk;
    };
  });

  std::string edelete_arg, edelete_etag;
  CLI::App* events_delete = events->add_subcommand("delete", "Delete an event");
  events_delete->add_option("event", edelete_arg, "id or resource name")->required();
  events_delete->add_option("--etag", edelete_etag, "Only if the event still has this etag");
  events_delete->footer("Example:\n  presencectl events delete kfor-second-phase");
  events_delete->callback([&] {
    command = [&] {
      tv1::DeleteEventRequest request;
      request.set_name(absl::StartsWith(edelete_arg, "events/") ? edelete_arg : "events/" + edelete_arg);
      request.set_etag(edelete_etag);
      google::protobuf::Empty empty;
      grpc::Status status = cli.timeline().DeleteEvent(cli.Ctx().get(), request, &empty);
      if (!status.ok()) return Report(status, "deleting " + request.name());
      std::cerr << "deleted " << request.name() << "\n";
      return kExitOk;
    };
  });

  // presence
  std::string presence_date;
  std::vector<std::string> presence_kinds;
  int presence_max_events = 0;
  CLI::App* presence = app.add_subcommand("presence", "Who was present on a date, with strength and leaders");
  presence->add_option("date", presence_date, "e.g. 2009-06-01, 2009, early 2010")->required();
  presence->add_option("--kind", presence_kinds, "Only organizations of this kind (repeatable)");
  presence->add_option("--max-events", presence_max_events, "Events per organization (default 10)");
  presence->footer("Examples:\n  presencectl presence 2009-06-01\n  presencectl presence \"mid 2008\" -o json");
  presence->callback([&] {
    command = [&] {
      tv1::GetPresenceRequest request;
      if (auto f = ParseDate(presence_date, "date", request.mutable_date())) return Fail(*f);
      for (const auto& k : presence_kinds) {
        auto kind = ParseOrganizationKind(k);
        if (!kind.ok()) return Fail({kExitInvalid, "--kind: " + std::string(kind.status().message())});
        request.add_kinds(*kind);
      }
      request.set_max_events(presence_max_events);
      tv1::Presence response;
      grpc::Status status = cli.timeline().GetPresence(cli.Ctx().get(), request, &response);
      if (!status.ok()) return Report(status, "presence on " + presence_date);
      PrintResource(cli, response, [&] { return PresenceReport(response); });
      return kExitOk;
    };
  });

  std::string import_file;
  bool fail_fast = false;
  CLI::App* import = app.add_subcommand("import", "Load organizations and events from JSON Lines");
  import->add_option("file", import_file, "JSON Lines (protobuf JSON, one resource per line), or -")->required();
  import->add_flag("--fail-fast", fail_fast, "Stop at the first failing line");
  import->footer("Idempotent: existing resources are updated only where they differ.\nNew resources go in batches of 1000 (one atomic write each).\nExample:\n  presencectl export > backup.jsonl && presencectl import backup.jsonl");
  import->callback([&] { command = [&] { return Import(cli, import_file, fail_fast); }; });

  CLI::App* export_cmd = app.add_subcommand("export", "Write every organization and event as JSON Lines");
  export_cmd->footer("Organizations come first, parents before children, then events.\nExample:\n  presencectl export > presence.jsonl");
  export_cmd->callback([&] { command = [&] { return Export(cli); }; });

  CLI::App* health = app.add_subcommand("health", "Health of both services");
  health->footer("Example:\n  presencectl health");
  health->callback([&] { command = [&] { return Health(cli); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (auto failure = cli.Prepare()) return Fail(*failure);
  rc = command ? command() : kExitUsage;
  return rc;
}

}  // namespace
}  // namespace presence::cli

int main(int argc, char** argv) { return presence::cli::Main(argc, argv); }
