// Tests of MariaDbEngine against the real mariadbd, mariadb-install-db and mariadb client.
// Each test works in its own /tmp directory with free 127.0.0.1 ports; TearDown stops every
// server it started (by the engine's pid) and removes the directory.
#include "engine/engine.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "engine/subprocess.h"

namespace rwd::engine {
namespace {

namespace fs = std::filesystem;

// Quotes, a comment character, a backslash, a space and a semicolon: all must survive the trip
// through option files and SQL literals.
const std::string kMasterPassword = "Pa#ss w'o\"rd\\;$x";
const SqlLogin kMaster{"masteruser", kMasterPassword};

// A listening socket on a free 127.0.0.1 port (to hold the port) or, after Release, just a port
// that was free a moment ago.
class PortHolder {
 public:
  PortHolder() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot get a free port: " << std::strerror(errno);
    }
    port_ = ntohs(address.sin_port);
  }
  ~PortHolder() { Release(); }
  void Release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

int FreePort() {
  const int port = rwd::testing::FreeTcpPort();
  if (port == 0) ADD_FAILURE() << "no free TCP port below the ephemeral range";
  return port;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

bool ProcessExists(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rwd-engine-test-XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(dir)) << std::strerror(errno);
    root_ = dir;
    // mkdtemp makes it 0700: the engine user (mariadbd) must be able to traverse it.
    ASSERT_EQ(0, ::chmod(dir, 0711)) << std::strerror(errno);
  }

