// ClusterService: Aurora-style DB clusters on Rewind. Each cluster owns one store volume,
// mounted by FUSE at <data_dir>/mnt/<cluster>, and, once it has a writer instance, one mariadbd
// on that mount listening on 127.0.0.1:<port>. It creates, describes, modifies and deletes
// clusters and their writer instance, backtracks a cluster in place to a moment of its window,
// and clones a cluster copy-on-write at a moment (RestoreDBClusterToPointInTime).
//
// Metadata (clusters, instances, backtracks, events) lives in SQLite at <data_dir>/meta.db,
// outside every volume, so a backtrack never rewinds it. After a restart every cluster comes
// back as it was, engines started; an operation cut short by the restart is finished or undone.
//
// TLS: Open loads (or, the first time, makes) rewindd's CA — its certificate <data_dir>/ca.pem,
// its key <data_dir>/tls/ca-key.pem (0600) — and refuses to open if only one of the two is
// there. Every mariadbd serves TLS with a certificate from that CA for the cluster's endpoint,
// kept in <data_dir>/tls/clusters/<cluster>/ and issued or renewed whenever the cluster's engine
// is set up (so at every Open); see ClusterTls in the .cc.
//
// Long operations (create, backtrack, clone, instance start, delete) run in the background, as
// in Aurora: the call validates, records the new status ("creating", "backtracking",
// "deleting"), returns, and the status moves on when the work is done.
//
// Errors: every refusal is a typed refusal (cluster_error.h: Refuse, ErrorKindOf, RefusalOf), e.g.
// kClusterNotFound, kInvalidClusterState, kInvalidParameter, with the reason and values that say
// what to fix. (src/api gives the kinds Aurora's fault codes and the reasons their texts,
// api/refusal_text.h.) Nothing stored is changed by a refusal.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cluster_engine.h"
#include "cluster/cluster_error.h"
#include "cluster/cluster_event.h"
#include "cluster/parameter_groups.h"
#include "cluster/peer_catalog.h"
#include "cluster/states.h"
#include "common/status.h"
#include "engine/engine.h"
#include "fs/mount.h"
#include "store/store.h"

