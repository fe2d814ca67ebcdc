// DB cluster snapshots: each is a store pin (its data, kept past the backtrack window and the
// cluster's deletion) plus a row of meta.db's `snapshots` table (its metadata). A pin is made
// before its row and released before its row goes, so after a crash SettleSnapshots finds
// either both (whole), or a pin alone / a row alone or "deleting" (removed: absent).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cluster/service_impl.h"
#include "common/failpoint.h"

namespace rwd::cluster {

namespace {

constexpr const char* kPinPrefix = "snapshot:";
constexpr const char* kTagKind = "cluster-snapshot";

std::string PinName(const std::string& id) { return kPinPrefix + id; }

Status SnapshotNotFound(const std::string& id) {
  return Refuse(ClusterError::kSnapshotNotFound, Reason::kSnapshotNotFound,
                {.field = Field::kSnapshotId, .input = BoundedInput(id)});
}
Status SnapshotExists(const std::string& id, Field field) {
  return Refuse(ClusterError::kSnapshotExists, Reason::kSnapshotExists,
                {.field = field, .id = BoundedInput(id)});
}
Status SnapshotNotAvailable(const SnapshotRow& snap) {
  return Refuse(ClusterError::kInvalidSnapshotState, Reason::kSnapshotNotAvailable,
                {.field = Field::kSnapshotId, .id = snap.id, .state = snap.status});
}


Status WriteSecret(const std::string& path, const std::string& password) {
  const std::string dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return Status::IOError("cannot make the private directory " + dir);
  }
  return tls::WriteFileAtomic(path, password, 0600);
}

Result<std::string> ReadSecret(const std::string& path) {
  std::string password;
  std::ifstream in(path);
  std::getline(in, password);
  if (password.empty()) return Status::NotFound("snapshot root password missing in " + path);
  return password;
}

}  // namespace

Result<SnapshotRow> ClusterService::Impl::TakeSnapshot(const ClusterRow& cluster,
                                                       const std::string& id,
                                                       const std::vector<TagView>& tags,
                                                       const std::string& root_password) {
  // A snapshot outlives its cluster, but a peer clone's pin on the peer's history does not.
  if (!cluster.source_peer.empty()) return InvalidState(Reason::kPeerCloneSource, {.id = cluster.id});
  ASSIGN_OR_RETURN(store::VolumeInfo vol, VolumeOf(cluster));
  if (options_.history_budget_bytes > 0) {
    ASSIGN_OR_RETURN(store::PinBudget budget,
                     store_->CheckPinBudget(vol.id, store::PinAt::Head(),
                                            options_.history_budget_bytes));
    if (!budget.fits) {
      return Refuse(ClusterError::kSnapshotQuota, Reason::kSnapshotQuota,
                    {.id = cluster.id, .number = static_cast<int64_t>(budget.budget_bytes)});
    }
  }
  // The password first, the pin, then the row: SettleSnapshots removes what a crash left alone.
  RETURN_IF_ERROR(WriteSecret(SnapshotSecretPath(id), root_password));
  Failpoint("cluster.snapshot.secret_written");
  Result<store::PinInfo> pinned = store_->Pin(PinName(id), vol.id, store::PinAt::Head());
  if (!pinned.ok()) {
    std::filesystem::remove(SnapshotSecretPath(id));
    return pinned.status();
  }
  const store::PinInfo pin = *pinned;
  Failpoint("cluster.snapshot.pinned");
  SnapshotRow row;
  row.id = id;
  row.cluster_id = cluster.id;
  row.pin_id = static_cast<int64_t>(pin.id.value);
  row.status = "available";
  row.create_ns = pin.time_ns;
  row.cluster_create_ns = cluster.create_time_ns;
  row.engine = cluster.engine;
  row.engine_version = cluster.engine_version;
  row.port = cluster.port;
  row.master_username = cluster.master_username;
  row.database_name = cluster.database_name;
  row.allocated_gb = 1;  // what Aurora shows for its cluster storage, as DescribeDBClusters
  auto undo = [&]() -> Status {
    Status d = meta_->DeleteSnapshot(id);
    Status u = store_->Unpin(pin.id);
    return d.ok() ? u : d;
  };
  if (Status s = meta_->PutSnapshot(row); !s.ok()) {
    (void)store_->Unpin(pin.id);  // the refusal reported is SQLite's
    std::filesystem::remove(SnapshotSecretPath(id));
    return s;
  }
  RETURN_IF_ERROR(PutNewTags(kTagKind, id, tags, undo));
  return row;
}

