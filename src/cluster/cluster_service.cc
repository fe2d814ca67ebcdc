#include "cluster/cluster_service.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "cluster/host_util.h"
#include "cluster/meta_db.h"
#include "common/failpoint.h"
#include "engine/engine.h"
#include "fs/mount.h"
#include "store/store.h"
#include "tls/tls.h"

namespace rwd::cluster {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
// Aurora caps the window at 72 h; Rewind's is bounded by the history budget instead. This is
// only a sanity bound (a year).
constexpr int64_t kMaxBacktrackWindowS = 365LL * 24 * 3600;
#define RWD_WINDOW_RANGE "from 0 to 31536000 seconds (a year; the history budget bounds it)"
const char* const kWindowShrunk =
    "The actual Backtrack window is smaller than the target Backtrack window you specified. "
    "Consider reducing the number of hours in your target Backtrack window.";
const char* const kWindowBack = "The actual Backtrack window is the same as the target Backtrack window.";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Fault(const char* code, Status::Code c, const std::string& msg) {
  switch (c) {
    case Status::Code::kNotFound: return Status::NotFound(msg).WithTag(code);
    case Status::Code::kAlreadyExists: return Status::AlreadyExists(msg).WithTag(code);
    case Status::Code::kFailedPrecondition: return Status::FailedPrecondition(msg).WithTag(code);
    default: return Status::InvalidArgument(msg).WithTag(code);
  }
}
Status ClusterNotFound(const std::string& id) {
  return Fault("DBClusterNotFoundFault", Status::Code::kNotFound,
               "DBCluster " + BoundedInput(id) + " not found.");
}
Status InstanceNotFound(const std::string& id) {
  return Fault("DBInstanceNotFound", Status::Code::kNotFound,
               "DBInstance " + BoundedInput(id) + " not found.");
}
Status InvalidState(const std::string& msg) {
  return Fault("InvalidDBClusterStateFault", Status::Code::kFailedPrecondition, msg);
}
Status InvalidParam(const std::string& msg) {
  return Fault("InvalidParameterValue", Status::Code::kInvalidArgument, msg);
}
Status InvalidCombination(const std::string& msg) {
  return Fault("InvalidParameterCombination", Status::Code::kInvalidArgument, msg);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Names Aurora MySQL keeps for itself, and the reserved words of MySQL 8.0 and MariaDB 10/11
// (lower case): Aurora refuses them as MasterUsername.
const std::set<std::string>& ReservedUserNames() {
  static const std::set<std::string> kNames = {
      "root", "mysql", "mariadb.sys", "rdsadmin", "rdsrepladmin", "rdsproxyadmin", "public",
      "accessible", "add", "all", "alter", "analyze", "and", "as", "asc", "asensitive", "before",
      "between", "bigint", "binary", "blob", "both", "by", "call", "cascade", "case", "change",
      "char", "character", "check", "collate", "column", "condition", "constraint", "continue",
      "convert", "create", "cross", "cube", "cume_dist", "current_date", "current_role",
      "current_time", "current_timestamp", "current_user", "cursor", "database", "databases",
      "day_hour", "day_microsecond", "day_minute", "day_second", "dec", "decimal", "declare",
      "default", "delayed", "delete", "delete_domain_id", "dense_rank", "desc", "describe",
      "deterministic", "distinct", "distinctrow", "div", "do_domain_ids", "double", "drop",
      "dual", "each", "else", "elseif", "empty", "enclosed", "escaped", "except", "exists",
      "exit", "explain", "false", "fetch", "first_value", "float", "float4", "float8", "for",
      "force", "foreign", "from", "fulltext", "function", "general", "generated", "get", "grant",
      "group", "grouping", "groups", "having", "high_priority", "hour_microsecond",
      "hour_minute", "hour_second", "if", "ignore", "ignore_domain_ids", "ignore_server_ids",
      "in", "index", "infile", "inner", "inout", "insensitive", "insert", "int", "int1", "int2",
      "int3", "int4", "int8", "integer", "intersect", "interval", "into", "io_after_gtids",
      "io_before_gtids", "is", "iterate", "join", "json_table", "key", "keys", "kill", "lag",
      "last_value", "lateral", "lead", "leading", "leave", "left", "like", "limit", "linear",
      "lines", "load", "localtime", "localtimestamp", "lock", "long", "longblob", "longtext",
      "loop", "low_priority", "master_bind", "master_heartbeat_period",
      "master_ssl_verify_server_cert", "match", "maxvalue", "mediumblob", "mediumint",
      "mediumtext", "middleint", "minute_microsecond", "minute_second", "mod", "modifies",
      "natural", "not", "no_write_to_binlog", "nth_value", "ntile", "null", "numeric", "of",
      "offset", "on", "optimize", "optimizer_costs", "option", "optionally", "or", "order",
      "out", "outer", "outfile", "over", "page_checksum", "parse_vcol_expr", "partition",
      "percent_rank", "position", "precision", "primary", "procedure", "purge", "range", "rank",
      "read", "reads", "read_write", "real", "recursive", "ref_system_id", "references",
      "regexp", "release", "rename", "repeat", "replace", "require", "resignal", "restrict",
      "return", "returning", "revoke", "right", "rlike", "row", "row_number", "rows", "schema",
      "schemas", "second_microsecond", "select", "sensitive", "separator", "set", "show",
      "signal", "slow", "smallint", "spatial", "specific", "sql", "sqlexception", "sqlstate",
      "sqlwarning", "sql_big_result", "sql_calc_found_rows", "sql_small_result", "ssl",
      "starting", "stats_auto_recalc", "stats_persistent", "stats_sample_pages", "stored",
      "straight_join", "system", "table", "terminated", "then", "tinyblob", "tinyint",
      "tinytext", "to", "trailing", "trigger", "true", "undo", "union", "unique", "unlock",
      "unsigned", "update", "usage", "use", "using", "utc_date", "utc_time", "utc_timestamp",
      "values", "varbinary", "varchar", "varcharacter", "varying", "virtual", "when", "where",
      "while", "window", "with", "write", "xor", "year_month", "zerofill"};
  return kNames;
}

// RDS identifier rules: 1-63 letters, digits or hyphens; first a letter; no trailing hyphen or
// two consecutive hyphens.
Status ValidateIdentifier(const std::string& id, const char* what) {
  bool ok = !id.empty() && id.size() <= 63 && std::isalpha(static_cast<unsigned char>(id[0])) &&
            id.back() != '-' && id.find("--") == std::string::npos;
  for (char c : id) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
  if (ok) return Status::Ok();
  return InvalidParam(std::string("The parameter ") + what +
                      " is not a valid identifier. Identifiers must begin with a letter; must "
                      "contain only ASCII letters, digits, and hyphens; and must not end with a "
                      "hyphen or contain two consecutive hyphens.");
}

std::string RandomAlnum(size_t n, bool upper) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const char* chars = upper ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" : "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(chars[rng() % 36]);
  return s;
}

std::string Uuid() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s.push_back('-');
    int v = static_cast<int>(rng() % 16);
    if (i == 12) v = 4;
    if (i == 16) v = 8 + v % 4;
    s.push_back(hex[v]);
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class ClusterService::Impl {
 public:
  // The live parts of one cluster. `op_mu` serialises the long operations on it; the pointers
  // change only under op_mu.
  struct Runtime {
    std::mutex op_mu;
    std::unique_ptr<fs::Mount> mount;
    std::unique_ptr<engine::MariaDbEngine> engine;
  };

  explicit Impl(const ServiceOptions& o) : options_(o) {}
  ~Impl() {
    {
      std::lock_guard<std::mutex> lk(async_mu_);
      stopping_ = true;
    }
    {
      std::lock_guard<std::mutex> lk(cleaner_mu_);
      stop_cleaner_ = true;
      cleaner_cv_.notify_all();
    }
    if (cleaner_.joinable()) cleaner_.join();
    if (retrier_.joinable()) retrier_.join();
    WaitIdle();
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [id, rt] : runtimes_) {
      std::lock_guard<std::mutex> ol(rt->op_mu);
      if (rt->engine) (void)rt->engine->Stop();
      rt->engine.reset();
      if (rt->mount) (void)rt->mount->Stop();
      rt->mount.reset();
    }
    runtimes_.clear();
  }

  Status Open();

  // ---- paths ----
  std::string MountDir(const std::string& id) const { return options_.data_dir + "/mnt/" + id; }
  std::string RunDir(const std::string& id) const { return options_.data_dir + "/run/" + id; }
  // TLS: rewindd's CA (its certificate is what clients trust, like Aurora's global-bundle.pem)
  // and each cluster's server certificate, all outside the volumes: a backtrack never rewinds
  // them. ClusterTls issues or renews a cluster's certificate; see there.
  std::string CaCertPath() const { return options_.data_dir + "/ca.pem"; }
  std::string CaKeyPath() const { return options_.data_dir + "/tls/ca-key.pem"; }
  std::string TlsDir(const std::string& id) const {
    return options_.data_dir + "/tls/clusters/" + id;
  }
  Result<tls::ServerCertFiles> ClusterTls(const ClusterRow& row);
  // The account the cluster's mariadbd runs as: its own uid (row.engine_uid) with the engine
  // user's group when rewindd is root; rewindd's own user (engine_account_) when not.
  // Failure: FailedPrecondition when rewindd is root and the row has no uid yet.
  Result<engine::EngineAccount> AccountOf(const ClusterRow& row) const;
  // A new cluster's engine uid (ServiceOptions::engine_uid_base): the lowest one no cluster in
  // meta.db holds and no passwd entry names; 0 when rewindd is not root. The caller holds mu_
  // (or is Open, before requests are served) and stores the row before releasing it.
  // Failure: Unavailable when all 65536 are taken; IOError if the passwd lookup fails.
  Result<int64_t> AllocateEngineUid();
  // Gives data_dir and its mnt/ and run/ their owners and modes (ServiceOptions::data_dir).
  Status SecureDataDir();

  std::string ClusterArn(const std::string& id) const {
    return "arn:aws:rds:" + options_.region + ":" + options_.account_id + ":cluster:" + id;
  }
  std::string InstanceArn(const std::string& id) const {
    return "arn:aws:rds:" + options_.region + ":" + options_.account_id + ":db:" + id;
  }

  void Event(const std::string& source_id, const std::string& type, const std::string& message,
             const std::string& categories) {
    (void)meta_->AddEvent(EventRow{source_id, type, message, categories, NowNs()});
  }

  std::shared_ptr<Runtime> RuntimeFor(const std::string& id) {
    std::lock_guard<std::mutex> lk(mu_);
    return RuntimeForLocked(id);
  }
  // As RuntimeFor, for a caller that already holds mu_ (mu_ is not recursive).
  std::shared_ptr<Runtime> RuntimeForLocked(const std::string& id) {
    auto& rt = runtimes_[id];
    if (!rt) rt = std::make_shared<Runtime>();
    return rt;
  }

