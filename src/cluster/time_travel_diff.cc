// TimeTravel::Diff: the changes to the rows and definitions of a cluster's tables between two
// moments, from two time-travel instances read side by side (rows streamed in key order from
// the mariadb client, or compared by row hashes and fetched only where they differ), rendered
// by src/diff. Separate: a read-only feature of its own, with its own row sources.
#include "cluster/time_travel_internal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

#include "diff/row_diff.h"
#include "engine/sql_text.h"
#include "engine/subprocess.h"

namespace rwd::cluster {

using time_travel_internal::FactsOf;
using time_travel_internal::InvalidParam;
using time_travel_internal::Lines;
using time_travel_internal::RandomAlnum;
using time_travel_internal::Shown;
using time_travel_internal::TableFacts;
using time_travel_internal::TableName;
using time_travel_internal::UserTables;
using time_travel_internal::WriteClientOptions;

namespace {

// Batch output's escapes (\n, \t, \\, \0) undone: SHOW CREATE TABLE text as the server has it.
std::string Unescaped(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char c = text[++i];
    out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c == '0' ? '\0' : c);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The rows of one SELECT, streamed from `mariadb --quick -B -N` as root on an instance's socket.
class BatchStream : public diff::RowSource {
 public:
  static Result<std::unique_ptr<BatchStream>> Open(const engine::MariaDbEngine& e,
                                                   const std::string& dir, const std::string& sql,
                                                   const std::vector<diff::Column>& columns) {
    auto s = std::unique_ptr<BatchStream>(new BatchStream(columns));
    const std::string tag = RandomAlnum(8);
    s->cnf_ = dir + "/client-diff-" + tag + ".cnf";
    s->err_ = dir + "/diff-" + tag + ".err";
    RETURN_IF_ERROR(WriteClientOptions(s->cnf_, e, ""));
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
    int err = ::open(s->err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    engine::SpawnRequest r;
    r.argv = {e.options().client_path, "--defaults-file=" + s->cnf_, "--batch",
              "--skip-column-names", "--quick", "--execute=" + sql};
    r.stdout_fd = fds[1];
    r.stderr_fd = err;
    r.new_process_group = true;
    Result<pid_t> pid = engine::Spawn(r);
    ::close(fds[1]);
    if (err >= 0) ::close(err);
    if (!pid.ok()) {
      ::close(fds[0]);
      return pid.status();
    }
    s->pid_ = *pid;
    s->fd_ = fds[0];
    return s;
  }

  ~BatchStream() override {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);  // its own process group: stopped early (an error downstream)
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    std::filesystem::remove(cnf_, ec);
    std::filesystem::remove(err_, ec);
  }

  Result<bool> Next(diff::Row* row) override {
    std::string line;
    while (true) {
      const size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        line.assign(buf_, pos_, nl - pos_);
        pos_ = nl + 1;
        break;
      }
      if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      char chunk[1 << 16];
      const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "reading rows");
      if (n == 0) return Finish();
      buf_.append(chunk, static_cast<size_t>(n));
    }
    ASSIGN_OR_RETURN(*row, diff::ParseBatchLine(line, columns_));
    return true;
  }

 private:
  explicit BatchStream(std::vector<diff::Column> columns) : columns_(std::move(columns)) {}

  Result<bool> Finish() {
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::ifstream in(err_);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return Status::IOError("reading rows: mariadb " + engine::DescribeWaitStatus(st) + ": " +
                             text.substr(0, 1500));
    }
    if (pos_ < buf_.size()) return Status::Corruption("rows ended in the middle of a line");
    return false;
  }

  std::vector<diff::Column> columns_;
  std::string cnf_, err_;
  pid_t pid_ = 0;
  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
};

class NoRows : public diff::RowSource {
 public:
  Result<bool> Next(diff::Row*) override { return false; }
};

