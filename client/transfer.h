#ifndef PRESENCE_CLIENT_TRANSFER_H_
#define PRESENCE_CLIENT_TRANSFER_H_

// presencectl export and import: everything the two services hold as JSON
// Lines, one resource per line in protobuf JSON without output-only fields;
// organizations first (parents and appointing bodies before the
// organizations naming them), then events. No gRPC here: the services are
// reached through TransferTarget (the gRPC one is client/transfer_grpc.h),
// so that tests can use a fake.
//
// Import reproduces any state an export can hold: it lists what the target
// has, plans the writes that turn it into the file's state and runs them,
// in an order the registry's rules allow whatever the order of the file:
// every organization first comes to exist as a skeleton (parents first;
// without the names it shares with another organization at some point, and
// without leaders appointed by organizations created after it), then the
// events are written (every organization they name is live then), then the
// organizations to end deleted get their final content and are deleted,
// children before parents, and last the live ones get their final content.
// An organization whose id is a name a deleted one had is deleted for that
// moment and restored. What already matches is left alone, so importing
// the same file twice changes nothing.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"

namespace presence::cli {

// One resource of a JSON Lines file: exactly one of the two is set.
struct ImportRecord {
  std::optional<registry::v1::Organization> organization;
  std::optional<timeline::v1::Event> event;
};

// Parses one line: protobuf JSON of an Organization (its "name" is
// "organizations/{id}") or of an Event ("events/{id}"). INVALID_ARGUMENT,
// naming the problem, for anything else (including blank lines). Total: any
// input returns a status, never crashes (fuzzed by the reliability suite).
absl::StatusOr<ImportRecord> ParseImportLine(absl::string_view line);

// A parsed line and its number (from 1).
struct ImportLine {
  int number = 0;
  ImportRecord record;
};

// Parses a whole file: blank lines are skipped; a line that does not parse,
// or names a resource an earlier line named, is passed to `on_error` (line
// number, message) and left out.
std::vector<ImportLine> ParseImportText(
    absl::string_view text,
    const std::function<void(int line, absl::string_view message)>& on_error);

// The content of a resource: without the fields the services set (its
// OUTPUT_ONLY fields by the protos' annotations: revision, times,
// principals) and the etag. An organization keeps its state.
registry::v1::Organization ExportContent(registry::v1::Organization org);
timeline::v1::Event ExportContent(timeline::v1::Event event);

// Organizations ordered by id, except that every parent comes before its
// children, and every appointing body before the organizations naming it
// unless that would put a child before its parent (an appointment cycle).
std::vector<registry::v1::Organization> DependencyOrder(
    std::vector<registry::v1::Organization> orgs);

// What export reads from and import writes to. Calls are synchronous; a
// failure is the service's status. Implementations need not be thread-safe.
class TransferTarget {
 public:
  virtual ~TransferTarget() = default;

  // Every organization, deleted ones included.
  virtual absl::StatusOr<std::vector<registry::v1::Organization>>
  ListOrganizations() = 0;
  // Every event.
  virtual absl::StatusOr<std::vector<timeline::v1::Event>> ListEvents() = 0;

  // Creates the organizations, all or none, in this order (a parent or
  // appointing body may be an earlier one); ids come from their names.
  virtual absl::Status CreateOrganizations(
      const std::vector<registry::v1::Organization>& orgs) = 0;
  // Replaces the content of a live organization (update mask "*").
  virtual absl::Status ReplaceOrganization(const registry::v1::Organization& org) = 0;
  virtual absl::Status DeleteOrganization(const std::string& name) = 0;
  virtual absl::Status UndeleteOrganization(const std::string& name) = 0;
  // Creates the events, all or none.
  virtual absl::Status CreateEvents(const std::vector<timeline::v1::Event>& events) = 0;
  // Replaces the content of an event (update mask "*").
  virtual absl::Status ReplaceEvent(const timeline::v1::Event& event) = 0;
};

// Writes the export of `source` to `out`.
absl::Status Export(TransferTarget& source, std::ostream& out);

// One write of an import plan.
struct ImportStep {
  enum class Kind {
    kCreateOrganization,
    kUndeleteOrganization,
    kUpdateOrganization,
    kCreateEvent,
    kUpdateEvent,
    kDeleteOrganization,
  };
  Kind kind;
  // The line the step serves.
  int line = 0;
  // The resource name.
  std::string name;
  // What to send: the organization for creates and updates, the event for
  // event writes.
  registry::v1::Organization organization;
  timeline::v1::Event event;
  // Indices of earlier steps this one needs to have succeeded.
  std::vector<int> after;
};

// The writes turning `current` (what the target holds) into the state of
// `lines`, in an order the services accept (see above); every step comes
// after those in its `after`. Creations that follow each other can go in
// one batch. Lines that already match need no step. Pure.
std::vector<ImportStep> PlanImport(
    const std::vector<ImportLine>& lines,
    const std::vector<registry::v1::Organization>& current_orgs,
    const std::vector<timeline::v1::Event>& current_events);

struct ImportOptions {
  // Stop at the first failing write.
  bool fail_fast = false;
  // Most creations in one batch call (the services' limit is 1000).
  int batch_size = 1000;
};

// Per line: what import did.
struct ImportSummary {
  int created = 0;
  int updated = 0;
  int unchanged = 0;
  int failed = 0;
  // With fail_fast: lines whose writes did not run.
  int not_attempted = 0;
};

// Lists `target`, plans and runs the writes. Consecutive creations go in
// batches; a batch that fails is retried one resource at a time, so that
// each failing line is reported. A step whose prerequisite failed is not
// attempted and its line counts as failed. Every failing line is passed to
// `on_error` once. Errors listing the target are returned.
absl::StatusOr<ImportSummary> Import(
    TransferTarget& target, const std::vector<ImportLine>& lines,
    const ImportOptions& options,
    const std::function<void(int line, absl::string_view message)>& on_error);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_TRANSFER_H_
