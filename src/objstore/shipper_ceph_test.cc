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

// Compression rewrites closed segments into new files (ids >= 2^31) and a checkpoint names them
// once all are written. A pass whose durable snapshot predates that checkpoint uploads the new
// files while HEAD still names the older checkpoint (the raw files): the collection must keep
// the new files, which the next HEAD's checkpoint names. (It deleted them; once HEAD named
// them, the raw files went too: those segments were gone from the bucket, and a restore
// rebuilt the index without their records: stale 16 KiB pages, InnoDB's "corrupted pages".)
TEST_F(CephTest, ARestoreReadsAtHeadWhatTheStoreReadWhileCompactionRacesTheShipper) {
  const auto dir = TempDir("compacted");
  store::StoreOptions o;
  o.dir = dir.string();
  o.segment_bytes = 256 << 10;
  o.compress = true;
  o.background_compaction = false;  // compacted below, between passes
  auto opened = store::Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<store::Store> st = std::move(*opened);
  auto vol = st->CreateVolume("vol");
  ASSERT_TRUE(vol.ok());
  const store::TimelineId tl = vol->head;
  auto file = st->Create(tl, store::kRootInode, "data", store::NodeType::kFile, 0644);
  ASSERT_TRUE(file.ok());
  const store::InodeId ino = file->ino;
  // Overwrites of the same sixteen 16 KiB pages, each version distinct and compressible.
  constexpr size_t kPage = 16 << 10, kPages = 16;
  uint64_t version = 0;
  auto overwrite = [&](size_t n) {
    for (size_t i = 0; i < n; ++i, ++version) {
      std::string page(kPage, static_cast<char>('a' + version % 26));
      std::snprintf(page.data(), 32, "v%020llu", static_cast<unsigned long long>(version));
      ASSERT_TRUE(st->Write(tl, ino, (version % kPages) * kPage, page).ok());
    }
  };

  LogSnapshot frozen;
  bool freeze = false;  // the position of `frozen`, the files of now
  ShipperSource src;
  src.durable_log = [&] {
    LogSnapshot now = Snapshot(*st);
    if (!freeze) return now;
    LogSnapshot old = frozen;
    old.closed = now.closed;
    return old;
  };
  ShipperOptions so;
  so.store_dir = dir.string();
  so.work_dir = dir.string();
  so.collect_interval_ms = 0;  // a collection after every pass
  auto made = Shipper::Create(client_.get(), std::move(src), so);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  std::unique_ptr<Shipper> sh = std::move(*made);

  // Three closed raw segments, a checkpoint naming them; up, and HEAD names it.
  overwrite(50);
  ASSERT_TRUE(st->Checkpoint().ok());
  ASSERT_TRUE(sh->RunOnce().ok()) << sh->stats().last_error;
  // More, synced: the pass's snapshot is taken here; the compaction and its checkpoint land
  // after it (more records first, so that checkpoint is past the snapshot's LSN).
  overwrite(4);
  ASSERT_TRUE(st->Sync().ok());
  frozen = Snapshot(*st);
  overwrite(2);
  auto compacted = st->CompactSegments();
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  ASSERT_GT(*compacted, 0u);
  freeze = true;
  ASSERT_TRUE(sh->RunOnce().ok()) << sh->stats().last_error;
  freeze = false;
  ASSERT_TRUE(sh->RunOnce().ok()) << sh->stats().last_error;
  ASSERT_FALSE(sh->stats().down);

  // Every file HEAD's checkpoint names is in the bucket.
  const std::string root = StoreRootName(sh->store_id());
  auto head_text = client_->Get(root + "HEAD");
  ASSERT_TRUE(head_text.ok()) << head_text.status().ToString();
  const auto head = nlohmann::json::parse(*head_text);
  ASSERT_TRUE(head["checkpoint"].is_string()) << *head_text;
  auto ckpt_bytes = client_->Get(head["checkpoint"].get<std::string>());
  ASSERT_TRUE(ckpt_bytes.ok());
  auto ckpt = ParseCheckpoint(*ckpt_bytes);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  for (const auto& [seg, id] : ckpt->segment_files) {
    if (seg == ckpt->segment) continue;
    EXPECT_TRUE(client_->Head(SegmentObjectName(sh->store_id(), seg, id)).ok())
        << "HEAD's checkpoint names segment " << seg << " file " << id << ", not in the bucket";
  }

  // The restored store reads, at HEAD's LSN, exactly what the store read at that LSN, and
  // opens from the checkpoint (a prefix of the log is a crash state: nothing rebuilt).
  const auto restored = TempDir("compacted_restored");
  auto r = RestoreFromBucket(client_.get(), restored.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  store::StoreOptions ro = o;
  ro.dir = (restored / "store").string();
  auto back = store::Store::Open(ro);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(r->lsn, (*back)->LastLsn().value);
  EXPECT_TRUE((*back)->recovery().loaded_checkpoint);
  std::string want(kPages * kPage, '\0'), got(kPages * kPage, '\0');
  ASSERT_TRUE(st->Read(tl, store::Lsn(r->lsn), ino, 0, want.size(), want.data()).ok());
  auto read = (*back)->Read(tl, store::Lsn(r->lsn), ino, 0, got.size(), got.data());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  for (size_t p = 0; p < kPages; ++p) {
    EXPECT_EQ(want.substr(p * kPage, 24), got.substr(p * kPage, 24)) << "page " << p;
    EXPECT_TRUE(want.compare(p * kPage, kPage, got, p * kPage, kPage) == 0) << "page " << p;
  }

  // A bucket that lost a file HEAD's checkpoint names is refused, not restored without it.
  const auto& [lost_seg, lost_id] = ckpt->segment_files.front();
  ASSERT_LT(lost_seg, ckpt->segment);
  ASSERT_TRUE(client_->Delete(SegmentObjectName(sh->store_id(), lost_seg, lost_id)).ok());
  auto refused = RestoreFromBucket(client_.get(), TempDir("compacted_lost").string());
  EXPECT_EQ(Status::Code::kCorruption, refused.status().code()) << refused.status().ToString();
  // Not the newest HEAD for a later test's restore.
  EXPECT_TRUE(client_->Delete(root + "HEAD").ok());
}

}  // namespace
}  // namespace rwd::objstore
