// File-system mutations on a timeline (Create, Write, SetAttr, Unlink, Rmdir, Rename), each
// checked against the index and appended as one record, and making them durable (Sync).
#include <algorithm>

#include "common/crc32c.h"
#include "store/compress.h"
#include "store/store_internal.h"

namespace rwd::store {

using store_internal::kMaxLsn;

namespace {

Status ValidateName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty file name");
  if (name == "." || name == "..") return Status::InvalidArgument("name '.' or '..' not allowed");
  if (name.size() > 255) return Status::InvalidArgument("file name longer than 255 bytes");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("file name contains '/' or NUL");
  }
  return Status::Ok();
}

}  // namespace

Result<Attr> Store::Create(TimelineId tl, InodeId parent, std::string_view name, NodeType type,
                           uint32_t mode, uint32_t uid, uint32_t gid, uint32_t rdev) {
  RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  Result<InodeId> existing = impl_->LookupAt(t, kMaxLsn, parent, name, nullptr);
  if (existing.ok()) return Status::AlreadyExists("'" + std::string(name) + "' exists");
  if (existing.status().code() != Status::Code::kNotFound ||
      !impl_->AttrAt(t, kMaxLsn, parent).ok()) {
    return existing.status();
  }
  Record rec;
  rec.kind = RecordKind::kCreate;
  rec.tl = tl;
  rec.parent = parent;
  rec.ino = InodeId(impl_->next_inode_);
  rec.type = type;
  rec.mode = mode;
  rec.uid = uid;
  rec.gid = gid;
  rec.rdev = rdev;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return impl_->AttrAt(t, kMaxLsn, rec.ino);
}

Result<Lsn> Store::Write(TimelineId tl, InodeId ino, uint64_t offset, std::string_view data) {
  if (offset + data.size() < offset || offset + data.size() > (1ull << 62)) {
    return Status::InvalidArgument("write past the largest file size");
  }
  if (data.size() > kMaxPayload - 64) {
    return Status::InvalidArgument("write larger than " + std::to_string(kMaxPayload >> 20) +
                                   " MiB; split it");
  }
  if (impl_->options_.write_gate != nullptr) RETURN_IF_ERROR(impl_->options_.write_gate->Admit());
  Record rec;
  rec.kind = RecordKind::kWrite;
  rec.tl = tl;
  rec.ino = ino;
  rec.offset = offset;
  rec.data = data;
  // Compressed and checksummed here, before the append lock, so that writers do it in
  // parallel. The buffer is per thread and given back when a rare huge write left it large.
  thread_local std::string body;
  if (impl_->options_.compress && impl_->options_.compress_inline &&
      data.size() >= impl_->options_.compress_min_bytes &&
      CompressWrite(offset, data, impl_->options_.compress_level, &body)) {
    rec.flags = kRecordCompressed;
    rec.data = body;
  }
  const uint32_t data_crc = crc32c::Value(rec.data.data(), rec.data.size());
  Impl::Writeback writeback;
  Status st = [&]() -> Status {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RWD_TIMELINE_OR_RETURN(t, tl);
    ASSIGN_OR_RETURN(Attr a, impl_->AttrAt(t, kMaxLsn, ino));
    if (a.type == NodeType::kDirectory) {
      return Status::IsDirectory("inode " + ino.ToString() + " is a directory");
    }
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec, data_crc));
    // A symlink's target (written right after its creation) is part of the namespace: a
    // file's fsync covers it like the creation (LastNonDataLsn).
    if (a.type != NodeType::kFile) impl_->last_non_data_lsn_.store(rec.lsn.value);
    writeback = std::move(impl_->pending_writeback_);
    impl_->pending_writeback_ = {};
    return Status::Ok();
  }();
  if (writeback.file) writeback.file->StartWriteback(writeback.offset, writeback.len);
  if (body.capacity() > (4u << 20)) std::string().swap(body);
  RETURN_IF_ERROR(st);
  impl_->write_bytes_.fetch_add(data.size(), std::memory_order_relaxed);
  impl_->write_stored_bytes_.fetch_add(rec.data.size(), std::memory_order_relaxed);
  return rec.lsn;
}

Result<Attr> Store::SetAttr(TimelineId tl, InodeId ino, const SetAttrRequest& request) {
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  ASSIGN_OR_RETURN(Attr a, impl_->AttrAt(t, kMaxLsn, ino));
  Record rec;
  rec.kind = RecordKind::kSetAttr;
  rec.tl = tl;
  rec.ino = ino;
  if (request.size) {
    if (a.type == NodeType::kDirectory) {
      return Status::IsDirectory("cannot set the size of a directory");
    }
    if (*request.size > (1ull << 62)) return Status::InvalidArgument("size too large");
    rec.mask |= kSetSize;
    rec.size = *request.size;
  }
  if (request.mode) {
    rec.mask |= kSetMode;
    rec.mode = *request.mode;
  }
  if (request.uid) {
    rec.mask |= kSetUid;
    rec.uid = *request.uid;
  }
  if (request.gid) {
    rec.mask |= kSetGid;
    rec.gid = *request.gid;
  }
  if (request.atime_ns) {
    rec.mask |= kSetAtime;
    rec.atime_ns = *request.atime_ns;
  }
  if (request.mtime_ns) {
    rec.mask |= kSetMtime;
    rec.mtime_ns = *request.mtime_ns;
  }
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return impl_->AttrAt(t, kMaxLsn, ino);
}

