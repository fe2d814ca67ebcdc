// Input rules shared with the API layer (cluster_service.h) and the service's own.
#include <cctype>
#include <set>

#include "cluster/service_impl.h"

namespace rwd::cluster {
namespace {

// Names Aurora MySQL keeps for itself, and the reserved words of MySQL 8.0 and MariaDB 10/11
// (lower case): Aurora refuses them as MasterUsername.
const std::set<std::string>& ReservedUserNames() {
  static const std::set<std::string> kNames = {
      "root", "mysql", "mariadb.sys", "rdsadmin", "rdsrepladmin", "rdsproxyadmin", "public",
      "accessible", "add", "all", "alter", "analyze", "and", "as", "asc", "asensitive", "before",
      "between", "bigint", "binary", "blob", "both", "by", "call", "cascade", "case", "change",
      "char", "character", "check", "collate", "column", "condition", "constraint", "continue",
      "convert", "create", "cross", "cube", "cume_dist", "current_date", "current_role",
      "current_time", "current_timestamp", "current_user", "cursor", "database", "databases",
      "day_hour", "day_microsecond", "day_minute", "day_second", "dec", "decimal", "declare",
      "default", "delayed", "delete", "delete_domain_id", "dense_rank", "desc", "describe",
      "deterministic", "distinct", "distinctrow", "div", "do_domain_ids", "double", "drop",
      "dual", "each", "else", "elseif", "empty", "enclosed", "escaped", "except", "exists",
      "exit", "explain", "false", "fetch", "first_value", "float", "float4", "float8", "for",
      "force", "foreign", "from", "fulltext", "function", "general", "generated", "get", "grant",
      "group", "grouping", "groups", "having", "high_priority", "hour_microsecond",
      "hour_minute", "hour_second", "if", "ignore", "ignore_domain_ids", "ignore_server_ids",
      "in", "index", "infile", "inner", "inout", "insensitive", "insert", "int", "int1", "int2",
      "int3", "int4", "int8", "integer", "intersect", "interval", "into", "io_after_gtids",
      "io_before_gtids", "is", "iterate", "join", "json_table", "key", "keys", "kill", "lag",
      "last_value", "lateral", "lead", "leading", "leave", "left", "like", "limit", "linear",
      "lines", "load", "localtime", "localtimestamp", "lock", "long", "longblob", "longtext",
      "loop", "low_priority", "master_bind", "master_heartbeat_period",
      "master_ssl_verify_server_cert", "match", "maxvalue", "mediumblob", "mediumint",
      "mediumtext", "middleint", "minute_microsecond", "minute_second", "mod", "modifies",
      "natural", "not", "no_write_to_binlog", "nth_value", "ntile", "null", "numeric", "of",
      "offset", "on", "optimize", "optimizer_costs", "option", "optionally", "or", "order",
      "out", "outer", "outfile", "over", "page_checksum", "parse_vcol_expr", "partition",
      "percent_rank", "position", "precision", "primary", "procedure", "purge", "range", "rank",
      "read", "reads", "read_write", "real", "recursive", "ref_system_id", "references",
      "regexp", "release", "rename", "repeat", "replace", "require", "resignal", "restrict",
      "return", "returning", "revoke", "right", "rlike", "row", "row_number", "rows", "schema",
      "schemas", "second_microsecond", "select", "sensitive", "separator", "set", "show",
      "signal", "slow", "smallint", "spatial", "specific", "sql", "sqlexception", "sqlstate",
      "sqlwarning", "sql_big_result", "sql_calc_found_rows", "sql_small_result", "ssl",
      "starting", "stats_auto_recalc", "stats_persistent", "stats_sample_pages", "stored",
      "straight_join", "system", "table", "terminated", "then", "tinyblob", "tinyint",
      "tinytext", "to", "trailing", "trigger", "true", "undo", "union", "unique", "unlock",
      "unsigned", "update", "usage", "use", "using", "utc_date", "utc_time", "utc_timestamp",
      "values", "varbinary", "varchar", "varcharacter", "varying", "virtual", "when", "where",
      "while", "window", "with", "write", "xor", "year_month", "zerofill"};
  return kNames;
}

}  // namespace

// RDS identifier rules: 1-63 letters, digits or hyphens; first a letter; no trailing hyphen or
// two consecutive hyphens.
Status ValidateIdentifier(const std::string& id, Field field) {
  bool ok = !id.empty() && id.size() <= 63 && std::isalpha(static_cast<unsigned char>(id[0])) &&
            id.back() != '-' && id.find("--") == std::string::npos;
  for (char c : id) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
  if (ok) return Status::Ok();
  return InvalidParam(Reason::kIdentifierInvalid, {.field = field, .input = BoundedInput(id)});
}


std::string BoundedInput(std::string_view value, size_t max) {
  if (value.size() <= max) return std::string(value);
  size_t cut = max;
  // Do not split a UTF-8 sequence: back up to the start of the character.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return std::string(value.substr(0, cut)) + "...";
}

Status ValidateTags(const std::vector<TagView>& tags) {
  if (tags.size() > kMaxTagsPerResource) {
    return InvalidParam(Reason::kTooManyTags,
                        {.field = Field::kTags, .number = static_cast<int64_t>(kMaxTagsPerResource),
                         .number2 = static_cast<int64_t>(tags.size())});
  }
  auto allowed = [](const std::string& s) {
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x80 || std::isalnum(c) || std::isspace(c)) continue;
      if (std::string_view("_.:/=+-@").find(ch) == std::string_view::npos) return false;
    }
    return true;
  };
  for (const TagView& t : tags) {
    if (t.key.empty() || t.key.size() > 128) {
      return InvalidParam(Reason::kTagKeyLength, {.field = Field::kTags, .input = BoundedInput(t.key)});
    }
    if (Lower(t.key.substr(0, 4)) == "aws:" || Lower(t.key.substr(0, 4)) == "rds:") {
      return InvalidParam(Reason::kTagKeyReserved, {.field = Field::kTags, .input = BoundedInput(t.key)});
    }
    if (t.value.size() > 256) {
      return InvalidParam(Reason::kTagValueLength, {.field = Field::kTags, .input = BoundedInput(t.key)});
    }
    if (!allowed(t.key) || !allowed(t.value)) {
      return InvalidParam(Reason::kTagCharacters, {.field = Field::kTags, .input = BoundedInput(t.key)});
    }
  }
  return Status::Ok();
}

