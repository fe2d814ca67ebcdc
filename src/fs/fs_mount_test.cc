// What is particular to a mount: persistence across a store reopen, read-only mounts at an LSN,
// lookup counts, concurrent requests; and its lifecycle (admitted uids, stopping while busy or
// after an external unmount, start failures, the rewind-mount tool, the errno mapping).
#include "fs/fs_test_fixture.h"

namespace rwd::fs {
namespace {

// The fixture (FsTest) and the helpers of fs_test_fixture.h and fs_test_util.h.
using namespace ::rwd::fs::testing;
using ::rwd::testing::TempDir;

// ---------------------------------------------------------------------------------------------
// Mount-specific behaviour.

TEST_F(FsTest, PersistsAcrossStoreReopen) {
  std::map<std::string, std::string> files;
  ASSERT_EQ(::mkdir(M("db").c_str(), 0750), 0);
  ASSERT_EQ(::mkdir(M("db/sub").c_str(), 0700), 0);
  for (int i = 0; i < 20; ++i) {
    const std::string name = (i % 3 == 0 ? "db/sub/f" : i % 3 == 1 ? "db/f" : "f") +
                             std::to_string(i);
    files[name] = Pattern(static_cast<size_t>(i) * 7777 + 1, 300 + i);
    ASSERT_TRUE(WriteAll(M(name), files[name]));
  }
  // A sparse file, a truncated one, a renamed one, an unlinked one.
  {
    int fd = ::open(M("sparse").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "end", 3, 5 << 20), 3);
    ASSERT_EQ(::fdatasync(fd), 0);
    ::close(fd);
    files["sparse"] = std::string(5 << 20, '\0') + "end";
  }
  ASSERT_EQ(::truncate(M("db/f1").c_str(), 100), 0);
  files["db/f1"].resize(100);
  ASSERT_EQ(::rename(M("f2").c_str(), M("db/renamed").c_str()), 0);
  files["db/renamed"] = files["f2"];
  files.erase("f2");
  ASSERT_EQ(::unlink(M("f5").c_str()), 0);
  files.erase("f5");
  ASSERT_EQ(::mknod(M("db/fifo").c_str(), S_IFIFO | 0600, 0), 0);
  struct stat before;
  ASSERT_EQ(::stat(M("db/sub").c_str(), &before), 0);

  StopMount();
  store_.reset();
  OpenStore();
  auto v = store_->FindVolume("vol");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->head, tl_);
  StartMount();

