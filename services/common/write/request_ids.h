#ifndef PRESENCE_SERVICES_COMMON_WRITE_REQUEST_IDS_H_
#define PRESENCE_SERVICES_COMMON_WRITE_REQUEST_IDS_H_

// AIP-155 request ids, the same way in both services: a create that carries
// a request id stores its result under the id in the same transaction as the
// creation, and a retry with the id returns that result instead of creating
// again, whichever replica serves it (the transaction is serializable, so
// two concurrent first attempts cannot both record one). Records expire
// after a retention: past it a request id counts as new, and expired
// records are swept away in small background transactions.
//
// Key layout, in a table of the service's choosing (its meta table):
//   "r/" {request_id}                       -> RequestRecord
//   "rx/" BE64(record time, µs) {request_id} -> "" (expiry order)

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/storage/kv_store.h"

namespace presence {

struct RequestIdOptions {
  // The table holding the records (keys "r/..." and "rx/...").
  storage::TableId table = 0;
  // How long a request id is remembered. At least one minute.
  absl::Duration retention = absl::Hours(24);
  // At most one sweep per this interval and process.
  absl::Duration sweep_interval = absl::Minutes(1);
  // Records removed per sweep transaction.
  int sweep_batch = 500;
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// Thread-safe.
class RequestIds {
 public:
  struct Stored {
    std::string resource_id;
    std::string result;  // Serialized.
  };

  explicit RequestIds(RequestIdOptions options);

  // The record of `request_id` if one was written within the retention.
  // REQUIRES: `request_id` is non-empty. Errors: the store's, DATA_LOSS for
  // an unreadable record.
  absl::StatusOr<std::optional<Stored>> Find(storage::Transaction& txn,
                                             absl::string_view request_id) const;

  // The same outside a transaction, in the latest durable state: a cheap
  // first look before work that cannot run inside a transaction (asking
  // another service); the transaction must look again.
  absl::StatusOr<std::optional<Stored>> Find(storage::KvStore* store,
                                             absl::string_view request_id) const;

  // Records `request_id` -> (resource_id, result) in `txn`, replacing an
  // expired record of the same id. REQUIRES: Find returned nullopt for it
  // in the same transaction.
  absl::Status Record(storage::Transaction& txn, absl::string_view request_id,
                      absl::string_view resource_id,
                      absl::string_view result) const;

  // Removes expired records if a sweep is due (see sweep_interval), in
  // transactions of at most sweep_batch records, until none is left.
  // Cheap when not due. Errors: the store's (the next sweep retries).
  absl::Status SweepIfDue(storage::KvStore* store);

  const RequestIdOptions& options() const { return options_; }

 private:
  absl::StatusOr<std::optional<Stored>> Parse(
      const std::optional<std::string>& bytes, absl::string_view request_id) const;

  const RequestIdOptions options_;
  // Unix micros of the last sweep start; 0 before the first.
  std::atomic<int64_t> last_sweep_micros_{0};
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_WRITE_REQUEST_IDS_H_
