// What a server says about its tables, for RestoreTable and Diff (and TimeTravel::Tables):
// their facts and definitions from information_schema and SHOW CREATE TABLE, the user's base
// tables, and the client option files the command-line tools use to reach a server as root.
// Separate because both features read servers the same way; nothing here starts or stops an
// instance.
#include "cluster/time_travel_internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "diff/row_diff.h"
#include "engine/sql_text.h"

namespace rwd::cluster::time_travel_internal {
namespace {

// Writes a 0600 file (a client option file holding a password).
Status WritePrivateFile(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating " + path);
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!ok) return Status::FromErrno(errno, "writing " + path);
  return Status::Ok();
}

// A [client] option value, quoted as option files read it.
std::string OptionValue(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// A SHOW CREATE TABLE statement without its AUTO_INCREMENT counter (which moves with inserts
// and says nothing about the definition).
std::string WithoutAutoIncrement(std::string ddl) {
  size_t at = ddl.find(" AUTO_INCREMENT=");
  if (at != std::string::npos) {
    size_t end = ddl.find_first_of(" \n", at + 1);
    ddl.erase(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return ddl;
}

}  // namespace

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string Quoted(const TableName& t) {
  return engine::SqlIdentifier(t.first) + "." + engine::SqlIdentifier(t.second);
}
std::string Shown(const TableName& t) { return t.first + "." + t.second; }

Result<TableFacts> FactsOf(const engine::MariaDbEngine& e, const TableName& t) {
  TableFacts f;
  ASSIGN_OR_RETURN(std::string out,
                   e.RunSqlAsRoot("SELECT TABLE_TYPE, IFNULL(ENGINE, '') FROM "
                                  "information_schema.TABLES WHERE TABLE_SCHEMA = " +
                                  engine::SqlStringLiteral(t.first) + " AND TABLE_NAME = " +
                                  engine::SqlStringLiteral(t.second)));
  std::vector<std::string> lines = Lines(out);
  if (lines.empty()) return f;
  f.exists = true;
  const size_t tab = lines[0].find('\t');
  f.type = lines[0].substr(0, tab);
  f.engine = tab == std::string::npos ? "" : lines[0].substr(tab + 1);
  if (f.type != "BASE TABLE") return f;
  ASSIGN_OR_RETURN(std::string ddl, e.RunSqlAsRoot("SHOW CREATE TABLE " + Quoted(t)));
  // "name\tCREATE TABLE ..." with newlines escaped as \n by batch mode.
  const size_t at = ddl.find('\t');
  f.ddl = WithoutAutoIncrement(at == std::string::npos ? ddl : ddl.substr(at + 1));
  return f;
}

Status WriteClientOptions(const std::string& path, const engine::MariaDbEngine& e,
                          const std::string& database) {
  ASSIGN_OR_RETURN(std::string password, e.RootPassword());
  std::string text = "[client]\nuser=root\npassword=" + OptionValue(password) +
                     "\nprotocol=SOCKET\nsocket=" + OptionValue(e.options().socket_path) +
                     "\ndefault-character-set=utf8mb4\n";
  if (!database.empty()) text += "database=" + OptionValue(database) + "\n";
  return WritePrivateFile(path, text);
}

Result<std::vector<TableName>> UserTables(const engine::MariaDbEngine& e) {
  ASSIGN_OR_RETURN(std::string out,
                   e.RunSqlAsRoot("SELECT HEX(TABLE_SCHEMA), HEX(TABLE_NAME) FROM "
                                  "information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND "
                                  "TABLE_SCHEMA NOT IN ('mysql', 'information_schema', "
                                  "'performance_schema', 'sys')"));
  const std::vector<diff::Column> two = {{"db", diff::ColumnKind::kText, false},
                                         {"t", diff::ColumnKind::kText, false}};
  std::vector<TableName> tables;
  for (const std::string& line : Lines(out)) {
    ASSIGN_OR_RETURN(diff::Row r, diff::ParseBatchLine(line, two));
    if (r[0] && r[1]) tables.emplace_back(*r[0], *r[1]);
  }
  return tables;
}

}  // namespace rwd::cluster::time_travel_internal
