// MetaDb: the cluster service's metadata (clusters, instances, backtracks, events) in SQLite,
// kept outside every volume so that a backtrack never rewinds it. Every write is durable when
// the call returns (WAL, synchronous=FULL). Thread-safe (one connection behind a mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace rwd::cluster {

struct ClusterRow {
  std::string id;
  std::string resource_id;
  std::string engine;
  std::string engine_version;
  std::string master_username;
  std::string database_name;
  std::string status;
  int port = 0;
  int64_t backtrack_window_s = 0;
  int64_t create_time_ns = 0;
  std::string clone_group_id;
  std::string source_cluster;
  std::string volume;  // store volume name
  bool backtrack_disabled_for_good = false;
  int64_t restore_to_ns = 0;  // a clone: the moment of its source it starts from
};

struct InstanceRow {
  std::string id;
  std::string cluster_id;
  std::string resource_id;
  std::string instance_class;
  std::string status;
  int64_t create_time_ns = 0;
};

struct BacktrackRow {
  std::string id;
  std::string cluster_id;
  int64_t backtrack_to_ns = 0;
  int64_t backtracked_from_ns = 0;
  int64_t request_time_ns = 0;
  std::string status;
  std::string message;
};

struct EventRow {
  std::string source_id;
  std::string source_type;
  std::string message;
  std::string categories;  // comma-separated
  int64_t date_ns = 0;
};

class MetaDb {
 public:
  // Opens or creates the database file (mode 0600) and its schema.
  static Result<std::unique_ptr<MetaDb>> Open(const std::string& path);
  ~MetaDb();

  Status PutCluster(const ClusterRow& row);  // insert or replace
  Result<std::optional<ClusterRow>> GetCluster(const std::string& id);
  Result<std::vector<ClusterRow>> ListClusters();
  Status DeleteCluster(const std::string& id);

  Status PutInstance(const InstanceRow& row);
  Result<std::optional<InstanceRow>> GetInstance(const std::string& id);
  Result<std::vector<InstanceRow>> ListInstances();
  Status DeleteInstance(const std::string& id);

  Status PutBacktrack(const BacktrackRow& row);
  Result<std::vector<BacktrackRow>> ListBacktracks(const std::string& cluster_id);

  Status AddEvent(const EventRow& row);
  Result<std::vector<EventRow>> ListEvents();

 private:
  explicit MetaDb(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace rwd::cluster
