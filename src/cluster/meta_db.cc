#include "cluster/meta_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>

namespace rwd::cluster {
namespace {

// A prepared statement, finalised on every exit path.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status prepared() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return Status::IOError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
  }
  Stmt& Bind(const std::string& v) {
    sqlite3_bind_text(stmt_, ++idx_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int64_t v) {
    sqlite3_bind_int64(stmt_, ++idx_, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return sqlite3_step(stmt_); }
  Status Done() {
    int rc = Step();
    if (rc == SQLITE_DONE) return Status::Ok();
    return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  int idx_ = 0;
};

constexpr const char* kPragmas = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
)sql";

// Migration 1: the schema rewindd wrote before schema versions (user_version 0). Files of that
// era may lack clusters.restore_to_ns (added before versions existed); it is added if missing.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS clusters (
  id TEXT PRIMARY KEY, resource_id TEXT, engine TEXT, engine_version TEXT,
  master_username TEXT, database_name TEXT, status TEXT, port INTEGER,
  backtrack_window_s INTEGER, create_time_ns INTEGER, clone_group_id TEXT,
  source_cluster TEXT, volume TEXT, backtrack_disabled INTEGER, restore_to_ns INTEGER);
CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY, cluster_id TEXT, resource_id TEXT, instance_class TEXT, status TEXT,
  create_time_ns INTEGER);
CREATE TABLE IF NOT EXISTS backtracks (
  id TEXT PRIMARY KEY, cluster_id TEXT, backtrack_to_ns INTEGER, backtracked_from_ns INTEGER,
  request_time_ns INTEGER, status TEXT, message TEXT);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT, source_type TEXT, message TEXT,
  categories TEXT, date_ns INTEGER);
)sql";

// Migration 2: deletion protection, tags, and an index for pruning events by date.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE clusters ADD COLUMN deletion_protection INTEGER NOT NULL DEFAULT 0;
CREATE TABLE tags (
  kind TEXT NOT NULL, resource_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (kind, resource_id, key));
CREATE INDEX events_by_date ON events (date_ns);
)sql";

// Migration 3: each cluster's own engine uid (0 until rewindd, running as root, allocates one).
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE clusters ADD COLUMN engine_uid INTEGER NOT NULL DEFAULT 0;
)sql";

// Migration 4: the volume held by id, and the operations journal (src/cluster/op_journal.h).
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE clusters ADD COLUMN volume_id INTEGER NOT NULL DEFAULT 0;
CREATE TABLE operations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, target TEXT NOT NULL,
  ref TEXT NOT NULL DEFAULT '', arg_ns INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL, step INTEGER NOT NULL, volume_id INTEGER NOT NULL DEFAULT 0,
  timeline_before INTEGER NOT NULL DEFAULT 0, timeline_after INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '', started_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL);
CREATE INDEX operations_by_state ON operations (state);
CREATE INDEX operations_by_target ON operations (target, id);
ALTER TABLE events ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
)sql";

// Migration 5: DB cluster snapshots (their data is a store pin; see SnapshotRow).
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE snapshots (
  id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL, pin_id INTEGER NOT NULL, status TEXT NOT NULL,
  create_ns INTEGER NOT NULL, cluster_create_ns INTEGER NOT NULL, engine TEXT NOT NULL,
  engine_version TEXT NOT NULL, port INTEGER NOT NULL, master_username TEXT NOT NULL,
  database_name TEXT NOT NULL, allocated_gb INTEGER NOT NULL);
)sql";

// Migration 6: parameter groups, their values, the engine's catalog of tunable variables, and
// which group each cluster and instance uses (see ParamGroupRow).
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE param_groups (
  kind TEXT NOT NULL, name TEXT NOT NULL, family TEXT NOT NULL, description TEXT NOT NULL,
  create_ns INTEGER NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE param_values (
  kind TEXT NOT NULL, group_name TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  apply_method TEXT NOT NULL, PRIMARY KEY (kind, group_name, name));
CREATE TABLE param_catalog (
  engine_version TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, min TEXT NOT NULL,
  max TEXT NOT NULL, allowed TEXT NOT NULL, read_only INTEGER NOT NULL,
  default_value TEXT NOT NULL, PRIMARY KEY (engine_version, name));
ALTER TABLE clusters ADD COLUMN param_group TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN param_group TEXT NOT NULL DEFAULT '';
)sql";

