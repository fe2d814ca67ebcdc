// Small facts about the host that the cluster room needs: free loopback ports, mount points,
// and a mariadbd an earlier rewindd left running.
#pragma once

#include <string>

#include "common/status.h"

namespace rwd::cluster {

// True if a TCP socket can bind 127.0.0.1:port now.
bool LoopbackPortFree(int port);

// True if `path` is a mount point (/proc/mounts lists it).
bool IsMountPoint(const std::string& path);

// SIGKILLs the mariadbd whose pid file is <run_dir>/mariadbd/mariadbd.pid (or, as older
// versions kept it, <run_dir>/mariadbd.pid), only if its command
// line names <run_dir>/my.cnf as its defaults file (never another process), and waits (up to
// 10 s) until it is gone or a zombie. Does nothing if there is none.
void KillServerOf(const std::string& run_dir);

// Writes `content` to `path` (created or truncated, 0600 whatever the umask, no symlink
// followed) and fsyncs it. Failure: the errno of the step, naming the path.
Status WriteSecretFile(const std::string& path, const std::string& content);

}  // namespace rwd::cluster
