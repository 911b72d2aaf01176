// The registry's write methods: what each mutation plans, given the current
// version (see registry_mutation.cc for how plans are committed).

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/field_behavior.h"
#include "services/common/field_mask.h"
#include "services/common/resource_name.h"
#include "services/common/standard_errors.h"
#include "services/common/status_macros.h"
#include "services/registry/registry_keys.h"
#include "services/registry/registry_mutation.h"
#include "services/registry/registry_validation.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;

constexpr size_t kMaxBatchCreate = 1000;


}  // namespace

absl::StatusOr<Organization> Registry::CreateOrganization(
    const v1::CreateOrganizationRequest& request, const CallContext& call) {
  const std::string& id = request.organization_id();
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request, "", Nested::kSkip));
  PRESENCE_RETURN_IF_ERROR(ValidateResourceId(id, "organization_id"));
  PRESENCE_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  Organization desired = request.organization();
  ClearOutputOnlyFields(&desired);
  desired.clear_etag();  // AIP-154: a precondition of updates only.
  desired.set_name(Name(id));
  desired.set_state(Organization::ACTIVE);
  PRESENCE_RETURN_IF_ERROR(ValidateOrganization(desired));

  const auto lock_keys = [&](const std::optional<Organization>&) {
    std::vector<std::string> keys;
    AddAliasLockKeys(desired, &keys);
    if (!desired.parent_organization().empty()) {
      keys.push_back(absl::StrCat("o/", ParentId(desired)));
    }
    return keys;
  };
  const auto plan =
      [&](const std::optional<Organization>& current) -> absl::StatusOr<Plan> {
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
          desired.parent_organization(), "organization.parent_organization"));
    }
    PRESENCE_RETURN_IF_ERROR(CheckAppointers(desired));
    return Plan{desired, OrganizationChange::CREATED};
  };
  return Mutate(id, request.request_id(), call, request.validate_only(),
                lock_keys, plan);
}