// Rows already fetched (one batch of DiffByHash).
class FetchedRows : public diff::RowSource {
 public:
  static Result<std::unique_ptr<diff::RowSource>> Parse(const std::string& text,
                                                        const std::vector<diff::Column>& columns) {
    auto r = std::make_unique<FetchedRows>();
    for (const std::string& line : Lines(text)) {
      ASSIGN_OR_RETURN(diff::Row row, diff::ParseBatchLine(line, columns));
      r->rows_.push_back(std::move(row));
    }
    return std::unique_ptr<diff::RowSource>(std::move(r));
  }
  Result<bool> Next(diff::Row* row) override {
    if (next_ >= rows_.size()) return false;
    *row = std::move(rows_[next_++]);
    return true;
  }

 private:
  std::vector<diff::Row> rows_;
  size_t next_ = 0;
};

struct TableShape {
  TableFacts facts;
  std::vector<diff::Column> columns;  // stored (not generated) columns, in order
  std::vector<size_t> key;            // the primary key's columns, in key order
};

Result<TableShape> ShapeOf(const engine::MariaDbEngine& e, const TableName& t) {
  TableShape s;
  ASSIGN_OR_RETURN(s.facts, FactsOf(e, t));
  if (!s.facts.exists || s.facts.type != "BASE TABLE") return s;
  ASSIGN_OR_RETURN(
      std::string out,
      e.RunSqlAsRoot(
          "SELECT HEX(c.COLUMN_NAME), c.DATA_TYPE, IFNULL(s.SEQ_IN_INDEX, 0), c.IS_NULLABLE FROM "
          "information_schema.COLUMNS c LEFT JOIN information_schema.STATISTICS s ON "
          "s.TABLE_SCHEMA = c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = "
          "c.COLUMN_NAME AND s.INDEX_NAME = 'PRIMARY' WHERE c.TABLE_SCHEMA = " +
          engine::SqlStringLiteral(t.first) + " AND c.TABLE_NAME = " +
          engine::SqlStringLiteral(t.second) +
          " AND c.GENERATION_EXPRESSION IS NULL ORDER BY c.ORDINAL_POSITION"));
  std::vector<std::pair<int, size_t>> key;
  for (const std::string& line : Lines(out)) {
    std::vector<std::string> f;
    std::istringstream in(line);
    std::string field;
    while (std::getline(in, field, '\t')) f.push_back(field);
    if (f.size() != 4) continue;
    diff::Column c;
    c.nullable = f[3] != "NO";
    auto name = diff::ParseBatchLine(f[0], {diff::Column{"name", diff::ColumnKind::kText, false}});
    if (!name.ok() || !(*name)[0]) return Status::Corruption("a column name of " + Shown(t));
    c.name = *(*name)[0];
    c.kind = diff::KindOfType(f[1]);
    c.bit = f[1] == "bit";
    if (const int seq = std::atoi(f[2].c_str()); seq > 0) key.emplace_back(seq, s.columns.size());
    s.columns.push_back(std::move(c));
  }
  std::sort(key.begin(), key.end());
  for (const auto& k : key) s.key.push_back(k.second);
  return s;
}

std::vector<std::string> KeyNames(const TableShape& s) {
  std::vector<std::string> names;
  for (size_t i : s.key) names.push_back(s.columns[i].name);
  return names;
}

}  // namespace

