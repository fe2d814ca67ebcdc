// MetaDb: schema versions and migrations (an old-shaped file is migrated in place, its data
// kept; a newer version is refused unchanged), tags, and event pruning.
#include "cluster/meta_db.h"
#include "cluster/op_journal.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "common/test_util.h"

namespace rwd::cluster {
namespace {

// Runs SQL on a file with a raw connection (a file as an older or newer rewindd left it).
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(SQLITE_OK, sqlite3_open(path.c_str(), &db));
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(SQLITE_OK, rc) << msg;
}

int RawUserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(SQLITE_OK, sqlite3_open(path.c_str(), &db));
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  int v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

TEST(MetaDbSchema, FreshFileIsAtTheCurrentVersion) {
  testing::TempDir dir;
  auto db = MetaDb::Open(dir.path() + "/meta.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto v = (*db)->SchemaVersion();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(MetaDb::kSchemaVersion, *v);
}

// The schema rewindd wrote before versions existed (user_version 0), restore_to_ns absent as in
// the oldest files, with a cluster, an instance, a backtrack and an event.
TEST(MetaDbSchema, VersionZeroFileIsMigratedInPlaceDataKept) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  RawExec(path, R"sql(
    CREATE TABLE clusters (
      id TEXT PRIMARY KEY, resource_id TEXT, engine TEXT, engine_version TEXT,
      master_username TEXT, database_name TEXT, status TEXT, port INTEGER,
      backtrack_window_s INTEGER, create_time_ns INTEGER, clone_group_id TEXT,
      source_cluster TEXT, volume TEXT, backtrack_disabled INTEGER);
    CREATE TABLE instances (
      id TEXT PRIMARY KEY, cluster_id TEXT, resource_id TEXT, instance_class TEXT, status TEXT,
      create_time_ns INTEGER);
    CREATE TABLE backtracks (
      id TEXT PRIMARY KEY, cluster_id TEXT, backtrack_to_ns INTEGER, backtracked_from_ns INTEGER,
      request_time_ns INTEGER, status TEXT, message TEXT);
    CREATE TABLE events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT, source_type TEXT, message TEXT,
      categories TEXT, date_ns INTEGER);
    INSERT INTO clusters VALUES ('lab', 'cluster-X', 'aurora-mysql', '10.11', 'masteruser',
      'mylab', 'available', 3306, 86400, 5, 'cg', '', 'lab', 0);
    INSERT INTO instances VALUES ('lab-1', 'lab', 'db-Y', 'db.r5.large', 'available', 6);
    INSERT INTO backtracks VALUES ('bt', 'lab', 1, 2, 3, 'completed', '');
    INSERT INTO events (source_id, source_type, message, categories, date_ns)
      VALUES ('lab', 'db-cluster', 'DB cluster created', 'creation', 7);
  )sql");
  ASSERT_EQ(0, RawUserVersion(path));

  auto db = MetaDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(MetaDb::kSchemaVersion, *(*db)->SchemaVersion());
  auto c = (*db)->GetCluster("lab");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ("masteruser", (*c)->master_username);
  EXPECT_EQ(86400, (*c)->backtrack_window_s);
  EXPECT_EQ(0, (*c)->restore_to_ns);
  EXPECT_FALSE((*c)->deletion_protection);
  auto i = (*db)->GetInstance("lab-1");
  ASSERT_TRUE(i.ok() && i->has_value());
  EXPECT_EQ("db.r5.large", (*i)->instance_class);
  auto bts = (*db)->ListBacktracks("lab");
  ASSERT_TRUE(bts.ok());
  ASSERT_EQ(1u, bts->size());
  EXPECT_EQ(BacktrackStatus::kCompleted, (*bts)[0].status);
  auto ev = (*db)->ListEvents();
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(1u, ev->size());
  EXPECT_EQ("DB cluster created", (*ev)[0].message);

  // The new columns and tables work on the migrated file.
  ClusterRow row = **c;
  row.deletion_protection = true;
  ASSERT_TRUE((*db)->PutCluster(row).ok());
  ASSERT_TRUE((*db)->PutTags("cluster", "lab", {{"team", "db"}}).ok());
  db->reset();
  auto again = MetaDb::Open(path);  // opening a current file again changes nothing
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*(*again)->GetCluster("lab"))->deletion_protection);
  EXPECT_EQ(1u, (*again)->ListTags("cluster", "lab")->size());
}

