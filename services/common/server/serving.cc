#include "services/common/server/serving.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/common/program_flags.h"
#include "services/common/server/log.h"
#include "services/common/storage/postgres_kv_store.h"
#include "services/common/storage/rocksdb_kv_store.h"
#include "services/common/version.h"

ABSL_FLAG(std::string, tokens_file, "",
          "Bearer tokens: lines of \"<principal> <role> <token>\", role reader, "
          "editor or admin. Re-read on SIGHUP. Without it, writes are allowed "
          "only on a loopback listener.");
ABSL_FLAG(bool, require_auth_for_reads, false,
          "Refuse reads without a valid token (needs --tokens_file).");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate: serve TLS only.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA: require client certificates it signed (mTLS).");
ABSL_FLAG(std::string, health_listen, "",
          "Also serve grpc.health.v1 in plaintext on this host:port (for "
          "Kubernetes gRPC probes when TLS is on).");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:0",
          "Serve Prometheus /metrics over HTTP on this host:port; empty: off.");
ABSL_FLAG(std::string, metrics_port_file, "",
          "If set, write the bound metrics port to this file.");
ABSL_FLAG(int32_t, max_request_bytes, 1 << 20, "Largest request message.");
ABSL_FLAG(int32_t, max_concurrent_streams, 100,
          "Concurrent RPCs (HTTP/2 streams) per connection.");
ABSL_FLAG(int32_t, max_threads, 64, "Threads the gRPC server may use.");
ABSL_FLAG(absl::Duration, default_deadline, absl::Seconds(30),
          "Deadline given to requests that come without one.");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(10),
          "Close connections at this age (clients re-resolve and spread).");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Seconds(30),
          "How long calls (watch streams) may go on after a connection's "
          "--max_connection_age GOAWAY before it is closed.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error.");
ABSL_FLAG(std::string, store, "",
          "Where the data lives. Empty (the default): embedded RocksDB under "
          "--data_dir, one process. Otherwise a libpq connection string or URI "
          "of a PostgreSQL database that every replica shares, e.g. "
          "postgresql://h1:5432,h2:5432/presence?target_session_attrs=read-write "
          "(the password comes from PGPASSWORD or PGPASSFILE, never from here).");
ABSL_FLAG(int32_t, store_pool_size, 8,
          "With --store: PostgreSQL connections this process keeps at most "
          "(snapshots and transactions hold one each while they last).");
ABSL_FLAG(std::string, store_read, "",
          "With --store: a second connection string, e.g. the same hosts with "
          "target_session_attrs=prefer-standby, that reads fall back to while "
          "the primary cannot be reached (during a failover); such reads may "
          "lag the latest writes by the replication delay.");
ABSL_FLAG(int32_t, max_in_flight, 1000,
          "Unary calls in flight at once (until their answer is sent); more are "
          "refused with RESOURCE_EXHAUSTED. 0: no limit.");

namespace presence {

void ParseServiceFlags(int argc, char** argv, absl::string_view program,
                       absl::string_view usage) {
  ParseProgramFlags(argc, argv, program, usage, "services/");
}

bool StoreIsShared() { return !absl::GetFlag(FLAGS_store).empty(); }

absl::StatusOr<std::unique_ptr<storage::KvStore>> OpenServiceStore(
    const std::string& name, const std::string& path, std::vector<std::string> tables,
    int64_t schema_version, int64_t block_cache_mb,
    std::function<absl::Status(storage::KvStore*, int64_t)> upgrade) {
  const std::string where = StoreIsShared() ? absl::StrCat("PostgreSQL store ", name) : path;
  storage::StoreOptions schema;
  if (upgrade) {
    schema.upgrade = [where, upgrade = std::move(upgrade), schema_version](
                         storage::KvStore* store, int64_t from) {
      LogInfo(absl::StrCat("upgrading ", where, " from schema version ", from, " to ",
                           schema_version));
      absl::Status status = upgrade(store, from);
      if (status.ok()) LogInfo(absl::StrCat("upgraded ", where, " to schema version ", schema_version));
      return status;
    };
  }
  schema.tables = std::move(tables);
  schema.schema_version = schema_version;
  if (StoreIsShared()) {
    storage::PostgresOptions options;
    static_cast<storage::StoreOptions&>(options) = std::move(schema);
    options.conninfo = absl::GetFlag(FLAGS_store);
    options.read_conninfo = absl::GetFlag(FLAGS_store_read);
    options.name = name;
    options.pool_size = absl::GetFlag(FLAGS_store_pool_size);
    absl::StatusOr<std::unique_ptr<storage::KvStore>> store =
        storage::OpenPostgresKvStore(options);
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          absl::StrCat("--store: ", store.status().message()));
    }
    return store;
  }
  if (!absl::GetFlag(FLAGS_store_read).empty()) {
    return absl::InvalidArgumentError("--store_read needs --store");
  }
  storage::RocksDbOptions options;
  static_cast<storage::StoreOptions&>(options) = std::move(schema);
  options.path = path;
  options.block_cache_bytes = static_cast<size_t>(block_cache_mb) << 20;
  return storage::OpenRocksDbKvStore(options);
}

absl::StatusOr<std::string> SeedText(absl::string_view embedded,
                                     const std::string& path) {
  if (path.empty()) return std::string(embedded);
  return ReadFileToString(path);
}

int FailStartup(const absl::Status& status) {
  LogError(status.ToString());
  FlushLogs();
  return 1;
}

