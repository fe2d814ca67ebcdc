#include "engine/tunables.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/engine.h"
#include "engine/sql_text.h"
#include "engine/subprocess.h"

namespace rwd::engine {
namespace {

namespace fs = std::filesystem;

bool IsValueChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ',' || c == ':' || c == '+' || c == '-';
}

bool IsNumber(std::string_view v) {
  size_t i = (!v.empty() && v[0] == '-') ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < v.size(); ++i) {
    if (v[i] >= '0' && v[i] <= '9') {
      digits = true;
    } else if (v[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Result<std::vector<std::string>> ReadLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("the probe wrote no " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Status MakeDir(const std::string& path, const EngineAccount& account) {
  if (::mkdir(path.c_str(), 0700) != 0) return Status::FromErrno(errno, "mkdir " + path);
  if (account.switched && ::chown(path.c_str(), account.uid, account.gid) != 0) {
    return Status::FromErrno(errno, "chown " + path);
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& TunableVariables() {
  // Keep sorted. See the file comment for what may never be added.
  static const std::vector<std::string> kNames = {
      "binlog_format",
      "character_set_server",
      "collation_server",
      "explicit_defaults_for_timestamp",
      "ft_min_word_len",
      "group_concat_max_len",
      "innodb_autoinc_lock_mode",
      "innodb_buffer_pool_size",
      "innodb_ft_min_token_size",
      "innodb_io_capacity",
      "innodb_lock_wait_timeout",
      "innodb_log_buffer_size",
      "innodb_print_all_deadlocks",
      "innodb_sort_buffer_size",
      "interactive_timeout",
      "join_buffer_size",
      "lock_wait_timeout",
      "log_queries_not_using_indexes",
      "log_slow_verbosity",
      "long_query_time",
      "max_allowed_packet",
      "max_connect_errors",
      "max_connections",
      "max_heap_table_size",
      "max_statement_time",
      "min_examined_row_limit",
      "net_read_timeout",
      "net_write_timeout",
      "performance_schema",
      "slow_query_log",
      "sort_buffer_size",
      "sql_mode",
      "table_open_cache",
      "thread_cache_size",
      "time_zone",
      "tmp_table_size",
      "tx_isolation",
      "wait_timeout",
  };
  return kNames;
}

bool IsTunableVariable(std::string_view name) {
  const auto& names = TunableVariables();
  return std::binary_search(names.begin(), names.end(), name);
}

Status CheckTunedSetting(std::string_view name, std::string_view value) {
  if (!IsTunableVariable(name)) {
    return Status::InvalidArgument("'" + std::string(name.substr(0, 64)) +
                                   "' is not a variable the engine lets its owner tune");
  }
  if (value.empty() || value.size() > 1024) {
    return Status::InvalidArgument("the value of " + std::string(name) +
                                   " must be 1 to 1024 characters");
  }
  if (!std::all_of(value.begin(), value.end(), IsValueChar)) {
    return Status::InvalidArgument("the value of " + std::string(name) +
                                   " may hold only letters, digits and _ . , : + -");
  }
  return Status::Ok();
}

std::string ConfigNameOf(std::string_view variable) {
  if (variable == "time_zone") return "default-time-zone";
  if (variable == "tx_isolation") return "transaction-isolation";
  return std::string(variable);
}

std::string SetGlobalSql(std::string_view name, const std::optional<std::string>& value,
                         const std::optional<std::string>& fallback) {
  const std::optional<std::string>& v = value ? value : fallback;
  std::string sql = "SET GLOBAL " + std::string(name) + " = ";
  if (!v) return sql + "DEFAULT";
  return sql + (IsNumber(*v) ? *v : SqlStringLiteral(*v));
}

std::optional<std::string> OwnSettingValue(std::string_view variable,
                                           const std::string& innodb_buffer_pool_size) {
  if (variable == "time_zone") return "+00:00";
  if (variable == "character_set_server") return "utf8mb4";
  if (variable == "collation_server") return "utf8mb4_general_ci";
  if (variable != "innodb_buffer_pool_size" || innodb_buffer_pool_size.empty()) {
    return std::nullopt;
  }
  // "256M" and the like, as my.cnf takes it, in bytes.
  std::string digits = innodb_buffer_pool_size;
  uint64_t scale = 1;
  switch (std::toupper(static_cast<unsigned char>(digits.back()))) {
    case 'K': scale = 1ull << 10; break;
    case 'M': scale = 1ull << 20; break;
    case 'G': scale = 1ull << 30; break;
    case 'T': scale = 1ull << 40; break;
    default: break;
  }
  if (scale != 1) digits.pop_back();
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
    return innodb_buffer_pool_size;
  }
  return std::to_string(std::stoull(digits) * scale);
}

Result<std::vector<SystemVariable>> ProbeSystemVariables(const ProbeOptions& o) {
  if (o.work_dir.empty() || o.work_dir[0] != '/' || o.account == nullptr) {
    return Status::InvalidArgument("ProbeSystemVariables needs an absolute work_dir and an account");
  }
  std::error_code ec;
  fs::remove_all(o.work_dir, ec);
  RETURN_IF_ERROR(MakeDir(o.work_dir, *o.account));
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{o.work_dir};
  const std::string data = o.work_dir + "/data", out = o.work_dir + "/out";
  RETURN_IF_ERROR(MakeDir(data, *o.account));
  RETURN_IF_ERROR(MakeDir(out, *o.account));

  std::string names;
  for (const std::string& n : TunableVariables()) {
    names += (names.empty() ? "" : ",") + SqlStringLiteral(n);
  }
  const std::string sql =
      std::string(kSqlModeForQuotedText) +
      // NULL is written as \N (OUTFILE's default).
      "SELECT LOWER(VARIABLE_NAME), VARIABLE_TYPE, NUMERIC_MIN_VALUE, NUMERIC_MAX_VALUE, "
      "ENUM_VALUE_LIST, READ_ONLY, DEFAULT_VALUE FROM information_schema.SYSTEM_VARIABLES WHERE "
      "LOWER(VARIABLE_NAME) IN (" + names + ") INTO OUTFILE " +
      SqlStringLiteral(out + "/variables.tsv") +
      ";\nSELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS ORDER BY 1 INTO "
      "OUTFILE " + SqlStringLiteral(out + "/charsets.tsv") +
      ";\nSELECT COLLATION_NAME FROM information_schema.COLLATIONS ORDER BY 1 INTO OUTFILE " +
      SqlStringLiteral(out + "/collations.tsv") + ";\n";
  std::vector<std::string> argv = {o.mariadbd_path, "--no-defaults", "--bootstrap",
                                   "--datadir=" + data, "--secure-file-priv=" + out,
                                   "--skip-grant-tables", "--skip-networking",
                                   "--innodb-buffer-pool-size=8M", "--log-error=" + out + "/err",
                                   "--socket=" + o.work_dir + "/s.sock", "--tmpdir=" + out};
  std::optional<RunAs> run_as;
  if (o.account->switched) run_as = RunAs{o.account->uid, o.account->gid};
  ASSIGN_OR_RETURN(ProcessResult ran, RunProcess(argv, sql, o.timeout, 1 << 20, run_as));
  if (!ran.ok()) {
    std::ifstream err(out + "/err");
    std::string log((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
    return Status::IOError("probing the server's variables: mariadbd --bootstrap " +
                           DescribeWaitStatus(ran.wait_status) + ": " + ran.stderr_text + log);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> rows, ReadLines(out + "/variables.tsv"));
  ASSIGN_OR_RETURN(std::vector<std::string> charsets, ReadLines(out + "/charsets.tsv"));
  ASSIGN_OR_RETURN(std::vector<std::string> collations, ReadLines(out + "/collations.tsv"));
  std::vector<SystemVariable> vars;
  for (const std::string& line : rows) {
    std::vector<std::string> c = SplitTsvLine(line);
    if (c.size() != 7) return Status::IOError("the probe wrote a malformed row: " + line);
    SystemVariable v;
    v.name = c[0];
    v.type = c[1];
    auto cell = [&c](size_t i) { return c[i] == "\\N" ? std::string() : c[i]; };
    if (!cell(2).empty()) v.min = c[2];
    if (!cell(3).empty()) v.max = c[3];
    v.allowed = SplitComma(cell(4));
    v.read_only = c[5] == "YES";
    v.default_value = cell(6);
    if (v.name == "character_set_server") v.allowed = charsets;
    if (v.name == "collation_server") v.allowed = collations;
    vars.push_back(std::move(v));
  }
  std::sort(vars.begin(), vars.end(),
            [](const SystemVariable& a, const SystemVariable& b) { return a.name < b.name; });
  for (const std::string& n : TunableVariables()) {
    if (!std::any_of(vars.begin(), vars.end(), [&](const SystemVariable& v) { return v.name == n; })) {
      return Status::IOError("the server has no system variable " + n +
                             " (a MariaDB version Rewind does not know)");
    }
  }
  return vars;
}

}  // namespace rwd::engine
