// The FUSE low-level operations over the store. One reply per request; errno mapping in
// ErrnoFromStatus only; see README.md for the semantics of each operation.
//
// Lock order (outer to inner):
//   Impl::stop_mu_ (Start/Stop only)
//   DirHandle::mu (readdir of one open directory) or size_locks_[stripe] (shared: write;
//     exclusive: fallocate, truncation), never both
//   -> store internals
// Impl::init_mu_ and InodeTable::mu_ are leaf locks: nothing else is taken or called while they
// are held. No lock is held across a fuse_reply_*: once a reply is out, the kernel may send the
// next request (RELEASEDIR freeing a DirHandle, FORGET) to another thread at once, so nothing
// belonging to the request may be touched after its reply.
#define FUSE_USE_VERSION 314

#include "fs/mount.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "fs/inode_table.h"

namespace rwd::fs {

using store::Attr;
using store::DirEntry;
using store::InodeId;
using store::Lsn;
using store::NodeType;
using store::TimelineId;

int ErrnoFromStatus(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return 0;
    case Status::Code::kNotFound: return ENOENT;
    case Status::Code::kAlreadyExists: return EEXIST;
    case Status::Code::kNotEmpty: return ENOTEMPTY;
    case Status::Code::kNotDirectory: return ENOTDIR;
    case Status::Code::kIsDirectory: return EISDIR;
    case Status::Code::kInvalidArgument: return EINVAL;
    case Status::Code::kNoSpace: return ENOSPC;
    default: return EIO;
  }
}

namespace {

constexpr size_t kNameMax = 255;
constexpr size_t kSizeLockStripes = 64;
constexpr size_t kSyncStripes = 64;
constexpr long kFusectlMagic = 0x65735543;  // fusectl's f_type (linux/magic.h)

mode_t TypeBits(NodeType type) {
  switch (type) {
    case NodeType::kFile: return S_IFREG;
    case NodeType::kDirectory: return S_IFDIR;
    case NodeType::kSymlink: return S_IFLNK;
    case NodeType::kFifo: return S_IFIFO;
    case NodeType::kSocket: return S_IFSOCK;
    case NodeType::kCharDevice: return S_IFCHR;
    case NodeType::kBlockDevice: return S_IFBLK;
  }
  return S_IFREG;
}

bool NodeTypeFromMode(mode_t mode, NodeType* type) {
  switch (mode & S_IFMT) {
    case S_IFREG: *type = NodeType::kFile; return true;
    case S_IFIFO: *type = NodeType::kFifo; return true;
    case S_IFSOCK: *type = NodeType::kSocket; return true;
    case S_IFCHR: *type = NodeType::kCharDevice; return true;
    case S_IFBLK: *type = NodeType::kBlockDevice; return true;
    default: return false;
  }
}

timespec ToTimespec(int64_t ns) {
  timespec t;
  t.tv_sec = ns / 1000000000;
  t.tv_nsec = ns % 1000000000;
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1000000000;
    t.tv_sec -= 1;
  }
  return t;
}

int64_t FromTimespec(const timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

void FillStat(const Attr& a, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = a.ino.value;
  st->st_mode = TypeBits(a.type) | (a.mode & 07777);
  st->st_nlink = a.nlink;
  st->st_uid = a.uid;
  st->st_gid = a.gid;
  st->st_rdev = a.rdev;
  st->st_size = static_cast<off_t>(a.size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st->st_atim = ToTimespec(a.atime_ns);
  st->st_mtim = ToTimespec(a.mtime_ns);
  st->st_ctim = ToTimespec(a.ctime_ns);
}

// A per-thread scratch buffer for READ/READDIR/READLINK replies: no allocation per request once
// the thread has seen its largest request. The returned memory is valid until the next call on
// the same thread.
char* ScratchBuffer(size_t n) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local size_t capacity = 0;
  if (capacity < n) {
    capacity = std::max<size_t>(n, 128 << 10);
    buf.reset(new char[capacity]);
  }
  return buf.get();
}

// An open directory: a snapshot of its entries taken when reading starts at offset 0, so that
// offsets stay meaningful while the directory changes (as POSIX allows).
struct DirHandle {
  std::mutex mu;
  bool loaded = false;            // guarded by mu
  std::vector<DirEntry> entries;  // guarded by mu
  InodeId parent;                 // guarded by mu; for ".."
};

}  // namespace

