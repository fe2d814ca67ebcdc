// The cluster service's background operations: each runs one journaled operation (begun by the
// request that asked for it, or by recovery) on the cluster's host, holding the host's
// operation lock from its first step to its last. After each step is recorded in the journal a
// failpoint `cluster.<operation>.<step>` lets a test kill rewindd there (src/common/failpoint.h).
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cluster/service_impl.h"
#include "common/failpoint.h"

namespace rwd::cluster {

void ClusterService::Impl::FinishOp(Operation* op, const Status& outcome) {
  Status s = journal_.Finish(op, outcome.ok() ? OpState::kDone : OpState::kFailed,
                             outcome.ok() ? "" : outcome.message());
  if (!s.ok()) {
    std::fprintf(stderr, "rewindd: recording the end of %s operation %lld on %s: %s\n",
                 OpKindName(op->kind), static_cast<long long>(op->id), op->target.c_str(),
                 s.ToString().c_str());
  }
}

void ClusterService::Impl::MarkClusterFailed(const std::string& id) {
  if (Status s = SetClusterStatus(id, ClusterStatus::kFailed); !s.ok()) {
    std::fprintf(stderr, "rewindd: marking %s failed: %s\n", id.c_str(), s.ToString().c_str());
  }
}

Status ClusterService::Impl::SetClusterVolume(const std::string& id, store::VolumeId volume) {
  ASSIGN_OR_RETURN(std::optional<ClusterRow> row, meta_->GetCluster(id));
  if (!row) return Status::NotFound("cluster " + id + " vanished");
  row->volume_id = static_cast<int64_t>(volume.value);
  return meta_->PutCluster(*row);
}

void ClusterService::Impl::DoRecoverEngine(const std::string& cluster_id) {
  std::shared_ptr<ClusterHost> host = FindHost(cluster_id);
  if (!host) return;  // deleted meanwhile
  std::lock_guard<std::mutex> ol(host->op_mutex());
  auto writer = WriterOf(cluster_id);
  // Stopped on purpose meanwhile (backtrack, delete, shutdown), or restarted already.
  if (!host->has_engine() || host->serving() || !host->mounted() || !writer ||
      writer->status == InstanceStatus::kDeleting) {
    return;
  }
  auto set_status = [&](InstanceStatus s) {
    writer->status = s;
    SaveInstanceStatus(*writer, s);
  };
  set_status(InstanceStatus::kRebooting);
  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = host->Serve();
    if (s.ok()) break;
    std::this_thread::sleep_for(std::chrono::seconds(1 << attempt));
  }
  if (!s.ok()) {
    set_status(InstanceStatus::kFailed);
    Event(writer->id, EventKind::kInstanceRestartFailed, s.message());
    return;
  }
  set_status(InstanceStatus::kAvailable);
  Event(writer->id, EventKind::kInstanceRestartedAfterExit);
}

void ClusterService::Impl::DoCreate(Operation op, ClusterRow row, std::string master_password) {
  auto made = HostFor(row);
  std::shared_ptr<ClusterHost> host = made.ok() ? *made : nullptr;
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: creating cluster %s failed: %s\n", row.id.c_str(),
                 s.ToString().c_str());
    MarkClusterFailed(row.id);
    Event(row.id, EventKind::kClusterCreationFailed, s.message());
    FinishOp(&op, s);
  };
  if (!host) return fail(made.status());
  if (!host->volume().valid()) {
    Result<store::VolumeId> vol = host->MakeVolume(row.volume);
    if (!vol.ok()) return fail(vol.status());
    op.volume_id = static_cast<int64_t>(vol->value);
    Status s = SetClusterVolume(row.id, *vol);
    if (s.ok()) s = RecordStep(&op, OpStep::kVolumeMade);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.create.volume_made");
  }
  Status s = host->Initialize(row.master_username, master_password, row.database_name);
  if (s.ok()) s = RecordStep(&op, OpStep::kInitialized);
  if (!s.ok()) return fail(s);
  Failpoint("cluster.create.initialized");
  s = SetClusterStatus(row.id, ClusterStatus::kAvailable);
  if (!s.ok()) return fail(s);
  FinishOp(&op, Status::Ok());
  Event(row.id, EventKind::kClusterCreated);
}

