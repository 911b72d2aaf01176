#ifndef PRESENCE_CLIENT_FORMAT_H_
#define PRESENCE_CLIENT_FORMAT_H_

// Output formatting and input parsing of presencectl: aligned tables, enum
// names as operators type them, protobuf JSON. No business rules.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"

namespace presence::cli {

// Exit codes (documented in the README and in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;         // Other server or local errors.
inline constexpr int kExitUsage = 2;         // Bad command line.
inline constexpr int kExitNotFound = 3;      // NOT_FOUND.
inline constexpr int kExitInvalid = 4;       // INVALID_ARGUMENT, OUT_OF_RANGE,
                                             // unparsable dates or files.
inline constexpr int kExitUnavailable = 5;   // UNAVAILABLE, DEADLINE_EXCEEDED.
inline constexpr int kExitConflict = 6;      // ALREADY_EXISTS, ABORTED,
                                             // FAILED_PRECONDITION.
inline constexpr int kExitDenied = 7;        // UNAUTHENTICATED,
                                             // PERMISSION_DENIED.
inline constexpr int kExitPartial = 8;       // import: some lines failed.

int ExitCodeFor(absl::StatusCode code);

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

// One line of `presencectl import`: an organization or an event in
// protobuf JSON, told apart by its resource name (events/... is an event).
// Exactly one of the two is set. INVALID_ARGUMENT for anything else (not
// JSON of either, or an organization not named organizations/{id}).
struct ImportRecord {
  std::optional<registry::v1::Organization> organization;
  std::optional<timeline::v1::Event> event;
};
absl::StatusOr<ImportRecord> ParseImportLine(absl::string_view line);

// Human-readable reports.
std::string OrganizationReport(const registry::v1::Organization& org);
std::string EventReport(const timeline::v1::Event& event);
std::string PresenceReport(const timeline::v1::Presence& presence);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_FORMAT_H_
