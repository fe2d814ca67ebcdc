#include "engine/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rwd::engine {
namespace {

// Owns one fd; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// posix_spawn's attribute and file-action objects, destroyed on every path.
class SpawnAttributes {
 public:
  SpawnAttributes() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

int AddStdStream(posix_spawn_file_actions_t* actions, int source_fd, int target_fd, int flags) {
  if (source_fd >= 0) return posix_spawn_file_actions_adddup2(actions, source_fd, target_fd);
  return posix_spawn_file_actions_addopen(actions, target_fd, "/dev/null", flags, 0);
}

std::vector<char*> CStringArray(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void ReapBlocking(pid_t pid, int* wait_status) {
  while (::waitpid(pid, wait_status, 0) < 0 && errno == EINTR) {
  }
}

// The child side of SpawnAs, between fork and exec: only async-signal-safe calls (the parent
// may have other threads, whose locks the child inherits held). The credential changes are raw
// system calls: glibc's wrappers would try to apply them to every thread of the parent.
[[noreturn]] void ExecAs(const SpawnRequest& request, char* const* argv, char* const* envp,
                         int report_fd) {
  auto fail = [report_fd](int error) {
    (void)!::write(report_fd, &error, sizeof(error));
    ::_exit(126);
  };
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // fails harmlessly on some
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  if (request.new_process_group && ::setpgid(0, 0) != 0) fail(errno);
  ::umask(077);  // what the other account creates is its own, whatever this process's umask
  const int sources[3] = {request.stdin_fd, request.stdout_fd, request.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    int source = sources[target];
    if (source < 0) {
      source = ::open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
      if (source < 0) fail(errno);
    }
    // dup2 onto itself would keep FD_CLOEXEC; the fds given are CLOEXEC in the parent.
    if (source == target) {
      if (::fcntl(source, F_SETFD, 0) != 0) fail(errno);
    } else if (::dup2(source, target) < 0) {
      fail(errno);
    }
  }
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) fail(errno);
  if (::syscall(SYS_setresgid, request.run_as->gid, request.run_as->gid, request.run_as->gid) != 0)
    fail(errno);
  if (::syscall(SYS_setresuid, request.run_as->uid, request.run_as->uid, request.run_as->uid) != 0)
    fail(errno);
  // Close everything else but the report pipe (CLOEXEC: closed by a successful exec).
  for (int fd = 3; fd < report_fd; ++fd) ::close(fd);
  ::syscall(SYS_close_range, report_fd + 1, ~0U, 0);
  ::execve(argv[0], argv, envp);
  fail(errno);
  ::_exit(126);  // not reached: fail() exits
}

// Spawn with SpawnRequest::run_as: fork and exec (posix_spawn cannot change credentials). An
// error before exec comes back through a CLOEXEC pipe, so it is reported synchronously as
// posix_spawn reports it.
Result<pid_t> SpawnAs(const SpawnRequest& request, char* const* argv, char* const* envp) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe for spawn report");
  UniqueFd report_read(report[0]), report_write(report[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork for " + request.argv[0]);
  if (pid == 0) ExecAs(request, argv, envp, report_write.get());
  report_write.Reset();
  int error = 0;
  ssize_t n;
  while ((n = ::read(report_read.get(), &error, sizeof(error))) < 0 && errno == EINTR) {
  }
  if (n <= 0) return pid;  // exec succeeded
  int ignored = 0;
  ReapBlocking(pid, &ignored);
  return Status::FromErrno(error, "spawning " + request.argv[0] + " as uid " +
                                      std::to_string(request.run_as->uid) + " gid " +
                                      std::to_string(request.run_as->gid));
}

}  // namespace

std::vector<std::string> DefaultChildEnvironment() {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
}

Result<pid_t> Spawn(const SpawnRequest& request) {
  if (request.argv.empty() || request.argv[0].empty() || request.argv[0][0] != '/') {
    return Status::InvalidArgument("Spawn needs an absolute executable path in argv[0]");
  }
  std::vector<std::string> env = request.env.empty() ? DefaultChildEnvironment() : request.env;
  std::vector<char*> argv = CStringArray(request.argv);
  std::vector<char*> envp = CStringArray(env);
  if (request.run_as) return SpawnAs(request, argv.data(), envp.data());

  SpawnAttributes spawn;
  int rc = 0;
  rc = rc ? rc : AddStdStream(spawn.actions(), request.stdin_fd, 0, O_RDONLY);
  rc = rc ? rc : AddStdStream(spawn.actions(), request.stdout_fd, 1, O_WRONLY);
  rc = rc ? rc : AddStdStream(spawn.actions(), request.stderr_fd, 2, O_WRONLY);
  rc = rc ? rc : posix_spawn_file_actions_addclosefrom_np(spawn.actions(), 3);

  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (request.new_process_group) flags |= POSIX_SPAWN_SETPGROUP;
  sigset_t empty_mask;
  sigset_t all_signals;
  sigemptyset(&empty_mask);
  sigfillset(&all_signals);
  rc = rc ? rc : posix_spawnattr_setflags(spawn.attr(), flags);
  rc = rc ? rc : posix_spawnattr_setsigmask(spawn.attr(), &empty_mask);
  rc = rc ? rc : posix_spawnattr_setsigdefault(spawn.attr(), &all_signals);
  rc = rc ? rc : posix_spawnattr_setpgroup(spawn.attr(), 0);
  if (rc != 0) return Status::FromErrno(rc, "preparing to spawn " + request.argv[0]);

  pid_t pid = -1;
  rc = posix_spawn(&pid, argv[0], spawn.actions(), spawn.attr(), argv.data(), envp.data());
  if (rc != 0) return Status::FromErrno(rc, "spawning " + request.argv[0]);
  return pid;
}

bool ProcessResult::ok() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, std::string_view input,
                                 std::chrono::milliseconds timeout, size_t max_output_bytes,
                                 std::optional<RunAs> run_as) {
  // stdin is a socket, not a pipe, so that writing to a child that has gone away gives EPIPE
  // through MSG_NOSIGNAL instead of a process-killing SIGPIPE.
  int stdin_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0) {
    return Status::FromErrno(errno, "socketpair for child stdin");
  }
  UniqueFd stdin_parent(stdin_pair[0]), stdin_child(stdin_pair[1]);
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe for child stdout");
  UniqueFd out_parent(out_pipe[0]), out_child(out_pipe[1]);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe for child stderr");
  UniqueFd err_parent(err_pipe[0]), err_child(err_pipe[1]);

