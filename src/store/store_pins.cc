// Pins: named points in time that the cleaner keeps (Pin, CopyPin, Unpin, the lookups),
// volumes cloned from them, and what a new pin would cost against a history budget.
#include <algorithm>

#include "common/failpoint.h"
#include "store/store_internal.h"

namespace rwd::store {

using store_internal::AppendCloneLocked;
using store_internal::ResolveLocked;
using store_internal::VolumeNameFreeLocked;

namespace {
// The state of `volume` just after record `lsn` (Store::Pin at an LSN); *time_ns gets that
// record's time. Caller holds index_mu_ (the time index changes under it alone when cleaned).
Result<PointInTime> PointAtLsnLocked(const Store::Impl& impl, VolumeId volume, Lsn lsn,
                                     int64_t* time_ns) {
  auto v = impl.volumes_.find(volume.value);
  if (v == impl.volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  const VolumeInfo& info = v->second;
  if (lsn.value > impl.last_lsn_.load()) {
    return Status::InvalidArgument("LSN " + lsn.ToString() + " is in the future (last LSN " +
                                   std::to_string(impl.last_lsn_.load()) + ")");
  }
  // The head then: the newest history entry whose timeline existed at `lsn` (timelines of a
  // volume's history are created in LSN order).
  const HistoryEntry* entry = nullptr;
  for (const HistoryEntry& h : info.history) {
    const Timeline* t = impl.FindTimeline(h.timeline);
    if (t && t->info.created_lsn.value <= lsn.value) entry = &h;
  }
  if (entry == nullptr) {
    return Status::InvalidArgument("LSN " + lsn.ToString() + " is before volume " +
                                   volume.ToString() + " was created");
  }
  const auto& ti = impl.time_index_;
  // Exactly the states the cleaner keeps: from the last LSN stamped at or before the floor on
  // (src/store/cleaner.cc, read sets); none is dropped before the first floor raise.
  if (info.retained_from_ns > info.history.front().from_ns) {
    auto f = std::upper_bound(ti.begin(), ti.end(), info.retained_from_ns,
                              [](int64_t t, const auto& p) { return t < p.first; });
    const uint64_t floor_lsn = f == ti.begin() ? 0 : (f - 1)->second;
    if (lsn.value < floor_lsn) {
      return Status::InvalidArgument("LSN " + lsn.ToString() +
                                     " is before the earliest retained state of the volume (" +
                                     std::to_string(floor_lsn) + ")");
    }
  }
  auto it = std::lower_bound(ti.begin(), ti.end(), lsn.value,
                             [](const auto& p, uint64_t l) { return p.second < l; });
  *time_ns = it == ti.end() ? impl.last_time_ns_.load() : it->first;
  return PointInTime{entry->timeline, lsn};
}

}  // namespace

Result<PointInTime> Store::Impl::PinPointLocked(VolumeId volume, PinAt at,
                                                int64_t* time_ns) const {
  // The time index is trimmed by cleaning passes, which hold index_mu_ but not write_mu_.
  std::shared_lock<std::shared_mutex> lk(index_mu_);
  const int64_t now = std::max(env_->NowNs(), last_time_ns_.load());
  switch (at.kind) {
    case PinAt::Kind::kHead: {
      auto v = volumes_.find(volume.value);
      if (v == volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
      *time_ns = now;
      return PointInTime{v->second.head, Lsn(last_lsn_.load())};
    }
    case PinAt::Kind::kTime:
      *time_ns = at.time_ns;
      return ResolveLocked(*this, volume, at.time_ns, now);
    case PinAt::Kind::kLsn:
      return PointAtLsnLocked(*this, volume, at.lsn, time_ns);
  }
  return Status::InvalidArgument("unknown kind of pin moment");
}

namespace {
// Appends the Pin record of a new pin `name` of `point` (of `volume`, moment `time_ns`).
// AlreadyExists if a pin has the name. Caller holds write_mu_.
Result<PinId> AppendPinLocked(Store::Impl& impl, std::string_view name, VolumeId volume,
                              PointInTime point, int64_t time_ns) {
  for (const auto& [pid, p] : impl.pins_) {
    if (p.name == name) return Status::AlreadyExists("pin '" + std::string(name) + "' exists");
  }
  Record rec;
  rec.kind = RecordKind::kPin;
  rec.pin = PinId(impl.next_pin_);
  rec.volume = volume;
  rec.tl = point.timeline;
  rec.ancestor_lsn = point.lsn;
  rec.retain_from_ns = time_ns;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl.AppendAndApply(&rec));
  return rec.pin;
}

std::string CheckName(std::string_view name, const char* what) {
  if (name.empty()) return std::string(what) + " name is empty";
  if (name.size() > 1024) return std::string(what) + " name longer than 1024 bytes";
  return "";
}
}  // namespace

Result<PinInfo> Store::Pin(std::string_view name, VolumeId volume, PinAt at) {
  if (std::string bad = CheckName(name, "pin"); !bad.empty()) {
    return Status::InvalidArgument(bad);
  }
  PinId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    int64_t time_ns = 0;
    ASSIGN_OR_RETURN(PointInTime pit, impl_->PinPointLocked(volume, at, &time_ns));
    ASSIGN_OR_RETURN(id, AppendPinLocked(*impl_, name, volume, pit, time_ns));
  }
  // The record is in the OS, not on the device: a crash here leaves the pin or not.
  Failpoint("store.pin.before_sync");
  RETURN_IF_ERROR(Sync());
  return GetPin(id);
}

Result<PinInfo> Store::CopyPin(std::string_view name, PinId source) {
  if (std::string bad = CheckName(name, "pin"); !bad.empty()) {
    return Status::InvalidArgument(bad);
  }
  PinId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    auto p = impl_->pins_.find(source.value);
    if (p == impl_->pins_.end()) return Status::NotFound("no pin " + source.ToString());
    const PinInfo from = p->second;
    ASSIGN_OR_RETURN(id, AppendPinLocked(*impl_, name, from.volume, from.point, from.time_ns));
  }
  Failpoint("store.pin.copy_before_sync");
  RETURN_IF_ERROR(Sync());
  return GetPin(id);
}

