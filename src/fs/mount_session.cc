// The FUSE session of a mount: the dispatch table (libfuse's callbacks, each admitting the
// request's sender and handing it to a Mount::Impl operation in mount_ops.cc), the worker
// threads that read /dev/fuse, and mounting, unmounting and aborting the connection. Separate
// from the handlers: this is how requests arrive and how the connection ends, not what a
// request does.
#include "fs/mount_impl.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rwd::fs {
namespace {

constexpr long kFusectlMagic = 0x65735543;  // fusectl's f_type (linux/magic.h)

Mount::Impl* Self(fuse_req_t req) { return static_cast<Mount::Impl*>(fuse_req_userdata(req)); }

// The request's sender may use the mount (MountOptions::admitted_uids); otherwise replies
// EACCES and returns null. Every request that acts on the filesystem goes through here; only
// FORGET (no reply) and FLUSH/RELEASE/RELEASEDIR (which follow an admitted OPEN) do not.
Mount::Impl* Admit(fuse_req_t req) {
  Mount::Impl* self = Self(req);
  if (self->Admits(fuse_req_ctx(req)->uid)) return self;
  self->ReplyErr(req, EACCES);
  return nullptr;
}

// ---- libfuse trampolines. ----
void OpInit(void* userdata, fuse_conn_info* conn) {
  static_cast<Mount::Impl*>(userdata)->Init(conn);
}
void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (Mount::Impl* self = Admit(req)) self->Lookup(req, parent, name);
}
void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Self(req)->Forget(ino, nlookup);  // no reply: not admitted-checked
  fuse_reply_none(req);
}
void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Mount::Impl* self = Self(req);
  for (size_t i = 0; i < count; ++i) self->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}
void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (Mount::Impl* self = Admit(req)) self->GetAttr(req, ino);
}
void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  if (Mount::Impl* self = Admit(req)) self->SetAttr(req, ino, attr, to_set);
}
void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  if (Mount::Impl* self = Admit(req)) self->Readlink(req, ino);
}
void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  if (Mount::Impl* self = Admit(req)) self->Mknod(req, parent, name, mode, rdev);
}
void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  if (Mount::Impl* self = Admit(req)) self->Mkdir(req, parent, name, mode);
}
void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (Mount::Impl* self = Admit(req)) self->Unlink(req, parent, name);
}
void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (Mount::Impl* self = Admit(req)) self->Rmdir(req, parent, name);
}
void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  if (Mount::Impl* self = Admit(req)) self->Symlink(req, link, parent, name);
}
void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  if (Mount::Impl* self = Admit(req)) self->Rename(req, parent, name, newparent, newname, flags);
}
// Hard links: the store has no link operation; EPERM as on filesystems without hard links.
void OpLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
  if (Mount::Impl* self = Admit(req)) self->ReplyErr(req, EPERM);
}
void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (Mount::Impl* self = Admit(req)) self->Open(req, ino, fi);
}
void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (Mount::Impl* self = Admit(req)) self->Read(req, ino, size, off);
}
void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info*) {
  if (Mount::Impl* self = Admit(req)) self->Write(req, ino, buf, size, off);
}
// Nothing is buffered here: flush and release have nothing to do. (Open sets noflush, so the
// kernel does not even send FLUSH on close.)
void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void OpFsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  if (Mount::Impl* self = Admit(req)) self->Fsync(req, ino, /*directory=*/false);
}
void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (Mount::Impl* self = Admit(req)) self->Opendir(req, ino, fi);
}
void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  if (Mount::Impl* self = Admit(req)) self->Readdir(req, ino, size, off, fi);
}
void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}
void OpFsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  if (Mount::Impl* self = Admit(req)) self->Fsync(req, ino, /*directory=*/true);
}
void OpStatfs(fuse_req_t req, fuse_ino_t) {
  if (Mount::Impl* self = Admit(req)) self->Statfs(req);
}
// No extended attributes. ENOSYS makes the kernel stop sending these requests for the life of
// the mount (notably GETXATTR security.capability before writes).
void OpSetxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) {
  fuse_reply_err(req, ENOSYS);
}
void OpGetxattr(fuse_req_t req, fuse_ino_t, const char*, size_t) { fuse_reply_err(req, ENOSYS); }
void OpListxattr(fuse_req_t req, fuse_ino_t, size_t) { fuse_reply_err(req, ENOSYS); }
void OpRemovexattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, ENOSYS); }
void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  if (Mount::Impl* self = Admit(req)) self->Create(req, parent, name, mode, fi);
}
void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info*) {
  if (Mount::Impl* self = Admit(req)) self->Fallocate(req, ino, mode, offset, length);
}

