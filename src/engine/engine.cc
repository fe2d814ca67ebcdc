#include "engine/engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/server_probe.h"
#include "engine/sql_text.h"
#include "engine/subprocess.h"

namespace rwd::engine {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kKillWait = std::chrono::seconds(30);
constexpr std::chrono::milliseconds kReadyPollInterval = std::chrono::milliseconds(10);
constexpr std::chrono::milliseconds kProbeTimeout = std::chrono::seconds(5);
constexpr size_t kLogTailBytes = 4096;
constexpr int kLogTailLines = 20;
// Accounts the engine owns or MariaDB reserves; a master user must not be one of them.
constexpr std::string_view kReservedUsers[] = {"root", "mariadb.sys", "mysql", "PUBLIC"};

std::string Normalized(const std::string& path) {
  std::string normal = fs::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

// True if `path` is `dir` or below it (lexically; both are normalized absolute paths).
bool IsWithin(const std::string& path, const std::string& dir) {
  fs::path relative = fs::path(path).lexically_relative(dir);
  return !relative.empty() && *relative.begin() != "..";
}

bool IsNumericAddress(const std::string& address) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, address.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

bool IsSettingName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// Gives the file or directory open as `fd` its owner (-1: unchanged) and mode.
Status SetOwnerAndMode(int fd, const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      ::fchown(fd, uid, gid) != 0) {
    return Status::FromErrno(errno, "chown " + path);
  }
  if (::fchmod(fd, mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  return Status::Ok();
}

// Creates `path` if missing (parents too), then gives it owner and mode. The directory is
// opened without following a symlink, so a link planted where a directory belongs (the engine
// account owns some of these) is refused, never followed.
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

// If `path` is a regular file, gives it owner and mode; a missing file is fine. A symlink or a
// file with other hard links is refused (it could stand for a file the engine must not touch).
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

// Writes a small file in one go, replacing any previous one: mode `mode`, group `gid` (-1:
// this process's).
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

// Writes a small private file (mode 0600) in one go, replacing any previous one.
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

// The last lines mariadbd wrote to its log since `from_offset`.
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

// Turns a failed client run into a Status. Client-side errors (2000-2999: cannot connect, lost
// connection) mean the server is not there; anything else is the server saying no.
Status ClientFailure(const std::string& user, const ProcessResult& result) {
  std::string detail = Trimmed(result.stderr_text);
  if (detail.size() > 2000) detail = detail.substr(0, 2000) + "...";
  std::string message =
      "mariadb client as '" + user + "' " + DescribeWaitStatus(result.wait_status) + ": " + detail;
  size_t at = detail.find("ERROR ");
  if (at == std::string::npos) return Status::IOError(message);
  int code = 0;
  const char* digits = detail.c_str() + at + 6;
  std::from_chars(digits, detail.c_str() + detail.size(), code);
  if (code >= 2000 && code < 3000) return Status::Unavailable(message);
  return Status::InvalidArgument(message);
}

// A client option file that exists (mode 0600, in a 0700 directory) for as long as this lives.
class TempOptionFile {
 public:
  static Result<std::unique_ptr<TempOptionFile>> Create(const std::string& dir,
                                                        std::string_view content) {
    std::string path = dir + "/client-XXXXXX.cnf";
    int fd = ::mkstemps(path.data(), 4);  // creates with mode 0600
    if (fd < 0) return Status::FromErrno(errno, "creating a client option file in " + dir);
    auto file = std::unique_ptr<TempOptionFile>(new TempOptionFile(path));
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int error = errno;
        ::close(fd);
        return Status::FromErrno(error, "writing " + path);
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    return file;
  }
  ~TempOptionFile() { ::unlink(path_.c_str()); }
  TempOptionFile(const TempOptionFile&) = delete;
  TempOptionFile& operator=(const TempOptionFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit TempOptionFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

std::string NowForLog() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

// Supplementary groups of `account` (its primary group included).
std::vector<gid_t> GroupsOf(const EngineAccount& account) {
  // Spawned switched, the server has its gid and no supplementary groups (RunAs).
  if (account.switched) return {account.gid};
  int count = 32;
  std::vector<gid_t> groups(count);
  while (::getgrouplist(account.name.c_str(), account.gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count) + 1);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<size_t>(count));
  return groups;
}

std::string OctalMode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

Result<EngineAccount> ResolveEngineAccount(std::string_view name) {
  auto lookup = [](auto getter, auto key, const std::string& what) -> Result<EngineAccount> {
    struct passwd entry {};
    struct passwd* found = nullptr;
    std::vector<char> buffer(16384);
    int rc = getter(key, &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
      return Status::InvalidArgument(
          "engine user " + what + " does not exist" +
          (rc != 0 ? std::string(" (") + std::strerror(rc) + ")" : std::string()) +
          "; create it (scripts/setup.sh creates the system user mysql) or pick another with "
          "--engine-user");
    }
    return EngineAccount{entry.pw_name, entry.pw_uid, entry.pw_gid, false};
  };
  if (::geteuid() == 0) {
    std::string wanted = name.empty() ? "mysql" : std::string(name);
    ASSIGN_OR_RETURN(EngineAccount account,
                     lookup(::getpwnam_r, wanted.c_str(), "'" + wanted + "'"));
    if (account.uid == 0) {
      return Status::InvalidArgument("engine user '" + wanted +
                                     "' is root: mariadbd must run as an unprivileged user");
    }
    account.switched = true;
    return account;
  }
  ASSIGN_OR_RETURN(EngineAccount self,
                   lookup(::getpwuid_r, ::geteuid(), "with uid " + std::to_string(::geteuid())));
  self.gid = ::getegid();
  if (!name.empty() && name != self.name) {
    return Status::InvalidArgument("this process runs as '" + self.name +
                                   "', not root: mariadbd can only run as '" + self.name +
                                   "', not as engine user '" + std::string(name) +
                                   "' (run as root to switch users)");
  }
  return self;
}

Result<EngineAccount> CheckExplicitAccount(EngineAccount account) {
  if (::geteuid() == 0) {
    if (account.uid == 0 || account.gid == 0) {
      return Status::InvalidArgument("engine account uid " + std::to_string(account.uid) +
                                     " gid " + std::to_string(account.gid) +
                                     ": mariadbd must run with a non-root uid and gid");
    }
    if (account.name.empty()) account.name = "uid " + std::to_string(account.uid);
    account.switched = true;
    return account;
  }
  if (account.uid != ::geteuid() || account.gid != ::getegid()) {
    return Status::InvalidArgument(
        "this process is not root: mariadbd can only run as its own uid " +
        std::to_string(::geteuid()) + " gid " + std::to_string(::getegid()) + ", not uid " +
        std::to_string(account.uid) + " gid " + std::to_string(account.gid));
  }
  if (account.name.empty()) account.name = "uid " + std::to_string(account.uid);
  account.switched = false;
  return account;
}

Status CheckTraversable(const std::string& path, const EngineAccount& account) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("not an absolute path: '" + path + "'");
  }
  const std::vector<gid_t> groups = GroupsOf(account);
  fs::path walked = "/";
  fs::path target = fs::path(path).lexically_normal();
  for (auto part = target.begin(); part != target.end(); ++part) {
    if (part != target.begin()) {
      if (part->empty()) continue;
      walked /= *part;
    }
    struct stat info {};
    if (::stat(walked.c_str(), &info) != 0) {
      return Status::FromErrno(errno, "examining " + walked.string());
    }
    if (!S_ISDIR(info.st_mode))
      return Status::NotDirectory(walked.string() + " is not a directory");
    mode_t bit = S_IXOTH;
    if (info.st_uid == account.uid) {
      bit = S_IXUSR;
    } else if (std::find(groups.begin(), groups.end(), info.st_gid) != groups.end()) {
      bit = S_IXGRP;
    }
    if ((info.st_mode & bit) == 0) {
      return Status::FailedPrecondition(
          "directory " + walked.string() + " (owner " + std::to_string(info.st_uid) + ":" +
          std::to_string(info.st_gid) + ", mode " + OctalMode(info.st_mode) +
          ") cannot be traversed by the engine user '" + account.name + "' (uid " +
          std::to_string(account.uid) +
          "), which mariadbd runs as: let it through (e.g. chmod "
          "o+x " +
          walked.string() + ", or chgrp " + std::to_string(account.gid) +
          " and chmod g+x) or put the "
          "data directory elsewhere (e.g. under /var/lib)");
    }
  }
  return Status::Ok();
}

std::string MasterPrivilegesSql(const std::string& account) {
  // Aurora MySQL's master privileges; REPLICATION CLIENT is BINLOG MONITOR in 10.11, and
  // CONNECTION ADMIN lets the master KILL its users' queries (Aurora: mysql.rds_kill).
  return "REVOKE ALL PRIVILEGES, GRANT OPTION FROM " + account +
         ";\n"
         "GRANT RELOAD, PROCESS, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR, CREATE USER, "
         "CONNECTION ADMIN ON *.* TO " +
         account +
         " WITH GRANT OPTION;\n"
         "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER, "
         "CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, "
         "ALTER ROUTINE, EVENT, TRIGGER, DELETE HISTORY ON `%`.* TO " +
         account +
         " WITH GRANT OPTION;\n"
         "GRANT SELECT ON `mysql`.* TO " +
         account + ";\n";
}

Result<std::unique_ptr<MariaDbEngine>> MariaDbEngine::Create(EngineOptions options) {
  auto require_absolute = [](const std::string& path, const char* name) -> Status {
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument(std::string(name) + " must be an absolute path: '" + path +
                                     "'");
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(require_absolute(options.datadir, "datadir"));
  RETURN_IF_ERROR(require_absolute(options.run_dir, "run_dir"));
  options.datadir = Normalized(options.datadir);
  options.run_dir = Normalized(options.run_dir);
  if (options.port < 1 || options.port > 65535) {
    return Status::InvalidArgument("port out of range: " + std::to_string(options.port));
  }
  if (!IsNumericAddress(options.bind_address)) {
    return Status::InvalidArgument("bind_address must be a numeric IP address: '" +
                                   options.bind_address + "'");
  }
  auto derive = [](std::string& path, const std::string& dir, const char* name) {
    if (path.empty()) path = dir + "/" + name;
  };
  derive(options.socket_path, options.datadir, "mysqld.sock");
  derive(options.config_path, options.run_dir, "my.cnf");
  derive(options.server_dir, options.run_dir, "mariadbd");
  derive(options.log_error_path, options.server_dir, "mariadbd.err");
  derive(options.pid_file_path, options.server_dir, "mariadbd.pid");
  derive(options.tmpdir, options.server_dir, "tmp");
  derive(options.secure_file_dir, options.server_dir, "files");
  struct NamedPath {
    std::string* path;
    const char* name;
    bool may_be_in_datadir;
  };
  for (NamedPath p : {NamedPath{&options.socket_path, "socket_path", true},
                      NamedPath{&options.run_dir, "run_dir", false},
                      NamedPath{&options.config_path, "config_path", false},
                      NamedPath{&options.log_error_path, "log_error_path", false},
                      NamedPath{&options.pid_file_path, "pid_file_path", false},
                      NamedPath{&options.server_dir, "server_dir", false},
                      NamedPath{&options.tmpdir, "tmpdir", false},
                      NamedPath{&options.secure_file_dir, "secure_file_dir", false}}) {
    RETURN_IF_ERROR(require_absolute(*p.path, p.name));
    *p.path = Normalized(*p.path);
    if (!p.may_be_in_datadir && IsWithin(*p.path, options.datadir)) {
      // The datadir is versioned: what is in it is rewound by a backtrack and copied by a clone.
      return Status::InvalidArgument(std::string(p.name) +
                                     " must be outside the datadir: " + *p.path);
    }
  }
  if (options.socket_path.size() >= 108) {  // sizeof(sockaddr_un::sun_path)
    return Status::InvalidArgument("socket path too long for a Unix socket: " +
                                   options.socket_path);
  }
  RETURN_IF_ERROR(require_absolute(options.mariadbd_path, "mariadbd_path"));
  RETURN_IF_ERROR(require_absolute(options.install_db_path, "install_db_path"));
  RETURN_IF_ERROR(require_absolute(options.client_path, "client_path"));
  if (options.innodb_buffer_pool_size.empty()) {
    return Status::InvalidArgument("innodb_buffer_pool_size is empty");
  }
  for (const auto& [name, value] : options.extra_settings) {
    if (!IsSettingName(name)) return Status::InvalidArgument("bad setting name: '" + name + "'");
  }
  for (const auto& [name, value] : options.tuned_settings) {
    RETURN_IF_ERROR(CheckTunedSetting(name, value));
  }
  if (options.start_timeout.count() <= 0 || options.stop_timeout.count() <= 0 ||
      options.sql_timeout.count() <= 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  EngineAccount account;
  if (options.account) {
    if (!options.engine_user.empty()) {
      return Status::InvalidArgument("give either engine_user or account, not both");
    }
    ASSIGN_OR_RETURN(account, CheckExplicitAccount(*options.account));
    options.account = account;
  } else {
    ASSIGN_OR_RETURN(account, ResolveEngineAccount(options.engine_user));
    options.engine_user = account.name;
  }
  return std::unique_ptr<MariaDbEngine>(new MariaDbEngine(std::move(options), std::move(account)));
}

MariaDbEngine::MariaDbEngine(EngineOptions options, EngineAccount account)
    : options_(std::move(options)), account_(std::move(account)), tuned_(options_.tuned_settings) {}

Status MariaDbEngine::SetTunedSettings(TunedSettings settings) {
  for (const auto& [name, value] : settings) RETURN_IF_ERROR(CheckTunedSetting(name, value));
  std::lock_guard<std::mutex> lock(mu_);
  tuned_ = std::move(settings);
  return Status::Ok();
}

Status MariaDbEngine::ApplySetting(const std::string& name,
                                   const std::optional<std::string>& value) {
  if (value) {
    RETURN_IF_ERROR(CheckTunedSetting(name, *value));
  } else if (!IsTunableVariable(name)) {
    return CheckTunedSetting(name, "0");  // its refusal names the variable
  }
  if (!IsRunning()) return Status::FailedPrecondition("mariadbd is not running");
  // What the config sets without tuning (WriteConfig), so a reset returns to it.
  const std::optional<std::string> own =
      OwnSettingValue(name, options_.innodb_buffer_pool_size);
  ASSIGN_OR_RETURN(std::string ignored,
                   RunSqlAsRoot(std::string(kSqlModeForQuotedText) +
                                SetGlobalSql(name, value, own) + ";"));
  (void)ignored;  // SET prints nothing
  std::lock_guard<std::mutex> lock(mu_);
  if (value) {
    in_effect_[name] = *value;
  } else {
    in_effect_.erase(name);
  }
  return Status::Ok();
}

TunedSettings MariaDbEngine::SettingsInEffect() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (child_reaped_) return {};
  return in_effect_;
}

Status MariaDbEngine::PrepareDirectories() const {
  const uid_t keep_uid = static_cast<uid_t>(-1);
  const gid_t keep_gid = static_cast<gid_t>(-1);
  // run_dir: this process's; the engine account may only traverse it (to its own directory).
  if (account_.switched) {
    RETURN_IF_ERROR(MakeOwnedDirectory(options_.run_dir, keep_uid, account_.gid, 0710));
  } else {
    RETURN_IF_ERROR(MakeOwnedDirectory(options_.run_dir, keep_uid, keep_gid, 0700));
  }
  // Files of run_dir that only this process uses are private, whatever made them (an older
  // layout kept the server's log and tmpdir here; they become private history).
  std::error_code listed;
  for (fs::directory_iterator it(options_.run_dir, listed), end; !listed && it != end;
       it.increment(listed)) {
    const std::string path = it->path().string();
    if (path == options_.server_dir || path == options_.config_path) continue;
    std::error_code error;
    if (it->is_symlink(error) || error) continue;
    const bool directory = it->is_directory(error);
    fs::permissions(path,
                    directory ? fs::perms::owner_all
                              : fs::perms::owner_read | fs::perms::owner_write,
                    error);
    if (error) return Status::FromErrno(error.value(), "chmod " + path);
  }
  if (listed) return Status::FromErrno(listed.value(), "listing " + options_.run_dir);
  // What the server writes belongs to the engine account, 0700/0600.
  RETURN_IF_ERROR(MakeOwnedDirectory(options_.server_dir, account_.uid, account_.gid, 0700));
  RETURN_IF_ERROR(MakeOwnedDirectory(options_.tmpdir, account_.uid, account_.gid, 0700));
  RETURN_IF_ERROR(MakeOwnedDirectory(options_.secure_file_dir, account_.uid, account_.gid, 0700));
  RETURN_IF_ERROR(FixFileIfPresent(options_.log_error_path, account_.uid, account_.gid, 0600));
  RETURN_IF_ERROR(FixFileIfPresent(options_.pid_file_path, account_.uid, account_.gid, 0600));
  if (account_.switched) {
    RETURN_IF_ERROR(CheckTraversable(options_.server_dir, account_));
    RETURN_IF_ERROR(CheckTraversable(fs::path(options_.datadir).parent_path().string(), account_));
  }
  return Status::Ok();
}

Status MariaDbEngine::WriteServerFile(std::string_view name, std::string_view content) const {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("not a plain file name: '" + std::string(name) + "'");
  }
  RETURN_IF_ERROR(MakeOwnedDirectory(options_.server_dir, account_.uid, account_.gid, 0700));
  const std::string path = options_.server_dir + "/" + std::string(name);
  RETURN_IF_ERROR(WritePrivateFile(path, content));
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  Status status = SetOwnerAndMode(fd, path, account_.uid, account_.gid, 0600);
  ::close(fd);
  return status;
}

MariaDbEngine::~MariaDbEngine() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  // A destructor cannot report: a server that survives even SIGKILL is the reaper's to wait out.
  (void)StopLocked(/*graceful=*/true);
  JoinReaper();  // also when Stop gave up: the reaper must not outlive the engine
}

bool MariaDbEngine::IsInitialized() const {
  struct stat info {};
  return ::stat((options_.datadir + "/mysql").c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

Result<std::string> MariaDbEngine::RootPassword() const {
  if (!options_.root_password.empty()) return options_.root_password;
  Result<std::string> stored = ReadSmallFile(options_.run_dir + "/root.password");
  if (!stored.ok()) {
    return stored.status().WithContext("no root password given and none stored in run_dir");
  }
  // Clones made by older versions stored it with a newline; no password has one.
  while (!stored->empty() && (stored->back() == '\n' || stored->back() == '\r')) stored->pop_back();
  return stored;
}

Status MariaDbEngine::Initialize(std::string_view master_user, std::string_view master_password,
                                 std::string_view database) {
  if (master_user.empty() || master_user.size() > 80) {
    return Status::InvalidArgument("master user name must have 1 to 80 characters");
  }
  for (std::string_view reserved : kReservedUsers) {
    if (master_user == reserved) {
      return Status::InvalidArgument("master user name is reserved: " + std::string(master_user));
    }
  }
  if (master_password.empty()) return Status::InvalidArgument("master password is empty");
  if (database.size() > 64 || database.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("database name must have at most 64 characters");
  }

  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  if (IsRunning()) return Status::FailedPrecondition("mariadbd is running");
  if (IsInitialized()) {
    return Status::AlreadyExists("datadir already holds a database: " + options_.datadir);
  }
  RETURN_IF_ERROR(PrepareDirectories());
  RETURN_IF_ERROR(MakeOwnedDirectory(options_.datadir, account_.uid, account_.gid, 0700));

  // The root password is stored before any account gets it, so it is never lost.
  std::string root_password = options_.root_password;
  if (root_password.empty()) {
    ASSIGN_OR_RETURN(root_password, RandomPassword());
  }
  RETURN_IF_ERROR(WritePrivateFile(options_.run_dir + "/root.password", root_password));

  std::vector<std::string> install = {options_.install_db_path, "--no-defaults",
                                      "--datadir=" + options_.datadir,
                                      "--auth-root-authentication-method=normal", "--skip-test-db"};
  // Spawned as the engine account (no --user: it would only make the script try to chown
  // PAM's helper, which an unprivileged user cannot).
  std::optional<RunAs> run_as;
  if (account_.switched) run_as = RunAs{account_.uid, account_.gid};
  ASSIGN_OR_RETURN(ProcessResult installed,
                   RunProcess(install, "", options_.start_timeout, 16 << 20, run_as));
  std::string install_log_path = options_.run_dir + "/install-db.log";
  // The log is for a human after a failure; not being able to keep it changes nothing here.
  (void)WritePrivateFile(install_log_path, installed.stdout_text + installed.stderr_text);
  if (!installed.ok()) {
    std::string output = Trimmed(installed.stdout_text + installed.stderr_text);
    if (output.size() > 2000) output = "..." + output.substr(output.size() - 2000);
    return Status::IOError("mariadb-install-db " + DescribeWaitStatus(installed.wait_status) +
                           " (log: " + install_log_path + "):\n" + output);
  }

  // Right after install, root has no password.
  const SqlLogin fresh_root{"root", ""};
  RETURN_IF_ERROR(StartLocked(fresh_root));
  auto configure = [&]() -> Status {
    ASSIGN_OR_RETURN(std::string hosts,
                     RunSql(fresh_root, "SELECT Host FROM mysql.global_priv WHERE User='root'"));
    std::string script(kSqlModeForQuotedText);
    std::istringstream lines(hosts);
    for (std::string host; std::getline(lines, host);) {
      script += "ALTER USER " + SqlAccount("root", host) + " IDENTIFIED BY " +
                SqlStringLiteral(root_password) + ";\n";
    }
    const std::string master = SqlAccount(master_user, "%");
    script +=
        "CREATE USER " + master + " IDENTIFIED BY " + SqlStringLiteral(master_password) + ";\n";
    script += MasterPrivilegesSql(master);
    if (!database.empty()) script += "CREATE DATABASE " + SqlIdentifier(database) + ";\n";
    ASSIGN_OR_RETURN(std::string ignored, RunSql(fresh_root, script));
    (void)ignored;
    return Status::Ok();
  };
  Status configured = configure();
  if (!configured.ok()) {
    // The configuration's failure is the one to report; the datadir is discarded anyway.
    (void)StopLocked(/*graceful=*/false);
    return configured.WithContext("configuring the new database");
  }
  return Status::Ok();
}

Status MariaDbEngine::Start() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  RETURN_IF_ERROR(StartLocked());
  if (options_.master_user.empty()) return Status::Ok();
  Status reconciled = ReconcileMasterPrivileges(options_.master_user);
  if (!reconciled.ok()) {
    // The grant's failure is the one to report; a stop that fails leaves IsRunning() true.
    (void)StopLocked(/*graceful=*/true);
    return reconciled.WithContext(
        "mariadbd stopped: the master user's privileges could not be "
        "set");
  }
  return Status::Ok();
}

Status MariaDbEngine::ReconcileMasterPrivileges(std::string_view master_user) const {
  if (master_user.empty()) return Status::InvalidArgument("master user is empty");
  // One client call. A compound statement skips an account its owner dropped (GRANT would
  // create nothing without a password, and REVOKE would fail).
  std::string script(kSqlModeForQuotedText);
  // A read-only replica has its privileges from its writer: writing them again to its own
  // binlog would give it a transaction (GTID) its writer never had (replication.h).
  if (options_.read_only && options_.server_id != 0) script += "SET SESSION sql_log_bin = 0;\n";
  script +=
      "DELIMITER //\nBEGIN NOT ATOMIC\nIF EXISTS (SELECT 1 FROM mysql.global_priv WHERE "
      "User = " +
      SqlStringLiteral(master_user) + " AND Host = '%') THEN\n";
  script += MasterPrivilegesSql(SqlAccount(master_user, "%"));
  script += "END IF;\nEND//\nDELIMITER ;\n";
  ASSIGN_OR_RETURN(std::string ignored, RunSqlAsRoot(script));
  (void)ignored;
  return Status::Ok();
}

Status MariaDbEngine::StartLocked(std::optional<SqlLogin> readiness_login) {
  if (IsRunning()) return Status::FailedPrecondition("mariadbd is already running");
  JoinReaper();
  if (!IsInitialized()) {
    return Status::FailedPrecondition("datadir holds no database (run Initialize): " +
                                      options_.datadir);
  }
  RETURN_IF_ERROR(CheckNoOrphan());
  RETURN_IF_ERROR(PrepareDirectories());
  // The datadir's top directory is the account's too (a clone's comes from its source, an
  // older one from another account). Touched only when it differs: in rewindd it is a
  // versioned mount, where every change is history.
  if (struct stat top {}; ::stat(options_.datadir.c_str(), &top) == 0 &&
                          (top.st_uid != account_.uid || top.st_gid != account_.gid)) {
    RETURN_IF_ERROR(MakeOwnedDirectory(options_.datadir, account_.uid, account_.gid, 0700));
  }
  TunedSettings tuned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tuned = tuned_;
  }
  RETURN_IF_ERROR(WriteConfig(tuned));
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_effect_ = tuned;  // what this server starts with
  }
  if (!readiness_login) {
    Result<std::string> root_password = RootPassword();
    if (root_password.ok()) readiness_login = SqlLogin{"root", *root_password};
  }
  // A socket left by a killed server (or brought back by a backtrack) must not look like the
  // new server's: readiness waits for the new one to appear.
  if (::unlink(options_.socket_path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "removing stale socket " + options_.socket_path);
  }