absl::StatusOr<v1::BatchCreateOrganizationsResponse>
Registry::BatchCreateOrganizations(
    const v1::BatchCreateOrganizationsRequest& request, const CallContext& call) {
  const int n = request.requests_size();
  if (n == 0) {
    return ErrorBuilder(absl::InvalidArgumentError("requests: at least one is required"))
        .Reason(kFieldRequired)
        .Meta("field", "requests");
  }
  if (static_cast<size_t>(n) > kMaxBatchCreate) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "requests: ", n, " creations, at most ", kMaxBatchCreate, " allowed")))
        .Reason(kLimitExceeded)
        .Meta("field", "requests")
        .Meta("limit", absl::StrCat(kMaxBatchCreate));
  }
  const auto in_request = [](int i, const absl::Status& s) {
    return PrefixFieldPath(s, absl::StrCat("requests[", i, "]."));
  };
  std::vector<Organization> orgs;
  std::vector<std::string> keys;
  absl::flat_hash_map<std::string, int> position;  // id -> index in request
  for (int i = 0; i < n; ++i) {
    const v1::CreateOrganizationRequest& create = request.requests(i);
    if (absl::Status s = CheckRequiredFields(create, "", Nested::kSkip); !s.ok()) {
      return in_request(i, s);
    }
    if (absl::Status s = ValidateResourceId(create.organization_id(), "organization_id");
        !s.ok()) {
      return in_request(i, s);
    }
    if (!position.emplace(create.organization_id(), i).second) {
      return in_request(i, DuplicateEntryError(
                               "organization_id",
                               absl::StrCat("organization_id: \"", create.organization_id(),
                                            "\" is created twice in this request")));
    }
    Organization org = create.organization();
    ClearOutputOnlyFields(&org);
    org.clear_etag();
    org.set_name(Name(create.organization_id()));
    org.set_state(Organization::ACTIVE);
    if (absl::Status s = ValidateOrganization(org); !s.ok()) return in_request(i, s);
    keys.push_back(absl::StrCat("o/", create.organization_id()));
    keys.push_back(absl::StrCat("a/", create.organization_id()));
    AddAliasLockKeys(org, &keys);
    if (!org.parent_organization().empty()) {
      keys.push_back(absl::StrCat("o/", ParentId(org)));
    }
    orgs.push_back(std::move(org));
  }
  {
    absl::MutexLock lock(&failure_mu_);
    if (!failure_.ok()) return failure_;
  }
  const std::vector<absl::string_view> views(keys.begin(), keys.end());
  KeyLocks::Guard guard = locks_.LockAll(views);

  // Checks against the store and against the organizations before this one
  // in the request.
  absl::flat_hash_map<std::string, std::string> batch_aliases;  // key -> id
  for (int i = 0; i < n; ++i) {
    const Organization& org = orgs[i];
    const std::string id = request.requests(i).organization_id();
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> existing, ReadRecord(id));
    if (existing) {
      return in_request(i, ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                                   "organization_id: ", Name(id), " already exists")))
                               .Reason(kOrganizationAlreadyExists)
                               .Meta("organization", Name(id))
                               .Meta("state", Organization::State_Name(existing->state()))
                               .Resource(kOrganizationType, Name(id)));
    }
    if (auto it = batch_aliases.find(id); it != batch_aliases.end()) {
      return in_request(i, ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                                   "organization_id: \"", id, "\" is an alias of ",
                                   Name(it->second), " in this request")))
                               .Reason(kAliasTaken)
                               .Meta("alias", id)
                               .Meta("holder", Name(it->second))
                               .Resource(kOrganizationType, Name(it->second)));
    }
    if (absl::Status s = CheckAliasesFree(org, std::nullopt); !s.ok()) {
      return in_request(i, s);
    }
    for (const std::string& key : AliasKeys(org)) {
      auto taken = batch_aliases.find(key);
      auto as_id = position.find(key);
      if ((taken != batch_aliases.end() && taken->second != id) ||
          (as_id != position.end() && as_id->first != id)) {
        return in_request(i, ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                                     "organization.aliases: \"", key,
                                     "\" is already used in this request")))
                                 .Reason(kAliasTaken)
                                 .Meta("alias", key)
                                 .Meta("holder", Name(taken != batch_aliases.end()
                                                          ? taken->second
                                                          : as_id->first))
                                 .Resource(kOrganizationType,
                                           Name(taken != batch_aliases.end()
                                                    ? taken->second
                                                    : as_id->first)));
      }
      batch_aliases[key] = id;
    }
    const auto earlier = [&](const std::string& name) {
      auto it = position.find(std::string(absl::StripPrefix(name, kNamePrefix)));
      return it != position.end() && it->second < i;
    };
    if (!org.parent_organization().empty() && !earlier(org.parent_organization())) {
      if (org.parent_organization() == org.name()) {
        return in_request(i, ErrorBuilder(absl::InvalidArgumentError(
                                 "organization.parent_organization: an organization "
                                 "cannot be its own parent"))
                                 .Reason(kParentCycle)
                                 .Meta("organization", org.name())
                                 .Meta("parent", org.parent_organization()));
      }
      if (absl::Status s = CheckLiveReference(org.parent_organization(),
                                              "organization.parent_organization");
          !s.ok()) {
        return in_request(i, s);
      }
    }
    Organization appointers = org;
    appointers.clear_leaders();
    for (const auto& leader : org.leaders()) {
      if (!earlier(leader.appointed_by())) *appointers.add_leaders() = leader;
    }
    if (absl::Status s = CheckAppointers(appointers); !s.ok()) return in_request(i, s);
  }
  v1::BatchCreateOrganizationsResponse response;
  if (request.validate_only()) {
    for (Organization& org : orgs) *response.add_organizations() = std::move(org);
    return response;
  }
  const int64_t first = sequencer_.BeginBatch(n);
  storage::WriteBatch batch;
  for (int i = 0; i < n; ++i) {
    Stamp(&orgs[i], first + i, OrganizationChange::CREATED, call.principal);
    AppendMutation(request.requests(i).organization_id(), std::nullopt, std::nullopt,
                   orgs[i], OrganizationChange::CREATED, call.principal, &batch);
  }
  PRESENCE_RETURN_IF_ERROR(Commit(&batch, first, n));
  for (Organization& org : orgs) *response.add_organizations() = std::move(org);
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

  const auto lock_keys = [&](const std::optional<Organization>& current) {
    std::vector<std::string> keys;
    if (!current) return keys;
    const Organization merged =
        ApplyUpdate(*current, patch, mask);
    AddAliasLockKeys(merged, &keys);
    if (!merged.parent_organization().empty()) {
      keys.push_back(absl::StrCat("o/", ParentId(merged)));
    }
    return keys;
  };
  const auto plan =
      [&](const std::optional<Organization>& current) -> absl::StatusOr<Plan> {
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
    if (!patch.etag().empty() && patch.etag() != current->etag()) {
      return EtagMismatchError("organization.etag", patch.etag(), current->etag(),
                               Name(id), kOrganizationType);
    }
    Organization merged =
        ApplyUpdate(*current, patch, mask);
    PRESENCE_RETURN_IF_ERROR(ValidateOrganization(merged));
    if (merged.parent_organization() != current->parent_organization() &&
        !merged.parent_organization().empty()) {
      PRESENCE_RETURN_IF_ERROR(CheckLiveReference(
          merged.parent_organization(), "organization.parent_organization"));
      PRESENCE_RETURN_IF_ERROR(
          CheckNoCycle(id, merged.parent_organization()));
    }
    PRESENCE_RETURN_IF_ERROR(CheckAppointers(merged));
    return Plan{std::move(merged), OrganizationChange::UPDATED};
  };
  return Mutate(id, "", call, request.validate_only(), lock_keys, plan);
}

