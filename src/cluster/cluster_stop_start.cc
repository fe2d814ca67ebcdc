// StopDBCluster and StartDBCluster: the requests, their journaled background operations and
// their recovery after a crash.
//
//   stop:  available -> stopping -> stopped. Every engine of the cluster is stopped gracefully
//          (journal step engines_stopped), then the volume is unmounted (unmounted); the
//          instances go stopping -> stopped. An engine that cannot be stopped fails the stop
//          (kClusterStopFailed): the cluster serves on, available.
//   start: stopped -> starting -> available. The volume's head is mounted (mounted), the
//          writer's engine started (engines_started); the instances go starting -> available.
//          A start that fails is rolled back: nothing runs, nothing is mounted, the cluster is
//          stopped again (and may be started again once the cause is gone).
// After each recorded step a failpoint `cluster.stop.<step>` / `cluster.start.<step>` lets a
// test kill rewindd there; `cluster.stop.requested` / `cluster.start.requested` are the points
// right after the request was journaled and its status written.
//
// Recovery (RecoverStopStart, from the journal and the row's status, never from clocks): a
// cluster left "stopping" is stopped (the crash stopped its engine and its mount already; what is
// left of them is cleared), one left "starting" is started, one "stopped" stays stopped with
// nothing mounted and no engine. A stop or start op whose status write never happened (the row
// still shows the old status) ended with the crash: it is recorded failed, nothing was done.
//
// While stopped, the cleaner keeps applying the backtrack window (as for an available cluster):
// history older than now - window goes, so a cluster started again has the window it would have
// had running. Backtracking itself is refused while stopped, as in Aurora.
#include <cstdio>

#include "cluster/service_impl.h"
#include "common/failpoint.h"

namespace rwd::cluster {

bool IsStoppedOrStarting(ClusterStatus status) {
  return status == ClusterStatus::kStopped || status == ClusterStatus::kStopping ||
         status == ClusterStatus::kStarting;
}

void ClusterService::Impl::SetInstancesStatus(const std::string& cluster_id,
                                              InstanceStatus status,
                                              std::optional<EventKind> event) {
  for (const InstanceRow& i : InstancesOf(cluster_id)) {
    if (i.status == InstanceStatus::kDeleting) continue;  // its own deletion owns it
    SaveInstanceStatus(i, status);
    if (event) Event(i.id, *event);
  }
}

void ClusterService::Impl::StartReaders(const std::string& cluster_id) {
  // Each started on its own (it resumes replication by itself, from its datadir's settings);
  // one that cannot start is marked failed by DoStartReader, the cluster serves on.
  for (const InstanceRow& r : ReadersOf(cluster_id)) {
    Async([this, id = r.id] { DoStartReader(id, /*after_exit=*/false); });
  }
  RefreshReaderEndpoint(cluster_id);
}

// ---- The requests ----

Result<ClusterView> ClusterService::Impl::BeginStopStart(OpKind kind, ClusterRow row) {
  const bool stop = kind == OpKind::kStop;
  // The journal's row first: a crash before the status is written leaves an op the recovery
  // ends failed (SettleStopStartOp), nothing done.
  Operation op{.kind = kind, .target = row.id};
  RETURN_IF_ERROR(BeginOp(&op));
  row.status = stop ? ClusterStatus::kStopping : ClusterStatus::kStarting;
  if (Status s = meta_->PutCluster(row); !s.ok()) {
    FinishOp(&op, s);
    return s;
  }
  SetInstancesStatus(row.id, stop ? InstanceStatus::kStopping : InstanceStatus::kStarting,
                     std::nullopt);
  ASSIGN_OR_RETURN(ClusterView v, View(row));
  Async([this, op, row, stop] {
    if (stop) DoStop(op, row);
    else DoStart(op, row);
  });
  return v;
}

Result<ClusterView> ClusterService::StopCluster(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(id));
  if (row.status != ClusterStatus::kAvailable) {
    return InvalidState(Reason::kClusterNotStoppable, {.id = row.id, .cluster_status = row.status});
  }
  for (const InstanceRow& i : impl_->InstancesOf(row.id)) {
    if (i.status != InstanceStatus::kAvailable && i.status != InstanceStatus::kFailed) {
      return InvalidInstanceState(Reason::kInstanceBlocksStop,
                                  {.id = i.id, .other = row.id, .instance_status = i.status});
    }
  }
  return impl_->BeginStopStart(OpKind::kStop, std::move(row));
}

