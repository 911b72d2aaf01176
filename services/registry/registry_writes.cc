// The registry's write methods: what each mutation plans, given the current
// version (see registry_mutation.cc for how plans are committed).

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/field_behavior.h"
#include "services/common/echo.h"
#include "services/common/field_mask.h"
#include "services/common/resource_name.h"
#include "services/common/standard_errors.h"
#include "services/common/status_macros.h"
#include "services/common/write/batch_create.h"
#include "services/common/write/preconditions.h"
#include "services/registry/registry_keys.h"
#include "services/registry/registry_mutation.h"
#include "services/registry/registry_validation.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;

// meta: set once the seed data was loaded (or found unnecessary).
constexpr char kSeededKey[] = "seeded";

CreateEnvelope Envelope(const v1::CreateOrganizationRequest& request) {
  return {"organization_id", request.organization_id(), "organization",
          request.has_organization(), request.request_id()};
}

// The organization a create request asks for: its fields without the
// output-only ones (from the annotations) and the etag, named
// organizations/{id}, live.
Organization NewOrganization(const v1::CreateOrganizationRequest& request) {
  Organization org = request.organization();
  ClearOutputOnlyFields(&org);
  org.clear_etag();  // AIP-154: a precondition of updates only.
  ClearEmptyPartialDates(&org);
  org.set_name(Name(request.organization_id()));
  org.set_state(Organization::ACTIVE);
  return org;
}

}  // namespace

absl::StatusOr<Organization> Registry::CreateOrganization(
    const v1::CreateOrganizationRequest& request, const CallContext& call) {
  PRESENCE_RETURN_IF_ERROR(CheckCreateEnvelope(Envelope(request)));
  const std::string& id = request.organization_id();
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request, "", Nested::kSkip));
  const Organization desired = NewOrganization(request);
  PRESENCE_RETURN_IF_ERROR(ValidateOrganization(desired));

  const auto plan = [&](storage::Transaction& txn,
                        const std::optional<Organization>& current)
      -> absl::StatusOr<Plan> {
    if (current) {
      return ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                 Name(id), " already exists",
                 IsLive(*current) ? "" : " (deleted; undelete it instead)")))
          .Reason(kOrganizationAlreadyExists)
          .Meta("organization", Name(id))
          .Meta("state", Organization::State_Name(current->state()))
          .Resource(kOrganizationType, Name(id));
    }
    if (!desired.parent_organization().empty()) {
      if (desired.parent_organization() == desired.name()) {
        return ErrorBuilder(absl::InvalidArgumentError(
                   "organization.parent_organization: an organization cannot be its "
                   "own parent"))
            .Reason(kParentCycle)
            .Meta("organization", desired.name())
            .Meta("parent", desired.parent_organization());
      }
      PRESENCE_RETURN_IF_ERROR(CheckLiveReference(
          txn, desired.parent_organization(), "organization.parent_organization"));
    }
    PRESENCE_RETURN_IF_ERROR(CheckAppointers(txn, desired));
    return Plan{desired, OrganizationChange::CREATED};
  };
  return Mutate(id, request.request_id(), call, request.validate_only(), plan);
}

absl::StatusOr<v1::BatchCreateOrganizationsResponse>
Registry::BatchCreateOrganizations(
    const v1::BatchCreateOrganizationsRequest& request, const CallContext& call) {
  return BatchCreate(request, call, /*seed=*/false);
}

absl::StatusOr<int> Registry::SeedOnce(const std::vector<Organization>& orgs) {
  v1::BatchCreateOrganizationsRequest request;
  for (const Organization& org : orgs) {
    v1::CreateOrganizationRequest* create = request.add_requests();
    create->set_organization_id(std::string(absl::StripPrefix(org.name(), kNamePrefix)));
    *create->mutable_organization() = org;
  }
  CallContext call;
  call.principal = "seed";
  PRESENCE_ASSIGN_OR_RETURN(v1::BatchCreateOrganizationsResponse created,
                            BatchCreate(request, call, /*seed=*/true));
  return created.organizations_size();
}

