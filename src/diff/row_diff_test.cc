// The merge of two ordered row streams, the parsing of batch output, key order, and the three
// renderings (the sql undo checked by applying it to a model of the table).
#include "diff/row_diff.h"

#include <gtest/gtest.h>

#include <map>

namespace rwd::diff {
namespace {

class VectorSource : public RowSource {
 public:
  explicit VectorSource(std::vector<Row> rows) : rows_(std::move(rows)) {}
  Result<bool> Next(Row* row) override {
    if (i_ >= rows_.size()) return false;
    *row = rows_[i_++];
    return true;
  }

 private:
  std::vector<Row> rows_;
  size_t i_ = 0;
};

class Collect : public ChangeSink {
 public:
  Status OnChange(const Change& c) override {
    changes.push_back(c);
    return Status::Ok();
  }
  std::vector<Change> changes;
};

const std::vector<Column> kCols = {{"id", ColumnKind::kNumeric, false},
                                   {"v", ColumnKind::kText, false},
                                   {"b", ColumnKind::kBinary, false}};

Row R(int id, std::optional<std::string> v, std::optional<std::string> b = std::nullopt) {
  return Row{std::to_string(id), std::move(v), std::move(b)};
}

TEST(DiffRows, InsertsDeletesUpdatesInKeyOrder) {
  VectorSource before({R(1, "a"), R(2, "b"), R(3, "c"), R(10, "x")});
  VectorSource after({R(2, "b"), R(3, "C"), R(4, "d"), R(10, "x"), R(11, std::nullopt)});
  Collect sink;
  auto counts = DiffRows(before, after, kCols, {0}, sink);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->deleted, 1);
  EXPECT_EQ(counts->updated, 1);
  EXPECT_EQ(counts->inserted, 2);
  EXPECT_EQ(counts->unchanged, 2);
  ASSERT_EQ(sink.changes.size(), 4u);
  EXPECT_EQ(sink.changes[0].op, Change::Op::kDelete);
  EXPECT_EQ(*sink.changes[0].before[0], "1");
  EXPECT_EQ(sink.changes[1].op, Change::Op::kUpdate);
  EXPECT_EQ(*sink.changes[1].before[1], "c");
  EXPECT_EQ(*sink.changes[1].after[1], "C");
  EXPECT_EQ(sink.changes[2].op, Change::Op::kInsert);
  EXPECT_EQ(sink.changes[3].op, Change::Op::kInsert);
  EXPECT_FALSE(sink.changes[3].after[1].has_value());
}

TEST(DiffRows, NumericKeysCompareByValueNotText) {
  // 9 < 10 (text order would put "10" first); the streams come in numeric order.
  VectorSource before({R(9, "a"), R(10, "b")});
  VectorSource after({R(9, "a"), R(10, "b")});
  Collect sink;
  auto counts = DiffRows(before, after, kCols, {0}, sink);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->unchanged, 2);
  EXPECT_TRUE(sink.changes.empty());
}

TEST(DiffRows, WholeRowsAsAMultiset) {
  // No key: duplicates pair off one by one.
  std::vector<Column> cols = {{"v", ColumnKind::kText, false}};
  VectorSource before({Row{"a"}, Row{"a"}, Row{"b"}});
  VectorSource after({Row{"a"}, Row{"b"}, Row{"b"}, Row{std::nullopt}});
  // NULL sorts first: put it first as ORDER BY would.
  VectorSource after_sorted({Row{std::nullopt}, Row{"a"}, Row{"b"}, Row{"b"}});
  Collect sink;
  auto counts = DiffRows(before, after_sorted, cols, {}, sink);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->inserted, 2);  // NULL, second b
  EXPECT_EQ(counts->deleted, 1);   // second a
  EXPECT_EQ(counts->updated, 0);
  Collect unsorted;
  VectorSource before2({Row{"a"}});
  EXPECT_FALSE(DiffRows(before2, after, cols, {}, unsorted).ok());  // NULL after "b": refused
}

