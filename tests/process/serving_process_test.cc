// Production serving of the real binaries: tokens reloaded on SIGHUP and
// never logged, TLS and mTLS (with certificates generated here) and their
// reload, the plaintext health port, default deadlines, request ids across
// both services, /metrics, and graceful shutdown under load.

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "tests/testing/log_lines.h"
#include "tests/testing/prometheus.h"
#include "tests/testing/service_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_server.h"

namespace presence {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::registry::v1::RegistryService;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;
using ::presence::testing::ServiceProcess;
using ::presence::testing::StatusIs;
using ::presence::testing::WaitUntil;
using ::presence::timeline::v1::TimelineService;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTokenA[] = "first-editor-token-1234567";
constexpr char kTokenB[] = "second-editor-token-7654321";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

grpc::Status CreateOrg(RegistryService::Stub& stub, const std::string& id,
                       const std::string& token, Organization* out = nullptr) {
  registry::v1::CreateOrganizationRequest request;
  request.set_organization_id(id);
  request.mutable_organization()->set_display_name(id);
  request.mutable_organization()->set_kind(Organization::KIND_OTHER);
  auto context = Ctx();
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  Organization created;
  grpc::Status s = stub.CreateOrganization(context.get(), request, &created);
  if (out) *out = created;
  return s;
}

// The "serving" log line's health port.
int HealthPort(const std::string& log) {
  for (const auto& line : testing::ParseLogLines(log)) {
    if (testing::Field(line, "event") == "serving") {
      return static_cast<int>(line.fields().at("health_port").number_value());
    }
  }
  return 0;
}

std::shared_ptr<grpc::Channel> TlsChannel(int port, const std::string& ca_dir,
                                          const std::string& client_dir) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = testing::ReadFile(ca_dir + "/ca.pem");
  if (!client_dir.empty()) {
    ssl.pem_cert_chain = testing::ReadFile(client_dir + "/client.pem");
    ssl.pem_private_key = testing::ReadFile(client_dir + "/client.key");
  }
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(ssl));
}

grpc::Status Probe(std::shared_ptr<grpc::Channel> channel) {
  registry::v1::GetOrganizationRequest request;
  request.set_name("organizations/kfor");
  Organization org;
  return RegistryService::NewStub(channel)->GetOrganization(Ctx(absl::Seconds(5)).get(), request, &org);
}