// A version 2 file (before per-cluster engine uids) gains clusters.engine_uid, 0 for the
// clusters it held, which keep their data; the column is then stored and read back.
TEST(MetaDbSchema, VersionTwoFileGainsEngineUidDataKept) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto db = MetaDb::Open(path);
    ASSERT_TRUE(db.ok());
  }
  // Back to the v2 shape: without the column, at user_version 2.
  RawExec(path, R"sql(
    DROP TABLE param_groups; DROP TABLE param_values; DROP TABLE param_catalog;
    ALTER TABLE clusters DROP COLUMN param_group; ALTER TABLE instances DROP COLUMN param_group;
    ALTER TABLE clusters DROP COLUMN engine_uid;
    ALTER TABLE clusters DROP COLUMN volume_id;
    DROP TABLE operations;
    DROP TABLE snapshots;
    ALTER TABLE events DROP COLUMN kind;
    INSERT INTO clusters (id, resource_id, engine, engine_version, master_username,
      database_name, status, port, backtrack_window_s, create_time_ns, clone_group_id,
      source_cluster, volume, backtrack_disabled, restore_to_ns, deletion_protection)
      VALUES ('old', 'cluster-Z', 'aurora-mysql', '10.11', 'admin', 'db', 'available', 3307,
              3600, 9, 'cg', '', 'old', 0, 0, 1);
    PRAGMA user_version = 2;
  )sql");
  ASSERT_EQ(2, RawUserVersion(path));
  auto db = MetaDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(8, MetaDb::kSchemaVersion);
  EXPECT_EQ(MetaDb::kSchemaVersion, *(*db)->SchemaVersion());
  auto c = (*db)->GetCluster("old");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ("admin", (*c)->master_username);
  EXPECT_EQ(3307, (*c)->port);
  EXPECT_TRUE((*c)->deletion_protection);
  EXPECT_EQ(0, (*c)->engine_uid);
  ClusterRow row = **c;
  row.engine_uid = 2100000007;
  ASSERT_TRUE((*db)->PutCluster(row).ok());
  db->reset();
  auto again = MetaDb::Open(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(2100000007, (*(*again)->GetCluster("old"))->engine_uid);
}

TEST(MetaDbSchema, VersionThreeFileGainsVolumeIdsAndTheJournal) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto db = MetaDb::Open(path);
    ASSERT_TRUE(db.ok());
  }
  // Back to the v3 shape: no volume ids, no journal, at user_version 3.
  RawExec(path, R"sql(
    DROP TABLE param_groups; DROP TABLE param_values; DROP TABLE param_catalog;
    ALTER TABLE clusters DROP COLUMN param_group; ALTER TABLE instances DROP COLUMN param_group;
    ALTER TABLE clusters DROP COLUMN volume_id;
    DROP TABLE operations;
    DROP TABLE snapshots;
    ALTER TABLE events DROP COLUMN kind;
    INSERT INTO clusters (id, resource_id, engine, engine_version, master_username,
      database_name, status, port, backtrack_window_s, create_time_ns, clone_group_id,
      source_cluster, volume, backtrack_disabled, restore_to_ns, deletion_protection, engine_uid)
      VALUES ('old', 'cluster-Z', 'aurora-mysql', '10.11', 'admin', 'db', 'backtracking', 3307,
              3600, 9, 'cg', '', 'old', 0, 0, 0, 2100000001);
    INSERT INTO events (source_id, source_type, message, categories, date_ns)
      VALUES ('old', 'db-cluster', 'DB cluster created', 'creation', 7);
    PRAGMA user_version = 3;
  )sql");
  auto db = MetaDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(MetaDb::kSchemaVersion, *(*db)->SchemaVersion());
  auto c = (*db)->GetCluster("old");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ(0, (*c)->volume_id);  // rewindd fills it in at its start
  EXPECT_EQ(2100000001, (*c)->engine_uid);
  EXPECT_EQ(ClusterStatus::kBacktracking, (*c)->status);
  // An event of v3 keeps its text, as a plain message (kind 0).
  auto events = (*db)->ListEvents();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(1u, events->size());
  EXPECT_EQ(0, events->front().kind);
  EXPECT_EQ("DB cluster created", events->front().message);
  OpJournal journal(db->get());
  auto none = journal.Unfinished();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

