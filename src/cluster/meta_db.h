// MetaDb: the cluster service's metadata (clusters, instances, backtracks, events, tags) in
// SQLite, kept outside every volume so that a backtrack never rewinds it. Every write is durable
// when the call returns (WAL, synchronous=FULL). Thread-safe (one connection behind a mutex).
//
// Schema versions (docs/format/meta-db.md): the file's PRAGMA user_version is the number of
// migrations applied. Open applies the missing ones in order, each in one transaction with the
// version bump, so a crash leaves the file at the old or the new version, never between. A file
// of a newer version than kSchemaVersion (written by a newer rewindd) is refused, unchanged.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/states.h"
#include "common/status.h"

namespace rwd::cluster {

// meta.db stores the states (states.h) as the text StatusName gives (storage words, today the
// same as the words Aurora shows); ParseStatus reads them back.
const char* StatusName(ClusterStatus status);
const char* StatusName(InstanceStatus status);
const char* StatusName(BacktrackStatus status);
// The status named `text`; a text this binary does not know (written by a newer rewindd) reads
// as failed, the state that lets a user delete or reboot it.
void ParseStatus(std::string_view text, ClusterStatus* out);
void ParseStatus(std::string_view text, InstanceStatus* out);
void ParseStatus(std::string_view text, BacktrackStatus* out);

struct ClusterRow {
  std::string id;
  std::string resource_id;
  std::string engine;
  std::string engine_version;
  std::string master_username;
  std::string database_name;
  ClusterStatus status = ClusterStatus::kCreating;
  int port = 0;
  int64_t backtrack_window_s = 0;
  int64_t create_time_ns = 0;
  std::string clone_group_id;
  std::string source_cluster;
  std::string volume;  // store volume name
  bool backtrack_disabled_for_good = false;
  int64_t restore_to_ns = 0;  // a clone: the moment of its source it starts from
  bool deletion_protection = false;  // DeleteDBCluster is refused while set (schema v2)
  // The uid this cluster's mariadbd runs as when rewindd is root (schema v3); 0: none yet
  // (a cluster made before v3, or rewindd not root). Unique among clusters.
  int64_t engine_uid = 0;
  // The store volume's id (schema v4): how the service holds the volume (never by name).
  // 0 while it has none (being created) or for a row migrated from v3 before rewindd's start
  // filled it in.
  int64_t volume_id = 0;
  // Its DB cluster parameter group (schema v6); empty: the default group.
  std::string param_group;
  // A peer clone (schema v8; cluster_peer_clone.cc): the peer's name (rewindd
  // --peer-object-store NAME=...), and the view of the peer's store its volume reads
  // (PeerViewRef::store_id, view_lsn). Empty / 0 for every other cluster. source_cluster is
  // then the peer's cluster.
  std::string source_peer;
  std::string peer_store_id;
  int64_t peer_view_lsn = 0;
};

struct InstanceRow {
  std::string id;
  std::string cluster_id;
  std::string resource_id;
  std::string instance_class;
  InstanceStatus status = InstanceStatus::kCreating;
  int64_t create_time_ns = 0;
  std::string param_group;  // its DB parameter group (schema v6); empty: the default group
  // Migration 7 (reader instances): the writer has role kWriter, port 0 (it serves on the
  // cluster's port) and volume_id 0 (it serves the cluster's volume); a reader has its own
  // port and its own volume (a copy-on-write clone of the cluster's). server_id: the MariaDB
  // server_id of the instance's mariadbd (EngineOptions::server_id; 0 in rows of older
  // versions: the writer's is then kWriterServerId).
  InstanceRole role = InstanceRole::kWriter;
  int port = 0;
  int64_t volume_id = 0;
  int64_t server_id = 0;
};

// A parameter group (schema v6). kind: "cluster" (a DB cluster parameter group) or
// "instance" (a DB parameter group); names are unique per kind.
struct ParamGroupRow {
  std::string kind;
  std::string name;  // lower case
  std::string family;
  std::string description;
  int64_t create_ns = 0;
};

// One parameter a group sets (schema v6): its value and how it was asked to apply
// ("immediate" or "pending-reboot", the storage words of ApplyMethod).
struct ParamValueRow {
  std::string name;
  std::string value;
  std::string apply_method;
};

// What the engine of version `engine_version` said about one tunable variable (schema v6):
// information_schema.SYSTEM_VARIABLES, cached so rewindd probes once per engine version.
struct ParamCatalogRow {
  std::string name;
  std::string type;
  std::string min;      // empty: none
  std::string max;      // empty: none
  std::string allowed;  // comma-separated
  bool read_only = false;
  std::string default_value;
};

struct BacktrackRow {
  std::string id;
  std::string cluster_id;
  int64_t backtrack_to_ns = 0;
  int64_t backtracked_from_ns = 0;
  int64_t request_time_ns = 0;
  BacktrackStatus status = BacktrackStatus::kPending;
  std::string message;
};

// A DB cluster snapshot (migration 5): its metadata; its data is the store pin `pin_id`
// (named "snapshot:<id>"), which outlives the cluster. status: "available" or "deleting".
struct SnapshotRow {
  std::string id;          // DBClusterSnapshotIdentifier (lower case)
  std::string cluster_id;  // the cluster it was taken of (may be deleted since)
  int64_t pin_id = 0;
  std::string status;
  int64_t create_ns = 0;
  int64_t cluster_create_ns = 0;
  std::string engine;
  std::string engine_version;
  int64_t port = 0;
  std::string master_username;
  std::string database_name;
  int64_t allocated_gb = 0;
};

struct EventRow {
  std::string source_id;
  std::string source_type;
  std::string message;     // the detail of `kind` (kind 0: the whole text)
  std::string categories;  // comma-separated
  int64_t date_ns = 0;
  int64_t kind = 0;        // EventKind (cluster_event.h; schema v4)
};

// One row of the operations journal (schema v4; typed by OpJournal, src/cluster/op_journal.h).
struct OperationRow {
  int64_t id = 0;  // assigned on insert
  int64_t kind = 0;
  std::string target;
  std::string ref;
  int64_t arg_ns = 0;
  int64_t state = 0;
  int64_t step = 0;
  int64_t volume_id = 0;
  int64_t timeline_before = 0;
  int64_t timeline_after = 0;
  std::string message;
  int64_t started_ns = 0;
  int64_t updated_ns = 0;
};

// One tag of a resource. `kind` is the ARN resource type: "cluster" or "db" (an instance).
struct TagRow {
  std::string key;
  std::string value;
};

class MetaDb {
 public:
  // The schema version this code writes (PRAGMA user_version after Open).
  static constexpr int kSchemaVersion = 8;

