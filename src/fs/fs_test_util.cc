#include "fs/fs_test_util.h"

#include <dirent.h>
#include <execinfo.h>
#include <signal.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rwd::fs::testing {

namespace {

// Connection abort files of registered mounts, readable from a signal handler.
constexpr int kMaxConnections = 64;
char g_abort_paths[kMaxConnections][96];
std::string g_mountpoints[kMaxConnections];  // guarded by g_register_mu
std::atomic<int> g_connections{0};
std::mutex g_register_mu;

void FatalSignal(int sig) {
  const char msg[] = "\nfs tests: fatal signal; aborting FUSE connections. Backtrace:\n";
  (void)!write(2, msg, sizeof(msg) - 1);
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, 2);
  AbortRegisteredConnections();
  signal(sig, SIG_DFL);
  raise(sig);
}

// Runs before main (and so before any thread): unshare works only for the calling thread,
// and every thread created later inherits its namespace.
const bool kPrivateNamespace = [] {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, FatalSignal);
  if (unshare(CLONE_NEWNS) != 0) {
    std::fprintf(stderr, "fs tests: no private mount namespace (%s); mounts are global\n",
                 std::strerror(errno));
    return false;
  }
  if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::fprintf(stderr, "fs tests: cannot make / private: %s\n", std::strerror(errno));
  }
  // fusectl, to abort connections (private to this namespace).
  if (access("/sys/fs/fuse/connections", F_OK) == 0) {
    (void)mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, nullptr);
  }
  return true;
}();

struct Watchdog {
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false;
  uint64_t generation = 0;
  std::chrono::steady_clock::time_point deadline;
  std::string what;
  std::thread thread;
};

Watchdog& TheWatchdog() {
  static Watchdog* w = [] {
    auto* w = new Watchdog;
    w->thread = std::thread([w] {
      std::unique_lock<std::mutex> lock(w->mu);
      while (true) {
        if (!w->armed) {
          w->cv.wait(lock);
          continue;
        }
        const uint64_t gen = w->generation;
        if (w->cv.wait_until(lock, w->deadline) == std::cv_status::timeout && w->armed &&
            w->generation == gen) {
          std::fprintf(stderr, "\nfs tests: WATCHDOG: %s did not finish in time; aborting the "
                               "FUSE connections and exiting\n", w->what.c_str());
          AbortRegisteredConnections();
          std::fflush(nullptr);
          std::_Exit(3);
        }
      }
    });
    w->thread.detach();
    return w;
  }();
  return *w;
}

std::string ErrName(int err) {
  if (err == 0) return "ok";
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct AlignedBuf {
  explicit AlignedBuf(size_t n) : size(std::max<size_t>(n, 1)) {
    if (posix_memalign(&p, 4096, (size + 4095) / 4096 * 4096) != 0) std::abort();
  }
  ~AlignedBuf() { std::free(p); }
  char* data() { return static_cast<char*>(p); }
  void* p = nullptr;
  size_t size;
};

}  // namespace

bool InPrivateMountNamespace() { return kPrivateNamespace; }

bool IsMounted(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mnt;
    fields >> id >> parent >> dev >> root >> mnt;
    if (mnt == path) return true;
  }
  return false;
}

void RegisterMount(const std::string& mountpoint) {
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0) return;
  const unsigned id = (major(st.st_dev) << 20) | minor(st.st_dev);
  char path[96];
  std::snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", id);
  std::lock_guard<std::mutex> lock(g_register_mu);
  const int n = g_connections.load();
  if (n >= kMaxConnections) return;
  std::memcpy(g_abort_paths[n], path, sizeof(path));
  g_mountpoints[n] = mountpoint;
  g_connections.store(n + 1);
}

