// TimeTravel's internals, shared by the files that implement it: the instances (time_travel.cc:
// launching, reusing, watching and destroying the read-only servers, and the public methods),
// what a server says about its tables (time_travel_tables.cc), RestoreTable
// (time_travel_restore.cc) and Diff (time_travel_diff.cc). Separate from time_travel.h, whose
// contract it does not change; internal to src/cluster (only those files include it).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cluster/cluster_error.h"
#include "cluster/cluster_service.h"
#include "cluster/time_travel.h"
#include "common/status.h"
#include "engine/engine.h"
#include "fs/mount.h"
#include "store/store.h"

namespace rwd::cluster {

// ---- Small helpers (time_travel.cc). ----
namespace time_travel_internal {

inline constexpr int64_t kNsPerSec = 1'000'000'000;

int64_t NowNs();
// `ns` since the epoch as ISO 8601 UTC, to the second.
std::string Iso(int64_t ns);
// `n` random lower-case letters and digits.
std::string RandomAlnum(size_t n);
Status InvalidParam(Reason reason, RefusalDetail detail = {});

// ---- What a server says about its tables (time_travel_tables.cc). ----

using TableName = std::pair<std::string, std::string>;  // db, table

// `db`.`table`, quoted for SQL.
std::string Quoted(const TableName& t);
// db.table, as messages show it.
std::string Shown(const TableName& t);

struct TableFacts {
  bool exists = false;
  std::string type;    // BASE TABLE, VIEW, SEQUENCE, ...
  std::string engine;  // InnoDB, Aria, ...
  std::string ddl;     // SHOW CREATE TABLE without AUTO_INCREMENT
};
Result<TableFacts> FactsOf(const engine::MariaDbEngine& e, const TableName& t);

// The base tables outside the system schemas.
Result<std::vector<TableName>> UserTables(const engine::MariaDbEngine& e);

// The lines of batch output (no trailing empty line).
std::vector<std::string> Lines(const std::string& text);

// Writes a [client] option file (0600: it holds the password) for root on `e`'s Unix socket
// (and `database`, if not empty), for the command-line tools (mariadb, mariadb-dump).
Status WriteClientOptions(const std::string& path, const engine::MariaDbEngine& e,
                          const std::string& database);

}  // namespace time_travel_internal

class TimeTravel::Impl {
 public:
  struct Instance {
    TimeTravelView view;
    store::VolumeId volume;         // the ephemeral clone
    store::VolumeId source_volume;  // the cluster's
    store::PointInTime state;       // what it shows (to reuse it for the same state)
    std::string mount_dir, run_dir;
    std::unique_ptr<fs::Mount> mount;
    std::unique_ptr<engine::MariaDbEngine> engine;
    bool hidden = false;            // a short-lived instance of Query or RestoreTable
    bool ready = false;             // serving (guarded by mu_); until then only Launch touches it
    std::mutex use_mu;              // guards reader_password
    std::string reader_password;    // of kReaderUser, once created
  };

  Impl(ClusterService* service, TimeTravelOptions options)
      : service_(service), options_(std::move(options)), store_(service->mutable_store()) {}

  // Stops the monitor, then destroys every instance.
  ~Impl();

  std::string MountDir(const std::string& id) const;
  std::string RunDir(const std::string& id) const;

  // Removes what an earlier rewindd left behind (servers, mounts, volumes, directories).
  void CleanLeftovers();

  void StartMonitor();

  // Every poll: instances whose cluster is gone, whose server died, or idle too long are stopped.
  void Monitor();

  // Kills the server, unmounts, deletes the ephemeral volume and the directories. The server's
  // state is a throw-away copy: no graceful shutdown is needed. The engine and mount objects
  // stay (stopped) until the last holder of the instance lets go: a Query using it meanwhile
  // gets an error from its client, never a dangling engine.
  void Destroy(Instance& inst);

  // A free port for a new instance (reserved until Destroy): not a cluster's, not bound.
  Result<int> TakePort();

  // A new instance (registered, so that shutdown stops it), serving when this returns.
  Result<std::shared_ptr<Instance>> Launch(const CopyOnWriteSource& src, int64_t idle_minutes,
                                           bool hidden);

  // Clones the volume at the source's time, mounts the clone and starts its server.
  Status Bring(Instance& inst, const CopyOnWriteSource& src);

  // A running instance of the cluster showing the same state as (volume, at), if any.
  std::shared_ptr<Instance> Reusable(const CopyOnWriteSource& src);

  // Stops a short-lived instance (Query, RestoreTable) when the work is done.
  struct Lease {
    Impl* impl = nullptr;
    std::shared_ptr<Instance> inst;
    bool owned = false;
    ~Lease();
  };
  Result<std::unique_ptr<Lease>> Acquire(const CopyOnWriteSource& src);

  // The read-only account Query runs as (made on first use; only in the ephemeral copy).
  Result<engine::SqlLogin> Reader(Instance& inst);

  // time_travel_restore.cc.
  Result<RestoreTableReport> RestoreTable(const RestoreTableRequest& req);

  ClusterService* service_;
  TimeTravelOptions options_;
  store::Store* store_;

  std::mutex mu_;  // guards instances_, ports_, stopping_ and the views' last_active_ns
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Instance>> instances_;
  std::set<int> ports_;
  std::thread monitor_;
};

}  // namespace rwd::cluster