Result<ClusterView> ClusterService::StartCluster(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(id));
  if (row.status != ClusterStatus::kStopped) {
    return InvalidState(Reason::kClusterNotStartable, {.id = row.id, .cluster_status = row.status});
  }
  return impl_->BeginStopStart(OpKind::kStart, std::move(row));
}

// ---- The operations ----

void ClusterService::Impl::DoStop(Operation op, ClusterRow row) {
  auto made = HostFor(row);
  std::shared_ptr<ClusterHost> host = made.ok() ? *made : nullptr;
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  Failpoint("cluster.stop.requested");
  // The stop is undone: whatever was stopped serves again.
  auto fail = [&](const Status& why) {
    std::fprintf(stderr, "rewindd: stopping cluster %s failed: %s\n", row.id.c_str(),
                 why.ToString().c_str());
    const bool has_writer = !InstancesOf(row.id).empty();
    Status up = !host ? made.status() : has_writer ? host->Serve() : host->Prepare();
    SetInstancesStatus(row.id, up.ok() ? InstanceStatus::kAvailable : InstanceStatus::kFailed,
                       std::nullopt);
    Status s = SetClusterStatus(row.id, up.ok() ? ClusterStatus::kAvailable : ClusterStatus::kFailed);
    if (!s.ok()) {
      std::fprintf(stderr, "rewindd: recording the failed stop of %s: %s\n", row.id.c_str(),
                   s.ToString().c_str());
    }
    Event(row.id, EventKind::kClusterStopFailed, why.message());
    FinishOp(&op, why);
    if (up.ok()) StartReaders(row.id);
  };
  if (!host) return fail(made.status());
  // Every step is done again when resumed (each is idempotent); only its record is not.
  // Readers first (lock order: the writer's host, then its readers'): each halted, unmounted.
  StopReaderEndpoint(row.id);
  for (auto& [inst, reader] : ReaderHostsOf(row.id)) {
    std::lock_guard<std::mutex> rl(reader->op_mutex());
    if (Status r = reader->Halt(HaltMode::kGraceful); !r.ok()) {
      return fail(r.WithContext("stopping reader " + inst.id));
    }
  }
  Status s = host->StopEngine();
  if (!s.ok()) return fail(s.WithContext("stopping the engine"));
  if (op.step < OpStep::kEnginesStopped) {
    s = RecordStep(&op, OpStep::kEnginesStopped);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.stop.engines_stopped");
  }
  // The engine is stopped: Halt only unmounts (or detaches a mount a dead rewindd left). A busy
  // unmount is detached all the same: nothing is left mounted either way.
  if (Status h = host->Halt(HaltMode::kGraceful); !h.ok()) {
    std::fprintf(stderr, "rewindd: unmounting stopped cluster %s: %s\n", row.id.c_str(),
                 h.ToString().c_str());
  }
  if (op.step < OpStep::kUnmounted) {
    s = RecordStep(&op, OpStep::kUnmounted);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.stop.unmounted");
  }
  s = SetClusterStatus(row.id, ClusterStatus::kStopped);
  if (!s.ok()) return fail(s);
  SetInstancesStatus(row.id, InstanceStatus::kStopped, EventKind::kInstanceStopped);
  FinishOp(&op, Status::Ok());
  Event(row.id, EventKind::kClusterStopped);
}

