// Tests of the FUSE filesystem on real mounts (under /tmp, in a private mount namespace, see
// fs_test_util.h): POSIX comparison against a plain directory, persistence across a store
// reopen, read-only LSN mounts, lookup counts, concurrency, and mount lifecycle. A failure to
// mount FAILS the test: nothing here is skipped.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "fs/fs_test_util.h"
#include "fs/mount.h"
#include "store/fault_env.h"
#include "store/store.h"

namespace rwd::fs {
namespace {

using ::rwd::fs::testing::Hash;
using ::rwd::fs::testing::IsMounted;
using ::rwd::fs::testing::PosixRecorder;
using ::rwd::fs::testing::RandomBytes;
using ::rwd::fs::testing::SameTranscript;
using ::rwd::testing::TempDir;

std::string Pattern(size_t n, uint64_t seed) {
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  return RandomBytes(&state, n);
}

std::string ReadAll(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<open failed: " + std::string(std::strerror(errno)) + ">";
  std::string all;
  char buf[65536];
  ssize_t r;
  while ((r = ::read(fd, buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(r));
  ::close(fd);
  return all;
}

bool WriteAll(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::pwrite(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size());
  ok = ::close(fd) == 0 && ok;
  return ok;
}

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    rwd::fs::testing::ArmWatchdog(300, std::string(info->test_suite_name()) + "." + info->name());
    OpenStore();
    ASSERT_NE(store_, nullptr);
    auto v = store_->CreateVolume("vol");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    tl_ = v->head;
    StartMount();
  }

  void TearDown() override {
    StopMount();
    store_.reset();
    rwd::fs::testing::DisarmWatchdog();
  }

  void OpenStore() {
    store::StoreOptions o;
    o.dir = store_dir_.path();
    o.env = env_;
    auto s = store::Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  void StartMount(MountOptions o = {}) {
    o.statfs_dir = store_dir_.path();
    if (const char* t = std::getenv("REWIND_FS_THREADS")) o.max_threads = std::atoi(t);
    auto m = Mount::Start(store_.get(), tl_, mnt_.path(), o);
    // A mount that cannot start is a failure, never a skip.
    ASSERT_TRUE(m.ok()) << "FUSE mount failed: " << m.status().ToString();
    mount_ = std::move(*m);
    rwd::fs::testing::RegisterMount(mnt_.path());
    ASSERT_TRUE(IsMounted(mnt_.path()));
  }

  void StopMount() {
    if (!mount_) return;
    EXPECT_EQ(mount_->stats().forget_mismatches, 0u);
    Status s = mount_->Stop();
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(IsMounted(mnt_.path())) << mnt_.path() << " still mounted after Stop";
    rwd::fs::testing::UnregisterMount(mnt_.path());
    mount_.reset();
  }

  std::string M(const std::string& rel) const { return mnt_.path() + "/" + rel; }

  // Runs `script` on a plain directory and on the mount; expects identical transcripts.
  void Compare(const std::function<void(PosixRecorder&)>& script) {
    std::vector<std::string> plain_log, fuse_log;
    {
      PosixRecorder plain(plain_.path());
      script(plain);
      plain_log = plain.log();
    }
    {
      PosixRecorder fuse(mnt_.path());
      script(fuse);
      fuse_log = fuse.log();
    }
    std::string diff;
    EXPECT_TRUE(SameTranscript(plain_log, fuse_log, &diff)) << diff;
  }

  TempDir store_dir_{"rewind-fs-store"};
  TempDir mnt_{"rewind-fs-mnt"};
  TempDir plain_{"rewind-fs-plain"};
  store::Env* env_ = nullptr;  // the store's Env (nullptr: the default); not owned
  std::unique_ptr<store::Store> store_;
  store::TimelineId tl_;
  std::unique_ptr<Mount> mount_;
};

// ---------------------------------------------------------------------------------------------
// POSIX comparison: the same real syscalls on the mount and on a plain directory.

TEST_F(FsTest, OddOffsetsAndSizes) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("odd", O_RDWR | O_CREAT, 0644);
    const std::vector<std::pair<off_t, size_t>> writes = {
        {0, 1},      {1, 3},         {4095, 2},       {4097, 4097}, {65535, 70000},
        {3, 1},      {131071, 1},    {200000, 1 << 20}, {7, 8191},  {1300000, (1 << 20) + 3},
    };
    uint64_t seed = 1;
    for (auto [off, n] : writes) r.Pwrite(f, Pattern(n, seed++), off);
    r.Fstat(f);
    const std::vector<std::pair<off_t, size_t>> reads = {
        {0, 1},          {0, 10},      {4090, 20},      {4096, 8192}, {65530, 100000},
        {199999, 3},     {1000000, 1}, {2400000, 1 << 20}, {3000000, 10}, {2348579, 100},
        {0, 3 << 20},
    };
    for (auto [off, n] : reads) r.Pread(f, n, off);
    r.Close(f);
    r.ReadFile("odd");
  });
}

TEST_F(FsTest, SparseFileHolesReadZeros) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("sparse", O_RDWR | O_CREAT, 0600);
    r.Pwrite(f, "head", 0);
    r.Pwrite(f, Pattern(5000, 3), 10 << 20);
    r.Pwrite(f, "mid", 3 << 20);
    r.Fstat(f);
    r.Pread(f, 100, 4);
    r.Pread(f, 1 << 20, 1 << 20);
    r.Pread(f, 10000, (10 << 20) - 5000);
    r.Pread(f, 1 << 20, (3 << 20) - 100);
    r.Close(f);
    r.ReadFile("sparse");
  });
}

TEST_F(FsTest, TruncateDownAndUp) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("t", O_RDWR | O_CREAT, 0644);
    r.Pwrite(f, Pattern(100000, 4), 0);
    r.Ftruncate(f, 5000);
    r.Fstat(f);
    r.Pread(f, 10000, 0);
    r.Ftruncate(f, 50000);
    r.Fstat(f);
    r.Pread(f, 50000, 0);      // bytes past 5000 read zeros
    r.Pread(f, 100, 4990);
    r.Pwrite(f, "xyz", 70000);  // write past the end after an extension
    r.Pread(f, 80000, 0);
    r.Truncate("t", 1);
    r.Stat("t");
    r.Truncate("t", 0);
    r.Truncate("missing", 10);
    r.Pread(f, 10, 0);
    r.Ftruncate(f, -1);
    r.Close(f);
    // O_TRUNC on open.
    int g = r.Open("t2", O_RDWR | O_CREAT, 0644);
    r.Pwrite(g, Pattern(3000, 5), 0);
    r.Close(g);
    g = r.Open("t2", O_RDWR | O_TRUNC);
    r.Fstat(g);
    r.Pread(g, 10, 0);
    r.Close(g);
  });
}

