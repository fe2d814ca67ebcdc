// Supervising mariadbd: starting it (and waiting until it serves), reaping it and reporting
// how it ended, stopping or killing it, and what it says about itself (Version).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/server_probe.h"
#include "engine/subprocess.h"

namespace rwd::engine {

using engine_internal::MakeOwnedDirectory;
using engine_internal::ReadLogTail;
using engine_internal::ReadSmallFile;
using engine_internal::SetOwnerAndMode;
using engine_internal::Trimmed;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kKillWait = std::chrono::seconds(30);
constexpr std::chrono::milliseconds kReadyPollInterval = std::chrono::milliseconds(10);
constexpr std::chrono::milliseconds kProbeTimeout = std::chrono::seconds(5);

std::string NowForLog() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

}  // namespace

MariaDbEngine::~MariaDbEngine() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  // A destructor cannot report: a server that survives even SIGKILL is the reaper's to wait out.
  (void)StopLocked(/*graceful=*/true);
  JoinReaper();  // also when Stop gave up: the reaper must not outlive the engine
}

Status MariaDbEngine::Start() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  RETURN_IF_ERROR(StartLocked());
  if (options_.master_user.empty()) return Status::Ok();
  Status reconciled = ReconcileMasterPrivileges(options_.master_user);
  if (!reconciled.ok()) {
    // The grant's failure is the one to report; a stop that fails leaves IsRunning() true.
    (void)StopLocked(/*graceful=*/true);
    return reconciled.WithContext(
        "mariadbd stopped: the master user's privileges could not be "
        "set");
  }
  return Status::Ok();
}

Status MariaDbEngine::StartLocked(std::optional<SqlLogin> readiness_login) {
  if (IsRunning()) return Status::FailedPrecondition("mariadbd is already running");
  JoinReaper();
  if (!IsInitialized()) {
    return Status::FailedPrecondition("datadir holds no database (run Initialize): " +
                                      options_.datadir);
  }
  RETURN_IF_ERROR(CheckNoOrphan());
  RETURN_IF_ERROR(PrepareDirectories());
  // The datadir's top directory is the account's too (a clone's comes from its source, an
  // older one from another account). Touched only when it differs: in rewindd it is a
  // versioned mount, where every change is history.
  if (struct stat top {}; ::stat(options_.datadir.c_str(), &top) == 0 &&
                          (top.st_uid != account_.uid || top.st_gid != account_.gid)) {
    RETURN_IF_ERROR(MakeOwnedDirectory(options_.datadir, account_.uid, account_.gid, 0700));
  }
  TunedSettings tuned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tuned = tuned_;
  }
  RETURN_IF_ERROR(WriteConfig(tuned));
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_effect_ = tuned;  // what this server starts with
  }
  if (!readiness_login) {
    Result<std::string> root_password = RootPassword();
    if (root_password.ok()) readiness_login = SqlLogin{"root", *root_password};
  }
  // A socket left by a killed server (or brought back by a backtrack) must not look like the
  // new server's: readiness waits for the new one to appear.
  if (::unlink(options_.socket_path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "removing stale socket " + options_.socket_path);
  }

  // O_NOFOLLOW: the engine account owns the directory; a link there is never followed.
  int log_fd = ::open(options_.log_error_path.c_str(),
                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log_fd < 0) return Status::FromErrno(errno, "opening " + options_.log_error_path);
  // mariadbd reopens its log itself: it must own it.
  if (Status owned =
          SetOwnerAndMode(log_fd, options_.log_error_path, account_.uid, account_.gid, 0600);
      !owned.ok()) {
    ::close(log_fd);
    return owned;
  }
  std::string marker = "---- " + NowForLog() + " rewind engine: starting mariadbd ----\n";
  (void)!::write(log_fd, marker.data(), marker.size());
  const off_t log_offset = ::lseek(log_fd, 0, SEEK_END);

  SpawnRequest request;
  // --defaults-file must come first; it makes the config file the only source of settings.
  request.argv = {options_.mariadbd_path, "--defaults-file=" + options_.config_path};
  request.stdout_fd = log_fd;  // what mariadbd prints before it opens its log goes there too
  request.stderr_fd = log_fd;
  request.new_process_group = true;
  // mariadbd creates its files with this mask (default 0660): private to the engine account.
  request.env = DefaultChildEnvironment();
  request.env.push_back("UMASK=0600");
  request.env.push_back("UMASK_DIR=0700");
  if (account_.switched) request.run_as = RunAs{account_.uid, account_.gid};
  Result<pid_t> spawned = Spawn(request);
  ::close(log_fd);
  if (!spawned.ok()) return spawned.status();
  const pid_t child = *spawned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    child_ = child;
    child_reaped_ = false;
    phase_ = Phase::kStarting;
    last_exit_ = Status::Ok();
  }
  reaper_ = std::thread(&MariaDbEngine::Reap, this, child, log_offset);
  return WaitUntilReady(child, log_offset, std::move(readiness_login));
}

