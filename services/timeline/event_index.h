#ifndef PRESENCE_SERVICES_TIMELINE_EVENT_INDEX_H_
#define PRESENCE_SERVICES_TIMELINE_EVENT_INDEX_H_

// The timeline's secondary indexes and the window scan over them.
//
// An event's span is [lower(start), upper(end or start)] in day numbers
// (days since 1970-01-01, see partial_date.h). A window query asks for every
// event whose span overlaps [window_lower, window_upper], in the order
// lower, upper, id. Key layout ("I64(n)" is n as 8 big-endian bytes with the
// sign bit flipped, so numeric order is byte order):
//
//   by_start  LEVEL I64(lower) I64(upper) {event_id}                -> Event
//   by_org    {organization_id} 0x00 LEVEL I64(lower) I64(upper) {event_id} -> Event
//
// The indexes are covering: each entry holds the event itself, so a page of
// results is read from the range scans alone, with no point lookup per
// event (at a million events those lookups miss the block cache).
//
// LEVEL (one byte) buckets events by span length in half-octaves: level 0
// holds events of one day; level 1 + 2n + h, for n in 0..15, events spanning
// 2^n to 2^(n+1) - 1 further days, the lower (h = 0, up to 2^n * sqrt(2))
// or upper (h = 1) half of that range; level 33 everything longer (periods
// over ~180 years). Within a level the span is bounded, so the events
// overlapping a window all start in [window_lower - max_span(L),
// window_upper]: one bounded range scan per level, merged in key order. A
// period that started long before the window (UNMIK's 1999–2008
// administration seen from June 2008) is found at its level without
// scanning from the beginning of time; the only extra entries read are
// events of the same level that start within max_span(L) before the window
// and end before it ("near misses": half-octaves keep them to under a third
// of a level's scanned range). The top level is scanned from its start,
// which is cheap because periods that long are rare. The cost of a window
// query is O(levels * log n + k + those near misses), independent of n
// otherwise, and nothing is loaded into memory beyond one page.
//
// Two refinements keep the number of range scans and near misses down:
//
// - by_org also holds, per organization, a run of all its events whatever
//   their span (LEVEL kAllSpans). A window with no lower bound (an
//   organization's history, the recent events of a presence report) is every
//   event that starts by the window's end: one range scan of the run per
//   organization instead of one per level.
//
//       by_org  {organization_id} 0x00 0xFF I64(lower) I64(upper) {event_id}
//
// - The recent table holds, per organization, every event of it most recent
//   first: the complement of each byte of the sort key (so descending
//   lower, upper, id is ascending byte order), then 0xFF (ids never hold
//   0x00 or 0xFF, so a shorter id's terminator sorts after a longer one's
//   byte: "ab" comes after "abc", as it does in descending order).
//
//       recent  {organization_id} 0x00 ~I64(lower) ~I64(upper) ~{event_id} 0xFF
//
//   An organization's latest events up to a day are then one seek and a
//   forward scan (GetPresence), instead of a backward scan of the run, which
//   costs RocksDB a search per step in its memtable.
//
// - SpanBounds records, per level, the longest span ever indexed at it. A
//   level's scan starts at window_lower - bound instead of window_lower -
//   max_span(L), and levels never used are not scanned at all.
//
// - Ascending scans open a level (a seek) only when its first possible
//   entry could be the next one returned. A page of periods that started
//   long before the window is filled from the levels of long spans, and the
//   levels of short spans, which start near the window, are never opened
//   for it. The levels' iterators come from one KvStore::NewIterators call:
//   on RocksDB a level costs nothing until it is opened; on PostgreSQL the
//   first page of every level is read in one statement at the start, and
//   opening a level is answered from it (a window query is then a handful
//   of statements — the snapshot's, the span bounds, the levels' first
//   pages, a further page where a level needs one — instead of one per
//   level opened).
//
// Pagination resumes every level's scan strictly after the last returned
// (lower, upper, id), so a page sequence never repeats an event and never
// skips one that existed unchanged throughout.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/storage/kv_store.h"

