#include "services/common/write/request_ids.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/key_codec.h"
#include "services/common/status_macros.h"
#include "services/common/write/request_record.pb.h"

namespace presence {
namespace {

using ::presence::common::internal::RequestRecord;

constexpr absl::string_view kRecordPrefix = "r/";
constexpr absl::string_view kExpiryPrefix = "rx/";

std::string RecordKey(absl::string_view request_id) {
  return absl::StrCat(kRecordPrefix, request_id);
}

std::string ExpiryKey(int64_t micros, absl::string_view request_id) {
  std::string key(kExpiryPrefix);
  AppendInt64(&key, micros);
  key.append(request_id.data(), request_id.size());
  return key;
}

// A sweep deletes what it read; a concurrent Record of the same id writes
// the same key and conflicts with it. Reading the expiry range under
// serializability would make every Record a conflict instead.
storage::TransactOptions PerKey() {
  storage::TransactOptions options;
  options.snapshot_isolation = true;
  return options;
}

}  // namespace

RequestIds::RequestIds(RequestIdOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::optional<RequestIds::Stored>> RequestIds::Parse(
    const std::optional<std::string>& bytes, absl::string_view request_id) const {
  if (!bytes) return std::nullopt;
  RequestRecord record;
  if (!record.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat("unreadable request record ", request_id));
  }
  const absl::Time recorded = absl::FromUnixMicros(record.record_time_micros());
  if (options_.now() - recorded >= options_.retention) return std::nullopt;
  return Stored{std::move(*record.mutable_resource_id()),
                std::move(*record.mutable_result())};
}

absl::StatusOr<std::optional<RequestIds::Stored>> RequestIds::Find(
    storage::Transaction& txn, absl::string_view request_id) const {
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            txn.Get(options_.table, RecordKey(request_id)));
  return Parse(bytes, request_id);
}

absl::StatusOr<std::optional<RequestIds::Stored>> RequestIds::Find(
    storage::KvStore* store, absl::string_view request_id) const {
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            store->Get(options_.table, RecordKey(request_id)));
  return Parse(bytes, request_id);
}

absl::Status RequestIds::Record(storage::Transaction& txn,
                                absl::string_view request_id,
                                absl::string_view resource_id,
                                absl::string_view result) const {
  const std::string key = RecordKey(request_id);
  // An expired record of the same id: its expiry entry goes with it.
  PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> old,
                            txn.Get(options_.table, key));
  if (old) {
    RequestRecord previous;
    if (previous.ParseFromString(*old)) {
      txn.Delete(options_.table,
                 ExpiryKey(previous.record_time_micros(), request_id));
    }
  }
  RequestRecord record;
  record.set_resource_id(std::string(resource_id));
  record.set_result(std::string(result));
  record.set_record_time_micros(absl::ToUnixMicros(options_.now()));
  txn.Put(options_.table, key, record.SerializeAsString());
  txn.Put(options_.table, ExpiryKey(record.record_time_micros(), request_id), "");
  return absl::OkStatus();
}

absl::Status RequestIds::SweepIfDue(storage::KvStore* store) {
  const int64_t now = absl::ToUnixMicros(options_.now());
  const int64_t interval = absl::ToInt64Microseconds(options_.sweep_interval);
  int64_t last = last_sweep_micros_.load();
  if (last != 0 && now - last < interval) return absl::OkStatus();
  if (!last_sweep_micros_.compare_exchange_strong(last, now)) {
    return absl::OkStatus();  // Another thread just started one.
  }
  const int64_t cutoff =
      now - absl::ToInt64Microseconds(options_.retention);
  std::string lower(kExpiryPrefix);
  std::string upper = ExpiryKey(cutoff, "");
  for (bool more = true; more;) {
    PRESENCE_RETURN_IF_ERROR(store->Transact([&](storage::Transaction& txn) {
      storage::ReadOptions ro;
      ro.lower_bound = lower;
      ro.upper_bound = upper;
      std::vector<std::pair<std::string, std::string>> expired;  // index, id
      {
        std::unique_ptr<storage::Iterator> it = txn.NewIterator(options_.table, ro);
        for (it->Seek(lower);
             it->Valid() && static_cast<int>(expired.size()) < options_.sweep_batch;
             it->Next()) {
          absl::string_view rest = it->key().substr(kExpiryPrefix.size());
          if (!ConsumeInt64(&rest)) continue;
          expired.emplace_back(std::string(it->key()), std::string(rest));
        }
        PRESENCE_RETURN_IF_ERROR(it->status());
      }
      more = static_cast<int>(expired.size()) == options_.sweep_batch;
      for (const auto& [index_key, request_id] : expired) {
        txn.Delete(options_.table, index_key);
        // The record goes too unless it was written again since (then it
        // has a newer expiry entry).
        PRESENCE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                                  txn.Get(options_.table, RecordKey(request_id)));
        RequestRecord record;
        if (bytes && record.ParseFromString(*bytes) &&
            ExpiryKey(record.record_time_micros(), request_id) != index_key) {
          continue;
        }
        if (bytes) txn.Delete(options_.table, RecordKey(request_id));
      }
      return absl::OkStatus();
    }, PerKey()));
  }
  return absl::OkStatus();
}

}  // namespace presence
