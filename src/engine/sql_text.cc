#include "engine/sql_text.h"

#include <sstream>

namespace rwd::engine {
namespace {

// The escape sequence MariaDB's SQL lexer decodes back to `c`, or nullptr if `c` is safe as is.
const char* SqlEscape(char c) {
  switch (c) {
    case '\0':
      return "\\0";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\x1a':
      return "\\Z";  // Ctrl-Z ends input on Windows clients
    case '\\':
      return "\\\\";
    case '\'':
      return "\\'";
    default:
      return nullptr;
  }
}

// The escape sequence mysys' option-file reader (my_default.c) decodes back to `c`, or nullptr.
// The reader strips one pair of matching outer quotes, ignores '#' inside quotes, and decodes
// \\ \" \' \n \r \t \b \s.
const char* OptionFileEscape(char c) {
  switch (c) {
    case '\\':
      return "\\\\";
    case '"':
      return "\\\"";
    case '\'':
      return "\\'";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      return nullptr;
  }
}

std::string Quote(std::string_view text, char quote, const char* (*escape)(char)) {
  std::string quoted(1, quote);
  for (char c : text) {
    const char* sequence = escape(c);
    if (sequence != nullptr) {
      quoted += sequence;
    } else {
      quoted += c;
    }
  }
  quoted += quote;
  return quoted;
}

}  // namespace

std::string SqlStringLiteral(std::string_view text) { return Quote(text, '\'', SqlEscape); }

std::string SqlIdentifier(std::string_view name) {
  std::string quoted = "`";
  for (char c : name) {
    if (c == '`') quoted += '`';
    quoted += c;
  }
  quoted += '`';
  return quoted;
}

std::string SqlAccount(std::string_view user, std::string_view host) {
  return SqlStringLiteral(user) + "@" + SqlStringLiteral(host);
}

std::string OptionFileValue(std::string_view value) { return Quote(value, '"', OptionFileEscape); }

std::vector<std::string> SplitTsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, '\t')) out.push_back(cell);
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  return out;
}

}  // namespace rwd::engine
