// ReaderBalancer: a cluster's ReaderEndpoint — a real HAProxy (Debian's /usr/sbin/haproxy, TCP
// mode) listening on <listen_host>:<cluster port> (127.0.0.2 by default: a second loopback
// address, so the reader endpoint has the cluster's Port as in Aurora) and spreading new
// connections round-robin over the readers' ports, or, with no reader, sending them to the
// writer, as Aurora's reader endpoint does. Backends are health-checked (TCP connect, every
// second): a reader that is down gets no new connections.
//
// Files: <dir>/haproxy.cfg (0600, root's: rewindd writes it, haproxy reads it before it drops
// to the engine account given by `uid`/`gid` in the config), <dir>/haproxy.pid (its pid, written
// by rewindd, so that a rewindd that died leaves nothing: KillOrphanBalancer at the next start).
//
// Process: haproxy runs in the foreground as rewindd's child (its own process group), supervised
// by a reaper thread: started again (after 1 s) if it exits without being asked; stopped by pid
// (SIGTERM, then SIGKILL after 5 s) on Stop and destruction. Update rewrites the config and
// reloads: a new haproxy takes over the listening port (-sf: the old one finishes its open
// connections and exits), so new connections follow the new membership at once.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace rwd::cluster {

struct BalancerBackend {
  std::string name;  // the instance id
  std::string host;  // numeric address
  int port = 0;
};

struct BalancerOptions {
  std::string haproxy_path = "/usr/sbin/haproxy";
  std::string dir;          // private directory (made 0700) for the config and pid file
  std::string listen_host;  // numeric address, e.g. 127.0.0.2
  int listen_port = 0;
  // Set when rewindd is root: haproxy drops to this uid/gid after binding.
  std::optional<std::pair<uid_t, gid_t>> drop_to;
};

// The config text for `backends` (pure; for tests). At least one backend is required.
std::string BalancerConfig(const BalancerOptions& options,
                           const std::vector<BalancerBackend>& backends);

class ReaderBalancer {
 public:
  // Checks the config with `haproxy -c`, starts haproxy and waits (up to 10 s) until the listen
  // address accepts connections. Failure: InvalidArgument for no backend or a bad option;
  // FailedPrecondition if haproxy is missing (install Debian's haproxy); Unavailable if it does
  // not come up (nothing is left running).
  static Result<std::unique_ptr<ReaderBalancer>> Start(BalancerOptions options,
                                                       std::vector<BalancerBackend> backends);
  // Stops every haproxy it started.
  ~ReaderBalancer();
  ReaderBalancer(const ReaderBalancer&) = delete;
  ReaderBalancer& operator=(const ReaderBalancer&) = delete;

  // New backends: config rewritten, haproxy reloaded. Failure: as Start; the running haproxy
  // (old backends) then keeps serving.
  Status Update(std::vector<BalancerBackend> backends);
  // The running haproxy's pid (0 if none).
  pid_t pid() const;
  const std::vector<BalancerBackend>& backends() const { return backends_; }

 private:
  explicit ReaderBalancer(BalancerOptions options) : options_(std::move(options)) {}
  // Spawns haproxy (with -sf `replace` when given) and waits until it listens. Requires mu_.
  Result<pid_t> SpawnLocked(pid_t replace);
  void Reap(pid_t pid);

  const BalancerOptions options_;
  std::vector<BalancerBackend> backends_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  pid_t current_ = 0;
  std::set<pid_t> live_;  // every haproxy spawned and not yet reaped
  bool stopping_ = false;
  std::vector<std::thread> reapers_;
};

// SIGKILLs the haproxy whose pid file is <dir>/haproxy.pid, only if its command line names
// <dir>/haproxy.cfg (a rewindd that died left it). Does nothing if there is none.
void KillOrphanBalancer(const std::string& dir);

}  // namespace rwd::cluster
