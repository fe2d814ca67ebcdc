// libFuzzer target for timestamp parsing and formatting (timeparse.h). Built with REWIND_FUZZ.
//
// Checked on every input:
//   - ParseIso8601, ParseTimeArg and ParseAmzDate never crash, never throw, and fail only with
//     InvalidArgument;
//   - what ParseIso8601 accepts, FormatIso8601(t, 9) renders as text that parses back to t, and
//     ParseTimeArg accepts it too with the same value (its documented superset);
//   - what ParseAmzDate accepts is a whole second, and FormatAmzDate gives the same text back;
// and, from integers drawn from the input (FuzzedDataProvider):
//   - FormatIso8601(x, 9) parses back to x for every x in the representable years 1678..2261,
//     also when rewritten with a zone offset (local time + offset);
//   - FormatIso8601(x, d) parses back to x truncated toward the past to d fraction digits;
//   - FormatAmzDate(x) parses back to x rounded down to the second;
//   - ParseTimeArg: "now", "<n> <unit> ago" and "<seconds>[.fraction]" give exact values.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "api/timeparse.h"

namespace rwd::api {
namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "timeparse_fuzz: property violated: %s %s\n", what, detail.c_str());
  std::abort();
}

void Check(bool cond, const char* what, const std::string& detail = {}) {
  if (!cond) Fail(what, detail);
}

void CheckError(const Result<int64_t>& r, const char* what) {
  if (!r.ok()) {
    Check(r.status().code() == Status::Code::kInvalidArgument, what, r.status().ToString());
  }
}

int64_t FloorTo(int64_t x, int64_t unit) {
  int64_t q = x / unit;
  if (x % unit < 0) --q;
  return q * unit;
}

// First and last instants of the years ParseIso8601 accepts.
int64_t MinParsable() { return *ParseIso8601("1678-01-01T00:00:00Z"); }
int64_t MaxParsable() { return *ParseIso8601("2261-12-31T23:59:59.999999999Z"); }

void CheckText(std::string_view text, int64_t now) {
  Result<int64_t> iso = ParseIso8601(text);
  CheckError(iso, "ParseIso8601: wrong error code");
  if (iso.ok()) {
    std::string again = FormatIso8601(*iso, 9);
    Result<int64_t> back = ParseIso8601(again);
    Check(back.ok() && *back == *iso, "Format(Parse(s)) does not parse back", again);
    Result<int64_t> arg = ParseTimeArg(text, now);
    Check(arg.ok() && *arg == *iso, "ParseTimeArg disagrees with ParseIso8601");
  }
  Result<int64_t> arg = ParseTimeArg(text, now);
  CheckError(arg, "ParseTimeArg: wrong error code");

  Result<int64_t> amz = ParseAmzDate(text);
  CheckError(amz, "ParseAmzDate: wrong error code");
  if (amz.ok()) {
    Check(*amz % kNanosPerSecond == 0, "ParseAmzDate gave a fraction of a second");
    Check(FormatAmzDate(*amz) == text, "FormatAmzDate(ParseAmzDate(s)) != s");
  }
}

