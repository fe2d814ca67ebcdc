#include "diff/row_diff.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace rwd::diff {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string Hex(std::string_view bytes) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

bool IsPlainDecimal(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] == '.' && !dot) {
      dot = true;
    } else if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

// |a| vs |b| for plain decimals without sign.
int CompareMagnitude(std::string_view a, std::string_view b) {
  auto split = [](std::string_view s, std::string_view* i, std::string_view* f) {
    size_t dot = s.find('.');
    *i = s.substr(0, dot);
    *f = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
    while (!i->empty() && (*i)[0] == '0') i->remove_prefix(1);
    while (!f->empty() && f->back() == '0') f->remove_suffix(1);
  };
  std::string_view ai, af, bi, bf;
  split(a, &ai, &af);
  split(b, &bi, &bf);
  if (ai.size() != bi.size()) return ai.size() < bi.size() ? -1 : 1;
  if (int c = ai.compare(bi); c != 0) return c < 0 ? -1 : 1;
  if (int c = af.compare(bf); c != 0) return c < 0 ? -1 : 1;
  return 0;
}

int CompareValues(const Value& a, const Value& b, ColumnKind kind) {
  if (!a || !b) return a ? 1 : (b ? -1 : 0);  // NULL first, as ORDER BY
  if (kind == ColumnKind::kNumeric) return CompareNumbers(*a, *b);
  const int c = std::memcmp(a->data(), b->data(), std::min(a->size(), b->size()));
  if (c != 0) return c < 0 ? -1 : 1;
  return a->size() == b->size() ? 0 : (a->size() < b->size() ? -1 : 1);
}

}  // namespace

ColumnKind KindOfType(std::string_view t) {
  static const char* kNumeric[] = {"tinyint", "smallint", "mediumint", "int", "bigint",
                                   "decimal", "float", "double", "year", "bit"};
  static const char* kBinary[] = {"binary", "varbinary", "tinyblob", "blob", "mediumblob",
                                  "longblob"};
  for (const char* n : kNumeric) {
    if (t == n) return ColumnKind::kNumeric;
  }
  for (const char* n : kBinary) {
    if (t == n) return ColumnKind::kBinary;
  }
  return ColumnKind::kText;
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  return out + "`";
}

std::string KeyOrderedSelect(const std::string& db, const std::string& table,
                             const std::vector<Column>& columns, const std::vector<size_t>& key,
                             const std::string& where) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    const Column& c = columns[i];
    if (i > 0) sql += ", ";
    if (c.bit) {
      sql += QuoteIdent(c.name) + " + 0";
    } else if (c.kind == ColumnKind::kNumeric || !c.nullable) {
      sql += QuoteIdent(c.name);
    } else {
      sql += "HEX(" + QuoteIdent(c.name) + ")";
    }
  }
  sql += " FROM " + QuoteIdent(db) + "." + QuoteIdent(table);
  if (!where.empty()) sql += " WHERE " + where;
  sql += " ORDER BY ";
  std::vector<size_t> order = key;
  if (order.empty()) {
    for (size_t i = 0; i < columns.size(); ++i) order.push_back(i);
  }
  for (size_t n = 0; n < order.size(); ++n) {
    const Column& c = columns[order[n]];
    if (n > 0) sql += ", ";
    if (c.bit) {
      sql += QuoteIdent(c.name) + " + 0";
    } else if (c.kind == ColumnKind::kNumeric) {
      sql += QuoteIdent(c.name);
    } else {
      sql += "BINARY " + QuoteIdent(c.name);  // byte order, as CompareKeys
    }
  }
  return sql;
}

std::vector<Column> HashedColumns(const std::vector<Column>& columns,
                                  const std::vector<size_t>& key) {
  std::vector<Column> out;
  for (size_t i : key) out.push_back(columns[i]);
  out.push_back(Column{"row hash", ColumnKind::kText, false, false});
  return out;
}

