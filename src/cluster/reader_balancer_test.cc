// ReaderBalancer with Debian's real haproxy: it starts on 127.0.0.2, forwards to its backends
// round-robin, reloads on Update (the new backends take the new connections), comes back when
// killed from outside, and leaves no process behind. Needs /usr/sbin/haproxy (fails loudly).
#include "cluster/reader_balancer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "common/test_util.h"

namespace rwd::cluster {
namespace {

// A port free on 127.0.0.2 now (the kernel's pick).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) std::abort();
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A TCP server on 127.0.0.1 that answers every connection with `tag` and closes it.
class TagServer {
 public:
  explicit TagServer(std::string tag) : tag_(std::move(tag)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        (void)!::write(c, tag_.data(), tag_.size());
        ::close(c);
      }
    });
  }
  ~TagServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string tag_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// What a new connection to 127.0.0.2:port reads ("" if it cannot connect or reads nothing).
std::string Fetch(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    char buf[64];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// The set of tags `n` connections reach, once every tag in `want` shows (polls: the health
// checks need a moment after a start or reload).
std::set<std::string> Reached(int port, const std::set<std::string>& want) {
  std::set<std::string> got;
  for (int round = 0; round < 100; ++round) {
    got.clear();
    for (int i = 0; i < 8; ++i) {
      std::string t = Fetch(port);
      if (!t.empty()) got.insert(t);
    }
    if (got == want) return got;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

TEST(ReaderBalancer, ForwardsRoundRobinReloadsRestartsAndStops) {
  ASSERT_EQ(0, ::access("/usr/sbin/haproxy", X_OK)) << "install haproxy (scripts/setup.sh)";
  testing::TempDir dir("rewind-balancer-test");
  TagServer a("a"), b("b"), c("c");
  const int port = FreePort();
  BalancerOptions o;
  o.dir = dir.path() + "/hb";
  o.listen_host = "127.0.0.2";
  o.listen_port = port;
  auto started = ReaderBalancer::Start(o, {{"a", "127.0.0.1", a.port()}});
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ReaderBalancer& bal = **started;
  EXPECT_EQ((std::set<std::string>{"a"}), Reached(port, {"a"}));
  // Membership change: a reload, the new backends take new connections.
  ASSERT_TRUE(bal.Update({{"b", "127.0.0.1", b.port()}, {"c", "127.0.0.1", c.port()}}).ok());
  EXPECT_EQ((std::set<std::string>{"b", "c"}), Reached(port, {"b", "c"}));
  // Killed from outside: started again by its supervisor.
  const pid_t first = bal.pid();
  ASSERT_GT(first, 0);
  ASSERT_EQ(0, ::kill(first, SIGKILL));
  pid_t next = 0;
  for (int i = 0; i < 100 && (next == 0 || next == first); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    next = bal.pid();
  }
  EXPECT_NE(first, next);
  EXPECT_EQ((std::set<std::string>{"b", "c"}), Reached(port, {"b", "c"}));
  // A bad backend list is refused; the running one keeps serving.
  EXPECT_FALSE(bal.Update({}).ok());
  started->reset();
  // Stopped by pid: nothing listens, the process is gone (reaped: no /proc entry).
  EXPECT_EQ("", Fetch(port));
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(next)));
}

TEST(ReaderBalancer, ConfigNamesEveryBackendAndDropsPrivileges) {
  BalancerOptions o;
  o.listen_host = "127.0.0.2";
  o.listen_port = 3306;
  o.drop_to = std::make_pair(uid_t{2100000001}, gid_t{105});
  std::string cfg = BalancerConfig(o, {{"r1", "127.0.0.1", 3310}, {"r2", "127.0.0.1", 3311}});
  EXPECT_NE(std::string::npos, cfg.find("bind 127.0.0.2:3306\n"));
  EXPECT_NE(std::string::npos, cfg.find("balance roundrobin\n"));
  EXPECT_NE(std::string::npos, cfg.find("server r1 127.0.0.1:3310 check"));
  EXPECT_NE(std::string::npos, cfg.find("server r2 127.0.0.1:3311 check"));
  EXPECT_NE(std::string::npos, cfg.find("uid 2100000001\n  gid 105\n"));
}

}  // namespace
}  // namespace rwd::cluster
