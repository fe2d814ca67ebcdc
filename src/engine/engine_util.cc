// Small helpers shared by the files that implement MariaDbEngine (declared in
// engine_internal.h): files with an owner and a mode, the server log's tail, passwords.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/engine_internal.h"

namespace rwd::engine {
namespace {

namespace fs = std::filesystem;

constexpr size_t kLogTailBytes = 4096;
constexpr int kLogTailLines = 20;

}  // namespace

namespace engine_internal {

Status SetOwnerAndMode(int fd, const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      ::fchown(fd, uid, gid) != 0) {
    return Status::FromErrno(errno, "chown " + path);
  }
  if (::fchmod(fd, mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  return Status::Ok();
}

Status MakeOwnedDirectory(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) return Status::FromErrno(error.value(), "creating directory " + path);
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening directory " + path);
  Status status = SetOwnerAndMode(fd, path, uid, gid, mode);
  ::close(fd);
  return status;
}

Status FixFileIfPresent(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "opening " + path);
  }
  struct stat info {};
  Status status;
  if (::fstat(fd, &info) != 0) {
    status = Status::FromErrno(errno, "stat " + path);
  } else if (!S_ISREG(info.st_mode) || info.st_nlink != 1) {
    status = Status::FailedPrecondition(path + " is not a plain file with one link; remove it");
  } else {
    status = SetOwnerAndMode(fd, path, uid, gid, mode);
  }
  ::close(fd);
  return status;
}

Status WriteFileWithMode(const std::string& path, std::string_view content, mode_t mode,
                         gid_t gid) {
  std::string temp = path + ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating " + temp);
  Status status = SetOwnerAndMode(fd, temp, static_cast<uid_t>(-1), gid, mode);
  size_t done = 0;
  while (status.ok() && done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = Status::FromErrno(errno, "writing " + temp);
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) status = Status::FromErrno(errno, "fsync " + temp);
  ::close(fd);
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = Status::FromErrno(errno, "renaming " + temp);
  }
  if (!status.ok()) ::unlink(temp.c_str());
  return status;
}

Status WritePrivateFile(const std::string& path, std::string_view content) {
  return WriteFileWithMode(path, content, 0600, static_cast<gid_t>(-1));
}

Result<std::string> ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return Status::FromErrno(errno, "opening " + path);
  }
  std::string content;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return Status::FromErrno(error, "reading " + path);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

Result<std::string> RandomPassword() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string password;
  while (password.size() < 32) {
    unsigned char bytes[64];
    ssize_t n = ::getrandom(bytes, sizeof(bytes), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "getrandom");
    for (ssize_t i = 0; i < n && password.size() < 32; ++i) {
      // Rejection sampling keeps every character equally likely.
      if (bytes[i] < 248) password += kAlphabet[bytes[i] % kAlphabet.size()];
    }
  }
  return password;
}

std::string ReadLogTail(const std::string& path, off_t from_offset) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "(cannot read " + path + ": " + std::strerror(errno) + ")";
  struct stat info {};
  ::fstat(fd, &info);
  off_t start = std::max<off_t>(from_offset, info.st_size - static_cast<off_t>(kLogTailBytes));
  std::string text;
  if (info.st_size > start) {
    text.resize(static_cast<size_t>(info.st_size - start));
    ssize_t n = ::pread(fd, text.data(), text.size(), start);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  ::close(fd);
  if (start > from_offset) {  // began mid-line: drop the partial first line
    size_t newline = text.find('\n');
    text.erase(0, newline == std::string::npos ? text.size() : newline + 1);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t cut = text.size();
  for (int lines = 0; lines < kLogTailLines && cut != std::string::npos && cut > 0; ++lines) {
    cut = text.rfind('\n', cut - 1);
  }
  if (cut != std::string::npos && cut < text.size()) text.erase(0, cut + 1);
  if (text.empty()) return "(" + path + " has nothing new)";
  return text;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace engine_internal
}  // namespace rwd::engine