std::string RowHashSelect(const std::string& db, const std::string& table,
                          const std::vector<Column>& columns, const std::vector<size_t>& key) {
  // The key columns as KeyOrderedSelect selects them (its select list, cut to the key).
  std::vector<Column> key_cols;
  std::vector<size_t> key_idx;
  for (size_t n = 0; n < key.size(); ++n) {
    key_cols.push_back(columns[key[n]]);
    key_idx.push_back(n);
  }
  std::string keyed = KeyOrderedSelect(db, table, key_cols, key_idx);
  const size_t from = keyed.find(" FROM ");
  std::string hash = "MD5(CONCAT(";
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string c = QuoteIdent(columns[i].name);
    if (i > 0) hash += ", ";
    // Length-prefixed, so that no two different rows concatenate alike; 'N' for NULL.
    hash += "IFNULL(CONCAT(LENGTH(" + c + "), ':', " + c + "), 'N')";
  }
  hash += "))";
  return keyed.substr(0, from) + ", " + hash + keyed.substr(from);
}

std::string KeyInList(const std::vector<Column>& columns, const std::vector<size_t>& key,
                      const std::vector<Row>& hashed_rows) {
  std::string names, list;
  for (size_t n = 0; n < key.size(); ++n) {
    names += (n > 0 ? ", " : "") + QuoteIdent(columns[key[n]].name);
  }
  for (size_t r = 0; r < hashed_rows.size(); ++r) {
    std::string tuple;
    for (size_t n = 0; n < key.size(); ++n) {
      tuple += (n > 0 ? ", " : "") + SqlLiteral(hashed_rows[r][n], columns[key[n]].kind);
    }
    list += (r > 0 ? ", " : "") + (key.size() > 1 ? "(" + tuple + ")" : tuple);
  }
  return (key.size() > 1 ? "(" + names + ")" : names) + " IN (" + list + ")";
}

Result<Row> ParseBatchLine(std::string_view line, const std::vector<Column>& columns) {
  Row row;
  row.reserve(columns.size());
  size_t pos = 0;
  for (size_t i = 0; i < columns.size(); ++i) {
    const size_t tab = line.find('\t', pos);
    if ((tab == std::string_view::npos) != (i + 1 == columns.size())) {
      return Status::Corruption("a row has not " + std::to_string(columns.size()) + " fields");
    }
    std::string_view field = line.substr(pos, tab == std::string_view::npos ? line.size() - pos : tab - pos);
    pos = tab + 1;
    if (field == "NULL" && columns[i].nullable) {  // HEX() and numbers never print it otherwise
      row.emplace_back(std::nullopt);
      continue;
    }
    if (columns[i].kind == ColumnKind::kNumeric || columns[i].bit) {
      row.emplace_back(std::string(field));
      continue;
    }
    if (!columns[i].nullable) {
      // As the client escapes it in batch mode.
      std::string bytes;
      bytes.reserve(field.size());
      for (size_t k = 0; k < field.size(); ++k) {
        if (field[k] != '\\' || k + 1 == field.size()) {
          bytes.push_back(field[k]);
          continue;
        }
        const char c = field[++k];
        bytes.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c == '0' ? '\0' : c);
      }
      row.emplace_back(std::move(bytes));
      continue;
    }
    if (field.size() % 2 != 0) return Status::Corruption("bad hex in column " + columns[i].name);
    std::string bytes;
    bytes.reserve(field.size() / 2);
    for (size_t k = 0; k < field.size(); k += 2) {
      const int hi = HexDigit(field[k]), lo = HexDigit(field[k + 1]);
      if (hi < 0 || lo < 0) return Status::Corruption("bad hex in column " + columns[i].name);
      bytes.push_back(static_cast<char>(hi * 16 + lo));
    }
    row.emplace_back(std::move(bytes));
  }
  return row;
}

int CompareNumbers(std::string_view a, std::string_view b) {
  if (IsPlainDecimal(a) && IsPlainDecimal(b)) {
    const bool na = a[0] == '-', nb = b[0] == '-';
    std::string_view ma = (a[0] == '-' || a[0] == '+') ? a.substr(1) : a;
    std::string_view mb = (b[0] == '-' || b[0] == '+') ? b.substr(1) : b;
    const int m = CompareMagnitude(ma, mb);
    if (m == 0 && (na == nb || CompareMagnitude(ma, "0") == 0)) return 0;
    if (na != nb) return na ? -1 : 1;
    return na ? -m : m;
  }
  // Exponents (FLOAT, DOUBLE): by value.
  const long double x = std::strtold(std::string(a).c_str(), nullptr);
  const long double y = std::strtold(std::string(b).c_str(), nullptr);
  return x < y ? -1 : (x > y ? 1 : 0);
}

