// ClusterService's parameter group calls (cluster_service.h) and the Impl helpers behind them
// (service_impl.h). What a group is and how its values are checked: parameter_groups.h.
//
// Why no journal: a change of a group is one meta.db transaction (its values); applying it is
// idempotent and redone by every engine start, which takes its config from meta.db
// (EngineOptionsFor → DesiredSettings). A crash after the transaction and before a running
// engine got an immediate value leaves nothing half done: rewindd's restart starts every
// engine again with the stored values.
#include <unistd.h>

#include <cstdio>

#include "cluster/service_impl.h"

namespace rwd::cluster {
namespace {

Field GroupField(ParamGroupKind kind) {
  return kind == ParamGroupKind::kCluster ? Field::kClusterParamGroup : Field::kInstanceParamGroup;
}

Status GroupNotFound(ParamGroupKind kind, const std::string& name) {
  return Refuse(ClusterError::kParamGroupNotFound, Reason::kParamGroupNotFound,
                {.field = GroupField(kind), .input = BoundedInput(name)});
}

bool IsDefaultName(const std::string& name) { return Lower(name) == DefaultParamGroupName(); }

// reason: kDefaultParamGroupModify or kDefaultParamGroupDelete.
Status DefaultRefused(Reason reason) {
  return Refuse(ClusterError::kInvalidParamGroupState, reason,
                {.id = DefaultParamGroupName(), .other = kParamGroupFamily});
}

uint64_t PhysicalMemory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
}

ParameterView ViewOf(const ParameterSpec& spec, const std::optional<ParamValueRow>& set) {
  ParameterView v;
  v.name = spec.name;
  v.description = spec.description;
  v.is_static = spec.is_static;
  v.data_type = spec.data_type;
  v.allowed_values = spec.allowed_text;
  v.is_modifiable = true;
  if (set) {
    v.value = set->value;
    v.source = ParamSource::kUser;
    v.apply_method = set->apply_method == "immediate" ? ApplyMethod::kImmediate
                                                      : ApplyMethod::kPendingReboot;
  } else {
    if (!spec.default_value.empty()) v.value = spec.default_value;
    v.source = ParamSource::kEngineDefault;
    v.apply_method = spec.is_static ? ApplyMethod::kPendingReboot : ApplyMethod::kImmediate;
  }
  return v;
}

}  // namespace

namespace {
// The clusters whose engines a change of group (kind, stored) reaches.
Result<std::vector<std::string>> ClustersUsing(MetaDb* meta, ParamGroupKind kind,
                                               const std::string& stored) {
  std::vector<std::string> out;
  if (kind == ParamGroupKind::kCluster) {
    ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta->ListClusters());
    for (const ClusterRow& r : rows) {
      if (r.param_group == stored) out.push_back(r.id);
    }
  } else {
    ASSIGN_OR_RETURN(std::vector<InstanceRow> rows, meta->ListInstances());
    for (const InstanceRow& r : rows) {
      if (r.param_group == stored) out.push_back(r.cluster_id);
    }
  }
  return out;
}
}  // namespace

// ---- Impl ----

Status ClusterService::Impl::LoadParamCatalog() {
  ASSIGN_OR_RETURN(std::vector<ParamCatalogRow> cached, meta_->GetParamCatalog(engine_version_));
  std::vector<engine::SystemVariable> vars = VariablesFromRows(cached);
  if (cached.size() != engine::TunableVariables().size()) {
    if (options_.variable_probe) {
      ASSIGN_OR_RETURN(vars, options_.variable_probe());
    } else if (options_.engine_factory) {
      vars.clear();  // a stand-in engine without a probe: nothing is settable
    } else {
      engine::ProbeOptions probe;
      probe.work_dir = options_.data_dir + "/run/.param-probe";
      probe.account = &engine_account_;
      ASSIGN_OR_RETURN(vars, engine::ProbeSystemVariables(probe));
    }
    if (!vars.empty()) RETURN_IF_ERROR(meta_->PutParamCatalog(engine_version_, CatalogRows(vars)));
  }
  catalog_ = BuildCatalog(vars, PhysicalMemory());
  // What an engine of rewindd runs with when no group sets a value is its own config's value
  // where it sets one (the engine-default a user sees).
  for (ParameterSpec& spec : catalog_) {
    if (auto own = engine::OwnSettingValue(spec.name, options_.innodb_buffer_pool_size)) {
      spec.default_value = *own;
    }
  }
  return Status::Ok();
}

