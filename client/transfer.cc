#include "client/transfer.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/field_behavior.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;
using Kind = ImportStep::Kind;

constexpr absl::string_view kOrgPrefix = "organizations/";
constexpr absl::string_view kEventPrefix = "events/";

// "No step": nothing in the plan (the state before the import).
constexpr int kNoStep = -1;

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// What import sends for an organization: its content without the state.
Organization Desired(Organization org) {
  org = ExportContent(std::move(org));
  org.clear_state();
  return org;
}

bool IsLive(const Organization& org) { return org.state() != Organization::DELETED; }

// The registry's uniqueness keys (registry.cc: NormalizeAlias): lower case,
// surrounding white space ignored.
std::string NormalizeKey(absl::string_view alias) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(alias));
}

// The keys an organization holds while live: its id, acronym and aliases.
std::set<std::string> Keys(const Organization& content) {
  std::set<std::string> keys = {IdOf(content.name())};
  if (!content.acronym().empty()) keys.insert(NormalizeKey(content.acronym()));
  for (const std::string& alias : content.aliases()) keys.insert(NormalizeKey(alias));
  return keys;
}

// Plans an import in four phases, simulating the target as it goes:
//   1. every organization of the file comes to exist and be live, in
//      dependency order (parents first), as a skeleton: its final content
//      without the contested acronym and aliases (those two organizations
//      hold at some point, one of them newly) and without leaders appointed
//      by organizations created after it. Skeletons never collide.
//      Organizations to be deleted whose content changes are undeleted.
//   2. the events are written: every organization they name is live now.
//   3. the organizations to end deleted, children first: each gets its
//      final content and is deleted. An organization whose id is one of its
//      names is deleted for that moment, with its live descendants, and
//      restored right after (a history can hand a name from an
//      organization to one created later under that name); if it is above
//      the deleted one only since a later re-parenting, the branch between
//      them is detached until its own final content.
//   4. the live organizations get their final content.
class Planner {
 public:
  Planner(const std::vector<ImportLine>& lines, const std::vector<Organization>& current_orgs,
          const std::vector<Event>& current_events) {
    for (const Event& event : current_events) current_events_[event.name()] = event;
    for (const Organization& org : current_orgs) {
      Org& o = orgs_[org.name()];
      o.name = org.name();
      o.exists = true;
      o.live = IsLive(org);
      o.content = Desired(org);
    }
    std::vector<Organization> wanted;
    for (const ImportLine& line : lines) {
      if (line.record.organization) {
        const Organization& org = *line.record.organization;
        wanted.push_back(org);
        Org& o = orgs_[org.name()];
        o.name = org.name();
        o.line = line.number;
        o.wanted = true;
        o.want_live = IsLive(org);
        o.final_content = Desired(org);
        o.is_new = !o.exists;
      } else if (line.record.event) {
        events_.push_back(&line);
      }
    }
    for (const Organization& org : wanted) {
      if (!org.parent_organization().empty()) {
        children_[org.parent_organization()].push_back(org.name());
      }
    }
    for (const Organization& org : DependencyOrder(std::move(wanted))) {
      orgs_[org.name()].position = static_cast<int>(order_.size());
      order_.push_back(org.name());
    }
  }

  std::vector<ImportStep> Plan() {
    FindContestedKeys();
    PlanSkeletons();
    PlanEvents();
    PlanDeletions();
    PlanFinalContents();
    return std::move(steps_);
  }

 private:
  // An organization of the target or of the file, as the plan leaves it so
  // far.
  struct Org {
    std::string name;
    int line = 0;           // 0: not in the file.
    bool wanted = false;    // In the file.
    bool want_live = true;
    bool is_new = false;    // Not in the target before the import.
    int position = 0;       // In dependency order.
    Organization final_content;
    bool exists = false;
    bool live = false;
    Organization content;   // Without output-only fields and state.
    int last_step = kNoStep;  // The latest step writing it.
    int live_step = kNoStep;  // The step that made it live, if any.
  };

  bool NeedsUndelete(const Org& o) const {
    return o.wanted && o.exists && !o.live &&
           (o.want_live || !Same(o.content, o.final_content));
  }

