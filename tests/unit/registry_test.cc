// The registry's domain (services/registry/registry.h) directly, without
// gRPC, over a real store: the rules of every method, and the invariants
// that must hold under concurrent writers (alias claims, children of
// deleted parents, parent cycles, request ids, consecutive revisions).
// Built twice: registry_test over RocksDB (label unit) and
// registry_postgres_test over PostgreSQL (label postgres), where the same
// invariants must also hold between two Registry instances (replicas) on
// one database.

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/key_codec.h"
#include "services/registry/registry.h"
#include "services/registry/registry_internal.pb.h"
#include "services/registry/seed.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_engines.h"
#include "tests/testing/subprocess.h"

namespace presence {
namespace {

using ::presence::registry::Registry;
using ::presence::registry::RegistryOptions;
using ::presence::registry::v1::BatchCreateOrganizationsRequest;
using ::presence::registry::v1::CreateOrganizationRequest;
using ::presence::registry::v1::DeleteOrganizationRequest;
using ::presence::registry::v1::ListOrganizationsRequest;
using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;
using ::presence::registry::v1::UndeleteOrganizationRequest;
using ::presence::registry::v1::UpdateOrganizationRequest;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kRequestId[] = "6f1c2a34-8d2e-4b8a-9c1f-0a1b2c3d4e5f";

Organization MakeOrg(absl::string_view display_name,
                     absl::string_view acronym = "",
                     absl::string_view parent = "") {
  Organization org;
  org.set_display_name(std::string(display_name));
  org.set_kind(Organization::KIND_FIELD_MISSION);
  org.set_acronym(std::string(acronym));
  org.set_parent_organization(std::string(parent));
  return org;
}

CreateOrganizationRequest CreateRequest(const std::string& id,
                                        const Organization& org,
                                        const std::string& request_id = "") {
  CreateOrganizationRequest request;
  request.set_organization_id(id);
  *request.mutable_organization() = org;
  request.set_request_id(request_id);
  return request;
}

DeleteOrganizationRequest DeleteRequest(const std::string& id) {
  DeleteOrganizationRequest request;
  request.set_name("organizations/" + id);
  return request;
}

#ifdef PRESENCE_TEST_POSTGRES
using Engine = testing::PostgresEngine;
#else
using Engine = testing::RocksEngine;
#endif

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(engine_.Init(), IsOk());
    Reopen();
  }

  // Another Registry over the store (a replica: only on shared engines).
  std::unique_ptr<Registry> Open(RegistryOptions options = {}) {
    options.now = [this] { return Now(); };
    storage::StoreOptions store_options;
    store_options.tables.assign(std::begin(registry::kTableNames),
                                std::end(registry::kTableNames));
    store_options.schema_version = registry::kSchemaVersion;
    auto store = engine_.Open(store_options);
    EXPECT_THAT(store, IsOk());
    if (!store.ok()) return nullptr;
    auto opened = Registry::Open(*std::move(store), options);
    EXPECT_THAT(opened, IsOk());
    return opened.ok() ? *std::move(opened) : nullptr;
  }

  void Reopen(RegistryOptions options = {}) {
    registry_.reset();
    registry_ = Open(options);
    ASSERT_NE(registry_, nullptr);
  }

  absl::Time Now() {
    absl::MutexLock lock(&clock_mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&clock_mu_);
    now_ += d;
  }

  Organization MustCreate(const std::string& id, const Organization& org) {
    absl::StatusOr<Organization> created =
        registry_->CreateOrganization(CreateRequest(id, org));
    EXPECT_THAT(created, IsOk()) << id;
    return created.ok() ? *created : Organization();
  }

  absl::StatusOr<Organization> SetParent(const std::string& id,
                                         const std::string& parent) {
    UpdateOrganizationRequest request;
    request.mutable_organization()->set_name("organizations/" + id);
    request.mutable_organization()->set_parent_organization(
        parent.empty() ? "" : "organizations/" + parent);
    request.mutable_update_mask()->add_paths("parent_organization");
    return registry_->UpdateOrganization(request);
  }

