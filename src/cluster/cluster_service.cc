#include "cluster/cluster_service.h"

#include <cstdio>
#include <ctime>

#include "cluster/service_impl.h"
#include "common/failpoint.h"

namespace rwd::cluster {

// ---------------------------------------------------------------------------------------------

ClusterService::ClusterService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterService::~ClusterService() = default;

Result<std::unique_ptr<ClusterService>> ClusterService::Open(const ServiceOptions& options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("data dir not set");
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ClusterService>(new ClusterService(std::move(impl)));
}

void ClusterService::WaitIdle() { impl_->WaitIdle(); }

const store::Store& ClusterService::store() const { return *impl_->store_; }

Result<store::Lsn> ClusterService::SnapshotMetadata(const std::string& path, int64_t* changes) {
  *changes = impl_->meta_->ChangeCount();
  RETURN_IF_ERROR(impl_->meta_->BackupTo(path));
  // Volumes are made in the store before meta.db names them: after this sync every one the
  // copy names is in the log at or below the returned LSN.
  RETURN_IF_ERROR(impl_->store_->Sync());
  return impl_->store_->stats().synced_lsn;
}

int64_t ClusterService::MetadataChanges() { return impl_->meta_->ChangeCount(); }

void ClusterService::EventForEveryCluster(const std::string& message, const std::string& category) {
  Result<std::vector<ClusterRow>> rows = impl_->meta_->ListClusters();
  if (!rows.ok()) return;
  for (const ClusterRow& r : *rows) {
    impl_->RecordEvent(EventRow{r.id, "db-cluster", message, category, NowNs(),
                                static_cast<int64_t>(EventKind::kMessage)});
  }
}


Result<ClusterView> ClusterService::CreateCluster(const CreateClusterRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, Field::kClusterId));
  if (req.engine != "aurora-mysql") {
    return InvalidParam(Reason::kEngineUnsupported,
                        {.field = Field::kEngine, .input = BoundedInput(req.engine)});
  }
  RETURN_IF_ERROR(ValidateMasterUsername(req.master_username));
  RETURN_IF_ERROR(ValidateMasterPassword(req.master_password));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  if (!req.database_name.empty()) {
    bool ok = req.database_name.size() <= 64 &&
              std::isalpha(static_cast<unsigned char>(req.database_name[0]));
    for (char c : req.database_name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok) {
      return InvalidParam(Reason::kDatabaseNameInvalid, {.field = Field::kDatabaseName});
    }
  }
  if (req.backtrack_window_s < 0 || req.backtrack_window_s > kMaxBacktrackWindowS) {
    return WindowOutOfRange();
  }
  if (req.engine_version && !req.engine_version->empty() &&
      req.engine_version->find(impl_->engine_version_.substr(0, 7)) == std::string::npos &&
      req.engine_version->rfind("8.0", 0) != 0 && req.engine_version->rfind("5.7", 0) != 0) {
    return InvalidParam(Reason::kEngineVersionUnknown,
                        {.field = Field::kEngineVersion, .input = BoundedInput(*req.engine_version)});
  }
  // param_mu_ before mu_: a group named here cannot be deleted before the row names it.
  std::unique_lock<std::mutex> pl(impl_->param_mu_, std::defer_lock);
  ASSIGN_OR_RETURN(std::string param_group, impl_->ResolveNewClusterGroup(req.param_group, &pl));
  std::lock_guard<std::mutex> lk(impl_->mu_);
  const std::string id = Lower(req.id);
  ASSIGN_OR_RETURN(std::optional<ClusterRow> existing, impl_->meta_->GetCluster(id));
  if (existing) {
    return Refuse(ClusterError::kClusterExists, Reason::kClusterExists,
                  {.field = Field::kClusterId, .id = id});
  }
  ClusterRow row;
  row.id = id;
  row.resource_id = "cluster-" + RandomAlnum(26, true);
  row.engine = req.engine;
  row.engine_version = impl_->engine_version_;
  row.master_username = req.master_username;
  row.database_name = req.database_name;
  row.status = ClusterStatus::kCreating;
  ASSIGN_OR_RETURN(row.port, impl_->AssignPort(req.port, id));
  ASSIGN_OR_RETURN(row.engine_uid, impl_->AllocateEngineUid());
  row.backtrack_window_s = req.backtrack_window_s;
  row.create_time_ns = NowNs();
  row.clone_group_id = Uuid();
  row.volume = id;
  row.deletion_protection = req.deletion_protection;
  row.param_group = param_group;
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  RETURN_IF_ERROR(impl_->PutNewTags("cluster", id, req.tags, [&] { return impl_->meta_->DeleteCluster(id); }));
  Operation op{.kind = OpKind::kCreate, .target = id};
  RETURN_IF_ERROR(impl_->BeginOrUndo(&op, [&] { return impl_->meta_->DeleteCluster(id); }));
  impl_->Async([impl = impl_.get(), op, row, pw = req.master_password] {
    impl->DoCreate(op, row, pw);
  });
  return impl_->View(row);
}

