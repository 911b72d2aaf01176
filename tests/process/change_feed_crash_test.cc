// The change-feed gap of issue 11 §3, on embedded RocksDB: kill -9 of the
// registry under 64 concurrent writers, over several cycles on the same
// data, replaying the change log from revision 0 after each restart. The
// feed must hold every revision from 1 to the current one, in order, with
// every acknowledged write at its acknowledged revision: revisions are
// allocated in commit order inside the commit, so a crash can only lose a
// suffix of unacknowledged writes, never leave a hole.
//
// PRESENCE_CRASH_CYCLES sets the number of cycles (3 by default, as in the
// test command; the README reports a long run).

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "tests/testing/service_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

using ::presence::registry::v1::CreateOrganizationRequest;
using ::presence::registry::v1::ListOrganizationsRequest;
using ::presence::registry::v1::ListOrganizationsResponse;
using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;
using ::presence::registry::v1::RegistryService;
using ::presence::registry::v1::UpdateOrganizationRequest;
using ::presence::registry::v1::WatchOrganizationsRequest;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;

constexpr int kWriters = 64;

int Cycles() {
  int cycles = 3;
  if (const char* env = std::getenv("PRESENCE_CRASH_CYCLES")) {
    if (!absl::SimpleAtoi(env, &cycles) || cycles < 1) cycles = 3;
  }
  return cycles;
}

TEST(ChangeFeedCrashTest, KillNineUnderSixtyFourWritersNeverLeavesAHoleInTheFeed) {
  testing::TempDir dir;
  std::mt19937 random(12345);
  std::map<int64_t, std::string> acknowledged;  // revision -> organization
  int64_t total_acknowledged = 0;
  const int cycles = Cycles();
  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE(absl::StrCat("cycle ", cycle));
    testing::ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                                     {"--seed=false", "--metrics_listen=",
                                      // Keep every change: the feed is replayed from 0.
                                      "--change_retention=1000000000"});
    ASSERT_TRUE(registry.ok()) << registry.log();
    auto stub = RegistryService::NewStub(registry.channel());

    // Replay the whole feed: 1..current, in order, each acknowledged write
    // where it was acknowledged.
    ListOrganizationsRequest list;
    list.set_page_size(1);
    ListOrganizationsResponse listed;
    ASSERT_THAT(stub->ListOrganizations(Ctx().get(), list, &listed), IsOk());
    const int64_t current = listed.revision();
    if (current > 0) {
      WatchOrganizationsRequest watch;
      watch.set_start_revision(0);
      auto context = Ctx(absl::Seconds(60));
      auto reader = stub->WatchOrganizations(context.get(), watch);
      OrganizationChange change;
      int64_t expected = 1;
      while (expected <= current && reader->Read(&change)) {
        ASSERT_EQ(change.revision(), expected) << "a hole in the change feed";
        if (auto it = acknowledged.find(expected); it != acknowledged.end()) {
          EXPECT_EQ(change.organization().name(), it->second);
        }
        ++expected;
      }
      context->TryCancel();
      grpc::Status finished = reader->Finish();
      ASSERT_EQ(expected, current + 1)
          << "the feed stopped at " << expected << " of " << current << ": "
          << finished.error_message();
    }
    EXPECT_TRUE(acknowledged.empty() || acknowledged.rbegin()->first <= current)
        << "an acknowledged write was lost";
    if (cycle == cycles - 1) break;

    // 64 writers, creates and updates, until a random number of them were
    // acknowledged; then kill -9 in the middle of the traffic.
    const int64_t kill_after = std::uniform_int_distribution<int64_t>(100, 600)(random);
    std::atomic<int64_t> acks{0};
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; !stop; ++i) {
          const std::string id = absl::StrFormat("c%d-w%02d-%04d", cycle, w, i);
          CreateOrganizationRequest create;
          create.set_organization_id(id);
          create.mutable_organization()->set_display_name("Crash loop");
          create.mutable_organization()->set_kind(Organization::KIND_OTHER);
          Organization created;
          if (!stub->CreateOrganization(Ctx(absl::Seconds(10)).get(), create, &created).ok()) {
            continue;
          }
          UpdateOrganizationRequest update;
          update.mutable_organization()->set_name(created.name());
          update.mutable_organization()->set_description("updated");
          Organization updated;
          const bool update_ok =
              stub->UpdateOrganization(Ctx(absl::Seconds(10)).get(), update, &updated).ok();
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[created.revision()] = created.name();
          if (update_ok) acknowledged[updated.revision()] = updated.name();
          acks += update_ok ? 2 : 1;
        }
      });
    }
    EXPECT_TRUE(testing::WaitUntil([&] { return acks >= kill_after; }, absl::Seconds(60)));
    registry.process().Signal(SIGKILL);
    const bool died = registry.process().Wait().has_value();
    stop = true;
    for (auto& t : writers) t.join();
    ASSERT_TRUE(died);
    total_acknowledged += acks;
  }
  std::cerr << cycles << " cycles, " << total_acknowledged
            << " acknowledged writes, feed replayed from 0 after each\n";
}

}  // namespace
}  // namespace presence
