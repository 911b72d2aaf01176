// presencectl's export/import logic without processes or gRPC: the JSONL
// parser, the import plan and its execution against a fake TransferTarget
// that records every write. (tests/service/cli_transfer_roundtrip_test.cc
// runs the same code against the real services.)

#include "client/transfer.h"

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace presence::cli {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::timeline::v1::Event;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Organization Org(const std::string& id, std::vector<std::string> aliases = {},
                 const std::string& parent = "", bool deleted = false) {
  Organization org;
  org.set_name("organizations/" + id);
  org.set_display_name("The " + id);
  org.set_kind(Organization::KIND_OTHER);
  for (const auto& a : aliases) org.add_aliases(a);
  if (!parent.empty()) org.set_parent_organization("organizations/" + parent);
  org.set_state(deleted ? Organization::DELETED : Organization::ACTIVE);
  return org;
}

Event Ev(const std::string& id, std::vector<std::string> orgs) {
  Event event;
  event.set_name("events/" + id);
  event.set_title("Event " + id);
  event.set_kind(Event::OTHER);
  event.mutable_start()->set_year(2009);
  for (const auto& o : orgs) event.add_organizations("organizations/" + o);
  return event;
}

// A TransferTarget over maps. Writes follow no rules (the real services'
// rules are tested in the round-trip test); each is logged as one line, e.g.
// "create a,b", "update a", "delete a", "undelete a", "events x,y",
// "event-update x".
class FakeTarget final : public TransferTarget {
 public:
  void Put(const Organization& org) { orgs_[org.name()] = org; }
  void Put(const Event& event) { events_[event.name()] = event; }
  // The next write whose log line starts with `prefix` fails with `status`.
  void FailNext(const std::string& prefix, absl::Status status) {
    failures_.emplace_back(prefix, std::move(status));
  }
  const std::vector<std::string>& log() const { return log_; }
  void ClearLog() { log_.clear(); }

  absl::StatusOr<std::vector<Organization>> ListOrganizations() override {
    std::vector<Organization> out;
    for (const auto& [name, org] : orgs_) out.push_back(org);
    return out;
  }
  absl::StatusOr<std::vector<Event>> ListEvents() override {
    std::vector<Event> out;
    for (const auto& [name, event] : events_) out.push_back(event);
    return out;
  }
  absl::Status CreateOrganizations(const std::vector<Organization>& orgs) override {
    std::vector<std::string> ids;
    for (const auto& o : orgs) ids.push_back(IdOf(o.name()));
    if (absl::Status s = Write("create " + absl::StrJoin(ids, ",")); !s.ok()) return s;
    for (Organization o : orgs) {
      o.set_state(Organization::ACTIVE);
      orgs_[o.name()] = o;
    }
    return absl::OkStatus();
  }
  absl::Status ReplaceOrganization(const Organization& org) override {
    if (absl::Status s = Write("update " + IdOf(org.name())); !s.ok()) return s;
    Organization replaced = org;
    replaced.set_state(orgs_[org.name()].state());
    orgs_[org.name()] = replaced;
    return absl::OkStatus();
  }
  absl::Status DeleteOrganization(const std::string& name) override {
    if (absl::Status s = Write("delete " + IdOf(name)); !s.ok()) return s;
    orgs_[name].set_state(Organization::DELETED);
    return absl::OkStatus();
  }
  absl::Status UndeleteOrganization(const std::string& name) override {
    if (absl::Status s = Write("undelete " + IdOf(name)); !s.ok()) return s;
    orgs_[name].set_state(Organization::ACTIVE);
    return absl::OkStatus();
  }
  absl::Status CreateEvents(const std::vector<Event>& events) override {
    std::vector<std::string> ids;
    for (const auto& e : events) ids.push_back(IdOf(e.name()));
    if (absl::Status s = Write("events " + absl::StrJoin(ids, ",")); !s.ok()) return s;
    for (const Event& e : events) events_[e.name()] = e;
    return absl::OkStatus();
  }
  absl::Status ReplaceEvent(const Event& event) override {
    if (absl::Status s = Write("event-update " + IdOf(event.name())); !s.ok()) return s;
    events_[event.name()] = event;
    return absl::OkStatus();
  }

 private:
  absl::Status Write(const std::string& line) {
    log_.push_back(line);
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (absl::StartsWith(line, it->first)) {
        absl::Status s = it->second;
        failures_.erase(it);
        return s;
      }
    }
    return absl::OkStatus();
  }

  std::map<std::string, Organization> orgs_;
  std::map<std::string, Event> events_;
  std::vector<std::pair<std::string, absl::Status>> failures_;
  std::vector<std::string> log_;
};