Status ClusterService::Impl::SettleSnapshots() {
  std::lock_guard<std::mutex> sl(snapshot_mu_);
  ASSIGN_OR_RETURN(std::vector<SnapshotRow> rows, meta_->ListSnapshots());
  std::set<std::string> kept;
  for (const SnapshotRow& r : rows) {
    Result<store::PinInfo> pin = store_->FindPin(PinName(r.id));
    if (pin.ok() && r.status == "available") {
      kept.insert(r.id);
      continue;
    }
    if (pin.ok()) RETURN_IF_ERROR(store_->Unpin(pin->id));
    RETURN_IF_ERROR(meta_->DeleteSnapshot(r.id));
  }
  const std::string prefix = kPinPrefix;
  for (const store::PinInfo& p : store_->ListPins()) {
    if (p.name.rfind(prefix, 0) != 0 || kept.count(p.name.substr(prefix.size()))) continue;
    RETURN_IF_ERROR(store_->Unpin(p.id));  // pinned, then cut short before its row
  }
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(options_.data_dir + "/snapshots", ec)) {
    const std::string name = e.path().filename().string();
    const std::string suffix = ".root-password";
    if (name.size() > suffix.size() &&
        kept.count(name.substr(0, name.size() - suffix.size())) == 0) {
      std::filesystem::remove(e.path(), ec);  // written, then cut short before its pin
    }
  }
  return Status::Ok();
}

namespace {

Result<SnapshotView> ViewOf(ClusterService::Impl& impl, const SnapshotRow& r) {
  SnapshotView v;
  v.id = r.id;
  v.cluster_id = r.cluster_id;
  v.status = r.status;
  v.create_ns = r.create_ns;
  v.cluster_create_ns = r.cluster_create_ns;
  v.engine = r.engine;
  v.engine_version = r.engine_version;
  v.port = static_cast<int>(r.port);
  v.master_username = r.master_username;
  v.allocated_gb = r.allocated_gb;
  ASSIGN_OR_RETURN(v.tags, impl.TagsOf(kTagKind, r.id));
  return v;
}

}  // namespace

Result<SnapshotView> ClusterService::CreateSnapshot(const CreateSnapshotRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, Field::kSnapshotId));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  const std::string id = Lower(req.id);
  std::lock_guard<std::mutex> sl(impl_->snapshot_mu_);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> taken, impl_->meta_->GetSnapshot(id));
  if (taken) return SnapshotExists(id, Field::kSnapshotId);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> host, impl_->HostFor(row));
  // Under the cluster's op lock no backtrack or deletion changes the volume while it is pinned.
  std::lock_guard<std::mutex> ol(host->op_mutex());
  ASSIGN_OR_RETURN(row, impl_->GetClusterRow(row.id));  // as it is now, under the lock
  if (row.status != ClusterStatus::kAvailable) {
    return InvalidState(Reason::kClusterNotSnapshottable,
                        {.id = row.id, .cluster_status = row.status});
  }
  ASSIGN_OR_RETURN(std::string root_password, host->RootPassword());
  ASSIGN_OR_RETURN(SnapshotRow snap, impl_->TakeSnapshot(row, id, req.tags, root_password));
  return ViewOf(*impl_, snap);
}

Result<std::vector<SnapshotView>> ClusterService::DescribeSnapshots(
    const std::optional<std::string>& snapshot_id, const std::optional<std::string>& cluster_id) {
  std::vector<SnapshotRow> rows;
  if (snapshot_id) {
    ASSIGN_OR_RETURN(std::optional<SnapshotRow> r, impl_->meta_->GetSnapshot(Lower(*snapshot_id)));
    if (!r) return SnapshotNotFound(*snapshot_id);
    rows.push_back(std::move(*r));
  } else {
    ASSIGN_OR_RETURN(rows, impl_->meta_->ListSnapshots());
  }
  std::vector<SnapshotView> out;
  for (const SnapshotRow& r : rows) {
    if (cluster_id && r.cluster_id != Lower(*cluster_id)) continue;
    ASSIGN_OR_RETURN(SnapshotView v, ViewOf(*impl_, r));
    out.push_back(std::move(v));
  }
  return out;
}

