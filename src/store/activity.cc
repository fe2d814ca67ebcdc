#include "store/activity.h"

#include <algorithm>

namespace rwd::store {
namespace {

constexpr int64_t kNs = 1'000'000'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void Merge(std::vector<ActivityBucket>* coarse, int64_t second, uint64_t bytes, uint64_t records) {
  const int64_t minute = FloorDiv(second, 60) * 60;
  if (coarse->empty() || coarse->back().second != minute) coarse->push_back({minute, 0, 0});
  coarse->back().bytes += bytes;
  coarse->back().records += records;
}

}  // namespace

void ActivityLog::Add(uint64_t tl, int64_t time_ns, uint64_t bytes) {
  const int64_t second = FloorDiv(time_ns, kNs);
  TimelineActivity& a = timelines_[tl];
  if (second < fine_from_s_) {
    // Only a rebuilt summary can be behind the coarsening point (never the live clock).
    Merge(&a.coarse, second, bytes, 1);
  } else {
    if (a.fine.empty() || a.fine.back().second < second) a.fine.push_back({second, 0, 0});
    a.fine.back().bytes += bytes;
    a.fine.back().records += 1;
  }
  const int64_t minute = FloorDiv(second, 60);
  if (minute != last_minute_) {
    last_minute_ = minute;
    Coarsen(time_ns);
  }
}

void ActivityLog::AddUnordered(uint64_t tl, int64_t time_ns, uint64_t bytes, uint64_t records) {
  timelines_[tl].fine.push_back({FloorDiv(time_ns, kNs), bytes, records});
}

void ActivityLog::Finish(int64_t now_ns) {
  for (auto& [tl, a] : timelines_) {
    std::sort(a.fine.begin(), a.fine.end(),
              [](const ActivityBucket& x, const ActivityBucket& y) { return x.second < y.second; });
    std::deque<ActivityBucket> merged;
    for (const ActivityBucket& b : a.fine) {
      if (!merged.empty() && merged.back().second == b.second) {
        merged.back().bytes += b.bytes;
        merged.back().records += b.records;
      } else {
        merged.push_back(b);
      }
    }
    a.fine = std::move(merged);
  }
  last_minute_ = FloorDiv(FloorDiv(now_ns, kNs), 60);
  Coarsen(now_ns);
}

void ActivityLog::Coarsen(int64_t now_ns) {
  const int64_t cutoff = FloorDiv(FloorDiv(now_ns - kActivityFineSpanNs, kNs), 60) * 60;
  if (cutoff <= fine_from_s_) return;
  fine_from_s_ = cutoff;
  for (auto& [tl, a] : timelines_) {
    while (!a.fine.empty() && a.fine.front().second < cutoff) {
      Merge(&a.coarse, a.fine.front().second, a.fine.front().bytes, a.fine.front().records);
      a.fine.pop_front();
    }
  }
}

void ActivityLog::Prune(const std::unordered_map<uint64_t, int64_t>& keep_from_s) {
  for (auto it = timelines_.begin(); it != timelines_.end();) {
    auto keep = keep_from_s.find(it->first);
    if (keep == keep_from_s.end()) {
      it = timelines_.erase(it);
      continue;
    }
    TimelineActivity& a = it->second;
    const int64_t from = keep->second;
    auto minute_end_after = std::find_if(a.coarse.begin(), a.coarse.end(),
                                         [&](const ActivityBucket& b) { return b.second + 60 > from; });
    a.coarse.erase(a.coarse.begin(), minute_end_after);
    while (!a.fine.empty() && a.fine.front().second < from) a.fine.pop_front();
    ++it;
  }
}

void ActivityLog::Accumulate(uint64_t tl, int64_t from_s, int64_t to_s, int64_t grid_start_s,
                             int64_t step_s, std::vector<ActivityPoint>* points) const {
  auto it = timelines_.find(tl);
  if (it == timelines_.end() || from_s >= to_s) return;
  const TimelineActivity& a = it->second;
  auto add = [&](const ActivityBucket& b) {
    const int64_t i = FloorDiv(b.second - grid_start_s, step_s);
    if (i < 0 || i >= static_cast<int64_t>(points->size())) return;
    (*points)[i].bytes += b.bytes;
    (*points)[i].records += b.records;
  };
  auto by_second = [](const ActivityBucket& b, int64_t s) { return b.second < s; };
  // A minute bucket overlaps [from_s, to_s) when its minute starts after from_s - 60.
  for (auto b = std::lower_bound(a.coarse.begin(), a.coarse.end(), from_s - 59, by_second);
       b != a.coarse.end() && b->second < to_s; ++b) {
    add(*b);
  }
  for (auto b = std::lower_bound(a.fine.begin(), a.fine.end(), from_s, by_second);
       b != a.fine.end() && b->second < to_s; ++b) {
    add(*b);
  }
}

}  // namespace rwd::store