void ClusterService::Impl::DoClone(Operation op, ClusterRow row) {
  // Both hosts are found before the clone's lock is taken (mu_ is never taken under it).
  auto src = meta_->GetCluster(op.ref);
  auto src_made = src.ok() && *src ? HostFor(**src)
                                   : Result<std::shared_ptr<ClusterHost>>(
                                         Status::NotFound("source cluster vanished"));
  auto made = HostFor(row);
  std::shared_ptr<ClusterHost> host = made.ok() ? *made : nullptr;
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: cloning %s failed: %s\n", row.id.c_str(), s.ToString().c_str());
    MarkClusterFailed(row.id);
    Event(row.id, EventKind::kCloneFailed, s.message());
    FinishOp(&op, s);
  };
  if (!host) return fail(made.status());
  if (!src_made.ok()) return fail(src_made.status());
  std::shared_ptr<ClusterHost> src_host = *src_made;
  if (!host->volume().valid()) {
    Failpoint("cluster.clone.before_store_clone");
    Result<store::VolumeId> vol =
        host->MakeClone(row.volume, store::VolumeId((*src)->volume_id), op.arg_ns);
    if (!vol.ok()) return fail(vol.status());
    op.volume_id = static_cast<int64_t>(vol->value);
    Status s = SetClusterVolume(row.id, *vol);
    if (s.ok()) s = RecordStep(&op, OpStep::kVolumeMade);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.clone.after_store_clone");
  }
  // The clone's datadir carries the source's accounts: its engine needs the source's root
  // password, kept in the clone's own run dir from now on. (The file changes only when the
  // source is created: no lock of the source's host is needed to read it.)
  Result<std::string> root_password = src_host->RootPassword();
  if (!root_password.ok()) return fail(root_password.status().WithContext("source"));
  Status s = host->SeedRunDir(*root_password);
  if (s.ok()) s = host->Prepare();
  if (s.ok()) s = RecordStep(&op, OpStep::kPrepared);
  if (!s.ok()) return fail(s);
  Failpoint("cluster.clone.prepared");
  s = SetClusterStatus(row.id, ClusterStatus::kAvailable);
  if (!s.ok()) return fail(s);
  FinishOp(&op, Status::Ok());
  Event(row.id, EventKind::kClusterCloned, op.ref);
}

void ClusterService::Impl::DoStartInstance(std::optional<Operation> op, InstanceRow inst,
                                           StartKind kind) {
  auto row = GetClusterRow(inst.cluster_id);
  auto made = !row.ok() ? Result<std::shared_ptr<ClusterHost>>(row.status())
              : inst.role == InstanceRole::kReader ? ReaderHostFor(inst, *row)
                                                   : HostFor(*row);
  auto finish = [&](const Status& s) {
    if (op) FinishOp(&*op, s);
  };
  if (!made.ok()) return finish(made.status());
  std::shared_ptr<ClusterHost> host = *made;
  std::lock_guard<std::mutex> ol(host->op_mutex());
  auto cur = GetInstanceRow(inst.id);
  auto set_status = [&](InstanceStatus s) {
    if (cur.ok() && *cur) SaveInstanceStatus(**cur, s);
  };
  if (kind != StartKind::kCreate) {
    // Deleted, or changed by another operation, since this was asked.
    // A retry queued before its cluster was stopped must not start it again.
    if (!cur.ok() || !*cur || (*cur)->status == InstanceStatus::kDeleting ||
        (*cur)->status == InstanceStatus::kCreating ||
        (*cur)->status == InstanceStatus::kStopping ||
        (*cur)->status == InstanceStatus::kStopped ||
        (*cur)->status == InstanceStatus::kStarting) {
      return finish(Status::FailedPrecondition("the instance changed meanwhile"));
    }
    if (kind == StartKind::kRetry && host->serving()) {
      // Another start won the race.
      if ((*cur)->status == InstanceStatus::kFailed) set_status(InstanceStatus::kAvailable);
      return;
    }
  }
  Status s = kind == StartKind::kReboot ? host->Reboot() : host->Serve();
  if (!s.ok()) {
    // A store that refused a device sync refuses writes until rewindd reopens it.
    if (Status h = store_->health(); !h.ok()) {
      s = h.WithContext("restart rewindd to reopen the store");
    }
    std::fprintf(stderr, "rewindd: starting instance %s failed: %s\n", inst.id.c_str(),
                 s.ToString().c_str());
    set_status(InstanceStatus::kFailed);
    // A retry that fails again says nothing new: no event every interval.
    if (kind != StartKind::kRetry) {
      Event(inst.id,
            kind == StartKind::kReboot ? EventKind::kInstanceRestartFailed
                                       : EventKind::kInstanceStartFailed,
            s.message());
    }
    return finish(s);
  }
  if (op && kind == StartKind::kCreate) Failpoint("cluster.create_instance.started");
  if (op && kind == StartKind::kReboot) Failpoint("cluster.reboot.restarted");
  // Its readers reconnect now: their account must be there (readers.cc).
  if (inst.role == InstanceRole::kWriter) KeepReplicationAccount(*host, *row);
  set_status(InstanceStatus::kAvailable);
  if (row->status == ClusterStatus::kFailed && kind != StartKind::kCreate &&
      inst.role == InstanceRole::kWriter) {
    // A backtrack that could not bring the engine back left the cluster failed: it serves again.
    if (Status st = SetClusterStatus(row->id, ClusterStatus::kAvailable); !st.ok()) {
      std::fprintf(stderr, "rewindd: marking %s available: %s\n", row->id.c_str(),
                   st.ToString().c_str());
    }
  }
  finish(Status::Ok());
  RefreshReaderEndpoint(inst.cluster_id);
  switch (kind) {
    case StartKind::kCreate: Event(inst.id, EventKind::kInstanceCreated); break;
    case StartKind::kReboot: Event(inst.id, EventKind::kInstanceRestarted); break;
    case StartKind::kRetry: Event(inst.id, EventKind::kInstanceRecovered); break;
  }
}