// Migration 7: reader instances (InstanceRow::role, port, volume_id, server_id).
constexpr const char* kSchemaV7 = R"sql(
ALTER TABLE instances ADD COLUMN role INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN port INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN volume_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN server_id INTEGER NOT NULL DEFAULT 0;
)sql";

// Migration 8: peer clones (issue 18's second node): the peer a cluster was cloned from and the
// view of the peer's store its volume reads (ClusterRow::source_peer, peer_store_id,
// peer_view_lsn).
constexpr const char* kSchemaV8 = R"sql(
ALTER TABLE clusters ADD COLUMN source_peer TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN peer_store_id TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN peer_view_lsn INTEGER NOT NULL DEFAULT 0;
)sql";

Status DeleteTagsLocked(sqlite3* db, const char* kind, const std::string& id) {
  Stmt s(db, "DELETE FROM tags WHERE kind = ? AND resource_id = ?");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(std::string(kind)).Bind(id);
  return s.Done();
}

ClusterRow ReadCluster(Stmt& s) {
  ClusterRow r;
  r.id = s.Text(0);
  r.resource_id = s.Text(1);
  r.engine = s.Text(2);
  r.engine_version = s.Text(3);
  r.master_username = s.Text(4);
  r.database_name = s.Text(5);
  ParseStatus(s.Text(6), &r.status);
  r.port = static_cast<int>(s.Int(7));
  r.backtrack_window_s = s.Int(8);
  r.create_time_ns = s.Int(9);
  r.clone_group_id = s.Text(10);
  r.source_cluster = s.Text(11);
  r.volume = s.Text(12);
  r.backtrack_disabled_for_good = s.Int(13) != 0;
  r.restore_to_ns = s.Int(14);
  r.deletion_protection = s.Int(15) != 0;
  r.engine_uid = s.Int(16);
  r.volume_id = s.Int(17);
  r.param_group = s.Text(18);
  r.source_peer = s.Text(19);
  r.peer_store_id = s.Text(20);
  r.peer_view_lsn = s.Int(21);
  return r;
}

InstanceRow ReadInstance(Stmt& s) {
  InstanceRow r;
  r.id = s.Text(0);
  r.cluster_id = s.Text(1);
  r.resource_id = s.Text(2);
  r.instance_class = s.Text(3);
  ParseStatus(s.Text(4), &r.status);
  r.create_time_ns = s.Int(5);
  r.param_group = s.Text(6);
  r.role = s.Int(7) == 1 ? InstanceRole::kReader : InstanceRole::kWriter;
  r.port = static_cast<int>(s.Int(8));
  r.volume_id = s.Int(9);
  r.server_id = s.Int(10);
  return r;
}

constexpr const char* kClusterCols =
    "id, resource_id, engine, engine_version, master_username, database_name, status, port, "
    "backtrack_window_s, create_time_ns, clone_group_id, source_cluster, volume, "
    "backtrack_disabled, restore_to_ns, deletion_protection, engine_uid, volume_id, param_group, "
    "source_peer, peer_store_id, peer_view_lsn";
constexpr const char* kInstanceCols =
    "id, cluster_id, resource_id, instance_class, status, create_time_ns, param_group, role, "
    "port, volume_id, server_id";

template <typename E, size_t N>
void ParseNamed(std::string_view text, E* out, const std::array<const char*, N>& names,
                E unknown) {
  for (size_t i = 0; i < N; ++i) {
    if (text == names[i]) {
      *out = static_cast<E>(i);
      return;
    }
  }
  *out = unknown;
}

constexpr std::array<const char*, 9> kClusterStatusNames = {
    "creating", "available", "backtracking", "deleting", "failed", "stopping", "stopped",
    "starting", "failing-over"};
constexpr std::array<const char*, 8> kInstanceStatusNames = {
    "creating", "available", "rebooting", "deleting", "failed", "stopping", "stopped",
    "starting"};