// Lock requests (getlk/setlk/flock) are left out on purpose: the kernel then applies its
// local POSIX and flock locks, which is all mariadbd needs (one process per datadir).
const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetAttr;
  ops.setattr = OpSetAttr;
  ops.readlink = OpReadlink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsyncdir;
  ops.statfs = OpStatfs;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
  ops.create = OpCreate;
  ops.fallocate = OpFallocate;
  return ops;
}();

}  // namespace

// ---- Session lifecycle. ----

Status Mount::Impl::StartSession() {
  // Runs before the Mount is handed out: nothing races with it. stop_mu_ is taken by Stop.
  std::string opts = "fsname=" + options_.fsname + ",subtype=rewind";
  if (ro_) opts += ",ro";
  if (options_.allow_other) opts += ",allow_other";
  std::vector<std::string> argv_s = {"rewind-fs", "-o", opts};
  if (options_.debug) argv_s.push_back("-d");
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  se_ = fuse_session_new(&args, &kOps, sizeof(kOps), this);
  fuse_opt_free_args(&args);
  if (se_ == nullptr) {
    stopped_ = true;
    return Status::Unavailable("fuse_session_new failed (bad options: " + opts + ")");
  }
  if (fuse_session_mount(se_, mountpoint_.c_str()) != 0) {
    fuse_session_destroy(se_);
    se_ = nullptr;
    stopped_ = true;
    return Status::Unavailable(
        "FUSE mount of " + mountpoint_ +
        " failed (libfuse's message is on stderr): mounting needs /dev/fuse and root or "
        "fusermount3, and an existing directory");
  }
  loop_ = std::thread([this] {
    // A fixed pool of workers, not fuse_session_loop_mt: libfuse 3.14's loop pthread_cancel()s
    // its workers when it ends, and a worker cancelled inside perror() (libfuse prints the
    // read error every idle worker gets when a connection is aborted) leaves stderr's lock
    // held, so the next one that prints, and the join, hang for good (seen in CI). Ours end
    // by themselves: every worker's read fails once the connection is gone.
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < std::max(1u, options_.max_threads); ++i) {
      workers.emplace_back([this] {
        UseRealtimeScheduling();
        Serve();
      });
    }
    for (std::thread& w : workers) w.join();
    loop_done_.store(true);
    std::lock_guard<std::mutex> lock(init_mu_);
    loop_exited_ = true;
    init_cv_.notify_all();
  });
  bool inited;
  {
    std::unique_lock<std::mutex> lock(init_mu_);
    init_cv_.wait_for(lock, std::chrono::milliseconds(options_.init_timeout_ms),
                      [this] { return init_done_ || loop_exited_; });
    inited = init_done_ && !loop_exited_;
  }
  if (!inited) {
    (void)Stop();  // the failed start is what the caller needs to know
    return Status::Unavailable("FUSE mount of " + mountpoint_ +
                               ": the kernel did not initialise the connection");
  }
  // The connection's id under /sys/fs/fuse/connections, to abort it if an unmount is refused.
  struct stat st;
  if (stat(mountpoint_.c_str(), &st) == 0) {
    conn_id_ = (major(st.st_dev) << 20) | minor(st.st_dev);
    have_conn_ = true;
  }
  return Status::Ok();
}