void AddStorageMetrics(storage::KvStore* store) {
  // The store's figures by their KvStore::Stats() name; sizes in bytes end
  // in _bytes (Prometheus' base units).
  struct Stat {
    const char* stat;
    const char* metric;
    const char* help;
  };
  static constexpr Stat kRocksDbStats[] = {
      {"estimate-num-keys", "presence_rocksdb_estimate_num_keys",
       "Estimated number of keys in RocksDB (all tables)."},
      {"live-sst-files-size", "presence_rocksdb_live_sst_files_size_bytes",
       "Size of RocksDB's live SST files (all tables)."},
      {"estimate-pending-compaction-bytes", "presence_rocksdb_estimate_pending_compaction_bytes",
       "Bytes RocksDB estimates compaction has yet to rewrite (all tables)."},
      {"size-all-mem-tables", "presence_rocksdb_size_all_mem_tables_bytes",
       "Size of RocksDB's memtables (all tables)."},
      {"block-cache-usage", "presence_rocksdb_block_cache_usage_bytes",
       "Bytes in RocksDB's block cache."},
  };
  static constexpr Stat kPostgresStats[] = {
      {"estimate-num-keys", "presence_postgres_estimate_num_keys",
       "Estimated number of keys in the service's PostgreSQL tables."},
      {"table-bytes", "presence_postgres_table_bytes",
       "Size of the service's PostgreSQL tables, indexes and TOAST included."},
  };
  const absl::Span<const Stat> stats =
      StoreIsShared() ? absl::MakeConstSpan(kPostgresStats) : absl::MakeConstSpan(kRocksDbStats);
  for (const Stat& s : stats) {
    const std::string stat = s.stat;
    Metrics::Global().AddGauge(s.metric, s.help, [store, stat] {
      for (const auto& [name, value] : store->Stats()) {
        if (name == stat) return static_cast<double>(value);
      }
      return 0.0;
    });
  }
}

absl::StatusOr<std::unique_ptr<RunningServer>> Serving::StartServer(
    const std::string& listen_address, grpc::Service* service,
    const std::string& service_name, LogFields fields) const {
  ServerOptions options = server_options;
  options.listen_address = listen_address;
  options.services = {service};
  options.service_names = {service_name};
  absl::StatusOr<std::unique_ptr<RunningServer>> server = RunningServer::Start(options);
  if (!server.ok()) return server.status();
  fields.insert(fields.begin(), {{"port", (*server)->port()},
                                 {"health_port", (*server)->health_port()}});
  Log(LogLevel::kInfo, "serving", fields);
  return server;
}

void Serving::Reload() {
  const auto& tokens = gate->options().auth.tokens;
  if (tokens == nullptr) return;
  absl::Status reloaded = tokens->Reload();
  if (reloaded.ok()) {
    Log(LogLevel::kInfo, "tokens reloaded", {{"tokens", static_cast<int64_t>(tokens->size())}});
  } else {
    Log(LogLevel::kError, "tokens reload failed",
        {{"error", reloaded.ToString()}, {"kept", static_cast<int64_t>(tokens->size())}});
  }
}

absl::StatusOr<std::unique_ptr<Serving>> SetUpServing(
    absl::string_view service, const std::string& listen_address) {
  SetLogService(service);
  RouteProtobufLogs();  // libprotobuf's messages become JSON lines too.
  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_level: \"", absl::GetFlag(FLAGS_log_level),
        "\" is not debug, info, warn or error"));
  }
  SetLogLevel(level);

  // The effective configuration, every flag by name. Secrets only ever come
  // from files, so values are safe to log.
  LogFields config;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!FlagDefinedUnder(flag->Filename(), "services/")) continue;
    config.emplace_back(std::string(name), flag->CurrentValue());
  }
  config.emplace_back("version", VersionLine(service));
  std::sort(config.begin(), config.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Log(LogLevel::kInfo, "configuration", config);

  auto serving = std::make_unique<Serving>();
  GateOptions gate;
  gate.default_deadline = absl::GetFlag(FLAGS_default_deadline);
  gate.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  gate.auth.require_auth_for_reads = absl::GetFlag(FLAGS_require_auth_for_reads);
  gate.auth.loopback_only = IsLoopbackAddress(listen_address);
  if (const std::string path = absl::GetFlag(FLAGS_tokens_file); !path.empty()) {
    absl::StatusOr<std::shared_ptr<TokenStore>> tokens = TokenStore::Load(path);
    if (!tokens.ok()) return tokens.status();
    gate.auth.tokens = *std::move(tokens);
    Log(LogLevel::kInfo, "authentication",
        {{"tokens", static_cast<int64_t>(gate.auth.tokens->size())},
         {"reads", gate.auth.require_auth_for_reads ? "need a token" : "open"}});
  } else if (gate.auth.require_auth_for_reads) {
    return absl::InvalidArgumentError(
        "--require_auth_for_reads needs --tokens_file");
  } else {
    Log(LogLevel::kWarning, "authentication",
        {{"message", gate.auth.loopback_only
                         ? "no --tokens_file: anyone who can reach the loopback "
                           "listener may write"
                         : "no --tokens_file on a non-loopback listener: writes "
                           "are refused"}});
  }
  serving->gate = std::make_unique<RpcGate>(std::move(gate));

  ServerOptions& options = serving->server_options;
  options.version = VersionLine(service);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  if (!options.tls.client_ca_file.empty() && !options.tls.enabled()) {
    return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
  }
  options.health_listen = absl::GetFlag(FLAGS_health_listen);
  options.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);

  if (const std::string metrics = absl::GetFlag(FLAGS_metrics_listen); !metrics.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Start(metrics);
    if (!server.ok()) return server.status();
    serving->metrics = *std::move(server);
    Log(LogLevel::kInfo, "metrics", {{"port", serving->metrics->port()}});
    if (const std::string file = absl::GetFlag(FLAGS_metrics_port_file); !file.empty()) {
      if (absl::Status s = WritePortFile(file, serving->metrics->port()); !s.ok()) return s;
    }
  }
  return serving;
}

}  // namespace presence