  // Runs `work` on a background thread; WaitIdle waits for all of them.
  void Async(std::function<void()> work) {
    std::lock_guard<std::mutex> lk(async_mu_);
    if (stopping_) return;  // shutting down: no new work
    ++running_;
    threads_.emplace_back([this, work = std::move(work)] {
      work();
      std::lock_guard<std::mutex> l(async_mu_);
      --running_;
      async_cv_.notify_all();
    });
  }
  void WaitIdle() {
    std::unique_lock<std::mutex> lk(async_mu_);
    async_cv_.wait(lk, [this] { return running_ == 0; });
    std::vector<std::thread> done;
    done.swap(threads_);
    lk.unlock();
    for (auto& t : done) t.join();
  }

  Result<int> AssignPort(std::optional<int> asked, const std::string& self);
  // The tags of resource (kind "cluster" or "db", id).
  Result<std::vector<TagView>> TagsOf(const std::string& kind, const std::string& id) const {
    ASSIGN_OR_RETURN(std::vector<TagRow> rows, meta_->ListTags(kind, id));
    std::vector<TagView> out;
    for (TagRow& r : rows) out.push_back(TagView{std::move(r.key), std::move(r.value)});
    return out;
  }
  // Stores the tags of a resource just created; if that fails, `undo` removes the resource so
  // that the refused request leaves nothing behind.
  Status PutNewTags(const std::string& kind, const std::string& id,
                    const std::vector<TagView>& tags, const std::function<Status()>& undo) {
    if (tags.empty()) return Status::Ok();
    std::vector<TagRow> rows;
    for (const TagView& t : MergeTags({}, tags)) rows.push_back(TagRow{t.key, t.value});
    Status s = meta_->PutTags(kind, id, rows);
    if (!s.ok()) (void)undo();
    return s;
  }
  Result<int64_t> PruneEvents() {
    const int64_t days = std::max<int64_t>(1, options_.event_retention_days);
    return meta_->PruneEvents(NowNs() - days * 24 * 3600 * kNsPerSec);
  }
  Result<ClusterRow> GetClusterRow(const std::string& id);
  Status SetClusterStatus(const std::string& id, const std::string& status);
  Result<ClusterView> View(const ClusterRow& row);
  InstanceView ViewInstance(const InstanceRow& row, const ClusterRow& cluster) const;
  std::optional<InstanceRow> WriterOf(const std::string& cluster_id);

  // Instance rows. A status change made in the background (a restart, a failure) that SQLite
  // refuses (a full disk) is kept in memory: reads below see it and write it again, so that a
  // stale "rebooting" cannot block the instance once space is back.
  Result<std::optional<InstanceRow>> GetInstanceRow(const std::string& id);
  Result<std::vector<InstanceRow>> ListInstanceRows();
  void SaveInstanceStatus(InstanceRow row, const std::string& status);  // background changes
  Status PutInstanceRow(const InstanceRow& row);  // request paths: the caller reports failure
  Status DeleteInstanceRow(const std::string& id);

  // Mounts the cluster's volume head at its mount dir (clearing a stale mount first).
  Status MountHead(Runtime& rt, const ClusterRow& row);
  Result<std::unique_ptr<engine::MariaDbEngine>> MakeEngine(const ClusterRow& row,
                                                            const std::string& root_password);
  // Kills a mariadbd left running by an earlier rewindd on this cluster's run dir.
  void KillOrphan(const ClusterRow& row);
  int64_t EarliestBacktrackNs(const ClusterRow& row, const store::VolumeInfo& vol) const;

  // Retention: one pass (CleanNow); CleanOnce runs one for the timer and logs a failure.
  Result<store::CleanReport> RetentionPass();
  void CleanOnce();

  // Instances down while they should serve: "failed" ones, or "available" ones whose mariadbd
  // is not running, are started again (every retry_failed_interval_ms).
  void RetryDownInstances();
  // Calls `tick` every interval_ms until the service stops (the cleaner and the retrier).
  void EveryInterval(int64_t interval_ms, const std::function<void()>& tick);

  // Background work.
  void DoCreate(ClusterRow row, std::string master_password);
  void DoClone(ClusterRow row, std::string source_id, int64_t at_ns);
  // Why an instance's engine is (re)started: its creation (or rewindd's restart), a
  // RebootDBInstance call, or the retry of a failed instance.
  enum class StartKind { kCreate, kReboot, kRetry };
  void DoStartInstance(InstanceRow inst, StartKind kind = StartKind::kCreate);
  void DoBacktrack(BacktrackRow bt);
  void DoDeleteCluster(ClusterRow row);
  void DoDeleteInstance(InstanceRow inst);
  // Starts the cluster's engine again after it died on its own.
  void DoRecoverEngine(const std::string& cluster_id);

  ServiceOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<MetaDb> meta_;
  std::string engine_version_;
  std::optional<tls::CertificateAuthority> ca_;  // set by Open; const after
  // The shared engine account: its group is every mariadbd's (to cross the 0710 shared
  // directories) and it runs the version probe; each cluster's own uid is AccountOf (set by Open).
  engine::EngineAccount engine_account_;

  std::mutex mu_;  // guards runtimes_ and serialises validation + status changes of requests
  std::mutex unsaved_mu_;  // guards unsaved_; a leaf
  std::map<std::string, InstanceRow> unsaved_;  // by instance id: rows SQLite refused
  std::map<std::string, std::shared_ptr<Runtime>> runtimes_;

  std::mutex async_mu_;
  std::condition_variable async_cv_;
  int running_ = 0;
  bool stopping_ = false;  // guarded by async_mu_
  std::vector<std::thread> threads_;

  std::mutex pass_mu_;  // serialises retention passes; taken before mu_
  std::mutex retention_mu_;  // guards the retention state below; a leaf
  std::map<std::string, ClusterRetention> retention_;  // by cluster id
  std::map<std::string, int64_t> budget_floor_;  // floors the budget pushed past the window
  RetentionMetrics totals_;                            // cluster list unused here
  int64_t last_pass_ns_ = 0;

  // The cleaner's and the retrier's timers share these: stop_cleaner_ stops both.
  std::mutex cleaner_mu_;
  std::condition_variable cleaner_cv_;
  bool stop_cleaner_ = false;
  std::thread cleaner_;
  std::thread retrier_;
};

Result<ClusterRow> ClusterService::Impl::GetClusterRow(const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<ClusterRow> row, meta_->GetCluster(Lower(id)));
  if (!row) return ClusterNotFound(id);
  return *row;
}

Status ClusterService::Impl::SetClusterStatus(const std::string& id, const std::string& status) {
  ASSIGN_OR_RETURN(std::optional<ClusterRow> row, meta_->GetCluster(id));
  if (!row) return Status::NotFound("cluster vanished");
  row->status = status;
  return meta_->PutCluster(*row);
}

Result<std::optional<InstanceRow>> ClusterService::Impl::GetInstanceRow(const std::string& id) {
  ASSIGN_OR_RETURN(std::vector<InstanceRow> all, ListInstanceRows());
  for (const InstanceRow& r : all) {
    if (r.id == id) return std::optional<InstanceRow>(r);
  }
  return std::optional<InstanceRow>();
}

Result<std::vector<InstanceRow>> ClusterService::Impl::ListInstanceRows() {
  ASSIGN_OR_RETURN(std::vector<InstanceRow> rows, meta_->ListInstances());
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  for (InstanceRow& r : rows) {
    auto it = unsaved_.find(r.id);
    if (it == unsaved_.end()) continue;
    r = it->second;
    if (meta_->PutInstance(r).ok()) unsaved_.erase(it);
  }
  return rows;
}

void ClusterService::Impl::SaveInstanceStatus(InstanceRow row, const std::string& status) {
  row.status = status;
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  if (meta_->PutInstance(row).ok()) {
    unsaved_.erase(row.id);
  } else {
    std::fprintf(stderr, "rewindd: instance %s is %s; metadata not written yet\n",
                 row.id.c_str(), status.c_str());
    unsaved_[row.id] = row;
  }
}

Status ClusterService::Impl::PutInstanceRow(const InstanceRow& row) {
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  RETURN_IF_ERROR(meta_->PutInstance(row));
  unsaved_.erase(row.id);
  return Status::Ok();
}

Status ClusterService::Impl::DeleteInstanceRow(const std::string& id) {
  std::lock_guard<std::mutex> lk(unsaved_mu_);
  RETURN_IF_ERROR(meta_->DeleteInstance(id));
  unsaved_.erase(id);
  return Status::Ok();
}

std::optional<InstanceRow> ClusterService::Impl::WriterOf(const std::string& cluster_id) {
  auto all = ListInstanceRows();
  if (!all.ok()) return std::nullopt;
  for (const auto& i : *all) {
    if (i.cluster_id == cluster_id) return i;
  }
  return std::nullopt;
}

Result<int> ClusterService::Impl::AssignPort(std::optional<int> asked, const std::string& self) {
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  auto taken = [&](int p) {
    for (const auto& r : rows) {
      if (r.port == p && r.id != self) return true;
    }
    return false;
  };
  if (asked) {
    if (*asked < 1150 || *asked > 65535) {
      return InvalidParam("Invalid port " + std::to_string(*asked) +
                          ": the port must be from 1150 to 65535.");
    }
    if (taken(*asked)) {
      return InvalidParam("Port " + std::to_string(*asked) +
                          " is already the port of another DB cluster.");
    }
    return *asked;
  }
  for (int p = options_.first_port; p < 65535; ++p) {
    if (!taken(p) && LoopbackPortFree(p)) return p;
  }
  return Status::Unavailable("no free port");
}

int64_t ClusterService::Impl::EarliestBacktrackNs(const ClusterRow& row,
                                                  const store::VolumeInfo& vol) const {
  (void)row;
  // What the store still holds: the floor the last retention pass set (it moves only at the
  // next pass, so this moment stays reachable until then). Whole seconds, rounded up: the API
  // shows seconds, and that moment must be reachable.
  const int64_t earliest = std::max(vol.created_ns, vol.retained_from_ns);
  return (earliest + kNsPerSec - 1) / kNsPerSec * kNsPerSec;
}

Result<ClusterView> ClusterService::Impl::View(const ClusterRow& row) {
  ClusterView v;
  v.id = row.id;
  v.resource_id = row.resource_id;
  v.arn = ClusterArn(row.id);
  v.engine = row.engine;
  v.engine_version = row.engine_version;
  v.master_username = row.master_username;
  v.database_name = row.database_name;
  v.status = row.status;
  v.endpoint = options_.host;
  v.reader_endpoint = options_.host;
  v.port = row.port;
  v.backtrack_window_s = row.backtrack_window_s;
  v.create_time_ns = row.create_time_ns;
  v.clone_group_id = row.clone_group_id;
  v.source_cluster = row.source_cluster;
  auto vol = store_->FindVolume(row.volume);
  if (vol.ok()) {
    v.earliest_restorable_ns = EarliestBacktrackNs(row, *vol);
    v.latest_restorable_ns = NowNs();
    if (row.backtrack_window_s > 0) {
      v.earliest_backtrack_ns = v.earliest_restorable_ns;
      v.backtrack_window_actual_s =
          std::min(row.backtrack_window_s, (v.latest_restorable_ns - v.earliest_backtrack_ns) / kNsPerSec);
    }
  }
  {
    std::lock_guard<std::mutex> lk(retention_mu_);
    auto r = retention_.find(row.id);
    if (r != retention_.end()) {
      v.backtrack_consumed_change_records = r->second.change_records;
      v.backtrack_window_alert = r->second.alert;
    }
  }
  if (auto w = WriterOf(row.id)) v.members.push_back(ClusterMember{w->id, true});
  v.deletion_protection = row.deletion_protection;
  ASSIGN_OR_RETURN(v.tags, TagsOf("cluster", row.id));
  return v;
}