  // A key is contested when two organizations hold it at some point (the
  // ids, acronyms and aliases of their current and final contents) and one
  // of them gains it in this import.
  void FindContestedKeys() {
    std::map<std::string, std::set<std::string>> holders;
    std::set<std::string> gained;
    for (const auto& [name, o] : orgs_) {
      std::set<std::string> now;
      if (o.exists && (o.live || NeedsUndelete(o))) now = Keys(o.content);
      for (const std::string& k : now) holders[k].insert(name);
      if (NeedsUndelete(o)) gained.insert(now.begin(), now.end());
      // A deleted organization left as it is holds nothing.
      if (!o.wanted || (o.exists && !o.live && !NeedsUndelete(o))) continue;
      for (const std::string& k : Keys(o.final_content)) {
        holders[k].insert(name);
        if (!o.live || now.count(k) == 0) gained.insert(k);
      }
    }
    for (const auto& [key, names] : holders) {
      if (names.size() > 1 && gained.count(key) > 0) contested_.insert(key);
    }
    holders_ = std::move(holders);
  }

  // The final content without contested names and without leaders
  // appointed by organizations created after it (appointment cycles).
  Organization Skeleton(const Org& o) const {
    Organization skeleton = o.final_content;
    if (contested_.count(NormalizeKey(skeleton.acronym())) > 0) skeleton.clear_acronym();
    skeleton.clear_aliases();
    for (const std::string& alias : o.final_content.aliases()) {
      if (contested_.count(NormalizeKey(alias)) == 0) skeleton.add_aliases(alias);
    }
    skeleton.clear_leaders();
    for (const auto& leader : o.final_content.leaders()) {
      auto by = orgs_.find(leader.appointed_by());
      const bool created_later = by != orgs_.end() && by->second.is_new &&
                                 by->second.position >= o.position && by->first != o.name;
      if (!created_later) *skeleton.add_leaders() = leader;
    }
    return skeleton;
  }

  // The step that made `name` live in this plan, if any.
  int LiveStep(const std::string& name) const {
    auto it = orgs_.find(name);
    return it == orgs_.end() ? kNoStep : it->second.live_step;
  }

  int Add(Kind kind, Org& o, std::vector<int> after) {
    ImportStep step;
    step.kind = kind;
    step.line = o.line;
    step.name = o.name;
    after.push_back(o.last_step);
    for (int a : after) {
      if (a != kNoStep) step.after.push_back(a);
    }
    std::sort(step.after.begin(), step.after.end());
    step.after.erase(std::unique(step.after.begin(), step.after.end()), step.after.end());
    const int index = static_cast<int>(steps_.size());
    switch (kind) {
      case Kind::kCreateOrganization:
      case Kind::kUndeleteOrganization:
        o.exists = true;
        o.live = true;
        o.live_step = index;
        break;
      case Kind::kDeleteOrganization:
        o.live = false;
        break;
      default:
        break;
    }
    steps_.push_back(std::move(step));
    o.last_step = index;
    return index;
  }

  void Write(Kind kind, Org& o, const Organization& content, std::vector<int> after) {
    const int index = Add(kind, o, std::move(after));
    steps_[index].organization = content;
    o.content = content;
  }

  void PlanSkeletons() {
    for (const std::string& name : order_) {
      Org& o = orgs_.at(name);
      const Organization skeleton = Skeleton(o);
      const int parent = LiveStep(skeleton.parent_organization());
      if (!o.exists) {
        Write(Kind::kCreateOrganization, o, skeleton, {parent});
        continue;
      }
      if (NeedsUndelete(o)) {
        Add(Kind::kUndeleteOrganization, o, {LiveStep(o.content.parent_organization())});
      }
      if (!o.live || Same(o.content, skeleton)) continue;
      bool holds_contested = false;
      for (const std::string& k : Keys(o.content)) holds_contested |= contested_.count(k) > 0;
      if (holds_contested || !Same(o.content, o.final_content)) {
        Write(Kind::kUpdateOrganization, o, skeleton, {parent});
      }
    }
  }

  void PlanEvents() {
    for (const ImportLine* line : events_) {
      const Event desired = ExportContent(*line->record.event);
      auto current = current_events_.find(desired.name());
      Kind kind;
      if (current == current_events_.end()) {
        kind = Kind::kCreateEvent;
      } else if (!Same(ExportContent(current->second), desired)) {
        kind = Kind::kUpdateEvent;
      } else {
        continue;
      }
      ImportStep step;
      step.kind = kind;
      step.line = line->number;
      step.name = desired.name();
      for (const std::string& org : desired.organizations()) {
        if (int live = LiveStep(org); live != kNoStep) step.after.push_back(live);
      }
      std::sort(step.after.begin(), step.after.end());
      step.after.erase(std::unique(step.after.begin(), step.after.end()), step.after.end());
      step.event = desired;
      steps_.push_back(std::move(step));
    }
  }