void UnregisterMount(const std::string& mountpoint) {
  std::lock_guard<std::mutex> lock(g_register_mu);
  int n = g_connections.load();
  for (int i = 0; i < n;) {
    if (g_mountpoints[i] != mountpoint) {
      ++i;
      continue;
    }
    g_connections.store(n - 1);  // the handler never reads past the count
    if (i != n - 1) {
      std::memcpy(g_abort_paths[i], g_abort_paths[n - 1], sizeof(g_abort_paths[i]));
      g_mountpoints[i] = g_mountpoints[n - 1];
    }
    --n;
  }
}

void AbortRegisteredConnections() {
  const int n = g_connections.load();
  for (int i = 0; i < n; ++i) {
    int fd = ::open(g_abort_paths[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;  // gone already
    (void)!::write(fd, "1", 1);
    ::close(fd);
  }
}

void ArmWatchdog(int seconds, const std::string& what) {
  Watchdog& w = TheWatchdog();
  std::lock_guard<std::mutex> lock(w.mu);
  w.armed = true;
  w.generation++;
  w.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  w.what = what;
  w.cv.notify_all();
}

void DisarmWatchdog() {
  Watchdog& w = TheWatchdog();
  std::lock_guard<std::mutex> lock(w.mu);
  w.armed = false;
  w.generation++;
  w.cv.notify_all();
}

uint64_t Hash(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string RandomBytes(uint64_t* state, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    // xorshift64*; cheap and deterministic
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    s[i] = static_cast<char>((x * 2685821657736338717ull) >> 56);
  }
  return s;
}

PosixRecorder::PosixRecorder(std::string root) : root_(std::move(root)) {}

PosixRecorder::~PosixRecorder() {
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

std::string PosixRecorder::Path(const std::string& rel) const {
  return rel.empty() ? root_ : root_ + "/" + rel;
}

void PosixRecorder::Record(const std::string& call, long long ret, int err) {
  log_.push_back(call + " = " + std::to_string(ret) + " " + ErrName(ret < 0 ? err : 0));
}

void PosixRecorder::RecordStat(const std::string& call, int ret, int err, const struct stat& st) {
  if (ret != 0) return Record(call, ret, err);
  std::string line = call + " = ok mode=" + std::to_string(st.st_mode);
  if (!S_ISDIR(st.st_mode)) {
    line += " size=" + std::to_string(st.st_size) + " nlink=" + std::to_string(st.st_nlink);
  }
  log_.push_back(line);
}

int PosixRecorder::Open(const std::string& rel, int flags, mode_t mode) {
  int fd = ::open(Path(rel).c_str(), flags | O_CLOEXEC, mode);
  const int err = errno;
  char fl[32];
  std::snprintf(fl, sizeof(fl), "%#x", flags);
  if (fd < 0) {
    Record("open(" + rel + ", " + fl + ")", -1, err);
    return -1;
  }
  fds_.push_back(fd);
  const int slot = static_cast<int>(fds_.size()) - 1;
  log_.push_back("open(" + rel + ", " + fl + ") = slot " + std::to_string(slot));
  return slot;
}

bool PosixRecorder::SlotOpen(int slot) const {
  return slot >= 0 && slot < static_cast<int>(fds_.size()) && fds_[slot] >= 0;
}

int PosixRecorder::fd(int slot) const { return SlotOpen(slot) ? fds_[slot] : -1; }

void PosixRecorder::Close(int slot) {
  if (!SlotOpen(slot)) return log_.push_back("close(bad slot)");
  int r = ::close(fds_[slot]);
  Record("close(" + std::to_string(slot) + ")", r, errno);
  fds_[slot] = -1;
}

ssize_t PosixRecorder::Pwrite(int slot, const std::string& data, off_t off) {
  ssize_t r = ::pwrite(fd(slot), data.data(), data.size(), off);
  Record("pwrite(" + std::to_string(slot) + ", " + std::to_string(data.size()) + " @" +
             std::to_string(off) + ")",
         r, errno);
  return r;
}

ssize_t PosixRecorder::Write(int slot, const std::string& data) {
  ssize_t r = ::write(fd(slot), data.data(), data.size());
  Record("write(" + std::to_string(slot) + ", " + std::to_string(data.size()) + ")", r, errno);
  return r;
}

std::string PosixRecorder::Pread(int slot, size_t n, off_t off) {
  std::string buf(n, '\0');
  ssize_t r = ::pread(fd(slot), buf.data(), n, off);
  const int err = errno;
  const std::string call =
      "pread(" + std::to_string(slot) + ", " + std::to_string(n) + " @" + std::to_string(off) + ")";
  if (r < 0) {
    Record(call, r, err);
    return "";
  }
  buf.resize(static_cast<size_t>(r));
  log_.push_back(call + " = " + std::to_string(r) + " hash=" + Hex(Hash(buf)));
  return buf;
}

ssize_t PosixRecorder::PwriteAligned(int slot, const std::string& data, off_t off) {
  AlignedBuf b(data.size());
  std::memcpy(b.data(), data.data(), data.size());
  ssize_t r = ::pwrite(fd(slot), b.data(), data.size(), off);
  Record("pwrite_aligned(" + std::to_string(slot) + ", " + std::to_string(data.size()) + " @" +
             std::to_string(off) + ")",
         r, errno);
  return r;
}

std::string PosixRecorder::PreadAligned(int slot, size_t n, off_t off) {
  AlignedBuf b(n);
  ssize_t r = ::pread(fd(slot), b.data(), n, off);
  const int err = errno;
  const std::string call = "pread_aligned(" + std::to_string(slot) + ", " + std::to_string(n) +
                           " @" + std::to_string(off) + ")";
  if (r < 0) {
    Record(call, r, err);
    return "";
  }
  std::string out(b.data(), static_cast<size_t>(r));
  log_.push_back(call + " = " + std::to_string(r) + " hash=" + Hex(Hash(out)));
  return out;
}

void PosixRecorder::Ftruncate(int slot, off_t size) {
  int r = ::ftruncate(fd(slot), size);
  Record("ftruncate(" + std::to_string(slot) + ", " + std::to_string(size) + ")", r, errno);
}

void PosixRecorder::Truncate(const std::string& rel, off_t size) {
  int r = ::truncate(Path(rel).c_str(), size);
  Record("truncate(" + rel + ", " + std::to_string(size) + ")", r, errno);
}

void PosixRecorder::Fsync(int slot) {
  int r = ::fsync(fd(slot));
  Record("fsync(" + std::to_string(slot) + ")", r, errno);
}

void PosixRecorder::Fdatasync(int slot) {
  int r = ::fdatasync(fd(slot));
  Record("fdatasync(" + std::to_string(slot) + ")", r, errno);
}

void PosixRecorder::Fallocate(int slot, int mode, off_t off, off_t len) {
  int r = ::fallocate(fd(slot), mode, off, len);
  Record("fallocate(" + std::to_string(slot) + ", " + std::to_string(mode) + ", " +
             std::to_string(off) + ", " + std::to_string(len) + ")",
         r, errno);
}

void PosixRecorder::Fstat(int slot) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  int r = ::fstat(fd(slot), &st);
  RecordStat("fstat(" + std::to_string(slot) + ")", r, errno, st);
}

void PosixRecorder::Lseek(int slot, off_t off, int whence) {
  off_t r = ::lseek(fd(slot), off, whence);
  Record("lseek(" + std::to_string(slot) + ", " + std::to_string(off) + ", " +
             std::to_string(whence) + ")",
         r, errno);
}

void PosixRecorder::Stat(const std::string& rel) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  int r = ::stat(Path(rel).c_str(), &st);
  RecordStat("stat(" + rel + ")", r, errno, st);
}

void PosixRecorder::Lstat(const std::string& rel) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  int r = ::lstat(Path(rel).c_str(), &st);
  RecordStat("lstat(" + rel + ")", r, errno, st);
}