Result<std::vector<ClusterView>> ClusterService::DescribeClusters(
    const std::optional<std::string>& id) {
  std::vector<ClusterView> out;
  // Each member's parameter apply status: the writer's engine's, or the reader's own.
  auto add = [&](const ClusterRow& row) -> Status {
    ASSIGN_OR_RETURN(ClusterView v, impl_->View(row));
    for (ClusterMember& m : v.members) {
      auto inst = m.is_writer ? Result<std::optional<InstanceRow>>(std::nullopt)
                              : impl_->GetInstanceRow(m.instance_id);
      m.param_status = inst.ok() && *inst ? impl_->ReaderParamStatus(row, **inst)
                                          : impl_->ParamStatusOf(row);
    }
    out.push_back(std::move(v));
    return Status::Ok();
  };
  if (id) {
    ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(*id));
    RETURN_IF_ERROR(add(row));
    return out;
  }
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, impl_->meta_->ListClusters());
  for (const auto& row : rows) RETURN_IF_ERROR(add(row));
  return out;
}

Result<ClusterView> ClusterService::ModifyCluster(const ModifyClusterRequest& req) {
  std::unique_lock<std::mutex> pl(impl_->param_mu_, std::defer_lock);  // before mu_
  std::optional<std::string> param_group;
  if (req.param_group) {
    pl.lock();
    ASSIGN_OR_RETURN(param_group,
                     impl_->ResolveParamGroup(ParamGroupKind::kCluster, *req.param_group));
  }
  std::unique_lock<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.id));
  // Deletion protection alone may change on a failed cluster too: otherwise a protected cluster
  // that failed could never be deleted.
  const bool protection_only =
      !req.backtrack_window_s && !req.master_password && !req.param_group;
  if (row.status != ClusterStatus::kAvailable &&
      !(row.status == ClusterStatus::kFailed && protection_only)) {
    return InvalidState(Reason::kClusterNotModifiable, {.id = row.id, .cluster_status = row.status});
  }
  if (req.backtrack_window_s) {
    const int64_t w = *req.backtrack_window_s;
    if (w < 0 || w > kMaxBacktrackWindowS) {
      return WindowOutOfRange();
    }
    if (w > 0 && (row.backtrack_window_s == 0 || row.backtrack_disabled_for_good)) {
      return InvalidCombination(Reason::kBacktrackEnableLater,
                                {.field = Field::kBacktrackWindow, .id = row.id});
    }
  }
  Operation op{.kind = OpKind::kModify, .target = row.id};
  if (req.master_password) {
    const std::string& pw = *req.master_password;
    RETURN_IF_ERROR(ValidateMasterPassword(pw));
    ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> host, impl_->HostForLocked(row));
    std::lock_guard<std::mutex> ol(host->op_mutex());  // after mu_, as everywhere
    if (!host->serving()) {
      return InvalidState(Reason::kNoRunningWriter, {.field = Field::kMasterPassword, .id = row.id});
    }
    // The metadata this modify writes goes in the journal: the password cannot be set again
    // after a crash, so a modify cut short after it is finished from there (whole).
    op.ref = ModifyChangeText(req.backtrack_window_s, req.deletion_protection);
    if (param_group) op.ref += (op.ref.empty() ? "pgroup=" : ",pgroup=") + *param_group;
    RETURN_IF_ERROR(impl_->BeginOp(&op));
    Status s = host->SetUserPassword(row.master_username, pw);
    if (s.ok()) s = impl_->RecordStep(&op, OpStep::kPasswordSet);
    if (!s.ok()) {
      impl_->FinishOp(&op, s);
      return s;
    }
    Failpoint("cluster.modify.password_set");
  }
  ApplyModifyChange(req.backtrack_window_s, req.deletion_protection, &row);
  const bool group_changed = param_group && *param_group != row.param_group;
  if (param_group) row.param_group = *param_group;
  if (op.id == 0) RETURN_IF_ERROR(impl_->BeginOp(&op));
  Status s = impl_->meta_->PutCluster(row);
  impl_->FinishOp(&op, s);
  RETURN_IF_ERROR(s);
  impl_->Event(row.id, EventKind::kClusterModified);
  ASSIGN_OR_RETURN(ClusterView view, impl_->View(row));
  lk.unlock();
  // As in Aurora, another group's values wait for the next reboot (pending-reboot until then).
  if (group_changed) impl_->PushSettings(row.id, {});
  return view;
}

