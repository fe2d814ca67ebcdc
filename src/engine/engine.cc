#include "engine/engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
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

Status MakeDirectory(const std::string& path, mode_t mode) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) return Status::FromErrno(error.value(), "creating directory " + path);
  if (::chmod(path.c_str(), mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  return Status::Ok();
}

// Writes a small private file (mode 0600) in one go, replacing any previous one.
Status WritePrivateFile(const std::string& path, std::string_view content) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating " + temp);
  Status status;
  if (::fchmod(fd, 0600) != 0) status = Status::FromErrno(errno, "chmod " + temp);
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

}  // namespace

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
  derive(options.log_error_path, options.run_dir, "mariadbd.err");
  derive(options.pid_file_path, options.run_dir, "mariadbd.pid");
  derive(options.tmpdir, options.run_dir, "tmp");
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
                      NamedPath{&options.tmpdir, "tmpdir", false}}) {
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
  if (options.start_timeout.count() <= 0 || options.stop_timeout.count() <= 0 ||
      options.sql_timeout.count() <= 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  return std::unique_ptr<MariaDbEngine>(new MariaDbEngine(std::move(options)));
}

MariaDbEngine::MariaDbEngine(EngineOptions options) : options_(std::move(options)) {}

MariaDbEngine::~MariaDbEngine() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
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
  RETURN_IF_ERROR(MakeDirectory(options_.datadir, 0750));
  RETURN_IF_ERROR(MakeDirectory(options_.run_dir, 0700));

  // The root password is stored before any account gets it, so it is never lost.
  std::string root_password = options_.root_password;
  if (root_password.empty()) {
    ASSIGN_OR_RETURN(root_password, RandomPassword());
  }
  RETURN_IF_ERROR(WritePrivateFile(options_.run_dir + "/root.password", root_password));

  std::vector<std::string> install = {options_.install_db_path, "--no-defaults",
                                      "--datadir=" + options_.datadir,
                                      "--auth-root-authentication-method=normal", "--skip-test-db"};
  if (::geteuid() == 0) install.insert(install.begin() + 2, "--user=root");
  ASSIGN_OR_RETURN(ProcessResult installed, RunProcess(install, "", options_.start_timeout));
  std::string install_log_path = options_.run_dir + "/install-db.log";
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
    script += "GRANT ALL PRIVILEGES ON *.* TO " + master + " WITH GRANT OPTION;\n";
    if (!database.empty()) script += "CREATE DATABASE " + SqlIdentifier(database) + ";\n";
    ASSIGN_OR_RETURN(std::string ignored, RunSql(fresh_root, script));
    (void)ignored;
    return Status::Ok();
  };
  Status configured = configure();
  if (!configured.ok()) {
    (void)StopLocked(/*graceful=*/false);
    return configured.WithContext("configuring the new database");
  }
  return Status::Ok();
}

Status MariaDbEngine::Start() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  return StartLocked();
}

Status MariaDbEngine::StartLocked(std::optional<SqlLogin> readiness_login) {
  if (IsRunning()) return Status::FailedPrecondition("mariadbd is already running");
  JoinReaper();
  if (!IsInitialized()) {
    return Status::FailedPrecondition("datadir holds no database (run Initialize): " +
                                      options_.datadir);
  }
  RETURN_IF_ERROR(CheckNoOrphan());
  RETURN_IF_ERROR(MakeDirectory(options_.run_dir, 0700));
  RETURN_IF_ERROR(MakeDirectory(options_.tmpdir, 0700));
  RETURN_IF_ERROR(WriteConfig());
  if (!readiness_login) {
    Result<std::string> root_password = RootPassword();
    if (root_password.ok()) readiness_login = SqlLogin{"root", *root_password};
  }
  // A socket left by a killed server (or brought back by a backtrack) must not look like the
  // new server's: readiness waits for the new one to appear.
  if (::unlink(options_.socket_path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "removing stale socket " + options_.socket_path);
  }

  int log_fd =
      ::open(options_.log_error_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_fd < 0) return Status::FromErrno(errno, "opening " + options_.log_error_path);
  std::string marker = "---- " + NowForLog() + " rewind engine: starting mariadbd ----\n";
  (void)!::write(log_fd, marker.data(), marker.size());
  const off_t log_offset = ::lseek(log_fd, 0, SEEK_END);

  SpawnRequest request;
  // --defaults-file must come first; it makes the config file the only source of settings.
  request.argv = {options_.mariadbd_path, "--defaults-file=" + options_.config_path};
  request.stdout_fd = log_fd;  // what mariadbd prints before it opens its log goes there too
  request.stderr_fd = log_fd;
  request.new_process_group = true;
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

Status MariaDbEngine::WriteConfig() const {
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
  set("innodb-buffer-pool-size", options_.innodb_buffer_pool_size);
  set("default-time-zone", "+00:00");  // Aurora runs in UTC; backtrack times are given in UTC
  // What Debian's stock server config sets, and what Aurora MySQL 3 defaults to.
  set("character-set-server", "utf8mb4");
  set("collation-server", "utf8mb4_general_ci");
  if (::geteuid() == 0) set("user", "root");  // mariadbd refuses to run as root otherwise
  for (const auto& [name, value] : options_.extra_settings) set(name, value);
  std::string temp = options_.config_path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << config;
    out.close();
    if (!out) return Status::IOError("writing " + temp);
  }
  if (::rename(temp.c_str(), options_.config_path.c_str()) != 0) {
    return Status::FromErrno(errno, "renaming " + temp);
  }
  return Status::Ok();
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
  ASSIGN_OR_RETURN(std::unique_ptr<TempOptionFile> option_file,
                   TempOptionFile::Create(options_.run_dir, options));
  // The statements go on stdin, never on the command line, as they may hold passwords.
  ASSIGN_OR_RETURN(ProcessResult result,
                   RunProcess({options_.client_path, "--defaults-file=" + option_file->path(),
                               "--batch", "--skip-column-names"},
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
