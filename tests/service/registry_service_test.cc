// The registry's API through a real gRPC server on a loopback port, with
// real RocksDB underneath.

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "gtest/gtest.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"

namespace presence {
namespace {

using ::presence::registry::v1::BatchGetOrganizationsRequest;
using ::presence::registry::v1::BatchGetOrganizationsResponse;
using ::presence::registry::v1::CreateOrganizationRequest;
using ::presence::registry::v1::DeleteOrganizationRequest;
using ::presence::registry::v1::GetOrganizationRequest;
using ::presence::registry::v1::ListOrganizationRevisionsRequest;
using ::presence::registry::v1::ListOrganizationRevisionsResponse;
using ::presence::registry::v1::ListOrganizationsRequest;
using ::presence::registry::v1::ListOrganizationsResponse;
using ::presence::registry::v1::LookupOrganizationRequest;
using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;
using ::presence::registry::v1::UndeleteOrganizationRequest;
using ::presence::registry::v1::UpdateOrganizationRequest;
using ::presence::registry::v1::WatchOrganizationsRequest;
using ::presence::testing::Ctx;
using ::presence::testing::InProcessRegistry;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Organization MakeOrg(absl::string_view display_name,
                     Organization::Kind kind = Organization::KIND_FIELD_MISSION) {
  Organization org;
  org.set_display_name(std::string(display_name));
  org.set_kind(kind);
  return org;
}

std::vector<OrganizationChange> ReadChanges(
    grpc::ClientReader<OrganizationChange>* reader, size_t n);

class RegistryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(); }

  void Restart(registry::RegistryOptions options = {}) {
    server_.reset();
    auto started = InProcessRegistry::Start(dir_.Sub("db"), options);
    ASSERT_THAT(started, IsOk());
    server_ = *std::move(started);
  }

  registry::v1::RegistryService::Stub& stub() { return server_->stub(); }

  grpc::Status Create(const std::string& id, const Organization& org,
                      Organization* out = nullptr,
                      const std::string& request_id = "") {
    CreateOrganizationRequest request;
    request.set_organization_id(id);
    *request.mutable_organization() = org;
    request.set_request_id(request_id);
    Organization response;
    grpc::Status s = stub().CreateOrganization(Ctx().get(), request, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  Organization MustCreate(const std::string& id, const Organization& org) {
    Organization out;
    grpc::Status s = Create(id, org, &out);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    return out;
  }

  grpc::Status Get(const std::string& name, Organization* out) {
    GetOrganizationRequest request;
    request.set_name(name);
    return stub().GetOrganization(Ctx().get(), request, out);
  }

  grpc::Status Update(const Organization& org,
                      const std::vector<std::string>& paths,
                      Organization* out, bool with_mask = true) {
    UpdateOrganizationRequest request;
    *request.mutable_organization() = org;
    if (with_mask) {
      request.mutable_update_mask();
      for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
    }
    return stub().UpdateOrganization(Ctx().get(), request, out);
  }

  grpc::Status Delete(const std::string& name, Organization* out,
                      const std::string& etag = "") {
    DeleteOrganizationRequest request;
    request.set_name(name);
    request.set_etag(etag);
    return stub().DeleteOrganization(Ctx().get(), request, out);
  }

  grpc::Status Undelete(const std::string& name, Organization* out) {
    UndeleteOrganizationRequest request;
    request.set_name(name);
    return stub().UndeleteOrganization(Ctx().get(), request, out);
  }

  grpc::Status Lookup(const std::string& alias, Organization* out) {
    LookupOrganizationRequest request;
    request.set_alias(alias);
    return stub().LookupOrganization(Ctx().get(), request, out);
  }

  // Lists every page; returns the ids in order.
  std::vector<std::string> ListAll(ListOrganizationsRequest request) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 10000; ++pages) {
      ListOrganizationsResponse response;
      grpc::Status s = stub().ListOrganizations(Ctx().get(), request, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const auto& org : response.organizations()) ids.push_back(org.name());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<InProcessRegistry> server_;
};

TEST_F(RegistryServiceTest, CreateThenGetReturnsStoredOrganization) {
  Organization org = MakeOrg("Kosovo Force", Organization::KIND_MILITARY_MISSION);
  org.set_acronym("KFOR");
  org.add_legal_basis("UN Security Council Resolution 1244");
  org.mutable_established()->set_year(1999);
  // Output-only fields are ignored on create.
  org.set_revision(77);
  org.set_etag("bogus");
  org.set_state(Organization::DELETED);

  Organization created;
  ASSERT_THAT(Create("kfor", org, &created), IsOk());
  EXPECT_EQ(created.name(), "organizations/kfor");
  EXPECT_EQ(created.state(), Organization::ACTIVE);
  EXPECT_EQ(created.revision(), 1);
  EXPECT_FALSE(created.etag().empty());
  EXPECT_NE(created.etag(), "bogus");
  EXPECT_GT(created.create_time().seconds(), 0);
  EXPECT_EQ(created.create_time().seconds(), created.update_time().seconds());
  EXPECT_FALSE(created.has_delete_time());

  Organization got;
  ASSERT_THAT(Get("organizations/kfor", &got), IsOk());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, created))
      << got.DebugString();
}

struct BadCase {
  std::string label;
  std::function<grpc::Status()> call;
  absl::StatusCode code;
  std::string message_part;
};