void PosixRecorder::Mkdir(const std::string& rel, mode_t mode) {
  int r = ::mkdir(Path(rel).c_str(), mode);
  Record("mkdir(" + rel + ")", r, errno);
}

void PosixRecorder::Rmdir(const std::string& rel) {
  int r = ::rmdir(Path(rel).c_str());
  Record("rmdir(" + rel + ")", r, errno);
}

void PosixRecorder::Unlink(const std::string& rel) {
  int r = ::unlink(Path(rel).c_str());
  Record("unlink(" + rel + ")", r, errno);
}

void PosixRecorder::Rename(const std::string& from, const std::string& to, unsigned flags) {
  int r = ::renameat2(AT_FDCWD, Path(from).c_str(), AT_FDCWD, Path(to).c_str(), flags);
  Record("rename(" + from + ", " + to + ", " + std::to_string(flags) + ")", r, errno);
}

void PosixRecorder::Chmod(const std::string& rel, mode_t mode) {
  int r = ::chmod(Path(rel).c_str(), mode);
  Record("chmod(" + rel + ")", r, errno);
}

void PosixRecorder::Symlink(const std::string& target, const std::string& rel) {
  int r = ::symlink(target.c_str(), Path(rel).c_str());
  Record("symlink(" + target + ", " + rel + ")", r, errno);
}