namespace presence::timeline {

inline constexpr int kIndexLevels = 34;
// The LEVEL byte of by_org's run of every event of an organization.
inline constexpr int kAllSpans = 0xFF;

// The level of a span of `span_days` (upper - lower) days.
int SpanLevel(int64_t span_days);
// The longest span a level holds; for the top level, INT64_MAX.
int64_t MaxSpanOfLevel(int level);

// The part of an index key after its prefix and level: I64(lower) I64(upper)
// id. Sorting by it sorts by (lower, upper, id).
std::string SortKey(int64_t lower, int64_t upper, absl::string_view event_id);
// The event id at the end of a sort key; empty if malformed.
std::string EventIdOfSortKey(absl::string_view sort_key);

// The key of an event in by_start.
std::string StartIndexKey(int64_t lower, int64_t upper,
                          absl::string_view event_id);
// The key of an event in by_org for one of its organizations.
std::string OrgIndexKey(absl::string_view organization_id, int64_t lower,
                        int64_t upper, absl::string_view event_id);
// The key of an event in the organization's entries of the recent table.
std::string RecentKey(absl::string_view organization_id, int64_t lower,
                      int64_t upper, absl::string_view event_id);
// The prefix of the organization's entries in the recent table.
std::string RecentPrefix(absl::string_view organization_id);
// Where the organization's events starting by `until_day` begin in the
// recent table: every key of its prefix from this one on, and no key of
// its prefix before it, is such an event.
std::string RecentSeekKey(absl::string_view organization_id, int64_t until_day);
// The event id at the end of a recent key after its prefix; empty if
// malformed.
std::string EventIdOfRecentKey(absl::string_view key_after_prefix);
// The key of an event in the organization's all-spans run of by_org.
std::string OrgRunKey(absl::string_view organization_id, int64_t lower,
                      int64_t upper, absl::string_view event_id);

// Per level, a bound on the spans of the events indexed at it: the longest
// span ever indexed there (deleting events does not lower it), or -1 if no
// event was ever indexed at the level.
//
// Persisted in a meta table, one key per level, "span_bound/" LEVEL
// I64(span) -> "" (a raise writes the new key and deletes the one it
// replaces; were there several, for example from older layouts, the largest
// counts). The keys are written in the transaction of the index entries they
// cover, and queries read them in their own snapshot, so every replica sees
// a raise exactly when it sees the events that caused it.
//
// A value type; not thread-safe.
class SpanBounds {
 public:
  // No level used.
  SpanBounds();

  // Reads the bounds recorded in `meta` as of `snapshot` (null: latest), or
  // in a transaction. Errors: those of the store; DATA_LOSS for a malformed
  // record.
  static absl::StatusOr<SpanBounds> Load(storage::KvStore* store,
                                         storage::TableId meta,
                                         const storage::Snapshot* snapshot);
  static absl::StatusOr<SpanBounds> Load(storage::Transaction& txn,
                                         storage::TableId meta);

  // The bound of the level of `span` only (the other levels read as
  // unused), read in `txn`: enough to Raise(span) with — one short range
  // instead of every level's record (a round trip less per CreateEvent on
  // PostgreSQL). Errors as Load's.
  static absl::StatusOr<SpanBounds> LoadFor(storage::Transaction& txn,
                                            storage::TableId meta, int64_t span);

  // Makes the bound of the level of `span` at least `span`; if that raised
  // it, records the new bound in `txn` (table `meta`) in place of the old.
  // REQUIRES: these bounds were loaded in `txn` (and raised only through
  // it), by Load or by LoadFor(span).
  void Raise(int64_t span, storage::TableId meta, storage::Transaction& txn);

  // The bound of `level` (0 <= level < kIndexLevels), -1 if unused.
  int64_t Bound(int level) const { return bound_[level]; }

  // Deletes every recorded bound in `meta` (DeleteRange: see its REQUIRES).
  static void ClearAll(storage::TableId meta, storage::Transaction& txn);

 private:
  // The records at and after `from` that `it` returns.
  static absl::StatusOr<SpanBounds> LoadFrom(storage::Iterator& it, absl::string_view from);
  std::array<int64_t, kIndexLevels> bound_;
};

struct WindowQuery {
  // Day numbers, inclusive. INT64_MIN: no lower bound.
  int64_t window_lower;
  int64_t window_upper;
  bool descending = false;
  // Resume strictly after (in scan order) this sort key; empty: from the
  // start.
  std::string after;
  // Scan by_org for these organization ids (any of), or by_start if empty.
  std::vector<std::string> organization_ids;
  // If set, the span bound of each level (see SpanBounds); else every level
  // is scanned with its largest possible span. REQUIRES: loaded from the
  // snapshot of the scan.
  const SpanBounds* span_bounds = nullptr;
};

// Iterates the events overlapping a window, in order, each event once (an
// event of two requested organizations is reported once).
// Not thread-safe. Must not outlive `store` or `snapshot`.
class WindowScan {
 public:
  WindowScan(storage::KvStore* store, storage::TableId by_start,
             storage::TableId by_org, const storage::Snapshot* snapshot,
             const WindowQuery& query);
  ~WindowScan();

  struct Entry {
    std::string sort_key;
    std::string value;  // The index entry's value: the serialized event.
  };
  // The next entry, or nullopt at the end; an error if the store failed.
  absl::StatusOr<std::optional<Entry>> Next();

 private:
  struct Cursor;
  bool Better(const Cursor& a, const Cursor& b) const;
  void Open(Cursor* cursor);    // Position the iterator and settle.
  void Settle(Cursor* cursor);  // Skip entries that do not overlap.

  WindowQuery query_;
  std::vector<std::unique_ptr<Cursor>> cursors_;
  std::string last_;
};

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_EVENT_INDEX_H_