constexpr std::array<const char*, 4> kBacktrackStatusNames = {"pending", "applying", "completed",
                                                              "failed"};

}  // namespace

const char* StatusName(ClusterStatus s) { return kClusterStatusNames[static_cast<size_t>(s)]; }
const char* StatusName(InstanceStatus s) { return kInstanceStatusNames[static_cast<size_t>(s)]; }
const char* StatusName(BacktrackStatus s) {
  return kBacktrackStatusNames[static_cast<size_t>(s)];
}
void ParseStatus(std::string_view text, ClusterStatus* out) {
  ParseNamed(text, out, kClusterStatusNames, ClusterStatus::kFailed);
}
void ParseStatus(std::string_view text, InstanceStatus* out) {
  ParseNamed(text, out, kInstanceStatusNames, InstanceStatus::kFailed);
}
void ParseStatus(std::string_view text, BacktrackStatus* out) {
  ParseNamed(text, out, kBacktrackStatusNames, BacktrackStatus::kFailed);
}

Result<std::unique_ptr<MetaDb>> MetaDb::Open(const std::string& path) {
  // Create the file 0600 before SQLite does, so it is never readable by others, and make one
  // left readable (by an older version, a restore) private; SQLite gives its -wal, -shm and
  // -journal files the database's mode when it creates them, and ones that exist are fixed here.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  if (::fchmod(fd, 0600) != 0) {
    Status st = Status::FromErrno(errno, "chmod " + path);
    ::close(fd);
    return st;
  }
  ::close(fd);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string side = path + suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "chmod " + side);
    }
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IOError("open metadata " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<MetaDb> meta(new MetaDb(db));
  RETURN_IF_ERROR(meta->Migrate(path));
  return meta;
}

template <typename F>
Status MetaDb::InTransaction(F&& body) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (s.ok()) s = Exec("COMMIT");
  // The caller reports the first failure; a ROLLBACK that fails too adds nothing to act on.
  if (!s.ok()) (void)Exec("ROLLBACK");
  return s;
}

Result<int> MetaDb::SchemaVersion() {
  std::lock_guard<std::mutex> lk(mu_);
  return UserVersion();
}

Result<int> MetaDb::UserVersion() {
  Stmt s(db_, "PRAGMA user_version");
  RETURN_IF_ERROR(s.prepared());
  if (s.Step() != SQLITE_ROW) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return static_cast<int>(s.Int(0));
}

Status MetaDb::Migrate(const std::string& path) {
  ASSIGN_OR_RETURN(int version, UserVersion());
  if (version > kSchemaVersion) {
    return Status::FailedPrecondition(
        "metadata " + path + " has schema version " + std::to_string(version) +
        ", newer than this rewindd understands (" + std::to_string(kSchemaVersion) +
        "): it was written by a newer rewindd; run that version (the file is left unchanged)");
  }
  RETURN_IF_ERROR(Exec(kPragmas));
  // Migration N takes the file from user_version N-1 to N.
  while (version < kSchemaVersion) {
    const int next = version + 1;
    Status s = InTransaction([&]() -> Status {
      // Read again inside the transaction: another process may have migrated meanwhile.
      ASSIGN_OR_RETURN(int now, UserVersion());
      if (now >= next) return Status::Ok();
      switch (next) {
        case 1:
          RETURN_IF_ERROR(Exec(kSchemaV1));
          if (!Exec("SELECT restore_to_ns FROM clusters LIMIT 0").ok()) {
            RETURN_IF_ERROR(
                Exec("ALTER TABLE clusters ADD COLUMN restore_to_ns INTEGER DEFAULT 0"));
          }
          break;
        case 2:
          RETURN_IF_ERROR(Exec(kSchemaV2));
          break;
        case 3:
          RETURN_IF_ERROR(Exec(kSchemaV3));
          break;
        case 4:
          RETURN_IF_ERROR(Exec(kSchemaV4));
          break;
        case 5:
          RETURN_IF_ERROR(Exec(kSchemaV5));
          break;
        case 6:
          RETURN_IF_ERROR(Exec(kSchemaV6));
          break;
        case 7:
          // Idempotent: a file whose older version was rebuilt by hand may have the columns.
          if (!Exec("SELECT role FROM instances LIMIT 0").ok()) {
            RETURN_IF_ERROR(Exec(kSchemaV7));
          }
          break;
        case 8:
          // Idempotent, as 7: a file taken back to an older version by hand keeps the columns.
          if (!Exec("SELECT source_peer FROM clusters LIMIT 0").ok()) {
            RETURN_IF_ERROR(Exec(kSchemaV8));
          }
          break;
      }
      return Exec("PRAGMA user_version = " + std::to_string(next));
    });
    if (!s.ok()) {
      return Status::IOError("migrating metadata " + path + " to schema version " +
                             std::to_string(next) + ": " + s.message());
    }
    ASSIGN_OR_RETURN(version, UserVersion());
  }
  return Status::Ok();
}

