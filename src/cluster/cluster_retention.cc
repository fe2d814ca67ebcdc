// Retention: every cluster's retention floor raised to the start of its backtrack window (or
// further, over the history budget), the store cleaned, window alerts raised and cleared.
#include <algorithm>
#include <cstdio>

#include "cluster/service_impl.h"

namespace rwd::cluster {

namespace {
// The rewrite threshold of the cleaner's passes while the log is over the history budget.
constexpr double kOverBudgetRewriteBelowLiveFraction = 0.9;
}  // namespace

// ---------------------------------------------------------------------------------------------
// Retention

void ClusterService::Impl::EveryInterval(int64_t interval_ms, const std::function<void()>& tick) {
  std::unique_lock<std::mutex> lk(cleaner_mu_);
  while (!stop_cleaner_) {
    cleaner_cv_.wait_for(lk, std::chrono::milliseconds(interval_ms),
                         [this] { return stop_cleaner_; });
    if (stop_cleaner_) break;
    lk.unlock();
    tick();
    lk.lock();
  }
}

void ClusterService::Impl::CleanOnce() {
  Result<store::CleanReport> r = RetentionPass();
  if (!r.ok()) std::fprintf(stderr, "rewindd: retention pass: %s\n", r.status().ToString().c_str());
}

// Floors: each cluster's state from the start of its window on stays; `push` also moves every
// floor halfway to now (the history budget is exceeded). A cluster whose backtrack or clone was
// validated against its floor and is under way keeps its floor until that is done.
Status ClusterService::Impl::RaiseFloors(int64_t now, bool push) {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  std::set<std::string> frozen;
  for (const auto& r : rows) {
    // A stopped cluster's window keeps moving, as a running one's (cluster_stop_start.cc).
    if (r.status != ClusterStatus::kAvailable && r.status != ClusterStatus::kFailed &&
        r.status != ClusterStatus::kStopped) {
      frozen.insert(r.id);
    }
    // (A peer clone's source is the peer's: nothing here to hold.)
    if (r.status == ClusterStatus::kCreating && !r.source_cluster.empty() &&
        r.source_peer.empty()) {
      frozen.insert(r.source_cluster);
    }
  }
  for (const auto& r : rows) {
    auto vol = VolumeOf(r);
    if (!vol.ok() || frozen.count(r.id)) continue;
    int64_t floor = now - r.backtrack_window_s * kNsPerSec;
    if (push) floor = std::max(floor, vol->retained_from_ns + (now - vol->retained_from_ns) / 2);
    if (floor > vol->retained_from_ns) {
      RETURN_IF_ERROR(store_->SetRetention(vol->id, floor).status());
    }
  }
  return RaiseReaderFloors(now);
}

// Inodes the kernel still holds on each mount: an unlinked one's data must stay readable.
void ClusterService::Impl::CollectMounts(MountState* state) {
  auto& known = state->known;
  auto& busy = state->busy;
  auto& mount_stats = state->stats;
  {
    std::vector<std::pair<std::string, std::shared_ptr<ClusterHost>>> hosts;
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (const auto& [id, host] : hosts_) hosts.emplace_back(id, host);
    }
    // Readers' mounts: their open unlinked files must stay readable too.
    std::vector<std::pair<std::string, std::shared_ptr<ClusterHost>>> readers;
    {
      std::lock_guard<std::mutex> lk(readers_mu_);
      for (const auto& [id, host] : reader_hosts_) readers.emplace_back(id, host);
    }
    for (const auto& [id, host] : readers) {
      {
        std::unique_lock<std::mutex> ol(host->op_mutex(), std::try_to_lock);
        if (!ol.owns_lock()) {
          // Being re-provisioned or deleted: its volume's timelines stay whole this pass.
          auto inst = GetInstanceRow(id);
          if (inst.ok() && *inst && (*inst)->volume_id != 0) {
            if (auto vol = store_->GetVolume(store::VolumeId((*inst)->volume_id)); vol.ok()) {
              for (const auto& h : vol->history) busy.insert(h.timeline.value);
            }
          }
          continue;
        }
        if (std::optional<MountSnapshot> mount = host->Inspect()) {
          known[mount->timeline.value].insert(mount->known_inodes.begin(),
                                              mount->known_inodes.end());
        }
      }
    }
    for (const auto& [id, host] : hosts) {
      std::unique_lock<std::mutex> ol(host->op_mutex(), std::try_to_lock);
      if (!ol.owns_lock()) {
        // Busy (a backtrack remounts it): every unlinked file of its timelines stays this pass.
        auto row = meta_->GetCluster(id);
        auto vol = row.ok() && *row ? VolumeOf(**row)
                                    : Result<store::VolumeInfo>(Status::NotFound(id));
        if (vol.ok()) {
          for (const auto& h : vol->history) busy.insert(h.timeline.value);
        }
        continue;
      }
      std::optional<MountSnapshot> mount = host->Inspect();
      if (!mount) continue;
      known[mount->timeline.value].insert(mount->known_inodes.begin(), mount->known_inodes.end());
      mount_stats[id] = mount->stats;
    }
  }
}