TEST_F(RegistryServiceTest, BadInputsGetPreciseStatuses) {
  Organization parent = MustCreate("nato", MakeOrg("NATO", Organization::KIND_INTERNATIONAL_ORGANIZATION));
  Organization child = MakeOrg("Kosovo Force");
  child.set_parent_organization("organizations/nato");
  child.set_acronym("KFOR");
  MustCreate("kfor", child);
  Organization gone;
  MustCreate("gone", MakeOrg("Gone"));
  ASSERT_THAT(Delete("organizations/gone", &gone), IsOk());

  const auto create = [this](const std::string& id,
                             std::function<void(Organization*)> edit,
                             const std::string& request_id = "") {
    return [this, id, edit, request_id] {
      Organization org = MakeOrg("Test");
      edit(&org);
      return Create(id, org, nullptr, request_id);
    };
  };
  const auto none = [](Organization*) {};
  const auto update = [this](std::function<void(Organization*)> edit,
                             std::vector<std::string> paths) {
    return [this, edit, paths] {
      Organization org;
      org.set_name("organizations/kfor");
      edit(&org);
      Organization out;
      return Update(org, paths, &out);
    };
  };
  const auto list = [this](std::function<void(ListOrganizationsRequest*)> edit) {
    return [this, edit] {
      ListOrganizationsRequest request;
      edit(&request);
      ListOrganizationsResponse response;
      return stub().ListOrganizations(Ctx().get(), request, &response);
    };
  };
  const std::string long_id(64, 'a');

  const std::vector<BadCase> cases = {
      // CreateOrganization
      {"create: no id", create("", none), absl::StatusCode::kInvalidArgument, "organization_id"},
      {"create: uppercase id", create("KFOR", none), absl::StatusCode::kInvalidArgument, "organization_id: \"KFOR\""},
      {"create: leading dash", create("-a", none), absl::StatusCode::kInvalidArgument, "organization_id"},
      {"create: trailing dash", create("a-", none), absl::StatusCode::kInvalidArgument, "organization_id"},
      {"create: 64 chars", create(long_id, none), absl::StatusCode::kInvalidArgument, "organization_id"},
      {"create: no organization", [this] {
         CreateOrganizationRequest r; r.set_organization_id("x");
         Organization out; return stub().CreateOrganization(Ctx().get(), r, &out); },
       absl::StatusCode::kInvalidArgument, "organization: is required"},
      {"create: no display name", create("x", [](Organization* o) { o->clear_display_name(); }), absl::StatusCode::kInvalidArgument, "organization.display_name"},
      {"create: no kind", create("x", [](Organization* o) { o->clear_kind(); }), absl::StatusCode::kInvalidArgument, "organization.kind"},
      {"create: unknown kind", create("x", [](Organization* o) { o->set_kind(static_cast<Organization::Kind>(99)); }), absl::StatusCode::kInvalidArgument, "organization.kind: 99"},
      {"create: bad parent name", create("x", [](Organization* o) { o->set_parent_organization("nato"); }), absl::StatusCode::kInvalidArgument, "organization.parent_organization: \"nato\""},
      {"create: unknown parent", create("x", [](Organization* o) { o->set_parent_organization("organizations/nope"); }), absl::StatusCode::kInvalidArgument, "organizations/nope does not exist"},
      {"create: deleted parent", create("x", [](Organization* o) { o->set_parent_organization("organizations/gone"); }), absl::StatusCode::kInvalidArgument, "organizations/gone is deleted"},
      {"create: month 13", create("x", [](Organization* o) { o->mutable_established()->set_year(2009); o->mutable_established()->set_month(13); }), absl::StatusCode::kInvalidArgument, "organization.established.month: 13"},
      {"create: 2009-02-30", create("x", [](Organization* o) { auto* d = o->mutable_established(); d->set_year(2009); d->set_month(2); d->set_day(30); }), absl::StatusCode::kInvalidArgument, "organization.established.day: 2009-02-30"},
      {"create: year 0 with month", create("x", [](Organization* o) { o->mutable_ended()->set_month(5); }), absl::StatusCode::kInvalidArgument, "organization.ended.year: is required"},
      {"create: day without month", create("x", [](Organization* o) { o->mutable_ended()->set_year(2009); o->mutable_ended()->set_day(5); }), absl::StatusCode::kInvalidArgument, "organization.ended.day"},
      {"create: ended before established", create("x", [](Organization* o) { o->mutable_established()->set_year(2009); o->mutable_ended()->set_year(2008); }), absl::StatusCode::kInvalidArgument, "organization.ended: 2008 is before"},
      {"create: leader without person", create("x", [](Organization* o) { o->add_leaders()->set_role("Head"); }), absl::StatusCode::kInvalidArgument, "organization.leaders[0].person"},
      {"create: leader bad appointed_by", create("x", [](Organization* o) { auto* l = o->add_leaders(); l->set_role("Head"); l->set_person("P"); l->set_appointed_by("isg"); }), absl::StatusCode::kInvalidArgument, "organization.leaders[0].appointed_by: \"isg\""},
      {"create: leader unknown appointer", create("x", [](Organization* o) { auto* l = o->add_leaders(); l->set_role("Head"); l->set_person("P"); l->set_appointed_by("organizations/isg"); }), absl::StatusCode::kInvalidArgument, "organizations/isg does not exist"},
      {"create: headcount without date", create("x", [](Organization* o) { auto* h = o->add_headcounts(); h->set_category(Organization::Headcount::TROOPS); }), absl::StatusCode::kInvalidArgument, "organization.headcounts[0].as_of"},
      {"create: negative headcount", create("x", [](Organization* o) { auto* h = o->add_headcounts(); h->mutable_as_of()->set_year(2010); h->set_category(Organization::Headcount::TROOPS); h->set_count(-5); }), absl::StatusCode::kInvalidArgument, "organization.headcounts[0].count: -5"},
      {"create: headcount no category", create("x", [](Organization* o) { auto* h = o->add_headcounts(); h->mutable_as_of()->set_year(2010); }), absl::StatusCode::kInvalidArgument, "organization.headcounts[0].category"},
      {"create: empty alias", create("x", [](Organization* o) { o->add_aliases("  "); }), absl::StatusCode::kInvalidArgument, "organization.aliases[0]"},
      {"create: source without document", create("x", [](Organization* o) { o->add_sources()->set_quote("q"); }), absl::StatusCode::kInvalidArgument, "organization.sources[0].document"},
      {"create: bad request id", create("x", none, "not-a-uuid"), absl::StatusCode::kInvalidArgument, "request_id: \"not-a-uuid\""},
      {"create: existing id", create("kfor", none), absl::StatusCode::kAlreadyExists, "organizations/kfor already exists"},
      {"create: deleted id", create("gone", none), absl::StatusCode::kAlreadyExists, "undelete"},
      {"create: taken acronym", create("x", [](Organization* o) { o->set_acronym("kfor"); }), absl::StatusCode::kAlreadyExists, "organizations/kfor"},
      // GetOrganization
      {"get: empty name", [this] { Organization o; return Get("", &o); }, absl::StatusCode::kInvalidArgument, "name: is required"},
      {"get: bad collection", [this] { Organization o; return Get("orgs/kfor", &o); }, absl::StatusCode::kInvalidArgument, "name: \"orgs/kfor\""},
      {"get: no id", [this] { Organization o; return Get("organizations/", &o); }, absl::StatusCode::kInvalidArgument, "name"},
      {"get: missing", [this] { Organization o; return Get("organizations/nope", &o); }, absl::StatusCode::kNotFound, "organizations/nope"},
      // BatchGetOrganizations
      {"batch: none", [this] { BatchGetOrganizationsRequest r; BatchGetOrganizationsResponse o; return stub().BatchGetOrganizations(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "names"},
      {"batch: one missing", [this] { BatchGetOrganizationsRequest r; r.add_names("organizations/kfor"); r.add_names("organizations/nope"); BatchGetOrganizationsResponse o; return stub().BatchGetOrganizations(Ctx().get(), r, &o); }, absl::StatusCode::kNotFound, "names[1]: organizations/nope"},
      {"batch: bad name", [this] { BatchGetOrganizationsRequest r; r.add_names("kfor"); BatchGetOrganizationsResponse o; return stub().BatchGetOrganizations(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "names[0]"},
      {"batch: too many", [this] { BatchGetOrganizationsRequest r; for (int i = 0; i < 1001; ++i) r.add_names("organizations/kfor"); BatchGetOrganizationsResponse o; return stub().BatchGetOrganizations(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "1001"},
      // ListOrganizations
      {"list: negative page size", list([](ListOrganizationsRequest* r) { r->set_page_size(-1); }), absl::StatusCode::kInvalidArgument, "page_size: -1"},
      {"list: garbage token", list([](ListOrganizationsRequest* r) { r->set_page_token("garbage!"); }), absl::StatusCode::kInvalidArgument, "page_token"},
      {"list: unknown kind", list([](ListOrganizationsRequest* r) { r->set_kind(static_cast<Organization::Kind>(99)); }), absl::StatusCode::kInvalidArgument, "kind: 99"},
      {"list: bad parent", list([](ListOrganizationsRequest* r) { r->set_parent_organization("nato"); }), absl::StatusCode::kInvalidArgument, "parent_organization"},
      {"list: bad date", list([](ListOrganizationsRequest* r) { r->mutable_active_on()->set_year(2009); r->mutable_active_on()->set_month(2); r->mutable_active_on()->set_day(29); }), absl::StatusCode::kInvalidArgument, "active_on.day"},
      // UpdateOrganization
      {"update: no organization", [this] { UpdateOrganizationRequest r; Organization o; return stub().UpdateOrganization(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "organization: is required"},
      {"update: bad name", [this] { Organization org; org.set_name("kfor"); Organization o; return Update(org, {"description"}, &o); }, absl::StatusCode::kInvalidArgument, "organization.name"},
      {"update: unknown path", update([](Organization*) {}, {"colour"}), absl::StatusCode::kInvalidArgument, "update_mask: \"colour\""},
      {"update: star with others", update([](Organization*) {}, {"*", "description"}), absl::StatusCode::kInvalidArgument, "update_mask"},
      {"update: missing", [this] { Organization org; org.set_name("organizations/nope"); Organization o; return Update(org, {"description"}, &o); }, absl::StatusCode::kNotFound, "organizations/nope"},
      {"update: stale etag", update([](Organization* o) { o->set_etag("\"1\""); }, {"description"}), absl::StatusCode::kAborted, "etag"},
      {"update: deleted", [this] { Organization org; org.set_name("organizations/gone"); Organization o; return Update(org, {"description"}, &o); }, absl::StatusCode::kFailedPrecondition, "deleted"},
      {"update: clears display name", update([](Organization*) {}, {"display_name"}), absl::StatusCode::kInvalidArgument, "organization.display_name"},
      {"update: own parent", update([](Organization* o) { o->set_parent_organization("organizations/kfor"); }, {"parent_organization"}), absl::StatusCode::kInvalidArgument, "ancestor"},
      {"update: bad date", update([](Organization* o) { o->mutable_established()->set_year(2010); o->mutable_established()->set_month(4); o->mutable_established()->set_day(31); }, {"established"}), absl::StatusCode::kInvalidArgument, "organization.established.day"},
      // DeleteOrganization / UndeleteOrganization
      {"delete: missing", [this] { Organization o; return Delete("organizations/nope", &o); }, absl::StatusCode::kNotFound, "organizations/nope"},
      {"delete: bad name", [this] { Organization o; return Delete("nope", &o); }, absl::StatusCode::kInvalidArgument, "name"},
      {"delete: stale etag", [this] { Organization o; return Delete("organizations/kfor", &o, "\"1\""); }, absl::StatusCode::kAborted, "etag"},
      {"delete: live child", [this] { Organization o; return Delete("organizations/nato", &o); }, absl::StatusCode::kFailedPrecondition, "organizations/kfor"},
      {"delete: already deleted", [this] { Organization o; return Delete("organizations/gone", &o); }, absl::StatusCode::kFailedPrecondition, "already deleted"},
      {"undelete: live", [this] { Organization o; return Undelete("organizations/kfor", &o); }, absl::StatusCode::kFailedPrecondition, "not deleted"},
      {"undelete: missing", [this] { Organization o; return Undelete("organizations/nope", &o); }, absl::StatusCode::kNotFound, "organizations/nope"},
      // LookupOrganization
      {"lookup: empty", [this] { Organization o; return Lookup("  ", &o); }, absl::StatusCode::kInvalidArgument, "alias"},
      {"lookup: unknown", [this] { Organization o; return Lookup("SHAPE", &o); }, absl::StatusCode::kNotFound, "\"SHAPE\""},
      {"lookup: deleted", [this] { Organization o; return Lookup("gone", &o); }, absl::StatusCode::kNotFound, "gone"},
      // ListOrganizationRevisions
      {"revisions: bad name", [this] { ListOrganizationRevisionsRequest r; r.set_name("x/y"); ListOrganizationRevisionsResponse o; return stub().ListOrganizationRevisions(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "name"},
      {"revisions: missing", [this] { ListOrganizationRevisionsRequest r; r.set_name("organizations/nope"); ListOrganizationRevisionsResponse o; return stub().ListOrganizationRevisions(Ctx().get(), r, &o); }, absl::StatusCode::kNotFound, "organizations/nope"},
      {"revisions: garbage token", [this] { ListOrganizationRevisionsRequest r; r.set_name("organizations/kfor"); r.set_page_token("xyz"); ListOrganizationRevisionsResponse o; return stub().ListOrganizationRevisions(Ctx().get(), r, &o); }, absl::StatusCode::kInvalidArgument, "page_token"},
      // WatchOrganizations
      {"watch: negative", [this] { WatchOrganizationsRequest r; r.set_start_revision(-1); auto c = Ctx(); auto reader = stub().WatchOrganizations(c.get(), r); OrganizationChange ch; while (reader->Read(&ch)) {} return reader->Finish(); }, absl::StatusCode::kInvalidArgument, "start_revision: -1"},
      {"watch: ahead", [this] { WatchOrganizationsRequest r; r.set_start_revision(1000); auto c = Ctx(); auto reader = stub().WatchOrganizations(c.get(), r); OrganizationChange ch; while (reader->Read(&ch)) {} return reader->Finish(); }, absl::StatusCode::kOutOfRange, "ahead"},
  };
  const int64_t revision_before = *server_->registry().CurrentRevision();
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.label);
    EXPECT_THAT(c.call(), StatusIs(c.code, HasSubstr(c.message_part)));
  }
  // No failed call wrote anything.
  EXPECT_EQ(*server_->registry().CurrentRevision(), revision_before);
  (void)parent;
}

TEST_F(RegistryServiceTest, BatchCreateIsAtomicAndOrdered) {
  registry::v1::BatchCreateOrganizationsRequest request;
  const auto add = [&](const std::string& id, const std::string& parent,
                       const std::string& acronym) {
    auto* create = request.add_requests();
    create->set_organization_id(id);
    *create->mutable_organization() = MakeOrg(id);
    create->mutable_organization()->set_parent_organization(parent);
    create->mutable_organization()->set_acronym(acronym);
  };
  add("osce", "", "OSCE");
  add("omik", "organizations/osce", "OMiK");  // Parent from the same batch.
  registry::v1::BatchCreateOrganizationsResponse response;
  ASSERT_THAT(stub().BatchCreateOrganizations(Ctx().get(), request, &response), IsOk());
  ASSERT_EQ(response.organizations_size(), 2);
  EXPECT_EQ(response.organizations(0).revision(), 1);
  EXPECT_EQ(response.organizations(1).revision(), 2);
  Organization got;
  ASSERT_THAT(Lookup("omik", &got), IsOk());
  EXPECT_EQ(got.parent_organization(), "organizations/osce");

  // One bad entry: nothing of the batch is written.
  request.Clear();
  add("a1", "", "");
  add("a2", "", "osce");  // Taken by organizations/osce.
  EXPECT_THAT(stub().BatchCreateOrganizations(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("requests[1].")));
  EXPECT_THAT(Get("organizations/a1", &got), StatusIs(absl::StatusCode::kNotFound));
  request.Clear();
  add("b1", "", "BEE");
  add("b2", "", "bee");  // Same acronym twice in one batch.
  EXPECT_THAT(stub().BatchCreateOrganizations(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("in this request")));
  request.Clear();
  add("c1", "", "");
  add("c1", "", "");
  EXPECT_THAT(stub().BatchCreateOrganizations(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("created twice")));
  request.Clear();
  add("d1", "organizations/d2", "");  // Parent later in the batch: unknown.
  add("d2", "", "");
  EXPECT_THAT(stub().BatchCreateOrganizations(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("requests[0].organization.parent_organization")));
  request.Clear();
  for (int i = 0; i < 1001; ++i) add(absl::StrFormat("x%d", i), "", "");
  EXPECT_THAT(stub().BatchCreateOrganizations(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 1000")));
  EXPECT_EQ(*server_->registry().CurrentRevision(), 2);

  // A full batch is one write, and the watch sees each creation in order.
  request.Clear();
  for (int i = 0; i < 1000; ++i) add(absl::StrFormat("y%04d", i), "", "");
  ASSERT_THAT(stub().BatchCreateOrganizations(Ctx().get(), request, &response), IsOk());
  EXPECT_EQ(*server_->registry().CurrentRevision(), 1002);
  WatchOrganizationsRequest watch;
  watch.set_start_revision(2);
  auto context = Ctx();
  auto reader = stub().WatchOrganizations(context.get(), watch);
  std::vector<OrganizationChange> changes = ReadChanges(reader.get(), 1000);
  ASSERT_EQ(changes.size(), 1000u);
  EXPECT_EQ(changes.back().revision(), 1002);
  EXPECT_EQ(changes.back().organization().name(), "organizations/y0999");
  context->TryCancel();
  reader->Finish();
}

TEST_F(RegistryServiceTest, UpdateFollowsFieldMaskSemantics) {
  Organization org = MakeOrg("EU Rule of Law Mission", Organization::KIND_RULE_OF_LAW_MISSION);
  org.set_acronym("EULEX");
  org.set_description("old");
  org.add_legal_basis("Joint Action");
  org.mutable_established()->set_year(2008);
  Organization created = MustCreate("eulex", org);

  // An explicit mask touches only its paths.
  Organization patch;
  patch.set_name("organizations/eulex");
  patch.set_description("new");
  patch.set_acronym("IGNORED");
  Organization updated;
  ASSERT_THAT(Update(patch, {"description"}, &updated), IsOk());
  EXPECT_EQ(updated.description(), "new");
  EXPECT_EQ(updated.acronym(), "EULEX");
  EXPECT_EQ(updated.revision(), created.revision() + 1);
  EXPECT_NE(updated.etag(), created.etag());
  EXPECT_EQ(updated.create_time().seconds(), created.create_time().seconds());

  // A nested path.
  patch.Clear();
  patch.set_name("organizations/eulex");
  patch.mutable_established()->set_year(2007);
  ASSERT_THAT(Update(patch, {"established.year"}, &updated), IsOk());
  EXPECT_EQ(updated.established().year(), 2007);

  // A masked field absent from the patch is cleared.
  patch.Clear();
  patch.set_name("organizations/eulex");
  ASSERT_THAT(Update(patch, {"legal_basis", "established"}, &updated), IsOk());
  EXPECT_EQ(updated.legal_basis_size(), 0);
  EXPECT_FALSE(updated.has_established());

  // No mask: every populated field of the patch, nothing else.
  patch.Clear();
  patch.set_name("organizations/eulex");
  patch.add_aliases("European Union Rule of Law Mission in Kosovo");
  ASSERT_THAT(Update(patch, {}, &updated, /*with_mask=*/false), IsOk());
  EXPECT_THAT(updated.aliases(),
              ElementsAre("European Union Rule of Law Mission in Kosovo"));
  EXPECT_EQ(updated.description(), "new");

  // "*": full replacement.
  patch = MakeOrg("Replaced", Organization::KIND_CIVILIAN_MISSION);
  patch.set_name("organizations/eulex");
  ASSERT_THAT(Update(patch, {"*"}, &updated), IsOk());
  EXPECT_EQ(updated.display_name(), "Replaced");
  EXPECT_EQ(updated.kind(), Organization::KIND_CIVILIAN_MISSION);
  EXPECT_TRUE(updated.acronym().empty());
  EXPECT_EQ(updated.aliases_size(), 0);
  EXPECT_EQ(updated.name(), "organizations/eulex");
  EXPECT_EQ(updated.state(), Organization::ACTIVE);

  // Output-only paths are ignored.
  patch.Clear();
  patch.set_name("organizations/eulex");
  patch.set_state(Organization::DELETED);
  patch.set_revision(1);
  ASSERT_THAT(Update(patch, {"state", "revision", "create_time"}, &updated),
              IsOk());
  EXPECT_EQ(updated.state(), Organization::ACTIVE);
  EXPECT_GT(updated.revision(), 1);

  // The alias dropped by the replacement is free for another organization.
  Organization other = MakeOrg("Other");
  other.add_aliases("European Union Rule of Law Mission in Kosovo");
  EXPECT_THAT(Create("other", other), IsOk());
}

TEST_F(RegistryServiceTest, EtagMakesUpdatesConditional) {
  Organization created = MustCreate("omik", MakeOrg("OSCE Mission in Kosovo"));
  Organization patch;
  patch.set_name(created.name());
  patch.set_description("first");
  patch.set_etag(created.etag());
  Organization first;
  ASSERT_THAT(Update(patch, {"description"}, &first), IsOk());
  // The same (now stale) etag is refused.
  patch.set_description("second");
  Organization second;
  EXPECT_THAT(Update(patch, {"description"}, &second),
              StatusIs(absl::StatusCode::kAborted, HasSubstr(created.etag())));
  patch.set_etag(first.etag());
  EXPECT_THAT(Update(patch, {"description"}, &second), IsOk());
  EXPECT_EQ(second.description(), "second");
}

TEST_F(RegistryServiceTest, RequestIdRetryReturnsFirstResult) {
  const std::string request_id = "123e4567-e89b-42d3-a456-426614174000";
  Organization first;
  ASSERT_THAT(Create("ico", MakeOrg("International Civilian Office"), &first,
                     request_id),
              IsOk());
  // A retry with another body still returns the first result.
  Organization retry;
  ASSERT_THAT(Create("ico", MakeOrg("Changed"), &retry, request_id), IsOk());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first, retry))
      << retry.DebugString();
  // Even after a later update, the retry answers with the first result.
  Organization patch;
  patch.set_name("organizations/ico");
  patch.set_description("later");
  Organization updated;
  ASSERT_THAT(Update(patch, {"description"}, &updated), IsOk());
  ASSERT_THAT(Create("ico", MakeOrg("Changed"), &retry, request_id), IsOk());
  EXPECT_EQ(retry.revision(), first.revision());
  EXPECT_EQ(retry.description(), "");
  // Without the request id, the same create is a conflict.
  EXPECT_THAT(Create("ico", MakeOrg("International Civilian Office")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // The same request id for another organization is refused.
  EXPECT_THAT(Create("isg", MakeOrg("ISG"), nullptr, request_id),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organizations/ico")));
}

TEST_F(RegistryServiceTest, ValidateOnlyWritesNothing) {
  CreateOrganizationRequest request;
  request.set_organization_id("isg");
  *request.mutable_organization() = MakeOrg("International Steering Group");
  request.set_validate_only(true);
  Organization would_be;
  ASSERT_THAT(stub().CreateOrganization(Ctx().get(), request, &would_be), IsOk());
  EXPECT_EQ(would_be.name(), "organizations/isg");
  Organization got;
  EXPECT_THAT(Get("organizations/isg", &got),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(*server_->registry().CurrentRevision(), 0);

  // validate_only still validates.
  request.mutable_organization()->clear_display_name();
  EXPECT_THAT(stub().CreateOrganization(Ctx().get(), request, &would_be),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryServiceTest, SoftDeleteAndUndelete) {
  MustCreate("osce", MakeOrg("OSCE", Organization::KIND_INTERNATIONAL_ORGANIZATION));
  Organization omik = MakeOrg("OSCE Mission in Kosovo");
  omik.set_acronym("OMiK");
  omik.add_aliases("OSCE Mission in Kosovo");
  omik.set_parent_organization("organizations/osce");
  Organization created = MustCreate("omik", omik);

  Organization deleted;
  EXPECT_THAT(Delete("organizations/osce", &deleted),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("organizations/omik")));
  ASSERT_THAT(Delete("organizations/omik", &deleted, created.etag()), IsOk());
  EXPECT_EQ(deleted.state(), Organization::DELETED);
  EXPECT_TRUE(deleted.has_delete_time());
  EXPECT_EQ(deleted.revision(), created.revision() + 1);

  // Get still returns it; List hides it unless asked; Lookup doesn't find it.
  Organization got;
  ASSERT_THAT(Get("organizations/omik", &got), IsOk());
  EXPECT_EQ(got.state(), Organization::DELETED);
  ListOrganizationsRequest list;
  EXPECT_THAT(ListAll(list), ElementsAre("organizations/osce"));
  list.set_show_deleted(true);
  EXPECT_THAT(ListAll(list),
              ElementsAre("organizations/omik", "organizations/osce"));
  EXPECT_THAT(Lookup("OMIK", &got), StatusIs(absl::StatusCode::kNotFound));

  // With its child deleted, the parent can go, and then the child cannot
  // come back.
  ASSERT_THAT(Delete("organizations/osce", &deleted), IsOk());
  EXPECT_THAT(Undelete("organizations/omik", &got),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organizations/osce is deleted")));
  ASSERT_THAT(Undelete("organizations/osce", &got), IsOk());

  // Its acronym was released: someone else takes it, and undelete conflicts.
  Organization squatter = MakeOrg("Squatter");
  squatter.set_acronym("omik");
  MustCreate("squatter", squatter);
  EXPECT_THAT(Undelete("organizations/omik", &got),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("organizations/squatter")));
  ASSERT_THAT(Delete("organizations/squatter", &deleted), IsOk());
  ASSERT_THAT(Undelete("organizations/omik", &got), IsOk());
  EXPECT_EQ(got.state(), Organization::ACTIVE);
  EXPECT_FALSE(got.has_delete_time());
  ASSERT_THAT(Lookup("omik", &got), IsOk());
  EXPECT_EQ(got.name(), "organizations/omik");
}

TEST_F(RegistryServiceTest, LookupIsCaseInsensitiveOverIdAcronymAndAliases) {
  Organization omik = MakeOrg("OSCE Mission in Kosovo");
  omik.set_acronym("OMiK");
  omik.add_aliases("OSCE Mission in Kosovo");
  MustCreate("omik", omik);
  Organization unmik = MakeOrg("UN Mission in Kosovo", Organization::KIND_INTERIM_ADMINISTRATION);
  unmik.set_acronym("UNMIK");
  MustCreate("un-mission", unmik);
  for (const char* alias : {"OMIK", "OMiK", "omik", "  omik ", "osce mission in KOSOVO"}) {
    Organization got;
    ASSERT_THAT(Lookup(alias, &got), IsOk()) << alias;
    EXPECT_EQ(got.name(), "organizations/omik") << alias;
  }
  for (const char* alias : {"UNMiK", "un-mission", "UN-MISSION"}) {
    Organization got;
    ASSERT_THAT(Lookup(alias, &got), IsOk()) << alias;
    EXPECT_EQ(got.name(), "organizations/un-mission") << alias;
  }
}

TEST_F(RegistryServiceTest, AcronymsAndAliasesAreUniqueAcrossLiveOrganizations) {
  Organization kfor = MakeOrg("Kosovo Force");
  kfor.set_acronym("KFOR");
  kfor.add_aliases("Kosovo Force");
  MustCreate("kfor", kfor);

  Organization clash = MakeOrg("Clash");
  clash.add_aliases("kosovo FORCE");
  EXPECT_THAT(Create("clash", clash),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("organizations/kfor")));
  // An alias may not be another organization's id...
  clash.clear_aliases();
  clash.add_aliases("KFOR-x");
  ASSERT_THAT(Create("clash", clash), IsOk());
  Organization other = MakeOrg("Other");
  other.add_aliases("Clash");
  EXPECT_THAT(Create("other", other),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("the id of organizations/clash")));
  // ...and an id may not be another organization's alias.
  EXPECT_THAT(Create("kfor-x", MakeOrg("X")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("alias of organizations/clash")));
  // Updating into a conflict is refused too.
  Organization patch;
  patch.set_name("organizations/clash");
  patch.set_acronym("Kfor");
  Organization out;
  EXPECT_THAT(Update(patch, {"acronym"}, &out),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("organizations/kfor")));
}

TEST_F(RegistryServiceTest, BatchGetIsAllOrNothingInRequestOrder) {
  MustCreate("a", MakeOrg("A"));
  MustCreate("b", MakeOrg("B"));
  BatchGetOrganizationsRequest request;
  request.add_names("organizations/b");
  request.add_names("organizations/a");
  request.add_names("organizations/b");
  BatchGetOrganizationsResponse response;
  ASSERT_THAT(stub().BatchGetOrganizations(Ctx().get(), request, &response),
              IsOk());
  ASSERT_EQ(response.organizations_size(), 3);
  EXPECT_EQ(response.organizations(0).name(), "organizations/b");
  EXPECT_EQ(response.organizations(1).name(), "organizations/a");
  request.add_names("organizations/c");
  response.Clear();
  EXPECT_THAT(stub().BatchGetOrganizations(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("organizations/c")));
  EXPECT_EQ(response.organizations_size(), 0);
}

TEST_F(RegistryServiceTest, ListPaginatesInIdOrderWithValidatedTokens) {
  std::vector<std::string> expected;
  for (int i = 0; i < 23; ++i) {
    const std::string id = absl::StrFormat("org-%02d", 22 - i);  // Reverse.
    MustCreate(id, MakeOrg(id, i % 2 == 0 ? Organization::KIND_FIELD_MISSION
                                          : Organization::KIND_MILITARY_MISSION));
  }
  for (int i = 0; i < 23; ++i) expected.push_back(absl::StrFormat("organizations/org-%02d", i));

  ListOrganizationsRequest request;
  request.set_page_size(7);
  std::vector<std::string> seen;
  int pages = 0;
  ListOrganizationsResponse response;
  do {
    response.Clear();
    ASSERT_THAT(stub().ListOrganizations(Ctx().get(), request, &response), IsOk());
    ++pages;
    EXPECT_LE(response.organizations_size(), 7);
    for (const auto& o : response.organizations()) seen.push_back(o.name());
    request.set_page_token(response.next_page_token());
  } while (!response.next_page_token().empty());
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(response.revision(), 23);

  // Exactly one page's worth: the token is empty at once.
  request.Clear();
  request.set_page_size(23);
  ASSERT_THAT(stub().ListOrganizations(Ctx().get(), request, &response), IsOk());
  EXPECT_EQ(response.organizations_size(), 23);
  EXPECT_TRUE(response.next_page_token().empty());

  // Huge page sizes are coerced, not refused.
  request.set_page_size(1 << 30);
  ASSERT_THAT(stub().ListOrganizations(Ctx().get(), request, &response), IsOk());
  EXPECT_EQ(response.organizations_size(), 23);

  // A token only works with the request that issued it.
  request.Clear();
  request.set_page_size(5);
  request.set_kind(Organization::KIND_FIELD_MISSION);
  ASSERT_THAT(stub().ListOrganizations(Ctx().get(), request, &response), IsOk());
  ASSERT_FALSE(response.next_page_token().empty());
  request.set_page_token(response.next_page_token());
  request.set_kind(Organization::KIND_MILITARY_MISSION);
  EXPECT_THAT(stub().ListOrganizations(Ctx().get(), request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  // ...but the page size may change between pages.
  request.set_kind(Organization::KIND_FIELD_MISSION);
  request.set_page_size(100);
  ASSERT_THAT(stub().ListOrganizations(Ctx().get(), request, &response), IsOk());
  EXPECT_EQ(response.organizations_size(), 12 - 5);
}

TEST_F(RegistryServiceTest, ListFiltersByKindParentAndActiveDate) {
  MustCreate("nato", MakeOrg("NATO", Organization::KIND_INTERNATIONAL_ORGANIZATION));
  Organization kfor = MakeOrg("KFOR", Organization::KIND_MILITARY_MISSION);
  kfor.set_parent_organization("organizations/nato");
  kfor.mutable_established()->set_year(1999);
  kfor.mutable_established()->set_month(6);
  MustCreate("kfor", kfor);
  Organization unmik = MakeOrg("UNMIK", Organization::KIND_INTERIM_ADMINISTRATION);
  unmik.mutable_established()->set_year(1999);
  unmik.mutable_ended()->set_year(2008);
  unmik.mutable_ended()->set_month(6);
  unmik.mutable_ended()->set_day(15);
  MustCreate("unmik", unmik);
  Organization eulex = MakeOrg("EULEX", Organization::KIND_RULE_OF_LAW_MISSION);
  eulex.mutable_established()->set_year(2008);
  eulex.mutable_established()->set_month(12);
  eulex.mutable_established()->set_day(9);
  eulex.set_parent_organization("organizations/nato");  // Wrong, but a test.
  MustCreate("eulex", eulex);

  ListOrganizationsRequest request;
  request.set_kind(Organization::KIND_MILITARY_MISSION);
  EXPECT_THAT(ListAll(request), ElementsAre("organizations/kfor"));

  request.Clear();
  request.set_parent_organization("organizations/nato");
  request.set_page_size(1);
  EXPECT_THAT(ListAll(request),
              ElementsAre("organizations/eulex", "organizations/kfor"));

  const auto active_on = [&](int y, int m, int d) {
    ListOrganizationsRequest r;
    r.mutable_active_on()->set_year(y);
    r.mutable_active_on()->set_month(m);
    r.mutable_active_on()->set_day(d);
    r.set_include_unknown_bounds(true);
    return ListAll(r);
  };
  // nato has no dates: an unknown bound, listed here because asked for.
  EXPECT_THAT(active_on(1998, 1, 1), ElementsAre("organizations/nato"));
  EXPECT_THAT(active_on(1999, 6, 1),
              ElementsAre("organizations/kfor", "organizations/nato",
                          "organizations/unmik"));
  EXPECT_THAT(active_on(2008, 6, 15),
              ElementsAre("organizations/kfor", "organizations/nato",
                          "organizations/unmik"));
  EXPECT_THAT(active_on(2008, 6, 16),
              ElementsAre("organizations/kfor", "organizations/nato"));
  EXPECT_THAT(active_on(2009, 1, 1),
              ElementsAre("organizations/eulex", "organizations/kfor",
                          "organizations/nato"));
  // A month overlapping the end of UNMIK's administration.
  ListOrganizationsRequest month;
  month.mutable_active_on()->set_year(2008);
  month.mutable_active_on()->set_month(6);
  month.set_include_unknown_bounds(true);
  EXPECT_THAT(ListAll(month),
              ElementsAre("organizations/kfor", "organizations/nato",
                          "organizations/unmik"));

  // By default an unknown bound is kept apart, and each listed organization
  // says on what basis it is active: page by page (one per page here), each
  // unknown-bound organization reported once, on the page of its ids.
  MustCreate("aaa-undated", MakeOrg("Undated", Organization::KIND_OTHER));
  MustCreate("zzz-undated", MakeOrg("Undated too", Organization::KIND_OTHER));
  ListOrganizationsRequest apart;
  apart.mutable_active_on()->set_year(2008);
  apart.mutable_active_on()->set_month(6);
  apart.set_page_size(1);
  std::vector<std::string> listed, unknown;
  std::vector<int> bases;
  for (int pages = 0; pages < 10; ++pages) {
    ListOrganizationsResponse response;
    ASSERT_THAT(stub().ListOrganizations(Ctx().get(), apart, &response), IsOk());
    ASSERT_EQ(response.active_on_bases_size(), response.organizations_size());
    for (int i = 0; i < response.organizations_size(); ++i) {
      listed.push_back(response.organizations(i).name());
      bases.push_back(response.active_on_bases(i));
    }
    unknown.insert(unknown.end(), response.unknown_bound_organizations().begin(),
                   response.unknown_bound_organizations().end());
    if (response.next_page_token().empty()) break;
    apart.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(listed, ElementsAre("organizations/kfor", "organizations/unmik"));
  // KFOR since June 1999: known. UNMIK ended on June 15, 2008, within June.
  EXPECT_THAT(bases, ElementsAre(type::v1::SPAN_COVERS_DATE, type::v1::SPAN_COVERS_DATE));
  EXPECT_THAT(unknown, ElementsAre("organizations/aaa-undated", "organizations/nato",
                                   "organizations/zzz-undated"));
  // Without active_on there is no basis.
  ListOrganizationsResponse all;
  ASSERT_THAT(stub().ListOrganizations(Ctx().get(), ListOrganizationsRequest(), &all), IsOk());
  EXPECT_EQ(all.active_on_bases_size(), 0);
  EXPECT_EQ(all.unknown_bound_organizations_size(), 0);
}

TEST_F(RegistryServiceTest, PaginationUnderConcurrentWritesNeverDuplicatesOrSkips) {
  // Stable organizations exist unchanged throughout; churn ones are created,
  // updated and deleted while a reader pages through.
  std::set<std::string> stable;
  for (int i = 0; i < 60; ++i) {
    const std::string id = absl::StrFormat("s-%03d", i * 2);
    MustCreate(id, MakeOrg(id));
    stable.insert("organizations/" + id);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 400; ++i) {
      const std::string id = absl::StrFormat("s-%03d-c%d", (i * 7) % 120, i);
      Organization out;
      if (Create(id, MakeOrg(id), &out).ok()) ++writes;
      if (i % 3 == 0) {
        Organization deleted;
        Delete("organizations/" + id, &deleted);
      }
    }
  });
  std::vector<std::string> seen;
  for (int round = 0; round < 5; ++round) {
    ListOrganizationsRequest request;
    request.set_page_size(4);
    seen = ListAll(request);
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "an item came twice";
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    for (const auto& name : stable) {
      EXPECT_TRUE(unique.count(name)) << name << " was skipped";
    }
  }
  stop = true;
  writer.join();
  EXPECT_GT(writes.load(), 0);
}

TEST_F(RegistryServiceTest, ConcurrentEtagUpdatesLoseNothing) {
  Organization counter = MakeOrg("Counter");
  counter.set_description("0");
  MustCreate("counter", counter);
  constexpr int kThreads = 8;
  constexpr int kIncrements = 15;
  std::atomic<int> aborted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        Organization current;
        if (!Get("organizations/counter", &current).ok()) continue;
        int value = 0;
        ASSERT_TRUE(absl::SimpleAtoi(current.description(), &value));
        Organization patch;
        patch.set_name(current.name());
        patch.set_etag(current.etag());
        patch.set_description(absl::StrCat(value + 1));
        Organization out;
        grpc::Status s = Update(patch, {"description"}, &out);
        if (s.ok()) {
          ++done;
        } else {
          ASSERT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
          ++aborted;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Organization final;
  ASSERT_THAT(Get("organizations/counter", &final), IsOk());
  EXPECT_EQ(final.description(), absl::StrCat(kThreads * kIncrements));
  EXPECT_EQ(final.revision(), 1 + kThreads * kIncrements);

  ListOrganizationRevisionsRequest request;
  request.set_name("organizations/counter");
  request.set_page_size(1000);
  ListOrganizationRevisionsResponse revisions;
  ASSERT_THAT(stub().ListOrganizationRevisions(Ctx().get(), request, &revisions), IsOk());
  EXPECT_EQ(revisions.organizations_size(), 1 + kThreads * kIncrements);
}

TEST_F(RegistryServiceTest, RevisionsAreListedNewestFirstWithPages) {
  Organization created = MustCreate("ico", MakeOrg("ICO"));
  MustCreate("noise", MakeOrg("Noise"));
  for (int i = 1; i <= 4; ++i) {
    Organization patch;
    patch.set_name("organizations/ico");
    patch.set_description(absl::StrCat("v", i));
    Organization out;
    ASSERT_THAT(Update(patch, {"description"}, &out), IsOk());
  }
  ListOrganizationRevisionsRequest request;
  request.set_name("organizations/ico");
  request.set_page_size(2);
  std::vector<std::string> descriptions;
  std::vector<int64_t> revisions;
  ListOrganizationRevisionsResponse response;
  do {
    response.Clear();
    ASSERT_THAT(stub().ListOrganizationRevisions(Ctx().get(), request, &response), IsOk());
    for (const auto& o : response.organizations()) {
      descriptions.push_back(o.description());
      revisions.push_back(o.revision());
    }
    request.set_page_token(response.next_page_token());
  } while (!response.next_page_token().empty());
  EXPECT_THAT(descriptions, ElementsAre("v4", "v3", "v2", "v1", ""));
  EXPECT_THAT(revisions, ElementsAre(6, 5, 4, 3, 1));
  Organization current;
  ASSERT_THAT(Get("organizations/ico", &current), IsOk());
  EXPECT_EQ(current.revision(), revisions.front());
}

std::vector<OrganizationChange> ReadChanges(
    grpc::ClientReader<OrganizationChange>* reader, size_t n) {
  std::vector<OrganizationChange> out;
  OrganizationChange change;
  while (out.size() < n && reader->Read(&change)) out.push_back(change);
  return out;
}

TEST_F(RegistryServiceTest, WatchReplaysHistoryThenFollowsLiveChangesInOrder) {
  MustCreate("a", MakeOrg("A"));
  MustCreate("b", MakeOrg("B"));
  Organization deleted;
  ASSERT_THAT(Delete("organizations/a", &deleted), IsOk());

  WatchOrganizationsRequest request;  // From the beginning.
  auto context = Ctx(absl::Seconds(60));
  auto reader = stub().WatchOrganizations(context.get(), request);
  std::vector<OrganizationChange> replay = ReadChanges(reader.get(), 3);
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay[0].revision(), 1);
  EXPECT_EQ(replay[0].type(), OrganizationChange::CREATED);
  EXPECT_EQ(replay[0].organization().name(), "organizations/a");
  EXPECT_EQ(replay[2].type(), OrganizationChange::DELETED);
  EXPECT_EQ(replay[2].organization().state(), Organization::DELETED);

  // Live changes from several concurrent writers arrive in revision order
  // with no gaps.
  constexpr int kWriters = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        Create(absl::StrFormat("w%d-%d", w, i), MakeOrg("W"));
      }
    });
  }
  std::vector<OrganizationChange> live = ReadChanges(reader.get(), kWriters * kEach);
  for (auto& t : writers) t.join();
  ASSERT_EQ(live.size(), static_cast<size_t>(kWriters * kEach));
  for (size_t i = 0; i < live.size(); ++i) {
    EXPECT_EQ(live[i].revision(), 4 + static_cast<int64_t>(i));
    EXPECT_EQ(live[i].type(), OrganizationChange::CREATED);
    EXPECT_EQ(live[i].organization().revision(), live[i].revision());
  }
  context->TryCancel();
  reader->Finish();

  // Resuming after a revision replays exactly what follows it.
  WatchOrganizationsRequest resume;
  resume.set_start_revision(40);
  auto context2 = Ctx();
  auto reader2 = stub().WatchOrganizations(context2.get(), resume);
  std::vector<OrganizationChange> tail = ReadChanges(reader2.get(), 3);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0].revision(), 41);
  EXPECT_EQ(tail[2].revision(), 43);
  context2->TryCancel();
  reader2->Finish();
}

// The fan-out (services/registry/change_feed.h): many watchers — replaying
// from the log what precedes the feed, starting at the current revision,
// joining while writes go on — under concurrent writers each receive every
// change after their start exactly once, in order.
TEST_F(RegistryServiceTest, ManyWatchersUnderConcurrentWritersMissAndRepeatNothing) {
  constexpr int kBefore = 20;  // Committed before the feed starts.
  for (int i = 0; i < kBefore; ++i) MustCreate(absl::StrFormat("b%d", i), MakeOrg("B"));
  Restart();  // The feed now starts after revision kBefore.
  constexpr int kWriters = 4;
  constexpr int kEach = 25;
  constexpr int64_t kLast = kBefore + kWriters * kEach;

  struct Watcher {
    int64_t start = 0;
    std::vector<int64_t> revisions;
    grpc::Status status;
  };
  std::vector<Watcher> watchers(48);
  std::vector<std::thread> readers;
  absl::Mutex mu;
  int established = 0;
  const auto watch = [&](Watcher& w) {
    WatchOrganizationsRequest request;
    request.set_start_revision(w.start);
    auto context = Ctx(absl::Seconds(120));
    auto reader = stub().WatchOrganizations(context.get(), request);
    reader->WaitForInitialMetadata();
    {
      absl::MutexLock lock(&mu);
      ++established;
    }
    OrganizationChange change;
    while ((w.revisions.empty() || w.revisions.back() < kLast) && reader->Read(&change)) {
      w.revisions.push_back(change.revision());
    }
    context->TryCancel();
    w.status = reader->Finish();
  };
  // A third from the beginning, a third at the current revision now, and a
  // third joining once the writers are under way (from 0 and from later).
  for (size_t i = 0; i < 32; ++i) {
    watchers[i].start = i % 2 == 0 ? 0 : kBefore;
    readers.emplace_back(watch, std::ref(watchers[i]));
  }
  {
    absl::MutexLock lock(&mu);
    const auto all = [&] { return established == 32; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(60)));
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(Create(absl::StrFormat("w%d-%d", w, i), MakeOrg("W")).ok());
      }
    });
  }
  for (size_t i = 32; i < watchers.size(); ++i) {
    watchers[i].start = i % 2 == 0 ? 0 : *server_->registry().CurrentRevision();
    readers.emplace_back(watch, std::ref(watchers[i]));
  }
  for (auto& t : writers) t.join();
  for (auto& t : readers) t.join();
  for (size_t i = 0; i < watchers.size(); ++i) {
    const Watcher& w = watchers[i];
    ASSERT_EQ(w.revisions.size(), static_cast<size_t>(kLast - w.start))
        << "watcher " << i << " from " << w.start << ": " << w.status.error_message();
    for (size_t j = 0; j < w.revisions.size(); ++j) {
      ASSERT_EQ(w.revisions[j], w.start + 1 + static_cast<int64_t>(j)) << "watcher " << i;
    }
  }
}