MetaDb::~MetaDb() { sqlite3_close(db_); }

Status MetaDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return Status::IOError("sqlite: " + msg);
  }
  return Status::Ok();
}

Status MetaDb::PutCluster(const ClusterRow& r) {
  std::lock_guard<std::mutex> lk(mu_);
  const std::string sql = std::string("INSERT OR REPLACE INTO clusters (") + kClusterCols +
                          ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  Stmt s(db_, sql.c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r.id).Bind(r.resource_id).Bind(r.engine).Bind(r.engine_version).Bind(r.master_username)
      .Bind(r.database_name).Bind(std::string(StatusName(r.status))).Bind(int64_t{r.port}).Bind(r.backtrack_window_s)
      .Bind(r.create_time_ns).Bind(r.clone_group_id).Bind(r.source_cluster).Bind(r.volume)
      .Bind(int64_t{r.backtrack_disabled_for_good ? 1 : 0}).Bind(r.restore_to_ns)
      .Bind(int64_t{r.deletion_protection ? 1 : 0}).Bind(r.engine_uid).Bind(r.volume_id).Bind(r.param_group)
      .Bind(r.source_peer).Bind(r.peer_store_id).Bind(r.peer_view_lsn);
  return s.Done();
}

Result<std::optional<ClusterRow>> MetaDb::GetCluster(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kClusterCols + " FROM clusters WHERE id = ?").c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(id);
  if (s.Step() == SQLITE_ROW) return std::optional<ClusterRow>(ReadCluster(s));
  return std::optional<ClusterRow>();
}

Result<std::vector<ClusterRow>> MetaDb::ListClusters() {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         (std::string("SELECT ") + kClusterCols + " FROM clusters ORDER BY create_time_ns").c_str());
  RETURN_IF_ERROR(s.prepared());
  std::vector<ClusterRow> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadCluster(s));
  return out;
}

Status MetaDb::DeleteCluster(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    RETURN_IF_ERROR(DeleteTagsLocked(db_, "cluster", id));
    Stmt s(db_, "DELETE FROM clusters WHERE id = ?");
    RETURN_IF_ERROR(s.prepared());
    s.Bind(id);
    return s.Done();
  });
}

namespace {
// One INSERT OR REPLACE of an instance row; the caller holds the lock.
Status WriteInstance(sqlite3* db, const InstanceRow& r) {
  static const std::string sql = std::string("INSERT OR REPLACE INTO instances (") +
                                 kInstanceCols + ") VALUES (?,?,?,?,?,?,?,?,?,?,?)";
  Stmt s(db, sql.c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r.id).Bind(r.cluster_id).Bind(r.resource_id).Bind(r.instance_class)
      .Bind(std::string(StatusName(r.status)))
      .Bind(r.create_time_ns)
      .Bind(r.param_group)
      .Bind(static_cast<int64_t>(r.role == InstanceRole::kReader ? 1 : 0))
      .Bind(static_cast<int64_t>(r.port))
      .Bind(r.volume_id)
      .Bind(r.server_id);
  return s.Done();
}
}  // namespace

Status MetaDb::PutInstance(const InstanceRow& r) {
  std::lock_guard<std::mutex> lk(mu_);
  return WriteInstance(db_, r);
}

