#include "api/timeparse.h"

#include <gtest/gtest.h>

#include <string>

namespace rwd::api {
namespace {

constexpr int64_t kS = kNanosPerSecond;
constexpr int64_t kT = 1795600800LL * kS;  // 2026-11-25T10:00:00Z (reference/rds-api.md)

int64_t MustParse(std::string_view s) {
  Result<int64_t> r = ParseIso8601(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : 0;
}

TEST(ApiParseIso8601, FormsTheClisSend) {
  EXPECT_EQ(kT, MustParse("2026-11-25T10:00:00Z"));
  EXPECT_EQ(kT + 250'000'000, MustParse("2026-11-25T10:00:00.250000Z"));
  EXPECT_EQ(kT + 123'000'000, MustParse("2026-11-25T10:00:00.123Z"));
  EXPECT_EQ(kT + 1, MustParse("2026-11-25T10:00:00.000000001Z"));
  EXPECT_EQ(kT, MustParse("2026-11-25T12:00:00+02:00"));
  EXPECT_EQ(kT, MustParse("2026-11-25T10:00:00+00:00"));
  EXPECT_EQ(kT, MustParse("2026-11-25T05:30:00-0430"));
  EXPECT_EQ(kT, MustParse("2026-11-25T11:00:00+01"));
  EXPECT_EQ(kT, MustParse("2026-11-25 10:00:00Z"));  // mysql's current_timestamp() + Z
  EXPECT_EQ(kT, MustParse("2026-11-25t10:00:00z"));
  EXPECT_EQ(0, MustParse("1970-01-01T00:00:00Z"));
  EXPECT_EQ(-kS, MustParse("1969-12-31T23:59:59Z"));
  EXPECT_EQ(951782400LL * kS, MustParse("2000-02-29T00:00:00Z"));
}

TEST(ApiParseIso8601, ErrorsSayWhatIsExpected) {
  for (const char* bad :
       {"", "yesterday", "2026-11-25", "2026-11-25T10:00Z", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T10:60:00Z",
        "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00.1234567891Z", "2026-11-25T10:00:00Zjunk",
        "2026-11-25T10:00:00+2:00", "3000-01-01T00:00:00Z", "1795600800"}) {
    Result<int64_t> r = ParseIso8601(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
    EXPECT_NE(std::string::npos, r.status().message().find("2026-11-25T10:00:00Z")) << bad;
  }
  Result<int64_t> naive = ParseIso8601("2026-11-25T10:00:00");
  ASSERT_FALSE(naive.ok());
  EXPECT_NE(std::string::npos, naive.status().message().find("no time zone"));
}

TEST(ApiParseTimeArg, RelativeAndSpecial) {
  const int64_t now = kT + 777;
  EXPECT_EQ(now, *ParseTimeArg("now", now));
  EXPECT_EQ(now, *ParseTimeArg("  NOW ", now));
  EXPECT_EQ(now - 90 * kS, *ParseTimeArg("90 seconds ago", now));
  EXPECT_EQ(now - 5 * 60 * kS, *ParseTimeArg("5 minutes ago", now));
  EXPECT_EQ(now - 60 * kS, *ParseTimeArg("1 minute ago", now));
  EXPECT_EQ(now - 90 * kS, *ParseTimeArg("90s ago", now));
  EXPECT_EQ(now - 150 * kS, *ParseTimeArg("2.5m ago", now));
  EXPECT_EQ(now - 5400 * kS, *ParseTimeArg("1h30m ago", now));
  EXPECT_EQ(now - 5400 * kS, *ParseTimeArg("1 hour and 30 minutes ago", now));
  EXPECT_EQ(now - 2 * 86400 * kS, *ParseTimeArg("2 Days Ago", now));
  EXPECT_EQ(now - 500'000'000, *ParseTimeArg("500ms ago", now));
  EXPECT_EQ(kT, *ParseTimeArg("2026-11-25T10:00:00Z", now));
  EXPECT_EQ(kT, *ParseTimeArg("1795600800", now));
  EXPECT_EQ(kT + 250'000'000, *ParseTimeArg("1795600800.25", now));
}

TEST(ApiParseTimeArg, Errors) {
  for (const char* bad : {"", "soon", "5 parsecs ago", "ago", "5 minutes", "minutes ago",
                          "5 minutes from now", "2026-11-25"}) {
    Result<int64_t> r = ParseTimeArg(bad, kT);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
    EXPECT_NE(std::string::npos, r.status().message().find("5 minutes ago")) << bad;
  }
  Result<int64_t> naive = ParseTimeArg("2026-11-25 10:00:00", kT);
  ASSERT_FALSE(naive.ok());
  EXPECT_NE(std::string::npos, naive.status().message().find("append Z"));
}

// Found by timeparse_fuzz: an amount just under the 2^80 cap times a week overflowed __int128
// (undefined behaviour) before the range check.
TEST(ApiParseTimeArg, HugeRelativeAmountsAreOutOfRange) {
  for (const char* huge : {"1000000000000000000000000 weeks ago", "1208925819614629174706175 w ago",
                           "1000000000000000000000000.5 days ago", "10000000000000000000 s ago",
                           "1 s 9223372036 s ago"}) {
    Result<int64_t> r = ParseTimeArg(huge, kT);
    ASSERT_FALSE(r.ok()) << huge;
    EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code()) << huge;
  }
  // The largest amounts that fit still work.
  EXPECT_EQ(kT - 9'223'372'036LL * kS, *ParseTimeArg("9223372036 seconds ago", kT));
  EXPECT_EQ(kT - 15'250LL * 7 * 86400 * kS, *ParseTimeArg("15250 weeks ago", kT));
}

TEST(ApiFormatTime, Renderings) {
  EXPECT_EQ("2026-11-25T10:00:00Z", FormatTimestamp(kT));
  EXPECT_EQ("2026-11-25T10:00:00.123Z", FormatTimestamp(kT + 123'456'789));
  EXPECT_EQ("2026-11-25T10:00:00Z", FormatTimestamp(kT + 999'999));  // sub-ms: whole seconds
  EXPECT_EQ("2026-11-25T10:00:00.001Z", FormatTimestamp(kT + 1'000'000));
  EXPECT_EQ("2026-11-25T10:00:00.123456Z", FormatIso8601(kT + 123'456'789, 6));
  EXPECT_EQ("2026-11-25T10:00:00.123456789Z", FormatIso8601(kT + 123'456'789, 9));
  EXPECT_EQ("2026-11-25T10:00:00.000Z", FormatIso8601(kT, 3));
  EXPECT_EQ("1969-12-31T23:59:59.500Z", FormatIso8601(-500'000'000, 3));
  EXPECT_EQ("1970-01-01T00:00:00Z", FormatIso8601(0, 0));
  EXPECT_EQ("20261125T100000Z", FormatAmzDate(kT + 999'999'999));
  EXPECT_EQ(kT, *ParseAmzDate("20261125T100000Z"));
  EXPECT_FALSE(ParseAmzDate("2026-11-25T10:00:00Z").ok());
  EXPECT_FALSE(ParseAmzDate("20261325T100000Z").ok());
}

TEST(ApiFormatTime, RoundTrips) {
  for (int64_t t : {int64_t{0}, kT, kT + 1, kT + 123'456'789, int64_t{-1}, int64_t{4102444800} * kS,
                    int64_t{951782400} * kS + 86399 * kS}) {
    EXPECT_EQ(t, *ParseIso8601(FormatIso8601(t, 9))) << t;
    Result<int64_t> back = ParseIso8601(FormatTimestamp(t));
    ASSERT_TRUE(back.ok());
    int64_t ms = t / 1'000'000 * 1'000'000;
    if (t < 0 && t % 1'000'000 != 0) ms -= 1'000'000;
    EXPECT_EQ(ms, *back) << t;
  }
}

}  // namespace
}  // namespace rwd::api