  void TearDown() override {
    for (std::unique_ptr<MariaDbEngine>& engine : engines_) {
      pid_t pid = engine->pid();
      if (pid > 0) {
        EXPECT_TRUE(engine->Kill().ok());
      }
      engine.reset();
      EXPECT_FALSE(ProcessExists(pid)) << "mariadbd " << pid << " left running";
    }
    for (pid_t pid : foreign_pids_) {
      if (::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  EngineOptions Options(const std::string& name) {
    EngineOptions options;
    options.datadir = root_ + "/" + name + "/data";
    options.run_dir = root_ + "/" + name + "/run";
    options.port = FreePort();
    options.innodb_buffer_pool_size = "64M";  // keeps parallel test runs light
    options.start_timeout = std::chrono::seconds(60);
    options.stop_timeout = std::chrono::seconds(30);
    return options;
  }

  MariaDbEngine* NewEngine(EngineOptions options) {
    Result<std::unique_ptr<MariaDbEngine>> engine = MariaDbEngine::Create(std::move(options));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    if (!engine.ok()) return nullptr;
    engines_.push_back(std::move(engine).value());
    return engines_.back().get();
  }

  // An engine over a new, initialised database with the lab's names; the server runs.
  MariaDbEngine* InitializedEngine(const std::string& name = "c1") {
    MariaDbEngine* engine = NewEngine(Options(name));
    if (engine == nullptr) return nullptr;
    Status status = engine->Initialize("masteruser", kMasterPassword, "mylab");
    EXPECT_TRUE(status.ok()) << status.ToString();
    return status.ok() ? engine : nullptr;
  }

  static std::string Sql(MariaDbEngine* engine, std::string_view sql) {
    Result<std::string> out = engine->RunSql(kMaster, sql, SqlRunOptions{.database = "mylab"});
    EXPECT_TRUE(out.ok()) << sql << ": " << out.status().ToString();
    return out.ok() ? *out : "";
  }

  std::string root_;
  std::vector<std::unique_ptr<MariaDbEngine>> engines_;
  std::vector<pid_t> foreign_pids_;  // processes a test spawned itself
};

TEST_F(EngineTest, InitializeThenMasterUserSeesDatabaseOverTcp) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  EXPECT_TRUE(engine->IsRunning());
  EXPECT_GT(engine->pid(), 0);
  EXPECT_TRUE(engine->CheckAlive().ok());

  SqlRunOptions tcp{.transport = SqlTransport::kTcp, .database = "mylab"};
  Result<std::string> row = engine->RunSql(
      kMaster, "SELECT DATABASE(), CURRENT_USER(), @@time_zone, @@character_set_server", tcp);
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ("mylab\tmasteruser@%\t+00:00\tutf8mb4\n", *row);
  // With column names, as `mysql -B` prints (rewind query).
  SqlRunOptions named{.transport = SqlTransport::kTcp, .database = "mylab", .column_names = true};
  row = engine->RunSql(kMaster, "SELECT 1 AS one, 'a\tb' AS two", named);
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ("one\ttwo\n1\ta\\tb\n", *row);

  Result<std::string> grants = engine->RunSql(kMaster, "SHOW GRANTS", tcp);
  ASSERT_TRUE(grants.ok()) << grants.status().ToString();
  EXPECT_EQ(std::string::npos, grants->find("ALL PRIVILEGES ON *.*")) << *grants;
  EXPECT_NE(std::string::npos, grants->find("ON `%`.* TO `masteruser`@`%` WITH GRANT OPTION"))
      << *grants;

  // Exactly as a user of the lab connects: mariadb -h 127.0.0.1 -P port -u masteruser -p… mylab
  Result<ProcessResult> lab =
      RunProcess({"/usr/bin/mariadb", "--no-defaults", "-h", "127.0.0.1", "-P",
                  std::to_string(engine->options().port), "-u", "masteruser",
                  "-p" + kMasterPassword, "mylab", "-N", "-e", "SHOW DATABASES"},
                 "", std::chrono::seconds(30));
  ASSERT_TRUE(lab.ok()) << lab.status().ToString();
  EXPECT_TRUE(lab->ok()) << lab->stderr_text;
  EXPECT_NE(std::string::npos, lab->stdout_text.find("mylab\n"));

  Result<std::string> version = engine->Version();
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version + "\n", Sql(engine, "SELECT VERSION()"));
  EXPECT_NE(std::string::npos, version->find("MariaDB"));

  // Root has a password on every account; the engine knows it.
  Result<std::string> root_accounts = engine->RunSqlAsRoot(
      "SELECT COUNT(*), SUM(JSON_VALUE(Priv, '$.authentication_string') <> '') "
      "FROM mysql.global_priv WHERE User = 'root'");
  ASSERT_TRUE(root_accounts.ok()) << root_accounts.status().ToString();
  EXPECT_EQ("4\t4\n", *root_accounts);
  EXPECT_FALSE(engine->RunSql({"root", ""}, "SELECT 1").ok());
  EXPECT_FALSE(engine->RunSql({"root", ""}, "SELECT 1", {.transport = SqlTransport::kTcp}).ok());

  // Passwords are only in root.password (0600), nowhere else in run_dir, and no client option
  // file is left behind.
  Result<std::string> root_password = engine->RootPassword();
  ASSERT_TRUE(root_password.ok());
  const std::string& run_dir = engine->options().run_dir;
  struct stat info {};
  ASSERT_EQ(0, ::stat((run_dir + "/root.password").c_str(), &info));
  EXPECT_EQ(0600u, info.st_mode & 0777);
  ASSERT_EQ(0, ::stat(run_dir.c_str(), &info));
  EXPECT_EQ(0710u, info.st_mode & 0777);  // the engine user's group may traverse it
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(run_dir)) {
    std::string name = entry.path().filename().string();
    EXPECT_EQ(std::string::npos, name.find("client-")) << name;
    if (!entry.is_regular_file() || name == "root.password") continue;
    std::string content = ReadFile(entry.path().string());
    EXPECT_EQ(std::string::npos, content.find(kMasterPassword)) << name;
    EXPECT_EQ(std::string::npos, content.find(*root_password)) << name;
  }

  // Destroying the engine stops its server.
  pid_t pid = engine->pid();
  engines_.clear();
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(EngineTest, StopThenStartKeepsData) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  Sql(engine,
      "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'one')");
  EXPECT_EQ(Status::Code::kFailedPrecondition, engine->Start().code());

  pid_t first = engine->pid();
  ASSERT_TRUE(engine->Stop().ok());
  EXPECT_FALSE(engine->IsRunning());
  EXPECT_EQ(0, engine->pid());
  EXPECT_FALSE(ProcessExists(first));
  EXPECT_EQ(Status::Code::kFailedPrecondition, engine->CheckAlive().code());  // not a crash
  EXPECT_TRUE(engine->Stop().ok());                                           // idempotent
  EXPECT_FALSE(engine->RunSql(kMaster, "SELECT 1").ok());

  ASSERT_TRUE(engine->Start().ok()) << engine->CheckAlive().ToString();
  EXPECT_NE(first, engine->pid());
  EXPECT_EQ("1\tone\n", Sql(engine, "SELECT * FROM t"));
}