  // Opens or creates the database file (mode 0600) and migrates its schema to kSchemaVersion.
  // Failure: FailedPrecondition if the file's schema is newer than kSchemaVersion (nothing is
  // changed); IOError for SQLite failures (a failed migration is rolled back).
  static Result<std::unique_ptr<MetaDb>> Open(const std::string& path);
  ~MetaDb();

  // The file's PRAGMA user_version.
  Result<int> SchemaVersion();

  Status PutCluster(const ClusterRow& row);  // insert or replace
  Result<std::optional<ClusterRow>> GetCluster(const std::string& id);
  Result<std::vector<ClusterRow>> ListClusters();
  // Deletes the cluster row and its tags, in one transaction.
  Status DeleteCluster(const std::string& id);

  Status PutInstance(const InstanceRow& row);
  // Inserts or replaces every row in one transaction: all or none (a failover's role swap).
  Status PutInstances(const std::vector<InstanceRow>& rows);
  Result<std::optional<InstanceRow>> GetInstance(const std::string& id);
  Result<std::vector<InstanceRow>> ListInstances();
  // Deletes the instance row and its tags, in one transaction.
  Status DeleteInstance(const std::string& id);

  Status PutBacktrack(const BacktrackRow& row);
  Result<std::vector<BacktrackRow>> ListBacktracks(const std::string& cluster_id);

  // The operations journal. InsertOperation sets row->id.
  Status InsertOperation(OperationRow* row);
  Status UpdateOperation(const OperationRow& row);
  // Rows whose state is `state`, oldest first.
  Result<std::vector<OperationRow>> ListOperationsInState(int64_t state);
  // The last `limit` rows of `target`, newest first.
  Result<std::vector<OperationRow>> ListOperationsOf(const std::string& target, int limit);

  // Snapshots: insert or replace; one; all (by id); remove with its tags (OK if absent).
  Status PutSnapshot(const SnapshotRow& row);
  Result<std::optional<SnapshotRow>> GetSnapshot(const std::string& id);
  Result<std::vector<SnapshotRow>> ListSnapshots();
  Status DeleteSnapshot(const std::string& id);

  // Parameter groups (schema v6). PutParamGroup inserts or replaces; DeleteParamGroup removes
  // the group with its values (OK if absent), in one transaction.
  Status PutParamGroup(const ParamGroupRow& row);
  Result<std::optional<ParamGroupRow>> GetParamGroup(const std::string& kind,
                                                      const std::string& name);
  Result<std::vector<ParamGroupRow>> ListParamGroups(const std::string& kind);  // by name
  Status DeleteParamGroup(const std::string& kind, const std::string& name);
  // The values a group sets, by name; ReplaceParamValues makes them exactly `values`, all or
  // nothing.
  Result<std::vector<ParamValueRow>> ListParamValues(const std::string& kind,
                                                     const std::string& group);
  Status ReplaceParamValues(const std::string& kind, const std::string& group,
                            const std::vector<ParamValueRow>& values);
  // The catalog cached for an engine version (empty if none); PutParamCatalog replaces it.
  Result<std::vector<ParamCatalogRow>> GetParamCatalog(const std::string& engine_version);
  Status PutParamCatalog(const std::string& engine_version,
                         const std::vector<ParamCatalogRow>& rows);

  Status AddEvent(const EventRow& row);
  // Events in the order they were added.
  Result<std::vector<EventRow>> ListEvents();
  // Deletes every event dated before `before_ns`; returns how many went.
  Result<int64_t> PruneEvents(int64_t before_ns);

  // A consistent copy of the whole database at `path` (SQLite's online backup API; the file is
  // replaced), for the object-store shipper. Writers wait while it runs (a small file: ms).
  // IOError naming the step that failed.
  Status BackupTo(const std::string& path);
  // Rows changed through this connection since open: equal counts, equal contents.
  int64_t ChangeCount();

  // Tags of resource (kind, id), in the order their keys were first added.
  Result<std::vector<TagRow>> ListTags(const std::string& kind, const std::string& id);
  // Adds or overwrites tags (a key already present keeps its place, takes the new value), all
  // or none. The caller checks RDS's limits.
  Status PutTags(const std::string& kind, const std::string& id, const std::vector<TagRow>& tags);
  // Removes the tags with these keys (absent keys are ignored), all or none.
  Status RemoveTags(const std::string& kind, const std::string& id,
                    const std::vector<std::string>& keys);

 private:
  explicit MetaDb(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);
  Status Migrate(const std::string& path);
  Result<int> UserVersion();  // PRAGMA user_version; the caller holds mu_ (or is Open)
  // Runs `body` in BEGIN IMMEDIATE ... COMMIT (ROLLBACK if it fails). Caller holds mu_ if needed.
  template <typename F>
  Status InTransaction(F&& body);
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace rwd::cluster