  // Every change in the log, from the beginning.
  std::vector<OrganizationChange> AllChanges() {
    std::vector<OrganizationChange> all;
    while (true) {
      const int64_t after = all.empty() ? 0 : all.back().revision();
      absl::StatusOr<std::vector<OrganizationChange>> changes =
          registry_->ReadChanges(after, 1000);
      EXPECT_THAT(changes, IsOk());
      if (!changes.ok() || changes->empty()) break;
      for (auto& c : *changes) all.push_back(std::move(c));
    }
    return all;
  }

  Engine engine_;
  absl::Mutex clock_mu_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mu_) = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, CreateStampsOutputFieldsAndGetReturnsIt) {
  EXPECT_EQ(*registry_->CurrentRevision(), 0);
  CallContext call;
  call.principal = "alice";
  Organization requested = MakeOrg("Kosovo Force", "KFOR");
  requested.set_revision(99);  // Output-only: ignored.
  requested.set_etag("\"99\"");
  absl::StatusOr<Organization> created =
      registry_->CreateOrganization(CreateRequest("kfor", requested), call);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->name(), "organizations/kfor");
  EXPECT_EQ(created->state(), Organization::ACTIVE);
  EXPECT_EQ(created->revision(), 1);
  EXPECT_EQ(created->etag(), "\"1\"");
  EXPECT_EQ(created->last_modified_by(), "alice");
  EXPECT_EQ(created->create_time().seconds(), 1700000000);
  EXPECT_EQ(*registry_->CurrentRevision(), 1);

  absl::StatusOr<Organization> got =
      registry_->GetOrganization("organizations/kfor");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->SerializeAsString(), created->SerializeAsString());
  EXPECT_THAT(registry_->GetOrganization("organizations/nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("organizations/nope")));
  EXPECT_THAT(registry_->GetOrganization("kfor"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
}

TEST_F(RegistryTest, SurvivesReopenWithItsRevision) {
  MustCreate("nato", MakeOrg("NATO"));
  MustCreate("kfor", MakeOrg("Kosovo Force", "KFOR", "organizations/nato"));
  Reopen();
  EXPECT_EQ(*registry_->CurrentRevision(), 2);
  EXPECT_THAT(registry_->LookupOrganization("kfor"), IsOk());
  EXPECT_EQ(MustCreate("eulex", MakeOrg("EULEX")).revision(), 3);
}

TEST_F(RegistryTest, AcronymsAndAliasesAreUniqueAmongLiveOrganizations) {
  MustCreate("kfor", MakeOrg("Kosovo Force", "KFOR"));
  Organization other = MakeOrg("Other");
  other.add_aliases(" kFoR ");
  EXPECT_THAT(registry_->CreateOrganization(CreateRequest("other", other)),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("organizations/kfor")));
  // An alias may not be another live organization's id, nor an id another's
  // alias.
  Organization squatter = MakeOrg("Squatter");
  squatter.add_aliases("KFOR-X");
  MustCreate("squatter", squatter);
  EXPECT_THAT(registry_->CreateOrganization(CreateRequest("kfor-x", MakeOrg("X"))),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("alias")));
  Organization by_id = MakeOrg("By id");
  by_id.add_aliases("Squatter");
  EXPECT_THAT(registry_->CreateOrganization(CreateRequest("by-id", by_id)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("is the id of")));

  // Deleting frees the aliases; undeleting needs them back.
  ASSERT_THAT(registry_->DeleteOrganization(DeleteRequest("kfor")), IsOk());
  EXPECT_THAT(registry_->CreateOrganization(CreateRequest("other", other)), IsOk());
  UndeleteOrganizationRequest undelete;
  undelete.set_name("organizations/kfor");
  EXPECT_THAT(registry_->UndeleteOrganization(undelete),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(RegistryTest, LookupMatchesIdAcronymAndAliasCaseInsensitively) {
  Organization omik = MakeOrg("OSCE Mission in Kosovo", "OMiK");
  omik.add_aliases("OSCE Kosovo");
  MustCreate("omik-mission", omik);
  for (const char* key : {"OMIK", "omik", "osce kosovo", "Omik-Mission"}) {
    absl::StatusOr<Organization> found = registry_->LookupOrganization(key);
    ASSERT_THAT(found, IsOk()) << key;
    EXPECT_EQ(found->name(), "organizations/omik-mission") << key;
  }
  EXPECT_THAT(registry_->LookupOrganization("unmik"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->LookupOrganization("  "),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryTest, ParentsMustBeLiveAndDeletesNeedNoLiveChildren) {
  EXPECT_THAT(registry_->CreateOrganization(
                  CreateRequest("kfor", MakeOrg("KFOR", "", "organizations/nato"))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organization.parent_organization")));
  MustCreate("nato", MakeOrg("NATO"));
  MustCreate("kfor", MakeOrg("KFOR", "", "organizations/nato"));
  EXPECT_THAT(registry_->DeleteOrganization(DeleteRequest("nato")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("organizations/kfor")));
  ASSERT_THAT(registry_->DeleteOrganization(DeleteRequest("kfor")), IsOk());
  ASSERT_THAT(registry_->DeleteOrganization(DeleteRequest("nato")), IsOk());
  // A child cannot come back while its parent is deleted.
  UndeleteOrganizationRequest undelete;
  undelete.set_name("organizations/kfor");
  EXPECT_THAT(registry_->UndeleteOrganization(undelete),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is deleted")));
  undelete.set_name("organizations/nato");
  ASSERT_THAT(registry_->UndeleteOrganization(undelete), IsOk());
  undelete.set_name("organizations/kfor");
  EXPECT_THAT(registry_->UndeleteOrganization(undelete), IsOk());
}

TEST_F(RegistryTest, ParentCyclesAreRefused) {
  MustCreate("a", MakeOrg("A"));
  MustCreate("b", MakeOrg("B", "", "organizations/a"));
  MustCreate("c", MakeOrg("C", "", "organizations/b"));
  EXPECT_THAT(SetParent("a", "c"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("its own ancestor")));
  EXPECT_THAT(SetParent("a", "a"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SetParent("c", "a"), IsOk());
}

TEST_F(RegistryTest, EtagsMakeWritesConditional) {
  Organization created = MustCreate("eulex", MakeOrg("EULEX"));
  UpdateOrganizationRequest update;
  update.mutable_organization()->set_name("organizations/eulex");
  update.mutable_organization()->set_description("Rule of law");
  update.mutable_organization()->set_etag("\"7\"");
  EXPECT_THAT(registry_->UpdateOrganization(update),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("organization.etag")));
  update.mutable_organization()->set_etag(created.etag());
  absl::StatusOr<Organization> updated = registry_->UpdateOrganization(update);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->description(), "Rule of law");
  EXPECT_EQ(updated->revision(), 2);
  DeleteOrganizationRequest del = DeleteRequest("eulex");
  del.set_etag(created.etag());
  EXPECT_THAT(registry_->DeleteOrganization(del),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("etag")));
}

TEST_F(RegistryTest, ValidateOnlyChecksEverythingAndWritesNothing) {
  MustCreate("nato", MakeOrg("NATO", "NATO"));
  CreateOrganizationRequest request = CreateRequest("kfor", MakeOrg("KFOR"));
  request.set_validate_only(true);
  absl::StatusOr<Organization> validated = registry_->CreateOrganization(request);
  ASSERT_THAT(validated, IsOk());
  EXPECT_EQ(validated->name(), "organizations/kfor");
  request.mutable_organization()->set_acronym("nato");
  EXPECT_THAT(registry_->CreateOrganization(request),
              StatusIs(absl::StatusCode::kAlreadyExists));
  DeleteOrganizationRequest del = DeleteRequest("nato");
  del.set_validate_only(true);
  EXPECT_THAT(registry_->DeleteOrganization(del), IsOk());
  EXPECT_EQ(*registry_->CurrentRevision(), 1);
  EXPECT_THAT(registry_->GetOrganization("organizations/kfor"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(registry_->GetOrganization("organizations/nato")->state(),
            Organization::ACTIVE);
}

TEST_F(RegistryTest, RequestIdRetriesReturnTheFirstResult) {
  absl::StatusOr<Organization> first = registry_->CreateOrganization(
      CreateRequest("unmik", MakeOrg("UNMIK"), kRequestId));
  ASSERT_THAT(first, IsOk());
  Advance(absl::Minutes(1));
  absl::StatusOr<Organization> again = registry_->CreateOrganization(
      CreateRequest("unmik", MakeOrg("UNMIK, changed"), kRequestId));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->SerializeAsString(), first->SerializeAsString());
  EXPECT_THAT(registry_->CreateOrganization(
                  CreateRequest("other", MakeOrg("Other"), kRequestId)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("organizations/unmik")));
  EXPECT_THAT(registry_->CreateOrganization(
                  CreateRequest("x", MakeOrg("X"), "not-a-uuid")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
  EXPECT_EQ(*registry_->CurrentRevision(), 1);
}

// Issue 12, defect 7: request ids are remembered for a retention (a flag),
// not forever.
TEST_F(RegistryTest, RequestIdsExpireAfterTheRetention) {
  RegistryOptions options;
  options.request_id_retention = absl::Hours(1);
  Reopen(options);
  absl::StatusOr<Organization> first = registry_->CreateOrganization(
      CreateRequest("unmik", MakeOrg("UNMIK"), kRequestId));
  ASSERT_THAT(first, IsOk());
  Advance(absl::Minutes(59));
  EXPECT_THAT(registry_->CreateOrganization(
                  CreateRequest("unmik", MakeOrg("UNMIK"), kRequestId)),
              IsOk());
  Advance(absl::Minutes(1));
  // Expired: the id is new again, so the retry is a second create.
  EXPECT_THAT(registry_->CreateOrganization(
                  CreateRequest("unmik", MakeOrg("UNMIK"), kRequestId)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(registry_->CreateOrganization(
                  CreateRequest("other", MakeOrg("Other"), kRequestId)),
              IsOk());
}

TEST_F(RegistryTest, BatchCreateIsAllOrNothingWithIndexedErrors) {
  MustCreate("nato", MakeOrg("NATO"));
  BatchCreateOrganizationsRequest batch;
  *batch.add_requests() = CreateRequest("kfor", MakeOrg("KFOR", "", "organizations/nato"));
  // A parent earlier in the same request counts.
  *batch.add_requests() = CreateRequest("kfor-main", MakeOrg("Main", "", "organizations/kfor"));
  *batch.add_requests() = CreateRequest("bad", MakeOrg(""));
  EXPECT_THAT(registry_->BatchCreateOrganizations(batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("requests[2].organization.display_name")));
  batch.mutable_requests(2)->mutable_organization()->set_display_name("Fine");
  *batch.add_requests() = CreateRequest("kfor", MakeOrg("Again"));
  EXPECT_THAT(registry_->BatchCreateOrganizations(batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("requests[3].organization_id")));
  batch.mutable_requests()->RemoveLast();
  EXPECT_EQ(*registry_->CurrentRevision(), 1);
  auto created = registry_->BatchCreateOrganizations(batch);
  ASSERT_THAT(created, IsOk());
  ASSERT_EQ(created->organizations_size(), 3);
  EXPECT_EQ(created->organizations(0).revision(), 2);
  EXPECT_EQ(created->organizations(2).revision(), 4);
  EXPECT_EQ(*registry_->CurrentRevision(), 4);
}

TEST_F(RegistryTest, ChangeLogHoldsEveryChangeInOrder) {
  MustCreate("p", MakeOrg("P"));
  MustCreate("a", MakeOrg("A"));
  ASSERT_THAT(SetParent("a", "p"), IsOk());
  ASSERT_THAT(registry_->DeleteOrganization(DeleteRequest("a")), IsOk());
  std::vector<OrganizationChange> changes = AllChanges();
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[1].type(), OrganizationChange::CREATED);
  EXPECT_EQ(changes[2].type(), OrganizationChange::UPDATED);
  EXPECT_EQ(changes[3].type(), OrganizationChange::DELETED);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(changes[i].revision(), i + 1);
    EXPECT_EQ(changes[i].organization().revision(), i + 1);
  }
  EXPECT_THAT(registry_->CheckWatchStart(0), IsOk());
  EXPECT_THAT(registry_->CheckWatchStart(4), IsOk());
  EXPECT_THAT(registry_->CheckWatchStart(5), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(registry_->CheckWatchStart(-1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryTest, ChangeLogRetentionTrimsOldChanges) {
  RegistryOptions options;
  options.change_retention = 10;
  Reopen(options);
  for (int i = 0; i < 70; ++i) MustCreate(absl::StrCat("o", i), MakeOrg("O"));
  EXPECT_THAT(registry_->CheckWatchStart(0),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("no longer retained")));
  EXPECT_THAT(registry_->CheckWatchStart(60), IsOk());
  absl::StatusOr<std::vector<OrganizationChange>> tail = registry_->ReadChanges(60, 100);
  ASSERT_THAT(tail, IsOk());
  EXPECT_EQ(tail->size(), 10u);
}

TEST_F(RegistryTest, ListReflectsTheRevisionItReports) {
  MustCreate("a", MakeOrg("A"));
  MustCreate("b", MakeOrg("B"));
  ListOrganizationsRequest request;
  request.set_page_size(1);
  auto page = registry_->ListOrganizations(request);
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->revision(), 2);
  ASSERT_EQ(page->organizations_size(), 1);
  EXPECT_EQ(page->organizations(0).name(), "organizations/a");
  request.set_page_token(page->next_page_token());
  page = registry_->ListOrganizations(request);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->organizations_size(), 1);
  EXPECT_EQ(page->organizations(0).name(), "organizations/b");
  EXPECT_TRUE(page->next_page_token().empty());
}

// --- Under concurrent writers ---

TEST_F(RegistryTest, OfConcurrentClaimsOfOneAliasExactlyOneWins) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> won{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Organization org = MakeOrg("Claimant", absl::StrCat("ALIAS", round));
        auto s = registry_->CreateOrganization(
            CreateRequest(absl::StrFormat("c%d-%d", round, t), org));
        if (s.ok()) {
          ++won;
        } else if (s.status().code() == absl::StatusCode::kAlreadyExists) {
          ++refused;
        } else {
          ADD_FAILURE() << s.status();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), kThreads - 1) << "round " << round;
    EXPECT_THAT(registry_->LookupOrganization(absl::StrCat("alias", round)), IsOk());
  }
}

TEST_F(RegistryTest, CreateChildDeleteParentRaceNeverLeavesALiveChildOfADeletedParent) {
  for (int round = 0; round < 20; ++round) {
    const std::string parent = absl::StrCat("p", round);
    const std::string child = absl::StrCat("c", round);
    MustCreate(parent, MakeOrg("Parent"));
    std::thread creator([&] {
      (void)registry_->CreateOrganization(
          CreateRequest(child, MakeOrg("Child", "", "organizations/" + parent)));
    });
    std::thread deleter([&] {
      (void)registry_->DeleteOrganization(DeleteRequest(parent));
    });
    creator.join();
    deleter.join();
    auto p = registry_->GetOrganization("organizations/" + parent);
    auto c = registry_->GetOrganization("organizations/" + child);
    ASSERT_THAT(p, IsOk());
    const bool parent_deleted = p->state() == Organization::DELETED;
    const bool child_live = c.ok() && c->state() == Organization::ACTIVE;
    EXPECT_FALSE(parent_deleted && child_live) << "round " << round;
    EXPECT_TRUE(parent_deleted || child_live) << "round " << round;
  }
}

TEST_F(RegistryTest, ConcurrentReparentingNeverMakesACycle) {
  for (int round = 0; round < 20; ++round) {
    const std::string x = absl::StrCat("x", round);
    const std::string y = absl::StrCat("y", round);
    MustCreate(x, MakeOrg("X"));
    MustCreate(y, MakeOrg("Y"));
    std::thread a([&] { (void)SetParent(x, y); });
    std::thread b([&] { (void)SetParent(y, x); });
    a.join();
    b.join();
    auto ox = registry_->GetOrganization("organizations/" + x);
    auto oy = registry_->GetOrganization("organizations/" + y);
    ASSERT_THAT(ox, IsOk());
    ASSERT_THAT(oy, IsOk());
    EXPECT_FALSE(ox->parent_organization() == oy->name() &&
                 oy->parent_organization() == ox->name())
        << "round " << round;
  }
}

TEST_F(RegistryTest, OneRequestIdFromConcurrentCallersYieldsOneResult) {
  constexpr int kThreads = 8;
  std::vector<absl::StatusOr<Organization>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[t] = registry_->CreateOrganization(
          CreateRequest("once", MakeOrg("Once"), kRequestId));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->SerializeAsString(), results[0]->SerializeAsString());
  }
  EXPECT_EQ(*registry_->CurrentRevision(), 1);
}

TEST_F(RegistryTest, RevisionsAreConsecutiveAndTheLogMatchesUnderConcurrentWriters) {
  constexpr int kThreads = 8;
  constexpr int kWrites = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string id = absl::StrCat("w", t);
      ASSERT_THAT(registry_->CreateOrganization(CreateRequest(id, MakeOrg("W"))), IsOk());
      for (int i = 1; i < kWrites; ++i) {
        UpdateOrganizationRequest update;
        update.mutable_organization()->set_name("organizations/" + id);
        update.mutable_organization()->set_description(absl::StrCat(i));
        ASSERT_THAT(registry_->UpdateOrganization(update), IsOk());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*registry_->CurrentRevision(), kThreads * kWrites);
  std::vector<OrganizationChange> changes = AllChanges();
  ASSERT_EQ(changes.size(), static_cast<size_t>(kThreads * kWrites));
  std::map<std::string, Organization> last;
  for (size_t i = 0; i < changes.size(); ++i) {
    ASSERT_EQ(changes[i].revision(), static_cast<int64_t>(i + 1));
    last[changes[i].organization().name()] = changes[i].organization();
  }
  for (const auto& [name, org] : last) {
    auto stored = registry_->GetOrganization(name);
    ASSERT_THAT(stored, IsOk());
    EXPECT_EQ(stored->SerializeAsString(), org.SerializeAsString());
    EXPECT_EQ(stored->description(), absl::StrCat(kWrites - 1));
  }
}

// --- Update masks and updates that change nothing (issue 12, defect 4) ---

TEST_F(RegistryTest, EmptyOrUnknownUpdateMaskPathsAreInvalidArgumentNamingThePath) {
  Organization created = MustCreate("eulex", MakeOrg("EULEX"));
  for (const std::vector<std::string>& paths :
       std::vector<std::vector<std::string>>{{""}, {"description", ""}, {"colour"},
                                             {"established..year"}, {".description"},
                                             {"description."}}) {
    SCOPED_TRACE(::testing::PrintToString(paths));
    UpdateOrganizationRequest update;
    update.mutable_organization()->set_name("organizations/eulex");
    update.mutable_organization()->set_description("changed");
    for (const std::string& p : paths) update.mutable_update_mask()->add_paths(p);
    const std::string& bad = paths.back();
    EXPECT_THAT(registry_->UpdateOrganization(update),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("update_mask: \"", bad, "\""))));
  }
  EXPECT_EQ(*registry_->CurrentRevision(), created.revision());
}

TEST_F(RegistryTest, AnUpdateThatChangesNothingWritesNoRevision) {
  Organization org = MakeOrg("EULEX");
  org.set_description("Rule of law");
  Organization created = MustCreate("eulex", org);
  Advance(absl::Minutes(5));
  const std::vector<std::vector<std::string>> masks = {
      {"description"}, {"display_name", "description"}, {"revision"}, {}};
  for (const std::vector<std::string>& paths : masks) {
    SCOPED_TRACE(::testing::PrintToString(paths));
    UpdateOrganizationRequest update;
    update.mutable_organization()->set_name("organizations/eulex");
    update.mutable_organization()->set_display_name("EULEX");
    update.mutable_organization()->set_description("Rule of law");
    update.mutable_organization()->set_revision(42);  // Output-only: ignored.
    update.mutable_update_mask();
    for (const std::string& p : paths) update.mutable_update_mask()->add_paths(p);
    absl::StatusOr<Organization> updated = registry_->UpdateOrganization(update);
    ASSERT_THAT(updated, IsOk());
    // The current version, as it was: same revision, etag and update time.
    EXPECT_EQ(updated->SerializeAsString(), created.SerializeAsString());
  }
  EXPECT_EQ(*registry_->CurrentRevision(), 1);
  EXPECT_EQ(AllChanges().size(), 1u);
  // A real change still writes.
  UpdateOrganizationRequest change;
  change.mutable_organization()->set_name("organizations/eulex");
  change.mutable_organization()->set_description("Rule of law mission");
  absl::StatusOr<Organization> changed = registry_->UpdateOrganization(change);
  ASSERT_THAT(changed, IsOk());
  EXPECT_EQ(changed->revision(), 2);
}

// Schema version 1 kept request ids as {organization id, revision}; the
// upgrade to 2 keeps them answering retries.
TEST_F(RegistryTest, UpgradeFromVersionOneKeepsRequestIdsAnswering) {
  Engine old_database;  // Not the fixture's, which is stamped already.
  ASSERT_THAT(old_database.Init(), IsOk());
  Organization org = MakeOrg("UNMIK");
  org.set_name("organizations/unmik");
  org.set_state(Organization::ACTIVE);
  org.set_revision(1);
  org.set_etag("\"1\"");
  {
    storage::StoreOptions v1;
    v1.tables.assign(std::begin(registry::kTableNames), std::end(registry::kTableNames));
    v1.schema_version = 1;
    auto store = old_database.Open(v1);
    ASSERT_THAT(store, IsOk());
    OrganizationChange change;
    change.set_revision(1);
    change.set_type(OrganizationChange::CREATED);
    *change.mutable_organization() = org;
    std::string revision_key = "unmik";
    revision_key.push_back('\0');
    revision_key += EncodeUint64(1);
    registry::internal::StoredRequest record;
    record.set_organization_id("unmik");
    record.set_revision(1);
    storage::WriteBatch batch;
    batch.Put(registry::kRecords, "unmik", org.SerializeAsString());
    batch.Put(registry::kRevisions, revision_key, org.SerializeAsString());
    batch.Put(registry::kChanges, EncodeUint64(1), change.SerializeAsString());
    batch.Put(registry::kMeta, std::string("r/") + kRequestId, record.SerializeAsString());
    ASSERT_THAT((*store)->Write(batch), IsOk());
  }
  storage::StoreOptions v2;
  v2.tables.assign(std::begin(registry::kTableNames), std::end(registry::kTableNames));
  v2.schema_version = registry::kSchemaVersion;
  v2.upgrade = [this](storage::KvStore* store, int64_t from) {
    return registry::UpgradeStore(store, from, Now());
  };
  auto store = old_database.Open(v2);
  ASSERT_THAT(store, IsOk());
  RegistryOptions options;
  options.now = [this] { return Now(); };
  auto opened = Registry::Open(*std::move(store), options);
  ASSERT_THAT(opened, IsOk());
  registry_ = *std::move(opened);
  absl::StatusOr<Organization> retried = registry_->CreateOrganization(
      CreateRequest("unmik", MakeOrg("UNMIK, again"), kRequestId));
  ASSERT_THAT(retried, IsOk());
  EXPECT_EQ(retried->SerializeAsString(), org.SerializeAsString());
  EXPECT_EQ(*registry_->CurrentRevision(), 1);
}

// --- Seeding (issue 12, defect 6) ---

TEST_F(RegistryTest, TheSeedIsLoadedOncePerDatabase) {
  auto created = registry::LoadSeedOnce(*registry_, registry::KosovoSeed());
  ASSERT_THAT(created, IsOk());
  ASSERT_GT(*created, 10);
  EXPECT_EQ(*registry_->CurrentRevision(), *created);
  // Everything deleted (children first), then a restart: not seeded again.
  ListOrganizationsRequest all;
  all.set_page_size(1000);
  auto listed = registry_->ListOrganizations(all);
  ASSERT_THAT(listed, IsOk());
  for (int round = 0; round < 5; ++round) {
    for (const Organization& org : listed->organizations()) {
      DeleteOrganizationRequest del;
      del.set_name(org.name());
      (void)registry_->DeleteOrganization(del);
    }
  }
  listed = registry_->ListOrganizations(all);
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->organizations_size(), 0);
  Reopen();
  auto again = registry::LoadSeedOnce(*registry_, registry::KosovoSeed());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, 0);
}

TEST_F(RegistryTest, ADatabaseWrittenBeforeIsNotSeeded) {
  MustCreate("mine", MakeOrg("Mine"));
  auto created = registry::LoadSeedOnce(*registry_, registry::KosovoSeed());
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(*created, 0);
  EXPECT_EQ(*registry_->CurrentRevision(), 1);
}

TEST_F(RegistryTest, ReplicasStartingTogetherSeedOnceBetweenThem) {
  if constexpr (!Engine::kShared) {
    GTEST_SKIP() << "one process per database for this engine";
  } else {
    std::vector<std::unique_ptr<Registry>> replicas;
    for (int i = 0; i < 3; ++i) replicas.push_back(Open());
    std::vector<absl::StatusOr<int>> created(replicas.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < replicas.size(); ++i) {
      threads.emplace_back([&, i] {
        created[i] = registry::LoadSeedOnce(*replicas[i], registry::KosovoSeed());
      });
    }
    for (auto& t : threads) t.join();
    int total = 0, seeders = 0;
    for (const auto& c : created) {
      ASSERT_THAT(c, IsOk());
      total += *c;
      seeders += *c > 0 ? 1 : 0;
    }
    EXPECT_EQ(seeders, 1);
    EXPECT_EQ(*registry_->CurrentRevision(), total);
  }
}

// --- Replicas on one database ---

TEST_F(RegistryTest, ReplicasSeeEachOthersRevisionsAndClaims) {
  if constexpr (!Engine::kShared) {
    GTEST_SKIP() << "one process per database for this engine";
  } else {
    std::unique_ptr<Registry> other = Open();
    ASSERT_NE(other, nullptr);
    std::atomic<int> heard{0};
    other->Subscribe([&] { ++heard; });
    MustCreate("kfor", MakeOrg("Kosovo Force", "KFOR"));
    EXPECT_EQ(*other->CurrentRevision(), 1);
    EXPECT_TRUE(testing::WaitUntil([&] { return heard > 0; }, absl::Seconds(5)));
    EXPECT_THAT(other->CreateOrganization(CreateRequest("other", MakeOrg("O", "kfor"))),
                StatusIs(absl::StatusCode::kAlreadyExists));
    absl::StatusOr<Organization> created =
        other->CreateOrganization(CreateRequest("eulex", MakeOrg("EULEX")));
    ASSERT_THAT(created, IsOk());
    EXPECT_EQ(created->revision(), 2);
    std::vector<OrganizationChange> changes = AllChanges();
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[1].organization().name(), "organizations/eulex");
  }
}

}  // namespace
}  // namespace presence
