// TimeTravel: the past of a cluster without rewinding it (issue 17).
//
// A time-travel instance is a read-only mariadbd on a cluster's state at a moment T: the
// store clones the cluster's volume at T (copy-on-write: one record, no data copied) into an
// ephemeral volume, which is mounted read-write at <data_dir>/mnt/.asof-<id> and served by a
// mariadbd of its own on 127.0.0.1:<port>, with run dir <data_dir>/run/.asof-<id>. The state at
// T is a crash image: the server's crash recovery writes to the clone only. The server runs with
// read_only=ON and the event scheduler off: the master user (who holds no READ_ONLY ADMIN) can
// read everything and write nothing; the cluster's master credentials work (the clone carries
// its accounts). The live cluster is not touched: its mount, its server and their connections
// go on as before.
//
// Instances are ephemeral and live in memory only (no metadata): each is stopped after its idle
// time (no client connection, as the server's own process list shows, for that many minutes),
// on Stop, when its cluster is no longer there, and when the TimeTravel is destroyed (rewindd's
// shutdown). After a crash of rewindd, Open removes what the last run left (servers started
// with an .asof- run dir's config, .asof- mounts, ~asof~ volumes), so a restart leaves none.
//
// On top of instances: Query (SQL on the state at T, printed as `mysql -B` does) and
// RestoreTable (one table of the live cluster put back as it was at T, while it serves).
//
// Errors: typed refusals as ClusterService's (cluster_error.h): kClusterNotFound,
// kInvalidClusterState, kInvalidParameter (a time outside the window or in the future, an
// unknown table, a bad name; the detail says what to change), plus kTimeTravelNotFound for an
// unknown instance id. A refusal changes nothing.
//
// Thread safety: all methods may be called concurrently. The ClusterService must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_service.h"
#include "common/status.h"

namespace rwd::cluster {

struct TimeTravelOptions {
  std::string data_dir;        // the ClusterService's data_dir
  int first_port = 23306;      // instances listen on the first free port from here
  int64_t poll_ms = 5000;      // how often idleness (and the cluster's existence) is checked
};

struct TimeTravelView {
  std::string id;          // "tt-" + 10 letters or digits
  std::string cluster_id;
  int64_t at_ns = 0;       // the moment it shows
  std::string host;
  int port = 0;
  std::string master_username;
  int64_t started_ns = 0;
  int64_t idle_minutes = 0;
  int64_t last_active_ns = 0;  // the last poll that saw a client connection (or the start)
  double ready_seconds = 0;    // from the request to serving
};

struct RestoreTableRequest {
  std::string cluster_id;
  std::string table;  // "db.table"
  int64_t to_ns = 0;
  bool with_related = false;  // also restore the tables bound to it by foreign keys
  bool dry_run = false;       // check everything and say how (the lock), change nothing
};
struct RestoreTableReport {
  std::vector<std::string> tables;  // restored, "db.table"
  std::string method;               // how, and the lock it takes (dry_run says it up front)
  std::vector<std::string> created; // tables that did not exist live and came back
  int64_t rows = 0;                 // rows in the restored tables afterwards
};

class TimeTravel {
 public:
  // Removes what an earlier run left (see the file comment). `service` is not owned.
  static Result<std::unique_ptr<TimeTravel>> Open(ClusterService* service,
                                                  const TimeTravelOptions& options);
  // Stops every instance (kills its server, unmounts, deletes its volume).
  ~TimeTravel();

  // A new instance of `cluster_id` at `at_ns` (unset: now), serving when this returns.
  // idle_minutes: 1..1440. Failure: see the file comment; Unavailable if no port is free or the
  // server does not come up (nothing is left behind).
  Result<TimeTravelView> Start(const std::string& cluster_id, std::optional<int64_t> at_ns,
                               int64_t idle_minutes);
  // The running instances of the cluster (kClusterNotFound for an unknown cluster).
  Result<std::vector<TimeTravelView>> List(const std::string& cluster_id);
  // Stops one instance (id) or all of the cluster's; returns the stopped ones.
  Result<std::vector<TimeTravelView>> Stop(const std::string& cluster_id,
                                           std::optional<std::string> id);

  // Runs `sql` on the cluster's state at `at_ns` as a read-only account (SELECT, SHOW VIEW,
  // SHOW DATABASES, EXECUTE) and returns what `mysql -B` prints (column names first), at most
  // 16 MiB. Uses a running instance showing the same state, else a short-lived one.
  // `database`: the default database (empty: the cluster's DatabaseName).
  // Failure: as Start; kInvalidParameter with the server's error for a failing statement.
  Result<std::string> Query(const std::string& cluster_id, std::optional<int64_t> at_ns,
                            const std::string& sql, const std::string& database);

  // Puts one table of the live cluster back as it was at to_ns (see RestoreTableReport and
  // README "One table back, live"). Failure: kInvalidParameter for a bad name, a table
  // that existed neither at to_ns nor now, or a table bound by foreign keys without
  // with_related (naming them); kInvalidClusterState if the cluster's server is down.
  // Recorded as an event of the cluster.
  Result<RestoreTableReport> RestoreTable(const RestoreTableRequest& request);

  // The base tables outside the system schemas in the cluster's state at `at_ns`, "db.table",
  // sorted (what RestoreTable can take back to then). Failure: as Query.
  Result<std::vector<std::string>> Tables(const std::string& cluster_id, int64_t at_ns);

  // What changed in the cluster's tables from t1 to t2 (diff/row_diff.h): per table, its schema
  // change and its row changes by primary key (by whole rows without one), rendered as
  // `format` ("table", "json", "sql": the undo, statements that applied to the state at t2 give
  // the state at t1). `table` ("DB.TABLE"; empty: every table outside the system schemas).
  // Computed on two time-travel instances (running ones showing the same states are reused,
  // otherwise short-lived ones), never on the live cluster's files; each table streams from
  // both in key order through a merge (memory: two rows): a table with an unchanged definition
  // and a primary key as (key, row MD5) pairs, the rows whose hash differs then fetched in
  // batches of 5000 keys (diff::DiffByHash); any other table as whole rows. The rendering is
  // bounded at kMaxDiffBytes. Failure: as Query; kInvalidParameter for an unknown table, a bad format,
  // or a rendering over kMaxDiffBytes (narrow it with a table or a shorter interval). Format
// "summary" gives each changed table's schema change and row counts only (a size independent
// of the rows: what the web console's preview shows).
  static constexpr size_t kMaxDiffBytes = 64 << 20;
  Result<std::string> Diff(const std::string& cluster_id, int64_t t1_ns, int64_t t2_ns,
                           const std::string& table, const std::string& format);

  class Impl;

 private:
  explicit TimeTravel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "db.table" (each part a MySQL identifier, optionally `quoted`, at most 64 characters) →
// {db, table}. Failure: kInvalidParameter saying what is wrong. Pure; for tests.
Result<std::pair<std::string, std::string>> ParseTableName(const std::string& text);

}  // namespace rwd::cluster
