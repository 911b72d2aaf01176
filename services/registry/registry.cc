#include "services/registry/registry.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/echo.h"
#include "services/common/field_mask.h"
#include "services/common/key_codec.h"
#include "services/common/limits.h"
#include "services/common/page_token.h"
#include "services/common/partial_date.h"
#include "services/common/resource_name.h"
#include "services/common/status_macros.h"
#include "services/registry/registry_internal.pb.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;
using ::presence::type::v1::PartialDate;

constexpr char kCollection[] = "organizations";
constexpr absl::string_view kNamePrefix = "organizations/";
constexpr size_t kMaxBatchGet = 1000;
constexpr size_t kMaxBatchCreate = 1000;
// How often (in revisions) the change log is trimmed to the retention.
constexpr int64_t kTrimInterval = 64;
// Parent chains longer than this are rejected (they are certainly a mistake).
constexpr int kMaxParentDepth = 32;
const std::vector<std::string>& OutputOnlyFields() {
  static const auto* const kFields = new std::vector<std::string>{
      "name",        "state",       "revision",   "etag",
      "create_time", "update_time", "delete_time", "last_modified_by"};
  return *kFields;
}

std::string Name(absl::string_view id) { return absl::StrCat(kNamePrefix, id); }

std::string Etag(int64_t revision) { return absl::StrCat("\"", revision, "\""); }

std::string RevisionKey(absl::string_view id, int64_t revision) {
  std::string key(id);
  key.push_back('\0');
  AppendUint64(&key, static_cast<uint64_t>(revision));
  return key;
}

std::string AliasIndexKey(absl::string_view normalized) {
  return absl::StrCat("a/", normalized);
}

std::string ParentIndexPrefix(absl::string_view parent_id) {
  std::string key = absl::StrCat("p/", parent_id);
  key.push_back('\0');
  return key;
}

std::string NormalizeAlias(absl::string_view alias) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(alias));
}

bool IsLive(const Organization& org) {
  return org.state() != Organization::DELETED;
}
bool IsLive(const std::optional<Organization>& org) {
  return org.has_value() && IsLive(*org);
}

// The normalized acronym and aliases, sorted and unique.
std::vector<std::string> AliasKeys(const Organization& org) {
  std::set<std::string> keys;
  if (std::string a = NormalizeAlias(org.acronym()); !a.empty()) keys.insert(a);
  for (const std::string& alias : org.aliases()) keys.insert(NormalizeAlias(alias));
  return {keys.begin(), keys.end()};
}

// Lock keys covering the alias index and the ids an organization's aliases
// could collide with.
void AddAliasLockKeys(const Organization& org, std::vector<std::string>* keys) {
  for (const std::string& k : AliasKeys(org)) {
    keys->push_back(absl::StrCat("a/", k));
    keys->push_back(absl::StrCat("o/", k));
  }
}

// The parent's id, or empty. REQUIRES: the parent name was validated.
std::string ParentId(const Organization& org) {
  absl::string_view name = org.parent_organization();
  absl::ConsumePrefix(&name, kNamePrefix);
  return std::string(name);
}

void ClearOutputOnly(Organization* org) {
  org->clear_name();
  org->clear_state();
  org->clear_revision();
  org->clear_etag();
  org->clear_create_time();
  org->clear_update_time();
  org->clear_delete_time();
  org->clear_last_modified_by();
}

absl::Status ValidateDateField(bool has, const PartialDate& date,
                               absl::string_view field) {
  if (!IsSet(has, date)) return absl::OkStatus();
  return ValidatePartialDate(date, field);
}