TEST_F(EngineTest, KillNineThenStartRecovers) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Status> exits;
  EngineOptions options = Options("c1");
  options.on_unexpected_exit = [&](const Status& status) {
    std::lock_guard<std::mutex> lock(mu);
    exits.push_back(status);
    cv.notify_all();
  };
  MariaDbEngine* engine = NewEngine(options);
  ASSERT_NE(nullptr, engine);
  ASSERT_TRUE(engine->Initialize("masteruser", kMasterPassword, "mylab").ok());
  Sql(engine,
      "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;"
      "INSERT INTO t (v) SELECT CONCAT('row ', seq) FROM seq_1_to_2000;"
      "INSERT INTO t (v) VALUES ('last');");

  // A crash from outside: the engine notices and says how it died.
  pid_t pid = engine->pid();
  ASSERT_EQ(0, ::kill(pid, SIGKILL));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !exits.empty(); }));
    EXPECT_EQ(Status::Code::kUnavailable, exits[0].code());
    EXPECT_NE(std::string::npos, exits[0].message().find("killed by signal 9"))
        << exits[0].message();
    EXPECT_NE(std::string::npos, exits[0].message().find("unexpectedly"));
  }
  EXPECT_FALSE(engine->IsRunning());
  Status alive = engine->CheckAlive();
  EXPECT_EQ(Status::Code::kUnavailable, alive.code());
  EXPECT_NE(std::string::npos, alive.message().find("signal 9"));

  ASSERT_TRUE(engine->Start().ok()) << engine->CheckAlive().ToString();
  EXPECT_EQ("2001\n", Sql(engine, "SELECT COUNT(*) FROM t"));
  EXPECT_EQ("mylab.t\tcheck\tstatus\tOK\n", Sql(engine, "CHECK TABLE t EXTENDED"));

  // Kill() is a crash the engine asked for: recovered the same way, but not reported.
  Sql(engine, "INSERT INTO t (v) SELECT CONCAT('more ', seq) FROM seq_1_to_500");
  ASSERT_TRUE(engine->Kill().ok());
  EXPECT_FALSE(engine->IsRunning());
  ASSERT_TRUE(engine->Start().ok()) << engine->CheckAlive().ToString();
  EXPECT_EQ("2501\n", Sql(engine, "SELECT COUNT(*) FROM t"));
  EXPECT_EQ("mylab.t\tcheck\tstatus\tOK\n", Sql(engine, "CHECK TABLE t EXTENDED"));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(1u, exits.size());
}

TEST_F(EngineTest, KillRightAfterInitializeKeepsAccountsAndDatabase) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  ASSERT_TRUE(engine->Kill().ok());
  ASSERT_TRUE(engine->Start().ok()) << engine->CheckAlive().ToString();
  EXPECT_EQ("mylab\n", Sql(engine, "SELECT DATABASE()"));
  EXPECT_TRUE(engine->RunSqlAsRoot("SELECT 1").ok());
}

TEST_F(EngineTest, EarlyExitOnBusyPortIsReportedWithLogTail) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  ASSERT_TRUE(engine->Stop().ok());

  PortHolder busy;  // another program holds the port
  EngineOptions options = engine->options();
  options.port = busy.port();
  MariaDbEngine* clash = NewEngine(options);
  ASSERT_NE(nullptr, clash);
  Status status = clash->Start();
  EXPECT_EQ(Status::Code::kUnavailable, status.code());
  EXPECT_NE(std::string::npos, status.message().find("during start")) << status.message();
  EXPECT_NE(std::string::npos, status.message().find("exited with status")) << status.message();
  EXPECT_NE(std::string::npos, status.message().find("Address already in use")) << status.message();
  EXPECT_FALSE(clash->IsRunning());
  EXPECT_EQ(status.message(), clash->CheckAlive().message());

  // Once the port is free again the same datadir starts.
  busy.Release();
  ASSERT_TRUE(clash->Start().ok()) << clash->CheckAlive().ToString();
}

TEST_F(EngineTest, EarlyExitOnBadSettingIsReported) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  ASSERT_TRUE(engine->Stop().ok());
  EngineOptions options = engine->options();
  options.extra_settings = {{"no-such-setting", "1"}};
  MariaDbEngine* bad = NewEngine(options);
  ASSERT_NE(nullptr, bad);
  Status status = bad->Start();
  EXPECT_EQ(Status::Code::kUnavailable, status.code());
  EXPECT_NE(std::string::npos, status.message().find("unknown variable")) << status.message();
}

