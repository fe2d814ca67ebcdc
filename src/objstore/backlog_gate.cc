#include "objstore/backlog_gate.h"

#include <chrono>

namespace rwd::objstore {

namespace {
int64_t MonoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Result<BacklogPolicy> ParseBacklogPolicy(std::string_view name) {
  if (name == "back-pressure") return BacklogPolicy::kBackPressure;
  if (name == "grow") return BacklogPolicy::kGrow;
  return Status::InvalidArgument("unknown upload backlog policy '" + std::string(name) +
                                 "': use back-pressure (commits wait) or grow (the local log "
                                 "grows past --local-history-budget)");
}

const char* BacklogPolicyName(BacklogPolicy policy) {
  return policy == BacklogPolicy::kGrow ? "grow" : "back-pressure";
}

Result<std::unique_ptr<BacklogGate>> BacklogGate::Create(BacklogGateOptions options,
                                                         BacklogGateSources sources) {
  if (!sources.local_log_bytes || !sources.uploads_behind) {
    return Status::InvalidArgument("a backlog gate needs local_log_bytes and uploads_behind");
  }
  return std::unique_ptr<BacklogGate>(new BacklogGate(options, std::move(sources)));
}

BacklogGate::BacklogGate(BacklogGateOptions options, BacklogGateSources sources)
    : options_(options), sources_(std::move(sources)) {}

bool BacklogGate::Evaluate() {
  next_check_ns_.store(MonoNs() + options_.recheck_ms * 1'000'000);
  const uint64_t local = sources_.local_log_bytes();
  const bool full = local > limit_bytes() && sources_.uploads_behind();
  bool changed = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (full != stats_.full) {
      changed = true;
      stats_.full = full;
      if (full) stats_.full_episodes++;
      full_.store(full);
    }
  }
  if (!full) cv_.notify_all();
  if (changed && sources_.on_state) {
    const std::string size = std::to_string(local >> 20) + " MiB";
    const std::string limit = std::to_string(limit_bytes() >> 20) + " MiB";
    sources_.on_state(
        full, full ? "the local log (" + size + ") is past the local history budget plus headroom (" +
                         limit + ") while uploads to the object store are behind; policy " +
                         BacklogPolicyName(options_.policy) +
                         (options_.policy == BacklogPolicy::kBackPressure
                              ? ": writes wait until uploads catch up"
                              : ": writes go on, the local log grows past the budget")
                   : "the local log (" + size + ") has room again (limit " + limit + ")");
  }
  return full;
}

Status BacklogGate::Admit() {
  if (released_.load()) return Status::Ok();
  bool full = MonoNs() >= next_check_ns_.load() ? Evaluate() : full_.load();
  if (!full || options_.policy == BacklogPolicy::kGrow) return Status::Ok();
  const int64_t t0 = MonoNs();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.writes_waiting++;
    stats_.writes_held++;
  }
  while (full && !released_.load()) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(options_.recheck_ms),
                   [&] { return !full_.load() || released_.load(); });
    }
    full = Evaluate();
  }
  std::lock_guard<std::mutex> lk(mu_);
  stats_.writes_waiting--;
  stats_.wait_seconds += static_cast<double>(MonoNs() - t0) / 1e9;
  return Status::Ok();
}

void BacklogGate::Recheck() { Evaluate(); }

void BacklogGate::Release() {
  released_.store(true);
  std::lock_guard<std::mutex> lk(mu_);
  cv_.notify_all();
}

BacklogGateStats BacklogGate::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

}  // namespace rwd::objstore