void MakeCerts(const std::string& dir) {
  const testing::CommandResult result =
      testing::RunCommand({"/bin/sh", PRESENCE_MAKE_CERTS, dir}, "/tmp");
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

TEST(ServingProcessTest, TokensReloadOnSighupAndNeverAppearInLogs) {
  testing::TempDir dir;
  const std::string tokens = dir.Sub("tokens");
  WriteFile(tokens, absl::StrCat("alice editor ", kTokenA, "\nops reader reader-token-xxxxxxxxxxxx\n"));
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                          {"--tokens_file=" + tokens});
  ASSERT_TRUE(registry.ok()) << registry.log();
  auto stub = RegistryService::NewStub(registry.channel());
  EXPECT_THAT(CreateOrg(*stub, "by-a", kTokenA), IsOk());
  EXPECT_THAT(CreateOrg(*stub, "by-b", kTokenB), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(CreateOrg(*stub, "by-nobody", ""), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(CreateOrg(*stub, "by-reader", "reader-token-xxxxxxxxxxxx"),
              StatusIs(absl::StatusCode::kPermissionDenied));

  // A watch stream open across the reload keeps working.
  registry::v1::WatchOrganizationsRequest watch;
  watch.set_start_revision(17);
  auto watch_context = Ctx(absl::Seconds(60));
  auto reader = stub->WatchOrganizations(watch_context.get(), watch);
  registry::v1::OrganizationChange change;
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.principal(), "alice");

  WriteFile(tokens, absl::StrCat("bob editor ", kTokenB, "\n"));
  registry.process().Signal(SIGHUP);
  EXPECT_TRUE(WaitUntil([&] { return CreateOrg(*stub, "by-b", kTokenB).ok(); }));
  EXPECT_THAT(CreateOrg(*stub, "by-a-again", kTokenA), StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.organization().name(), "organizations/by-b");
  EXPECT_EQ(change.principal(), "bob");
  watch_context->TryCancel();
  reader->Finish();

  // A broken file keeps the tokens in force.
  WriteFile(tokens, "garbage\n");
  registry.process().Signal(SIGHUP);
  EXPECT_TRUE(WaitUntil([&] { return registry.log().find("tokens reload failed") != std::string::npos; }));
  EXPECT_THAT(CreateOrg(*stub, "still-bob", kTokenB), IsOk());

  EXPECT_TRUE(WaitUntil([&] { return registry.log().find("tokens reloaded") != std::string::npos; }));
  const std::string log = registry.log();
  EXPECT_THAT(log, Not(HasSubstr(kTokenA)));
  EXPECT_THAT(log, Not(HasSubstr(kTokenB)));
  EXPECT_THAT(log, Not(HasSubstr("reader-token-xxxxxxxxxxxx")));
  // The configuration is logged at start, naming the file, not its content.
  ASSERT_TRUE(WaitUntil([&] { return registry.log().find("\"tokens_file\"") != std::string::npos; }));
  EXPECT_THAT(log, HasSubstr("\"tokens_file\":\"" + tokens + "\""));
}

TEST(ServingProcessTest, TlsMtlsHealthPortAndCertificateReload) {
  testing::TempDir dir;
  MakeCerts(dir.Sub("ca1"));
  MakeCerts(dir.Sub("ca2"));
  // The server reads its files from "live", which is then switched to CA2.
  const std::string live = dir.Sub("live");
  ASSERT_EQ(testing::RunCommand({"/bin/cp", "-r", dir.Sub("ca1"), live}, "/tmp").exit_code, 0);
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                          {"--tls_cert=" + live + "/server.pem", "--tls_key=" + live + "/server.key",
                           "--tls_client_ca=" + live + "/ca.pem", "--health_listen=127.0.0.1:0"});
  // The port file appears once serving; the test's own channel is plaintext,
  // so ok() (which only needs the port) is what to check.
  ASSERT_TRUE(registry.ok()) << registry.log();
  const int port = registry.port();

  EXPECT_THAT(Probe(TlsChannel(port, dir.Sub("ca1"), dir.Sub("ca1"))), IsOk());
  EXPECT_THAT(Probe(registry.channel()), Not(IsOk())) << "plaintext must be refused";
  EXPECT_THAT(Probe(TlsChannel(port, dir.Sub("ca1"), "")), Not(IsOk()))
      << "mTLS without a client certificate must be refused";
  EXPECT_THAT(Probe(TlsChannel(port, dir.Sub("ca2"), dir.Sub("ca2"))), Not(IsOk()))
      << "a server certificate from another CA must not be trusted";

  // Kubernetes probes speak plaintext to the health port.
  int health_port = 0;
  WaitUntil([&] { return (health_port = HealthPort(registry.log())) > 0; });
  ASSERT_GT(health_port, 0) << registry.log();
  auto health = grpc::health::v1::Health::NewStub(testing::LoopbackChannel(health_port));
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_THAT(health->Check(Ctx().get(), check, &response), IsOk());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // New certificates (another CA) are picked up without a restart.
  for (const char* file : {"ca.pem", "server.pem", "server.key"}) {
    ASSERT_EQ(testing::RunCommand({"/bin/cp", dir.Sub("ca2") + "/" + file, live + "/" + file},
                                  "/tmp").exit_code, 0);
  }
  registry.process().Signal(SIGHUP);
  EXPECT_TRUE(WaitUntil([&] {
    return Probe(TlsChannel(port, dir.Sub("ca2"), dir.Sub("ca2"))).ok();
  })) << registry.log();
  EXPECT_THAT(Probe(TlsChannel(port, dir.Sub("ca1"), dir.Sub("ca1"))), Not(IsOk()));
}