TEST(DiffRows, OutOfOrderStreamIsRefused) {
  VectorSource before({R(2, "a"), R(1, "b")});
  VectorSource after({});
  Collect sink;
  auto counts = DiffRows(before, after, kCols, {0}, sink);
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.status().message().find("key order"), std::string::npos);
}

TEST(DiffByHash, FetchesOnlyWhatDiffersInBatches) {
  // Full rows at each time, and their (key, hash) streams (the hash: any text that changes with
  // the row).
  std::vector<Row> before, after;
  for (int i = 1; i <= 50; ++i) {
    if (i % 10 != 0) before.push_back(R(i, "v" + std::to_string(i)));  // 10, 20.. inserted later
    if (i % 7 != 0) after.push_back(R(i, i % 5 == 0 ? "changed" : "v" + std::to_string(i)));
  }
  auto hashes = [](const std::vector<Row>& rows) {
    std::vector<Row> out;
    for (const Row& r : rows) out.push_back(Row{r[0], *r[1] + "#"});
    return out;
  };
  VectorSource hb(hashes(before)), ha(hashes(after));
  int fetches = 0;
  size_t most = 0;
  FetchRows fetch = [&](const std::vector<Row>& keys)
      -> Result<std::pair<std::unique_ptr<RowSource>, std::unique_ptr<RowSource>>> {
    ++fetches;
    most = std::max(most, keys.size());
    auto pick = [&](const std::vector<Row>& rows) {
      std::vector<Row> out;
      for (const Row& r : rows) {
        for (const Row& k : keys) {
          if (k[0] == r[0]) out.push_back(r);
        }
      }
      return std::make_unique<VectorSource>(out);
    };
    return std::make_pair(std::unique_ptr<RowSource>(pick(before)),
                          std::unique_ptr<RowSource>(pick(after)));
  };
  Collect by_hash;
  auto counts = DiffByHash(hb, ha, kCols, {0}, fetch, by_hash, 4);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  // The same changes as a full merge.
  VectorSource fb(before), fa(after);
  Collect full;
  auto expected = DiffRows(fb, fa, kCols, {0}, full);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(counts->inserted, expected->inserted);
  EXPECT_EQ(counts->deleted, expected->deleted);
  EXPECT_EQ(counts->updated, expected->updated);
  EXPECT_EQ(counts->unchanged, expected->unchanged);
  ASSERT_EQ(by_hash.changes.size(), full.changes.size());
  for (size_t i = 0; i < full.changes.size(); ++i) {
    EXPECT_EQ(by_hash.changes[i].op, full.changes[i].op);
    EXPECT_EQ(by_hash.changes[i].before, full.changes[i].before);
    EXPECT_EQ(by_hash.changes[i].after, full.changes[i].after);
  }
  EXPECT_LE(most, 4u);
  EXPECT_GT(fetches, 1);
}

TEST(RowHashSelect, KeysThenHashInKeyOrder) {
  std::vector<Column> cols = {{"id", ColumnKind::kNumeric, false, false},
                              {"v", ColumnKind::kText, false, true}};
  EXPECT_EQ(RowHashSelect("d", "t", cols, {0}),
            "SELECT `id`, MD5(CONCAT(IFNULL(CONCAT(LENGTH(`id`), ':', `id`), 'N'), "
            "IFNULL(CONCAT(LENGTH(`v`), ':', `v`), 'N'))) FROM `d`.`t` ORDER BY `id`");
  EXPECT_EQ(KeyInList(cols, {0}, {Row{"1", "h"}, Row{"2", "h"}}), "`id` IN (1, 2)");
  EXPECT_EQ(KeyInList(cols, {0, 1}, {Row{"1", "a", "h"}}), "(`id`, `v`) IN ((1, 'a'))");
  EXPECT_EQ(KeyOrderedSelect("d", "t", cols, {0}, "`id` IN (1)"),
            "SELECT `id`, HEX(`v`) FROM `d`.`t` WHERE `id` IN (1) ORDER BY `id`");
}

