#include "cli/activity_view.h"

#include <gtest/gtest.h>

namespace rwd::cli {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kT0 = 1'800'000'000 * kS;  // 2027-01-15T08:00:00Z

TEST(ActivityView, ParsesSteps) {
  EXPECT_EQ(1, ParseStep("1s").value());
  EXPECT_EQ(10, ParseStep("10").value());
  EXPECT_EQ(60, ParseStep("1m").value());
  EXPECT_EQ(7200, ParseStep("2h").value());
  EXPECT_EQ(86400, ParseStep("1d").value());
  for (const char* bad : {"", "0s", "1.5s", "m", "1w", "-1m", "10 s", "9999999999s"}) {
    auto r = ParseStep(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("1s, 10s, 1m"), std::string::npos);
  }
  EXPECT_EQ("1s", FormatStep(1));
  EXPECT_EQ("90s", FormatStep(90));
  EXPECT_EQ("5m", FormatStep(300));
  EXPECT_EQ("1d", FormatStep(86400));
}

TEST(ActivityView, JsonAndTable) {
  std::vector<ActivitySample> s = {{kT0, 100, 2}, {kT0 + 10 * kS, 0, 0}};
  EXPECT_EQ(
      "[{\"time\":\"2027-01-15T08:00:00Z\",\"bytes\":100,\"records\":2},"
      "{\"time\":\"2027-01-15T08:00:10Z\",\"bytes\":0,\"records\":0}]\n",
      ActivityJson(s));
  EXPECT_EQ("[]\n", ActivityJson({}));
  const std::string t = ActivityTable(s);
  EXPECT_NE(t.find("2027-01-15T08:00:00Z   100          2\n"), std::string::npos) << t;
}

TEST(ActivityView, SparklineScalesAndMarks) {
  std::vector<ActivitySample> s = {{kT0, 700, 1}, {kT0 + 1 * kS, 100, 1}, {kT0 + 2 * kS, 0, 1},
                                   {kT0 + 3 * kS, 0, 0}};
  const std::string out = Sparkline(s, kT0, kT0 + 4 * kS, 4, {{kT0 + 3 * kS, 'B'}});
  // 700 is the top (█), 100 on a log scale 1 + floor(6 ln 100 / ln 700) = 5 (▆), a change
  // without bytes the lowest block, nothing a space; the backtrack under the fourth column.
  EXPECT_EQ(
      "\u2588\u2586\u2581 \n"
      "   B\n"
      "2027-01-15T08:00:00Z .. 2027-01-15T08:00:04Z\n",
      out);
  // Columns sum several samples; marks outside the axis are dropped.
  const std::string two = Sparkline(s, kT0, kT0 + 4 * kS, 2, {{kT0 - kS, 'B'}});
  // 800 | 0 bytes (one change).
  EXPECT_EQ(0u, two.find("\u2588\u2581\n\n"));
}

}  // namespace
}  // namespace rwd::cli
