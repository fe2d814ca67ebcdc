// Store: opening and closing, the log's file names, the sticky error and the store's figures.
// The rest is by concern: store_open.cc (recovery), store_read.cc and store_apply.cc (the
// index), store_log.cc (appends, segments, group commit), store_write.cc (file-system
// mutations), store_volumes.cc (timelines and volumes), store_pins.cc (pins); the helpers
// they share are in store_internal.h.
#include "store/store.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "store/store_internal.h"

namespace rwd::store {

Store::Impl::Impl(const StoreOptions& options)
    : options_(options), env_(options.env ? options.env : Env::Default()) {
  log_dir_ = options_.dir + "/log";
}

Store::Impl::~Impl() {
  StopCompactor();
  StopPreparer();
}

std::string Store::Impl::SegmentPath(uint32_t seg) const {
  char name[32];
  std::snprintf(name, sizeof(name), "/%08" PRIu32 ".seg", seg);
  return log_dir_ + name;
}

std::string Store::Impl::FilePath(uint32_t seg, uint32_t file_id) const {
  if (file_id == seg) return SegmentPath(seg);
  char name[40];
  std::snprintf(name, sizeof(name), "/%08" PRIu32 "-%010" PRIu32 ".seg", seg, file_id);
  return log_dir_ + name;
}

std::string Store::Impl::CurrentPath(uint32_t seg) const {
  std::lock_guard<std::mutex> lk(seg_mu_);
  auto it = seg_files_.find(seg);
  return FilePath(seg, it == seg_files_.end() ? seg : it->second.file_id);
}

std::string Store::Impl::PreparedPath(uint32_t seg) const {
  char name[32];
  std::snprintf(name, sizeof(name), "/%08" PRIu32 ".prep", seg);
  return log_dir_ + name;
}

const Timeline* Store::Impl::FindTimeline(TimelineId id) const {
  auto it = timelines_.find(id.value);
  return it == timelines_.end() ? nullptr : it->second.get();
}

Status Store::Impl::CheckHealthy() const {
  if (!failed_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard<std::mutex> lk(sticky_mu_);
  return sticky_;
}

void Store::Impl::SetSticky(const Status& s) {
  std::lock_guard<std::mutex> lk(sticky_mu_);
  if (!failed_.load()) {
    sticky_ = s.WithContext("store refuses writes after a failed device write or sync");
    failed_.store(true, std::memory_order_release);
  }
}

// ---------------------------------------------------------------- Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
  impl_->StopCompactor();
  impl_->StopPreparer();
  std::lock_guard<std::mutex> lk(impl_->write_mu_);
  if (impl_->active_ && impl_->CheckHealthy().ok() && impl_->bytes_since_checkpoint_ > 0) {
    (void)impl_->WriteCheckpointLocked();  // best effort: the log alone recovers everything
  }
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("store directory not set");
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Open().WithContext("opening store at " + options.dir));
  for (const auto& [id, t] : impl->timelines_) {
    // Not before: replay applies records that may read through them (it sees no error, and
    // nothing of the store is used when this fails).
    if (t->info.foreign.valid()) RETURN_IF_ERROR(impl->Foreign(t.get()).status());
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const RecoveryReport& Store::recovery() const { return impl_->recovery_; }

Result<CleanReport> Store::Clean(const CleanOptions& options) { return impl_->Clean(options); }

Lsn Store::LastLsn() const { return Lsn(impl_->last_lsn_.load(std::memory_order_acquire)); }
int64_t Store::LastTimeNs() const { return impl_->last_time_ns_.load(std::memory_order_acquire); }
int64_t Store::NowNs() const { return std::max(impl_->env_->NowNs(), LastTimeNs()); }

Status Store::Checkpoint() {
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  return impl_->WriteCheckpointLocked();
}

Result<uint32_t> Store::CompactSegments() { return impl_->CompactSegments(); }

Status Store::health() const { return impl_->CheckHealthy(); }

uint64_t Store::LocalLogBytes() const {
  return impl_->log_bytes_.load() - impl_->cold_bytes_.load();
}

StoreStats Store::stats() const {
  StoreStats s;
  s.last_lsn = LastLsn();
  {
    std::lock_guard<std::mutex> lk(impl_->sync_mu_);
    s.synced_lsn = Lsn(impl_->synced_lsn_);
  }
  {
    std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
    s.records = impl_->records_;
    s.page_versions = impl_->page_versions_;
  }
  {
    std::lock_guard<std::mutex> lk(impl_->seg_mu_);
    s.segments = static_cast<uint32_t>(impl_->seg_files_.size());
    s.cold_segments = static_cast<uint32_t>(impl_->cold_.size());
  }
  s.log_bytes = impl_->log_bytes_.load();
  s.local_log_bytes = s.log_bytes - impl_->cold_bytes_.load();
  s.segments_evicted = impl_->segments_evicted_.load();
  s.device_syncs = impl_->device_syncs_.load();
  s.sync_requests = impl_->sync_requests_.load();
  s.write_bytes = impl_->write_bytes_.load();
  s.write_stored_bytes = impl_->write_stored_bytes_.load();
  s.segments_compacted = impl_->segments_compacted_.load();
  s.compaction_saved_bytes = impl_->compaction_saved_bytes_.load();
  s.compaction_errors = impl_->compaction_errors_.load();
  {
    std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
    s.pins = impl_->pins_.size();
    s.pinned_bytes = impl_->pass_.pinned_bytes;
    s.pinned_stored_bytes = impl_->pass_.pinned_stored_bytes;
    s.floor_stored_bytes = impl_->pass_.floor_stored_bytes;
  }
  return s;
}

}  // namespace rwd::store
