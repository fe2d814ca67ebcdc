// Quoting of text that the engine puts into SQL statements and MariaDB option files.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rwd::engine {

// A single-quoted SQL string literal that MariaDB reads back as exactly `text`, whatever bytes
// it holds (quotes, backslashes, NUL, newlines). Backslash escapes are used, so the session's
// sql_mode must not contain NO_BACKSLASH_ESCAPES: prefix a script with kSqlModeForQuotedText.
std::string SqlStringLiteral(std::string_view text);
inline constexpr std::string_view kSqlModeForQuotedText = "SET SESSION sql_mode = '';\n";

// A backtick-quoted identifier (database, table): backticks inside are doubled.
std::string SqlIdentifier(std::string_view name);

// An account name 'user'@'host' for CREATE/ALTER USER and GRANT.
std::string SqlAccount(std::string_view user, std::string_view host);

// A value for a `key=value` line of a MariaDB option file (my.cnf), double-quoted and escaped
// so that mysys' option-file reader returns exactly `value` (keeps '#', quotes, spaces).
// Newlines cannot be represented in an option file line and are written as the \n escape.
std::string OptionFileValue(std::string_view value);

// The cells of one line of `mysql -B` output (tab-separated; a trailing tab ends an empty cell).
std::vector<std::string> SplitTsvLine(const std::string& line);

}  // namespace rwd::engine
