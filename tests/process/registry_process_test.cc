// The presence-registry binary as a real process: durability across
// SIGKILL, graceful SIGTERM, seeding, and refusing an unknown schema.

#include <sys/wait.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "services/common/storage/rocksdb_kv_store.h"
#include "services/registry/registry.h"
#include "tests/testing/log_lines.h"
#include "tests/testing/service_process.h"
#include "tests/testing/test_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

using ::presence::registry::v1::CreateOrganizationRequest;
using ::presence::registry::v1::GetOrganizationRequest;
using ::presence::registry::v1::ListOrganizationsRequest;
using ::presence::registry::v1::ListOrganizationsResponse;
using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;
using ::presence::registry::v1::RegistryService;
using ::presence::registry::v1::UpdateOrganizationRequest;
using ::presence::registry::v1::WatchOrganizationsRequest;
using ::presence::testing::Ctx;
using ::presence::testing::IsOk;
using ::presence::testing::ReadFile;
using ::presence::testing::StatusIs;
using ::presence::testing::Subprocess;
using ::testing::HasSubstr;

// The registry binary on a loopback port, with a registry stub.
class RegistryProcess : public testing::ServiceProcess {
 public:
  RegistryProcess(const testing::TempDir& dir, std::vector<std::string> flags)
      : ServiceProcess(PRESENCE_REGISTRY_BIN, dir.path(), "registry",
                       std::move(flags)) {
    if (ok()) stub_ = RegistryService::NewStub(channel());
  }
  RegistryService::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<RegistryService::Stub> stub_;
};

Organization MakeOrg(const std::string& display_name) {
  Organization org;
  org.set_display_name(display_name);
  org.set_kind(Organization::KIND_FIELD_MISSION);
  return org;
}

TEST(RegistryProcessTest, AcknowledgedWritesSurviveSigkill) {
  testing::TempDir dir;
  std::map<std::string, Organization> acknowledged;  // Latest ack per name.
  {
    RegistryProcess registry(dir, {"--seed=false"});
    ASSERT_TRUE(registry.ok()) << registry.log();
    ListOrganizationsRequest list;
    ListOrganizationsResponse listed;
    ASSERT_THAT(registry.stub().ListOrganizations(Ctx().get(), list, &listed), IsOk());
    EXPECT_EQ(listed.organizations_size(), 0) << "--seed=false must not seed";

    std::mutex mu;
    std::vector<std::thread> writers;
    for (int w = 0; w < 8; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; i < 20; ++i) {
          CreateOrganizationRequest create;
          create.set_organization_id(absl::StrFormat("w%d-%02d", w, i));
          *create.mutable_organization() = MakeOrg("W");
          Organization created;
          grpc::Status s = registry.stub().CreateOrganization(Ctx().get(), create, &created);
          ASSERT_TRUE(s.ok()) << s.error_message();
          UpdateOrganizationRequest update;
          update.mutable_organization()->set_name(created.name());
          update.mutable_organization()->set_description("updated");
          update.mutable_update_mask()->add_paths("description");
          Organization updated;
          s = registry.stub().UpdateOrganization(Ctx().get(), update, &updated);
          ASSERT_TRUE(s.ok()) << s.error_message();
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[updated.name()] = updated;
        }
      });
    }
    for (auto& t : writers) t.join();
    // No clean shutdown: the process dies right after the last acknowledgement.
    registry.process().Signal(SIGKILL);
    std::optional<int> status = registry.process().Wait();
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFSIGNALED(*status));
  }
  ASSERT_EQ(acknowledged.size(), 160u);

  RegistryProcess restarted(dir, {"--seed=false"});
  ASSERT_TRUE(restarted.ok()) << restarted.log();
  int64_t max_revision = 0;
  for (const auto& [name, ack] : acknowledged) {
    GetOrganizationRequest get;
    get.set_name(name);
    Organization got;
    ASSERT_THAT(restarted.stub().GetOrganization(Ctx().get(), get, &got), IsOk()) << name;
    EXPECT_EQ(got.description(), "updated") << name;
    EXPECT_EQ(got.revision(), ack.revision()) << name;
    EXPECT_EQ(got.etag(), ack.etag()) << name;
    max_revision = std::max(max_revision, ack.revision());
  }
  EXPECT_EQ(max_revision, 320);
  // The change log survived too, without gaps.
  WatchOrganizationsRequest watch;
  auto context = Ctx();
  auto reader = restarted.stub().WatchOrganizations(context.get(), watch);
  OrganizationChange change;
  int64_t expected = 1;
  while (expected <= max_revision && reader->Read(&change)) {
    ASSERT_EQ(change.revision(), expected);
    ++expected;
  }
  EXPECT_EQ(expected, max_revision + 1);
  context->TryCancel();
  reader->Finish();
}