namespace rwd::cluster {

// A resource tag (RDS Tag: Key, Value).
struct TagView {
  std::string key;
  std::string value;
  bool operator==(const TagView&) const = default;
};

// What a tag call names: a DB cluster (ARN type "cluster") or a DB instance ("db").
enum class ResourceKind { kCluster, kInstance };

struct ClusterMember {
  std::string instance_id;
  bool is_writer = true;
  // Whether its engine has its cluster parameter group's values (set by DescribeClusters).
  ParamApplyStatus param_status = ParamApplyStatus::kInSync;
};

struct ClusterView {
  std::string id;           // DBClusterIdentifier (lower case, as RDS stores it)
  std::string resource_id;  // DbClusterResourceId, "cluster-…"
  std::string engine;          // "aurora-mysql"
  std::string engine_version;  // the real MariaDB version
  std::string engine_mode = "provisioned";
  std::string master_username;
  std::string database_name;
  ClusterStatus status = ClusterStatus::kCreating;
  std::string endpoint;  // an address `mysql -h` reaches over TCP
  std::string reader_endpoint;
  int port = 0;
  int64_t backtrack_window_s = 0;         // 0: backtrack off
  int64_t create_time_ns = 0;
  int64_t earliest_backtrack_ns = 0;      // valid when backtrack_window_s > 0
  int64_t earliest_restorable_ns = 0;
  int64_t latest_restorable_ns = 0;
  uint64_t backtrack_consumed_change_records = 0;  // as of the last cleaning pass
  int64_t backtrack_window_actual_s = 0;  // how far back a backtrack can go now
  bool backtrack_window_alert = false;    // the history budget cut the window below target
  std::string clone_group_id;             // shared by a cluster and its clones
  std::string source_cluster;             // the cluster it was cloned from, if any
  // A peer clone (ClusterService::Clone with source_peer): the peer its source is on (then
  // source_cluster is that peer's cluster and clone_group_id the source's).
  std::string source_peer;
  std::vector<ClusterMember> members;
  bool deletion_protection = false;  // DeleteCluster refuses while set
  std::vector<TagView> tags;
  std::string param_group = DefaultParamGroupName();  // its DB cluster parameter group
};

struct InstanceView {
  std::string id;
  std::string cluster_id;
  std::string resource_id;  // DbiResourceId, "db-…"
  std::string instance_class;
  std::string engine;
  std::string engine_version;
  InstanceStatus status = InstanceStatus::kCreating;
  std::string endpoint;
  int port = 0;               // a reader's own port; the writer's is the cluster's
  bool is_writer = true;      // false: a reader (a replica of the writer)
  int64_t create_time_ns = 0;
  std::string master_username;
  std::string database_name;
  std::vector<TagView> tags;
  std::string param_group = DefaultParamGroupName();  // its DB parameter group
  // Whether its engine runs with its groups' values (set by DescribeInstances; in-sync
  // elsewhere).
  ParamApplyStatus param_status = ParamApplyStatus::kInSync;
};

// A parameter group (ClusterService::CreateParamGroup ...).
struct ParamGroupView {
  ParamGroupKind kind = ParamGroupKind::kCluster;
  std::string name;
  std::string family;
  std::string description;
};

// One parameter of a group as DescribeParameters shows it.
struct ParameterView {
  std::string name;
  std::optional<std::string> value;  // the group's, else the engine's default (if it has one)
  std::string description;
  ParamSource source = ParamSource::kEngineDefault;  // kUser: the group sets it
  bool is_static = false;
  ParamDataType data_type = ParamDataType::kString;
  std::string allowed_values;
  bool is_modifiable = true;
  std::optional<ApplyMethod> apply_method;  // the group's (kUser), else the type's
};

struct BacktrackView {
  std::string id;  // BacktrackIdentifier (a UUID)
  std::string cluster_id;
  int64_t backtrack_to_ns = 0;        // the moment the cluster was set back to
  int64_t backtracked_from_ns = 0;    // when the backtrack started (the state it left)
  int64_t request_time_ns = 0;
  BacktrackStatus status = BacktrackStatus::kPending;
  std::string message; // why, if failed
};

struct EventView {
  std::string source_id;
  std::string source_type;  // db-cluster | db-instance
  EventKind kind = EventKind::kMessage;
  std::string detail;       // kind's detail (kMessage: the whole text); src/api renders it
  std::vector<std::string> categories;
  int64_t date_ns = 0;
};

struct CreateClusterRequest {
  std::string id;
  std::string engine;  // must be "aurora-mysql" (or "aurora", "mysql" style aliases refused)
  std::optional<std::string> engine_version;
  std::string master_username;
  std::string master_password;
  std::string database_name;
  std::optional<int> port;
  int64_t backtrack_window_s = 0;
  bool deletion_protection = false;
  std::vector<TagView> tags;  // checked as ValidateTags does
  std::optional<std::string> param_group;  // DBClusterParameterGroupName; unset: the default
};

struct ModifyClusterRequest {
  std::string id;
  // A DB cluster parameter group to use instead (its values apply at the next reboot, as in
  // Aurora: the instances show pending-reboot until then).
  std::optional<std::string> param_group;
  std::optional<int64_t> backtrack_window_s;
  std::optional<std::string> master_password;
  std::optional<bool> deletion_protection;  // unset: unchanged
};

struct DeleteClusterRequest {
  std::string id;
  bool skip_final_snapshot = false;
  std::optional<std::string> final_snapshot_id;
};

struct CreateInstanceRequest {
  std::string id;
  std::string cluster_id;
  std::string instance_class;
  std::string engine;
  std::vector<TagView> tags;
  std::optional<std::string> param_group;  // DBParameterGroupName; unset: the default
};

struct BacktrackRequest {
  std::string cluster_id;
  int64_t backtrack_to_ns = 0;
  bool force = false;
  bool use_earliest_time_on_point_in_time_unavailable = false;
};

struct CloneRequest {
  std::string id;
  std::string source_id;
  // Empty: source_id is a cluster of this node. Else the name of a peer (ServiceOptions::peers)
  // and source_id one of its clusters: a peer clone (cluster_peer_clone.cc).
  std::string source_peer;
  std::string restore_type;  // "copy-on-write" or empty (full-copy is refused)
  std::optional<int64_t> restore_to_ns;
  bool use_latest_restorable_time = false;
  std::optional<int> port;
  std::optional<int64_t> backtrack_window_s;  // default: the source's
  bool deletion_protection = false;  // of the new cluster (not copied from the source, as RDS)
  std::vector<TagView> tags;         // of the new cluster
  // DBClusterParameterGroupName of the new cluster (kParamGroupNotFound if unknown); unset:
  // the default group, as in Aurora (not the source's).
  std::optional<std::string> param_group;
};

// A DB cluster snapshot: a store pin of the cluster's volume at one moment, kept until deleted
// (past the backtrack window and the cluster's deletion). Taking one is O(1), so it is
// "available" when the call returns; "deleting" while DeleteClusterSnapshot runs.
struct SnapshotView {
  std::string id;          // DBClusterSnapshotIdentifier (lower case)
  std::string cluster_id;  // the cluster it was taken of
  std::string status;      // "available" | "deleting"
  int64_t create_ns = 0;   // SnapshotCreateTime: the moment it holds
  int64_t cluster_create_ns = 0;
  std::string engine;
  std::string engine_version;
  int port = 0;
  std::string master_username;
  int64_t allocated_gb = 0;
  std::vector<TagView> tags;
};

struct CreateSnapshotRequest {
  std::string id;
  std::string cluster_id;
  std::vector<TagView> tags;  // checked as ValidateTags does
};

// RestoreDBClusterFromSnapshot: a new cluster whose volume is a copy-on-write clone of the
// snapshot's pinned state; then CreateInstance gives it a writer, as in Aurora.
struct RestoreSnapshotRequest {
  std::string id;           // the new DBClusterIdentifier
  std::string snapshot_id;
  std::string engine;       // must be the snapshot's engine ("aurora-mysql")
  std::optional<std::string> engine_version;  // if given: the snapshot's
  std::optional<int> port;
  std::optional<int64_t> backtrack_window_s;  // default 0 (off)
  bool deletion_protection = false;
  std::vector<TagView> tags;
  // DBClusterParameterGroupName of the new cluster, its values applied when its instances
  // start (kParamGroupNotFound if unknown); unset: the default group.
  std::optional<std::string> param_group;
};

struct CopySnapshotRequest {
  std::string source_id;
  std::string target_id;
  std::vector<TagView> tags;
};

struct EventQuery {
  std::optional<std::string> source_id;
  std::optional<std::string> source_type;
  std::optional<int64_t> start_ns;
  std::optional<int64_t> end_ns;
  std::optional<int64_t> duration_minutes;
  std::vector<std::string> categories;
};

// A cluster's activity over an interval (ClusterService::Activity). Unset times and step take
// the defaults described there.
struct ActivityRequest {
  std::string cluster_id;
  std::optional<int64_t> from_ns;
  std::optional<int64_t> to_ns;
  std::optional<int64_t> step_ns;
};
struct ActivityView {
  std::string cluster_id;
  int64_t from_ns = 0;      // the first point's start (from rounded down to a whole step)
  int64_t to_ns = 0;        // the last point's end (to rounded up)
  int64_t step_ns = 0;
  int64_t earliest_ns = 0;  // the earliest time its window holds now
  std::vector<store::ActivityPoint> points;  // ascending, one per step, zeros included
};

// Retention, per cluster, as the last cleaning pass found it (for /metrics).
struct ClusterRetention {
  std::string id;
  int64_t window_target_s = 0;
  int64_t window_actual_s = 0;
  bool alert = false;
  uint64_t change_records = 0;  // stored for backtrack (BacktrackConsumedChangeRecords)
  uint64_t history_bytes = 0;   // file data bytes kept for its history
  uint64_t live_bytes = 0;      // file data bytes its head timeline wrote and still shows
  uint64_t history_stored_bytes = 0;  // the same two as log bytes (less where compressed)
  uint64_t live_stored_bytes = 0;
  uint64_t change_records_created = 0;  // writes through its mount since it was mounted
  double change_records_per_s = 0;      // between the last two passes
  fs::MountStats mount;                 // its mount's counters, sync latency histogram
};

// A reader instance's replication (ClusterService::Replicas).
struct ReplicaView {
  std::string cluster_id;
  std::string instance_id;
  bool running = false;                  // both replica threads run
  std::optional<int64_t> lag_seconds;    // Seconds_Behind_Master; nullopt: unknown
};

struct RetentionMetrics {
  store::StoreStats store;
  uint64_t clean_passes = 0;
  uint64_t versions_dropped_total = 0;
  uint64_t segments_rewritten_total = 0;
  uint64_t bytes_reclaimed_total = 0;
  double last_pass_seconds = 0;
  int64_t last_pass_end_ns = 0;
  uint64_t history_budget_bytes = 0;  // 0: none
  std::vector<ClusterRetention> clusters;
};

struct ServiceOptions {
  // Created if missing. Layout and modes (enforced at every Open, whatever existed before):
  //   <data_dir>/               0710, group = the engine user's group (0700 if rewindd is not
  //                             root): the engine user may traverse it, nobody else enters
  //   <data_dir>/store/         the store, 0700 (files 0600)
  //   <data_dir>/meta.db*       metadata, 0600
  //   <data_dir>/mnt/           0710 root:engine group; mnt/<cluster> is the cluster's FUSE
  //                             mount, usable only by root and that cluster's engine uid
  //   <data_dir>/run/           0710 root:engine group; run/<cluster> is the engine's run_dir
  //                             (see src/engine/engine.h: root-only files, and a
  //                             run/<cluster>/mariadbd/ owned by the cluster's engine uid)
  //   <data_dir>/tls/, tls/clusters/  0710 root:engine group; tls/ca-key.pem is root's (0600),
  //                             tls/clusters/<cluster>/ the cluster's engine uid's (0700, 0600)
  // The cluster's engine uid: when rewindd is root, each cluster's mariadbd runs as its own
  // numeric uid (clusters.engine_uid, from engine_uid_base; no passwd entry, primary group
  // the engine user's, no supplementary groups), so a master who takes over its server reaches
  // only its own cluster's files. When rewindd is not root, every mariadbd runs as rewindd's
  // own user.
  //   <data_dir>/ca.pem         rewindd's CA certificate, 0600 (copy it out for clients)
  // Every directory above data_dir must be searchable by the engine user: Open refuses
  // otherwise (FailedPrecondition naming the directory).
  std::string data_dir;
  // The unprivileged account every mariadbd runs as (engine::ResolveEngineAccount): empty is
  // Debian's "mysql" when rewindd is root, else rewindd's own user.
  std::string engine_user;
  // Per-cluster engine uids are the lowest of engine_uid_base + 0..65535 that no cluster holds
  // and no passwd entry names (a real user's uid is never taken). Must be >= 65536 and leave
  // room for the 65536 slots below 2^32-1; Open refuses otherwise. Used only as root.
  uint32_t engine_uid_base = 2100000000;
  std::string host = "127.0.0.1";      // where mariadbds listen; the Endpoint field
  int first_port = 3306;               // ports are handed out from here when not asked for
  // The ReaderEndpoint: a real HAProxy per cluster (reader_balancer.h) on reader_host:<cluster
  // port>, round-robin over the readers (the writer when there is none). Empty: no reader
  // endpoint (ReaderEndpoint then shows `host`, the writer). Tests with the stand-in engine
  // leave it empty.
  std::string reader_host;
  std::string haproxy_path = "/usr/sbin/haproxy";
  std::string innodb_buffer_pool_size = "256M";
  // Retention. The cleaner runs every clean_interval_ms (0: only when CleanNow is called); the
  // history budget bounds the log's bytes on disk (0: unbounded): over it, every cluster's
  // backtrack window is cut (a window alert event) until the log fits again.
  int64_t clean_interval_ms = 10'000;
  // An instance whose mariadbd could not be started (status "failed", e.g. while the disk was
  // full) or is found down is started again this often, as Aurora keeps trying; 0: never (only
  // RebootDBInstance brings it back).
  int64_t retry_failed_interval_ms = 60'000;
  uint64_t history_budget_bytes = 0;
  store::CleanOptions clean;
  // StoreOptions::compress and compress_level of the store it opens.
  bool store_compress = false;
  int store_compress_level = 1;
  // StoreOptions::tier: where evicted log segments are read from (rewindd --object-store);
  // not owned, outlives the service. nullptr: none.
  store::SegmentTier* store_tier = nullptr;
  store::WriteGate* store_write_gate = nullptr;  // StoreOptions::write_gate; not owned
  // The peers whose clusters this node may clone (rewindd --peer-object-store), not owned,
  // outlives the service; its views are the store's StoreOptions::peers (a store with a peer
  // clone opens only with the peer's view attached). nullptr: no peers (a Clone naming one is
  // refused as an unknown cluster).
  PeerCatalog* peers = nullptr;
  // Events older than this are deleted (at start and by every retention pass), as Aurora keeps
  // events 14 days. At least 1.
  int64_t event_retention_days = 14;
  // Tests only (src/cluster/*_test.cc): makes each cluster's engine from the options rewindd
  // would give mariadbd, instead of mariadbd; engine_version is then the EngineVersion
  // reported (no `mariadbd --version` probe). Empty in rewindd.
  std::function<Result<std::unique_ptr<ClusterEngine>>(const engine::EngineOptions&)>
      engine_factory;
  std::string engine_version;
  // With engine_factory (tests): what the engine says about its tunable variables, instead of
  // probing mariadbd (engine::ProbeSystemVariables).
  std::function<Result<std::vector<engine::SystemVariable>>()> variable_probe;
};

// What a copy-on-write, ephemeral instance of a cluster at a moment needs (the time-travel
// instances of src/cluster/time_travel.h), and how to reach the cluster's own server.
struct CopyOnWriteSource {
  std::string cluster_id;
  std::string master_username;
  std::string database_name;
  store::Store* store = nullptr;  // the service's store; valid while the service lives
  store::VolumeId volume;         // the cluster's volume
  int64_t at_ns = 0;              // the moment asked for: inside the window, not in the future
  int64_t earliest_ns = 0;        // the window's earliest time now
  // The options of the cluster's writer engine as the service makes them: its datadir (the
  // mount), run_dir, port, account, TLS settings, master user and root password (which the
  // cluster's datadir, and so every copy of it, accepts). on_unexpected_exit is empty.
  engine::EngineOptions engine;
  bool writer_running = false;    // the cluster's mariadbd serves now
};

// --- Input rules shared with the API layer (pure; exposed for tests) ---

// RDS tag limits: at most kMaxTagsPerResource per resource; a key of 1..128 characters not
// starting with "aws:" or "rds:", a value of 0..256; characters: letters (any non-ASCII UTF-8
// counts), digits, white space and _ . : / = + - @. Failure: kInvalidParameter.
inline constexpr size_t kMaxTagsPerResource = 50;
Status ValidateTags(const std::vector<TagView>& tags);
// The tags of `current` after `added` are put on (a key already there takes the new value).
std::vector<TagView> MergeTags(std::vector<TagView> current, const std::vector<TagView>& added);

// Aurora MySQL's MasterUsername rules: 1..16 letters, digits or underscores, first a letter;
// not a name Aurora reserves (root, mysql, mariadb.sys, rdsadmin, rdsrepladmin, rdsproxyadmin,
// PUBLIC) nor a MySQL/MariaDB reserved word (case-insensitive). Failure: kInvalidParameter.
Status ValidateMasterUsername(const std::string& name);
// 8..41 printable ASCII characters except / " @ and space. Failure: kInvalidParameter.
Status ValidateMasterPassword(const std::string& password);

// A user-supplied value cut to at most `max` bytes (then "...") for an error message.
std::string BoundedInput(std::string_view value, size_t max = 64);

class ClusterService {
 public:
  // Opens the store and metadata under options.data_dir, mounts every cluster's volume, starts
  // the engines of clusters with a writer, and finishes or undoes operations a restart cut short.
  static Result<std::unique_ptr<ClusterService>> Open(const ServiceOptions& options);
  // Stops every engine gracefully, unmounts, closes the store.
  ~ClusterService();

