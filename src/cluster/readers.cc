// Reader instances (issue 16): a second and further CreateDBInstance in a cluster makes a
// reader — a copy-on-write clone of the writer's current state (one store record, whatever the
// size), served by a read-only mariadbd of its own that follows the writer by GTID replication
// (engine/replication.h). After a backtrack every reader is cloned again from the rewound head.
// See service_impl.h ("Reader instances") for the layout and the lock order.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "cluster/service_impl.h"
#include "common/failpoint.h"

namespace rwd::cluster {
namespace {

// Reads `path`'s first line, or writes `fresh` there (0600) if it has none.
Result<std::string> ReadOrKeep(const std::string& path, const std::string& fresh) {
  {
    std::ifstream in(path);
    std::string line;
    if (std::getline(in, line) && !line.empty()) return line;
  }
  RETURN_IF_ERROR(WriteSecretFile(path, fresh));
  return fresh;
}

// Replica apply workers of a reader: the cores, at least 4 and at most 16.
unsigned ReaderApplyThreads() {
  return std::clamp(std::thread::hardware_concurrency(), 4u, 16u);
}

}  // namespace

std::vector<InstanceRow> ClusterService::Impl::InstancesOf(const std::string& cluster_id) {
  std::vector<InstanceRow> out;
  auto all = ListInstanceRows();
  if (!all.ok()) return out;
  for (const InstanceRow& r : *all) {
    if (r.cluster_id == cluster_id) out.push_back(r);
  }
  return out;
}

std::vector<InstanceRow> ClusterService::Impl::ReadersOf(const std::string& cluster_id) {
  std::vector<InstanceRow> out;
  for (InstanceRow& r : InstancesOf(cluster_id)) {
    if (r.role == InstanceRole::kReader) out.push_back(std::move(r));
  }
  return out;
}

Result<std::shared_ptr<ClusterHost>> ClusterService::Impl::ReaderHostFor(
    const InstanceRow& inst, const ClusterRow& cluster) {
  std::lock_guard<std::mutex> lk(readers_mu_);
  auto it = reader_hosts_.find(inst.id);
  if (it != reader_hosts_.end()) return it->second;
  // The reader's mariadbd runs as its cluster's engine uid: one tenant, one uid.
  ASSIGN_OR_RETURN(HostConfig config,
                   HostConfigFor(cluster, ReaderMountDir(inst.id), ReaderRunDir(inst.id)));
  config.mount_options.fsname = "rewind-reader";
  // Its groups' values, asked before every start (the rows as they are then).
  config.tuned_settings = [this, cluster_id = cluster.id,
                           id = inst.id]() -> Result<engine::TunedSettings> {
    ASSIGN_OR_RETURN(ClusterRow current, GetClusterRow(cluster_id));
    ASSIGN_OR_RETURN(std::optional<InstanceRow> self, GetInstanceRow(id));
    if (!self) return Status::NotFound("reader " + id + " is gone");
    return ReaderSettings(current, *self);
  };
  config.make_engine = [this, cluster, inst]() -> Result<std::unique_ptr<ClusterEngine>> {
    ASSIGN_OR_RETURN(engine::EngineOptions eo, EngineOptionsFor(cluster));
    ASSIGN_OR_RETURN(eo.tuned_settings, ReaderSettings(cluster, inst));
    eo.datadir = ReaderMountDir(inst.id);
    eo.run_dir = ReaderRunDir(inst.id);
    eo.port = inst.port;
    eo.server_id = static_cast<uint32_t>(inst.server_id);
    eo.read_only = true;
    // The writer runs the events; a replica's copies would only fail on read_only.
    eo.extra_settings.emplace_back("event-scheduler", "DISABLED");
    // Parallel apply: one SQL thread falls behind a writer committing from several sessions
    // without bound (docs/benchmarks.md). Optimistic mode applies any transactions side by
    // side and still commits them in binlog order, so gtid_slave_pos (what a backtrack or a
    // failover relies on) always names a prefix of the writer's binlog, and STOP SLAVE waits
    // for the workers to reach it. Applying waits mostly on commits' syncs through the mount,
    // so more workers than cores pay off; past 16 conflicts and retries cost more than they win.
    eo.extra_settings.emplace_back("slave-parallel-threads", std::to_string(ReaderApplyThreads()));
    eo.extra_settings.emplace_back("slave-parallel-mode", "optimistic");
    eo.on_unexpected_exit = [this, id = inst.id](const Status& why) {
      std::fprintf(stderr, "rewindd: the mariadbd of reader %s exited: %s\n", id.c_str(),
                   why.ToString().c_str());
      Async([this, id] { DoStartReader(id, /*after_exit=*/true); });
    };
    if (options_.engine_factory) return options_.engine_factory(eo);
    return MakeMariaDbEngine(std::move(eo));
  };
  auto host = std::make_shared<ClusterHost>(std::move(config), store::VolumeId(inst.volume_id));
  reader_hosts_[inst.id] = host;
  return host;
}

std::shared_ptr<ClusterHost> ClusterService::Impl::FindReaderHost(const std::string& id) {
  std::lock_guard<std::mutex> lk(readers_mu_);
  auto it = reader_hosts_.find(id);
  return it == reader_hosts_.end() ? nullptr : it->second;
}

std::vector<std::pair<InstanceRow, std::shared_ptr<ClusterHost>>>
ClusterService::Impl::ReaderHostsOf(const std::string& cluster_id) {
  std::vector<std::pair<InstanceRow, std::shared_ptr<ClusterHost>>> out;
  auto cluster = meta_->GetCluster(cluster_id);
  if (!cluster.ok() || !*cluster) return out;
  for (const InstanceRow& r : ReadersOf(cluster_id)) {
    auto host = ReaderHostFor(r, **cluster);
    if (host.ok()) out.emplace_back(r, *host);
  }
  return out;
}

Result<int> ClusterService::Impl::AssignReaderPort() {
  ASSIGN_OR_RETURN(std::vector<ClusterRow> clusters, meta_->ListClusters());
  ASSIGN_OR_RETURN(std::vector<InstanceRow> instances, ListInstanceRows());
  std::set<int> taken;
  for (const ClusterRow& c : clusters) taken.insert(c.port);
  for (const InstanceRow& i : instances) taken.insert(i.port);
  for (int p = options_.first_port; p < 65535; ++p) {
    if (!taken.count(p) && LoopbackPortFree(p)) return p;
  }
  return Status::Unavailable("no free port for a reader instance from " +
                             std::to_string(options_.first_port));
}

int64_t ClusterService::Impl::NextServerId(const std::string& cluster_id) {
  int64_t top = kWriterServerId;
  for (const InstanceRow& r : InstancesOf(cluster_id)) top = std::max(top, r.server_id);
  return top + 1;
}

Result<std::string> ClusterService::Impl::ReplicationPassword(const ClusterRow& cluster) {
  return ReadOrKeep(RunDir(cluster.id) + "/replication.password", RandomAlnum(32, false));
}

Result<ClusterService::Impl::ReaderSource> ClusterService::Impl::ReaderSourceOf(
    ClusterHost& writer, const ClusterRow& cluster) {
  ReaderSource out;
  ASSIGN_OR_RETURN(out.replication.password, ReplicationPassword(cluster));
  ASSIGN_OR_RETURN(out.root_password, writer.RootPassword());
  out.volume = writer.volume();
  out.replication.host =
      options_.host == "0.0.0.0" || options_.host == "::" ? "127.0.0.1" : options_.host;
  out.replication.port = cluster.port;
  out.replication.user = kReplicationUser;
  return out;
}

Result<ClusterService::Impl::ReaderSource> ClusterService::Impl::PrepareReaderSource(
    ClusterHost& writer, const ClusterRow& cluster) {
  if (!writer.serving()) {
    // A step of a background operation, not a refusal of a request: its words go to the event.
    return Status::FailedPrecondition("the writer of DB cluster " + cluster.id +
                                      " is not running; a reader follows a running writer");
  }
  ASSIGN_OR_RETURN(ReaderSource out, ReaderSourceOf(writer, cluster));
  // Before the clone: the reader then carries the account too (it may be promoted one day).
  RETURN_IF_ERROR(writer.EnsureReplicationAccount(kReplicationUser, out.replication.password)
                      .WithContext("the writer's replication account"));
  return out;
}

void ClusterService::Impl::KeepReplicationAccount(ClusterHost& writer, const ClusterRow& cluster) {
  if (ReadersOf(cluster.id).empty() || !writer.serving()) return;
  Result<std::string> password = ReplicationPassword(cluster);
  Status s = password.status();
  if (s.ok()) s = writer.EnsureReplicationAccount(kReplicationUser, *password);
  if (!s.ok()) {
    std::fprintf(stderr, "rewindd: the replication account of %s: %s\n", cluster.id.c_str(),
                 s.ToString().c_str());
  }
}

void ClusterService::Impl::KeepReplicationAccounts() {
  auto clusters = meta_->ListClusters();
  if (!clusters.ok()) return;
  for (const ClusterRow& c : *clusters) {
    if (c.status != ClusterStatus::kAvailable) continue;
    std::shared_ptr<ClusterHost> host = FindHost(c.id);
    if (!host) continue;
    // Busy: the operation that holds the writer (a backtrack, a failover) asserts it itself.
    std::unique_lock<std::mutex> ol(host->op_mutex(), std::try_to_lock);
    if (ol.owns_lock()) KeepReplicationAccount(*host, c);
  }
}

Status ClusterService::Impl::ProvisionReader(ClusterHost& writer, ClusterHost& reader,
                                             const ClusterRow& cluster, InstanceRow* inst,
                                             Operation* op) {
  ASSIGN_OR_RETURN(ReaderSource source, PrepareReaderSource(writer, cluster));
  return ProvisionReaderFrom(source, reader, inst, op);
}

Status ClusterService::Impl::ProvisionReaderFrom(const ReaderSource& source, ClusterHost& reader,
                                                 InstanceRow* inst, Operation* op,
                                                 const std::shared_future<Status>* writer_ready) {
  // A reader being provisioned again (after a backtrack, or a creation redone) starts over.
  RETURN_IF_ERROR(reader.Halt(HaltMode::kKill));
  RETURN_IF_ERROR(reader.DropVolume());
  // The store's clock (never below its last record's): a head rewound just before is seen.
  ASSIGN_OR_RETURN(store::VolumeId vol, reader.MakeClone(ReaderVolumeName(inst->id), source.volume,
                                                         store_->NowNs()));
  inst->volume_id = static_cast<int64_t>(vol.value);
  RETURN_IF_ERROR(PutInstanceRow(*inst));
  if (op) {
    op->volume_id = inst->volume_id;
    RETURN_IF_ERROR(RecordStep(op, OpStep::kReaderCloned));
    Failpoint("cluster.create_reader.reader_cloned");
  }
  // The clone's accounts are the writer's: its engine logs in with the writer's root password.
  RETURN_IF_ERROR(reader.SeedRunDir(source.root_password));
  // Crash recovery of the clone (InnoDB and the binlog agree after its XA pass).
  RETURN_IF_ERROR(reader.Serve());
  if (op) {
    RETURN_IF_ERROR(RecordStep(op, OpStep::kReaderServing));
    Failpoint("cluster.create_reader.reader_serving");
  }
  // (Replication would retry a writer not up yet, but only every second: wait for it.)
  if (writer_ready) RETURN_IF_ERROR(writer_ready->get());
  RETURN_IF_ERROR(reader.FollowWriter(source.replication).WithContext("following the writer"));
  if (op) {
    RETURN_IF_ERROR(RecordStep(op, OpStep::kReaderFollowing));
    Failpoint("cluster.create_reader.reader_following");
  }
  return Status::Ok();
}

void ClusterService::Impl::DoCreateReader(Operation op, InstanceRow inst) {
  auto cluster = GetClusterRow(inst.cluster_id);
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: creating reader %s failed: %s\n", inst.id.c_str(),
                 s.ToString().c_str());
    SaveInstanceStatus(inst, InstanceStatus::kFailed);
    Event(inst.id, EventKind::kReaderCreationFailed, s.message());
    FinishOp(&op, s);
  };
  if (!cluster.ok()) return fail(cluster.status());
  auto writer_made = HostFor(*cluster);
  if (!writer_made.ok()) return fail(writer_made.status());
  auto reader_made = ReaderHostFor(inst, *cluster);
  if (!reader_made.ok()) return fail(reader_made.status());
  // Redone at rewindd's start, the creation runs beside the writer's own start: wait (up to
  // 120 s) while the writer is on its way to serving.
  for (int i = 0; i < 1200; ++i) {
    {
      std::lock_guard<std::mutex> wl((*writer_made)->op_mutex());
      if ((*writer_made)->serving()) break;
    }
    std::optional<InstanceRow> w = WriterOf(inst.cluster_id);
    if (!w || (w->status != InstanceStatus::kCreating && w->status != InstanceStatus::kAvailable &&
               w->status != InstanceStatus::kRebooting)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::lock_guard<std::mutex> wl((*writer_made)->op_mutex());
  std::lock_guard<std::mutex> rl((*reader_made)->op_mutex());
  auto cur = GetInstanceRow(inst.id);
  if (!cur.ok() || !*cur || (*cur)->status == InstanceStatus::kDeleting) {
    return FinishOp(&op, Status::FailedPrecondition("the reader was deleted meanwhile"));
  }
  inst = **cur;
  Status s = ProvisionReader(**writer_made, **reader_made, *cluster, &inst, &op);
  if (!s.ok()) return fail(s);
  SaveInstanceStatus(inst, InstanceStatus::kAvailable);
  FinishOp(&op, Status::Ok());
  Event(inst.id, EventKind::kReaderCreated);
  RefreshReaderEndpoint(inst.cluster_id);
}

void ClusterService::Impl::DoStartReader(const std::string& id, bool after_exit) {
  auto inst = GetInstanceRow(id);
  if (!inst.ok() || !*inst) return;
  auto cluster = GetClusterRow((*inst)->cluster_id);
  if (!cluster.ok()) return;
  auto made = ReaderHostFor(**inst, *cluster);
  if (!made.ok()) return;
  std::shared_ptr<ClusterHost> host = *made;
  std::lock_guard<std::mutex> ol(host->op_mutex());
  auto cur = GetInstanceRow(id);
  if (!cur.ok() || !*cur || (*cur)->status == InstanceStatus::kDeleting ||
      (*cur)->status == InstanceStatus::kCreating || (*cur)->volume_id == 0) {
    return;  // an operation owns it (or it is gone)
  }
  // Stopped on purpose meanwhile (re-provisioning, deletion), or running already.
  if (host->serving() || (after_exit && !host->has_engine())) return;
  Status s = Status::Ok();
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = host->Serve();
    if (s.ok()) break;
    std::this_thread::sleep_for(std::chrono::seconds(1 << attempt));
  }
  // Its replication settings live in its datadir: the replica threads start by themselves.
  if (!s.ok()) {
    SaveInstanceStatus(**cur, InstanceStatus::kFailed);
    Event(id, EventKind::kInstanceRestartFailed, s.message());
    return;
  }
  SaveInstanceStatus(**cur, InstanceStatus::kAvailable);
  if (after_exit) Event(id, EventKind::kInstanceRestartedAfterExit);
  RefreshReaderEndpoint((*cur)->cluster_id);
}