// Lengths and counts first, so that nothing below handles huge inputs.
absl::Status CheckLimits(const Organization& org) {
  PRESENCE_RETURN_IF_ERROR(CheckLength("organization.display_name", org.display_name(), kMaxShortText));
  PRESENCE_RETURN_IF_ERROR(CheckLength("organization.acronym", org.acronym(), kMaxShortText));
  PRESENCE_RETURN_IF_ERROR(CheckLength("organization.description", org.description(), kMaxLongText));
  PRESENCE_RETURN_IF_ERROR(CheckLength("organization.parent_organization", org.parent_organization(), kMaxShortText));
  PRESENCE_RETURN_IF_ERROR(CheckCount("organization.aliases", org.aliases_size(), kMaxListEntries));
  for (int i = 0; i < org.aliases_size(); ++i) {
    PRESENCE_RETURN_IF_ERROR(CheckLength(absl::StrCat("organization.aliases[", i, "]"), org.aliases(i), kMaxShortText));
  }
  PRESENCE_RETURN_IF_ERROR(CheckCount("organization.legal_basis", org.legal_basis_size(), kMaxListEntries));
  for (int i = 0; i < org.legal_basis_size(); ++i) {
    PRESENCE_RETURN_IF_ERROR(CheckLength(absl::StrCat("organization.legal_basis[", i, "]"), org.legal_basis(i), kMaxMediumText));
  }
  PRESENCE_RETURN_IF_ERROR(CheckCount("organization.leaders", org.leaders_size(), kMaxListEntries));
  for (int i = 0; i < org.leaders_size(); ++i) {
    const auto& l = org.leaders(i);
    const std::string field = absl::StrCat("organization.leaders[", i, "]");
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".role", l.role(), kMaxShortText));
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".person", l.person(), kMaxShortText));
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".appointed_by", l.appointed_by(), kMaxShortText));
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".note", l.note(), kMaxMediumText));
  }
  PRESENCE_RETURN_IF_ERROR(CheckCount("organization.headcounts", org.headcounts_size(), kMaxHeadcounts));
  for (int i = 0; i < org.headcounts_size(); ++i) {
    const auto& h = org.headcounts(i);
    const std::string field = absl::StrCat("organization.headcounts[", i, "]");
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".contributor", h.contributor(), kMaxShortText));
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".note", h.note(), kMaxMediumText));
  }
  PRESENCE_RETURN_IF_ERROR(CheckCount("organization.sources", org.sources_size(), kMaxListEntries));
  for (int i = 0; i < org.sources_size(); ++i) {
    const std::string field = absl::StrCat("organization.sources[", i, "]");
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".document", org.sources(i).document(), kMaxMediumText));
    PRESENCE_RETURN_IF_ERROR(CheckLength(field + ".quote", org.sources(i).quote(), kMaxLongText));
  }
  return absl::OkStatus();
}

