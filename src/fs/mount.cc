// Mount: the public face of a mount (mount.h): Start's checks of its arguments before any
// session is made, the accessors and the statistics; and ErrnoFromStatus. The operations are in
// mount_ops.cc, the FUSE session in mount_session.cc, the state they share in mount_impl.h.
#include "fs/mount.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fs/mount_impl.h"

namespace rwd::fs {

using store::Attr;
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