InstanceView ClusterService::Impl::ViewInstance(const InstanceRow& row,
                                                const ClusterRow& cluster) const {
  InstanceView v;
  v.id = row.id;
  v.cluster_id = row.cluster_id;
  v.resource_id = row.resource_id;
  v.arn = InstanceArn(row.id);
  v.instance_class = row.instance_class;
  v.engine = cluster.engine;
  v.engine_version = cluster.engine_version;
  v.status = row.status;
  v.endpoint = options_.host;
  v.port = cluster.port;
  v.create_time_ns = row.create_time_ns;
  v.master_username = cluster.master_username;
  v.database_name = cluster.database_name;
  // A tag read failure shows no tags rather than hiding the instance (describe keeps working).
  if (auto tags = TagsOf("db", row.id); tags.ok()) v.tags = std::move(tags).value();
  return v;
}

Status ClusterService::Impl::MountHead(Runtime& rt, const ClusterRow& row) {
  const std::string dir = MountDir(row.id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // The bare mountpoint (seen while unmounted) is as private as the rest.
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (IsMountPoint(dir)) {
    // Left by a rewindd that died: detach it so the directory can be mounted again.
    if (::umount2(dir.c_str(), MNT_DETACH) != 0) {
      return Status::FromErrno(errno, "detaching stale mount " + dir);
    }
  }
  ASSIGN_OR_RETURN(store::VolumeInfo vol, store_->FindVolume(row.volume));
  fs::MountOptions mo;
  mo.statfs_dir = options_.data_dir;
  // Only root and the cluster's own engine uid may use the mount (the kernel needs allow_other
  // to pass its requests when that is not rewindd's own user).
  ASSIGN_OR_RETURN(engine::EngineAccount account, AccountOf(row));
  mo.allow_other = account.switched;
  mo.admitted_uids = {account.uid};
  ASSIGN_OR_RETURN(rt.mount, fs::Mount::Start(store_.get(), vol.head, dir, mo));
  return Status::Ok();
}

Result<std::unique_ptr<engine::MariaDbEngine>> ClusterService::Impl::MakeEngine(
    const ClusterRow& row, const std::string& root_password) {
  engine::EngineOptions eo;
  eo.datadir = MountDir(row.id);
  eo.run_dir = RunDir(row.id);
  eo.port = row.port;
  eo.bind_address = options_.host;
  eo.innodb_buffer_pool_size = options_.innodb_buffer_pool_size;
  eo.root_password = root_password;
  ASSIGN_OR_RETURN(tls::ServerCertFiles tls_files, ClusterTls(row));
  eo.extra_settings.emplace_back("ssl-ca", tls_files.ca_path);
  eo.extra_settings.emplace_back("ssl-cert", tls_files.cert_path);
  eo.extra_settings.emplace_back("ssl-key", tls_files.key_path);
  ASSIGN_OR_RETURN(eo.account, AccountOf(row));
  // Every start re-applies the master's privileges: a cluster made by an older version, or
  // backtracked or cloned to a moment before, would otherwise bring back a wider grant.
  eo.master_user = row.master_username;
  // As Aurora does, an instance that dies (crash, OOM, kill -9) is started again; recovery
  // brings its committed data back. Runs on the engine's reaper thread: only post the work.
  eo.on_unexpected_exit = [this, id = row.id](const Status& why) {
    std::fprintf(stderr, "rewindd: the mariadbd of %s exited: %s\n", id.c_str(),
                 why.ToString().c_str());
    Async([this, id] { DoRecoverEngine(id); });
  };
  return engine::MariaDbEngine::Create(std::move(eo));
}

// The cluster's server certificate, issued by rewindd's CA for its Endpoint (an IP SAN for a
// numeric address, a DNS SAN for a name) and localhost; issued again when missing, damaged,
// within 30 days of its end, or not matching the endpoint. Called by MakeEngine, so at every
// rewindd start (clusters made before TLS get theirs then), creation, clone and backtrack.
// The directory and its files belong to the cluster's engine uid (mariadbd reads the key as
// it); SecureDataDir lets it cross tls/ and tls/clusters/ (group) to reach them.
Result<tls::ServerCertFiles> ClusterService::Impl::ClusterTls(const ClusterRow& row) {
  const std::string& id = row.id;
  const std::string dir = TlsDir(id);
  ASSIGN_OR_RETURN(engine::EngineAccount account, AccountOf(row));
  const tls::FileOwner owner = account.switched
                                   ? tls::FileOwner{account.uid, account.gid}
                                   : tls::FileOwner{};  // not root: our own user runs mariadbd
  std::vector<std::string> names = {options_.host};
  if (options_.host != "localhost") names.push_back("localhost");
  Result<tls::ServerCertFiles> files =
      tls::EnsureServerCertificate(*ca_, dir, names, owner, NowNs() / kNsPerSec);
  if (!files.ok()) return files.status().WithContext("TLS certificate of cluster " + id);
  if (files->issued) {
    std::fprintf(stderr, "rewindd: issued the TLS certificate of cluster %s (%s)\n", id.c_str(),
                 files->reason.c_str());
  }
  return files;
}

void ClusterService::Impl::DoRecoverEngine(const std::string& cluster_id) {
  auto rt = RuntimeFor(cluster_id);
  std::lock_guard<std::mutex> ol(rt->op_mu);
  auto writer = WriterOf(cluster_id);
  // Stopped on purpose meanwhile (backtrack, delete, shutdown), or restarted already.
  if (!rt->engine || rt->engine->IsRunning() || !rt->mount || !writer ||
      writer->status == "deleting") {
    return;
  }
  auto set_status = [&](const std::string& s) {
    writer->status = s;
    SaveInstanceStatus(*writer, s);
  };
  set_status("rebooting");
  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = rt->engine->Start();
    if (s.ok()) break;
    std::this_thread::sleep_for(std::chrono::seconds(1 << attempt));
  }
  if (!s.ok()) {
    set_status("failed");
    Event(writer->id, "db-instance", "DB instance failed to restart: " + s.message(), "failure");
    return;
  }
  set_status("available");
  Event(writer->id, "db-instance", "DB instance restarted after an unexpected exit", "availability");
}

void ClusterService::Impl::KillOrphan(const ClusterRow& row) {
  const std::string run = RunDir(row.id);
  long pid = 0;
  // The engine's layout, then the one of older versions (a mariadbd they left running).
  for (const char* name : {"/mariadbd/mariadbd.pid", "/mariadbd.pid"}) {
    std::ifstream pidf(run + name);
    if (pidf >> pid && pid > 0) break;
    pid = 0;
  }
  if (pid <= 0) return;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  // Only a mariadbd started with this cluster's own config file: never anything else.
  if (cmdline.find("--defaults-file=" + run + "/my.cnf") == std::string::npos) return;
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  for (int i = 0; i < 200 && std::filesystem::exists("/proc/" + std::to_string(pid)); ++i) {
    // Not our child: it is reaped by init; wait for it to be gone.
    std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    if (s.find(") Z") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// ---------------------------------------------------------------------------------------------
// Background operations.

void ClusterService::Impl::DoCreate(ClusterRow row, std::string master_password) {
  auto rt = RuntimeFor(row.id);
  std::lock_guard<std::mutex> ol(rt->op_mu);
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: creating cluster %s failed: %s\n", row.id.c_str(),
                 s.ToString().c_str());
    (void)SetClusterStatus(row.id, "failed");
    Event(row.id, "db-cluster", "DB cluster creation failed: " + s.message(), "failure");
    if (rt->engine) (void)rt->engine->Stop();
    rt->engine.reset();
  };
  if (!store_->FindVolume(row.volume).ok()) {
    auto vol = store_->CreateVolume(row.volume);
    if (!vol.ok()) return fail(vol.status());
  }
  Status s = MountHead(*rt, row);
  if (!s.ok()) return fail(s);
  std::error_code ec;
  std::filesystem::remove_all(RunDir(row.id), ec);  // a fresh cluster: no state from a namesake
  auto eng = MakeEngine(row, "");
  if (!eng.ok()) return fail(eng.status());
  rt->engine = std::move(eng).value();
  s = rt->engine->Initialize(row.master_username, master_password, row.database_name);
  if (!s.ok()) return fail(s);
  // The cluster's data is ready; mariadbd serves once the cluster has a writer instance.
  s = rt->engine->Stop();
  if (!s.ok()) return fail(s);
  s = store_->Sync();
  if (!s.ok()) return fail(s);
  (void)SetClusterStatus(row.id, "available");
  Event(row.id, "db-cluster", "DB cluster created", "creation");
}

void ClusterService::Impl::DoClone(ClusterRow row, std::string source_id, int64_t at_ns) {
  auto rt = RuntimeFor(row.id);
  std::lock_guard<std::mutex> ol(rt->op_mu);
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "rewindd: cloning %s failed: %s\n", row.id.c_str(), s.ToString().c_str());
    (void)SetClusterStatus(row.id, "failed");
    Event(row.id, "db-cluster", "Clone failed: " + s.message(), "failure");
  };
  auto src = meta_->GetCluster(source_id);
  if (!src.ok() || !*src) return fail(Status::NotFound("source cluster vanished"));
  auto src_vol = store_->FindVolume((*src)->volume);
  if (!src_vol.ok()) return fail(src_vol.status());
  if (!store_->FindVolume(row.volume).ok()) {
    Failpoint("cluster.clone.before_store_clone");
    auto vol = store_->Clone(row.volume, src_vol->id, at_ns);
    if (!vol.ok()) return fail(vol.status());
    Failpoint("cluster.clone.after_store_clone");
  }
  // The clone's datadir carries the source's accounts: its engine needs the source's root
  // password, kept in the clone's own run dir from now on.
  std::string root_password;
  {
    auto src_rt = RuntimeFor(source_id);
    std::ifstream in(RunDir(source_id) + "/root.password");
    std::getline(in, root_password);
  }
  if (root_password.empty()) return fail(Status::NotFound("source root password missing"));
  Status s = MountHead(*rt, row);
  if (!s.ok()) return fail(s);
  std::error_code ec;
  std::filesystem::remove_all(RunDir(row.id), ec);
  std::filesystem::create_directories(RunDir(row.id), ec);
  std::filesystem::permissions(RunDir(row.id), std::filesystem::perms::owner_all, ec);
  {
    // Created 0600 (never readable by others, whatever the umask).
    const std::string path = RunDir(row.id) + "/root.password";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    const std::string& line = root_password;  // as the engine writes it: no newline
    bool written = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                   ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                   ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!written) return fail(Status::FromErrno(errno, "writing " + path));
  }
  auto eng = MakeEngine(row, "");
  if (!eng.ok()) return fail(eng.status());
  rt->engine = std::move(eng).value();
  (void)SetClusterStatus(row.id, "available");
  Event(row.id, "db-cluster", "Cloned DB cluster " + row.id + " from " + source_id, "creation");
}

