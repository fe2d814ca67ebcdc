#include "fs/inode_table.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rwd::fs {
namespace {

TEST(FsInodeTableTest, CountsLookupsAndForgets) {
  InodeTable t;
  EXPECT_EQ(t.Count(5), 0u);
  t.Ref(5);
  t.Ref(5, 2);
  t.Ref(7);
  EXPECT_EQ(t.Count(5), 3u);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.Forget(5, 2));
  EXPECT_EQ(t.Count(5), 1u);
  EXPECT_TRUE(t.Forget(5, 1));
  EXPECT_EQ(t.Count(5), 0u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.mismatches(), 0u);
}

TEST(FsInodeTableTest, ForgetMismatchesAreCountedAndClamped) {
  InodeTable t;
  EXPECT_FALSE(t.Forget(9, 1));  // unknown
  t.Ref(9);
  EXPECT_FALSE(t.Forget(9, 2));  // more than looked up
  EXPECT_EQ(t.Count(9), 0u);
  EXPECT_EQ(t.mismatches(), 2u);
}

TEST(FsInodeTableTest, ConcurrentRefForgetBalances) {
  InodeTable t;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&t, i] {
      for (uint64_t k = 0; k < 10000; ++k) {
        t.Ref(k % 17 + i);
        t.Forget(k % 17 + i, 1);
      }
      t.Ref(100 + i, 3);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.mismatches(), 0u);
}

}  // namespace
}  // namespace rwd::fs
