#include "client/format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/partial_date.h"

namespace presence::cli {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;

std::string EnumToWords(absl::string_view name, absl::string_view prefix) {
  absl::ConsumePrefix(&name, prefix);
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
}

std::string WordsToEnum(absl::string_view text) {
  return absl::StrReplaceAll(absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text)),
                             {{"-", "_"}, {" ", "_"}});
}

std::string DateOrDash(bool has, const type::v1::PartialDate& date) {
  if (!has || IsUnset(date)) return "-";
  return FormatPartialDateHuman(date);
}

}  // namespace

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::AddRow(std::vector<std::string> row) {
  row.resize(rows_.front().size());
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::vector<size_t> widths(rows_.front().size(), 0);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

std::string KindName(Organization::Kind kind) {
  return EnumToWords(Organization::Kind_Name(kind), "KIND_");
}

std::string KindName(Event::Kind kind) {
  return EnumToWords(Event::Kind_Name(kind), "");
}

std::string BasisText(type::v1::PresenceBasis basis) {
  switch (basis) {
    case type::v1::SPAN_COVERS_DATE:
      return "its recorded lifespan covers the date";
    case type::v1::WITHIN_BOUND_UNCERTAINTY:
      return "the date is within the uncertainty of a partial bound";
    case type::v1::BOUND_UNKNOWN:
      return "its start is not recorded";
    default:
      return "";
  }
}

std::vector<std::string> OrganizationKindNames() {
  std::vector<std::string> names;
  for (int k = 1; Organization::Kind_IsValid(k); ++k) {
    names.push_back(KindName(static_cast<Organization::Kind>(k)));
  }
  return names;
}

std::vector<std::string> EventKindNames() {
  std::vector<std::string> names;
  for (int k = 1; Event::Kind_IsValid(k); ++k) names.push_back(KindName(static_cast<Event::Kind>(k)));
  return names;
}

absl::StatusOr<Organization::Kind> ParseOrganizationKind(absl::string_view text) {
  std::string name = WordsToEnum(text);
  if (!absl::StartsWith(name, "KIND_")) name = "KIND_" + name;
  Organization::Kind kind;
  if (!Organization::Kind_Parse(name, &kind) || kind == Organization::KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not an organization kind; one of: ",
        absl::StrJoin(OrganizationKindNames(), ", ")));
  }
  return kind;
}

absl::StatusOr<Event::Kind> ParseEventKind(absl::string_view text) {
  Event::Kind kind;
  if (!Event::Kind_Parse(WordsToEnum(text), &kind) || kind == Event::KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not an event kind; one of: ",
        absl::StrJoin(EventKindNames(), ", ")));
  }
  return kind;
}

std::string FormatCount(const Organization::Headcount& headcount) {
  const std::string digits = absl::StrCat(headcount.count());
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  switch (headcount.bound()) {
    case Organization::Headcount::APPROXIMATE:
      return "~" + grouped;
    case Organization::Headcount::MORE_THAN:
      return ">" + grouped;
    default:
      return grouped;
  }
}

std::string CategoryName(Organization::Headcount::Category c) {
  return absl::StrReplaceAll(
      absl::AsciiStrToLower(Organization::Headcount::Category_Name(c)),
      {{"_", " "}});
}

std::string IdOf(absl::string_view name) {
  const size_t slash = name.rfind('/');
  return std::string(slash == absl::string_view::npos ? name : name.substr(slash + 1));
}

std::string ToJson(const google::protobuf::Message& message, bool one_line) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !one_line;
  std::string out;
  // Only fails for messages with unresolvable Any fields; there are none.
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!one_line && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

absl::Status FromJson(absl::string_view json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  auto status = google::protobuf::util::JsonStringToMessage(
      std::string(json), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a ", message->GetDescriptor()->full_name(),
                     " in protobuf JSON: ", status.message().as_string()));
  }
  return absl::OkStatus();
}

