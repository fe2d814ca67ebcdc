// The store's rules, one test each: namespace semantics, reads at LSNs, timelines, volumes,
// durability and group commit, and clear errors for bad input.
#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "common/crc32c.h"
#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/record.h"

namespace rwd::store {
namespace {

using rwd::testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.dir = dir_.path();
    o.env = &env_;
    o.segment_bytes = segment_bytes_;
    o.compress = compress_;
    o.compress_inline = compress_inline_;
    o.background_compaction = background_compaction_;
    o.compress_min_bytes = 0;  // the small writes of these tests compressed too
    o.preallocate_segments = preallocate_;
    o.preallocate_below_bytes_per_sync = prealloc_below_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  VolumeInfo NewVolume(const std::string& name = "vol") {
    auto v = store_->CreateVolume(name);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return *v;
  }
  std::string ReadAll(TimelineId tl, Lsn lsn, InodeId ino) {
    auto a = store_->GetAttr(tl, lsn, ino);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    if (!a.ok()) return "";
    std::string out(a->size, '?');
    auto n = store_->Read(tl, lsn, ino, 0, out.size(), out.data());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (n.ok()) out.resize(*n);
    return out;
  }
  // Reopens the store with compression on; a new volume holding an empty file "f".
  std::pair<VolumeInfo, InodeId> CompressingStoreWithFile() {
    compress_ = true;
    Reopen();
    VolumeInfo v = NewVolume();
    return {v, NewFile(v.head, "f")};
  }
  // The machine loses power (no closing checkpoint; every unsynced byte is dropped), then the
  // store is opened again.
  void CrashMachineAndReopen(uint64_t seed) {
    env_.SetActive(false);
    store_.reset();
    std::mt19937_64 rng(seed);
    ASSERT_TRUE(env_.SimulateCrash(&rng, /*torn=*/false).ok());
    env_.SetActive(true);
    Reopen();
  }
  InodeId NewFile(TimelineId tl, const std::string& name, InodeId parent = kRootInode) {
    auto a = store_->Create(tl, parent, name, NodeType::kFile, 0644);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->ino : InodeId();
  }

  TempDir dir_;
  FaultInjectionEnv env_;
  uint64_t segment_bytes_ = 64ull << 20;
  bool compress_ = false;
  // The compression tests here test compression in the writing thread; those of background
  // compaction set this false.
  bool compress_inline_ = true;
  bool background_compaction_ = true;
  bool preallocate_ = true;
  uint64_t prealloc_below_ = 64 << 10;
  std::unique_ptr<Store> store_;
};

// Every file and directory of a store is private (0600/0700) whatever the umask, and one left
// world-readable (an older version, a restored backup) is made private when the store opens it.
TEST(StoreFileModes, PrivateWhateverTheUmaskAndWhatExistedBefore) {
  TempDir dir;
  const mode_t old_umask = ::umask(0);
  auto expect_private = [&](const char* when) {
    size_t seen = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
      struct stat st {};
      ASSERT_EQ(0, ::lstat(entry.path().c_str(), &st));
      EXPECT_EQ(S_ISDIR(st.st_mode) ? 0700u : 0600u, st.st_mode & 07777)
          << when << ": " << entry.path();
      ++seen;
    }
    EXPECT_GT(seen, 1u) << when;
  };
  StoreOptions o;
  o.dir = dir.path() + "/store";
  {
    auto s = Store::Open(o);  // the POSIX Env
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    auto v = (*s)->CreateVolume("vol");
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE((*s)->Create(v->head, kRootInode, "f", NodeType::kFile, 0644).ok());
    ASSERT_TRUE((*s)->Checkpoint().ok());
  }
  expect_private("created with umask 0");
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    ASSERT_EQ(0, ::chmod(entry.path().c_str(), entry.is_directory() ? 0755 : 0644));
  }
  {
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
  expect_private("reopened after 0755/0644");
  ::umask(old_umask);
}

