// Spawning and running child processes without a shell, for the engine's use of mariadbd,
// mariadb-install-db and the mariadb client.
//
// Children start with an empty signal mask, default signal dispositions and only fds 0-2 open
// (everything else is closed, so a FUSE device fd or a listening socket of the parent never
// leaks into mariadbd). Nothing here kills anything but the process (group) it spawned itself.
// All functions are thread-safe; none reaps children other than the ones it spawned.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rwd::engine {

// An account a child runs as instead of the parent's: its uid and gid, with no supplementary
// groups. Switching needs the parent to be root (CAP_SETUID/CAP_SETGID).
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
};

struct SpawnRequest {
  // argv[0] is the absolute path of the executable; no PATH search, no shell.
  std::vector<std::string> argv;
  // "NAME=value" entries; empty means DefaultChildEnvironment().
  std::vector<std::string> env;
  // The child's stdin/stdout/stderr are dup2'ed from these fds; -1 means /dev/null. The caller
  // keeps ownership of the fds (close them after Spawn returns).
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Puts the child in a new process group (pgid == pid) so a terminal's Ctrl-C, sent to the
  // parent's group, does not reach it, and so the child's own helpers can be signalled with it.
  bool new_process_group = false;
  // Set: the child drops to this account (setgroups, setgid, setuid) before exec, so the
  // program never runs with the parent's identity. If the switch fails the child exits with
  // status 126 before exec, having written why to its stderr.
  std::optional<RunAs> run_as;
};

// A minimal, predictable environment: PATH only, so no MYSQL_* variable of the parent changes
// what a child does.
std::vector<std::string> DefaultChildEnvironment();

// Starts a child. Success: its pid; the caller must reap it (waitpid). Failure: IOError naming
// the executable (including exec failures such as ENOENT, which glibc reports synchronously).
Result<pid_t> Spawn(const SpawnRequest& request);

struct ProcessResult {
  int wait_status = 0;  // as from waitpid
  std::string stdout_text;
  std::string stderr_text;
  bool ok() const;  // exited normally with status 0
};

// Runs argv (see SpawnRequest) to completion in its own process group, feeding `input` to its
// stdin and capturing stdout and stderr (each up to `max_output_bytes`, further bytes dropped).
// The child is always reaped before returning.
// Success: the ProcessResult, whatever the child's exit status (check ok()).
// Failure: IOError if it cannot be spawned; Unavailable if it runs past `timeout`, in which case
// its process group is SIGKILLed first.
// `run_as`: as SpawnRequest::run_as.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, std::string_view input,
                                 std::chrono::milliseconds timeout,
                                 size_t max_output_bytes = 16 << 20,
                                 std::optional<RunAs> run_as = std::nullopt);

// "exited with status 1", "killed by signal 9 (Killed)" and the like.
std::string DescribeWaitStatus(int wait_status);

}  // namespace rwd::engine