  // O_NOFOLLOW: the engine account owns the directory; a link there is never followed.
  int log_fd = ::open(options_.log_error_path.c_str(),
                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log_fd < 0) return Status::FromErrno(errno, "opening " + options_.log_error_path);
  // mariadbd reopens its log itself: it must own it.
  if (Status owned =
          SetOwnerAndMode(log_fd, options_.log_error_path, account_.uid, account_.gid, 0600);
      !owned.ok()) {
    ::close(log_fd);
    return owned;
  }
  std::string marker = "---- " + NowForLog() + " rewind engine: starting mariadbd ----\n";
  (void)!::write(log_fd, marker.data(), marker.size());
  const off_t log_offset = ::lseek(log_fd, 0, SEEK_END);

  SpawnRequest request;
  // --defaults-file must come first; it makes the config file the only source of settings.
  request.argv = {options_.mariadbd_path, "--defaults-file=" + options_.config_path};
  request.stdout_fd = log_fd;  // what mariadbd prints before it opens its log goes there too
  request.stderr_fd = log_fd;
  request.new_process_group = true;
  // mariadbd creates its files with this mask (default 0660): private to the engine account.
  request.env = DefaultChildEnvironment();
  request.env.push_back("UMASK=0600");
  request.env.push_back("UMASK_DIR=0700");
  if (account_.switched) request.run_as = RunAs{account_.uid, account_.gid};
  Result<pid_t> spawned = Spawn(request);
  ::close(log_fd);
  if (!spawned.ok()) return spawned.status();
  const pid_t child = *spawned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    child_ = child;
    child_reaped_ = false;
    phase_ = Phase::kStarting;
    last_exit_ = Status::Ok();
  }
  reaper_ = std::thread(&MariaDbEngine::Reap, this, child, log_offset);
  return WaitUntilReady(child, log_offset, std::move(readiness_login));
}