void ClusterService::Impl::DoStart(Operation op, ClusterRow row) {
  auto made = HostFor(row);
  std::shared_ptr<ClusterHost> host = made.ok() ? *made : nullptr;
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  Failpoint("cluster.start.requested");
  // The start is rolled back: the cluster is stopped again, nothing runs, nothing is mounted.
  auto fail = [&](const Status& why) {
    std::fprintf(stderr, "rewindd: starting cluster %s failed: %s\n", row.id.c_str(),
                 why.ToString().c_str());
    Status down = host ? host->Halt(HaltMode::kGraceful) : Status::Ok();
    // An engine that started and now cannot be stopped serves: the cluster is marked failed
    // (RebootDBInstance or a delete deal with it) rather than shown stopped.
    const bool engine_runs = host && host->serving();
    if (!down.ok()) {
      std::fprintf(stderr, "rewindd: rolling back the start of %s: %s\n", row.id.c_str(),
                   down.ToString().c_str());
    }
    SetInstancesStatus(row.id, engine_runs ? InstanceStatus::kFailed : InstanceStatus::kStopped,
                       std::nullopt);
    Status s = SetClusterStatus(row.id, engine_runs ? ClusterStatus::kFailed
                                                    : ClusterStatus::kStopped);
    if (!s.ok()) {
      std::fprintf(stderr, "rewindd: recording the failed start of %s: %s\n", row.id.c_str(),
                   s.ToString().c_str());
    }
    Event(row.id, EventKind::kClusterStartFailed, why.message());
    FinishOp(&op, why);
  };
  if (!host) return fail(made.status());
  // Resumed after a crash, every step is done again (a mount and an engine do not outlive
  // rewindd; each verb is idempotent); only its record is not.
  Status s = host->MountHead();
  if (s.ok() && op.step < OpStep::kMounted) {
    s = RecordStep(&op, OpStep::kMounted);
    if (s.ok()) Failpoint("cluster.start.mounted");
  }
  if (!s.ok()) return fail(s);
  // A cluster without an instance has no engine to start: mounted and ready, as after its
  // creation.
  const bool has_writer = !InstancesOf(row.id).empty();
  s = has_writer ? host->Serve() : host->Prepare();
  if (!s.ok()) {
    // A store that refused a device sync refuses writes until rewindd reopens it.
    if (Status h = store_->health(); !h.ok()) s = h.WithContext("restart rewindd to reopen the store");
    return fail(s);
  }
  if (op.step < OpStep::kEnginesStarted) {
    s = RecordStep(&op, OpStep::kEnginesStarted);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.start.engines_started");
  }
  s = SetClusterStatus(row.id, ClusterStatus::kAvailable);
  if (!s.ok()) return fail(s);
  SetInstancesStatus(row.id, InstanceStatus::kAvailable, EventKind::kInstanceStarted);
  FinishOp(&op, Status::Ok());
  Event(row.id, EventKind::kClusterStarted);
  StartReaders(row.id);
}

// ---- Recovery ----

void ClusterService::Impl::SettleStopStartOp(const ClusterRow& row, Operation* op) {
  // Its status was written after its last step: then the op is whole, its end only missing.
  const bool whole = (op->kind == OpKind::kStop && row.status == ClusterStatus::kStopped) ||
                     (op->kind == OpKind::kStart && row.status == ClusterStatus::kAvailable &&
                      op->step >= OpStep::kEnginesStarted);
  FinishOp(op, whole ? Status::Ok()
                     : Status::Unavailable("interrupted by a restart before it began"));
}

Status ClusterService::Impl::RecoverStopStart(ClusterRow row, std::optional<Operation> op) {
  const OpKind wanted = row.status == ClusterStatus::kStarting ? OpKind::kStart : OpKind::kStop;
  if (op && (row.status == ClusterStatus::kStopped || op->kind != wanted)) {
    SettleStopStartOp(row, &*op);
    op.reset();
  }
  if (row.volume_id == 0) {
    // Its volume is gone from the store: nothing can serve it; it stays, failed, until deleted.
    row.status = ClusterStatus::kFailed;
    RETURN_IF_ERROR(meta_->PutCluster(row));
    if (op) FinishOp(&*op, Status::Unavailable("the cluster's volume is missing"));
    SetInstancesStatus(row.id, InstanceStatus::kFailed, std::nullopt);
    return Status::Ok();
  }
  if (row.status == ClusterStatus::kStopped) {
    // Stays stopped: no engine, nothing mounted (a mount a dead rewindd left is detached).
    ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> host, HostFor(row));
    {
      std::lock_guard<std::mutex> ol(host->op_mutex());
      RETURN_IF_ERROR(host->Halt(HaltMode::kGraceful));
    }
    for (auto& [inst, reader] : ReaderHostsOf(row.id)) {
      KillServerOf(ReaderRunDir(inst.id));  // a server an earlier rewindd left running
      std::lock_guard<std::mutex> rl(reader->op_mutex());
      RETURN_IF_ERROR(reader->Halt(HaltMode::kGraceful).WithContext("reader " + inst.id));
    }
    for (const InstanceRow& i : InstancesOf(row.id)) {
      if (i.status != InstanceStatus::kStopped && i.status != InstanceStatus::kDeleting) {
        SaveInstanceStatus(i, InstanceStatus::kStopped);
      }
    }
    return Status::Ok();
  }
  // Stopping or starting: resumed from its journaled step (a new op if the journal lost it).
  Operation resumed{.kind = wanted, .target = row.id};
  if (op) resumed = *op;
  else RETURN_IF_ERROR(BeginOp(&resumed));
  if (wanted == OpKind::kStop) {
    Async([this, resumed, row] { DoStop(resumed, row); });
  } else {
    Async([this, resumed, row] { DoStart(resumed, row); });
  }
  return Status::Ok();
}

}  // namespace rwd::cluster
