// Faults against the real binaries (label fault; issue 12):
//   - the disk fills up (a size-limited tmpfs; needs root to mount, skipped
//     otherwise), and
//   - writes and syncs fail with EIO (the LD_PRELOAD shim
//     libpresence_faultfs.so, on a trigger file):
//     writes fail with a clear status, reads keep being served, nothing
//     acknowledged is lost, and once the fault is gone and the service has
//     restarted, it works and every acknowledged write verifies;
//   - overload: far more calls in flight than threads: no crash, bounded
//     memory (peak RSS printed), calls shed with RESOURCE_EXHAUSTED or their
//     deadline, full service afterwards.

#include <signal.h>
#include <sys/mount.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "presence/registry/v1/registry.grpc.pb.h"
#include "presence/timeline/v1/timeline.grpc.pb.h"
#include "services/common/partial_date.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

namespace rv1 = ::presence::registry::v1;
namespace tv1 = ::presence::timeline::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::AnyOf;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// A service binary on a data directory, restartable on the same port.
class Process {
 public:
  Process(std::string binary, std::string data_dir, std::string scratch,
          std::vector<std::string> flags, std::vector<std::string> env = {})
      : binary_(std::move(binary)), data_dir_(std::move(data_dir)),
        scratch_(std::move(scratch)), flags_(std::move(flags)), env_(std::move(env)) {}