TEST(ServingProcessTest, TimelineTalksToASecuredRegistry) {
  testing::TempDir dir;
  MakeCerts(dir.Sub("ca"));
  const std::string ca = dir.Sub("ca");
  WriteFile(dir.Sub("tokens"), absl::StrCat("timeline editor ", kTokenA, "\n"));
  WriteFile(dir.Sub("timeline-token"), absl::StrCat(kTokenA, "\n"));
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                          {"--tls_cert=" + ca + "/server.pem", "--tls_key=" + ca + "/server.key",
                           "--tls_client_ca=" + ca + "/ca.pem",
                           "--tokens_file=" + dir.Sub("tokens"), "--require_auth_for_reads"});
  ASSERT_TRUE(registry.ok()) << registry.log();
  ServiceProcess timeline(PRESENCE_TIMELINE_BIN, dir.path(), "timeline",
                          {"--registry=" + registry.address(),
                           "--registry_tls_ca=" + ca + "/ca.pem",
                           "--registry_tls_cert=" + ca + "/client.pem",
                           "--registry_tls_key=" + ca + "/client.key",
                           "--registry_token_file=" + dir.Sub("timeline-token")});
  ASSERT_TRUE(timeline.ok()) << timeline.log();
  auto stub = TimelineService::NewStub(timeline.channel());
  timeline::v1::GetPresenceRequest presence;
  presence.mutable_date()->set_year(2009);
  timeline::v1::Presence report;
  EXPECT_TRUE(WaitUntil([&] {
    return stub->GetPresence(Ctx().get(), presence, &report).ok();
  })) << timeline.log();
  // The six presences of 2009: four known, the ICO and OMiK unknown bounds.
  EXPECT_EQ(report.organizations_size() + report.unknown_bound_organizations_size(), 6);
  timeline::v1::CreateEventRequest create;
  create.set_event_id("checked");
  create.mutable_event()->set_title("T");
  create.mutable_event()->set_kind(timeline::v1::Event::OTHER);
  create.mutable_event()->mutable_start()->set_year(2010);
  create.mutable_event()->add_organizations("organizations/kfor");
  timeline::v1::Event event;
  EXPECT_THAT(stub->CreateEvent(Ctx().get(), create, &event), IsOk());
  EXPECT_THAT(timeline.log(), Not(HasSubstr(kTokenA)));
}