absl::Status ValidateOrganization(const Organization& org) {
  PRESENCE_RETURN_IF_ERROR(CheckLimits(org));
  if (absl::StripAsciiWhitespace(org.display_name()).empty()) {
    return absl::InvalidArgumentError(
        "organization.display_name: is required");
  }
  if (org.kind() == Organization::KIND_UNSPECIFIED ||
      !Organization::Kind_IsValid(org.kind())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "organization.kind: ", org.kind(),
        " is not a kind; set one of KIND_INTERNATIONAL_ORGANIZATION .. "
        "KIND_OTHER"));
  }
  for (int i = 0; i < org.aliases_size(); ++i) {
    if (NormalizeAlias(org.aliases(i)).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "organization.aliases[", i, "]: ", QuotedEcho(org.aliases(i)),
          " is empty"));
    }
  }
  if (!org.parent_organization().empty()) {
    absl::StatusOr<std::string> parent = ParseOrganizationName(
        org.parent_organization(), "organization.parent_organization");
    if (!parent.ok()) return parent.status();
  }
  PRESENCE_RETURN_IF_ERROR(ValidateDateField(
      org.has_established(), org.established(), "organization.established"));
  PRESENCE_RETURN_IF_ERROR(
      ValidateDateField(org.has_ended(), org.ended(), "organization.ended"));
  if (IsSet(org.has_established(), org.established()) &&
      IsSet(org.has_ended(), org.ended()) &&
      ToInterval(org.ended()).upper < ToInterval(org.established()).lower) {
    return absl::InvalidArgumentError(absl::StrCat(
        "organization.ended: ", FormatPartialDate(org.ended()),
        " is before organization.established ",
        FormatPartialDate(org.established())));
  }
  for (int i = 0; i < org.legal_basis_size(); ++i) {
    if (absl::StripAsciiWhitespace(org.legal_basis(i)).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("organization.legal_basis[", i, "]: is empty"));
    }
  }
  for (int i = 0; i < org.leaders_size(); ++i) {
    const Organization::Leader& leader = org.leaders(i);
    const std::string field = absl::StrCat("organization.leaders[", i, "]");
    if (absl::StripAsciiWhitespace(leader.role()).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".role: is required"));
    }
    if (absl::StripAsciiWhitespace(leader.person()).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".person: is required"));
    }
    PRESENCE_RETURN_IF_ERROR(ValidateDateField(
        leader.has_appointed(), leader.appointed(), field + ".appointed"));
    PRESENCE_RETURN_IF_ERROR(
        ValidateDateField(leader.has_left(), leader.left(), field + ".left"));
    if (!leader.appointed_by().empty()) {
      absl::StatusOr<std::string> by =
          ParseOrganizationName(leader.appointed_by(), field + ".appointed_by");
      if (!by.ok()) return by.status();
    }
  }
  for (int i = 0; i < org.headcounts_size(); ++i) {
    const Organization::Headcount& h = org.headcounts(i);
    const std::string field = absl::StrCat("organization.headcounts[", i, "]");
    if (!IsSet(h.has_as_of(), h.as_of())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".as_of: is required"));
    }
    PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(h.as_of(), field + ".as_of"));
    if (h.category() == Organization::Headcount::CATEGORY_UNSPECIFIED ||
        !Organization::Headcount::Category_IsValid(h.category())) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".category: ", h.category(), " is not a category"));
    }
    if (!Organization::Headcount::Bound_IsValid(h.bound())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".bound: ", h.bound(), " is not a bound"));
    }
    if (h.count() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".count: ", h.count(), " is negative"));
    }
  }
  for (int i = 0; i < org.sources_size(); ++i) {
    if (absl::StripAsciiWhitespace(org.sources(i).document()).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "organization.sources[", i, "].document: is required"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Organization> ParseOrganization(absl::string_view bytes,
                                               absl::string_view where) {
  Organization org;
  if (!org.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("unreadable record at ", where));
  }
  return org;
}

// The lifespan [lower(established) or -inf, upper(ended) or +inf].
DayInterval Lifespan(const Organization& org) {
  return SpanBetween(org.has_established() ? &org.established() : nullptr,
                     org.has_ended() ? &org.ended() : nullptr);
}

Organization ApplyUpdate(const Organization& current,
                         const Organization& patch, const UpdateMask& mask) {
  Organization merged = current;
  ApplyUpdateMask(patch, mask, &merged);
  ClearEmptyPartialDates(&merged);
  // Output-only fields always come from the current version.
  merged.set_name(current.name());
  merged.set_state(current.state());
  merged.set_revision(current.revision());
  merged.set_etag(current.etag());
  *merged.mutable_create_time() = current.create_time();
  *merged.mutable_update_time() = current.update_time();
  if (current.has_delete_time()) {
    *merged.mutable_delete_time() = current.delete_time();
  } else {
    merged.clear_delete_time();
  }
  return merged;
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

}  // namespace

struct Registry::Plan {
  Organization result;
  OrganizationChange::Type type;
};

bool IsValidOrganizationId(absl::string_view id) {
  return IsValidResourceId(id);
}

absl::StatusOr<std::string> ParseOrganizationName(absl::string_view name,
                                                  absl::string_view field) {
  return ParseResourceName(name, kCollection, field);
}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    std::unique_ptr<storage::KvStore> store, RegistryOptions options) {
  if (options.change_retention < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "change retention ", options.change_retention, " must be at least 1"));
  }
  // The newest change-log entry carries the current revision; retention
  // never removes it.
  int64_t last_revision = 0;
  {
    std::unique_ptr<storage::Iterator> it =
        store->NewIterator(kChanges, storage::ReadOptions{});
    it->SeekToLast();
    if (it->Valid()) {
      absl::string_view key = it->key();
      std::optional<uint64_t> rev = ConsumeUint64(&key);
      if (!rev) return absl::DataLossError("unreadable change-log key");
      last_revision = static_cast<int64_t>(*rev);
    }
    if (!it->status().ok()) return it->status();
  }
  return std::unique_ptr<Registry>(
      new Registry(std::move(store), std::move(options), last_revision));
}

Registry::Registry(std::unique_ptr<storage::KvStore> store,
                   RegistryOptions options, int64_t last_revision)
    : store_(std::move(store)),
      options_(std::move(options)),
      sequencer_(last_revision) {}

Registry::~Registry() = default;

absl::StatusOr<bool> Registry::IsEmpty() {
  std::unique_ptr<storage::Iterator> it =
      store_->NewIterator(kRecords, storage::ReadOptions{});
  it->SeekToFirst();
  if (!it->status().ok()) return it->status();
  return !it->Valid() && CurrentRevision() == 0;
}

absl::StatusOr<std::optional<Organization>> Registry::ReadRecord(
    absl::string_view id, const storage::Snapshot* snapshot) {
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            store_->Get(kRecords, id, snapshot));
  if (!bytes) return std::nullopt;
  PRESENCE_ASSIGN_OR_RETURN(Organization org,
                            ParseOrganization(*bytes, Name(id)));
  return org;
}

