// FaultInjectionEnv: an Env for tests that remembers, per file, how much was synced, so a test
// can simulate a machine crash (drop what was never synced, or keep a random part of it: a torn
// write), make device syncs fail, or make appends fail with ENOSPC. After LevelDB's
// db/fault_injection_test.cc. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "store/env.h"

namespace rwd::store {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base = Env::Default()) : base_(base) {}

  Result<std::unique_ptr<AppendFile>> OpenAppend(const std::string& path) override;
  Result<std::unique_ptr<ReadFile>> OpenRead(const std::string& path) override {
    return base_->OpenRead(path);
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  Status SyncDir(const std::string& dir) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  int64_t NowNs() override;

  // While inactive (a crashed machine), every write, sync and rename fails with IOError.
  void SetActive(bool active);
  // The machine crashes (as SetActive(false)) at the (n+1)-th open-for-append, append, sync,
  // directory sync, remove, rename or truncate from now: `n` of them succeed. A failpoint for
  // stepping a crash through every I/O of an operation.
  void CrashAfter(int n);
  bool crashed() const;
  // The next `n` device syncs fail with EIO.
  void FailSyncs(int n);
  // While set, appends fail with ENOSPC after writing nothing.
  void SetDiskFull(bool full);
  // Tests control the clock: when set, NowNs() returns this (it may go backwards).
  void SetClock(int64_t now_ns);

  // Simulates losing power: each file keeps its synced bytes plus, if `torn`, a random prefix
  // of the unsynced rest; files whose creation was never made durable by a directory sync go.
  Status SimulateCrash(std::mt19937_64* rng, bool torn);

  uint64_t syncs() const;
  // StartWriteback hints passed on to the base env's files (they change nothing durable).
  uint64_t writebacks() const { return writebacks_.load(); }

 private:
  friend class FaultAppendFile;
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool durable_name = false;  // its directory was synced after it was created
  };
  Status OnAppend(const std::string& path, size_t n);
  Status OnSync(const std::string& path);
  bool LiveLocked();  // mu_ held: not crashed, counting one operation toward CrashAfter

  Env* base_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;
  bool active_ = true;
  int crash_after_ = 0;  // 0: off
  int fail_syncs_ = 0;
  bool disk_full_ = false;
  bool clock_set_ = false;
  int64_t clock_ns_ = 0;
  uint64_t syncs_ = 0;
  std::atomic<uint64_t> writebacks_{0};
};

}  // namespace rwd::store