class Mount::Impl {
 public:
  Impl(store::Store* store, TimelineId tl, Lsn lsn, std::string mountpoint,
       const MountOptions& options)
      : store_(store),
        tl_(tl),
        lsn_(lsn),
        ro_(options.read_only),
        mountpoint_(std::move(mountpoint)),
        options_(options) {
    // Whatever was appended before this mount may still be in flight: an FSYNC of any inode
    // covers it.
    const uint64_t last = store->LastLsn().value;
    for (SyncStripe& stripe : sync_stripes_) stripe.data_lsn.store(last);
  }

  ~Impl() { (void)Stop(); }  // a destructor cannot report; Stop detaches a busy mount anyway

  Status StartSession();
  Status Stop();

  // ---- The operations (called by libfuse worker threads). ----
  void Init(fuse_conn_info* conn);
  // Whether `uid` may use the mount (MountOptions::admitted_uids).
  bool Admits(uid_t uid) const {
    if (options_.admitted_uids.empty() || uid == 0) return true;
    return std::find(options_.admitted_uids.begin(), options_.admitted_uids.end(), uid) !=
           options_.admitted_uids.end();
  }
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_ino_t ino, uint64_t nlookup);
  void GetAttr(fuse_req_t req, fuse_ino_t ino);
  void SetAttr(fuse_req_t req, fuse_ino_t ino, const struct stat* attr, int to_set);
  void Readlink(fuse_req_t req, fuse_ino_t ino);
  void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
  void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
  void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags);
  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off);
  void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off);
  void Fsync(fuse_req_t req, fuse_ino_t ino, bool directory);
  void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  void Statfs(fuse_req_t req);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi);
  void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length);

  void ReplyErr(fuse_req_t req, int err) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    fuse_reply_err(req, err);
  }
  void ReplyStatus(fuse_req_t req, const Status& st) { ReplyErr(req, ErrnoFromStatus(st)); }

  store::Store* const store_;
  const TimelineId tl_;
  const Lsn lsn_;  // reads
  const bool ro_;
  const std::string mountpoint_;
  const MountOptions options_;

  InodeTable inodes_;

  std::atomic<uint64_t> reads_{0}, read_bytes_{0}, writes_{0}, write_bytes_{0}, syncs_{0},
      errors_{0};
  std::array<std::atomic<uint64_t>, 10> sync_buckets_{};
  std::atomic<uint64_t> sync_ns_{0};
  std::atomic<uint64_t> eager_syncs_{0};
  std::atomic<uint64_t> write_syncs_{0};
  std::atomic<uint64_t> realtime_workers_{0};
  std::atomic<bool> realtime_refused_{false};
  std::atomic<bool> loop_done_{false};

 private:
  // Hands `a` to the kernel as a new reference (lookup count +1), undone if the reply fails.
  void ReplyEntry(fuse_req_t req, const Attr& a);
  void FillEntry(const Attr& a, fuse_entry_param* e) const;
  bool CheckName(fuse_req_t req, const char* name, std::string_view* out);
  std::shared_mutex& SizeLock(fuse_ino_t ino) { return size_locks_[ino % kSizeLockStripes]; }
  // Write-through (MountOptions::write_through): makes every record up to `target` durable
  // before the caller replies; concurrent callers share device syncs. OK at once otherwise.
  Status Durable(Lsn target);
  // Durable() after a namespace or attribute change: its record is not file data, so
  // LastNonDataLsn() is at or past it.
  Status DurableNamespace() { return Durable(store_->LastNonDataLsn()); }
  // Times a store sync into the latency histogram.
  Status TimedSync(Lsn target);

  // What an FSYNC of an inode must make durable, and whether its writes are synced eagerly;
  // per stripe of inodes (two inodes sharing a stripe only make each other's FSYNC cover more
  // and blur the eagerness guess: neither is ever less durable).
  struct alignas(64) SyncStripe {
    // The newest LSN of file data written to these inodes (through this mount, or before it).
    std::atomic<uint64_t> data_lsn{0};
    std::atomic<uint32_t> writes_since_fsync{0};
    // The last FSYNC here followed one or two writes (a redo log's commit pattern: write,
    // fsync): the next write starts its device sync at once, so the FSYNC that follows
    // finds it under way or done instead of starting it a round trip later.
    std::atomic<bool> eager{false};
  };
  SyncStripe& SyncStripeOf(fuse_ino_t ino) { return sync_stripes_[ino % kSyncStripes]; }
  std::array<SyncStripe, kSyncStripes> sync_stripes_;
  // O_TRUNC: size 0 (no record if already empty).
  Status TruncateToZero(InodeId ino);
  void AbortConnection();
  // Moves the calling worker to SCHED_FIFO (MountOptions::realtime_priority); on refusal says
  // so once on stderr and leaves it on the normal scheduler.
  void UseRealtimeScheduling();
  // One worker of the session loop: receives and processes requests until the connection
  // ends.
  void Serve();
  // Whether the kernel still has this mount's connection (its fusectl directory exists);
  // true when that cannot be told.
  bool ConnectionAlive();

  // Serialises size changes that read-modify-write the size (fallocate, truncate) against
  // writes, which may extend the file concurrently (async direct I/O is not under the kernel's
  // inode lock).
  std::array<std::shared_mutex, kSizeLockStripes> size_locks_;

  std::mutex stop_mu_;  // serialises StartSession/Stop
  fuse_session* se_ = nullptr;  // guarded by stop_mu_ (set before the loop thread starts)
  std::thread loop_;
  bool stopped_ = false;    // guarded by stop_mu_
  bool have_conn_ = false;  // guarded by stop_mu_
  unsigned conn_id_ = 0;    // /sys/fs/fuse/connections/<conn_id_>

  std::mutex init_mu_;
  std::condition_variable init_cv_;
  bool init_done_ = false;  // guarded by init_mu_
  bool loop_exited_ = false;  // guarded by init_mu_
};

