#include "engine/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
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

}  // namespace

std::vector<std::string> DefaultChildEnvironment() {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
}

Result<pid_t> Spawn(const SpawnRequest& request) {
  if (request.argv.empty() || request.argv[0].empty() || request.argv[0][0] != '/') {
    return Status::InvalidArgument("Spawn needs an absolute executable path in argv[0]");
  }
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

  std::vector<std::string> env = request.env.empty() ? DefaultChildEnvironment() : request.env;
  std::vector<char*> argv = CStringArray(request.argv);
  std::vector<char*> envp = CStringArray(env);
  pid_t pid = -1;
  rc = posix_spawn(&pid, argv[0], spawn.actions(), spawn.attr(), argv.data(), envp.data());
  if (rc != 0) return Status::FromErrno(rc, "spawning " + request.argv[0]);
  return pid;
}

bool ProcessResult::ok() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, std::string_view input,
                                 std::chrono::milliseconds timeout, size_t max_output_bytes) {
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
