// The log: segment headers, appending records, rolling into the next segment (and preparing
// it ahead), group commit, checkpoints, and the durable state that the shipper copies.
// Reading the log back at open is in store_open.cc.
#include <algorithm>
#include <cstring>

#include "common/failpoint.h"
#include "store/store_internal.h"

namespace rwd::store {
namespace {

constexpr char kSegmentMagic[8] = {'R', 'W', 'N', 'D', 'S', 'E', 'G', '1'};
constexpr uint32_t kSegmentVersion = 1;

}  // namespace

// ---------------------------------------------------------------- log

std::string CleanedSegmentHeader(uint32_t seg, uint32_t file_id, uint64_t last_lsn,
                                 int64_t last_time_ns) {
  std::string header(kSegmentMagic, sizeof(kSegmentMagic));
  const uint32_t version = kCleanedSegmentVersion, reserved = 0;
  header.append(reinterpret_cast<const char*>(&version), 4);
  header.append(reinterpret_cast<const char*>(&seg), 4);
  header.append(reinterpret_cast<const char*>(&file_id), 4);
  header.append(reinterpret_cast<const char*>(&reserved), 4);
  header.append(reinterpret_cast<const char*>(&last_lsn), 8);
  header.append(reinterpret_cast<const char*>(&last_time_ns), 8);
  return header;
}

Result<SegmentHeaderInfo> ParseSegmentHeader(std::string_view bytes, uint32_t seg,
                                             uint32_t file_id) {
  SegmentHeaderInfo h;
  if (bytes.size() < kSegmentHeaderSize || std::memcmp(bytes.data(), kSegmentMagic, 8) != 0) {
    return Status::Corruption("bad segment magic");
  }
  uint32_t number = 0;
  std::memcpy(&h.version, bytes.data() + 8, 4);
  std::memcpy(&number, bytes.data() + 12, 4);
  if (number != seg) return Status::Corruption("segment number does not match the file name");
  if (h.version == kSegmentVersion) {
    if (file_id != seg) return Status::Corruption("a first-written segment under a cleaned name");
    h.size = kSegmentHeaderSize;
    return h;
  }
  if (h.version != kCleanedSegmentVersion) return Status::Corruption("unknown segment version");
  if (bytes.size() < kCleanedHeaderSize) return Status::Corruption("short cleaned segment header");
  uint32_t id = 0;
  std::memcpy(&id, bytes.data() + 16, 4);
  std::memcpy(&h.last_lsn, bytes.data() + 24, 8);
  std::memcpy(&h.last_time_ns, bytes.data() + 32, 8);
  if (id != file_id) return Status::Corruption("file id does not match the file name");
  h.size = kCleanedHeaderSize;
  return h;
}

namespace {
std::string SegmentHeader(uint32_t seg) {
  std::string header(kSegmentMagic, sizeof(kSegmentMagic));
  header.append(reinterpret_cast<const char*>(&kSegmentVersion), 4);
  header.append(reinterpret_cast<const char*>(&seg), 4);
  return header;
}
}  // namespace

namespace store_internal {
bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}
}  // namespace store_internal

using store_internal::AllZero;

Status Store::Impl::StartSegment(uint32_t seg, uint64_t end, bool prepared) {
  const std::string path = SegmentPath(seg);
  std::unique_ptr<AppendFile> file;
  if (end > 0) {
    ASSIGN_OR_RETURN(file, env_->OpenAppendAt(path, end));
  } else {
    ASSIGN_OR_RETURN(file, env_->OpenAppend(path));
  }
  if (file->Size() == 0) {
    RETURN_IF_ERROR(file->Append(SegmentHeader(seg)));
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(env_->SyncDir(log_dir_));
    log_bytes_ += kSegmentHeaderSize;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ReadFile> reader, env_->OpenRead(path));
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    readers_[seg] = std::move(reader);
    seg_files_[seg] = SegmentFile{seg, 0};
  }
  active_prepared_ = prepared;
  active_ = std::move(file);
  active_segment_ = seg;
  return Status::Ok();
}

Status Store::Impl::OpenNextSegment() {
  const uint32_t seg = active_segment_ + 1;
  Status s = StartNextSegment(seg);
  if (s.ok()) return s;
  // The new segment holds no record yet: removing it undoes the roll. A partial header left in
  // place would be appended after by the next attempt and cut, with those records, at open.
  if (env_->FileExists(SegmentPath(seg))) {
    Status removed = env_->RemoveFile(SegmentPath(seg));
    if (!removed.ok()) {
      SetSticky(s);
      return CheckHealthy();
    }
  }
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    readers_.erase(seg);
    seg_files_.erase(seg);
  }
  return s;
}

