// The cluster service's rows, views, hosts and engine accounts (see service_impl.h).
#include <pwd.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "cluster/service_impl.h"

namespace rwd::cluster {

Result<ClusterRow> ClusterService::Impl::GetClusterRow(const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<ClusterRow> row, meta_->GetCluster(Lower(id)));
  if (!row) return ClusterNotFound(id);
  return *row;
}

Status ClusterService::Impl::SetClusterStatus(const std::string& id, ClusterStatus status) {
  ASSIGN_OR_RETURN(std::optional<ClusterRow> row, meta_->GetCluster(id));
  if (!row) return Status::NotFound("cluster vanished");
  row->status = status;
  return meta_->PutCluster(*row);
}

Result<std::optional<InstanceRow>> ClusterService::Impl::GetInstanceRow(const std::string& id) {
  ASSIGN_OR_RETURN(std::vector<InstanceRow> all, ListInstanceRows());
  for (const InstanceRow& r : all) {
    if (r.id == id) return std::optional<InstanceRow>(r);
  }
  return std::optional<InstanceRow>();
}

Result<std::vector<InstanceRow>> ClusterService::Impl::ListInstanceRows() {
  ASSIGN_OR_RETURN(std::vector<InstanceRow> rows, meta_->ListInstances());
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  for (InstanceRow& r : rows) {
    auto it = unsaved_.find(r.id);
    if (it == unsaved_.end()) continue;
    r = it->second;
    if (meta_->PutInstance(r).ok()) unsaved_.erase(it);
  }
  return rows;
}

void ClusterService::Impl::SaveInstanceStatus(InstanceRow row, InstanceStatus status) {
  row.status = status;
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  if (meta_->PutInstance(row).ok()) {
    unsaved_.erase(row.id);
  } else {
    std::fprintf(stderr, "rewindd: instance %s is %s; metadata not written yet\n",
                 row.id.c_str(), StatusName(status));
    unsaved_[row.id] = row;
  }
}

Status ClusterService::Impl::PutInstanceRow(const InstanceRow& row) {
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  RETURN_IF_ERROR(meta_->PutInstance(row));
  unsaved_.erase(row.id);
  return Status::Ok();
}

Status ClusterService::Impl::DeleteInstanceRow(const std::string& id) {
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  RETURN_IF_ERROR(meta_->DeleteInstance(id));
  unsaved_.erase(id);
  return Status::Ok();
}

std::optional<InstanceRow> ClusterService::Impl::WriterOf(const std::string& cluster_id) {
  auto all = ListInstanceRows();
  if (!all.ok()) return std::nullopt;
  for (const auto& i : *all) {
    if (i.cluster_id == cluster_id && i.role == InstanceRole::kWriter) return i;
  }
  return std::nullopt;
}

Result<int> ClusterService::Impl::AssignPort(std::optional<int> asked, const std::string& self) {
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  ASSIGN_OR_RETURN(std::vector<InstanceRow> instances, ListInstanceRows());
  auto taken = [&](int p) {
    for (const auto& r : rows) {
      if (r.port == p && r.id != self) return true;
    }
    for (const auto& i : instances) {
      if (i.port == p) return true;  // a reader's own port
    }
    return false;
  };
  if (asked) {
    if (*asked < 1150 || *asked > 65535) {
      return InvalidParam(Reason::kPortOutOfRange, {.field = Field::kPort, .number = *asked});
    }
    if (taken(*asked)) {
      return InvalidParam(Reason::kPortTaken, {.field = Field::kPort, .number = *asked});
    }
    return *asked;
  }
  for (int p = options_.first_port; p < 65535; ++p) {
    if (!taken(p) && LoopbackPortFree(p)) return p;
  }
  return Status::Unavailable("no free port");
}

