// The cluster service's internals, shared by its .cc files (cluster_service.cc: the requests;
// cluster_operations.cc: the background operations; cluster_recovery.cc: Open and recovery;
// cluster_retention.cc: retention passes; service_impl.cc: rows, views, hosts, accounts;
// cluster_validate.cc: input rules). Not part of the module's interface.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_error.h"
#include "cluster/cluster_event.h"
#include "cluster/cluster_host.h"
#include "cluster/cluster_service.h"
#include "cluster/host_util.h"
#include "cluster/meta_db.h"
#include "cluster/op_journal.h"
#include "cluster/reader_balancer.h"
#include "engine/engine.h"
#include "store/store.h"
#include "tls/tls.h"

namespace rwd::cluster {

constexpr int64_t kNsPerSec = 1'000'000'000;
// Aurora caps the window at 72 h; Rewind's is bounded by the history budget instead. This is
// only a sanity bound (a year).
constexpr int64_t kMaxBacktrackWindowS = 365LL * 24 * 3600;
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline Status ClusterNotFound(const std::string& id) {
  return Refuse(ClusterError::kClusterNotFound, Reason::kClusterNotFound,
                {.field = Field::kClusterId, .input = BoundedInput(id)});
}
inline Status InstanceNotFound(const std::string& id) {
  return Refuse(ClusterError::kInstanceNotFound, Reason::kInstanceNotFound,
                {.field = Field::kInstanceId, .input = BoundedInput(id)});
}
inline Status InvalidState(Reason reason, RefusalDetail detail = {}) {
  return Refuse(ClusterError::kInvalidClusterState, reason, std::move(detail));
}
inline Status InvalidInstanceState(Reason reason, RefusalDetail detail = {}) {
  return Refuse(ClusterError::kInvalidInstanceState, reason, std::move(detail));
}
inline Status InvalidParam(Reason reason, RefusalDetail detail = {}) {
  return Refuse(ClusterError::kInvalidParameter, reason, std::move(detail));
}
inline Status InvalidCombination(Reason reason, RefusalDetail detail = {}) {
  return Refuse(ClusterError::kInvalidCombination, reason, std::move(detail));
}
inline Status WindowOutOfRange() {
  return InvalidParam(Reason::kWindowOutOfRange,
                      {.field = Field::kBacktrackWindow, .number = kMaxBacktrackWindowS});
}
inline std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline std::string RandomAlnum(size_t n, bool upper) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const char* chars = upper ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" : "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(chars[rng() % 36]);
  return s;
}

inline std::string Uuid() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s.push_back('-');
    int v = static_cast<int>(rng() % 16);
    if (i == 12) v = 4;
    if (i == 16) v = 8 + v % 4;
    s.push_back(hex[v]);
  }
  return s;
}

// A modify's metadata change as the journal keeps it (operations.ref): "window=N" and/or
// "protection=0|1", comma-separated; and its application to a row.
std::string ModifyChangeText(std::optional<int64_t> window_s, std::optional<bool> protection);
Status ParseModifyChangeText(const std::string& text, std::optional<int64_t>* window_s,
                             std::optional<bool>* protection);
void ApplyModifyChange(std::optional<int64_t> window_s, std::optional<bool> protection,
                       ClusterRow* row);

// Whether a cluster in `status` is stopped, stopping or starting (a refusal then says to start
// it, or wait, first).
bool IsStoppedOrStarting(ClusterStatus status);

// RDS identifier rules: 1-63 letters, digits or hyphens; first a letter; no trailing hyphen or
// two consecutive hyphens. Failure: a kIdentifierInvalid refusal naming `field`.
Status ValidateIdentifier(const std::string& id, Field field);

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------

class ClusterService::Impl {
 public:
  explicit Impl(const ServiceOptions& o) : options_(o) {}
  ~Impl() {
    {
      std::lock_guard<std::mutex> lk(async_mu_);
      stopping_ = true;
    }
    {
      std::lock_guard<std::mutex> lk(cleaner_mu_);
      stop_cleaner_ = true;
      cleaner_cv_.notify_all();
    }
    if (cleaner_.joinable()) cleaner_.join();
    if (retrier_.joinable()) retrier_.join();
    WaitIdle();
    // Each host stops its engine and unmounts as it goes (ClusterHost's destructor).
    std::map<std::string, std::shared_ptr<ClusterHost>> hosts;
    {
      std::lock_guard<std::mutex> lk(mu_);
      hosts.swap(hosts_);
    }
    {
      std::lock_guard<std::mutex> lk(balancers_mu_);
      balancers_.clear();  // each stops its haproxy
    }
    std::map<std::string, std::shared_ptr<ClusterHost>> readers;
    {
      std::lock_guard<std::mutex> lk(readers_mu_);
      readers.swap(reader_hosts_);
    }
    readers.clear();
    hosts.clear();
  }

