// SegmentUploader: the parts that need no server (names, closed-segment listing, checkpoint
// parsing on a checkpoint written by the real store), and, in the Ceph binary, whole passes
// against the real radosgw of tests/objstore/ceph.sh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "objstore/objstore_testing.h"
#include "objstore/segment_uploader.h"
#include "store/store.h"

namespace rwd::objstore {
namespace {

using Code = Status::Code;
namespace fs = std::filesystem;
using testing::ReadFile;
using testing::SmallStore;
using testing::TempDir;

TEST(SegmentUploaderNames, Layout) {
  const std::string id = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ("rewind/v1/stores/0123456789abcdef0123456789abcdef/", StoreRootName(id));
  EXPECT_EQ(StoreRootName(id) + "log/00000007-0000000007.seg", SegmentObjectName(id, 7, 7));
  EXPECT_EQ(StoreRootName(id) + "log/00000007-2147483650.seg",
            SegmentObjectName(id, 7, 2147483650u));
  EXPECT_EQ(StoreRootName(id) + "ckpt/00000000000000012345.ckpt", CheckpointObjectName(id, 12345));
}

TEST(SegmentUploaderNames, ClosedSegmentsAreAllButTheNewest) {
  const fs::path dir = TempDir("closed");
  for (const char* name : {"00000001.seg", "00000002.seg", "00000002-2147483648.seg",
                           "00000003.seg", "00000004.prep", "00000003.seg.tmp", "junk",
                           "0000003.seg", "00000000.seg"}) {
    std::ofstream(dir / name) << "x";
  }
  auto files = ClosedSegmentFiles(dir.string());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(3u, files->size());
  EXPECT_EQ(1u, (*files)[0].segment);
  EXPECT_EQ(1u, (*files)[0].file_id);
  EXPECT_EQ(2u, (*files)[1].segment);
  EXPECT_EQ(2u, (*files)[1].file_id);
  EXPECT_EQ(2u, (*files)[2].segment);
  EXPECT_EQ(2147483648u, (*files)[2].file_id);
  EXPECT_EQ((dir / "00000002-2147483648.seg").string(), (*files)[2].path);

  auto none = ClosedSegmentFiles((dir / "missing").string());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  fs::remove_all(dir);
}

TEST(SegmentUploaderNames, ParsesTheStoresCheckpoint) {
  const fs::path dir = TempDir("ckpt");
  {
    SmallStore s(dir);
    s.Grow(1 << 20, 1);
  }  // closing the store writes its last checkpoint
  const std::string bytes = ReadFile(dir / "index.ckpt");
  auto c = ParseCheckpoint(bytes);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto closed = ClosedSegmentFiles((dir / "log").string());
  ASSERT_TRUE(closed.ok());
  ASSERT_GE(closed->size(), 3u);
  // It names every segment, the closed ones and its own position's.
  EXPECT_EQ(closed->size() + 1, c->segment_files.size());
  EXPECT_EQ(closed->back().segment + 1, c->segment);
  EXPECT_GT(c->last_lsn, 64u);

  std::string bad = bytes;
  bad[bad.size() / 2] ^= 1;
  EXPECT_EQ(Code::kCorruption, ParseCheckpoint(bad).status().code());
  EXPECT_EQ(Code::kCorruption, ParseCheckpoint(bytes.substr(0, 40)).status().code());
  EXPECT_EQ(Code::kCorruption, ParseCheckpoint("RWNDSEG1" + bytes.substr(8)).status().code());
  fs::remove_all(dir);
}

TEST(SegmentUploaderNames, CreateRefusesBadIds) {
  auto cfg = MakeS3Config("s3://bucket", "http://127.0.0.1:9", "");
  ASSERT_TRUE(cfg.ok());
  auto client = S3Client::Create(*cfg, Credentials{"AKID", "secret", "", "test"});
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(Code::kInvalidArgument,
            SegmentUploader::Create(client->get(), "/tmp/x", "ABC").status().code());
  EXPECT_EQ(Code::kInvalidArgument,
            SegmentUploader::Create(client->get(), "/tmp/x",
                                    "0123456789ABCDEF0123456789abcdef")
                .status()
                .code());
  EXPECT_EQ(Code::kInvalidArgument,
            SegmentUploader::Create(nullptr, "/tmp/x", "0123456789abcdef0123456789abcdef")
                .status()
                .code());
}

}  // namespace
}  // namespace rwd::objstore