TEST_F(EngineTest, StartRequiresAnInitializedDatadirAndInitializeRefusesAReusedOne) {
  MariaDbEngine* empty = NewEngine(Options("empty"));
  ASSERT_NE(nullptr, empty);
  EXPECT_EQ(Status::Code::kFailedPrecondition, empty->Start().code());
  EXPECT_FALSE(empty->IsRunning());

  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  EXPECT_EQ(Status::Code::kFailedPrecondition,
            engine->Initialize("masteruser", kMasterPassword, "mylab").code());
  ASSERT_TRUE(engine->Stop().ok());
  EXPECT_EQ(Status::Code::kAlreadyExists,
            engine->Initialize("masteruser", kMasterPassword, "mylab").code());
  EXPECT_EQ(Status::Code::kInvalidArgument, empty->Initialize("root", "x", "mylab").code());
  EXPECT_EQ(Status::Code::kInvalidArgument, empty->Initialize("masteruser", "", "mylab").code());
}

TEST_F(EngineTest, WrongPasswordIsRejectedAndPasswordCanBeChanged) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  SqlRunOptions tcp{.transport = SqlTransport::kTcp};
  Result<std::string> wrong = engine->RunSql({"masteruser", "not-the-password"}, "SELECT 1", tcp);
  EXPECT_EQ(Status::Code::kInvalidArgument, wrong.status().code());
  EXPECT_NE(std::string::npos, wrong.status().message().find("ERROR 1045"))
      << wrong.status().ToString();
  EXPECT_EQ(std::string::npos, wrong.status().message().find("not-the-password"));

  ASSERT_TRUE(engine->SetUserPassword("masteruser", "n3w-Secret").ok());
  EXPECT_FALSE(engine->RunSql(kMaster, "SELECT 1", tcp).ok());
  Result<std::string> ok = engine->RunSql({"masteruser", "n3w-Secret"}, "SELECT 1", tcp);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ("1\n", *ok);

  // A bad statement is the server's refusal, not an outage.
  Result<std::string> bad = engine->RunSql({"masteruser", "n3w-Secret"}, "SELEC 1", tcp);
  EXPECT_EQ(Status::Code::kInvalidArgument, bad.status().code());
  EXPECT_NE(std::string::npos, bad.status().message().find("ERROR 1064"));
}

TEST_F(EngineTest, CopiedDatadirStartsWithTheSourcesRootPassword) {
  MariaDbEngine* source = InitializedEngine("source");
  ASSERT_NE(nullptr, source);
  Sql(source, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (7)");
  ASSERT_TRUE(source->Stop().ok());

  // What a clone does with copy-on-write, done here with a plain copy.
  EngineOptions options = Options("clone");
  fs::create_directories(fs::path(options.datadir).parent_path());
  std::error_code error;
  fs::copy(source->options().datadir, options.datadir, fs::copy_options::recursive, error);
  ASSERT_FALSE(error) << error.message();
  fs::remove(options.datadir + "/mysqld.sock", error);
  // The copy is root's; on a FUSE datadir ownership does not matter, here it does.
  const EngineAccount& account = source->account();
  ASSERT_EQ(0, ::chown(options.datadir.c_str(), account.uid, account.gid));
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(options.datadir)) {
    ASSERT_EQ(0, ::lchown(entry.path().c_str(), account.uid, account.gid)) << entry.path();
  }

  MariaDbEngine* unknown_root = NewEngine(options);
  ASSERT_NE(nullptr, unknown_root);
  EXPECT_EQ(Status::Code::kNotFound, unknown_root->RootPassword().status().code());

  Result<std::string> root_password = source->RootPassword();
  ASSERT_TRUE(root_password.ok());
  options.root_password = *root_password;
  options.port = FreePort();
  MariaDbEngine* clone = NewEngine(options);
  ASSERT_NE(nullptr, clone);
  ASSERT_TRUE(clone->Start().ok()) << clone->CheckAlive().ToString();
  EXPECT_TRUE(clone->RunSqlAsRoot("SELECT 1").ok());
  EXPECT_EQ("7\n", Sql(clone, "SELECT id FROM t"));
}

