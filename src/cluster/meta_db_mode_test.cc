// meta.db and SQLite's side files are private (0600) whatever the umask, and ones an older
// version left readable by others are made private at open.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "cluster/meta_db.h"
#include "common/test_util.h"

namespace rwd::cluster {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(0, ::stat(path.c_str(), &st)) << path;
  return st.st_mode & 07777;
}

TEST(MetaDbFileModes, PrivateWhateverTheUmaskAndWhatExistedBefore) {
  rwd::testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  const mode_t old_umask = ::umask(0);
  {
    auto meta = MetaDb::Open(path);
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    // Open wrote the schema: WAL mode has its -wal and -shm files now.
    EXPECT_EQ(0600u, ModeOf(path));
    EXPECT_EQ(0600u, ModeOf(path + "-wal"));
    EXPECT_EQ(0600u, ModeOf(path + "-shm"));
  }
  ASSERT_EQ(0, ::chmod(path.c_str(), 0644));
  { std::ofstream(path + "-wal", std::ios::app); }
  ASSERT_EQ(0, ::chmod((path + "-wal").c_str(), 0644));
  {
    auto meta = MetaDb::Open(path);
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    EXPECT_EQ(0600u, ModeOf(path));
    EXPECT_EQ(0600u, ModeOf(path + "-wal"));
  }
  ::umask(old_umask);
}

}  // namespace
}  // namespace rwd::cluster