std::vector<ImportLine> Lines(const std::vector<Organization>& orgs,
                              const std::vector<Event>& events = {}) {
  std::vector<ImportLine> lines;
  int n = 0;
  for (const auto& o : orgs) lines.push_back({++n, {o, std::nullopt}});
  for (const auto& e : events) lines.push_back({++n, {std::nullopt, e}});
  return lines;
}

struct ImportRun {
  ImportSummary summary;
  std::vector<std::string> errors;  // "line: message"
};

ImportRun RunImport(FakeTarget& target, const std::vector<ImportLine>& lines,
              ImportOptions options = {}) {
  ImportRun run;
  auto summary = Import(target, lines, options, [&](int line, absl::string_view message) {
    run.errors.push_back(absl::StrCat(line, ": ", message));
  });
  EXPECT_THAT(summary, IsOk());
  if (summary.ok()) run.summary = *summary;
  return run;
}

TEST(ParseImportLineTest, TellsOrganizationsFromEventsByName) {
  auto org = ParseImportLine(ToJson(Org("kfor"), true));
  ASSERT_THAT(org, IsOk());
  ASSERT_TRUE(org->organization.has_value());
  EXPECT_FALSE(org->event.has_value());
  EXPECT_EQ(org->organization->name(), "organizations/kfor");

  // The name may come anywhere in the object, spaced or not.
  auto event = ParseImportLine(
      "{ \"title\": \"T\", \"kind\": \"OTHER\",   \"name\" :\"events/e\" }");
  ASSERT_THAT(event, IsOk());
  ASSERT_TRUE(event->event.has_value());
  EXPECT_EQ(event->event->title(), "T");
}

TEST(ParseImportLineTest, RejectsWhatIsNotAResource) {
  EXPECT_THAT(ParseImportLine("this is not json"),
              StatusIs(absl::StatusCode::kInvalidArgument, "not a JSON object"));
  EXPECT_THAT(ParseImportLine("[1, 2]"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseImportLine(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseImportLine("{\"title\":\"no name\"}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: missing")));
  EXPECT_THAT(ParseImportLine("{\"name\":7}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: missing")));
  EXPECT_THAT(ParseImportLine("{\"name\":\"people/x\"}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be organizations/{id} or events/{id}")));
  EXPECT_THAT(ParseImportLine("{\"name\":\"organizations/\"}"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A field of the other kind of resource.
  EXPECT_THAT(ParseImportLine("{\"name\":\"organizations/x\",\"title\":\"T\"}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Organization")));
}

TEST(ParseImportTextTest, SkipsBlankLinesAndReportsBadAndRepeatedOnes) {
  std::vector<std::string> errors;
  const std::string text = absl::StrCat(ToJson(Org("a"), true), "\n\n   \ngarbage\n",
                                        ToJson(Org("a"), true), "\n", ToJson(Ev("e", {"a"}), true));
  const std::vector<ImportLine> lines = ParseImportText(
      text, [&](int line, absl::string_view m) { errors.push_back(absl::StrCat(line, ": ", m)); });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].number, 1);
  EXPECT_EQ(lines[1].number, 6);
  EXPECT_TRUE(lines[1].record.event.has_value());
  EXPECT_THAT(errors, ElementsAre("4: not a JSON object",
                                  "5: organizations/a is already on line 1"));
}

TEST(ExportTest, WritesOrganizationsInDependencyOrderThenEventsWithoutOutputFields) {
  FakeTarget target;
  Organization child = Org("a-child", {}, "z-parent");
  child.set_revision(7);
  child.set_etag("\"7\"");
  child.mutable_update_time()->set_seconds(1);
  target.Put(child);
  target.Put(Org("z-parent"));
  Event e = Ev("e", {"a-child"});
  e.set_etag("\"x\"");
  e.set_created_by("someone");
  target.Put(e);
  std::ostringstream out;
  ASSERT_THAT(Export(target, out), IsOk());
  EXPECT_EQ(out.str(),
            "{\"name\":\"organizations/z-parent\",\"displayName\":\"The z-parent\","
            "\"kind\":\"KIND_OTHER\",\"state\":\"ACTIVE\"}\n"
            "{\"name\":\"organizations/a-child\",\"displayName\":\"The a-child\","
            "\"kind\":\"KIND_OTHER\",\"parentOrganization\":\"organizations/z-parent\","
            "\"state\":\"ACTIVE\"}\n"
            "{\"name\":\"events/e\",\"title\":\"Event e\",\"kind\":\"OTHER\","
            "\"start\":{\"year\":2009},\"organizations\":[\"organizations/a-child\"]}\n");
}