std::string OrganizationReport(const Organization& org) {
  std::string out;
  const auto line = [&](absl::string_view key, absl::string_view value) {
    if (!value.empty()) absl::StrAppend(&out, key, ":", std::string(14 - key.size(), ' '), value, "\n");
  };
  line("Name", org.name());
  line("Display name", org.display_name());
  line("Acronym", org.acronym());
  line("Aliases", absl::StrJoin(org.aliases(), ", "));
  line("Kind", KindName(org.kind()));
  line("Parent", org.parent_organization());
  line("Established", DateOrDash(org.has_established(), org.established()));
  line("Ended", DateOrDash(org.has_ended(), org.ended()));
  line("Legal basis", absl::StrJoin(org.legal_basis(), "; "));
  line("State", org.state() == Organization::DELETED ? "deleted" : "active");
  line("Revision", absl::StrCat(org.revision()));
  line("Description", org.description());
  if (org.leaders_size() > 0) {
    Table leaders({"ROLE", "PERSON", "APPOINTED", "BY", "LEFT"});
    for (const auto& l : org.leaders()) {
      leaders.AddRow({l.role(), l.person(), DateOrDash(l.has_appointed(), l.appointed()),
                      l.appointed_by().empty() ? "-" : IdOf(l.appointed_by()),
                      DateOrDash(l.has_left(), l.left())});
    }
    absl::StrAppend(&out, "\nLeaders\n", leaders.Render());
  }
  if (org.headcounts_size() > 0) {
    Table figures({"AS OF", "CATEGORY", "COUNT", "CONTRIBUTOR"});
    for (const auto& h : org.headcounts()) {
      figures.AddRow({FormatPartialDateHuman(h.as_of()), CategoryName(h.category()),
                      FormatCount(h), h.contributor().empty() ? "-" : h.contributor()});
    }
    absl::StrAppend(&out, "\nStrength\n", figures.Render());
  }
  if (org.sources_size() > 0) {
    absl::StrAppend(&out, "\nSources\n");
    for (const auto& s : org.sources()) {
      absl::StrAppend(&out, "- ", s.quote().empty() ? s.document() : "\"" + s.quote() + "\"", "\n");
    }
  }
  return out;
}

std::string EventReport(const Event& event) {
  std::string out;
  const auto line = [&](absl::string_view key, absl::string_view value) {
    if (!value.empty()) absl::StrAppend(&out, key, ":", std::string(14 - key.size(), ' '), value, "\n");
  };
  line("Name", event.name());
  line("Title", event.title());
  line("Kind", KindName(event.kind()));
  line("Start", DateOrDash(event.has_start(), event.start()));
  line("End", DateOrDash(event.has_end(), event.end()));
  std::vector<std::string> orgs;
  for (const auto& o : event.organizations()) orgs.push_back(IdOf(o));
  line("Organizations", absl::StrJoin(orgs, ", "));
  line("Description", event.description());
  if (event.sources_size() > 0) {
    absl::StrAppend(&out, "\nSources\n");
    for (const auto& s : event.sources()) {
      absl::StrAppend(&out, "- ", s.quote().empty() ? s.document() : "\"" + s.quote() + "\"", "\n");
    }
  }
  return out;
}

namespace {

// One organization of a presence report, with its leaders, figures, events
// and, unless its lifespan covers the date or it is listed `apart` (where
// the heading says it), the basis it is there on.
void AppendPresent(const timeline::v1::Presence::PresentOrganization& p, bool apart,
                   std::string* out) {
  absl::StrAppend(out, "\n", p.acronym().empty() ? IdOf(p.organization()) : p.acronym(),
                  " - ", p.display_name(), " (", KindName(p.kind()));
  if (!p.parent_organization().empty()) {
    absl::StrAppend(out, ", part of ", IdOf(p.parent_organization()));
  }
  absl::StrAppend(out, ")\n");
  if (!apart && p.basis() != type::v1::SPAN_COVERS_DATE && !BasisText(p.basis()).empty()) {
    absl::StrAppend(out, "  basis    ", BasisText(p.basis()), "\n");
  }
  for (const auto& l : p.leaders()) {
    absl::StrAppend(out, "  led by   ", l.person(), ", ", l.role());
    if (l.has_appointed() && !IsUnset(l.appointed())) {
      absl::StrAppend(out, " (since ", FormatPartialDateHuman(l.appointed()), ")");
    }
    absl::StrAppend(out, "\n");
  }
  for (const auto& h : p.headcounts()) {
    absl::StrAppend(out, "  strength ", FormatCount(h), " ", CategoryName(h.category()));
    if (!h.contributor().empty()) absl::StrAppend(out, " from ", h.contributor());
    absl::StrAppend(out, " (", FormatPartialDateHuman(h.as_of()), ")\n");
  }
  for (const auto& e : p.events()) {
    absl::StrAppend(out, "  event    ", FormatPartialDateHuman(e.start()), ": ", e.title(),
                    "\n");
  }
}

}  // namespace

std::string PresenceReport(const timeline::v1::Presence& presence) {
  const std::string when = FormatPartialDateHuman(presence.date());
  std::string out = absl::StrCat("Present on ", when, ": ", presence.organizations_size(),
                                 " organizations\n");
  for (const auto& p : presence.organizations()) AppendPresent(p, /*apart=*/false, &out);
  if (presence.unknown_bound_organizations_size() > 0) {
    absl::StrAppend(&out, "\nPresence on ", when, " unknown (start not recorded): ",
                    presence.unknown_bound_organizations_size(), " organizations\n");
    for (const auto& p : presence.unknown_bound_organizations()) {
      AppendPresent(p, /*apart=*/true, &out);
    }
  }
  return out;
}

}  // namespace presence::cli