void ClusterService::Impl::DoStartInstance(InstanceRow inst, StartKind kind) {
  auto rt = RuntimeFor(inst.cluster_id);
  std::lock_guard<std::mutex> ol(rt->op_mu);
  auto cur = GetInstanceRow(inst.id);
  auto set_status = [&](const std::string& s) {
    if (cur.ok() && *cur) SaveInstanceStatus(**cur, s);
  };
  if (kind != StartKind::kCreate) {
    // Deleted, or changed by another operation, since this was asked.
    if (!cur.ok() || !*cur || (*cur)->status == "deleting" || (*cur)->status == "creating") return;
    if (kind == StartKind::kRetry && rt->engine && rt->engine->IsRunning()) {
      if ((*cur)->status == "failed") set_status("available");  // another start won the race
      return;
    }
  }
  auto row = GetClusterRow(inst.cluster_id);
  Status s = row.ok() ? Status::Ok() : row.status();
  if (s.ok() && !rt->engine) {
    if (!rt->mount) s = MountHead(*rt, *row);
    if (s.ok()) {
      auto eng = MakeEngine(*row, "");
      if (eng.ok()) rt->engine = std::move(eng).value();
      else s = eng.status();
    }
  }
  if (s.ok() && kind == StartKind::kReboot) s = rt->engine->Stop();
  if (s.ok() && !rt->engine->IsRunning()) s = rt->engine->Start();
  if (!s.ok()) {
    // A store that refused a device sync refuses writes until rewindd reopens it.
    if (Status h = store_->health(); !h.ok()) s = h.WithContext("restart rewindd to reopen the store");
    std::fprintf(stderr, "rewindd: starting instance %s failed: %s\n", inst.id.c_str(),
                 s.ToString().c_str());
    set_status("failed");
    // A retry that fails again says nothing new: no event every interval.
    if (kind != StartKind::kRetry) {
      Event(inst.id, "db-instance",
            std::string(kind == StartKind::kReboot ? "DB instance failed to restart: "
                                                   : "DB instance failed to start: ") +
                s.message(),
            "failure");
    }
    return;
  }
  set_status("available");
  if (row->status == "failed" && kind != StartKind::kCreate) {
    // A backtrack that could not bring the engine back left the cluster failed: it serves again.
    (void)SetClusterStatus(row->id, "available");
  }
  switch (kind) {
    case StartKind::kCreate: Event(inst.id, "db-instance", "DB instance created", "creation"); break;
    case StartKind::kReboot: Event(inst.id, "db-instance", "DB instance restarted", "availability"); break;
    case StartKind::kRetry:
      Event(inst.id, "db-instance", "DB instance recovered: its engine started again", "availability");
      break;
  }
}

void ClusterService::Impl::RetryDownInstances() {
  auto all = ListInstanceRows();
  if (!all.ok()) return;
  for (const InstanceRow& inst : *all) {
    auto row = meta_->GetCluster(inst.cluster_id);
    if (!row.ok() || !*row || ((*row)->status != "available" && (*row)->status != "failed")) {
      continue;  // being created, backtracked or deleted: that operation owns the engine
    }
    bool down = inst.status == "failed";
    if (inst.status == "available") {
      auto rt = RuntimeFor(inst.cluster_id);
      // Busy: an operation (a recovery after a crash, say) owns the engine now.
      std::unique_lock<std::mutex> ol(rt->op_mu, std::try_to_lock);
      down = ol.owns_lock() && (!rt->engine || !rt->engine->IsRunning());
    }
    if (down) Async([this, inst] { DoStartInstance(inst, StartKind::kRetry); });
  }
}

void ClusterService::Impl::DoBacktrack(BacktrackRow bt) {
  auto rt = RuntimeFor(bt.cluster_id);
  std::lock_guard<std::mutex> ol(rt->op_mu);
  bt.status = "applying";
  (void)meta_->PutBacktrack(bt);
  auto row = GetClusterRow(bt.cluster_id);
  Status s = row.ok() ? Status::Ok() : row.status();
  const bool had_engine = rt->engine && rt->engine->IsRunning();
  // As in Aurora, connections are dropped: the state at T is a crash image anyway.
  if (s.ok() && rt->engine) s = rt->engine->Kill();
  if (s.ok() && rt->mount) {
    s = rt->mount->Stop();
    rt->mount.reset();
  }
  Status rewind = s;
  if (s.ok()) {
    Failpoint("cluster.backtrack.before_rewind");
    auto vol = store_->FindVolume(row->volume);
    rewind = vol.ok() ? store_->Rewind(vol->id, bt.backtrack_to_ns).status() : vol.status();
    if (rewind.ok()) Failpoint("cluster.backtrack.after_rewind");
  }
  // Whatever happened, bring the cluster back up on its (new or old) head.
  Status up = row.ok() ? MountHead(*rt, *row) : row.status();
  if (up.ok() && had_engine) {
    if (!rt->engine) {
      auto eng = MakeEngine(*row, "");
      up = eng.ok() ? Status::Ok() : eng.status();
      if (eng.ok()) rt->engine = std::move(eng).value();
    }
    if (up.ok()) up = rt->engine->Start();
  }
  if (rewind.ok() && up.ok()) {
    bt.status = "completed";
    (void)meta_->PutBacktrack(bt);
    (void)SetClusterStatus(bt.cluster_id, "available");
    Event(bt.cluster_id, "db-cluster", "Backtrack completed", "backtrack");
    return;
  }
  Status why = !rewind.ok() ? rewind : up;
  std::fprintf(stderr, "rewindd: backtrack of %s failed: %s\n", bt.cluster_id.c_str(),
               why.ToString().c_str());
  bt.status = "failed";
  bt.message = why.message();
  (void)meta_->PutBacktrack(bt);
  (void)SetClusterStatus(bt.cluster_id, up.ok() ? "available" : "failed");
  Event(bt.cluster_id, "db-cluster", "Backtrack failed: " + why.message(), "backtrack");
}