Status MetaDb::PutInstances(const std::vector<InstanceRow>& rows) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    for (const InstanceRow& r : rows) RETURN_IF_ERROR(WriteInstance(db_, r));
    return Status::Ok();
  });
}

Result<std::optional<InstanceRow>> MetaDb::GetInstance(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kInstanceCols + " FROM instances WHERE id = ?").c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(id);
  if (s.Step() == SQLITE_ROW) return std::optional<InstanceRow>(ReadInstance(s));
  return std::optional<InstanceRow>();
}

Result<std::vector<InstanceRow>> MetaDb::ListInstances() {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kInstanceCols +
               " FROM instances ORDER BY create_time_ns").c_str());
  RETURN_IF_ERROR(s.prepared());
  std::vector<InstanceRow> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadInstance(s));
  return out;
}

Status MetaDb::DeleteInstance(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    RETURN_IF_ERROR(DeleteTagsLocked(db_, "db", id));
    Stmt s(db_, "DELETE FROM instances WHERE id = ?");
    RETURN_IF_ERROR(s.prepared());
    s.Bind(id);
    return s.Done();
  });
}

Status MetaDb::PutBacktrack(const BacktrackRow& r) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, "INSERT OR REPLACE INTO backtracks VALUES (?,?,?,?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r.id).Bind(r.cluster_id).Bind(r.backtrack_to_ns).Bind(r.backtracked_from_ns)
      .Bind(r.request_time_ns).Bind(std::string(StatusName(r.status))).Bind(r.message);
  return s.Done();
}

Result<std::vector<BacktrackRow>> MetaDb::ListBacktracks(const std::string& cluster_id) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "SELECT id, cluster_id, backtrack_to_ns, backtracked_from_ns, request_time_ns, status, "
         "message FROM backtracks WHERE cluster_id = ? ORDER BY request_time_ns DESC");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(cluster_id);
  std::vector<BacktrackRow> out;
  while (s.Step() == SQLITE_ROW) {
    BacktrackRow r;
    r.id = s.Text(0);
    r.cluster_id = s.Text(1);
    r.backtrack_to_ns = s.Int(2);
    r.backtracked_from_ns = s.Int(3);
    r.request_time_ns = s.Int(4);
    ParseStatus(s.Text(5), &r.status);
    r.message = s.Text(6);
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
constexpr const char* kSnapshotCols =
    "id, cluster_id, pin_id, status, create_ns, cluster_create_ns, engine, engine_version, "
    "port, master_username, database_name, allocated_gb";
SnapshotRow ReadSnapshot(Stmt& s) {
  SnapshotRow r;
  r.id = s.Text(0);
  r.cluster_id = s.Text(1);
  r.pin_id = s.Int(2);
  r.status = s.Text(3);
  r.create_ns = s.Int(4);
  r.cluster_create_ns = s.Int(5);
  r.engine = s.Text(6);
  r.engine_version = s.Text(7);
  r.port = s.Int(8);
  r.master_username = s.Text(9);
  r.database_name = s.Text(10);
  r.allocated_gb = s.Int(11);
  return r;
}
}  // namespace

Status MetaDb::PutSnapshot(const SnapshotRow& r) {
  std::lock_guard<std::mutex> lk(mu_);
  static const std::string sql = "INSERT OR REPLACE INTO snapshots (" +
                                 std::string(kSnapshotCols) + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
  Stmt s(db_, sql.c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r.id).Bind(r.cluster_id).Bind(r.pin_id).Bind(r.status).Bind(r.create_ns)
      .Bind(r.cluster_create_ns).Bind(r.engine).Bind(r.engine_version).Bind(r.port)
      .Bind(r.master_username).Bind(r.database_name).Bind(r.allocated_gb);
  return s.Done();
}