namespace {

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

// ---- Operations. ----

void Mount::Impl::Init(fuse_conn_info* conn) {
  // Write-through: never let the kernel cache dirty pages (it could reorder or lose writes
  // that the application already saw acknowledged).
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // The mount is the only writer: no need to drop cached pages when mtime changes.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // The kernel clears setuid/setgid bits on write itself (libfuse enables killpriv by default,
  // which would leave it to us). Its GETXATTR security.capability probe ends at our ENOSYS.
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  const unsigned wanted = FUSE_CAP_ASYNC_READ | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ASYNC_DIO |
                          FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want |= wanted & conn->capable;
  conn->max_write = options_.max_write;
  // Room for io_uring/libaio direct I/O in flight (background requests).
  conn->max_background = std::max(conn->max_background, 64u);
  conn->congestion_threshold = std::max(conn->congestion_threshold, 48u);
  conn->time_gran = 1;
  std::lock_guard<std::mutex> lock(init_mu_);
  init_done_ = true;
  init_cv_.notify_all();
}

bool Mount::Impl::CheckName(fuse_req_t req, const char* name, std::string_view* out) {
  *out = std::string_view(name);
  if (out->size() > kNameMax) {
    ReplyErr(req, ENAMETOOLONG);
    return false;
  }
  return true;
}

void Mount::Impl::FillEntry(const Attr& a, fuse_entry_param* e) const {
  std::memset(e, 0, sizeof(*e));
  e->ino = a.ino.value;
  e->generation = 0;  // store inode ids are never reused
  FillStat(a, &e->attr);
  e->attr_timeout = options_.attr_timeout_s;
  e->entry_timeout = options_.entry_timeout_s;
}

void Mount::Impl::ReplyEntry(fuse_req_t req, const Attr& a) {
  fuse_entry_param e;
  FillEntry(a, &e);
  // Count before replying: the kernel may FORGET as soon as it has the reply.
  inodes_.Ref(a.ino.value);
  if (fuse_reply_entry(req, &e) != 0) inodes_.Forget(a.ino.value, 1);
}

void Mount::Impl::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  std::string_view n;
  if (!CheckName(req, name, &n)) return;
  Result<InodeId> ino = store_->Lookup(tl_, lsn_, InodeId(parent), n);
  if (!ino.ok()) {
    if (ino.status().code() == Status::Code::kNotFound && options_.negative_timeout_s > 0) {
      fuse_entry_param e;
      std::memset(&e, 0, sizeof(e));  // ino 0: a negative entry the kernel may cache
      e.entry_timeout = options_.negative_timeout_s;
      fuse_reply_entry(req, &e);
      return;
    }
    if (ino.status().code() == Status::Code::kNotFound) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    return ReplyStatus(req, ino.status());
  }
  Result<Attr> a = store_->GetAttr(tl_, lsn_, *ino);
  if (!a.ok()) return ReplyStatus(req, a.status());
  ReplyEntry(req, *a);
}

void Mount::Impl::Forget(fuse_ino_t ino, uint64_t nlookup) {
  if (ino == FUSE_ROOT_ID) return;
  inodes_.Forget(ino, nlookup);
}

void Mount::Impl::GetAttr(fuse_req_t req, fuse_ino_t ino) {
  Result<Attr> a = store_->GetAttr(tl_, lsn_, InodeId(ino));
  if (!a.ok()) return ReplyStatus(req, a.status());
  struct stat st;
  FillStat(*a, &st);
  fuse_reply_attr(req, &st, options_.attr_timeout_s);
}