Result<ClusterView> ClusterService::DeleteCluster(const DeleteClusterRequest& req) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.id));
  if (row.deletion_protection) {
    // Aurora's own words (src/api); nothing changes.
    return InvalidCombination(Reason::kDeletionProtected, {.id = row.id});
  }
  if (!req.skip_final_snapshot && !req.final_snapshot_id) {
    return InvalidCombination(Reason::kFinalSnapshotRequired, {.field = Field::kFinalSnapshotId});
  }
  if (req.final_snapshot_id && req.skip_final_snapshot) {
    return InvalidCombination(Reason::kFinalSnapshotWithSkip, {.field = Field::kFinalSnapshotId});
  }
  // As in Aurora, instances already being deleted do not hold the cluster back (the usual
  // clean-up is delete-db-instance then delete-db-cluster at once).
  if (auto w = impl_->WriterOf(row.id); w && w->status != InstanceStatus::kDeleting) {
    // A stopped cluster's instances cannot be deleted (as in Aurora): it is started first.
    return InvalidState(Reason::kClusterHasInstances, {.id = row.id, .cluster_status = row.status});
  }
  // A stopped cluster without instances is deleted as it is (nothing runs, nothing mounted).
  if (row.status != ClusterStatus::kAvailable && row.status != ClusterStatus::kFailed &&
      row.status != ClusterStatus::kStopped) {
    return InvalidState(Reason::kClusterNotDeletable, {.id = row.id, .cluster_status = row.status});
  }
  if (req.final_snapshot_id) {
    // The final snapshot is taken before the deletion starts, so a refused one (a taken id,
    // the budget) leaves the cluster as it was. The writer is already being deleted: the
    // pinned state is crash-consistent, which InnoDB recovers on restore.
    RETURN_IF_ERROR(ValidateIdentifier(*req.final_snapshot_id, Field::kFinalSnapshotId));
    std::lock_guard<std::mutex> sl(impl_->snapshot_mu_);
    const std::string snap_id = Lower(*req.final_snapshot_id);
    ASSIGN_OR_RETURN(std::optional<SnapshotRow> taken, impl_->meta_->GetSnapshot(snap_id));
    if (taken) {
      return Refuse(ClusterError::kSnapshotExists, Reason::kSnapshotExists,
                    {.field = Field::kFinalSnapshotId, .id = snap_id});
    }
    ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> host, impl_->HostForLocked(row));
    ASSIGN_OR_RETURN(std::string root_password, host->RootPassword());
    RETURN_IF_ERROR(impl_->TakeSnapshot(row, snap_id, {}, root_password).status());
  }
  Operation op{.kind = OpKind::kDelete, .target = row.id};
  RETURN_IF_ERROR(impl_->BeginOp(&op));
  row.status = ClusterStatus::kDeleting;
  if (Status s = impl_->meta_->PutCluster(row); !s.ok()) {
    impl_->FinishOp(&op, s);
    return s;
  }
  ASSIGN_OR_RETURN(ClusterView v, impl_->View(row));
  impl_->Async([impl = impl_.get(), op, row] { impl->DoDeleteCluster(op, row); });
  return v;
}