TEST_F(RegistryServiceTest, WatchOlderThanRetainedHistoryIsOutOfRange) {
  registry::RegistryOptions options;
  options.change_retention = 5;
  Restart(options);
  for (int i = 0; i < 70; ++i) MustCreate(absl::StrFormat("o%d", i), MakeOrg("O"));
  // Revision 64 trimmed the log to the last 5 changes as of then (60..64).
  WatchOrganizationsRequest request;
  request.set_start_revision(10);
  auto context = Ctx();
  auto reader = stub().WatchOrganizations(context.get(), request);
  OrganizationChange change;
  EXPECT_FALSE(reader->Read(&change));
  EXPECT_THAT(reader->Finish(),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("no longer retained")));

  request.set_start_revision(59);
  auto context2 = Ctx();
  auto reader2 = stub().WatchOrganizations(context2.get(), request);
  std::vector<OrganizationChange> changes = ReadChanges(reader2.get(), 11);
  ASSERT_EQ(changes.size(), 11u);
  EXPECT_EQ(changes.front().revision(), 60);
  EXPECT_EQ(changes.back().revision(), 70);
  context2->TryCancel();
  reader2->Finish();

  // The current revision survives a restart (it is read from the log).
  Restart(options);
  EXPECT_EQ(*server_->registry().CurrentRevision(), 70);
  Organization next = MustCreate("after-restart", MakeOrg("N"));
  EXPECT_EQ(next.revision(), 71);
}

