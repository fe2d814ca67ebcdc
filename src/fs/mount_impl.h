// Mount::Impl: the state of one mount, shared by the three files that implement it: the
// request handlers (mount_ops.cc), the session (mount_session.cc: the dispatch table, the
// worker threads, start and stop) and the public Mount (mount.cc). Separate from mount.h so
// that mount.h stays free of libfuse; internal to src/fs (nothing outside includes it).
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
#pragma once

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "fs/inode_table.h"
#include "fs/mount.h"
#include "store/store.h"
#include "store/types.h"

namespace rwd::fs {

// Stripes of Impl's per-inode locks and FSYNC state (inode number modulo the count).
inline constexpr size_t kSizeLockStripes = 64;
inline constexpr size_t kSyncStripes = 64;

// An open directory: a snapshot of its entries taken when reading starts at offset 0, so that
// offsets stay meaningful while the directory changes (as POSIX allows).
struct DirHandle {
  std::mutex mu;
  bool loaded = false;                   // guarded by mu
  std::vector<store::DirEntry> entries;  // guarded by mu
  store::InodeId parent;                 // guarded by mu; for ".."
};

class Mount::Impl {
 public:
  Impl(store::Store* store, store::TimelineId tl, store::Lsn lsn, std::string mountpoint,
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

  // The session (mount_session.cc).
  Status StartSession();
  Status Stop();

  // ---- The operations (mount_ops.cc; called by libfuse worker threads). ----
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
  const store::TimelineId tl_;
  const store::Lsn lsn_;  // reads
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
  void ReplyEntry(fuse_req_t req, const store::Attr& a);
  void FillEntry(const store::Attr& a, fuse_entry_param* e) const;
  bool CheckName(fuse_req_t req, const char* name, std::string_view* out);
  std::shared_mutex& SizeLock(fuse_ino_t ino) { return size_locks_[ino % kSizeLockStripes]; }
  // Write-through (MountOptions::write_through): makes every record up to `target` durable
  // before the caller replies; concurrent callers share device syncs. OK at once otherwise.
  Status Durable(store::Lsn target);
  // Durable() after a namespace or attribute change: its record is not file data, so
  // LastNonDataLsn() is at or past it.
  Status DurableNamespace() { return Durable(store_->LastNonDataLsn()); }
  // Times a store sync into the latency histogram.
  Status TimedSync(store::Lsn target);

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
  Status TruncateToZero(store::InodeId ino);
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

}  // namespace rwd::fs
