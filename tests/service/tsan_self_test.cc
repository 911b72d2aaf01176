// ThreadSanitizer still reports races in our code with the project's
// suppressions (tests/sanitizers/tsan.supp, compiled into every binary of
// the tsan build) and annotations (services/common/happens_before.h). Each
// test plants a real race — two threads write the same memory and nothing
// orders them (the two sides only spin on relaxed atomics, which order
// nothing for TSan either) — in a child process (a death test) and expects
// TSan's report and exit code (66). The races sit where a suppression too
// broad would hide them: on gRPC's callback threads (created by
// grpc_core::Thread, behind our server's interceptor), in a message of ours,
// in a std::string, beside an absl::Mutex (built with TSan here). Not
// covered, by design (README, Tests): what only Debian's uninstrumented
// libraries touch, libstdc++'s out-of-line string copies included. Skipped in
// builds without TSan.

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "services/common/happens_before.h"
#include "services/common/server/server.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

using ::presence::registry::v1::GetOrganizationRequest;
using ::presence::registry::v1::Organization;

// The memory the planted races write. Globals, so that each child process
// starts from a clean state.
int planted_int = 0;
Organization planted_org;
std::string planted_string;

// The handler's write, then the caller's, without ordering them.
std::atomic<bool> handler_wrote{false};
std::atomic<bool> caller_wrote{false};
void SpinUntil(const std::atomic<bool>& flag) {
  while (!flag.load(std::memory_order_relaxed)) std::this_thread::yield();
}

// The planted write: the int, or a field of our message.
void PlantedWrite(bool message) {
  if (message) {
    planted_org.set_kind(Organization::KIND_FIELD_MISSION);
  } else {
    ++planted_int;
  }
}

// Answers GetOrganization on gRPC's callback thread after writing the
// planted memory and waiting for the caller's write.
class RacingService final
    : public registry::v1::RegistryService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetOrganization(grpc::CallbackServerContext* context,
                                            const GetOrganizationRequest* request,
                                            Organization* response) override {
    PlantedWrite(request->name() == "organizations/message");
    handler_wrote.store(true, std::memory_order_relaxed);
    SpinUntil(caller_wrote);
    *response = Organization();
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Calls the racing service without waiting, writes the planted memory from
// this thread while the handler runs, then waits, shuts down and exits 0:
// only TSan's report (exit code 66) makes the child fail.
void RaceWithGrpcCallbackThread(bool message) {
  RacingService service;
  auto server = testing::StartTestServer(&service,
                                         "presence.registry.v1.RegistryService");
  if (!server.ok()) std::abort();
  auto stub = registry::v1::RegistryService::NewStub(
      testing::LoopbackChannel((*server)->port()));
  grpc::ClientContext context;
  GetOrganizationRequest request;
  request.set_name(message ? "organizations/message" : "organizations/int");
  Organization response;
  absl::Notification done;
  stub->async()->GetOrganization(&context, &request, &response,
                                 [&done](grpc::Status) { done.Notify(); });
  SpinUntil(handler_wrote);
  PlantedWrite(message);
  caller_wrote.store(true, std::memory_order_relaxed);
  done.WaitForNotification();
  (*server)->Shutdown(absl::ZeroDuration());
  std::exit(0);
}

class TsanSelfTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef PRESENCE_TSAN_ENABLED
    GTEST_SKIP() << "not a ThreadSanitizer build";
#endif
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

constexpr char kRaceReport[] = "WARNING: ThreadSanitizer: data race";
constexpr int kTsanExitCode = 66;

TEST_F(TsanSelfTest, ReportsARaceOnAGrpcCallbackThread) {
  EXPECT_EXIT(RaceWithGrpcCallbackThread(/*message=*/false),
              ::testing::ExitedWithCode(kTsanExitCode), kRaceReport);
}

TEST_F(TsanSelfTest, ReportsARaceOnOurMessageFromAGrpcCallbackThread) {
  EXPECT_EXIT(RaceWithGrpcCallbackThread(/*message=*/true),
              ::testing::ExitedWithCode(kTsanExitCode), kRaceReport);
}

TEST_F(TsanSelfTest, ReportsARaceOnAStdString) {
  EXPECT_EXIT(
      {
        planted_string.assign(64, ' ');
        std::thread other([] { planted_string[7] = 'a'; });
        planted_string[7] = 'b';
        other.join();
        std::exit(0);
      },
      ::testing::ExitedWithCode(kTsanExitCode), kRaceReport);
}

TEST_F(TsanSelfTest, ReportsAnUnlockedWriteBesideAnAbslMutex) {
  EXPECT_EXIT(
      {
        absl::Mutex mu;
        std::thread other([&mu] {
          absl::MutexLock lock(&mu);
          ++planted_int;
        });
        ++planted_int;  // Without mu.
        other.join();
        std::exit(0);
      },
      ::testing::ExitedWithCode(kTsanExitCode), kRaceReport);
}

}  // namespace
}  // namespace presence
