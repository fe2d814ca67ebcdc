// MariaDB replication between the engines of one cluster (reader instances, issue 16): the
// writer's replication account, a reader following its writer by GTID, and a reader's lag.
// Every statement runs as root through MariaDbEngine::RunSqlAsRoot (passwords only in the
// client's stdin, never on a command line or in a Status).
//
// How a reader starts following: its datadir is a copy-on-write clone of the writer's, taken
// while the writer runs (a crash image). The binary log lives in the datadir (EngineOptions::
// server_id), so the clone carries it; crash recovery's XA pass makes InnoDB and the binlog
// agree, and @@gtid_binlog_pos is then exactly the last transaction the clone holds. Follow sets
// gtid_slave_pos to it and replicates from there (MASTER_USE_GTID=slave_pos): no transaction is
// skipped or applied twice. The replica's settings live in the reader's datadir (master.info,
// relay-log.info, mysql.gtid_slave_pos): a restarted reader resumes replication by itself.
//
// Thread safety: as MariaDbEngine's query methods (any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/engine.h"

namespace rwd::engine {

// Where a reader replicates from.
struct ReplicationSource {
  std::string host;  // numeric address of the writer's mariadbd
  int port = 0;
  std::string user;
  std::string password;
};

// Makes `user`@'%' exist on the (running) server with `password` and only REPLICATION SLAVE,
// without writing the statements to the binary log (sql_log_bin=0: replicas and external
// consumers of the binlog never see the account's password change). Idempotent.
// Failure: InvalidArgument for an empty user or password; RunSql's otherwise.
Status EnsureReplicationAccount(const MariaDbEngine& engine, const std::string& user,
                                const std::string& password);

// On a freshly recovered clone of the writer: STOP SLAVE; gtid_slave_pos = @@gtid_binlog_pos;
// CHANGE MASTER TO the source (MASTER_USE_GTID=slave_pos, retry every second); START SLAVE.
// Success: the replica threads were asked to start (they connect in the background).
// Failure: InvalidArgument for an incomplete source; RunSql's otherwise.
Status FollowSource(const MariaDbEngine& engine, const ReplicationSource& source);

// What SHOW SLAVE STATUS says of a reader.
struct ReplicaState {
  bool io_running = false;      // Slave_IO_Running = Yes
  bool sql_running = false;     // Slave_SQL_Running = Yes
  std::optional<int64_t> seconds_behind;  // Seconds_Behind_Master (NULL: unknown)
  std::string gtid_io_pos;      // Gtid_IO_Pos: the last transaction received
  std::string last_error;       // Last_IO_Error / Last_SQL_Error, if any
};
// NotFound if the server is not a replica (no CHANGE MASTER yet); RunSql's otherwise.
Result<ReplicaState> ReadReplicaState(const MariaDbEngine& engine);

// @@gtid_current_pos of the running server (e.g. "0-1-42"; empty for none). RunSql's failure.
Result<std::string> CurrentGtidPos(const MariaDbEngine& engine);

}  // namespace rwd::engine
