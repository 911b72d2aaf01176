// presence-timeline: the timeline service process.

#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/server/log.h"
#include "services/common/server/metrics.h"
#include "services/common/server/server.h"
#include "services/common/server/serving.h"
#include "services/timeline/grpc_registry_client.h"
#include "services/timeline/organization_cache.h"
#include "services/timeline/seed.h"
#include "services/timeline/timeline.h"
#include "services/timeline/timeline_grpc_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052",
          "Address to serve gRPC on, host:port (port 0 picks a free port).");
ABSL_FLAG(std::string, data_dir, "var/timeline",
          "Directory of the RocksDB database (created if missing); unused with "
          "--store.");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051",
          "Address of the registry, host:port.");
ABSL_FLAG(absl::Duration, registry_timeout, absl::Seconds(2),
          "Upper bound of each call into the registry (retries included); "
          "the request's own deadline bounds it too.");
ABSL_FLAG(bool, seed, true,
          "Load the embedded Kosovo events when the database is empty.");
ABSL_FLAG(std::string, seed_file, "",
          "Load this SeedEvents textproto instead of the embedded events.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long in-flight RPCs may take to finish.");
ABSL_FLAG(int64_t, block_cache_mb, 64, "RocksDB block cache size in MiB.");
ABSL_FLAG(bool, check_registry, true,
          "Check every write's organizations against the registry. Turn off "
          "only for benchmarks and trusted bulk loads.");
ABSL_FLAG(absl::Duration, request_id_retention, absl::Hours(24),
          "How long a create's request_id is remembered (AIP-155): a retry "
          "within it returns the first result; after it the id is new again. "
          "At least 1m.");
ABSL_FLAG(std::string, port_file, "",
          "If set, write the bound port to this file once serving.");
ABSL_FLAG(std::string, backup_dir, "",
          "Where SIGUSR1 writes a consistent copy (RocksDB checkpoint) of the "
          "database; default: <data_dir>.backups.");
ABSL_FLAG(std::string, registry_token_file, "",
          "File with the bearer token the timeline presents to the registry "
          "(re-read on SIGHUP).");
ABSL_FLAG(std::string, registry_tls_ca, "",
          "PEM CA of the registry's certificate: talk TLS to the registry.");
ABSL_FLAG(std::string, registry_tls_cert, "",
          "PEM client certificate for mTLS to the registry.");
ABSL_FLAG(std::string, registry_tls_key, "", "PEM key of --registry_tls_cert.");


int main(int argc, char** argv) {
  presence::BlockSignals();  // Before any thread starts.
  presence::ParseServiceFlags(
      argc, argv, "presence-timeline",
      "The presence timeline: dated events over gRPC, stored in RocksDB or "
      "PostgreSQL.");
  namespace tl = presence::timeline;
  auto serving = presence::SetUpServing("presence-timeline", absl::GetFlag(FLAGS_listen));
  if (!serving.ok()) return presence::FailStartup(serving.status());

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  auto store = presence::OpenServiceStore(
      "timeline", data_dir, {std::begin(tl::kTableNames), std::end(tl::kTableNames)}, tl::kSchemaVersion,
      absl::GetFlag(FLAGS_block_cache_mb),
      [](presence::storage::KvStore* store, int64_t from) { return tl::UpgradeStore(store, from); });
  if (!store.ok()) return presence::FailStartup(store.status());

  tl::GrpcRegistryClientOptions client_options;
  client_options.address = absl::GetFlag(FLAGS_registry);
  client_options.call_timeout = absl::GetFlag(FLAGS_registry_timeout);
  client_options.token_file = absl::GetFlag(FLAGS_registry_token_file);
  client_options.tls_ca_file = absl::GetFlag(FLAGS_registry_tls_ca);
  client_options.tls_cert_file = absl::GetFlag(FLAGS_registry_tls_cert);
  client_options.tls_key_file = absl::GetFlag(FLAGS_registry_tls_key);
  auto client = tl::NewGrpcRegistryClient(client_options);
  if (!client.ok()) return presence::FailStartup(client.status());
  std::unique_ptr<tl::RegistryClient> registry = *std::move(client);
  tl::OrganizationCache cache;
  tl::TimelineOptions timeline_options;
  timeline_options.check_registry = absl::GetFlag(FLAGS_check_registry);
  timeline_options.request_id_retention = absl::GetFlag(FLAGS_request_id_retention);
  auto opened = tl::Timeline::Open(*std::move(store), registry.get(), &cache, timeline_options);
  if (!opened.ok()) return presence::FailStartup(opened.status());
  std::unique_ptr<tl::Timeline> timeline = *std::move(opened);

  if (absl::GetFlag(FLAGS_seed)) {
    auto seed = presence::SeedText(tl::KosovoEvents(), absl::GetFlag(FLAGS_seed_file));
    if (!seed.ok()) return presence::FailStartup(seed.status());
    auto created = tl::LoadSeedOnce(*timeline, *seed);
    if (!created.ok()) return presence::FailStartup(created.status());
    presence::LogInfo(*created > 0
                          ? absl::StrCat("seeded ", *created, " events")
                          : "database not empty; seed data not loaded");
  }

  // The registry may come up later; the follower keeps trying.
  tl::RegistryFollower follower(registry.get(), &cache);
  follower.Start();

  tl::TimelineGrpcService service(timeline.get(), (*serving)->gate.get());
  presence::AddStorageMetrics(timeline->store());
  presence::Metrics& metrics = presence::Metrics::Global();
  metrics.AddGauge("presence_timeline_registry_link_up",
                   "1 while the registry's change feed is followed live.",
                   [&follower] { return follower.live() ? 1 : 0; });
  metrics.AddGauge("presence_timeline_registry_cache_filled",
                   "1 once the organization cache has been loaded.",
                   [&cache] { return cache.filled() ? 1 : 0; });
  metrics.AddGauge("presence_timeline_registry_cache_organizations",
                   "Organizations in the cache.",
                   [&cache] { return static_cast<double>(cache.size()); });
  metrics.AddGauge("presence_timeline_registry_cache_revision",
                   "Registry revision the cache reflects.",
                   [&cache] { return static_cast<double>(cache.revision()); });
  auto server = (*serving)->StartServer(absl::GetFlag(FLAGS_listen), &service, "presence.timeline.v1.TimelineService",
                                        {{"store", presence::StoreIsShared() ? "postgresql" : data_dir}, {"registry", client_options.address}});
  if (!server.ok()) return presence::FailStartup(server.status());
  if (absl::Status s = presence::ServeUntilTerminated(
          **server, absl::GetFlag(FLAGS_port_file),
          absl::GetFlag(FLAGS_shutdown_grace), nullptr,
          [&serving, &registry] {
            (*serving)->Reload();
            if (absl::Status s = registry->ReloadCredentials(); !s.ok()) {
              presence::Log(presence::LogLevel::kError, "registry token reload failed",
                            {{"error", s.ToString()}});
            }
          },
          [&timeline, &data_dir] {
            const std::string dir = absl::GetFlag(FLAGS_backup_dir);
            presence::BackupStore(timeline->store(),
                                  dir.empty() ? data_dir + ".backups" : dir);
          });
      !s.ok()) {
    return presence::FailStartup(s);
  }
  (*serving)->metrics.reset();  // Its collectors read what follows.
  follower.Stop();
  server->reset();
  timeline.reset();  // Closes RocksDB.
  presence::Log(presence::LogLevel::kInfo, "stopped");
  presence::FlushLogs();
  return 0;
}