  bool Start() {
    const std::string port_file = scratch_ + "/port";
    std::remove(port_file.c_str());
    std::vector<std::string> argv = {binary_, absl::StrCat("--listen=127.0.0.1:", port_),
                                     "--data_dir=" + data_dir_, "--port_file=" + port_file,
                                     "--seed=false", "--metrics_listen="};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    for (const std::string& e : env_) putenv(const_cast<char*>(e.c_str()));
    process_ = testing::Subprocess::Start(argv, scratch_ + "/log");
    for (const std::string& e : env_) unsetenv(e.substr(0, e.find('=')).c_str());
    if (!process_) return false;
    std::optional<int> port = testing::WaitForPortFile(port_file);
    if (!port) return false;
    port_ = *port;
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials());
    return true;
  }
  void Kill() {
    process_->Signal(SIGKILL);
    process_->Wait();
    process_.reset();
  }
  bool Alive() { return process_ && !process_->Wait(absl::ZeroDuration()); }
  pid_t pid() const { return process_->pid(); }
  int port() const { return port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string log() const { return testing::ReadFile(scratch_ + "/log"); }

 private:
  const std::string binary_, data_dir_, scratch_;
  const std::vector<std::string> flags_, env_;
  std::optional<testing::Subprocess> process_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A status that tells the caller storage failed (not a bug, not silence).
MATCHER(IsClearStorageFailure, "is a storage failure saying so") {
  const grpc::Status& s = arg;
  *result_listener << "whose status is " << s.error_code() << ": " << s.error_message();
  return (s.error_code() == grpc::StatusCode::INTERNAL ||
          s.error_code() == grpc::StatusCode::UNAVAILABLE ||
          s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) &&
         (s.error_message().find("space") != std::string::npos ||
          s.error_message().find("IO error") != std::string::npos ||
          s.error_message().find("storage") != std::string::npos);
}

// Writes organizations to the registry and remembers what was acknowledged.
class OrgWriter {
 public:
  explicit OrgWriter(const Process* registry) : registry_(registry) {}

  grpc::Status Create(size_t description_bytes = 100) {
    rv1::CreateOrganizationRequest r;
    r.set_organization_id(absl::StrCat("o", next_++));
    r.mutable_organization()->set_display_name("Organization " + r.organization_id());
    r.mutable_organization()->set_kind(rv1::Organization::KIND_FIELD_MISSION);
    r.mutable_organization()->set_description(std::string(description_bytes, 'd'));
    rv1::Organization out;
    auto stub = rv1::RegistryService::NewStub(registry_->channel());
    grpc::Status s = stub->CreateOrganization(Ctx().get(), r, &out);
    if (s.ok()) acked_[out.name()] = out;
    return s;
  }

  // Every acknowledged organization, read back exactly.
  void VerifyAll() {
    auto stub = rv1::RegistryService::NewStub(registry_->channel());
    for (const auto& [name, org] : acked_) {
      rv1::GetOrganizationRequest r;
      r.set_name(name);
      rv1::Organization got;
      grpc::Status s = stub->GetOrganization(Ctx().get(), r, &got);
      ASSERT_TRUE(s.ok()) << name << ": " << s.error_message();
      EXPECT_TRUE(MessageDifferencer::Equals(got, org)) << name;
    }
  }
  size_t acked() const { return acked_.size(); }

 private:
  const Process* registry_;
  int next_ = 0;
  std::map<std::string, rv1::Organization> acked_;
};

// Writes events to the timeline and remembers what was acknowledged.
class EventWriter {
 public:
  explicit EventWriter(const Process* timeline) : timeline_(timeline) {}

  grpc::Status Create() {
    tv1::CreateEventRequest r;
    r.set_event_id(absl::StrCat("e", next_++));
    r.mutable_event()->set_title("Event " + r.event_id());
    r.mutable_event()->set_kind(tv1::Event::OTHER);
    *r.mutable_event()->mutable_start() = *ParsePartialDate("2009-04");
    r.mutable_event()->add_organizations("organizations/kfor");
    tv1::Event out;
    auto stub = tv1::TimelineService::NewStub(timeline_->channel());
    grpc::Status s = stub->CreateEvent(Ctx().get(), r, &out);
    if (s.ok()) acked_[out.name()] = out;
    return s;
  }
  void VerifyAll() {
    auto stub = tv1::TimelineService::NewStub(timeline_->channel());
    for (const auto& [name, event] : acked_) {
      tv1::GetEventRequest r;
      r.set_name(name);
      tv1::Event got;
      grpc::Status s = stub->GetEvent(Ctx().get(), r, &got);
      ASSERT_TRUE(s.ok()) << name << ": " << s.error_message();
      EXPECT_TRUE(MessageDifferencer::Equals(got, event)) << name;
    }
  }

 private:
  const Process* timeline_;
  int next_ = 0;
  std::map<std::string, tv1::Event> acked_;
};

// A tmpfs of `megabytes` at `path`, unmounted on destruction.
class Tmpfs {
 public:
  Tmpfs(const std::string& path, int megabytes) : path_(path) {
    mkdir(path.c_str(), 0755);
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0,
                       absl::StrCat("size=", megabytes, "m").c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// Fills the file system of `path` with a file there; returns its name.
std::string FillDisk(const std::string& dir) {
  const std::string filler = dir + "/filler";
  std::FILE* f = std::fopen(filler.c_str(), "w");
  const std::string chunk(1 << 16, 'f');
  while (f != nullptr && std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) {
  }
  if (f != nullptr) std::fclose(f);
  return filler;
}

TEST(FaultTest, DiskFullFailsWritesClearlyKeepsReadsAndLosesNothing) {
  testing::TempDir dir;
  Tmpfs disk(dir.Sub("disk"), 48);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs (needs root)";
  Process registry(PRESENCE_REGISTRY_BIN, dir.Sub("disk/db"), dir.path(), {});
  ASSERT_TRUE(registry.Start()) << registry.log();
  OrgWriter writer(&registry);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(writer.Create().ok());

  const std::string filler = FillDisk(dir.Sub("disk"));
  // RocksDB preallocates its log, so the first writes may still fit.
  grpc::Status failed;
  for (int i = 0; i < 5000 && failed.ok(); ++i) failed = writer.Create(16 * 1024);
  ASSERT_FALSE(failed.ok()) << "writes never failed on a full disk";
  EXPECT_THAT(failed, IsClearStorageFailure());
  // Writes keep failing, reads are served, the process lives.
  EXPECT_FALSE(writer.Create().ok());
  writer.VerifyAll();
  EXPECT_TRUE(registry.Alive()) << registry.log().substr(registry.log().size() > 3000 ? registry.log().size() - 3000 : 0);

  // Space returns; after a restart every acknowledged write is there and
  // writes work again.
  ASSERT_EQ(std::remove(filler.c_str()), 0);
  registry.Kill();
  ASSERT_TRUE(registry.Start()) << registry.log();
  writer.VerifyAll();
  EXPECT_TRUE(writer.Create().ok());
  writer.VerifyAll();
  std::printf("disk full: %zu acknowledged organizations verified; first failure: %s\n",
              writer.acked(), failed.error_message().c_str());
}

TEST(FaultTest, IoErrorsOnWriteFailWritesClearlyKeepReadsAndLoseNothing) {
  testing::TempDir dir;
  const std::string data = dir.Sub("registry-db");
  const std::string trigger = data + "/.fail-writes";
  const std::vector<std::string> env = {"LD_PRELOAD=" + std::string(PRESENCE_FAULTFS_LIB),
                                        "PRESENCE_FAULT_DIR=" + data};
  Process registry(PRESENCE_REGISTRY_BIN, data, dir.path(), {}, env);
  ASSERT_TRUE(registry.Start()) << registry.log();
  OrgWriter writer(&registry);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(writer.Create().ok());

  std::ofstream(trigger).put('x');
  const grpc::Status failed = writer.Create();
  EXPECT_THAT(failed, IsClearStorageFailure());
  EXPECT_FALSE(writer.Create().ok());
  writer.VerifyAll();  // Reads keep being served.
  EXPECT_TRUE(registry.Alive()) << registry.log().substr(registry.log().size() > 3000 ? registry.log().size() - 3000 : 0);

  std::remove(trigger.c_str());
  registry.Kill();
  ASSERT_TRUE(registry.Start()) << registry.log();
  writer.VerifyAll();
  EXPECT_TRUE(writer.Create().ok());
  writer.VerifyAll();
  std::printf("registry I/O error: %zu acknowledged verified; failure: %s\n", writer.acked(),
              failed.error_message().c_str());

  // The timeline the same way (its registry checks off: this is about its
  // own storage).
  const std::string tdata = dir.Sub("timeline-db");
  const std::string ttrigger = tdata + "/.fail-writes";
  Process timeline(PRESENCE_TIMELINE_BIN, tdata, dir.path(), {"--check_registry=false"},
                   {"LD_PRELOAD=" + std::string(PRESENCE_FAULTFS_LIB),
                    "PRESENCE_FAULT_DIR=" + tdata});
  ASSERT_TRUE(timeline.Start()) << timeline.log();
  EventWriter events(&timeline);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(events.Create().ok());
  std::ofstream(ttrigger).put('x');
  const grpc::Status tfailed = events.Create();
  EXPECT_THAT(tfailed, IsClearStorageFailure());
  events.VerifyAll();
  EXPECT_TRUE(timeline.Alive()) << timeline.log().substr(timeline.log().size() > 3000 ? timeline.log().size() - 3000 : 0);
  std::remove(ttrigger.c_str());
  timeline.Kill();
  ASSERT_TRUE(timeline.Start()) << timeline.log();
  events.VerifyAll();
  EXPECT_TRUE(events.Create().ok());
  std::printf("timeline I/O error: failure: %s\n", tfailed.error_message().c_str());
}

// Peak resident set (VmHWM) of `pid`, in MiB.
double PeakRssMb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmHWM:")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      double kb = 0;
      if (parts.size() >= 2 && absl::SimpleAtod(parts[1], &kb)) return kb / 1024;
    }
  }
  return -1;
}

