// Durability through the mount: what an fsync covers and the eager sync of a redo log, the
// workers' scheduling, fsync under namespace changes, a latency print (not a timed test), and
// write-through against simulated power losses on the fault-injecting Env.
#include "fs/fs_test_fixture.h"

namespace rwd::fs {
namespace {

// The fixture (FsTest) and the helpers of fs_test_fixture.h and fs_test_util.h.
using namespace ::rwd::fs::testing;

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