Result<std::optional<SnapshotRow>> MetaDb::GetSnapshot(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  static const std::string sql =
      "SELECT " + std::string(kSnapshotCols) + " FROM snapshots WHERE id = ?";
  Stmt s(db_, sql.c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(id);
  if (s.Step() != SQLITE_ROW) return std::optional<SnapshotRow>();
  return std::optional<SnapshotRow>(ReadSnapshot(s));
}

Result<std::vector<SnapshotRow>> MetaDb::ListSnapshots() {
  std::lock_guard<std::mutex> lk(mu_);
  static const std::string sql =
      "SELECT " + std::string(kSnapshotCols) + " FROM snapshots ORDER BY id";
  Stmt s(db_, sql.c_str());
  RETURN_IF_ERROR(s.prepared());
  std::vector<SnapshotRow> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadSnapshot(s));
  return out;
}

Status MetaDb::DeleteSnapshot(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    RETURN_IF_ERROR(DeleteTagsLocked(db_, "cluster-snapshot", id));
    Stmt s(db_, "DELETE FROM snapshots WHERE id = ?");
    RETURN_IF_ERROR(s.prepared());
    s.Bind(id);
    return s.Done();
  });
}

namespace {
constexpr const char* kOperationCols =
    "id, kind, target, ref, arg_ns, state, step, volume_id, timeline_before, timeline_after, "
    "message, started_ns, updated_ns";

OperationRow ReadOperation(Stmt& s) {
  OperationRow r;
  r.id = s.Int(0);
  r.kind = s.Int(1);
  r.target = s.Text(2);
  r.ref = s.Text(3);
  r.arg_ns = s.Int(4);
  r.state = s.Int(5);
  r.step = s.Int(6);
  r.volume_id = s.Int(7);
  r.timeline_before = s.Int(8);
  r.timeline_after = s.Int(9);
  r.message = s.Text(10);
  r.started_ns = s.Int(11);
  r.updated_ns = s.Int(12);
  return r;
}
}  // namespace

Status MetaDb::InsertOperation(OperationRow* r) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "INSERT INTO operations (kind, target, ref, arg_ns, state, step, volume_id, "
         "timeline_before, timeline_after, message, started_ns, updated_ns) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r->kind).Bind(r->target).Bind(r->ref).Bind(r->arg_ns).Bind(r->state).Bind(r->step)
      .Bind(r->volume_id).Bind(r->timeline_before).Bind(r->timeline_after).Bind(r->message)
      .Bind(r->started_ns).Bind(r->updated_ns);
  RETURN_IF_ERROR(s.Done());
  r->id = sqlite3_last_insert_rowid(db_);
  return Status::Ok();
}

Status MetaDb::UpdateOperation(const OperationRow& r) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "UPDATE operations SET state = ?, step = ?, volume_id = ?, timeline_before = ?, "
         "timeline_after = ?, message = ?, updated_ns = ? WHERE id = ?");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r.state).Bind(r.step).Bind(r.volume_id).Bind(r.timeline_before).Bind(r.timeline_after)
      .Bind(r.message).Bind(r.updated_ns).Bind(r.id);
  RETURN_IF_ERROR(s.Done());
  if (sqlite3_changes(db_) != 1) {
    return Status::NotFound("operation " + std::to_string(r.id) + " is not in the journal");
  }
  return Status::Ok();
}

Result<std::vector<OperationRow>> MetaDb::ListOperationsInState(int64_t state) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kOperationCols +
               " FROM operations WHERE state = ? ORDER BY id").c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(state);
  std::vector<OperationRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadOperation(s));
  if (rc != SQLITE_DONE) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return out;
}

Result<std::vector<OperationRow>> MetaDb::ListOperationsOf(const std::string& target, int limit) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kOperationCols +
               " FROM operations WHERE target = ? ORDER BY id DESC LIMIT ?").c_str());
  RETURN_IF_ERROR(s.prepared());
  s.Bind(target).Bind(int64_t{limit});
  std::vector<OperationRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadOperation(s));
  if (rc != SQLITE_DONE) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return out;
}

Status MetaDb::PutParamGroup(const ParamGroupRow& r) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "INSERT OR REPLACE INTO param_groups (kind, name, family, description, create_ns) "
         "VALUES (?,?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r.kind).Bind(r.name).Bind(r.family).Bind(r.description).Bind(r.create_ns);
  return s.Done();
}

