// The store's log: sticky failed syncs, full disks, group commit and SyncUpTo, what open makes
// durable, segment rolls, prepared (zero-filled) segments, writeback, and DurableLogState.
#include "store/store_test_fixture.h"

namespace rwd::store {
namespace {

// The fixture (StoreTest) of store_test_fixture.h.
using namespace ::rwd::store::testing;

TEST_F(StoreTest, FailedSyncIsSticky) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Write(v.head, f, 0, "a").ok());
  env_.FailSyncs(1);
  Status s = store_->Sync();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(store_->Write(v.head, f, 0, "b").ok());
  EXPECT_FALSE(store_->Sync().ok());  // stays failed, even though the device would work now
  EXPECT_FALSE(store_->health().ok());
  // Reads still work.
  EXPECT_EQ("a", ReadAll(v.head, kLatestLsn, f));
}

TEST_F(StoreTest, DiskFullRefusesThenRecovers) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Write(v.head, f, 0, "before").ok());
  env_.SetDiskFull(true);
  auto w = store_->Write(v.head, f, 0, "during");
  EXPECT_EQ(Status::Code::kNoSpace, w.status().code());
  env_.SetDiskFull(false);
  ASSERT_TRUE(store_->Write(v.head, f, 6, "+after").ok());
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ("before+after", ReadAll(v.head, kLatestLsn, f));
  Reopen();
  EXPECT_EQ("before+after", ReadAll(v.head, kLatestLsn, f));
}

// The disk fills up just when the log needs its next segment (no prepared one: the preparer
// could not make it either). That roll fails with NoSpace like any append, the store stays
// writable, and once space is back the roll happens and nothing stored is lost, also across a
// reopen. With preallocation, the prepared segment may or may not be ready by then: both work.
TEST_F(StoreTest, DiskFullAtASegmentRollIsNotSticky) {
  for (bool preallocate : {false, true}) {
    SCOPED_TRACE(preallocate ? "preallocated segments" : "plain segments");
    preallocate_ = preallocate;
    segment_bytes_ = 64 << 10;
    Reopen();
    auto v = NewVolume(preallocate ? "pre" : "plain");
    InodeId f = NewFile(v.head, "f");
    std::string expect;
    auto put = [&](char ch) {
      const std::string data(30000, ch);
      Result<Lsn> w = store_->Write(v.head, f, expect.size(), data);
      if (w.ok()) expect += data;
      return w.status();
    };
    // Up to a fresh segment holding one record, then a second: the next record must roll.
    const uint64_t first = store_->stats().segments;
    while (store_->stats().segments == first) ASSERT_TRUE(put('a').ok());
    ASSERT_TRUE(put('b').ok());
    ASSERT_TRUE(store_->Sync().ok());
    const uint64_t segments = store_->stats().segments;
    env_.SetDiskFull(true);
    for (int i = 0; i < 3; ++i) {
      Status s = put('c');
      EXPECT_EQ(Status::Code::kNoSpace, s.code()) << s.ToString();
      EXPECT_TRUE(store_->health().ok()) << store_->health().ToString();
      EXPECT_TRUE(store_->Sync().ok());
    }
    EXPECT_EQ(expect, ReadAll(v.head, kLatestLsn, f));
    env_.SetDiskFull(false);
    ASSERT_TRUE(put('c').ok());
    ASSERT_TRUE(store_->Sync().ok());
    EXPECT_EQ(segments + 1, store_->stats().segments);
    EXPECT_EQ(expect, ReadAll(v.head, kLatestLsn, f));
    Reopen();
    EXPECT_FALSE(store_->recovery().tail_cut) << store_->recovery().cut_reason;
    EXPECT_EQ(expect, ReadAll(v.head, kLatestLsn, f));
    ASSERT_TRUE(put('d').ok());
  }
}

