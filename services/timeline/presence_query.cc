#include "services/timeline/presence_query.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/field_behavior.h"
#include "services/common/key_codec.h"
#include "services/common/partial_date.h"
#include "services/common/status_macros.h"
#include "services/common/wire_format.h"
#include "services/registry/presence_kinds.h"
#include "services/timeline/event_index.h"
#include "services/timeline/organization_cache.h"

namespace presence::timeline {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Presence;

constexpr int kDefaultMaxEvents = 10;
constexpr int kMaxMaxEvents = 100;

// Presence's fields that hold the organizations, and PresentOrganization's
// that holds its events: the answer is assembled from serialized parts.
constexpr uint32_t kOrganizationsField = Presence::kOrganizationsFieldNumber;
constexpr uint32_t kUnknownBoundOrganizationsField =
    Presence::kUnknownBoundOrganizationsFieldNumber;
constexpr uint32_t kEventsField = Presence::PresentOrganization::kEventsFieldNumber;

// Appends to `*present` (a serialized PresentOrganization) the
// organization's events that start by `until_day`, most recent first
// (descending lower, upper, id), at most `limit`: one seek of `it` (over the
// recent table) and a forward scan. The stored events are the API's, so
// their bytes are copied as they are (checked, not parsed).
absl::Status AppendRecentEvents(absl::string_view organization_id, int64_t until_day,
                                int limit, storage::Iterator& it, std::string* present) {
  if (limit == 0) return absl::OkStatus();
  const std::string prefix = RecentPrefix(organization_id);
  int count = 0;
  for (it.Seek(RecentSeekKey(organization_id, until_day)); it.Valid(); it.Next()) {
    const absl::string_view key = it.key();
    if (!absl::StartsWith(key, prefix)) break;
    const absl::string_view value = it.value();
    if (!IsWellFormedMessage(value)) {
      return absl::DataLossError(absl::StrCat(
          "unreadable event at ", EventIdOfRecentKey(key.substr(prefix.size()))));
    }
    AppendLengthDelimitedField(kEventsField, value, present);
    // No step past the last one: on a paging store it could cost a read.
    if (++count == limit) break;
  }
  return it.status();
}

// The answer's entry for `org` on `date`, without its events.
void DescribeOrganization(const Organization& org, const DayInterval& date,
                          Presence::PresentOrganization* present) {
  present->set_organization(org.name());
  present->set_display_name(org.display_name());
  present->set_acronym(org.acronym());
  present->set_parent_organization(org.parent_organization());
  present->set_kind(org.kind());
  for (const auto& leader : org.leaders()) {
    const DayInterval term =
        SpanBetween(leader.has_appointed() ? &leader.appointed() : nullptr,
                    leader.has_left() ? &leader.left() : nullptr);
    if (term.Overlaps(date)) *present->add_leaders() = leader;
  }
  // The latest figure no later than the date, per category and contributor.
  std::map<std::pair<int, std::string>, const Organization::Headcount*> latest;
  for (const auto& figure : org.headcounts()) {
    const DayInterval as_of = ToInterval(figure.as_of());
    if (as_of.lower > date.upper) continue;
    const Organization::Headcount*& best =
        latest[{figure.category(), figure.contributor()}];
    if (best == nullptr || ToInterval(best->as_of()).lower <= as_of.lower) {
      best = &figure;
    }
  }
  for (const auto& [key, figure] : latest) *present->add_headcounts() = *figure;
}

}  // namespace

absl::StatusOr<std::string> QueryPresenceBytes(const v1::GetPresenceRequest& request,
                                               const OrganizationCache& cache,
                                               storage::KvStore* store,
                                               storage::TableId recent) {
  PRESENCE_RETURN_IF_ERROR(CheckRequiredFields(request));
  PRESENCE_RETURN_IF_ERROR(ValidatePartialDate(request.date(), "date"));
  std::set<int> kinds;
  for (int i = 0; i < request.kinds_size(); ++i) {
    if (!Organization::Kind_IsValid(request.kinds(i)) ||
        request.kinds(i) == Organization::KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kinds[", i, "]: ", request.kinds(i), " is not a kind"));
    }
    kinds.insert(request.kinds(i));
  }
  if (request.max_events() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_events: ", request.max_events(), " is negative"));
  }
  const int max_events =
      request.max_events() == 0 ? kDefaultMaxEvents
                                : std::min(request.max_events(), kMaxMaxEvents);
  const std::shared_ptr<const OrganizationCache::View> view = cache.Current();
  if (view == nullptr) {
    return ErrorBuilder(absl::UnavailableError(
                            "organizations have not been loaded from the registry yet; retry"))
        .Reason(kOrganizationsNotLoaded)
        .RetryAfter(absl::Seconds(1));
  }
  const DayInterval date = ToInterval(request.date());
  const int64_t until_day = DayNumber(date.upper);
  Presence top;  // The fields besides the organizations.
  *top.mutable_date() = request.date();
  top.set_registry_revision(view->revision);
  std::string answer = top.SerializeAsString();
  PRESENCE_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Snapshot> snapshot,
                            store->GetSnapshot());
  // Per organization one seek of an iterator bounded to its events up to the
  // date (a paging store reads no row of the next organization).
  storage::ReadOptions options;
  options.snapshot = snapshot.get();
  Presence::PresentOrganization present;
  std::string serialized;
  for (const std::shared_ptr<const Organization>& shared : view->organizations) {
    const Organization& org = *shared;
    if (org.state() == Organization::DELETED) continue;
    if (kinds.empty() ? !registry::IsPresenceKind(org.kind()) : !kinds.count(org.kind())) {
      continue;
    }
    const std::optional<type::v1::PresenceBasis> basis =
        ActiveBasis(org.has_established() ? &org.established() : nullptr,
                    org.has_ended() ? &org.ended() : nullptr, date);
    if (!basis) continue;

    present.Clear();
    present.set_basis(*basis);
    DescribeOrganization(org, date, &present);
    serialized.clear();
    present.AppendToString(&serialized);
    const absl::string_view id = absl::StripPrefix(org.name(), "organizations/");
    options.lower_bound = RecentSeekKey(id, until_day);
    options.upper_bound = PrefixSuccessor(RecentPrefix(id));
    const std::unique_ptr<storage::Iterator> it = store->NewIterator(recent, options);
    PRESENCE_RETURN_IF_ERROR(AppendRecentEvents(id, until_day, max_events, *it, &serialized));
    // Unknown bounds apart, unless asked for among the others. Each list
    // keeps the organizations' order (the view's: by id).
    AppendLengthDelimitedField(
        *basis == type::v1::BOUND_UNKNOWN && !request.include_unknown_bounds()
            ? kUnknownBoundOrganizationsField
            : kOrganizationsField,
        serialized, &answer);
  }
  return answer;
}

absl::StatusOr<Presence> QueryPresence(const v1::GetPresenceRequest& request,
                                       const OrganizationCache& cache,
                                       storage::KvStore* store,
                                       storage::TableId recent) {
  PRESENCE_ASSIGN_OR_RETURN(const std::string bytes,
                            QueryPresenceBytes(request, cache, store, recent));
  Presence presence;
  if (!presence.ParseFromString(bytes)) {
    return absl::DataLossError("unreadable event in the presence report");
  }
  return presence;
}

}  // namespace presence::timeline