  for (const auto& [name, content] : files) {
    SCOPED_TRACE(name);
    const std::string got = ReadAll(M(name));
    EXPECT_EQ(got.size(), content.size());
    EXPECT_EQ(Hash(got), Hash(content));
  }
  EXPECT_EQ(ReadAll(M("f5")).substr(0, 12), "<open failed");
  struct stat st;
  ASSERT_EQ(::stat(M("db/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::stat(M("db/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, before.st_ino);
  EXPECT_EQ(st.st_mode, before.st_mode);
}

TEST_F(FsTest, ReadOnlyMountAtLsn) {
  ASSERT_TRUE(WriteAll(M("f"), "version one"));
  ASSERT_EQ(::mkdir(M("d").c_str(), 0755), 0);
  const store::Lsn at = store_->LastLsn();
  ASSERT_TRUE(WriteAll(M("f"), "version two, longer"));
  ASSERT_TRUE(WriteAll(M("d/new"), "new"));
  ASSERT_EQ(::unlink(M("f").c_str()), 0);

  TempDir ro_dir("rewind-fs-ro");
  MountOptions o;
  o.read_only = true;
  o.read_lsn = at;
  auto ro = Mount::Start(store_.get(), tl_, ro_dir.path(), o);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  rwd::fs::testing::RegisterMount(ro_dir.path());
  EXPECT_TRUE((*ro)->read_only());
  EXPECT_EQ((*ro)->lsn(), at);
  const std::string r = ro_dir.path();
  EXPECT_EQ(ReadAll(r + "/f"), "version one");
  struct stat st;
  EXPECT_EQ(::stat((r + "/d/new").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(::open((r + "/f").c_str(), O_WRONLY | O_CLOEXEC), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(::mkdir((r + "/x").c_str(), 0755), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(::unlink((r + "/f").c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  int fd = ::open((r + "/f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fsync(fd), 0);
  ::close(fd);
  // The read-write mount is unaffected.
  EXPECT_EQ(ReadAll(M("d/new")), "new");
  EXPECT_TRUE((*ro)->Stop().ok());
  rwd::fs::testing::UnregisterMount(r);
  EXPECT_FALSE(IsMounted(r));

  // Latest (pinned at start) when no LSN is given.
  MountOptions latest;
  latest.read_only = true;
  auto ro2 = Mount::Start(store_.get(), tl_, ro_dir.path(), latest);
  ASSERT_TRUE(ro2.ok()) << ro2.status().ToString();
  rwd::fs::testing::RegisterMount(ro_dir.path());
  EXPECT_EQ((*ro2)->lsn(), store_->LastLsn());
  EXPECT_EQ(ReadAll(r + "/d/new"), "new");
  EXPECT_TRUE((*ro2)->Stop().ok());
  rwd::fs::testing::UnregisterMount(r);
}

TEST_F(FsTest, LookupCountsReturnToZero) {
  ASSERT_EQ(::mkdir(M("lc").c_str(), 0755), 0);
  auto dir = store_->Lookup(tl_, store::kLatestLsn, store::kRootInode, "lc");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(mount_->LookupCount(*dir), 1u);  // from mkdir
  std::vector<store::InodeId> inos;
  for (int i = 0; i < 50; ++i) {
    const std::string p = M("lc/f" + std::to_string(i));
    ASSERT_TRUE(WriteAll(p, "x"));
    struct stat st;
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    inos.push_back(store::InodeId(st.st_ino));
    EXPECT_GE(mount_->LookupCount(inos.back()), 1u);
  }
  EXPECT_GE(mount_->stats().known_inodes, 51u);
  // Unlinked inodes leave the kernel's cache: FORGET brings their counts back to 0.
  for (int i = 0; i < 50; ++i) ASSERT_EQ(::unlink(M("lc/f" + std::to_string(i)).c_str()), 0);
  ASSERT_EQ(::rmdir(M("lc").c_str()), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (mount_->stats().known_inodes > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(mount_->stats().known_inodes, 0u);
  for (store::InodeId ino : inos) EXPECT_EQ(mount_->LookupCount(ino), 0u);
  EXPECT_EQ(mount_->LookupCount(*dir), 0u);
  EXPECT_EQ(mount_->stats().forget_mismatches, 0u);
}

TEST_F(FsTest, ConcurrentReadersAndWriters) {
  constexpr int kThreads = 4;
  constexpr int kOps = 400;
  ASSERT_EQ(::mkdir(M("c").c_str(), 0755), 0);
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  std::vector<std::string> models(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string path = M("c/file" + std::to_string(t));
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) return void(failures++);
      std::string& model = models[t];
      std::mt19937_64 rng(1000 + t);
      uint64_t state = 77 + t;
      for (int i = 0; i < kOps; ++i) {
        const size_t n = 1 + rng() % 65536;
        const size_t off = rng() % (1 << 20);
        const std::string data = RandomBytes(&state, n);
        if (::pwrite(fd, data.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) {
          failures++;
          break;
        }
        if (model.size() < off + n) model.resize(off + n, '\0');
        model.replace(off, n, data);
        if (i % 4 == 0) {
          const size_t roff = rng() % model.size();
          const size_t rn = std::min<size_t>(1 + rng() % 100000, model.size() - roff);
          std::string buf(rn, '\0');
          if (::pread(fd, buf.data(), rn, static_cast<off_t>(roff)) != static_cast<ssize_t>(rn) ||
              buf != model.substr(roff, rn)) {
            failures++;
          }
        }
        if (i % 50 == 0) ::fdatasync(fd);
      }
      ::close(fd);
    });
  }
  // Namespace churn and stats next to the data traffic.
  std::thread churn([&] {
    int i = 0;
    while (!done.load()) {
      const std::string p = M("c/tmp" + std::to_string(i++ % 10));
      if (!WriteAll(p, "tmp")) failures++;
      struct stat st;
      if (::stat(M("c").c_str(), &st) != 0) failures++;
      if (i % 2 == 0 && ::unlink(p.c_str()) != 0) failures++;
    }
  });
  for (auto& th : threads) th.join();
  done = true;
  churn.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    const std::string got = ReadAll(M("c/file" + std::to_string(t)));
    EXPECT_EQ(got.size(), models[t].size());
    EXPECT_TRUE(got == models[t]) << "file" << t << " differs";
  }
}

// opendir/readdir/closedir from several threads at once: RELEASEDIR of a handle may run the
// moment its last READDIR reply is out (this once freed a handle still being unlocked).
TEST_F(FsTest, ConcurrentDirectoryListings) {
  ASSERT_EQ(::mkdir(M("ls").c_str(), 0755), 0);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(WriteAll(M("ls/entry-" + std::to_string(i)), ""));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 100; ++round) {
        DIR* d = ::opendir(M("ls").c_str());
        if (d == nullptr) {
          failures++;
          continue;
        }
        int n = 0;
        while (::readdir(d) != nullptr) ++n;
        ::closedir(d);
        if (n != 302) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// InnoDB-like: several threads writing disjoint pages of one file with O_DIRECT.
TEST_F(FsTest, ConcurrentDirectWritesToOneFile) {
  constexpr int kThreads = 4;
  constexpr int kPages = 256;
  constexpr size_t kPage = 16384;
  const std::string path = M("shared.ibd");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0660);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::fallocate(fd, 0, 0, kPages * kPage), 0) << std::strerror(errno);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      void* buf;
      if (posix_memalign(&buf, 4096, kPage) != 0) return void(failures++);
      for (int round = 0; round < 3; ++round) {
        for (int p = t; p < kPages; p += kThreads) {
          const std::string data = Pattern(kPage, p * 10 + round);
          std::memcpy(buf, data.data(), kPage);
          if (::pwrite(fd, buf, kPage, static_cast<off_t>(p) * kPage) !=
              static_cast<ssize_t>(kPage)) {
            failures++;
          }
        }
        if (::fdatasync(fd) != 0) failures++;
      }
      std::free(buf);
    });
  }
  for (auto& th : threads) th.join();
  ::close(fd);
  EXPECT_EQ(failures.load(), 0);
  const std::string got = ReadAll(path);
  ASSERT_EQ(got.size(), kPages * kPage);
  for (int p = 0; p < kPages; ++p) {
    EXPECT_TRUE(got.compare(p * kPage, kPage, Pattern(kPage, p * 10 + 2)) == 0) << "page " << p;
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle.

// In a child switched to `uid` (raw system calls only: this process has FUSE threads), opens
// the mount's root directory and lists it, then opens and reads `file`. Returns
// {errno of the listing, errno of the read}, 0 for success.
std::pair<int, int> TryAsUid(uid_t uid, const std::string& dir, const std::string& file) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return {-1, -1};
  pid_t pid = ::fork();
  if (pid == 0) {
    int result[2] = {0, 0};
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, uid, uid, uid) != 0 ||
        ::syscall(SYS_setresuid, uid, uid, uid) != 0) {
      ::_exit(2);
    }
    int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char buffer[4096];
    if (d < 0 || ::syscall(SYS_getdents64, d, buffer, sizeof(buffer)) < 0) result[0] = errno;
    int f = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (f < 0 || ::read(f, buffer, sizeof(buffer)) < 0) result[1] = errno;
    (void)!::write(report[1], result, sizeof(result));
    ::_exit(0);
  }
  ::close(report[1]);
  int result[2] = {-1, -1};
  (void)!::read(report[0], result, sizeof(result));
  ::close(report[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child for uid " << uid;
  return {result[0], result[1]};
}

TEST_F(FsTest, OnlyAdmittedUidsAndRootMayUseTheMount) {
  ASSERT_EQ(0u, ::geteuid()) << "needs root: switches users and mounts with allow_other";
  constexpr uid_t kAdmitted = 65533;
  constexpr uid_t kOther = 65534;  // nobody
  StopMount();
  MountOptions o;
  o.allow_other = true;
  o.admitted_uids = {kAdmitted};
  StartMount(o);
  ASSERT_TRUE(WriteAll(M("secret"), "tenant data"));
  ASSERT_EQ(0, ::chmod(M("secret").c_str(), 0644));  // mode bits are no barrier here

  auto [other_list, other_read] = TryAsUid(kOther, mnt_.path(), M("secret"));
  EXPECT_EQ(EACCES, other_list);
  EXPECT_EQ(EACCES, other_read);
  auto [admitted_list, admitted_read] = TryAsUid(kAdmitted, mnt_.path(), M("secret"));
  EXPECT_EQ(0, admitted_list);
  EXPECT_EQ(0, admitted_read);
  EXPECT_EQ("tenant data", ReadAll(M("secret")));  // root still may
}

TEST_F(FsTest, StopWhileBusyDetachesAndDoesNotHang) {
  ASSERT_TRUE(WriteAll(M("open"), "data"));
  int fd = ::open(M("open").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Status s = mount_->Stop();
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
  EXPECT_FALSE(IsMounted(mnt_.path()));
  EXPECT_FALSE(mount_->running());
  char buf[8];
  EXPECT_EQ(::pread(fd, buf, sizeof(buf), 0), -1);  // the connection is gone
  ::close(fd);
  EXPECT_TRUE(mount_->Stop().ok());  // idempotent
  rwd::fs::testing::UnregisterMount(mnt_.path());
  mount_.reset();
  // The mountpoint is usable again.
  StartMount();
  EXPECT_EQ(ReadAll(M("open")), "data");
}

TEST_F(FsTest, ExternalUnmountThenStop) {
  ASSERT_EQ(::umount2(mnt_.path().c_str(), 0), 0) << std::strerror(errno);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (mount_->running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(mount_->running());
  EXPECT_TRUE(mount_->Stop().ok());
  rwd::fs::testing::UnregisterMount(mnt_.path());
  mount_.reset();
}

TEST_F(FsTest, DestructorUnmounts) {
  ASSERT_TRUE(WriteAll(M("x"), "y"));
  rwd::fs::testing::UnregisterMount(mnt_.path());
  mount_.reset();
  EXPECT_FALSE(IsMounted(mnt_.path()));
}

TEST_F(FsTest, StartFailuresAreClear) {
  auto missing = Mount::Start(store_.get(), tl_, mnt_.path() + "-does-not-exist");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound) << missing.status().ToString();
  auto bad_tl = Mount::Start(store_.get(), store::TimelineId(999999), plain_.path());
  ASSERT_FALSE(bad_tl.ok());
  EXPECT_EQ(bad_tl.status().code(), Status::Code::kNotFound) << bad_tl.status().ToString();
  ASSERT_TRUE(WriteAll(plain_.path() + "/file", "x"));
  auto not_dir = Mount::Start(store_.get(), tl_, plain_.path() + "/file");
  ASSERT_FALSE(not_dir.ok());
  EXPECT_EQ(not_dir.status().code(), Status::Code::kNotDirectory);
  auto no_store = Mount::Start(nullptr, tl_, plain_.path());
  EXPECT_FALSE(no_store.ok());
  MountOptions future;
  future.read_only = true;
  future.read_lsn = store::Lsn(store_->LastLsn().value + 1);
  auto in_future = Mount::Start(store_.get(), tl_, plain_.path(), future);
  ASSERT_FALSE(in_future.ok());
  EXPECT_EQ(in_future.status().code(), Status::Code::kInvalidArgument);
  MountOptions rw_at_lsn;
  rw_at_lsn.read_lsn = store::Lsn(1);
  EXPECT_FALSE(Mount::Start(store_.get(), tl_, plain_.path(), rw_at_lsn).ok());
  for (int priority : {-1, 100}) {
    MountOptions bad_priority;
    bad_priority.realtime_priority = priority;
    auto refused = Mount::Start(store_.get(), tl_, plain_.path(), bad_priority);
    ASSERT_FALSE(refused.ok()) << priority;
    EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(refused.status().ToString().find("realtime_priority"), std::string::npos);
  }
  EXPECT_FALSE(IsMounted(plain_.path()));
  EXPECT_FALSE(IsMounted(plain_.path() + "/file"));
}

// The debug tool: mounts, serves, unmounts cleanly on SIGTERM.
TEST_F(FsTest, RewindMountToolRunsUntilSignalled) {
  StopMount();
  store_.reset();  // the tool opens the store itself
  TempDir tool_mnt("rewind-fs-tool");
  const std::string store_dir = store_dir_.path();
  const std::string mp = tool_mnt.path();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(REWIND_MOUNT_BIN, "rewind-mount", "--store", store_dir.c_str(), "--volume", "tool",
            "--create", mp.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!IsMounted(mp) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(IsMounted(mp)) << "rewind-mount did not mount " << mp;
  rwd::fs::testing::RegisterMount(mp);
  EXPECT_TRUE(WriteAll(mp + "/hello", "from the tool"));
  EXPECT_EQ(ReadAll(mp + "/hello"), "from the tool");
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  rwd::fs::testing::UnregisterMount(mp);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "status " << wstatus;
  EXPECT_FALSE(IsMounted(mp));
  // The data is in the store, in the volume the tool created.
  OpenStore();
  auto v = store_->FindVolume("tool");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  tl_ = v->head;
  StartMount();
  EXPECT_EQ(ReadAll(M("hello")), "from the tool");
}

TEST(FsErrnoTest, MapsStatusCodes) {
  EXPECT_EQ(ErrnoFromStatus(Status::Ok()), 0);
  EXPECT_EQ(ErrnoFromStatus(Status::NotFound("")), ENOENT);
  EXPECT_EQ(ErrnoFromStatus(Status::AlreadyExists("")), EEXIST);
  EXPECT_EQ(ErrnoFromStatus(Status::NotEmpty("")), ENOTEMPTY);
  EXPECT_EQ(ErrnoFromStatus(Status::NotDirectory("")), ENOTDIR);
  EXPECT_EQ(ErrnoFromStatus(Status::IsDirectory("")), EISDIR);
  EXPECT_EQ(ErrnoFromStatus(Status::InvalidArgument("")), EINVAL);
  EXPECT_EQ(ErrnoFromStatus(Status::NoSpace("")), ENOSPC);
  EXPECT_EQ(ErrnoFromStatus(Status::IOError("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Status::Corruption("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Status::Busy("")), EIO);
}

}  // namespace
}  // namespace rwd::fs
