#include "cluster/host_util.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace rwd::cluster {

bool LoopbackPortFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

bool IsMountPoint(const std::string& path) {
  std::ifstream mounts("/proc/mounts");
  std::string dev, mnt, rest;
  while (mounts >> dev >> mnt) {
    std::getline(mounts, rest);
    if (mnt == path) return true;
  }
  return false;
}

void KillServerOf(const std::string& run_dir) {
  long pid = 0;
  // The engine's layout, then the one of older versions (a mariadbd they left running).
  for (const char* name : {"/mariadbd/mariadbd.pid", "/mariadbd.pid"}) {
    std::ifstream pidf(run_dir + name);
    if (pidf >> pid && pid > 0) break;
    pid = 0;
  }
  if (pid <= 0) return;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream cmd(proc + "/cmdline");
  const std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  if (cmdline.find("--defaults-file=" + run_dir + "/my.cnf") == std::string::npos) return;
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  // Not our child (an earlier rewindd's): init reaps it; wait until it is gone or a zombie.
  for (int i = 0; i < 200 && std::filesystem::exists(proc); ++i) {
    std::ifstream st(proc + "/stat");
    const std::string s((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    if (s.find(") Z") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status WriteSecretFile(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  const bool written = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, content.data(), content.size()) ==
                           static_cast<ssize_t>(content.size()) &&
                       ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!written) return Status::FromErrno(err, "writing " + path);
  return Status::Ok();
}

}  // namespace rwd::cluster
