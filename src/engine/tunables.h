// Tunable server variables: the few MariaDB system variables a database's owner may set
// (the control plane's parameter groups), how they are checked, written into the server's
// config and set on a running server, and what the engine itself says about them (type,
// range, allowed values, whether a running server can change them).
//
// Security. The owner of a database is not the owner of the host. The list below is a
// whitelist of plain tuning knobs (sizes, timeouts, modes, character sets): none names a file,
// a directory, a plugin, a library, a program, an account, a socket, an address or a port, and
// none starts SQL of its own (init_connect, init_file) or changes where or how data is kept on
// disk (datadir, log files, lower_case_table_names, innodb_log_file_size, the flush policy the
// store's durability relies on). Every other name is refused, and so is every value holding a
// character outside [A-Za-z0-9_.,:+-] (no quote, backslash, space, '#', ';' or newline can reach
// my.cnf or a SET statement).
//
// Thread safety: the functions are pure except ProbeSystemVariables, which runs a throwaway
// mariadbd; all may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rwd::engine {

struct EngineAccount;

// Tuned settings by variable name (lower case, as SHOW VARIABLES names them) → value.
using TunedSettings = std::map<std::string, std::string>;

// Every tunable variable's name, ascending.
const std::vector<std::string>& TunableVariables();
bool IsTunableVariable(std::string_view name);

// A tuned setting the engine will write or SET: the name must be tunable, the value 1..1024
// characters of [A-Za-z0-9_.,:+-]. Failure: InvalidArgument naming the variable and why.
// (Ranges and allowed values are the server's; the control plane checks them against
// ProbeSystemVariables before it asks.)
Status CheckTunedSetting(std::string_view name, std::string_view value);

// The option name a tunable is written under in my.cnf (time_zone → default-time-zone,
// tx_isolation → transaction-isolation; the others as named).
std::string ConfigNameOf(std::string_view variable);

// `SET GLOBAL name = value` for a checked setting: a number is written bare, anything else as
// a string literal; no value → the `fallback` if given (the engine's own configured value),
// else DEFAULT.
std::string SetGlobalSql(std::string_view name, const std::optional<std::string>& value,
                         const std::optional<std::string>& fallback);

// The value the engine's own config gives `variable` when nobody tunes it (WriteConfig:
// time_zone +00:00, utf8mb4, the buffer pool size of EngineOptions in bytes); nullopt when it
// leaves the server's default.
std::optional<std::string> OwnSettingValue(std::string_view variable,
                                           const std::string& innodb_buffer_pool_size);

// What information_schema.SYSTEM_VARIABLES says about one tunable variable.
struct SystemVariable {
  std::string name;           // lower case
  std::string type;           // VARIABLE_TYPE: "BIGINT UNSIGNED", "DOUBLE", "BOOLEAN", "ENUM", ...
  std::optional<std::string> min;  // NUMERIC_MIN_VALUE / NUMERIC_MAX_VALUE, as printed
  std::optional<std::string> max;
  // ENUM_VALUE_LIST split at commas; for character_set_server and collation_server (whose
  // list is empty there), the server's character sets / collations.
  std::vector<std::string> allowed;
  bool read_only = false;     // READ_ONLY: a running server cannot change it (config only)
  std::string default_value;  // DEFAULT_VALUE
  bool operator==(const SystemVariable&) const = default;
};

struct ProbeOptions {
  std::string mariadbd_path = "/usr/sbin/mariadbd";
  // A scratch directory this function creates (removing what was there) and removes again;
  // the account must be able to traverse its parent. Absolute.
  std::string work_dir;
  // The account the throwaway server runs as (when switched); see engine.h.
  const EngineAccount* account = nullptr;
  std::chrono::milliseconds timeout = std::chrono::seconds(120);
};

// Runs `mariadbd --bootstrap` on an empty scratch datadir (no network, nothing kept) and reads
// information_schema.SYSTEM_VARIABLES for every tunable variable, and the server's character
// sets and collations. ~1-2 s. Success: one SystemVariable per tunable, by name ascending.
// Failure: IOError/Unavailable with the server's output when it could not run or a tunable
// is missing (a server version that lacks it).
Result<std::vector<SystemVariable>> ProbeSystemVariables(const ProbeOptions& options);

}  // namespace rwd::engine