int64_t ClusterService::Impl::EarliestBacktrackNs(const store::VolumeInfo& vol) const {
  // What the store still holds: the floor the last retention pass set (it moves only at the
  // next pass, so this moment stays reachable until then). Whole seconds, rounded up: the API
  // shows seconds, and that moment must be reachable.
  const int64_t earliest = std::max(vol.created_ns, vol.retained_from_ns);
  return (earliest + kNsPerSec - 1) / kNsPerSec * kNsPerSec;
}

Result<ClusterView> ClusterService::Impl::View(const ClusterRow& row) {
  ClusterView v;
  v.id = row.id;
  v.resource_id = row.resource_id;
  v.engine = row.engine;
  v.engine_version = row.engine_version;
  v.master_username = row.master_username;
  v.database_name = row.database_name;
  v.status = row.status;
  v.endpoint = options_.host;
  // The reader endpoint (its HAProxy) when there is one; else the writer, as with no reader.
  v.reader_endpoint = options_.reader_host.empty() ? options_.host : options_.reader_host;
  v.port = row.port;
  v.backtrack_window_s = row.backtrack_window_s;
  v.create_time_ns = row.create_time_ns;
  v.clone_group_id = row.clone_group_id;
  v.source_cluster = row.source_cluster;
  v.source_peer = row.source_peer;
  auto vol = VolumeOf(row);
  if (vol.ok()) {
    v.earliest_restorable_ns = EarliestBacktrackNs(*vol);
    v.latest_restorable_ns = NowNs();
    if (row.backtrack_window_s > 0) {
      v.earliest_backtrack_ns = v.earliest_restorable_ns;
      v.backtrack_window_actual_s =
          std::min(row.backtrack_window_s, (v.latest_restorable_ns - v.earliest_backtrack_ns) / kNsPerSec);
    }
  }
  {
    std::lock_guard<std::mutex> lk(retention_mu_);
    auto r = retention_.find(row.id);
    if (r != retention_.end()) {
      v.backtrack_consumed_change_records = r->second.change_records;
      v.backtrack_window_alert = r->second.alert;
    }
  }
  // The writer first, then the readers (DBClusterMembers' IsClusterWriter).
  if (auto w = WriterOf(row.id)) v.members.push_back(ClusterMember{w->id, true});
  for (const InstanceRow& r : ReadersOf(row.id)) v.members.push_back(ClusterMember{r.id, false});
  v.deletion_protection = row.deletion_protection;
  ASSIGN_OR_RETURN(v.tags, TagsOf("cluster", row.id));
  v.param_group = row.param_group.empty() ? DefaultParamGroupName() : row.param_group;
  return v;
}

InstanceView ClusterService::Impl::ViewInstance(const InstanceRow& row,
                                                const ClusterRow& cluster) const {
  InstanceView v;
  v.id = row.id;
  v.cluster_id = row.cluster_id;
  v.resource_id = row.resource_id;
  v.instance_class = row.instance_class;
  v.engine = cluster.engine;
  v.engine_version = cluster.engine_version;
  v.status = row.status;
  v.endpoint = options_.host;
  v.port = row.role == InstanceRole::kReader ? row.port : cluster.port;
  v.is_writer = row.role == InstanceRole::kWriter;
  v.create_time_ns = row.create_time_ns;
  v.master_username = cluster.master_username;
  v.database_name = cluster.database_name;
  // A tag read failure shows no tags rather than hiding the instance (describe keeps working).
  if (auto tags = TagsOf("db", row.id); tags.ok()) v.tags = std::move(tags).value();
  v.param_group = row.param_group.empty() ? DefaultParamGroupName() : row.param_group;
  return v;
}