TEST(ServingProcessTest, RequestIdsCrossServicesAndDefaultDeadlinesApply) {
  testing::TempDir dir;
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry", {});
  ASSERT_TRUE(registry.ok());
  ServiceProcess timeline(PRESENCE_TIMELINE_BIN, dir.path(), "timeline",
                          {"--registry=" + registry.address()});
  ASSERT_TRUE(timeline.ok());
  auto stub = TimelineService::NewStub(timeline.channel());
  timeline::v1::CreateEventRequest create;
  create.set_event_id("traced");
  create.mutable_event()->set_title("T");
  create.mutable_event()->set_kind(timeline::v1::Event::OTHER);
  create.mutable_event()->mutable_start()->set_year(2010);
  create.mutable_event()->add_organizations("organizations/kfor");
  // An organization the timeline's cache does not know, so that the check
  // goes to the registry (a live cache answers for known ones).
  create.mutable_event()->set_organizations(0, "organizations/unknown-to-all");
  auto context = Ctx();
  context->AddMetadata("x-request-id", "trace-0042");
  timeline::v1::Event event;
  ASSERT_THAT(stub->CreateEvent(context.get(), create, &event),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown-to-all")));
  std::vector<google::protobuf::Struct> in_timeline;
  ASSERT_TRUE(WaitUntil([&] {
    in_timeline = testing::RpcLines(timeline.log(), "/presence.timeline.v1.TimelineService/CreateEvent");
    return !in_timeline.empty();
  }));
  ASSERT_EQ(in_timeline.size(), 1u);
  EXPECT_EQ(testing::Field(in_timeline[0], "request_id"), "trace-0042");
  std::vector<google::protobuf::Struct> in_registry;
  ASSERT_TRUE(WaitUntil([&] {
    in_registry = testing::RpcLines(registry.log(), "/presence.registry.v1.RegistryService/GetOrganization");
    return !in_registry.empty();
  }));
  EXPECT_EQ(testing::Field(in_registry.back(), "request_id"), "trace-0042");

  // A request without a deadline gets the default one, which bounds the
  // registry call: against a registry that never answers it ends, not hangs.
  create.mutable_event()->set_organizations(0, "organizations/kfor");
  const int hole = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(hole, 16), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(hole, reinterpret_cast<sockaddr*>(&addr), &len);
  ServiceProcess stuck(PRESENCE_TIMELINE_BIN, dir.path(), "stuck",
                       {absl::StrCat("--registry=127.0.0.1:", ntohs(addr.sin_port)),
                        "--registry_timeout=120s", "--default_deadline=1s"});
  ASSERT_TRUE(stuck.ok());
  auto stuck_stub = TimelineService::NewStub(stuck.channel());
  auto result = std::async(std::launch::async, [&] {
    grpc::ClientContext no_deadline;
    timeline::v1::Event out;
    return stuck_stub->CreateEvent(&no_deadline, create, &out);
  });
  ASSERT_EQ(result.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the call did not end with its default deadline";
  EXPECT_THAT(result.get(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  ::close(hole);
}

TEST(ServingProcessTest, MetricsOfBothServices) {
  testing::TempDir dir;
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                          {"--metrics_port_file=" + dir.Sub("registry.metrics")});
  ASSERT_TRUE(registry.ok());
  ServiceProcess timeline(PRESENCE_TIMELINE_BIN, dir.path(), "timeline",
                          {"--registry=" + registry.address(),
                           "--metrics_port_file=" + dir.Sub("timeline.metrics")});
  ASSERT_TRUE(timeline.ok());
  std::map<std::string, std::string> texts;  // port file -> last exposition
  const auto scrape = [&texts](const std::string& port_file) {
    std::optional<int> port = testing::WaitForPortFile(port_file);
    if (!port) return std::map<std::string, double>{};
    httplib::Client client("127.0.0.1", *port);
    auto response = client.Get("/metrics");
    if (!response) return std::map<std::string, double>{};
    texts[port_file] = response->body;
    return testing::ParseExposition(response->body);
  };
  // The timeline's link comes up once it follows the registry's feed.
  std::map<std::string, double> tl;
  EXPECT_TRUE(WaitUntil([&] {
    tl = scrape(dir.Sub("timeline.metrics"));
    return testing::Sample(tl, "presence_timeline_registry_link_up") == 1;
  }));
  EXPECT_EQ(testing::Sample(tl, "presence_timeline_registry_cache_organizations"), 17);
  EXPECT_EQ(testing::Sample(tl, "presence_timeline_registry_cache_filled"), 1);
  EXPECT_GT(testing::Sample(tl, "presence_rocksdb_estimate_num_keys"), 0);

  auto stub = RegistryService::NewStub(registry.channel());
  for (int i = 0; i < 4; ++i) {
    registry::v1::GetOrganizationRequest get;
    get.set_name("organizations/kfor");
    Organization org;
    ASSERT_THAT(stub->GetOrganization(Ctx().get(), get, &org), IsOk());
  }
  const auto reg = scrape(dir.Sub("registry.metrics"));
  EXPECT_EQ(testing::Sample(reg,
      "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"GetOrganization\","
      "grpc_service=\"presence.registry.v1.RegistryService\",grpc_type=\"unary\"}"), 4);
  // The timeline's watch stream: started, one request, the history replayed.
  const std::string watch =
      "{grpc_method=\"WatchOrganizations\",grpc_service=\"presence.registry.v1.RegistryService\","
      "grpc_type=\"server_stream\"}";
  EXPECT_GE(testing::Sample(reg, "grpc_server_started_total" + watch), 1);
  EXPECT_GE(testing::Sample(reg, "grpc_server_msg_sent_total" + watch), 0);
  EXPECT_EQ(testing::Sample(reg, "presence_registry_watch_streams"), 1) << "the timeline's";
  EXPECT_EQ(testing::Sample(reg, "presence_registry_revision"), 17);
  for (const char* name : {"presence_rocksdb_estimate_num_keys",
                           "presence_rocksdb_live_sst_files_size_bytes",
                           "presence_rocksdb_block_cache_usage_bytes",
                           "presence_rocksdb_estimate_pending_compaction_bytes",
                           "presence_rocksdb_size_all_mem_tables_bytes", "presence_rpc_in_flight",
                           "process_start_time_seconds", "process_cpu_seconds_total",
                           "process_resident_memory_bytes", "process_open_fds",
                           "process_max_fds"}) {
    EXPECT_GE(testing::Sample(reg, name), 0) << name;
  }
  // Both expositions pass Prometheus' own linter (Debian's promtool, unpacked
  // by scripts/install-deps).
  for (const auto& [port_file, text] : texts) {
    const std::string file = port_file + ".txt";
    std::ofstream(file) << text;
    const std::string command =
        absl::StrCat(PRESENCE_PROMTOOL, " check metrics < ", file, " > ", file, ".out 2>&1");
    EXPECT_EQ(std::system(command.c_str()), 0)
        << port_file << ":\n" << testing::ReadFile(file + ".out");
  }
}

TEST(ServingProcessTest, Sigusr1WritesABackupThatOpens) {
  testing::TempDir dir;
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                          {"--backup_dir=" + dir.Sub("backups")});
  ASSERT_TRUE(registry.ok());
  auto stub = RegistryService::NewStub(registry.channel());
  ASSERT_THAT(CreateOrg(*stub, "before-backup", ""), IsOk());
  registry.process().Signal(SIGUSR1);
  std::string backup;
  ASSERT_TRUE(WaitUntil([&] {
    for (const auto& line : testing::ParseLogLines(registry.log())) {
      if (testing::Field(line, "event") == "backup") backup = testing::Field(line, "dir");
    }
    return !backup.empty();
  })) << registry.log();
  ASSERT_THAT(CreateOrg(*stub, "after-backup", ""), IsOk());
  // The backup is a database of its own, as of the signal.
  ServiceProcess restored(PRESENCE_REGISTRY_BIN, dir.path(), "restored",
                          {"--data_dir=" + backup, "--seed=false"});
  ASSERT_TRUE(restored.ok()) << restored.log();
  auto restored_stub = RegistryService::NewStub(restored.channel());
  registry::v1::GetOrganizationRequest get;
  Organization org;
  get.set_name("organizations/before-backup");
  EXPECT_THAT(restored_stub->GetOrganization(Ctx().get(), get, &org), IsOk());
  get.set_name("organizations/after-backup");
  EXPECT_THAT(restored_stub->GetOrganization(Ctx().get(), get, &org),
              StatusIs(absl::StatusCode::kNotFound));
  get.set_name("organizations/kfor");
  EXPECT_THAT(restored_stub->GetOrganization(Ctx().get(), get, &org), IsOk());
}

TEST(ServingProcessTest, GracefulShutdownUnderLoad) {
  testing::TempDir dir;
  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                          {"--shutdown_grace=20s", "--seed=false"});
  ASSERT_TRUE(registry.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, unavailable{0}, refused{0};
  std::mutex mu;
  std::vector<std::string> unexpected;
  std::set<std::string> acknowledged;
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      // Each client has its own connection, as separate services would.
      auto stub = RegistryService::NewStub(grpc::CreateChannel(
          registry.address(), grpc::InsecureChannelCredentials()));
      for (int i = 0; !stop.load(); ++i) {
        const std::string id = absl::StrFormat("c%d-%d", t, i);
        grpc::Status s = CreateOrg(*stub, id, "");
        if (s.ok()) {
          ++ok;
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.insert(id);
        } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
          ++unavailable;
          return;  // The server is gone.
        } else if (s.error_code() == grpc::StatusCode::CANCELLED) {
          // gRPC resets calls that reach the server after its shutdown began
          // and before the client saw the GOAWAY; the service never saw
          // them (checked against its log below).
          ++refused;
          return;
        } else {
          std::lock_guard<std::mutex> lock(mu);
          unexpected.push_back(absl::StrCat(s.error_code(), ": ", s.error_message()));
          return;
        }
      }
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return ok.load() >= 100; }));
  registry.process().Signal(SIGTERM);
  std::optional<int> status = registry.process().Wait(absl::Seconds(60));
  ASSERT_TRUE(status.has_value()) << "did not exit";
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0) << registry.log();
  EXPECT_TRUE(unexpected.empty()) << ::testing::PrintToString(unexpected);
  EXPECT_GT(unavailable.load() + refused.load(), 0);
  // Every RPC the service began completed: each has its log line with OK,
  // and each was acknowledged to its client.
  const auto served = testing::RpcLines(
      registry.log(), "/presence.registry.v1.RegistryService/CreateOrganization");
  for (const auto& line : served) EXPECT_EQ(testing::Field(line, "code"), "OK");
  EXPECT_EQ(served.size(), static_cast<size_t>(ok.load()));

  // Everything acknowledged before the shutdown is there.
  ServiceProcess restarted(PRESENCE_REGISTRY_BIN, dir.path(), "registry", {"--seed=false"});
  ASSERT_TRUE(restarted.ok());
  auto stub = RegistryService::NewStub(restarted.channel());
  for (const std::string& id : acknowledged) {
    registry::v1::GetOrganizationRequest get;
    get.set_name("organizations/" + id);
    Organization org;
    ASSERT_THAT(stub->GetOrganization(Ctx().get(), get, &org), IsOk()) << id;
  }
}

