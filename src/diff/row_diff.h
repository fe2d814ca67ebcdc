// Row diff: what changed in one table between two states, by merge-joining two row streams
// ordered the same way (the state at T1, "before", and at T2, "after"), in memory bounded by two
// rows whatever the table's size; and the renderings of the result (table, json, sql undo).
//
// Rows come from `mariadb -B` output of KeyOrderedSelect: numeric columns as decimal text, NOT
// NULL columns as the client prints them (\t, \n, \0 and \\ escaped), nullable ones
// HEX()-encoded (a string 'NULL' and a NULL would print alike),
// ordered by the key columns (numeric ones by value, the others by their bytes: ORDER BY BINARY).
// CompareKeys orders rows the same way, so the merge needs no sort of its own. A table without
// a primary key is compared by whole rows (all columns form the key; equal rows pair off, so
// duplicates are counted as a multiset).
//
// Pure (no I/O besides the RowSource given); thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rwd::diff {

enum class ColumnKind {
  kNumeric,  // integers, DECIMAL, FLOAT, DOUBLE, YEAR, BIT (as its number)
  kText,     // character strings, dates and times, ENUM, SET, JSON
  kBinary,   // BINARY, VARBINARY, BLOBs (an SQL literal is X'…')
};

// information_schema.COLUMNS.DATA_TYPE → kind.
ColumnKind KindOfType(std::string_view data_type);

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kText;
  bool bit = false;  // a BIT column (selected as col+0)
  bool nullable = true;  // NOT NULL text and binary columns are streamed as they are, not in hex
};

using Value = std::optional<std::string>;  // nullopt: NULL; otherwise the raw bytes
using Row = std::vector<Value>;

// The SELECT that streams `db`.`table`'s columns in the order DiffRows expects: by the columns
// at `key` (indexes into `columns`), or by every column when `key` is empty.
// `where` (SQL, may be empty) restricts the rows.
std::string KeyOrderedSelect(const std::string& db, const std::string& table,
                             const std::vector<Column>& columns, const std::vector<size_t>& key,
                             const std::string& where = "");

// The SELECT of a table's key columns (as KeyOrderedSelect selects them) and one more column,
// the MD5 of all its columns (each length-prefixed, NULL distinct), in key order: what
// DiffByHash merges. Its rows parse with HashedColumns(columns, key).
std::string RowHashSelect(const std::string& db, const std::string& table,
                          const std::vector<Column>& columns, const std::vector<size_t>& key);
std::vector<Column> HashedColumns(const std::vector<Column>& columns, const std::vector<size_t>& key);
// "(`a`, `b`) IN ((1, 'x'), ...)" (or "`a` IN (1, ...)") for the keys of `hashed_rows` (rows of
// HashedColumns: the key values first).
std::string KeyInList(const std::vector<Column>& columns, const std::vector<size_t>& key,
                      const std::vector<Row>& hashed_rows);

// One line of that SELECT's `mariadb -B -N` output → a row. Failure: Corruption (wrong field
// count, bad hex) naming the problem.
Result<Row> ParseBatchLine(std::string_view line, const std::vector<Column>& columns);

// Numbers as decimal text ("-12.50", "3", "1e+20"): <0, 0, >0.
int CompareNumbers(std::string_view a, std::string_view b);
// Orders two rows by the key columns (all columns when `key` is empty): NULL first, numbers by
// value, other values by their bytes.
int CompareKeys(const Row& a, const Row& b, const std::vector<Column>& columns,
                const std::vector<size_t>& key);

class RowSource {
 public:
  virtual ~RowSource() = default;
  // The next row; false at the end. Failure: the source's error (the diff stops with it).
  virtual Result<bool> Next(Row* row) = 0;
};

struct Change {
  enum class Op { kInsert, kDelete, kUpdate };
  Op op = Op::kInsert;
  Row before;  // kDelete, kUpdate
  Row after;   // kInsert, kUpdate
};

class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  virtual Status OnChange(const Change& change) = 0;
};

struct DiffCounts {
  int64_t inserted = 0;
  int64_t deleted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
};