TEST_F(FsTest, RenameFiles) {
  Compare([](PosixRecorder& r) {
    int a = r.Open("a", O_RDWR | O_CREAT, 0644);
    r.Pwrite(a, "content of a", 0);
    int b = r.Open("b", O_RDWR | O_CREAT, 0644);
    r.Pwrite(b, "b's older, longer content", 0);
    r.Rename("a", "b");  // over an existing file
    r.Stat("a");
    r.Stat("b");
    r.ReadFile("b");
    r.Pread(b, 100, 0);  // the replaced file stays readable through its fd
    r.Pwrite(b, "still writable", 0);
    r.Pread(a, 100, 0);
    r.Rename("b", "b");  // onto itself: nothing happens
    r.ReadFile("b");
    r.Rename("missing", "c");
    r.Open("c", O_RDWR | O_CREAT | O_EXCL, 0644);
    r.Rename("b", "c", RENAME_NOREPLACE);
    r.Rename("b", "d", RENAME_NOREPLACE);
    r.ReadFile("d");
    r.Mkdir("dir");
    r.Rename("d", "dir/d");
    r.Rename("dir/d", "nodir/d");
    r.Rename("c", "dir");  // a file over a directory
    r.ReadDir("");
    r.ReadDir("dir");
    r.Close(a);
    r.Close(b);
  });
}

TEST_F(FsTest, RenameDirectories) {
  Compare([](PosixRecorder& r) {
    r.Mkdir("d");
    r.Mkdir("d/sub");
    int f = r.Open("d/sub/f", O_RDWR | O_CREAT, 0644);
    r.Pwrite(f, "in a subdirectory", 0);
    r.Close(f);
    r.Rename("d", "e");
    r.ReadFile("e/sub/f");
    r.Stat("d");
    r.ReadDir("e");
    r.Mkdir("empty");
    r.Rename("e", "empty");  // over an empty directory
    r.ReadDir("");
    r.ReadFile("empty/sub/f");
    r.Mkdir("full");
    r.Mkdir("full/x");
    r.Rename("empty", "full");  // over a non-empty directory
    r.Open("file", O_RDWR | O_CREAT, 0644);
    r.Rename("full", "file");  // a directory over a file
    r.Rename("full", "full/x/inside");  // into itself
    r.Rename("full/x", "top");  // out of a directory
    r.Rename("empty/sub", "full/sub");  // across directories
    r.ReadDir("full");
    r.ReadDir("empty");
    r.Stat("full/sub/f");
    r.Rmdir("empty");
    r.ReadDir("");
  });
}

TEST_F(FsTest, UnlinkWhileOpen) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("victim", O_RDWR | O_CREAT, 0644);
    r.Pwrite(f, Pattern(20000, 6), 0);
    r.Fdatasync(f);
    r.Unlink("victim");
    r.Stat("victim");
    r.Pread(f, 20000, 0);  // still readable through the fd
    r.Pwrite(f, "after unlink", 19990);  // and writable
    r.Pread(f, 100, 19980);
    r.Fstat(f);  // nlink 0
    r.Ftruncate(f, 100);
    r.Fstat(f);
    r.Fsync(f);
    int g = r.Open("victim", O_RDWR | O_CREAT, 0644);  // a new file by the same name
    r.Fstat(g);
    r.Pread(g, 10, 0);
    r.Pread(f, 200, 0);
    r.Close(f);
    r.Close(g);
    r.ReadDir("");
    r.Unlink("victim");
    r.Unlink("victim");
  });
}

TEST_F(FsTest, CreateExclusive) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("x", O_RDWR | O_CREAT | O_EXCL, 0640);
    r.Close(f);
    r.Open("x", O_RDWR | O_CREAT | O_EXCL, 0640);
    r.Open("x", O_RDWR | O_CREAT | O_EXCL | O_DIRECT, 0640);
    r.Mkdir("d");
    r.Open("d", O_RDWR | O_CREAT | O_EXCL, 0640);
    r.Open("d", O_RDWR | O_CREAT, 0640);
    r.Open("d", O_RDONLY);
    r.Open("missing", O_RDONLY);
    r.Open("nodir/x", O_RDWR | O_CREAT, 0640);
    r.Open("x/y", O_RDWR | O_CREAT, 0640);  // a file as a path component
    r.Stat("x");
    r.Open(std::string(256, 'n'), O_RDWR | O_CREAT, 0640);
    r.Open(std::string(255, 'n'), O_RDWR | O_CREAT, 0640);
    r.ReadDir("");
    // MariaDB's case-sensitivity probe.
    r.Open("host.lower-test", O_RDWR | O_CREAT, 0640);
    r.Stat("HOST.LOWER-TEST");
    r.Unlink("host.lower-test");
  });
}

TEST_F(FsTest, DirectIo) {
  Compare([](PosixRecorder& r) {
    // As InnoDB opens its files: O_RDWR|O_CREAT|O_EXCL|O_DIRECT, then O_RDWR|O_DIRECT.
    int f = r.Open("ibdata1", O_RDWR | O_CREAT | O_EXCL | O_DIRECT, 0660);
    r.Fallocate(f, 0, 0, 1 << 20);
    for (int i = 0; i < 16; ++i) {
      r.PwriteAligned(f, Pattern(16384, 10 + i), static_cast<off_t>(i) * 65536);
    }
    r.PwriteAligned(f, Pattern(4096, 99), 4096);
    r.Fdatasync(f);
    r.Close(f);
    f = r.Open("ibdata1", O_RDWR | O_DIRECT);
    r.PreadAligned(f, 1 << 20, 0);
    r.PreadAligned(f, 16384, 65536 * 3);
    r.PwriteAligned(f, Pattern(1 << 20, 7), 1 << 20);  // extends, 1 MiB in one request
    r.PreadAligned(f, 2 << 20, 0);
    r.Fstat(f);
    r.Close(f);
    r.ReadFile("ibdata1");  // and through the page cache
  });
}