void ClusterService::Impl::DoDeleteReader(Operation op, InstanceRow inst) {
  auto cluster = GetClusterRow(inst.cluster_id);
  std::shared_ptr<ClusterHost> writer = FindHost(inst.cluster_id);
  std::shared_ptr<ClusterHost> host;
  if (cluster.ok()) {
    auto made = ReaderHostFor(inst, *cluster);
    if (made.ok()) host = *made;
  }
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: deleting reader %s failed: %s\n", inst.id.c_str(),
                 s.ToString().c_str());
    SaveInstanceStatus(inst, InstanceStatus::kFailed);
    Event(inst.id, EventKind::kInstanceDeletionFailed, s.message());
    FinishOp(&op, s);
  };
  std::unique_lock<std::mutex> wl, rl;
  if (writer) wl = std::unique_lock<std::mutex>(writer->op_mutex());
  if (host) rl = std::unique_lock<std::mutex>(host->op_mutex());
  Status s = host ? host->Halt(HaltMode::kGraceful) : Status::Ok();
  if (s.ok()) s = RecordStep(&op, OpStep::kHalted);
  if (!s.ok()) return fail(s);
  Failpoint("cluster.delete_reader.halted");
  if (host) {
    s = host->Dismantle();
  } else if (inst.volume_id != 0) {
    // No host (its cluster is gone): the volume alone.
    s = store_->DeleteVolume(store::VolumeId(inst.volume_id));
    if (s.code() == Status::Code::kNotFound) s = Status::Ok();
  }
  if (s.ok()) s = RecordStep(&op, OpStep::kVolumeDeleted);
  if (!s.ok()) return fail(s);
  Failpoint("cluster.delete_reader.volume_deleted");
  s = DeleteInstanceRow(inst.id);
  FinishOp(&op, s);
  if (rl.owns_lock()) rl.unlock();
  {
    std::lock_guard<std::mutex> lk(readers_mu_);
    reader_hosts_.erase(inst.id);
  }
  if (s.ok()) Event(inst.id, EventKind::kReaderDeleted);
  RefreshReaderEndpoint(inst.cluster_id);
}