// A version 4 file (before snapshots) gains the snapshots table; its rows are stored and read
// back, and a snapshot's tags go with it.
TEST(MetaDbSchema, VersionFourFileGainsSnapshots) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto db = MetaDb::Open(path);
    ASSERT_TRUE(db.ok());
  }
  RawExec(path,
          "DROP TABLE param_groups; DROP TABLE param_values; DROP TABLE param_catalog; "
          "ALTER TABLE clusters DROP COLUMN param_group; "
          "ALTER TABLE instances DROP COLUMN param_group; "
          "DROP TABLE snapshots; PRAGMA user_version = 4;");
  ASSERT_EQ(4, RawUserVersion(path));
  auto db = MetaDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(MetaDb::kSchemaVersion, *(*db)->SchemaVersion());
  SnapshotRow row{.id = "s1", .cluster_id = "c1", .pin_id = 3, .status = "available",
                  .create_ns = 11, .cluster_create_ns = 7, .engine = "aurora-mysql",
                  .engine_version = "10.11", .port = 3307, .master_username = "admin",
                  .database_name = "db", .allocated_gb = 1};
  ASSERT_TRUE((*db)->PutSnapshot(row).ok());
  ASSERT_TRUE((*db)->PutTags("cluster-snapshot", "s1", {TagRow{"k", "v"}}).ok());
  auto got = (*db)->GetSnapshot("s1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(3, (*got)->pin_id);
  EXPECT_EQ(3307, (*got)->port);
  EXPECT_EQ("admin", (*got)->master_username);
  EXPECT_EQ(1u, (*db)->ListSnapshots()->size());
  ASSERT_TRUE((*db)->DeleteSnapshot("s1").ok());
  EXPECT_FALSE((*db)->GetSnapshot("s1")->has_value());
  EXPECT_TRUE((*db)->ListTags("cluster-snapshot", "s1")->empty());
}

TEST(OpJournal, StepsAndEndsAreKeptAndUnfinishedOnesListed) {
  testing::TempDir dir;
  auto db = MetaDb::Open(dir.path() + "/meta.db");
  ASSERT_TRUE(db.ok());
  OpJournal journal(db->get());
  Operation bt{.kind = OpKind::kBacktrack, .target = "c1", .ref = "bt-1", .arg_ns = 42,
               .timeline_before = 7};
  ASSERT_TRUE(journal.Begin(&bt).ok());
  EXPECT_GT(bt.id, 0);
  Operation del{.kind = OpKind::kDelete, .target = "c2"};
  ASSERT_TRUE(journal.Begin(&del).ok());
  ASSERT_TRUE(journal.Step(&bt, OpStep::kHalted).ok());
  bt.timeline_after = 9;
  ASSERT_TRUE(journal.Step(&bt, OpStep::kRebranched).ok());
  ASSERT_TRUE(journal.Finish(&del, OpState::kFailed, "disk full").ok());
  db->reset();

  // Reopened, as after a crash: only the backtrack is unfinished, with its results.
  auto again = MetaDb::Open(dir.path() + "/meta.db");
  ASSERT_TRUE(again.ok());
  OpJournal reopened(again->get());
  auto open = reopened.Unfinished();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(1u, open->size());
  const Operation& got = open->front();
  EXPECT_EQ(bt.id, got.id);
  EXPECT_EQ(OpKind::kBacktrack, got.kind);
  EXPECT_EQ("bt-1", got.ref);
  EXPECT_EQ(42, got.arg_ns);
  EXPECT_EQ(OpStep::kRebranched, got.step);
  EXPECT_EQ(7, got.timeline_before);
  EXPECT_EQ(9, got.timeline_after);
  auto history = reopened.History("c2", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(1u, history->size());
  EXPECT_EQ(OpState::kFailed, history->front().state);
  EXPECT_EQ("disk full", history->front().message);
  Operation unknown;
  unknown.id = 999;
  EXPECT_EQ(Status::Code::kNotFound, reopened.Step(&unknown, OpStep::kHalted).code());
}

TEST(MetaDbStatus, NamesRoundTripAndUnknownTextReadsAsFailed) {
  for (ClusterStatus c : {ClusterStatus::kCreating, ClusterStatus::kAvailable,
                          ClusterStatus::kBacktracking, ClusterStatus::kDeleting,
                          ClusterStatus::kFailed, ClusterStatus::kStopping,
                          ClusterStatus::kStopped, ClusterStatus::kStarting,
                          ClusterStatus::kFailingOver}) {
    ClusterStatus back = ClusterStatus::kCreating;
    ParseStatus(StatusName(c), &back);
    EXPECT_EQ(c, back) << StatusName(c);
  }
  InstanceStatus i = InstanceStatus::kAvailable;
  ParseStatus("rebooting", &i);
  EXPECT_EQ(InstanceStatus::kRebooting, i);
  ParseStatus("stopped", &i);
  EXPECT_EQ(InstanceStatus::kStopped, i);
  ParseStatus("upgrading", &i);  // a state of a newer rewindd
  EXPECT_EQ(InstanceStatus::kFailed, i);
  BacktrackStatus b = BacktrackStatus::kPending;
  ParseStatus("applying", &b);
  EXPECT_EQ(BacktrackStatus::kApplying, b);
}

TEST(MetaDbSchema, NewerVersionIsRefusedUnchanged) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto db = MetaDb::Open(path);
    ASSERT_TRUE(db.ok());
  }
  RawExec(path, "PRAGMA user_version = " + std::to_string(MetaDb::kSchemaVersion + 1));
  auto db = MetaDb::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, db.status().code());
  EXPECT_NE(std::string::npos, db.status().message().find("newer")) << db.status().ToString();
  EXPECT_EQ(MetaDb::kSchemaVersion + 1, RawUserVersion(path));
}