TEST_F(FsTest, ManyCreatesThenReaddir) {
  Compare([](PosixRecorder& r) {
    r.Mkdir("many");
    for (int i = 0; i < 1000; ++i) {
      int f = r.Open("many/file" + std::to_string(i * 7919 % 1000), O_WRONLY | O_CREAT, 0644);
      if (i % 100 == 0) r.Write(f, "x" + std::to_string(i));
      r.Close(f);
    }
    r.ReadDir("many");
    for (int i = 0; i < 1000; i += 3) r.Unlink("many/file" + std::to_string(i));
    r.ReadDir("many");
    r.Rmdir("many");
  });
}

TEST_F(FsTest, MkdirRmdirErrors) {
  Compare([](PosixRecorder& r) {
    r.Mkdir("d");
    r.Mkdir("d");
    r.Mkdir("d/e");
    r.Rmdir("d");  // not empty
    r.Unlink("d");  // a directory
    int f = r.Open("d/e/f", O_RDWR | O_CREAT, 0644);
    r.Close(f);
    r.Rmdir("d/e/f");  // not a directory
    r.Rmdir("missing");
    r.Mkdir("missing/x");
    r.Mkdir("d/e/f/x");
    r.Unlink("d/e/f");
    r.Rmdir("d/e");
    r.Rmdir("d");
    r.Stat("d");
    r.Mkdir("m", 0700);
    r.Stat("m");
    r.Chmod("m", 0751);
    r.Stat("m");
    r.ReadDir("");
  });
}

// A redo log's commits, then fsyncs of the file and its directories; returns the file's slot.
int RedoLogCommits(PosixRecorder& r) {
  r.Mkdir("db");
  int f = r.Open("db/ib_logfile0", O_RDWR | O_CREAT, 0660);
  for (int i = 0; i < 20; ++i) {
    r.Pwrite(f, Pattern(512, 100 + i), 512 * i);
    r.Fdatasync(f);
  }
  r.Fsync(f);
  r.FsyncDir("db");
  r.FsyncDir("");
  return f;
}

TEST_F(FsTest, FsyncFdatasyncAndDirectoryFsync) {
  Compare([](PosixRecorder& r) {
    int f = RedoLogCommits(r);
    r.Close(f);
    r.ReadFile("db/ib_logfile0");
  });
}

TEST_F(FsTest, FallocateModeZeroExtends) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("fa", O_RDWR | O_CREAT, 0644);
    r.Pwrite(f, "abc", 0);
    r.Fallocate(f, 0, 0, 65536);
    r.Fstat(f);
    r.Pread(f, 65536, 0);
    r.Fallocate(f, 0, 100, 10);  // inside: no change
    r.Fstat(f);
    r.Fallocate(f, 0, 1 << 20, 4096);
    r.Fstat(f);
    r.Pread(f, 8192, (1 << 20) - 4096);
    r.Fallocate(f, 0, 0, 0);
    r.Fallocate(f, 0, -1, 10);
    r.Close(f);
  });
}

TEST_F(FsTest, SymlinksAndSpecialFiles) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("target", O_RDWR | O_CREAT, 0644);
    r.Pwrite(f, "through the link", 0);
    r.Close(f);
    r.Symlink("target", "link");
    r.Lstat("link");
    r.Stat("link");
    r.Readlink("link");
    r.ReadFile("link");
    r.Symlink("target", "link");
    r.Symlink("/absolute/dangling/target", "dangling");
    r.Readlink("dangling");
    r.Stat("dangling");
    r.Readlink("target");
    r.Mknod("fifo", S_IFIFO | 0600);
    r.Stat("fifo");
    r.Mknod("fifo", S_IFIFO | 0600);
    r.Mknod("regular", S_IFREG | 0640);
    r.Stat("regular");
    r.ReadDir("");
    r.Unlink("link");
    r.Unlink("fifo");
    r.ReadDir("");
  });
}

TEST_F(FsTest, AppendAndSequentialWrites) {
  Compare([](PosixRecorder& r) {
    int f = r.Open("log", O_WRONLY | O_CREAT | O_APPEND, 0644);
    for (int i = 0; i < 50; ++i) r.Write(f, Pattern(100 + i * 37, 200 + i));
    r.Pwrite(f, "pwrite with O_APPEND goes to the end on Linux", 0);
    r.Fstat(f);
    r.Close(f);
    int g = r.Open("log", O_RDWR);
    r.Lseek(g, 1000, SEEK_SET);
    r.Write(g, "overwrite at 1000");
    r.Lseek(g, 0, SEEK_END);
    r.Write(g, "tail");
    r.Lseek(g, 100, SEEK_END);
    r.Write(g, "after a gap");
    r.Fstat(g);
    r.Close(g);
    r.ReadFile("log");
  });
}

