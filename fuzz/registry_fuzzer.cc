// The registry's domain entry points, fed with a sequence of requests built
// or parsed from the fuzz input, over a real RocksDB in a fresh temporary
// directory per input. After every request the outcome is checked against a
// model of what was acknowledged:
//   - every error is a documented code with a bounded message;
//   - an accepted write is readable with its acknowledged content and listed;
//     a rejected or validate_only one left nothing behind;
//   - a retried request_id returns the first result;
//   - the change feed holds exactly the acknowledged changes, consecutive
//     from revision 1, identical to what the calls returned;
//   - at the end a paged listing returns exactly the model.

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "fuzz/fuzz_store.h"
#include "google/protobuf/util/message_differencer.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/registry/registry.h"

namespace {

namespace v1 = ::presence::registry::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::presence::fuzz::CheckBounded;
using ::presence::fuzz::Fail;
using Org = v1::Organization;

constexpr const char* kIds[] = {"a", "b", "c", "kfor", "nato"};
constexpr const char* kWords[] = {"", "A", "a", "KFOR", "kfor", "nato", " ", "b", "Kosovo Force"};
constexpr const char* kPaths[] = {"display_name", "acronym", "aliases", "parent_organization",
                                  "established", "ended", "kind", "leaders", "headcounts",
                                  "*", "", "name", "etag", "bogus", "leaders.role"};
constexpr const char* kRequestIds[] = {"", "123e4567-e89b-42d3-a456-426614174000",
                                       "00000000-0000-4000-8000-000000000001", "not-a-uuid"};

template <size_t N>
std::string Pick(FuzzedDataProvider& p, const char* const (&pool)[N]) {
  if (p.ConsumeIntegralInRange(0, 15) == 0) {
    // Any bytes, as valid UTF-8: requests come parsed by protobuf, which
    // refuses invalid UTF-8 in strings (the domain stores what it is given;
    // a record holding invalid UTF-8 would not parse back).
    std::string s = p.ConsumeRandomLengthString(12);
    for (char& c : s) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    return s;
  }
  return pool[p.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

std::string Id(FuzzedDataProvider& p) { return Pick(p, kIds); }
std::string Name(FuzzedDataProvider& p) {
  return p.ConsumeIntegralInRange(0, 7) == 0 ? Pick(p, kWords) : "organizations/" + Id(p);
}

presence::type::v1::PartialDate Date(FuzzedDataProvider& p) {
  presence::type::v1::PartialDate d;
  if (p.ConsumeIntegralInRange(0, 3) == 0) return d;  // Empty: unset.
  d.set_year(p.ConsumeIntegralInRange(-1, 2100));
  d.set_month(p.ConsumeIntegralInRange(0, 13));
  d.set_day(p.ConsumeIntegralInRange(0, 32));
  d.set_part(static_cast<presence::type::v1::PartialDate::Part>(p.ConsumeIntegralInRange(0, 4)));
  d.set_approximate(p.ConsumeBool());
  return d;
}

Org MakeOrg(FuzzedDataProvider& p) {
  Org org;
  if (p.ConsumeIntegralInRange(0, 5) == 0) {  // Any bytes that parse.
    if (!org.ParseFromString(p.ConsumeRandomLengthString(256))) org.Clear();
    return org;
  }
  org.set_display_name(Pick(p, kWords));
  if (org.display_name().empty() && p.ConsumeBool()) org.set_display_name("Name");
  org.set_kind(static_cast<Org::Kind>(p.ConsumeIntegralInRange(-1, 11)));
  org.set_acronym(Pick(p, kWords));
  for (int i = p.ConsumeIntegralInRange(0, 2); i > 0; --i) org.add_aliases(Pick(p, kWords));
  if (p.ConsumeBool()) org.set_parent_organization(Name(p));
  if (p.ConsumeBool()) *org.mutable_established() = Date(p);
  if (p.ConsumeBool()) *org.mutable_ended() = Date(p);
  for (int i = p.ConsumeIntegralInRange(0, 2); i > 0; --i) {
    Org::Leader* l = org.add_leaders();
    l->set_role(Pick(p, kWords));
    l->set_person(Pick(p, kWords));
    if (p.ConsumeBool()) l->set_appointed_by(Name(p));
    if (p.ConsumeBool()) *l->mutable_appointed() = Date(p);
  }
  for (int i = p.ConsumeIntegralInRange(0, 1); i > 0; --i) {
    Org::Headcount* h = org.add_headcounts();
    *h->mutable_as_of() = Date(p);
    h->set_category(static_cast<Org::Headcount::Category>(p.ConsumeIntegralInRange(0, 8)));
    h->set_count(p.ConsumeIntegralInRange<int64_t>(-2, 100000));
  }
  return org;
}

bool Documented(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

class Harness {
 public:
  explicit Harness(std::unique_ptr<presence::registry::Registry> registry)
      : registry_(std::move(registry)) {}

  void Check(const absl::Status& status, absl::string_view what) {
    if (!Documented(status.code())) Fail("undocumented code", absl::StrCat(what, ": ", status.ToString()));
    CheckBounded(status);
  }

  // The record as stored now, or nullopt if NOT_FOUND / not a valid name.
  std::optional<Org> Read(const std::string& id) {
    absl::StatusOr<Org> got = registry_->GetOrganization("organizations/" + id);
    if (!got.ok()) {
      if (got.status().code() == absl::StatusCode::kNotFound ||
          got.status().code() == absl::StatusCode::kInvalidArgument) {
        return std::nullopt;
      }
      Fail("Get failed", got.status().ToString());
    }
    return *got;
  }

  void ExpectModel(const std::string& id) {
    std::optional<Org> now = Read(id);
    auto it = model_.find(id);
    if (it == model_.end()) {
      if (now) Fail("an unacknowledged organization exists", id);
      return;
    }
    if (!now || !MessageDifferencer::Equals(*now, it->second)) {
      Fail("stored organization differs from the acknowledged one", id);
    }
  }

  // Records an acknowledged write.
  void Acknowledge(const Org& org) {
    const std::string id = org.name().substr(std::string("organizations/").size());
    model_[id] = org;
    acknowledged_.push_back(org);
    ExpectModel(id);
    // Listed.
    v1::ListOrganizationsRequest list;
    list.set_show_deleted(true);
    list.set_page_size(1000);
    absl::StatusOr<v1::ListOrganizationsResponse> listed = registry_->ListOrganizations(list);
    if (!listed.ok()) Fail("List failed", listed.status().ToString());
    bool found = false;
    for (const Org& o : listed->organizations()) found |= o.name() == org.name();
    PRESENCE_FUZZ_CHECK(found, "acknowledged organization not listed");
  }

  // The change feed is exactly the acknowledged writes, in order, from 1.
  void CheckFeed() {
    absl::StatusOr<int64_t> current = registry_->CurrentRevision();
    if (!current.ok()) Fail("CurrentRevision failed", current.status().ToString());
    PRESENCE_FUZZ_CHECK(*current == static_cast<int64_t>(acknowledged_.size()),
                        absl::StrCat(*current, " vs ", acknowledged_.size()));
    absl::StatusOr<std::vector<v1::OrganizationChange>> changes =
        registry_->ReadChanges(0, acknowledged_.size() + 8);
    if (!changes.ok()) Fail("ReadChanges failed", changes.status().ToString());
    PRESENCE_FUZZ_CHECK(changes->size() == acknowledged_.size(), "feed length");
    for (size_t i = 0; i < changes->size(); ++i) {
      PRESENCE_FUZZ_CHECK((*changes)[i].revision() == static_cast<int64_t>(i + 1), "feed order");
      PRESENCE_FUZZ_CHECK(MessageDifferencer::Equals((*changes)[i].organization(), acknowledged_[i]),
                          absl::StrCat("feed entry ", i + 1, " differs from the acknowledged write"));
    }
  }

  void CheckListing() {
    v1::ListOrganizationsRequest list;
    list.set_show_deleted(true);
    list.set_page_size(2);
    std::map<std::string, Org> seen;
    for (int pages = 0;; ++pages) {
      PRESENCE_FUZZ_CHECK(pages < 1000, "paging does not end");
      absl::StatusOr<v1::ListOrganizationsResponse> page = registry_->ListOrganizations(list);
      if (!page.ok()) Fail("List page failed", page.status().ToString());
      for (const Org& o : page->organizations()) {
        const std::string id = o.name().substr(std::string("organizations/").size());
        PRESENCE_FUZZ_CHECK(seen.emplace(id, o).second, "listed twice: " + id);
      }
      if (page->next_page_token().empty()) break;
      list.set_page_token(page->next_page_token());
    }
    PRESENCE_FUZZ_CHECK(seen.size() == model_.size(), "listing differs from the model");
    for (const auto& [id, org] : model_) {
      PRESENCE_FUZZ_CHECK(seen.count(id) && MessageDifferencer::Equals(seen[id], org), id);
    }
  }

  void Run(FuzzedDataProvider& p) {
    for (int step = 0; step < 24 && p.remaining_bytes() > 0; ++step) {
      switch (p.ConsumeIntegralInRange(0, 9)) {
        case 0:
        case 1:
          Create(p);
          break;
        case 2:
          BatchCreate(p);
          break;
        case 3:
        case 4:
          Update(p);
          break;
        case 5:
          DeleteOrUndelete(p, /*undelete=*/false);
          break;
        case 6:
          DeleteOrUndelete(p, /*undelete=*/true);
          break;
        case 7: {
          v1::LookupOrganizationRequest r;
          absl::StatusOr<Org> got = registry_->LookupOrganization(Pick(p, kWords));
          Check(got.status(), "Lookup");
          if (got.ok()) {
            PRESENCE_FUZZ_CHECK(got->state() == Org::ACTIVE, "lookup found a deleted organization");
          }
          break;
        }
        case 8: {
          v1::ListOrganizationsRequest r;
          if (!r.ParseFromString(p.ConsumeRandomLengthString(64))) r.Clear();
          Check(registry_->ListOrganizations(r).status(), "List");
          v1::ListOrganizationRevisionsRequest h;
          h.set_name(Name(p));
          h.set_page_size(p.ConsumeIntegralInRange(-1, 3));
          Check(registry_->ListOrganizationRevisions(h).status(), "History");
          break;
        }
        default: {
          v1::BatchGetOrganizationsRequest r;
          for (int i = p.ConsumeIntegralInRange(0, 3); i > 0; --i) r.add_names(Name(p));
          Check(registry_->BatchGetOrganizations(r).status(), "BatchGet");
          break;
        }
      }
      CheckFeed();
    }
    CheckListing();
  }

 private:
  void Create(FuzzedDataProvider& p) {
    v1::CreateOrganizationRequest r;
    r.set_organization_id(Id(p));
    if (p.ConsumeIntegralInRange(0, 7) != 0) *r.mutable_organization() = MakeOrg(p);
    r.set_request_id(Pick(p, kRequestIds));
    r.set_validate_only(p.ConsumeIntegralInRange(0, 5) == 0);
    absl::StatusOr<Org> result = registry_->CreateOrganization(r);
    Check(result.status(), "Create");
    if (result.ok() && !r.validate_only()) {
      auto first = requests_.find(r.request_id());
      if (first != requests_.end()) {
        // A retry: the first result, nothing new written.
        PRESENCE_FUZZ_CHECK(MessageDifferencer::Equals(*result, first->second),
                            "a retried request_id did not return the first result");
        ExpectModel(r.organization_id());
        return;
      }
      if (!r.request_id().empty()) requests_[r.request_id()] = *result;
      Acknowledge(*result);
      return;
    }
    ExpectModel(r.organization_id());
  }

  void BatchCreate(FuzzedDataProvider& p) {
    v1::BatchCreateOrganizationsRequest r;
    for (int i = p.ConsumeIntegralInRange(0, 3); i > 0; --i) {
      v1::CreateOrganizationRequest* c = r.add_requests();
      c->set_organization_id(Id(p));
      *c->mutable_organization() = MakeOrg(p);
    }
    r.set_validate_only(p.ConsumeIntegralInRange(0, 5) == 0);
    absl::StatusOr<v1::BatchCreateOrganizationsResponse> result =
        registry_->BatchCreateOrganizations(r);
    Check(result.status(), "BatchCreate");
    if (result.ok() && !r.validate_only()) {
      PRESENCE_FUZZ_CHECK(result->organizations_size() == r.requests_size(), "batch size");
      for (const Org& org : result->organizations()) Acknowledge(org);
      return;
    }
    for (const auto& c : r.requests()) ExpectModel(c.organization_id());
  }

  void Update(FuzzedDataProvider& p) {
    v1::UpdateOrganizationRequest r;
    const std::string id = Id(p);
    *r.mutable_organization() = MakeOrg(p);
    r.mutable_organization()->set_name("organizations/" + id);
    if (p.ConsumeBool()) {
      auto it = model_.find(id);
      r.mutable_organization()->set_etag(it != model_.end() && p.ConsumeBool() ? it->second.etag()
                                                                               : "\"999\"");
    }
    if (p.ConsumeBool()) {
      r.mutable_update_mask();
      for (int i = p.ConsumeIntegralInRange(0, 3); i > 0; --i) {
        r.mutable_update_mask()->add_paths(Pick(p, kPaths));
      }
    }
    r.set_validate_only(p.ConsumeIntegralInRange(0, 5) == 0);
    absl::StatusOr<Org> result = registry_->UpdateOrganization(r);
    Check(result.status(), "Update");
    if (result.ok() && !r.validate_only()) {
      Acknowledge(*result);
      return;
    }
    ExpectModel(id);
  }

  void DeleteOrUndelete(FuzzedDataProvider& p, bool undelete) {
    const std::string id = Id(p);
    std::string etag;
    if (p.ConsumeBool()) {
      auto it = model_.find(id);
      etag = it != model_.end() && p.ConsumeBool() ? it->second.etag() : "\"999\"";
    }
    const bool validate_only = p.ConsumeIntegralInRange(0, 5) == 0;
    absl::StatusOr<Org> result;
    if (undelete) {
      v1::UndeleteOrganizationRequest r;
      r.set_name("organizations/" + id);
      r.set_etag(etag);
      r.set_validate_only(validate_only);
      result = registry_->UndeleteOrganization(r);
    } else {
      v1::DeleteOrganizationRequest r;
      r.set_name("organizations/" + id);
      r.set_etag(etag);
      r.set_validate_only(validate_only);
      result = registry_->DeleteOrganization(r);
    }
    Check(result.status(), undelete ? "Undelete" : "Delete");
    if (result.ok() && !validate_only) {
      PRESENCE_FUZZ_CHECK(result->state() == (undelete ? Org::ACTIVE : Org::DELETED), "state");
      Acknowledge(*result);
      return;
    }
    ExpectModel(id);
  }

  std::unique_ptr<presence::registry::Registry> registry_;
  std::map<std::string, Org> model_;          // id -> last acknowledged version
  std::vector<Org> acknowledged_;             // every acknowledged write, in order
  std::map<std::string, Org> requests_;       // request_id -> first result
};

}  // namespace

// Arbitrary bytes parsed as messages make libprotobuf log every invalid
// UTF-8 string it meets; the parse result is what is checked here
// (PRESENCE_FUZZ_VERBOSE=1 keeps them, to debug a finding).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("PRESENCE_FUZZ_VERBOSE") == nullptr) google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  presence::fuzz::FreshStore fresh(presence::registry::kTableNames,
                                   presence::registry::kSchemaVersion);
  presence::registry::RegistryOptions options;
  options.now = [] { return absl::FromUnixSeconds(1700000000); };
  absl::StatusOr<std::unique_ptr<presence::registry::Registry>> registry =
      presence::registry::Registry::Open(fresh.Take(), options);
  if (!registry.ok()) Fail("Open failed", registry.status().ToString());
  FuzzedDataProvider provider(data, size);
  Harness harness(*std::move(registry));
  harness.Run(provider);
  return 0;
}