TEST(RegistryProcessTest, SigtermShutsDownGracefullyAndSeedIsLoadedOnce) {
  testing::TempDir dir;
  {
    RegistryProcess registry(dir, {"--shutdown_grace=20s"});
    ASSERT_TRUE(registry.ok()) << registry.log();
    auto health = grpc::health::v1::Health::NewStub(registry.channel());
    grpc::health::v1::HealthCheckRequest check;
    grpc::health::v1::HealthCheckResponse serving;
    ASSERT_THAT(health->Check(Ctx().get(), check, &serving), IsOk());
    EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);

    GetOrganizationRequest get;
    get.set_name("organizations/kfor");
    Organization kfor;
    ASSERT_THAT(registry.stub().GetOrganization(Ctx().get(), get, &kfor), IsOk());
    EXPECT_EQ(kfor.acronym(), "KFOR");

    UpdateOrganizationRequest update;
    update.mutable_organization()->set_name("organizations/kfor");
    update.mutable_organization()->set_description("edited by an operator");
    update.mutable_update_mask()->add_paths("description");
    Organization updated;
    ASSERT_THAT(registry.stub().UpdateOrganization(Ctx().get(), update, &updated), IsOk());

    // An open watch stream, known to be established: it has received a
    // change.
    WatchOrganizationsRequest watch;
    watch.set_start_revision(updated.revision() - 1);
    auto context = Ctx(absl::Seconds(120));
    auto reader = registry.stub().WatchOrganizations(context.get(), watch);
    OrganizationChange change;
    ASSERT_TRUE(reader->Read(&change));

    registry.process().Signal(SIGTERM);
    EXPECT_FALSE(reader->Read(&change));
    EXPECT_THAT(reader->Finish(), StatusIs(absl::StatusCode::kUnavailable));
    std::optional<int> status = registry.process().Wait(absl::Seconds(60));
    ASSERT_TRUE(status.has_value()) << "did not exit";
    ASSERT_TRUE(WIFEXITED(*status)) << registry.log();
    EXPECT_EQ(WEXITSTATUS(*status), 0) << registry.log();
    EXPECT_THAT(registry.log(), HasSubstr("seeded"));
    EXPECT_THAT(registry.log(), HasSubstr("stopped"));
    // One JSON log line per RPC, with method, peer, principal, code, latency,
    // request size and request id.
    const auto gets = testing::RpcLines(
        registry.log(), "/presence.registry.v1.RegistryService/GetOrganization");
    ASSERT_EQ(gets.size(), 1u) << registry.log();
    EXPECT_EQ(testing::Field(gets[0], "code"), "OK");
    EXPECT_EQ(testing::Field(gets[0], "severity"), "INFO");
    EXPECT_EQ(testing::Field(gets[0], "message"), "GetOrganization OK");
    EXPECT_EQ(testing::Field(gets[0], "service"), "presence-registry");
    EXPECT_EQ(testing::Field(gets[0], "principal"), "anonymous");
    EXPECT_THAT(testing::Field(gets[0], "peer"), HasSubstr("127.0.0.1"));
    EXPECT_FALSE(testing::Field(gets[0], "request_id").empty());
    EXPECT_TRUE(gets[0].fields().at("latency_ms").has_number_value());
    EXPECT_GT(gets[0].fields().at("request_bytes").number_value(), 0);
    EXPECT_THAT(testing::Field(gets[0], "time"), ::testing::MatchesRegex(
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"));
  }
  RegistryProcess restarted(dir, {});
  ASSERT_TRUE(restarted.ok()) << restarted.log();
  GetOrganizationRequest get;
  get.set_name("organizations/kfor");
  Organization kfor;
  ASSERT_THAT(restarted.stub().GetOrganization(Ctx().get(), get, &kfor), IsOk());
  EXPECT_EQ(kfor.description(), "edited by an operator")
      << "the seed must never overwrite existing data";
  EXPECT_TRUE(restarted.LogContains("not loaded")) << restarted.log();
}

TEST(RegistryProcessTest, RefusesADatabaseWithANewerSchema) {
  testing::TempDir dir;
  {
    storage::RocksDbOptions options;
    options.path = dir.Sub("registry-db");
    options.tables.assign(std::begin(registry::kTableNames),
                          std::end(registry::kTableNames));
    options.schema_version = registry::kSchemaVersion + 1;
    ASSERT_THAT(storage::OpenRocksDbKvStore(options), IsOk());
  }
  auto process = Subprocess::Start(
      {PRESENCE_REGISTRY_BIN, "--listen=127.0.0.1:0",
       "--data_dir=" + dir.Sub("registry-db")},
      dir.Sub("log"));
  ASSERT_TRUE(process.has_value());
  std::optional<int> status = process->Wait(absl::Seconds(60));
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_THAT(ReadFile(dir.Sub("log")), HasSubstr("newer than this binary"));
}

// Every service the binary lists through reflection can be described from
// what reflection sends (the file and its imports), as grpcurl and grpcui
// need: grpc.health.v1.Health included, whose descriptors gRPC's own health
// service does not register.
TEST(RegistryProcessTest, ReflectionDescribesEveryListedService) {
  testing::TempDir dir;
  RegistryProcess registry(dir, {});
  ASSERT_TRUE(registry.ok());
  namespace reflection = ::grpc::reflection::v1;
  auto stub = reflection::ServerReflection::NewStub(registry.channel());
  auto context = Ctx();
  auto stream = stub->ServerReflectionInfo(context.get());
  reflection::ServerReflectionRequest request;
  reflection::ServerReflectionResponse response;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> services;
  for (const auto& service : response.list_services_response().service()) {
    services.push_back(service.name());
  }
  EXPECT_THAT(services, ::testing::IsSupersetOf({"grpc.health.v1.Health",
                                                 "presence.registry.v1.RegistryService"}));
  google::protobuf::SimpleDescriptorDatabase files;
  for (const std::string& service : services) {
    request.set_file_containing_symbol(service);
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_FALSE(response.has_error_response())
        << service << ": " << response.error_response().error_message();
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(file.ParseFromString(bytes));
      google::protobuf::FileDescriptorProto known;
      if (!files.FindFileByName(file.name(), &known)) files.Add(file);
    }
  }
  stream->WritesDone();
  EXPECT_THAT(stream->Finish(), IsOk());
  google::protobuf::DescriptorPool pool(&files);
  for (const std::string& service : services) {
    EXPECT_NE(pool.FindServiceByName(service), nullptr) << service;
  }
  const auto* check = pool.FindMethodByName("grpc.health.v1.Health.Check");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->input_type()->full_name(), "grpc.health.v1.HealthCheckRequest");
  // The annotations' files come along with the API's.
  EXPECT_NE(pool.FindFileByName("google/api/field_behavior.proto"), nullptr);
}

}  // namespace
}  // namespace presence