TEST_F(StoreTest, LsnStrictlyIncreasesAndTimeNeverGoesBack) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  env_.SetClock(2'000'000'000);
  auto l1 = store_->Write(v.head, f, 0, "a");
  env_.SetClock(1'000'000'000);  // the system clock steps back
  auto l2 = store_->Write(v.head, f, 1, "b");
  ASSERT_TRUE(l1.ok() && l2.ok());
  EXPECT_LT(*l1, *l2);
  EXPECT_GE(store_->LastTimeNs(), 2'000'000'000);
  EXPECT_EQ(*l2, store_->LastLsn());
}

TEST_F(StoreTest, MtimeFollowsWritesUnlessSetExplicitlyAfter) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  env_.SetClock(store_->NowNs() + 5'000'000'000);
  ASSERT_TRUE(store_->Write(v.head, f, 0, "abc").ok());
  ASSERT_TRUE(store_->Write(v.head, f, 0, "x").ok());  // not extending: no attr version
  EXPECT_EQ(store_->LastTimeNs(), store_->GetAttr(v.head, kLatestLsn, f)->mtime_ns);
  SetAttrRequest touch;
  touch.mtime_ns = 1'199'145'600'000'000'000;  // 2008-01-01
  ASSERT_TRUE(store_->SetAttr(v.head, f, touch).ok());
  EXPECT_EQ(*touch.mtime_ns, store_->GetAttr(v.head, kLatestLsn, f)->mtime_ns);
  env_.SetClock(store_->NowNs() + 1'000'000'000);
  ASSERT_TRUE(store_->Write(v.head, f, 1, "y").ok());
  EXPECT_EQ(store_->LastTimeNs(), store_->GetAttr(v.head, kLatestLsn, f)->mtime_ns);
}

TEST_F(StoreTest, WritesAtOddOffsetsAndHolesReadAsZeros) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Write(v.head, f, 16383, "xyz").ok());    // crosses a 16 KiB page
  ASSERT_TRUE(store_->Write(v.head, f, 100000, "tail").ok());  // leaves a hole
  std::string all = ReadAll(v.head, kLatestLsn, f);
  ASSERT_EQ(100004u, all.size());
  EXPECT_EQ("xyz", all.substr(16383, 3));
  EXPECT_EQ(std::string(16383, '\0'), all.substr(0, 16383));
  EXPECT_EQ(std::string(100000 - 16386, '\0'), all.substr(16386, 100000 - 16386));
  EXPECT_EQ("tail", all.substr(100000));
  char buf[10];
  auto n = store_->Read(v.head, kLatestLsn, f, 100002, sizeof(buf), buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(2u, *n);  // stops at EOF
}

TEST_F(StoreTest, ReadsAtOldLsnsSeeOldBytes) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  Lsn a = *store_->Write(v.head, f, 0, std::string(40000, 'a'));
  Lsn b = *store_->Write(v.head, f, 10000, std::string(5, 'b'));
  Lsn c = *store_->Write(v.head, f, 39999, "cc");
  EXPECT_EQ(std::string(40000, 'a'), ReadAll(v.head, a, f));
  std::string at_b = ReadAll(v.head, b, f);
  EXPECT_EQ("aaabbbbbaaa", at_b.substr(9997, 11));
  std::string at_c = ReadAll(v.head, c, f);
  EXPECT_EQ(40001u, at_c.size());
  EXPECT_EQ("acc", at_c.substr(39998));
  EXPECT_EQ("aaabbbbbaaa", at_c.substr(9997, 11));
}

TEST_F(StoreTest, TruncateDownThenUpReadsZerosPastTheCut) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Write(v.head, f, 0, std::string(30000, 'x')).ok());
  SetAttrRequest down;
  down.size = 100;
  Lsn before_cut = store_->LastLsn();
  ASSERT_TRUE(store_->SetAttr(v.head, f, down).ok());
  SetAttrRequest up;
  up.size = 20000;
  ASSERT_TRUE(store_->SetAttr(v.head, f, up).ok());
  std::string now = ReadAll(v.head, kLatestLsn, f);
  ASSERT_EQ(20000u, now.size());
  EXPECT_EQ(std::string(100, 'x'), now.substr(0, 100));
  EXPECT_EQ(std::string(19900, '\0'), now.substr(100));
  EXPECT_EQ(std::string(30000, 'x'), ReadAll(v.head, before_cut, f));
}