  // Every input rule (identifier, engine, ValidateMasterUsername, ValidateMasterPassword,
  // ValidateTags, ...) is checked before anything is stored or created.
  Result<ClusterView> CreateCluster(const CreateClusterRequest& request);
  // One cluster (NotFound if missing) or, with no id, all.
  Result<std::vector<ClusterView>> DescribeClusters(const std::optional<std::string>& id);
  // kInvalidClusterState unless the cluster is available (or failed, when only deletion
  // protection changes: a failed protected cluster must stay deletable).
  Result<ClusterView> ModifyCluster(const ModifyClusterRequest& request);
  // Refused with kInvalidCombination while the cluster's deletion protection is on
  // (Aurora's message); ModifyCluster with deletion_protection false turns it off.
  Result<ClusterView> DeleteCluster(const DeleteClusterRequest& request);

  Result<InstanceView> CreateInstance(const CreateInstanceRequest& request);
  Result<std::vector<InstanceView>> DescribeInstances(const std::optional<std::string>& id,
                                                      const std::optional<std::string>& cluster);
  // The writer of a cluster with readers is deleted as Aurora does it: a failover to the best
  // reader first (op delete_writer, failover.cc), then the old writer goes; the cluster serves.
  Result<InstanceView> DeleteInstance(const std::string& id);
  // RebootDBInstance: the writer's mariadbd is stopped (gracefully) if it runs, then started
  // again; also how a "failed" instance comes back once its cause (a full disk, say) is gone.
  // Status "rebooting", then "available" (or "failed"). kInstanceNotFound; kInvalidInstanceState
  // unless the instance is available or failed and its cluster is available or failed.
  Result<InstanceView> RebootInstance(const std::string& id);