int CompareKeys(const Row& a, const Row& b, const std::vector<Column>& columns,
                const std::vector<size_t>& key) {
  if (key.empty()) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (int c = CompareValues(a[i], b[i], columns[i].kind); c != 0) return c;
    }
    return 0;
  }
  for (size_t i : key) {
    if (int c = CompareValues(a[i], b[i], columns[i].kind); c != 0) return c;
  }
  return 0;
}

Result<DiffCounts> DiffRows(RowSource& before, RowSource& after, const std::vector<Column>& columns,
                            const std::vector<size_t>& key, ChangeSink& sink) {
  DiffCounts counts;
  Row a, b, prev_a, prev_b;
  ASSIGN_OR_RETURN(bool has_a, before.Next(&a));
  ASSIGN_OR_RETURN(bool has_b, after.Next(&b));
  bool seen_a = false, seen_b = false;
  // Each stream must be ordered as CompareKeys orders: a merge of unordered streams would
  // report rows that did not change.
  auto check_order = [&](const Row& row, Row& prev, bool& seen, const char* which) -> Status {
    if (seen && CompareKeys(prev, row, columns, key) > 0) {
      return Status::InvalidArgument(std::string("the rows at ") + which +
                                     " do not come in key order");
    }
    prev = row;
    seen = true;
    return Status::Ok();
  };
  while (has_a || has_b) {
    if (has_a) RETURN_IF_ERROR(check_order(a, prev_a, seen_a, "the first time"));
    if (has_b) RETURN_IF_ERROR(check_order(b, prev_b, seen_b, "the second time"));
    const int c = !has_a ? 1 : (!has_b ? -1 : CompareKeys(a, b, columns, key));
    if (c < 0) {
      Change ch;
      ch.op = Change::Op::kDelete;
      ch.before = std::move(a);
      RETURN_IF_ERROR(sink.OnChange(ch));
      ++counts.deleted;
      ASSIGN_OR_RETURN(has_a, before.Next(&a));
    } else if (c > 0) {
      Change ch;
      ch.op = Change::Op::kInsert;
      ch.after = std::move(b);
      RETURN_IF_ERROR(sink.OnChange(ch));
      ++counts.inserted;
      ASSIGN_OR_RETURN(has_b, after.Next(&b));
    } else {
      if (a != b) {  // same key, other values (never without a key: all columns are the key)
        Change ch;
        ch.op = Change::Op::kUpdate;
        ch.before = std::move(a);
        ch.after = std::move(b);
        RETURN_IF_ERROR(sink.OnChange(ch));
        ++counts.updated;
      } else {
        ++counts.unchanged;
      }
      ASSIGN_OR_RETURN(has_a, before.Next(&a));
      ASSIGN_OR_RETURN(has_b, after.Next(&b));
    }
  }
  return counts;
}

