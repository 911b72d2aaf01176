// The registry's read methods. Reads never take a lock: each is one read or
// one snapshot of the store.

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/echo.h"
#include "services/common/key_codec.h"
#include "services/common/limits.h"
#include "services/common/page_token.h"
#include "services/common/partial_date.h"
#include "services/common/standard_errors.h"
#include "services/common/status_macros.h"
#include "services/common/wire_format.h"
#include "services/registry/registry.h"
#include "services/registry/registry_keys.h"
#include "services/registry/registry_validation.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::Organization;

constexpr size_t kMaxBatchGet = 1000;

// DATA_LOSS, as ParseOrganization's, unless `bytes` are a well-formed
// protobuf message (IsWellFormedMessage: checked, not parsed).
absl::Status CheckWellFormed(absl::string_view bytes, absl::string_view where) {
  if (IsWellFormedMessage(bytes)) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("unreadable record at ", where));
}


}  // namespace

absl::StatusOr<Organization> Registry::GetOrganization(absl::string_view name) {
  PRESENCE_ASSIGN_OR_RETURN(std::string bytes, GetOrganizationBytes(name));
  return ParseOrganization(bytes, name);
}

absl::StatusOr<std::string> Registry::GetOrganizationBytes(absl::string_view name) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id, ParseOrganizationName(name, "name"));
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(kRecords, id));
  if (!bytes) return OrganizationNotFoundError(name, absl::StrCat(name, " not found"));
  PRESENCE_RETURN_IF_ERROR(CheckWellFormed(*bytes, name));
  return *std::move(bytes);
}

absl::StatusOr<v1::BatchGetOrganizationsResponse>
Registry::BatchGetOrganizations(const v1::BatchGetOrganizationsRequest& request) {
  if (request.names_size() == 0) {
    return ErrorBuilder(absl::InvalidArgumentError("names: at least one name is required"))
        .Reason(kFieldRequired)
        .Meta("field", "names");
  }
  if (static_cast<size_t>(request.names_size()) > kMaxBatchGet) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "names: ", request.names_size(), " names, at most ", kMaxBatchGet,
               " allowed")))
        .Reason(kLimitExceeded)
        .Meta("field", "names")
        .Meta("limit", absl::StrCat(kMaxBatchGet));
  }
  std::vector<std::string> ids;
  for (int i = 0; i < request.names_size(); ++i) {
    PRESENCE_ASSIGN_OR_RETURN(
        std::string id,
        ParseOrganizationName(request.names(i), absl::StrCat("names[", i, "]")));
    ids.push_back(std::move(id));
  }
  PRESENCE_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Snapshot> snapshot,
                            store_->GetSnapshot());
  v1::BatchGetOrganizationsResponse response;
  for (size_t i = 0; i < ids.size(); ++i) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org,
                              ReadRecord(ids[i], snapshot.get()));
    if (!org) {
      return OrganizationNotFoundError(
          request.names(static_cast<int>(i)),
          absl::StrCat("names[", i, "]: ", request.names(static_cast<int>(i)),
                       " not found"));
    }
    *response.add_organizations() = *std::move(org);
  }
  return response;
}

