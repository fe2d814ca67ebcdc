// Timelines and volumes: branching, creating, rewinding, cloning (from a point in time or
// from a foreign ancestor in a peer store), deleting, retention and the activity of a volume.
#include <algorithm>

#include "store/store_internal.h"

namespace rwd::store {

using store_internal::AppendCloneLocked;
using store_internal::ResolveLocked;
using store_internal::VolumeNameFreeLocked;

Result<TimelineId> Store::Branch(TimelineId ancestor, Lsn at) {
  TimelineId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    if (!impl_->FindTimeline(ancestor)) {
      return Status::NotFound("no timeline " + ancestor.ToString() + " to branch from");
    }
    if (at.value > impl_->last_lsn_.load()) {
      return Status::InvalidArgument("branch point LSN " + at.ToString() +
                                     " is in the future (last LSN " +
                                     std::to_string(impl_->last_lsn_.load()) + ")");
    }
    Record rec;
    rec.kind = RecordKind::kBranch;
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.ancestor = ancestor;
    rec.ancestor_lsn = at;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
    id = rec.tl;
  }
  RETURN_IF_ERROR(Sync());
  return id;
}

Result<VolumeInfo> Store::CreateVolume(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("volume name is empty");
  if (name.size() > 1024) return Status::InvalidArgument("volume name longer than 1024 bytes");
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    for (const auto& [vid, v] : impl_->volumes_) {
      if (v.name == name) return Status::AlreadyExists("volume '" + std::string(name) + "' exists");
    }
    Record rec;
    rec.kind = RecordKind::kCreateVolume;
    rec.volume = VolumeId(impl_->next_volume_);
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.name = std::string(name);
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
    id = rec.volume;
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

namespace store_internal {
Result<PointInTime> ResolveLocked(const Store::Impl& impl, VolumeId volume, int64_t time_ns,
                                  int64_t now_ns) {
  auto v = impl.volumes_.find(volume.value);
  if (v == impl.volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  const VolumeInfo& info = v->second;
  if (time_ns < info.created_ns) {
    return Status::InvalidArgument("time " + std::to_string(time_ns) +
                                   " is before the volume was created (" +
                                   std::to_string(info.created_ns) + ")");
  }
  if (time_ns > now_ns) {
    return Status::InvalidArgument("time " + std::to_string(time_ns) + " is in the future");
  }
  if (time_ns < info.retained_from_ns) {
    return Status::InvalidArgument("time " + std::to_string(time_ns) +
                                   " is before the earliest retained state of the volume (" +
                                   std::to_string(info.retained_from_ns) + ")");
  }
  auto h = std::upper_bound(info.history.begin(), info.history.end(), time_ns,
                            [](int64_t t, const HistoryEntry& e) { return t < e.from_ns; });
  const HistoryEntry& entry = *(h - 1);  // exists: history[0].from_ns == created_ns <= time_ns
  auto ti = std::upper_bound(impl.time_index_.begin(), impl.time_index_.end(), time_ns,
                             [](int64_t t, const auto& p) { return t < p.first; });
  const uint64_t lsn = ti == impl.time_index_.begin() ? 0 : (ti - 1)->second;
  return PointInTime{entry.timeline, Lsn(lsn)};
}
}  // namespace store_internal

Result<PointInTime> Store::Resolve(VolumeId volume, int64_t time_ns) const {
  const int64_t now = NowNs();
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return ResolveLocked(*impl_, volume, time_ns, now);
}

Result<VolumeInfo> Store::Rewind(VolumeId volume, int64_t time_ns) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    ASSIGN_OR_RETURN(PointInTime pit, ResolveLocked(*impl_, volume, time_ns, NowNs()));
    Record rec;
    rec.kind = RecordKind::kRewind;
    rec.volume = volume;
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.ancestor = pit.timeline;
    rec.ancestor_lsn = pit.lsn;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(volume);
}

namespace store_internal {
Status VolumeNameFreeLocked(const Store::Impl& impl, std::string_view name) {
  for (const auto& [vid, v] : impl.volumes_) {
    if (v.name == name) return Status::AlreadyExists("volume '" + std::string(name) + "' exists");
  }
  return Status::Ok();
}

Result<VolumeId> AppendCloneLocked(Store::Impl& impl, std::string_view name, PointInTime from) {
  Record rec;
  rec.kind = RecordKind::kClone;
  rec.volume = VolumeId(impl.next_volume_);
  rec.tl = TimelineId(impl.next_timeline_);
  rec.ancestor = from.timeline;
  rec.ancestor_lsn = from.lsn;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl.AppendAndApply(&rec));
  return rec.volume;
}
}  // namespace store_internal

