#include "store/fault_env.h"

#include <cerrno>

namespace rwd::store {

class FaultAppendFile final : public AppendFile {
 public:
  FaultAppendFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<AppendFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}
  Status Append(std::string_view data) override {
    RETURN_IF_ERROR(env_->OnAppend(path_, 0));
    RETURN_IF_ERROR(base_->Append(data));
    return env_->OnAppend(path_, data.size());
  }
  Status Sync() override {
    RETURN_IF_ERROR(env_->OnSync(path_));
    return base_->Sync();
  }
  uint64_t Size() const override { return base_->Size(); }
  void StartWriteback(uint64_t offset, uint64_t len) override {
    env_->writebacks_++;
    base_->StartWriteback(offset, len);
  }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<AppendFile> base_;
};

namespace {
std::string DirOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}
}  // namespace

Result<std::unique_ptr<AppendFile>> FaultInjectionEnv::OpenAppend(const std::string& path) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!LiveLocked()) return Status::IOError("crashed: open " + path);
  }
  const bool existed = base_->FileExists(path);
  ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> file, base_->OpenAppend(path));
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto [it, inserted] = files_.try_emplace(path);
    if (inserted) {
      // A file that existed before we watched it is taken as durable as it stands.
      it->second.size = it->second.synced = file->Size();
      it->second.durable_name = existed;
    }
  }
  return std::unique_ptr<AppendFile>(new FaultAppendFile(this, path, std::move(file)));
}

Status FaultInjectionEnv::OnAppend(const std::string& path, size_t n) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!LiveLocked()) return Status::IOError("crashed: append " + path);
  if (n == 0 && disk_full_) return Status::FromErrno(ENOSPC, "append " + path);
  files_[path].size += n;
  return Status::Ok();
}

Status FaultInjectionEnv::OnSync(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!LiveLocked()) return Status::IOError("crashed: sync " + path);
  ++syncs_;
  if (fail_syncs_ > 0) {
    --fail_syncs_;
    return Status::FromErrno(EIO, "fdatasync " + path);
  }
  auto& f = files_[path];
  f.synced = f.size;
  return Status::Ok();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!LiveLocked()) return Status::IOError("crashed: sync dir " + dir);
    for (auto& [path, f] : files_) {
      if (DirOf(path) == dir) f.durable_name = true;
    }
  }
  return base_->SyncDir(dir);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!LiveLocked()) return Status::IOError("crashed: remove " + path);
    files_.erase(path);
  }
  return base_->RemoveFile(path);
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!LiveLocked()) return Status::IOError("crashed: rename " + from);
    auto it = files_.find(from);
    if (it != files_.end()) {
      FileState st = it->second;
      st.durable_name = false;  // until its directory is synced
      files_.erase(it);
      files_[to] = st;
    }
  }
  return base_->RenameFile(from, to);
}

Status FaultInjectionEnv::Truncate(const std::string& path, uint64_t size) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!LiveLocked()) return Status::IOError("crashed: truncate " + path);
    auto it = files_.find(path);
    if (it != files_.end()) {
      it->second.size = size;
      it->second.synced = std::min(it->second.synced, size);
    }
  }
  return base_->Truncate(path, size);
}

int64_t FaultInjectionEnv::NowNs() {
  std::lock_guard<std::mutex> lk(mu_);
  return clock_set_ ? clock_ns_ : base_->NowNs();
}

bool FaultInjectionEnv::LiveLocked() {
  if (!active_) return false;
  if (crash_after_ > 0 && --crash_after_ == 0) active_ = false;  // this op is the first lost
  return active_;
}

void FaultInjectionEnv::CrashAfter(int n) {
  std::lock_guard<std::mutex> lk(mu_);
  crash_after_ = n + 1;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard<std::mutex> lk(mu_);
  return !active_;
}

void FaultInjectionEnv::SetActive(bool active) {
  std::lock_guard<std::mutex> lk(mu_);
  active_ = active;
  crash_after_ = 0;
}
void FaultInjectionEnv::FailSyncs(int n) {
  std::lock_guard<std::mutex> lk(mu_);
  fail_syncs_ = n;
}
void FaultInjectionEnv::SetDiskFull(bool full) {
  std::lock_guard<std::mutex> lk(mu_);
  disk_full_ = full;
}
void FaultInjectionEnv::SetClock(int64_t now_ns) {
  std::lock_guard<std::mutex> lk(mu_);
  clock_set_ = true;
  clock_ns_ = now_ns;
}
uint64_t FaultInjectionEnv::syncs() const {
  std::lock_guard<std::mutex> lk(mu_);
  return syncs_;
}

Status FaultInjectionEnv::SimulateCrash(std::mt19937_64* rng, bool torn) {
  std::map<std::string, FileState> files;
  {
    std::lock_guard<std::mutex> lk(mu_);
    files = files_;
  }
  for (const auto& [path, f] : files) {
    if (!base_->FileExists(path)) continue;
    if (!f.durable_name) {
      RETURN_IF_ERROR(base_->RemoveFile(path));
      continue;
    }
    uint64_t keep = f.synced;
    if (torn && f.size > f.synced) keep += (*rng)() % (f.size - f.synced + 1);
    RETURN_IF_ERROR(base_->Truncate(path, keep));
  }
  std::lock_guard<std::mutex> lk(mu_);
  files_.clear();
  return Status::Ok();
}

}  // namespace rwd::store