absl::StatusOr<v1::ListOrganizationsResponse> Registry::ListOrganizations(
    const v1::ListOrganizationsRequest& request) {
  PRESENCE_ASSIGN_OR_RETURN(int32_t page_size,
                            EffectivePageSize(request.page_size()));
  if (!Organization::Kind_IsValid(request.kind())) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: ", request.kind(), " is not a kind"));
  }
  std::string parent_id;
  if (!request.parent_organization().empty()) {
    PRESENCE_ASSIGN_OR_RETURN(
        parent_id, ParseOrganizationName(request.parent_organization(),
                                         "parent_organization"));
  }
  std::optional<DayInterval> active_on;
  if (IsSet(request.has_active_on(), request.active_on())) {
    PRESENCE_RETURN_IF_ERROR(
        ValidatePartialDate(request.active_on(), "active_on"));
    active_on = ToInterval(request.active_on());
  }
  v1::ListOrganizationsRequest fingerprint = request;
  fingerprint.clear_page_size();
  fingerprint.clear_page_token();
  std::string after;
  if (!request.page_token().empty()) {
    PRESENCE_ASSIGN_OR_RETURN(after,
                              DecodePageToken(request.page_token(), fingerprint));
  }

  const auto matches = [&](const Organization& org) {
    if (!request.show_deleted() && !IsLive(org)) return false;
    if (request.kind() != Organization::KIND_UNSPECIFIED &&
        org.kind() != request.kind()) {
      return false;
    }
    if (!parent_id.empty() && org.parent_organization() != Name(parent_id)) {
      return false;
    }
    return true;
  };

  v1::ListOrganizationsResponse response;
  PRESENCE_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Snapshot> snapshot,
                            store_->GetSnapshot());
  // The page reflects exactly the revision of its snapshot.
  PRESENCE_ASSIGN_OR_RETURN(const int64_t revision, LastRevision(snapshot.get()));
  response.set_revision(revision);
  storage::ReadOptions ro;
  ro.snapshot = snapshot.get();
  // Scan the parent index when filtering by parent, else all records; both
  // are ordered by id, and `prefix` maps an id to its key.
  const bool by_parent = !parent_id.empty();
  const std::string prefix = by_parent ? ParentIndexPrefix(parent_id) : "";
  if (by_parent) {
    ro.lower_bound = prefix;
    ro.upper_bound = PrefixSuccessor(prefix);
  }
  std::unique_ptr<storage::Iterator> it =
      store_->NewIterator(by_parent ? kIndex : kRecords, ro);
  if (after.empty()) {
    it->Seek(prefix);
  } else {
    const std::string resume = prefix + after;
    it->Seek(resume);
    if (it->Valid() && it->key() == resume) it->Next();
  }
  std::string last_id;
  // Unknown-bound organizations seen since the last listed one: reported
  // with the next listed one (so a page reports those of its own range of
  // ids) or at the end, never twice across pages.
  std::vector<std::string> unknown_since_last;
  for (; it->Valid(); it->Next()) {
    const std::string id(it->key().substr(prefix.size()));
    Organization org;
    if (by_parent) {
      PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> record,
                                ReadRecord(id, snapshot.get()));
      if (!record) continue;
      org = *std::move(record);
    } else {
      PRESENCE_ASSIGN_OR_RETURN(org, ParseOrganization(it->value(), Name(id)));
    }
    if (!matches(org)) continue;
    std::optional<type::v1::PresenceBasis> basis;
    if (active_on) {
      basis = ActiveBasis(org.has_established() ? &org.established() : nullptr,
                          org.has_ended() ? &org.ended() : nullptr, *active_on);
      if (!basis) continue;
      if (*basis == type::v1::BOUND_UNKNOWN && !request.include_unknown_bounds()) {
        unknown_since_last.push_back(org.name());
        continue;
      }
    }
    if (response.organizations_size() == page_size) {
      // One more match exists: the page is not the last.
      response.set_next_page_token(EncodePageToken(fingerprint, last_id));
      unknown_since_last.clear();  // The next page reports them.
      break;
    }
    for (std::string& name : unknown_since_last) {
      response.add_unknown_bound_organizations(std::move(name));
    }
    unknown_since_last.clear();
    last_id = id;
    *response.add_organizations() = std::move(org);
    if (basis) response.add_active_on_bases(*basis);
  }
  PRESENCE_RETURN_IF_ERROR(it->status());
  for (std::string& name : unknown_since_last) {
    response.add_unknown_bound_organizations(std::move(name));
  }
  return response;
}

absl::StatusOr<Organization> Registry::LookupOrganization(
    absl::string_view alias) {
  PRESENCE_ASSIGN_OR_RETURN(std::string bytes, LookupOrganizationBytes(alias));
  return ParseOrganization(bytes, alias);
}