Status MariaDbEngine::WaitUntilReady(pid_t child, off_t log_offset, std::optional<SqlLogin> login) {
  const Clock::time_point deadline = Clock::now() + options_.start_timeout;
  Status last_probe = Status::Unavailable("the server's socket has not appeared");
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (child_reaped_) return last_exit_;  // the reaper wrote the report
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    // mariadbd creates its Unix socket after binding the TCP port (and exits if it cannot), so
    // once the socket exists the TCP port is ours, and probing it cannot reach another server.
    struct stat info {};
    if (::lstat(options_.socket_path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) {
      bool ready = false;
      auto probe_timeout = std::min(left, kProbeTimeout);
      if (login) {
        // A real login and a clean quit: proves the endpoint clients use, and leaves no
        // "Aborted connection" warning in the error log as a bare greeting probe would.
        Result<std::string> answer = RunClient(
            *login, "SELECT 1", SqlRunOptions{.transport = SqlTransport::kTcp}, probe_timeout);
        // A refused login still means a server that serves connections.
        ready = answer.ok() || answer.status().code() == Status::Code::kInvalidArgument;
        last_probe = answer.status();
      } else {
        Result<std::string> greeting = ProbeUnixSocket(options_.socket_path, probe_timeout);
        ready = greeting.ok();
        last_probe = greeting.status();
      }
      if (ready) {
        std::lock_guard<std::mutex> lock(mu_);
        if (child_reaped_) return last_exit_;
        phase_ = Phase::kUp;
        return Status::Ok();
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    exited_cv_.wait_for(lock, kReadyPollInterval, [&] { return child_reaped_; });
  }
  // Not ready in time: take it down so that no half-started server is left behind.
  {
    std::lock_guard<std::mutex> lock(mu_);
    phase_ = Phase::kStopping;
    SignalLocked(SIGKILL);
  }
  WaitForExit(kKillWait);
  Status timeout = Status::Unavailable(
      "mariadbd (pid " + std::to_string(child) + ") did not accept connections within " +
      std::to_string(options_.start_timeout.count()) +
      " ms and was killed; last probe: " + last_probe.ToString() + "; last lines of " +
      options_.log_error_path + ":\n" + ReadLogTail(options_.log_error_path, log_offset));
  std::lock_guard<std::mutex> lock(mu_);
  last_exit_ = timeout;
  return timeout;
}

std::string MariaDbEngine::ClientHost() const {
  const std::string& bind = options_.bind_address;
  if (bind == "0.0.0.0") return "127.0.0.1";
  if (bind == "::") return "::1";
  return bind;
}

Status MariaDbEngine::CheckNoOrphan() const {
  Result<std::string> pid_text = ReadSmallFile(options_.pid_file_path);
  if (!pid_text.ok()) return Status::Ok();  // no pid file: no earlier server left running
  long pid = std::strtol(pid_text->c_str(), nullptr, 10);
  if (pid <= 0) return Status::Ok();
  // A stale pid file may name a recycled pid: only a mariadbd using our config counts.
  Result<std::string> cmdline = ReadSmallFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline.ok()) return Status::Ok();
  const std::string ours = "--defaults-file=" + options_.config_path;
  if (cmdline->find(ours + '\0') == std::string::npos) return Status::Ok();
  return Status::FailedPrecondition(
      "an earlier mariadbd (pid " + std::to_string(pid) + ") of " + options_.run_dir +
      " is still running; stop it before starting another on the same datadir");
}

Status MariaDbEngine::WriteConfig(const TunedSettings& tuned) const {
  std::string config =
      "# Written by the Rewind engine at every start of mariadbd; edits are overwritten.\n"
      "[mariadbd]\n";
  auto set = [&config](std::string_view name, std::string_view value) {
    config.append(name).append("=").append(OptionFileValue(value)).append("\n");
  };
  set("datadir", options_.datadir);
  set("socket", options_.socket_path);
  set("port", std::to_string(options_.port));
  set("bind-address", options_.bind_address);
  set("pid-file", options_.pid_file_path);
  set("log-error", options_.log_error_path);
  set("tmpdir", options_.tmpdir);
  // FILE (which no master user has) could reach only this private directory, never the host.
  set("secure-file-priv", options_.secure_file_dir);
  // No table files outside the datadir: DATA/INDEX DIRECTORY are then ignored (warning 1618).
  set("symbolic-links", "0");
  set("innodb-buffer-pool-size", options_.innodb_buffer_pool_size);
  set("default-time-zone", "+00:00");  // Aurora runs in UTC; backtrack times are given in UTC
  // What Debian's stock server config sets, and what Aurora MySQL 3 defaults to.
  set("character-set-server", "utf8mb4");
  set("collation-server", "utf8mb4_general_ci");
  if (options_.server_id != 0) {
    set("server-id", std::to_string(options_.server_id));
    // Relative: in the datadir, so that a clone or backtrack carries the binlog with the data.
    set("log-bin", "binlog");
    set("binlog-format", "ROW");
    set("gtid-strict-mode", "ON");
    set("log-slave-updates", "ON");
    set("relay-log", "relay-bin");
    // Readers follow within seconds and are re-cloned (never re-fed from an old binlog) at
    // creation and backtrack: a day of binlog is plenty, and it bounds the datadir's growth.
    // Files of 128 MiB keep the purge fine-grained and crash recovery's binlog scan short.
    set("binlog-expire-logs-seconds", "86400");
    set("max-binlog-size", "134217728");
  }
  if (options_.read_only) set("read-only", "ON");
  // The server is already the engine account (no `user`: it is never started as root).
  for (const auto& [name, value] : options_.extra_settings) set(name, value);
  for (const auto& [name, value] : tuned) set(ConfigNameOf(name), value);
  // Readable by the engine account's group (mariadbd reads it), writable by this process only.
  if (account_.switched) return WriteFileWithMode(options_.config_path, config, 0640, account_.gid);
  return WritePrivateFile(options_.config_path, config);
}

void MariaDbEngine::Reap(pid_t child, off_t log_offset) {
  // Wait without reaping: while the child is a zombie its pid cannot be recycled, so others
  // may still signal it safely until we reap it below, under mu_.
  siginfo_t info{};
  while (::waitid(P_PID, child, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  std::string tail = ReadLogTail(options_.log_error_path, log_offset);
  int wait_status = 0;
  bool status_known = true;
  std::function<void(const Status&)> notify;
  Status report;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (true) {
      if (::waitpid(child, &wait_status, 0) >= 0) break;
      if (errno == EINTR) continue;
      status_known = false;  // someone else reaped it (see the header's warning)
      break;
    }
    child_reaped_ = true;
    std::string how = status_known ? DescribeWaitStatus(wait_status) : "exited (status unknown)";
    std::string head = "mariadbd (pid " + std::to_string(child) + ") ";
    switch (phase_) {
      case Phase::kStarting:
        last_exit_ = Status::Unavailable(head + how + " during start; last lines of " +
                                         options_.log_error_path + ":\n" + tail);
        break;
      case Phase::kUp:
        last_exit_ = Status::Unavailable(head + how + " unexpectedly; last lines of " +
                                         options_.log_error_path + ":\n" + tail);
        report = last_exit_;
        notify = options_.on_unexpected_exit;
        break;
      case Phase::kNone:
      case Phase::kStopping:
        last_exit_ = Status::Ok();
        break;
    }
    phase_ = Phase::kNone;
  }
  exited_cv_.notify_all();
  if (notify) notify(report);
}

void MariaDbEngine::SignalLocked(int sig) {
  // The child is unreaped (mu_ is held and child_reaped_ is false), so the pid is still ours.
  if (!child_reaped_) ::kill(child_, sig);
}

bool MariaDbEngine::WaitForExit(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return exited_cv_.wait_for(lock, timeout, [&] { return child_reaped_; });
}

void MariaDbEngine::JoinReaper() {
  if (reaper_.joinable() && reaper_.get_id() != std::this_thread::get_id()) reaper_.join();
}

Status MariaDbEngine::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  return StopLocked(/*graceful=*/true);
}

Status MariaDbEngine::Kill() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  return StopLocked(/*graceful=*/false);
}