namespace {
ParamGroupRow ReadParamGroup(Stmt& s) {
  return ParamGroupRow{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4)};
}
}  // namespace

Result<std::optional<ParamGroupRow>> MetaDb::GetParamGroup(const std::string& kind,
                                                            const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "SELECT kind, name, family, description, create_ns FROM param_groups "
         "WHERE kind = ? AND name = ?");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(kind).Bind(name);
  if (s.Step() != SQLITE_ROW) return std::optional<ParamGroupRow>();
  return std::optional<ParamGroupRow>(ReadParamGroup(s));
}

Result<std::vector<ParamGroupRow>> MetaDb::ListParamGroups(const std::string& kind) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "SELECT kind, name, family, description, create_ns FROM param_groups WHERE kind = ? "
         "ORDER BY name");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(kind);
  std::vector<ParamGroupRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadParamGroup(s));
  if (rc != SQLITE_DONE) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return out;
}

Status MetaDb::DeleteParamGroup(const std::string& kind, const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    Stmt v(db_, "DELETE FROM param_values WHERE kind = ? AND group_name = ?");
    RETURN_IF_ERROR(v.prepared());
    v.Bind(kind).Bind(name);
    RETURN_IF_ERROR(v.Done());
    Stmt g(db_, "DELETE FROM param_groups WHERE kind = ? AND name = ?");
    RETURN_IF_ERROR(g.prepared());
    g.Bind(kind).Bind(name);
    return g.Done();
  });
}

Result<std::vector<ParamValueRow>> MetaDb::ListParamValues(const std::string& kind,
                                                           const std::string& group) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "SELECT name, value, apply_method FROM param_values WHERE kind = ? AND group_name = ? "
         "ORDER BY name");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(kind).Bind(group);
  std::vector<ParamValueRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ParamValueRow{s.Text(0), s.Text(1), s.Text(2)});
  if (rc != SQLITE_DONE) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return out;
}

Status MetaDb::ReplaceParamValues(const std::string& kind, const std::string& group,
                                  const std::vector<ParamValueRow>& values) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    Stmt d(db_, "DELETE FROM param_values WHERE kind = ? AND group_name = ?");
    RETURN_IF_ERROR(d.prepared());
    d.Bind(kind).Bind(group);
    RETURN_IF_ERROR(d.Done());
    for (const ParamValueRow& v : values) {
      Stmt s(db_,
             "INSERT INTO param_values (kind, group_name, name, value, apply_method) "
             "VALUES (?,?,?,?,?)");
      RETURN_IF_ERROR(s.prepared());
      s.Bind(kind).Bind(group).Bind(v.name).Bind(v.value).Bind(v.apply_method);
      RETURN_IF_ERROR(s.Done());
    }
    return Status::Ok();
  });
}

Result<std::vector<ParamCatalogRow>> MetaDb::GetParamCatalog(const std::string& engine_version) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "SELECT name, type, min, max, allowed, read_only, default_value FROM param_catalog "
         "WHERE engine_version = ? ORDER BY name");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(engine_version);
  std::vector<ParamCatalogRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back(ParamCatalogRow{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4),
                                  s.Int(5) != 0, s.Text(6)});
  }
  if (rc != SQLITE_DONE) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return out;
}

Status MetaDb::PutParamCatalog(const std::string& engine_version,
                               const std::vector<ParamCatalogRow>& rows) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    Stmt d(db_, "DELETE FROM param_catalog WHERE engine_version = ?");
    RETURN_IF_ERROR(d.prepared());
    d.Bind(engine_version);
    RETURN_IF_ERROR(d.Done());
    for (const ParamCatalogRow& r : rows) {
      Stmt s(db_,
             "INSERT INTO param_catalog (engine_version, name, type, min, max, allowed, "
             "read_only, default_value) VALUES (?,?,?,?,?,?,?,?)");
      RETURN_IF_ERROR(s.prepared());
      s.Bind(engine_version).Bind(r.name).Bind(r.type).Bind(r.min).Bind(r.max).Bind(r.allowed)
          .Bind(int64_t{r.read_only ? 1 : 0}).Bind(r.default_value);
      RETURN_IF_ERROR(s.Done());
    }
    return Status::Ok();
  });
}

