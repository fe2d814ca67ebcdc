// The mount against a plain directory: the same real syscalls on both, transcripts compared
// line by line (fixed scripts for each kind of operation, then seeded random sequences).
#include "fs/fs_test_fixture.h"

namespace rwd::fs {
namespace {

// The fixture (FsTest) and the helpers of fs_test_fixture.h and fs_test_util.h.
using namespace ::rwd::fs::testing;

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

}  // namespace
}  // namespace rwd::fs