Status Store::Impl::StartNextSegment(uint32_t seg) {
  bool prepared = false;
  {
    std::lock_guard<std::mutex> lk(prep_mu_);
    if (prep_ready_ == seg) {
      prepared = true;
      prep_ready_ = 0;
      if (prep_wanted_ == seg) prep_wanted_ = 0;  // taken: not to be made again
    } else if (prep_wanted_ == seg) {
      prep_wanted_ = 0;  // too late: what the preparer makes now is dropped
    }
  }
  if (prepared) {
    // Complete and durable (header + zeros); the rename is made durable before any record
    // goes into it.
    Status s = env_->RenameFile(PreparedPath(seg), SegmentPath(seg));
    if (s.ok()) s = env_->SyncDir(log_dir_);
    if (s.ok()) {
      s = StartSegment(seg, kSegmentHeaderSize, /*prepared=*/true);
      if (s.ok()) log_bytes_ += kSegmentHeaderSize;
      return s;
    }
    if (env_->FileExists(SegmentPath(seg))) return s;  // renamed, directory sync failed
    (void)env_->RemoveFile(PreparedPath(seg));  // unused now; a leftover is removed at open
  }
  return StartSegment(seg, 0, /*prepared=*/false);
}

Status Store::Impl::RollSegment() {
  // Records in closed segments must be durable before the next segment's are.
  Status s = active_->Sync();
  if (!s.ok()) {
    SetSticky(s);
    return CheckHealthy();
  }
  device_syncs_++;
  const uint32_t closed = active_segment_;
  const uint64_t closed_size = active_->Size();
  RETURN_IF_ERROR(OpenNextSegment());
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    seg_files_[closed].size = closed_size;
  }
  if (options_.preallocate_segments) {
    std::lock_guard<std::mutex> lk(prep_mu_);
    prep_trims_.emplace_back(closed, closed_size);
    prep_cv_.notify_all();
  }
  if (compactor_.joinable()) WakeCompactor();
  return Status::Ok();
}

bool Store::Impl::MaybeUsePreparedSegment() {
  // Zero-filling writes every byte of a segment twice; it pays only where it saves a metadata
  // write (ext4: the inode, or a journal commit) on each of many small device syncs, as under
  // commits, not under bulk writes. Judged by recent windows of the log, so that a bulk load
  // followed by commits (sysbench prepare, then run) moves to preallocated segments at once.
  const uint64_t window = std::max<uint64_t>(options_.segment_bytes / 16,
                                             4 * options_.preallocate_below_bytes_per_sync);
  if (log_bytes_ - window_start_bytes_ >= window) {
    const uint64_t syncs = device_syncs_.load() - window_start_syncs_;
    small_syncs_ = syncs > 0 && (log_bytes_ - window_start_bytes_) / syncs <=
                                    options_.preallocate_below_bytes_per_sync;
    window_start_bytes_ = log_bytes_;
    window_start_syncs_ = device_syncs_.load();
  }
  if (!small_syncs_) return false;
  const uint32_t next = active_segment_ + 1;
  if (prep_requested_ != next) RequestPrepared(next);
  if (active_prepared_ || active_->Size() < options_.segment_bytes / 64) return false;
  std::lock_guard<std::mutex> lk(prep_mu_);
  return prep_ready_ == next;
}

void Store::Impl::RequestPrepared(uint32_t seg) {
  prep_requested_ = seg;
  std::lock_guard<std::mutex> lk(prep_mu_);
  if (prep_ready_ == seg) return;
  prep_wanted_ = seg;
  prep_cv_.notify_all();
}