Status ClusterService::Impl::ReprovisionReaders(ClusterHost& writer, const ClusterRow& cluster,
                                                const std::function<Status()>& start_writer,
                                                Status* writer_up) {
  std::vector<InstanceRow> readers;
  for (InstanceRow& inst : ReadersOf(cluster.id)) {
    if (inst.status != InstanceStatus::kDeleting) readers.push_back(std::move(inst));
  }
  // What the readers need of the writer, asked here: only this thread (which holds the writer's
  // op lock) touches the writer's host. With start_writer, the writer does not serve yet: its
  // replication account is made once it does, before any reader follows (writer_ready).
  Result<ReaderSource> source =
      start_writer ? ReaderSourceOf(writer, cluster) : PrepareReaderSource(writer, cluster);
  std::promise<Status> ready;
  std::shared_future<Status> writer_ready = ready.get_future().share();
  std::vector<Status> outcome(readers.size(), source.status());
  // Each reader's halt, clone, start and replication touch only its own host (under its own
  // op lock: the lock order, the writer's then a reader's, holds), the store and meta.db
  // (both thread-safe): the readers are re-provisioned side by side, and beside the writer's
  // own start, so a backtrack with readers takes little longer than one without
  // (docs/benchmarks.md).
  std::vector<std::thread> workers;
  if (source.ok()) {
    workers.reserve(readers.size());
    for (size_t i = 0; i < readers.size(); ++i) {
      // Each thread waits through its own copy of the future (safe across threads).
      workers.emplace_back([this, &cluster, &readers, &outcome, &source, writer_ready,
                            follow_later = static_cast<bool>(start_writer), i] {
        InstanceRow& inst = readers[i];
        auto made = ReaderHostFor(inst, cluster);
        Status s = made.status();
        if (s.ok()) {
          std::lock_guard<std::mutex> rl((*made)->op_mutex());
          s = ProvisionReaderFrom(*source, **made, &inst, nullptr,
                                  follow_later ? &writer_ready : nullptr);
        }
        outcome[i] = s;
      });
    }
  }
  if (start_writer) {
    *writer_up = start_writer();
    Status account = writer_up->WithContext("the writer does not serve");
    if (account.ok() && source.ok()) {
      account = writer.EnsureReplicationAccount(kReplicationUser, source->replication.password)
                    .WithContext("the writer's replication account");
    }
    ready.set_value(account);
  }
  for (std::thread& t : workers) t.join();
  Status first = Status::Ok();
  for (size_t i = 0; i < readers.size(); ++i) {
    const InstanceRow& inst = readers[i];
    const Status& s = outcome[i];
    if (s.ok()) {
      SaveInstanceStatus(inst, InstanceStatus::kAvailable);
      Event(inst.id, EventKind::kReaderReprovisioned);
      continue;
    }
    std::fprintf(stderr, "rewindd: re-provisioning reader %s after a backtrack: %s\n",
                 inst.id.c_str(), s.ToString().c_str());
    SaveInstanceStatus(inst, InstanceStatus::kFailed);
    Event(inst.id, EventKind::kReaderReprovisionFailed, s.message());
    if (first.ok()) first = s.WithContext("reader " + inst.id);
  }
  RefreshReaderEndpoint(cluster.id);
  return first;
}

