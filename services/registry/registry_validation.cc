#include "services/registry/registry_validation.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/error_details.h"
#include "services/common/field_behavior.h"
#include "services/common/echo.h"
#include "services/common/limits.h"
#include "services/common/partial_date.h"
#include "services/common/status_macros.h"
#include "services/registry/registry.h"

namespace presence::registry {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::type::v1::PartialDate;

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

}  // namespace

std::string NormalizeAlias(absl::string_view alias) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(alias));
}

bool IsLive(const Organization& org) {
  return org.state() != Organization::DELETED;
}
bool IsLive(const std::optional<Organization>& org) {
  return org.has_value() && IsLive(*org);
}

std::vector<std::string> AliasKeys(const Organization& org) {
  std::set<std::string> keys;
  if (std::string a = NormalizeAlias(org.acronym()); !a.empty()) keys.insert(a);
  for (const std::string& alias : org.aliases()) keys.insert(NormalizeAlias(alias));
  return {keys.begin(), keys.end()};
}


absl::Status ValidateOrganization(const Organization& org) {
  PRESENCE_RETURN_IF_ERROR(CheckLimits(org));
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(org, "organization."));
  if (!Organization::Kind_IsValid(org.kind())) {
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
    PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(h.as_of(), field + ".as_of"));
    if (!Organization::Headcount::Category_IsValid(h.category())) {
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
  return absl::OkStatus();
}

Organization ApplyUpdate(const Organization& current,
                         const Organization& patch, const UpdateMask& mask) {
  Organization merged = current;
  ApplyUpdateMask(patch, mask, &merged);
  ClearEmptyPartialDates(&merged);
  // Output-only fields always come from the current version (a full
  // replacement copied them from the patch), and so do the name and etag.
  CopyOutputOnlyFields(current, &merged);
  merged.set_name(current.name());
  merged.set_etag(current.etag());
  return merged;
}

}  // namespace presence::registry
