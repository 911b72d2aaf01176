#include "client/transfer.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;
using Kind = ImportStep::Kind;

constexpr absl::string_view kOrgPrefix = "organizations/";
constexpr absl::string_view kEventPrefix = "events/";

// "No step": the state before the import (as an interval's start) or after
// it (as its end).
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

// One organization through the import: its state before any step (phase 0)
// and after each of its steps.
struct OrgTrack {
  struct Phase {
    int step = kNoStep;  // The step that began it; kNoStep for phase 0.
    bool live = false;
    const Organization* content = nullptr;  // Null while it does not exist.
  };
  std::string name;
  int line = 0;      // 0: an organization the file does not name.
  int position = 0;  // In dependency order.
  bool is_new = false;
  std::vector<Phase> phases;
};

// [start, end) in steps: kNoStep start = from before the import, kNoStep
// end = to the end.
struct Interval {
  int start = kNoStep;
  int end = kNoStep;
  int rank = 0;  // Order among holders that both start and end with a step.
};

// The intervals of the phases where `holds` is true.
std::vector<Interval> IntervalsOf(const OrgTrack& track,
                                  const std::function<bool(const OrgTrack::Phase&)>& holds,
                                  int rank) {
  std::vector<Interval> out;
  bool holding = false;
  for (const OrgTrack::Phase& phase : track.phases) {
    const bool now = phase.content != nullptr && holds(phase);
    if (now && !holding) out.push_back({phase.step, kNoStep, rank});
    if (!now && holding) out.back().end = phase.step;
    holding = now;
  }
  return out;
}

class Planner {
 public:
  Planner(const std::vector<ImportLine>& lines, const std::vector<Organization>& current_orgs,
          const std::vector<Event>& current_events) {
    for (const Organization& org : current_orgs) current_orgs_[org.name()] = org;
    for (const Event& event : current_events) current_events_[event.name()] = event;
    std::vector<Organization> wanted;
    for (const ImportLine& line : lines) {
      if (line.record.organization) {
        wanted.push_back(*line.record.organization);
        line_of_[line.record.organization->name()] = line.number;
      } else if (line.record.event) {
        events_.push_back(&line);
      }
    }
    ordered_ = DependencyOrder(std::move(wanted));
    for (size_t i = 0; i < ordered_.size(); ++i) {
      position_[ordered_[i].name()] = static_cast<int>(i);
      finals_[ordered_[i].name()] = Desired(ordered_[i]);
    }
  }

  std::vector<ImportStep> Plan() {
    FindContestedKeys();
    for (const Organization& org : ordered_) TrackWanted(org);
    for (const auto& [name, org] : current_orgs_) {
      if (tracks_.count(name) == 0) TrackBystander(org);
    }
    for (const ImportLine* line : events_) PlanEvent(*line);
    OrderKeyHolders();
    NestChildrenInParents();
    CreateAppointersFirst();
    return Sorted();
  }

 private:
  // A key is contested when two organizations hold it at some point (the
  // ids, acronyms and aliases of their current and final contents): those
  // need ordering, and new organizations are created without them.
  void FindContestedKeys() {
    std::map<std::string, std::set<std::string>> holders;
    for (const auto& [name, org] : current_orgs_) {
      for (const std::string& key : Keys(org)) holders[key].insert(name);
    }
    for (const auto& [name, org] : finals_) {
      for (const std::string& key : Keys(org)) holders[key].insert(name);
    }
    for (auto& [key, names] : holders) {
      if (names.size() > 1) contested_[key] = std::move(names);
    }
  }

  // The first content of a new organization: without contested acronym and
  // aliases, and without leaders appointed by organizations created after
  // it (appointment cycles); the final content follows in an update.
  Organization Skeleton(const Organization& final_content) const {
    Organization skeleton = final_content;
    if (contested_.count(NormalizeKey(skeleton.acronym())) > 0) skeleton.clear_acronym();
    skeleton.clear_aliases();
    for (const std::string& alias : final_content.aliases()) {
      if (contested_.count(NormalizeKey(alias)) == 0) skeleton.add_aliases(alias);
    }
    skeleton.clear_leaders();
    const int own = position_.at(final_content.name());
    for (const auto& leader : final_content.leaders()) {
      const std::string& by = leader.appointed_by();
      auto pos = position_.find(by);
      const bool later_new = by != final_content.name() && pos != position_.end() &&
                             pos->second >= own && current_orgs_.count(by) == 0;
      if (!later_new) *skeleton.add_leaders() = leader;
    }
    return skeleton;
  }

  int AddStep(Kind kind, int line, const std::string& name, int rank) {
    ImportStep step;
    step.kind = kind;
    step.line = line;
    step.name = name;
    steps_.push_back(std::move(step));
    rank_.push_back(rank);
    before_.emplace_back();
    return static_cast<int>(steps_.size()) - 1;
  }

