// Open and recovery: the service's files, its CA and engine account, and every cluster brought
// back as it was, the operations a restart cut short resumed or rolled back from the journal
// (op_journal.h) and the store's ids.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster/service_impl.h"

namespace rwd::cluster {

// Clusters made before per-cluster engine uids (or while rewindd was not root) get theirs
// now, one at a time so each allocation sees the last.
Status ClusterService::Impl::AssignMissingEngineUids() {
  if (!engine_account_.switched) return Status::Ok();
  ASSIGN_OR_RETURN(std::vector<ClusterRow> old_rows, meta_->ListClusters());
  for (ClusterRow row : old_rows) {
    if (row.engine_uid > 0) continue;
    ASSIGN_OR_RETURN(row.engine_uid, AllocateEngineUid());
    RETURN_IF_ERROR(meta_->PutCluster(row));
    std::fprintf(stderr, "rewindd: cluster %s runs as its own engine uid %lld from now on\n",
                 row.id.c_str(), static_cast<long long>(row.engine_uid));
  }
  return Status::Ok();
}

Status ClusterService::Impl::Open() {
  ASSIGN_OR_RETURN(engine_account_, engine::ResolveEngineAccount(options_.engine_user));
  if (engine_account_.switched && (options_.engine_uid_base < 65536 ||
                                   options_.engine_uid_base > UINT32_MAX - 1 - 65535)) {
    return Status::InvalidArgument("engine uid base " + std::to_string(options_.engine_uid_base) +
                                   " must be from 65536 to " +
                                   std::to_string(UINT32_MAX - 1 - 65535));
  }
  RETURN_IF_ERROR(SecureDataDir());
  store::StoreOptions so;
  so.dir = options_.data_dir + "/store";
  so.compress = options_.store_compress;
  so.compress_level = options_.store_compress_level;
  so.tier = options_.store_tier;
  so.write_gate = options_.store_write_gate;
  if (options_.peers != nullptr) {
    // Peer clones read their foreign ancestors through the peers' views (peer_catalog.h).
    so.peers = [peers = options_.peers](std::string_view store_id, uint64_t view_lsn) {
      return peers->ViewStore(store_id, view_lsn);
    };
  }
  ASSIGN_OR_RETURN(store_, store::Store::Open(so));
  {
    const store::RecoveryReport& r = store_->recovery();
    std::fprintf(stderr, "rewindd: store opened: %s, %llu records replayed, last LSN %llu%s%s\n",
                 r.loaded_checkpoint ? "from its checkpoint" : "from its log",
                 (unsigned long long)r.records_replayed,
                 (unsigned long long)store_->LastLsn().value,
                 r.tail_cut ? "; torn tail cut: " : "", r.tail_cut ? r.cut_reason.c_str() : "");
  }
  ASSIGN_OR_RETURN(meta_, MetaDb::Open(options_.data_dir + "/meta.db"));
  // SecureDataDir made tls/ and tls/clusters/ (0710: the engine user crosses them to its
  // certificates; the CA's key is root's own file).
  ASSIGN_OR_RETURN(ca_, tls::CertificateAuthority::LoadOrCreate(
                            CaCertPath(), CaKeyPath(), "Rewind DB cluster CA", NowNs() / kNsPerSec));
  if (options_.engine_factory) {
    engine_version_ = options_.engine_version;  // a stand-in engine (tests): no mariadbd probe
  } else {
    engine::EngineOptions probe;
    probe.datadir = options_.data_dir + "/mnt/.probe";
    probe.run_dir = options_.data_dir + "/run/.probe";
    probe.port = options_.first_port;
    probe.engine_user = engine_account_.name;
    ASSIGN_OR_RETURN(auto eng, engine::MariaDbEngine::Create(probe));
    ASSIGN_OR_RETURN(engine_version_, eng->Version());
  }
  RETURN_IF_ERROR(LoadParamCatalog());

  RETURN_IF_ERROR(AssignMissingEngineUids());
  // Bring every cluster back as it was; resume or roll back what a restart cut short.
  journal_ = OpJournal(meta_.get());
  std::map<std::string, Operation> cluster_ops, instance_ops;
  RETURN_IF_ERROR(SettleJournal(&cluster_ops, &instance_ops));
  KillOrphanBalancers();
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  for (const ClusterRow& row : rows) {
    std::optional<Operation> op;
    if (auto it = cluster_ops.find(row.id); it != cluster_ops.end()) {
      op = it->second;
      cluster_ops.erase(it);
    }
    if (Status s = Recover(row, op, instance_ops); !s.ok()) {
      std::fprintf(stderr, "rewindd: bringing cluster %s back: %s\n", row.id.c_str(),
                   s.ToString().c_str());
    }
  }
  // Operations on clusters that are gone: a deletion that deleted its row and was cut short
  // before it recorded its end, or an operation on a cluster deleted since.
  for (auto& [id, op] : cluster_ops) {
    FinishOp(&op, op.kind == OpKind::kDelete ? Status::Ok()
                                             : Status::NotFound("the cluster no longer exists"));
  }
  RETURN_IF_ERROR(SettleSnapshots());
  // The events table keeps event_retention_days of events, as Aurora keeps 14 days.
  RETURN_IF_ERROR(PruneEvents().status());
  if (options_.clean_interval_ms > 0) {
    cleaner_ = std::thread([this] {
      EveryInterval(options_.clean_interval_ms, [this] { CleanOnce(); });
    });
  }
  if (options_.retry_failed_interval_ms > 0) {
    retrier_ = std::thread([this] {
      EveryInterval(options_.retry_failed_interval_ms, [this] { RetryDownInstances(); });
    });
  }
  return Status::Ok();
}


void ClusterService::Impl::KillOrphan(const ClusterRow& row) { KillServerOf(RunDir(row.id)); }

Status ClusterService::Impl::FinishModify(Operation* op) {
  std::optional<int64_t> window_s;
  std::optional<bool> protection;
  // A new cluster parameter group travels as a last ",pgroup=NAME" part (parameter_groups.h).
  std::string ref = op->ref;
  std::optional<std::string> param_group;
  if (size_t at = ref.find("pgroup="); at != std::string::npos) {
    param_group = ref.substr(at + 7);
    ref.erase(at > 0 ? at - 1 : 0);
  }
  RETURN_IF_ERROR(ParseModifyChangeText(ref, &window_s, &protection));
  auto row = GetClusterRow(op->target);
  if (!row.ok()) {  // deleted since: nothing left to finish
    FinishOp(op, Status::Unavailable("its cluster is gone"));
    return Status::Ok();
  }
  ApplyModifyChange(window_s, protection, &*row);
  if (param_group) row->param_group = *param_group;
  RETURN_IF_ERROR(meta_->PutCluster(*row));
  FinishOp(op, Status::Ok());
  Event(row->id, EventKind::kClusterModified);
  return Status::Ok();
}

Status ClusterService::Impl::SettleJournal(std::map<std::string, Operation>* by_cluster,
                                           std::map<std::string, Operation>* by_instance) {
  ASSIGN_OR_RETURN(std::vector<Operation> ops, journal_.Unfinished());
  for (Operation& op : ops) {
    std::fprintf(stderr, "rewindd: %s operation %lld on %s was cut short at step %s\n",
                 OpKindName(op.kind), static_cast<long long>(op.id), op.target.c_str(),
                 OpStepName(op.step));
    switch (op.kind) {
      case OpKind::kCreate:
      case OpKind::kClone:
      case OpKind::kDelete:
      case OpKind::kBacktrack:
      case OpKind::kRestoreSnapshot:
      case OpKind::kStop:
      case OpKind::kStart:
      case OpKind::kFailover:
      case OpKind::kDeleteWriter:
      case OpKind::kPeerClone:
        (*by_cluster)[op.target] = op;
        break;
      case OpKind::kDeleteInstance:
      case OpKind::kCreateReader:
      case OpKind::kDeleteReader:
        (*by_instance)[op.target] = op;
        break;
      case OpKind::kModify:
        if (op.step == OpStep::kPasswordSet) {
          RETURN_IF_ERROR(FinishModify(&op));
          break;
        }
        FinishOp(&op, Status::Unavailable("interrupted by a restart"));
        break;
      case OpKind::kReboot:
      case OpKind::kCreateInstance:
        // Modify is one metadata write (made or not); the writer is started again below.
        FinishOp(&op, Status::Unavailable("interrupted by a restart"));
        break;
    }
  }
  return Status::Ok();
}

Status ClusterService::Impl::RecoverBacktrack(const ClusterRow& row, std::optional<Operation> op) {
  ASSIGN_OR_RETURN(store::VolumeInfo vol, store_->GetVolume(store::VolumeId(row.volume_id)));
  ASSIGN_OR_RETURN(std::vector<BacktrackRow> bts, meta_->ListBacktracks(row.id));
  // The rewind is one store record: it landed iff the head is no longer the one the backtrack
  // was asked on.
  const bool op_landed = op && (op->step >= OpStep::kRebranched ||
                                vol.head.value != static_cast<uint64_t>(op->timeline_before));
  for (BacktrackRow bt : bts) {
    if (bt.status != BacktrackStatus::kPending && bt.status != BacktrackStatus::kApplying) continue;
    bool landed;
    if (op && op->ref == bt.id) {
      landed = op_landed;
    } else {
      // Begun by a rewindd without the journal (meta.db schema < 4): only the clocks tell.
      landed = vol.history.back().from_ns >= bt.request_time_ns;
    }
    bt.status = landed ? BacktrackStatus::kCompleted : BacktrackStatus::kFailed;
    if (!landed) bt.message = "interrupted by a restart before it was applied";
    RETURN_IF_ERROR(meta_->PutBacktrack(bt));
    if (landed) Event(row.id, EventKind::kBacktrackCompleted);
    else Event(row.id, EventKind::kBacktrackFailed, bt.message);
  }
  if (op) {
    FinishOp(&*op, op_landed ? Status::Ok()
                             : Status::Unavailable(
                                   "interrupted by a restart before it was applied"));
  }
  return Status::Ok();
}

Status ClusterService::Impl::Recover(ClusterRow row, std::optional<Operation> op,
                                     const std::map<std::string, Operation>& instance_ops) {
  KillOrphan(row);
  if (row.volume_id == 0) {
    // A row of schema 3 (before volume ids), or a creation or clone cut short between the
    // store's new volume and the journal: the one place a volume is found by its name.
    if (auto vol = store_->FindVolume(row.volume); vol.ok()) {
      row.volume_id = static_cast<int64_t>(vol->id.value);
      RETURN_IF_ERROR(meta_->PutCluster(row));
    }
  }
  if (row.status == ClusterStatus::kCreating && op && op->kind == OpKind::kRestoreSnapshot) {
    // Redone from its snapshot (kept until deleted): the store's clone is made unless the
    // volume found above shows it was.
    Async([this, restore = *op, row] { DoRestoreSnapshot(restore, row); });
    return Status::Ok();
  }
  if (row.status == ClusterStatus::kStopping || row.status == ClusterStatus::kStopped ||
      row.status == ClusterStatus::kStarting) {
    return RecoverStopStart(row, op);
  }
  if (op && (op->kind == OpKind::kStop || op->kind == OpKind::kStart)) {
    SettleStopStartOp(row, &*op);
    op.reset();
  }
  if (row.status == ClusterStatus::kFailingOver ||
      (op && (op->kind == OpKind::kFailover || op->kind == OpKind::kDeleteWriter))) {
    RETURN_IF_ERROR(RecoverFailover(&row, op));  // failover.cc
    op.reset();
  }
  // The operation the row's status says is under way; an unfinished one of another kind was
  // overtaken (its end only was not recorded).
  const OpKind expected = row.status == ClusterStatus::kDeleting      ? OpKind::kDelete
                          : row.status == ClusterStatus::kBacktracking ? OpKind::kBacktrack
                          : !row.source_peer.empty()     ? OpKind::kPeerClone
                          : !row.source_cluster.empty()  ? OpKind::kClone
                                                         : OpKind::kCreate;
  if (op && (op->kind != expected ||
             (row.status != ClusterStatus::kDeleting && row.status != ClusterStatus::kBacktracking &&
              row.status != ClusterStatus::kCreating))) {
    FinishOp(&*op, row.status == ClusterStatus::kFailed ? Status::Unavailable("the cluster failed")
                                          : Status::Ok());
    op.reset();
  }
  if (row.status == ClusterStatus::kDeleting) {
    Operation del{.kind = OpKind::kDelete, .target = row.id};
    if (op) del = *op;
    else RETURN_IF_ERROR(BeginOp(&del));
    Async([this, del, row] { DoDeleteCluster(del, row); });
    return Status::Ok();
  }
  if (row.status == ClusterStatus::kCreating && !row.source_peer.empty()) {
    // A peer clone is redone whole (cluster_peer_clone.cc): each step is idempotent, and the
    // pin is written (again) before anything reads through the view.
    Operation clone{.kind = OpKind::kPeerClone, .target = row.id,
                    .ref = row.source_peer + ":" + row.source_cluster,
                    .arg_ns = row.restore_to_ns};
    if (op) clone = *op;
    else RETURN_IF_ERROR(BeginOp(&clone));
    Async([this, clone, row] { DoPeerClone(clone, row); });
    return Status::Ok();
  }
  if (row.status == ClusterStatus::kCreating && !row.source_cluster.empty()) {
    Operation clone{.kind = OpKind::kClone, .target = row.id, .ref = row.source_cluster,
                    // The moment asked for (0 in rows of older versions: now).
                    .arg_ns = row.restore_to_ns > 0 ? row.restore_to_ns : NowNs()};
    if (op) clone = *op;
    else RETURN_IF_ERROR(BeginOp(&clone));
    Async([this, clone, row] { DoClone(clone, row); });
    return Status::Ok();
  }
  if (row.status == ClusterStatus::kCreating && op && op->step >= OpStep::kInitialized &&
      row.volume_id != 0) {
    // Its database was made and synced; only the status was not written.
    row.status = ClusterStatus::kAvailable;
    RETURN_IF_ERROR(meta_->PutCluster(row));
    FinishOp(&*op, Status::Ok());
    Event(row.id, EventKind::kClusterCreated);
  } else if (row.status == ClusterStatus::kCreating) {
    // Its master password was never stored: an interrupted creation cannot be redone, so it is
    // rolled back (whole or absent): the cluster is deleted with whatever it had made.
    if (op) FinishOp(&*op, Status::Unavailable("interrupted by a restart"));
    Event(row.id, EventKind::kClusterCreationInterrupted);
    row.status = ClusterStatus::kDeleting;
    RETURN_IF_ERROR(meta_->PutCluster(row));
    Operation del{.kind = OpKind::kDelete, .target = row.id};
    RETURN_IF_ERROR(BeginOp(&del));
    Async([this, del, row] { DoDeleteCluster(del, row); });
    return Status::Ok();
  } else if (row.volume_id == 0) {
    // Its volume is gone from the store: nothing can serve it; it stays, failed, until deleted.
    row.status = ClusterStatus::kFailed;
    RETURN_IF_ERROR(meta_->PutCluster(row));
    if (op) FinishOp(&*op, Status::Unavailable("the cluster's volume is missing"));
    return Status::Ok();
  }
  // A backtrack cut short leaves readers that may hold the old timeline's data: each is
  // cloned again from the head once the writer serves.
  const bool reprovision = row.status == ClusterStatus::kBacktracking && op &&
                           op->step < OpStep::kReadersReprovisioned && !ReadersOf(row.id).empty();
  if (row.status == ClusterStatus::kBacktracking) RETURN_IF_ERROR(RecoverBacktrack(row, op));
  if (row.status != ClusterStatus::kFailed) row.status = ClusterStatus::kAvailable;
  RETURN_IF_ERROR(meta_->PutCluster(row));
  ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> host, HostFor(row));
  {
    std::lock_guard<std::mutex> ol(host->op_mutex());
    RETURN_IF_ERROR(host->Prepare());
  }
  if (auto w = WriterOf(row.id)) {
    if (w->status == InstanceStatus::kDeleting) {
      Operation del{.kind = OpKind::kDeleteInstance, .target = w->id};
      if (auto it = instance_ops.find(w->id); it != instance_ops.end()) del = it->second;
      else RETURN_IF_ERROR(BeginOp(&del));
      Async([this, del, inst = *w] { DoDeleteInstance(del, inst); });
    } else {
      w->status = InstanceStatus::kCreating;
      RETURN_IF_ERROR(PutInstanceRow(*w));
      Async([this, inst = *w] { DoStartInstance(std::nullopt, inst); });
    }
  }
  if (reprovision) {
    Async([this, host, row] {
      std::lock_guard<std::mutex> ol(host->op_mutex());
      Status s = host->Serve();
      if (s.ok()) s = ReprovisionReaders(*host, row);
      if (!s.ok()) {
        std::fprintf(stderr, "rewindd: readers of %s after an interrupted backtrack: %s\n",
                     row.id.c_str(), s.ToString().c_str());
      }
    });
    return Status::Ok();
  }
  return RecoverReaders(row, instance_ops);
}

}  // namespace rwd::cluster
