// The fixture of the filesystem tests (fs_posix_test.cc, fs_mount_test.cc, fs_sync_test.cc,
// one binary: fs_test): a store under /tmp, its timeline mounted through FUSE (in a private
// mount namespace, see fs_test_util.h), a plain directory to compare against, and small file
// helpers; it includes the headers the three files use. A failure to mount FAILS the test:
// nothing is skipped.
#pragma once

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

namespace rwd::fs::testing {

inline std::string Pattern(size_t n, uint64_t seed) {
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  return RandomBytes(&state, n);
}

inline std::string ReadAll(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<open failed: " + std::string(std::strerror(errno)) + ">";
  std::string all;
  char buf[65536];
  ssize_t r;
  while ((r = ::read(fd, buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(r));
  ::close(fd);
  return all;
}

inline bool WriteAll(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::pwrite(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size());
  ok = ::close(fd) == 0 && ok;
  return ok;
}

// A redo log's commits, then fsyncs of the file and its directories; returns the file's slot.
inline int RedoLogCommits(PosixRecorder& r) {
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

  ::rwd::testing::TempDir store_dir_{"rewind-fs-store"};
  ::rwd::testing::TempDir mnt_{"rewind-fs-mnt"};
  ::rwd::testing::TempDir plain_{"rewind-fs-plain"};
  store::Env* env_ = nullptr;  // the store's Env (nullptr: the default); not owned
  std::unique_ptr<store::Store> store_;
  store::TimelineId tl_;
  std::unique_ptr<Mount> mount_;
};

}  // namespace rwd::fs::testing
