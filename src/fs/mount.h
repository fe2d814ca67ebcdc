// Mount: one store timeline shown as a POSIX directory tree through FUSE (libfuse3, low-level API).
//
// A read-write mount shows a timeline's head (what mariadbd runs on); a read-only mount shows a
// timeline frozen at one LSN (inspection). Store inode ids are the FUSE inode numbers
// (kRootInode == FUSE_ROOT_ID == 1): stable 64-bit st_ino values, never reused by the store.
//
// What the filesystem guarantees (src/fs/README.md lists every operation and its semantics):
// - Every WRITE/SETATTR/CREATE/... request becomes one store mutation before its reply, in the
//   order the kernel sends them; no kernel write-back cache is enabled, so an acknowledged
//   write(2) is in the store (and survives a crash of this process) and nothing is reordered.
// - Write-through (MountOptions::write_through; off by default): every WRITE and every change of
//   the namespace or of attributes (create, mknod, mkdir, symlink, unlink, rmdir, rename,
//   setattr incl. truncate, fallocate, O_TRUNC) is durable on the device (Store::SyncUpTo)
//   before its reply; concurrent requests share device syncs (the store's group commit).
//   FSYNC and FSYNCDIR are then answered ENOSYS once, after which the kernel stops sending them
//   for the life of the connection (fuse: fc->no_fsync / no_fsyncdir): fsync(2) costs no round
//   trip, and an application's commit (write, fdatasync) one round trip instead of two.
// - Without it (the default): fsync/fdatasync reply only after the store made durable the file's data and
//   every namespace change before it (Store::SyncUpTo); fsyncdir after Store::Sync().
// - The kernel may cache attributes, names and file pages for as long as the mount lives: the
//   mount is the only writer of its timeline. After a rewind the caller mounts the new head
//   timeline (a new mount has fresh caches).
// - Exact lookup counts per inode (lookup/create/mkdir/mknod/symlink add, forget subtracts).
//
// Thread safety: Start/Stop/~Mount must not race with each other on one Mount, and must not be
// called from a thread that is itself blocked on this mount's files; the accessors are safe
// from any thread. The store must outlive the Mount. At most one read-write Mount per timeline
// (the kernel caches of two would not see each other's changes); the caller ensures it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"
#include "store/types.h"

namespace rwd::fs {

struct MountOptions {
  // Read-only mount of the timeline at `read_lsn` (kLatestLsn: the store's last LSN at Start,
  // pinned then; a later LSN is refused). Mutations fail with EROFS.
  bool read_only = false;
  store::Lsn read_lsn = store::kLatestLsn;

  // Session worker threads (a fixed pool, each reading requests from /dev/fuse). Enough
  // that requests never queue behind FSYNCs waiting for the device: at 4 sysbench threads,
  // 4 workers gave 0.53x of plain ext4 and 16 gave 0.75x (64: same as 16); docs/benchmarks.md.
  unsigned max_threads = 16;
  // The workers run SCHED_FIFO at this priority (1..99); 0: the normal scheduler. Meant for
  // machines whose cores mariadbd keeps busy, where a worker woken for the redo log's WRITE or
  // FSYNC may wait for a core behind mariadbd's own threads. Off by default: it shortens those
  // waits, but alternated sysbench runs on 2 saturated cores showed no TPS gain, with 4, 8 or
  // 16 workers (they then preempt mariadbd; docs/benchmarks.md, "Where mariadbd waits" and
  // "Workers, short slices", 2026-12-02). A request's work is short and bounded, and the
  // kernel's RT throttling (/proc/sys/kernel/sched_rt_runtime_us) leaves other threads their
  // share regardless. Where the process may not use SCHED_FIFO (not root, no CAP_SYS_NICE, a
  // container's limit) the workers stay on the normal scheduler: MountStats::realtime_workers
  // says how many got it.
  int realtime_priority = 0;
  // Largest WRITE request the kernel sends (and max_pages); capped at 1 MiB by libfuse 3.14.
  unsigned max_write = 1u << 20;
  // How long the kernel may trust attributes, names and negative lookups (seconds). Safe to
  // be long: the mount is the only writer of its timeline.
  double attr_timeout_s = 3600;
  double entry_timeout_s = 3600;
  double negative_timeout_s = 3600;
  // Every mutation durable before its reply, FSYNC/FSYNCDIR answered ENOSYS (see the top of
  // this file): one round trip per commit instead of two, but every page write then waits for
  // a device sync of its own, and InnoDB's page writes come mostly one after another, so few
  // merge: sysbench write-only at 4 threads fell to 0.54-0.59x of plain against 0.92x without
  // it, side by side (docs/benchmarks.md, "One round trip per commit"). Off by default: then
  // mutations return once in the store (they survive a crash of this process, not of the
  // machine) and FSYNC makes them durable.
  bool write_through = false;
  // Without write_through only:
  // a write to a file whose last FSYNC followed one or two writes (a redo log's commit
  // pattern) starts the store's sync right after its reply, so the FSYNC that follows a round
  // trip later finds the device already at work (the kernel holds the file's inode lock during
  // FSYNC: the log's next write waits for it).
  bool eager_sync = true;
  // Keep the kernel's page cache of a file across open() (safe: this mount is the only writer).
  bool keep_cache = true;
  // statfs answers with statvfs() of this directory (normally the store's); empty: fixed
  // synthetic numbers.
  std::string statfs_dir;

