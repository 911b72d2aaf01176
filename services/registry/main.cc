// presence-registry: the registry service process.

#include <limits>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/server/log.h"
#include "services/common/server/metrics.h"
#include "services/common/server/server.h"
#include "services/common/server/serving.h"
#include "services/registry/registry.h"
#include "services/registry/registry_grpc_service.h"
#include "services/registry/seed.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve gRPC on, host:port (port 0 picks a free port).");
ABSL_FLAG(std::string, data_dir, "var/registry",
          "Directory of the RocksDB database (created if missing); unused with "
          "--store.");
ABSL_FLAG(bool, seed, true,
          "Load the embedded Kosovo data set when the database is empty.");
ABSL_FLAG(std::string, seed_file, "",
          "Load this SeedData textproto instead of the embedded data set.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long in-flight RPCs may take to finish.");
ABSL_FLAG(int64_t, change_retention, 100000,
          "How many recent changes WatchOrganizations can replay.");
ABSL_FLAG(int64_t, block_cache_mb, 64, "RocksDB block cache size in MiB.");
ABSL_FLAG(absl::Duration, request_id_retention, absl::Hours(24),
          "How long a create's request_id is remembered (AIP-155): a retry "
          "within it returns the first result; after it the id is new again. "
          "At least 1m.");
ABSL_FLAG(std::string, port_file, "",
          "If set, write the bound port to this file once serving.");
ABSL_FLAG(std::string, backup_dir, "",
          "Where SIGUSR1 writes a consistent copy (RocksDB checkpoint) of the "
          "database; default: <data_dir>.backups.");
ABSL_FLAG(int32_t, max_watchers, 1000,
          "Most WatchOrganizations streams open at once.");


int main(int argc, char** argv) {
  presence::BlockSignals();  // Before any thread starts.
  presence::ParseServiceFlags(
      argc, argv, "presence-registry",
      "The presence registry: organizations over gRPC, stored in RocksDB or "
      "PostgreSQL.");
  using presence::registry::Registry;
  auto serving = presence::SetUpServing("presence-registry", absl::GetFlag(FLAGS_listen));
  if (!serving.ok()) return presence::FailStartup(serving.status());

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  auto store = presence::OpenServiceStore(
      "registry", data_dir, {std::begin(presence::registry::kTableNames), std::end(presence::registry::kTableNames)},
      presence::registry::kSchemaVersion, absl::GetFlag(FLAGS_block_cache_mb),
      [](presence::storage::KvStore* store, int64_t from) {
        return presence::registry::UpgradeStore(store, from);
      });
  if (!store.ok()) return presence::FailStartup(store.status());

  presence::registry::RegistryOptions options;
  options.change_retention = absl::GetFlag(FLAGS_change_retention);
  options.request_id_retention = absl::GetFlag(FLAGS_request_id_retention);
  auto registry = Registry::Open(*std::move(store), options);
  if (!registry.ok()) return presence::FailStartup(registry.status());

  if (absl::GetFlag(FLAGS_seed)) {
    auto seed = presence::SeedText(presence::registry::KosovoSeed(), absl::GetFlag(FLAGS_seed_file));
    if (!seed.ok()) return presence::FailStartup(seed.status());
    auto created = presence::registry::LoadSeedOnce(**registry, *seed);
    if (!created.ok()) return presence::FailStartup(created.status());
    presence::LogInfo(*created > 0
                          ? absl::StrCat("seeded ", *created, " organizations")
                          : "database not empty; seed data not loaded");
  }

  presence::registry::RegistryGrpcService service(
      registry->get(), (*serving)->gate.get(), absl::GetFlag(FLAGS_max_watchers),
      presence::StoreIsShared());
  presence::AddStorageMetrics((*registry)->store());
  presence::Metrics::Global().AddGauge("presence_registry_watch_streams",
                                       "Open WatchOrganizations streams.",
                                       [&service] { return service.watchers(); });
  // NaN while the store cannot tell (a PostgreSQL store out of reach).
  presence::Metrics::Global().AddGauge(
      "presence_registry_revision", "The registry's current revision.", [&registry] {
        const absl::StatusOr<int64_t> revision = (*registry)->CurrentRevision();
        return revision.ok() ? static_cast<double>(*revision)
                             : std::numeric_limits<double>::quiet_NaN();
      });
  auto server = (*serving)->StartServer(absl::GetFlag(FLAGS_listen), &service, "presence.registry.v1.RegistryService",
                                        {{"store", presence::StoreIsShared() ? "postgresql" : data_dir}, {"revision", (*registry)->CurrentRevision().value_or(-1)}});
  if (!server.ok()) return presence::FailStartup(server.status());
  if (absl::Status s = presence::ServeUntilTerminated(
          **server, absl::GetFlag(FLAGS_port_file),
          absl::GetFlag(FLAGS_shutdown_grace),
          [&service] { service.EndStreams(); },
          [&serving] { (*serving)->Reload(); },
          [&registry, &data_dir] {
            const std::string dir = absl::GetFlag(FLAGS_backup_dir);
            presence::BackupStore((*registry)->store(),
                                  dir.empty() ? data_dir + ".backups" : dir);
          });
      !s.ok()) {
    return presence::FailStartup(s);
  }
  (*serving)->metrics.reset();  // Its collectors read what follows.
  server->reset();
  registry->reset();  // Closes RocksDB.
  presence::Log(presence::LogLevel::kInfo, "stopped");
  presence::FlushLogs();
  return 0;
}