absl::StatusOr<Organization> Registry::ReadRevision(absl::string_view id,
                                                    int64_t revision) {
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            store_->Get(kRevisions, RevisionKey(id, revision)));
  if (!bytes) {
    return absl::DataLossError(absl::StrCat("revision ", revision, " of ",
                                            Name(id), " is missing"));
  }
  return ParseOrganization(*bytes, Name(id));
}

absl::Status Registry::CheckLiveReference(absl::string_view name,
                                          absl::string_view field) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id, ParseOrganizationName(name, field));
  PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org, ReadRecord(id));
  if (!org) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", name, " does not exist"));
  }
  if (!IsLive(*org)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", name, " is deleted"));
  }
  return absl::OkStatus();
}

absl::Status Registry::CheckAppointers(const Organization& org) {
  for (int i = 0; i < org.leaders_size(); ++i) {
    const std::string& by = org.leaders(i).appointed_by();
    if (by.empty() || by == org.name()) continue;
    const std::string field =
        absl::StrCat("organization.leaders[", i, "].appointed_by");
    PRESENCE_ASSIGN_OR_RETURN(std::string id, ParseOrganizationName(by, field));
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> appointer,
                              ReadRecord(id));
    if (!appointer) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", by, " does not exist"));
    }
  }
  return absl::OkStatus();
}

absl::Status Registry::CheckAliasesFree(
    const Organization& org, const std::optional<Organization>& current) {
  const std::string id(absl::StripPrefix(org.name(), kNamePrefix));
  // Becoming live (create, undelete): the id must not be another live
  // organization's alias.
  if (!IsLive(current)) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                              store_->Get(kIndex, AliasIndexKey(id)));
    if (holder && *holder != id) {
      return absl::AlreadyExistsError(
          absl::StrCat(Name(id), ": the id \"", id, "\" is an alias of ",
                       Name(*holder)));
    }
  }
  for (const std::string& key : AliasKeys(org)) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                              store_->Get(kIndex, AliasIndexKey(key)));
    if (holder && *holder != id) {
      return absl::AlreadyExistsError(
          absl::StrCat("organization.aliases: ", QuotedEcho(key),
                       " (acronym or alias, case-insensitive) is already "
                       "used by ",
                       Name(*holder)));
    }
    if (key != id && IsValidOrganizationId(key)) {
      PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> other,
                                ReadRecord(key));
      if (IsLive(other)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "organization.aliases: ", QuotedEcho(key), " is the id of ", Name(key)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Registry::CheckNoLiveChildren(absl::string_view id) {
  storage::ReadOptions ro;
  ro.lower_bound = ParentIndexPrefix(id);
  ro.upper_bound = PrefixSuccessor(ro.lower_bound);
  std::unique_ptr<storage::Iterator> it = store_->NewIterator(kIndex, ro);
  for (it->Seek(ro.lower_bound); it->Valid(); it->Next()) {
    const std::string child(it->key().substr(ro.lower_bound.size()));
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org, ReadRecord(child));
    if (IsLive(org) && org->parent_organization() == Name(id)) {
      return absl::FailedPreconditionError(absl::StrCat(
          Name(id), " is the parent_organization of live ", Name(child),
          "; delete or re-parent it first"));
    }
  }
  return it->status();
}

absl::Status Registry::CheckNoCycle(absl::string_view id,
                                    absl::string_view parent_name) {
  std::string ancestor(absl::StripPrefix(parent_name, kNamePrefix));
  for (int depth = 0; depth < kMaxParentDepth && !ancestor.empty(); ++depth) {
    if (ancestor == id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "organization.parent_organization: ", parent_name,
          " would make ", Name(id), " its own ancestor"));
    }
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org,
                              ReadRecord(ancestor));
    if (!org) return absl::OkStatus();
    ancestor = ParentId(*org);
  }
  if (!ancestor.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "organization.parent_organization: ", parent_name,
        " has more than ", kMaxParentDepth, " ancestors"));
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