TEST(MetaDbTags, PutListRemoveAndDeleteWithTheResource) {
  testing::TempDir dir;
  auto db = MetaDb::Open(dir.path() + "/meta.db");
  ASSERT_TRUE(db.ok());
  MetaDb& m = **db;
  ClusterRow c;
  c.id = "lab";
  ASSERT_TRUE(m.PutCluster(c).ok());
  ASSERT_TRUE(m.PutTags("cluster", "lab", {{"a", "1"}, {"b", "2"}}).ok());
  ASSERT_TRUE(m.PutTags("cluster", "lab", {{"a", "3"}, {"c", ""}}).ok());
  auto t = m.ListTags("cluster", "lab");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(3u, t->size());
  EXPECT_EQ("a", (*t)[0].key);  // an overwritten key keeps its place
  EXPECT_EQ("3", (*t)[0].value);
  EXPECT_EQ("c", (*t)[2].key);
  EXPECT_TRUE(m.ListTags("db", "lab")->empty());  // kinds are separate
  ASSERT_TRUE(m.RemoveTags("cluster", "lab", {"b", "absent"}).ok());
  EXPECT_EQ(2u, m.ListTags("cluster", "lab")->size());
  ASSERT_TRUE(m.DeleteCluster("lab").ok());
  EXPECT_TRUE(m.ListTags("cluster", "lab")->empty());
  InstanceRow i;
  i.id = "lab-1";
  ASSERT_TRUE(m.PutInstance(i).ok());
  ASSERT_TRUE(m.PutTags("db", "lab-1", {{"k", "v"}}).ok());
  ASSERT_TRUE(m.DeleteInstance("lab-1").ok());
  EXPECT_TRUE(m.ListTags("db", "lab-1")->empty());
}

TEST(MetaDbEvents, PruneDeletesOnlyOlderEvents) {
  testing::TempDir dir;
  auto db = MetaDb::Open(dir.path() + "/meta.db");
  ASSERT_TRUE(db.ok());
  MetaDb& m = **db;
  for (int64_t d : {10, 20, 30, 40}) {
    ASSERT_TRUE(m.AddEvent(EventRow{"lab", "db-cluster", "e" + std::to_string(d), "", d}).ok());
  }
  auto pruned = m.PruneEvents(30);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(2, *pruned);
  auto ev = m.ListEvents();
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(2u, ev->size());
  EXPECT_EQ(30, (*ev)[0].date_ns);
  EXPECT_EQ(40, (*ev)[1].date_ns);
  EXPECT_EQ(0, *m.PruneEvents(30));
}

