#ifndef PRESENCE_CLIENT_FORMAT_H_
#define PRESENCE_CLIENT_FORMAT_H_

// Output formatting and input parsing of presencectl: aligned tables, enum
// names as operators type them, protobuf JSON. No business rules.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"

namespace presence::cli {

// Columns separated by two spaces, each as wide as its widest cell; the first
// row is the header.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;
  size_t rows() const { return rows_.size() - 1; }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "military-mission" for KIND_MILITARY_MISSION; "transfer-of-authority" for
// TRANSFER_OF_AUTHORITY.
std::string KindName(registry::v1::Organization::Kind kind);
std::string KindName(timeline::v1::Event::Kind kind);
// On what basis an organization is in a presence report, for people:
// "its recorded lifespan covers the date" (SPAN_COVERS_DATE), "the date is
// within the uncertainty of a partial bound" (WITHIN_BOUND_UNCERTAINTY),
// "its start is not recorded" (BOUND_UNKNOWN); empty when unspecified.
std::string BasisText(type::v1::PresenceBasis basis);
// Every kind's name, in enum order (for help, completion and errors).
std::vector<std::string> OrganizationKindNames();
std::vector<std::string> EventKindNames();
// Accepts those names, the enum names, any case, '-' or '_'.
absl::StatusOr<registry::v1::Organization::Kind> ParseOrganizationKind(
    absl::string_view text);
absl::StatusOr<timeline::v1::Event::Kind> ParseEventKind(absl::string_view text);

// "~10,000", ">30", "25".
std::string FormatCount(const registry::v1::Organization::Headcount& headcount);
// "international staff" for INTERNATIONAL_STAFF.
std::string CategoryName(registry::v1::Organization::Headcount::Category c);

// The id part of "organizations/kfor" or "events/x".
std::string IdOf(absl::string_view name);

// Protobuf's JSON mapping, on one line (jsonl) or indented (json).
std::string ToJson(const google::protobuf::Message& message, bool one_line);
// Parses protobuf JSON into `message`; INVALID_ARGUMENT on errors.
absl::Status FromJson(absl::string_view json, google::protobuf::Message* message);

// Human-readable reports.
std::string OrganizationReport(const registry::v1::Organization& org);
std::string EventReport(const timeline::v1::Event& event);
// The organizations present on the date (each with its basis unless its
// lifespan covers the date), then, apart, those whose start is not recorded
// (unknown_bound_organizations): nothing says whether they were there.
std::string PresenceReport(const timeline::v1::Presence& presence);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_FORMAT_H_