TEST_F(StoreTest, NamespaceOperations) {
  auto v = NewVolume();
  auto tl = v.head;
  auto d = store_->Create(tl, kRootInode, "db", NodeType::kDirectory, 0755);
  ASSERT_TRUE(d.ok());
  InodeId f = NewFile(tl, "t.frm", d->ino);
  EXPECT_EQ(Status::Code::kAlreadyExists,
            store_->Create(tl, d->ino, "t.frm", NodeType::kFile, 0644).status().code());
  EXPECT_EQ(f, *store_->Lookup(tl, kLatestLsn, d->ino, "t.frm"));
  // rename over an existing file replaces it
  InodeId g = NewFile(tl, "t.frm~", d->ino);
  ASSERT_TRUE(store_->Write(tl, g, 0, "new").ok());
  auto replaced = store_->Rename(tl, d->ino, "t.frm~", d->ino, "t.frm");
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(f, *replaced);
  EXPECT_EQ(g, *store_->Lookup(tl, kLatestLsn, d->ino, "t.frm"));
  EXPECT_EQ(Status::Code::kNotFound, store_->Lookup(tl, kLatestLsn, d->ino, "t.frm~").status().code());
  auto entries = store_->ReadDir(tl, kLatestLsn, d->ino);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(1u, entries->size());
  EXPECT_EQ("t.frm", (*entries)[0].name);
  // rmdir of a non-empty directory
  EXPECT_EQ(Status::Code::kNotEmpty, store_->Rmdir(tl, kRootInode, "db").status().code());
  EXPECT_EQ(Status::Code::kIsDirectory, store_->Unlink(tl, kRootInode, "db").status().code());
  ASSERT_TRUE(store_->Unlink(tl, d->ino, "t.frm").ok());
  EXPECT_TRUE(store_->Rmdir(tl, kRootInode, "db").ok());
  EXPECT_EQ(Status::Code::kNotFound, store_->Lookup(tl, kLatestLsn, kRootInode, "db").status().code());
  // a directory cannot move into itself
  auto a = store_->Create(tl, kRootInode, "a", NodeType::kDirectory, 0755);
  auto b = store_->Create(tl, a->ino, "b", NodeType::kDirectory, 0755);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Rename(tl, kRootInode, "a", b->ino, "a2").status().code());
  auto c = store_->Create(tl, kRootInode, "c", NodeType::kDirectory, 0755);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Status::Code::kAlreadyExists,
            store_->Rename(tl, kRootInode, "a", kRootInode, "c", true).status().code());
  EXPECT_TRUE(store_->Rename(tl, kRootInode, "a", kRootInode, "c").ok());  // onto an empty dir
}

TEST_F(StoreTest, UnlinkedFileStaysReadableAndInHistory) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "sbtest1.ibd");
  ASSERT_TRUE(store_->Write(v.head, f, 0, "rows").ok());
  Lsn before = store_->LastLsn();
  ASSERT_TRUE(store_->Unlink(v.head, kRootInode, "sbtest1.ibd").ok());
  // Still readable by inode (an open fd), with nlink 0.
  EXPECT_EQ("rows", ReadAll(v.head, kLatestLsn, f));
  EXPECT_EQ(0u, store_->GetAttr(v.head, kLatestLsn, f)->nlink);
  // Writes through the open fd still work.
  EXPECT_TRUE(store_->Write(v.head, f, 4, "!").ok());
  // In history, the name is there.
  EXPECT_EQ(f, *store_->Lookup(v.head, before, kRootInode, "sbtest1.ibd"));
  EXPECT_EQ("rows", ReadAll(v.head, before, f));
}

TEST_F(StoreTest, BranchSeesAncestorUpToBranchPointOnly) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Write(v.head, f, 0, "one").ok());
  Lsn at = store_->LastLsn();
  ASSERT_TRUE(store_->Write(v.head, f, 0, "two").ok());
  auto br = store_->Branch(v.head, at);
  ASSERT_TRUE(br.ok());
  EXPECT_EQ("one", ReadAll(*br, kLatestLsn, f));
  ASSERT_TRUE(store_->Write(*br, f, 3, "+branch").ok());
  EXPECT_EQ("one+branch", ReadAll(*br, kLatestLsn, f));
  EXPECT_EQ("two", ReadAll(v.head, kLatestLsn, f));  // never shows on the ancestor
  InodeId g = NewFile(*br, "only-on-branch");
  EXPECT_EQ(Status::Code::kNotFound,
            store_->Lookup(v.head, kLatestLsn, kRootInode, "only-on-branch").status().code());
  EXPECT_TRUE(store_->GetAttr(*br, kLatestLsn, g).ok());
}

