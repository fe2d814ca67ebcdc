#include "cluster/reader_balancer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cluster/host_util.h"
#include "engine/subprocess.h"

namespace rwd::cluster {
namespace {

std::string CfgPath(const BalancerOptions& o) { return o.dir + "/haproxy.cfg"; }
std::string PidPath(const BalancerOptions& o) { return o.dir + "/haproxy.pid"; }

bool Accepts(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1 &&
                  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

bool Alive(pid_t pid) {
  // Our own child until we reap it: a zombie counts as gone.
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  const std::string s((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  return !s.empty() && s.find(") Z") == std::string::npos;
}

}  // namespace

std::string BalancerConfig(const BalancerOptions& o, const std::vector<BalancerBackend>& backends) {
  std::string c = "# Written by rewindd for the cluster's reader endpoint; rewritten on change.\n";
  c += "global\n  maxconn 4096\n";
  if (o.drop_to) {
    c += "  uid " + std::to_string(o.drop_to->first) + "\n";
    c += "  gid " + std::to_string(o.drop_to->second) + "\n";
  }
  // Long-lived SQL sessions: no idle timeout shorter than MariaDB's own wait_timeout (8 h).
  c += "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 8h\n  timeout server 8h\n";
  c += "listen readers\n";
  c += "  bind " + o.listen_host + ":" + std::to_string(o.listen_port) + "\n";
  c += "  balance roundrobin\n";
  for (const BalancerBackend& b : backends) {
    c += "  server " + b.name + " " + b.host + ":" + std::to_string(b.port) +
         " check inter 1s fall 2 rise 1\n";
  }
  return c;
}

Result<std::unique_ptr<ReaderBalancer>> ReaderBalancer::Start(
    BalancerOptions options, std::vector<BalancerBackend> backends) {
  if (options.dir.empty() || options.listen_host.empty() || options.listen_port <= 0) {
    return Status::InvalidArgument("a reader endpoint needs a directory, an address and a port");
  }
  if (::access(options.haproxy_path.c_str(), X_OK) != 0) {
    return Status::FailedPrecondition(options.haproxy_path +
                                      " is missing: install Debian's haproxy package "
                                      "(scripts/setup.sh does) for reader endpoints");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Status::IOError("creating " + options.dir + ": " + ec.message());
  std::filesystem::permissions(options.dir, std::filesystem::perms::owner_all, ec);
  std::unique_ptr<ReaderBalancer> b(new ReaderBalancer(std::move(options)));
  RETURN_IF_ERROR(b->Update(std::move(backends)));
  return b;
}

ReaderBalancer::~ReaderBalancer() {
  std::set<pid_t> live;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    live = live_;
  }
  for (pid_t p : live) ::kill(p, SIGTERM);
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, std::chrono::seconds(5), [this] { return live_.empty(); })) {
      for (pid_t p : live_) ::kill(p, SIGKILL);  // still our unreaped children: safe to signal
    }
  }
  for (std::thread& t : reapers_) t.join();
  std::error_code ec;
  std::filesystem::remove(PidPath(options_), ec);
}

pid_t ReaderBalancer::pid() const {
  std::lock_guard<std::mutex> lk(mu_);
  return current_;
}

Status ReaderBalancer::Update(std::vector<BalancerBackend> backends) {
  if (backends.empty()) return Status::InvalidArgument("a reader endpoint needs a backend");
  std::lock_guard<std::mutex> lk(mu_);
  if (stopping_) return Status::FailedPrecondition("the reader endpoint is stopping");
  const std::string cfg = BalancerConfig(options_, backends);
  const std::string tmp = CfgPath(options_) + ".new";
  RETURN_IF_ERROR(WriteSecretFile(tmp, cfg));
  ASSIGN_OR_RETURN(engine::ProcessResult check,
                   engine::RunProcess({options_.haproxy_path, "-c", "-q", "-f", tmp}, "",
                                      std::chrono::seconds(30)));
  if (!check.ok()) {
    return Status::InvalidArgument("haproxy refuses the reader endpoint's config: " +
                                   check.stderr_text + check.stdout_text);
  }
  if (::rename(tmp.c_str(), CfgPath(options_).c_str()) != 0) {
    return Status::FromErrno(errno, "renaming " + tmp);
  }
  ASSIGN_OR_RETURN(pid_t fresh, SpawnLocked(current_));
  current_ = fresh;
  backends_ = std::move(backends);
  return Status::Ok();
}

Result<pid_t> ReaderBalancer::SpawnLocked(pid_t replace) {
  engine::SpawnRequest req;
  req.argv = {options_.haproxy_path, "-db", "-f", CfgPath(options_)};
  if (replace > 0) {
    req.argv.push_back("-sf");
    req.argv.push_back(std::to_string(replace));
  }
  req.new_process_group = true;
  ASSIGN_OR_RETURN(pid_t pid, engine::Spawn(req));
  live_.insert(pid);
  reapers_.emplace_back([this, pid] { Reap(pid); });
  // haproxy writes no pid file in the foreground: rewindd keeps it, for KillOrphanBalancer.
  if (Status s = WriteSecretFile(PidPath(options_), std::to_string(pid)); !s.ok()) {
    ::kill(pid, SIGKILL);
    return s;
  }
  // Up once it accepts connections and is still alive a moment later (a haproxy that cannot
  // bind exits at once; on a reload the old one keeps the port until the new one has it).
  for (int i = 0; i < 200; ++i) {
    if (!Alive(pid)) break;
    if (i >= 6 && Accepts(options_.listen_host, options_.listen_port)) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  return Status::Unavailable("haproxy for " + options_.listen_host + ":" +
                             std::to_string(options_.listen_port) +
                             " did not come up (is the address bindable?)");
}

void ReaderBalancer::Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::unique_lock<std::mutex> lk(mu_);
  live_.erase(pid);
  cv_.notify_all();
  if (stopping_ || pid != current_) return;  // asked to stop, or replaced by a reload
  // Died on its own: started again after a second, as long as nobody stops it meanwhile.
  std::fprintf(stderr, "rewindd: haproxy of %s:%d %s; starting it again\n",
               options_.listen_host.c_str(), options_.listen_port,
               engine::DescribeWaitStatus(status).c_str());
  current_ = 0;
  if (cv_.wait_for(lk, std::chrono::seconds(1), [this] { return stopping_; })) return;
  Result<pid_t> fresh = SpawnLocked(0);
  if (fresh.ok()) {
    current_ = *fresh;
  } else {
    std::fprintf(stderr, "rewindd: restarting haproxy: %s\n", fresh.status().ToString().c_str());
  }
}

void KillOrphanBalancer(const std::string& dir) {
  std::ifstream pidf(dir + "/haproxy.pid");
  long pid = 0;
  if (!(pidf >> pid) || pid <= 0) return;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream cmd(proc + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  for (char& ch : cmdline) {
    if (ch == '\0') ch = ' ';
  }
  if (cmdline.find(" -f " + dir + "/haproxy.cfg ") == std::string::npos) return;
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  for (int i = 0; i < 200 && Alive(static_cast<pid_t>(pid)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace rwd::cluster