Result<InstanceView> ClusterService::CreateInstance(const CreateInstanceRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, Field::kInstanceId));
  if (req.instance_class.empty()) {
    return Refuse(ClusterError::kMissingParameter, Reason::kMissingField,
                  {.field = Field::kInstanceClass});
  }
  if (req.cluster_id.empty()) {
    return InvalidCombination(Reason::kInstanceWithoutCluster, {.field = Field::kClusterId});
  }
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  std::unique_lock<std::mutex> pl(impl_->param_mu_, std::defer_lock);  // before mu_
  std::string param_group;
  if (req.param_group) {
    pl.lock();
    ASSIGN_OR_RETURN(param_group,
                     impl_->ResolveParamGroup(ParamGroupKind::kInstance, *req.param_group));
  }
  std::lock_guard<std::mutex> lk(impl_->mu_);
  const std::string id = Lower(req.id);
  ASSIGN_OR_RETURN(std::optional<InstanceRow> existing, impl_->GetInstanceRow(id));
  if (existing) {
    return Refuse(ClusterError::kInstanceExists, Reason::kInstanceExists,
                  {.field = Field::kInstanceId, .id = id});
  }
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  if (!req.engine.empty() && req.engine != row.engine) {
    return InvalidCombination(Reason::kInstanceEngineMismatch,
                              {.field = Field::kEngine, .id = row.id, .other = row.engine,
                               .input = BoundedInput(req.engine)});
  }
  if (IsStoppedOrStarting(row.status)) {
    // As in Aurora, no instance is added to a stopped cluster.
    return InvalidState(Reason::kClusterStoppedForInstances,
                        {.id = row.id, .cluster_status = row.status});
  }
  std::optional<InstanceRow> writer = impl_->WriterOf(row.id);
  if (row.status != ClusterStatus::kAvailable &&
      (writer || row.status != ClusterStatus::kCreating)) {
    return InvalidState(Reason::kClusterNotAvailable, {.id = row.id, .cluster_status = row.status});
  }
  if (writer && writer->status != InstanceStatus::kAvailable) {
    // A reader is a clone of the running writer, following it.
    return InvalidState(Reason::kWriterNotAvailable,
                        {.id = row.id, .other = writer->id, .instance_status = writer->status});
  }
  InstanceRow inst;
  inst.id = id;
  inst.cluster_id = row.id;
  inst.resource_id = "db-" + RandomAlnum(26, true);
  inst.instance_class = req.instance_class;
  inst.status = InstanceStatus::kCreating;
  inst.create_time_ns = NowNs();
  inst.param_group = param_group;
  inst.server_id = Impl::kWriterServerId;
  if (writer) {
    // A second and further instance is a reader (readers.cc).
    inst.role = InstanceRole::kReader;
    ASSIGN_OR_RETURN(inst.port, impl_->AssignReaderPort());
    inst.server_id = impl_->NextServerId(row.id);
  }
  RETURN_IF_ERROR(impl_->PutInstanceRow(inst));
  RETURN_IF_ERROR(impl_->PutNewTags("db", id, req.tags, [&] { return impl_->DeleteInstanceRow(id); }));
  Operation op{.kind = writer ? OpKind::kCreateReader : OpKind::kCreateInstance, .target = id,
               .ref = writer ? row.id : ""};
  RETURN_IF_ERROR(impl_->BeginOrUndo(&op, [&] { return impl_->DeleteInstanceRow(id); }));
  if (writer) {
    impl_->Async([impl = impl_.get(), op, inst] { impl->DoCreateReader(op, inst); });
  } else {
    impl_->Async([impl = impl_.get(), op, inst] { impl->DoStartInstance(op, inst); });
  }
  return impl_->ViewInstance(inst, row);
}

Result<std::vector<InstanceView>> ClusterService::DescribeInstances(
    const std::optional<std::string>& id, const std::optional<std::string>& cluster) {
  std::vector<InstanceView> out;
  ASSIGN_OR_RETURN(std::vector<InstanceRow> rows, impl_->ListInstanceRows());
  for (const auto& r : rows) {
    if (id && r.id != Lower(*id)) continue;
    if (cluster && r.cluster_id != Lower(*cluster)) continue;
    auto c = impl_->GetClusterRow(r.cluster_id);
    if (!c.ok()) continue;
    out.push_back(impl_->ViewInstance(r, *c));
    out.back().param_status = r.role == InstanceRole::kReader ? impl_->ReaderParamStatus(*c, r)
                                                              : impl_->ParamStatusOf(*c);
  }
  if (id && out.empty()) return InstanceNotFound(*id);
  return out;
}

Result<InstanceView> ClusterService::DeleteInstance(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::optional<InstanceRow> inst, impl_->GetInstanceRow(Lower(id)));
  if (!inst) return InstanceNotFound(id);
  if (inst->status == InstanceStatus::kDeleting) {
    return InvalidInstanceState(Reason::kInstanceAlreadyDeleting, {.id = inst->id});
  }
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(inst->cluster_id));
  if (row.status == ClusterStatus::kBacktracking) {
    return InvalidInstanceState(Reason::kInstanceDeleteWhileBacktracking, {.id = inst->id});
  }
  if (row.status == ClusterStatus::kFailingOver) {
    return InvalidInstanceState(Reason::kInstanceDeleteWhileFailingOver, {.id = inst->id});
  }
  if (IsStoppedOrStarting(row.status)) {
    // As in Aurora, no instance is removed from a stopped cluster.
    return InvalidState(Reason::kInstanceDeleteWhileStopped,
                        {.id = inst->id, .other = row.id, .cluster_status = row.status});
  }
  const bool reader = inst->role == InstanceRole::kReader;
  if (!reader && !impl_->ReadersOf(row.id).empty()) {
    // As Aurora: a failover to the best reader first, then the old writer goes (failover.cc).
    return impl_->DeleteWriterWithReaders(row, *inst);
  }
  Operation op{.kind = reader ? OpKind::kDeleteReader : OpKind::kDeleteInstance,
               .target = inst->id, .ref = reader ? row.id : ""};
  RETURN_IF_ERROR(impl_->BeginOp(&op));
  inst->status = InstanceStatus::kDeleting;
  if (Status s = impl_->PutInstanceRow(*inst); !s.ok()) {
    impl_->FinishOp(&op, s);
    return s;
  }
  if (reader) {
    impl_->Async([impl = impl_.get(), op, i = *inst] { impl->DoDeleteReader(op, i); });
  } else {
    impl_->Async([impl = impl_.get(), op, i = *inst] { impl->DoDeleteInstance(op, i); });
  }
  return impl_->ViewInstance(*inst, row);
}