namespace {
Status RemoveChecks(Store::Impl* impl, const Timeline* t, InodeId parent, std::string_view name,
                    bool is_dir, InodeId* victim) {
  NodeType type;
  ASSIGN_OR_RETURN(*victim, impl->LookupAt(t, kMaxLsn, parent, name, &type));
  if (!is_dir && type == NodeType::kDirectory) {
    return Status::IsDirectory("'" + std::string(name) + "' is a directory");
  }
  if (is_dir) {
    if (type != NodeType::kDirectory) {
      return Status::NotDirectory("'" + std::string(name) + "' is not a directory");
    }
    ASSIGN_OR_RETURN(std::vector<DirEntry> entries, impl->ReadDirAt(t, kMaxLsn, *victim));
    if (!entries.empty()) return Status::NotEmpty("'" + std::string(name) + "' is not empty");
  }
  return Status::Ok();
}
}  // namespace

Result<InodeId> Store::Unlink(TimelineId tl, InodeId parent, std::string_view name) {
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  InodeId victim;
  RETURN_IF_ERROR(RemoveChecks(impl_.get(), t, parent, name, false, &victim));
  Record rec;
  rec.kind = RecordKind::kRemove;
  rec.tl = tl;
  rec.parent = parent;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  return victim;
}

Result<InodeId> Store::Rmdir(TimelineId tl, InodeId parent, std::string_view name) {
  if (name == ".") return Status::InvalidArgument("rmdir of '.'");
  if (name == "..") return Status::NotEmpty("rmdir of '..'");
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  InodeId victim;
  RETURN_IF_ERROR(RemoveChecks(impl_.get(), t, parent, name, true, &victim));
  Record rec;
  rec.kind = RecordKind::kRemove;
  rec.tl = tl;
  rec.parent = parent;
  rec.flag = true;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  return victim;
}

Result<InodeId> Store::Rename(TimelineId tl, InodeId old_parent, std::string_view old_name,
                              InodeId new_parent, std::string_view new_name, bool no_replace) {
  RETURN_IF_ERROR(ValidateName(old_name));
  RETURN_IF_ERROR(ValidateName(new_name));
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  NodeType src_type;
  ASSIGN_OR_RETURN(InodeId src, impl_->LookupAt(t, kMaxLsn, old_parent, old_name, &src_type));
  // The target directory must exist (the lookup fails with NotFound/NotDirectory otherwise).
  ASSIGN_OR_RETURN(Attr np, impl_->AttrAt(t, kMaxLsn, new_parent));
  if (np.type != NodeType::kDirectory) {
    return Status::NotDirectory("rename target parent " + new_parent.ToString() +
                                " is not a directory");
  }
  if (np.nlink == 0) return Status::NotFound("rename target directory was removed");
  NodeType dst_type;
  Result<InodeId> dst = impl_->LookupAt(t, kMaxLsn, new_parent, new_name, &dst_type);
  InodeId replaced;
  if (dst.ok()) {
    if (*dst == src) return InodeId();  // POSIX: same file, nothing to do
    if (no_replace) return Status::AlreadyExists("'" + std::string(new_name) + "' exists");
    if (src_type == NodeType::kDirectory) {
      if (dst_type != NodeType::kDirectory) {
        return Status::NotDirectory("cannot replace non-directory '" + std::string(new_name) +
                                    "' with a directory");
      }
      ASSIGN_OR_RETURN(std::vector<DirEntry> entries, impl_->ReadDirAt(t, kMaxLsn, *dst));
      if (!entries.empty()) {
        return Status::NotEmpty("'" + std::string(new_name) + "' is not empty");
      }
    } else if (dst_type == NodeType::kDirectory) {
      return Status::IsDirectory("cannot replace directory '" + std::string(new_name) +
                                 "' with a non-directory");
    }
    replaced = *dst;
  }
  if (src_type == NodeType::kDirectory) {
    // Refuse to move a directory into its own subtree.
    InodeId cur = new_parent;
    for (int guard = 0; guard < 4096 && cur != kRootInode; ++guard) {
      if (cur == src) return Status::InvalidArgument("cannot move a directory into itself");
      ASSIGN_OR_RETURN(Attr ca, impl_->AttrAt(t, kMaxLsn, cur));
      cur = ca.parent;
    }
    if (src == kRootInode) return Status::InvalidArgument("cannot move the root directory");
  }
  Record rec;
  rec.kind = RecordKind::kRename;
  rec.tl = tl;
  rec.parent = old_parent;
  rec.parent2 = new_parent;
  rec.flag = no_replace;
  rec.name = std::string(old_name);
  rec.name2 = std::string(new_name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  return replaced;
}

Status Store::Sync() { return impl_->SyncLog(impl_->last_lsn_.load(std::memory_order_acquire)); }

Status Store::SyncUpTo(Lsn upto) {
  const uint64_t last = impl_->last_lsn_.load(std::memory_order_acquire);
  if (upto.value > last) {
    return Status::InvalidArgument("sync up to LSN " + upto.ToString() +
                                   " is in the future (last LSN " + std::to_string(last) + ")");
  }
  return impl_->SyncLog(upto.value);
}

Lsn Store::LastNonDataLsn() const {
  return Lsn(impl_->last_non_data_lsn_.load(std::memory_order_acquire));
}

}  // namespace rwd::store