  // ---- Stop and start (cluster_stop_start.cc) ----
  // StopDBCluster: the cluster goes "stopping" (its instances too), then, in the background,
  // every engine stops gracefully and the volume is unmounted: "stopped". Refusals:
  // kClusterNotFound; kInvalidClusterState unless the cluster is available;
  // kInvalidInstanceState while one of its instances is being created, rebooted or deleted.
  // An engine that cannot be stopped fails the stop (an event says why): available again.
  // While stopped, what needs the engine is refused with kInvalidClusterState (modify,
  // backtrack, instances created, deleted or rebooted, snapshots, time travel); describe, tags,
  // activity, a point-in-time clone of it and its deletion (once it has no instance) work.
  // A stopped cluster stays stopped across a restart of rewindd.
  Result<ClusterView> StopCluster(const std::string& id);
  // StartDBCluster: "starting", then the volume is mounted and the writer's engine started:
  // "available". kInvalidClusterState unless the cluster is stopped. A start that fails is
  // rolled back (an event says why): stopped again.
  Result<ClusterView> StartCluster(const std::string& id);

  // ---- Failover (failover.cc) ----
  // FailoverDBCluster: the reader `target` (or, without one, the available reader with the
  // least replica lag) becomes the writer: the writer's engine stops, the two rows swap roles,
  // ports and server ids in one meta.db transaction, the cluster's engine serves the cluster's
  // volume again on the cluster's port as the new writer, and the old writer is re-provisioned
  // as a reader following it. The cluster's volume and history do not change (the backtrack
  // window is kept). Status "failing-over", then "available"; returns the cluster as it is
  // right after the call. Refusals: kClusterNotFound; kInstanceNotFound (no such target);
  // kInvalidInstanceState (a target of another cluster, the writer itself, or not available);
  // kInvalidClusterState (the cluster not available, no writer available, or no reader).
  Result<ClusterView> FailoverCluster(const std::string& cluster_id,
                                      const std::optional<std::string>& target);

