// The timeline's gRPC RegistryClient against a scripted registry on a
// loopback port: retries of idempotent reads on UNAVAILABLE only, and
// deadlines.

#include <atomic>
#include <deque>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "services/timeline/grpc_registry_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

using ::presence::registry::v1::GetOrganizationRequest;
using ::presence::registry::v1::Organization;
using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;

// Answers GetOrganization with scripted statuses, then OK.
class ScriptedRegistry final : public registry::v1::RegistryService::Service {
 public:
  void Script(std::deque<grpc::Status> statuses) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(statuses);
  }
  int calls() const { return calls_.load(); }

  grpc::Status GetOrganization(grpc::ServerContext*, const GetOrganizationRequest* request,
                               Organization* response) override {
    ++calls_;
    absl::MutexLock lock(&mu_);
    if (!script_.empty()) {
      grpc::Status next = script_.front();
      script_.pop_front();
      if (!next.ok()) return next;
    }
    response->set_name(request->name());
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::deque<grpc::Status> script_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> calls_{0};
};

CallContext In(absl::Duration timeout) {
  CallContext call;
  call.deadline = absl::Now() + timeout;
  return call;
}

class RegistryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::StartTestServer(&registry_, "presence.registry.v1.RegistryService");
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    timeline::GrpcRegistryClientOptions options;
    options.address = "127.0.0.1:" + std::to_string(server_->port());
    auto client = timeline::NewGrpcRegistryClient(options);
    ASSERT_THAT(client, IsOk());
    client_ = *std::move(client);
  }

  ScriptedRegistry registry_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<timeline::RegistryClient> client_;
};

TEST_F(RegistryClientTest, RetriesReadsOnUnavailable) {
  registry_.Script({grpc::Status(grpc::StatusCode::UNAVAILABLE, "blip"),
                    grpc::Status(grpc::StatusCode::UNAVAILABLE, "blip")});
  auto org = client_->GetOrganization("organizations/kfor", In(absl::Seconds(10)));
  ASSERT_THAT(org, IsOk());
  EXPECT_EQ(org->name(), "organizations/kfor");
  EXPECT_EQ(registry_.calls(), 3);
}

TEST_F(RegistryClientTest, GivesUpAfterFourAttempts) {
  registry_.Script(std::deque<grpc::Status>(
      10, grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")));
  EXPECT_THAT(client_->GetOrganization("organizations/kfor", In(absl::Seconds(10))),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(registry_.calls(), 4);
}

TEST_F(RegistryClientTest, DoesNotRetryOtherErrors) {
  registry_.Script({grpc::Status(grpc::StatusCode::NOT_FOUND, "organizations/kfor not found")});
  EXPECT_THAT(client_->GetOrganization("organizations/kfor", In(absl::Seconds(10))),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(registry_.calls(), 1);
}

TEST_F(RegistryClientTest, AnExpiredDeadlineFailsWithoutACall) {
  EXPECT_THAT(client_->GetOrganization("organizations/kfor", In(-absl::Seconds(1))),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(registry_.calls(), 0);
}

}  // namespace
}  // namespace presence
