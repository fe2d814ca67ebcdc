// The SQL the engine runs through the mariadb client: the master user's privileges, settings
// changed at runtime, passwords, and the client calls themselves (an option file per call,
// statements on stdin, failures turned into a Status).
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/sql_text.h"
#include "engine/subprocess.h"

namespace rwd::engine {

using engine_internal::Trimmed;

namespace {

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

}  // namespace

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

std::string MariaDbEngine::ClientHost() const {
  const std::string& bind = options_.bind_address;
  if (bind == "0.0.0.0") return "127.0.0.1";
  if (bind == "::") return "::1";
  return bind;
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