void ClusterService::Impl::RetryDownInstances() {
  auto all = ListInstanceRows();
  if (!all.ok()) return;
  for (const InstanceRow& inst : *all) {
    auto row = meta_->GetCluster(inst.cluster_id);
    if (!row.ok() || !*row ||
        ((*row)->status != ClusterStatus::kAvailable && (*row)->status != ClusterStatus::kFailed)) {
      continue;  // being created, backtracked or deleted: that operation owns the engine
    }
    bool down = inst.status == InstanceStatus::kFailed;
    if (inst.status == InstanceStatus::kAvailable) {
      std::shared_ptr<ClusterHost> host = inst.role == InstanceRole::kReader
                                              ? FindReaderHost(inst.id)
                                              : FindHost(inst.cluster_id);
      if (host) {
        // Busy: an operation (a recovery after a crash, say) owns the engine now.
        std::unique_lock<std::mutex> ol(host->op_mutex(), std::try_to_lock);
        down = ol.owns_lock() && !host->serving();
      } else {
        down = true;
      }
    }
    if (down) Async([this, inst] { DoStartInstance(std::nullopt, inst, StartKind::kRetry); });
  }
  KeepReplicationAccounts();
}

void ClusterService::Impl::DoBacktrack(Operation op, BacktrackRow bt) {
  auto row = GetClusterRow(bt.cluster_id);
  auto made = row.ok() ? HostFor(*row) : Result<std::shared_ptr<ClusterHost>>(row.status());
  std::shared_ptr<ClusterHost> host = made.ok() ? *made : nullptr;
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  bt.status = BacktrackStatus::kApplying;
  Status rewind = meta_->PutBacktrack(bt);
  const bool had_engine = host && host->serving();
  if (rewind.ok() && !host) rewind = made.status();
  // As in Aurora, connections are dropped: the state at T is a crash image anyway. If the
  // engine cannot be stopped nothing is rewound and nothing is mounted over it (Halt).
  if (rewind.ok()) rewind = host->Halt(HaltMode::kKill);
  if (rewind.ok()) rewind = RecordStep(&op, OpStep::kHalted);
  if (rewind.ok()) {
    Failpoint("cluster.backtrack.before_rewind");
    Result<store::TimelineId> head = host->Rebranch(bt.backtrack_to_ns);
    rewind = head.status();
    if (head.ok()) {
      op.timeline_after = static_cast<int64_t>(head->value);
      rewind = RecordStep(&op, OpStep::kRebranched);
      // The store rewound; even if the journal missed it, recovery sees the head moved.
      if (rewind.ok()) Failpoint("cluster.backtrack.after_rewind");
    }
  }
  // Whatever happened, bring the cluster back up on its (new or old) head; a halt that failed
  // left the engine and its mount in place, and Serve then finds them so. Rewound with
  // readers, every reader becomes a clone of the rewound head, started beside the writer and
  // following it once it serves (readers.cc); one that cannot is marked failed with an event,
  // the backtrack itself stands.
  const bool readers = rewind.ok() && had_engine && !ReadersOf(bt.cluster_id).empty();
  Status up;
  Status reprovisioned;
  if (readers) {
    reprovisioned = ReprovisionReaders(*host, *row, [&] { return host->Serve(); }, &up);
  } else {
    up = !host ? made.status() : had_engine ? host->Serve() : host->MountHead();
  }
  if (rewind.ok() && up.ok()) {
    Failpoint("cluster.backtrack.serving");
    if (!ReadersOf(bt.cluster_id).empty()) {
      // A writer that was not running: its readers cannot follow it and are marked failed.
      if (!readers) reprovisioned = ReprovisionReaders(*host, *row);
      if (!reprovisioned.ok()) {
        std::fprintf(stderr, "rewindd: after the backtrack of %s: %s\n", bt.cluster_id.c_str(),
                     reprovisioned.ToString().c_str());
      }
      if (Status st = RecordStep(&op, OpStep::kReadersReprovisioned); st.ok()) {
        Failpoint("cluster.backtrack_readers.reprovisioned");
      }
    }
    bt.status = BacktrackStatus::kCompleted;
    Status s = meta_->PutBacktrack(bt);
    if (s.ok()) s = SetClusterStatus(bt.cluster_id, ClusterStatus::kAvailable);
    FinishOp(&op, s);
    if (!s.ok()) {
      std::fprintf(stderr, "rewindd: recording the backtrack of %s: %s\n", bt.cluster_id.c_str(),
                   s.ToString().c_str());
    }
    Event(bt.cluster_id, EventKind::kBacktrackCompleted);
    return;
  }
  Status why = !rewind.ok() ? rewind : up;
  std::fprintf(stderr, "rewindd: backtrack of %s failed: %s\n", bt.cluster_id.c_str(),
               why.ToString().c_str());
  bt.status = BacktrackStatus::kFailed;
  bt.message = why.message();
  Status s = meta_->PutBacktrack(bt);
  if (s.ok()) {
    s = SetClusterStatus(bt.cluster_id,
                         up.ok() ? ClusterStatus::kAvailable : ClusterStatus::kFailed);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "rewindd: recording the backtrack of %s: %s\n", bt.cluster_id.c_str(),
                 s.ToString().c_str());
  }
  FinishOp(&op, why);
  Event(bt.cluster_id, EventKind::kBacktrackFailed, why.message());
}