Status MariaDbEngine::StopLocked(bool graceful) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!child_reaped_) {
      phase_ = Phase::kStopping;
      SignalLocked(graceful ? SIGTERM : SIGKILL);
    }
  }
  bool exited = WaitForExit(graceful ? options_.stop_timeout : kKillWait);
  if (!exited && graceful) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      SignalLocked(SIGKILL);
    }
    exited = WaitForExit(kKillWait);
  }
  if (!exited) {
    return Status::Busy("mariadbd (pid " + std::to_string(pid()) +
                        ") did not exit after SIGKILL; still waiting for it");
  }
  JoinReaper();
  return Status::Ok();
}

bool MariaDbEngine::IsRunning() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !child_reaped_;
}

pid_t MariaDbEngine::pid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return child_reaped_ ? 0 : child_;
}

Status MariaDbEngine::CheckAlive() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!child_reaped_) return Status::Ok();
  if (!last_exit_.ok()) return last_exit_;
  return Status::FailedPrecondition("mariadbd is not running");
}

Result<std::string> MariaDbEngine::Version() const {
  std::lock_guard<std::mutex> lock(version_mu_);
  if (!version_.empty()) return version_;
  ASSIGN_OR_RETURN(ProcessResult result,
                   RunProcess({options_.mariadbd_path, "--no-defaults", "--version"}, "",
                              std::chrono::seconds(30)));
  // "/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (...)"
  const std::string& text = result.stdout_text;
  size_t at = text.find(" Ver ");
  if (!result.ok() || at == std::string::npos) {
    return Status::IOError(options_.mariadbd_path + " --version " +
                           DescribeWaitStatus(result.wait_status) + ": " +
                           Trimmed(text + result.stderr_text));
  }
  size_t begin = at + 5;
  size_t end = text.find_first_of(" \n", begin);
  version_ = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  return version_;
}