// The object-store shipper's copy: a backup file opens as a MetaDb with the same rows, and the
// change count moves with every change.
// Parameter groups (migration 6): groups, their values (replaced whole), the catalog, and
// the group of a cluster and an instance, read back after a reopen.
TEST(MetaDbParams, GroupsValuesCatalogAndAssignmentsRoundTrip) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto db = MetaDb::Open(path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    MetaDb& m = **db;
    ASSERT_TRUE(m.PutParamGroup({"cluster", "pg1", "aurora-mysql8.0", "mine", 5}).ok());
    ASSERT_TRUE(m.PutParamGroup({"instance", "pg1", "aurora-mysql8.0", "other kind", 6}).ok());
    ASSERT_TRUE(m.ReplaceParamValues("cluster", "pg1",
                                     {{"max_connections", "200", "immediate"},
                                      {"innodb_log_buffer_size", "4194304", "pending-reboot"}})
                    .ok());
    ASSERT_TRUE(m.ReplaceParamValues("cluster", "pg1", {{"max_connections", "300", "immediate"}}).ok());
    ASSERT_TRUE(m.PutParamCatalog("10.11", {{"max_connections", "BIGINT UNSIGNED", "10", "100000",
                                             "", false, "151"}})
                    .ok());
    ClusterRow c;
    c.id = "c1";
    c.param_group = "pg1";
    ASSERT_TRUE(m.PutCluster(c).ok());
    InstanceRow i;
    i.id = "i1";
    i.cluster_id = "c1";
    i.param_group = "pg1";
    ASSERT_TRUE(m.PutInstance(i).ok());
  }
  auto db = MetaDb::Open(path);
  ASSERT_TRUE(db.ok());
  MetaDb& m = **db;
  auto g = m.GetParamGroup("cluster", "pg1");
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ("mine", (*g)->description);
  EXPECT_EQ(1u, m.ListParamGroups("instance")->size());
  auto values = m.ListParamValues("cluster", "pg1");
  ASSERT_TRUE(values.ok());
  ASSERT_EQ(1u, values->size());
  EXPECT_EQ("300", values->front().value);
  auto catalog = m.GetParamCatalog("10.11");
  ASSERT_TRUE(catalog.ok());
  ASSERT_EQ(1u, catalog->size());
  EXPECT_EQ("100000", catalog->front().max);
  EXPECT_TRUE(m.GetParamCatalog("10.6")->empty());
  EXPECT_EQ("pg1", (*m.GetCluster("c1"))->param_group);
  EXPECT_EQ("pg1", (*m.GetInstance("i1"))->param_group);
  ASSERT_TRUE(m.DeleteParamGroup("cluster", "pg1").ok());
  EXPECT_FALSE(m.GetParamGroup("cluster", "pg1")->has_value());
  EXPECT_TRUE(m.ListParamValues("cluster", "pg1")->empty());
  EXPECT_TRUE(m.GetParamGroup("instance", "pg1")->has_value());
}

TEST(MetaDbBackup, CopyHoldsTheRowsAndChangesAreCounted) {
  testing::TempDir dir;
  auto db = MetaDb::Open(dir.path() + "/meta.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  const int64_t before = (*db)->ChangeCount();
  ClusterRow row;
  row.id = "lab";
  row.status = ClusterStatus::kAvailable;
  ASSERT_TRUE((*db)->PutCluster(row).ok());
  EXPECT_GT((*db)->ChangeCount(), before);
  ASSERT_TRUE((*db)->BackupTo(dir.path() + "/copy.db").ok());
  auto copy = MetaDb::Open(dir.path() + "/copy.db");
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  auto got = (*copy)->GetCluster("lab");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(ClusterStatus::kAvailable, (*got)->status);
  // A directory that does not exist: a clear error, nothing written.
  Status s = (*db)->BackupTo(dir.path() + "/no/such/dir/copy.db");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("no/such/dir")) << s.ToString();
}

}  // namespace
}  // namespace rwd::cluster