Result<std::string> ClusterService::Impl::ResolveParamGroup(ParamGroupKind kind,
                                                            const std::string& name) {
  if (IsDefaultName(name)) return std::string();
  const std::string stored = Lower(name);
  ASSIGN_OR_RETURN(std::optional<ParamGroupRow> row, meta_->GetParamGroup(KindName(kind), stored));
  if (!row) return GroupNotFound(kind, name);
  return stored;
}

Result<std::string> ClusterService::Impl::ResolveNewClusterGroup(
    const std::optional<std::string>& name, std::unique_lock<std::mutex>* param_lock) {
  if (!name) return std::string();
  param_lock->lock();
  return ResolveParamGroup(ParamGroupKind::kCluster, *name);
}

Result<std::vector<ParamValueRow>> ClusterService::Impl::GroupValues(ParamGroupKind kind,
                                                                    const std::string& stored) {
  if (stored.empty()) return std::vector<ParamValueRow>();
  return meta_->ListParamValues(KindName(kind), stored);
}

Result<engine::TunedSettings> ClusterService::Impl::DesiredSettings(const ClusterRow& row) {
  ASSIGN_OR_RETURN(std::vector<ParamValueRow> cluster_values,
                   GroupValues(ParamGroupKind::kCluster, row.param_group));
  std::vector<ParamValueRow> instance_values;
  if (std::optional<InstanceRow> w = WriterOf(row.id)) {
    ASSIGN_OR_RETURN(instance_values, GroupValues(ParamGroupKind::kInstance, w->param_group));
  }
  return MergeSettings(cluster_values, instance_values);
}

// What a reader's mariadbd keeps whatever the groups say: read_only and the replication
// settings are rewindd's (EngineOptions::read_only, server_id), none of them tunable; of the
// tunables only binlog_format touches replication, and a reader's binlog stays the writer's ROW.
namespace {
bool ReaderKeepsOwn(const std::string& name) { return name == "binlog_format"; }
}  // namespace

Result<engine::TunedSettings> ClusterService::Impl::ReaderSettings(const ClusterRow& row,
                                                                   const InstanceRow& reader) {
  ASSIGN_OR_RETURN(std::vector<ParamValueRow> cluster_values,
                   GroupValues(ParamGroupKind::kCluster, row.param_group));
  ASSIGN_OR_RETURN(std::vector<ParamValueRow> instance_values,
                   GroupValues(ParamGroupKind::kInstance, reader.param_group));
  engine::TunedSettings merged = MergeSettings(cluster_values, instance_values);
  std::erase_if(merged, [](const auto& kv) { return ReaderKeepsOwn(kv.first); });
  return merged;
}

// Gives one running (or next-started) engine `desired` and sets the names in `now` on it.
// The caller holds the host's op lock.
void ClusterService::Impl::PushSettingsTo(ClusterHost& host, const std::string& who,
                                          const engine::TunedSettings& desired,
                                          const std::vector<std::string>& now) {
  if (Status s = host.SetTunedSettings(desired); !s.ok()) {
    std::fprintf(stderr, "rewindd: settings of %s for its next start: %s\n", who.c_str(),
                 s.ToString().c_str());
  }
  if (!host.serving()) return;
  for (const std::string& name : now) {
    auto it = desired.find(name);
    const std::optional<std::string> value =
        it == desired.end() ? std::nullopt : std::optional<std::string>(it->second);
    if (Status s = host.ApplySetting(name, value); !s.ok()) {
      std::fprintf(stderr, "rewindd: setting %s on %s now: %s\n", name.c_str(), who.c_str(),
                   s.ToString().c_str());
    }
  }
}

