#include "api/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "api/random_id.h"

namespace rwd::api {

namespace {

constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Result<Credentials> GenerateCredentials() {
  ASSIGN_OR_RETURN(std::string id_tail, RandomString(kUpperAlnum, 16));
  ASSIGN_OR_RETURN(std::string secret, RandomString(kSecretAlphabet, 40));
  return Credentials{"AKIA" + id_tail, std::move(secret)};
}

std::string CredentialsPath(std::string_view dir) {
  std::string p(dir);
  if (p.empty()) p = ".";
  if (p.back() != '/') p += '/';
  return p + "credentials";
}

Status WriteCredentialsFile(std::string_view dir, const Credentials& creds,
                            std::string_view profile) {
  const std::string path = CredentialsPath(dir);
  std::string content = "[" + std::string(profile) +
                        "]\naws_access_key_id = " + creds.access_key_id +
                        "\naws_secret_access_key = " + creds.secret_access_key + "\n";
  Result<std::string> suffix = RandomString(kUpperAlnum, 8);
  if (!suffix.ok()) return suffix.status();
  const std::string tmp = path + ".tmp." + *suffix;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  Status st = WriteAll(fd, content, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Status::FromErrno(errno, "fsync " + tmp);
  if (::close(fd) != 0 && st.ok()) st = Status::FromErrno(errno, "close " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::FromErrno(errno, "rename " + tmp + " to " + path);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  std::string d(dir.empty() ? "." : dir);
  int dfd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::FromErrno(errno, "open directory " + d);
  if (::fsync(dfd) != 0) st = Status::FromErrno(errno, "fsync directory " + d);
  ::close(dfd);
  return st;
}

Result<Credentials> LoadCredentialsFile(std::string_view path, std::string_view profile) {
  std::string p(path);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no credentials file at " + p);
    return Status::FromErrno(errno, "open " + p);
  }
  // Secrets are private: a file of ours that others could read (an older version, a copy) is
  // made 0600. A file owned by someone else is only read.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 077) != 0 &&
      ::fchmod(fd, 0600) != 0) {
    Status failed = Status::FromErrno(errno, "chmod " + p);
    ::close(fd);
    return failed;
  }
  std::string text;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Status::FromErrno(errno, "read " + p);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1 << 20)) {
      ::close(fd);
      return Status::InvalidArgument(p + " is too large to be a credentials file");
    }
  }
  ::close(fd);

  bool in_profile = false, seen_profile = false;
  Credentials creds;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line = Trim(std::string_view(text).substr(start, nl - start));
    start = nl + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      std::string_view name = Trim(line.substr(1, close == std::string_view::npos ? 0 : close - 1));
      in_profile = name == profile;
      seen_profile = seen_profile || in_profile;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, eq));
    std::string_view value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") creds.access_key_id = std::string(value);
    if (key == "aws_secret_access_key") creds.secret_access_key = std::string(value);
  }
  if (!seen_profile) {
    return Status::NotFound("profile [" + std::string(profile) + "] not found in " + p);
  }
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return Status::InvalidArgument("profile [" + std::string(profile) + "] in " + p +
                                   " lacks aws_access_key_id or aws_secret_access_key");
  }
  return creds;
}

Result<Credentials> LoadOrCreateCredentials(std::string_view dir, std::string_view profile) {
  const std::string path = CredentialsPath(dir);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return LoadCredentialsFile(path, profile);
  if (errno != ENOENT) return Status::FromErrno(errno, "stat " + path);
  ASSIGN_OR_RETURN(Credentials creds, GenerateCredentials());
  RETURN_IF_ERROR(WriteCredentialsFile(dir, creds, profile));
  return creds;
}

SecretLookup SingleKeyLookup(Credentials creds) {
  return [creds = std::move(creds)](std::string_view akid) -> std::optional<std::string> {
    if (ConstantTimeEquals(akid, creds.access_key_id)) return creds.secret_access_key;
    return std::nullopt;
  };
}

}  // namespace rwd::api