void Store::Impl::PreparerLoop() {
  std::unique_lock<std::mutex> lk(prep_mu_);
  while (true) {
    prep_cv_.wait(lk, [this] {
      return prep_stop_ || !prep_trims_.empty() ||
             (prep_wanted_ != 0 && prep_wanted_ != prep_ready_ && prep_wanted_ != prep_failed_);
    });
    if (prep_stop_) return;
    if (!prep_trims_.empty()) {
      // A closed segment keeps only its records: drop its unused preallocated zeros.
      const auto [seg, size] = prep_trims_.back();
      prep_trims_.pop_back();
      lk.unlock();
      Result<uint64_t> fsize = env_->FileSize(SegmentPath(seg));
      // Space only: a segment that keeps its zeros reads the same.
      if (fsize.ok() && *fsize > size) (void)env_->Truncate(SegmentPath(seg), size);
      lk.lock();
      continue;
    }
    const uint32_t seg = prep_wanted_;
    lk.unlock();
    const std::string tmp = PreparedPath(seg) + ".tmp";
    Status s = env_->CreateFilled(tmp, SegmentHeader(seg), options_.segment_bytes);
    if (s.ok()) s = env_->RenameFile(tmp, PreparedPath(seg));
    // A failed preparation is retried; its partial file only takes space.
    if (!s.ok() && env_->FileExists(tmp)) (void)env_->RemoveFile(tmp);
    lk.lock();
    if (s.ok() && prep_wanted_ == seg) {
      const uint32_t old = prep_ready_;
      prep_ready_ = seg;
      if (old != 0 && old != seg) {
        lk.unlock();
        (void)env_->RemoveFile(PreparedPath(old));  // a leftover is removed at open
        lk.lock();
      }
    } else if (s.ok()) {
      lk.unlock();
      (void)env_->RemoveFile(PreparedPath(seg));  // no longer wanted
      lk.lock();
    } else {
      prep_failed_ = seg;  // appends then create the segment themselves
    }
  }
}

void Store::Impl::StopPreparer() {
  {
    std::lock_guard<std::mutex> lk(prep_mu_);
    prep_stop_ = true;
    prep_cv_.notify_all();
  }
  if (preparer_.joinable()) preparer_.join();
}

Result<bool> Store::Impl::RangeIsZero(uint32_t seg, uint64_t from, uint64_t to) const {
  ASSIGN_OR_RETURN(std::shared_ptr<ReadFile> file, FileReader(seg));
  std::string buf(1 << 20, '\0');
  for (uint64_t off = from; off < to;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - off));
    ASSIGN_OR_RETURN(size_t n, file->ReadAt(off, want, buf.data()));
    if (n == 0) break;
    if (!AllZero(buf.data(), n)) return false;
    off += n;
  }
  return true;
}

Status Store::Impl::AppendAndApply(Record* rec, std::optional<uint32_t> data_crc) {
  RETURN_IF_ERROR(CheckHealthy());
  rec->lsn = Lsn(last_lsn_.load() + 1);
  rec->time_ns = std::max(env_->NowNs(), last_time_ns_.load());
  encode_buf_.clear();
  // The record's bytes: encode_buf_, then `body` (a Write's data, written from the caller's
  // buffer) when the data's checksum was given.
  std::string_view body;
  size_t data_offset;
  if (data_crc && rec->kind == RecordKind::kWrite) {
    EncodeWriteHead(*rec, *data_crc, &encode_buf_);
    body = rec->data;
    data_offset = kWriteDataOffset;
  } else {
    data_offset = EncodeRecord(*rec, &encode_buf_);
  }
  const uint64_t record_bytes = encode_buf_.size() + body.size();

  if (active_->Size() + record_bytes > options_.segment_bytes &&
      active_->Size() > kSegmentHeaderSize) {
    // A failed roll (typically ENOSPC) leaves the closed segment active and nothing stored
    // changed: this record fails, the next append tries the roll again.
    RETURN_IF_ERROR(RollSegment());
  }

  const uint64_t before = active_->Size();
  if (rec->kind == RecordKind::kWrite && FailpointArmed("store.append.torn")) {
    const std::string whole = encode_buf_ + std::string(body);
    // The failpoint's torn write: the process dies next, whatever the append said.
    (void)active_->Append(std::string_view(whole).substr(0, whole.size() / 2));
    Failpoint("store.append.torn");
  }
  Status s = body.empty() ? active_->Append(encode_buf_) : active_->Append(encode_buf_, body);
  if (!s.ok()) {
    // Cut the partial record so later records stay readable; if even that fails, stop.
    Status cut = env_->Truncate(SegmentPath(active_segment_), before);
    if (cut.ok()) {
      auto reopened = env_->OpenAppend(SegmentPath(active_segment_));
      if (reopened.ok()) {
        active_ = std::move(reopened).value();
        return s;  // e.g. NoSpace: nothing stored was lost, later writes may succeed
      }
      cut = reopened.status();
    }
    SetSticky(s);
    return s;
  }
  log_bytes_ += record_bytes;
  bytes_since_checkpoint_ += record_bytes;
  Apply(*rec, MakeLoc(active_segment_, before + data_offset));
  // After Apply, which publishes last_lsn_: whoever reads this LSN may sync up to it.
  if (rec->kind != RecordKind::kWrite) last_non_data_lsn_.store(rec->lsn.value);
  if (options_.writeback_every_bytes != 0) {
    if (writeback_segment_ != active_segment_) {
      writeback_segment_ = active_segment_;
      writeback_from_ = before;
    }
    const uint64_t end = active_->Size();
    if (end - writeback_from_ >= options_.writeback_every_bytes) {
      // Started by the caller once it has let go of write_mu_ (it may wait for the device's
      // request queue).
      pending_writeback_ = Writeback{active_, writeback_from_, end - writeback_from_};
      writeback_from_ = end;
    }
  }
  if (options_.preallocate_segments && MaybeUsePreparedSegment()) {
    // The record is stored; a failed roll only leaves the log where it was (tried again later).
    if (RollSegment().ok()) RequestPrepared(active_segment_ + 1);
  }
  if (bytes_since_checkpoint_ >= options_.checkpoint_every_bytes) {
    // Bounds the replay at the next open. A failure here is not the caller's: the record is
    // stored, and the log alone recovers it.
    (void)WriteCheckpointLocked();
  }
  return Status::Ok();
}