void Mount::Impl::UseRealtimeScheduling() {
  if (options_.realtime_priority == 0) return;
  sched_param param{};
  param.sched_priority = options_.realtime_priority;
  const int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  if (err == 0) {
    realtime_workers_.fetch_add(1, std::memory_order_relaxed);
  } else if (!realtime_refused_.exchange(true)) {
    std::fprintf(stderr,
                 "rewind: FUSE workers of %s stay on the normal scheduler: SCHED_FIFO %d refused "
                 "(%s); run as root or with CAP_SYS_NICE for lower request latency\n",
                 mountpoint_.c_str(), options_.realtime_priority, std::strerror(err));
  }
}

void Mount::Impl::Serve() {
  fuse_buf buf;
  std::memset(&buf, 0, sizeof(buf));  // receive allocates buf.mem (max_write + headers) once
  while (!fuse_session_exited(se_)) {
    const int res = fuse_session_receive_buf(se_, &buf);
    if (res == -EINTR) continue;
    if (res <= 0) {
      // 0: unmounted (ENODEV); < 0: aborted or broken. Either way this connection is done;
      // the other workers' reads fail the same way (or Stop's unmount ends them).
      fuse_session_exit(se_);
      break;
    }
    fuse_session_process_buf(se_, &buf);
  }
  std::free(buf.mem);
}

namespace {
// fusectl's directory, mounted where systemd would if it is not (as on minimal systems);
// empty if that fails.
std::string FusectlDir() {
  static const std::string dir = "/sys/fs/fuse/connections";
  auto mounted = [] {
    struct statfs fs;
    return statfs(dir.c_str(), &fs) == 0 && fs.f_type == kFusectlMagic;
  };
  if (!mounted()) (void)mount("fusectl", dir.c_str(), "fusectl", 0, nullptr);
  return mounted() ? dir : std::string();
}
}  // namespace

bool Mount::Impl::ConnectionAlive() {
  const std::string dir = have_conn_ ? FusectlDir() : std::string();
  if (dir.empty()) return true;  // unknown: assume the worst
  return access((dir + "/" + std::to_string(conn_id_)).c_str(), F_OK) == 0;
}

void Mount::Impl::AbortConnection() {
  const std::string dir = have_conn_ ? FusectlDir() : std::string();
  if (dir.empty()) return;
  int fd = open((dir + "/" + std::to_string(conn_id_) + "/abort").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!write(fd, "1", 1);
  close(fd);
}

Status Mount::Impl::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (stopped_) return Status::Ok();
  stopped_ = true;
  if (se_ == nullptr) return Status::Ok();
  Status result;
  if (!loop_done_.load()) {
    // A plain unmount ends the connection: the session threads' reads fail with ENODEV and
    // the loop returns.
    if (umount2(mountpoint_.c_str(), UMOUNT_NOFOLLOW) != 0) {
      const int err = errno;
      if (err == EBUSY) {
        (void)umount2(mountpoint_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
        result = Status::FailedPrecondition(
            "mount " + mountpoint_ +
            " was busy (open files or a cwd inside): detached and its connection aborted");
      }
      // Gone already (EINVAL/ENOENT) or failing: make sure the loop ends.
      AbortConnection();
    } else if (ConnectionAlive()) {
      // The unmount worked here, but another mount namespace (made by unshare -m after we
      // mounted) holds a copy that keeps the connection alive: then abort it.
      for (int i = 0; i < 200 && !loop_done_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!loop_done_.load()) AbortConnection();
    }
    // Else the connection is gone: idle workers got ENODEV, and the loop ends once the busy
    // ones finish their requests (a store sync may take seconds on a busy disk); aborting then
    // would only wake the idle ones with an error libfuse prints.
  }
  if (loop_.joinable()) loop_.join();
  fuse_session_unmount(se_);  // closes /dev/fuse; the kernel side is gone already
  fuse_session_destroy(se_);
  se_ = nullptr;
  return result;
}

}  // namespace rwd::fs
