#include "services/timeline/event_index.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "services/common/key_codec.h"

namespace presence::timeline {
namespace {

constexpr int kTopLevel = kIndexLevels - 1;
constexpr size_t kSortKeyNumbers = 16;  // I64(lower) I64(upper).
constexpr char kSpanBoundPrefix[] = "span_bound/";

std::string LevelPrefix(absl::string_view prefix, int level) {
  std::string out(prefix);
  out.push_back(static_cast<char>(level));
  return out;
}

std::string OrgPrefix(absl::string_view organization_id) {
  std::string out(organization_id);
  out.push_back('\0');
  return out;
}

}  // namespace

int SpanLevel(int64_t span_days) {
  int level = 0;
  while (span_days > 0 && level < kTopLevel) {
    span_days >>= 1;
    ++level;
  }
  return span_days > 0 ? kTopLevel : level;
}

int64_t MaxSpanOfLevel(int level) {
  if (level >= kTopLevel) return std::numeric_limits<int64_t>::max();
  return (int64_t{1} << level) - 1;
}

std::string SortKey(int64_t lower, int64_t upper, absl::string_view event_id) {
  std::string key;
  AppendInt64(&key, lower);
  AppendInt64(&key, upper);
  key.append(event_id.data(), event_id.size());
  return key;
}

std::string EventIdOfSortKey(absl::string_view sort_key) {
  if (sort_key.size() <= kSortKeyNumbers) return "";
  return std::string(sort_key.substr(kSortKeyNumbers));
}

std::string StartIndexKey(int64_t lower, int64_t upper,
                          absl::string_view event_id) {
  return LevelPrefix("", SpanLevel(upper - lower)) +
         SortKey(lower, upper, event_id);
}

std::string OrgIndexKey(absl::string_view organization_id, int64_t lower,
                        int64_t upper, absl::string_view event_id) {
  return LevelPrefix(OrgPrefix(organization_id), SpanLevel(upper - lower)) +
         SortKey(lower, upper, event_id);
}

std::string OrgRunKey(absl::string_view organization_id, int64_t lower,
                      int64_t upper, absl::string_view event_id) {
  return LevelPrefix(OrgPrefix(organization_id), kAllSpans) +
         SortKey(lower, upper, event_id);
}

SpanBounds::SpanBounds() {
  for (auto& b : bound_) b.store(-1);
}

absl::StatusOr<std::unique_ptr<SpanBounds>> SpanBounds::Load(
    storage::KvStore* store, storage::TableId meta) {
  auto bounds = std::make_unique<SpanBounds>();
  for (int level = 0; level < kIndexLevels; ++level) {
    storage::ReadOptions ro;
    ro.lower_bound = LevelPrefix(kSpanBoundPrefix, level);
    ro.upper_bound = PrefixSuccessor(ro.lower_bound);
    std::unique_ptr<storage::Iterator> it = store->NewIterator(meta, ro);
    it->SeekToLast();
    if (!it->status().ok()) return it->status();
    if (!it->Valid()) continue;
    absl::string_view key = it->key();
    key.remove_prefix(ro.lower_bound.size());
    const std::optional<int64_t> span = ConsumeInt64(&key);
    if (!span || !key.empty() || *span < 0 || SpanLevel(*span) != level) {
      return absl::DataLossError(absl::StrCat(
          "malformed span bound record at level ", level));
    }
    bounds->bound_[level].store(*span);
  }
  return bounds;
}

void SpanBounds::Raise(int64_t span, storage::TableId meta,
                       storage::WriteBatch* batch) {
  const int level = SpanLevel(span);
  std::atomic<int64_t>& bound = bound_[level];
  int64_t current = bound.load();
  while (current < span) {
    if (bound.compare_exchange_weak(current, span)) {
      std::string key = LevelPrefix(kSpanBoundPrefix, level);
      AppendInt64(&key, span);
      batch->Put(meta, key, "");
      return;
    }
  }
}

int64_t SpanBounds::Bound(int level) const { return bound_[level].load(); }

// One range scan: one level of one prefix.
struct WindowScan::Cursor {
  std::unique_ptr<storage::Iterator> it;
  size_t prefix_size;  // Bytes before the sort key.
  absl::string_view sort_key() const { return it->key().substr(prefix_size); }
};

WindowScan::WindowScan(storage::KvStore* store, storage::TableId by_start,
                       storage::TableId by_org,
                       const storage::Snapshot* snapshot,
                       const WindowQuery& query)
    : query_(query) {
  std::vector<std::string> prefixes;
  if (query.organization_ids.empty()) {
    prefixes.push_back("");
  } else {
    for (const std::string& id : query.organization_ids) {
      prefixes.push_back(OrgPrefix(id));
    }
  }
  const storage::TableId table =
      query.organization_ids.empty() ? by_start : by_org;
  // Without a lower bound the window is every event that starts by its end:
  // an organization's all-spans run has them in order.
  const bool runs = !query.organization_ids.empty() &&
                    query.window_lower == std::numeric_limits<int64_t>::min();
  std::vector<int> levels;
  if (runs) {
    levels.push_back(kAllSpans);
  } else {
    for (int level = 0; level < kIndexLevels; ++level) levels.push_back(level);
  }
  for (const std::string& prefix : prefixes) {
    for (const int level : levels) {
      const std::string level_prefix = LevelPrefix(prefix, level);
      // Events of this level overlapping the window start in
      // [window_lower - max_span, window_upper].
      int64_t max_span = std::numeric_limits<int64_t>::max();
      if (level != kAllSpans) {
        max_span = query.span_bounds != nullptr
                       ? query.span_bounds->Bound(level)
                       : MaxSpanOfLevel(level);
        if (max_span < 0) continue;  // No event was ever indexed here.
      }
      const bool unbounded =
          query.window_lower < std::numeric_limits<int64_t>::min() + max_span;
      storage::ReadOptions ro;
      ro.snapshot = snapshot;
      ro.lower_bound = level_prefix;
      if (!unbounded) AppendInt64(&ro.lower_bound, query.window_lower - max_span);
      if (query.window_upper == std::numeric_limits<int64_t>::max()) {
        ro.upper_bound = PrefixSuccessor(level_prefix);
      } else {
        ro.upper_bound = level_prefix;
        AppendInt64(&ro.upper_bound, query.window_upper + 1);
      }
      auto cursor = std::make_unique<Cursor>();
      cursor->it = store->NewIterator(table, ro);
      cursor->prefix_size = level_prefix.size();
      if (!query.descending) {
        if (query.after.empty()) {
          cursor->it->Seek(ro.lower_bound);
        } else {
          const std::string resume = level_prefix + query.after;
          cursor->it->Seek(std::max(resume, ro.lower_bound));
          if (cursor->it->Valid() && cursor->sort_key() == query.after) {
            cursor->it->Next();
          }
        }
      } else {
        if (query.after.empty()) {
          cursor->it->SeekToLast();
        } else {
          cursor->it->SeekForPrev(level_prefix + query.after);
          if (cursor->it->Valid() && cursor->sort_key() == query.after) {
            cursor->it->Prev();
          }
        }
      }
      Settle(cursor.get());
      cursors_.push_back(std::move(cursor));
    }
  }
}

WindowScan::~WindowScan() = default;

void WindowScan::Settle(Cursor* cursor) {
  // Entries whose span ends before the window are near misses of this level.
  while (cursor->it->Valid()) {
    absl::string_view key = cursor->sort_key();
    key.remove_prefix(8);
    const std::optional<int64_t> upper = ConsumeInt64(&key);
    if (upper && *upper >= query_.window_lower) return;
    if (query_.descending) {
      cursor->it->Prev();
    } else {
      cursor->it->Next();
    }
  }
}

bool WindowScan::Better(const Cursor& a, const Cursor& b) const {
  return query_.descending ? a.sort_key() > b.sort_key()
                           : a.sort_key() < b.sort_key();
}

absl::StatusOr<std::optional<WindowScan::Entry>> WindowScan::Next() {
  while (true) {
    Cursor* best = nullptr;
    for (auto& cursor : cursors_) {
      if (!cursor->it->status().ok()) return cursor->it->status();
      if (cursor->it->Valid() && (best == nullptr || Better(*cursor, *best))) {
        best = cursor.get();
      }
    }
    if (best == nullptr) return std::nullopt;
    std::string key(best->sort_key());
    std::string value(best->it->value());
    if (query_.descending) {
      best->it->Prev();
    } else {
      best->it->Next();
    }
    Settle(best);
    // The same event under two requested organizations comes twice in a row.
    if (key == last_) continue;
    last_ = key;
    return Entry{std::move(key), std::move(value)};
  }
}

}  // namespace presence::timeline