TEST(ImportTest, NewResourcesGoInOneBatchEach) {
  FakeTarget target;
  ImportRun run = RunImport(target, Lines({Org("b", {}, "a"), Org("a"), Org("c")},
                                    {Ev("e1", {"a"}), Ev("e2", {"b", "c"})}));
  EXPECT_THAT(target.log(), ElementsAre("create a,b,c", "events e1,e2"));
  EXPECT_EQ(run.summary.created, 5);
  EXPECT_THAT(run.errors, IsEmpty());
}

TEST(ImportTest, ReimportingTheSameStateWritesNothing) {
  FakeTarget target;
  const auto lines = Lines({Org("p", {"P"}, "", true), Org("c", {}, "p", true), Org("l", {"P"})},
                           {Ev("e", {"c", "l"})});
  RunImport(target, lines);
  target.ClearLog();
  ImportRun again = RunImport(target, lines);
  EXPECT_THAT(target.log(), IsEmpty());
  EXPECT_EQ(again.summary.unchanged, 4);
  EXPECT_EQ(again.summary.created + again.summary.updated + again.summary.failed, 0);
}

TEST(ImportTest, DeletedTreesLoseChildrenBeforeParents) {
  FakeTarget target;
  // The file lists the parent first, as export does.
  RunImport(target, Lines({Org("p", {}, "", true), Org("c", {}, "p", true),
                           Org("g", {}, "c", true)}));
  EXPECT_THAT(target.log(), ElementsAre("create p,c,g",
                                        "delete g", "delete c", "delete p"));
}

TEST(ImportTest, DeletedTreesAreUndeletedParentsFirst) {
  FakeTarget target;
  target.Put(Org("p", {}, "", true));
  target.Put(Org("c", {}, "p", true));
  RunImport(target, Lines({Org("c", {}, "p"), Org("p")}));
  EXPECT_THAT(target.log(), ElementsAre("undelete p", "undelete c"));
}

TEST(ImportTest, EventsAreWrittenWhileTheirOrganizationsAreLive) {
  FakeTarget target;
  RunImport(target, Lines({Org("gone", {}, "", true)}, {Ev("e", {"gone"})}));
  EXPECT_THAT(target.log(), ElementsAre("create gone", "events e", "delete gone"));
}

TEST(ImportTest, AnAliasHeldByADeletedOrganizationPassesToTheLiveOne) {
  // "old" held "K" until it was deleted; "new" (a child of old's sibling)
  // holds it now.
  FakeTarget target;
  RunImport(target, Lines({Org("new", {"K", "N"}), Org("old", {"K"}, "", true)}));
  // Both are created without K; old gets it and is deleted; then new.
  EXPECT_THAT(target.log(), ElementsAre("create new,old", "update old", "delete old",
                                        "update new"));
}

TEST(ImportTest, AnOrganizationWhoseIdIsAnAliasStepsAsideMeanwhile) {
  // "x", deleted, had the alias "y" before the organization "y" existed;
  // "y" (and its child) steps aside while x takes the name.
  FakeTarget target;
  RunImport(target, Lines({Org("x", {"y"}, "", true), Org("y"), Org("y-child", {}, "y")}));
  EXPECT_THAT(target.log(), ElementsAre("create x,y,y-child", "delete y-child", "delete y",
                                        "update x", "delete x", "undelete y",
                                        "undelete y-child"));
}

TEST(ImportTest, ABranchReparentedAfterADeletionIsDetachedMeanwhile) {
  // x was deleted under b with the alias "z" before b moved under the
  // organization z: x takes the name while b hangs nowhere and z steps aside.
  FakeTarget target;
  RunImport(target, Lines({Org("z"), Org("b", {}, "z"), Org("x", {"z"}, "b", true)}));
  EXPECT_THAT(target.log(), ElementsAre("create z,b,x", "update b", "delete z", "update x",
                                        "delete x", "undelete z", "update b"));
}

TEST(ImportTest, AliasesMoveBetweenLiveOrganizations) {
  FakeTarget target;
  target.Put(Org("a", {"K"}));
  target.Put(Org("b"));
  RunImport(target, Lines({Org("a"), Org("b", {"K"})}));
  EXPECT_THAT(target.log(), ElementsAre("update a", "update b"));
}

TEST(ImportTest, ReparentingWaitsForTheNewParent) {
  FakeTarget target;
  target.Put(Org("old-parent"));
  target.Put(Org("c", {}, "old-parent"));
  RunImport(target, Lines({Org("c", {}, "new-parent"), Org("new-parent"),
                           Org("old-parent", {}, "", true)}));
  EXPECT_THAT(target.log(), ElementsAre("create new-parent", "update c", "delete old-parent"));
}