Result<InstanceView> ClusterService::RebootInstance(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::optional<InstanceRow> inst, impl_->GetInstanceRow(Lower(id)));
  if (!inst) return InstanceNotFound(id);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(inst->cluster_id));
  if (inst->status != InstanceStatus::kAvailable && inst->status != InstanceStatus::kFailed) {
    return InvalidInstanceState(Reason::kInstanceNotRebootable,
                                {.id = inst->id, .cluster_status = row.status,
                                 .instance_status = inst->status});
  }
  if (row.status != ClusterStatus::kAvailable && row.status != ClusterStatus::kFailed) {
    return InvalidInstanceState(Reason::kInstanceRebootClusterState,
                                {.id = inst->id, .cluster_status = row.status});
  }
  Operation op{.kind = OpKind::kReboot, .target = inst->id};
  RETURN_IF_ERROR(impl_->BeginOp(&op));
  inst->status = InstanceStatus::kRebooting;
  if (Status s = impl_->PutInstanceRow(*inst); !s.ok()) {
    impl_->FinishOp(&op, s);
    return s;
  }
  impl_->Async([impl = impl_.get(), op, i = *inst] {
    impl->DoStartInstance(op, i, Impl::StartKind::kReboot);
  });
  return impl_->ViewInstance(*inst, row);
}

Result<BacktrackView> ClusterService::Backtrack(const BacktrackRequest& req) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  if (row.backtrack_window_s == 0) {
    return InvalidState(Reason::kBacktrackNotEnabled, {.id = row.id});
  }
  if (row.status == ClusterStatus::kBacktracking) {
    return InvalidState(Reason::kAlreadyBacktracking, {.id = row.id});
  }
  if (row.status != ClusterStatus::kAvailable) {
    return InvalidState(Reason::kClusterNotBacktrackable,
                        {.id = row.id, .cluster_status = row.status});
  }
  ASSIGN_OR_RETURN(store::VolumeInfo vol, impl_->VolumeOf(row));
  const int64_t now = NowNs();
  int64_t to = req.backtrack_to_ns;
  if (to > now) {
    return InvalidState(Reason::kTimeInFuture, {.field = Field::kBacktrackTo, .time_ns = to});
  }
  const int64_t earliest = impl_->EarliestBacktrackNs(vol);
  if (to < earliest) {
    if (!req.use_earliest_time_on_point_in_time_unavailable) {
      return InvalidState(Reason::kTimeBeforeEarliest, {.field = Field::kBacktrackTo,
                                                        .id = row.id, .time_ns = to,
                                                        .time2_ns = earliest});
    }
    to = earliest;
  }
  BacktrackRow bt;
  bt.id = Uuid();
  bt.cluster_id = row.id;
  bt.backtrack_to_ns = to;
  bt.backtracked_from_ns = now;
  bt.request_time_ns = now;
  bt.status = BacktrackStatus::kPending;
  // The head it is asked on: after a crash, a different head means the rewind landed.
  Operation op{.kind = OpKind::kBacktrack, .target = row.id, .ref = bt.id, .arg_ns = to,
               .timeline_before = static_cast<int64_t>(vol.head.value)};
  RETURN_IF_ERROR(impl_->BeginOp(&op));
  Status s = impl_->meta_->PutBacktrack(bt);
  row.status = ClusterStatus::kBacktracking;
  if (s.ok()) s = impl_->meta_->PutCluster(row);
  if (!s.ok()) {
    // Settled now, so that recovery never finds it half begun.
    impl_->FinishOp(&op, s);
    bt.status = BacktrackStatus::kFailed;
    bt.message = s.message();
    if (Status b = impl_->meta_->PutBacktrack(bt); !b.ok()) {
      std::fprintf(stderr, "rewindd: recording backtrack %s failed: %s\n", bt.id.c_str(),
                   b.ToString().c_str());
    }
    return s;
  }
  impl_->Event(row.id, EventKind::kBacktrackStarted);
  impl_->Async([impl = impl_.get(), op, bt] { impl->DoBacktrack(op, bt); });
  return BacktrackView{bt.id, bt.cluster_id, bt.backtrack_to_ns, bt.backtracked_from_ns,
                       bt.request_time_ns, bt.status, ""};
}