void Mount::Impl::SetAttr(fuse_req_t req, fuse_ino_t ino, const struct stat* attr, int to_set) {
  if (ro_) return ReplyErr(req, EROFS);
  store::SetAttrRequest r;
  if (to_set & FUSE_SET_ATTR_MODE) r.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) r.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) r.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (attr->st_size < 0) return ReplyErr(req, EINVAL);
    r.size = static_cast<uint64_t>(attr->st_size);
  }
  int64_t now = 0;
  if (to_set & (FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) now = store_->NowNs();
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    r.atime_ns = now;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    r.atime_ns = FromTimespec(attr->st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    r.mtime_ns = now;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    r.mtime_ns = FromTimespec(attr->st_mtim);
  }
  const bool any = r.size || r.mode || r.uid || r.gid || r.atime_ns || r.mtime_ns;
  Result<Attr> a = Status::IOError("unset");
  if (!any) {
    a = store_->GetAttr(tl_, lsn_, InodeId(ino));
  } else if (r.size) {
    std::unique_lock<std::shared_mutex> lock(SizeLock(ino));
    a = store_->SetAttr(tl_, InodeId(ino), r);
    // (the lock ends here, before the reply)
  } else {
    a = store_->SetAttr(tl_, InodeId(ino), r);
  }
  if (!a.ok()) return ReplyStatus(req, a.status());
  if (any) {
    if (Status d = DurableNamespace(); !d.ok()) return ReplyStatus(req, d);
  }
  struct stat st;
  FillStat(*a, &st);
  fuse_reply_attr(req, &st, options_.attr_timeout_s);
}

void Mount::Impl::Readlink(fuse_req_t req, fuse_ino_t ino) {
  Result<Attr> a = store_->GetAttr(tl_, lsn_, InodeId(ino));
  if (!a.ok()) return ReplyStatus(req, a.status());
  if (a->type != NodeType::kSymlink) return ReplyErr(req, EINVAL);
  if (a->size > PATH_MAX) return ReplyErr(req, ENAMETOOLONG);
  char* buf = ScratchBuffer(a->size + 1);
  Result<size_t> n = store_->Read(tl_, lsn_, InodeId(ino), 0, a->size, buf);
  if (!n.ok()) return ReplyStatus(req, n.status());
  buf[*n] = '\0';
  fuse_reply_readlink(req, buf);
}

void Mount::Impl::Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                        dev_t rdev) {
  if (ro_) return ReplyErr(req, EROFS);
  std::string_view n;
  if (!CheckName(req, name, &n)) return;
  NodeType type;
  if (!NodeTypeFromMode(mode, &type)) return ReplyErr(req, EINVAL);
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Result<Attr> a = store_->Create(tl_, InodeId(parent), n, type, mode & 07777, ctx->uid,
                                  ctx->gid, static_cast<uint32_t>(rdev));
  if (!a.ok()) return ReplyStatus(req, a.status());
  if (Status d = DurableNamespace(); !d.ok()) return ReplyStatus(req, d);
  ReplyEntry(req, *a);
}

void Mount::Impl::Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  if (ro_) return ReplyErr(req, EROFS);
  std::string_view n;
  if (!CheckName(req, name, &n)) return;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Result<Attr> a = store_->Create(tl_, InodeId(parent), n, NodeType::kDirectory, mode & 07777,
                                  ctx->uid, ctx->gid);
  if (!a.ok()) return ReplyStatus(req, a.status());
  if (Status d = DurableNamespace(); !d.ok()) return ReplyStatus(req, d);
  ReplyEntry(req, *a);
}

void Mount::Impl::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (ro_) return ReplyErr(req, EROFS);
  std::string_view n;
  if (!CheckName(req, name, &n)) return;
  Result<InodeId> r = store_->Unlink(tl_, InodeId(parent), n);
  if (!r.ok()) return ReplyStatus(req, r.status());
  if (Status d = DurableNamespace(); !d.ok()) return ReplyStatus(req, d);
  fuse_reply_err(req, 0);
}

void Mount::Impl::Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (ro_) return ReplyErr(req, EROFS);
  std::string_view n;
  if (!CheckName(req, name, &n)) return;
  Result<InodeId> r = store_->Rmdir(tl_, InodeId(parent), n);
  if (!r.ok()) return ReplyStatus(req, r.status());
  if (Status d = DurableNamespace(); !d.ok()) return ReplyStatus(req, d);
  fuse_reply_err(req, 0);
}