TEST_F(StoreTest, BranchChain100DeepReadsThrough) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  TimelineId tl = v.head;
  std::string expect(100 * 10, '.');
  for (int i = 0; i < 100; ++i) {
    std::string s = "level" + std::to_string(1000 + i).substr(1) + "##";
    ASSERT_TRUE(store_->Write(tl, f, i * 10, s).ok());
    expect.replace(i * 10, 10, s);
    ASSERT_TRUE(store_->Write(tl, f, i * 10 + 10, "garbage-after-branch").ok());
    auto br = store_->Branch(tl, Lsn(store_->LastLsn().value - 1));
    ASSERT_TRUE(br.ok());
    tl = *br;
  }
  int depth = 0;
  for (TimelineId t = tl; t.valid(); t = store_->GetTimeline(t)->ancestor) ++depth;
  EXPECT_EQ(101, depth);
  std::string got = ReadAll(tl, kLatestLsn, f);
  EXPECT_EQ(expect, got);
  Reopen();
  EXPECT_EQ(expect, ReadAll(tl, kLatestLsn, f));
}

TEST_F(StoreTest, RewindBackAndForthThroughResolve) {
  env_.SetClock(store_->NowNs() + 1'000'000);
  auto v = NewVolume("mylab");
  InodeId f = NewFile(v.head, "t");
  env_.SetClock(v.created_ns + 1'000);
  ASSERT_TRUE(store_->Write(v.head, f, 0, "v1").ok());
  env_.SetClock(v.created_ns + 2'000);
  ASSERT_TRUE(store_->Write(v.head, f, 0, "v2").ok());
  env_.SetClock(v.created_ns + 3'000);
  ASSERT_TRUE(store_->Write(v.head, f, 0, "v3").ok());
  env_.SetClock(v.created_ns + 4'000);

  // Rewind to T=1500: v1.
  auto r1 = store_->Rewind(v.id, v.created_ns + 1'500);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ("v1", ReadAll(r1->head, kLatestLsn, f));
  env_.SetClock(v.created_ns + 5'000);
  ASSERT_TRUE(store_->Write(r1->head, f, 0, "w5").ok());
  env_.SetClock(v.created_ns + 6'000);
  // Forward again to T=3500, a moment of the first timeline, after the first rewind's target.
  auto r2 = store_->Rewind(v.id, v.created_ns + 3'500);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ("v3", ReadAll(r2->head, kLatestLsn, f));
  env_.SetClock(v.created_ns + 7'000);
  // And to T=5500: the state written after the first rewind.
  auto r3 = store_->Rewind(v.id, v.created_ns + 5'500);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ("w5", ReadAll(r3->head, kLatestLsn, f));
  EXPECT_EQ(4u, r3->history.size());
  // The same after reopening.
  Reopen();
  auto pit = store_->Resolve(v.id, v.created_ns + 2'500);
  ASSERT_TRUE(pit.ok());
  EXPECT_EQ("v2", ReadAll(pit->timeline, pit->lsn, f));
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Resolve(v.id, v.created_ns - 1).status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Resolve(v.id, v.created_ns + 1'000'000'000'000).status().code());
}

TEST_F(StoreTest, CloneIsIndependentAndOutlivesItsSource) {
  auto v = NewVolume("src");
  InodeId f = NewFile(v.head, "t");
  ASSERT_TRUE(store_->Write(v.head, f, 0, "shared").ok());
  auto c = store_->Clone("src-clone", v.id, store_->NowNs());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(store_->Write(c->head, f, 0, "CLONE!").ok());
  ASSERT_TRUE(store_->Write(v.head, f, 0, "SOURCE").ok());
  EXPECT_EQ("CLONE!", ReadAll(c->head, kLatestLsn, f));
  EXPECT_EQ("SOURCE", ReadAll(v.head, kLatestLsn, f));
  // A clone cannot resolve before its creation.
  EXPECT_FALSE(store_->Resolve(c->id, c->created_ns - 1).ok());
  ASSERT_TRUE(store_->DeleteVolume(v.id).ok());
  Reopen();
  EXPECT_EQ("CLONE!", ReadAll(c->head, kLatestLsn, f));
  EXPECT_FALSE(store_->FindVolume("src").ok());
  EXPECT_TRUE(store_->FindVolume("src-clone").ok());
}

TEST_F(StoreTest, BadInputGivesClearErrorsAndLosesNothing) {
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "keep");
  ASSERT_TRUE(store_->Write(v.head, f, 0, "precious").ok());
  char buf[8];
  auto unknown_ino = store_->Read(v.head, kLatestLsn, InodeId(9999), 0, 8, buf);
  EXPECT_EQ(Status::Code::kNotFound, unknown_ino.status().code());
  auto unknown_tl = store_->Read(TimelineId(9999), kLatestLsn, f, 0, 8, buf);
  EXPECT_EQ(Status::Code::kNotFound, unknown_tl.status().code());
  EXPECT_NE(std::string::npos, unknown_tl.status().message().find("timeline"));
  auto future = store_->Branch(v.head, Lsn(store_->LastLsn().value + 10));
  EXPECT_EQ(Status::Code::kInvalidArgument, future.status().code());
  EXPECT_NE(std::string::npos, future.status().message().find("future"));
  auto missing_dir = store_->Rename(v.head, kRootInode, "keep", InodeId(4242), "x");
  EXPECT_EQ(Status::Code::kNotFound, missing_dir.status().code());
  auto file_as_dir = store_->Rename(v.head, kRootInode, "keep", f, "x");
  EXPECT_EQ(Status::Code::kNotDirectory, file_as_dir.status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Create(v.head, kRootInode, "a/b", NodeType::kFile, 0644).status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Create(v.head, kRootInode, "", NodeType::kFile, 0644).status().code());
  EXPECT_EQ(Status::Code::kAlreadyExists, store_->CreateVolume("vol").status().code());
  EXPECT_EQ(Status::Code::kNotFound, store_->Rewind(VolumeId(77), 0).status().code());
  // Nothing stored was lost, also across a reopen.
  EXPECT_EQ("precious", ReadAll(v.head, kLatestLsn, f));
  Reopen();
  EXPECT_EQ("precious", ReadAll(v.head, kLatestLsn, f));
}

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

TEST_F(StoreTest, CompressionLeavesSmallWritesRaw) {
  // Production options: nothing is compressed on the write path (closed segments are, in the
  // background). Inline, small writes (redo-log appends on a commit's path) stay raw.
  for (bool in_line : {false, true}) {
    SCOPED_TRACE(in_line ? "inline" : "background");
    store_.reset();
    std::filesystem::remove_all(dir_.path());
    StoreOptions o;
    o.dir = dir_.path();
    o.env = &env_;
    o.compress = true;
    o.compress_inline = in_line;
    auto opened = Store::Open(o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    auto v = NewVolume();
    InodeId f = NewFile(v.head, "f");
    ASSERT_TRUE(store_->Write(v.head, f, 0, std::string(4096, 'r')).ok());
    StoreStats st = store_->stats();
    EXPECT_EQ(st.write_bytes, st.write_stored_bytes);
    ASSERT_TRUE(store_->Write(v.head, f, 16384, std::string(16384, 'p')).ok());
    st = store_->stats();
    if (in_line) {
      EXPECT_LT(st.write_stored_bytes, st.write_bytes - 4096);  // the page went compressed
    } else {
      EXPECT_EQ(st.write_bytes, st.write_stored_bytes);
    }
    std::string expect =
        std::string(4096, 'r') + std::string(12288, '\0') + std::string(16384, 'p');
    EXPECT_EQ(expect, ReadAll(v.head, kLatestLsn, f));
  }
}

// ---- Compression off the write path: closed segments compressed in the background ----

// Compressible 16 KiB pages: digits with a dash every 12 bytes (about half when compressed).
std::string DigitPage(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string page(16384, '-');
  for (size_t k = 0; k < page.size(); ++k) {
    if (k % 12 != 11) page[k] = static_cast<char>('0' + rng() % 10);
  }
  return page;
}

// Writes 160 versions of pages of one file (16 KiB pages, 4 KiB pieces, 300-byte appends at
// odd offsets) and returns the file's content after each write, by LSN.
std::map<uint64_t, std::string> WriteVersions(Store& store, TimelineId tl, InodeId f) {
  std::map<uint64_t, std::string> at;
  std::string content;
  for (int i = 0; i < 160; ++i) {
    std::string data = DigitPage(i);
    uint64_t off = (i * 7 % 24) * 16384ull;
    if (i % 5 == 1) data.resize(4096), off += 4096 * (i % 4);
    if (i % 5 == 2) data.resize(300), off = content.size();
    auto lsn = store.Write(tl, f, off, data);
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    if (!lsn.ok()) return at;
    if (content.size() < off + data.size()) content.resize(off + data.size(), '\0');
    content.replace(off, data.size(), data);
    at[lsn->value] = content;
  }
  return at;
}

TEST_F(StoreTest, ClosedSegmentsAreCompressedAndReadTheSameAtEveryLsn) {
  compress_ = true;
  compress_inline_ = false;
  segment_bytes_ = 256 << 10;
  Reopen();
  VolumeInfo v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  const auto versions = WriteVersions(*store_, v.head, f);
  StoreStats st = store_->stats();
  EXPECT_EQ(st.write_bytes, st.write_stored_bytes) << "appended raw, off the write path";
  ASSERT_GT(st.segments, 4u);
  // What the background thread has not done yet is done now.
  auto done = store_->CompactSegments();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  st = store_->stats();
  EXPECT_EQ(st.segments - 1, st.segments_compacted) << "every closed segment, once";
  EXPECT_EQ(0u, st.compaction_errors);
  EXPECT_GT(st.compaction_saved_bytes, st.write_bytes / 4);
  EXPECT_LT(st.log_bytes, st.write_bytes * 3 / 4);
  auto again = store_->CompactSegments();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(0u, *again) << "a compacted segment is not compacted again";
  auto check = [&](const char* when) {
    for (const auto& [lsn, content] : versions) {
      ASSERT_EQ(content, ReadAll(v.head, Lsn(lsn), f)) << when << ", LSN " << lsn;
    }
  };
  check("compacted");
  Reopen();  // from the checkpoint that names the compacted files
  EXPECT_TRUE(store_->recovery().loaded_checkpoint);
  check("reopened");
  store_.reset();
  ASSERT_TRUE(env_.RemoveFile(dir_.path() + "/index.ckpt").ok());
  Reopen();  // replaying the compacted segments
  EXPECT_FALSE(store_->recovery().loaded_checkpoint);
  EXPECT_FALSE(store_->recovery().tail_cut);
  check("replayed");
  // The cleaner keeps compressed records as they are and compresses what it rewrites.
  auto r = store_->Clean();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  check("cleaned");
}

// A machine crash at every I/O of a compaction pass: the store opens on what is left with
// every synced state readable, whichever of the old and new files each segment ends with.
TEST_F(StoreTest, ACrashAtAnyStepOfCompactionLosesNothing) {
  compress_ = true;
  compress_inline_ = false;
  background_compaction_ = false;  // every I/O from this thread: crash steps are repeatable
  preallocate_ = false;
  segment_bytes_ = 256 << 10;
  Reopen();
  VolumeInfo v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  const auto versions = WriteVersions(*store_, v.head, f);
  ASSERT_TRUE(store_->Sync().ok());
  store_.reset();
  const std::string start = dir_.path() + ".start";
  std::filesystem::remove_all(start);
  std::filesystem::copy(dir_.path(), start, std::filesystem::copy_options::recursive);
  std::mt19937_64 rng(rwd::testing::TestSeed());
  bool completed = false;
  int steps = 0;
  for (int n = 0; n < 500 && !completed; ++n, ++steps) {
    std::filesystem::remove_all(dir_.path());
    std::filesystem::copy(start, dir_.path(), std::filesystem::copy_options::recursive);
    Reopen();
    env_.CrashAfter(n);
    auto done = store_->CompactSegments();
    completed = done.ok() && !env_.crashed();
    env_.SetActive(false);
    store_.reset();
    ASSERT_TRUE(env_.SimulateCrash(&rng, /*torn=*/n % 2 == 1).ok());
    env_.SetActive(true);
    Reopen();
    for (const auto& [lsn, content] : versions) {
      ASSERT_EQ(content, ReadAll(v.head, Lsn(lsn), f))
          << "crash after " << n << " I/Os of compaction, LSN " << lsn;
    }
  }
  std::filesystem::remove_all(start);
  EXPECT_TRUE(completed) << "compaction never got through: raise the step limit";
  std::printf("crash steps: %d\n", steps);
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

// Writers write `pages` pages of one value repeated; readers read one page at a time: a reader
// must never see a mix.
void ConcurrentReadersAndWriters(Store& store, TimelineId head, std::vector<InodeId> files,
                                 size_t pages) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < files.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        std::string data(pages * 16384, static_cast<char>('a' + (i % 26)));
        ASSERT_TRUE(store.Write(head, files[t], (i % 8) * 16384, data).ok());
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      std::vector<char> buf(16384);
      while (!stop.load()) {
        for (InodeId f : files) {
          auto n = store.Read(head, kLatestLsn, f, (pages - 1) * 16384, buf.size(), buf.data());
          ASSERT_TRUE(n.ok()) << n.status().ToString();
          for (size_t i = 1; i < *n; ++i) ASSERT_EQ(buf[0], buf[i]);
        }
      }
    });
  }
  for (size_t t = 0; t < files.size(); ++t) threads[t].join();
  stop = true;
  for (size_t t = files.size(); t < threads.size(); ++t) threads[t].join();
}

TEST_F(StoreTest, ConcurrentReadersAndWriters) {
  auto v = NewVolume();
  std::vector<InodeId> files;
  for (int t = 0; t < 4; ++t) files.push_back(NewFile(v.head, "w" + std::to_string(t)));
  ConcurrentReadersAndWriters(*store_, v.head, files, 1);
}

// The same with compression, two pages per write (each page one frame of a few bytes).
TEST_F(StoreTest, ConcurrentCompressedWritersAndReaders) {
  compress_ = true;
  Reopen();
  auto v = NewVolume();
  std::vector<InodeId> files;
  for (int t = 0; t < 4; ++t) files.push_back(NewFile(v.head, "w" + std::to_string(t)));
  ConcurrentReadersAndWriters(*store_, v.head, files, 2);
  EXPECT_LT(store_->stats().write_stored_bytes * 100, store_->stats().write_bytes);
}

// Text that compresses about as a sysbench table page does (digits and dashes).
std::string SysbenchLikeText(std::mt19937_64& rng, size_t n) {
  std::string s(n, '-');
  for (size_t i = 0; i < n; ++i) {
    if (i % 12 != 11) s[i] = static_cast<char>('0' + rng() % 10);
  }
  return s;
}

// Compressed versions read back exactly at every LSN, for reads of any range: unaligned
// multi-page writes, overwrites inside a compressed chunk (one chunk then serves several pieces
// of a read), truncation, holes; live, after a reopen from the checkpoint, and after a full
// replay, and with compression switched off again (the log says how each record is stored).
TEST_F(StoreTest, CompressedVersionsReadBackAtEveryLsn) {
  const uint64_t seed = rwd::testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto [v, f] = CompressingStoreWithFile();
  std::vector<std::pair<Lsn, std::string>> states;
  std::string model;
  for (int i = 0; i < 200; ++i) {
    const int op = static_cast<int>(rng() % 10);
    if (op == 0) {
      const uint64_t size = rng() % 200000;
      SetAttrRequest r;
      r.size = size;
      ASSERT_TRUE(store_->SetAttr(v.head, f, r).ok());
      model.resize(size, '\0');
    } else {
      const uint64_t off = op < 5 ? rng() % 200000 : (rng() % 12) * 16384;
      const size_t len = op < 3 ? 1 + rng() % 300 : 1 + rng() % 100000;
      std::string data = rng() % 4 == 0 ? std::string(len, static_cast<char>(rng()))
                                        : SysbenchLikeText(rng, len);
      ASSERT_TRUE(store_->Write(v.head, f, off, data).ok());
      if (model.size() < off + len) model.resize(off + len, '\0');
      model.replace(off, len, data);
    }
    states.emplace_back(store_->LastLsn(), model);
  }
  const StoreStats st = store_->stats();
  EXPECT_LT(st.write_stored_bytes, st.write_bytes / 2) << "seed " << seed;
  auto check = [&](const char* when) {
    for (const auto& [lsn, m] : states) {
      ASSERT_EQ(m, ReadAll(v.head, lsn, f)) << when << " lsn " << lsn.value << " seed " << seed;
      for (int k = 0; k < 5 && !m.empty(); ++k) {
        const uint64_t off = rng() % m.size();
        const size_t len = 1 + rng() % 40000;
        std::string buf(len, '?');
        auto n = store_->Read(v.head, lsn, f, off, len, buf.data());
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        buf.resize(*n);
        ASSERT_EQ(m.substr(off, len), buf) << when << " lsn " << lsn.value << " off " << off
                                           << " seed " << seed;
      }
    }
  };
  check("live");
  Reopen();
  ASSERT_TRUE(store_->recovery().loaded_checkpoint);
  check("from the checkpoint");
  store_.reset();
  ASSERT_TRUE(std::filesystem::remove(dir_.path() + "/index.ckpt"));
  compress_ = false;
  Reopen();
  ASSERT_FALSE(store_->recovery().loaded_checkpoint);
  check("after a full replay, compression off");
}

// What does not pay is stored as it came: random bytes, and writes too small to bother.
TEST_F(StoreTest, IncompressibleDataIsStoredRaw) {
  const uint64_t seed = rwd::testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto [v, f] = CompressingStoreWithFile();
  std::string random(65536, '\0');
  for (auto& c : random) c = static_cast<char>(rng());
  const uint64_t log_before = store_->stats().log_bytes;
  ASSERT_TRUE(store_->Write(v.head, f, 0, random).ok());
  ASSERT_TRUE(store_->Write(v.head, f, 70000, std::string(100, 'z')).ok());  // below the minimum
  StoreStats st = store_->stats();
  EXPECT_EQ(st.write_bytes, st.write_stored_bytes);
  EXPECT_EQ(log_before + 2 * kWriteDataOffset + 65536 + 100, st.log_bytes);
  // A compressible write after them is compressed, and all read back.
  const std::string text = SysbenchLikeText(rng, 65536);
  ASSERT_TRUE(store_->Write(v.head, f, 131072, text).ok());
  st = store_->stats();
  EXPECT_LE(st.write_stored_bytes - (65536 + 100), 65536 / 8 * 7);
  std::string all = ReadAll(v.head, kLatestLsn, f);
  ASSERT_EQ(196608u, all.size());
  EXPECT_EQ(random, all.substr(0, 65536));
  EXPECT_EQ(std::string(70000 - 65536, '\0'), all.substr(65536, 70000 - 65536));
  EXPECT_EQ(std::string(100, 'z'), all.substr(70000, 100));
  EXPECT_EQ(std::string(131072 - 70100, '\0'), all.substr(70100, 131072 - 70100));
  EXPECT_EQ(text, all.substr(131072));
}

// A version-2 checkpoint (before compressed extents existed) still loads: its extents are
// byte-identical to version 3's without compression.
TEST_F(StoreTest, Version2CheckpointStillLoads) {
  env_.SetClock(1'800'000'000'000'000'000);  // every record in one second: one activity bucket
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Write(v.head, f, 100, std::string(40000, 'q')).ok());
  store_.reset();  // checkpoint (version 5)
  const std::string path = dir_.path() + "/index.ckpt";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // Version 5 ends with the activity summary (here: fine_from, one timeline, one bucket) and
  // the pins (next pin id, no pin).
  const size_t summary = 8 + 8 + (8 + 8 + 8 + 24) + 8 + 8;
  ASSERT_GT(bytes.size(), 16u + summary);
  bytes.erase(bytes.size() - 4 - summary, summary);
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  ASSERT_EQ(5u, version);
  version = 2;
  std::memcpy(bytes.data() + 8, &version, 4);
  const uint32_t crc = crc32c::Mask(crc32c::Value(bytes.data(), bytes.size() - 4));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  Reopen();
  ASSERT_TRUE(store_->recovery().loaded_checkpoint);
  EXPECT_EQ(0u, store_->recovery().records_replayed);
  EXPECT_EQ(std::string(100, '\0') + std::string(40000, 'q'), ReadAll(v.head, kLatestLsn, f));
}

}  // namespace
}  // namespace rwd::store

namespace rwd::store {
namespace {

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