TEST_F(EngineTest, StartRefusesWhileAnEarlierServerOfTheRunDirIsAlive) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  ASSERT_TRUE(engine->Stop().ok());

  // As if rewindd had died and left its mariadbd running: start one outside the engine.
  const EngineOptions& options = engine->options();
  Result<pid_t> orphan =
      Spawn(SpawnRequest{.argv = {options.mariadbd_path, "--defaults-file=" + options.config_path},
                         .new_process_group = true,
                         .run_as = RunAs{engine->account().uid, engine->account().gid}});
  ASSERT_TRUE(orphan.ok()) << orphan.status().ToString();
  foreign_pids_.push_back(*orphan);
  // Wait until it has written its pid file.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ReadFile(options.pid_file_path).empty() && std::chrono::steady_clock::now() < deadline) {
    ::usleep(20000);
  }
  Status status = engine->Start();
  EXPECT_EQ(Status::Code::kFailedPrecondition, status.code()) << status.ToString();
  EXPECT_NE(std::string::npos, status.message().find(std::to_string(*orphan)));
  EXPECT_TRUE(ProcessExists(*orphan));  // the engine never touches a process it did not start
}

}  // namespace
}  // namespace rwd::engine
namespace rwd::engine {
namespace {

// The ERROR line of a refused statement.
std::string ServerError(const Result<std::string>& result) {
  if (result.ok()) return "(accepted: " + *result + ")";
  const std::string& message = result.status().message();
  size_t at = message.find("ERROR ");
  return at == std::string::npos ? message : message.substr(at);
}

TEST_F(EngineTest, MariadbdRunsAsTheEngineUserWithItsFilesPrivate) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  const EngineAccount& account = engine->account();
  if (::geteuid() == 0) {
    EXPECT_TRUE(account.switched);
    EXPECT_EQ("mysql", account.name);
  }
  EXPECT_NE(0u, account.uid);
  // The running server's real, effective and saved uids, from /proc.
  std::string status = ReadFile("/proc/" + std::to_string(engine->pid()) + "/status");
  const std::string uid = std::to_string(account.uid);
  EXPECT_NE(std::string::npos, status.find("\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t"))
      << status;
  size_t groups = status.find("\nGroups:");
  ASSERT_NE(std::string::npos, groups);
  std::string groups_line = status.substr(groups + 8, status.find('\n', groups + 1) - groups - 8);
  EXPECT_EQ(std::string::npos, groups_line.find_first_of("0123456789"))  // no supplementary
      << groups_line;

  const EngineOptions& options = engine->options();
  struct stat info {};
  ASSERT_EQ(0, ::stat(options.server_dir.c_str(), &info));
  EXPECT_EQ(account.uid, info.st_uid);
  EXPECT_EQ(0700u, info.st_mode & 07777);
  ASSERT_EQ(0, ::stat(options.config_path.c_str(), &info));
  EXPECT_EQ(::geteuid(), info.st_uid);
  EXPECT_EQ(account.switched ? 0640u : 0600u, info.st_mode & 07777);
  for (const std::string& path : {options.log_error_path, options.pid_file_path}) {
    ASSERT_EQ(0, ::stat(path.c_str(), &info)) << path;
    EXPECT_EQ(account.uid, info.st_uid) << path;
    EXPECT_EQ(0600u, info.st_mode & 07777) << path;
  }
  // Nothing in run_dir is readable by others.
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(options.run_dir)) {
    ASSERT_EQ(0, ::lstat(entry.path().c_str(), &info));
    EXPECT_EQ(0u, info.st_mode & 07) << entry.path();
  }

  // A file only the server may read (what a TLS key needs).
  ASSERT_TRUE(engine->WriteServerFile("server-key.pem", "secret").ok());
  ASSERT_EQ(0, ::stat((options.server_dir + "/server-key.pem").c_str(), &info));
  EXPECT_EQ(account.uid, info.st_uid);
  EXPECT_EQ(0600u, info.st_mode & 07777);
  EXPECT_EQ(Status::Code::kInvalidArgument, engine->WriteServerFile("../x", "y").code());

  // A run_dir from an older layout (world-readable leftovers) is made private at Start.
  ASSERT_TRUE(engine->Stop().ok());
  const std::string legacy = options.run_dir + "/mariadbd.err";
  { std::ofstream(legacy) << "old log\n"; }
  ASSERT_EQ(0, ::chmod(legacy.c_str(), 0644));
  ASSERT_EQ(0, ::chmod(options.server_dir.c_str(), 0755));
  ASSERT_EQ(0, ::chmod(options.log_error_path.c_str(), 0644));
  ASSERT_TRUE(engine->Start().ok()) << engine->CheckAlive().ToString();
  ASSERT_EQ(0, ::stat(legacy.c_str(), &info));
  EXPECT_EQ(0600u, info.st_mode & 07777);
  ASSERT_EQ(0, ::stat(options.server_dir.c_str(), &info));
  EXPECT_EQ(0700u, info.st_mode & 07777);
  ASSERT_EQ(0, ::stat(options.log_error_path.c_str(), &info));
  EXPECT_EQ(0600u, info.st_mode & 07777);
}