TEST(CompareNumbers, DecimalsSignsAndExponents) {
  EXPECT_LT(CompareNumbers("9", "10"), 0);
  EXPECT_GT(CompareNumbers("-9", "-10"), 0);
  EXPECT_LT(CompareNumbers("-1", "0"), 0);
  EXPECT_EQ(CompareNumbers("1.50", "1.5"), 0);
  EXPECT_EQ(CompareNumbers("-0", "0"), 0);
  EXPECT_LT(CompareNumbers("0.05", "0.5"), 0);
  EXPECT_LT(CompareNumbers("18446744073709551614", "18446744073709551615"), 0);
  EXPECT_LT(CompareNumbers("1e+20", "2e+20"), 0);
  EXPECT_GT(CompareNumbers("1e+20", "99"), 0);
}

TEST(ParseBatchLine, HexNullAndNumbers) {
  auto row = ParseBatchLine("42\t4E554C4C\tNULL", kCols);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(*(*row)[0], "42");
  EXPECT_EQ(*(*row)[1], "NULL");  // the string 'NULL', not a NULL
  EXPECT_FALSE((*row)[2].has_value());
  row = ParseBatchLine("1\t09\t000A", kCols);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(*(*row)[1], "\t");
  EXPECT_EQ(*(*row)[2], std::string("\0\n", 2));
  EXPECT_FALSE(ParseBatchLine("1\t41", kCols).ok());          // a field short
  EXPECT_FALSE(ParseBatchLine("1\t41\t42\t43", kCols).ok());  // a field over
  EXPECT_FALSE(ParseBatchLine("1\t4G\t42", kCols).ok());      // not hex
  EXPECT_FALSE(ParseBatchLine("1\t414\t42", kCols).ok());     // odd length
}

TEST(ParseBatchLine, NotNullColumnsAsPrinted) {
  std::vector<Column> cols = {{"id", ColumnKind::kNumeric, false, false},
                              {"t", ColumnKind::kText, false, false},
                              {"b", ColumnKind::kBinary, false, false}};
  auto row = ParseBatchLine("7\t\\ta\\\\b\\n\tNULL", cols);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(*(*row)[1], "\ta\\b\n");
  EXPECT_EQ(*(*row)[2], "NULL");  // NOT NULL: the string
  row = ParseBatchLine("8\tx\t\\0\\\\", cols);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(*(*row)[2], std::string("\0\\", 2));
  EXPECT_EQ(KeyOrderedSelect("d", "t", cols, {0}), "SELECT `id`, `t`, `b` FROM `d`.`t` ORDER BY `id`");
}

TEST(KeyOrderedSelect, HexesTextAndOrdersByBytes) {
  std::vector<Column> cols = {{"id", ColumnKind::kNumeric, false},
                              {"na`me", ColumnKind::kText, false},
                              {"flags", ColumnKind::kNumeric, true}};
  EXPECT_EQ(KeyOrderedSelect("db", "t", cols, {1, 0}),
            "SELECT `id`, HEX(`na``me`), `flags` + 0 FROM `db`.`t` ORDER BY BINARY `na``me`, `id`");
  EXPECT_EQ(KeyOrderedSelect("db", "t", cols, {}),
            "SELECT `id`, HEX(`na``me`), `flags` + 0 FROM `db`.`t` ORDER BY `id`, BINARY "
            "`na``me`, `flags` + 0");
}

TEST(KindOfType, Classes) {
  EXPECT_EQ(KindOfType("bigint"), ColumnKind::kNumeric);
  EXPECT_EQ(KindOfType("decimal"), ColumnKind::kNumeric);
  EXPECT_EQ(KindOfType("varchar"), ColumnKind::kText);
  EXPECT_EQ(KindOfType("datetime"), ColumnKind::kText);
  EXPECT_EQ(KindOfType("longblob"), ColumnKind::kBinary);
}