void ClusterService::Impl::DoDeleteCluster(ClusterRow row) {
  auto rt = RuntimeFor(row.id);
  {
    std::lock_guard<std::mutex> ol(rt->op_mu);
    if (rt->engine) (void)rt->engine->Stop();
    rt->engine.reset();
    if (rt->mount) (void)rt->mount->Stop();
    rt->mount.reset();
    if (auto vol = store_->FindVolume(row.volume); vol.ok()) {
      Status s = store_->DeleteVolume(vol->id);
      if (!s.ok()) {
        (void)SetClusterStatus(row.id, "failed");
        Event(row.id, "db-cluster", "DB cluster deletion failed: " + s.message(), "failure");
        return;
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(RunDir(row.id), ec);
    std::filesystem::remove_all(TlsDir(row.id), ec);
    std::filesystem::remove(MountDir(row.id), ec);
    // An instance still being deleted goes with its cluster (its own deletion, queued before,
    // may run after this one; a restart must not find it without its cluster).
    while (auto w = WriterOf(row.id)) {
      if (!DeleteInstanceRow(w->id).ok()) break;
    }
    (void)meta_->DeleteCluster(row.id);
  }
  Event(row.id, "db-cluster", "DB cluster deleted", "deletion");
  std::lock_guard<std::mutex> lk(mu_);
  runtimes_.erase(row.id);
}

void ClusterService::Impl::DoDeleteInstance(InstanceRow inst) {
  auto rt = RuntimeFor(inst.cluster_id);
  std::lock_guard<std::mutex> ol(rt->op_mu);
  if (rt->engine) (void)rt->engine->Stop();
  (void)DeleteInstanceRow(inst.id);
  Event(inst.id, "db-instance", "DB instance deleted", "deletion");
}

// ---------------------------------------------------------------------------------------------

Result<engine::EngineAccount> ClusterService::Impl::AccountOf(const ClusterRow& row) const {
  if (!engine_account_.switched) return engine_account_;
  if (row.engine_uid <= 0 || row.engine_uid >= static_cast<int64_t>(UINT32_MAX)) {
    return Status::FailedPrecondition("cluster " + row.id + " has no valid engine uid (" +
                                      std::to_string(row.engine_uid) + ")");
  }
  return engine::EngineAccount{"rewind-" + row.id, static_cast<uid_t>(row.engine_uid),
                               engine_account_.gid, true};
}

Result<int64_t> ClusterService::Impl::AllocateEngineUid() {
  if (!engine_account_.switched) return int64_t{0};
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  std::set<int64_t> held;
  for (const ClusterRow& r : rows) held.insert(r.engine_uid);
  const int64_t base = options_.engine_uid_base;
  for (int64_t uid = base; uid < base + 65536; ++uid) {
    if (held.count(uid) != 0) continue;
    struct passwd entry {};
    struct passwd* found = nullptr;
    std::vector<char> buffer(16384);
    const int rc =
        ::getpwuid_r(static_cast<uid_t>(uid), &entry, buffer.data(), buffer.size(), &found);
    if (found != nullptr) continue;  // a real account's uid: never shared with a mariadbd
    if (rc != 0 && rc != ENOENT && rc != ESRCH) {
      return Status::FromErrno(rc, "looking up uid " + std::to_string(uid));
    }
    return uid;
  }
  return Status::Unavailable("no free engine uid in " + std::to_string(base) + ".." +
                             std::to_string(base + 65535) +
                             ": delete clusters or pick another --engine-uid-base");
}

Status ClusterService::Impl::SecureDataDir() {
  // tls/ and tls/clusters/ lead to each cluster's certificate directory, owned by that
  // cluster's engine uid (ClusterTls); the CA's key in tls/ stays root's own (0600).
  for (const std::string& dir :
       {options_.data_dir, options_.data_dir + "/mnt", options_.data_dir + "/run",
        options_.data_dir + "/tls", options_.data_dir + "/tls/clusters"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
    // 0710 with the engine user's group: it may cross to its mount and its run files, and
    // list nothing; nobody else may enter.
    const bool shared = engine_account_.switched;
    if (shared && ::chown(dir.c_str(), static_cast<uid_t>(-1), engine_account_.gid) != 0) {
      return Status::FromErrno(errno, "chgrp " + dir);
    }
    if (::chmod(dir.c_str(), shared ? 0710 : 0700) != 0) {
      return Status::FromErrno(errno, "chmod " + dir);
    }
  }
  if (engine_account_.switched) {
    RETURN_IF_ERROR(engine::CheckTraversable(options_.data_dir + "/run", engine_account_)
                        .WithContext("the data dir " + options_.data_dir +
                                     " cannot be used by the engine user"));
  }
  return Status::Ok();
}

Status ClusterService::Impl::Open() {
  ASSIGN_OR_RETURN(engine_account_, engine::ResolveEngineAccount(options_.engine_user));
  if (engine_account_.switched && (options_.engine_uid_base < 65536 ||
                                   options_.engine_uid_base > UINT32_MAX - 1 - 65535)) {
    return Status::InvalidArgument("engine uid base " + std::to_string(options_.engine_uid_base) +
                                   " must be from 65536 to " +
                                   std::to_string(UINT32_MAX - 1 - 65535));
  }
  RETURN_IF_ERROR(SecureDataDir());
  store::StoreOptions so;
  so.dir = options_.data_dir + "/store";
  so.compress = options_.store_compress;
  so.compress_level = options_.store_compress_level;
  so.tier = options_.store_tier;
  ASSIGN_OR_RETURN(store_, store::Store::Open(so));
  {
    const store::RecoveryReport& r = store_->recovery();
    std::fprintf(stderr, "rewindd: store opened: %s, %llu records replayed, last LSN %llu%s%s\n",
                 r.loaded_checkpoint ? "from its checkpoint" : "from its log",
                 (unsigned long long)r.records_replayed,
                 (unsigned long long)store_->LastLsn().value,
                 r.tail_cut ? "; torn tail cut: " : "", r.tail_cut ? r.cut_reason.c_str() : "");
  }
  ASSIGN_OR_RETURN(meta_, MetaDb::Open(options_.data_dir + "/meta.db"));
  // SecureDataDir made tls/ and tls/clusters/ (0710: the engine user crosses them to its
  // certificates; the CA's key is root's own file).
  ASSIGN_OR_RETURN(ca_, tls::CertificateAuthority::LoadOrCreate(
                            CaCertPath(), CaKeyPath(), "Rewind DB cluster CA", NowNs() / kNsPerSec));
  {
    engine::EngineOptions probe;
    probe.datadir = options_.data_dir + "/mnt/.probe";
    probe.run_dir = options_.data_dir + "/run/.probe";
    probe.port = options_.first_port;
    probe.engine_user = engine_account_.name;
    ASSIGN_OR_RETURN(auto eng, engine::MariaDbEngine::Create(probe));
    ASSIGN_OR_RETURN(engine_version_, eng->Version());
  }

  // Clusters made before per-cluster engine uids (or while rewindd was not root) get theirs
  // now, one at a time so each allocation sees the last.
  if (engine_account_.switched) {
    ASSIGN_OR_RETURN(std::vector<ClusterRow> old_rows, meta_->ListClusters());
    for (ClusterRow row : old_rows) {
      if (row.engine_uid > 0) continue;
      ASSIGN_OR_RETURN(row.engine_uid, AllocateEngineUid());
      RETURN_IF_ERROR(meta_->PutCluster(row));
      std::fprintf(stderr, "rewindd: cluster %s runs as its own engine uid %lld from now on\n",
                   row.id.c_str(), static_cast<long long>(row.engine_uid));
    }
  }
  // Bring every cluster back as it was; finish or undo what a restart cut short.
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  for (ClusterRow row : rows) {
    KillOrphan(row);
    auto vol = store_->FindVolume(row.volume);
    if (row.status == "deleting") {
      Async([this, row] { DoDeleteCluster(row); });
      continue;
    }
    if (row.status == "creating" && !row.source_cluster.empty()) {
      // The moment asked for (0 in rows of older versions: now).
      const int64_t at = row.restore_to_ns > 0 ? row.restore_to_ns : NowNs();
      Async([this, row, at] { DoClone(row, row.source_cluster, at); });
      continue;
    }
    if (row.status == "creating" || !vol.ok()) {
      // Its master password was never stored: an interrupted creation cannot be redone.
      row.status = "failed";
      (void)meta_->PutCluster(row);
      Event(row.id, "db-cluster", "DB cluster creation was interrupted by a restart", "failure");
      continue;
    }
    if (row.status == "backtracking") {
      // The rewind is one store record: it either landed (the volume's head moved after the
      // request) or not at all.
      ASSIGN_OR_RETURN(std::vector<BacktrackRow> bts, meta_->ListBacktracks(row.id));
      for (BacktrackRow bt : bts) {
        if (bt.status != "pending" && bt.status != "applying") continue;
        const bool landed = vol->history.back().from_ns >= bt.request_time_ns;
        bt.status = landed ? "completed" : "failed";
        if (!landed) bt.message = "interrupted by a restart before it was applied";
        (void)meta_->PutBacktrack(bt);
        Event(row.id, "db-cluster", landed ? "Backtrack completed" : "Backtrack failed: " + bt.message,
              "backtrack");
      }
    }
    if (row.status != "failed") row.status = "available";
    (void)meta_->PutCluster(row);
    auto rt = RuntimeFor(row.id);
    Status s = MountHead(*rt, row);
    if (!s.ok()) {
      std::fprintf(stderr, "rewindd: mounting %s failed: %s\n", row.id.c_str(),
                   s.ToString().c_str());
      continue;
    }
    auto eng = MakeEngine(row, "");
    if (!eng.ok()) {
      std::fprintf(stderr, "rewindd: preparing the engine of %s failed: %s\n", row.id.c_str(),
                   eng.status().ToString().c_str());
      continue;
    }
    rt->engine = std::move(eng).value();
    if (auto w = WriterOf(row.id)) {
      if (w->status == "deleting") {
        Async([this, inst = *w] { DoDeleteInstance(inst); });
      } else {
        w->status = "creating";
        (void)PutInstanceRow(*w);
        Async([this, inst = *w] { DoStartInstance(inst); });
      }
    }
  }
  // The events table keeps event_retention_days of events, as Aurora keeps 14 days.
  RETURN_IF_ERROR(PruneEvents().status());
  if (options_.clean_interval_ms > 0) {
    cleaner_ = std::thread([this] {
      EveryInterval(options_.clean_interval_ms, [this] { CleanOnce(); });
    });
  }
  if (options_.retry_failed_interval_ms > 0) {
    retrier_ = std::thread([this] {
      EveryInterval(options_.retry_failed_interval_ms, [this] { RetryDownInstances(); });
    });
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Retention

void ClusterService::Impl::EveryInterval(int64_t interval_ms, const std::function<void()>& tick) {
  std::unique_lock<std::mutex> lk(cleaner_mu_);
  while (!stop_cleaner_) {
    cleaner_cv_.wait_for(lk, std::chrono::milliseconds(interval_ms),
                         [this] { return stop_cleaner_; });
    if (stop_cleaner_) break;
    lk.unlock();
    tick();
    lk.lock();
  }
}

void ClusterService::Impl::CleanOnce() {
  Result<store::CleanReport> r = RetentionPass();
  if (!r.ok()) std::fprintf(stderr, "rewindd: retention pass: %s\n", r.status().ToString().c_str());
}

Result<store::CleanReport> ClusterService::Impl::RetentionPass() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  // Old events go with every pass; a failure here does not stop the cleaning.
  if (Result<int64_t> pruned = PruneEvents(); !pruned.ok()) {
    std::fprintf(stderr, "rewindd: pruning events: %s\n", pruned.status().ToString().c_str());
  }
  const int64_t now = NowNs();

  // Floors: each cluster's state from the start of its window on stays; `push` also moves every
  // floor halfway to now (the history budget is exceeded). A cluster whose backtrack or clone
  // was validated against its floor and is under way keeps its floor until that is done.
  std::map<std::string, uint64_t> volume_of;  // cluster id -> volume id
  auto raise_floors = [&](bool push) -> Status {
    std::lock_guard<std::mutex> lk(mu_);
    ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
    std::set<std::string> frozen;
    for (const auto& r : rows) {
      if (r.status != "available" && r.status != "failed") frozen.insert(r.id);
      if (r.status == "creating" && !r.source_cluster.empty()) frozen.insert(r.source_cluster);
    }
    for (const auto& r : rows) {
      auto vol = store_->FindVolume(r.volume);
      if (!vol.ok()) continue;
      volume_of[r.id] = vol->id.value;
      if (frozen.count(r.id)) continue;
      int64_t floor = now - r.backtrack_window_s * kNsPerSec;
      if (push) floor = std::max(floor, vol->retained_from_ns + (now - vol->retained_from_ns) / 2);
      if (floor > vol->retained_from_ns) RETURN_IF_ERROR(store_->SetRetention(vol->id, floor).status());
    }
    return Status::Ok();
  };

  // Inodes the kernel still holds on each mount: an unlinked one's data must stay readable.
  std::map<uint64_t, std::set<uint64_t>> known;  // timeline -> inodes
  std::set<uint64_t> busy;                        // timelines whose mount is being changed
  std::map<std::string, fs::MountStats> mount_stats;
  {
    std::vector<std::pair<std::string, std::shared_ptr<Runtime>>> rts;
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (const auto& [id, rt] : runtimes_) rts.emplace_back(id, rt);
    }
    for (const auto& [id, rt] : rts) {
      std::unique_lock<std::mutex> ol(rt->op_mu, std::try_to_lock);
      if (!ol.owns_lock()) {
        // Busy (a backtrack remounts it): every unlinked file of its timelines stays this pass.
        auto row = meta_->GetCluster(id);
        auto vol = row.ok() && *row ? store_->FindVolume((*row)->volume)
                                    : Result<store::VolumeInfo>(Status::NotFound(id));
        if (vol.ok()) {
          for (const auto& h : vol->history) busy.insert(h.timeline.value);
        }
        continue;
      }
      if (!rt->mount) continue;
      auto inodes = rt->mount->KnownInodes();
      known[rt->mount->timeline().value].insert(inodes.begin(), inodes.end());
      mount_stats[id] = rt->mount->stats();
    }
  }
  RETURN_IF_ERROR(raise_floors(false));
  store::CleanOptions co = options_.clean;
  co.in_use = [&known, &busy](store::TimelineId tl, store::InodeId ino) {
    if (busy.count(tl.value)) return true;
    auto it = known.find(tl.value);
    return it != known.end() && it->second.count(ino.value) > 0;
  };
  ASSIGN_OR_RETURN(store::CleanReport report, store_->Clean(co));
  store::CleanReport total = report;
  for (int i = 0; i < 8 && options_.history_budget_bytes > 0 &&
                  report.bytes_after > options_.history_budget_bytes;
       ++i) {
    RETURN_IF_ERROR(raise_floors(true));
    ASSIGN_OR_RETURN(report, store_->Clean(co));
    total.versions_dropped += report.versions_dropped;
    total.segments_rewritten += report.segments_rewritten;
    total.bytes_after = report.bytes_after;
    total.volumes = report.volumes;
    total.seconds += report.seconds;
  }

  // Alerts and the per-cluster figures.
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, meta_->ListClusters());
  std::vector<std::pair<std::string, bool>> alerts;  // cluster, new alert state
  {
    std::lock_guard<std::mutex> lk(retention_mu_);
    const double dt = last_pass_ns_ > 0 ? static_cast<double>(now - last_pass_ns_) / 1e9 : 0;
    std::map<std::string, ClusterRetention> next;
    for (const auto& r : rows) {
      auto vol = store_->FindVolume(r.volume);
      if (!vol.ok()) continue;
      ClusterRetention c;
      auto prev = retention_.find(r.id);
      if (prev != retention_.end()) c = prev->second;
      c.id = r.id;
      c.window_target_s = r.backtrack_window_s;
      const int64_t earliest = std::max(vol->created_ns, vol->retained_from_ns);
      c.window_actual_s = r.backtrack_window_s == 0
                              ? 0
                              : std::min(r.backtrack_window_s, (now - earliest) / kNsPerSec);
      // The window is short of its target because the budget moved the floor past the start of
      // the window (a young cluster's window is still filling: no alert).
      const bool cut = r.backtrack_window_s > 0 &&
                       vol->retained_from_ns > std::max(vol->created_ns,
                                                        now - r.backtrack_window_s * kNsPerSec) +
                                                   kNsPerSec;
      if (cut != c.alert) alerts.emplace_back(r.id, cut);
      c.alert = cut;
      auto vs = total.volumes.find(vol->id.value);
      if (vs != total.volumes.end()) {
        c.change_records = vs->second.change_records;
        c.history_bytes = vs->second.history_bytes;
        c.live_bytes = vs->second.live_bytes;
        c.history_stored_bytes = vs->second.history_stored_bytes;
        c.live_stored_bytes = vs->second.live_stored_bytes;
      }
      auto ms = mount_stats.find(r.id);
      if (ms != mount_stats.end()) {
        const uint64_t before = c.mount.writes;
        const uint64_t after = ms->second.writes;
        c.change_records_per_s =
            dt > 0 ? static_cast<double>(after >= before ? after - before : after) / dt : 0;
        c.change_records_created += after >= before ? after - before : after;
        c.mount = ms->second;
      }
      next[r.id] = c;
    }
    retention_.swap(next);
    last_pass_ns_ = now;
    ++totals_.clean_passes;
    totals_.versions_dropped_total += total.versions_dropped;
    totals_.segments_rewritten_total += total.segments_rewritten;
    if (total.bytes_before > total.bytes_after) {
      totals_.bytes_reclaimed_total += total.bytes_before - total.bytes_after;
    }
    totals_.last_pass_seconds = total.seconds;
    totals_.last_pass_end_ns = NowNs();
  }
  for (const auto& [id, on] : alerts) Event(id, "db-cluster", on ? kWindowShrunk : kWindowBack, "backtrack");
  return total;
}

// ---------------------------------------------------------------------------------------------

ClusterService::ClusterService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterService::~ClusterService() = default;

Result<std::unique_ptr<ClusterService>> ClusterService::Open(const ServiceOptions& options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("data dir not set");
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ClusterService>(new ClusterService(std::move(impl)));
}

void ClusterService::WaitIdle() { impl_->WaitIdle(); }

const store::Store& ClusterService::store() const { return *impl_->store_; }

Result<store::Lsn> ClusterService::SnapshotMetadata(const std::string& path, int64_t* changes) {
  *changes = impl_->meta_->ChangeCount();
  RETURN_IF_ERROR(impl_->meta_->BackupTo(path));
  // Volumes are made in the store before meta.db names them: after this sync every one the
  // copy names is in the log at or below the returned LSN.
  RETURN_IF_ERROR(impl_->store_->Sync());
  return impl_->store_->stats().synced_lsn;
}

int64_t ClusterService::MetadataChanges() { return impl_->meta_->ChangeCount(); }

void ClusterService::EventForEveryCluster(const std::string& message, const std::string& category) {
  Result<std::vector<ClusterRow>> rows = impl_->meta_->ListClusters();
  if (!rows.ok()) return;
  for (const ClusterRow& r : *rows) impl_->Event(r.id, "db-cluster", message, category);
}

Result<store::CleanReport> ClusterService::CleanNow() { return impl_->RetentionPass(); }

RetentionMetrics ClusterService::Retention() {
  RetentionMetrics m;
  m.store = impl_->store_->stats();
  std::lock_guard<std::mutex> lk(impl_->retention_mu_);
  m.clean_passes = impl_->totals_.clean_passes;
  m.versions_dropped_total = impl_->totals_.versions_dropped_total;
  m.segments_rewritten_total = impl_->totals_.segments_rewritten_total;
  m.bytes_reclaimed_total = impl_->totals_.bytes_reclaimed_total;
  m.last_pass_seconds = impl_->totals_.last_pass_seconds;
  m.last_pass_end_ns = impl_->totals_.last_pass_end_ns;
  m.history_budget_bytes = impl_->options_.history_budget_bytes;
  for (const auto& [id, c] : impl_->retention_) m.clusters.push_back(c);
  return m;
}

std::string BoundedInput(std::string_view value, size_t max) {
  if (value.size() <= max) return std::string(value);
  size_t cut = max;
  // Do not split a UTF-8 sequence: back up to the start of the character.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return std::string(value.substr(0, cut)) + "...";
}

Status ValidateTags(const std::vector<TagView>& tags) {
  if (tags.size() > kMaxTagsPerResource) {
    return InvalidParam("A resource can have at most " + std::to_string(kMaxTagsPerResource) +
                        " tags; this request would give it " + std::to_string(tags.size()) + ".");
  }
  auto allowed = [](const std::string& s) {
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x80 || std::isalnum(c) || std::isspace(c)) continue;
      if (std::string_view("_.:/=+-@").find(ch) == std::string_view::npos) return false;
    }
    return true;
  };
  for (const TagView& t : tags) {
    if (t.key.empty() || t.key.size() > 128) {
      return InvalidParam("Tag key " + BoundedInput(t.key) +
                          " is invalid: a tag key must be 1 to 128 characters long.");
    }
    if (Lower(t.key.substr(0, 4)) == "aws:" || Lower(t.key.substr(0, 4)) == "rds:") {
      return InvalidParam("Tag key " + BoundedInput(t.key) +
                          " is invalid: tag keys may not start with 'aws:' or 'rds:'.");
    }
    if (t.value.size() > 256) {
      return InvalidParam("The value of tag " + BoundedInput(t.key) +
                          " is invalid: a tag value must be at most 256 characters long.");
    }
    if (!allowed(t.key) || !allowed(t.value)) {
      return InvalidParam("Tag " + BoundedInput(t.key) +
                          " is invalid: tag keys and values may contain only letters, digits, "
                          "white space and _ . : / = + - @.");
    }
  }
  return Status::Ok();
}