Status MariaDbEngine::WaitUntilReady(pid_t child, off_t log_offset, std::optional<SqlLogin> login) {
  const Clock::time_point deadline = Clock::now() + options_.start_timeout;
  Status last_probe = Status::Unavailable("the server's socket has not appeared");
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (child_reaped_) return last_exit_;  // the reaper wrote the report
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    // mariadbd creates its Unix socket after binding the TCP port (and exits if it cannot), so
    // once the socket exists the TCP port is ours, and probing it cannot reach another server.
    struct stat info {};
    if (::lstat(options_.socket_path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) {
      bool ready = false;
      auto probe_timeout = std::min(left, kProbeTimeout);
      if (login) {
        // A real login and a clean quit: proves the endpoint clients use, and leaves no
        // "Aborted connection" warning in the error log as a bare greeting probe would.
        Result<std::string> answer = RunClient(
            *login, "SELECT 1", SqlRunOptions{.transport = SqlTransport::kTcp}, probe_timeout);
        // A refused login still means a server that serves connections.
        ready = answer.ok() || answer.status().code() == Status::Code::kInvalidArgument;
        last_probe = answer.status();
      } else {
        Result<std::string> greeting = ProbeUnixSocket(options_.socket_path, probe_timeout);
        ready = greeting.ok();
        last_probe = greeting.status();
      }
      if (ready) {
        std::lock_guard<std::mutex> lock(mu_);
        if (child_reaped_) return last_exit_;
        phase_ = Phase::kUp;
        return Status::Ok();
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    exited_cv_.wait_for(lock, kReadyPollInterval, [&] { return child_reaped_; });
  }
  // Not ready in time: take it down so that no half-started server is left behind.
  {
    std::lock_guard<std::mutex> lock(mu_);
    phase_ = Phase::kStopping;
    SignalLocked(SIGKILL);
  }
  WaitForExit(kKillWait);
  Status timeout = Status::Unavailable(
      "mariadbd (pid " + std::to_string(child) + ") did not accept connections within " +
      std::to_string(options_.start_timeout.count()) +
      " ms and was killed; last probe: " + last_probe.ToString() + "; last lines of " +
      options_.log_error_path + ":\n" + ReadLogTail(options_.log_error_path, log_offset));
  std::lock_guard<std::mutex> lock(mu_);
  last_exit_ = timeout;
  return timeout;
}

Status MariaDbEngine::CheckNoOrphan() const {
  Result<std::string> pid_text = ReadSmallFile(options_.pid_file_path);
  if (!pid_text.ok()) return Status::Ok();  // no pid file: no earlier server left running
  long pid = std::strtol(pid_text->c_str(), nullptr, 10);
  if (pid <= 0) return Status::Ok();
  // A stale pid file may name a recycled pid: only a mariadbd using our config counts.
  Result<std::string> cmdline = ReadSmallFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline.ok()) return Status::Ok();
  const std::string ours = "--defaults-file=" + options_.config_path;
  if (cmdline->find(ours + '\0') == std::string::npos) return Status::Ok();
  return Status::FailedPrecondition(
      "an earlier mariadbd (pid " + std::to_string(pid) + ") of " + options_.run_dir +
      " is still running; stop it before starting another on the same datadir");
}

void MariaDbEngine::Reap(pid_t child, off_t log_offset) {
  // Wait without reaping: while the child is a zombie its pid cannot be recycled, so others
  // may still signal it safely until we reap it below, under mu_.
  siginfo_t info{};
  while (::waitid(P_PID, child, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  std::string tail = ReadLogTail(options_.log_error_path, log_offset);
  int wait_status = 0;
  bool status_known = true;
  std::function<void(const Status&)> notify;
  Status report;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (true) {
      if (::waitpid(child, &wait_status, 0) >= 0) break;
      if (errno == EINTR) continue;
      status_known = false;  // someone else reaped it (see the header's warning)
      break;
    }
    child_reaped_ = true;
    std::string how = status_known ? DescribeWaitStatus(wait_status) : "exited (status unknown)";
    std::string head = "mariadbd (pid " + std::to_string(child) + ") ";
    switch (phase_) {
      case Phase::kStarting:
        last_exit_ = Status::Unavailable(head + how + " during start; last lines of " +
                                         options_.log_error_path + ":\n" + tail);
        break;
      case Phase::kUp:
        last_exit_ = Status::Unavailable(head + how + " unexpectedly; last lines of " +
                                         options_.log_error_path + ":\n" + tail);
        report = last_exit_;
        notify = options_.on_unexpected_exit;
        break;
      case Phase::kNone:
      case Phase::kStopping:
        last_exit_ = Status::Ok();
        break;
    }
    phase_ = Phase::kNone;
  }
  exited_cv_.notify_all();
  if (notify) notify(report);
}

void MariaDbEngine::SignalLocked(int sig) {
  // The child is unreaped (mu_ is held and child_reaped_ is false), so the pid is still ours.
  if (!child_reaped_) ::kill(child_, sig);
}

bool MariaDbEngine::WaitForExit(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return exited_cv_.wait_for(lock, timeout, [&] { return child_reaped_; });
}

void MariaDbEngine::JoinReaper() {
  if (reaper_.joinable() && reaper_.get_id() != std::this_thread::get_id()) reaper_.join();
}

Status MariaDbEngine::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  return StopLocked(/*graceful=*/true);
}

Status MariaDbEngine::Kill() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  return StopLocked(/*graceful=*/false);
}