// A symlink is a kSymlink node whose data is the target (two records: create, write).
void Mount::Impl::Symlink(fuse_req_t req, const char* link, fuse_ino_t parent,
                          const char* name) {
  if (ro_) return ReplyErr(req, EROFS);
  std::string_view n;
  if (!CheckName(req, name, &n)) return;
  std::string_view target(link);
  if (target.empty() || target.size() > PATH_MAX) return ReplyErr(req, EINVAL);
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Result<Attr> a = store_->Create(tl_, InodeId(parent), n, NodeType::kSymlink, 0777, ctx->uid,
                                  ctx->gid);
  if (!a.ok()) return ReplyStatus(req, a.status());
  Result<Lsn> w = store_->Write(tl_, a->ino, 0, target);
  if (!w.ok()) return ReplyStatus(req, w.status());
  if (Status d = Durable(*w); !d.ok()) return ReplyStatus(req, d);
  Attr attr = *a;
  attr.size = target.size();
  ReplyEntry(req, attr);
}

void Mount::Impl::Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
                         fuse_ino_t newparent, const char* newname, unsigned int flags) {
  if (ro_) return ReplyErr(req, EROFS);
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) return ReplyErr(req, EINVAL);
  std::string_view from, to;
  if (!CheckName(req, name, &from) || !CheckName(req, newname, &to)) return;
  Result<InodeId> r = store_->Rename(tl_, InodeId(parent), from, InodeId(newparent), to,
                                     (flags & RENAME_NOREPLACE) != 0);
  if (!r.ok()) return ReplyStatus(req, r.status());
  if (Status d = DurableNamespace(); !d.ok()) return ReplyStatus(req, d);
  fuse_reply_err(req, 0);
}

void Mount::Impl::Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // O_DIRECT and O_EXCL are accepted as they are. No per-open state: fh stays 0.
  if (ro_ && (fi->flags & O_ACCMODE) != O_RDONLY) return ReplyErr(req, EROFS);
  if (fi->flags & O_TRUNC) {
    // FUSE_CAP_ATOMIC_O_TRUNC: the kernel leaves the truncation to us (one request less).
    Status st = TruncateToZero(InodeId(ino));
    if (st.ok()) st = DurableNamespace();
    if (!st.ok()) return ReplyStatus(req, st);
  }
  fi->keep_cache = options_.keep_cache ? 1 : 0;
  fi->noflush = 1;
  fuse_reply_open(req, fi);
}

void Mount::Impl::Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
  if (off < 0) return ReplyErr(req, EINVAL);
  char* buf = ScratchBuffer(size);
  Result<size_t> n = store_->Read(tl_, lsn_, InodeId(ino), static_cast<uint64_t>(off), size, buf);
  if (!n.ok()) return ReplyStatus(req, n.status());
  reads_.fetch_add(1, std::memory_order_relaxed);
  read_bytes_.fetch_add(*n, std::memory_order_relaxed);
  fuse_reply_buf(req, buf, *n);
}

void Mount::Impl::Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off) {
  if (ro_) return ReplyErr(req, EROFS);
  if (off < 0) return ReplyErr(req, EINVAL);
  Lsn lsn;
  if (size > 0) {
    Status st;
    {
      std::shared_lock<std::shared_mutex> lock(SizeLock(ino));
      Result<Lsn> r = store_->Write(tl_, InodeId(ino), static_cast<uint64_t>(off),
                                    std::string_view(buf, size));
      if (r.ok()) {
        lsn = *r;
      } else {
        st = r.status();
      }
    }
    if (!st.ok()) return ReplyStatus(req, st);
  }
  if (options_.write_through) {
    // One round trip per commit: the WRITE's reply says the data is on the device.
    if (lsn.valid()) {
      if (Status d = Durable(lsn); !d.ok()) return ReplyStatus(req, d);
    }
    writes_.fetch_add(1, std::memory_order_relaxed);
    write_bytes_.fetch_add(size, std::memory_order_relaxed);
    fuse_reply_write(req, size);
    return;
  }
  SyncStripe& stripe = SyncStripeOf(ino);
  if (lsn.valid()) {
    uint64_t seen = stripe.data_lsn.load(std::memory_order_relaxed);
    while (seen < lsn.value && !stripe.data_lsn.compare_exchange_weak(seen, lsn.value)) {
    }
  }
  stripe.writes_since_fsync.fetch_add(1, std::memory_order_relaxed);
  const bool eager = lsn.valid() && options_.eager_sync &&
                     stripe.eager.load(std::memory_order_relaxed);
  writes_.fetch_add(1, std::memory_order_relaxed);
  write_bytes_.fetch_add(size, std::memory_order_relaxed);
  if (eager) eager_syncs_.fetch_add(1, std::memory_order_relaxed);
  fuse_reply_write(req, size);
  // After the reply: the writer goes on while the device works. A failure is sticky in the
  // store, so the FSYNC that follows reports it.
  if (eager) (void)store_->SyncUpTo(lsn);
}

