#ifndef PRESENCE_SERVICES_COMMON_STORAGE_POSTGRES_KV_STORE_H_
#define PRESENCE_SERVICES_COMMON_STORAGE_POSTGRES_KV_STORE_H_

// The PostgreSQL implementation of KvStore, over libpq. This header is the
// factory only; libpq is included by postgres_kv_store.cc alone.
//
// Layout, in the database the connection string names: one table per
// KvStore table, "{name}_{table}" (k bytea PRIMARY KEY, v bytea NOT NULL;
// bytea compares bytewise, which is the KvStore's key order), a table
// "{name}__serial" that serialized transactions lock, and
// presence_schema (name text PRIMARY KEY, version bigint) with the schema
// version of each store name. Several services (names) share one database.
//
// - Reads outside transactions: a point read is one statement; a snapshot
//   is a REPEATABLE READ READ ONLY transaction on a pooled connection, held
//   until the snapshot is released; an iterator pages through its range
//   (LIMIT queries of growing size) inside its snapshot, or inside a
//   snapshot of its own when given none.
// - Transact: a SERIALIZABLE transaction; `serialized` ones first take
//   LOCK TABLE {name}__serial (before their snapshot is taken, so they
//   never conflict with each other). Writes are buffered and sent as one
//   statement per table (unnest of bytea arrays) before the next range read
//   and at commit; 64 or more puts into one table go by COPY under a
//   savepoint instead, sent again as upserts if a key already existed. Serialization failures and deadlocks (SQLSTATE 40001,
//   40P01) re-run the function with backoff; a connection lost before
//   COMMIT is retried on a new connection for a few seconds (libpq's
//   multi-host connection strings with target_session_attrs=read-write
//   find the new primary after a failover); a connection lost during COMMIT
//   of a transaction that wrote is UNAVAILABLE "the write may have been
//   applied" (never re-run: only the caller knows whether a retry is safe,
//   e.g. with the same request id).
// - Commit listeners: `notify` transactions send NOTIFY presence_{name};
//   each store LISTENs on a connection of its own and also calls its
//   listeners every poll_interval, so a lost notification (or a listener
//   connection down during a failover) delays watchers, never loses them.
// - Schema: creation, stamping and upgrades run under a PostgreSQL
//   advisory lock, so exactly one process runs an upgrade and the others
//   wait for it.
//
// The connection pool holds at most pool_size connections, opened on
// demand; statements are prepared once per connection. Thread-safe.
//
// The password never appears in the connection string (one that holds a
// password is refused): libpq reads PGPASSWORD or PGPASSFILE (~/.pgpass)
// from the environment.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/storage/kv_store.h"

namespace presence::storage {

struct PostgresOptions : StoreOptions {
  // A libpq connection string or URI, e.g.
  // "postgresql://h1:5432,h2:5432/presence?target_session_attrs=read-write".
  std::string conninfo;
  // Optional: a second connection string (typically the same hosts with
  // target_session_attrs=prefer-standby) that reads outside transactions
  // fall back to while the primary cannot be reached, e.g. during a
  // failover. Such reads may lag the latest writes by the replication delay
  // (they reflect a committed state, consistently within a snapshot).
  std::string read_conninfo;
  // The store's name: the prefix of its tables and its schema record,
  // [a-z][a-z0-9_]* (e.g. "registry").
  std::string name;
  // Most connections open at once (snapshots and transactions each hold
  // one while they last; the commit listener has its own).
  int pool_size = 8;
  // How long a call waits for a free pooled connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(5);
  // How long Transact keeps retrying when the database cannot be reached
  // (before COMMIT was sent) before it returns UNAVAILABLE.
  absl::Duration unavailable_retry = absl::Seconds(3);
  // Attempts of a transaction that keeps hitting serialization failures.
  int max_conflict_attempts = 32;
  // Commit listeners are called at least this often.
  absl::Duration poll_interval = absl::Milliseconds(500);
  // How long opening waits for the database to be reachable.
  absl::Duration open_timeout = absl::Seconds(30);
};

// Connects, creates the tables if missing and checks or upgrades the schema
// version (see StoreOptions). Errors: INVALID_ARGUMENT for bad options,
// UNAVAILABLE if the database cannot be reached within open_timeout,
// FAILED_PRECONDITION for a schema version mismatch, and the database's
// errors.
absl::StatusOr<std::unique_ptr<KvStore>> OpenPostgresKvStore(
    const PostgresOptions& options);

}  // namespace presence::storage

#endif  // PRESENCE_SERVICES_COMMON_STORAGE_POSTGRES_KV_STORE_H_