Status ClusterService::Impl::DismantleReaders(const std::string& cluster_id) {
  for (auto& [inst, host] : ReaderHostsOf(cluster_id)) {
    {
      std::lock_guard<std::mutex> rl(host->op_mutex());
      RETURN_IF_ERROR(host->Dismantle().WithContext("reader " + inst.id));
    }
    RETURN_IF_ERROR(DeleteInstanceRow(inst.id));
    std::lock_guard<std::mutex> lk(readers_mu_);
    reader_hosts_.erase(inst.id);
  }
  return Status::Ok();
}

Status ClusterService::Impl::RecoverReaders(const ClusterRow& cluster,
                                            const std::map<std::string, Operation>& reader_ops) {
  for (InstanceRow inst : ReadersOf(cluster.id)) {
    // A server an earlier rewindd left running on the reader's run dir.
    KillServerOf(ReaderRunDir(inst.id));
    std::optional<Operation> op;
    if (auto it = reader_ops.find(inst.id); it != reader_ops.end()) op = it->second;
    if (inst.status == InstanceStatus::kDeleting) {
      Operation del{.kind = OpKind::kDeleteReader, .target = inst.id, .ref = cluster.id};
      if (op && op->kind == OpKind::kDeleteReader) del = *op;
      else RETURN_IF_ERROR(BeginOp(&del));
      Async([this, del, inst] { DoDeleteReader(del, inst); });
      continue;
    }
    if (op) FinishOp(&*op, Status::Unavailable("interrupted by a restart; redone"));
    if (inst.status == InstanceStatus::kCreating || inst.volume_id == 0) {
      // A creation cut short: redone from the start (a fresh clone of the writer's head).
      Operation redo{.kind = OpKind::kCreateReader, .target = inst.id, .ref = cluster.id};
      RETURN_IF_ERROR(BeginOp(&redo));
      inst.status = InstanceStatus::kCreating;
      RETURN_IF_ERROR(PutInstanceRow(inst));
      Async([this, redo, inst] { DoCreateReader(redo, inst); });
      continue;
    }
    if (cluster.status == ClusterStatus::kFailed) continue;
    Async([this, id = inst.id] { DoStartReader(id, /*after_exit=*/false); });
  }
  return Status::Ok();
}