void Mount::Impl::Fsync(fuse_req_t req, fuse_ino_t ino, bool directory) {
  if (options_.write_through) {
    // Everything acknowledged is durable already. ENOSYS (not an error to the application):
    // the kernel stops sending FSYNC (FSYNCDIR) on this connection and fsync(2) returns 0.
    fuse_reply_err(req, ENOSYS);
    return;
  }
  if (ro_) {
    fuse_reply_err(req, 0);
    return;
  }
  syncs_.fetch_add(1, std::memory_order_relaxed);
  // Everything this mount acknowledged is in the store. A file's FSYNC needs its own data and
  // every namespace change durable (the log is durable in LSN order, so up to the newest of
  // those), not the page writes of other files appended since; a directory's gets everything.
  const Lsn last = store_->LastLsn();
  Lsn target = last;
  if (!directory) {
    SyncStripe& stripe = SyncStripeOf(ino);
    // Both are published after their records are applied, so never past `last`; the clamp
    // keeps a future change of that order from turning into an EINVAL here.
    target = std::min(last, std::max(Lsn(stripe.data_lsn.load(std::memory_order_acquire)),
                                      store_->LastNonDataLsn()));
    const uint32_t writes = stripe.writes_since_fsync.exchange(0, std::memory_order_relaxed);
    if (writes > 0) stripe.eager.store(writes <= 2, std::memory_order_relaxed);
  }
  Status st = TimedSync(target);
  if (!st.ok()) return ReplyStatus(req, st);
  fuse_reply_err(req, 0);
}

Status Mount::Impl::TimedSync(Lsn target) {
  const auto t0 = std::chrono::steady_clock::now();
  Status st = store_->SyncUpTo(target);
  const uint64_t ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::steady_clock::now() - t0)
                                                .count());
  sync_ns_.fetch_add(ns, std::memory_order_relaxed);
  size_t bucket = 0;
  while (bucket < kSyncBucketsUs.size() && ns > kSyncBucketsUs[bucket] * 1000) ++bucket;
  sync_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  return st;
}

Status Mount::Impl::Durable(Lsn target) {
  if (!options_.write_through) return Status::Ok();
  write_syncs_.fetch_add(1, std::memory_order_relaxed);
  return TimedSync(target);
}

void Mount::Impl::Opendir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto* h = new DirHandle;
  fi->fh = reinterpret_cast<uint64_t>(h);
  if (fuse_reply_open(req, fi) != 0) delete h;  // interrupted: no RELEASEDIR will come
}

// Offsets: 0 ".", 1 "..", 2+i entries[i]; each entry carries the offset of the next one.
void Mount::Impl::Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                          fuse_file_info* fi) {
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  char* buf = ScratchBuffer(size);
  size_t used = 0;
  Status status;
  {
    std::lock_guard<std::mutex> lock(h->mu);
    if (off == 0 || !h->loaded) {
      Result<std::vector<DirEntry>> entries = store_->ReadDir(tl_, lsn_, InodeId(ino));
      if (entries.ok()) {
        h->entries = std::move(*entries);
        h->loaded = true;
        h->parent = InodeId(ino);
        if (ino != FUSE_ROOT_ID) {
          Result<Attr> a = store_->GetAttr(tl_, lsn_, InodeId(ino));
          if (a.ok() && a->parent.valid()) h->parent = a->parent;
        }
      } else {
        status = entries.status();
      }
    }
    const size_t total = h->entries.size() + 2;
    for (size_t pos = static_cast<size_t>(std::max<off_t>(off, 0)); status.ok() && pos < total;
         ++pos) {
      struct stat st;
      std::memset(&st, 0, sizeof(st));
      const char* name;
      if (pos == 0) {
        name = ".";
        st.st_ino = ino;
        st.st_mode = S_IFDIR;
      } else if (pos == 1) {
        name = "..";
        st.st_ino = h->parent.value;
        st.st_mode = S_IFDIR;
      } else {
        const DirEntry& e = h->entries[pos - 2];
        name = e.name.c_str();
        st.st_ino = e.ino.value;
        st.st_mode = TypeBits(e.type);
      }
      size_t len = fuse_add_direntry(req, buf + used, size - used, name, &st,
                                     static_cast<off_t>(pos + 1));
      if (len > size - used) break;
      used += len;
    }
  }
  // Reply only after the handle's lock is released: once the reply is out, the application
  // may close the directory and RELEASEDIR (on another thread) frees the handle.
  if (!status.ok()) return ReplyStatus(req, status);
  fuse_reply_buf(req, buf, used);
}

