// Helpers shared by the files that implement Store: store.cc (opening, closing, figures),
// store_open.cc (recovery), store_read.cc and store_apply.cc (the index), store_log.cc (the log),
// store_write.cc (file-system mutations), store_volumes.cc (timelines and volumes) and
// store_pins.cc (pins). Internal to src/store, like store_impl.h, which it includes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "store/store_impl.h"

namespace rwd::store {
namespace store_internal {

// "No limit": as an LSN, the head of a timeline; as a size, never truncated.
inline constexpr uint64_t kMaxLsn = std::numeric_limits<uint64_t>::max();

// The n bytes at p are all zeros (store_log.cc).
bool AllZero(const char* p, size_t n);

// ---- volumes (store_volumes.cc) ----
// The state of `volume` at `time_ns` (Store::Resolve); errors as Store::Resolve. Reads volumes_
// and time_index_ (Resolve and PinPointLocked hold index_mu_ shared; Rewind and Clone write_mu_).
Result<PointInTime> ResolveLocked(const Store::Impl& impl, VolumeId volume, int64_t time_ns,
                                  int64_t now_ns);
// AlreadyExists if a live volume is named `name`. Caller holds write_mu_.
Status VolumeNameFreeLocked(const Store::Impl& impl, std::string_view name);
// Appends the Clone record of a new volume `name` (free: VolumeNameFreeLocked) branching from
// `from`. Caller holds write_mu_; `from` was resolved under it.
Result<VolumeId> AppendCloneLocked(Store::Impl& impl, std::string_view name, PointInTime from);

}  // namespace store_internal

// In a Store method: `var` is timeline `id`, or the method returns NotFound.
#define RWD_TIMELINE_OR_RETURN(var, id)                                     \
  const Timeline* var = impl_->FindTimeline(id);                            \
  if (!var) return Status::NotFound("no timeline " + (id).ToString())

}  // namespace rwd::store