void ClusterService::Impl::PushSettings(const std::string& cluster_id,
                                        const std::vector<std::string>& now) {
  Result<ClusterRow> row = GetClusterRow(cluster_id);
  if (!row.ok()) return;  // deleted meanwhile: nothing runs
  Result<engine::TunedSettings> desired = DesiredSettings(*row);
  std::shared_ptr<ClusterHost> host = FindHost(cluster_id);
  if (!desired.ok() || !host) {
    if (!desired.ok()) {
      std::fprintf(stderr, "rewindd: settings of %s: %s\n", cluster_id.c_str(),
                   desired.status().ToString().c_str());
    }
    return;
  }
  {
    std::lock_guard<std::mutex> ol(host->op_mutex());
    PushSettingsTo(*host, cluster_id, *desired, now);
  }
  // Its readers (after the writer: the lock order), each with its own instance group.
  std::vector<std::string> reader_now;
  for (const std::string& name : now) {
    if (!ReaderKeepsOwn(name)) reader_now.push_back(name);
  }
  for (auto& [inst, reader] : ReaderHostsOf(cluster_id)) {
    Result<engine::TunedSettings> wanted = ReaderSettings(*row, inst);
    if (!wanted.ok()) {
      std::fprintf(stderr, "rewindd: settings of reader %s: %s\n", inst.id.c_str(),
                   wanted.status().ToString().c_str());
      continue;
    }
    std::lock_guard<std::mutex> rl(reader->op_mutex());
    PushSettingsTo(*reader, inst.id, *wanted, reader_now);
  }
}

ParamApplyStatus ClusterService::Impl::ReaderParamStatus(const ClusterRow& row,
                                                         const InstanceRow& reader) {
  std::shared_ptr<ClusterHost> host = FindReaderHost(reader.id);
  Result<engine::TunedSettings> desired = ReaderSettings(row, reader);
  if (!host || !desired.ok()) return ParamApplyStatus::kInSync;
  std::optional<engine::TunedSettings> in_effect;
  // An operation holds the reader (a re-provisioning): it starts with `desired`.
  if (!host->TrySettingsInEffect(&in_effect)) return ParamApplyStatus::kApplying;
  return ApplyStatusOf(*desired, in_effect);
}

ParamApplyStatus ClusterService::Impl::ParamStatusOf(const ClusterRow& row) {
  std::shared_ptr<ClusterHost> host = FindHost(row.id);
  Result<engine::TunedSettings> desired = DesiredSettings(row);
  if (!host || !desired.ok()) return ParamApplyStatus::kInSync;
  std::optional<engine::TunedSettings> in_effect;
  std::lock_guard<std::mutex> lk(seen_mu_);
  if (!host->TrySettingsInEffect(&in_effect)) {
    // An operation (a reboot, a backtrack) holds the engine: it restarts with `desired`.
    auto seen = seen_in_effect_.find(row.id);
    return seen != seen_in_effect_.end() && seen->second != *desired ? ParamApplyStatus::kApplying
                                                                     : ParamApplyStatus::kInSync;
  }
  if (in_effect) {
    seen_in_effect_[row.id] = *in_effect;
  } else {
    seen_in_effect_.erase(row.id);
  }
  return ApplyStatusOf(*desired, in_effect);
}

