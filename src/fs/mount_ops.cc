// The FUSE request handlers: Mount::Impl's operations over the store, one reply per request
// (errno mapping in ErrnoFromStatus only; README.md gives the semantics of each). Separate from
// the session (mount_session.cc), which only receives requests and hands them here.
#include "fs/mount_impl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rwd::fs {

using store::Attr;
using store::DirEntry;
using store::InodeId;
using store::Lsn;
using store::NodeType;
using store::TimelineId;

namespace {

constexpr size_t kNameMax = 255;

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

}  // namespace

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

}  // namespace rwd::fs