Status ClusterService::Impl::RaiseReaderFloors(int64_t now) {
  ASSIGN_OR_RETURN(std::vector<InstanceRow> rows, ListInstanceRows());
  for (const InstanceRow& r : rows) {
    if (r.role != InstanceRole::kReader || r.volume_id == 0) continue;
    auto vol = store_->GetVolume(store::VolumeId(r.volume_id));
    if (!vol.ok()) continue;  // being re-cloned or deleted
    if (now > vol->retained_from_ns) {
      RETURN_IF_ERROR(store_->SetRetention(vol->id, now).status());
    }
  }
  return Status::Ok();
}

void ClusterService::Impl::RefreshReaderEndpoint(const std::string& cluster_id) {
  if (options_.reader_host.empty()) return;
  auto cluster = meta_->GetCluster(cluster_id);
  if (!cluster.ok() || !*cluster) return;
  const std::string host =
      options_.host == "0.0.0.0" || options_.host == "::" ? "127.0.0.1" : options_.host;
  std::vector<BalancerBackend> backends;
  for (const InstanceRow& r : ReadersOf(cluster_id)) {
    if (r.status == InstanceStatus::kAvailable) backends.push_back({r.id, host, r.port});
  }
  if (backends.empty()) {
    // As Aurora: with no reader, the reader endpoint reaches the writer.
    auto w = WriterOf(cluster_id);
    backends.push_back({w ? w->id : "writer", host, (*cluster)->port});
  }
  std::lock_guard<std::mutex> lk(balancers_mu_);
  auto it = balancers_.find(cluster_id);
  Status s;
  if (it == balancers_.end()) {
    KillOrphanBalancer(BalancerDir(cluster_id));
    BalancerOptions bo;
    bo.haproxy_path = options_.haproxy_path;
    bo.dir = BalancerDir(cluster_id);
    bo.listen_host = options_.reader_host;
    bo.listen_port = (*cluster)->port;
    if (auto account = AccountOf(**cluster); account.ok() && account->switched) {
      bo.drop_to = std::make_pair(account->uid, account->gid);
    }
    auto started = ReaderBalancer::Start(std::move(bo), backends);
    s = started.status();
    if (started.ok()) balancers_[cluster_id] = std::move(started).value();
  } else {
    auto same = [&] {
      const auto& cur = it->second->backends();
      if (cur.size() != backends.size()) return false;
      for (size_t i = 0; i < cur.size(); ++i) {
        if (cur[i].name != backends[i].name || cur[i].port != backends[i].port) return false;
      }
      return true;
    };
    if (!same() || it->second->pid() == 0) s = it->second->Update(backends);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "rewindd: the reader endpoint of %s: %s\n", cluster_id.c_str(),
                 s.ToString().c_str());
  }
}