absl::StatusOr<v1::BatchCreateOrganizationsResponse> Registry::BatchCreate(
    const v1::BatchCreateOrganizationsRequest& request, const CallContext& call,
    bool seed) {
  const int n = request.requests_size();
  std::vector<Organization> orgs;
  absl::flat_hash_map<std::string, int> position;  // id -> index in request
  PRESENCE_RETURN_IF_ERROR(CheckBatchCreate(
      n, [&](int i) { return Envelope(request.requests(i)); },
      [&](int i) {
        PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request.requests(i), "", Nested::kSkip));
        position.emplace(request.requests(i).organization_id(), i);
        orgs.push_back(NewOrganization(request.requests(i)));
        return ValidateOrganization(orgs.back());
      }));

  v1::BatchCreateOrganizationsResponse response;
  storage::TransactOptions options;
  options.serialized = !request.validate_only();
  options.notify = !request.validate_only();
  PRESENCE_RETURN_IF_ERROR(store_->Transact(
      [&](storage::Transaction& txn) -> absl::Status {
        response.Clear();
        if (seed) {
          // Once per database: the marker says it was seeded; a database
          // that ever held an organization is not seeded either, and is
          // marked so.
          PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> marker,
                                    txn.Get(kMeta, kSeededKey));
          if (marker) return absl::OkStatus();
          PRESENCE_ASSIGN_OR_RETURN(const int64_t last, LastRevision(txn));
          txn.Put(kMeta, kSeededKey, "");
          if (last > 0) return absl::OkStatus();
        }
        // Checks against the store and against the organizations before
        // this one in the request.
        absl::flat_hash_map<std::string, std::string> batch_aliases;  // key -> id
        for (int i = 0; i < n; ++i) {
          const Organization& org = orgs[i];
          const std::string& id = request.requests(i).organization_id();
          PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> existing,
                                    ReadRecord(txn, id));
          if (existing) {
            return InRequest(i, ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                                         "organization_id: ", Name(id), " already exists")))
                                    .Reason(kOrganizationAlreadyExists)
                                    .Meta("organization", Name(id))
                                    .Meta("state", Organization::State_Name(existing->state()))
                                    .Resource(kOrganizationType, Name(id)));
          }
          if (auto it = batch_aliases.find(id); it != batch_aliases.end()) {
            return InRequest(i, ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                                         "organization_id: \"", id, "\" is an alias of ",
                                         Name(it->second), " in this request")))
                                    .Reason(kAliasTaken)
                                    .Meta("alias", id)
                                    .Meta("holder", Name(it->second))
                                    .Resource(kOrganizationType, Name(it->second)));
          }
          PRESENCE_RETURN_IF_ERROR(
              InRequest(i, CheckAliasesFree(txn, org, std::nullopt)));
          for (const std::string& key : AliasKeys(org)) {
            auto taken = batch_aliases.find(key);
            if ((taken != batch_aliases.end() && taken->second != id) ||
                (key != id && position.contains(key))) {
              // Held by an earlier alias of the batch, or by an id in it.
              const std::string holder =
                  Name(taken != batch_aliases.end() && taken->second != id ? taken->second
                                                                          : key);
              return InRequest(i, ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                                           "organization.aliases: ", QuotedEcho(key),
                                           " is already used in this request")))
                                      .Reason(kAliasTaken)
                                      .Meta("alias", key)
                                      .Meta("holder", holder)
                                      .Resource(kOrganizationType, holder));
            }
            batch_aliases[key] = id;
          }
          const auto earlier = [&](const std::string& name) {
            auto it = position.find(std::string(absl::StripPrefix(name, kNamePrefix)));
            return it != position.end() && it->second < i;
          };
          if (!org.parent_organization().empty() &&
              !earlier(org.parent_organization())) {
            if (org.parent_organization() == org.name()) {
              return InRequest(i, ErrorBuilder(absl::InvalidArgumentError(
                                           "organization.parent_organization: an "
                                           "organization cannot be its own parent"))
                                      .Reason(kParentCycle)
                                      .Meta("organization", org.name())
                                      .Meta("parent", org.parent_organization()));
            }
            PRESENCE_RETURN_IF_ERROR(InRequest(
                i, CheckLiveReference(txn, org.parent_organization(),
                                      "organization.parent_organization")));
          }
          Organization appointers = org;
          appointers.clear_leaders();
          for (const auto& leader : org.leaders()) {
            if (!earlier(leader.appointed_by())) *appointers.add_leaders() = leader;
          }
          PRESENCE_RETURN_IF_ERROR(InRequest(i, CheckAppointers(txn, appointers)));
        }
        if (request.validate_only()) {
          for (const Organization& org : orgs) *response.add_organizations() = org;
          return absl::OkStatus();
        }
        PRESENCE_ASSIGN_OR_RETURN(const int64_t last, LastRevision(txn));
        for (int i = 0; i < n; ++i) {
          Organization org = orgs[i];
          Stamp(&org, last + 1 + i, OrganizationChange::CREATED, call.principal);
          AppendMutation(txn, request.requests(i).organization_id(), std::nullopt,
                         org, OrganizationChange::CREATED, call.principal);
          *response.add_organizations() = std::move(org);
        }
        AppendChangeLogTrim(last + 1, n, txn);
        return absl::OkStatus();
      },
      options));
  return response;
}

