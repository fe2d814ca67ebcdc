// SegmentUploader against the real radosgw of tests/objstore/ceph.sh: a real store's closed
// segments and checkpoint go up once, byte for byte, and never twice.
#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "objstore/cold_tier.h"
#include "objstore/objstore_testing.h"
#include "objstore/segment_uploader.h"

namespace rwd::objstore {
namespace {

using Code = Status::Code;
using testing::CephTest;
using testing::ReadFile;
using testing::SmallStore;
using testing::TempDir;

constexpr const char* kStoreId = "5eed0000000000000000000000000001";

TEST_F(CephTest, UploaderSendsEachClosedSegmentAndCheckpointOnce) {
  const auto dir = TempDir("uploader");
  SmallStore s(dir);
  s.Grow(1 << 20, 1);  // 256 KiB segments: several closed

  auto up = SegmentUploader::Create(client_.get(), dir.string(), kStoreId);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  auto r1 = (*up)->RunOnce();
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  auto closed = ClosedSegmentFiles((dir / "log").string());
  ASSERT_TRUE(closed.ok());
  ASSERT_GE(closed->size(), 3u);
  EXPECT_FALSE(r1->checkpoint_deferred);
  // store.json, the segments and their .crcs, the checkpoint
  EXPECT_EQ(2 * closed->size() + 2, r1->uploaded);
  EXPECT_EQ(0u, r1->already_there);

  // Byte for byte, with the CRC and size in the metadata.
  for (const LocalSegmentFile& f : *closed) {
    const std::string name = SegmentObjectName(kStoreId, f.segment, f.file_id);
    auto got = client_->Get(name);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status().ToString();
    EXPECT_TRUE(ReadFile(f.path) == *got) << name;
    auto head = client_->Head(name);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(std::to_string(head->size), head->metadata["rewind-size"]);
    EXPECT_EQ(8u, head->metadata["rewind-crc32c"].size());
    // Its block checksums beside it, as a peer reads them.
    auto crcs = FetchSegmentCrcs(client_.get(), kStoreId, f.segment, f.file_id);
    ASSERT_TRUE(crcs.ok()) << crcs.status().ToString();
    EXPECT_EQ(got->size(), crcs->size);
    EXPECT_EQ(head->metadata["rewind-crc32c"], Crc32cHex(crcs->crc32c));
    ASSERT_EQ((got->size() + store::kColdBlockBytes - 1) / store::kColdBlockBytes,
              crcs->block_crcs.size());
    EXPECT_EQ(crc32c::Value(got->data(), std::min<size_t>(got->size(), store::kColdBlockBytes)),
              crcs->block_crcs[0]);
  }
  const std::string ckpt = ReadFile(dir / "index.ckpt");
  auto summary = ParseCheckpoint(ckpt);
  ASSERT_TRUE(summary.ok());
  auto ckpt_got = client_->Get(CheckpointObjectName(kStoreId, summary->last_lsn));
  ASSERT_TRUE(ckpt_got.ok()) << ckpt_got.status().ToString();
  EXPECT_TRUE(ckpt == *ckpt_got);

  // Again: nothing to send (the same uploader remembers; a new one finds it all there).
  auto r2 = (*up)->RunOnce();
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(0u, r2->uploaded);
  auto fresh = SegmentUploader::Create(client_.get(), dir.string(), kStoreId);
  ASSERT_TRUE(fresh.ok());
  auto r3 = (*fresh)->RunOnce();
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  EXPECT_EQ(0u, r3->uploaded);
  EXPECT_EQ(2 * closed->size() + 2, r3->already_there);

  // More log: only the new closed segments and the new checkpoint go up.
  s.Grow(512 << 10, 2);
  auto closed2 = ClosedSegmentFiles((dir / "log").string());
  ASSERT_TRUE(closed2.ok());
  ASSERT_GT(closed2->size(), closed->size());
  auto r4 = (*up)->RunOnce();
  ASSERT_TRUE(r4.ok()) << r4.status().ToString();
  EXPECT_EQ(2 * (closed2->size() - closed->size()) + 1, r4->uploaded);

  auto listed = client_->ListAll(StoreRootName(kStoreId) + "log/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(2 * closed2->size(), listed->size());
  auto ckpts = client_->ListAll(StoreRootName(kStoreId) + "ckpt/");
  ASSERT_TRUE(ckpts.ok());
  EXPECT_EQ(2u, ckpts->size());
  s.store.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(CephTest, UploaderNeverOverwritesOtherBytes) {
  // Two different stores claiming one id: the second's segment 1 differs from the first's.
  const auto a = TempDir("uploader_a"), b = TempDir("uploader_b");
  SmallStore sa(a), sb(b);
  sa.Grow(512 << 10, 3);
  sb.Grow(512 << 10, 4);
  auto ua = SegmentUploader::Create(client_.get(), a.string(), kStoreId);
  auto ub = SegmentUploader::Create(client_.get(), b.string(), kStoreId);
  ASSERT_TRUE(ua.ok() && ub.ok());
  ASSERT_TRUE((*ua)->RunOnce().ok());
  auto r = (*ub)->RunOnce();
  EXPECT_EQ(Code::kFailedPrecondition, r.status().code()) << r.status().ToString();
  EXPECT_NE(std::string::npos, r.status().message().find("not overwritten"));
  // The first store's segment is intact.
  auto got = client_->Get(SegmentObjectName(kStoreId, 1, 1));
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(ReadFile(a / "log" / "00000001.seg") == *got);

  sa.store.reset();
  sb.store.reset();
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
}

TEST_F(CephTest, SegmentCrcsOfAnOlderUploadAreComputedAndChecked) {
  // A segment uploaded without .crcs (an older rewindd): the peer computes them from one GET,
  // checked against the object's metadata; a lying metadata CRC or no object is refused.
  const auto dir = TempDir("uploader_crcs");
  SmallStore s(dir);
  s.Grow(1 << 20, 6);
  const std::string id = "5eed0000000000000000000000000002";
  auto up = SegmentUploader::Create(client_.get(), dir.string(), id);
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->RunOnce().ok());
  auto published = FetchSegmentCrcs(client_.get(), id, 1, 1);
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  ASSERT_TRUE(client_->Delete(SegmentCrcsObjectName(id, 1, 1)).ok());
  auto computed = FetchSegmentCrcs(client_.get(), id, 1, 1);
  ASSERT_TRUE(computed.ok()) << computed.status().ToString();
  EXPECT_EQ(published->size, computed->size);
  EXPECT_EQ(published->crc32c, computed->crc32c);
  EXPECT_EQ(published->block_crcs, computed->block_crcs);

  const std::string seg = ReadFile(dir / "log" / "00000001.seg");
  ASSERT_TRUE(client_->Put(SegmentObjectName(id, 1, 1), seg, IntegrityMetadata(0x1234, seg.size()))
                  .ok());
  EXPECT_EQ(Code::kCorruption, FetchSegmentCrcs(client_.get(), id, 1, 1).status().code());
  ASSERT_TRUE(client_->Put(SegmentCrcsObjectName(id, 1, 1), "not a marker").ok());
  EXPECT_EQ(Code::kCorruption, FetchSegmentCrcs(client_.get(), id, 1, 1).status().code());
  EXPECT_EQ(Code::kNotFound, FetchSegmentCrcs(client_.get(), id, 9999, 9999).status().code());
  s.store.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(CephTest, UploaderReportsAnUnreachableStore) {
  const auto dir = TempDir("uploader_down");
  SmallStore s(dir);
  s.Grow(512 << 10, 5);
  S3Config cfg = config_;
  cfg.endpoint = "http://127.0.0.1:9";
  cfg.retry.max_attempts = 2;
  cfg.retry.base_delay = std::chrono::milliseconds(1);
  auto down = MakeClient(cfg, GoodCredentials());
  auto up = SegmentUploader::Create(down.get(), dir.string(), kStoreId);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(Code::kUnavailable, (*up)->RunOnce().status().code());
  s.store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rwd::objstore