absl::StatusOr<std::string> Registry::LookupOrganizationBytes(absl::string_view alias) {
  // Acronyms and aliases are at most kMaxShortText long: a longer one matches
  // nothing and is a mistake.
  PRESENCE_RETURN_IF_ERROR(CheckLength("alias", alias, kMaxShortText));
  const std::string key = NormalizeAlias(alias);
  if (key.empty()) return FieldRequiredError("alias");
  // The record of `id` if it is live (parsed only to tell).
  const auto live = [&](absl::string_view id) -> absl::StatusOr<std::optional<std::string>> {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(kRecords, id));
    if (!bytes) return std::nullopt;
    Organization org;
    if (!org.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
      return absl::DataLossError(absl::StrCat("unreadable record at ", Name(id)));
    }
    if (!IsLive(org)) return std::nullopt;
    return bytes;
  };
  // At most one live organization has the key as its id, acronym or alias
  // (CheckAliasesFree), so the order of the two reads only matters for
  // speed: acronyms and aliases first, the usual case, two reads.
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                            store_->Get(kIndex, AliasIndexKey(key)));
  if (holder) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> org, live(*holder));
    if (org) return *std::move(org);
  }
  if (IsValidOrganizationId(key) && (!holder || *holder != key)) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> org, live(key));
    if (org) return *std::move(org);
  }
  return ErrorBuilder(absl::NotFoundError(absl::StrCat(
             "alias: no live organization has the id, acronym or alias ",
             QuotedEcho(alias))))
      .Reason(kOrganizationNotFound)
      .Meta("alias", alias)
      .Resource(kOrganizationType, alias, "no live organization has this id, acronym or alias");
}

absl::StatusOr<v1::ListOrganizationRevisionsResponse>
Registry::ListOrganizationRevisions(
    const v1::ListOrganizationRevisionsRequest& request) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id,
                            ParseOrganizationName(request.name(), "name"));
  PRESENCE_ASSIGN_OR_RETURN(int32_t page_size,
                            EffectivePageSize(request.page_size()));
  v1::ListOrganizationRevisionsRequest fingerprint = request;
  fingerprint.clear_page_size();
  fingerprint.clear_page_token();
  int64_t before = 0;  // 0: start at the newest.
  if (!request.page_token().empty()) {
    PRESENCE_ASSIGN_OR_RETURN(std::string last,
                              DecodePageToken(request.page_token(), fingerprint));
    if (!absl::SimpleAtoi(last, &before) || before <= 0) {
      return ErrorBuilder(absl::InvalidArgumentError(
                              "page_token: is not a page token issued by this method"))
          .Reason(kInvalidPageToken);
    }
  }
  PRESENCE_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Snapshot> snapshot,
                            store_->GetSnapshot());
  PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> current,
                            ReadRecord(id, snapshot.get()));
  if (!current) {
    return OrganizationNotFoundError(request.name(),
                                     absl::StrCat(request.name(), " not found"));
  }
  storage::ReadOptions ro;
  ro.snapshot = snapshot.get();
  ro.lower_bound = std::string(id) + '\0';
  ro.upper_bound = PrefixSuccessor(ro.lower_bound);
  std::unique_ptr<storage::Iterator> it = store_->NewIterator(kRevisions, ro);
  if (before == 0) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(RevisionKey(id, before - 1));
  }
  v1::ListOrganizationRevisionsResponse response;
  for (; it->Valid(); it->Prev()) {
    PRESENCE_ASSIGN_OR_RETURN(Organization org,
                              ParseOrganization(it->value(), Name(id)));
    if (response.organizations_size() == page_size) {
      response.set_next_page_token(EncodePageToken(
          fingerprint,
          absl::StrCat(response.organizations(page_size - 1).revision())));
      break;
    }
    *response.add_organizations() = std::move(org);
  }
  PRESENCE_RETURN_IF_ERROR(it->status());
  return response;
}

}  // namespace presence::registry