Status ClusterService::Impl::StoreAndApply(ParamGroupKind kind, const std::string& stored,
                                          const std::vector<ParamValueRow>& before,
                                          const std::vector<ParamValueRow>& after,
                                          const std::vector<ParameterChange>& changes,
                                          bool reset) {
  RETURN_IF_ERROR(meta_->ReplaceParamValues(KindName(kind), stored, after));
  std::vector<std::string> now;
  for (const ImmediateSetting& s : ImmediatePlan(before, after, changes, catalog_, reset)) {
    now.push_back(s.name);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> clusters, ClustersUsing(meta_.get(), kind, stored));
  for (const std::string& id : clusters) PushSettings(id, now);
  return Status::Ok();
}

// ---- ClusterService ----

Result<ParamGroupView> ClusterService::CreateParamGroup(ParamGroupKind kind,
                                                        const std::string& name,
                                                        const std::string& family,
                                                        const std::string& description) {
  if (IsDefaultName(name) || Lower(name).rfind("default.", 0) == 0) {
    return InvalidParam(Reason::kParamGroupNameReserved,
                        {.field = GroupField(kind), .input = BoundedInput(name)});
  }
  RETURN_IF_ERROR(ValidateParamGroupName(name, GroupField(kind)));
  if (family != kParamGroupFamily) {
    return InvalidParam(Reason::kParamFamilyUnsupported, {.field = Field::kParamGroupFamily,
                                                          .other = kParamGroupFamily,
                                                          .input = BoundedInput(family)});
  }
  if (description.empty() || description.size() > 255) {
    return InvalidParam(Reason::kDescriptionLength, {.field = Field::kDescription, .number = 255});
  }
  std::lock_guard<std::mutex> pl(impl_->param_mu_);
  const std::string stored = Lower(name);
  ASSIGN_OR_RETURN(std::optional<ParamGroupRow> existing,
                   impl_->meta_->GetParamGroup(KindName(kind), stored));
  if (existing) {
    return Refuse(ClusterError::kParamGroupExists, Reason::kParamGroupExists,
                  {.field = GroupField(kind), .id = stored});
  }
  ParamGroupRow row{KindName(kind), stored, family, description, NowNs()};
  RETURN_IF_ERROR(impl_->meta_->PutParamGroup(row));
  return ParamGroupView{kind, stored, family, description};
}

Result<std::vector<ParamGroupView>> ClusterService::DescribeParamGroups(
    ParamGroupKind kind, const std::optional<std::string>& name) {
  const ParamGroupView default_group{
      kind, DefaultParamGroupName(), kParamGroupFamily,
      std::string("Default ") + (kind == ParamGroupKind::kCluster ? "cluster " : "") +
          "parameter group for " + kParamGroupFamily};
  if (name) {
    if (IsDefaultName(*name)) return std::vector<ParamGroupView>{default_group};
    ASSIGN_OR_RETURN(std::optional<ParamGroupRow> row,
                     impl_->meta_->GetParamGroup(KindName(kind), Lower(*name)));
    if (!row) return GroupNotFound(kind, *name);
    return std::vector<ParamGroupView>{ParamGroupView{kind, row->name, row->family, row->description}};
  }
  std::vector<ParamGroupView> out = {default_group};
  ASSIGN_OR_RETURN(std::vector<ParamGroupRow> rows, impl_->meta_->ListParamGroups(KindName(kind)));
  for (const ParamGroupRow& r : rows) out.push_back({kind, r.name, r.family, r.description});
  return out;
}


Result<std::string> ClusterService::ModifyParamGroup(ParamGroupKind kind, const std::string& name,
                                                     const std::vector<ParameterChange>& changes) {
  if (IsDefaultName(name)) return DefaultRefused(Reason::kDefaultParamGroupModify);
  std::lock_guard<std::mutex> pl(impl_->param_mu_);
  ASSIGN_OR_RETURN(std::string stored, impl_->ResolveParamGroup(kind, name));
  ASSIGN_OR_RETURN(std::vector<ParamValueRow> checked,
                   CheckParameterChanges(impl_->catalog_, changes, /*reset=*/false));
  ASSIGN_OR_RETURN(std::vector<ParamValueRow> before, impl_->GroupValues(kind, stored));
  std::map<std::string, ParamValueRow> merged;
  for (const ParamValueRow& v : before) merged[v.name] = v;
  for (const ParamValueRow& v : checked) merged[v.name] = v;
  std::vector<ParamValueRow> after;
  for (auto& [n, v] : merged) after.push_back(v);
  RETURN_IF_ERROR(impl_->StoreAndApply(kind, stored, before, after, changes, /*reset=*/false));
  return stored;
}