Result<VolumeInfo> Store::Clone(std::string_view name, VolumeId source, int64_t time_ns) {
  if (name.empty()) return Status::InvalidArgument("volume name is empty");
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RETURN_IF_ERROR(VolumeNameFreeLocked(*impl_, name));
    ASSIGN_OR_RETURN(PointInTime pit, ResolveLocked(*impl_, source, time_ns, NowNs()));
    ASSIGN_OR_RETURN(id, AppendCloneLocked(*impl_, name, pit));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

Result<VolumeInfo> Store::CloneForeign(std::string_view name, const ForeignAncestor& from) {
  if (name.empty()) return Status::InvalidArgument("volume name is empty");
  if (from.store_id.empty() || from.store_id.size() > 255) {
    return Status::InvalidArgument("a foreign ancestor's store id must be 1 to 255 bytes");
  }
  const Store* peer = impl_->options_.peers ? impl_->options_.peers(from.store_id, from.view_lsn)
                                            : nullptr;
  if (peer == nullptr) {
    return Status::FailedPrecondition("peer store " + from.store_id + " (view at LSN " +
                                      std::to_string(from.view_lsn) + ") is not attached");
  }
  RETURN_IF_ERROR(peer->GetTimeline(from.timeline).status());
  if (from.lsn > peer->LastLsn()) {
    return Status::InvalidArgument("LSN " + std::to_string(from.lsn.value) +
                                   " is past the peer store's last (" +
                                   std::to_string(peer->LastLsn().value) + ")");
  }
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RETURN_IF_ERROR(VolumeNameFreeLocked(*impl_, name));
    Record rec;
    rec.kind = RecordKind::kCloneForeign;
    rec.volume = VolumeId(impl_->next_volume_);
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.ancestor = from.timeline;
    rec.ancestor_lsn = from.lsn;
    rec.offset = from.view_lsn;
    rec.size = peer->NextInode();
    rec.name2 = from.store_id;
    rec.name = std::string(name);
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
    id = rec.volume;
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

uint64_t Store::NextInode() const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return impl_->next_inode_;
}

Status Store::DeleteVolume(VolumeId volume) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    if (!impl_->volumes_.count(volume.value)) {
      return Status::NotFound("no volume " + volume.ToString());
    }
    Record rec;
    rec.kind = RecordKind::kDeleteVolume;
    rec.volume = volume;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  return Sync();
}

Result<std::vector<ActivityPoint>> Store::Activity(VolumeId volume, int64_t from_ns,
                                                   int64_t to_ns, int64_t step_ns) const {
  constexpr int64_t kNs = 1'000'000'000;
  if (step_ns <= 0 || step_ns % kNs != 0) {
    return Status::InvalidArgument("activity step must be a positive whole number of seconds");
  }
  if (from_ns > to_ns) return Status::InvalidArgument("activity start is after its end");
  const int64_t step_s = step_ns / kNs;
  auto floor_div = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && (a < 0)); };
  const int64_t grid_start_s = floor_div(from_ns, step_ns) * step_s;
  const int64_t grid_end_s = (floor_div(to_ns, step_ns) + (to_ns % step_ns != 0)) * step_s;
  const int64_t n = std::max<int64_t>((grid_end_s - grid_start_s) / step_s, 0);
  if (n > kMaxActivityPoints) {
    return Status::InvalidArgument("activity of " + std::to_string(n) + " points asked; at most " +
                                   std::to_string(kMaxActivityPoints) +
                                   ": use a longer step or a shorter interval");
  }
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  auto v = impl_->volumes_.find(volume.value);
  if (v == impl_->volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  const int64_t fine_from_s = impl_->activity_.fine_from_s();
  if (step_s % 60 != 0 && grid_start_s < fine_from_s) {
    return Status::InvalidArgument(
        "activity before " + std::to_string(fine_from_s) +
        " s since the epoch is kept per minute: use a step of whole minutes, or start later");
  }
  std::vector<ActivityPoint> points(n);
  for (int64_t i = 0; i < n; ++i) points[i].time_ns = (grid_start_s + i * step_s) * kNs;
  const std::vector<HistoryEntry>& h = v->second.history;
  for (size_t i = 0; i < h.size(); ++i) {
    // The timeline was the head over [from, until): the seconds touching that span (a record
    // of it cannot lie outside, so a shared second counts both timelines exactly).
    const int64_t from_s = std::max(floor_div(h[i].from_ns, kNs), grid_start_s);
    const int64_t until_s =
        i + 1 < h.size() ? std::min(floor_div(h[i + 1].from_ns, kNs) + 1, grid_end_s) : grid_end_s;
    impl_->activity_.Accumulate(h[i].timeline.value, from_s, until_s, grid_start_s, step_s,
                                &points);
  }
  return points;
}

Result<VolumeInfo> Store::GetVolume(VolumeId volume) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  auto v = impl_->volumes_.find(volume.value);
  if (v == impl_->volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  return v->second;
}

Result<VolumeInfo> Store::FindVolume(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  for (const auto& [id, v] : impl_->volumes_) {
    if (v.name == name) return v;
  }
  return Status::NotFound("no volume named '" + std::string(name) + "'");
}

std::vector<VolumeInfo> Store::ListVolumes() const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  std::vector<VolumeInfo> out;
  for (const auto& [id, v] : impl_->volumes_) out.push_back(v);
  return out;
}

Result<TimelineInfo> Store::GetTimeline(TimelineId tl) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  return t->info;
}

Result<VolumeInfo> Store::SetRetention(VolumeId volume, int64_t from_ns) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    auto v = impl_->volumes_.find(volume.value);
    if (v == impl_->volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
    from_ns = std::min(from_ns, NowNs());
    if (from_ns <= v->second.retained_from_ns) return v->second;
    Record rec;
    rec.kind = RecordKind::kRetain;
    rec.volume = volume;
    rec.retain_from_ns = from_ns;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(volume);
}

}  // namespace rwd::store