absl::StatusOr<Organization> Registry::DeleteOrganization(
    const v1::DeleteOrganizationRequest& request, const CallContext& call) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id,
                            ParseOrganizationName(request.name(), "name"));
  const auto lock_keys = [](const std::optional<Organization>&) {
    return std::vector<std::string>{};
  };
  const auto plan =
      [&](const std::optional<Organization>& current) -> absl::StatusOr<Plan> {
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
    if (!request.etag().empty() && request.etag() != current->etag()) {
      return EtagMismatchError("etag", request.etag(), current->etag(),
                               request.name(), kOrganizationType);
    }
    // Children lock their parent's key to be created, undeleted or
    // re-parented, so none can appear while this check holds.
    PRESENCE_RETURN_IF_ERROR(CheckNoLiveChildren(id));
    Organization org = *current;
    org.set_state(Organization::DELETED);
    return Plan{std::move(org), OrganizationChange::DELETED};
  };
  return Mutate(id, "", call, request.validate_only(), lock_keys, plan);
}

absl::StatusOr<Organization> Registry::UndeleteOrganization(
    const v1::UndeleteOrganizationRequest& request, const CallContext& call) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id,
                            ParseOrganizationName(request.name(), "name"));
  const auto lock_keys = [](const std::optional<Organization>& current) {
    std::vector<std::string> keys;
    if (current && !current->parent_organization().empty()) {
      keys.push_back(absl::StrCat("o/", ParentId(*current)));
    }
    return keys;
  };
  const auto plan =
      [&](const std::optional<Organization>& current) -> absl::StatusOr<Plan> {
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
    if (!request.etag().empty() && request.etag() != current->etag()) {
      return EtagMismatchError("etag", request.etag(), current->etag(),
                               request.name(), kOrganizationType);
    }
    if (!current->parent_organization().empty()) {
      PRESENCE_RETURN_IF_ERROR(CheckLiveReference(
          current->parent_organization(), "organization.parent_organization"));
    }
    Organization org = *current;
    org.set_state(Organization::ACTIVE);
    return Plan{std::move(org), OrganizationChange::UNDELETED};
  };
  return Mutate(id, "", call, request.validate_only(), lock_keys, plan);
}

}  // namespace presence::registry