  // `root` and its live descendants, children before parents; false if it
  // includes `avoid` or an organization the file does not name.
  bool LiveSubtree(const std::string& root, const std::string& avoid,
                   std::vector<std::string>* out) const {
    for (const auto& [name, o] : orgs_) {
      if (o.live && o.content.parent_organization() == root &&
          !LiveSubtree(name, avoid, out)) {
        return false;
      }
    }
    const Org& o = orgs_.at(root);
    if (root == avoid || !o.wanted) return false;
    if (std::find(out->begin(), out->end(), root) == out->end()) out->push_back(root);
    return true;
  }

  // The organization whose parent is `ancestor` on the way up from `name`,
  // or empty if `ancestor` is not above it.
  std::string ChildTowards(const std::string& ancestor, const std::string& name) const {
    std::string at = name;
    for (int depth = 0; depth < 1000 && !at.empty(); ++depth) {
      auto it = orgs_.find(at);
      if (it == orgs_.end()) return "";
      const std::string& parent = it->second.content.parent_organization();
      if (parent == ancestor) return at;
      at = parent;
    }
    return "";
  }

  void PlanDeletions() {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      Org& x = orgs_.at(*it);
      if (x.want_live || !x.live) continue;
      // Live organizations holding one of x's final names step aside.
      const std::set<std::string> names = Keys(x.final_content);
      std::set<std::string> candidates;  // Those that may hold one of them.
      for (const std::string& k : names) {
        if (auto h = holders_.find(k); h != holders_.end()) {
          candidates.insert(h->second.begin(), h->second.end());
        }
      }
      std::vector<std::string> aside;
      for (const std::string& name : candidates) {
        const Org& z = orgs_.at(name);
        if (name == x.name || !z.live) continue;
        bool collides = false;
        for (const std::string& k : Keys(z.content)) collides |= names.count(k) > 0;
        if (!collides) continue;
        std::vector<std::string> subtree;
        if (!LiveSubtree(name, x.name, &subtree)) {
          // x may be below z only since a later re-parenting: detach the
          // branch leading to x (its final content re-attaches it).
          const std::string branch = ChildTowards(name, x.name);
          if (branch.empty() || branch == x.name) continue;
          Org& b = orgs_.at(branch);
          Organization detached = b.content;
          detached.clear_parent_organization();
          Write(Kind::kUpdateOrganization, b, detached, {});
          subtree.clear();
          if (!LiveSubtree(name, x.name, &subtree)) continue;
        }
        for (const std::string& s : subtree) {
          if (std::find(aside.begin(), aside.end(), s) == aside.end()) aside.push_back(s);
        }
      }
      std::vector<int> stepped_aside;
      for (const std::string& name : aside) {
        stepped_aside.push_back(Add(Kind::kDeleteOrganization, orgs_.at(name), {}));
      }
      if (!Same(x.content, x.final_content)) {
        Write(Kind::kUpdateOrganization, x, x.final_content, stepped_aside);
      }
      std::vector<int> children;  // Their deletions.
      for (const std::string& name : children_[x.name]) {
        const Org& o = orgs_.at(name);
        if (!o.live && o.last_step != kNoStep) children.push_back(o.last_step);
      }
      const int deleted = Add(Kind::kDeleteOrganization, x, children);
      for (auto r = aside.rbegin(); r != aside.rend(); ++r) {
        Add(Kind::kUndeleteOrganization, orgs_.at(*r), {deleted});
      }
    }
  }

  void PlanFinalContents() {
    for (const std::string& name : order_) {
      Org& o = orgs_.at(name);
      if (o.want_live && o.live && !Same(o.content, o.final_content)) {
        Write(Kind::kUpdateOrganization, o, o.final_content, {});
      }
    }
  }

  std::map<std::string, Org> orgs_;
  std::map<std::string, Event> current_events_;
  std::vector<const ImportLine*> events_;
  std::vector<std::string> order_;  // The file's organizations, dependency order.
  std::set<std::string> contested_;
  // Key -> the organizations holding it at some point (any content).
  std::map<std::string, std::set<std::string>> holders_;
  // Parent -> the file's organizations naming it.
  std::map<std::string, std::vector<std::string>> children_;
  std::vector<ImportStep> steps_;
};

std::string Describe(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

}  // namespace