TEST_F(StoreTest, ConcurrentSyncsShareDeviceSyncs) {
  auto v = NewVolume();
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<InodeId> files;
  for (int t = 0; t < kThreads; ++t) files.push_back(NewFile(v.head, "f" + std::to_string(t)));
  uint64_t before = store_->stats().device_syncs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(store_->Write(v.head, files[t], i * 100, std::string(100, 'a' + t)).ok());
        ASSERT_TRUE(store_->Sync().ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t syncs = store_->stats().device_syncs - before;
  EXPECT_LE(syncs, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_GE(store_->stats().synced_lsn, store_->stats().last_lsn);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(std::string(100 * kPerThread, 'a' + t), ReadAll(v.head, kLatestLsn, files[t]));
  }
}

// SyncUpTo(L) makes the records up to L durable and costs no device sync when they already
// are, whatever was appended after; LastNonDataLsn() names the newest namespace change, which a
// file's fsync covers (the mount syncs up to it too).
TEST_F(StoreTest, SyncUpToSyncsOnlyWhatIsNotDurableYet) {
  auto v = NewVolume();
  InodeId log = NewFile(v.head, "log");
  InodeId data = NewFile(v.head, "data");
  const Lsn created = store_->LastNonDataLsn();
  EXPECT_EQ(created, store_->LastLsn());
  Result<Lsn> commit = store_->Write(v.head, log, 0, "commit 1");
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(created, store_->LastNonDataLsn());  // file data is not a namespace change
  ASSERT_TRUE(store_->SyncUpTo(*commit).ok());
  const uint64_t syncs = store_->stats().device_syncs;
  EXPECT_GE(store_->stats().synced_lsn, *commit);

  // Page writes of another file after it: the commit is durable already, no device sync.
  ASSERT_TRUE(store_->Write(v.head, data, 0, std::string(16384, 'p')).ok());
  ASSERT_TRUE(store_->SyncUpTo(*commit).ok());
  EXPECT_EQ(syncs, store_->stats().device_syncs);
  EXPECT_LT(store_->stats().synced_lsn, store_->LastLsn());

  // A future LSN is refused and changes nothing.
  const Lsn future(store_->LastLsn().value + 1);
  Status bad = store_->SyncUpTo(future);
  EXPECT_EQ(Status::Code::kInvalidArgument, bad.code()) << bad.ToString();
  EXPECT_NE(bad.ToString().find("future"), std::string::npos) << bad.ToString();
  EXPECT_TRUE(store_->health().ok());

  // A rename after it: the newest namespace change moves, and syncing up to it makes the
  // rename (and everything before it) survive a crash.
  ASSERT_TRUE(store_->Rename(v.head, kRootInode, "data", kRootInode, "data.renamed").ok());
  const Lsn renamed = store_->LastNonDataLsn();
  EXPECT_EQ(renamed, store_->LastLsn());
  ASSERT_TRUE(store_->SyncUpTo(std::max(*commit, renamed)).ok());
  EXPECT_EQ(syncs + 1, store_->stats().device_syncs);
  ASSERT_TRUE(store_->Write(v.head, log, 8, " lost").ok());  // never synced

  CrashMachineAndReopen(1);
  EXPECT_EQ("commit 1", ReadAll(v.head, kLatestLsn, log));
  EXPECT_TRUE(store_->Lookup(v.head, kLatestLsn, kRootInode, "data.renamed").ok());
  EXPECT_EQ(std::string(16384, 'p'), ReadAll(v.head, kLatestLsn, data));
  EXPECT_EQ(Lsn(), store_->LastNonDataLsn());  // everything before open is durable
}

// A symlink's target is written as data right after its creation; it counts as a namespace
// change (a file's fsync covers it), a regular file's data does not.
TEST_F(StoreTest, ASymlinkTargetIsANamespaceChange) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  auto link = store_->Create(v.head, kRootInode, "link", NodeType::kSymlink, 0777);
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  Result<Lsn> target = store_->Write(v.head, link->ino, 0, "f");
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  EXPECT_EQ(*target, store_->LastNonDataLsn());
  ASSERT_TRUE(store_->Write(v.head, f, 0, "data").ok());
  EXPECT_EQ(*target, store_->LastNonDataLsn());
}