void Registry::AppendMutation(absl::string_view id,
                              const std::optional<std::string>& seen,
                              const std::optional<Organization>& current,
                              const Organization& org, int type,
                              const std::string& principal,
                              storage::WriteBatch* batch) const {
  const std::string value = org.SerializeAsString();
  if (seen) {
    batch->ExpectValue(kRecords, id, *seen);
  } else {
    batch->ExpectAbsent(kRecords, id);
  }
  batch->Put(kRecords, id, value);
  batch->Put(kRevisions, RevisionKey(id, org.revision()), value);
  OrganizationChange change;
  change.set_revision(org.revision());
  change.set_type(static_cast<OrganizationChange::Type>(type));
  change.set_principal(principal);
  *change.mutable_organization() = org;
  batch->Put(kChanges, EncodeUint64(static_cast<uint64_t>(org.revision())),
             change.SerializeAsString());

  const std::vector<std::string> old_keys =
      IsLive(current) ? AliasKeys(*current) : std::vector<std::string>{};
  const std::vector<std::string> new_keys =
      IsLive(org) ? AliasKeys(org) : std::vector<std::string>{};
  for (const std::string& k : old_keys) {
    if (!std::binary_search(new_keys.begin(), new_keys.end(), k)) {
      batch->ExpectValue(kIndex, AliasIndexKey(k), id);
      batch->Delete(kIndex, AliasIndexKey(k));
    }
  }
  for (const std::string& k : new_keys) {
    if (!std::binary_search(old_keys.begin(), old_keys.end(), k)) {
      batch->ExpectAbsent(kIndex, AliasIndexKey(k));
      batch->Put(kIndex, AliasIndexKey(k), id);
    }
  }
  const std::string old_parent = current ? ParentId(*current) : "";
  const std::string new_parent = ParentId(org);
  if (old_parent != new_parent) {
    if (!old_parent.empty()) {
      batch->Delete(kIndex, ParentIndexPrefix(old_parent) + std::string(id));
    }
    if (!new_parent.empty()) {
      batch->Put(kIndex, ParentIndexPrefix(new_parent) + std::string(id), "");
    }
  }
}

absl::Status Registry::Commit(storage::WriteBatch* batch, int64_t first,
                              int64_t n) {
  // Trim the change log to the retention at every kTrimInterval-th revision.
  for (int64_t revision = first + n - 1; revision >= first; --revision) {
    if (revision % kTrimInterval == 0 &&
        revision > options_.change_retention) {
      batch->DeleteRange(
          kChanges, EncodeUint64(0),
          EncodeUint64(
              static_cast<uint64_t>(revision - options_.change_retention + 1)));
      break;
    }
  }
  absl::Status written = store_->Write(*batch);
  if (!written.ok()) {
    // These revisions may or may not be in the log; hand out no more (see
    // failed_revision_).
    absl::MutexLock lock(&failure_mu_);
    failed_revision_ = first;
    failure_ = absl::UnavailableError(absl::StrCat(
        "the registry stopped accepting writes after a storage failure at "
        "revision ",
        first, " (", written.message(), "); restart the service"));
  }
  sequencer_.FinishBatch(first, n);
  return written;
}

absl::StatusOr<Organization> Registry::Mutate(absl::string_view id,
                                              absl::string_view request_id,
                                              const CallContext& call,
                                              bool validate_only,
                                              const LockKeysFn& lock_keys,
                                              const PlanFn& plan) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    {
      absl::MutexLock lock(&failure_mu_);
      if (!failure_.ok()) return failure_;
    }
    // Which keys to lock depends on the current version (its aliases and
    // parent), so read it first, lock, and start over if it changed.
    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> seen,
                              store_->Get(kRecords, id));
    std::optional<Organization> current;
    if (seen) {
      PRESENCE_ASSIGN_OR_RETURN(current, ParseOrganization(*seen, Name(id)));
    }
    std::vector<std::string> keys = lock_keys(current);
    keys.push_back(absl::StrCat("o/", id));
    keys.push_back(absl::StrCat("a/", id));
    if (current) AddAliasLockKeys(*current, &keys);
    if (!request_id.empty()) keys.push_back(absl::StrCat("q/", request_id));
    const std::vector<absl::string_view> views(keys.begin(), keys.end());
    KeyLocks::Guard guard = locks_.LockAll(views);

    PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> locked,
                              store_->Get(kRecords, id));
    if (locked != seen) continue;

    if (!request_id.empty()) {
      PRESENCE_ASSIGN_OR_RETURN(
          std::optional<std::string> stored,
          store_->Get(kMeta, absl::StrCat("r/", request_id)));
      if (stored) {
        internal::StoredRequest previous;
        if (!previous.ParseFromString(*stored)) {
          return absl::DataLossError(
              absl::StrCat("unreadable request record ", request_id));
        }
        if (previous.organization_id() != id) {
          return absl::InvalidArgumentError(absl::StrCat(
              "request_id: ", request_id, " was already used to create ",
              Name(previous.organization_id())));
        }
        return ReadRevision(id, previous.revision());
      }
    }

    PRESENCE_ASSIGN_OR_RETURN(Plan p, plan(current));
    Organization& org = p.result;
    if (IsLive(org)) PRESENCE_RETURN_IF_ERROR(CheckAliasesFree(org, current));
    if (validate_only) return org;

    const int64_t revision = sequencer_.Begin();
    Stamp(&org, revision, p.type, call.principal);
    storage::WriteBatch batch;
    AppendMutation(id, seen, current, org, p.type, call.principal, &batch);
    if (!request_id.empty()) {
      internal::StoredRequest record;
      record.set_organization_id(std::string(id));
      record.set_revision(revision);
      batch.Put(kMeta, absl::StrCat("r/", request_id),
                record.SerializeAsString());
    }
    PRESENCE_RETURN_IF_ERROR(Commit(&batch, revision, 1));
    return org;
  }
  return absl::AbortedError(
      absl::StrCat(Name(id), " changed too often while being written; retry"));
}