Result<SnapshotView> ClusterService::DeleteSnapshot(const std::string& snapshot_id) {
  std::lock_guard<std::mutex> sl(impl_->snapshot_mu_);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> r, impl_->meta_->GetSnapshot(Lower(snapshot_id)));
  if (!r) return SnapshotNotFound(snapshot_id);
  if (r->status != "available") {
    return SnapshotNotAvailable(*r);
  }
  ASSIGN_OR_RETURN(SnapshotView v, ViewOf(*impl_, *r));
  // "deleting" first: a crash between the steps leaves a row Open removes (absent, not half).
  r->status = "deleting";
  RETURN_IF_ERROR(impl_->meta_->PutSnapshot(*r));
  Failpoint("cluster.delete_snapshot.marked");
  Result<store::PinInfo> pin = impl_->store_->FindPin(PinName(r->id));
  if (pin.ok()) RETURN_IF_ERROR(impl_->store_->Unpin(pin->id));
  Failpoint("cluster.delete_snapshot.unpinned");
  RETURN_IF_ERROR(impl_->meta_->DeleteSnapshot(r->id));
  std::error_code ec;
  std::filesystem::remove(impl_->SnapshotSecretPath(r->id), ec);  // else the next Open does
  v.status = "deleting";
  return v;
}

Result<SnapshotView> ClusterService::CopySnapshot(const CopySnapshotRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.target_id, Field::kTargetSnapshotId));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  const std::string id = Lower(req.target_id);
  std::lock_guard<std::mutex> sl(impl_->snapshot_mu_);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> src, impl_->meta_->GetSnapshot(Lower(req.source_id)));
  if (!src) return SnapshotNotFound(req.source_id);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> taken, impl_->meta_->GetSnapshot(id));
  if (taken) return SnapshotExists(id, Field::kTargetSnapshotId);
  if (src->status != "available") {
    return SnapshotNotAvailable(*src);
  }
  ASSIGN_OR_RETURN(store::PinInfo from, impl_->store_->FindPin(PinName(src->id)));
  ASSIGN_OR_RETURN(std::string root_password, ReadSecret(impl_->SnapshotSecretPath(src->id)));
  RETURN_IF_ERROR(WriteSecret(impl_->SnapshotSecretPath(id), root_password));
  ASSIGN_OR_RETURN(store::PinInfo pin, impl_->store_->CopyPin(PinName(id), from.id));
  Failpoint("cluster.copy_snapshot.pinned");
  SnapshotRow row = *src;
  row.id = id;
  row.pin_id = static_cast<int64_t>(pin.id.value);
  if (Status s = impl_->meta_->PutSnapshot(row); !s.ok()) {
    (void)impl_->store_->Unpin(pin.id);  // the refusal reported is SQLite's
    return s;
  }
  RETURN_IF_ERROR(impl_->PutNewTags(kTagKind, id, req.tags, [&]() -> Status {
    Status d = impl_->meta_->DeleteSnapshot(id);
    Status u = impl_->store_->Unpin(pin.id);
    return d.ok() ? u : d;
  }));
  return ViewOf(*impl_, row);
}

