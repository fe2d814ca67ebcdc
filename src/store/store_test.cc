// The store's rules, one test each: namespace semantics, reads at LSNs, timelines, volumes,
// concurrent readers and writers, and clear errors for bad input. Durability and the log are
// in store_log_test.cc, compression in store_compress_test.cc.
#include "store/store_test_fixture.h"

namespace rwd::store {
namespace {

// The fixture (StoreTest) of store_test_fixture.h.
using namespace ::rwd::store::testing;

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

}  // namespace
}  // namespace rwd::store
