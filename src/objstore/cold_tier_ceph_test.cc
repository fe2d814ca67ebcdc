// ColdTier against the real radosgw of tests/objstore/ceph.sh, under a real store: segments the
// shipper uploaded are evicted locally and read back by ranged GETs (multi-block segments), the
// block cache serves repeated reads, a reopened store reads through a new tier, and a bucket
// object with other bytes or none fails the read (kCorruption / kNotFound), never wrong data.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "objstore/cold_tier.h"
#include "objstore/objstore_testing.h"
#include "objstore/restore.h"
#include "objstore/shipper.h"

namespace rwd::objstore {
namespace {

using testing::CephTest;
using testing::TempDir;

class ColdTierTest : public CephTest {
 protected:
  void OpenStore() {
    store_.reset();
    tier_.reset();
    auto tier = ColdTier::Create(client_.get(), shipper_->store_id());
    ASSERT_TRUE(tier.ok()) << tier.status().ToString();
    tier_ = std::move(*tier);
    store::StoreOptions o;
    o.dir = dir_.string();
    o.segment_bytes = 3 << 20;  // segments of several 1 MiB blocks, the last one partial
    o.tier = tier_.get();
    auto s = store::Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void SetUp() override {
    CephTest::SetUp();
    dir_ = TempDir("cold");
    ShipperSource src;
    src.durable_log = [this] { return testing::ShipperLogOf(*store_); };
    ShipperOptions so;
    so.store_dir = dir_.string();
    so.work_dir = dir_.string();
    so.collect_interval_ms = 0;  // every pass deletes what HEAD made unreachable
    auto sh = Shipper::Create(client_.get(), std::move(src), so);
    ASSERT_TRUE(sh.ok()) << sh.status().ToString();
    shipper_ = std::move(*sh);
    OpenStore();
  }
  void TearDown() override {
    store_.reset();
    tier_.reset();
    shipper_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A volume with one file; `data` written into it from offset 0 in 16 KiB writes.
  void MakeFile() {
    auto v = store_->CreateVolume("vol");
    ASSERT_TRUE(v.ok());
    vol_ = v->id;
    tl_ = v->head;
    auto f = store_->Create(tl_, store::kRootInode, "data", store::NodeType::kFile, 0644);
    ASSERT_TRUE(f.ok());
    ino_ = f->ino;
  }
  void WriteAll(const std::string& data) {
    for (size_t off = 0; off < data.size(); off += 16 << 10) {
      ASSERT_TRUE(store_->Write(tl_, ino_, off, data.substr(off, 16 << 10)).ok());
    }
  }
  std::string ReadAt(store::Lsn lsn, uint64_t size, Status* failed = nullptr) {
    std::string buf(size, '\0');
    auto n = store_->Read(tl_, lsn, ino_, 0, size, buf.data());
    if (!n.ok()) {
      if (failed) *failed = n.status();
      else ADD_FAILURE() << n.status().ToString();
      return {};
    }
    buf.resize(*n);
    return buf;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Shipper> shipper_;
  std::unique_ptr<ColdTier> tier_;
  std::unique_ptr<store::Store> store_;
  store::VolumeId vol_;
  store::TimelineId tl_;
  store::InodeId ino_;
};

TEST_F(ColdTierTest, EvictedSegmentsAreReadBackByCheckedRangedGets) {
  MakeFile();
  const std::string old = RandomBytes(8 << 20, 11);
  WriteAll(old);
  const store::Lsn old_lsn = store_->LastLsn();
  // The head moves on: the old state is history only.
  ASSERT_TRUE(store_->Write(tl_, ino_, 0, RandomBytes(4 << 20, 12)).ok());
  ASSERT_TRUE(store_->Sync().ok());
  ASSERT_TRUE(shipper_->RunOnce().ok()) << shipper_->stats().last_error;

  auto ev = store_->EvictColdSegments(0);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  ASSERT_GE(ev->segments, 2u);
  EXPECT_EQ(0u, ev->deferred) << ev->last_deferral;
  for (const store::LogFileInfo& lf : store_->DurableLogState().closed) {
    EXPECT_TRUE(lf.cold);
    EXPECT_FALSE(std::filesystem::exists(lf.path)) << lf.path;
  }

  EXPECT_TRUE(ReadAt(old_lsn, old.size()) == old);
  const store::SegmentTierStats first = tier_->stats();
  EXPECT_GE(first.cold_reads, 7u);  // about 8 MiB of history in 1 MiB blocks
  EXPECT_GE(first.cold_read_bytes, 7u << 20);
  EXPECT_EQ(0u, first.read_failures);
  EXPECT_TRUE(ReadAt(old_lsn, old.size()) == old);  // again: from the cache
  EXPECT_EQ(first.cold_reads, tier_->stats().cold_reads);
  EXPECT_GT(tier_->stats().cache_hits, first.cache_hits);

  // The uploader keeps shipping with evicted segments (known up), and a reopened store reads
  // its history through a new tier (an empty cache).
  ASSERT_TRUE(shipper_->RunOnce().ok()) << shipper_->stats().last_error;
  OpenStore();
  EXPECT_TRUE(ReadAt(old_lsn, old.size()) == old);
  EXPECT_GT(tier_->stats().cold_reads, 0u);

  // A .crcs missing beside an evicted segment (evicted before .crcs existed) is published
  // again from the local marker by a new uploader, the same bytes a peer reads.
  const store::LogFileInfo cold = store_->DurableLogState().closed.front();
  const std::string id = shipper_->store_id();
  auto published = FetchSegmentCrcs(client_.get(), id, cold.segment, cold.file_id);
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  ASSERT_TRUE(client_->Delete(SegmentCrcsObjectName(id, cold.segment, cold.file_id)).ok());
  auto again = SegmentUploader::Create(client_.get(), dir_.string(), id);
  ASSERT_TRUE(again.ok());
  auto up = (*again)->RunOnce({LocalSegmentFile{cold.segment, cold.file_id, "", cold.size, true}});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE((*again)->Uploaded(cold.segment, cold.file_id));
  auto republished = FetchSegmentCrcs(client_.get(), id, cold.segment, cold.file_id);
  ASSERT_TRUE(republished.ok()) << republished.status().ToString();
  EXPECT_EQ(published->block_crcs, republished->block_crcs);
  EXPECT_EQ(published->crc32c, republished->crc32c);

  // Other bytes under an evicted segment's name: Verify refuses them, reads fail, typed.
  const store::LogFileInfo first_seg = store_->DurableLogState().closed.front();
  const std::string name =
      SegmentObjectName(shipper_->store_id(), first_seg.segment, first_seg.file_id);
  auto orig = client_->Get(name);
  ASSERT_TRUE(orig.ok());
  std::string damaged = *orig;
  damaged[damaged.size() / 2] ^= 0x40;
  ASSERT_TRUE(client_->Put(name, damaged).ok());
  OpenStore();
  Status failed;
  EXPECT_TRUE(ReadAt(old_lsn, old.size(), &failed).empty());
  EXPECT_EQ(Status::Code::kCorruption, failed.code()) << failed.ToString();
  EXPECT_GT(tier_->stats().read_failures, 0u);
  store::ColdFile cf{first_seg.segment, first_seg.file_id, first_seg.size, 0, {}};
  EXPECT_EQ(Status::Code::kFailedPrecondition, tier_->Verify(cf).code());

  ASSERT_TRUE(client_->Delete(name).ok());
  OpenStore();
  failed = Status::Ok();
  EXPECT_TRUE(ReadAt(old_lsn, old.size(), &failed).empty());
  EXPECT_EQ(Status::Code::kNotFound, failed.code()) << failed.ToString();
  EXPECT_EQ(Status::Code::kNotFound, tier_->Verify(cf).code());
}

// The cleaner across tiers: evicted segments the cleaner rewrites (reading them back through the
// tier) are replaced in the bucket too; the old objects go once HEAD names a checkpoint without
// them, and what is left restores the same state.
TEST_F(ColdTierTest, TheCleanerDeletesReplacedObjectsAndNothingReachable) {
  MakeFile();
  const std::string first = RandomBytes(6 << 20, 21), second = RandomBytes(6 << 20, 22);
  for (const std::string* data : {&first, &second}) {
    WriteAll(*data);
    ASSERT_TRUE(store_->Sync().ok());
    ASSERT_TRUE(shipper_->RunOnce().ok()) << shipper_->stats().last_error;
    ASSERT_TRUE(store_->EvictColdSegments(0).ok());
  }
  ASSERT_GT(store_->stats().cold_segments, 1u);
  const std::string root = StoreRootName(shipper_->store_id());
  auto before = client_->ListAll(root + "log/");
  ASSERT_TRUE(before.ok());

  // Backtrack off: the first version is history no state reads any more.
  ASSERT_TRUE(store_->SetRetention(vol_, store_->NowNs()).ok());
  store::CleanOptions co;
  co.min_reclaim_bytes = 0;
  co.max_rewrite_bytes_per_s = 0;
  auto cleaned = store_->Clean(co);
  ASSERT_TRUE(cleaned.ok()) << cleaned.status().ToString();
  ASSERT_GT(cleaned->segments_rewritten, 0u);
  EXPECT_GT(tier_->stats().cold_reads, 0u);  // rewritten from the bucket's copies
  ASSERT_TRUE(shipper_->RunOnce().ok()) << shipper_->stats().last_error;
  EXPECT_GE(shipper_->stats().objects_collected, cleaned->segments_rewritten);

  auto after = client_->ListAll(root + "log/");
  ASSERT_TRUE(after.ok());
  std::set<std::string> left;
  for (const ObjectInfo& o : *after) left.insert(o.key);
  for (const store::LogFileInfo& lf : store_->DurableLogState().closed) {
    EXPECT_EQ(1u, left.count(SegmentObjectName(shipper_->store_id(), lf.segment, lf.file_id)))
        << "segment " << lf.segment << " file " << lf.file_id << " is read and must stay";
    EXPECT_EQ(1u, left.count(SegmentCrcsObjectName(shipper_->store_id(), lf.segment, lf.file_id)));
  }
  size_t gone = 0;
  for (const ObjectInfo& o : *before) gone += left.count(o.key) == 0;
  EXPECT_EQ(2 * cleaned->segments_rewritten, gone);  // each with its .crcs
  EXPECT_TRUE(ReadAt(store::kLatestLsn, second.size()) == second);

  // What is left restores the same head.
  const auto restored = TempDir("cold_restored");
  auto r = RestoreFromBucket(client_.get(), restored.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  store::StoreOptions o;
  o.dir = (restored / "store").string();
  o.segment_bytes = 3 << 20;
  auto back = store::Store::Open(o);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string got(second.size(), '\0');
  ASSERT_TRUE((*back)->Read(tl_, store::kLatestLsn, ino_, 0, got.size(), got.data()).ok());
  EXPECT_TRUE(got == second);
  std::filesystem::remove_all(restored);
}

}  // namespace
}  // namespace rwd::objstore
