#include "client/listing.h"

#include "client/output.h"
#include "services/common/status_macros.h"

namespace presence::cli {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;

absl::StatusOr<rv1::ListOrganizationsResponse> ListOrganizations(
    Context& context, const rv1::ListOrganizationsRequest& request, bool all) {
  rv1::ListOrganizationsResponse merged;
  PRESENCE_RETURN_IF_ERROR((ListPages<rv1::ListOrganizationsRequest, rv1::ListOrganizationsResponse>(
      request, all,
      [&](const rv1::ListOrganizationsRequest& r, rv1::ListOrganizationsResponse* page) {
        return context.Call("listing organizations", [&](grpc::ClientContext* c) {
          return context.registry().ListOrganizations(c, r, page);
        });
      },
      [](rv1::ListOrganizationsResponse& r) { return r.mutable_organizations(); }, &merged)));
  return merged;
}

absl::StatusOr<tv1::ListEventsResponse> ListEvents(Context& context,
                                                   const tv1::ListEventsRequest& request,
                                                   bool all) {
  tv1::ListEventsResponse merged;
  PRESENCE_RETURN_IF_ERROR((ListPages<tv1::ListEventsRequest, tv1::ListEventsResponse>(
      request, all,
      [&](const tv1::ListEventsRequest& r, tv1::ListEventsResponse* page) {
        return context.Call("listing events", [&](grpc::ClientContext* c) {
          return context.timeline().ListEvents(c, r, page);
        });
      },
      [](tv1::ListEventsResponse& r) { return r.mutable_events(); }, &merged)));
  return merged;
}

}  // namespace presence::cli
