#include "api/timeparse.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace rwd::api {

namespace {

constexpr int kMinYear = 1678;  // int64 ns since 1970 spans 1677-09-21 .. 2262-04-11
constexpr int kMaxYear = 2261;

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Reads exactly `n` digits at `*pos`; advances on success.
bool ReadFixed(std::string_view s, size_t* pos, int n, int* out) {
  if (*pos + static_cast<size_t>(n) > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*pos + static_cast<size_t>(i)];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(n);
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

std::string Quote(std::string_view text) {
  std::string q = "\"";
  q.append(text.substr(0, 100));
  if (text.size() > 100) q += "...";
  q += "\"";
  return q;
}

Status IsoError(std::string_view text, std::string_view why) {
  std::string msg = "invalid timestamp " + Quote(text);
  if (!why.empty()) msg.append(" (").append(why).append(")");
  msg +=
      ": expected ISO 8601 in UTC like 2026-11-25T10:00:00Z, optionally with a fraction "
      "(2026-11-25T10:00:00.250Z) or an offset instead of Z (2026-11-25T12:00:00+02:00)";
  return Status::InvalidArgument(msg);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses "<digits>[.<digits>]" at *pos into value * 10^9 (i.e. the amount in billionths).
// Fraction digits beyond 9 are an error.
bool ReadDecimalBillionths(std::string_view s, size_t* pos, __int128* out) {
  size_t p = *pos;
  __int128 whole = 0;
  size_t start = p;
  while (p < s.size() && IsDigit(s[p])) {
    whole = whole * 10 + (s[p] - '0');
    if (whole > static_cast<__int128>(1) << 80) return false;
    ++p;
  }
  bool any = p > start;
  __int128 frac = 0;
  int frac_digits = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t fstart = p;
    while (p < s.size() && IsDigit(s[p])) {
      if (++frac_digits > 9) return false;
      frac = frac * 10 + (s[p] - '0');
      ++p;
    }
    if (p == fstart) return false;
    any = true;
  }
  if (!any) return false;
  for (int i = frac_digits; i < 9; ++i) frac *= 10;
  *out = whole * kNanosPerSecond + frac;
  *pos = p;
  return true;
}

constexpr std::string_view kTimeArgForms =
    "expected an ISO 8601 time like 2026-11-25T10:00:00Z (a fraction and an offset such as "
    "+02:00 are allowed), \"now\", a relative time like \"90 seconds ago\", \"5 minutes ago\" or "
    "\"1h30m ago\", or seconds since the epoch";

// Nanoseconds per unit, or 0 for an unknown unit.
int64_t UnitNanos(std::string_view unit) {
  struct U {
    std::string_view names[5];
    int64_t ns;
  };
  static constexpr U kUnits[] = {
      {{"ms", "msec", "msecs", "millisecond", "milliseconds"}, 1'000'000},
      {{"s", "sec", "secs", "second", "seconds"}, kNanosPerSecond},
      {{"m", "min", "mins", "minute", "minutes"}, 60 * kNanosPerSecond},
      {{"h", "hr", "hrs", "hour", "hours"}, 3600 * kNanosPerSecond},
      {{"d", "day", "days", "", ""}, 86400 * kNanosPerSecond},
      {{"w", "week", "weeks", "", ""}, 7 * 86400 * kNanosPerSecond},
  };
  for (const U& u : kUnits) {
    for (std::string_view n : u.names) {
      if (!n.empty() && n == unit) return u.ns;
    }
  }
  return 0;
}

}  // namespace

Result<int64_t> ParseIso8601(std::string_view text) {
  std::string_view s = Trim(text);
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadFixed(s, &pos, 4, &year) || !Expect(s, &pos, '-') || !ReadFixed(s, &pos, 2, &month) ||
      !Expect(s, &pos, '-') || !ReadFixed(s, &pos, 2, &day)) {
    return IsoError(text, "");
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) {
    return IsoError(text, pos >= s.size() ? "no time of day" : "");
  }
  ++pos;
  if (!ReadFixed(s, &pos, 2, &hour) || !Expect(s, &pos, ':') || !ReadFixed(s, &pos, 2, &minute) ||
      !Expect(s, &pos, ':') || !ReadFixed(s, &pos, 2, &second)) {
    return IsoError(text, "");
  }
  int64_t nanos = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int digits = 0;
    while (pos < s.size() && IsDigit(s[pos])) {
      if (++digits > 9) return IsoError(text, "more than 9 fractional digits");
      nanos = nanos * 10 + (s[pos] - '0');
      ++pos;
    }
    if (digits == 0) return IsoError(text, "empty fraction");
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos >= s.size()) {
    return Status::InvalidArgument("timestamp " + Quote(text) +
                                   " has no time zone: append Z for UTC, e.g. "
                                   "2026-11-25T10:00:00Z");
  }
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!ReadFixed(s, &pos, 2, &oh)) return IsoError(text, "bad zone offset");
    if (pos < s.size()) {
      Expect(s, &pos, ':');
      if (!ReadFixed(s, &pos, 2, &om)) return IsoError(text, "bad zone offset");
    }
    if (oh > 23 || om > 59) return IsoError(text, "zone offset out of range");
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return IsoError(text, "unexpected text after the time");
  }
  if (pos != s.size()) return IsoError(text, "unexpected text after the zone");
  if (year < kMinYear || year > kMaxYear) return IsoError(text, "year out of range 1678..2261");
  if (month < 1 || month > 12) return IsoError(text, "month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return IsoError(text, "day out of range");
  if (hour > 23 || minute > 59 || second > 59) return IsoError(text, "time of day out of range");
  int64_t secs =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  __int128 total = static_cast<__int128>(secs) * kNanosPerSecond + nanos;
  if (total > INT64_MAX || total < INT64_MIN) return IsoError(text, "out of range");
  return static_cast<int64_t>(total);
}