Result<std::string> MariaDbEngine::RunSql(const SqlLogin& login, std::string_view sql,
                                          const SqlRunOptions& run_options) const {
  return RunClient(login, sql, run_options, options_.sql_timeout);
}

Result<std::string> MariaDbEngine::RunClient(const SqlLogin& login, std::string_view sql,
                                             const SqlRunOptions& run_options,
                                             std::chrono::milliseconds timeout) const {
  std::string options = "[client]\n";
  auto set = [&options](std::string_view name, std::string_view value) {
    options.append(name).append("=").append(OptionFileValue(value)).append("\n");
  };
  set("user", login.user);
  if (!login.password.empty()) set("password", login.password);
  if (run_options.transport == SqlTransport::kUnixSocket) {
    set("protocol", "SOCKET");
    set("socket", options_.socket_path);
  } else {
    set("protocol", "TCP");
    set("host", ClientHost());
    set("port", std::to_string(options_.port));
  }
  if (!run_options.database.empty()) set("database", run_options.database);
  set("default-character-set", "utf8mb4");
  // This client runs with this process's rights: it never sends a local file to a server.
  set("local-infile", "0");
  ASSIGN_OR_RETURN(std::unique_ptr<TempOptionFile> option_file,
                   TempOptionFile::Create(options_.run_dir, options));
  // The statements go on stdin, never on the command line, as they may hold passwords.
  ASSIGN_OR_RETURN(ProcessResult result,
                   RunProcess({options_.client_path, "--defaults-file=" + option_file->path(),
                               "--batch",
                               run_options.column_names ? "--column-names" : "--skip-column-names"},
                              sql, timeout));
  if (!result.ok()) return ClientFailure(login.user, result);
  return std::move(result.stdout_text);
}

Result<std::string> MariaDbEngine::RunSqlAsRoot(std::string_view sql,
                                                const SqlRunOptions& run_options) const {
  ASSIGN_OR_RETURN(std::string password, RootPassword());
  return RunSql(SqlLogin{"root", std::move(password)}, sql, run_options);
}

Status MariaDbEngine::SetUserPassword(std::string_view user, std::string_view password) const {
  if (user.empty() || password.empty()) {
    return Status::InvalidArgument("user and password must not be empty");
  }
  std::string script(kSqlModeForQuotedText);
  script += "ALTER USER " + SqlAccount(user, "%") + " IDENTIFIED BY " + SqlStringLiteral(password) +
            ";\n";
  ASSIGN_OR_RETURN(std::string ignored, RunSqlAsRoot(script));
  (void)ignored;
  return Status::Ok();
}

}  // namespace rwd::engine