Status Store::Impl::SyncLog(uint64_t target) {
  sync_requests_++;
  std::unique_lock<std::mutex> lk(sync_mu_);
  while (true) {
    RETURN_IF_ERROR(CheckHealthy());
    if (synced_lsn_ >= target) return Status::Ok();
    if (!sync_in_progress_) break;
    sync_cv_.wait(lk);
  }
  sync_in_progress_ = true;
  lk.unlock();

  uint64_t upto, upto_offset;
  uint32_t upto_segment;
  std::shared_ptr<AppendFile> file;
  {
    std::lock_guard<std::mutex> wl(write_mu_);
    upto = last_lsn_.load();
    upto_segment = active_segment_;
    upto_offset = active_->Size();
    file = active_;
  }
  Status s = file->Sync();
  device_syncs_++;
  if (!s.ok()) SetSticky(s);

  lk.lock();
  sync_in_progress_ = false;
  if (s.ok() && upto >= synced_lsn_) {
    synced_lsn_ = upto;
    synced_segment_ = upto_segment;
    synced_offset_ = upto_offset;
  }
  sync_cv_.notify_all();
  return s.ok() ? Status::Ok() : CheckHealthy();
}

Status Store::Impl::WriteCheckpointLocked() {
  RETURN_IF_ERROR(CheckHealthy());
  Status s = active_->Sync();
  device_syncs_++;
  if (!s.ok()) {
    SetSticky(s);
    return s;
  }
  {
    std::lock_guard<std::mutex> lk(sync_mu_);
    if (last_lsn_.load() >= synced_lsn_) {
      synced_lsn_ = last_lsn_.load();
      synced_segment_ = active_segment_;
      synced_offset_ = active_->Size();
    }
  }
  std::string bytes;
  {
    std::shared_lock<std::shared_mutex> lk(index_mu_);
    bytes = SerializeIndex(active_segment_, active_->Size());
  }
  RETURN_IF_ERROR(WriteFileAtomic(env_, options_.dir + "/index.ckpt", bytes));
  bytes_since_checkpoint_ = 0;
  return Status::Ok();
}

DurableLog Store::DurableLogState() const {
  DurableLog d;
  {
    std::lock_guard<std::mutex> lk(impl_->sync_mu_);
    d.lsn = Lsn(impl_->synced_lsn_);
    d.segment = impl_->synced_segment_;
    d.offset = impl_->synced_offset_;
  }
  // After the synced point: a segment closed since is in the list, with its final size.
  std::lock_guard<std::mutex> lk(impl_->seg_mu_);
  const uint32_t active = impl_->seg_files_.empty() ? 0 : impl_->seg_files_.rbegin()->first;
  d.active_segment = active;
  d.active_path = impl_->SegmentPath(active);
  for (const auto& [seg, f] : impl_->seg_files_) {
    if (seg >= active) break;
    if (f.size == 0) {
      // Being closed by RollSegment right now (its size is set just after the next segment
      // opens): the list stops here, and this one counts as the active one until then.
      d.active_segment = seg;
      d.active_path = impl_->SegmentPath(seg);
      break;
    }
    d.closed.push_back(
        LogFileInfo{seg, f.file_id, f.size, impl_->FilePath(seg, f.file_id), f.cold});
  }
  return d;
}

}  // namespace rwd::store