  // Starts a backtrack (status "pending"); the cluster goes "backtracking" then "available".
  Result<BacktrackView> Backtrack(const BacktrackRequest& request);
  Result<std::vector<BacktrackView>> DescribeBacktracks(
      const std::string& cluster_id, const std::optional<std::string>& backtrack_id,
      const std::vector<BacktrackStatus>& statuses);

  // RestoreDBClusterToPointInTime, copy-on-write. With request.source_peer, a peer clone
  // (cluster_peer_clone.cc): the source is read from a view of the peer's bucket (built now
  // if no open view holds the moment: the call then waits for the build), the clone's volume
  // reads the peer's history through it and writes here only. Refusals as a local clone, and:
  // kClusterNotFound (Reason kPeerNotFound: no such peer; kPeerClusterNotFound: no such
  // cluster in the peer's metadata as shipped); kInvalidRestore (kRestoreTimeBeforeEarliest,
  // kRestoreTimeAfterPeerHead: after the newest state the peer shipped).
  Result<ClusterView> Clone(const CloneRequest& request);

  // ---- DB cluster snapshots (cluster_snapshots.cc) ----
  // Pins the cluster's current state (its volume's head) under the cluster's op lock. The
  // cluster must be available. Refusals: kInvalidParameter (identifier, tags),
  // kClusterNotFound, kSnapshotExists, kInvalidClusterState, kSnapshotQuota (the history
  // budget, ServiceOptions::history_budget_bytes, cannot hold it: Store::CheckPinBudget).
  Result<SnapshotView> CreateSnapshot(const CreateSnapshotRequest& request);
  // One snapshot (snapshot_id), or a cluster's (cluster_id, which may be deleted since), or
  // all; ascending by id. kSnapshotNotFound when snapshot_id names none.
  Result<std::vector<SnapshotView>> DescribeSnapshots(const std::optional<std::string>& snapshot_id,
                                                      const std::optional<std::string>& cluster_id);
  // Releases the snapshot's pin and forgets it; returns it as it was ("deleting").
  // kSnapshotNotFound; kInvalidSnapshotState while it is being deleted.
  Result<SnapshotView> DeleteSnapshot(const std::string& snapshot_id);
  // A second snapshot of the same state (Store::CopyPin), O(1). kSnapshotNotFound,
  // kSnapshotExists, kInvalidSnapshotState (source not available), kInvalidParameter.
  Result<SnapshotView> CopySnapshot(const CopySnapshotRequest& request);
  // A new cluster from the snapshot ("creating", then "available" in the background).
  // Refusals: kInvalidParameter (identifier, engine, version, window, tags), kSnapshotNotFound,
  // kInvalidSnapshotState (not available), kClusterExists.
  Result<ClusterView> RestoreFromSnapshot(const RestoreSnapshotRequest& request);