TEST_F(RegistryServiceTest, WatchStreamsEndWithUnavailableOnShutdown) {
  MustCreate("a", MakeOrg("A"));
  WatchOrganizationsRequest request;
  request.set_start_revision(1);
  auto context = Ctx(absl::Seconds(60));
  auto reader = stub().WatchOrganizations(context.get(), request);
  // Wait until the server holds the stream: a change written now arrives.
  MustCreate("b", MakeOrg("B"));
  OrganizationChange change;
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.revision(), 2);
  // A long grace: the stream must end because the service ends it, not
  // because the deadline cancels it.
  const absl::Time start = absl::Now();
  std::thread stopper([this] { server_->Shutdown(absl::Seconds(30)); });
  EXPECT_FALSE(reader->Read(&change));
  EXPECT_THAT(reader->Finish(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
  stopper.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST_F(RegistryServiceTest, HealthTurnsNotServingWhenShutdownStarts) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::health::v1::HealthCheckRequest request;
  auto context = Ctx(absl::Seconds(60));
  auto watch = health->Watch(context.get(), request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  std::thread stopper([this] { server_->Shutdown(absl::Seconds(5)); });
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  context->TryCancel();
  watch->Finish();
  stopper.join();
}

TEST_F(RegistryServiceTest, ServesHealthAndBothReflectionVersions) {
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse health;
  auto health_stub = grpc::health::v1::Health::NewStub(server_->channel());
  ASSERT_THAT(health_stub->Check(Ctx().get(), check, &health), IsOk());
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  check.set_service("presence.registry.v1.RegistryService");
  ASSERT_THAT(health_stub->Check(Ctx().get(), check, &health), IsOk());
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // Both reflection protocols answer; their messages are wire-identical, so
  // the v1 message types serve for v1alpha too.
  namespace reflection = ::grpc::reflection::v1;
  for (const char* method :
       {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    SCOPED_TRACE(method);
    const grpc::internal::RpcMethod rpc(method,
                                        grpc::internal::RpcMethod::BIDI_STREAMING);
    auto context = Ctx();
    std::unique_ptr<grpc::ClientReaderWriter<reflection::ServerReflectionRequest,
                                             reflection::ServerReflectionResponse>>
        stream(grpc::internal::ClientReaderWriterFactory<
               reflection::ServerReflectionRequest,
               reflection::ServerReflectionResponse>::Create(server_->channel().get(),
                                                            rpc, context.get()));
    reflection::ServerReflectionRequest request;
    request.set_list_services("");
    ASSERT_TRUE(stream->Write(request));
    reflection::ServerReflectionResponse response;
    ASSERT_TRUE(stream->Read(&response));
    std::vector<std::string> services;
    for (const auto& service : response.list_services_response().service()) {
      services.push_back(service.name());
    }
    EXPECT_THAT(services, ::testing::Contains("presence.registry.v1.RegistryService"));

    request.set_file_containing_symbol("presence.registry.v1.RegistryService");
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_GE(response.file_descriptor_response().file_descriptor_proto_size(), 1);
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(
        response.file_descriptor_response().file_descriptor_proto(0)));
    EXPECT_EQ(file.name(), "presence/registry/v1/registry.proto");

    request.set_file_containing_symbol("no.such.Symbol");
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.error_response().error_code(),
              static_cast<int>(grpc::StatusCode::NOT_FOUND));
    stream->WritesDone();
    EXPECT_THAT(stream->Finish(), IsOk());
  }
}

}  // namespace
}  // namespace presence