  Status Open();

  // ---- paths ----
  std::string MountDir(const std::string& id) const { return options_.data_dir + "/mnt/" + id; }
  std::string RunDir(const std::string& id) const { return options_.data_dir + "/run/" + id; }
  // TLS: rewindd's CA (its certificate is what clients trust, like Aurora's global-bundle.pem)
  // and each cluster's server certificate, all outside the volumes: a backtrack never rewinds
  // them. ClusterTls issues or renews a cluster's certificate; see there.
  std::string CaCertPath() const { return options_.data_dir + "/ca.pem"; }
  std::string CaKeyPath() const { return options_.data_dir + "/tls/ca-key.pem"; }
  std::string TlsDir(const std::string& id) const {
    return options_.data_dir + "/tls/clusters/" + id;
  }
  Result<tls::ServerCertFiles> ClusterTls(const ClusterRow& row);
  // The account the cluster's mariadbd runs as: its own uid (row.engine_uid) with the engine
  // user's group when rewindd is root; rewindd's own user (engine_account_) when not.
  // Failure: FailedPrecondition when rewindd is root and the row has no uid yet.
  Result<engine::EngineAccount> AccountOf(const ClusterRow& row) const;
  // A new cluster's engine uid (ServiceOptions::engine_uid_base): the lowest one no cluster in
  // meta.db holds and no passwd entry names; 0 when rewindd is not root. The caller holds mu_
  // (or is Open, before requests are served) and stores the row before releasing it.
  // Failure: Unavailable when all 65536 are taken; IOError if the passwd lookup fails.
  Result<int64_t> AllocateEngineUid();
  // Gives data_dir and its mnt/ and run/ their owners and modes (ServiceOptions::data_dir).
  Status SecureDataDir();
  // Gives every cluster without an engine uid one (rewindd as root; Open).
  Status AssignMissingEngineUids();

  // Records an event of `kind` (its detail: a reason, a source cluster) about `source_id`.
  // An event SQLite refuses (a full disk) is logged and lost: the operation it reports stands.
  void Event(const std::string& source_id, EventKind kind, const std::string& detail = "") {
    RecordEvent(EventRow{source_id, EventSourceType(kind), detail, EventCategories(kind),
                         NowNs(), static_cast<int64_t>(kind)});
  }
  void RecordEvent(const EventRow& row) {
    if (Status s = meta_->AddEvent(row); !s.ok()) {
      std::fprintf(stderr, "rewindd: event %lld of %s not recorded: %s\n",
                   static_cast<long long>(row.kind), row.source_id.c_str(), s.ToString().c_str());
    }
  }