  // `from` runs before `to`; either may be kNoStep (nothing to order).
  void Edge(int from, int to) {
    if (from != kNoStep && to != kNoStep && from != to) before_[to].insert(from);
  }

  void TrackWanted(const Organization& wanted) {
    const std::string& name = wanted.name();
    const Organization& final_content = finals_.at(name);
    OrgTrack& track = tracks_[name];
    track.name = name;
    track.line = line_of_.at(name);
    track.position = position_.at(name);
    const int n = static_cast<int>(ordered_.size());
    const bool want_live = IsLive(wanted);
    auto current_it = current_orgs_.find(name);
    const Organization* current =
        current_it == current_orgs_.end() ? nullptr : &current_it->second;
    const Organization* current_content = nullptr;
    if (current) {
      current_content = &contents_.emplace_back(Desired(*current));
      track.phases.push_back({kNoStep, IsLive(*current), current_content});
    } else {
      track.phases.push_back({kNoStep, false, nullptr});
    }
    int last = kNoStep;
    const auto step = [&](Kind kind, bool live, const Organization* content) {
      const int rank = kind == Kind::kDeleteOrganization ? n - track.position : track.position;
      const int index = AddStep(kind, track.line, name, rank);
      if (content != nullptr && kind != Kind::kDeleteOrganization &&
          kind != Kind::kUndeleteOrganization) {
        steps_[index].organization = *content;
      }
      Edge(last, index);
      last = index;
      track.phases.push_back({index, live, content});
    };
    const bool differs = current_content == nullptr || !Same(*current_content, final_content);
    if (!current) {
      track.is_new = true;
      const Organization* skeleton = &contents_.emplace_back(Skeleton(final_content));
      step(Kind::kCreateOrganization, true, skeleton);
      if (!Same(*skeleton, final_content)) {
        step(Kind::kUpdateOrganization, true, &final_content);
      }
      if (!want_live) step(Kind::kDeleteOrganization, false, &final_content);
    } else if (IsLive(*current)) {
      if (differs) step(Kind::kUpdateOrganization, true, &final_content);
      if (!want_live) step(Kind::kDeleteOrganization, false, &final_content);
    } else if (want_live) {
      step(Kind::kUndeleteOrganization, true, current_content);
      if (differs) step(Kind::kUpdateOrganization, true, &final_content);
    } else if (differs) {
      // A deleted organization cannot be changed: undelete, change, delete.
      step(Kind::kUndeleteOrganization, true, current_content);
      step(Kind::kUpdateOrganization, true, &final_content);
      step(Kind::kDeleteOrganization, false, &final_content);
    }
  }

  void TrackBystander(const Organization& current) {
    OrgTrack& track = tracks_[current.name()];
    track.name = current.name();
    track.phases.push_back({kNoStep, IsLive(current), &current});
  }

  void PlanEvent(const ImportLine& line) {
    const Event desired = ExportContent(*line.record.event);
    auto current = current_events_.find(desired.name());
    int write = kNoStep;
    if (current == current_events_.end()) {
      write = AddStep(Kind::kCreateEvent, line.number, desired.name(), line.number);
    } else if (!Same(ExportContent(current->second), desired)) {
      write = AddStep(Kind::kUpdateEvent, line.number, desired.name(), line.number);
    } else {
      return;
    }
    steps_[write].event = desired;
    // Written while every organization it names is live.
    for (const std::string& org : desired.organizations()) {
      auto track = tracks_.find(org);
      if (track == tracks_.end()) continue;  // The timeline will say so.
      std::vector<Interval> live = IntervalsOf(
          track->second, [](const OrgTrack::Phase& p) { return p.live; }, 0);
      if (live.empty()) continue;
      const Interval& chosen = live.back();
      Edge(chosen.start, write);
      Edge(write, chosen.end);
    }
  }

  // Holders of a contested key take turns: those holding it now first, the
  // one keeping it last, the others children before parents.
  void OrderKeyHolders() {
    const int n = static_cast<int>(ordered_.size());
    for (const auto& [key, names] : contested_) {
      std::vector<Interval> holders;
      for (const std::string& name : names) {
        const OrgTrack& track = tracks_.at(name);
        const auto holds = [&key](const OrgTrack::Phase& p) {
          return p.live && Keys(*p.content).count(key) > 0;
        };
        for (const Interval& i : IntervalsOf(track, holds, n - track.position)) {
          holders.push_back(i);
        }
      }
      const auto group = [](const Interval& i) {
        return i.start == kNoStep ? 0 : i.end == kNoStep ? 2 : 1;
      };
      std::stable_sort(holders.begin(), holders.end(), [&](const Interval& a, const Interval& b) {
        return std::make_tuple(group(a), a.rank) < std::make_tuple(group(b), b.rank);
      });
      for (size_t i = 1; i < holders.size(); ++i) {
        Edge(holders[i - 1].end, holders[i].start);
      }
    }
  }

