// DB cluster snapshots: each is a store pin (its data, kept past the backtrack window and the
// cluster's deletion) plus a row of meta.db's `snapshots` table (its metadata). A pin is made
// before its row and released before its row goes, so after a crash SettleSnapshots finds
// either both (whole), or a pin alone / a row alone or "deleting" (removed: absent).
#include <set>
#include <string>
#include <vector>

#include "cluster/service_impl.h"

namespace rwd::cluster {

namespace {

constexpr const char* kPinPrefix = "snapshot:";
constexpr const char* kTagKind = "cluster-snapshot";

std::string PinName(const std::string& id) { return kPinPrefix + id; }

Status SnapshotNotFound(const std::string& id) {
  return Refusal(ClusterError::kSnapshotNotFound,
                 "DBClusterSnapshot " + BoundedInput(id) + " not found.");
}
Status SnapshotExists(const std::string& id) {
  return Refusal(ClusterError::kSnapshotExists,
                 "Cannot create the snapshot because a snapshot with the identifier " +
                     BoundedInput(id) + " already exists.");
}


}  // namespace

Result<SnapshotRow> ClusterService::Impl::TakeSnapshot(const ClusterRow& cluster,
                                                       const std::string& id,
                                                       const std::vector<TagView>& tags) {
  ASSIGN_OR_RETURN(store::VolumeInfo vol, VolumeOf(cluster));
  if (options_.history_budget_bytes > 0) {
    ASSIGN_OR_RETURN(store::PinBudget budget,
                     store_->CheckPinBudget(vol.id, store::PinAt::Head(),
                                            options_.history_budget_bytes));
    if (!budget.fits) {
      return Refusal(ClusterError::kSnapshotQuota,
                     "Cannot create the snapshot of DB cluster " + cluster.id +
                         ": the history budget (" + std::to_string(budget.budget_bytes) +
                         " bytes) cannot hold it; delete snapshots or raise the budget.");
    }
  }
  ASSIGN_OR_RETURN(store::PinInfo pin, store_->Pin(PinName(id), vol.id, store::PinAt::Head()));
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
  RETURN_IF_ERROR(ValidateIdentifier(req.id, "DBClusterSnapshotIdentifier"));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  const std::string id = Lower(req.id);
  std::lock_guard<std::mutex> sl(impl_->snapshot_mu_);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> taken, impl_->meta_->GetSnapshot(id));
  if (taken) return SnapshotExists(id);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> host, impl_->HostFor(row));
  // Under the cluster's op lock no backtrack or deletion changes the volume while it is pinned.
  std::lock_guard<std::mutex> ol(host->op_mutex());
  ASSIGN_OR_RETURN(row, impl_->GetClusterRow(row.id));  // as it is now, under the lock
  if (row.status != ClusterStatus::kAvailable) {
    return InvalidState("DB cluster " + row.id + " is " + StatusName(row.status) +
                        "; a snapshot can be taken when it is available.");
  }
  ASSIGN_OR_RETURN(SnapshotRow snap, impl_->TakeSnapshot(row, id, req.tags));
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
    return Refusal(ClusterError::kInvalidSnapshotState,
                   "DBClusterSnapshot " + r->id + " is " + r->status + ".");
  }
  ASSIGN_OR_RETURN(SnapshotView v, ViewOf(*impl_, *r));
  // "deleting" first: a crash between the steps leaves a row Open removes (absent, not half).
  r->status = "deleting";
  RETURN_IF_ERROR(impl_->meta_->PutSnapshot(*r));
  Result<store::PinInfo> pin = impl_->store_->FindPin(PinName(r->id));
  if (pin.ok()) RETURN_IF_ERROR(impl_->store_->Unpin(pin->id));
  RETURN_IF_ERROR(impl_->meta_->DeleteSnapshot(r->id));
  v.status = "deleting";
  return v;
}

Result<SnapshotView> ClusterService::CopySnapshot(const CopySnapshotRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.target_id, "TargetDBClusterSnapshotIdentifier"));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  const std::string id = Lower(req.target_id);
  std::lock_guard<std::mutex> sl(impl_->snapshot_mu_);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> src, impl_->meta_->GetSnapshot(Lower(req.source_id)));
  if (!src) return SnapshotNotFound(req.source_id);
  ASSIGN_OR_RETURN(std::optional<SnapshotRow> taken, impl_->meta_->GetSnapshot(id));
  if (taken) return SnapshotExists(id);
  if (src->status != "available") {
    return Refusal(ClusterError::kInvalidSnapshotState,
                   "DBClusterSnapshot " + src->id + " is " + src->status + ".");
  }
  ASSIGN_OR_RETURN(store::PinInfo from, impl_->store_->FindPin(PinName(src->id)));
  ASSIGN_OR_RETURN(store::PinInfo pin, impl_->store_->CopyPin(PinName(id), from.id));
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

}  // namespace rwd::cluster