TEST_F(EngineTest, StartRefusesADataDirTheEngineUserCannotReach) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  ASSERT_TRUE(engine->Stop().ok());
  ASSERT_EQ(0, ::chmod(root_.c_str(), 0700));
  Status status = engine->Start();
  EXPECT_EQ(Status::Code::kFailedPrecondition, status.code()) << status.ToString();
  EXPECT_NE(std::string::npos, status.message().find("directory " + root_ + " "))
      << status.ToString();
  EXPECT_NE(std::string::npos, status.message().find("mysql")) << status.ToString();
  EXPECT_FALSE(engine->IsRunning());
  ASSERT_EQ(0, ::chmod(root_.c_str(), 0711));
  EXPECT_TRUE(engine->Start().ok());

  EXPECT_EQ(Status::Code::kInvalidArgument, ResolveEngineAccount("root").status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            ResolveEngineAccount("no-such-user-rwd").status().code());
}

// A uid with no passwd entry (as rewindd gives each cluster): the server and the install run
// as it, and a run_dir left by the shared engine user is handed over to it at Start.
TEST_F(EngineTest, ExplicitUidWithoutPasswdEntryRunsTheServerAndOwnsItsFiles) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  struct passwd* mysql = ::getpwnam("mysql");
  ASSERT_NE(nullptr, mysql) << "the engine user mysql must exist (scripts/setup.sh)";
  const gid_t group = mysql->pw_gid;
  uid_t free_uid = 2100065000;
  while (::getpwuid(free_uid) != nullptr) ++free_uid;
  const EngineAccount own{"rewind-test", free_uid, group, false};

  // Fresh: Initialize (mariadb-install-db) and the server run as the uid.
  EngineOptions options = Options("own");
  options.account = own;
  MariaDbEngine* engine = NewEngine(options);
  ASSERT_NE(nullptr, engine);
  EXPECT_TRUE(engine->account().switched);
  EXPECT_EQ(free_uid, engine->account().uid);
  Status initialized = engine->Initialize("masteruser", kMasterPassword, "mylab");
  ASSERT_TRUE(initialized.ok()) << initialized.ToString();
  auto expect_runs_as = [](MariaDbEngine* e, uid_t uid) {
    std::string status = ReadFile("/proc/" + std::to_string(e->pid()) + "/status");
    const std::string u = std::to_string(uid);
    EXPECT_NE(std::string::npos, status.find("\nUid:\t" + u + "\t" + u + "\t" + u + "\t"))
        << status;
    const std::string g = std::to_string(e->account().gid);
    EXPECT_NE(std::string::npos, status.find("\nGid:\t" + g + "\t" + g + "\t" + g + "\t"))
        << status;
  };
  expect_runs_as(engine, free_uid);
  auto expect_owned = [](const EngineOptions& o, uid_t uid) {
    struct stat info {};
    for (const std::string& path : {o.server_dir, o.tmpdir, o.secure_file_dir, o.log_error_path,
                                    o.pid_file_path}) {
      ASSERT_EQ(0, ::stat(path.c_str(), &info)) << path;
      EXPECT_EQ(uid, info.st_uid) << path;
    }
  };
  expect_owned(engine->options(), free_uid);
  EXPECT_EQ("1\n", Sql(engine, "SELECT 1"));

  // A run_dir made by the shared engine user (mysql) is re-owned by the uid at Start.
  MariaDbEngine* shared = InitializedEngine("shared");
  ASSERT_NE(nullptr, shared);
  EngineOptions moved = shared->options();
  ASSERT_TRUE(shared->Stop().ok());
  for (const std::string& path : {moved.server_dir, moved.log_error_path}) {
    struct stat info {};
    ASSERT_EQ(0, ::stat(path.c_str(), &info)) << path;
    EXPECT_EQ(mysql->pw_uid, info.st_uid) << path;
  }
  // In rewindd the datadir is a mount that checks no modes; here it is a plain directory.
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(moved.datadir)) {
    ASSERT_EQ(0, ::lchown(entry.path().c_str(), free_uid, group)) << entry.path();
  }
  ASSERT_EQ(0, ::chown(moved.datadir.c_str(), free_uid, group));
  Result<std::string> root_password = shared->RootPassword();
  ASSERT_TRUE(root_password.ok());
  moved.engine_user.clear();
  moved.account = own;
  moved.root_password = *root_password;
  MariaDbEngine* taken_over = NewEngine(moved);
  ASSERT_NE(nullptr, taken_over);
  Status started = taken_over->Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  expect_runs_as(taken_over, free_uid);
  expect_owned(taken_over->options(), free_uid);

  // Bad explicit accounts are refused.
  EXPECT_EQ(Status::Code::kInvalidArgument,
            CheckExplicitAccount(EngineAccount{"x", 0, group, false}).status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            CheckExplicitAccount(EngineAccount{"x", free_uid, 0, false}).status().code());
  EngineOptions both = Options("both");
  both.engine_user = "mysql";
  both.account = own;
  EXPECT_EQ(Status::Code::kInvalidArgument, MariaDbEngine::Create(both).status().code());
}