std::vector<TagView> MergeTags(std::vector<TagView> current, const std::vector<TagView>& added) {
  for (const TagView& t : added) {
    auto it = std::find_if(current.begin(), current.end(),
                           [&](const TagView& c) { return c.key == t.key; });
    if (it != current.end()) {
      it->value = t.value;
    } else {
      current.push_back(t);
    }
  }
  return current;
}

Status ValidateMasterUsername(const std::string& name) {
  if (name.empty()) {
    return InvalidParam("The parameter MasterUsername must be provided and must not be blank.");
  }
  if (name.size() > 16 || !std::isalpha(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
    if (ReservedUserNames().count(Lower(name))) {  // e.g. mariadb.sys
      return InvalidParam("MasterUsername " + BoundedInput(name) +
                          " cannot be used as it is a reserved word used by the engine");
    }
    return InvalidParam("MasterUsername " + BoundedInput(name) +
                        " is invalid: it must be 1 to 16 letters, digits or underscores, "
                        "starting with a letter.");
  }
  if (ReservedUserNames().count(Lower(name))) {
    return InvalidParam("MasterUsername " + name +
                        " cannot be used as it is a reserved word used by the engine");
  }
  return Status::Ok();
}

Status ValidateMasterPassword(const std::string& pw) {
  if (pw.size() < 8 || pw.size() > 41) {
    return InvalidParam("The parameter MasterUserPassword is not a valid password because it "
                        "is shorter than 8 characters or longer than 41.");
  }
  for (char c : pw) {
    if (c < 33 || c > 126 || c == '/' || c == '"' || c == '@') {
      return InvalidParam("The parameter MasterUserPassword is not a valid password. Only "
                          "printable ASCII characters besides '/', '@', '\"', ' ' may be used.");
    }
  }
  return Status::Ok();
}

Result<ClusterView> ClusterService::CreateCluster(const CreateClusterRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, "DBClusterIdentifier"));
  if (req.engine != "aurora-mysql") {
    return InvalidParam("Invalid DB engine: " + BoundedInput(req.engine) +
                        ". Rewind serves Engine aurora-mysql (MariaDB underneath).");
  }
  RETURN_IF_ERROR(ValidateMasterUsername(req.master_username));
  RETURN_IF_ERROR(ValidateMasterPassword(req.master_password));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  if (!req.database_name.empty()) {
    bool ok = req.database_name.size() <= 64 &&
              std::isalpha(static_cast<unsigned char>(req.database_name[0]));
    for (char c : req.database_name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok) {
      return InvalidParam("DatabaseName must be 1 to 64 letters, digits or underscores, "
                          "starting with a letter.");
    }
  }
  if (req.backtrack_window_s < 0 || req.backtrack_window_s > kMaxBacktrackWindowS) {
    return InvalidParam("BacktrackWindow must be " RWD_WINDOW_RANGE ".");
  }
  if (req.engine_version && !req.engine_version->empty() &&
      req.engine_version->find(impl_->engine_version_.substr(0, 7)) == std::string::npos &&
      req.engine_version->rfind("8.0", 0) != 0 && req.engine_version->rfind("5.7", 0) != 0) {
    return InvalidParam("Cannot find version " + BoundedInput(*req.engine_version) +
                        " for aurora-mysql");
  }
  std::lock_guard<std::mutex> lk(impl_->mu_);
  const std::string id = Lower(req.id);
  ASSIGN_OR_RETURN(std::optional<ClusterRow> existing, impl_->meta_->GetCluster(id));
  if (existing) {
    return Fault("DBClusterAlreadyExistsFault", Status::Code::kAlreadyExists,
                 "DB cluster already exists");
  }
  ClusterRow row;
  row.id = id;
  row.resource_id = "cluster-" + RandomAlnum(26, true);
  row.engine = req.engine;
  row.engine_version = impl_->engine_version_;
  row.master_username = req.master_username;
  row.database_name = req.database_name;
  row.status = "creating";
  ASSIGN_OR_RETURN(row.port, impl_->AssignPort(req.port, id));
  ASSIGN_OR_RETURN(row.engine_uid, impl_->AllocateEngineUid());
  row.backtrack_window_s = req.backtrack_window_s;
  row.create_time_ns = NowNs();
  row.clone_group_id = Uuid();
  row.volume = id;
  row.deletion_protection = req.deletion_protection;
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  RETURN_IF_ERROR(impl_->PutNewTags("cluster", id, req.tags, [&] { return impl_->meta_->DeleteCluster(id); }));
  impl_->Async([impl = impl_.get(), row, pw = req.master_password] { impl->DoCreate(row, pw); });
  return impl_->View(row);
}

Result<std::vector<ClusterView>> ClusterService::DescribeClusters(
    const std::optional<std::string>& id) {
  std::vector<ClusterView> out;
  if (id) {
    ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(*id));
    ASSIGN_OR_RETURN(ClusterView v, impl_->View(row));
    out.push_back(std::move(v));
    return out;
  }
  ASSIGN_OR_RETURN(std::vector<ClusterRow> rows, impl_->meta_->ListClusters());
  for (const auto& row : rows) {
    ASSIGN_OR_RETURN(ClusterView v, impl_->View(row));
    out.push_back(std::move(v));
  }
  return out;
}