  // A child is live only while its parent is: the parent becomes live first
  // and is deleted after the child has been deleted or re-parented.
  void NestChildrenInParents() {
    for (const auto& [name, track] : tracks_) {
      std::set<std::string> parents;
      for (const OrgTrack::Phase& p : track.phases) {
        if (p.content != nullptr && !p.content->parent_organization().empty()) {
          parents.insert(p.content->parent_organization());
        }
      }
      for (const std::string& parent : parents) {
        auto parent_track = tracks_.find(parent);
        if (parent_track == tracks_.end()) continue;
        std::vector<Interval> parent_live = IntervalsOf(
            parent_track->second, [](const OrgTrack::Phase& p) { return p.live; }, 0);
        if (parent_live.empty()) continue;
        for (const Interval& child : IntervalsOf(
                 track,
                 [&parent](const OrgTrack::Phase& p) {
                   return p.live && p.content->parent_organization() == parent;
                 },
                 0)) {
          // A parent's steps make it live at most once (see TrackWanted).
          const Interval* around = &parent_live.back();
          Edge(around->start, child.start);
          Edge(child.end, around->end);
        }
      }
    }
  }

  // A leader's appointing body must exist when the leader is written.
  void CreateAppointersFirst() {
    for (const auto& [name, track] : tracks_) {
      for (const OrgTrack::Phase& p : track.phases) {
        if (p.step == kNoStep || p.content == nullptr) continue;
        for (const auto& leader : p.content->leaders()) {
          auto appointer = tracks_.find(leader.appointed_by());
          if (appointer == tracks_.end() || !appointer->second.is_new ||
              leader.appointed_by() == name) {
            continue;
          }
          Edge(appointer->second.phases[1].step, p.step);
        }
      }
    }
  }

  // Kahn's algorithm; among the steps that may run next, the lowest kind
  // (creates first, deletes last), then rank, then insertion order, so that
  // creations come in long runs. Steps on a cycle (a file no sequence of
  // writes can produce) go last, in that same order: the services will say
  // what is wrong with them.
  std::vector<ImportStep> Sorted() {
    const int n = static_cast<int>(steps_.size());
    std::vector<int> waiting(n, 0);
    std::vector<std::vector<int>> next(n);
    for (int i = 0; i < n; ++i) {
      waiting[i] = static_cast<int>(before_[i].size());
      for (int b : before_[i]) next[b].push_back(i);
    }
    using Key = std::tuple<int, int, int>;
    const auto key = [&](int i) { return Key{static_cast<int>(steps_[i].kind), rank_[i], i}; };
    std::priority_queue<Key, std::vector<Key>, std::greater<Key>> ready;
    for (int i = 0; i < n; ++i) {
      if (waiting[i] == 0) ready.push(key(i));
    }
    std::vector<int> order;
    std::vector<bool> placed(n, false);
    while (static_cast<int>(order.size()) < n) {
      if (ready.empty()) {
        std::vector<Key> rest;
        for (int i = 0; i < n; ++i) {
          if (!placed[i]) rest.push_back(key(i));
        }
        std::sort(rest.begin(), rest.end());
        for (const Key& k : rest) {
          placed[std::get<2>(k)] = true;
          order.push_back(std::get<2>(k));
        }
        break;
      }
      const int i = std::get<2>(ready.top());
      ready.pop();
      placed[i] = true;
      order.push_back(i);
      for (int j : next[i]) {
        if (--waiting[j] == 0) ready.push(key(j));
      }
    }
    std::vector<int> new_index(n);
    for (int k = 0; k < n; ++k) new_index[order[k]] = k;
    std::vector<ImportStep> out;
    out.reserve(n);
    for (int i : order) {
      ImportStep step = std::move(steps_[i]);
      for (int b : before_[i]) step.after.push_back(new_index[b]);
      std::sort(step.after.begin(), step.after.end());
      out.push_back(std::move(step));
    }
    return out;
  }

  std::map<std::string, Organization> current_orgs_;
  std::map<std::string, Event> current_events_;
  std::map<std::string, int> line_of_;
  std::vector<const ImportLine*> events_;
  std::vector<Organization> ordered_;
  std::map<std::string, int> position_;
  std::map<std::string, Organization> finals_;
  // Contested key -> the organizations holding it at some point.
  std::map<std::string, std::set<std::string>> contested_;
  std::map<std::string, OrgTrack> tracks_;
  std::deque<Organization> contents_;  // Stable addresses for the phases.
  std::vector<ImportStep> steps_;
  std::vector<int> rank_;
  std::vector<std::set<int>> before_;
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

Organization ExportContent(Organization org) {
  org.clear_revision();
  org.clear_etag();
  org.clear_create_time();
  org.clear_update_time();
  org.clear_delete_time();
  org.clear_last_modified_by();
  return org;
}

Event ExportContent(Event event) {
  event.clear_etag();
  event.clear_create_time();
  event.clear_update_time();
  event.clear_created_by();
  event.clear_updated_by();
  return event;
}

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