TEST_F(EngineTest, MasterUserReachesNeitherTheHostNorTheServersSettings) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  SqlRunOptions tcp{.transport = SqlTransport::kTcp, .database = "mylab"};
  auto refused = [&](std::string_view sql) {
    return ServerError(engine->RunSql(kMaster, sql, tcp));
  };
  const std::string outfile = root_ + "/outfile";
  EXPECT_NE(std::string::npos,
            refused("SELECT 'x' INTO OUTFILE '" + outfile + "'").find("ERROR 1227 (42000)"));
  EXPECT_FALSE(fs::exists(outfile));
  EXPECT_EQ("1\n", Sql(engine, "SELECT LOAD_FILE('/etc/passwd') IS NULL"));
  EXPECT_NE(std::string::npos,
            refused("SET GLOBAL general_log_file='" + root_ + "/g.log'").find("ERROR 1227"));
  EXPECT_NE(std::string::npos, refused("SHUTDOWN").find("ERROR 1227"));
  EXPECT_NE(std::string::npos, refused("INSTALL SONAME 'ha_federatedx'").find("ERROR 1142"));
  EXPECT_NE(
      std::string::npos,
      refused("UPDATE mysql.global_priv SET Priv = '{}' WHERE User = 'root'").find("ERROR 1142"));
  EXPECT_NE(std::string::npos, refused("GRANT FILE ON *.* TO masteruser").find("ERROR 1045"));
  // DATA DIRECTORY outside the datadir is ignored (symbolic-links off): the table stays inside.
  EXPECT_NE(std::string::npos,
            Sql(engine, "CREATE TABLE dd (i INT) DATA DIRECTORY='" + root_ + "'; SHOW WARNINGS")
                .find("1618"));
  EXPECT_FALSE(fs::exists(root_ + "/mylab"));
  EXPECT_EQ(engine->options().secure_file_dir + "/\t0\n",
            Sql(engine, "SELECT @@secure_file_priv, @@have_symlink = 'YES'"));
  EXPECT_TRUE(engine->CheckAlive().ok());

  // What the master may do: its own databases, users, grants, and killing their queries.
  Sql(engine, "CREATE DATABASE shop; CREATE TABLE shop.t (i INT); INSERT INTO shop.t VALUES (1)");
  Sql(engine,
      "CREATE USER app@'%' IDENTIFIED BY 'app-Pass1'; GRANT SELECT, INSERT ON shop.* TO app@'%'");
  const SqlLogin app{"app", "app-Pass1"};
  SqlRunOptions app_tcp{.transport = SqlTransport::kTcp, .database = "shop"};
  EXPECT_TRUE(engine->RunSql(app, "INSERT INTO t VALUES (2)", app_tcp).ok());
  std::atomic<bool> done{false};
  Result<std::string> slept = std::string();
  std::thread sleeper([&] {
    slept = engine->RunSql(app, "SELECT SLEEP(60)", app_tcp);
    done = true;
  });
  std::string id;
  for (int i = 0; i < 500 && id.empty(); ++i) {
    id = Sql(engine,
             "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app' AND INFO LIKE "
             "'SELECT SLEEP%'");
    if (id.empty()) ::usleep(20000);
  }
  ASSERT_FALSE(id.empty());
  id.pop_back();
  Sql(engine, "KILL QUERY " + id);
  sleeper.join();
  EXPECT_NE(std::string::npos, ServerError(slept).find("ERROR 1317")) << ServerError(slept);
  EXPECT_EQ("2\n", Sql(engine, "SELECT COUNT(*) FROM shop.t"));
}