absl::StatusOr<Organization> Registry::GetOrganization(absl::string_view name) {
  PRESENCE_ASSIGN_OR_RETURN(std::string id, ParseOrganizationName(name, "name"));
  PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org, ReadRecord(id));
  if (!org) return absl::NotFoundError(absl::StrCat(name, " not found"));
  return *std::move(org);
}

absl::StatusOr<v1::BatchGetOrganizationsResponse>
Registry::BatchGetOrganizations(const v1::BatchGetOrganizationsRequest& request) {
  if (request.names_size() == 0) {
    return absl::InvalidArgumentError("names: at least one name is required");
  }
  if (static_cast<size_t>(request.names_size()) > kMaxBatchGet) {
    return absl::InvalidArgumentError(absl::StrCat(
        "names: ", request.names_size(), " names, at most ", kMaxBatchGet,
        " allowed"));
  }
  std::vector<std::string> ids;
  for (int i = 0; i < request.names_size(); ++i) {
    PRESENCE_ASSIGN_OR_RETURN(
        std::string id,
        ParseOrganizationName(request.names(i), absl::StrCat("names[", i, "]")));
    ids.push_back(std::move(id));
  }
  std::shared_ptr<const storage::Snapshot> snapshot = store_->GetSnapshot();
  v1::BatchGetOrganizationsResponse response;
  for (size_t i = 0; i < ids.size(); ++i) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org,
                              ReadRecord(ids[i], snapshot.get()));
    if (!org) {
      return absl::NotFoundError(absl::StrCat(
          "names[", i, "]: ", request.names(static_cast<int>(i)),
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
    if (active_on && !Lifespan(org).Overlaps(*active_on)) return false;
    return true;
  };

  v1::ListOrganizationsResponse response;
  // Everything up to this revision is committed before the snapshot is taken,
  // so the page reflects at least this revision.
  response.set_revision(CurrentRevision());
  std::shared_ptr<const storage::Snapshot> snapshot = store_->GetSnapshot();
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
    if (response.organizations_size() == page_size) {
      // One more match exists: the page is not the last.
      response.set_next_page_token(EncodePageToken(fingerprint, last_id));
      break;
    }
    last_id = id;
    *response.add_organizations() = std::move(org);
  }
  PRESENCE_RETURN_IF_ERROR(it->status());
  return response;
}

