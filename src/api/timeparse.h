// Time parsing and rendering for the API and the CLI. Times are int64 nanoseconds since the Unix
// epoch, UTC (the unit the store stamps records with). Representable range: years 1678..2261.
//
// What clients send (reference/rds-api.md): both AWS CLIs normalise --backtrack-to to
// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.ffffffZ`; other clients may send an offset.
// What clients accept back: `YYYY-MM-DDTHH:MM:SS[.mmm]Z` is printed cleanly by aws-cli v1 and v2.
//
// Thread safety: all functions are pure (no locale, no TZ environment, no static state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rwd::api {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Parses an ISO 8601 / RFC 3339 timestamp with an explicit zone:
//   YYYY-MM-DD{T|t| }HH:MM:SS[.f{1,9}]{Z|z|±HH:MM|±HHMM|±HH}
// Fractions beyond nanoseconds are an error. A timestamp without a zone is an error (it would be
// ambiguous: Aurora and Rewind run in UTC, so append `Z`).
// Failure: InvalidArgument whose message quotes the input and states the expected format.
Result<int64_t> ParseIso8601(std::string_view text);

// Parses a time as a person types it on the friendly CLI, relative to `now_ns`:
//   - anything ParseIso8601 accepts;
//   - "now";
//   - a relative phrase "<amount> <unit> [<amount> <unit> ...] ago", e.g. "90 seconds ago",
//     "5 minutes ago", "1 hour 30 minutes ago", "2.5m ago", "90s ago". Units: ms, s/sec/second,
//     m/min/minute, h/hr/hour, d/day, w/week (plurals accepted), case-insensitive;
//   - seconds since the epoch, optionally fractional ("1795600800", "1795600800.25").
// Failure: InvalidArgument listing the accepted forms.
Result<int64_t> ParseTimeArg(std::string_view text, int64_t now_ns);

// Renders `ns` as `YYYY-MM-DDTHH:MM:SS[.f]Z` with exactly `fraction_digits` digits (0..9; 0 means
// no fraction and no dot). Digits beyond those kept are truncated (rounded toward the past).
std::string FormatIso8601(int64_t ns, int fraction_digits);

// The API's rendering of timestamps in response XML: milliseconds when the time has a non-zero
// millisecond part (`2026-11-25T10:00:00.123Z`), whole seconds otherwise (`2026-11-25T10:00:00Z`).
std::string FormatTimestamp(int64_t ns);

// SigV4's basic format: `YYYYMMDDTHHMMSSZ` (whole seconds, truncated).
std::string FormatAmzDate(int64_t ns);
// Parses exactly `YYYYMMDDTHHMMSSZ`. Failure: InvalidArgument.
Result<int64_t> ParseAmzDate(std::string_view text);

// Wall clock now, in ns since the epoch.
int64_t NowNs();

}  // namespace rwd::api
