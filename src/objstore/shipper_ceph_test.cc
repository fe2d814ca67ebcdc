// Shipper and RestoreFromBucket against the real radosgw of tests/objstore/ceph.sh, on a real
// store: the durable log goes up (closed segments whole, the active one as tail chunks), HEAD
// follows, a new shipper resumes where the last stopped, and a restored store reads the same.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "objstore/objstore_testing.h"
#include "objstore/restore.h"
#include "objstore/shipper.h"

namespace rwd::objstore {
namespace {

using testing::CephTest;
using testing::ReadFile;
using testing::SmallStore;
using testing::TempDir;

LogSnapshot Snapshot(const store::Store& s) {
  store::DurableLog d = s.DurableLogState();
  LogSnapshot snap{d.lsn.value, d.segment, d.offset, d.active_segment, d.active_path, {}};
  for (const store::LogFileInfo& f : d.closed) {
    snap.closed.push_back(LocalSegmentFile{f.segment, f.file_id, f.path, f.size});
  }
  return snap;
}

std::unique_ptr<Shipper> MakeShipper(S3Client* client, const store::Store* s,
                                     const std::filesystem::path& dir) {
  ShipperSource src;
  src.durable_log = [s] { return Snapshot(*s); };
  ShipperOptions o;
  o.store_dir = dir.string();
  o.work_dir = dir.string();
  o.max_tail_chunk = 100 << 10;  // several chunks per pass
  auto made = Shipper::Create(client, std::move(src), o);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? std::move(*made) : nullptr;
}

TEST_F(CephTest, ShipperShipsTheDurableLogAndRestoreBringsItBack) {
  const auto dir = TempDir("shipper");
  SmallStore s(dir);
  s.Grow(700 << 10, 7);  // 256 KiB segments: two closed, and a checkpoint
  // More after the checkpoint, synced: durable bytes only the tail holds.
  ASSERT_TRUE(s.store->Write(s.tl, s.ino, s.offset, std::string(5000, 'q')).ok());
  ASSERT_TRUE(s.store->Sync().ok());

  auto sh = MakeShipper(client_.get(), s.store.get(), dir);
  ASSERT_NE(nullptr, sh);
  ASSERT_TRUE(sh->RunOnce().ok());
  const LogSnapshot snap = Snapshot(*s.store);
  ShipperStats st = sh->stats();
  EXPECT_EQ(snap.lsn, st.shipped_lsn);
  EXPECT_EQ(0.0, st.lag_seconds);
  EXPECT_EQ(0u, st.lag_bytes);
  EXPECT_FALSE(st.down);

  const std::string root = StoreRootName(sh->store_id());
  auto head_text = client_->Get(root + "HEAD");
  ASSERT_TRUE(head_text.ok()) << head_text.status().ToString();
  auto head = nlohmann::json::parse(*head_text);
  EXPECT_EQ(snap.lsn, head["lsn"].get<uint64_t>());
  EXPECT_EQ(snap.offset, head["offset"].get<uint64_t>());
  EXPECT_TRUE(head["checkpoint"].is_string());
  // Closed segments whole (without trailing zeros), the active one's durable bytes as tails.
  for (const LocalSegmentFile& f : snap.closed) {
    auto got = client_->Get(SegmentObjectName(sh->store_id(), f.segment, f.file_id));
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(ReadFile(f.path).substr(0, f.size) == *got);
  }
  auto tails = client_->ListAll(root + "tail/");
  ASSERT_TRUE(tails.ok());
  EXPECT_GE(tails->size(), 2u);

  // Durable bytes that are not shipped yet are the lag.
  ASSERT_TRUE(s.store->Write(s.tl, s.ino, s.offset + 5000, std::string(3000, 'r')).ok());
  ASSERT_TRUE(s.store->Sync().ok());
  st = sh->stats();
  EXPECT_GT(st.lag_bytes, 3000u);
  EXPECT_GT(st.lag_seconds, 0.0);

  // A new shipper (a restart) resumes after the chunks that are there, sending only the rest.
  sh.reset();
  auto again = MakeShipper(client_.get(), s.store.get(), dir);
  ASSERT_NE(nullptr, again);
  ASSERT_TRUE(again->RunOnce().ok()) << again->stats().last_error;
  st = again->stats();
  EXPECT_EQ(Snapshot(*s.store).lsn, st.shipped_lsn);
  EXPECT_LT(st.bytes_uploaded, 10000u);  // the new tail chunk, not the log again

  // The segment rolls: its tail chunks go once it is up whole.
  s.Grow(300 << 10, 8);
  ASSERT_TRUE(again->RunOnce().ok()) << again->stats().last_error;
  EXPECT_GT(again->stats().objects_deleted, 0u);

  // Restore into a new data dir: the store opens there and reads the same bytes.
  const auto restored = TempDir("restored");
  auto r = RestoreFromBucket(client_.get(), restored.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(again->store_id(), r->store_id);
  EXPECT_EQ(Snapshot(*s.store).lsn, r->lsn);
  store::StoreOptions o;
  o.dir = (restored / "store").string();
  o.segment_bytes = 256 << 10;
  auto back = store::Store::Open(o);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(r->lsn, (*back)->LastLsn().value);
  std::string want(s.offset, '\0'), got(s.offset, '\0');
  ASSERT_TRUE(s.store->Read(s.tl, store::kLatestLsn, s.ino, 0, want.size(), want.data()).ok());
  ASSERT_TRUE((*back)->Read(s.tl, store::kLatestLsn, s.ino, 0, got.size(), got.data()).ok());
  EXPECT_TRUE(want == got);

  // A data dir that holds a store is refused, unchanged.
  auto twice = RestoreFromBucket(client_.get(), restored.string());
  EXPECT_EQ(Status::Code::kFailedPrecondition, twice.status().code());
}

// A cleaning pass rewrites closed segments into new files: the shipper sends those too, and a
// restore (with the checkpoint naming them) reads what the store reads.
TEST_F(CephTest, ShipperFollowsCleanerRewrites) {
  const auto dir = TempDir("cleaned");
  SmallStore s(dir);
  s.Grow(600 << 10, 1);
  auto sh = MakeShipper(client_.get(), s.store.get(), dir);
  ASSERT_NE(nullptr, sh);
  ASSERT_TRUE(sh->RunOnce().ok()) << sh->stats().last_error;
  // The same bytes again: the first versions die once the retention moves past them.
  s.offset = 0;
  s.Grow(600 << 10, 2);
  auto vol = s.store->FindVolume("vol");
  ASSERT_TRUE(vol.ok());
  ASSERT_TRUE(s.store->SetRetention(vol->id, s.store->NowNs()).ok());
  store::CleanOptions co;
  co.min_reclaim_bytes = 0;
  co.max_rewrite_bytes_per_s = 0;
  auto cleaned = s.store->Clean(co);
  ASSERT_TRUE(cleaned.ok()) << cleaned.status().ToString();
  ASSERT_GT(cleaned->segments_rewritten, 0u);
  ASSERT_TRUE(sh->RunOnce().ok()) << sh->stats().last_error;
  EXPECT_FALSE(sh->stats().down);
  int rewritten_up = 0;
  for (const LocalSegmentFile& f : Snapshot(*s.store).closed) {
    if (f.file_id == f.segment) continue;
    auto got = client_->Get(SegmentObjectName(sh->store_id(), f.segment, f.file_id));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(ReadFile(f.path) == *got);
    ++rewritten_up;
  }
  EXPECT_GT(rewritten_up, 0);

  const auto restored = TempDir("cleaned_restored");
  auto r = RestoreFromBucket(client_.get(), restored.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  store::StoreOptions o;
  o.dir = (restored / "store").string();
  o.segment_bytes = 256 << 10;
  auto back = store::Store::Open(o);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string want(s.offset, '\0'), got(s.offset, '\0');
  ASSERT_TRUE(s.store->Read(s.tl, store::kLatestLsn, s.ino, 0, want.size(), want.data()).ok());
  ASSERT_TRUE((*back)->Read(s.tl, store::kLatestLsn, s.ino, 0, got.size(), got.data()).ok());
  EXPECT_TRUE(want == got);
}

}  // namespace
}  // namespace rwd::objstore
