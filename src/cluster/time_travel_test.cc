#include "cluster/time_travel.h"

#include <gtest/gtest.h>

namespace rwd::cluster {
namespace {

TEST(ParseTableName, PlainAndQuotedNames) {
  auto t = ParseTableName("mylab.sbtest1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->first, "mylab");
  EXPECT_EQ(t->second, "sbtest1");
  t = ParseTableName("`my.db`.`odd``name`");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->first, "my.db");
  EXPECT_EQ(t->second, "odd`name");
  t = ParseTableName("db.`with space`");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->second, "with space");
}

TEST(ParseTableName, RefusalsSayWhatToFix) {
  for (const char* bad : {"", "sbtest1", "a.b.c", ".t", "db.", "db.t-1", "db.`open", "db.t;drop",
                          "`a`b.t"}) {
    auto t = ParseTableName(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(ErrorKindOf(t.status()), ClusterError::kInvalidParameter) << bad;
    std::optional<RefusalDetail> d = RefusalOf(t.status());
    ASSERT_TRUE(d) << bad;
    EXPECT_EQ(Field::kTable, d->field) << bad;
    EXPECT_TRUE(d->reason == Reason::kTableNameCharacters ||
                d->reason == Reason::kTableNameUnclosed || d->reason == Reason::kTableNameShape)
        << bad << ": " << t.status().message();
    EXPECT_EQ(bad, d->input);
  }
  auto t = ParseTableName("db." + std::string(65, 'x'));
  ASSERT_FALSE(t.ok());
  std::optional<RefusalDetail> d = RefusalOf(t.status());
  ASSERT_TRUE(d);
  EXPECT_EQ(Reason::kTableNamePartLength, d->reason);
  EXPECT_EQ(64, d->number);
}

}  // namespace
}  // namespace rwd::cluster