  // ---- Parameter groups (parameter_groups_service.cc; see parameter_groups.h) ----
  // A new, empty group. Refusals: kInvalidParameter (name, a family other than
  // kParamGroupFamily, a description over 255 characters), kParamGroupExists.
  Result<ParamGroupView> CreateParamGroup(ParamGroupKind kind, const std::string& name,
                                          const std::string& family,
                                          const std::string& description);
  // One group (kParamGroupNotFound if none) or all of the kind, the default one first.
  Result<std::vector<ParamGroupView>> DescribeParamGroups(ParamGroupKind kind,
                                                          const std::optional<std::string>& name);
  // Sets the parameters (CheckParameterChanges) and applies them: immediate ones now on every
  // running engine using the group, all at every engine's next start. Returns the group's
  // name. Refusals: kParamGroupNotFound; kInvalidParamGroupState for a default group;
  // kInvalidParameter (every bad parameter named, nothing stored). An immediate value a running
  // engine refuses is logged; that instance shows pending-reboot.
  Result<std::string> ModifyParamGroup(ParamGroupKind kind, const std::string& name,
                                       const std::vector<ParameterChange>& changes);
  // Back to the engine's defaults: every parameter (all) or those named. Dynamic ones go back
  // at once unless ApplyMethod pending-reboot is given; static ones at the next start.
  // Refusals as ModifyParamGroup; kInvalidCombination for all together with a list, or
  // neither.
  Result<std::string> ResetParamGroup(ParamGroupKind kind, const std::string& name, bool all,
                                      const std::vector<ParameterChange>& changes);
  // Refusals: kParamGroupNotFound; kInvalidParamGroupState for a default group or one a
  // cluster (instance) uses.
  Status DeleteParamGroup(ParamGroupKind kind, const std::string& name);
  // Every settable parameter (or only those of `source`), by name. kParamGroupNotFound.
  Result<std::vector<ParameterView>> DescribeParameters(ParamGroupKind kind,
                                                        const std::string& name,
                                                        std::optional<ParamSource> source);
  // The parameters of the family's default group. kInvalidParameter for another family.
  Result<std::vector<ParameterView>> EngineDefaultParameters(const std::string& family);