void Mount::Impl::Statfs(fuse_req_t req) {
  struct statvfs sv;
  std::memset(&sv, 0, sizeof(sv));
  if (options_.statfs_dir.empty() || statvfs(options_.statfs_dir.c_str(), &sv) != 0) {
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    sv.f_blocks = 1ull << 28;  // 1 TiB
    sv.f_bfree = 1ull << 28;
    sv.f_bavail = 1ull << 28;
  }
  sv.f_files = 1ull << 32;
  sv.f_ffree = (1ull << 32) - std::min<uint64_t>(inodes_.size(), 1ull << 31);
  sv.f_favail = sv.f_ffree;
  sv.f_namemax = kNameMax;
  fuse_reply_statfs(req, &sv);
}

void Mount::Impl::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                         fuse_file_info* fi) {
  if (ro_) return ReplyErr(req, EROFS);
  std::string_view n;
  if (!CheckName(req, name, &n)) return;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Result<Attr> a = store_->Create(tl_, InodeId(parent), n, NodeType::kFile, mode & 07777,
                                  ctx->uid, ctx->gid);
  if (!a.ok() && a.status().code() == Status::Code::kAlreadyExists && !(fi->flags & O_EXCL)) {
    // The kernel had a stale negative entry or raced another create: open the existing file.
    Result<InodeId> ino = store_->Lookup(tl_, lsn_, InodeId(parent), n);
    if (!ino.ok()) return ReplyStatus(req, ino.status());
    a = store_->GetAttr(tl_, lsn_, *ino);
    if (a.ok() && a->type == NodeType::kDirectory) return ReplyErr(req, EISDIR);
    if (a.ok() && (fi->flags & O_TRUNC) && a->size != 0) {
      Status st = TruncateToZero(*ino);
      if (!st.ok()) return ReplyStatus(req, st);
      a->size = 0;
    }
  }
  if (!a.ok()) return ReplyStatus(req, a.status());
  if (Status d = DurableNamespace(); !d.ok()) return ReplyStatus(req, d);
  fuse_entry_param e;
  FillEntry(*a, &e);
  fi->keep_cache = options_.keep_cache ? 1 : 0;
  fi->noflush = 1;
  inodes_.Ref(a->ino.value);
  if (fuse_reply_create(req, &e, fi) != 0) inodes_.Forget(a->ino.value, 1);
}

void Mount::Impl::Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
                            off_t length) {
  if (ro_) return ReplyErr(req, EROFS);
  // Only mode 0 (allocate and extend). The store has no space reservation: extending the size
  // is what is observable (the bytes read as zeros). Other modes: InnoDB/glibc fall back.
  if (mode != 0) return ReplyErr(req, EOPNOTSUPP);
  if (offset < 0 || length <= 0) return ReplyErr(req, EINVAL);
  const uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  Status st;
  {
    std::unique_lock<std::shared_mutex> lock(SizeLock(ino));
    Result<Attr> a = store_->GetAttr(tl_, lsn_, InodeId(ino));
    if (!a.ok()) {
      st = a.status();
    } else if (a->type == NodeType::kDirectory) {
      st = Status::IsDirectory("fallocate on a directory");
    } else if (end > a->size) {
      store::SetAttrRequest r;
      r.size = end;
      Result<Attr> s = store_->SetAttr(tl_, InodeId(ino), r);
      if (!s.ok()) st = s.status();
    }
  }
  if (st.ok()) st = DurableNamespace();
  if (!st.ok()) return ReplyStatus(req, st);
  fuse_reply_err(req, 0);
}

Status Mount::Impl::TruncateToZero(InodeId ino) {
  std::unique_lock<std::shared_mutex> lock(SizeLock(ino.value));
  Result<Attr> a = store_->GetAttr(tl_, lsn_, ino);
  if (!a.ok()) return a.status();
  if (a->size == 0) return Status::Ok();
  store::SetAttrRequest r;
  r.size = 0;
  return store_->SetAttr(tl_, ino, r).status();
}

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

// ---- Mount. ----