Result<ActivityView> ClusterService::Activity(const ActivityRequest& req) {
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  auto found = impl_->VolumeOf(row);
  if (!found.ok()) {
    // Being created (no volume yet) or deleted (volume gone): nothing to show.
    return InvalidState(Reason::kActivityNoStorage, {.id = row.id, .cluster_status = row.status});
  }
  const store::VolumeInfo& vol = *found;
  const int64_t now = impl_->store_->NowNs();
  const int64_t earliest = impl_->EarliestBacktrackNs(vol);
  const int64_t from = req.from_ns.value_or(std::min(earliest, now));
  const int64_t to = req.to_ns.value_or(now);
  if (req.from_ns && from < earliest) {
    return InvalidParam(Reason::kTimeBeforeEarliest, {.field = Field::kStartTime, .id = row.id,
                                                      .time_ns = from, .time2_ns = earliest});
  }
  if (to > now) return InvalidParam(Reason::kTimeInFuture, {.field = Field::kEndTime, .time_ns = to});
  if (!req.from_ns && to < from) {
    return InvalidParam(Reason::kTimeBeforeEarliest, {.field = Field::kEndTime, .id = row.id,
                                                      .time_ns = to, .time2_ns = from});
  }
  if (from > to) {
    return InvalidParam(Reason::kEndBeforeStart,
                        {.field = Field::kEndTime, .time_ns = to, .time2_ns = from});
  }
  int64_t step = 0;
  if (req.step_ns) {
    step = *req.step_ns;
    if (step <= 0 || step % kNsPerSec != 0) {
      return InvalidParam(Reason::kStepInvalid, {.field = Field::kStep, .number = step});
    }
  } else {
    // The activity summary keeps whole minutes only before its fine span.
    const bool minutes_only = from < now - store::kActivityFineSpanNs + 60 * kNsPerSec;
    static constexpr int64_t kLadder[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                                          3600, 7200, 10800, 21600, 43200, 86400};
    for (int64_t s : kLadder) {
      step = s * kNsPerSec;
      if (minutes_only && s % 60 != 0) continue;
      if ((to - from) / step + 2 <= kDefaultActivityPoints) break;
    }
  }
  auto points = impl_->store_->Activity(vol.id, from, to, step);
  if (!points.ok()) {
    if (points.status().code() == Status::Code::kInvalidArgument) {
      return InvalidParam(Reason::kStepRefused,
                          {.field = Field::kStep, .number = step, .cause = points.status().message()});
    }
    return points.status();
  }
  ActivityView v;
  v.cluster_id = row.id;
  v.step_ns = step;
  v.from_ns = from / step * step;
  v.to_ns = v.from_ns + static_cast<int64_t>(points->size()) * step;
  v.earliest_ns = earliest;
  v.points = std::move(points).value();
  return v;
}

Result<std::vector<BacktrackView>> ClusterService::DescribeBacktracks(
    const std::string& cluster_id, const std::optional<std::string>& backtrack_id,
    const std::vector<BacktrackStatus>& statuses) {
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(cluster_id));
  ASSIGN_OR_RETURN(std::vector<BacktrackRow> rows, impl_->meta_->ListBacktracks(row.id));
  std::vector<BacktrackView> out;
  for (const auto& r : rows) {
    if (backtrack_id && r.id != *backtrack_id) continue;
    if (!statuses.empty() &&
        std::find(statuses.begin(), statuses.end(), r.status) == statuses.end()) {
      continue;
    }
    out.push_back(BacktrackView{r.id, r.cluster_id, r.backtrack_to_ns, r.backtracked_from_ns,
                                r.request_time_ns, r.status, r.message});
  }
  if (backtrack_id && out.empty()) {
    return Refuse(ClusterError::kBacktrackNotFound, Reason::kBacktrackNotFound,
                  {.id = row.id, .input = BoundedInput(*backtrack_id)});
  }
  return out;
}

