#ifndef PRESENCE_TESTS_TESTING_FAKE_REGISTRY_CLIENT_H_
#define PRESENCE_TESTS_TESTING_FAKE_REGISTRY_CLIENT_H_

// A RegistryClient over an in-memory set of organizations, for tests of the
// timeline that do not need a registry process. Records the deadline of
// every call.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/timeline/registry_client.h"

namespace presence::testing {

class FakeRegistryClient final : public timeline::RegistryClient {
 public:
  void Put(const registry::v1::Organization& org) {
    absl::MutexLock lock(&mu_);
    orgs_[org.name()] = org;
  }
  // Every call fails with `status` while it is not OK.
  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    failure_ = std::move(status);
  }
  std::vector<absl::Time> deadlines() const {
    absl::MutexLock lock(&mu_);
    return deadlines_;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(deadlines_.size());
  }

  absl::StatusOr<registry::v1::Organization> GetOrganization(
      const std::string& name, const CallContext& call) override {
    absl::MutexLock lock(&mu_);
    deadlines_.push_back(call.deadline);
    if (!failure_.ok()) return failure_;
    auto it = orgs_.find(name);
    if (it == orgs_.end()) return absl::NotFoundError(name + " not found");
    return it->second;
  }

  absl::StatusOr<registry::v1::ListOrganizationsResponse> ListOrganizations(
      const registry::v1::ListOrganizationsRequest&,
      const CallContext& call) override {
    absl::MutexLock lock(&mu_);
    deadlines_.push_back(call.deadline);
    if (!failure_.ok()) return failure_;
    registry::v1::ListOrganizationsResponse response;
    for (const auto& [name, org] : orgs_) *response.add_organizations() = org;
    return response;
  }

  std::unique_ptr<timeline::OrganizationStream> WatchOrganizations(
      int64_t) override {
    return std::make_unique<EndedStream>();
  }

 private:
  class EndedStream final : public timeline::OrganizationStream {
   public:
    bool WaitUntilEstablished() override { return false; }
    bool Read(registry::v1::OrganizationChange*) override { return false; }
    absl::Status Finish() override {
      return absl::UnavailableError("the fake registry does not stream");
    }
    void Cancel() override {}
  };

  mutable absl::Mutex mu_;
  std::map<std::string, registry::v1::Organization> orgs_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_FAKE_REGISTRY_CLIENT_H_