TEST(ImportTest, AChangedDeletedOrganizationIsUndeletedChangedAndDeleted) {
  FakeTarget target;
  target.Put(Org("d", {}, "", true));
  Organization changed = Org("d", {}, "", true);
  changed.set_description("new text");
  RunImport(target, Lines({changed}));
  EXPECT_THAT(target.log(), ElementsAre("undelete d", "update d", "delete d"));
}

TEST(ImportTest, AFailedBatchIsRetriedOneByOneAndDependentsAreNotAttempted) {
  FakeTarget target;
  target.FailNext("create a,b,c", absl::AlreadyExistsError("requests[1]: taken"));
  target.FailNext("create b", absl::AlreadyExistsError("organizations/b: taken"));
  ImportRun run = RunImport(target, Lines({Org("a"), Org("b"), Org("c", {}, "b")},
                                    {Ev("e", {"a"})}));
  EXPECT_THAT(target.log(),
              ElementsAre("create a,b,c", "create a", "create b", "events e"));
  EXPECT_THAT(run.errors,
              ElementsAre("2: ALREADY_EXISTS: organizations/b: taken",
                          "3: not attempted: it needs the write of organizations/b (line 2), "
                          "which failed"));
  EXPECT_EQ(run.summary.created, 2);
  EXPECT_EQ(run.summary.failed, 2);
}

TEST(ImportTest, FailFastStopsAtTheFirstFailure) {
  FakeTarget target;
  target.FailNext("delete", absl::FailedPreconditionError("no"));
  ImportOptions options;
  options.fail_fast = true;
  ImportRun run = RunImport(target, Lines({Org("a", {}, "", true), Org("b", {}, "", true)},
                                    {Ev("e", {"a"})}),
                      options);
  EXPECT_EQ(target.log().back().substr(0, 6), "delete");
  EXPECT_EQ(run.summary.failed, 1);
  EXPECT_EQ(run.summary.not_attempted, 1);
  EXPECT_EQ(run.errors.size(), 1u);
}

TEST(ImportTest, BatchesRespectTheirSize) {
  FakeTarget target;
  ImportOptions options;
  options.batch_size = 2;
  RunImport(target, Lines({Org("a"), Org("b"), Org("c")}), options);
  EXPECT_THAT(target.log(), ElementsAre("create a,b", "create c"));
}

TEST(ImportTest, ThousandsOfResourcesGoInBatches) {
  // 30 parents with 100 children each, every third child deleted; an event
  // per child.
  std::vector<Organization> orgs;
  std::vector<Event> events;
  for (int p = 0; p < 30; ++p) {
    orgs.push_back(Org(absl::StrCat("p", p), {absl::StrCat("Parent ", p)}));
    for (int c = 0; c < 100; ++c) {
      const std::string id = absl::StrCat("c", p, "-", c);
      orgs.push_back(Org(id, {absl::StrCat("Child ", p, " ", c)}, absl::StrCat("p", p), c % 3 == 0));
      events.push_back(Ev(absl::StrCat("e", p, "-", c), {id}));
    }
  }
  FakeTarget target;
  ImportRun run = RunImport(target, Lines(orgs, events));
  EXPECT_EQ(run.summary.created, static_cast<int>(orgs.size() + events.size()));
  int creates = 0, event_batches = 0, deletes = 0;
  for (const std::string& line : target.log()) {
    creates += absl::StartsWith(line, "create ");
    event_batches += absl::StartsWith(line, "events ");
    deletes += absl::StartsWith(line, "delete ");
  }
  EXPECT_EQ(creates, 4);        // 3030 organizations.
  EXPECT_EQ(event_batches, 3);  // 3000 events.
  EXPECT_EQ(deletes, 30 * 34);
  EXPECT_EQ(target.log().size(), 4u + 3u + 30u * 34u) << "nothing else was written";
}

TEST(PlanImportTest, EveryStepComesAfterWhatItNeeds) {
  const auto lines = Lines({Org("p", {"K"}, "", true), Org("c", {}, "p", true), Org("l", {"K"})},
                           {Ev("e", {"c"})});
  const std::vector<ImportStep> steps = PlanImport(lines, {}, {});
  for (size_t i = 0; i < steps.size(); ++i) {
    for (int before : steps[i].after) EXPECT_LT(before, static_cast<int>(i));
  }
  std::vector<std::string> kinds;
  for (const auto& s : steps) kinds.push_back(absl::StrCat(static_cast<int>(s.kind), " ", s.name));
  // Skeletons, the event, c deleted, p takes the alias and is deleted, then
  // l takes it.
  EXPECT_THAT(kinds, ElementsAre("0 organizations/p", "0 organizations/c", "0 organizations/l",
                                 "3 events/e", "5 organizations/c", "2 organizations/p",
                                 "5 organizations/p", "2 organizations/l"));
}

}  // namespace
}  // namespace presence::cli