  // The cluster's host, made (holding the row's volume) the first time it is asked for.
  // Failure: the row's engine account is not valid (AccountOf).
  Result<std::shared_ptr<ClusterHost>> HostFor(const ClusterRow& row) {
    std::lock_guard<std::mutex> lk(mu_);
    return HostForLocked(row);
  }
  // A host's store, paths and mount options for `row`'s engine account; no engine maker.
  Result<HostConfig> HostConfigFor(const ClusterRow& row, std::string mount_dir,
                                   std::string run_dir);
  // As HostFor, for a caller that already holds mu_ (mu_ is not recursive).
  Result<std::shared_ptr<ClusterHost>> HostForLocked(const ClusterRow& row);
  // The cluster's host if it has one, else nullptr.
  std::shared_ptr<ClusterHost> FindHost(const std::string& id) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = hosts_.find(id);
    return it == hosts_.end() ? nullptr : it->second;
  }

  // Runs `work` on a background thread; WaitIdle waits for all of them.
  void Async(std::function<void()> work) {
    std::lock_guard<std::mutex> lk(async_mu_);
    if (stopping_) return;  // shutting down: no new work
    ++running_;
    threads_.emplace_back([this, work = std::move(work)] {
      work();
      std::lock_guard<std::mutex> l(async_mu_);
      --running_;
      async_cv_.notify_all();
    });
  }
  void WaitIdle() {
    std::unique_lock<std::mutex> lk(async_mu_);
    async_cv_.wait(lk, [this] { return running_ == 0; });
    std::vector<std::thread> done;
    done.swap(threads_);
    lk.unlock();
    for (auto& t : done) t.join();
  }

  Result<int> AssignPort(std::optional<int> asked, const std::string& self);
  // The tags of resource (kind "cluster" or "db", id).
  Result<std::vector<TagView>> TagsOf(const std::string& kind, const std::string& id) const {
    ASSIGN_OR_RETURN(std::vector<TagRow> rows, meta_->ListTags(kind, id));
    std::vector<TagView> out;
    for (TagRow& r : rows) out.push_back(TagView{std::move(r.key), std::move(r.value)});
    return out;
  }
  // Stores the tags of a resource just created; if that fails, `undo` removes the resource so
  // that the refused request leaves nothing behind.
  Status PutNewTags(const std::string& kind, const std::string& id,
                    const std::vector<TagView>& tags, const std::function<Status()>& undo) {
    if (tags.empty()) return Status::Ok();
    std::vector<TagRow> rows;
    for (const TagView& t : MergeTags({}, tags)) rows.push_back(TagRow{t.key, t.value});
    Status s = meta_->PutTags(kind, id, rows);
    if (!s.ok()) {
      if (Status u = undo(); !u.ok()) {
        std::fprintf(stderr, "rewindd: undoing %s %s after its tags were refused: %s\n",
                     kind.c_str(), id.c_str(), u.ToString().c_str());
      }
    }
    return s;
  }
  Result<int64_t> PruneEvents() {
    const int64_t days = std::max<int64_t>(1, options_.event_retention_days);
    return meta_->PruneEvents(NowNs() - days * 24 * 3600 * kNsPerSec);
  }
  Result<ClusterRow> GetClusterRow(const std::string& id);
  // kClusterExists if a cluster has the (lower-case) id `id`; SQLite's error otherwise.
  Status ClusterIdFree(const std::string& id) {
    ASSIGN_OR_RETURN(std::optional<ClusterRow> existing, meta_->GetCluster(id));
    if (!existing) return Status::Ok();
    return Refuse(ClusterError::kClusterExists, Reason::kClusterExists,
                  {.field = Field::kClusterId, .id = id});
  }
  // The cluster's volume, by the id its row holds. NotFound while it has none.
  Result<store::VolumeInfo> VolumeOf(const ClusterRow& row) const {
    if (row.volume_id == 0) return Status::NotFound("DB cluster " + row.id + " has no volume");
    return store_->GetVolume(store::VolumeId(static_cast<uint64_t>(row.volume_id)));
  }
  Status SetClusterStatus(const std::string& id, ClusterStatus status);
  Result<ClusterView> View(const ClusterRow& row);
  InstanceView ViewInstance(const InstanceRow& row, const ClusterRow& cluster) const;
  std::optional<InstanceRow> WriterOf(const std::string& cluster_id);

  // Instance rows. A status change made in the background (a restart, a failure) that SQLite
  // refuses (a full disk) is kept in memory: reads below see it and write it again, so that a
  // stale "rebooting" cannot block the instance once space is back.
  Result<std::optional<InstanceRow>> GetInstanceRow(const std::string& id);
  Result<std::vector<InstanceRow>> ListInstanceRows();
  void SaveInstanceStatus(InstanceRow row, InstanceStatus status);  // background changes
  Status PutInstanceRow(const InstanceRow& row);  // request paths: the caller reports failure
  Status DeleteInstanceRow(const std::string& id);

  // The options of the cluster's mariadbd (its mount as datadir, run dir, port, account, TLS
  // settings, issuing or renewing its certificate; master user); no exit callback.
  Result<engine::EngineOptions> EngineOptionsFor(const ClusterRow& row);
  // The cluster's engine (HostConfig::make_engine): mariadbd over its mount, its TLS
  // certificate renewed, restarted through DoRecoverEngine when it dies on its own.
  Result<std::unique_ptr<ClusterEngine>> MakeEngine(const ClusterRow& row);
  // Kills a mariadbd left running by an earlier rewindd on this cluster's run dir.
  void KillOrphan(const ClusterRow& row);
  int64_t EarliestBacktrackNs(const store::VolumeInfo& vol) const;

  // Retention: one pass (CleanNow); CleanOnce runs one for the timer and logs a failure.
  Result<store::CleanReport> RetentionPass();
  // The parts of a pass (cluster_retention.cc).
  struct MountState {
    std::map<uint64_t, std::set<uint64_t>> known;  // timeline -> inodes the kernel holds
    std::set<uint64_t> busy;                       // timelines whose mount is being changed
    std::map<std::string, fs::MountStats> stats;   // by cluster id
  };
  void CollectMounts(MountState* state);
  Status RaiseFloors(int64_t now, bool push);
  Result<std::vector<std::pair<std::string, bool>>> UpdateFigures(
      const store::CleanReport& total, const std::map<std::string, fs::MountStats>& mount_stats,
      int64_t now);
  void CleanOnce();

  // Instances down while they should serve: "failed" ones, or "available" ones whose mariadbd
  // is not running, are started again (every retry_failed_interval_ms).
  void RetryDownInstances();
  // Calls `tick` every interval_ms until the service stops (the cleaner and the retrier).
  void EveryInterval(int64_t interval_ms, const std::function<void()>& tick);

  // ---- Snapshots (cluster_snapshots.cc) ----
  // Serialises snapshot requests (check then pin; names). Never held while waiting for mu_.
  std::mutex snapshot_mu_;
  // Pins `cluster`'s head as snapshot `id` and stores its row (and tags) and its cluster's
  // `root_password` (SnapshotSecretPath). The caller holds
  // snapshot_mu_ and has checked the id is free and the cluster available. Refusals as
  // ClusterService::CreateSnapshot (kSnapshotQuota); on failure nothing is left behind.
  Result<SnapshotRow> TakeSnapshot(const ClusterRow& cluster, const std::string& id,
                                   const std::vector<TagView>& tags,
                                   const std::string& root_password);
  // Open: makes pins and snapshot rows agree after a crash (whole or absent): a pin named
  // "snapshot:<id>" without its row is released; a row without its pin, or left "deleting",
  // is removed (its pin released first).
  Status SettleSnapshots();
  // Where a snapshot keeps its cluster's root password (its datadir's accounts need it on
  // restore): <data_dir>/snapshots/<id>.root-password, 0600 in a 0700 directory.
  std::string SnapshotSecretPath(const std::string& id) const {
    return options_.data_dir + "/snapshots/" + id + ".root-password";
  }

  // ---- Parameter groups (parameter_groups_service.cc) ----
  // Serialises parameter group changes, and the checks and writes of the clusters and
  // instances that name a group (so a group in use is never deleted). Taken before mu_.
  std::mutex param_mu_;
  ParameterCatalog catalog_;  // set by Open (LoadParamCatalog); const after
  // The engine's tunable variables: from meta.db's cache for this engine version, else probed
  // (engine::ProbeSystemVariables, or options_.variable_probe) and cached.
  Status LoadParamCatalog();
  // The stored name of the group a request names: "" for the default group, else the name in
  // lower case. kParamGroupNotFound if there is none of that kind.
  Result<std::string> ResolveParamGroup(ParamGroupKind kind, const std::string& name);
  // The cluster parameter group a new cluster (create, clone, restore) is asked with: "" if
  // none (the default group), else ResolveParamGroup's answer, taken with *param_lock (on
  // param_mu_, unlocked) locked and left locked so the group cannot be deleted before the
  // caller stores the row that names it (param_mu_ comes before mu_).
  Result<std::string> ResolveNewClusterGroup(const std::optional<std::string>& name,
                                             std::unique_lock<std::mutex>* param_lock);
  // The values of a group by stored name ("": none).
  Result<std::vector<ParamValueRow>> GroupValues(ParamGroupKind kind, const std::string& stored);
  // What the cluster's engine must run with (MergeSettings of its group and its writer's).
  Result<engine::TunedSettings> DesiredSettings(const ClusterRow& row);
  // Gives the cluster's engine (if it has one) its DesiredSettings for its next start, and sets
  // the variables named in `now` on it if it runs. The caller holds param_mu_, not mu_.
  // A failure is logged (the instance then shows pending-reboot).
  void PushSettings(const std::string& cluster_id, const std::vector<std::string>& now);
  // The apply status of the cluster's writer engine (kApplying while an operation holds it
  // and its settings differ from the last seen).
  ParamApplyStatus ParamStatusOf(const ClusterRow& row);
  // A reader's: its settings are its cluster group's and its own DB parameter group's values
  // (MergeSettings), less what a reader keeps whatever a group says (binlog_format; read_only
  // and the replication settings are not tunable at all).
  Result<engine::TunedSettings> ReaderSettings(const ClusterRow& row, const InstanceRow& reader);
  ParamApplyStatus ReaderParamStatus(const ClusterRow& row, const InstanceRow& reader);
  // PushSettings' part for one engine (`who` names it in logs); the caller holds its op lock.
  void PushSettingsTo(ClusterHost& host, const std::string& who,
                      const engine::TunedSettings& desired, const std::vector<std::string>& now);
  // Stores a group's new values (`after`) and pushes them to every cluster using the group,
  // the dynamic ones of ImmediatePlan at once. The caller holds param_mu_.
  Status StoreAndApply(ParamGroupKind kind, const std::string& stored,
                       const std::vector<ParamValueRow>& before,
                       const std::vector<ParamValueRow>& after,
                       const std::vector<ParameterChange>& changes, bool reset);
  std::mutex seen_mu_;  // a leaf; guards seen_in_effect_
  std::map<std::string, engine::TunedSettings> seen_in_effect_;  // by cluster id
  // ---- Reader instances (readers.cc) ----
  // A reader is a ClusterHost of its own: its volume ("~reader~<id>", a copy-on-write clone of
  // the cluster's), mounted at mnt/.reader-<id>, its mariadbd (read-only, its own port and
  // server_id) with run dir run/.reader-<id>, following the writer by GTID replication.
  // Lock order: a cluster's host op lock, then its readers' op locks; readers_mu_ is a leaf.
  static constexpr uint32_t kWriterServerId = 1;
  static constexpr const char* kReplicationUser = "rewind_repl";
  std::string ReaderMountDir(const std::string& id) const {
    return options_.data_dir + "/mnt/.reader-" + id;
  }
  std::string ReaderRunDir(const std::string& id) const {
    return options_.data_dir + "/run/.reader-" + id;
  }
  static std::string ReaderVolumeName(const std::string& id) { return "~reader~" + id; }
  // The reader's host, made (holding the row's volume) the first time it is asked for.
  Result<std::shared_ptr<ClusterHost>> ReaderHostFor(const InstanceRow& inst,
                                                     const ClusterRow& cluster);
  std::shared_ptr<ClusterHost> FindReaderHost(const std::string& id);
  // Every reader host of the cluster (for stop/start, retention and shutdown).
  std::vector<std::pair<InstanceRow, std::shared_ptr<ClusterHost>>> ReaderHostsOf(
      const std::string& cluster_id);
  // The cluster's instance rows: all, or its readers only.
  std::vector<InstanceRow> InstancesOf(const std::string& cluster_id);
  std::vector<InstanceRow> ReadersOf(const std::string& cluster_id);
  // A free port for a reader (not a cluster's, not another instance's, bindable now).
  Result<int> AssignReaderPort();
  // A server_id no instance of the cluster holds (the writer's is kWriterServerId).
  int64_t NextServerId(const std::string& cluster_id);
  // The replication account's password, made once per cluster and kept (0600) in the
  // cluster's run dir. IOError if it cannot be written.
  Result<std::string> ReplicationPassword(const ClusterRow& cluster);
  // What provisioning a reader needs of its (serving) writer: the writer's volume to clone,
  // its root password (the clone's accounts are the writer's) and where to replicate from
  // (the replication account made sure of on the writer first).
  struct ReaderSource {
    store::VolumeId volume;
    std::string root_password;
    engine::ReplicationSource replication;
  };
  // The writer's host op lock held. FailedPrecondition if the writer does not serve; the
  // failing step's status otherwise.
  Result<ReaderSource> PrepareReaderSource(ClusterHost& writer, const ClusterRow& cluster);
  // The same without the serving check and without making the account (a writer that is
  // about to start). Failure: the passwords' files.
  Result<ReaderSource> ReaderSourceOf(ClusterHost& writer, const ClusterRow& cluster);
  // The master user can drop or alter the replication account (it holds CREATE USER), which
  // would leave readers unable to reconnect: with the writer's host op lock held, the account
  // is made again as provisioning makes it (a cluster with readers and a serving writer only;
  // a failure is logged). Called when a writer starts (create, reboot, retry, failover) and,
  // for every available cluster whose writer is idle, at each retry interval.
  void KeepReplicationAccount(ClusterHost& writer, const ClusterRow& cluster);
  void KeepReplicationAccounts();
  // Makes `reader` (its host op lock held, as the writer's) a fresh clone of the writer's head
  // that serves and follows the writer; journals each step in `op` when given (create_reader)
  // and records the reader's new volume in its row. Failure: the failing step's status.
  Status ProvisionReader(ClusterHost& writer, ClusterHost& reader, const ClusterRow& cluster,
                         InstanceRow* inst, Operation* op);
  // ProvisionReader's steps on the reader alone (its host op lock held; the writer's host is
  // not touched, so several readers may be provisioned from one source on several threads
  // while the caller holds the writer's op lock). With writer_ready, the reader waits for it
  // (the writer serving, its account made) before it follows, and fails with its error.
  Status ProvisionReaderFrom(const ReaderSource& source, ClusterHost& reader, InstanceRow* inst,
                             Operation* op,
                             const std::shared_future<Status>* writer_ready = nullptr);
  void DoCreateReader(Operation op, InstanceRow inst);
  void DoDeleteReader(Operation op, InstanceRow inst);
  // Starts a reader's engine again after it died on its own (or at rewindd's start).
  void DoStartReader(const std::string& id, bool after_exit);
  // Backtrack (the writer's host op lock held, its head rewound): every reader re-cloned from
  // the new head and following again, all at once (one thread each, joined before the
  // return). Without start_writer the writer serves already; with it, this thread runs
  // start_writer (its status in *writer_up) while the readers are cloned and started, and they
  // follow once it serves. A reader that cannot be is marked failed (with an event); the
  // status is the first failure.
  Status ReprovisionReaders(ClusterHost& writer, const ClusterRow& cluster,
                            const std::function<Status()>& start_writer = nullptr,
                            Status* writer_up = nullptr);
  // Cluster deletion (the writer's host op lock held): every reader halted, its volume and
  // directories removed, its row deleted.
  Status DismantleReaders(const std::string& cluster_id);
  // Open: brings the cluster's readers back (a creation or deletion cut short is redone).
  Status RecoverReaders(const ClusterRow& cluster,
                        const std::map<std::string, Operation>& reader_ops);
  // Retention: a reader's history is never needed (window 0); its floor follows now.
  Status RaiseReaderFloors(int64_t now);
  // The cluster's reader endpoint (ServiceOptions::reader_host): started, or reloaded with the
  // available readers' ports (the writer's port when none), or, for a cluster being deleted,
  // stopped. A failure is logged (the endpoint keeps its last backends).
  void RefreshReaderEndpoint(const std::string& cluster_id);
  void StopReaderEndpoint(const std::string& cluster_id);
  // Open: every haproxy a rewindd that died left running is killed (by its pid file).
  void KillOrphanBalancers();
  std::string BalancerDir(const std::string& cluster_id) const {
    return options_.data_dir + "/run/.haproxy-" + cluster_id;
  }
  std::mutex balancers_mu_;  // guards balancers_; taken before readers_mu_ and unsaved_mu_
  std::map<std::string, std::unique_ptr<ReaderBalancer>> balancers_;  // by cluster id
  std::mutex readers_mu_;  // guards reader_hosts_; a leaf
  std::map<std::string, std::shared_ptr<ClusterHost>> reader_hosts_;  // by instance id

  // ---- Failover (failover.cc) ----
  // The cluster's writer if the cluster can fail over now (available, a writer available or
  // failed); kInvalidClusterState otherwise. The caller holds mu_.
  Result<InstanceRow> CheckFailover(const ClusterRow& row);
  // The reader to promote: `target` (kInstanceNotFound; kInvalidInstanceState if not an
  // available reader of `row`), or the available reader with the least replica lag
  // (kInvalidClusterState if there is none). The caller holds mu_.
  Result<InstanceRow> PickFailoverTarget(const ClusterRow& row,
                                         const std::optional<std::string>& target);
  // Journals a failover (kFailover) or a writer's deletion (kDeleteWriter: the writer shows
  // deleting), sets the cluster failing-over, raises kFailoverStarted and starts DoFailover.
  // The caller holds mu_. Failure: the journal's or SQLite's (nothing changed then).
  Status BeginFailover(OpKind kind, ClusterRow row, InstanceRow writer,
                       const InstanceRow& promoted);
  void DoFailover(Operation op, ClusterRow row);
  // DeleteInstance of a writer that has readers (mu_ held): a delete_writer failover.
  Result<InstanceView> DeleteWriterWithReaders(const ClusterRow& row, InstanceRow writer);
  // Open: a failover cut short (`op`, or a row left failing-over) rolled back (before the
  // swap of the rows) or forward; the row is available after.
  Status RecoverFailover(ClusterRow* row, std::optional<Operation> op);
  // kFailoverCompleted for `op` (new writer `new_writer`), unless already recorded since the
  // operation began: a crash between the event and the journal's end of the operation rolls
  // the failover forward again at Open, which must not announce it twice.
  void FailoverCompletedOnce(const Operation& op, const std::string& cluster_id,
                             const std::string& new_writer);

  // ---- The operations journal (op_journal.h) ----
  // Begins `op` (kind, target and arguments set). Failure: the journal's; the operation must
  // not start then.
  Status BeginOp(Operation* op) { return journal_.Begin(op); }
  // As BeginOp; if the journal refuses, `undo` removes what the request stored before.
  Status BeginOrUndo(Operation* op, const std::function<Status()>& undo) {
    Status s = BeginOp(op);
    if (!s.ok()) {
      if (Status u = undo(); !u.ok()) {
        std::fprintf(stderr, "rewindd: undoing a request the journal refused: %s\n",
                     u.ToString().c_str());
      }
    }
    return s;
  }
  // Records a step's result. A step that cannot be recorded fails the operation: after a crash
  // its state could not be told.
  Status RecordStep(Operation* op, OpStep step) { return journal_.Step(op, step); }
  // Records the end of `op`; a failure to record it is logged (recovery then finds it running
  // and settles it again from the store's ids).
  void FinishOp(Operation* op, const Status& outcome);

  // Background work: each runs one journaled operation (op already begun) to its end.
  void DoCreate(Operation op, ClusterRow row, std::string master_password);
  void DoClone(Operation op, ClusterRow row);
  // ---- Peer clones (cluster_peer_clone.cc) ----
  // What a peer's view says about a source cluster: its row in the view's meta.db copy, its
  // volume in the view's store and the earliest moment of it the view holds. The view is
  // frozen: the request, the background part and recovery all read the same. Refusals:
  // kClusterNotFound (kPeerClusterNotFound), kInvalidClusterState (kSourceNotClonable: the
  // source was being created or deleted when its metadata was shipped).
  struct PeerSource {
    ClusterRow row;
    store::VolumeInfo volume;
    int64_t earliest_ns = 0;
  };
  Result<PeerSource> ReadPeerSource(const PeerViewRef& view, const std::string& source_id);
  // ClusterService::Clone with a source_peer (its inputs checked as a local clone's).
  Result<ClusterView> BeginPeerClone(const CloneRequest& request);
  // Its background part (op begun, the row "creating"): pin, foreign clone, run dir; redone
  // whole by recovery (every step idempotent).
  void DoPeerClone(Operation op, ClusterRow row);
  // DeleteCluster of a peer clone, after its volume is gone: its pin in the peer's bucket.
  Status ReleasePeerPin(const ClusterRow& row);
  // RestoreDBClusterFromSnapshot's background part (cluster_snapshots.cc): the volume from the
  // snapshot's pin, the run dir seeded with the snapshot's root password, mounted; available.
  void DoRestoreSnapshot(Operation op, ClusterRow row);
  // Why an instance's engine is (re)started: its creation (or rewindd's restart), a
  // RebootDBInstance call, or the retry of a failed instance (not journaled).
  enum class StartKind { kCreate, kReboot, kRetry };
  void DoStartInstance(std::optional<Operation> op, InstanceRow inst,
                       StartKind kind = StartKind::kCreate);
  void DoBacktrack(Operation op, BacktrackRow bt);
  void DoDeleteCluster(Operation op, ClusterRow row);
  void DoDeleteInstance(Operation op, InstanceRow inst);
  // Starts the cluster's engine again after it died on its own.
  void DoRecoverEngine(const std::string& cluster_id);
  // Status "failed" for a cluster whose operation failed; a write SQLite refuses is logged.
  void MarkClusterFailed(const std::string& id);
  // Sets the volume id of cluster `id` in its row (read, modified, written).
  Status SetClusterVolume(const std::string& id, store::VolumeId volume);

  // ---- Stop and start (cluster_stop_start.cc) ----
  // StopCluster's / StartCluster's common part, under mu_ once the row is checked: the op
  // journaled, the statuses stopping / starting written, the background part started; returns
  // the cluster as it is now. Failure: the journal's or SQLite's (then nothing changed).
  Result<ClusterView> BeginStopStart(OpKind kind, ClusterRow row);
  // Background parts of StopCluster / StartCluster (op begun, status stopping / starting).
  void DoStop(Operation op, ClusterRow row);
  void DoStart(Operation op, ClusterRow row);
  // After a start (or a stop undone): each reader of the cluster started again in the
  // background (DoStartReader), the reader endpoint refreshed.
  void StartReaders(const std::string& cluster_id);
  // Every instance of the cluster not being deleted gets `status` (SaveInstanceStatus) and,
  // if given, an `event`.
  void SetInstancesStatus(const std::string& cluster_id, InstanceStatus status,
                          std::optional<EventKind> event);
  // Recover's part for a cluster stopping, stopped or starting (`op`: its unfinished one).
  Status RecoverStopStart(ClusterRow row, std::optional<Operation> op);
  // Ends an unfinished stop or start op from the row's status: done if its status was
  // written, failed (nothing done) otherwise.
  void SettleStopStartOp(const ClusterRow& row, Operation* op);

  // ---- Recovery (cluster_recovery.cc), called by Open before requests are served ----
  // Settles the unfinished operations of the journal: each cluster's one is returned by
  // cluster id (create, clone, delete, backtrack), instance ones by instance id; the others
  // (modify, reboot, create_instance: rewindd's start redoes what they did) end failed.
  // A modify cut short after its password was set: its journaled metadata change is written.
  Status FinishModify(Operation* op);
  Status SettleJournal(std::map<std::string, Operation>* by_cluster,
                       std::map<std::string, Operation>* by_instance);
  // Brings one cluster back: resumes or rolls back its unfinished operation, mounts and
  // prepares its engine, starts its writer.
  Status Recover(ClusterRow row, std::optional<Operation> op,
                 const std::map<std::string, Operation>& instance_ops);
  // A backtrack cut short: landed iff the volume's head is no longer the one it was asked on.
  Status RecoverBacktrack(const ClusterRow& row, std::optional<Operation> op);

  ServiceOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<MetaDb> meta_;
  OpJournal journal_{nullptr};  // over meta_ (set by Open)
  std::string engine_version_;
  std::optional<tls::CertificateAuthority> ca_;  // set by Open; const after
  // The shared engine account: its group is every mariadbd's (to cross the 0710 shared
  // directories) and it runs the version probe; each cluster's own uid is AccountOf (set by Open).
  engine::EngineAccount engine_account_;

  std::mutex mu_;  // guards hosts_ and serialises validation + status changes of requests
  std::mutex unsaved_mu_;  // guards unsaved_; a leaf
  std::map<std::string, InstanceRow> unsaved_;  // by instance id: rows SQLite refused
  std::map<std::string, std::shared_ptr<ClusterHost>> hosts_;

  std::mutex async_mu_;
  std::condition_variable async_cv_;
  int running_ = 0;
  bool stopping_ = false;  // guarded by async_mu_
  std::vector<std::thread> threads_;

  std::mutex pass_mu_;  // serialises retention passes; taken before mu_
  std::mutex retention_mu_;  // guards the retention state below; a leaf
  std::map<std::string, ClusterRetention> retention_;  // by cluster id
  RetentionMetrics totals_;                            // cluster list unused here
  int64_t last_pass_ns_ = 0;

  // The cleaner's and the retrier's timers share these: stop_cleaner_ stops both.
  std::mutex cleaner_mu_;
  std::condition_variable cleaner_cv_;
  bool stop_cleaner_ = false;
  std::thread cleaner_;
  std::thread retrier_;
};

}  // namespace rwd::cluster