absl::StatusOr<ImportRecord> ParseImportLine(absl::string_view line) {
  google::protobuf::Struct object;
  google::protobuf::util::JsonParseOptions options;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &object, options).ok()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  auto name = object.fields().find("name");
  if (name == object.fields().end() || !name->second.has_string_value()) {
    return absl::InvalidArgumentError(
        "name: missing; must be organizations/{id} or events/{id}");
  }
  const std::string& text = name->second.string_value();
  ImportRecord record;
  if (absl::StartsWith(text, kOrgPrefix) && text.size() > kOrgPrefix.size()) {
    Organization org;
    PRESENCE_RETURN_IF_ERROR(FromJson(line, &org));
    record.organization = std::move(org);
  } else if (absl::StartsWith(text, kEventPrefix) && text.size() > kEventPrefix.size()) {
    Event event;
    PRESENCE_RETURN_IF_ERROR(FromJson(line, &event));
    record.event = std::move(event);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "name: \"", text.substr(0, 100), "\" must be organizations/{id} or events/{id}"));
  }
  return record;
}

std::vector<ImportLine> ParseImportText(
    absl::string_view text,
    const std::function<void(int line, absl::string_view message)>& on_error) {
  std::vector<ImportLine> lines;
  std::map<std::string, int> seen;
  int number = 0;
  for (absl::string_view rest = text; !rest.empty();) {
    const size_t end = rest.find('\n');
    absl::string_view line = rest.substr(0, end);
    rest = end == absl::string_view::npos ? absl::string_view() : rest.substr(end + 1);
    ++number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<ImportRecord> record = ParseImportLine(line);
    if (!record.ok()) {
      on_error(number, record.status().message());
      continue;
    }
    const std::string& name =
        record->organization ? record->organization->name() : record->event->name();
    auto [it, fresh] = seen.emplace(name, number);
    if (!fresh) {
      on_error(number, absl::StrCat(name, " is already on line ", it->second));
      continue;
    }
    lines.push_back({number, *std::move(record)});
  }
  return lines;
}

// The OUTPUT_ONLY fields come from the protos' google.api.field_behavior
// annotations (services/common/field_behavior.h), as in the services; the
// etag is a precondition, not content.
Organization ExportContent(Organization org) {
  const Organization::State state = org.state();  // Exported: deleted ones stay deleted.
  ClearOutputOnlyFields(&org);
  org.set_state(state);
  org.clear_etag();
  return org;
}

Event ExportContent(Event event) {
  ClearOutputOnlyFields(&event);
  event.clear_etag();
  return event;
}

std::vector<Organization> DependencyOrder(std::vector<Organization> orgs) {
  std::map<std::string, Organization> by_name;
  for (auto& o : orgs) by_name[o.name()] = std::move(o);
  std::vector<Organization> out;
  std::set<std::string> done, visiting;
  // Places `name` after its parent and, where no cycle prevents it, after
  // its leaders' appointing bodies. Returns false if it cannot be placed yet
  // because its parent is on the current path (reached through an
  // appointing body of a descendant): parents always come first, so such an
  // appointment points forwards, and import creates the leader later.
  std::function<bool(const std::string&)> visit = [&](const std::string& name) {
    auto it = by_name.find(name);
    if (it == by_name.end() || done.count(name)) return true;
    if (visiting.count(name)) return false;
    visiting.insert(name);
    if (!visit(it->second.parent_organization())) {
      visiting.erase(name);
      return false;
    }
    for (const auto& l : it->second.leaders()) visit(l.appointed_by());
    visiting.erase(name);
    done.insert(name);
    out.push_back(it->second);
    return true;
  };
  for (const auto& [name, org] : by_name) visit(name);
  return out;
}

absl::Status Export(TransferTarget& source, std::ostream& out) {
  PRESENCE_ASSIGN_OR_RETURN(std::vector<Organization> orgs, source.ListOrganizations());
  PRESENCE_ASSIGN_OR_RETURN(const std::vector<Event> events, source.ListEvents());
  for (const Organization& o : DependencyOrder(std::move(orgs))) {
    out << ToJson(ExportContent(o), /*one_line=*/true) << "\n";
  }
  for (const Event& e : events) out << ToJson(ExportContent(e), /*one_line=*/true) << "\n";
  out.flush();
  return out ? absl::OkStatus() : absl::DataLossError("cannot write the export");
}

std::vector<ImportStep> PlanImport(const std::vector<ImportLine>& lines,
                                   const std::vector<Organization>& current_orgs,
                                   const std::vector<Event>& current_events) {
  return Planner(lines, current_orgs, current_events).Plan();
}

