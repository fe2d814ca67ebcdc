#include "cli/activity_view.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "api/timeparse.h"

namespace rwd::cli {

Result<int64_t> ParseStep(std::string_view text) {
  const Status bad = Status::InvalidArgument(
      "--step '" + std::string(text.substr(0, 32)) +
      "' is not a step: give a whole number of seconds, minutes, hours or days, such as 1s, "
      "10s, 1m, 1h or 1d");
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return bad;
  const int64_t n = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  int64_t mult = 0;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "m") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  if (mult == 0 || n == 0) return bad;
  return n * mult;
}

std::string FormatStep(int64_t s) {
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string ActivityJson(const std::vector<ActivitySample>& samples) {
  std::string out = "[";
  char buf[96];
  for (size_t i = 0; i < samples.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s{\"time\":\"", i ? "," : "");
    out += buf;
    out += api::FormatIso8601(samples[i].time_ns, 0);
    std::snprintf(buf, sizeof buf, "\",\"bytes\":%" PRIu64 ",\"records\":%" PRIu64 "}",
                  samples[i].bytes, samples[i].records);
    out += buf;
  }
  return out + "]\n";
}

std::string ActivityTable(const std::vector<ActivitySample>& samples) {
  std::string out = "TIME                   BYTES        RECORDS\n";
  char buf[128];
  for (const ActivitySample& s : samples) {
    std::snprintf(buf, sizeof buf, "%-22s %-12" PRIu64 " %" PRIu64 "\n",
                  api::FormatIso8601(s.time_ns, 0).c_str(), s.bytes, s.records);
    out += buf;
  }
  return out;
}

std::string Sparkline(const std::vector<ActivitySample>& samples, int64_t from_ns, int64_t to_ns,
                      int width, const std::vector<TimeMark>& marks) {
  static const char* const kBlocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                        "\u2585", "\u2586", "\u2587", "\u2588"};
  const int64_t span = std::max<int64_t>(to_ns - from_ns, 1);
  const int cols = std::max(1, width);
  auto column = [&](int64_t t) -> int {
    if (t < from_ns || t >= to_ns) return -1;
    return static_cast<int>(static_cast<__int128>(t - from_ns) * cols / span);
  };
  std::vector<uint64_t> bytes(cols, 0);
  std::vector<bool> touched(cols, false);
  for (const ActivitySample& s : samples) {
    const int c = column(s.time_ns);
    if (c < 0) continue;
    bytes[c] += s.bytes;
    if (s.records) touched[c] = true;
  }
  const uint64_t top = *std::max_element(bytes.begin(), bytes.end());
  std::string line;
  for (int c = 0; c < cols; ++c) {
    if (bytes[c] == 0) {
      // Changes without file data (a chmod, a rename) still show, as the lowest block.
      line += touched[c] ? kBlocks[0] : " ";
      continue;
    }
    // Logarithmic: a burst stays visible beside a bulk load a hundred times bigger. 1..7, the
    // busiest column 7.
    const double frac = top > 1 ? std::log(static_cast<double>(bytes[c])) /
                                      std::log(static_cast<double>(top))
                                : 1.0;
    const int level = 1 + static_cast<int>(std::floor(6.0 * frac + 1e-9));
    line += kBlocks[std::clamp(level, 1, 7)];
  }
  std::string mark_line(cols, ' ');
  for (const TimeMark& m : marks) {
    const int c = column(m.time_ns);
    if (c >= 0) mark_line[c] = m.symbol;
  }
  while (!mark_line.empty() && mark_line.back() == ' ') mark_line.pop_back();
  std::string left = api::FormatIso8601(from_ns, 0), right = api::FormatIso8601(to_ns, 0);
  std::string axis = left;
  if (static_cast<int>(left.size() + right.size()) + 1 <= cols) {
    axis += std::string(cols - left.size() - right.size(), ' ');
  } else {
    axis += " .. ";
  }
  axis += right;
  return line + "\n" + mark_line + "\n" + axis + "\n";
}

}  // namespace rwd::cli
