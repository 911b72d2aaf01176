// The registry's mutation engine: the domain checks every mutation runs
// against the store, and the one write path (one serializable transaction:
// request id, current version, plan, checks, revision, commit).

#include "services/registry/registry_mutation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/echo.h"
#include "services/common/key_codec.h"
#include "services/common/standard_errors.h"
#include "services/common/status_macros.h"
#include "services/registry/registry_internal.pb.h"
#include "services/registry/registry_keys.h"
#include "services/registry/registry_validation.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;

// Parent chains longer than this are rejected (they are certainly a mistake).
constexpr int kMaxParentDepth = 32;

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

}  // namespace

absl::Status Registry::CheckLiveReference(storage::Transaction& txn,
                                          absl::string_view name,
                                          absl::string_view field) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id, ParseOrganizationName(name, field));
  PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org, ReadRecord(txn, id));
  if (!org) return UnknownOrganizationError(field, name);
  if (!IsLive(*org)) return DeletedOrganizationError(field, name);
  return absl::OkStatus();
}

absl::Status Registry::CheckAppointers(storage::Transaction& txn,
                                       const Organization& org) {
  for (int i = 0; i < org.leaders_size(); ++i) {
    const std::string& by = org.leaders(i).appointed_by();
    if (by.empty() || by == org.name()) continue;
    const std::string field =
        absl::StrCat("organization.leaders[", i, "].appointed_by");
    PRESENCE_ASSIGN_OR_RETURN(std::string id, ParseOrganizationName(by, field));
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> appointer,
                              ReadRecord(txn, id));
    if (!appointer) return UnknownOrganizationError(field, by);
  }
  return absl::OkStatus();
}

absl::Status Registry::CheckAliasesFree(
    storage::Transaction& txn, const Organization& org,
    const std::optional<Organization>& current) {
  const std::string id(absl::StripPrefix(org.name(), kNamePrefix));
  // Becoming live (create, undelete): the id must not be another live
  // organization's alias.
  if (!IsLive(current)) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                              txn.Get(kIndex, AliasIndexKey(id)));
    if (holder && *holder != id) {
      return ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                 Name(id), ": the id \"", id, "\" is an alias of ", Name(*holder))))
          .Reason(kAliasTaken)
          .Meta("alias", id)
          .Meta("holder", Name(*holder))
          .Resource(kOrganizationType, Name(*holder));
    }
  }
  for (const std::string& key : AliasKeys(org)) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                              txn.Get(kIndex, AliasIndexKey(key)));
    if (holder && *holder != id) {
      return ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                 "organization.aliases: ", QuotedEcho(key),
                 " (acronym or alias, case-insensitive) is already used by ",
                 Name(*holder))))
          .Reason(kAliasTaken)
          .Meta("alias", key)
          .Meta("holder", Name(*holder))
          .Resource(kOrganizationType, Name(*holder));
    }
    if (key != id && IsValidOrganizationId(key)) {
      PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> other,
                                ReadRecord(txn, key));
      if (IsLive(other)) {
        return ErrorBuilder(absl::AlreadyExistsError(absl::StrCat(
                   "organization.aliases: ", QuotedEcho(key), " is the id of ", Name(key))))
            .Reason(kAliasTaken)
            .Meta("alias", key)
            .Meta("holder", Name(key))
            .Resource(kOrganizationType, Name(key));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Registry::CheckNoLiveChildren(storage::Transaction& txn,
                                           absl::string_view id) {
  storage::ReadOptions ro;
  ro.lower_bound = ParentIndexPrefix(id);
  ro.upper_bound = PrefixSuccessor(ro.lower_bound);
  std::unique_ptr<storage::Iterator> it = txn.NewIterator(kIndex, ro);
  for (it->Seek(ro.lower_bound); it->Valid(); it->Next()) {
    const std::string child(it->key().substr(ro.lower_bound.size()));
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org,
                              ReadRecord(txn, child));
    if (IsLive(org) && org->parent_organization() == Name(id)) {
      return ErrorBuilder(absl::FailedPreconditionError(absl::StrCat(
                 Name(id), " is the parent_organization of live ", Name(child),
                 "; delete or re-parent it first")))
          .Reason(kParentHasLiveChildren)
          .Meta("organization", Name(id))
          .Meta("child", Name(child))
          .Precondition("LIVE_CHILD", Name(child),
                        absl::StrCat(Name(child), " is live and names ", Name(id),
                                     " as its parent_organization"));
    }
  }
  return it->status();
}

absl::Status Registry::CheckNoCycle(storage::Transaction& txn,
                                    absl::string_view id,
                                    absl::string_view parent_name) {
  std::string ancestor(absl::StripPrefix(parent_name, kNamePrefix));
  for (int depth = 0; depth < kMaxParentDepth && !ancestor.empty(); ++depth) {
    if (ancestor == id) {
      return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
                 "organization.parent_organization: ", parent_name,
                 " would make ", Name(id), " its own ancestor")))
          .Reason(kParentCycle)
          .Meta("organization", Name(id))
          .Meta("parent", parent_name);
    }
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org,
                              ReadRecord(txn, ancestor));
    if (!org) return absl::OkStatus();
    ancestor = ParentId(*org);
  }
  if (!ancestor.empty()) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "organization.parent_organization: ", parent_name,
               " has more than ", kMaxParentDepth, " ancestors")))
        .Reason(kParentCycle)
        .Meta("organization", Name(id))
        .Meta("parent", parent_name);
  }
  return absl::OkStatus();
}