Result<ClusterView> ClusterService::ModifyCluster(const ModifyClusterRequest& req) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.id));
  // Deletion protection alone may change on a failed cluster too: otherwise a protected cluster
  // that failed could never be deleted.
  const bool protection_only = !req.backtrack_window_s && !req.master_password;
  if (row.status != "available" && !(row.status == "failed" && protection_only)) {
    return InvalidState("DB cluster " + row.id + " is " + row.status +
                        "; it can be modified when it is available.");
  }
  if (req.backtrack_window_s) {
    const int64_t w = *req.backtrack_window_s;
    if (w < 0 || w > kMaxBacktrackWindowS) {
      return InvalidParam("BacktrackWindow must be " RWD_WINDOW_RANGE ".");
    }
    if (w > 0 && (row.backtrack_window_s == 0 || row.backtrack_disabled_for_good)) {
      return InvalidCombination("Backtrack is not enabled for DB cluster " + row.id +
                                ": it can only be turned on when the cluster is created.");
    }
  }
  if (req.master_password) {
    const std::string& pw = *req.master_password;
    RETURN_IF_ERROR(ValidateMasterPassword(pw));
    auto rt = impl_->RuntimeForLocked(row.id);  // mu_ is held
    std::lock_guard<std::mutex> ol(rt->op_mu);
    if (!rt->engine || !rt->engine->IsRunning()) {
      return InvalidState("DB cluster " + row.id +
                          " has no running writer instance to change the password on.");
    }
    RETURN_IF_ERROR(rt->engine->SetUserPassword(row.master_username, pw));
  }
  if (req.backtrack_window_s) {
    row.backtrack_window_s = *req.backtrack_window_s;
    if (row.backtrack_window_s == 0) row.backtrack_disabled_for_good = true;
  }
  if (req.deletion_protection) row.deletion_protection = *req.deletion_protection;
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  impl_->Event(row.id, "db-cluster", "DB cluster modified", "configuration change");
  return impl_->View(row);
}

Result<ClusterView> ClusterService::DeleteCluster(const DeleteClusterRequest& req) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.id));
  if (row.deletion_protection) {
    // Aurora's own words; nothing changes.
    return InvalidCombination(
        "Cannot delete protected Cluster, please disable deletion protection and try again.");
  }
  if (!req.skip_final_snapshot && !req.final_snapshot_id) {
    return InvalidCombination(
        "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
  }
  if (req.final_snapshot_id) {
    return InvalidCombination("Rewind takes no final snapshots: use SkipFinalSnapshot (a clone "
                              "keeps the data of any moment instead).");
  }
  // As in Aurora, instances already being deleted do not hold the cluster back (the usual
  // clean-up is delete-db-instance then delete-db-cluster at once).
  if (auto w = impl_->WriterOf(row.id); w && w->status != "deleting") {
    return InvalidState("Cluster cannot be deleted, it still contains DB instances in "
                        "non-deleting state.");
  }
  if (row.status != "available" && row.status != "failed") {
    return InvalidState("DB cluster " + row.id + " is " + row.status + "; it cannot be deleted now.");
  }
  row.status = "deleting";
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  ASSIGN_OR_RETURN(ClusterView v, impl_->View(row));
  impl_->Async([impl = impl_.get(), row] { impl->DoDeleteCluster(row); });
  return v;
}

Result<InstanceView> ClusterService::CreateInstance(const CreateInstanceRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, "DBInstanceIdentifier"));
  if (req.instance_class.empty()) {
    return Fault("MissingParameter", Status::Code::kInvalidArgument,
                 "The request must contain the parameter DBInstanceClass.");
  }
  if (req.cluster_id.empty()) {
    return InvalidCombination("An aurora-mysql DB instance must belong to a DB cluster: give "
                              "DBClusterIdentifier.");
  }
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  std::lock_guard<std::mutex> lk(impl_->mu_);
  const std::string id = Lower(req.id);
  ASSIGN_OR_RETURN(std::optional<InstanceRow> existing, impl_->GetInstanceRow(id));
  if (existing) {
    return Fault("DBInstanceAlreadyExists", Status::Code::kAlreadyExists,
                 "DB instance already exists");
  }
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  if (!req.engine.empty() && req.engine != row.engine) {
    return InvalidCombination("The engine name requested for your DB instance (" +
                              BoundedInput(req.engine) +
                              ") doesn't match the engine name of your DB cluster (" +
                              row.engine + ").");
  }
  if (impl_->WriterOf(row.id)) {
    return InvalidState("DB cluster " + row.id + " already has its writer instance; Rewind "
                        "serves one instance per cluster.");
  }
  if (row.status != "available" && row.status != "creating") {
    return InvalidState("DB cluster " + row.id + " is " + row.status + ".");
  }
  InstanceRow inst;
  inst.id = id;
  inst.cluster_id = row.id;
  inst.resource_id = "db-" + RandomAlnum(26, true);
  inst.instance_class = req.instance_class;
  inst.status = "creating";
  inst.create_time_ns = NowNs();
  RETURN_IF_ERROR(impl_->PutInstanceRow(inst));
  RETURN_IF_ERROR(impl_->PutNewTags("db", id, req.tags, [&] { return impl_->DeleteInstanceRow(id); }));
  impl_->Async([impl = impl_.get(), inst] { impl->DoStartInstance(inst); });
  return impl_->ViewInstance(inst, row);
}

Result<std::vector<InstanceView>> ClusterService::DescribeInstances(
    const std::optional<std::string>& id, const std::optional<std::string>& cluster) {
  std::vector<InstanceView> out;
  ASSIGN_OR_RETURN(std::vector<InstanceRow> rows, impl_->ListInstanceRows());
  for (const auto& r : rows) {
    if (id && r.id != Lower(*id)) continue;
    if (cluster && r.cluster_id != Lower(*cluster)) continue;
    auto c = impl_->GetClusterRow(r.cluster_id);
    if (!c.ok()) continue;
    out.push_back(impl_->ViewInstance(r, *c));
  }
  if (id && out.empty()) return InstanceNotFound(*id);
  return out;
}

Result<InstanceView> ClusterService::DeleteInstance(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::optional<InstanceRow> inst, impl_->GetInstanceRow(Lower(id)));
  if (!inst) return InstanceNotFound(id);
  if (inst->status == "deleting") {
    return Fault("InvalidDBInstanceState", Status::Code::kFailedPrecondition,
                 "DB instance " + inst->id + " is already being deleted.");
  }
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(inst->cluster_id));
  if (row.status == "backtracking") {
    return Fault("InvalidDBInstanceState", Status::Code::kFailedPrecondition,
                 "DB instance " + inst->id + " cannot be deleted while its cluster backtracks.");
  }
  inst->status = "deleting";
  RETURN_IF_ERROR(impl_->PutInstanceRow(*inst));
  impl_->Async([impl = impl_.get(), i = *inst] { impl->DoDeleteInstance(i); });
  return impl_->ViewInstance(*inst, row);
}

Result<InstanceView> ClusterService::RebootInstance(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::optional<InstanceRow> inst, impl_->GetInstanceRow(Lower(id)));
  if (!inst) return InstanceNotFound(id);
  if (inst->status != "available" && inst->status != "failed") {
    return Fault("InvalidDBInstanceState", Status::Code::kFailedPrecondition,
                 "DB instance " + inst->id + " is " + inst->status +
                     "; it can be rebooted when it is available or failed.");
  }
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(inst->cluster_id));
  if (row.status != "available" && row.status != "failed") {
    return Fault("InvalidDBInstanceState", Status::Code::kFailedPrecondition,
                 "DB instance " + inst->id + " cannot be rebooted while its cluster is " +
                     row.status + ".");
  }
  inst->status = "rebooting";
  RETURN_IF_ERROR(impl_->PutInstanceRow(*inst));
  impl_->Async([impl = impl_.get(), i = *inst] {
    impl->DoStartInstance(i, Impl::StartKind::kReboot);
  });
  return impl_->ViewInstance(*inst, row);
}

Result<BacktrackView> ClusterService::Backtrack(const BacktrackRequest& req) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  if (row.backtrack_window_s == 0) {
    return InvalidState("Backtrack is not enabled for DB cluster " + row.id +
                        " (its BacktrackWindow is 0).");
  }
  if (row.status == "backtracking") {
    return InvalidState("DB cluster " + row.id + " is already backtracking; wait until it is "
                        "available.");
  }
  if (row.status != "available") {
    return InvalidState("DB cluster " + row.id + " is " + row.status +
                        "; it can be backtracked when it is available.");
  }
  ASSIGN_OR_RETURN(store::VolumeInfo vol, impl_->store_->FindVolume(row.volume));
  const int64_t now = NowNs();
  int64_t to = req.backtrack_to_ns;
  if (to > now) {
    return InvalidState("BacktrackTo is in the future: it must be a time before now.");
  }
  const int64_t earliest = impl_->EarliestBacktrackNs(row, vol);
  if (to < earliest) {
    if (!req.use_earliest_time_on_point_in_time_unavailable) {
      return InvalidState(
          "BacktrackTo is before the earliest backtrack time of DB cluster " + row.id +
          "; give a later time, or UseEarliestTimeOnPointInTimeUnavailable to go there.");
    }
    to = earliest;
  }
  BacktrackRow bt;
  bt.id = Uuid();
  bt.cluster_id = row.id;
  bt.backtrack_to_ns = to;
  bt.backtracked_from_ns = now;
  bt.request_time_ns = now;
  bt.status = "pending";
  RETURN_IF_ERROR(impl_->meta_->PutBacktrack(bt));
  row.status = "backtracking";
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  impl_->Event(row.id, "db-cluster", "Backtrack started", "backtrack");
  impl_->Async([impl = impl_.get(), bt] { impl->DoBacktrack(bt); });
  return BacktrackView{bt.id, bt.cluster_id, bt.backtrack_to_ns, bt.backtracked_from_ns,
                       bt.request_time_ns, bt.status, ""};
}

Result<ActivityView> ClusterService::Activity(const ActivityRequest& req) {
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(req.cluster_id));
  auto found = impl_->store_->FindVolume(row.volume);
  if (!found.ok()) {
    // Being created (no volume yet) or deleted (volume gone): nothing to show.
    return InvalidState("DB cluster " + row.id + " is " + row.status +
                        "; its activity can be described once its storage exists.");
  }
  const store::VolumeInfo& vol = *found;
  const int64_t now = impl_->store_->NowNs();
  const int64_t earliest = impl_->EarliestBacktrackNs(row, vol);
  const int64_t from = req.from_ns.value_or(std::min(earliest, now));
  const int64_t to = req.to_ns.value_or(now);
  if (req.from_ns && from < earliest) {
    return InvalidParam("StartTime is before the earliest time DB cluster " + row.id +
                        " keeps (its EarliestRestorableTime); give a later time.");
  }
  if (to > now) return InvalidParam("EndTime is in the future: it must be a time before now.");
  if (!req.from_ns && to < from) {
    return InvalidParam("EndTime is before the earliest time DB cluster " + row.id +
                        " keeps (its EarliestRestorableTime); give a later time.");
  }
  if (from > to) return InvalidParam("EndTime is before StartTime.");
  int64_t step = 0;
  if (req.step_ns) {
    step = *req.step_ns;
    if (step <= 0 || step % kNsPerSec != 0) {
      return InvalidParam("Step must be a whole number of seconds, at least 1.");
    }
  } else {
    // The activity summary keeps whole minutes only before its fine span.
    const bool minutes_only = from < now - store::kActivityFineSpanNs + 60 * kNsPerSec;
    static constexpr int64_t kLadder[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                                          3600, 7200, 10800, 21600, 43200, 86400};
    for (int64_t s : kLadder) {
      step = s * kNsPerSec;
      if (minutes_only && s % 60 != 0) continue;
      if ((to - from) / step + 2 <= kDefaultActivityPoints) break;
    }
  }
  auto points = impl_->store_->Activity(vol.id, from, to, step);
  if (!points.ok()) {
    if (points.status().code() == Status::Code::kInvalidArgument) {
      return InvalidParam("Step: " + points.status().message());
    }
    return points.status();
  }
  ActivityView v;
  v.cluster_id = row.id;
  v.step_ns = step;
  v.from_ns = from / step * step;
  v.to_ns = v.from_ns + static_cast<int64_t>(points->size()) * step;
  v.earliest_ns = earliest;
  v.points = std::move(points).value();
  return v;
}

