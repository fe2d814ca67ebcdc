// BacklogGate: the local-buffer policy of rewindd --object-store --local-history-budget
// (--upload-backlog-policy; docs/format/object-store.md, "The local buffer"). The local log is
// the buffer of uploads: while the bucket is down or slow, nothing can be evicted and the log
// grows past the budget. Once it holds more than budget + headroom bytes while uploads are
// behind, the local buffer is full and the policy applies:
//   kBackPressure (the default): every store write waits (Admit blocks) until uploads have
//     caught up (or the log is back under the limit); commits wait, none is lost.
//   kGrow: writes go on past the budget (the disk is the limit; a full disk then fails writes
//     as without an object store, store's sticky error, never silently).
// Either way on_state(true, why) says so once (an event, a log line), on_state(false, …) when it
// is over, and stats() feeds /metrics. Nothing is ever dropped.
//
// The inputs are functions (the store's LocalLogBytes(), the shipper's "behind"), evaluated at
// most every recheck_ms by the writers themselves, and at once after Recheck() (rewindd calls it
// after every shipper pass, after eviction). Release() opens the gate for good (rewindd's
// shutdown: engines must be able to flush; what they write stays local until a later upload).
//
// Thread safety: every method from any thread; on_state is called outside the gate's lock from
// whichever thread saw the change.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/write_gate.h"

namespace rwd::objstore {

enum class BacklogPolicy { kBackPressure, kGrow };

// "back-pressure" | "grow"; kInvalidArgument naming the choices otherwise.
Result<BacklogPolicy> ParseBacklogPolicy(std::string_view name);
const char* BacklogPolicyName(BacklogPolicy policy);

struct BacklogGateOptions {
  BacklogPolicy policy = BacklogPolicy::kBackPressure;
  uint64_t budget_bytes = 0;     // --local-history-budget
  uint64_t headroom_bytes = 256ull << 20;  // over the budget before the buffer is full
  int64_t recheck_ms = 100;
};

struct BacklogGateSources {
  std::function<uint64_t()> local_log_bytes;  // required
  std::function<bool()> uploads_behind;       // required: durable log not yet in the bucket
  std::function<void(bool full, const std::string& why)> on_state;  // optional
};

struct BacklogGateStats {
  bool full = false;             // the local buffer is full now (the policy applies)
  uint64_t full_episodes = 0;    // times it became full
  uint64_t writes_waiting = 0;   // writes held back now (kBackPressure)
  uint64_t writes_held = 0;      // writes that waited, since start
  double wait_seconds = 0;       // total time writes waited
};

class BacklogGate : public store::WriteGate {
 public:
  // kInvalidArgument when a required source is missing.
  static Result<std::unique_ptr<BacklogGate>> Create(BacklogGateOptions options,
                                                     BacklogGateSources sources);
  // Ok at once while the buffer is not full, or for kGrow, or after Release(); for
  // kBackPressure blocks until it is no longer full. Never fails.
  Status Admit() override;
  void Recheck();
  void Release();
  uint64_t limit_bytes() const { return options_.budget_bytes + options_.headroom_bytes; }
  BacklogGateStats stats() const;

 private:
  BacklogGate(BacklogGateOptions options, BacklogGateSources sources);
  // Re-evaluates now (caller holds no lock); returns whether the buffer is full.
  bool Evaluate();

  const BacklogGateOptions options_;
  const BacklogGateSources sources_;
  std::atomic<bool> full_{false};
  std::atomic<int64_t> next_check_ns_{0};
  std::atomic<bool> released_{false};
  mutable std::mutex mu_;  // guards the state change and the counters below
  std::condition_variable cv_;
  BacklogGateStats stats_;
};

}  // namespace rwd::objstore