// Both binaries describe themselves: --help lists their own flags by source
// path (no build paths), --version prints the version line, and a health
// check's answer carries the same line as `presence-version` metadata.
TEST(ServingProcessTest, BinariesDescribeThemselves) {
  testing::TempDir dir;
  for (const auto& [binary, program, own_flag] :
       {std::tuple<std::string, std::string, std::string>{
            PRESENCE_REGISTRY_BIN, "presence-registry", "--change_retention"},
        {PRESENCE_TIMELINE_BIN, "presence-timeline", "--registry_timeout"}}) {
    SCOPED_TRACE(program);
    const testing::CommandResult help = testing::RunCommand({binary, "--help"}, dir.path());
    EXPECT_EQ(help.exit_code, 1);  // abseil's convention for --help.
    const std::string text = help.out + help.err;
    EXPECT_THAT(text, Not(HasSubstr("No flags matched")));
    EXPECT_THAT(text, HasSubstr(own_flag + " ("));
    EXPECT_THAT(text, HasSubstr("--tokens_file ("));  // The shared serving flags.
    EXPECT_THAT(text, HasSubstr("Flags from services/common/server/serving.cc"));
    EXPECT_THAT(text, Not(HasSubstr(PRESENCE_SOURCE_DIR)));

    const testing::CommandResult version =
        testing::RunCommand({binary, "--version"}, dir.path());
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_THAT(version.out, ::testing::MatchesRegex(
                                 program + " [0-9]+\\.[0-9]+\\.[0-9]+( \\(git [0-9a-f]+(-dirty)?\\))?\n"));
    EXPECT_THAT(version.out, Not(HasSubstr("Debug build")));
  }

  ServiceProcess registry(PRESENCE_REGISTRY_BIN, dir.path(), "registry", {"--seed=false"});
  ASSERT_TRUE(registry.ok());
  const testing::CommandResult version =
      testing::RunCommand({PRESENCE_REGISTRY_BIN, "--version"}, dir.path());
  auto health = grpc::health::v1::Health::NewStub(registry.channel());
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse response;
  auto context = Ctx();
  ASSERT_THAT(health->Check(context.get(), check, &response), IsOk());
  const auto& metadata = context->GetServerInitialMetadata();
  auto it = metadata.find("presence-version");
  ASSERT_NE(it, metadata.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()) + "\n", version.out);

  // The "configuration" line logs presence's own flags (the service's and
  // the shared serving ones), not those of its libraries.
  bool logged = false;
  for (const auto& line : testing::ParseLogLines(registry.log())) {
    if (testing::Field(line, "event") != "configuration") continue;
    logged = true;
    EXPECT_TRUE(line.fields().contains("change_retention"));
    EXPECT_TRUE(line.fields().contains("tokens_file"));
    EXPECT_FALSE(line.fields().contains("flagfile"));  // abseil's own.
  }
  EXPECT_TRUE(logged) << registry.log();
}

}  // namespace
}  // namespace presence