  std::vector<EventView> DescribeEvents(const EventQuery& query);
  // What the cluster's volume changed per step (store::Store::Activity: file data bytes and
  // change records, following the cluster's backtracks). Defaults: from = the earliest time of
  // its window (as earliest_restorable_ns), to = now, step = the shortest of 1 s, 2 s, 5 s,
  // 10 s, 15 s, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d giving at most
  // kDefaultActivityPoints points (and whole minutes where the store keeps only minutes).
  // Failure: kClusterNotFound; kInvalidClusterState while the cluster's volume
  // does not exist (being created or deleted); kInvalidParameter naming StartTime (before the
  // window), EndTime (in the future, or before StartTime) or Step (not a whole number of
  // seconds, too many points, under a minute where only minutes are kept). Reads only; no I/O.
  static constexpr int64_t kDefaultActivityPoints = 150;
  Result<ActivityView> Activity(const ActivityRequest& request);
  // The source of a copy-on-write instance of `cluster_id` at `at_ns` (unset: now). Reads
  // only. Refusals: kClusterNotFound; kInvalidClusterState unless the cluster is available;
  // kInvalidParameter for a time in the future or before the cluster's earliest restorable
  // time (the detail holds both limits); NotFound if the cluster's root
  // password is missing from its run dir.
  Result<CopyOnWriteSource> CopyOnWriteSourceOf(const std::string& cluster_id,
                                                std::optional<int64_t> at_ns);
  // Records an event of `kind` (a cluster's, e.g. kTableRestored) with its detail.
  void RecordClusterEvent(const std::string& cluster_id, EventKind kind, const std::string& detail);
  // The store, for the owner of ephemeral volumes (TimeTravel), which creates and deletes only
  // volumes in its own name space.
  store::Store* mutable_store();
  // Deletes events older than event_retention_days; returns how many went. Also run at start
  // and by every retention pass.
  Result<int64_t> PruneEvents();

