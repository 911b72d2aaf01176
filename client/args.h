#ifndef PRESENCE_CLIENT_ARGS_H_
#define PRESENCE_CLIENT_ARGS_H_

// Turning what operators type into request values: organization arguments
// (ids, names, acronyms, aliases), dates, event names, input files, request
// ids. Failures name the flag or argument.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/context.h"
#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"
#include "presence/type/v1/types.pb.h"

namespace presence::cli {

// An organization argument: a resource name or an id is taken as it is
// (with `lookup_ids`, ids are looked up too, so that "kfor" also finds an
// organization whose acronym is "kfor"); anything else (an acronym or an
// alias) is resolved through LookupOrganization. A deleted organization is
// not found by lookup but keeps its id. Returns "organizations/{id}".
absl::StatusOr<std::string> ResolveOrganization(Context& context,
                                                const std::string& arg,
                                                bool lookup_ids);

// "events/x" for "x" or "events/x".
std::string EventName(absl::string_view arg);

// A date as people write it; INVALID_ARGUMENT "<flag>: <why>".
absl::StatusOr<type::v1::PartialDate> ParseDateArg(absl::string_view text,
                                                   absl::string_view flag);

// A --kind value (format.h's names); INVALID_ARGUMENT "--kind: <why>".
absl::StatusOr<registry::v1::Organization::Kind> OrganizationKindArg(absl::string_view text);
absl::StatusOr<timeline::v1::Event::Kind> EventKindArg(absl::string_view text);

// The content of a file, or of stdin for "-"; INVALID_ARGUMENT if unreadable.
absl::StatusOr<std::string> ReadInput(const std::string& path);

// A random UUID (version 4) for request_id.
std::string NewRequestId();

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_ARGS_H_