Result<ClusterView> ClusterService::Clone(const CloneRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, Field::kClusterId));
  if (req.restore_type == "full-copy") {
    // A full copy would be an independent copy of every byte; Rewind serves only clones.
    return InvalidParam(Reason::kRestoreTypeFullCopy, {.field = Field::kRestoreType});
  }
  if (!req.restore_type.empty() && req.restore_type != "copy-on-write") {
    return InvalidParam(Reason::kRestoreTypeInvalid,
                        {.field = Field::kRestoreType, .input = BoundedInput(req.restore_type)});
  }
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  if (req.use_latest_restorable_time == req.restore_to_ns.has_value()) {
    return InvalidCombination(Reason::kRestoreTimeChoice, {.field = Field::kRestoreToTime});
  }
  if (req.backtrack_window_s &&
      (*req.backtrack_window_s < 0 || *req.backtrack_window_s > kMaxBacktrackWindowS)) {
    return WindowOutOfRange();
  }
  if (!req.source_peer.empty()) return impl_->BeginPeerClone(req);  // cluster_peer_clone.cc
  // param_mu_ before mu_: a group named here cannot be deleted before the row names it.
  std::unique_lock<std::mutex> pl(impl_->param_mu_, std::defer_lock);
  ASSIGN_OR_RETURN(std::string param_group, impl_->ResolveNewClusterGroup(req.param_group, &pl));
  std::lock_guard<std::mutex> lk(impl_->mu_);
  const std::string id = Lower(req.id);
  ASSIGN_OR_RETURN(ClusterRow src, impl_->GetClusterRow(req.source_id));
  ASSIGN_OR_RETURN(std::optional<ClusterRow> existing, impl_->meta_->GetCluster(id));
  if (existing) {
    return Refuse(ClusterError::kClusterExists, Reason::kClusterExists,
                  {.field = Field::kClusterId, .id = id});
  }
  // A clone of it would outlive the pin that keeps the peer's history it reads.
  if (!src.source_peer.empty()) return InvalidState(Reason::kPeerCloneSource, {.id = src.id});
  // As in Aurora, a stopped cluster can be restored to a point in time: its volume is whole.
  if (src.status != ClusterStatus::kAvailable && src.status != ClusterStatus::kStopped) {
    return InvalidState(Reason::kSourceNotClonable, {.id = src.id, .cluster_status = src.status});
  }
  ASSIGN_OR_RETURN(store::VolumeInfo vol, impl_->VolumeOf(src));
  const int64_t now = NowNs();
  int64_t at = req.restore_to_ns.value_or(now);
  if (at > now) {
    return Refuse(ClusterError::kInvalidRestore, Reason::kRestoreTimeInFuture,
                  {.field = Field::kRestoreToTime, .time_ns = at});
  }
  if (at < std::max(vol.created_ns, vol.retained_from_ns)) {
    return Refuse(ClusterError::kInvalidRestore, Reason::kRestoreTimeBeforeEarliest,
                  {.field = Field::kRestoreToTime, .id = src.id, .time_ns = at,
                   .time2_ns = std::max(vol.created_ns, vol.retained_from_ns)});
  }
  ClusterRow row;
  row.id = id;
  row.resource_id = "cluster-" + RandomAlnum(26, true);
  row.engine = src.engine;
  row.engine_version = src.engine_version;
  row.master_username = src.master_username;
  row.database_name = src.database_name;
  row.status = ClusterStatus::kCreating;
  ASSIGN_OR_RETURN(row.port, impl_->AssignPort(req.port, id));
  ASSIGN_OR_RETURN(row.engine_uid, impl_->AllocateEngineUid());  // its own, not the source's
  row.backtrack_window_s = req.backtrack_window_s.value_or(src.backtrack_window_s);
  row.create_time_ns = now;
  row.clone_group_id = src.clone_group_id;
  row.source_cluster = src.id;
  row.volume = id;
  row.restore_to_ns = at;
  row.deletion_protection = req.deletion_protection;
  row.param_group = param_group;
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  RETURN_IF_ERROR(impl_->PutNewTags("cluster", id, req.tags, [&] { return impl_->meta_->DeleteCluster(id); }));
  Operation op{.kind = OpKind::kClone, .target = id, .ref = src.id, .arg_ns = at};
  RETURN_IF_ERROR(impl_->BeginOrUndo(&op, [&] { return impl_->meta_->DeleteCluster(id); }));
  impl_->Async([impl = impl_.get(), op, row] { impl->DoClone(op, row); });
  return impl_->View(row);
}

Result<CopyOnWriteSource> ClusterService::CopyOnWriteSourceOf(const std::string& cluster_id,
                                                               std::optional<int64_t> at_ns) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(cluster_id));
  if (row.status != ClusterStatus::kAvailable) {
    return InvalidState(Reason::kPastNotReadable, {.id = row.id, .cluster_status = row.status});
  }
  ASSIGN_OR_RETURN(store::VolumeInfo vol, impl_->VolumeOf(row));
  const int64_t now = impl_->store_->NowNs();
  const int64_t earliest = impl_->EarliestBacktrackNs(vol);
  const int64_t at = at_ns.value_or(now);
  if (at > now) {
    return InvalidParam(Reason::kMomentInFuture,
                        {.field = Field::kMoment, .id = row.id, .time_ns = at, .time2_ns = earliest});
  }
  if (at < earliest) {
    return InvalidParam(Reason::kMomentBeforeEarliest,
                        {.field = Field::kMoment, .id = row.id, .time_ns = at, .time2_ns = earliest});
  }
  ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> host, impl_->HostForLocked(row));
  std::lock_guard<std::mutex> ol(host->op_mutex());  // after mu_, as everywhere
  ASSIGN_OR_RETURN(std::string root_password, host->RootPassword());
  ASSIGN_OR_RETURN(engine::EngineOptions engine_options, impl_->EngineOptionsFor(row));
  CopyOnWriteSource src;
  src.cluster_id = row.id;
  src.master_username = row.master_username;
  src.database_name = row.database_name;
  src.store = impl_->store_.get();
  src.volume = vol.id;
  src.at_ns = at;
  src.earliest_ns = earliest;
  src.engine = std::move(engine_options);
  src.engine.root_password = root_password;
  src.engine.on_unexpected_exit = nullptr;
  src.writer_running = host->serving();
  return src;
}