Result<DiffCounts> DiffByHash(RowSource& before_hashes, RowSource& after_hashes,
                              const std::vector<Column>& columns, const std::vector<size_t>& key,
                              const FetchRows& fetch, ChangeSink& sink, size_t batch) {
  if (key.empty()) return Status::InvalidArgument("DiffByHash needs a key");
  const std::vector<Column> hcols = HashedColumns(columns, key);
  std::vector<size_t> hkey;
  for (size_t n = 0; n < key.size(); ++n) hkey.push_back(n);
  DiffCounts total;
  std::vector<Row> differing;
  auto flush = [&]() -> Status {
    if (differing.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(auto rows, fetch(differing));
    differing.clear();
    ASSIGN_OR_RETURN(DiffCounts c, DiffRows(*rows.first, *rows.second, columns, key, sink));
    total.inserted += c.inserted;
    total.deleted += c.deleted;
    total.updated += c.updated;
    total.unchanged += c.unchanged;  // a hash that differed on rows that did not: none expected
    return Status::Ok();
  };
  // The merge of the hashes; what differs is collected, every change is then found by DiffRows.
  class Collector : public ChangeSink {
   public:
    Collector(std::vector<Row>* out, size_t key_size, size_t batch,
              const std::function<Status()>& flush)
        : out_(out), key_size_(key_size), batch_(batch), flush_(flush) {}
    Status OnChange(const Change& c) override {
      const Row& r = c.op == Change::Op::kInsert ? c.after : c.before;
      out_->push_back(Row(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(key_size_)));
      if (out_->size() >= batch_) return flush_();
      return Status::Ok();
    }

   private:
    std::vector<Row>* out_;
    size_t key_size_;
    size_t batch_;
    const std::function<Status()>& flush_;
  };
  const std::function<Status()> flush_fn = flush;
  Collector collector(&differing, key.size(), batch, flush_fn);
  ASSIGN_OR_RETURN(DiffCounts h, DiffRows(before_hashes, after_hashes, hcols, hkey, collector));
  RETURN_IF_ERROR(flush());
  total.unchanged += h.unchanged;
  return total;
}

// ---------------------------------------------------------------------------------------------

Result<Format> ParseFormat(std::string_view text) {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  if (text == "sql") return Format::kSql;
  if (text == "summary") return Format::kSummary;
  return Status::InvalidArgument("the format must be table, json, sql or summary, not '" +
                                 std::string(text.substr(0, 32)) + "'");
}

const char* SchemaChangeName(SchemaChange change) {
  switch (change) {
    case SchemaChange::kUnchanged: return "unchanged";
    case SchemaChange::kCreated: return "created";
    case SchemaChange::kDropped: return "dropped";
    case SchemaChange::kAltered: return "altered";
  }
  return "unchanged";
}

std::string SqlLiteral(const Value& value, ColumnKind kind) {
  if (!value) return "NULL";
  if (kind == ColumnKind::kNumeric) return *value;
  if (kind == ColumnKind::kBinary) return "X'" + Hex(*value) + "'";
  std::string out = "'";
  for (char c : *value) {
    switch (c) {
      case '\'': out += "\\'"; break;
      case '\\': out += "\\\\"; break;
      case '\0': out += "\\0"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\x1a': out += "\\Z"; break;
      default: out.push_back(c);
    }
  }
  return out + "'";
}

std::string DiffWriter::RowJson(const Row& row) const {
  std::string out = "{";
  for (size_t i = 0; i < row.size() && i < table_.columns.size(); ++i) {
    const Column& c = table_.columns[i];
    if (i > 0) out += ",";
    out += JsonString(c.name) + ":";
    if (!row[i]) {
      out += "null";
    } else if (c.kind == ColumnKind::kNumeric && IsPlainDecimal(*row[i]) && (*row[i])[0] != '+') {
      out += *row[i];
    } else if (c.kind == ColumnKind::kBinary) {
      out += JsonString("0x" + Hex(*row[i]));
    } else {
      out += JsonString(*row[i]);
    }
  }
  return out + "}";
}

std::string DiffWriter::Where(const Row& row) const {
  std::string out;
  std::vector<size_t> cols = table_.key;
  if (cols.empty()) {
    for (size_t i = 0; i < table_.columns.size(); ++i) cols.push_back(i);
  }
  for (size_t n = 0; n < cols.size(); ++n) {
    const Column& c = table_.columns[cols[n]];
    if (n > 0) out += " AND ";
    // <=> matches NULL too (rows without a key may hold NULLs).
    out += QuoteIdent(c.name) + " <=> " + SqlLiteral(row[cols[n]], c.kind);
    if (table_.key.empty() && c.kind == ColumnKind::kText && row[cols[n]]) {
      // Without a key, the row must be this one byte for byte (not 'A' for 'a', nor 'a ').
      out += " AND BINARY " + QuoteIdent(c.name) + " = BINARY " + SqlLiteral(row[cols[n]], c.kind);
    }
  }
  return out;
}

std::string DiffWriter::Values(const Row& row) const {
  std::string out = "(";
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out += ", ";
    out += SqlLiteral(row[i], table_.columns[i].kind);
  }
  return out + ")";
}