  // Tags of a cluster or instance (AddTagsToResource, ListTagsForResource,
  // RemoveTagsFromResource). Failure: kClusterNotFound / kInstanceNotFound; for Add,
  // kInvalidParameter if the tags break ValidateTags (counted after the merge). A resource's
  // tags go when it is deleted.
  Result<std::vector<TagView>> ListTags(ResourceKind kind, const std::string& id);
  Status AddTags(ResourceKind kind, const std::string& id, const std::vector<TagView>& tags);
  Status RemoveTags(ResourceKind kind, const std::string& id, const std::vector<std::string>& keys);

  // One retention pass now: raises every cluster's retention floor to the start of its
  // backtrack window (later if the history budget demands), cleans the store, and raises or
  // clears the window alert events (window cut / window back). Runs by itself every
  // clean_interval_ms; passes are serialised.
  Result<store::CleanReport> CleanNow();
  RetentionMetrics Retention();
  // Every reader's replication as its server reports it now (SHOW SLAVE STATUS), for /metrics;
  // a reader busy with an operation or not running shows running=false and no lag.
  std::vector<ReplicaView> Replicas();

  // ---- For the object-store shipper (rewindd --object-store; src/objstore/shipper.h) ----
  const store::Store& store() const;
  // A consistent copy of meta.db at `path`, then a sync of the store: the returned LSN covers
  // every volume and timeline the copy refers to. *changes: MetadataChanges() at the copy.
  Result<store::Lsn> SnapshotMetadata(const std::string& path, int64_t* changes);
  // Grows with every change of the metadata (events included).
  int64_t MetadataChanges();
  // Records `message` as an event (category `category`) of every cluster: for conditions of
  // the whole service that put every cluster's data at risk (uploads failing).
  void EventForEveryCluster(const std::string& message, const std::string& category);

  // Blocks until no background operation is running (for tests and orderly shutdown).
  void WaitIdle();

  class Impl;

 private:
  explicit ClusterService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rwd::cluster
