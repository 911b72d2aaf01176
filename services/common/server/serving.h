#ifndef PRESENCE_SERVICES_COMMON_SERVER_SERVING_H_
#define PRESENCE_SERVICES_COMMON_SERVER_SERVING_H_

// The production-serving set-up both service binaries share: the flags for
// authentication, TLS, limits, logs and metrics (defined once, in
// serving.cc), turned into an RpcGate, ServerOptions and a metrics server.
//
// Flags: --tokens_file, --require_auth_for_reads, --tls_cert, --tls_key,
// --tls_client_ca, --health_listen, --metrics_listen, --metrics_port_file,
// --max_request_bytes, --max_concurrent_streams, --max_threads,
// --default_deadline, --max_connection_age, --log_level; and the store's:
// --store, --store_pool_size, --store_read.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/server/log.h"
#include "services/common/server/metrics.h"
#include "services/common/server/rpc_gate.h"
#include "services/common/server/server.h"
#include "services/common/storage/kv_store.h"

namespace presence {

struct Serving {
  std::unique_ptr<RpcGate> gate;
  // Everything but the services, their names and the listen address, which
  // the binary adds.
  ServerOptions server_options;
  std::unique_ptr<MetricsServer> metrics;

  // Starts `service` (full name `service_name`) on `listen_address` with the
  // serving options and logs a "serving" line with the ports and `fields`.
  absl::StatusOr<std::unique_ptr<RunningServer>> StartServer(
      const std::string& listen_address, grpc::Service* service,
      const std::string& service_name, LogFields fields) const;

  // SIGHUP: re-reads the tokens file (certificates are re-read by gRPC's
  // file watcher on their own). Logs the outcome; never logs a token.
  void Reload();
};

// Parses the command line of service binary `program` (e.g.
// "presence-registry"): --help lists presence's own flags (by their path
// under services/, never a build path), --version prints
// VersionLine(program). `usage` is one line saying what the binary is.
// Exits on --help, --version and bad flags, as absl::ParseCommandLine does.
void ParseServiceFlags(int argc, char** argv, absl::string_view program,
                       absl::string_view usage);

// The store of service `name` ("registry", "timeline"): with --store, the
// PostgreSQL database it names (tables "{name}_*", a pool of
// --store_pool_size connections, reads falling back to --store_read);
// without, RocksDB at `path` with a block cache of `block_cache_mb` MiB. In
// both, `tables` at `schema_version`; `upgrade` brings an older schema up to
// date (see storage::StoreOptions::upgrade); without it an older database
// is refused.
absl::StatusOr<std::unique_ptr<storage::KvStore>> OpenServiceStore(
    const std::string& name, const std::string& path, std::vector<std::string> tables,
    int64_t schema_version, int64_t block_cache_mb,
    std::function<absl::Status(storage::KvStore*, int64_t)> upgrade = nullptr);

// True with --store: the store is a database shared by every replica, each
// read a network round trip.
bool StoreIsShared();

// The seed data: the content of `path` if set, else `embedded`.
absl::StatusOr<std::string> SeedText(absl::string_view embedded,
                                     const std::string& path);

// For main(): logs `status` as an error, flushes the logs, returns 1.
int FailStartup(const absl::Status& status);

// Exposes the store's figures as gauges: presence_rocksdb_* (estimated
// keys, live SST size, block cache usage, pending compaction bytes,
// memtables) or, with --store, presence_postgres_* (estimated keys, table
// bytes); sizes in *_bytes.
// `store` must outlive the process's metrics use.
void AddStorageMetrics(storage::KvStore* store);

// Sets the log service name and level, loads the tokens, starts the metrics
// server and logs the effective configuration (every flag; files are named,
// their content is not logged). `listen_address` decides whether writes
// without tokens are allowed (loopback only).
absl::StatusOr<std::unique_ptr<Serving>> SetUpServing(
    absl::string_view service, const std::string& listen_address);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_SERVING_H_
