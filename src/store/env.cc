#include "store/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace rwd::store {
namespace {

// Writes every byte of parts[0, n) at `pos` (pwritev), or at the file offset when pos < 0
// (writev; O_APPEND files), retrying short writes and EINTR. Adds the bytes written to
// *written, also on failure (what was written may stay).
Status WriteAll(int fd, iovec* parts, int n, int64_t pos, const std::string& path,
                uint64_t* written) {
  while (n > 0 && parts->iov_len == 0) ++parts, --n;
  while (n > 0) {
    const ssize_t w = pos < 0 ? ::writev(fd, parts, n)
                              : ::pwritev(fd, parts, n, static_cast<off_t>(pos));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, (pos < 0 ? "write " : "pwrite ") + path);
    }
    *written += static_cast<uint64_t>(w);
    if (pos >= 0) pos += w;
    size_t done = static_cast<size_t>(w);
    while (n > 0 && done >= parts->iov_len) {
      done -= parts->iov_len;
      ++parts, --n;
    }
    if (n > 0) {
      parts->iov_base = static_cast<char*>(parts->iov_base) + done;
      parts->iov_len -= done;
    }
  }
  return Status::Ok();
}

// Appends through write (O_APPEND) or pwrite at a tracked position (no O_APPEND: the file may
// be longer than its logical end, preallocated zeros, and appends inside it allocate nothing).
class PosixAppendFile final : public AppendFile {
 public:
  // positional: appends go at `size` with pwrite; else at the file's end with write.
  PosixAppendFile(int fd, uint64_t size, std::string path, bool positional)
      : fd_(fd), size_(size), path_(std::move(path)), positional_(positional) {}
  ~PosixAppendFile() override { ::close(fd_); }

  Status Append(std::string_view data) override {
    iovec part{const_cast<char*>(data.data()), data.size()};
    return WriteAll(fd_, &part, 1, positional_ ? static_cast<int64_t>(size_) : -1, path_, &size_);
  }

  Status Append(std::string_view head, std::string_view body) override {
    iovec parts[2] = {{const_cast<char*>(head.data()), head.size()},
                      {const_cast<char*>(body.data()), body.size()}};
    return WriteAll(fd_, parts, 2, positional_ ? static_cast<int64_t>(size_) : -1, path_, &size_);
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync " + path_);
    return Status::Ok();
  }

  uint64_t Size() const override { return size_; }

  void StartWriteback(uint64_t offset, uint64_t len) override {
    (void)::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(len),
                            SYNC_FILE_RANGE_WRITE);
  }

 private:
  int fd_;
  uint64_t size_;  // where the next append goes
  std::string path_;
  bool positional_;
};

class PosixReadFile final : public ReadFile {
 public:
  PosixReadFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixReadFile() override { ::close(fd_); }

  Result<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "pread " + path_);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

 private:
  int fd_;
  std::string path_;
};

// The store's files are private to the process that owns it (0600, directories 0700),
// whatever the umask and whatever mode an older version or another tool left: set at creation
// and fixed at every open.
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

// Gives the open file `fd` the mode `mode` unless it has it already.
Status FixMode(int fd, const std::string& path, mode_t mode) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "fstat " + path);
  if ((st.st_mode & 07777) == mode) return Status::Ok();
  if (::fchmod(fd, mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  return Status::Ok();
}

// Opens with O_CREAT and mode kFileMode, then fixes the mode of a file that existed.
Result<int> OpenPrivate(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, kFileMode);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  if (Status s = FixMode(fd, path, kFileMode); !s.ok()) {
    ::close(fd);
    return s;
  }
  return fd;
}

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<AppendFile>> OpenAppend(const std::string& path) override {
    ASSIGN_OR_RETURN(int fd, OpenPrivate(path, O_WRONLY | O_CREAT | O_APPEND));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "fstat " + path);
    }
    return std::unique_ptr<AppendFile>(
        new PosixAppendFile(fd, static_cast<uint64_t>(st.st_size), path, false));
  }

  Result<std::unique_ptr<AppendFile>> OpenAppendAt(const std::string& path,
                                                   uint64_t offset) override {
    ASSIGN_OR_RETURN(int fd, OpenPrivate(path, O_WRONLY));
    return std::unique_ptr<AppendFile>(new PosixAppendFile(fd, offset, path, true));
  }

  Status CreateFilled(const std::string& path, std::string_view head, uint64_t size) override {
    ASSIGN_OR_RETURN(int fd, OpenPrivate(path, O_WRONLY | O_CREAT | O_TRUNC));
    PosixAppendFile file(fd, 0, path, true);  // owns fd
    RETURN_IF_ERROR(file.Append(head));
    const std::string zeros(1 << 20, '\0');
    while (file.Size() < size) {
      const uint64_t n = std::min<uint64_t>(zeros.size(), size - file.Size());
      RETURN_IF_ERROR(file.Append(std::string_view(zeros.data(), n)));
    }
    return file.Sync();
  }

  Result<std::unique_ptr<ReadFile>> OpenRead(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    // Best effort: a reader that does not own the file (an inspection tool run as another
    // user) cannot fix its mode and still may read it.
    (void)FixMode(fd, path, kFileMode);
    return std::unique_ptr<ReadFile>(new PosixReadFile(fd, path));
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return Status::FromErrno(errno, "opendir " + dir);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    return names;
  }

  Status CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST)
      return Status::FromErrno(errno, "mkdir " + dir);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open dir " + dir);
    Status s = FixMode(fd, dir, kDirMode);
    ::close(fd);
    return s;
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open dir " + dir);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno(err, "fsync dir " + dir);
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "unlink " + path);
    return Status::Ok();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return Status::FromErrno(errno, "rename " + from + " to " + to);
    return Status::Ok();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0)
      return Status::FromErrno(errno, "truncate " + path);
    return Status::Ok();
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
    return static_cast<uint64_t>(st.st_size);
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  int64_t NowNs() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Result<std::unique_ptr<AppendFile>> Env::OpenAppendAt(const std::string& path, uint64_t offset) {
  RETURN_IF_ERROR(Truncate(path, offset));
  return OpenAppend(path);
}

Status Env::CreateFilled(const std::string& path, std::string_view head, uint64_t size) {
  if (FileExists(path)) RETURN_IF_ERROR(RemoveFile(path));
  ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> file, OpenAppend(path));
  RETURN_IF_ERROR(file->Append(head));
  const std::string zeros(1 << 20, '\0');
  while (file->Size() < size) {
    const uint64_t n = std::min<uint64_t>(zeros.size(), size - file->Size());
    RETURN_IF_ERROR(file->Append(std::string_view(zeros.data(), n)));
  }
  return file->Sync();
}

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

Result<std::string> ReadWholeFile(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(uint64_t size, env->FileSize(path));
  ASSIGN_OR_RETURN(std::unique_ptr<ReadFile> file, env->OpenRead(path));
  std::string data(size, '\0');
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, size, data.data()));
  data.resize(n);
  return data;
}

Status WriteFileAtomic(Env* env, const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  if (env->FileExists(tmp)) RETURN_IF_ERROR(env->RemoveFile(tmp));
  Status s;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> file, env->OpenAppend(tmp));
    s = file->Append(data);
    if (s.ok()) s = file->Sync();
  }
  if (s.ok()) s = env->RenameFile(tmp, path);
  if (!s.ok()) {
    (void)env->RemoveFile(tmp);  // a full disk gets its space back
    return s;
  }
  std::string dir = path.substr(0, path.find_last_of('/'));
  return env->SyncDir(dir.empty() ? "." : dir);
}

}  // namespace rwd::store