Status MetaDb::AddEvent(const EventRow& r) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "INSERT INTO events (source_id, source_type, message, categories, date_ns, kind) "
         "VALUES (?,?,?,?,?,?)");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(r.source_id).Bind(r.source_type).Bind(r.message).Bind(r.categories).Bind(r.date_ns)
      .Bind(r.kind);
  return s.Done();
}

Result<std::vector<EventRow>> MetaDb::ListEvents() {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_,
         "SELECT source_id, source_type, message, categories, date_ns, kind FROM events "
         "ORDER BY seq");
  RETURN_IF_ERROR(s.prepared());
  std::vector<EventRow> out;
  while (s.Step() == SQLITE_ROW) {
    EventRow r;
    r.source_id = s.Text(0);
    r.source_type = s.Text(1);
    r.message = s.Text(2);
    r.categories = s.Text(3);
    r.date_ns = s.Int(4);
    r.kind = s.Int(5);
    out.push_back(std::move(r));
  }
  return out;
}

Result<int64_t> MetaDb::PruneEvents(int64_t before_ns) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, "DELETE FROM events WHERE date_ns < ?");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(before_ns);
  RETURN_IF_ERROR(s.Done());
  return static_cast<int64_t>(sqlite3_changes(db_));
}

Status MetaDb::BackupTo(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  sqlite3* dst = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Status st;
  if (rc == SQLITE_OK) {
    // One step copies every page: the copy is of one moment (mu_ keeps this connection's
    // writers out; no other connection writes meta.db).
    sqlite3_backup* b = sqlite3_backup_init(dst, "main", db_, "main");
    if (b == nullptr) {
      st = Status::IOError("sqlite backup of meta.db to " + path + ": " + sqlite3_errmsg(dst));
    } else {
      rc = sqlite3_backup_step(b, -1);
      const int fin = sqlite3_backup_finish(b);
      if (rc != SQLITE_DONE || fin != SQLITE_OK) {
        st = Status::IOError("sqlite backup of meta.db to " + path + ": " + sqlite3_errstr(rc));
      }
    }
  } else {
    st = Status::IOError("opening " + path + " for a backup of meta.db: " + sqlite3_errstr(rc));
  }
  sqlite3_close(dst);
  return st;
}

int64_t MetaDb::ChangeCount() {
  std::lock_guard<std::mutex> lk(mu_);
  return sqlite3_total_changes64(db_);
}

Result<std::vector<TagRow>> MetaDb::ListTags(const std::string& kind, const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt s(db_, "SELECT key, value FROM tags WHERE kind = ? AND resource_id = ? ORDER BY rowid");
  RETURN_IF_ERROR(s.prepared());
  s.Bind(kind).Bind(id);
  std::vector<TagRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(TagRow{s.Text(0), s.Text(1)});
  if (rc != SQLITE_DONE) return Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return out;
}

Status MetaDb::PutTags(const std::string& kind, const std::string& id,
                       const std::vector<TagRow>& tags) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    for (const TagRow& t : tags) {
      // An upsert keeps the row (and so the key's place in the order).
      Stmt s(db_,
             "INSERT INTO tags (kind, resource_id, key, value) VALUES (?,?,?,?) "
             "ON CONFLICT (kind, resource_id, key) DO UPDATE SET value = excluded.value");
      RETURN_IF_ERROR(s.prepared());
      s.Bind(kind).Bind(id).Bind(t.key).Bind(t.value);
      RETURN_IF_ERROR(s.Done());
    }
    return Status::Ok();
  });
}

Status MetaDb::RemoveTags(const std::string& kind, const std::string& id,
                          const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lk(mu_);
  return InTransaction([&]() -> Status {
    for (const std::string& k : keys) {
      Stmt s(db_, "DELETE FROM tags WHERE kind = ? AND resource_id = ? AND key = ?");
      RETURN_IF_ERROR(s.prepared());
      s.Bind(kind).Bind(id).Bind(k);
      RETURN_IF_ERROR(s.Done());
    }
    return Status::Ok();
  });
}

}  // namespace rwd::cluster