void ClusterService::RecordClusterEvent(const std::string& cluster_id, EventKind kind,
                                        const std::string& detail) {
  impl_->Event(Lower(cluster_id), kind, detail);
}

store::Store* ClusterService::mutable_store() { return impl_->store_.get(); }

std::vector<EventView> ClusterService::DescribeEvents(const EventQuery& q) {
  std::vector<EventView> out;
  auto rows = impl_->meta_->ListEvents();
  if (!rows.ok()) return out;
  const int64_t now = NowNs();
  int64_t start = q.start_ns.value_or(now - q.duration_minutes.value_or(60) * 60 * kNsPerSec);
  int64_t end = q.end_ns.value_or(now + kNsPerSec);
  if (q.duration_minutes && q.start_ns && !q.end_ns) {
    end = *q.start_ns + *q.duration_minutes * 60 * kNsPerSec;
  }
  for (const auto& r : *rows) {
    if (r.date_ns < start || r.date_ns > end) continue;
    if (q.source_id && r.source_id != Lower(*q.source_id)) continue;
    if (q.source_type && r.source_type != *q.source_type) continue;
    std::vector<std::string> cats;
    size_t pos = 0;
    while (pos <= r.categories.size() && !r.categories.empty()) {
      size_t comma = r.categories.find(',', pos);
      cats.push_back(r.categories.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (!q.categories.empty()) {
      bool hit = false;
      for (const auto& c : q.categories) hit = hit || std::find(cats.begin(), cats.end(), c) != cats.end();
      if (!hit) continue;
    }
    EventView e;
    e.source_id = r.source_id;
    e.source_type = r.source_type;
    // A kind this binary does not know (a newer rewindd's row) shows its detail as text.
    e.kind = r.kind >= 0 && r.kind <= kMaxEventKind ? static_cast<EventKind>(r.kind)
                                                    : EventKind::kMessage;
    e.detail = r.message;
    e.categories = std::move(cats);
    e.date_ns = r.date_ns;
    out.push_back(std::move(e));
  }
  return out;
}

Result<int64_t> ClusterService::PruneEvents() { return impl_->PruneEvents(); }

namespace {
// The metadata kind of a tagged resource.
const char* KindName(ResourceKind kind) { return kind == ResourceKind::kCluster ? "cluster" : "db"; }
}  // namespace

// Checks that the resource exists (under mu_) and returns its stored (lower-case) id.
static Result<std::string> TaggedResource(ClusterService::Impl& impl, ResourceKind kind,
                                          const std::string& id);

Result<std::vector<TagView>> ClusterService::ListTags(ResourceKind kind, const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::string key, TaggedResource(*impl_, kind, id));
  return impl_->TagsOf(KindName(kind), key);
}

Status ClusterService::AddTags(ResourceKind kind, const std::string& id,
                               const std::vector<TagView>& tags) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::string key, TaggedResource(*impl_, kind, id));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, tags)));
  ASSIGN_OR_RETURN(std::vector<TagView> current, impl_->TagsOf(KindName(kind), key));
  RETURN_IF_ERROR(ValidateTags(MergeTags(std::move(current), tags)));
  std::vector<TagRow> rows;
  for (const TagView& t : tags) rows.push_back(TagRow{t.key, t.value});
  return impl_->meta_->PutTags(KindName(kind), key, rows);
}

Status ClusterService::RemoveTags(ResourceKind kind, const std::string& id,
                                  const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::string key, TaggedResource(*impl_, kind, id));
  return impl_->meta_->RemoveTags(KindName(kind), key, keys);
}

static Result<std::string> TaggedResource(ClusterService::Impl& impl, ResourceKind kind,
                                          const std::string& id) {
  if (kind == ResourceKind::kCluster) {
    ASSIGN_OR_RETURN(ClusterRow row, impl.GetClusterRow(id));
    return row.id;
  }
  ASSIGN_OR_RETURN(std::optional<InstanceRow> inst, impl.GetInstanceRow(Lower(id)));
  if (!inst) return InstanceNotFound(id);
  return inst->id;
}

}  // namespace rwd::cluster