std::string DiffWriter::Shown(const Row& row, bool key_only) const {
  std::string out;
  std::vector<size_t> cols = table_.key;
  if (!key_only || cols.empty()) {
    cols.clear();
    for (size_t i = 0; i < table_.columns.size(); ++i) cols.push_back(i);
  }
  for (size_t n = 0; n < cols.size(); ++n) {
    if (n > 0) out += key_only ? "," : ", ";
    const Column& c = table_.columns[cols[n]];
    out += c.name + "=" + (row[cols[n]] && c.kind == ColumnKind::kBinary
                               ? "0x" + Hex(*row[cols[n]])
                               : SqlLiteral(row[cols[n]], c.kind == ColumnKind::kBinary
                                                              ? ColumnKind::kText
                                                              : c.kind));
  }
  return out;
}

void DiffWriter::Begin(const TableHeader& header) {
  mark_ = out_.size();
  mark_first_table_ = first_table_;
  table_ = header;
  first_change_ = true;
  const std::string name = QuoteIdent(header.db) + "." + QuoteIdent(header.table);
  std::string keys;
  for (size_t i : header.key) keys += (keys.empty() ? "" : ", ") + header.columns[i].name;
  switch (format_) {
    case Format::kTable:
      out_ += header.db + "." + header.table + ": schema " + SchemaChangeName(header.schema) +
              "; " + (header.key.empty() ? "rows compared by whole rows (no primary key)"
                                         : "rows by primary key (" + keys + ")") +
              "\n";
      if (header.schema == SchemaChange::kAltered) {
        out_ += "  definition before: " + header.ddl_before + "\n";
        out_ += "  definition after:  " + header.ddl_after + "\n";
      }
      break;
    case Format::kJson:
    case Format::kSummary: {
      out_ += first_table_ ? "[\n" : ",\n";
      out_ += "{\"table\":" + JsonString(header.db + "." + header.table) +
              ",\"schema\":" + JsonString(SchemaChangeName(header.schema)) +
              ",\"compared_by\":" + JsonString(header.key.empty() ? "whole rows" : "primary key") +
              ",\"key\":[";
      for (size_t n = 0; n < header.key.size(); ++n) {
        out_ += (n > 0 ? "," : "") + JsonString(header.columns[header.key[n]].name);
      }
      out_ += "]";
      if (header.schema != SchemaChange::kUnchanged) {
        out_ += ",\"definition_before\":" + JsonString(header.ddl_before) +
                ",\"definition_after\":" + JsonString(header.ddl_after);
      }
      if (format_ == Format::kJson) out_ += ",\"changes\":[";
      break;
    }
    case Format::kSql:
      if (first_table_) out_ += "SET NAMES utf8mb4;\nSET foreign_key_checks = 0;\n";
      out_ += "-- " + header.db + "." + header.table + ": schema " +
              SchemaChangeName(header.schema) +
              (header.key.empty() ? "; no primary key: rows matched by all their values" : "") +
              "\n";
      undo_rows_ = true;
      if (header.schema == SchemaChange::kCreated) {
        out_ += "DROP TABLE " + name + ";\n";
        undo_rows_ = false;
      } else if (header.schema == SchemaChange::kDropped) {
        out_ += header.ddl_before + ";\n";
      } else if (header.schema == SchemaChange::kAltered) {
        out_ += "DROP TABLE " + name + ";\n" + header.ddl_before + ";\n";
      }
      break;
  }
  first_table_ = false;
}

