// The `rewind activity` and `rewind history` renderings of a cluster's activity
// (DescribeDBClusterActivity): step parsing, the table, the JSON list and the terminal sparkline.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rwd::cli {

struct ActivitySample {
  int64_t time_ns = 0;  // the interval's start
  uint64_t bytes = 0;
  uint64_t records = 0;
};

// "1s", "10s", "1m", "15m", "1h", "1d", or a bare number of seconds → seconds.
// Failure: InvalidArgument saying what a step looks like.
Result<int64_t> ParseStep(std::string_view text);
// 1 → "1s", 60 → "1m", 90 → "90s", 3600 → "1h".
std::string FormatStep(int64_t seconds);

// [{"time":"2026-11-25T10:00:00Z","bytes":123,"records":4},...] and a newline.
std::string ActivityJson(const std::vector<ActivitySample>& samples);
// TIME, BYTES, RECORDS columns under a header line.
std::string ActivityTable(const std::vector<ActivitySample>& samples);

// A marked moment on the sparkline's axis (a backtrack, an event).
struct TimeMark {
  int64_t time_ns = 0;
  char symbol = '*';
};
// At most `width` columns over [from_ns, to_ns): line 1, bytes per column as the block
// characters ▂..█ on a logarithmic scale up to the busiest column (▁: changes without file
// data; a space: nothing); line 2, the
// marks at their columns (later marks win a shared column); line 3, the axis ends' times. Each
// line ends with a newline. Samples are summed into the column holding their start.
std::string Sparkline(const std::vector<ActivitySample>& samples, int64_t from_ns, int64_t to_ns,
                      int width, const std::vector<TimeMark>& marks);

}  // namespace rwd::cli