Result<std::unique_ptr<Mount>> Mount::Start(store::Store* store, TimelineId timeline,
                                            const std::string& mountpoint,
                                            const MountOptions& options) {
  if (store == nullptr) return Status::InvalidArgument("Mount::Start: no store");
  Result<store::TimelineInfo> info = store->GetTimeline(timeline);
  if (!info.ok()) return info.status().WithContext("Mount::Start: timeline " + timeline.ToString());
  Lsn lsn = store::kLatestLsn;
  if (options.read_only) {
    lsn = options.read_lsn == store::kLatestLsn ? store->LastLsn() : options.read_lsn;
    if (lsn > store->LastLsn()) {
      // Records appended later could appear under a mount that promises a frozen view.
      return Status::InvalidArgument("Mount::Start: read LSN " + lsn.ToString() +
                                     " is in the future (last LSN " +
                                     store->LastLsn().ToString() + ")");
    }
  } else if (options.read_lsn != store::kLatestLsn) {
    return Status::InvalidArgument("Mount::Start: read_lsn needs read_only");
  }
  Result<Attr> root = store->GetAttr(timeline, lsn, store::kRootInode);
  if (!root.ok()) {
    return root.status().WithContext("Mount::Start: root of timeline " + timeline.ToString());
  }
  if (root->type != NodeType::kDirectory) {
    return Status::NotDirectory("Mount::Start: root of timeline " + timeline.ToString());
  }
  if (options.realtime_priority < 0 || options.realtime_priority > 99) {
    return Status::InvalidArgument("Mount::Start: realtime_priority " +
                                   std::to_string(options.realtime_priority) +
                                   " is outside 0..99 (0: the normal scheduler)");
  }
  if (options.fsname.empty() || options.fsname.find_first_of(",\\ \t\n") != std::string::npos) {
    return Status::InvalidArgument("Mount::Start: fsname must be non-empty, no commas or spaces");
  }
  struct stat st;
  if (stat(mountpoint.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOTCONN) {
      return Status::Unavailable("Mount::Start: " + mountpoint +
                                 " is a stale FUSE mount (its server died); unmount it first "
                                 "(umount -l or fusermount3 -u)");
    }
    if (err == ENOENT) return Status::NotFound("Mount::Start: mountpoint " + mountpoint);
    return Status::FromErrno(err, "Mount::Start: stat " + mountpoint);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::NotDirectory("Mount::Start: mountpoint " + mountpoint);
  }
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    const int err = errno;
    return Status::Unavailable(std::string("Mount::Start: cannot use /dev/fuse: ") +
                               std::strerror(err) +
                               " (FUSE needs the fuse module and access to /dev/fuse)");
  }
  auto impl = std::make_unique<Impl>(store, timeline, lsn, mountpoint, options);
  RETURN_IF_ERROR(impl->StartSession());
  return std::unique_ptr<Mount>(new Mount(std::move(impl)));
}

Mount::Mount(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Mount::~Mount() { (void)Stop(); }  // as Impl's: nothing to report to

Status Mount::Stop() { return impl_->Stop(); }

const std::string& Mount::mountpoint() const { return impl_->mountpoint_; }
TimelineId Mount::timeline() const { return impl_->tl_; }
Lsn Mount::lsn() const { return impl_->lsn_; }
bool Mount::read_only() const { return impl_->ro_; }
bool Mount::running() const { return !impl_->loop_done_.load(); }

uint64_t Mount::LookupCount(InodeId ino) const { return impl_->inodes_.Count(ino.value); }

std::vector<uint64_t> Mount::KnownInodes() const { return impl_->inodes_.Known(); }

MountStats Mount::stats() const {
  MountStats s;
  s.reads = impl_->reads_.load(std::memory_order_relaxed);
  s.read_bytes = impl_->read_bytes_.load(std::memory_order_relaxed);
  s.writes = impl_->writes_.load(std::memory_order_relaxed);
  s.write_bytes = impl_->write_bytes_.load(std::memory_order_relaxed);
  s.syncs = impl_->syncs_.load(std::memory_order_relaxed);
  s.errors = impl_->errors_.load(std::memory_order_relaxed);
  s.known_inodes = impl_->inodes_.size();
  s.forget_mismatches = impl_->inodes_.mismatches();
  for (size_t i = 0; i < s.sync_latency_buckets.size(); ++i) {
    s.sync_latency_buckets[i] = impl_->sync_buckets_[i].load(std::memory_order_relaxed);
  }
  s.sync_latency_ns = impl_->sync_ns_.load(std::memory_order_relaxed);
  s.eager_syncs = impl_->eager_syncs_.load(std::memory_order_relaxed);
  s.write_syncs = impl_->write_syncs_.load(std::memory_order_relaxed);
  s.realtime_workers = impl_->realtime_workers_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace rwd::fs