Status DiffWriter::OnChange(const Change& ch) {
  const std::string name = QuoteIdent(table_.db) + "." + QuoteIdent(table_.table);
  switch (format_) {
    case Format::kTable:
      if (ch.op == Change::Op::kInsert) {
        out_ += "  + inserted " + Shown(ch.after, false) + "\n";
      } else if (ch.op == Change::Op::kDelete) {
        out_ += "  - deleted  " + Shown(ch.before, false) + "\n";
      } else {
        out_ += "  ~ updated  " + Shown(ch.before, true) + ":";
        for (size_t i = 0; i < ch.before.size(); ++i) {
          if (ch.before[i] == ch.after[i]) continue;
          const Column& c = table_.columns[i];
          auto show = [&](const Value& v) {
            return v && c.kind == ColumnKind::kBinary ? "0x" + Hex(*v)
                                                      : SqlLiteral(v, c.kind == ColumnKind::kBinary
                                                                          ? ColumnKind::kText
                                                                          : c.kind);
          };
          out_ += " " + c.name + ": " + show(ch.before[i]) + " -> " + show(ch.after[i]) + ";";
        }
        out_.pop_back();
        out_ += "\n";
      }
      break;
    case Format::kJson: {
      out_ += first_change_ ? "\n" : ",\n";
      const char* op = ch.op == Change::Op::kInsert ? "insert"
                       : ch.op == Change::Op::kDelete ? "delete" : "update";
      out_ += std::string("{\"op\":\"") + op + "\"";
      if (ch.op != Change::Op::kInsert) out_ += ",\"before\":" + RowJson(ch.before);
      if (ch.op != Change::Op::kDelete) out_ += ",\"after\":" + RowJson(ch.after);
      out_ += "}";
      break;
    }
    case Format::kSummary:
      break;  // counted by the merge, not shown
    case Format::kSql:
      if (!undo_rows_) break;
      if (ch.op == Change::Op::kInsert) {
        // Only at T2: removed (one row, when rows are matched by all their values).
        removals_ += "DELETE FROM " + name + " WHERE " + Where(ch.after) +
                     (table_.key.empty() ? " LIMIT 1" : "") + ";\n";
      } else if (ch.op == Change::Op::kDelete) {
        std::string cols;
        for (const Column& c : table_.columns) cols += (cols.empty() ? "" : ", ") + QuoteIdent(c.name);
        insertions_ += "INSERT INTO " + name + " (" + cols + ") VALUES " + Values(ch.before) + ";\n";
      } else {
        std::string set;
        for (size_t i = 0; i < ch.before.size(); ++i) {
          if (ch.before[i] == ch.after[i]) continue;
          set += (set.empty() ? "" : ", ") + QuoteIdent(table_.columns[i].name) + " = " +
                 SqlLiteral(ch.before[i], table_.columns[i].kind);
        }
        updates_ += "UPDATE " + name + " SET " + set + " WHERE " + Where(ch.after) + ";\n";
      }
      break;
  }
  first_change_ = false;
  return Status::Ok();
}

void DiffWriter::End(const DiffCounts& counts) {
  const std::string summary = std::to_string(counts.inserted) + " inserted, " +
                              std::to_string(counts.deleted) + " deleted, " +
                              std::to_string(counts.updated) + " updated";
  std::string removals, updates, insertions;  // taken whatever happens below
  removals.swap(removals_);
  updates.swap(updates_);
  insertions.swap(insertions_);
  if (table_.schema == SchemaChange::kUnchanged && counts.inserted == 0 && counts.deleted == 0 &&
      counts.updated == 0) {
    out_.resize(mark_);
    first_table_ = mark_first_table_;
    return;
  }
  ++tables_shown_;
  switch (format_) {
    case Format::kTable: out_ += "  " + summary + "\n"; break;
    case Format::kJson:
    case Format::kSummary:
      out_ += std::string(format_ == Format::kSummary ? ""
                          : first_change_             ? "]"
                                                      : "\n]") +
              ",\"counts\":{\"inserted\":" +
              std::to_string(counts.inserted) + ",\"deleted\":" + std::to_string(counts.deleted) +
              ",\"updated\":" + std::to_string(counts.updated) + "}}";
      break;
    case Format::kSql:
      out_ += removals + updates + insertions + "-- " + summary + "\n";
      break;
  }
}

size_t DiffWriter::size() const {
  return out_.size() + removals_.size() + updates_.size() + insertions_.size();
}

std::string DiffWriter::Finish() {
  if (format_ == Format::kJson || format_ == Format::kSummary) {
    out_ += first_table_ ? "[]\n" : "\n]\n";
  }
  if (format_ == Format::kSql && !first_table_) out_ += "SET foreign_key_checks = 1;\n";
  if (format_ == Format::kTable && tables_shown_ == 0) out_ += "No changes.\n";
  return std::move(out_);
}

}  // namespace rwd::diff