void CheckValues(FuzzedDataProvider& in) {
  static const int64_t kMin = MinParsable();
  static const int64_t kMax = MaxParsable();
  const int64_t x = in.ConsumeIntegralInRange<int64_t>(kMin, kMax);
  const int digits = in.ConsumeIntegralInRange<int>(0, 9);
  const int64_t now = in.ConsumeIntegral<int64_t>();

  // Exact round trip with all nine digits.
  std::string full = FormatIso8601(x, 9);
  Result<int64_t> back = ParseIso8601(full);
  Check(back.ok() && *back == x, "ParseIso8601(FormatIso8601(x, 9)) != x", full);

  // Fewer digits truncate toward the past.
  int64_t unit = 1;
  for (int i = digits; i < 9; ++i) unit *= 10;
  std::string shorter = FormatIso8601(x, digits);
  back = ParseIso8601(shorter);
  Check(back.ok() && *back == FloorTo(x, unit), "FormatIso8601(x, d) is not x truncated", shorter);

  // The same instant written as local time with an offset.
  const int offset_min = in.ConsumeIntegralInRange<int>(-(23 * 60 + 59), 23 * 60 + 59);
  const int64_t local = x + int64_t{offset_min} * 60 * kNanosPerSecond;
  if (local >= kMin && local <= kMax) {
    std::string text = FormatIso8601(local, 9);
    text.pop_back();  // 'Z'
    char zone[16];
    const int a = offset_min < 0 ? -offset_min : offset_min;
    const bool colon = in.ConsumeBool();
    std::snprintf(zone, sizeof(zone), colon ? "%c%02d:%02d" : "%c%02d%02d",
                  offset_min < 0 ? '-' : '+', a / 60, a % 60);
    text += zone;
    back = ParseIso8601(text);
    Check(back.ok() && *back == x, "a zone offset is not applied exactly", text);
  }

  // SigV4's basic format.
  std::string amz = FormatAmzDate(x);
  back = ParseAmzDate(amz);
  Check(back.ok() && *back == FloorTo(x, kNanosPerSecond), "ParseAmzDate(FormatAmzDate(x))", amz);

  // The friendly CLI's forms.
  back = ParseTimeArg("  NoW ", now);
  Check(back.ok() && *back == now, "\"now\" is not now");
  const auto secs = in.ConsumeIntegralInRange<int64_t>(0, INT64_MAX / kNanosPerSecond);
  const auto frac = in.ConsumeIntegralInRange<int64_t>(0, kNanosPerSecond - 1);
  std::string frac_text = std::to_string(frac);
  frac_text = std::string(9 - frac_text.size(), '0') + frac_text;
  const int64_t epoch = secs * kNanosPerSecond + frac;
  back = ParseTimeArg(std::to_string(secs) + "." + frac_text, now);
  Check(back.ok() && *back == epoch, "epoch seconds with a fraction");
  const auto amount = in.ConsumeIntegralInRange<int64_t>(0, 100'000);
  static constexpr struct {
    const char* name;
    int64_t ns;
  } kUnits[] = {{"ms", 1'000'000},           {"seconds", kNanosPerSecond},
                {"min", 60 * kNanosPerSecond}, {"hours", 3600 * kNanosPerSecond},
                {"d", 86400 * kNanosPerSecond}, {"weeks", 7 * 86400 * kNanosPerSecond}};
  const auto& u = kUnits[in.ConsumeIntegralInRange<size_t>(0, std::size(kUnits) - 1)];
  const __int128 total = static_cast<__int128>(amount) * u.ns;
  const __int128 expected = static_cast<__int128>(now) - total;
  back = ParseTimeArg(std::to_string(amount) + " " + u.name + " ago", now);
  if (total <= INT64_MAX && expected >= INT64_MIN) {
    Check(back.ok() && *back == static_cast<int64_t>(expected), "relative time",
          std::to_string(amount) + " " + u.name);
  } else {
    Check(!back.ok(), "an out-of-range relative time was accepted");
  }
}

}  // namespace
}  // namespace rwd::api

// Input: one mode byte, then the data. Even: the rest is a text to parse (with `now` fixed at
// 2026-11-25T10:00:00Z). Odd: the rest feeds CheckValues.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  try {
    if (data[0] % 2 == 0) {
      constexpr int64_t kNow = 1'795'600'800 * rwd::api::kNanosPerSecond;
      rwd::api::CheckText(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1),
                          kNow);
    } else {
      FuzzedDataProvider in(data + 1, size - 1);
      rwd::api::CheckValues(in);
    }
  } catch (const std::exception& e) {
    rwd::api::Fail("exception escaped the time parser:", e.what());
  }
  return 0;
}