absl::StatusOr<ImportSummary> Import(
    TransferTarget& target, const std::vector<ImportLine>& lines,
    const ImportOptions& options,
    const std::function<void(int line, absl::string_view message)>& on_error) {
  PRESENCE_ASSIGN_OR_RETURN(const std::vector<Organization> orgs, target.ListOrganizations());
  PRESENCE_ASSIGN_OR_RETURN(const std::vector<Event> events, target.ListEvents());
  const std::vector<ImportStep> steps = PlanImport(lines, orgs, events);

  enum class State { kPending, kDone, kFailed };
  std::vector<State> state(steps.size(), State::kPending);
  std::map<int, bool> line_failed;  // line -> reported
  bool stop = false;
  const auto fail = [&](size_t i, absl::string_view message) {
    state[i] = State::kFailed;
    if (!line_failed[steps[i].line]) on_error(steps[i].line, message);
    line_failed[steps[i].line] = true;
    if (options.fail_fast) stop = true;
  };
  // False (and the step failed) if a step it needs failed.
  const auto ready = [&](size_t i) {
    for (int b : steps[i].after) {
      if (state[b] == State::kFailed) {
        fail(i, absl::StrCat("not attempted: it needs the write of ", steps[b].name,
                             " (line ", steps[b].line, "), which failed"));
        return false;
      }
    }
    return true;
  };
  const auto run_one = [&](const ImportStep& step) -> absl::Status {
    switch (step.kind) {
      case Kind::kCreateOrganization:
        return target.CreateOrganizations({step.organization});
      case Kind::kUndeleteOrganization:
        return target.UndeleteOrganization(step.name);
      case Kind::kUpdateOrganization:
        return target.ReplaceOrganization(step.organization);
      case Kind::kDeleteOrganization:
        return target.DeleteOrganization(step.name);
      case Kind::kCreateEvent:
        return target.CreateEvents({step.event});
      case Kind::kUpdateEvent:
        return target.ReplaceEvent(step.event);
    }
    return absl::InternalError("unknown step");
  };
  const auto run_single = [&](size_t i) {
    if (!ready(i)) return;
    absl::Status s = run_one(steps[i]);
    if (s.ok()) {
      state[i] = State::kDone;
    } else {
      fail(i, Describe(s));
    }
  };

  for (size_t i = 0; i < steps.size() && !stop;) {
    const Kind kind = steps[i].kind;
    if (kind != Kind::kCreateOrganization && kind != Kind::kCreateEvent) {
      run_single(i++);
      continue;
    }
    // A run of creations, as batches.
    std::vector<size_t> batch;
    while (i < steps.size() && steps[i].kind == kind &&
           static_cast<int>(batch.size()) < options.batch_size && !stop) {
      if (ready(i)) batch.push_back(i);
      ++i;
    }
    if (batch.size() == 1) {
      run_single(batch.front());
      continue;
    }
    if (batch.empty()) continue;
    absl::Status s;
    if (kind == Kind::kCreateOrganization) {
      std::vector<Organization> create;
      for (size_t b : batch) create.push_back(steps[b].organization);
      s = target.CreateOrganizations(create);
    } else {
      std::vector<Event> create;
      for (size_t b : batch) create.push_back(steps[b].event);
      s = target.CreateEvents(create);
    }
    if (s.ok()) {
      for (size_t b : batch) state[b] = State::kDone;
      continue;
    }
    // One at a time, to find and report the failing lines.
    for (size_t b : batch) {
      if (stop) break;
      run_single(b);
    }
  }

  ImportSummary summary;
  std::map<int, std::vector<size_t>> steps_of;
  for (size_t i = 0; i < steps.size(); ++i) steps_of[steps[i].line].push_back(i);
  for (const ImportLine& line : lines) {
    const std::vector<size_t>& mine = steps_of[line.number];
    if (line_failed[line.number]) {
      ++summary.failed;
    } else if (std::any_of(mine.begin(), mine.end(),
                           [&](size_t i) { return state[i] == State::kPending; })) {
      ++summary.not_attempted;
    } else if (std::any_of(mine.begin(), mine.end(), [&](size_t i) {
                 return steps[i].kind == Kind::kCreateOrganization ||
                        steps[i].kind == Kind::kCreateEvent;
               })) {
      ++summary.created;
    } else if (!mine.empty()) {
      ++summary.updated;
    } else {
      ++summary.unchanged;
    }
  }
  return summary;
}

}  // namespace presence::cli