Result<HostConfig> ClusterService::Impl::HostConfigFor(const ClusterRow& row,
                                                      std::string mount_dir,
                                                      std::string run_dir) {
  HostConfig config;
  config.store = store_.get();
  config.mount_dir = std::move(mount_dir);
  config.run_dir = std::move(run_dir);
  config.mount_options.statfs_dir = options_.data_dir;
  // Only root and the cluster's own engine uid may use the mount (the kernel needs allow_other
  // to pass its requests when that is not rewindd's own user).
  ASSIGN_OR_RETURN(engine::EngineAccount account, AccountOf(row));
  config.mount_options.allow_other = account.switched;
  config.mount_options.admitted_uids = {account.uid};
  return config;
}

Result<std::shared_ptr<ClusterHost>> ClusterService::Impl::HostForLocked(const ClusterRow& row) {
  auto it = hosts_.find(row.id);
  if (it != hosts_.end()) return it->second;
  ASSIGN_OR_RETURN(HostConfig config, HostConfigFor(row, MountDir(row.id), RunDir(row.id)));
  config.make_engine = [this, row] { return MakeEngine(row); };
  config.tuned_settings = [this, id = row.id]() -> Result<engine::TunedSettings> {
    ASSIGN_OR_RETURN(ClusterRow current, GetClusterRow(id));
    return DesiredSettings(current);
  };
  auto host = std::make_shared<ClusterHost>(std::move(config), store::VolumeId(row.volume_id));
  hosts_[row.id] = host;
  return host;
}

Result<engine::EngineOptions> ClusterService::Impl::EngineOptionsFor(const ClusterRow& row) {
  engine::EngineOptions eo;
  eo.datadir = MountDir(row.id);
  eo.run_dir = RunDir(row.id);
  eo.port = row.port;
  eo.bind_address = options_.host;
  eo.innodb_buffer_pool_size = options_.innodb_buffer_pool_size;
  ASSIGN_OR_RETURN(tls::ServerCertFiles tls_files, ClusterTls(row));
  eo.extra_settings.emplace_back("ssl-ca", tls_files.ca_path);
  eo.extra_settings.emplace_back("ssl-cert", tls_files.cert_path);
  eo.extra_settings.emplace_back("ssl-key", tls_files.key_path);
  ASSIGN_OR_RETURN(eo.account, AccountOf(row));
  // Every start re-applies the master's privileges: a cluster made by an older version, or
  // backtracked or cloned to a moment before, would otherwise bring back a wider grant.
  eo.master_user = row.master_username;
  ASSIGN_OR_RETURN(eo.tuned_settings, DesiredSettings(row));
  // The writer keeps a binary log (in the datadir) that its readers replicate from.
  eo.server_id = kWriterServerId;
  return eo;
}

Result<std::unique_ptr<ClusterEngine>> ClusterService::Impl::MakeEngine(const ClusterRow& row) {
  ASSIGN_OR_RETURN(engine::EngineOptions eo, EngineOptionsFor(row));
  // As Aurora does, an instance that dies (crash, OOM, kill -9) is started again; recovery
  // brings its committed data back. Runs on the engine's reaper thread: only post the work.
  eo.on_unexpected_exit = [this, id = row.id](const Status& why) {
    std::fprintf(stderr, "rewindd: the mariadbd of %s exited: %s\n", id.c_str(),
                 why.ToString().c_str());
    Async([this, id] { DoRecoverEngine(id); });
  };
  if (options_.engine_factory) return options_.engine_factory(eo);
  return MakeMariaDbEngine(std::move(eo));
}

