// Internal: the store's activity summary — per timeline, file data bytes and change records per
// second of wall-clock time — so that Store::Activity answers without reading the log.
// Maintained by Store::Impl::Apply (live and at replay), persisted in the checkpoint (version 4,
// docs/format/checkpoint.md). Not thread-safe: the store guards it with its index lock.
//
// Memory: one 24-byte bucket per second in which a timeline recorded anything, for the last
// kActivityFineSpanNs of the store's clock; older seconds are merged into one bucket per minute
// (Coarsen), so a timeline costs at most 86,400 fine buckets plus 1,440 per day of older history.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "store/record.h"
#include "store/types.h"

namespace rwd::store {

// The records the summary counts: file-system changes of a timeline (not timeline or volume
// records).
inline bool IsFileChange(RecordKind k) {
  return k == RecordKind::kWrite || k == RecordKind::kCreate || k == RecordKind::kRemove ||
         k == RecordKind::kRename || k == RecordKind::kSetAttr;
}

struct ActivityBucket {
  int64_t second = 0;  // start, in whole seconds since the epoch
  uint64_t bytes = 0;
  uint64_t records = 0;
};

// One timeline's buckets: minute buckets (second a multiple of 60) before `fine`'s, ascending.
struct TimelineActivity {
  std::vector<ActivityBucket> coarse;
  std::deque<ActivityBucket> fine;
};

class ActivityLog {
 public:
  // Counts one change record of `tl` at `time_ns` carrying `bytes` of file data. Times must not
  // go below the last one added to this timeline by more than a second's bucket (the store's
  // clock never goes back); Coarsen runs when the clock enters a new minute.
  void Add(uint64_t tl, int64_t time_ns, uint64_t bytes);
  // Adds (possibly out of order) a bucket's worth; Finish() sorts and merges. For rebuilding.
  void AddUnordered(uint64_t tl, int64_t time_ns, uint64_t bytes, uint64_t records);
  void Finish(int64_t now_ns);

  // Merges every fine bucket before the minute kActivityFineSpanNs before `now_ns` into minute
  // buckets; raises fine_from_s().
  void Coarsen(int64_t now_ns);

  // Adds to `points` (points[i] covers [grid_start_s + i*step_s, + step_s)) the buckets of `tl`
  // whose second lies in [from_s, to_s) — for a minute bucket, whose minute overlaps it.
  // step_s must be a multiple of 60 if grid_start_s < fine_from_s() (the caller checks).
  void Accumulate(uint64_t tl, int64_t from_s, int64_t to_s, int64_t grid_start_s,
                  int64_t step_s, std::vector<ActivityPoint>* points) const;

  // Keeps only the timelines in `keep_from_s`, and of each only the buckets that may hold
  // seconds at or after its value (what the cleaner's retention floors still let a volume show).
  void Prune(const std::unordered_map<uint64_t, int64_t>& keep_from_s);

  // Seconds before this are summarised per minute only.
  int64_t fine_from_s() const { return fine_from_s_; }
  void set_fine_from_s(int64_t s) { fine_from_s_ = s; }

  std::unordered_map<uint64_t, TimelineActivity>& timelines() { return timelines_; }
  const std::unordered_map<uint64_t, TimelineActivity>& timelines() const { return timelines_; }
  void Clear() {
    timelines_.clear();
    fine_from_s_ = 0;
    last_minute_ = 0;
  }

 private:
  std::unordered_map<uint64_t, TimelineActivity> timelines_;
  int64_t fine_from_s_ = 0;
  int64_t last_minute_ = 0;  // the clock's minute at the last Coarsen
};

}  // namespace rwd::store