Status Store::Unpin(PinId pin) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    if (!impl_->pins_.count(pin.value)) return Status::NotFound("no pin " + pin.ToString());
    Record rec;
    rec.kind = RecordKind::kUnpin;
    rec.pin = pin;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  Failpoint("store.pin.unpin_before_sync");
  return Sync();
}

Result<PinInfo> Store::GetPin(PinId pin) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  auto p = impl_->pins_.find(pin.value);
  if (p == impl_->pins_.end()) return Status::NotFound("no pin " + pin.ToString());
  return p->second;
}

Result<PinInfo> Store::FindPin(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  for (const auto& [id, p] : impl_->pins_) {
    if (p.name == name) return p;
  }
  return Status::NotFound("no pin named '" + std::string(name) + "'");
}

std::vector<PinInfo> Store::ListPins() const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  std::vector<PinInfo> out;
  for (const auto& [id, p] : impl_->pins_) out.push_back(p);
  return out;
}

Result<VolumeInfo> Store::CloneFromPin(std::string_view name, PinId pin) {
  if (std::string bad = CheckName(name, "volume"); !bad.empty()) {
    return Status::InvalidArgument(bad);
  }
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RETURN_IF_ERROR(VolumeNameFreeLocked(*impl_, name));
    auto p = impl_->pins_.find(pin.value);
    if (p == impl_->pins_.end()) return Status::NotFound("no pin " + pin.ToString());
    ASSIGN_OR_RETURN(id, AppendCloneLocked(*impl_, name, p->second.point));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

Result<PinBudget> Store::CheckPinBudget(VolumeId volume, PinAt at,
                                        uint64_t budget_bytes) const {
  if (budget_bytes == 0) {
    return Status::InvalidArgument("history budget of 0 bytes: no budget, nothing to check");
  }
  const uint64_t written = impl_->write_stored_bytes_.load();
  int64_t ignored = 0;
  ASSIGN_OR_RETURN(PointInTime pit, impl_->PinPointLocked(volume, at, &ignored));
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  if (!impl_->volumes_.count(volume.value)) {
    return Status::NotFound("no volume " + volume.ToString());
  }
  const auto& pass = impl_->pass_;
  PinBudget b;
  b.budget_bytes = budget_bytes;
  b.at_head = pit.timeline == impl_->volumes_.at(volume.value).head &&
              pit.lsn.value >= impl_->last_lsn_.load();
  if (pass.valid) {
    const uint64_t since = written - std::min(written, pass.written_stored_at);
    const auto& per_volume = b.at_head ? pass.live_stored_bytes : pass.history_stored_bytes;
    auto own = per_volume.find(volume.value);
    b.floor_bytes = pass.floor_stored_bytes + since;
    b.new_pin_bytes = (own == per_volume.end() ? 0 : own->second) + since;
  } else {
    // No pass since open: nothing measured, so all of the log counts as unreclaimable.
    b.floor_bytes = impl_->log_bytes_.load();
    b.new_pin_bytes = b.floor_bytes;
  }
  b.fits = b.floor_bytes + b.new_pin_bytes <= budget_bytes;
  return b;
}

}  // namespace rwd::store