// The cluster's server certificate, issued by rewindd's CA for its Endpoint (an IP SAN for a
// numeric address, a DNS SAN for a name) and localhost; issued again when missing, damaged,
// within 30 days of its end, or not matching the endpoint. Called by MakeEngine, so at every
// rewindd start (clusters made before TLS get theirs then), creation, clone and backtrack.
// The directory and its files belong to the cluster's engine uid (mariadbd reads the key as
// it); SecureDataDir lets it cross tls/ and tls/clusters/ (group) to reach them.
Result<tls::ServerCertFiles> ClusterService::Impl::ClusterTls(const ClusterRow& row) {
  const std::string& id = row.id;
  const std::string dir = TlsDir(id);
  ASSIGN_OR_RETURN(engine::EngineAccount account, AccountOf(row));
  const tls::FileOwner owner = account.switched
                                   ? tls::FileOwner{account.uid, account.gid}
                                   : tls::FileOwner{};  // not root: our own user runs mariadbd
  std::vector<std::string> names = {options_.host};
  if (options_.host != "localhost") names.push_back("localhost");
  Result<tls::ServerCertFiles> files =
      tls::EnsureServerCertificate(*ca_, dir, names, owner, NowNs() / kNsPerSec);
  if (!files.ok()) return files.status().WithContext("TLS certificate of cluster " + id);
  if (files->issued) {
    std::fprintf(stderr, "rewindd: issued the TLS certificate of cluster %s (%s)\n", id.c_str(),
                 files->reason.c_str());
  }
  return files;
}


// ---------------------------------------------------------------------------------------------

Result<engine::EngineAccount> ClusterService::Impl::AccountOf(const ClusterRow& row) const {
  if (!engine_account_.switched) return engine_account_;
  if (row.engine_uid <= 0 || row.engine_uid >= static_cast<int64_t>(UINT32_MAX)) {
    return Status::FailedPrecondition("cluster " + row.id + " has no valid engine uid (" +
                                      std::to_string(row.engine_uid) + ")");
  }
  return engine::EngineAccount{"rewind-" + row.id, static_cast<uid_t>(row.engine_uid),
                               engine_account_.gid, true};
}

Result<int64_t> ClusterService::Impl::AllocateEngineUid() {
  if (!engine_account_.switched) return int64_t{0};
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  std::set<int64_t> held;
  for (const ClusterRow& r : rows) held.insert(r.engine_uid);
  const int64_t base = options_.engine_uid_base;
  for (int64_t uid = base; uid < base + 65536; ++uid) {
    if (held.count(uid) != 0) continue;
    struct passwd entry {};
    struct passwd* found = nullptr;
    std::vector<char> buffer(16384);
    const int rc =
        ::getpwuid_r(static_cast<uid_t>(uid), &entry, buffer.data(), buffer.size(), &found);
    if (found != nullptr) continue;  // a real account's uid: never shared with a mariadbd
    if (rc != 0 && rc != ENOENT && rc != ESRCH) {
      return Status::FromErrno(rc, "looking up uid " + std::to_string(uid));
    }
    return uid;
  }
  return Status::Unavailable("no free engine uid in " + std::to_string(base) + ".." +
                             std::to_string(base + 65535) +
                             ": delete clusters or pick another --engine-uid-base");
}

Status ClusterService::Impl::SecureDataDir() {
  // tls/ and tls/clusters/ lead to each cluster's certificate directory, owned by that
  // cluster's engine uid (ClusterTls); the CA's key in tls/ stays root's own (0600).
  for (const std::string& dir :
       {options_.data_dir, options_.data_dir + "/mnt", options_.data_dir + "/run",
        options_.data_dir + "/tls", options_.data_dir + "/tls/clusters"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
    // 0710 with the engine user's group: it may cross to its mount and its run files, and
    // list nothing; nobody else may enter.
    const bool shared = engine_account_.switched;
    if (shared && ::chown(dir.c_str(), static_cast<uid_t>(-1), engine_account_.gid) != 0) {
      return Status::FromErrno(errno, "chgrp " + dir);
    }
    if (::chmod(dir.c_str(), shared ? 0710 : 0700) != 0) {
      return Status::FromErrno(errno, "chmod " + dir);
    }
  }
  if (engine_account_.switched) {
    RETURN_IF_ERROR(engine::CheckTraversable(options_.data_dir + "/run", engine_account_)
                        .WithContext("the data dir " + options_.data_dir +
                                     " cannot be used by the engine user"));
  }
  return Status::Ok();
}


}  // namespace rwd::cluster