std::vector<TagView> MergeTags(std::vector<TagView> current, const std::vector<TagView>& added) {
  for (const TagView& t : added) {
    auto it = std::find_if(current.begin(), current.end(),
                           [&](const TagView& c) { return c.key == t.key; });
    if (it != current.end()) {
      it->value = t.value;
    } else {
      current.push_back(t);
    }
  }
  return current;
}

Status ValidateMasterUsername(const std::string& name) {
  if (name.empty()) {
    return InvalidParam(Reason::kMasterUsernameMissing, {.field = Field::kMasterUsername});
  }
  if (name.size() > 16 || !std::isalpha(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
    if (ReservedUserNames().count(Lower(name))) {  // e.g. mariadb.sys
      return InvalidParam(Reason::kMasterUsernameReserved,
                          {.field = Field::kMasterUsername, .input = BoundedInput(name)});
    }
    return InvalidParam(Reason::kMasterUsernameInvalid,
                        {.field = Field::kMasterUsername, .input = BoundedInput(name)});
  }
  if (ReservedUserNames().count(Lower(name))) {
    return InvalidParam(Reason::kMasterUsernameReserved,
                        {.field = Field::kMasterUsername, .input = BoundedInput(name)});
  }
  return Status::Ok();
}

Status ValidateMasterPassword(const std::string& pw) {
  if (pw.size() < 8 || pw.size() > 41) {
    return InvalidParam(Reason::kPasswordLength, {.field = Field::kMasterPassword});
  }
  for (char c : pw) {
    if (c < 33 || c > 126 || c == '/' || c == '"' || c == '@') {
      return InvalidParam(Reason::kPasswordCharacters, {.field = Field::kMasterPassword});
    }
  }
  return Status::Ok();
}


}  // namespace rwd::cluster

namespace rwd::cluster {

std::string ModifyChangeText(std::optional<int64_t> window_s, std::optional<bool> protection) {
  std::string text;
  if (window_s) text = "window=" + std::to_string(*window_s);
  if (protection) {
    text += std::string(text.empty() ? "" : ",") + "protection=" + (*protection ? "1" : "0");
  }
  return text;
}

Status ParseModifyChangeText(const std::string& text, std::optional<int64_t>* window_s,
                             std::optional<bool>* protection) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(at, end - at);
    if (part.rfind("window=", 0) == 0 && part.size() > 7 &&
        part.find_first_not_of("0123456789", 7) == std::string::npos) {
      *window_s = std::stoll(part.substr(7));
    } else if (part == "protection=0" || part == "protection=1") {
      *protection = part.back() == '1';
    } else {
      return Status::Corruption("a modify's journaled change is unreadable: '" + text + "'");
    }
    at = end + 1;
  }
  return Status::Ok();
}

void ApplyModifyChange(std::optional<int64_t> window_s, std::optional<bool> protection,
                       ClusterRow* row) {
  if (window_s) {
    row->backtrack_window_s = *window_s;
    if (row->backtrack_window_s == 0) row->backtrack_disabled_for_good = true;
  }
  if (protection) row->deletion_protection = *protection;
}

}  // namespace rwd::cluster