// The per-cluster figures after a pass; returns the clusters whose window alert changed (id,
// new state).
Result<std::vector<std::pair<std::string, bool>>> ClusterService::Impl::UpdateFigures(
    const store::CleanReport& total, const std::map<std::string, fs::MountStats>& mount_stats,
    int64_t now) {
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  std::vector<std::pair<std::string, bool>> alerts;  // cluster, new alert state
  {
    std::lock_guard<std::mutex> lk(retention_mu_);
    const double dt = last_pass_ns_ > 0 ? static_cast<double>(now - last_pass_ns_) / 1e9 : 0;
    std::map<std::string, ClusterRetention> next;
    for (const auto& r : rows) {
      auto vol = VolumeOf(r);
      if (!vol.ok()) continue;
      ClusterRetention c;
      auto prev = retention_.find(r.id);
      if (prev != retention_.end()) c = prev->second;
      c.id = r.id;
      c.window_target_s = r.backtrack_window_s;
      const int64_t earliest = std::max(vol->created_ns, vol->retained_from_ns);
      c.window_actual_s = r.backtrack_window_s == 0
                              ? 0
                              : std::min(r.backtrack_window_s, (now - earliest) / kNsPerSec);
      // The window is short of its target because the budget moved the floor past the start of
      // the window (a young cluster's window is still filling: no alert).
      const bool cut = r.backtrack_window_s > 0 &&
                       vol->retained_from_ns > std::max(vol->created_ns,
                                                        now - r.backtrack_window_s * kNsPerSec) +
                                                   kNsPerSec;
      if (cut != c.alert) alerts.emplace_back(r.id, cut);
      c.alert = cut;
      auto vs = total.volumes.find(vol->id.value);
      if (vs != total.volumes.end()) {
        c.change_records = vs->second.change_records;
        c.history_bytes = vs->second.history_bytes;
        c.live_bytes = vs->second.live_bytes;
        c.history_stored_bytes = vs->second.history_stored_bytes;
        c.live_stored_bytes = vs->second.live_stored_bytes;
      }
      auto ms = mount_stats.find(r.id);
      if (ms != mount_stats.end()) {
        const uint64_t before = c.mount.writes;
        const uint64_t after = ms->second.writes;
        c.change_records_per_s =
            dt > 0 ? static_cast<double>(after >= before ? after - before : after) / dt : 0;
        c.change_records_created += after >= before ? after - before : after;
        c.mount = ms->second;
      }
      next[r.id] = c;
    }
    retention_.swap(next);
    last_pass_ns_ = now;
    ++totals_.clean_passes;
    totals_.versions_dropped_total += total.versions_dropped;
    totals_.segments_rewritten_total += total.segments_rewritten;
    if (total.bytes_before > total.bytes_after) {
      totals_.bytes_reclaimed_total += total.bytes_before - total.bytes_after;
    }
    totals_.last_pass_seconds = total.seconds;
    totals_.last_pass_end_ns = NowNs();
  }
  return alerts;
}

Result<store::CleanReport> ClusterService::Impl::RetentionPass() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  // Old events go with every pass; a failure here does not stop the cleaning.
  if (Result<int64_t> pruned = PruneEvents(); !pruned.ok()) {
    std::fprintf(stderr, "rewindd: pruning events: %s\n", pruned.status().ToString().c_str());
  }
  const int64_t now = NowNs();

  MountState mounts;
  CollectMounts(&mounts);
  RETURN_IF_ERROR(RaiseFloors(now, false));
  store::CleanOptions co = options_.clean;
  co.in_use = [&known = mounts.known, &busy = mounts.busy](store::TimelineId tl,
                                                          store::InodeId ino) {
    if (busy.count(tl.value)) return true;
    auto it = known.find(tl.value);
    return it != known.end() && it->second.count(ino.value) > 0;
  };
  ASSIGN_OR_RETURN(store::CleanReport report, store_->Clean(co));
  store::CleanReport total = report;
  for (int i = 0; i < 8 && options_.history_budget_bytes > 0 &&
                  report.bytes_after > options_.history_budget_bytes;
       ++i) {
    RETURN_IF_ERROR(RaiseFloors(now, true));
    // Over the budget, a segment half live is worth rewriting too: at the usual threshold the
    // log may hold twice its live data, and the window would stay cut to nothing while the live
    // data alone fits the budget.
    co.rewrite_below_live_fraction =
        std::max(co.rewrite_below_live_fraction, kOverBudgetRewriteBelowLiveFraction);
    ASSIGN_OR_RETURN(report, store_->Clean(co));
    total.versions_dropped += report.versions_dropped;
    total.segments_rewritten += report.segments_rewritten;
    total.bytes_after = report.bytes_after;
    total.volumes = report.volumes;
    total.seconds += report.seconds;
  }

  ASSIGN_OR_RETURN(auto alerts, UpdateFigures(total, mounts.stats, now));
  for (const auto& [id, on] : alerts) Event(id, on ? EventKind::kWindowCut : EventKind::kWindowBack);
  return total;
}


Result<store::CleanReport> ClusterService::CleanNow() { return impl_->RetentionPass(); }

RetentionMetrics ClusterService::Retention() {
  RetentionMetrics m;
  m.store = impl_->store_->stats();
  std::lock_guard<std::mutex> lk(impl_->retention_mu_);
  m.clean_passes = impl_->totals_.clean_passes;
  m.versions_dropped_total = impl_->totals_.versions_dropped_total;
  m.segments_rewritten_total = impl_->totals_.segments_rewritten_total;
  m.bytes_reclaimed_total = impl_->totals_.bytes_reclaimed_total;
  m.last_pass_seconds = impl_->totals_.last_pass_seconds;
  m.last_pass_end_ns = impl_->totals_.last_pass_end_ns;
  m.history_budget_bytes = impl_->options_.history_budget_bytes;
  for (const auto& [id, c] : impl_->retention_) m.clusters.push_back(c);
  return m;
}


}  // namespace rwd::cluster