  // Who may use the mount besides root: every request from any other uid gets EACCES, checked
  // once per request before it is dispatched (Admit in mount_session.cc). Empty: no check (without
  // allow_other the kernel admits only the mounting user anyway). Meant with allow_other, which
  // lets the kernel pass other users' requests at all. Ownership and mode bits are not checked
  // (no default_permissions): an admitted uid may use every file, whoever created it.
  std::vector<uint32_t> admitted_uids;

  // Kernel mount options.
  std::string fsname = "rewind";
  bool allow_other = false;
  bool debug = false;  // libfuse request trace on stderr
  // How long Start waits for the kernel's INIT request.
  int init_timeout_ms = 10000;
};

// Counters since Start; approximate (relaxed atomics) while requests run.
struct MountStats {
  uint64_t reads = 0;
  uint64_t read_bytes = 0;
  uint64_t writes = 0;
  uint64_t write_bytes = 0;
  uint64_t syncs = 0;  // fsync + fsyncdir answered (not those answered ENOSYS)
  // Write-through: store syncs made before a reply (WRITE and namespace changes); their
  // latency goes into sync_latency_* as well.
  uint64_t write_syncs = 0;
  uint64_t errors = 0;  // replies with an errno other than ENOENT on lookup
  uint64_t known_inodes = 0;  // inodes with a lookup count > 0 (root excluded)
  uint64_t forget_mismatches = 0;  // forgets of unknown inodes or more than looked up: a bug
  // Store sync latency (fsync/fsyncdir, or write-through syncs before a reply; until the
  // store's sync returned): counts per bucket, whose upper
  // bounds are kSyncBucketsUs (the last bucket has none), and the total.
  std::array<uint64_t, 10> sync_latency_buckets{};
  uint64_t sync_latency_ns = 0;
  uint64_t eager_syncs = 0;  // store syncs started by a WRITE (MountOptions::eager_sync)
  uint64_t realtime_workers = 0;  // workers running SCHED_FIFO (MountOptions::realtime_priority)
};
inline constexpr std::array<uint64_t, 9> kSyncBucketsUs = {100,   250,   500,    1000,  2500,
                                                           5000,  10000, 25000,  100000};

class Mount {
 public:
  // Mounts `timeline` of `store` at `mountpoint` (an existing, empty directory) and starts the
  // session loop; returns once the kernel has initialised the connection.
  // Failure (nothing is left mounted or running): NotFound for an unknown timeline or missing
  // mountpoint, NotDirectory for a mountpoint that is not a directory, InvalidArgument for bad
  // options (read_lsn in the future or without read_only, realtime_priority outside 0..99),
  // Unavailable when FUSE cannot mount
  // (no /dev/fuse, not permitted, stale mount); the message says which. `store` is not owned.
  static Result<std::unique_ptr<Mount>> Start(store::Store* store, store::TimelineId timeline,
                                             const std::string& mountpoint,
                                             const MountOptions& options = {});

  // Unmounts and joins the session threads. Idempotent; OK if the mount was already gone.
  // If the mount is busy (open files, a process's cwd), it is detached and its connection
  // aborted (users then get ENOTCONN), the threads are joined all the same, and the result is
  // FailedPrecondition saying so.
  Status Stop();

  // Stops (ignoring the result).
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  const std::string& mountpoint() const;
  store::TimelineId timeline() const;
  // kLatestLsn for a read-write mount; the pinned LSN for a read-only one.
  store::Lsn lsn() const;
  bool read_only() const;
  // False once the session loop has ended (Stop, or an external umount).
  bool running() const;

  // The kernel's lookup count of `ino` as this mount tracks it (0 if unknown). For tests.
  uint64_t LookupCount(store::InodeId ino) const;
  // The inodes the kernel holds a reference to (open or cached), in no order.
  std::vector<uint64_t> KnownInodes() const;
  MountStats stats() const;

  class Impl;

 private:
  explicit Mount(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The errno a FUSE reply carries for a store failure: NotFound→ENOENT, AlreadyExists→EEXIST,
// NotEmpty→ENOTEMPTY, NotDirectory→ENOTDIR, IsDirectory→EISDIR, InvalidArgument→EINVAL,
// NoSpace→ENOSPC, anything else→EIO. 0 for OK.
int ErrnoFromStatus(const Status& status);

}  // namespace rwd::fs