Result<int64_t> ParseTimeArg(std::string_view text, int64_t now_ns) {
  std::string lower;
  for (char c : Trim(text)) lower += Lower(c);
  std::string_view s = lower;
  if (s.empty()) return Status::InvalidArgument(std::string("empty time: ").append(kTimeArgForms));
  if (s == "now") return now_ns;

  // Seconds since the epoch.
  {
    size_t pos = 0;
    __int128 billionths;
    if (IsDigit(s[0]) && ReadDecimalBillionths(s, &pos, &billionths) && pos == s.size()) {
      if (billionths > INT64_MAX) {
        return Status::InvalidArgument("time " + Quote(text) + " is out of range");
      }
      return static_cast<int64_t>(billionths);
    }
  }

  // Relative: "<amount> <unit> ... ago".
  if (s.size() > 3 && s.substr(s.size() - 3) == "ago" && IsDigit(s[0])) {
    std::string_view body = Trim(s.substr(0, s.size() - 3));
    size_t pos = 0;
    __int128 total = 0;
    bool ok = true;
    int parts = 0;
    while (pos < body.size()) {
      while (pos < body.size() && (body[pos] == ' ' || body[pos] == ',')) ++pos;
      if (pos >= body.size()) break;
      if (body.substr(pos, 4) == "and ") {
        pos += 4;
        continue;
      }
      __int128 amount;  // in billionths of the unit
      if (!ReadDecimalBillionths(body, &pos, &amount)) {
        ok = false;
        break;
      }
      while (pos < body.size() && body[pos] == ' ') ++pos;
      size_t ustart = pos;
      while (pos < body.size() && body[pos] >= 'a' && body[pos] <= 'z') ++pos;
      int64_t unit = UnitNanos(body.substr(ustart, pos - ustart));
      if (unit == 0) {
        ok = false;
        break;
      }
      // amount (< 2^80 * 10^9) times unit (< 2^50) can overflow even __int128: refuse any amount
      // whose nanoseconds would not fit int64 before multiplying.
      if (amount > static_cast<__int128>(INT64_MAX) * kNanosPerSecond / unit) {
        return Status::InvalidArgument("time " + Quote(text) + " is out of range");
      }
      total += amount * unit / kNanosPerSecond;
      if (total > static_cast<__int128>(INT64_MAX)) {
        ok = false;
        break;
      }
      ++parts;
    }
    if (ok && parts > 0) {
      __int128 t = static_cast<__int128>(now_ns) - total;
      if (t < INT64_MIN) return Status::InvalidArgument("time " + Quote(text) + " is out of range");
      return static_cast<int64_t>(t);
    }
    return Status::InvalidArgument("cannot parse relative time " + Quote(text) + ": " +
                                   std::string(kTimeArgForms));
  }

  Result<int64_t> iso = ParseIso8601(text);
  if (iso.ok()) return iso;
  // A date-time without a zone gets the specific message from ParseIso8601.
  if (iso.status().message().find("has no time zone") != std::string::npos) return iso;
  return Status::InvalidArgument("cannot parse time " + Quote(text) + ": " +
                                 std::string(kTimeArgForms));
}

std::string FormatIso8601(int64_t ns, int fraction_digits) {
  if (fraction_digits < 0) fraction_digits = 0;
  if (fraction_digits > 9) fraction_digits = 9;
  int64_t secs = ns / kNanosPerSecond;
  int64_t sub = ns % kNanosPerSecond;
  if (sub < 0) {
    sub += kNanosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", static_cast<int>(y), m,
                        d, static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                        static_cast<int>(sod % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (fraction_digits > 0) {
    int64_t div = 1;
    for (int i = fraction_digits; i < 9; ++i) div *= 10;
    std::string frac = std::to_string(sub / div);
    out += '.';
    out.append(static_cast<size_t>(fraction_digits) - frac.size(), '0');
    out += frac;
  }
  out += 'Z';
  return out;
}

std::string FormatTimestamp(int64_t ns) {
  int64_t sub = ns % kNanosPerSecond;
  if (sub < 0) sub += kNanosPerSecond;
  return FormatIso8601(ns, sub / 1'000'000 != 0 ? 3 : 0);
}

std::string FormatAmzDate(int64_t ns) {
  std::string iso = FormatIso8601(ns, 0);  // YYYY-MM-DDTHH:MM:SSZ
  std::string out;
  for (char c : iso) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

Result<int64_t> ParseAmzDate(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid X-Amz-Date " + Quote(text) +
                                   ": expected YYYYMMDD'T'HHMMSS'Z', e.g. 20261125T083223Z");
  };
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return bad();
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && !IsDigit(text[i])) return bad();
  }
  std::string iso;
  iso.append(text.substr(0, 4)).append("-").append(text.substr(4, 2)).append("-");
  iso.append(text.substr(6, 2)).append("T").append(text.substr(9, 2)).append(":");
  iso.append(text.substr(11, 2)).append(":").append(text.substr(13, 2)).append("Z");
  Result<int64_t> r = ParseIso8601(iso);
  if (!r.ok()) return bad();
  return r;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace rwd::api
