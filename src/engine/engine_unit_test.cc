// Tests of the engine's parts that need no MariaDB server: quoting, subprocesses, the readiness
// probe and option checking.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "engine/server_probe.h"
#include "engine/sql_text.h"
#include "engine/subprocess.h"

namespace rwd::engine {
namespace {

using std::chrono::milliseconds;

TEST(EngineSqlText, StringLiteralEscapesEverythingUnsafe) {
  EXPECT_EQ("'plain'", SqlStringLiteral("plain"));
  EXPECT_EQ("'it\\'s'", SqlStringLiteral("it's"));
  EXPECT_EQ("'a\\\\b'", SqlStringLiteral("a\\b"));
  EXPECT_EQ("'x\\ny\\0z'", SqlStringLiteral(std::string_view("x\ny\0z", 5)));
  EXPECT_EQ("''", SqlStringLiteral(""));
}

TEST(EngineSubprocess, RunAsSwitchesUidGidAndDropsGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  Result<ProcessResult> result =
      RunProcess({"/usr/bin/id"}, "", milliseconds(5000), 1 << 16, RunAs{65534, 65534});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->ok()) << result->stderr_text;
  EXPECT_EQ("uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n", result->stdout_text);
  Result<ProcessResult> missing =
      RunProcess({"/nonexistent/binary"}, "", milliseconds(1000), 1 << 16, RunAs{65534, 65534});
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(std::string::npos, missing.status().message().find("as uid 65534"));
}

TEST(EngineSqlText, IdentifierAndAccount) {
  EXPECT_EQ("`mylab`", SqlIdentifier("mylab"));
  EXPECT_EQ("`we``ird`", SqlIdentifier("we`ird"));
  EXPECT_EQ("'masteruser'@'%'", SqlAccount("masteruser", "%"));
}

TEST(EngineSqlText, OptionFileValueQuotesAndEscapes) {
  EXPECT_EQ("\"/tmp/data\"", OptionFileValue("/tmp/data"));
  EXPECT_EQ("\"a#b c\"", OptionFileValue("a#b c"));
  EXPECT_EQ("\"q\\\"\\'\\\\\"", OptionFileValue("q\"'\\"));
}

TEST(EngineSubprocess, RunProcessFeedsStdinAndCapturesOutput) {
  Result<ProcessResult> result = RunProcess({"/bin/cat"}, "hello\nworld\n", milliseconds(5000));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->ok());
  EXPECT_EQ("hello\nworld\n", result->stdout_text);
}

TEST(EngineSubprocess, RunProcessLargeInputAndStderr) {
  std::string big(1 << 20, 'x');  // more than a socket buffer: exercises partial sends
  Result<ProcessResult> result =
      RunProcess({"/bin/sh", "-c", "wc -c; echo oops >&2; exit 3"}, big, milliseconds(5000));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_FALSE(result->ok());
  EXPECT_EQ("exited with status 3", DescribeWaitStatus(result->wait_status));
  EXPECT_EQ(std::to_string(big.size()) + "\n", result->stdout_text);
  EXPECT_EQ("oops\n", result->stderr_text);
}

TEST(EngineSubprocess, ChildThatStopsReadingDoesNotKillUs) {
  std::string big(4 << 20, 'x');
  Result<ProcessResult> result = RunProcess({"/bin/true"}, big, milliseconds(5000));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->ok());
}