void PosixRecorder::Readlink(const std::string& rel) {
  char buf[4096];
  ssize_t r = ::readlink(Path(rel).c_str(), buf, sizeof(buf));
  const int err = errno;
  if (r < 0) return Record("readlink(" + rel + ")", r, err);
  log_.push_back("readlink(" + rel + ") = " + std::string(buf, static_cast<size_t>(r)));
}

void PosixRecorder::Mknod(const std::string& rel, mode_t mode) {
  int r = ::mknod(Path(rel).c_str(), mode, 0);
  Record("mknod(" + rel + ")", r, errno);
}

void PosixRecorder::ReadDir(const std::string& rel) {
  DIR* d = ::opendir(Path(rel).c_str());
  if (d == nullptr) return Record("readdir(" + rel + ")", -1, errno);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    names.push_back(n + ":" + std::to_string(e->d_type));
  }
  const int err = errno;
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::string line = "readdir(" + rel + ") = " + ErrName(err) + " " +
                     std::to_string(names.size()) + " [";
  std::string all;
  for (const std::string& n : names) all += n + ",";
  // Long listings: a hash, and the first names for reading.
  if (all.size() > 400) {
    line += all.substr(0, 200) + "... hash=" + Hex(Hash(all));
  } else {
    line += all;
  }
  log_.push_back(line + "]");
}

void PosixRecorder::ReadFile(const std::string& rel) {
  int fd = ::open(Path(rel).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Record("readfile(" + rel + ")", -1, errno);
  std::string all;
  char buf[65536];
  ssize_t r;
  while ((r = ::read(fd, buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(r));
  const int err = errno;
  ::close(fd);
  if (r < 0) return Record("readfile(" + rel + ")", -1, err);
  log_.push_back("readfile(" + rel + ") = " + std::to_string(all.size()) +
                 " hash=" + Hex(Hash(all)));
}

void PosixRecorder::FsyncDir(const std::string& rel) {
  int fd = ::open(Path(rel).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Record("fsyncdir(" + rel + ")", -1, errno);
  int r = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  Record("fsyncdir(" + rel + ")", r, err);
}

bool SameTranscript(const std::vector<std::string>& plain, const std::vector<std::string>& fuse,
                    std::string* diff) {
  const size_t n = std::max(plain.size(), fuse.size());
  for (size_t i = 0; i < n; ++i) {
    const std::string a = i < plain.size() ? plain[i] : "<end>";
    const std::string b = i < fuse.size() ? fuse[i] : "<end>";
    if (a == b) continue;
    std::string out = "first difference at step " + std::to_string(i) + "\n";
    for (size_t k = i >= 5 ? i - 5 : 0; k < i; ++k) out += "   same: " + plain[k] + "\n";
    out += "  plain: " + a + "\n";
    out += "   fuse: " + b + "\n";
    *diff = out;
    return false;
  }
  return true;
}

}  // namespace rwd::fs::testing
