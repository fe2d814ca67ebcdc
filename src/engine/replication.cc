#include "engine/replication.h"

#include <charconv>
#include <map>
#include <sstream>
#include <vector>

#include "engine/sql_text.h"

namespace rwd::engine {

Status EnsureReplicationAccount(const MariaDbEngine& engine, const std::string& user,
                                const std::string& password) {
  if (user.empty() || password.empty()) {
    return Status::InvalidArgument("the replication account needs a user and a password");
  }
  const std::string account = SqlAccount(user, "%");
  std::string script(kSqlModeForQuotedText);
  script += "SET SESSION sql_log_bin = 0;\n";
  script += "CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY " +
            SqlStringLiteral(password) + ";\n";
  // The account may come back from a backtrack or clone with an older password.
  script += "ALTER USER " + account + " IDENTIFIED BY " + SqlStringLiteral(password) + ";\n";
  script += "REVOKE ALL PRIVILEGES, GRANT OPTION FROM " + account + ";\n";
  script += "GRANT REPLICATION SLAVE ON *.* TO " + account + ";\n";
  ASSIGN_OR_RETURN(std::string ignored, engine.RunSqlAsRoot(script));
  (void)ignored;  // statements without result rows
  return Status::Ok();
}

Status FollowSource(const MariaDbEngine& engine, const ReplicationSource& source) {
  if (source.host.empty() || source.port <= 0 || source.user.empty() || source.password.empty()) {
    return Status::InvalidArgument("a replication source needs host, port, user and password");
  }
  std::string script(kSqlModeForQuotedText);
  script += "STOP SLAVE;\n";
  script += "RESET SLAVE ALL;\n";
  // The clone's binlog (recovered with InnoDB) ends at the last transaction it holds.
  script += "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos;\n";
  script += "CHANGE MASTER TO MASTER_HOST = " + SqlStringLiteral(source.host) +
            ", MASTER_PORT = " + std::to_string(source.port) +
            ", MASTER_USER = " + SqlStringLiteral(source.user) +
            ", MASTER_PASSWORD = " + SqlStringLiteral(source.password) +
            ", MASTER_CONNECT_RETRY = 1, MASTER_USE_GTID = slave_pos;\n";
  script += "START SLAVE;\n";
  ASSIGN_OR_RETURN(std::string ignored, engine.RunSqlAsRoot(script));
  (void)ignored;  // statements without result rows
  return Status::Ok();
}

Result<ReplicaState> ReadReplicaState(const MariaDbEngine& engine) {
  SqlRunOptions ro;
  ro.column_names = true;
  ASSIGN_OR_RETURN(std::string out, engine.RunSqlAsRoot("SHOW SLAVE STATUS", ro));
  std::istringstream in(out);
  std::string header, values;
  std::getline(in, header);
  if (!std::getline(in, values)) return Status::NotFound("the server is not a replica");
  std::vector<std::string> names = SplitTsvLine(header), cells = SplitTsvLine(values);
  std::map<std::string, std::string> row;
  for (size_t i = 0; i < names.size() && i < cells.size(); ++i) row[names[i]] = cells[i];
  ReplicaState st;
  st.io_running = row["Slave_IO_Running"] == "Yes";
  st.sql_running = row["Slave_SQL_Running"] == "Yes";
  const std::string& behind = row["Seconds_Behind_Master"];
  if (!behind.empty() && behind != "NULL") {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(behind.data(), behind.data() + behind.size(), v);
    if (ec == std::errc() && end == behind.data() + behind.size()) st.seconds_behind = v;
  }
  st.gtid_io_pos = row["Gtid_IO_Pos"];
  st.last_error = !row["Last_SQL_Error"].empty() ? row["Last_SQL_Error"] : row["Last_IO_Error"];
  return st;
}

Result<std::string> CurrentGtidPos(const MariaDbEngine& engine) {
  ASSIGN_OR_RETURN(std::string out, engine.RunSqlAsRoot("SELECT @@GLOBAL.gtid_current_pos"));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace rwd::engine
