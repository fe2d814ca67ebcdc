// Helpers for the filesystem tests: a recorder that runs real syscalls under a root directory and
// writes every result (value, errno, bytes) into a transcript, so that the same sequence run on
// the FUSE mount and on a plain directory can be compared line by line; and mount-table checks.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rwd::fs::testing {

// Moves this process into a private mount namespace (once; before any thread starts: called
// from a static initialiser). Mounts made by the tests then vanish with the process, whatever
// way it ends, and never show in the host's /proc/mounts. Returns false if not possible.
bool InPrivateMountNamespace();

// True if `path` is a mount point in this process's mount table.
bool IsMounted(const std::string& path);

// A process that serves its own FUSE mount and crashes (or is killed) while one of its threads
// waits in a FUSE request never exits: the waiting thread sleeps uninterruptibly for an answer
// that only the dead threads could give. So the tests register their mounts; a fatal signal
// (SIGSEGV, SIGABRT, ...) and the watchdog abort the registered connections through fusectl
// (mounted privately) before the process dies, which wakes such waiters with ENOTCONN.
// Register right after a mount starts; unregister right after it stops (connection ids are
// reused by the kernel for other processes' mounts).
void RegisterMount(const std::string& mountpoint);
void UnregisterMount(const std::string& mountpoint);
void AbortRegisteredConnections();  // async-signal-safe

// Arms the watchdog: if not disarmed within `seconds`, it prints `what`, aborts the registered
// connections and ends the process with exit code 3 (a hang becomes a loud failure).
void ArmWatchdog(int seconds, const std::string& what);
void DisarmWatchdog();

// FNV-1a 64 of bytes, printed in transcripts instead of the bytes.
uint64_t Hash(const std::string& bytes);

// Runs syscalls on paths relative to `root` and records one transcript line per call.
// File descriptors are kept in numbered slots, so that two recorders running the same script
// use the same slot numbers whatever fd numbers the kernel gives out.
class PosixRecorder {
 public:
  explicit PosixRecorder(std::string root);
  ~PosixRecorder();  // closes open slots
  PosixRecorder(const PosixRecorder&) = delete;
  PosixRecorder& operator=(const PosixRecorder&) = delete;

  std::string Path(const std::string& rel) const;
  const std::vector<std::string>& log() const { return log_; }
  void Note(const std::string& line) { log_.push_back("# " + line); }

  // Returns a slot (>= 0) or -1; records the outcome.
  int Open(const std::string& rel, int flags, mode_t mode = 0644);
  void Close(int slot);
  bool SlotOpen(int slot) const;
  int fd(int slot) const;
  // Number of slots ever handed out.
  int slots() const { return static_cast<int>(fds_.size()); }

  ssize_t Pwrite(int slot, const std::string& data, off_t off);
  ssize_t Write(int slot, const std::string& data);
  // Returns what was read ("" on error).
  std::string Pread(int slot, size_t n, off_t off);
  // O_DIRECT-friendly: 4096-aligned buffers.
  ssize_t PwriteAligned(int slot, const std::string& data, off_t off);
  std::string PreadAligned(int slot, size_t n, off_t off);
  void Ftruncate(int slot, off_t size);
  void Truncate(const std::string& rel, off_t size);
  void Fsync(int slot);
  void Fdatasync(int slot);
  void Fallocate(int slot, int mode, off_t off, off_t len);
  void Fstat(int slot);
  void Lseek(int slot, off_t off, int whence);

  void Stat(const std::string& rel);
  void Lstat(const std::string& rel);
  void Mkdir(const std::string& rel, mode_t mode = 0755);
  void Rmdir(const std::string& rel);
  void Unlink(const std::string& rel);
  void Rename(const std::string& from, const std::string& to, unsigned flags = 0);
  void Chmod(const std::string& rel, mode_t mode);
  void Symlink(const std::string& target, const std::string& rel);
  void Readlink(const std::string& rel);
  void Mknod(const std::string& rel, mode_t mode);
  // Sorted names with their d_type, without "." and "..".
  void ReadDir(const std::string& rel);
  // The whole content of a file (size + hash).
  void ReadFile(const std::string& rel);
  // Opens a directory and fsyncs it.
  void FsyncDir(const std::string& rel);

 private:
  void Record(const std::string& call, long long ret, int err);
  void RecordStat(const std::string& call, int ret, int err, const struct stat& st);

  std::string root_;
  std::vector<int> fds_;
  std::vector<std::string> log_;
};

// Expects equal transcripts; reports the first difference with context. Returns true if equal.
bool SameTranscript(const std::vector<std::string>& plain, const std::vector<std::string>& fuse,
                    std::string* diff);

// Random bytes of length n.
std::string RandomBytes(uint64_t* state, size_t n);

}  // namespace rwd::fs::testing