// The process dies (the machine does not) with records only in the page cache; the next open
// counts them as synced, so it must make them durable: a machine crash after it keeps them.
TEST_F(StoreTest, OpenMakesWhatTheLastRunLeftUnsyncedDurable) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Sync().ok());
  ASSERT_TRUE(store_->Write(v.head, f, 0, "unsynced by the last run").ok());
  env_.SetActive(false);  // killed: no closing checkpoint, no sync
  store_.reset();
  env_.SetActive(true);   // the page cache kept the bytes
  Reopen();
  EXPECT_GE(store_->stats().synced_lsn, store_->LastLsn());
  EXPECT_EQ("unsynced by the last run", ReadAll(v.head, kLatestLsn, f));
  CrashMachineAndReopen(2);  // now the machine crashes
  EXPECT_EQ("unsynced by the last run", ReadAll(v.head, kLatestLsn, f));
}

TEST_F(StoreTest, SegmentsRollAndReopenWithAndWithoutCheckpoint) {
  segment_bytes_ = 64 << 10;
  Reopen();
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  std::string expect;
  for (int i = 0; i < 40; ++i) {
    std::string chunk(5000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(store_->Write(v.head, f, expect.size(), chunk).ok());
    expect += chunk;
  }
  EXPECT_GT(store_->stats().segments, 2u);
  Reopen();  // clean close wrote a checkpoint
  EXPECT_TRUE(store_->recovery().loaded_checkpoint);
  EXPECT_EQ(expect, ReadAll(v.head, kLatestLsn, f));
  ASSERT_TRUE(store_->Write(v.head, f, 0, "Z").ok());
  expect[0] = 'Z';
  store_.reset();
  ASSERT_TRUE(env_.RemoveFile(dir_.path() + "/index.ckpt").ok());
  Reopen();  // full replay from the log
  EXPECT_FALSE(store_->recovery().loaded_checkpoint);
  EXPECT_EQ(expect, ReadAll(v.head, kLatestLsn, f));
}

// Zero-filled next segments are made only for logs of many small commits.
TEST_F(StoreTest, SmallCommitsAfterABulkLoadMoveIntoAPreparedSegment) {
  segment_bytes_ = 256 << 10;
  prealloc_below_ = 8 << 10;  // judged over windows of 32 KiB
  Reopen();
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  for (int i = 0; i < 16; ++i) {  // a bulk load: 64 KiB, one sync; segment 1 grows by appends
    ASSERT_TRUE(store_->Write(v.head, f, i * 4096ull, std::string(4096, 'b')).ok());
  }
  ASSERT_TRUE(store_->Sync().ok());
  // Then commits of 4 KiB each, far from filling the segment (192 KiB in all): the log moves
  // into the preallocated segment 2 as soon as the preparer has made it.
  const std::string second = dir_.path() + "/log/00000002.seg";
  int i = 16;
  for (; i < 64; ++i) {
    ASSERT_TRUE(store_->Write(v.head, f, i * 4096ull, std::string(4096, 'c')).ok());
    ASSERT_TRUE(store_->Sync().ok());
    if (env_.FileExists(second)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(env_.FileExists(second)) << "still in segment 1 after " << i << " commits";
  // The prepared file became segment 2 (and is not made again); the preparer goes on with 3.
  EXPECT_FALSE(env_.FileExists(dir_.path() + "/log/00000002.prep"));
  for (int w = 0; w < 500 && !env_.FileExists(dir_.path() + "/log/00000003.prep"); ++w) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(env_.FileExists(dir_.path() + "/log/00000003.prep"));
  EXPECT_FALSE(env_.FileExists(dir_.path() + "/log/00000002.prep"));
  EXPECT_FALSE(env_.FileExists(dir_.path() + "/log/00000002.prep.tmp"));
  ASSERT_TRUE(store_->Write(v.head, f, (i + 1) * 4096ull, std::string(4096, 'd')).ok());
  ASSERT_TRUE(store_->Sync().ok());
  Reopen();
  const std::string all = ReadAll(v.head, kLatestLsn, f);
  EXPECT_EQ(std::string(16 * 4096, 'b'), all.substr(0, 16 * 4096));
  EXPECT_EQ(std::string((i - 15) * 4096, 'c'), all.substr(16 * 4096, (i - 15) * 4096));
  EXPECT_EQ(std::string(4096, 'd'), all.substr((i + 1) * 4096));
}

TEST_F(StoreTest, NextSegmentIsNotPreparedUnderBulkWrites) {
  segment_bytes_ = 256 << 10;
  prealloc_below_ = 8 << 10;  // judged over windows of 32 KiB
  Reopen();
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  for (int i = 0; i < 100; ++i) {  // 400 KiB and one sync: into segment 2, unprepared
    ASSERT_TRUE(store_->Write(v.head, f, i * 4096ull, std::string(4096, 'b')).ok());
  }
  ASSERT_TRUE(store_->Sync().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(env_.FileExists(dir_.path() + "/log/00000002.prep"));
  EXPECT_FALSE(env_.FileExists(dir_.path() + "/log/00000003.prep"));
  EXPECT_GE(store_->stats().segments, 2u);
  Reopen();
  EXPECT_EQ(std::string(4096, 'b'), ReadAll(v.head, kLatestLsn, f).substr(99 * 4096));
}

TEST_F(StoreTest, WritesStartDeviceWritebackEveryQuarterMebibyte) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  const uint64_t before = env_.writebacks();
  for (int i = 0; i < 64; ++i) {  // 1 MiB of 16 KiB pages, no sync
    ASSERT_TRUE(store_->Write(v.head, f, i * 16384ull, std::string(16384, 'w')).ok());
  }
  EXPECT_GE(env_.writebacks() - before, 3u);
  EXPECT_LE(env_.writebacks() - before, 4u);
  EXPECT_EQ(std::string(16384, 'w'), ReadAll(v.head, kLatestLsn, f).substr(63 * 16384));
}

// DurableLogState (for the object-store shipper): the durable LSN and where it ends, and the
// closed files with their sizes (without a preallocated segment's zeros).
TEST_F(StoreTest, DurableLogStateFollowsSyncsAndSegments) {
  segment_bytes_ = 64 << 10;
  Reopen();
  VolumeInfo v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Sync().ok());
  DurableLog d = store_->DurableLogState();
  EXPECT_EQ(store_->LastLsn(), d.lsn);
  EXPECT_EQ(d.active_segment, d.segment);
  ASSERT_TRUE(store_->Write(v.head, f, 0, std::string(1000, 'a')).ok());
  EXPECT_EQ(d.offset, store_->DurableLogState().offset) << "an unsynced record is not durable";
  ASSERT_TRUE(store_->Sync().ok());
  DurableLog d2 = store_->DurableLogState();
  EXPECT_EQ(store_->LastLsn(), d2.lsn);
  EXPECT_GT(d2.offset, d.offset + 1000);
  // Past several segments: the closed ones are listed in order with their logical sizes.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_->Write(v.head, f, 16384 * i, std::string(16384, 'b')).ok());
    ASSERT_TRUE(store_->Sync().ok());
  }
  DurableLog d3 = store_->DurableLogState();
  ASSERT_GE(d3.closed.size(), 3u);
  for (size_t i = 0; i < d3.closed.size(); ++i) {
    EXPECT_EQ(i + 1, d3.closed[i].segment);
    EXPECT_EQ(d3.closed[i].segment, d3.closed[i].file_id);
    EXPECT_GT(d3.closed[i].size, 16384u);
    EXPECT_LE(d3.closed[i].size, segment_bytes_);
  }
  EXPECT_EQ(d3.closed.back().segment + 1, d3.active_segment);
  EXPECT_EQ(d3.active_segment, d3.segment);
  EXPECT_EQ(store_->LastLsn(), d3.lsn);
}

}  // namespace
}  // namespace rwd::store