TEST(EngineSubprocess, TimeoutKillsTheProcessGroup) {
  auto start = std::chrono::steady_clock::now();
  // The shell's own child (sleep) holds the pipes too; killing the group ends both.
  Result<ProcessResult> result =
      RunProcess({"/bin/sh", "-c", "sleep 30; echo never"}, "", milliseconds(200));
  EXPECT_EQ(Status::Code::kUnavailable, result.status().code());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(EngineSubprocess, MissingExecutableIsAnError) {
  Result<ProcessResult> result = RunProcess({"/nonexistent/binary"}, "", milliseconds(1000));
  EXPECT_FALSE(result.ok());
  EXPECT_NE(std::string::npos, result.status().message().find("/nonexistent/binary"));
}

TEST(EngineSubprocess, DescribeSignal) {
  EXPECT_EQ("killed by signal 9 (Killed)", DescribeWaitStatus(SIGKILL));
}

// A listener on a free 127.0.0.1 port; closed on destruction.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(EngineProbe, SilentListenerTimesOut) {
  Listener listener;  // connect succeeds (backlog) but no greeting ever comes
  Result<std::string> greeting = ProbeTcp("127.0.0.1", listener.port(), milliseconds(100));
  EXPECT_EQ(Status::Code::kUnavailable, greeting.status().code());
}

TEST(EngineProbe, NonMySqlPeerIsRejected) {
  Listener listener;
  std::thread server([&] {
    int connection = ::accept(listener.fd(), nullptr, nullptr);
    const char reply[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    (void)!::write(connection, reply, sizeof(reply) - 1);
    ::usleep(100000);
    ::close(connection);
  });
  Result<std::string> greeting = ProbeTcp("127.0.0.1", listener.port(), milliseconds(2000));
  server.join();
  EXPECT_EQ(Status::Code::kCorruption, greeting.status().code());
}

TEST(EngineProbe, NothingListening) {
  int port;
  {
    Listener listener;
    port = listener.port();
  }
  Result<std::string> greeting = ProbeTcp("127.0.0.1", port, milliseconds(500));
  EXPECT_EQ(Status::Code::kUnavailable, greeting.status().code());
  greeting = ProbeUnixSocket("/nonexistent/mysqld.sock", milliseconds(500));
  EXPECT_EQ(Status::Code::kUnavailable, greeting.status().code());
}

TEST(EngineOptions, CreateFillsDerivedPaths) {
  EngineOptions options;
  options.datadir = "/tmp/x/data/";
  options.run_dir = "/tmp/x/run";
  options.port = 3306;
  Result<std::unique_ptr<MariaDbEngine>> engine = MariaDbEngine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const EngineOptions& filled = (*engine)->options();
  EXPECT_EQ("/tmp/x/data", filled.datadir);
  EXPECT_EQ("/tmp/x/data/mysqld.sock", filled.socket_path);
  EXPECT_EQ("/tmp/x/run/my.cnf", filled.config_path);
  EXPECT_EQ("/tmp/x/run/mariadbd/mariadbd.err", filled.log_error_path);
  EXPECT_EQ("/tmp/x/run/mariadbd/mariadbd.pid", filled.pid_file_path);
  EXPECT_EQ("/tmp/x/run/mariadbd/tmp", filled.tmpdir);
  EXPECT_EQ("/tmp/x/run/mariadbd/files", filled.secure_file_dir);
  EXPECT_NE(0u, (*engine)->account().uid);  // never root
  EXPECT_FALSE((*engine)->IsRunning());
  EXPECT_EQ(0, (*engine)->pid());
  EXPECT_EQ(Status::Code::kFailedPrecondition, (*engine)->CheckAlive().code());
  EXPECT_TRUE((*engine)->Stop().ok());  // nothing to stop
}

TEST(EngineOptions, CreateRejectsBadOptions) {
  EngineOptions good;
  good.datadir = "/tmp/x/data";
  good.run_dir = "/tmp/x/run";
  good.port = 3306;
  auto rejected = [](EngineOptions options) {
    return MariaDbEngine::Create(std::move(options)).status().code() ==
           Status::Code::kInvalidArgument;
  };
  EngineOptions o = good;
  o.datadir = "relative/data";
  EXPECT_TRUE(rejected(o));
  o = good;
  o.port = 0;
  EXPECT_TRUE(rejected(o));
  o = good;
  o.run_dir = "/tmp/x/data/run";  // inside the datadir: would be versioned with it
  EXPECT_TRUE(rejected(o));
  o = good;
  o.log_error_path = "/tmp/x/data/err.log";
  EXPECT_TRUE(rejected(o));
  o = good;
  o.tmpdir = "/tmp/x/data/../data/tmp";
  EXPECT_TRUE(rejected(o));
  o = good;
  o.bind_address = "localhost";
  EXPECT_TRUE(rejected(o));
  o = good;
  o.socket_path = "/tmp/" + std::string(120, 's');
  EXPECT_TRUE(rejected(o));
  o = good;
  o.extra_settings = {{"max-connections\nuser", "x"}};
  EXPECT_TRUE(rejected(o));
}

}  // namespace
}  // namespace rwd::engine