TEST_F(EngineTest, StartNarrowsAnOlderWiderMasterGrant) {
  EngineOptions options = Options("c1");
  options.master_user = "masteruser";
  MariaDbEngine* engine = NewEngine(options);
  ASSERT_NE(nullptr, engine);
  ASSERT_TRUE(engine->Initialize("masteruser", kMasterPassword, "mylab").ok());
  // What older versions granted (and a backtrack to before this change brings back).
  ASSERT_TRUE(
      engine->RunSqlAsRoot("GRANT ALL PRIVILEGES ON *.* TO masteruser@'%' WITH GRANT OPTION").ok());
  ASSERT_TRUE(engine->Stop().ok());
  ASSERT_TRUE(engine->Start().ok()) << engine->CheckAlive().ToString();
  std::string grants = Sql(engine, "SHOW GRANTS");
  EXPECT_EQ(std::string::npos, grants.find("ALL PRIVILEGES ON *.*")) << grants;
  EXPECT_EQ(std::string::npos, grants.find("FILE")) << grants;
  // Idempotent, and cheap: one client call.
  auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(engine->ReconcileMasterPrivileges("masteruser").ok());
  auto took = std::chrono::steady_clock::now() - begin;
  std::cerr << "reconcile took "
            << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us\n";
  EXPECT_EQ(grants, Sql(engine, "SHOW GRANTS"));
  // An account its owner dropped is left alone (and the start does not fail).
  ASSERT_TRUE(engine->RunSqlAsRoot("DROP USER masteruser@'%'").ok());
  EXPECT_TRUE(engine->ReconcileMasterPrivileges("masteruser").ok());
  ASSERT_TRUE(engine->Stop().ok());
  EXPECT_TRUE(engine->Start().ok());
}

}  // namespace
}  // namespace rwd::engine

namespace rwd::engine {
namespace {

// The engine says what each tunable is; a dynamic one is SET on the running server, a tuned
// value is in the config at the next start, and a reset goes back to the engine's own value.
TEST_F(EngineTest, TunablesAreProbedAppliedAndWrittenAtStart) {
  MariaDbEngine* engine = InitializedEngine();
  ASSERT_NE(nullptr, engine);
  ProbeOptions probe;
  probe.work_dir = root_ + "/probe";
  probe.account = &engine->account();
  Result<std::vector<SystemVariable>> vars = ProbeSystemVariables(probe);
  ASSERT_TRUE(vars.ok()) << vars.status().ToString();
  ASSERT_EQ(TunableVariables().size(), vars->size());
  auto find = [&](const std::string& name) {
    return *std::find_if(vars->begin(), vars->end(),
                         [&](const SystemVariable& v) { return v.name == name; });
  };
  EXPECT_EQ("10", find("max_connections").min.value_or(""));
  EXPECT_EQ("100000", find("max_connections").max.value_or(""));
  EXPECT_FALSE(find("max_connections").read_only);
  EXPECT_TRUE(find("innodb_log_buffer_size").read_only);
  EXPECT_EQ((std::vector<std::string>{"MIXED", "STATEMENT", "ROW"}), find("binlog_format").allowed);
  EXPECT_FALSE(find("binlog_format").min.has_value());  // NULL in the engine: none
  EXPECT_EQ("MIXED", find("binlog_format").default_value);
  EXPECT_TRUE(find("max_connections").allowed.empty());
  const std::vector<std::string> charsets = find("character_set_server").allowed;
  EXPECT_NE(charsets.end(), std::find(charsets.begin(), charsets.end(), "utf8mb4"));
  EXPECT_FALSE(std::filesystem::exists(probe.work_dir));

  ASSERT_TRUE(engine->ApplySetting("max_connections", "321").ok());
  EXPECT_EQ("321\n", *engine->RunSqlAsRoot("SELECT @@GLOBAL.max_connections"));
  EXPECT_EQ("321", engine->SettingsInEffect()["max_connections"]);
  ASSERT_TRUE(engine->ApplySetting("time_zone", "+02:00").ok());
  ASSERT_TRUE(engine->ApplySetting("time_zone", std::nullopt).ok());
  EXPECT_EQ("+00:00\n", *engine->RunSqlAsRoot("SELECT @@GLOBAL.time_zone"));
  EXPECT_EQ(Status::Code::kInvalidArgument, engine->ApplySetting("plugin_dir", "x").code());
  // The server's own refusal (a static variable) passes through.
  EXPECT_FALSE(engine->ApplySetting("innodb_log_buffer_size", "4194304").ok());

  ASSERT_TRUE(engine->SetTunedSettings({{"innodb_log_buffer_size", "4194304"},
                                        {"max_connections", "77"}})
                  .ok());
  ASSERT_TRUE(engine->Stop().ok());
  ASSERT_TRUE(engine->Start().ok());
  EXPECT_EQ("4194304\t77\n",
            *engine->RunSqlAsRoot("SELECT @@innodb_log_buffer_size, @@max_connections"));
  EXPECT_EQ("77", engine->SettingsInEffect()["max_connections"]);
}

}  // namespace
}  // namespace rwd::engine
