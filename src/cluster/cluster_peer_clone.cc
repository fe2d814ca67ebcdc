// Peer clones (issue 18's second node; docs/format/object-store.md, "A second node"): a
// copy-on-write clone of a cluster of another rewindd node, read from that node's bucket
// through a frozen view of its store (PeerCatalog, peer_catalog.h). The clone's volume has a
// foreign ancestor (Store::CloneForeign): reads fall through into the view, writes stay here.
//
// The request validates against the view (built then if no open view holds the moment, so
// the call waits for it), then writes the row and journals the operation (OpKind::kPeerClone);
// the background part pins what the view reads in the peer's bucket, makes the volume and
// seeds the run dir with the source's root password, as a local clone's (DoClone); then, as
// in Aurora, CreateDBInstance gives the clone a writer. A failpoint
// `cluster.peer_clone.<step>` follows each step (view_ready in the request, then requested,
// pinned, volume_made, prepared). Recovery redoes the background part from the start: the pin
// is a PUT of the same object, the volume is found by id (or name), the run dir seeded again.
// DeleteCluster releases the pin after the volume (ReleasePeerPin), so the pin exists exactly
// while the clone's row does once its operation began.
#include <cstdio>

#include "cluster/service_impl.h"
#include "common/failpoint.h"

namespace rwd::cluster {
namespace {

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Result<ClusterService::Impl::PeerSource> ClusterService::Impl::ReadPeerSource(
    const PeerViewRef& view, const std::string& source_id) {
  const std::string id = Lower(source_id);
  auto not_found = [&] {
    return Refuse(ClusterError::kClusterNotFound, Reason::kPeerClusterNotFound,
                  {.field = Field::kClusterId, .other = view.peer, .input = BoundedInput(id)});
  };
  if (view.meta_path.empty()) return not_found();  // the peer shipped no metadata yet
  // The view's own copy of the peer's meta.db: a migration to this binary's schema changes
  // only that local file, never the peer's.
  ASSIGN_OR_RETURN(std::unique_ptr<MetaDb> meta, MetaDb::Open(view.meta_path));
  ASSIGN_OR_RETURN(std::optional<ClusterRow> row, meta->GetCluster(id));
  if (!row) return not_found();
  if (row->status == ClusterStatus::kCreating || row->status == ClusterStatus::kDeleting ||
      row->volume_id == 0) {
    return InvalidState(Reason::kSourceNotClonable, {.id = id, .cluster_status = row->status});
  }
  PeerSource src;
  ASSIGN_OR_RETURN(src.volume,
                   view.store->GetVolume(store::VolumeId(static_cast<uint64_t>(row->volume_id))));
  src.earliest_ns = EarliestBacktrackNs(src.volume);
  src.row = std::move(*row);
  return src;
}

Result<ClusterView> ClusterService::Impl::BeginPeerClone(const CloneRequest& req) {
  const std::string id = Lower(req.id);
  const std::string peer = req.source_peer;
  std::vector<std::string> names = options_.peers ? options_.peers->Names()
                                                  : std::vector<std::string>{};
  if (std::find(names.begin(), names.end(), peer) == names.end()) {
    return Refuse(ClusterError::kClusterNotFound, Reason::kPeerNotFound,
                  {.field = Field::kClusterId, .id = BoundedInput(req.source_id),
                   .other = Joined(names), .input = BoundedInput(peer)});
  }
  RETURN_IF_ERROR(ClusterIdFree(id));  // before the view is built (which may take a while)
  const int64_t now = NowNs();
  if (req.restore_to_ns && *req.restore_to_ns > now) {
    return Refuse(ClusterError::kInvalidRestore, Reason::kRestoreTimeInFuture,
                  {.field = Field::kRestoreToTime, .time_ns = *req.restore_to_ns});
  }
  // No lock is held while the view is found or built: it reads the bucket.
  std::optional<int64_t> at;
  if (!req.use_latest_restorable_time) at = req.restore_to_ns;
  Result<PeerViewRef> resolved = options_.peers->Resolve(peer, at);
  if (!resolved.ok() && resolved.status().code() == Status::Code::kNotFound) {
    // The peer's prefix holds no store (yet): none of its clusters can be found.
    return Refuse(ClusterError::kClusterNotFound, Reason::kPeerClusterNotFound,
                  {.field = Field::kClusterId, .other = peer,
                   .input = BoundedInput(Lower(req.source_id)),
                   .cause = resolved.status().message()});
  }
  ASSIGN_OR_RETURN(PeerViewRef view, std::move(resolved));
  Failpoint("cluster.peer_clone.view_ready");
  ASSIGN_OR_RETURN(PeerSource src, ReadPeerSource(view, req.source_id));
  // Latest: the newest state the view holds (its last record), as LatestRestorableTime is.
  const int64_t t = at.value_or(view.time_ns);
  if (t > view.time_ns) {
    return Refuse(ClusterError::kInvalidRestore, Reason::kRestoreTimeAfterPeerHead,
                  {.field = Field::kRestoreToTime, .other = peer, .time_ns = t,
                   .time2_ns = view.time_ns});
  }
  if (t < src.earliest_ns) {
    return Refuse(ClusterError::kInvalidRestore, Reason::kRestoreTimeBeforeEarliest,
                  {.field = Field::kRestoreToTime, .id = src.row.id, .time_ns = t,
                   .time2_ns = src.earliest_ns});
  }
  // The state the background part clones: checked now, so that a refusal is the request's.
  RETURN_IF_ERROR(view.store->Resolve(src.volume.id, t).status());

  // param_mu_ before mu_: a group named here cannot be deleted before the row names it.
  std::unique_lock<std::mutex> pl(param_mu_, std::defer_lock);
  ASSIGN_OR_RETURN(std::string param_group, ResolveNewClusterGroup(req.param_group, &pl));
  std::lock_guard<std::mutex> lk(mu_);
  RETURN_IF_ERROR(ClusterIdFree(id));  // again, now under mu_
  ClusterRow row;
  row.id = id;
  row.resource_id = "cluster-" + RandomAlnum(26, true);
  row.engine = src.row.engine;
  row.engine_version = src.row.engine_version;
  row.master_username = src.row.master_username;
  row.database_name = src.row.database_name;
  row.status = ClusterStatus::kCreating;
  ASSIGN_OR_RETURN(row.port, AssignPort(req.port, id));
  ASSIGN_OR_RETURN(row.engine_uid, AllocateEngineUid());  // its own, not the source's
  row.backtrack_window_s = req.backtrack_window_s.value_or(src.row.backtrack_window_s);
  row.create_time_ns = now;
  // As Aurora's cross-account clones: the source's clone group.
  row.clone_group_id = src.row.clone_group_id;
  row.source_cluster = src.row.id;
  row.source_peer = peer;
  row.peer_store_id = view.store_id;
  row.peer_view_lsn = static_cast<int64_t>(view.view_lsn);
  row.volume = id;
  row.restore_to_ns = t;
  row.deletion_protection = req.deletion_protection;
  row.param_group = param_group;
  RETURN_IF_ERROR(meta_->PutCluster(row));
  RETURN_IF_ERROR(PutNewTags("cluster", id, req.tags, [&] { return meta_->DeleteCluster(id); }));
  Operation op{.kind = OpKind::kPeerClone, .target = id, .ref = peer + ":" + src.row.id,
               .arg_ns = t};
  RETURN_IF_ERROR(BeginOrUndo(&op, [&] { return meta_->DeleteCluster(id); }));
  Async([this, op, row] { DoPeerClone(op, row); });
  return View(row);
}

void ClusterService::Impl::DoPeerClone(Operation op, ClusterRow row) {
  auto made = HostFor(row);
  std::shared_ptr<ClusterHost> host = made.ok() ? *made : nullptr;
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: cloning %s from peer %s failed: %s\n", row.id.c_str(),
                 row.source_peer.c_str(), s.ToString().c_str());
    MarkClusterFailed(row.id);
    Event(row.id, EventKind::kCloneFailed, s.message());
    FinishOp(&op, s);
  };
  if (!host) return fail(made.status());
  Failpoint("cluster.peer_clone.requested");
  if (options_.peers == nullptr) {
    return fail(Status::FailedPrecondition("peer " + row.source_peer +
                                           " is not configured (rewindd --peer-object-store)"));
  }
  Result<PeerViewRef> view =
      options_.peers->Find(row.source_peer, row.peer_store_id,
                           static_cast<uint64_t>(row.peer_view_lsn));
  if (!view.ok()) return fail(view.status());
  Result<PeerSource> src = ReadPeerSource(*view, row.source_cluster);
  if (!src.ok()) return fail(src.status());
  if (op.step < OpStep::kPeerPinned) {
    // Before anything reads through the view: from now on the peer's collector keeps it all.
    Status s = options_.peers->Pin(*view, row.resource_id, NowNs());
    if (s.ok()) s = RecordStep(&op, OpStep::kPeerPinned);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.peer_clone.pinned");
  }
  if (!host->volume().valid()) {
    Result<store::PointInTime> at = view->store->Resolve(src->volume.id, op.arg_ns);
    if (!at.ok()) return fail(at.status());
    store::ForeignAncestor from;
    from.store_id = view->store_id;
    from.view_lsn = view->view_lsn;
    from.timeline = at->timeline;
    from.lsn = at->lsn;
    Result<store::VolumeId> vol = host->MakeForeignClone(row.volume, from);
    if (!vol.ok()) return fail(vol.status());
    op.volume_id = static_cast<int64_t>(vol->value);
    Status s = SetClusterVolume(row.id, *vol);
    if (s.ok()) s = RecordStep(&op, OpStep::kPeerVolumeMade);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.peer_clone.volume_made");
  }
  // The clone's datadir carries the source's accounts: its engine needs the source's root
  // password, shipped with the view's meta copy and kept in the clone's own run dir from now on.
  Result<std::string> root_password = options_.peers->RootPassword(*view, src->row.id);
  if (!root_password.ok()) return fail(root_password.status().WithContext("source"));
  Status s = host->SeedRunDir(*root_password);
  if (s.ok()) s = host->Prepare();
  if (s.ok()) s = RecordStep(&op, OpStep::kPeerPrepared);
  if (!s.ok()) return fail(s);
  Failpoint("cluster.peer_clone.prepared");
  s = SetClusterStatus(row.id, ClusterStatus::kAvailable);
  if (!s.ok()) return fail(s);
  FinishOp(&op, Status::Ok());
  Event(row.id, EventKind::kPeerClusterCloned, op.ref);
}

Status ClusterService::Impl::ReleasePeerPin(const ClusterRow& row) {
  if (row.source_peer.empty()) return Status::Ok();
  if (options_.peers == nullptr) {
    return Status::FailedPrecondition(
        "its pin is in the bucket of peer " + row.source_peer +
        ", which is not configured: start rewindd with --peer-object-store " + row.source_peer +
        "=s3://... to release it");
  }
  return options_.peers->Unpin(row.source_peer, row.peer_store_id, row.resource_id);
}

}  // namespace rwd::cluster