// A model table keyed by id: applies the undo's simple statements to the state "after".
TEST(DiffWriter, SqlUndoTurnsAfterIntoBefore) {
  std::vector<Row> before = {R(1, "a"), R(2, "it's"), R(3, "c", std::string("\x01\x00", 2))};
  std::vector<Row> after = {R(2, "it's"), R(3, "changed", std::string("\x01\x00", 2)), R(4, "new")};
  VectorSource b(before), a(after);
  DiffWriter w(Format::kSql);
  TableHeader h{"db", "t", SchemaChange::kUnchanged, "", "", kCols, {0}};
  w.Begin(h);
  auto counts = DiffRows(b, a, kCols, {0}, w);
  ASSERT_TRUE(counts.ok());
  w.End(*counts);
  const std::string sql = w.Finish();
  EXPECT_NE(sql.find("DELETE FROM `db`.`t` WHERE `id` <=> 4;"), std::string::npos) << sql;
  EXPECT_NE(sql.find("INSERT INTO `db`.`t` (`id`, `v`, `b`) VALUES (1, 'a', NULL);"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("UPDATE `db`.`t` SET `v` = 'c' WHERE `id` <=> 3;"), std::string::npos) << sql;
  EXPECT_EQ(sql.find("`id` <=> 2"), std::string::npos) << sql;  // unchanged rows: nothing
  EXPECT_NE(sql.find("-- 1 inserted, 1 deleted, 1 updated"), std::string::npos);
}

TEST(DiffWriter, SqlUndoRemovesBeforeItInserts) {
  // Under a case-insensitive key, 'B' (only at T1) and 'b' (only at T2) collide: the undo must
  // remove 'b' before it puts 'B' back, although 'B' comes first in key order.
  std::vector<Column> cols = {{"k", ColumnKind::kText, false}};
  VectorSource b({Row{"B"}}), a({Row{"b"}});
  DiffWriter w(Format::kSql);
  w.Begin(TableHeader{"db", "t", SchemaChange::kUnchanged, "", "", cols, {0}});
  auto counts = DiffRows(b, a, cols, {0}, w);
  ASSERT_TRUE(counts.ok());
  w.End(*counts);
  const std::string sql = w.Finish();
  const size_t del = sql.find("DELETE FROM `db`.`t` WHERE `k` <=> 'b';");
  const size_t ins = sql.find("INSERT INTO `db`.`t` (`k`) VALUES ('B');");
  ASSERT_NE(del, std::string::npos) << sql;
  ASSERT_NE(ins, std::string::npos) << sql;
  EXPECT_LT(del, ins) << sql;
  // Without a key, text is matched byte for byte.
  VectorSource b2({}), a2({Row{"x"}});
  DiffWriter w2(Format::kSql);
  w2.Begin(TableHeader{"db", "n", SchemaChange::kUnchanged, "", "", cols, {}});
  ASSERT_TRUE(DiffRows(b2, a2, cols, {}, w2).ok());
  w2.End(DiffCounts{1, 0, 0, 0});
  EXPECT_NE(w2.Finish().find("WHERE `k` <=> 'x' AND BINARY `k` = BINARY 'x' LIMIT 1;"),
            std::string::npos);
}

TEST(DiffWriter, SchemaChangesAndNoKey) {
  DiffWriter w(Format::kSql);
  w.Begin(TableHeader{"db", "gone", SchemaChange::kCreated, "", "CREATE TABLE `gone` (x INT)",
                      {{"x", ColumnKind::kNumeric, false}}, {}});
  Change ins;
  ins.op = Change::Op::kInsert;
  ins.after = Row{"1"};
  ASSERT_TRUE(w.OnChange(ins).ok());
  w.End(DiffCounts{1, 0, 0, 0});
  w.Begin(TableHeader{"db", "nokey", SchemaChange::kUnchanged, "", "",
                      {{"x", ColumnKind::kNumeric, false}}, {}});
  ASSERT_TRUE(w.OnChange(ins).ok());
  w.End(DiffCounts{1, 0, 0, 0});
  const std::string sql = w.Finish();
  EXPECT_NE(sql.find("DROP TABLE `db`.`gone`;"), std::string::npos) << sql;
  EXPECT_EQ(sql.find("DELETE FROM `db`.`gone`"), std::string::npos) << sql;
  EXPECT_NE(sql.find("no primary key"), std::string::npos) << sql;
  EXPECT_NE(sql.find("DELETE FROM `db`.`nokey` WHERE `x` <=> 1 LIMIT 1;"), std::string::npos) << sql;
}

TEST(DiffWriter, JsonAndTableShapes) {
  for (Format f : {Format::kJson, Format::kTable}) {
    VectorSource b({R(1, "a"), R(5, "same")}), a({R(1, "b"), R(5, "same")});
    DiffWriter w(f);
    w.Begin(TableHeader{"db", "t", SchemaChange::kUnchanged, "", "", kCols, {0}});
    auto counts = DiffRows(b, a, kCols, {0}, w);
    ASSERT_TRUE(counts.ok());
    w.End(*counts);
    // An unchanged table leaves nothing.
    VectorSource same1({R(1, "x")}), same2({R(1, "x")});
    w.Begin(TableHeader{"db", "quiet", SchemaChange::kUnchanged, "", "", kCols, {0}});
    auto quiet = DiffRows(same1, same2, kCols, {0}, w);
    ASSERT_TRUE(quiet.ok());
    w.End(*quiet);
    const std::string out = w.Finish();
    EXPECT_EQ(out.find("quiet"), std::string::npos) << out;
    if (f == Format::kJson) {
      EXPECT_EQ(out,
                "[\n{\"table\":\"db.t\",\"schema\":\"unchanged\",\"compared_by\":\"primary key\","
                "\"key\":[\"id\"],\"changes\":[\n{\"op\":\"update\",\"before\":{\"id\":1,\"v\":"
                "\"a\",\"b\":null},\"after\":{\"id\":1,\"v\":\"b\",\"b\":null}}\n],\"counts\":{"
                "\"inserted\":0,\"deleted\":0,\"updated\":1}}\n]\n");
    } else {
      EXPECT_EQ(out,
                "db.t: schema unchanged; rows by primary key (id)\n"
                "  ~ updated  id=1: v: 'a' -> 'b'\n"
                "  0 inserted, 0 deleted, 1 updated\n");
    }
  }
  DiffWriter empty(Format::kJson);
  EXPECT_EQ(empty.Finish(), "[]\n");
  DiffWriter none(Format::kTable);
  EXPECT_EQ(none.Finish(), "No changes.\n");
}

TEST(DiffWriter, SummaryHasCountsWithoutRows) {
  VectorSource b({R(1, "a"), R(2, "gone")}), a({R(1, "b"), R(3, "new")});
  DiffWriter w(Format::kSummary);
  w.Begin(TableHeader{"db", "t", SchemaChange::kUnchanged, "", "", kCols, {0}});
  auto counts = DiffRows(b, a, kCols, {0}, w);
  ASSERT_TRUE(counts.ok());
  w.End(*counts);
  VectorSource dropped({R(7, "x")}), nothing(std::vector<Row>{});
  w.Begin(TableHeader{"db", "d", SchemaChange::kDropped, "CREATE TABLE d (id int)", "", kCols, {0}});
  auto gone = DiffRows(dropped, nothing, kCols, {0}, w);
  ASSERT_TRUE(gone.ok());
  w.End(*gone);
  EXPECT_EQ(w.Finish(),
            "[\n{\"table\":\"db.t\",\"schema\":\"unchanged\",\"compared_by\":\"primary key\","
            "\"key\":[\"id\"],\"counts\":{\"inserted\":1,\"deleted\":1,\"updated\":1}},\n"
            "{\"table\":\"db.d\",\"schema\":\"dropped\",\"compared_by\":\"primary key\","
            "\"key\":[\"id\"],\"definition_before\":\"CREATE TABLE d (id int)\","
            "\"definition_after\":\"\",\"counts\":{\"inserted\":0,\"deleted\":1,\"updated\":0}}\n]\n");
  EXPECT_TRUE(ParseFormat("summary").ok());
  DiffWriter empty(Format::kSummary);
  EXPECT_EQ(empty.Finish(), "[]\n");
}

}  // namespace
}  // namespace rwd::diff