void Registry::Stamp(Organization* org, int64_t revision, int type,
                     const std::string& principal) const {
  const google::protobuf::Timestamp now = ToProtoTime(options_.now());
  org->set_revision(revision);
  org->set_etag(Etag(revision));
  org->set_last_modified_by(principal);
  *org->mutable_update_time() = now;
  switch (type) {
    case OrganizationChange::CREATED:
      *org->mutable_create_time() = now;
      break;
    case OrganizationChange::DELETED:
      *org->mutable_delete_time() = now;
      break;
    case OrganizationChange::UNDELETED:
      org->clear_delete_time();
      break;
    default:
      break;
  }
}

void Registry::AppendMutation(storage::Transaction& txn, absl::string_view id,
                              const std::optional<Organization>& current,
                              const Organization& org, int type,
                              const std::string& principal) const {
  const std::string value = org.SerializeAsString();
  txn.Put(kRecords, id, value);
  txn.Put(kRevisions, RevisionKey(id, org.revision()), value);
  OrganizationChange change;
  change.set_revision(org.revision());
  change.set_type(static_cast<OrganizationChange::Type>(type));
  change.set_principal(principal);
  *change.mutable_organization() = org;
  txn.Put(kChanges, EncodeUint64(static_cast<uint64_t>(org.revision())),
          change.SerializeAsString());

  const std::vector<std::string> old_keys =
      IsLive(current) ? AliasKeys(*current) : std::vector<std::string>{};
  const std::vector<std::string> new_keys =
      IsLive(org) ? AliasKeys(org) : std::vector<std::string>{};
  for (const std::string& k : old_keys) {
    if (!std::binary_search(new_keys.begin(), new_keys.end(), k)) {
      txn.Delete(kIndex, AliasIndexKey(k));
    }
  }
  for (const std::string& k : new_keys) {
    if (!std::binary_search(old_keys.begin(), old_keys.end(), k)) {
      txn.Put(kIndex, AliasIndexKey(k), id);
    }
  }
  const std::string old_parent = current ? ParentId(*current) : "";
  const std::string new_parent = ParentId(org);
  if (old_parent != new_parent) {
    if (!old_parent.empty()) {
      txn.Delete(kIndex, ParentIndexPrefix(old_parent) + std::string(id));
    }
    if (!new_parent.empty()) {
      txn.Put(kIndex, ParentIndexPrefix(new_parent) + std::string(id), "");
    }
  }
}

absl::StatusOr<Organization> Registry::Mutate(absl::string_view id,
                                              absl::string_view request_id,
                                              const CallContext& call,
                                              bool validate_only,
                                              const PlanFn& plan) {
  Organization result;
  bool wrote = false;
  storage::TransactOptions options;
  // Every mutation allocates the next revision: serialized, they never
  // conflict over it, and watchers everywhere are woken.
  options.serialized = !validate_only;
  options.notify = !validate_only;
  PRESENCE_RETURN_IF_ERROR(store_->Transact(
      [&](storage::Transaction& txn) -> absl::Status {
        wrote = false;
        if (!request_id.empty()) {
          PRESENCE_ASSIGN_OR_RETURN(std::optional<RequestIds::Stored> previous,
                                    request_ids_.Find(txn, request_id));
          if (previous) {
            if (previous->resource_id != id) {
              return RequestIdReusedError(request_id, Name(previous->resource_id));
            }
            PRESENCE_ASSIGN_OR_RETURN(
                result, ParseOrganization(previous->result, Name(id)));
            return absl::OkStatus();
          }
        }
        PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> current,
                                  ReadRecord(txn, id));
        PRESENCE_ASSIGN_OR_RETURN(Plan p, plan(txn, current));
        if (p.unchanged) {
          result = std::move(p.result);
          return absl::OkStatus();
        }
        Organization& org = p.result;
        if (IsLive(org)) {
          PRESENCE_RETURN_IF_ERROR(CheckAliasesFree(txn, org, current));
        }
        if (validate_only) {
          result = std::move(org);
          return absl::OkStatus();
        }
        PRESENCE_ASSIGN_OR_RETURN(const int64_t last, LastRevision(txn));
        const int64_t revision = last + 1;
        Stamp(&org, revision, p.type, call.principal);
        AppendMutation(txn, id, current, org, p.type, call.principal);
        if (!request_id.empty()) {
          PRESENCE_RETURN_IF_ERROR(request_ids_.Record(
              txn, request_id, id, org.SerializeAsString()));
        }
        AppendChangeLogTrim(revision, 1, txn);
        result = std::move(org);
        wrote = !request_id.empty();
        return absl::OkStatus();
      },
      options));
  if (wrote) (void)request_ids_.SweepIfDue(store_.get());  // Best effort.
  return result;
}

}  // namespace presence::registry