Result<std::string> TimeTravel::Diff(const std::string& cluster_id, int64_t t1_ns, int64_t t2_ns,
                                     const std::string& table, const std::string& format) {
  auto fmt = diff::ParseFormat(format);
  if (!fmt.ok()) {
    return InvalidParam(Reason::kDiffFormatInvalid,
                        {.field = Field::kDiffFormat, .input = BoundedInput(format),
                         .cause = fmt.status().message()});
  }
  std::optional<TableName> only;
  if (!table.empty()) {
    ASSIGN_OR_RETURN(only, ParseTableName(table));
  }
  ASSIGN_OR_RETURN(CopyOnWriteSource src1, impl_->service_->CopyOnWriteSourceOf(cluster_id, t1_ns));
  ASSIGN_OR_RETURN(CopyOnWriteSource src2, impl_->service_->CopyOnWriteSourceOf(cluster_id, t2_ns));
  // Both instances start at once (each is mostly waiting for its server).
  Result<std::unique_ptr<Impl::Lease>> lease2 = Status::Unavailable("not started");
  std::thread second([&] { lease2 = impl_->Acquire(src2); });
  Result<std::unique_ptr<Impl::Lease>> lease1 = impl_->Acquire(src1);
  second.join();
  if (!lease1.ok()) return lease1.status();
  if (!lease2.ok()) return lease2.status();
  const engine::MariaDbEngine& before = *(*lease1)->inst->engine;
  const engine::MariaDbEngine& after = *(*lease2)->inst->engine;
  const std::string dir1 = (*lease1)->inst->run_dir, dir2 = (*lease2)->inst->run_dir;

  std::vector<TableName> tables;
  if (only) {
    tables.push_back(*only);
  } else {
    ASSIGN_OR_RETURN(tables, UserTables(before));
    ASSIGN_OR_RETURN(std::vector<TableName> later, UserTables(after));
    tables.insert(tables.end(), later.begin(), later.end());
    std::sort(tables.begin(), tables.end());
    tables.erase(std::unique(tables.begin(), tables.end()), tables.end());
  }
  diff::DiffWriter writer(*fmt);
  for (const TableName& t : tables) {
    ASSIGN_OR_RETURN(TableShape s1, ShapeOf(before, t));
    ASSIGN_OR_RETURN(TableShape s2, ShapeOf(after, t));
    const bool in1 = s1.facts.exists && s1.facts.type == "BASE TABLE";
    const bool in2 = s2.facts.exists && s2.facts.type == "BASE TABLE";
    if (!in1 && !in2) {
      return InvalidParam(Reason::kNotATableAtEither, {.field = Field::kTable, .id = Shown(t),
                                                       .time_ns = src1.at_ns,
                                                       .time2_ns = src2.at_ns});
    }
    diff::TableHeader h;
    h.db = t.first;
    h.table = t.second;
    h.ddl_before = in1 ? Unescaped(s1.facts.ddl) : "";
    h.ddl_after = in2 ? Unescaped(s2.facts.ddl) : "";
    std::unique_ptr<diff::RowSource> rows1 = std::make_unique<NoRows>();
    std::unique_ptr<diff::RowSource> rows2 = std::make_unique<NoRows>();
    auto stream = [&](const engine::MariaDbEngine& e, const std::string& dir,
                      const std::vector<diff::Column>& cols,
                      const std::vector<size_t>& key) -> Result<std::unique_ptr<diff::RowSource>> {
      ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> bs,
                       BatchStream::Open(e, dir, diff::KeyOrderedSelect(t.first, t.second, cols, key),
                                         cols));
      return std::unique_ptr<diff::RowSource>(std::move(bs));
    };
    if (in1 && in2 && s1.facts.ddl == s2.facts.ddl) {
      h.schema = diff::SchemaChange::kUnchanged;
      h.columns = s1.columns;
      h.key = s1.key;
      if (h.key.empty()) {  // with a key, DiffByHash below reads the states
        ASSIGN_OR_RETURN(rows1, stream(before, dir1, h.columns, h.key));
        ASSIGN_OR_RETURN(rows2, stream(after, dir2, h.columns, h.key));
      }
    } else if (!in1) {
      // Created since: the undo drops it; the other renderings list its rows as inserted.
      h.schema = diff::SchemaChange::kCreated;
      h.columns = s2.columns;
      h.key = s2.key;
      if (*fmt != diff::Format::kSql) {
        ASSIGN_OR_RETURN(rows2, stream(after, dir2, h.columns, h.key));
      }
    } else if (!in2) {
      h.schema = diff::SchemaChange::kDropped;
      h.columns = s1.columns;
      h.key = s1.key;
      ASSIGN_OR_RETURN(rows1, stream(before, dir1, h.columns, h.key));
    } else {
      h.schema = diff::SchemaChange::kAltered;
      if (*fmt == diff::Format::kSql) {
        // The undo recreates it as it was and puts back every row it had.
        h.columns = s1.columns;
        h.key = s1.key;
        ASSIGN_OR_RETURN(rows1, stream(before, dir1, h.columns, h.key));
      } else {
        // Rows compared on the columns both definitions have (same kind), by the primary key
        // when it did not change.
        for (const diff::Column& c : s1.columns) {
          for (const diff::Column& d : s2.columns) {
            if (c.name == d.name && c.kind == d.kind && c.bit == d.bit) h.columns.push_back(c);
          }
        }
        if (KeyNames(s1) == KeyNames(s2)) {
          for (const std::string& k : KeyNames(s1)) {
            for (size_t i = 0; i < h.columns.size(); ++i) {
              if (h.columns[i].name == k) h.key.push_back(i);
            }
          }
          if (h.key.size() != s1.key.size()) h.key.clear();
        }
        if (!h.columns.empty()) {
          ASSIGN_OR_RETURN(rows1, stream(before, dir1, h.columns, h.key));
          ASSIGN_OR_RETURN(rows2, stream(after, dir2, h.columns, h.key));
        }
      }
    }
    writer.Begin(h);
    // A sink that stops the merge once the rendering is over its bound.
    class Bounded : public diff::ChangeSink {
     public:
      explicit Bounded(diff::DiffWriter& w) : w_(w) {}
      Status OnChange(const diff::Change& c) override {
        RETURN_IF_ERROR(w_.OnChange(c));
        if (w_.size() > kMaxDiffBytes) {
          return InvalidParam(Reason::kDiffTooLarge, {.number = kMaxDiffBytes});
        }
        return Status::Ok();
      }

     private:
      diff::DiffWriter& w_;
    } bounded(writer);
    Result<diff::DiffCounts> counts = Status::Ok();
    if (h.schema == diff::SchemaChange::kUnchanged && !h.key.empty()) {
      // Both states read once as (key, row hash); only the rows whose hash differs are fetched.
      const std::vector<diff::Column> hashed = diff::HashedColumns(h.columns, h.key);
      const std::string hash_sql = diff::RowHashSelect(t.first, t.second, h.columns, h.key);
      ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> hashes1,
                       BatchStream::Open(before, dir1, hash_sql, hashed));
      ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> hashes2,
                       BatchStream::Open(after, dir2, hash_sql, hashed));
      diff::FetchRows fetch = [&](const std::vector<diff::Row>& keys)
          -> Result<std::pair<std::unique_ptr<diff::RowSource>, std::unique_ptr<diff::RowSource>>> {
        const std::string sql = diff::KeyOrderedSelect(t.first, t.second, h.columns, h.key,
                                                       diff::KeyInList(h.columns, h.key, keys));
        ASSIGN_OR_RETURN(std::string text1, before.RunSqlAsRoot(sql));
        ASSIGN_OR_RETURN(std::string text2, after.RunSqlAsRoot(sql));
        ASSIGN_OR_RETURN(std::unique_ptr<diff::RowSource> r1, FetchedRows::Parse(text1, h.columns));
        ASSIGN_OR_RETURN(std::unique_ptr<diff::RowSource> r2, FetchedRows::Parse(text2, h.columns));
        return std::make_pair(std::move(r1), std::move(r2));
      };
      counts = diff::DiffByHash(*hashes1, *hashes2, h.columns, h.key, fetch, bounded, 5000);
    } else {
      counts = diff::DiffRows(*rows1, *rows2, h.columns, h.key, bounded);
    }
    if (!counts.ok()) return counts.status().WithContext("diff of " + Shown(t));
    writer.End(*counts);
  }
  return writer.Finish();
}

}  // namespace rwd::cluster