namespace rwd::cluster {
namespace {

// A version 5 file (before readers) gains the instances' role, port, volume and server id; its
// instance is the writer; a reader row is stored and read back.
TEST(MetaDbSchema, VersionFiveFileGainsInstanceRoles) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto db = MetaDb::Open(path);
    ASSERT_TRUE(db.ok());
  }
  RawExec(path, R"sql(
    ALTER TABLE instances DROP COLUMN role;
    ALTER TABLE instances DROP COLUMN port;
    ALTER TABLE instances DROP COLUMN volume_id;
    ALTER TABLE instances DROP COLUMN server_id;
    DROP TABLE param_groups; DROP TABLE param_values; DROP TABLE param_catalog;
    ALTER TABLE clusters DROP COLUMN param_group; ALTER TABLE instances DROP COLUMN param_group;
    INSERT INTO instances VALUES ('w1', 'c1', 'db-X', 'db.r5.large', 'available', 5);
    PRAGMA user_version = 5;
  )sql");
  auto db = MetaDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(MetaDb::kSchemaVersion, *(*db)->SchemaVersion());
  auto w = (*db)->GetInstance("w1");
  ASSERT_TRUE(w.ok() && w->has_value());
  EXPECT_EQ(InstanceRole::kWriter, (*w)->role);
  EXPECT_EQ(0, (*w)->port);
  InstanceRow r{.id = "r1", .cluster_id = "c1", .resource_id = "db-Y",
                .instance_class = "db.r5.large", .status = InstanceStatus::kAvailable,
                .create_time_ns = 6, .role = InstanceRole::kReader, .port = 3310,
                .volume_id = 12, .server_id = 3};
  ASSERT_TRUE((*db)->PutInstance(r).ok());
  auto back = (*db)->GetInstance("r1");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ(InstanceRole::kReader, (*back)->role);
  EXPECT_EQ(3310, (*back)->port);
  EXPECT_EQ(12, (*back)->volume_id);
  EXPECT_EQ(3, (*back)->server_id);
  // A failover's swap: both rows in one call.
  InstanceRow w2 = **w, r2 = r;
  w2.role = InstanceRole::kReader;
  w2.port = 3310;
  w2.server_id = 3;
  r2.role = InstanceRole::kWriter;
  r2.port = 0;
  r2.volume_id = 0;
  r2.server_id = 1;
  ASSERT_TRUE((*db)->PutInstances({r2, w2}).ok());
  auto all = (*db)->ListInstances();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(2u, all->size());
  for (const InstanceRow& i : *all) {
    EXPECT_EQ(i.id == "r1" ? InstanceRole::kWriter : InstanceRole::kReader, i.role) << i.id;
    EXPECT_EQ(i.id == "r1" ? 0 : 3310, i.port) << i.id;
  }
}

// A version 7 file gains the peer clone columns (empty for the clusters it held); a peer
// clone's row is stored and read back whole.
TEST(MetaDbSchema, VersionSevenFileGainsPeerCloneColumns) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/meta.db";
  {
    auto db = MetaDb::Open(path);
    ASSERT_TRUE(db.ok());
  }
  RawExec(path, R"sql(
    ALTER TABLE clusters DROP COLUMN source_peer;
    ALTER TABLE clusters DROP COLUMN peer_store_id;
    ALTER TABLE clusters DROP COLUMN peer_view_lsn;
    INSERT INTO clusters (id, resource_id, engine, engine_version, master_username,
      database_name, status, port, backtrack_window_s, create_time_ns, clone_group_id,
      source_cluster, volume, backtrack_disabled, restore_to_ns, deletion_protection)
      VALUES ('old', 'cluster-Z', 'aurora-mysql', '10.11', 'admin', 'db', 'available', 3307,
              3600, 9, 'cg', '', 'old', 0, 0, 0);
    PRAGMA user_version = 7;
  )sql");
  auto db = MetaDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(MetaDb::kSchemaVersion, *(*db)->SchemaVersion());
  auto old = (*db)->GetCluster("old");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ("", (*old)->source_peer);
  EXPECT_EQ("", (*old)->peer_store_id);
  EXPECT_EQ(0, (*old)->peer_view_lsn);
  ClusterRow peer = **old;
  peer.id = "pc";
  peer.source_cluster = "lab";
  peer.source_peer = "node1";
  peer.peer_store_id = std::string(32, 'a');
  peer.peer_view_lsn = 12345;
  ASSERT_TRUE((*db)->PutCluster(peer).ok());
  auto back = (*db)->GetCluster("pc");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ("node1", (*back)->source_peer);
  EXPECT_EQ(std::string(32, 'a'), (*back)->peer_store_id);
  EXPECT_EQ(12345, (*back)->peer_view_lsn);
  EXPECT_EQ("lab", (*back)->source_cluster);
}

}  // namespace
}  // namespace rwd::cluster