Result<std::string> ClusterService::ResetParamGroup(ParamGroupKind kind, const std::string& name,
                                                    bool all,
                                                    const std::vector<ParameterChange>& changes) {
  if (IsDefaultName(name)) return DefaultRefused(Reason::kDefaultParamGroupModify);
  if (all == !changes.empty()) {
    return InvalidCombination(all ? Reason::kResetBoth : Reason::kResetNothing,
                              {.field = Field::kParameters});
  }
  std::lock_guard<std::mutex> pl(impl_->param_mu_);
  ASSIGN_OR_RETURN(std::string stored, impl_->ResolveParamGroup(kind, name));
  ASSIGN_OR_RETURN(std::vector<ParamValueRow> before, impl_->GroupValues(kind, stored));
  std::vector<ParamValueRow> after;
  if (!all) {
    ASSIGN_OR_RETURN(std::vector<ParamValueRow> checked,
                     CheckParameterChanges(impl_->catalog_, changes, /*reset=*/true));
    for (const ParamValueRow& v : before) {
      bool reset = false;
      for (const ParamValueRow& c : checked) reset = reset || c.name == v.name;
      if (!reset) after.push_back(v);
    }
  }
  RETURN_IF_ERROR(impl_->StoreAndApply(kind, stored, before, after, changes, /*reset=*/true));
  return stored;
}

Status ClusterService::DeleteParamGroup(ParamGroupKind kind, const std::string& name) {
  if (IsDefaultName(name)) return DefaultRefused(Reason::kDefaultParamGroupDelete);
  std::lock_guard<std::mutex> pl(impl_->param_mu_);
  ASSIGN_OR_RETURN(std::string stored, impl_->ResolveParamGroup(kind, name));
  ASSIGN_OR_RETURN(std::vector<std::string> users, ClustersUsing(impl_->meta_.get(), kind, stored));
  if (!users.empty()) {
    return Refuse(ClusterError::kInvalidParamGroupState, Reason::kParamGroupInUse,
                  {.field = GroupField(kind), .id = stored, .other = users.front()});
  }
  return impl_->meta_->DeleteParamGroup(KindName(kind), stored);
}

Result<std::vector<ParameterView>> ClusterService::DescribeParameters(
    ParamGroupKind kind, const std::string& name, std::optional<ParamSource> source) {
  ASSIGN_OR_RETURN(std::string stored, impl_->ResolveParamGroup(kind, name));
  ASSIGN_OR_RETURN(std::vector<ParamValueRow> values, impl_->GroupValues(kind, stored));
  std::vector<ParameterView> out;
  for (const ParameterSpec& spec : impl_->catalog_) {
    std::optional<ParamValueRow> set;
    for (const ParamValueRow& v : values) {
      if (v.name == spec.name) set = v;
    }
    ParameterView v = ViewOf(spec, set);
    if (source && *source != v.source) continue;
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<ParameterView>> ClusterService::EngineDefaultParameters(
    const std::string& family) {
  if (family != kParamGroupFamily) {
    return InvalidParam(Reason::kParamFamilyUnknown, {.field = Field::kParamGroupFamily,
                                                      .other = kParamGroupFamily,
                                                      .input = BoundedInput(family)});
  }
  return DescribeParameters(ParamGroupKind::kCluster, DefaultParamGroupName(), std::nullopt);
}

}  // namespace rwd::cluster
