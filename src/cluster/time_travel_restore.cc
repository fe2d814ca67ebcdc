// TimeTravel::Impl::RestoreTable: one table of the live cluster (and with_related, the
// tables bound to it by foreign keys) put back as it was at a moment, while the cluster
// serves: its rows read from a time-travel instance with mariadb-dump, loaded into a staging
// database of the live server, then swapped in by one transaction or one RENAME TABLE.
// Separate: the only code of TimeTravel that writes to a live cluster.
#include "cluster/time_travel_internal.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "engine/sql_text.h"
#include "engine/subprocess.h"

namespace rwd::cluster {

using time_travel_internal::FactsOf;
using time_travel_internal::InvalidParam;
using time_travel_internal::Iso;
using time_travel_internal::Lines;
using time_travel_internal::Quoted;
using time_travel_internal::RandomAlnum;
using time_travel_internal::Shown;
using time_travel_internal::TableFacts;
using time_travel_internal::TableName;
using time_travel_internal::WriteClientOptions;

namespace {

// The foreign keys touching `t` (either side) on one server: {other table, constraint name}.
Result<std::vector<std::pair<TableName, std::string>>> ForeignKeysOf(
    const engine::MariaDbEngine& e, const TableName& t) {
  const std::string db = engine::SqlStringLiteral(t.first);
  const std::string name = engine::SqlStringLiteral(t.second);
  ASSIGN_OR_RETURN(std::string out,
                   e.RunSqlAsRoot(
                       "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, "
                       "REFERENCED_TABLE_NAME, CONSTRAINT_NAME FROM "
                       "information_schema.REFERENTIAL_CONSTRAINTS WHERE (CONSTRAINT_SCHEMA = " +
                       db + " AND TABLE_NAME = " + name + ") OR (UNIQUE_CONSTRAINT_SCHEMA = " + db +
                       " AND REFERENCED_TABLE_NAME = " + name + ")"));
  std::vector<std::pair<TableName, std::string>> keys;
  for (const std::string& line : Lines(out)) {
    std::vector<std::string> f;
    std::istringstream in(line);
    std::string field;
    while (std::getline(in, field, '\t')) f.push_back(field);
    if (f.size() != 5) continue;
    TableName child{f[0], f[1]}, parent{f[2], f[3]};
    const TableName& other = child == t ? parent : child;
    if (other != t) keys.emplace_back(other, f[4]);
  }
  return keys;
}

// Runs `producer | consumer` (stderr of each to a file in `dir`, quoted in a failure).
Status RunPipeline(const std::vector<std::string>& producer,
                   const std::vector<std::string>& consumer, const std::string& dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  const std::string err_a = dir + "/restore-dump.err", err_b = dir + "/restore-load.err";
  int ea = ::open(err_a.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int eb = ::open(err_b.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto close_all = [&] {
    for (int fd : {fds[0], fds[1], ea, eb}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (ea < 0 || eb < 0) {
    close_all();
    return Status::IOError("cannot create the restore's log files in " + dir);
  }
  engine::SpawnRequest a;
  a.argv = producer;
  a.stdout_fd = fds[1];
  a.stderr_fd = ea;
  a.new_process_group = true;
  engine::SpawnRequest b;
  b.argv = consumer;
  b.stdin_fd = fds[0];
  b.stderr_fd = eb;
  b.new_process_group = true;
  Result<pid_t> pa = engine::Spawn(a);
  Result<pid_t> pb = pa.ok() ? engine::Spawn(b) : Result<pid_t>(pa.status());
  close_all();
  int sa = 0, sb = 0;
  if (pa.ok()) ::waitpid(*pa, &sa, 0);
  if (pb.ok()) ::waitpid(*pb, &sb, 0);
  if (!pa.ok()) return pa.status();
  if (!pb.ok()) return pb.status();
  auto tail = [](const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 1500 ? text.substr(text.size() - 1500) : text;
  };
  if (!WIFEXITED(sb) || WEXITSTATUS(sb) != 0) {
    return Status::IOError("loading the table's past rows " + engine::DescribeWaitStatus(sb) +
                           ": " + tail(err_b));
  }
  if (!WIFEXITED(sa) || WEXITSTATUS(sa) != 0) {
    return Status::IOError("reading the table's past rows " + engine::DescribeWaitStatus(sa) +
                           ": " + tail(err_a));
  }
  return Status::Ok();
}

}  // namespace

Result<RestoreTableReport> TimeTravel::Impl::RestoreTable(const RestoreTableRequest& req) {
  ASSIGN_OR_RETURN(TableName target, ParseTableName(req.table));
  ASSIGN_OR_RETURN(CopyOnWriteSource src, service_->CopyOnWriteSourceOf(req.cluster_id, req.to_ns));
  if (!src.writer_running) {
    return Refuse(ClusterError::kInvalidClusterState, Reason::kRestoreNeedsWriter,
                  {.id = src.cluster_id});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<engine::MariaDbEngine> live,
                   engine::MariaDbEngine::Create(src.engine));
  ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease, Acquire(src));
  const engine::MariaDbEngine& past = *lease->inst->engine;
  const std::string when = Iso(src.at_ns);

  // The tables to restore: the target, and with_related, every table bound to it by foreign
  // keys (at the time or now), transitively.
  std::vector<TableName> tables = {target};
  std::map<TableName, std::pair<TableFacts, TableFacts>> facts;  // past, live
  std::vector<RefusalItem> bonds;
  for (size_t i = 0; i < tables.size(); ++i) {
    const TableName t = tables[i];
    ASSIGN_OR_RETURN(TableFacts then, FactsOf(past, t));
    ASSIGN_OR_RETURN(TableFacts now, FactsOf(*live, t));
    if (!then.exists) {
      if (t == target) {
        return InvalidParam(now.exists ? Reason::kTableDidNotExist : Reason::kTableUnknown,
                            {.field = Field::kTable, .id = Shown(t), .time_ns = src.at_ns});
      }
      return InvalidParam(Reason::kBoundTableDidNotExist, {.field = Field::kTable, .id = Shown(t),
                                                           .other = Shown(target),
                                                           .time_ns = src.at_ns});
    }
    if (then.type != "BASE TABLE") {
      return InvalidParam(Reason::kNotBaseTable, {.field = Field::kTable, .id = Shown(t),
                                                  .state = then.type, .time_ns = src.at_ns});
    }
    facts[t] = {then, now};
    ASSIGN_OR_RETURN(auto keys_then, ForeignKeysOf(past, t));
    ASSIGN_OR_RETURN(auto keys_now, ForeignKeysOf(*live, t));
    keys_then.insert(keys_then.end(), keys_now.begin(), keys_now.end());
    for (const auto& [other, constraint] : keys_then) {
      const RefusalItem bond{.reason = Reason::kTableBound, .name = Shown(other), .other = constraint};
      if (std::find_if(bonds.begin(), bonds.end(), [&](const RefusalItem& b) {
            return b.name == bond.name && b.other == bond.other;
          }) == bonds.end()) {
        bonds.push_back(bond);
      }
      if (std::find(tables.begin(), tables.end(), other) == tables.end()) tables.push_back(other);
    }
    if (tables.size() > 64) {
      return InvalidParam(Reason::kTooManyBoundTables,
                          {.field = Field::kTable, .id = Shown(target), .number = 64});
    }
  }
  if (tables.size() > 1 && !req.with_related) {
    return InvalidParam(Reason::kTableBound,
                        {.field = Field::kTable, .id = Shown(target), .items = std::move(bonds)});
  }

  RestoreTableReport report;
  for (const TableName& t : tables) report.tables.push_back(Shown(t));
  // In one transaction when every table exists now with the definition it had, in InnoDB;
  // otherwise (one table only) loaded beside it and swapped in by one RENAME TABLE.
  bool transactional = true;
  for (const TableName& t : tables) {
    const auto& [then, now] = facts[t];
    if (!now.exists || now.ddl != then.ddl || then.engine != "InnoDB" || now.engine != "InnoDB") {
      transactional = false;
    }
  }
  if (!transactional && tables.size() > 1) {
    return InvalidParam(Reason::kBoundTablesDiffer,
                        {.field = Field::kTable, .id = Shown(target), .time_ns = src.at_ns});
  }
  const TableFacts& live_target = facts[target].second;
  if (transactional) {
    std::string names;
    for (const std::string& t : report.tables) names += (names.empty() ? "" : ", ") + t;
    report.method = "one transaction (DELETE then INSERT of the rows at " + when +
                    "): row locks on every row of " + names +
                    " until it commits; readers see the old rows until then, other tables are "
                    "not touched";
  } else {
    if (!live_target.exists) report.created.push_back(Shown(target));
    report.method = std::string(live_target.exists ? "the definition changed since then" :
                                                     "the table does not exist now") +
                    ": loaded into a staging table, then one atomic RENAME TABLE: a brief "
                    "exclusive metadata lock on " + Shown(target) +
                    " (queries of it wait for running ones to finish)";
  }
  if (req.dry_run) return report;

  // Stage the rows (and definitions) of the time in a database of their own on the live server.
  const std::string stage = "_rewind_restore_" + RandomAlnum(8);
  ASSIGN_OR_RETURN(std::string created, live->RunSqlAsRoot("CREATE DATABASE " + engine::SqlIdentifier(stage)));
  (void)created;
  auto drop_stage = [&] {
    (void)live->RunSqlAsRoot("DROP DATABASE IF EXISTS " + engine::SqlIdentifier(stage));
  };
  Status s = [&]() -> Status {
    const std::string dir = lease->inst->run_dir;
    const std::string dump_cnf = dir + "/client-dump.cnf", load_cnf = dir + "/client-load.cnf";
    RETURN_IF_ERROR(WriteClientOptions(dump_cnf, past, ""));
    RETURN_IF_ERROR(WriteClientOptions(load_cnf, *live, stage));
    // One dump per database (a dump names tables of one database).
    std::map<std::string, std::vector<std::string>> by_db;
    for (const TableName& t : tables) by_db[t.first].push_back(t.second);
    Status moved;
    for (const auto& [db, names] : by_db) {
      if (by_db.size() > 1) {
        moved = Status::InvalidArgument("tables of several databases");
        break;
      }
      std::vector<std::string> dump = {"/usr/bin/mariadb-dump", "--defaults-file=" + dump_cnf,
                                       "--single-transaction", "--skip-triggers",
                                       "--no-tablespaces", "--skip-add-locks",
                                       "--skip-add-drop-table", "--hex-blob", "--skip-comments",
                                       "--", db};
      dump.insert(dump.end(), names.begin(), names.end());
      moved = RunPipeline(dump, {src.engine.client_path, "--defaults-file=" + load_cnf, "--batch"},
                          dir);
    }
    std::error_code ec;
    std::filesystem::remove(dump_cnf, ec);
    std::filesystem::remove(load_cnf, ec);
    if (!moved.ok() && moved.code() == Status::Code::kInvalidArgument) {
      return InvalidParam(Reason::kBoundTablesSpanDatabases, {.field = Field::kTable, .id = Shown(target)});
    }
    RETURN_IF_ERROR(moved);
    std::string script;
    if (transactional) {
      if (tables.size() > 1) script += "SET SESSION foreign_key_checks = 0;\n";
      script += "START TRANSACTION;\n";
      for (const TableName& t : tables) {
        ASSIGN_OR_RETURN(std::string cols,
                         live->RunSqlAsRoot(
                             "SELECT GROUP_CONCAT(CONCAT('`', REPLACE(COLUMN_NAME, '`', '``'), "
                             "'`') ORDER BY ORDINAL_POSITION SEPARATOR ', ') FROM "
                             "information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
                             engine::SqlStringLiteral(t.first) + " AND TABLE_NAME = " +
                             engine::SqlStringLiteral(t.second) +
                             " AND GENERATION_EXPRESSION IS NULL"));
        while (!cols.empty() && cols.back() == '\n') cols.pop_back();
        script += "DELETE FROM " + Quoted(t) + ";\nINSERT INTO " + Quoted(t) + " (" + cols +
                  ") SELECT " + cols + " FROM " + Quoted({stage, t.second}) + ";\n";
      }
      script += "COMMIT;\n";
    } else if (live_target.exists) {
      script = "RENAME TABLE " + Quoted(target) + " TO " + Quoted({stage, target.second + "~old"}) +
               ", " + Quoted({stage, target.second}) + " TO " + Quoted(target) + ";\n";
    } else {
      script = "CREATE DATABASE IF NOT EXISTS " + engine::SqlIdentifier(target.first) +
               ";\nRENAME TABLE " + Quoted({stage, target.second}) + " TO " + Quoted(target) +
               ";\n";
    }
    ASSIGN_OR_RETURN(std::string done, live->RunSqlAsRoot(script));
    (void)done;
    return Status::Ok();
  }();
  drop_stage();
  if (!s.ok()) {
    return s.WithContext("restoring " + Shown(target) + " to " + when +
                         " (the live table is unchanged)");
  }
  for (const TableName& t : tables) {
    auto n = live->RunSqlAsRoot("SELECT COUNT(*) FROM " + Quoted(t));
    if (n.ok()) report.rows += std::atoll(n->c_str());
  }
  std::string names;
  for (const std::string& t : report.tables) names += (names.empty() ? "" : ", ") + t;
  service_->RecordClusterEvent(src.cluster_id, EventKind::kTableRestored,
                               names + " restored to its state at " + when + " by " +
                                   (transactional ? "one transaction" : "a RENAME TABLE swap"));
  return report;
}

}  // namespace rwd::cluster
