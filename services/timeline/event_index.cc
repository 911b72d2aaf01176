#include "services/timeline/event_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/key_codec.h"
#include "services/common/status_macros.h"

namespace presence::timeline {
namespace {

constexpr int kTopLevel = kIndexLevels - 1;
constexpr int kOctaves = 16;  // Spans below 2^16 days (~180 years).
constexpr size_t kSortKeyNumbers = 16;  // I64(lower) I64(upper).
constexpr char kSpanBoundPrefix[] = "span_bound/";
// One record per level used, and a few left from older layouts: read in
// one page.
constexpr size_t kSpanBoundsPage = 2 * kIndexLevels;

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

// Level 1 + 2n + h holds the spans s with 2^n <= s < 2^(n+1) in the lower
// (h = 0: s < 2^n * sqrt(2)) or upper (h = 1) half-octave, for n < 16.
int SpanLevel(int64_t span_days) {
  if (span_days <= 0) return 0;
  int n = 0;
  while (n < kOctaves && (span_days >> (n + 1)) > 0) ++n;
  if (n >= kOctaves) return kTopLevel;
  const bool upper_half = span_days * span_days >= (int64_t{2} << (2 * n));
  return 1 + 2 * n + (upper_half ? 1 : 0);
}

int64_t MaxSpanOfLevel(int level) {
  if (level <= 0) return 0;
  if (level >= kTopLevel) return std::numeric_limits<int64_t>::max();
  const int n = (level - 1) / 2;
  if ((level - 1) % 2 == 1) return (int64_t{2} << n) - 1;
  // The largest s with s * s < 2^(2n + 1).
  const int64_t limit = int64_t{2} << (2 * n);
  int64_t s = static_cast<int64_t>(std::sqrt(static_cast<double>(limit)));
  while (s * s >= limit) --s;
  while ((s + 1) * (s + 1) < limit) ++s;
  return s;
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

namespace {

std::string Complement(absl::string_view bytes) {
  std::string out(bytes);
  for (char& c : out) c = static_cast<char>(~static_cast<unsigned char>(c));
  return out;
}

}  // namespace

std::string RecentPrefix(absl::string_view organization_id) {
  return OrgPrefix(organization_id);
}

std::string RecentKey(absl::string_view organization_id, int64_t lower,
                      int64_t upper, absl::string_view event_id) {
  return RecentPrefix(organization_id) +
         Complement(SortKey(lower, upper, event_id)) + '\xff';
}

std::string RecentSeekKey(absl::string_view organization_id, int64_t until_day) {
  // Keys whose complemented I64(lower) is at least ~I64(until_day): lower
  // <= until_day.
  std::string lower;
  AppendInt64(&lower, until_day);
  return RecentPrefix(organization_id) + Complement(lower);
}

std::string EventIdOfRecentKey(absl::string_view key_after_prefix) {
  if (key_after_prefix.size() <= kSortKeyNumbers + 1 || key_after_prefix.back() != '\xff') {
    return "";
  }
  key_after_prefix.remove_suffix(1);
  return EventIdOfSortKey(Complement(key_after_prefix));
}

std::string OrgRunKey(absl::string_view organization_id, int64_t lower,
                      int64_t upper, absl::string_view event_id) {
  return LevelPrefix(OrgPrefix(organization_id), kAllSpans) +
         SortKey(lower, upper, event_id);
}

SpanBounds::SpanBounds() { bound_.fill(-1); }

absl::StatusOr<SpanBounds> SpanBounds::LoadFrom(storage::Iterator& it,
                                                absl::string_view from) {
  SpanBounds bounds;
  for (it.Seek(from); it.Valid(); it.Next()) {
    absl::string_view key = it.key();
    key.remove_prefix(sizeof(kSpanBoundPrefix) - 1);
    const int level = key.empty() ? -1 : static_cast<unsigned char>(key[0]);
    if (!key.empty()) key.remove_prefix(1);
    const std::optional<int64_t> span = ConsumeInt64(&key);
    if (level < 0 || level >= kIndexLevels || !span || !key.empty() ||
        *span < 0 || SpanLevel(*span) != level) {
      return absl::DataLossError(absl::StrCat(
          "malformed span bound record ", absl::CEscape(it.key())));
    }
    bounds.bound_[level] = std::max(bounds.bound_[level], *span);
  }
  PRESENCE_RETURN_IF_ERROR(it.status());
  return bounds;
}

absl::StatusOr<SpanBounds> SpanBounds::Load(storage::KvStore* store,
                                            storage::TableId meta,
                                            const storage::Snapshot* snapshot) {
  storage::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.lower_bound = kSpanBoundPrefix;
  ro.upper_bound = PrefixSuccessor(kSpanBoundPrefix);
  ro.first_page = kSpanBoundsPage;
  std::unique_ptr<storage::Iterator> it = store->NewIterator(meta, ro);
  return LoadFrom(*it, ro.lower_bound);
}

absl::StatusOr<SpanBounds> SpanBounds::Load(storage::Transaction& txn,
                                            storage::TableId meta) {
  storage::ReadOptions ro;
  ro.lower_bound = kSpanBoundPrefix;
  ro.upper_bound = PrefixSuccessor(kSpanBoundPrefix);
  ro.first_page = kSpanBoundsPage;
  std::unique_ptr<storage::Iterator> it = txn.NewIterator(meta, ro);
  return LoadFrom(*it, ro.lower_bound);
}

absl::StatusOr<SpanBounds> SpanBounds::LoadFor(storage::Transaction& txn,
                                               storage::TableId meta, int64_t span) {
  storage::ReadOptions ro;
  ro.lower_bound = LevelPrefix(kSpanBoundPrefix, SpanLevel(span));
  ro.upper_bound = PrefixSuccessor(ro.lower_bound);
  std::unique_ptr<storage::Iterator> it = txn.NewIterator(meta, ro);
  return LoadFrom(*it, ro.lower_bound);
}

namespace {

std::string BoundKey(int level, int64_t span) {
  std::string key = LevelPrefix(kSpanBoundPrefix, level);
  AppendInt64(&key, span);
  return key;
}

}  // namespace

void SpanBounds::Raise(int64_t span, storage::TableId meta,
                       storage::Transaction& txn) {
  const int level = SpanLevel(span);
  if (bound_[level] >= span) return;
  if (bound_[level] >= 0) txn.Delete(meta, BoundKey(level, bound_[level]));
  bound_[level] = span;
  txn.Put(meta, BoundKey(level, span), "");
}

void SpanBounds::ClearAll(storage::TableId meta, storage::Transaction& txn) {
  txn.DeleteRange(meta, kSpanBoundPrefix, PrefixSuccessor(kSpanBoundPrefix));
}

// One range scan: one level of one prefix. Ascending scans open lazily.
struct WindowScan::Cursor {
  std::string level_prefix;
  // Ascending: no entry of this scan sorts before this key.
  std::string floor;
  std::unique_ptr<storage::Iterator> it;  // From NewIterators.
  bool opened = false;                    // Positioned by Open.
  absl::string_view sort_key() const {
    return it->key().substr(level_prefix.size());
  }
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
  std::vector<storage::KeyRange> ranges;
  for (const std::string& prefix : prefixes) {
    for (const int level : levels) {
      auto cursor = std::make_unique<Cursor>();
      cursor->level_prefix = LevelPrefix(prefix, level);
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
      storage::KeyRange range;
      range.lower_bound = cursor->level_prefix;
      if (!unbounded) {
        AppendInt64(&cursor->floor, query.window_lower - max_span);
        range.lower_bound += cursor->floor;
      }
      if (query.window_upper == std::numeric_limits<int64_t>::max()) {
        range.upper_bound = PrefixSuccessor(cursor->level_prefix);
      } else {
        range.upper_bound = cursor->level_prefix;
        AppendInt64(&range.upper_bound, query.window_upper + 1);
      }
      // A resumed scan's range starts (ascending) or ends (descending) at
      // the resume point, so that its first page starts there.
      if (!query.after.empty()) {
        const std::string resume = cursor->level_prefix + query.after;
        if (!query.descending) {
          range.lower_bound = std::max(range.lower_bound, resume);
        } else {
          std::string through = resume + '\0';  // Keys up to resume.
          if (range.upper_bound.empty() || through < range.upper_bound) {
            range.upper_bound = std::move(through);
          }
        }
      }
      if (!range.upper_bound.empty() && range.lower_bound > range.upper_bound) {
        range.lower_bound = range.upper_bound;  // Empty.
      }
      cursor->floor = std::max(cursor->floor, query.after);
      ranges.push_back(std::move(range));
      cursors_.push_back(std::move(cursor));
    }
  }
  // Every level's iterator at once: on an engine of round trips the first
  // page of every level comes in one; on an embedded one a level is read
  // only once opened.
  storage::MultiRangeOptions options;
  options.snapshot = snapshot;
  options.reverse = query.descending;
  std::vector<std::unique_ptr<storage::Iterator>> its =
      store->NewIterators(query.organization_ids.empty() ? by_start : by_org, ranges, options);
  for (size_t i = 0; i < cursors_.size(); ++i) cursors_[i]->it = std::move(its[i]);
  // A descending merge needs every level's last entry at once.
  if (query.descending) {
    for (auto& cursor : cursors_) Open(cursor.get());
  }
}

void WindowScan::Open(Cursor* cursor) {
  cursor->opened = true;
  if (!query_.descending) {
    cursor->it->SeekToFirst();
  } else {
    cursor->it->SeekToLast();
  }
  // The range starts or ends at the resume point: skip it itself.
  if (!query_.after.empty() && cursor->it->Valid() &&
      cursor->sort_key() == query_.after) {
    if (query_.descending) {
      cursor->it->Prev();
    } else {
      cursor->it->Next();
    }
  }
  Settle(cursor);
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
    Cursor* unopened = nullptr;  // The unopened scan with the lowest floor.
    for (auto& cursor : cursors_) {
      if (!cursor->opened) {
        if (unopened == nullptr || cursor->floor < unopened->floor) {
          unopened = cursor.get();
        }
        continue;
      }
      if (!cursor->it->status().ok()) return cursor->it->status();
      if (cursor->it->Valid() && (best == nullptr || Better(*cursor, *best))) {
        best = cursor.get();
      }
    }
    // Ascending, a level is opened (one seek) only once its first possible
    // entry could come next: a page of long periods that started well
    // before the window never touches the levels of short spans.
    if (unopened != nullptr &&
        (best == nullptr || absl::string_view(unopened->floor) <= best->sort_key())) {
      Open(unopened);
      continue;
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
