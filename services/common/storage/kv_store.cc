#include "services/common/storage/kv_store.h"

namespace presence::storage {

void WriteBatch::ExpectValue(TableId table, absl::string_view key,
                             absl::string_view value) {
  preconditions_.push_back({table, std::string(key), std::string(value)});
}

void WriteBatch::ExpectAbsent(TableId table, absl::string_view key) {
  preconditions_.push_back({table, std::string(key), std::nullopt});
}

void WriteBatch::Put(TableId table, absl::string_view key,
                     absl::string_view value) {
  ops_.push_back({OpType::kPut, table, std::string(key), std::string(value)});
}

void WriteBatch::Delete(TableId table, absl::string_view key) {
  ops_.push_back({OpType::kDelete, table, std::string(key), {}});
}

void WriteBatch::DeleteRange(TableId table, absl::string_view begin,
                             absl::string_view end) {
  ops_.push_back(
      {OpType::kDeleteRange, table, std::string(begin), std::string(end)});
}

}  // namespace presence::storage