// `calls` ListOrganizations (1000 per page) in flight at once over
// `channels` connections, each with `deadline`; returns the count per code.
std::map<grpc::StatusCode, int> Flood(int port, int channels, int calls, absl::Duration deadline) {
  std::vector<std::unique_ptr<rv1::RegistryService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // One connection each.
    args.SetInt("presence.flood.channel", i);
    stubs.push_back(rv1::RegistryService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args)));
  }
  struct Call {
    grpc::ClientContext context;
    rv1::ListOrganizationsResponse response;
    grpc::Status status;
  };
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Call>> all;
  rv1::ListOrganizationsRequest request;
  request.set_page_size(1000);
  for (int i = 0; i < calls; ++i) {
    auto call = std::make_unique<Call>();
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    auto rpc = stubs[i % channels]->AsyncListOrganizations(&call->context, request, &cq);
    rpc->Finish(&call->response, &call->status, call.get());
    all.push_back(std::move(call));
  }
  std::map<grpc::StatusCode, int> codes;
  void* tag;
  bool ok;
  for (int i = 0; i < calls && cq.Next(&tag, &ok); ++i) {
    ++codes[static_cast<Call*>(tag)->status.error_code()];
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return codes;
}

TEST(FaultTest, OverloadShedsCallsWithBoundedMemoryAndRecovers) {
  testing::TempDir dir;
  Process registry(PRESENCE_REGISTRY_BIN, dir.Sub("db"), dir.path(),
                   {"--max_threads=4", "--max_in_flight=200", "--log_level=error"});
  ASSERT_TRUE(registry.Start()) << registry.log();
  OrgWriter writer(&registry);
  // Pages of 300 organizations of 2 KB: each call is real work.
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(writer.Create(2048).ok());
  const double before = PeakRssMb(registry.pid());

  // 40 connections x 100 streams: 4000 calls in flight against 4 threads.
  const std::map<grpc::StatusCode, int> codes =
      Flood(registry.port(), 40, 4000, absl::Seconds(3));
  std::string summary;
  int total = 0;
  for (const auto& [code, n] : codes) {
    absl::StrAppend(&summary, " ", code, ":", n);
    total += n;
    EXPECT_THAT(code, AnyOf(grpc::StatusCode::OK, grpc::StatusCode::RESOURCE_EXHAUSTED,
                            grpc::StatusCode::DEADLINE_EXCEEDED))
        << "calls shed otherwise than documented:" << summary;
  }
  EXPECT_EQ(total, 4000);
  EXPECT_GT(codes.count(grpc::StatusCode::RESOURCE_EXHAUSTED), 0u)
      << "nothing shed with RESOURCE_EXHAUSTED:" << summary;
  EXPECT_TRUE(registry.Alive()) << registry.log().substr(registry.log().size() > 3000 ? registry.log().size() - 3000 : 0);
  const double peak = PeakRssMb(registry.pid());
  std::printf("overload: 4000 calls in flight on 4 threads, --max_in_flight=200: codes%s; peak RSS %.0f MiB "
              "(%.0f MiB before)\n", summary.c_str(), peak, before);
  // 200 answers of ~0.6 MB in flight at most.
  EXPECT_LT(peak, 512) << "memory not bounded under overload";

  // Full service afterwards.
  auto stub = rv1::RegistryService::NewStub(registry.channel());
  rv1::ListOrganizationsRequest list;
  list.set_page_size(1000);
  rv1::ListOrganizationsResponse listed;
  grpc::Status s;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  do {
    s = stub->ListOrganizations(Ctx().get(), list, &listed);
  } while (!s.ok() && absl::Now() < deadline);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(listed.organizations_size(), 300);
  EXPECT_TRUE(writer.Create().ok());
}

}  // namespace
}  // namespace presence
