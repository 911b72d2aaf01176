#include "client/transfer_grpc.h"

#include <string>
#include <utility>
#include <vector>

#include "client/args.h"
#include "client/format.h"
#include "client/listing.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;

constexpr int kPageSize = 1000;

class GrpcTransferTarget final : public TransferTarget {
 public:
  explicit GrpcTransferTarget(Context& context) : context_(context) {}

  absl::StatusOr<std::vector<Organization>> ListOrganizations() override {
    rv1::ListOrganizationsRequest request;
    request.set_page_size(kPageSize);
    request.set_show_deleted(true);
    PRESENCE_ASSIGN_OR_RETURN(rv1::ListOrganizationsResponse all,
                              cli::ListOrganizations(context_, request, /*all=*/true));
    return std::vector<Organization>(std::make_move_iterator(all.mutable_organizations()->begin()),
                                     std::make_move_iterator(all.mutable_organizations()->end()));
  }

  absl::StatusOr<std::vector<Event>> ListEvents() override {
    tv1::ListEventsRequest request;
    request.set_page_size(kPageSize);
    PRESENCE_ASSIGN_OR_RETURN(tv1::ListEventsResponse all,
                              cli::ListEvents(context_, request, /*all=*/true));
    return std::vector<Event>(std::make_move_iterator(all.mutable_events()->begin()),
                              std::make_move_iterator(all.mutable_events()->end()));
  }

  absl::Status CreateOrganizations(const std::vector<Organization>& orgs) override {
    if (orgs.size() == 1) {
      rv1::CreateOrganizationRequest request;
      request.set_organization_id(IdOf(orgs.front().name()));
      *request.mutable_organization() = orgs.front();
      request.set_request_id(NewRequestId());
      Organization created;
      return context_.Call("creating " + orgs.front().name(), [&](grpc::ClientContext* c) {
        return context_.registry().CreateOrganization(c, request, &created);
      });
    }
    rv1::BatchCreateOrganizationsRequest request;
    for (const Organization& org : orgs) {
      rv1::CreateOrganizationRequest* create = request.add_requests();
      create->set_organization_id(IdOf(org.name()));
      *create->mutable_organization() = org;
    }
    rv1::BatchCreateOrganizationsResponse created;
    return context_.Call("creating organizations", [&](grpc::ClientContext* c) {
      return context_.registry().BatchCreateOrganizations(c, request, &created);
    });
  }

  absl::Status ReplaceOrganization(const Organization& org) override {
    rv1::UpdateOrganizationRequest request;
    *request.mutable_organization() = org;
    request.mutable_update_mask()->add_paths("*");
    Organization updated;
    return context_.Call("updating " + org.name(), [&](grpc::ClientContext* c) {
      return context_.registry().UpdateOrganization(c, request, &updated);
    });
  }

  absl::Status DeleteOrganization(const std::string& name) override {
    rv1::DeleteOrganizationRequest request;
    request.set_name(name);
    Organization deleted;
    return context_.Call("deleting " + name, [&](grpc::ClientContext* c) {
      return context_.registry().DeleteOrganization(c, request, &deleted);
    });
  }

  absl::Status UndeleteOrganization(const std::string& name) override {
    rv1::UndeleteOrganizationRequest request;
    request.set_name(name);
    Organization undeleted;
    return context_.Call("undeleting " + name, [&](grpc::ClientContext* c) {
      return context_.registry().UndeleteOrganization(c, request, &undeleted);
    });
  }

  absl::Status CreateEvents(const std::vector<Event>& events) override {
    if (events.size() == 1) {
      tv1::CreateEventRequest request;
      request.set_event_id(IdOf(events.front().name()));
      *request.mutable_event() = events.front();
      request.set_request_id(NewRequestId());
      Event created;
      return context_.Call("creating " + events.front().name(), [&](grpc::ClientContext* c) {
        return context_.timeline().CreateEvent(c, request, &created);
      });
    }
    tv1::BatchCreateEventsRequest request;
    for (const Event& event : events) {
      tv1::CreateEventRequest* create = request.add_requests();
      create->set_event_id(IdOf(event.name()));
      *create->mutable_event() = event;
    }
    tv1::BatchCreateEventsResponse created;
    return context_.Call("creating events", [&](grpc::ClientContext* c) {
      return context_.timeline().BatchCreateEvents(c, request, &created);
    });
  }

  absl::Status ReplaceEvent(const Event& event) override {
    tv1::UpdateEventRequest request;
    *request.mutable_event() = event;
    request.mutable_update_mask()->add_paths("*");
    Event updated;
    return context_.Call("updating " + event.name(), [&](grpc::ClientContext* c) {
      return context_.timeline().UpdateEvent(c, request, &updated);
    });
  }

 private:
  Context& context_;
};

}  // namespace

std::unique_ptr<TransferTarget> NewGrpcTransferTarget(Context& context) {
  return std::make_unique<GrpcTransferTarget>(context);
}

}  // namespace presence::cli
