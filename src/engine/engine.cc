// MariaDbEngine's options and setup: the engine account, Create's checks of the options, the
// directories and files the server uses, the config file it starts with, and Initialize (a
// new datadir). Supervision of the process is in engine_process.cc, the SQL the engine runs
// through the mariadb client in engine_sql.cc; shared helpers in engine_internal.h.
#include "engine/engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "engine/engine_internal.h"
#include "engine/sql_text.h"
#include "engine/subprocess.h"

namespace rwd::engine {

using engine_internal::FixFileIfPresent;
using engine_internal::MakeOwnedDirectory;
using engine_internal::RandomPassword;
using engine_internal::ReadSmallFile;
using engine_internal::SetOwnerAndMode;
using engine_internal::Trimmed;
using engine_internal::WriteFileWithMode;
using engine_internal::WritePrivateFile;

namespace {

namespace fs = std::filesystem;

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

}  // namespace rwd::engine