absl::StatusOr<Organization> Registry::UpdateOrganization(
    const v1::UpdateOrganizationRequest& request, const CallContext& call) {
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request, "", Nested::kSkip));
  PRESENCE_ASSIGN_OR_RETURN(
      std::string id,
      ParseOrganizationName(request.organization().name(), "organization.name"));
  PRESENCE_ASSIGN_OR_RETURN(
      const UpdateMask mask,
      ResolveUpdateMask(request.organization(),
                        request.has_update_mask() ? &request.update_mask()
                                                  : nullptr));
  const Organization& patch = request.organization();

  const auto plan = [&](storage::Transaction& txn,
                        const std::optional<Organization>& current)
      -> absl::StatusOr<Plan> {
    if (!current) {
      return OrganizationNotFoundError(Name(id), absl::StrCat(Name(id), " not found"));
    }
    if (!IsLive(*current)) {
      return ErrorBuilder(absl::FailedPreconditionError(absl::StrCat(Name(id), " is deleted; undelete it first")))
          .Reason(kOrganizationIsDeleted)
          .Meta("organization", Name(id))
          .Resource(kOrganizationType, Name(id))
          .Precondition("STATE", Name(id), "the organization is deleted");
    }
    PRESENCE_RETURN_IF_ERROR(CheckEtag("organization.etag", patch.etag(),
                                       current->etag(), Name(id), kOrganizationType));
    Organization merged = ApplyUpdate(*current, patch, mask);
    if (Unchanged(*current, merged)) {
      return Plan{*current, OrganizationChange::UPDATED, /*unchanged=*/true};
    }
    PRESENCE_RETURN_IF_ERROR(ValidateOrganization(merged));
    if (merged.parent_organization() != current->parent_organization() &&
        !merged.parent_organization().empty()) {
      PRESENCE_RETURN_IF_ERROR(CheckLiveReference(
          txn, merged.parent_organization(), "organization.parent_organization"));
      PRESENCE_RETURN_IF_ERROR(
          CheckNoCycle(txn, id, merged.parent_organization()));
    }
    PRESENCE_RETURN_IF_ERROR(CheckAppointers(txn, merged));
    return Plan{std::move(merged), OrganizationChange::UPDATED};
  };
  return Mutate(id, "", call, request.validate_only(), plan);
}

absl::StatusOr<Organization> Registry::DeleteOrganization(
    const v1::DeleteOrganizationRequest& request, const CallContext& call) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id,
                            ParseOrganizationName(request.name(), "name"));
  const auto plan = [&](storage::Transaction& txn,
                        const std::optional<Organization>& current)
      -> absl::StatusOr<Plan> {
    if (!current) {
      return OrganizationNotFoundError(request.name(),
                                       absl::StrCat(request.name(), " not found"));
    }
    if (!IsLive(*current)) {
      return ErrorBuilder(absl::FailedPreconditionError(
                              absl::StrCat(request.name(), " is already deleted")))
          .Reason(kOrganizationIsDeleted)
          .Meta("organization", request.name())
          .Resource(kOrganizationType, request.name())
          .Precondition("STATE", request.name(), "the organization is deleted");
    }
    PRESENCE_RETURN_IF_ERROR(CheckEtag("etag", request.etag(), current->etag(),
                                       request.name(), kOrganizationType));
    // In the same transaction as the deletion: a child created, undeleted
    // or re-parented concurrently conflicts with this read.
    PRESENCE_RETURN_IF_ERROR(CheckNoLiveChildren(txn, id));
    Organization org = *current;
    org.set_state(Organization::DELETED);
    return Plan{std::move(org), OrganizationChange::DELETED};
  };
  return Mutate(id, "", call, request.validate_only(), plan);
}

absl::StatusOr<Organization> Registry::UndeleteOrganization(
    const v1::UndeleteOrganizationRequest& request, const CallContext& call) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id,
                            ParseOrganizationName(request.name(), "name"));
  const auto plan = [&](storage::Transaction& txn,
                        const std::optional<Organization>& current)
      -> absl::StatusOr<Plan> {
    if (!current) {
      return OrganizationNotFoundError(request.name(),
                                       absl::StrCat(request.name(), " not found"));
    }
    if (IsLive(*current)) {
      return ErrorBuilder(absl::FailedPreconditionError(
                              absl::StrCat(request.name(), " is not deleted")))
          .Reason(kOrganizationNotDeleted)
          .Meta("organization", request.name())
          .Resource(kOrganizationType, request.name())
          .Precondition("STATE", request.name(), "the organization is not deleted");
    }
    PRESENCE_RETURN_IF_ERROR(CheckEtag("etag", request.etag(), current->etag(),
                                       request.name(), kOrganizationType));
    if (!current->parent_organization().empty()) {
      PRESENCE_RETURN_IF_ERROR(CheckLiveReference(
          txn, current->parent_organization(), "organization.parent_organization"));
    }
    Organization org = *current;
    org.set_state(Organization::ACTIVE);
    return Plan{std::move(org), OrganizationChange::UNDELETED};
  };
  return Mutate(id, "", call, request.validate_only(), plan);
}

}  // namespace presence::registry