// mariadbd binds its Unix socket inside the datadir: mknod(S_IFSOCK) through FUSE.
TEST_F(FsTest, UnixSocketInside) {
  for (const std::string& root : {plain_.path(), mnt_.path()}) {
    SCOPED_TRACE(root);
    const std::string path = root + "/mysqld.sock";
    int srv = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(srv, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof(addr.sun_path));
    std::strcpy(addr.sun_path, path.c_str());
    ASSERT_EQ(::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    ASSERT_EQ(::listen(srv, 4), 0);
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    int cli = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(::connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    int conn = ::accept(srv, nullptr, nullptr);
    ASSERT_GE(conn, 0);
    ASSERT_EQ(::write(cli, "ping", 4), 4);
    char buf[8] = {};
    ASSERT_EQ(::read(conn, buf, sizeof(buf)), 4);
    EXPECT_STREQ(buf, "ping");
    ::close(conn);
    ::close(cli);
    ::close(srv);
    // A second bind on the existing socket file fails as on any filesystem.
    int again = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::bind(again, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), -1);
    EXPECT_EQ(errno, EADDRINUSE);
    ::close(again);
    EXPECT_EQ(::unlink(path.c_str()), 0);
  }
}

TEST_F(FsTest, StatFieldsAndTimes) {
  ASSERT_TRUE(WriteAll(M("s"), "12345"));
  struct stat a, b, c;
  ASSERT_EQ(::stat(M("s").c_str(), &a), 0);
  ASSERT_EQ(::stat(M("s").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_NE(a.st_ino, 1u);
  EXPECT_EQ(a.st_size, 5);
  EXPECT_TRUE(S_ISREG(a.st_mode));
  EXPECT_EQ(a.st_nlink, 1u);
  EXPECT_EQ(a.st_uid, ::getuid());
  struct stat root;
  ASSERT_EQ(::stat(mnt_.path().c_str(), &root), 0);
  EXPECT_EQ(root.st_ino, 1u);
  EXPECT_TRUE(S_ISDIR(root.st_mode));
  // The inode number is the store's, stable across renames and a remount.
  ASSERT_EQ(::rename(M("s").c_str(), M("s2").c_str()), 0);
  ASSERT_EQ(::stat(M("s2").c_str(), &c), 0);
  EXPECT_EQ(a.st_ino, c.st_ino);
  auto ino = store_->Lookup(tl_, store::kLatestLsn, store::kRootInode, "s2");
  ASSERT_TRUE(ino.ok());
  EXPECT_EQ(ino->value, c.st_ino);
  StopMount();
  StartMount();
  ASSERT_EQ(::stat(M("s2").c_str(), &c), 0);
  EXPECT_EQ(a.st_ino, c.st_ino);

  // utimensat: explicit times, UTIME_NOW, UTIME_OMIT.
  timespec times[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  ASSERT_EQ(::utimensat(AT_FDCWD, M("s2").c_str(), times, 0), 0);
  ASSERT_EQ(::stat(M("s2").c_str(), &c), 0);
  EXPECT_EQ(c.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(c.st_atim.tv_nsec, 123456789);
  EXPECT_EQ(c.st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(c.st_mtim.tv_nsec, 987654321);
  timespec now_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  const time_t before = ::time(nullptr);
  ASSERT_EQ(::utimensat(AT_FDCWD, M("s2").c_str(), now_omit, 0), 0);
  ASSERT_EQ(::stat(M("s2").c_str(), &c), 0);
  EXPECT_EQ(c.st_atim.tv_sec, 1000000000);
  EXPECT_GE(c.st_mtim.tv_sec, before - 1);
  EXPECT_LE(c.st_mtim.tv_sec, ::time(nullptr) + 1);
  // chmod / chown.
  ASSERT_EQ(::chmod(M("s2").c_str(), 0604), 0);
  ASSERT_EQ(::chown(M("s2").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::stat(M("s2").c_str(), &c), 0);
  EXPECT_EQ(c.st_mode & 07777, 0604u);
  EXPECT_EQ(c.st_uid, 1234u);
  EXPECT_EQ(c.st_gid, 5678u);
  // A write moves mtime forward.
  timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, M("s2").c_str(), old, 0), 0);
  int fd = ::open(M("s2").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "x", 1, 100), 1);
  ASSERT_EQ(::fstat(fd, &c), 0);
  EXPECT_EQ(c.st_size, 101);
  EXPECT_GT(c.st_mtim.tv_sec, 1000000000) << "a write does not update mtime";
  ::close(fd);
}

TEST_F(FsTest, StatfsReportsBackingDisk) {
  struct statvfs mine, backing;
  ASSERT_EQ(::statvfs(mnt_.path().c_str(), &mine), 0);
  ASSERT_EQ(::statvfs(store_dir_.path().c_str(), &backing), 0);
  EXPECT_EQ(mine.f_namemax, 255u);
  EXPECT_EQ(mine.f_frsize, backing.f_frsize);
  EXPECT_EQ(mine.f_blocks, backing.f_blocks);
  // Free space moves while the machine runs; within 1 GiB.
  const double mine_free = static_cast<double>(mine.f_bavail) * mine.f_frsize;
  const double real_free = static_cast<double>(backing.f_bavail) * backing.f_frsize;
  EXPECT_NEAR(mine_free, real_free, 1024.0 * 1024 * 1024);
}

TEST_F(FsTest, UnsupportedOperationsFailCleanly) {
  ASSERT_TRUE(WriteAll(M("f"), "data"));
  // Extended attributes: ENOSYS from us, EOPNOTSUPP to the caller (the kernel stops asking).
  char buf[64];
  EXPECT_EQ(::getxattr(M("f").c_str(), "security.capability", buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(::listxattr(M("f").c_str(), buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(::setxattr(M("f").c_str(), "user.x", "1", 1, 0), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  // No hard links.
  EXPECT_EQ(::link(M("f").c_str(), M("g").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  // RENAME_EXCHANGE is refused.
  ASSERT_TRUE(WriteAll(M("h"), "other"));
  EXPECT_EQ(::renameat2(AT_FDCWD, M("f").c_str(), AT_FDCWD, M("h").c_str(), RENAME_EXCHANGE), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(ReadAll(M("f")), "data");
  // fallocate modes other than 0.
  int fd = ::open(M("f").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8192), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  // POSIX locks are the kernel's: they work.
  struct flock lk {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  EXPECT_EQ(::fcntl(fd, F_SETLK, &lk), 0) << std::strerror(errno);
  // The mmap that InnoDB tries on ib_logfile0 may fail; a plain shared read mapping works.
  void* p = ::mmap(nullptr, 4, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << std::strerror(errno);
  EXPECT_EQ(std::memcmp(p, "data", 4), 0);
  ::munmap(p, 4);
  ::close(fd);
}

// ---------------------------------------------------------------------------------------------
// Seeded random sequences of operations, mount vs plain directory.

void RandomScript(PosixRecorder& r, uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  uint64_t bytes_state = seed | 1;
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> dirs = {"", "d1", "d2", "d1/e"};
  const std::vector<std::string> names = {"a", "b", "c", "d1", "e"};
  auto path = [&] {
    const std::string& d = dirs[pick(dirs.size())];
    const std::string& n = names[pick(names.size())];
    return d.empty() ? n : d + "/" + n;
  };
  auto any_slot = [&]() -> int { return r.slots() == 0 ? -1 : static_cast<int>(pick(r.slots())); };
  auto size = [&]() -> size_t {
    switch (pick(4)) {
      case 0: return 1 + pick(16);
      case 1: return 1 + pick(5000);
      case 2: return 1 + pick(70000);
      default: return 1 + pick(300000);
    }
  };
  auto offset = [&]() -> off_t {
    return pick(3) == 0 ? static_cast<off_t>(pick(8)) * 4096 : static_cast<off_t>(pick(500000));
  };
  const int flags_choice[] = {O_RDWR,          O_RDWR | O_CREAT,  O_RDWR | O_CREAT | O_EXCL,
                              O_RDWR | O_TRUNC, O_RDONLY,         O_WRONLY | O_CREAT | O_APPEND,
                              O_RDWR | O_CREAT | O_DIRECT};
  // O_DIRECT slots get only aligned I/O (ext4 refuses the rest with EINVAL; FUSE does not).
  std::vector<bool> direct;
  auto is_direct = [&direct](int s) { return s >= 0 && s < static_cast<int>(direct.size()) && direct[s]; };
  for (int step = 0; step < steps; ++step) {
    const size_t op = pick(100);
    if (op < 14) {
      const int flags = flags_choice[pick(std::size(flags_choice))];
      const int s = r.Open(path(), flags, 0644);
      if (s >= 0) {
        direct.resize(s + 1);
        direct[s] = (flags & O_DIRECT) != 0;
      }
    } else if (op < 20) {
      int s = any_slot();
      if (r.SlotOpen(s)) r.Close(s);
    } else if (op < 40) {
      int s = any_slot();
      if (!r.SlotOpen(s)) continue;
      const bool aligned = pick(3) == 0 || is_direct(s);
      if (aligned) {
        r.PwriteAligned(s, RandomBytes(&bytes_state, 4096 * (1 + pick(8))), 4096 * pick(64));
      } else {
        r.Pwrite(s, RandomBytes(&bytes_state, size()), offset());
      }
    } else if (op < 52) {
      int s = any_slot();
      if (!r.SlotOpen(s)) continue;
      if (pick(3) == 0 || is_direct(s)) {
        r.PreadAligned(s, 4096 * (1 + pick(16)), 4096 * pick(64));
      } else {
        r.Pread(s, size(), offset());
      }
    } else if (op < 55) {
      int s = any_slot();
      if (r.SlotOpen(s) && !is_direct(s)) r.Write(s, RandomBytes(&bytes_state, 1 + pick(3000)));
    } else if (op < 59) {
      int s = any_slot();
      if (r.SlotOpen(s)) r.Ftruncate(s, static_cast<off_t>(pick(400000)));
    } else if (op < 61) {
      r.Truncate(path(), static_cast<off_t>(pick(400000)));
    } else if (op < 65) {
      r.Unlink(path());
    } else if (op < 69) {
      r.Mkdir(dirs[pick(dirs.size())].empty() ? names[pick(names.size())] : path());
    } else if (op < 72) {
      r.Rmdir(path());
    } else if (op < 78) {
      r.Rename(path(), path(), pick(4) == 0 ? RENAME_NOREPLACE : 0);
    } else if (op < 84) {
      r.Stat(path());
    } else if (op < 88) {
      int s = any_slot();
      if (r.SlotOpen(s)) r.Fstat(s);
    } else if (op < 92) {
      r.ReadDir(dirs[pick(dirs.size())]);
    } else if (op < 94) {
      int s = any_slot();
      if (r.SlotOpen(s)) pick(2) ? r.Fsync(s) : r.Fdatasync(s);
    } else if (op < 96) {
      int s = any_slot();
      if (r.SlotOpen(s)) r.Fallocate(s, 0, offset(), static_cast<off_t>(1 + pick(100000)));
    } else {
      r.ReadFile(path());
    }
  }
  // Final state: every file's content.
  for (const std::string& d : dirs) {
    r.ReadDir(d);
    for (const std::string& n : names) r.ReadFile(d.empty() ? n : d + "/" + n);
  }
}

TEST_F(FsTest, RandomOperationsMatchPlainDirectory) {
  const uint64_t seed = rwd::testing::TestSeed();
  for (uint64_t round = 0; round < 3; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    const std::string sub = "round" + std::to_string(round);
    ASSERT_EQ(::mkdir((plain_.path() + "/" + sub).c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(M(sub).c_str(), 0755), 0);
    for (const char* d : {"/d1", "/d2", "/d1/e"}) {
      ASSERT_EQ(::mkdir((plain_.path() + "/" + sub + d).c_str(), 0755), 0);
      ASSERT_EQ(::mkdir((M(sub) + d).c_str(), 0755), 0);
    }
    std::vector<std::string> plain_log, fuse_log;
    {
      PosixRecorder plain(plain_.path() + "/" + sub);
      RandomScript(plain, seed + round, 1500);
      plain_log = plain.log();
    }
    {
      PosixRecorder fuse(M(sub));
      RandomScript(fuse, seed + round, 1500);
      fuse_log = fuse.log();
    }
    std::string diff;
    ASSERT_TRUE(SameTranscript(plain_log, fuse_log, &diff))
        << "REWIND_SEED=" << seed << " round " << round << "\n"
        << diff;
  }
}

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

// ---------------------------------------------------------------------------------------------
// Not a timed test: prints pwrite+fdatasync latency through the mount and on the plain disk.

// A file's fsync makes its own writes and every namespace change durable, not other files'
// later writes; a file synced after each write (a redo log) has its next write's sync started
// at once, and the FSYNC that follows shares that device sync.
TEST_F(FsTest, FsyncCoversItsFileAndARedoLogIsSyncedEagerly) {
  StopMount();
  MountOptions fsync_mode;
  fsync_mode.write_through = false;  // FSYNC does the syncing in this mode
  StartMount(fsync_mode);
  int log = ::open(M("ib_logfile0").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660);
  int data = ::open(M("ibdata1").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660);
  ASSERT_GE(log, 0);
  ASSERT_GE(data, 0);
  const std::string page = Pattern(16384, 7);
  auto device_syncs = [&] { return store_->stats().device_syncs; };

  // The commit pattern: from the second write on, each write starts the sync itself.
  constexpr int kCommits = 20;
  const uint64_t syncs_before = device_syncs();
  for (int i = 0; i < kCommits; ++i) {
    ASSERT_EQ(::pwrite(log, page.data(), 512, 512 * i), 512);
    ASSERT_EQ(::fdatasync(log), 0);
  }
  EXPECT_EQ(static_cast<uint64_t>(kCommits - 1), mount_->stats().eager_syncs);
  EXPECT_LE(device_syncs() - syncs_before, static_cast<uint64_t>(kCommits));

  // Page writes in batches, then one fsync: never eager.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 8; ++i) {
      ASSERT_EQ(::pwrite(data, page.data(), page.size(), page.size() * i), 16384);
    }
    ASSERT_EQ(::fsync(data), 0);
  }
  EXPECT_EQ(static_cast<uint64_t>(kCommits - 1), mount_->stats().eager_syncs);

  // The log is durable: page writes appended after it do not make its fsync sync the device.
  ASSERT_EQ(::pwrite(data, page.data(), page.size(), 0), 16384);
  uint64_t before = device_syncs();
  ASSERT_EQ(::fdatasync(log), 0);
  EXPECT_EQ(before, device_syncs());
  // A namespace change does.
  ASSERT_TRUE(WriteAll(M("other"), "x"));
  ASSERT_EQ(::rename(M("other").c_str(), M("renamed").c_str()), 0);
  ASSERT_EQ(::fdatasync(log), 0);
  EXPECT_EQ(before + 1, device_syncs());
  EXPECT_GE(store_->stats().synced_lsn.value, store_->LastNonDataLsn().value);
  ::close(log);
  ::close(data);

  // Off: no write syncs by itself.
  StopMount();
  MountOptions off;
  off.write_through = false;
  off.eager_sync = false;
  StartMount(off);
  log = ::open(M("ib_logfile0").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(log, 0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(::pwrite(log, page.data(), 512, 512 * i), 512);
    ASSERT_EQ(::fdatasync(log), 0);
  }
  EXPECT_EQ(0u, mount_->stats().eager_syncs);
  ::close(log);
  EXPECT_EQ(page.substr(0, 512), ReadAll(M("ib_logfile0")).substr(512 * 19, 512));
}

// The scheduling policies of this process's threads (field 41 of /proc/self/task/*/stat).
std::vector<int> ThreadPolicies() {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');  // the name may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i) {
      if (i == 41) out.push_back(std::atoi(field.c_str()));
    }
  }
  return out;
}

// With realtime_priority set, the workers run SCHED_FIFO (the tests run as root); by default
// they stay on the normal scheduler. Either way the mount serves requests.
TEST_F(FsTest, WorkersRunRealtimeWhenAsked) {
  ASSERT_EQ(::geteuid(), 0u) << "these tests run as root (they mount FUSE)";
  auto fifo_threads = [] {
    const std::vector<int> p = ThreadPolicies();
    return std::count(p.begin(), p.end(), SCHED_FIFO);
  };
  ASSERT_TRUE(WriteAll(M("f"), "served"));
  EXPECT_EQ(mount_->stats().realtime_workers, 0u);
  EXPECT_EQ(fifo_threads(), 0);

  StopMount();
  MountOptions realtime;
  realtime.realtime_priority = 1;
  StartMount(realtime);
  const char* threads_env = std::getenv("REWIND_FS_THREADS");  // as StartMount applies it
  const uint64_t workers = threads_env ? std::atoi(threads_env) : realtime.max_threads;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (mount_->stats().realtime_workers < workers &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(mount_->stats().realtime_workers, workers)
      << "SCHED_FIFO refused to root? (see the warning on stderr)";
  EXPECT_GE(fifo_threads(), static_cast<long>(workers));
  ASSERT_TRUE(WriteAll(M("g"), "served too"));
  EXPECT_EQ("served too", ReadAll(M("g")));
  EXPECT_EQ("served", ReadAll(M("f")));
  StopMount();
  EXPECT_EQ(fifo_threads(), 0) << "the workers ended with the mount";
  StartMount();  // TearDown expects a mount
}

// fsync while other threads change the namespace (each change is published in two steps in
// the store): every fsync succeeds.
TEST_F(FsTest, FsyncSucceedsWhileTheNamespaceChanges) {
  std::atomic<bool> stop{false};
  std::atomic<int> renames{0};
  std::vector<std::thread> churn;
  for (int t = 0; t < 3; ++t) {
    churn.emplace_back([&, t] {
      const std::string a = M("churn" + std::to_string(t)), b = a + ".renamed";
      ASSERT_TRUE(WriteAll(a, "x"));
      while (!stop.load()) {
        ASSERT_EQ(::rename(a.c_str(), b.c_str()), 0) << std::strerror(errno);
        ASSERT_EQ(::rename(b.c_str(), a.c_str()), 0) << std::strerror(errno);
        renames.fetch_add(2);
      }
    });
  }
  int fd = ::open(M("ib_logfile0").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660);
  ASSERT_GE(fd, 0);
  int failures = 0;
  for (int i = 0; i < 2000; ++i) {
    if (::pwrite(fd, "commit", 6, 6 * (i % 100)) != 6 || ::fdatasync(fd) != 0) ++failures;
  }
  stop.store(true);
  for (auto& th : churn) th.join();
  ::close(fd);
  EXPECT_EQ(0, failures);
  EXPECT_GT(renames.load(), 0);
}

TEST_F(FsTest, PrintsPwriteFdatasyncLatency) {
  auto measure = [](const std::string& path, size_t size, int iterations) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    std::string data = Pattern(size, 1);
    std::vector<double> us;
    us.reserve(iterations);
    for (int i = 0; i < iterations; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_EQ(::pwrite(fd, data.data(), size, static_cast<off_t>((i % 256) * size)),
                static_cast<ssize_t>(size));
      EXPECT_EQ(::fdatasync(fd), 0);
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                       .count());
    }
    ::close(fd);
    std::sort(us.begin(), us.end());
    double sum = 0;
    for (double u : us) sum += u;
    char line[200];
    std::snprintf(line, sizeof(line), "avg %7.1f us  p50 %7.1f  p99 %7.1f", sum / us.size(),
                  us[us.size() / 2], us[us.size() * 99 / 100]);
    return std::string(line);
  };
  for (size_t size : {512u, 4096u, 16384u}) {
    std::printf("pwrite(%5zu)+fdatasync x1000  plain: %s\n", size,
                measure(plain_.path() + "/lat", size, 1000).c_str());
    std::printf("pwrite(%5zu)+fdatasync x1000  fuse:  %s\n", size,
                measure(M("lat"), size, 1000).c_str());
  }
  auto write_only = [](const std::string& path, int iterations) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    std::string data = Pattern(16384, 2);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) {
      EXPECT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(i % 1024) * 16384), 16384);
    }
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    return us / iterations;
  };
  std::printf("pwrite(16384) no sync x5000    plain: avg %7.1f us\n",
              write_only(plain_.path() + "/w", 5000));
  std::printf("pwrite(16384) no sync x5000    fuse:  avg %7.1f us\n", write_only(M("w"), 5000));
  const MountStats s = mount_->stats();
  std::printf("mount stats: writes %llu (%llu bytes) reads %llu syncs %llu errors %llu\n",
              static_cast<unsigned long long>(s.writes),
              static_cast<unsigned long long>(s.write_bytes),
              static_cast<unsigned long long>(s.reads), static_cast<unsigned long long>(s.syncs),
              static_cast<unsigned long long>(s.errors));
}

// ---------------------------------------------------------------------------------------------
// Write-through durability: the store runs on the fault-injecting Env, and a simulated power
// loss drops every byte the store never synced (keeping a random part of the rest: a torn
// tail). No test here calls fsync: with write-through, the reply of each write(2), rename(2),
// unlink(2), ... is the durability point.

class FsPowerLossTest : public FsTest {
 protected:
  void SetUp() override {
    env_ = &fault_;
    FsTest::SetUp();
    StopMount();
    StartMount(WriteThrough());
  }
  static MountOptions WriteThrough() {
    MountOptions o;
    o.write_through = true;
    return o;
  }
  // The machine loses power: nothing more reaches the disk, the mount and the store go away
  // (the store's closing checkpoint fails: the machine is gone), unsynced bytes are dropped;
  // then the store is opened again and mounted with `o`.
  void PowerLoss(std::mt19937_64* rng, MountOptions o = WriteThrough()) {
    fault_.SetActive(false);
    StopMount();
    store_.reset();
    ASSERT_TRUE(fault_.SimulateCrash(rng, /*torn=*/true).ok());
    fault_.SetActive(true);
    OpenStore();
    ASSERT_NE(store_, nullptr);
    StartMount(o);
  }

  store::FaultInjectionEnv fault_;
};

// Files and directories as the acknowledged syscalls left them.
struct TreeModel {
  std::map<std::string, std::string> files;  // path -> content
  std::set<std::string> dirs;                // besides the root
};

// Expects the mount to hold exactly `model` (every file's bytes; every directory's names).
void ExpectTree(const std::string& root, const TreeModel& model, const std::string& context) {
  std::map<std::string, std::set<std::string>> names;  // dir ("" root) -> entries
  names[""];
  for (const std::string& d : model.dirs) names[d];
  auto parent_of = [](const std::string& p) {
    const size_t slash = p.rfind('/');
    return slash == std::string::npos ? std::string() : p.substr(0, slash);
  };
  auto base_of = [](const std::string& p) {
    const size_t slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
  };
  for (const auto& [path, content] : model.files) names[parent_of(path)].insert(base_of(path));
  for (const std::string& d : model.dirs) names[parent_of(d)].insert(base_of(d));
  for (const auto& [dir, want] : names) {
    std::set<std::string> got;
    DIR* dh = ::opendir((root + "/" + dir).c_str());
    ASSERT_NE(dh, nullptr) << context << ": directory '" << dir << "' lost";
    while (dirent* e = ::readdir(dh)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") got.insert(n);
    }
    ::closedir(dh);
    EXPECT_EQ(want, got) << context << ": entries of '" << dir << "'";
  }
  for (const auto& [path, content] : model.files) {
    const std::string got = ReadAll(root + "/" + path);
    EXPECT_EQ(content.size(), got.size()) << context << ": size of " << path;
    EXPECT_TRUE(got == content) << context << ": content of " << path;
  }
}

// One random namespace or data change, applied with real syscalls (no fsync) and, when the
// syscall succeeded, to the model. Returns false (with a test failure) if a syscall failed.
bool RandomChange(const std::string& root, std::mt19937_64& rng, TreeModel* m, int* next_name) {
  auto pick_file = [&]() -> std::string {
    if (m->files.empty()) return "";
    auto it = m->files.begin();
    std::advance(it, static_cast<long>(rng() % m->files.size()));
    return it->first;
  };
  auto new_name = [&]() {
    std::string dir;
    if (!m->dirs.empty() && rng() % 3 == 0) dir = *m->dirs.begin() + "/";
    return dir + "f" + std::to_string((*next_name)++);
  };
  uint64_t seed = rng();
  const std::string victim = pick_file();
  switch (victim.empty() ? 0 : rng() % 8) {
    case 0: {  // create and write
      const std::string name = new_name();
      const std::string data = RandomBytes(&seed, rng() % 70000 + 1);
      int fd = ::open((root + "/" + name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      EXPECT_GE(fd, 0) << name << ": " << std::strerror(errno);
      if (fd < 0) return false;
      const bool ok = ::pwrite(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size());
      ::close(fd);
      EXPECT_TRUE(ok) << name;
      if (!ok) return false;
      m->files[name] = data;
      return true;
    }
    case 1:
    case 2: {  // overwrite or extend at a random offset
      std::string& content = m->files[victim];
      const uint64_t off = rng() % (content.size() + 40000);
      const std::string data = RandomBytes(&seed, rng() % 40000 + 1);
      int fd = ::open((root + "/" + victim).c_str(), O_WRONLY | O_CLOEXEC);
      EXPECT_GE(fd, 0) << victim;
      if (fd < 0) return false;
      const bool ok = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(off)) ==
                      static_cast<ssize_t>(data.size());
      ::close(fd);
      EXPECT_TRUE(ok) << victim;
      if (!ok) return false;
      if (content.size() < off + data.size()) content.resize(off + data.size(), '\0');
      content.replace(off, data.size(), data);
      return true;
    }
    case 3: {  // truncate
      const uint64_t size = rng() % (m->files[victim].size() + 20000);
      EXPECT_EQ(::truncate((root + "/" + victim).c_str(), static_cast<off_t>(size)), 0) << victim;
      m->files[victim].resize(size, '\0');
      return true;
    }
    case 4: {  // rename
      const std::string to = new_name();
      EXPECT_EQ(::rename((root + "/" + victim).c_str(), (root + "/" + to).c_str()), 0) << victim;
      m->files[to] = std::move(m->files[victim]);
      m->files.erase(victim);
      return true;
    }
    case 5: {  // unlink
      EXPECT_EQ(::unlink((root + "/" + victim).c_str()), 0) << victim;
      m->files.erase(victim);
      return true;
    }
    case 6: {  // fallocate past the end
      int fd = ::open((root + "/" + victim).c_str(), O_WRONLY | O_CLOEXEC);
      EXPECT_GE(fd, 0) << victim;
      if (fd < 0) return false;
      const uint64_t end = m->files[victim].size() + rng() % 50000 + 1;
      const int r = ::fallocate(fd, 0, 0, static_cast<off_t>(end));
      ::close(fd);
      EXPECT_EQ(r, 0) << victim << ": " << std::strerror(errno);
      m->files[victim].resize(end, '\0');
      return r == 0;
    }
    default: {  // a new directory, or O_TRUNC
      if (m->dirs.size() < 2) {
        const std::string d = "d" + std::to_string((*next_name)++);
        EXPECT_EQ(::mkdir((root + "/" + d).c_str(), 0750), 0);
        m->dirs.insert(d);
        return true;
      }
      int fd = ::open((root + "/" + victim).c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
      EXPECT_GE(fd, 0) << victim;
      if (fd >= 0) ::close(fd);
      m->files[victim].clear();
      return fd >= 0;
    }
  }
}

// After any number of acknowledged changes, a power loss keeps every one of them.
TEST_F(FsPowerLossTest, EveryAcknowledgedChangeSurvivesAPowerLoss) {
  const uint64_t seed = rwd::testing::TestSeed();
  std::mt19937_64 rng(seed);
  TreeModel model;
  int next_name = 0;
  for (int round = 0; round < 12; ++round) {
    const int changes = 1 + static_cast<int>(rng() % 25);
    for (int i = 0; i < changes; ++i) {
      ASSERT_TRUE(RandomChange(mnt_.path(), rng, &model, &next_name)) << "seed " << seed;
    }
    PowerLoss(&rng);
    ExpectTree(mnt_.path(), model,
               "round " + std::to_string(round) + " after " + std::to_string(changes) +
                   " changes, seed " + std::to_string(seed));
    if (HasFailure()) return;
  }
}

// Four writers at once (as InnoDB's page cleaner and I/O threads write): every write
// acknowledged before the power went is there afterwards; each writer's one write in flight
// at that moment may or may not be.
TEST_F(FsPowerLossTest, ConcurrentAcknowledgedWritesSurviveAPowerLoss) {
  constexpr int kWriters = 4, kPages = 32;
  constexpr size_t kPage = 16384;
  struct Writer {
    std::vector<int> acked = std::vector<int>(kPages, -1);  // version per page
    int in_flight_page = -1, in_flight_version = -1;
  };
  std::vector<Writer> writers(kWriters);
  std::atomic<int> acked_total{0};
  std::atomic<bool> stop{false};
  auto page_data = [](int w, int version) {
    return Pattern(kPage, static_cast<uint64_t>(w) * 1000003 + static_cast<uint64_t>(version));
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      int fd = ::open(M("w" + std::to_string(w)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
      ASSERT_GE(fd, 0);
      Writer& me = writers[w];
      for (int version = 0; !stop.load(); ++version) {
        const int page = version % kPages;
        const std::string data = page_data(w, version);
        me.in_flight_page = page;
        me.in_flight_version = version;
        if (::pwrite(fd, data.data(), kPage, static_cast<off_t>(page * kPage)) !=
            static_cast<ssize_t>(kPage)) {
          break;  // the power went: EIO
        }
        me.acked[page] = version;
        me.in_flight_page = -1;
        acked_total.fetch_add(1);
      }
      ::close(fd);
    });
  }
  while (acked_total.load() < 600) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const store::StoreStats before = store_->stats();
  fault_.SetActive(false);  // the power goes while the writers write
  stop.store(true);
  for (auto& t : threads) t.join();
  std::printf("before the power loss: %llu acknowledged writes, %llu device syncs for %llu sync "
              "requests\n",
              static_cast<unsigned long long>(acked_total.load()),
              static_cast<unsigned long long>(before.device_syncs),
              static_cast<unsigned long long>(before.sync_requests));
  std::mt19937_64 rng(rwd::testing::TestSeed());
  PowerLoss(&rng);
  for (int w = 0; w < kWriters; ++w) {
    const std::string got = ReadAll(M("w" + std::to_string(w)));
    for (int page = 0; page < kPages; ++page) {
      SCOPED_TRACE("writer " + std::to_string(w) + " page " + std::to_string(page));
      const std::string bytes = got.size() >= (page + 1) * kPage
                                    ? got.substr(page * kPage, kPage)
                                    : std::string();
      const Writer& me = writers[w];
      const bool in_flight = me.in_flight_page == page;
      if (me.acked[page] < 0) {
        EXPECT_TRUE(in_flight || bytes.empty() || bytes == std::string(kPage, '\0'));
        continue;
      }
      const bool acked_ok = bytes == page_data(w, me.acked[page]);
      const bool flight_ok = in_flight && bytes == page_data(w, me.in_flight_version);
      EXPECT_TRUE(acked_ok || flight_ok) << "acknowledged version " << me.acked[page] << " lost";
    }
  }
}

// With write-through, fsync, fdatasync and a directory's fsync succeed without reaching the
// mount (ENOSYS once, then the kernel stops asking), and syscalls behave as on a plain
// directory.
TEST_F(FsPowerLossTest, FsyncsSucceedWithoutReachingTheMount) {
  Compare([](PosixRecorder& r) {
    int f = RedoLogCommits(r);
    r.Ftruncate(f, 1000);
    r.Fallocate(f, 0, 0, 65536);
    r.Fstat(f);
    r.Rename("db/ib_logfile0", "db/ib_logfile1");
    r.Close(f);
    r.ReadFile("db/ib_logfile1");
    r.Unlink("db/ib_logfile1");
    r.ReadDir("db");
  });
  const MountStats s = mount_->stats();
  EXPECT_EQ(0u, s.syncs);
  EXPECT_GT(s.write_syncs, 20u);
}

// The same power loss without write-through loses what no FSYNC made durable: the tests
// above would notice a mount that synced nothing.
TEST_F(FsPowerLossTest, WithoutWriteThroughUnsyncedWritesAreLost) {
  MountOptions fsync_mode;
  fsync_mode.write_through = false;
  StopMount();
  StartMount(fsync_mode);
  ASSERT_TRUE(WriteAll(M("synced"), "kept"));
  int fd = ::open(M("synced").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
  ASSERT_TRUE(WriteAll(M("unsynced"), Pattern(100000, 5)));
  std::mt19937_64 rng(1);
  fault_.SetActive(false);
  StopMount();
  store_.reset();
  ASSERT_TRUE(fault_.SimulateCrash(&rng, /*torn=*/false).ok());
  fault_.SetActive(true);
  OpenStore();
  StartMount(fsync_mode);
  EXPECT_EQ("kept", ReadAll(M("synced")));
  EXPECT_EQ(ReadAll(M("unsynced")).substr(0, 12), "<open failed");
}

}  // namespace
}  // namespace rwd::fs