Result<ClusterView> ClusterService::RestoreFromSnapshot(const RestoreSnapshotRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, Field::kClusterId));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  if (req.backtrack_window_s &&
      (*req.backtrack_window_s < 0 || *req.backtrack_window_s > kMaxBacktrackWindowS)) {
    return WindowOutOfRange();
  }
  // param_mu_ before mu_: a group named here cannot be deleted before the row names it.
  std::unique_lock<std::mutex> pl(impl_->param_mu_, std::defer_lock);
  ASSIGN_OR_RETURN(std::string param_group, impl_->ResolveNewClusterGroup(req.param_group, &pl));
  std::lock_guard<std::mutex> lk(impl_->mu_);
  const std::string id = Lower(req.id);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> snap,
                   impl_->meta_->GetSnapshot(Lower(req.snapshot_id)));
  if (!snap) return SnapshotNotFound(req.snapshot_id);
  if (req.engine != snap->engine) {
    return InvalidParam(Reason::kSnapshotEngineMismatch,
                        {.field = Field::kEngine, .id = snap->id, .other = snap->engine,
                         .input = BoundedInput(req.engine)});
  }
  if (req.engine_version && *req.engine_version != snap->engine_version) {
    return InvalidParam(Reason::kSnapshotVersionMismatch,
                        {.field = Field::kEngineVersion, .id = snap->id,
                         .other = snap->engine_version, .input = BoundedInput(*req.engine_version)});
  }
  if (snap->status != "available") {
    return SnapshotNotAvailable(*snap);
  }
  ASSIGN_OR_RETURN(std::optional<ClusterRow> existing, impl_->meta_->GetCluster(id));
  if (existing) {
    return Refuse(ClusterError::kClusterExists, Reason::kClusterExists,
                  {.field = Field::kClusterId, .id = id});
  }
  ClusterRow row;
  row.id = id;
  row.resource_id = "cluster-" + RandomAlnum(26, true);
  row.engine = snap->engine;
  row.engine_version = snap->engine_version;
  row.master_username = snap->master_username;
  row.database_name = snap->database_name;
  row.status = ClusterStatus::kCreating;
  ASSIGN_OR_RETURN(row.port, impl_->AssignPort(req.port, id));
  ASSIGN_OR_RETURN(row.engine_uid, impl_->AllocateEngineUid());
  row.backtrack_window_s = req.backtrack_window_s.value_or(0);
  row.create_time_ns = NowNs();
  row.clone_group_id = Uuid();  // its own: a restored cluster is no clone of a live one
  row.volume = id;
  row.deletion_protection = req.deletion_protection;
  row.param_group = param_group;
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  auto undo = [&] { return impl_->meta_->DeleteCluster(id); };
  RETURN_IF_ERROR(impl_->PutNewTags("cluster", id, req.tags, undo));
  Operation op{.kind = OpKind::kRestoreSnapshot, .target = id, .ref = snap->id};
  RETURN_IF_ERROR(impl_->BeginOrUndo(&op, undo));
  impl_->Async([impl = impl_.get(), op, row] { impl->DoRestoreSnapshot(op, row); });
  return impl_->View(row);
}

void ClusterService::Impl::DoRestoreSnapshot(Operation op, ClusterRow row) {
  auto made = HostFor(row);
  std::shared_ptr<ClusterHost> host = made.ok() ? *made : nullptr;
  std::unique_lock<std::mutex> ol;
  if (host) ol = std::unique_lock<std::mutex>(host->op_mutex());
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: restoring %s from snapshot %s failed: %s\n", row.id.c_str(),
                 op.ref.c_str(), s.ToString().c_str());
    MarkClusterFailed(row.id);
    Event(row.id, EventKind::kClusterCreationFailed, s.message());
    FinishOp(&op, s);
  };
  if (!host) return fail(made.status());
  if (!host->volume().valid()) {
    // The pin may go once the clone exists (the clone keeps its branch point itself): the
    // snapshot's lock keeps a deletion from slipping between the lookup and the clone.
    std::lock_guard<std::mutex> sl(snapshot_mu_);
    Result<store::PinInfo> pin = store_->FindPin(PinName(op.ref));
    if (!pin.ok()) return fail(pin.status().WithContext("snapshot " + op.ref));
    Result<store::VolumeInfo> vol = store_->CloneFromPin(row.volume, pin->id);
    if (!vol.ok()) return fail(vol.status());
    host->Attach(vol->id);
    op.volume_id = static_cast<int64_t>(vol->id.value);
    Status s = SetClusterVolume(row.id, vol->id);
    if (s.ok()) s = RecordStep(&op, OpStep::kVolumeMade);
    if (!s.ok()) return fail(s);
    Failpoint("cluster.restore_snapshot.volume_made");
  }
  Result<std::string> root_password = ReadSecret(SnapshotSecretPath(op.ref));
  if (!root_password.ok()) return fail(root_password.status());
  Status s = host->SeedRunDir(*root_password);
  if (s.ok()) s = host->Prepare();
  if (s.ok()) s = RecordStep(&op, OpStep::kPrepared);
  if (!s.ok()) return fail(s);
  Failpoint("cluster.restore_snapshot.prepared");
  s = SetClusterStatus(row.id, ClusterStatus::kAvailable);
  if (!s.ok()) return fail(s);
  FinishOp(&op, Status::Ok());
  Event(row.id, EventKind::kClusterCreated);
}

}  // namespace rwd::cluster
