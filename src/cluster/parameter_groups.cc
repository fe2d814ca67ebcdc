#include "cluster/parameter_groups.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "cluster/cluster_error.h"
#include "cluster/cluster_service.h"

namespace rwd::cluster {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Whole numbers as the engine bounds them (up to 2^64-1, or down to -2^63).
std::optional<__int128> ParseInteger(const std::string& v) {
  if (v.empty() || v.size() > 21) return std::nullopt;
  size_t i = v[0] == '-' ? 1 : 0;
  if (i == v.size()) return std::nullopt;
  __int128 n = 0;
  for (; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return std::nullopt;
    n = n * 10 + (v[i] - '0');
  }
  return v[0] == '-' ? -n : n;
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Variables that size a memory allocation (capped by the host's memory).
bool SizesMemory(const std::string& name) {
  static const std::set<std::string> kNames = {"innodb_buffer_pool_size", "join_buffer_size",
                                               "max_heap_table_size", "sort_buffer_size",
                                               "tmp_table_size"};
  return kNames.count(name) > 0;
}

const char* Describe(const std::string& name) {
  static const std::map<std::string, const char*> kText = {
      {"binlog_format", "Binary logging format (when the binary log is on)."},
      {"character_set_server", "The server's default character set."},
      {"collation_server", "The server's default collation."},
      {"innodb_buffer_pool_size", "Bytes of memory InnoDB caches data and indexes in."},
      {"innodb_lock_wait_timeout", "Seconds a transaction waits for a row lock."},
      {"innodb_log_buffer_size", "Bytes of InnoDB's redo log buffer (static)."},
      {"long_query_time", "Seconds after which a query counts as slow."},
      {"max_allowed_packet", "Largest packet or generated string, in bytes."},
      {"max_connections", "Most simultaneous client connections."},
      {"slow_query_log", "Whether slow queries are logged."},
      {"sql_mode", "SQL modes of new sessions."},
      {"time_zone", "The server's time zone (an offset such as +00:00, or SYSTEM)."},
      {"tmp_table_size", "Largest in-memory internal temporary table, in bytes."},
      {"wait_timeout", "Seconds an idle connection is kept."},
  };
  auto it = kText.find(name);
  return it == kText.end() ? "MariaDB server variable." : it->second;
}

// The time zones MariaDB takes without time zone tables: SYSTEM or an offset -12:59..+13:00.
bool IsTimeZone(const std::string& v) {
  if (Upper(v) == "SYSTEM") return true;
  if (v.size() != 6 || (v[0] != '+' && v[0] != '-') || v[3] != ':') return false;
  for (size_t i : {1u, 2u, 4u, 5u}) {
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return false;
  }
  const int h = (v[1] - '0') * 10 + (v[2] - '0'), m = (v[4] - '0') * 10 + (v[5] - '0');
  if (m > 59) return false;
  return v[0] == '+' ? (h < 13 || (h == 13 && m == 0)) : h <= 12;
}

}  // namespace

std::string DefaultParamGroupName() { return std::string("default.") + kParamGroupFamily; }
const char* KindName(ParamGroupKind kind) {
  return kind == ParamGroupKind::kCluster ? "cluster" : "instance";
}
const char* ApplyMethodName(ApplyMethod m) {
  return m == ApplyMethod::kImmediate ? "immediate" : "pending-reboot";
}

ParameterCatalog BuildCatalog(const std::vector<engine::SystemVariable>& vars,
                              uint64_t memory_bytes) {
  ParameterCatalog out;
  for (const engine::SystemVariable& v : vars) {
    if (!engine::IsTunableVariable(v.name)) continue;
    ParameterSpec s;
    s.name = v.name;
    s.is_static = v.read_only;
    s.default_value = v.default_value;
    s.description = Describe(v.name);
    s.min = v.min;
    s.max = v.max;
    if (v.type == "BOOLEAN") {
      s.data_type = ParamDataType::kBoolean;
      s.allowed = {"0", "1"};
      s.default_value = v.default_value == "ON" ? "1" : v.default_value == "OFF" ? "0"
                                                                              : v.default_value;
      s.min.reset();
      s.max.reset();
    } else if (v.type.find("INT") != std::string::npos) {
      s.data_type = ParamDataType::kInteger;
      s.is_signed = v.type.find("UNSIGNED") == std::string::npos;
    } else if (v.type == "DOUBLE") {
      s.data_type = ParamDataType::kFloat;
    } else if (v.type == "SET") {
      s.data_type = ParamDataType::kList;
      s.allowed = v.allowed;
    } else {
      s.data_type = ParamDataType::kString;
      s.allowed = v.allowed;  // ENUM members, character sets, collations (empty: free text)
    }
    if (memory_bytes > 0 && SizesMemory(s.name) && s.max) {
      std::optional<__int128> max = ParseInteger(*s.max);
      if (max && *max > static_cast<__int128>(memory_bytes)) s.max = std::to_string(memory_bytes);
    }
    if (s.min && s.max) {
      s.allowed_text = *s.min + "-" + *s.max;
    } else if (s.name == "time_zone") {
      s.allowed_text = "SYSTEM, or an offset from -12:59 to +13:00";
    } else {
      s.allowed_text = Join(s.allowed, ",");
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const ParameterSpec& a, const ParameterSpec& b) { return a.name < b.name; });
  return out;
}

std::vector<ParamCatalogRow> CatalogRows(const std::vector<engine::SystemVariable>& vars) {
  std::vector<ParamCatalogRow> rows;
  for (const engine::SystemVariable& v : vars) {
    rows.push_back(ParamCatalogRow{v.name, v.type, v.min.value_or(""), v.max.value_or(""),
                                   Join(v.allowed, ","), v.read_only, v.default_value});
  }
  return rows;
}

std::vector<engine::SystemVariable> VariablesFromRows(const std::vector<ParamCatalogRow>& rows) {
  std::vector<engine::SystemVariable> vars;
  for (const ParamCatalogRow& r : rows) {
    engine::SystemVariable v;
    v.name = r.name;
    v.type = r.type;
    if (!r.min.empty()) v.min = r.min;
    if (!r.max.empty()) v.max = r.max;
    std::istringstream in(r.allowed);
    for (std::string item; std::getline(in, item, ',');) {
      if (!item.empty()) v.allowed.push_back(item);
    }
    v.read_only = r.read_only;
    v.default_value = r.default_value;
    vars.push_back(std::move(v));
  }
  return vars;
}

const ParameterSpec* FindSpec(const ParameterCatalog& catalog, const std::string& name) {
  for (const ParameterSpec& s : catalog) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::optional<std::string> CanonicalValue(const ParameterSpec& spec, const std::string& value,
                                          RefusalItem* why) {
  if (Status s = engine::CheckTunedSetting(spec.name, value); !s.ok()) {
    why->reason = Reason::kParamValueCharacters;
    return std::nullopt;
  }
  auto member = [&](const std::string& v) -> std::optional<std::string> {
    for (const std::string& a : spec.allowed) {
      if (Upper(a) == Upper(v)) return a;
    }
    return std::nullopt;
  };
  switch (spec.data_type) {
    case ParamDataType::kBoolean: {
      const std::string u = Upper(value);
      if (u == "1" || u == "ON") return "1";
      if (u == "0" || u == "OFF") return "0";
      why->reason = Reason::kParamValueBoolean;
      return std::nullopt;
    }
    case ParamDataType::kInteger: {
      std::optional<__int128> n = ParseInteger(value);
      if (!n || (!spec.is_signed && *n < 0)) {
        why->reason = Reason::kParamValueInteger;
        return std::nullopt;
      }
      std::optional<__int128> lo = spec.min ? ParseInteger(*spec.min) : std::nullopt;
      std::optional<__int128> hi = spec.max ? ParseInteger(*spec.max) : std::nullopt;
      if ((lo && *n < *lo) || (hi && *n > *hi)) {
        *why = {.reason = Reason::kParamValueRange, .other = spec.allowed_text};
        return std::nullopt;
      }
      return value;
    }
    case ParamDataType::kFloat: {
      char* end = nullptr;
      const double d = std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size() || !std::isfinite(d)) {
        why->reason = Reason::kParamValueNumber;
        return std::nullopt;
      }
      if ((spec.min && d < std::strtod(spec.min->c_str(), nullptr)) ||
          (spec.max && d > std::strtod(spec.max->c_str(), nullptr))) {
        *why = {.reason = Reason::kParamValueRange, .other = spec.allowed_text};
        return std::nullopt;
      }
      return value;
    }
    case ParamDataType::kList: {
      std::vector<std::string> items;
      std::istringstream in(value);
      for (std::string item; std::getline(in, item, ',');) {
        std::optional<std::string> m = member(item);
        if (!m) {
          *why = {.reason = Reason::kParamValueListMember, .other = spec.allowed_text,
                  .part = BoundedInput(item, 40)};
          return std::nullopt;
        }
        items.push_back(*m);
      }
      if (items.empty()) {
        *why = {.reason = Reason::kParamValueListEmpty, .other = spec.allowed_text};
        return std::nullopt;
      }
      return Join(items, ",");
    }
    case ParamDataType::kString: {
      if (spec.name == "time_zone") {
        if (IsTimeZone(value)) return Upper(value) == "SYSTEM" ? "SYSTEM" : value;
        why->reason = Reason::kParamValueTimeZone;
        return std::nullopt;
      }
      if (!spec.allowed.empty()) {
        if (std::optional<std::string> m = member(value)) return m;
        *why = spec.allowed.size() > 12
                   ? RefusalItem{.reason = Reason::kParamValueUnknown}
                   : RefusalItem{.reason = Reason::kParamValueNotOneOf, .other = spec.allowed_text};
        return std::nullopt;
      }
      return value;
    }
  }
  return value;
}

Result<std::vector<ParamValueRow>> CheckParameterChanges(
    const ParameterCatalog& catalog, const std::vector<ParameterChange>& changes, bool reset) {
  std::vector<RefusalItem> problems;
  std::vector<ParamValueRow> out;
  std::set<std::string> seen;
  if (changes.empty()) problems.push_back({.reason = Reason::kParamNoneGiven});
  for (const ParameterChange& c : changes) {
    const std::string shown = BoundedInput(c.name, 64);
    if (c.name.empty()) {
      problems.push_back({.reason = Reason::kParamNoName});
      continue;
    }
    if (!seen.insert(c.name).second) {
      problems.push_back({.reason = Reason::kParamRepeated, .name = shown});
      continue;
    }
    const ParameterSpec* spec = FindSpec(catalog, c.name);
    if (spec == nullptr) {
      problems.push_back(
          {.reason = Reason::kParamNotModifiable, .name = shown, .other = kParamGroupFamily});
      continue;
    }
    if (reset) {
      ApplyMethod m = c.apply_method.value_or(spec->is_static ? ApplyMethod::kPendingReboot
                                                               : ApplyMethod::kImmediate);
      if (spec->is_static && m == ApplyMethod::kImmediate) {
        problems.push_back({.reason = Reason::kParamStaticImmediate, .name = shown});
        continue;
      }
      out.push_back(ParamValueRow{c.name, "", ApplyMethodName(m)});
      continue;
    }
    if (!c.value) {
      problems.push_back({.reason = Reason::kParamNoValue, .name = shown});
      continue;
    }
    RefusalItem why;
    std::optional<std::string> v = CanonicalValue(*spec, *c.value, &why);
    if (!v) {
      why.name = shown;
      why.value = BoundedInput(*c.value, 64);
      problems.push_back(std::move(why));
      continue;
    }
    if (!c.apply_method) {
      problems.push_back({.reason = Reason::kParamNoApplyMethod, .name = shown});
      continue;
    }
    if (spec->is_static && *c.apply_method == ApplyMethod::kImmediate) {
      problems.push_back({.reason = Reason::kParamStaticImmediate, .name = shown});
      continue;
    }
    out.push_back(ParamValueRow{c.name, *v, ApplyMethodName(*c.apply_method)});
  }
  if (!problems.empty()) {
    return Refuse(ClusterError::kInvalidParameter, Reason::kParametersInvalid,
                  {.field = Field::kParameters, .items = std::move(problems)});
  }
  return out;
}

engine::TunedSettings MergeSettings(const std::vector<ParamValueRow>& cluster_values,
                                    const std::vector<ParamValueRow>& instance_values) {
  engine::TunedSettings out;
  for (const ParamValueRow& v : cluster_values) out[v.name] = v.value;
  for (const ParamValueRow& v : instance_values) out[v.name] = v.value;
  return out;
}

std::vector<ImmediateSetting> ImmediatePlan(const std::vector<ParamValueRow>& before,
                                            const std::vector<ParamValueRow>& after,
                                            const std::vector<ParameterChange>& changes,
                                            const ParameterCatalog& catalog, bool reset) {
  auto value_in = [](const std::vector<ParamValueRow>& rows, const std::string& name) {
    std::optional<std::string> v;
    for (const ParamValueRow& r : rows) {
      if (r.name == name) v = r.value;
    }
    return v;
  };
  std::vector<ImmediateSetting> plan;
  if (reset && changes.empty()) {
    // Reset all: every dynamic parameter the group set goes back now; static ones wait.
    for (const ParamValueRow& r : before) {
      const ParameterSpec* spec = FindSpec(catalog, r.name);
      if (spec && !spec->is_static) plan.push_back({r.name, std::nullopt});
    }
    return plan;
  }
  for (const ParameterChange& c : changes) {
    const ParameterSpec* spec = FindSpec(catalog, c.name);
    if (!spec || spec->is_static) continue;
    const ApplyMethod m = c.apply_method.value_or(reset ? ApplyMethod::kImmediate
                                                        : ApplyMethod::kPendingReboot);
    if (m != ApplyMethod::kImmediate) continue;
    plan.push_back({c.name, value_in(after, c.name)});
  }
  return plan;
}

ParamApplyStatus ApplyStatusOf(const engine::TunedSettings& desired,
                               const std::optional<engine::TunedSettings>& in_effect) {
  if (!in_effect) return ParamApplyStatus::kInSync;
  return *in_effect == desired ? ParamApplyStatus::kInSync : ParamApplyStatus::kPendingReboot;
}

Status ValidateParamGroupName(const std::string& name, Field field) {
  bool ok = !name.empty() && name.size() <= 255 &&
            std::isalpha(static_cast<unsigned char>(name[0])) && name.back() != '-' &&
            name.find("--") == std::string::npos;
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
  if (!ok) {
    return Refuse(ClusterError::kInvalidParameter, Reason::kParamGroupNameInvalid,
                  {.field = field, .input = BoundedInput(name)});
  }
  return Status::Ok();
}

}  // namespace rwd::cluster