// Merge-joins the two ordered streams and reports every difference in key order: a row only
// in `after` is an insert, only in `before` a delete, in both with other values an update
// (only with a key). Failure: a source's error; InvalidArgument if a stream is out of order.
Result<DiffCounts> DiffRows(RowSource& before, RowSource& after, const std::vector<Column>& columns,
                            const std::vector<size_t>& key, ChangeSink& sink);

// As DiffRows, for a table with a key, in two passes that read each state once in full: the
// merge runs over (key, row hash) streams, and only the keys whose hash differs (or that are
// on one side only) are fetched in full, `batch` keys at a time, by `fetch` (given hashed rows,
// it returns the full rows of those keys at each time, in key order), then diffed by DiffRows.
// Memory: one batch of keys and their rows. counts.unchanged counts the rows whose hash matched.
using FetchRows = std::function<Result<std::pair<std::unique_ptr<RowSource>, std::unique_ptr<RowSource>>>(
    const std::vector<Row>& hashed_rows)>;
Result<DiffCounts> DiffByHash(RowSource& before_hashes, RowSource& after_hashes,
                              const std::vector<Column>& columns, const std::vector<size_t>& key,
                              const FetchRows& fetch, ChangeSink& sink, size_t batch = 500);

// ---- Rendering ----

enum class Format { kTable, kJson, kSql, kSummary };
// "table" | "json" | "sql" | "summary". Failure: InvalidArgument naming the choices.
Result<Format> ParseFormat(std::string_view text);

// What happened to a table's definition between the two times.
enum class SchemaChange { kUnchanged, kCreated, kDropped, kAltered };
const char* SchemaChangeName(SchemaChange change);

struct TableHeader {
  std::string db, table;
  SchemaChange schema = SchemaChange::kUnchanged;
  std::string ddl_before, ddl_after;  // SHOW CREATE TABLE at each time ("" if absent)
  std::vector<Column> columns;        // of the rows reported (the state at T1 for an undo)
  std::vector<size_t> key;            // empty: compared by whole rows (no primary key)
};

// Writes the rendering of a diff to a string (the caller bounds it): Begin/End around each
// table, Change for its rows, Finish once. Tables without any change are left out. json: a list of per-table objects {"table",
// "schema", "compared_by": "primary key"|"whole rows", "key", "changes": [{"op", "before",
// "after"}], "counts"}. summary: the json rendering without "changes" (a table's schema change
// and counts only: its size does not grow with the rows changed). sql: statements that, applied to the state at T2, give the state at T1
// (per table: removals, updates, then insertions; rows without a key are matched by all their
// values, byte for byte, one at a time).
class DiffWriter : public ChangeSink {
 public:
  explicit DiffWriter(Format format) : format_(format) {}
  void Begin(const TableHeader& header);
  Status OnChange(const Change& change) override;
  void End(const DiffCounts& counts);
  std::string Finish();
  size_t size() const;  // bytes rendered so far

 private:
  std::string RowJson(const Row& row) const;
  std::string Where(const Row& row) const;
  std::string Values(const Row& row) const;
  std::string Shown(const Row& row, bool key_only) const;

  Format format_;
  std::string out_;
  TableHeader table_;
  bool first_table_ = true;
  bool first_change_ = true;
  bool undo_rows_ = true;  // sql: whether row statements are emitted for this table
  // sql: a table's removals, then its updates, then its insertions (an insertion in key order
  // could collide, under a case-insensitive key, with a row removed later in that order).
  std::string removals_, updates_, insertions_;
  // A table with neither a schema change nor a row change leaves no trace: End rolls back to
  // where its Begin started.
  size_t mark_ = 0;
  bool mark_first_table_ = true;
  int64_t tables_shown_ = 0;
};

// An SQL literal of `value` for a column of `kind`: NULL, a number, 'text' (quotes and
// backslashes escaped), X'hex' for binary.
std::string SqlLiteral(const Value& value, ColumnKind kind);
// `name` quoted with backticks.
std::string QuoteIdent(std::string_view name);

}  // namespace rwd::diff