absl::StatusOr<Organization> Registry::CreateOrganization(
    const v1::CreateOrganizationRequest& request, const CallContext& call) {
  const std::string& id = request.organization_id();
  PRESENCE_RETURN_IF_ERROR(ValidateResourceId(id, "organization_id"));
  if (!request.has_organization()) {
    return absl::InvalidArgumentError("organization: is required");
  }
  PRESENCE_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  Organization desired = request.organization();
  ClearOutputOnly(&desired);
  ClearEmptyPartialDates(&desired);
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
      return absl::AlreadyExistsError(absl::StrCat(
          Name(id), " already exists",
          IsLive(*current) ? "" : " (deleted; undelete it instead)"));
    }
    if (!desired.parent_organization().empty()) {
      if (desired.parent_organization() == desired.name()) {
        return absl::InvalidArgumentError(
            "organization.parent_organization: an organization cannot be its "
            "own parent");
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
    return absl::InvalidArgumentError("requests: at least one is required");
  }
  if (static_cast<size_t>(n) > kMaxBatchCreate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requests: ", n, " creations, at most ", kMaxBatchCreate, " allowed"));
  }
  const auto in_request = [](int i, const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("requests[", i, "].", s.message()));
  };
  std::vector<Organization> orgs;
  std::vector<std::string> keys;
  absl::flat_hash_map<std::string, int> position;  // id -> index in request
  for (int i = 0; i < n; ++i) {
    const v1::CreateOrganizationRequest& create = request.requests(i);
    if (absl::Status s = ValidateResourceId(create.organization_id(), "organization_id");
        !s.ok()) {
      return in_request(i, s);
    }
    if (!create.has_organization()) {
      return in_request(i, absl::InvalidArgumentError("organization: is required"));
    }
    if (!position.emplace(create.organization_id(), i).second) {
      return in_request(i, absl::InvalidArgumentError(absl::StrCat(
          "organization_id: \"", create.organization_id(),
          "\" is created twice in this request")));
    }
    Organization org = create.organization();
    ClearOutputOnly(&org);
    ClearEmptyPartialDates(&org);
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
      return in_request(i, absl::AlreadyExistsError(
                               absl::StrCat("organization_id: ", Name(id), " already exists")));
    }
    if (auto it = batch_aliases.find(id); it != batch_aliases.end()) {
      return in_request(i, absl::AlreadyExistsError(absl::StrCat(
                               "organization_id: \"", id, "\" is an alias of ",
                               Name(it->second), " in this request")));
    }
    if (absl::Status s = CheckAliasesFree(org, std::nullopt); !s.ok()) {
      return in_request(i, s);
    }
    for (const std::string& key : AliasKeys(org)) {
      auto taken = batch_aliases.find(key);
      auto as_id = position.find(key);
      if ((taken != batch_aliases.end() && taken->second != id) ||
          (as_id != position.end() && as_id->first != id)) {
        return in_request(i, absl::AlreadyExistsError(absl::StrCat(
                                 "organization.aliases: ", QuotedEcho(key),
                                 " is already used in this request")));
      }
      batch_aliases[key] = id;
    }
    const auto earlier = [&](const std::string& name) {
      auto it = position.find(std::string(absl::StripPrefix(name, kNamePrefix)));
      return it != position.end() && it->second < i;
    };
    if (!org.parent_organization().empty() && !earlier(org.parent_organization())) {
      if (org.parent_organization() == org.name()) {
        return in_request(i, absl::InvalidArgumentError(
            "organization.parent_organization: an organization cannot be its own parent"));
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
  if (!request.has_organization()) {
    return absl::InvalidArgumentError("organization: is required");
  }
  PRESENCE_ASSIGN_OR_RETURN(
      std::string id,
      ParseOrganizationName(request.organization().name(), "organization.name"));
  PRESENCE_ASSIGN_OR_RETURN(
      const UpdateMask mask,
      ResolveUpdateMask(request.organization(),
                        request.has_update_mask() ? &request.update_mask()
                                                  : nullptr,
                        OutputOnlyFields()));
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
      return absl::NotFoundError(absl::StrCat(Name(id), " not found"));
    }
    if (!IsLive(*current)) {
      return absl::FailedPreconditionError(
          absl::StrCat(Name(id), " is deleted; undelete it first"));
    }
    if (!patch.etag().empty() && patch.etag() != current->etag()) {
      return absl::AbortedError(absl::StrCat(
          "organization.etag: ", Echo(patch.etag()), " does not match the current ",
          current->etag(), " of ", Name(id), "; re-read and retry"));
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
      return absl::NotFoundError(absl::StrCat(request.name(), " not found"));
    }
    if (!IsLive(*current)) {
      return absl::FailedPreconditionError(
          absl::StrCat(request.name(), " is already deleted"));
    }
    if (!request.etag().empty() && request.etag() != current->etag()) {
      return absl::AbortedError(absl::StrCat(
          "etag: ", Echo(request.etag()), " does not match the current ",
          current->etag(), " of ", request.name(), "; re-read and retry"));
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
      return absl::NotFoundError(absl::StrCat(request.name(), " not found"));
    }
    if (IsLive(*current)) {
      return absl::FailedPreconditionError(
          absl::StrCat(request.name(), " is not deleted"));
    }
    if (!request.etag().empty() && request.etag() != current->etag()) {
      return absl::AbortedError(absl::StrCat(
          "etag: ", Echo(request.etag()), " does not match the current ",
          current->etag(), " of ", request.name(), "; re-read and retry"));
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

absl::StatusOr<Organization> Registry::LookupOrganization(
    absl::string_view alias) {
  // Acronyms and aliases are at most kMaxShortText long: a longer one matches
  // nothing and is a mistake.
  PRESENCE_RETURN_IF_ERROR(CheckLength("alias", alias, kMaxShortText));
  const std::string key = NormalizeAlias(alias);
  if (key.empty()) return absl::InvalidArgumentError("alias: is required");
  // At most one live organization has the key as its id, acronym or alias
  // (CheckAliasesFree), so the order of the two reads only matters for
  // speed: acronyms and aliases first, the usual case, two reads.
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                            store_->Get(kIndex, AliasIndexKey(key)));
  if (holder) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org,
                              ReadRecord(*holder));
    if (IsLive(org)) return *std::move(org);
  }
  if (IsValidOrganizationId(key) && (!holder || *holder != key)) {
    PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> org, ReadRecord(key));
    if (IsLive(org)) return *std::move(org);
  }
  return absl::NotFoundError(absl::StrCat(
      "alias: no live organization has the id, acronym or alias ",
      QuotedEcho(alias)));
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
      return absl::InvalidArgumentError(
          "page_token: is not a page token issued by this method");
    }
  }
  std::shared_ptr<const storage::Snapshot> snapshot = store_->GetSnapshot();
  PRESENCE_ASSIGN_OR_RETURN(std::optional<Organization> current,
                            ReadRecord(id, snapshot.get()));
  if (!current) {
    return absl::NotFoundError(absl::StrCat(request.name(), " not found"));
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

absl::Status Registry::CheckWatchStart(int64_t start_revision) {
  if (start_revision < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("start_revision: ", start_revision, " is negative"));
  }
  const int64_t current = CurrentRevision();
  if (start_revision > current) {
    return absl::OutOfRangeError(
        absl::StrCat("start_revision: ", start_revision,
                     " is ahead of the registry's current revision ", current));
  }
  if (start_revision == current) return absl::OkStatus();
  std::unique_ptr<storage::Iterator> it =
      store_->NewIterator(kChanges, storage::ReadOptions{});
  it->SeekToFirst();
  PRESENCE_RETURN_IF_ERROR(it->status());
  int64_t first = current + 1;
  if (it->Valid()) {
    absl::string_view key = it->key();
    first = static_cast<int64_t>(ConsumeUint64(&key).value_or(0));
  }
  if (start_revision < first - 1) {
    return absl::OutOfRangeError(absl::StrCat(
        "start_revision: the changes after ", start_revision,
        " are no longer retained (the oldest retained revision is ", first,
        "; the registry keeps the last ", options_.change_retention,
        " changes); list the organizations and watch from the list's "
        "revision"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OrganizationChange>> Registry::ReadChanges(
    int64_t after, size_t max_changes) {
  std::vector<OrganizationChange> changes;
  const int64_t until = CurrentRevision();
  if (after >= until || max_changes == 0) return changes;
  int64_t failed;
  {
    absl::MutexLock lock(&failure_mu_);
    failed = failed_revision_;
  }
  storage::ReadOptions ro;
  ro.lower_bound = EncodeUint64(static_cast<uint64_t>(after + 1));
  ro.upper_bound = EncodeUint64(static_cast<uint64_t>(until + 1));
  std::unique_ptr<storage::Iterator> it = store_->NewIterator(kChanges, ro);
  int64_t expected = after + 1;
  for (it->Seek(ro.lower_bound); it->Valid() && changes.size() < max_changes;
       it->Next()) {
    OrganizationChange change;
    if (!change.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("unreadable change at revision ", expected));
    }
    if (change.revision() != expected) {
      return absl::OutOfRangeError(absl::StrCat(
          "the change log no longer holds revision ", expected,
          " (retention: the last ", options_.change_retention,
          " changes); list the organizations and watch from the list's "
          "revision"));
    }
    ++expected;
    changes.push_back(std::move(change));
  }
  PRESENCE_RETURN_IF_ERROR(it->status());
  // Nothing where a committed change should be: retention removed it. (The
  // revisions of the write that failed may legitimately be missing; no later
  // revision exists, see failed_revision_.)
  if (changes.empty() && expected <= until &&
      (failed == 0 || expected < failed)) {
    return absl::OutOfRangeError(absl::StrCat(
        "the change log no longer holds revision ", expected,
        "; list the organizations and watch from the list's revision"));
  }
  return changes;
}

absl::Status Registry::Checkpoint(const std::string& dir) {
  return store_->Checkpoint(dir);
}

}  // namespace presence::registry