Status MariaDbEngine::StopLocked(bool graceful) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!child_reaped_) {
      phase_ = Phase::kStopping;
      SignalLocked(graceful ? SIGTERM : SIGKILL);
    }
  }
  bool exited = WaitForExit(graceful ? options_.stop_timeout : kKillWait);
  if (!exited && graceful) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      SignalLocked(SIGKILL);
    }
    exited = WaitForExit(kKillWait);
  }
  if (!exited) {
    return Status::Busy("mariadbd (pid " + std::to_string(pid()) +
                        ") did not exit after SIGKILL; still waiting for it");
  }
  JoinReaper();
  return Status::Ok();
}

bool MariaDbEngine::IsRunning() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !child_reaped_;
}

pid_t MariaDbEngine::pid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return child_reaped_ ? 0 : child_;
}

Status MariaDbEngine::CheckAlive() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!child_reaped_) return Status::Ok();
  if (!last_exit_.ok()) return last_exit_;
  return Status::FailedPrecondition("mariadbd is not running");
}

Result<std::string> MariaDbEngine::Version() const {
  std::lock_guard<std::mutex> lock(version_mu_);
  if (!version_.empty()) return version_;
  ASSIGN_OR_RETURN(ProcessResult result,
                   RunProcess({options_.mariadbd_path, "--no-defaults", "--version"}, "",
                              std::chrono::seconds(30)));
  // "/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (...)"
  const std::string& text = result.stdout_text;
  size_t at = text.find(" Ver ");
  if (!result.ok() || at == std::string::npos) {
    return Status::IOError(options_.mariadbd_path + " --version " +
                           DescribeWaitStatus(result.wait_status) + ": " +
                           Trimmed(text + result.stderr_text));
  }
  size_t begin = at + 5;
  size_t end = text.find_first_of(" \n", begin);
  version_ = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  return version_;
}

}  // namespace rwd::engine