void ClusterService::Impl::DoDeleteCluster(Operation op, ClusterRow row) {
  auto made = HostFor(row);
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: deleting cluster %s failed: %s\n", row.id.c_str(),
                 s.ToString().c_str());
    MarkClusterFailed(row.id);
    Event(row.id, EventKind::kClusterDeletionFailed, s.message());
    FinishOp(&op, s);
  };
  if (!made.ok()) return fail(made.status());
  std::shared_ptr<ClusterHost> host = *made;
  {
    std::lock_guard<std::mutex> ol(host->op_mutex());
    // Readers first: they follow the writer (readers.cc).
    Status s = DismantleReaders(row.id);
    if (s.ok()) s = host->Halt(HaltMode::kGraceful);
    if (s.ok()) s = RecordStep(&op, OpStep::kHalted);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.delete.halted");
    s = host->Dismantle();
    if (s.ok()) s = RecordStep(&op, OpStep::kVolumeDeleted);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.delete.volume_deleted");
    if (!row.source_peer.empty()) {
      // A peer clone: its pin goes after its volume (nothing reads through the view any
      // more). A row whose pin cannot be released yet holds no volume id: it stays failed
      // until a deletion releases it.
      s = SetClusterVolume(row.id, store::VolumeId());
      if (s.ok()) s = ReleasePeerPin(row);
      if (!s.ok()) return fail(s);
    }
    std::error_code ec;
    std::filesystem::remove_all(TlsDir(row.id), ec);
    // An instance still being deleted goes with its cluster (its own deletion, queued before,
    // may run after this one; a restart must not find it without its cluster).
    for (const InstanceRow& i : InstancesOf(row.id)) {
      s = DeleteInstanceRow(i.id);
      if (!s.ok()) return fail(s);
    }
    s = meta_->DeleteCluster(row.id);
    if (!s.ok()) return fail(s);
    FinishOp(&op, Status::Ok());
  }
  Event(row.id, EventKind::kClusterDeleted);
  StopReaderEndpoint(row.id);
  std::lock_guard<std::mutex> lk(mu_);
  hosts_.erase(row.id);
}

void ClusterService::Impl::DoDeleteInstance(Operation op, InstanceRow inst) {
  std::shared_ptr<ClusterHost> host = FindHost(inst.cluster_id);
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  Status s = host ? host->StopEngine() : Status::Ok();
  if (s.ok()) s = RecordStep(&op, OpStep::kHalted);
  if (!s.ok()) {
    std::fprintf(stderr, "rewindd: deleting instance %s failed: %s\n", inst.id.c_str(),
                 s.ToString().c_str());
    SaveInstanceStatus(inst, InstanceStatus::kFailed);
    Event(inst.id, EventKind::kInstanceDeletionFailed, s.message());
    FinishOp(&op, s);
    return;
  }
  Failpoint("cluster.delete_instance.halted");
  s = DeleteInstanceRow(inst.id);
  FinishOp(&op, s);
  if (!s.ok()) {
    std::fprintf(stderr, "rewindd: deleting instance %s: %s\n", inst.id.c_str(),
                 s.ToString().c_str());
    return;
  }
  // A writer is deleted only once it has no readers: the cluster is left without an
  // instance, so its reader endpoint has nothing to reach.
  StopReaderEndpoint(inst.cluster_id);
  Event(inst.id, EventKind::kInstanceDeleted);
}

}  // namespace rwd::cluster