  SpawnRequest request;
  request.argv = argv;
  request.stdin_fd = stdin_child.get();
  request.stdout_fd = out_child.get();
  request.stderr_fd = err_child.get();
  request.new_process_group = true;
  request.run_as = run_as;
  ASSIGN_OR_RETURN(pid_t pid, Spawn(request));
  stdin_child.Reset();
  out_child.Reset();
  err_child.Reset();
  SetNonBlocking(stdin_parent.get());
  SetNonBlocking(out_parent.get());
  SetNonBlocking(err_parent.get());
  if (input.empty()) stdin_parent.Reset();

  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  size_t input_sent = 0;
  char buffer[16384];
  while (out_parent.get() >= 0 || err_parent.get() >= 0) {
    pollfd fds[3];
    nfds_t count = 0;
    UniqueFd* owners[3];
    auto watch = [&](UniqueFd& fd, short events) {
      if (fd.get() < 0) return;
      fds[count] = pollfd{fd.get(), events, 0};
      owners[count++] = &fd;
    };
    watch(stdin_parent, POLLOUT);
    watch(out_parent, POLLIN);
    watch(err_parent, POLLIN);
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      timed_out = true;
      break;
    }
    int ready = ::poll(fds, count, static_cast<int>(remaining.count()));
    if (ready < 0 && errno != EINTR) {
      timed_out = true;  // cannot watch the child any more; treat like a timeout and kill it
      break;
    }
    for (nfds_t i = 0; ready > 0 && i < count; ++i) {
      if (fds[i].revents == 0) continue;
      UniqueFd& fd = *owners[i];
      if (&fd == &stdin_parent) {
        ssize_t n = ::send(fd.get(), input.data() + input_sent, input.size() - input_sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) input_sent += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || input_sent == input.size()) {
          fd.Reset();  // EOF for the child, or it stopped reading
        }
        continue;
      }
      std::string& sink = (&fd == &out_parent) ? result.stdout_text : result.stderr_text;
      ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
      if (n > 0) {
        size_t room = max_output_bytes - std::min(max_output_bytes, sink.size());
        sink.append(buffer, std::min(room, static_cast<size_t>(n)));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd.Reset();
      }
    }
  }
  if (timed_out) {
    // pid is not reaped yet, so the group id cannot have been reused.
    ::killpg(pid, SIGKILL);
  }
  ReapBlocking(pid, &result.wait_status);
  if (timed_out) {
    return Status::Unavailable(argv[0] + " did not finish within " +
                               std::to_string(timeout.count()) + " ms and was killed");
  }
  return result;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status))
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* description = ::sigdescr_np(sig);  // thread-safe, unlike strsignal
    std::string text = "killed by signal " + std::to_string(sig) + " (" +
                       (description ? description : "unknown") + ")";
    if (WCOREDUMP(wait_status)) text += ", core dumped";
    return text;
  }
  return "changed state (wait status " + std::to_string(wait_status) + ")";
}

}  // namespace rwd::engine