Result<std::vector<BacktrackView>> ClusterService::DescribeBacktracks(
    const std::string& cluster_id, const std::optional<std::string>& backtrack_id,
    const std::vector<std::string>& statuses) {
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(cluster_id));
  ASSIGN_OR_RETURN(std::vector<BacktrackRow> rows, impl_->meta_->ListBacktracks(row.id));
  std::vector<BacktrackView> out;
  for (const auto& r : rows) {
    if (backtrack_id && r.id != *backtrack_id) continue;
    if (!statuses.empty() &&
        std::find(statuses.begin(), statuses.end(), r.status) == statuses.end()) {
      continue;
    }
    out.push_back(BacktrackView{r.id, r.cluster_id, r.backtrack_to_ns, r.backtracked_from_ns,
                                r.request_time_ns, r.status, r.message});
  }
  if (backtrack_id && out.empty()) {
    return Fault("DBClusterBacktrackNotFoundFault", Status::Code::kNotFound,
                 "Backtrack " + BoundedInput(*backtrack_id) + " not found for DB cluster " +
                     row.id + ".");
  }
  return out;
}

Result<ClusterView> ClusterService::Clone(const CloneRequest& req) {
  RETURN_IF_ERROR(ValidateIdentifier(req.id, "DBClusterIdentifier"));
  if (req.restore_type == "full-copy") {
    // A full copy would be an independent copy of every byte; Rewind serves only clones.
    return InvalidParam("RestoreType full-copy is not supported by Rewind: only copy-on-write "
                        "is served; give --restore-type copy-on-write.");
  }
  if (!req.restore_type.empty() && req.restore_type != "copy-on-write") {
    return InvalidParam("Invalid RestoreType " + BoundedInput(req.restore_type) +
                        ": Rewind serves copy-on-write.");
  }
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, req.tags)));
  if (req.use_latest_restorable_time == req.restore_to_ns.has_value()) {
    return InvalidCombination("Give exactly one of RestoreToTime and UseLatestRestorableTime.");
  }
  if (req.backtrack_window_s &&
      (*req.backtrack_window_s < 0 || *req.backtrack_window_s > kMaxBacktrackWindowS)) {
    return InvalidParam("BacktrackWindow must be " RWD_WINDOW_RANGE ".");
  }
  std::lock_guard<std::mutex> lk(impl_->mu_);
  const std::string id = Lower(req.id);
  ASSIGN_OR_RETURN(ClusterRow src, impl_->GetClusterRow(req.source_id));
  ASSIGN_OR_RETURN(std::optional<ClusterRow> existing, impl_->meta_->GetCluster(id));
  if (existing) {
    return Fault("DBClusterAlreadyExistsFault", Status::Code::kAlreadyExists,
                 "DB cluster already exists");
  }
  if (src.status != "available") {
    return InvalidState("Source DB cluster " + src.id + " is " + src.status +
                        "; it can be cloned when it is available.");
  }
  ASSIGN_OR_RETURN(store::VolumeInfo vol, impl_->store_->FindVolume(src.volume));
  const int64_t now = NowNs();
  int64_t at = req.restore_to_ns.value_or(now);
  if (at > now) {
    return Fault("InvalidRestoreFault", Status::Code::kInvalidArgument,
                 "RestoreToTime is in the future.");
  }
  if (at < std::max(vol.created_ns, vol.retained_from_ns)) {
    return Fault("InvalidRestoreFault", Status::Code::kInvalidArgument,
                 "RestoreToTime is before the earliest restorable time of DB cluster " + src.id +
                     ".");
  }
  ClusterRow row;
  row.id = id;
  row.resource_id = "cluster-" + RandomAlnum(26, true);
  row.engine = src.engine;
  row.engine_version = src.engine_version;
  row.master_username = src.master_username;
  row.database_name = src.database_name;
  row.status = "creating";
  ASSIGN_OR_RETURN(row.port, impl_->AssignPort(req.port, id));
  ASSIGN_OR_RETURN(row.engine_uid, impl_->AllocateEngineUid());  // its own, not the source's
  row.backtrack_window_s = req.backtrack_window_s.value_or(src.backtrack_window_s);
  row.create_time_ns = now;
  row.clone_group_id = src.clone_group_id;
  row.source_cluster = src.id;
  row.volume = id;
  row.restore_to_ns = at;
  row.deletion_protection = req.deletion_protection;
  RETURN_IF_ERROR(impl_->meta_->PutCluster(row));
  RETURN_IF_ERROR(impl_->PutNewTags("cluster", id, req.tags, [&] { return impl_->meta_->DeleteCluster(id); }));
  impl_->Async([impl = impl_.get(), row, at] { impl->DoClone(row, row.source_cluster, at); });
  return impl_->View(row);
}

Result<CopyOnWriteSource> ClusterService::CopyOnWriteSourceOf(const std::string& cluster_id,
                                                               std::optional<int64_t> at_ns) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(cluster_id));
  if (row.status != "available") {
    return InvalidState("DB cluster " + row.id + " is " + row.status +
                        "; its past can be read when it is available.");
  }
  ASSIGN_OR_RETURN(store::VolumeInfo vol, impl_->store_->FindVolume(row.volume));
  const int64_t now = impl_->store_->NowNs();
  const int64_t earliest = impl_->EarliestBacktrackNs(row, vol);
  const int64_t at = at_ns.value_or(now);
  auto iso = [](int64_t ns) {
    const time_t s = static_cast<time_t>(ns / kNsPerSec);
    struct tm tm {};
    gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  if (at > now) {
    return InvalidParam("The time " + iso(at) + " is in the future; give a time from " +
                        iso(earliest) + " to now.");
  }
  if (at < earliest) {
    return InvalidParam("The time " + iso(at) + " is before the earliest time DB cluster " +
                        row.id + " keeps (" + iso(earliest) + "); give a time from then to now.");
  }
  std::string root_password;
  {
    std::ifstream in(impl_->RunDir(row.id) + "/root.password");
    std::getline(in, root_password);
  }
  if (root_password.empty()) {
    return Status::NotFound("the root password of DB cluster " + row.id + " is missing");
  }
  ASSIGN_OR_RETURN(auto eng, impl_->MakeEngine(row, root_password));
  CopyOnWriteSource src;
  src.cluster_id = row.id;
  src.master_username = row.master_username;
  src.database_name = row.database_name;
  src.store = impl_->store_.get();
  src.volume = vol.id;
  src.at_ns = at;
  src.earliest_ns = earliest;
  src.engine = eng->options();
  src.engine.on_unexpected_exit = nullptr;
  auto rt = impl_->RuntimeForLocked(row.id);
  src.writer_running = rt->engine && rt->engine->IsRunning();
  return src;
}

void ClusterService::RecordClusterEvent(const std::string& cluster_id, const std::string& message,
                                        const std::string& category) {
  impl_->Event(Lower(cluster_id), "db-cluster", message, category);
}

store::Store* ClusterService::mutable_store() { return impl_->store_.get(); }

std::vector<EventView> ClusterService::DescribeEvents(const EventQuery& q) {
  std::vector<EventView> out;
  auto rows = impl_->meta_->ListEvents();
  if (!rows.ok()) return out;
  const int64_t now = NowNs();
  int64_t start = q.start_ns.value_or(now - q.duration_minutes.value_or(60) * 60 * kNsPerSec);
  int64_t end = q.end_ns.value_or(now + kNsPerSec);
  if (q.duration_minutes && q.start_ns && !q.end_ns) {
    end = *q.start_ns + *q.duration_minutes * 60 * kNsPerSec;
  }
  for (const auto& r : *rows) {
    if (r.date_ns < start || r.date_ns > end) continue;
    if (q.source_id && r.source_id != Lower(*q.source_id)) continue;
    if (q.source_type && r.source_type != *q.source_type) continue;
    std::vector<std::string> cats;
    size_t pos = 0;
    while (pos <= r.categories.size() && !r.categories.empty()) {
      size_t comma = r.categories.find(',', pos);
      cats.push_back(r.categories.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (!q.categories.empty()) {
      bool hit = false;
      for (const auto& c : q.categories) hit = hit || std::find(cats.begin(), cats.end(), c) != cats.end();
      if (!hit) continue;
    }
    EventView e;
    e.source_id = r.source_id;
    e.source_type = r.source_type;
    e.source_arn = r.source_type == "db-instance" ? impl_->InstanceArn(r.source_id)
                                                  : impl_->ClusterArn(r.source_id);
    e.message = r.message;
    e.categories = std::move(cats);
    e.date_ns = r.date_ns;
    out.push_back(std::move(e));
  }
  return out;
}

Result<int64_t> ClusterService::PruneEvents() { return impl_->PruneEvents(); }

namespace {
// The metadata kind of a tagged resource, and its NotFound fault.
const char* KindName(ResourceKind kind) { return kind == ResourceKind::kCluster ? "cluster" : "db"; }
}  // namespace

// Checks that the resource exists (under mu_) and returns its stored (lower-case) id.
static Result<std::string> TaggedResource(ClusterService::Impl& impl, ResourceKind kind,
                                          const std::string& id);

Result<std::vector<TagView>> ClusterService::ListTags(ResourceKind kind, const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::string key, TaggedResource(*impl_, kind, id));
  return impl_->TagsOf(KindName(kind), key);
}

Status ClusterService::AddTags(ResourceKind kind, const std::string& id,
                               const std::vector<TagView>& tags) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::string key, TaggedResource(*impl_, kind, id));
  RETURN_IF_ERROR(ValidateTags(MergeTags({}, tags)));
  ASSIGN_OR_RETURN(std::vector<TagView> current, impl_->TagsOf(KindName(kind), key));
  RETURN_IF_ERROR(ValidateTags(MergeTags(std::move(current), tags)));
  std::vector<TagRow> rows;
  for (const TagView& t : tags) rows.push_back(TagRow{t.key, t.value});
  return impl_->meta_->PutTags(KindName(kind), key, rows);
}

Status ClusterService::RemoveTags(ResourceKind kind, const std::string& id,
                                  const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(std::string key, TaggedResource(*impl_, kind, id));
  return impl_->meta_->RemoveTags(KindName(kind), key, keys);
}

static Result<std::string> TaggedResource(ClusterService::Impl& impl, ResourceKind kind,
                                          const std::string& id) {
  if (kind == ResourceKind::kCluster) {
    ASSIGN_OR_RETURN(ClusterRow row, impl.GetClusterRow(id));
    return row.id;
  }
  ASSIGN_OR_RETURN(std::optional<InstanceRow> inst, impl.GetInstanceRow(Lower(id)));
  if (!inst) return InstanceNotFound(id);
  return inst->id;
}

}  // namespace rwd::cluster