namespace rwd::engine {
namespace {

TEST(EngineTunables, OnlyWhitelistedNamesAndPlainValuesPass) {
  EXPECT_TRUE(CheckTunedSetting("max_connections", "200").ok());
  EXPECT_TRUE(CheckTunedSetting("sql_mode", "STRICT_TRANS_TABLES,NO_ZERO_DATE").ok());
  EXPECT_TRUE(CheckTunedSetting("time_zone", "-05:30").ok());
  // Anything that names a file, directory, plugin or start-up SQL is not tunable.
  for (const char* name : {"general_log_file", "slow_query_log_file", "plugin_dir", "plugin_load_add",
                           "secure_file_priv", "init_file", "init_connect", "log_error", "datadir",
                           "socket", "port", "bind_address", "tmpdir", "log_bin_basename",
                           "lower_case_table_names", "innodb_flush_log_at_trx_commit"}) {
    EXPECT_FALSE(IsTunableVariable(name)) << name;
    EXPECT_EQ(Status::Code::kInvalidArgument, CheckTunedSetting(name, "1").code()) << name;
  }
  for (const char* value : {"", "1;DROP", "a b", "'x'", "x\ny", "/tmp/x", "a#b", "\\"}) {
    EXPECT_EQ(Status::Code::kInvalidArgument, CheckTunedSetting("sql_mode", value).code())
        << value;
  }
  EXPECT_FALSE(CheckTunedSetting("max_connections", std::string(1025, '1')).ok());
  const auto& names = TunableVariables();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(EngineTunables, ConfigNamesAndSetStatements) {
  EXPECT_EQ("default-time-zone", ConfigNameOf("time_zone"));
  EXPECT_EQ("transaction-isolation", ConfigNameOf("tx_isolation"));
  EXPECT_EQ("max_connections", ConfigNameOf("max_connections"));
  EXPECT_EQ("SET GLOBAL max_connections = 200", SetGlobalSql("max_connections", "200", {}));
  EXPECT_EQ("SET GLOBAL long_query_time = 0.5", SetGlobalSql("long_query_time", "0.5", {}));
  EXPECT_EQ("SET GLOBAL time_zone = '+01:00'", SetGlobalSql("time_zone", "+01:00", {}));
  EXPECT_EQ("SET GLOBAL time_zone = '+00:00'", SetGlobalSql("time_zone", {}, "+00:00"));
  EXPECT_EQ("SET GLOBAL wait_timeout = DEFAULT", SetGlobalSql("wait_timeout", {}, {}));
  EXPECT_EQ("268435456", OwnSettingValue("innodb_buffer_pool_size", "256M").value_or(""));
  EXPECT_EQ("+00:00", OwnSettingValue("time_zone", "256M").value_or(""));
  EXPECT_FALSE(OwnSettingValue("max_connections", "256M").has_value());
}

TEST(EngineTunables, CreateRefusesAnUntunableSetting) {
  EngineOptions o;
  o.datadir = "/tmp/rwd-tunables/data";
  o.run_dir = "/tmp/rwd-tunables/run";
  o.port = 3306;
  o.tuned_settings = {{"plugin_dir", "x"}};
  Result<std::unique_ptr<MariaDbEngine>> engine = MariaDbEngine::Create(o);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(std::string::npos, engine.status().message().find("plugin_dir"));
}

}  // namespace
}  // namespace rwd::engine
