#ifndef PRESENCE_CLIENT_LISTING_H_
#define PRESENCE_CLIENT_LISTING_H_

// The services' two listings, page after page (ListPages in output.h),
// through the run's Context; failures are CallErrors.

#include "absl/status/statusor.h"
#include "client/context.h"

namespace presence::cli {

// With `all`, every page merged into one response; else the first page.
absl::StatusOr<registry::v1::ListOrganizationsResponse> ListOrganizations(
    Context& context, const registry::v1::ListOrganizationsRequest& request, bool all);
absl::StatusOr<timeline::v1::ListEventsResponse> ListEvents(
    Context& context, const timeline::v1::ListEventsRequest& request, bool all);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_LISTING_H_