void ClusterService::Impl::StopReaderEndpoint(const std::string& cluster_id) {
  std::unique_ptr<ReaderBalancer> gone;
  {
    std::lock_guard<std::mutex> lk(balancers_mu_);
    auto it = balancers_.find(cluster_id);
    if (it == balancers_.end()) return;
    gone = std::move(it->second);
    balancers_.erase(it);
  }
  gone.reset();  // stops its haproxy
  std::error_code ec;
  std::filesystem::remove_all(BalancerDir(cluster_id), ec);
}

std::vector<ReplicaView> ClusterService::Replicas() {
  std::vector<ReplicaView> out;
  auto rows = impl_->ListInstanceRows();
  if (!rows.ok()) return out;
  for (const InstanceRow& r : *rows) {
    if (r.role != InstanceRole::kReader) continue;
    ReplicaView v{r.cluster_id, r.id, false, std::nullopt};
    if (std::shared_ptr<ClusterHost> host = impl_->FindReaderHost(r.id)) {
      // Never waits for an operation (a scrape must not stall behind a re-provisioning).
      std::unique_lock<std::mutex> ol(host->op_mutex(), std::try_to_lock);
      if (ol.owns_lock()) {
        if (auto st = host->ReplicaState(); st.ok()) {
          v.running = st->io_running && st->sql_running;
          v.lag_seconds = st->seconds_behind;
        }
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

void ClusterService::Impl::KillOrphanBalancers() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(options_.data_dir + "/run", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".haproxy-", 0) != 0) continue;
    KillOrphanBalancer(e.path().string());
    // A cluster deleted while rewindd was down: nothing of its endpoint is kept.
    auto row = meta_->GetCluster(name.substr(std::string(".haproxy-").size()));
    if (row.ok() && !*row) std::filesystem::remove_all(e.path(), ec);
  }
}

}  // namespace rwd::cluster
