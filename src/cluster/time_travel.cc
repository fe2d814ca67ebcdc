#include "cluster/time_travel.h"

#include "cluster/host_util.h"
#include "diff/row_diff.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "engine/sql_text.h"
#include "engine/subprocess.h"
#include "fs/mount.h"

namespace rwd::cluster {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
// Ephemeral volumes, mounts and run dirs carry these prefixes; no cluster id can (a cluster id
// is letters, digits and hyphens), so a restart finds exactly what an earlier run left.
constexpr const char* kVolumePrefix = "~asof~";
constexpr const char* kDirPrefix = ".asof-";
constexpr const char* kReaderUser = "rewind_asof";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Iso(int64_t ns) {
  const time_t s = static_cast<time_t>(ns / kNsPerSec);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string RandomAlnum(size_t n) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const char* chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(chars[rng() % 36]);
  return s;
}

Status InvalidParam(Reason reason, RefusalDetail detail = {}) {
  return Refuse(ClusterError::kInvalidParameter, reason, std::move(detail));
}

// Writes a 0600 file (a client option file holding a password).
Status WritePrivateFile(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating " + path);
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!ok) return Status::FromErrno(errno, "writing " + path);
  return Status::Ok();
}

// A [client] option value, quoted as option files read it.
std::string OptionValue(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// The lines of batch output (no trailing empty line).
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// A SHOW CREATE TABLE statement without its AUTO_INCREMENT counter (which moves with inserts
// and says nothing about the definition).
std::string WithoutAutoIncrement(std::string ddl) {
  size_t at = ddl.find(" AUTO_INCREMENT=");
  if (at != std::string::npos) {
    size_t end = ddl.find_first_of(" \n", at + 1);
    ddl.erase(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return ddl;
}

}  // namespace

Result<std::pair<std::string, std::string>> ParseTableName(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '`') {
        if (i + 1 < text.size() && text[i + 1] == '`') {
          cur.push_back('`');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur.push_back(c);
      }
      continue;
    }
    if (c == '`' && cur.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == '.') {
      parts.push_back(cur);
      cur.clear();
      was_quoted = false;
    } else if (!was_quoted && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                               c == '$' || static_cast<unsigned char>(c) >= 0x80)) {
      cur.push_back(c);
    } else {
      return InvalidParam(Reason::kTableNameCharacters,
                          {.field = Field::kTable, .input = BoundedInput(text)});
    }
  }
  if (quoted) {
    return InvalidParam(Reason::kTableNameUnclosed, {.field = Field::kTable, .input = BoundedInput(text)});
  }
  parts.push_back(cur);
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return InvalidParam(Reason::kTableNameShape, {.field = Field::kTable, .input = BoundedInput(text)});
  }
  for (const std::string& p : parts) {
    if (p.size() > 64) {
      return InvalidParam(Reason::kTableNamePartLength,
                          {.field = Field::kTable, .input = BoundedInput(text), .number = 64});
    }
  }
  return std::make_pair(parts[0], parts[1]);
}

// ---------------------------------------------------------------------------------------------

class TimeTravel::Impl {
 public:
  struct Instance {
    TimeTravelView view;
    store::VolumeId volume;         // the ephemeral clone
    store::VolumeId source_volume;  // the cluster's
    store::PointInTime state;       // what it shows (to reuse it for the same state)
    std::string mount_dir, run_dir;
    std::unique_ptr<fs::Mount> mount;
    std::unique_ptr<engine::MariaDbEngine> engine;
    bool hidden = false;            // a short-lived instance of Query or RestoreTable
    bool ready = false;             // serving (guarded by mu_); until then only Launch touches it
    std::mutex use_mu;              // guards reader_password
    std::string reader_password;    // of kReaderUser, once created
  };

  Impl(ClusterService* service, TimeTravelOptions options)
      : service_(service), options_(std::move(options)), store_(service->mutable_store()) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (monitor_.joinable()) monitor_.join();
    std::map<std::string, std::shared_ptr<Instance>> all;
    {
      std::lock_guard<std::mutex> lk(mu_);
      all.swap(instances_);
    }
    for (auto& [id, inst] : all) Destroy(*inst);
  }

  std::string MountDir(const std::string& id) const {
    return options_.data_dir + "/mnt/" + kDirPrefix + id;
  }
  std::string RunDir(const std::string& id) const {
    return options_.data_dir + "/run/" + kDirPrefix + id;
  }

  // Removes what an earlier rewindd left behind (servers, mounts, volumes, directories).
  void CleanLeftovers() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(options_.data_dir + "/run", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(kDirPrefix, 0) != 0) continue;
      const std::string run = e.path().string();
      KillServerOf(run);
      std::filesystem::remove_all(run, ec);
      std::fprintf(stderr, "rewindd: removed time-travel instance %s left by an earlier run\n",
                   name.c_str() + std::string(kDirPrefix).size());
    }
    for (const auto& e : std::filesystem::directory_iterator(options_.data_dir + "/mnt", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(kDirPrefix, 0) != 0) continue;
      const std::string dir = e.path().string();
      if (IsMountPoint(dir)) (void)::umount2(dir.c_str(), MNT_DETACH);
      std::filesystem::remove(dir, ec);
    }
    for (const store::VolumeInfo& v : store_->ListVolumes()) {
      if (v.name.rfind(kVolumePrefix, 0) == 0) (void)store_->DeleteVolume(v.id);
    }
  }

  void StartMonitor() {
    monitor_ = std::thread([this] { Monitor(); });
  }

  // Every poll: instances whose cluster is gone, whose server died, or idle too long are stopped.
  void Monitor() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stopping_) {
      cv_.wait_for(lk, std::chrono::milliseconds(options_.poll_ms));
      if (stopping_) break;
      std::vector<std::shared_ptr<Instance>> all;
      for (auto& [id, inst] : instances_) {
        if (!inst->hidden && inst->ready) all.push_back(inst);
      }
      lk.unlock();
      const int64_t now = NowNs();
      std::vector<std::pair<std::shared_ptr<Instance>, std::string>> expired;
      for (auto& inst : all) {
        auto cluster = service_->DescribeClusters(inst->view.cluster_id);
        if (!cluster.ok() && cluster.status().code() == Status::Code::kNotFound) {
          expired.emplace_back(inst, "its cluster was deleted");
          continue;
        }
        if (!inst->engine->IsRunning()) {
          expired.emplace_back(inst, "its server exited");
          continue;
        }
        auto n = inst->engine->RunSqlAsRoot(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
            "AND COMMAND <> 'Daemon' AND USER NOT IN ('system user', 'event_scheduler')");
        std::lock_guard<std::mutex> ul(mu_);
        if (n.ok() && std::atoll(n->c_str()) > 0) inst->view.last_active_ns = now;
        if (now - inst->view.last_active_ns >= inst->view.idle_minutes * 60 * kNsPerSec) {
          expired.emplace_back(inst, "idle for " + std::to_string(inst->view.idle_minutes) +
                                         " minutes");
        }
      }
      for (auto& [inst, why] : expired) {
        bool mine = false;
        {
          std::lock_guard<std::mutex> ul(mu_);
          mine = instances_.erase(inst->view.id) > 0;
        }
        if (!mine) continue;  // stopped meanwhile
        std::fprintf(stderr, "rewindd: stopping time-travel instance %s of %s: %s\n",
                     inst->view.id.c_str(), inst->view.cluster_id.c_str(), why.c_str());
        Destroy(*inst);
      }
      lk.lock();
    }
  }

  // Kills the server, unmounts, deletes the ephemeral volume and the directories. The server's
  // state is a throw-away copy: no graceful shutdown is needed. The engine and mount objects
  // stay (stopped) until the last holder of the instance lets go: a Query using it meanwhile
  // gets an error from its client, never a dangling engine.
  void Destroy(Instance& inst) {
    if (inst.engine) (void)inst.engine->Kill();
    if (inst.mount) (void)inst.mount->Stop();
    if (inst.volume.value != 0) (void)store_->DeleteVolume(inst.volume);
    std::error_code ec;
    std::filesystem::remove_all(inst.run_dir, ec);
    std::filesystem::remove(inst.mount_dir, ec);
    std::lock_guard<std::mutex> lk(mu_);
    ports_.erase(inst.view.port);
  }

  // A free port for a new instance (reserved until Destroy): not a cluster's, not bound.
  Result<int> TakePort() {
    std::set<int> cluster_ports;
    if (auto all = service_->DescribeClusters(std::nullopt); all.ok()) {
      for (const ClusterView& c : *all) cluster_ports.insert(c.port);
    }
    std::lock_guard<std::mutex> lk(mu_);
    for (int p = options_.first_port; p < 65535; ++p) {
      if (ports_.count(p) || cluster_ports.count(p) || !LoopbackPortFree(p)) continue;
      ports_.insert(p);
      return p;
    }
    return Status::Unavailable("no free port for a time-travel instance from " +
                               std::to_string(options_.first_port));
  }

  // A new instance (registered, so that shutdown stops it), serving when this returns.
  Result<std::shared_ptr<Instance>> Launch(const CopyOnWriteSource& src, int64_t idle_minutes,
                                           bool hidden) {
    const auto t0 = std::chrono::steady_clock::now();
    auto inst = std::make_shared<Instance>();
    inst->view.id = "tt-" + RandomAlnum(10);
    inst->view.cluster_id = src.cluster_id;
    inst->view.at_ns = src.at_ns;
    inst->view.host = src.engine.bind_address;
    inst->view.master_username = src.master_username;
    inst->view.idle_minutes = idle_minutes;
    inst->view.started_ns = NowNs();
    inst->view.last_active_ns = inst->view.started_ns;
    inst->hidden = hidden;
    inst->source_volume = src.volume;
    inst->mount_dir = MountDir(inst->view.id);
    inst->run_dir = RunDir(inst->view.id);
    ASSIGN_OR_RETURN(inst->state, store_->Resolve(src.volume, src.at_ns));
    ASSIGN_OR_RETURN(inst->view.port, TakePort());
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) {
        ports_.erase(inst->view.port);
        return Status::Unavailable("rewindd is shutting down");
      }
      instances_[inst->view.id] = inst;
    }
    Status s = Bring(*inst, src);
    if (!s.ok()) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        instances_.erase(inst->view.id);
      }
      Destroy(*inst);
      return s.WithContext("starting a time-travel instance of " + src.cluster_id + " at " +
                           Iso(src.at_ns));
    }
    std::lock_guard<std::mutex> lk(mu_);
    inst->view.ready_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    inst->ready = true;
    return inst;
  }

  Status Bring(Instance& inst, const CopyOnWriteSource& src) {
    ASSIGN_OR_RETURN(store::VolumeInfo vol,
                     store_->Clone(std::string(kVolumePrefix) + src.cluster_id + "~" + inst.view.id,
                                   src.volume, src.at_ns));
    inst.volume = vol.id;
    std::error_code ec;
    std::filesystem::create_directories(inst.mount_dir, ec);
    if (ec) return Status::IOError("creating " + inst.mount_dir + ": " + ec.message());
    std::filesystem::permissions(inst.mount_dir, std::filesystem::perms::owner_all, ec);
    fs::MountOptions mo;
    mo.statfs_dir = options_.data_dir;
    const engine::EngineAccount& account = *src.engine.account;
    mo.allow_other = account.switched;
    mo.admitted_uids = {account.uid};
    mo.fsname = "rewind-asof";
    ASSIGN_OR_RETURN(inst.mount, fs::Mount::Start(store_, vol.head, inst.mount_dir, mo));
    engine::EngineOptions eo = src.engine;
    eo.datadir = inst.mount_dir;
    eo.run_dir = inst.run_dir;
    eo.port = inst.view.port;
    // Derived again from the new datadir and run dir.
    eo.socket_path.clear();
    eo.config_path.clear();
    eo.server_dir.clear();
    eo.log_error_path.clear();
    eo.pid_file_path.clear();
    eo.tmpdir.clear();
    eo.secure_file_dir.clear();
    // Nobody but root writes: the master user holds no READ_ONLY ADMIN. No event of the past
    // runs again. The buffer pool starts small (it grows on demand).
    eo.extra_settings.emplace_back("read-only", "ON");
    eo.extra_settings.emplace_back("event-scheduler", "DISABLED");
    eo.on_unexpected_exit = nullptr;
    ASSIGN_OR_RETURN(inst.engine, engine::MariaDbEngine::Create(std::move(eo)));
    return inst.engine->Start();
  }

  // A running instance of the cluster showing the same state as (volume, at), if any.
  std::shared_ptr<Instance> Reusable(const CopyOnWriteSource& src) {
    auto state = store_->Resolve(src.volume, src.at_ns);
    if (!state.ok()) return nullptr;
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [id, inst] : instances_) {
      if (!inst->hidden && inst->ready && inst->view.cluster_id == src.cluster_id &&
          inst->source_volume == src.volume && inst->state == *state && inst->engine &&
          inst->engine->IsRunning()) {
        inst->view.last_active_ns = NowNs();
        return inst;
      }
    }
    return nullptr;
  }

  // Stops a short-lived instance (Query, RestoreTable) when the work is done.
  struct Lease {
    Impl* impl = nullptr;
    std::shared_ptr<Instance> inst;
    bool owned = false;
    ~Lease() {
      if (!owned || !inst) return;
      bool mine = false;
      {
        std::lock_guard<std::mutex> lk(impl->mu_);
        mine = impl->instances_.erase(inst->view.id) > 0;
      }
      if (mine) impl->Destroy(*inst);
    }
  };
  Result<std::unique_ptr<Lease>> Acquire(const CopyOnWriteSource& src) {
    auto lease = std::make_unique<Lease>();
    lease->impl = this;
    lease->inst = Reusable(src);
    if (!lease->inst) {
      ASSIGN_OR_RETURN(lease->inst, Launch(src, 0, /*hidden=*/true));
      lease->owned = true;
    }
    return lease;
  }

  // The read-only account Query runs as (made on first use; only in the ephemeral copy).
  Result<engine::SqlLogin> Reader(Instance& inst) {
    std::lock_guard<std::mutex> lk(inst.use_mu);
    if (inst.reader_password.empty()) {
      const std::string password = RandomAlnum(24);
      const std::string account = engine::SqlAccount(kReaderUser, "localhost");
      ASSIGN_OR_RETURN(std::string ignored,
                       inst.engine->RunSqlAsRoot(
                           "CREATE OR REPLACE USER " + account + " IDENTIFIED BY " +
                           engine::SqlStringLiteral(password) +
                           ";\nGRANT SELECT, SHOW VIEW, EXECUTE, SHOW DATABASES ON *.* TO " +
                           account + ";\n"));
      (void)ignored;
      inst.reader_password = password;
    }
    return engine::SqlLogin{kReaderUser, inst.reader_password};
  }

  Result<RestoreTableReport> RestoreTable(const RestoreTableRequest& req);

  ClusterService* service_;
  TimeTravelOptions options_;
  store::Store* store_;

  std::mutex mu_;  // guards instances_, ports_, stopping_ and the views' last_active_ns
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Instance>> instances_;
  std::set<int> ports_;
  std::thread monitor_;
};

// ---------------------------------------------------------------------------------------------
// RestoreTable.

namespace {

using TableName = std::pair<std::string, std::string>;  // db, table

std::string Quoted(const TableName& t) {
  return engine::SqlIdentifier(t.first) + "." + engine::SqlIdentifier(t.second);
}
std::string Shown(const TableName& t) { return t.first + "." + t.second; }

struct TableFacts {
  bool exists = false;
  std::string type;    // BASE TABLE, VIEW, SEQUENCE, ...
  std::string engine;  // InnoDB, Aria, ...
  std::string ddl;     // SHOW CREATE TABLE without AUTO_INCREMENT
};

Result<TableFacts> FactsOf(const engine::MariaDbEngine& e, const TableName& t) {
  TableFacts f;
  ASSIGN_OR_RETURN(std::string out,
                   e.RunSqlAsRoot("SELECT TABLE_TYPE, IFNULL(ENGINE, '') FROM "
                                  "information_schema.TABLES WHERE TABLE_SCHEMA = " +
                                  engine::SqlStringLiteral(t.first) + " AND TABLE_NAME = " +
                                  engine::SqlStringLiteral(t.second)));
  std::vector<std::string> lines = Lines(out);
  if (lines.empty()) return f;
  f.exists = true;
  const size_t tab = lines[0].find('\t');
  f.type = lines[0].substr(0, tab);
  f.engine = tab == std::string::npos ? "" : lines[0].substr(tab + 1);
  if (f.type != "BASE TABLE") return f;
  ASSIGN_OR_RETURN(std::string ddl, e.RunSqlAsRoot("SHOW CREATE TABLE " + Quoted(t)));
  // "name\tCREATE TABLE ..." with newlines escaped as \n by batch mode.
  const size_t at = ddl.find('\t');
  f.ddl = WithoutAutoIncrement(at == std::string::npos ? ddl : ddl.substr(at + 1));
  return f;
}

// The foreign keys touching `t` (either side) on one server: {other table, constraint name}.
Result<std::vector<std::pair<TableName, std::string>>> ForeignKeysOf(
    const engine::MariaDbEngine& e, const TableName& t) {
  const std::string db = engine::SqlStringLiteral(t.first);
  const std::string name = engine::SqlStringLiteral(t.second);
  ASSIGN_OR_RETURN(std::string out,
                   e.RunSqlAsRoot(
                       "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, "
                       "REFERENCED_TABLE_NAME, CONSTRAINT_NAME FROM "
                       "information_schema.REFERENTIAL_CONSTRAINTS WHERE (CONSTRAINT_SCHEMA = " +
                       db + " AND TABLE_NAME = " + name + ") OR (UNIQUE_CONSTRAINT_SCHEMA = " + db +
                       " AND REFERENCED_TABLE_NAME = " + name + ")"));
  std::vector<std::pair<TableName, std::string>> keys;
  for (const std::string& line : Lines(out)) {
    std::vector<std::string> f;
    std::istringstream in(line);
    std::string field;
    while (std::getline(in, field, '\t')) f.push_back(field);
    if (f.size() != 5) continue;
    TableName child{f[0], f[1]}, parent{f[2], f[3]};
    const TableName& other = child == t ? parent : child;
    if (other != t) keys.emplace_back(other, f[4]);
  }
  return keys;
}

// Writes a [client] option file for root on `e`'s Unix socket (and `database`).
Status WriteClientOptions(const std::string& path, const engine::MariaDbEngine& e,
                          const std::string& database) {
  ASSIGN_OR_RETURN(std::string password, e.RootPassword());
  std::string text = "[client]\nuser=root\npassword=" + OptionValue(password) +
                     "\nprotocol=SOCKET\nsocket=" + OptionValue(e.options().socket_path) +
                     "\ndefault-character-set=utf8mb4\n";
  if (!database.empty()) text += "database=" + OptionValue(database) + "\n";
  return WritePrivateFile(path, text);
}

// Runs `producer | consumer` (stderr of each to a file in `dir`, quoted in a failure).
Status RunPipeline(const std::vector<std::string>& producer,
                   const std::vector<std::string>& consumer, const std::string& dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  const std::string err_a = dir + "/restore-dump.err", err_b = dir + "/restore-load.err";
  int ea = ::open(err_a.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int eb = ::open(err_b.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto close_all = [&] {
    for (int fd : {fds[0], fds[1], ea, eb}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (ea < 0 || eb < 0) {
    close_all();
    return Status::IOError("cannot create the restore's log files in " + dir);
  }
  engine::SpawnRequest a;
  a.argv = producer;
  a.stdout_fd = fds[1];
  a.stderr_fd = ea;
  a.new_process_group = true;
  engine::SpawnRequest b;
  b.argv = consumer;
  b.stdin_fd = fds[0];
  b.stderr_fd = eb;
  b.new_process_group = true;
  Result<pid_t> pa = engine::Spawn(a);
  Result<pid_t> pb = pa.ok() ? engine::Spawn(b) : Result<pid_t>(pa.status());
  close_all();
  int sa = 0, sb = 0;
  if (pa.ok()) ::waitpid(*pa, &sa, 0);
  if (pb.ok()) ::waitpid(*pb, &sb, 0);
  if (!pa.ok()) return pa.status();
  if (!pb.ok()) return pb.status();
  auto tail = [](const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 1500 ? text.substr(text.size() - 1500) : text;
  };
  if (!WIFEXITED(sb) || WEXITSTATUS(sb) != 0) {
    return Status::IOError("loading the table's past rows " + engine::DescribeWaitStatus(sb) +
                           ": " + tail(err_b));
  }
  if (!WIFEXITED(sa) || WEXITSTATUS(sa) != 0) {
    return Status::IOError("reading the table's past rows " + engine::DescribeWaitStatus(sa) +
                           ": " + tail(err_a));
  }
  return Status::Ok();
}

}  // namespace

Result<RestoreTableReport> TimeTravel::Impl::RestoreTable(const RestoreTableRequest& req) {
  ASSIGN_OR_RETURN(TableName target, ParseTableName(req.table));
  ASSIGN_OR_RETURN(CopyOnWriteSource src, service_->CopyOnWriteSourceOf(req.cluster_id, req.to_ns));
  if (!src.writer_running) {
    return Refuse(ClusterError::kInvalidClusterState, Reason::kRestoreNeedsWriter,
                  {.id = src.cluster_id});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<engine::MariaDbEngine> live,
                   engine::MariaDbEngine::Create(src.engine));
  ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease, Acquire(src));
  const engine::MariaDbEngine& past = *lease->inst->engine;
  const std::string when = Iso(src.at_ns);

  // The tables to restore: the target, and with_related, every table bound to it by foreign
  // keys (at the time or now), transitively.
  std::vector<TableName> tables = {target};
  std::map<TableName, std::pair<TableFacts, TableFacts>> facts;  // past, live
  std::vector<RefusalItem> bonds;
  for (size_t i = 0; i < tables.size(); ++i) {
    const TableName t = tables[i];
    ASSIGN_OR_RETURN(TableFacts then, FactsOf(past, t));
    ASSIGN_OR_RETURN(TableFacts now, FactsOf(*live, t));
    if (!then.exists) {
      if (t == target) {
        return InvalidParam(now.exists ? Reason::kTableDidNotExist : Reason::kTableUnknown,
                            {.field = Field::kTable, .id = Shown(t), .time_ns = src.at_ns});
      }
      return InvalidParam(Reason::kBoundTableDidNotExist, {.field = Field::kTable, .id = Shown(t),
                                                           .other = Shown(target),
                                                           .time_ns = src.at_ns});
    }
    if (then.type != "BASE TABLE") {
      return InvalidParam(Reason::kNotBaseTable, {.field = Field::kTable, .id = Shown(t),
                                                  .state = then.type, .time_ns = src.at_ns});
    }
    facts[t] = {then, now};
    ASSIGN_OR_RETURN(auto keys_then, ForeignKeysOf(past, t));
    ASSIGN_OR_RETURN(auto keys_now, ForeignKeysOf(*live, t));
    keys_then.insert(keys_then.end(), keys_now.begin(), keys_now.end());
    for (const auto& [other, constraint] : keys_then) {
      const RefusalItem bond{.reason = Reason::kTableBound, .name = Shown(other), .other = constraint};
      if (std::find_if(bonds.begin(), bonds.end(), [&](const RefusalItem& b) {
            return b.name == bond.name && b.other == bond.other;
          }) == bonds.end()) {
        bonds.push_back(bond);
      }
      if (std::find(tables.begin(), tables.end(), other) == tables.end()) tables.push_back(other);
    }
    if (tables.size() > 64) {
      return InvalidParam(Reason::kTooManyBoundTables,
                          {.field = Field::kTable, .id = Shown(target), .number = 64});
    }
  }
  if (tables.size() > 1 && !req.with_related) {
    return InvalidParam(Reason::kTableBound,
                        {.field = Field::kTable, .id = Shown(target), .items = std::move(bonds)});
  }

  RestoreTableReport report;
  for (const TableName& t : tables) report.tables.push_back(Shown(t));
  // In one transaction when every table exists now with the definition it had, in InnoDB;
  // otherwise (one table only) loaded beside it and swapped in by one RENAME TABLE.
  bool transactional = true;
  for (const TableName& t : tables) {
    const auto& [then, now] = facts[t];
    if (!now.exists || now.ddl != then.ddl || then.engine != "InnoDB" || now.engine != "InnoDB") {
      transactional = false;
    }
  }
  if (!transactional && tables.size() > 1) {
    return InvalidParam(Reason::kBoundTablesDiffer,
                        {.field = Field::kTable, .id = Shown(target), .time_ns = src.at_ns});
  }
  const TableFacts& live_target = facts[target].second;
  if (transactional) {
    std::string names;
    for (const std::string& t : report.tables) names += (names.empty() ? "" : ", ") + t;
    report.method = "one transaction (DELETE then INSERT of the rows at " + when +
                    "): row locks on every row of " + names +
                    " until it commits; readers see the old rows until then, other tables are "
                    "not touched";
  } else {
    if (!live_target.exists) report.created.push_back(Shown(target));
    report.method = std::string(live_target.exists ? "the definition changed since then" :
                                                     "the table does not exist now") +
                    ": loaded into a staging table, then one atomic RENAME TABLE: a brief "
                    "exclusive metadata lock on " + Shown(target) +
                    " (queries of it wait for running ones to finish)";
  }
  if (req.dry_run) return report;

  // Stage the rows (and definitions) of the time in a database of their own on the live server.
  const std::string stage = "_rewind_restore_" + RandomAlnum(8);
  ASSIGN_OR_RETURN(std::string created, live->RunSqlAsRoot("CREATE DATABASE " + engine::SqlIdentifier(stage)));
  (void)created;
  auto drop_stage = [&] {
    (void)live->RunSqlAsRoot("DROP DATABASE IF EXISTS " + engine::SqlIdentifier(stage));
  };
  Status s = [&]() -> Status {
    const std::string dir = lease->inst->run_dir;
    const std::string dump_cnf = dir + "/client-dump.cnf", load_cnf = dir + "/client-load.cnf";
    RETURN_IF_ERROR(WriteClientOptions(dump_cnf, past, ""));
    RETURN_IF_ERROR(WriteClientOptions(load_cnf, *live, stage));
    // One dump per database (a dump names tables of one database).
    std::map<std::string, std::vector<std::string>> by_db;
    for (const TableName& t : tables) by_db[t.first].push_back(t.second);
    Status moved;
    for (const auto& [db, names] : by_db) {
      if (by_db.size() > 1) {
        moved = Status::InvalidArgument("tables of several databases");
        break;
      }
      std::vector<std::string> dump = {"/usr/bin/mariadb-dump", "--defaults-file=" + dump_cnf,
                                       "--single-transaction", "--skip-triggers",
                                       "--no-tablespaces", "--skip-add-locks",
                                       "--skip-add-drop-table", "--hex-blob", "--skip-comments",
                                       "--", db};
      dump.insert(dump.end(), names.begin(), names.end());
      moved = RunPipeline(dump, {src.engine.client_path, "--defaults-file=" + load_cnf, "--batch"},
                          dir);
    }
    std::error_code ec;
    std::filesystem::remove(dump_cnf, ec);
    std::filesystem::remove(load_cnf, ec);
    if (!moved.ok() && moved.code() == Status::Code::kInvalidArgument) {
      return InvalidParam(Reason::kBoundTablesSpanDatabases, {.field = Field::kTable, .id = Shown(target)});
    }
    RETURN_IF_ERROR(moved);
    std::string script;
    if (transactional) {
      if (tables.size() > 1) script += "SET SESSION foreign_key_checks = 0;\n";
      script += "START TRANSACTION;\n";
      for (const TableName& t : tables) {
        ASSIGN_OR_RETURN(std::string cols,
                         live->RunSqlAsRoot(
                             "SELECT GROUP_CONCAT(CONCAT('`', REPLACE(COLUMN_NAME, '`', '``'), "
                             "'`') ORDER BY ORDINAL_POSITION SEPARATOR ', ') FROM "
                             "information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
                             engine::SqlStringLiteral(t.first) + " AND TABLE_NAME = " +
                             engine::SqlStringLiteral(t.second) +
                             " AND GENERATION_EXPRESSION IS NULL"));
        while (!cols.empty() && cols.back() == '\n') cols.pop_back();
        script += "DELETE FROM " + Quoted(t) + ";\nINSERT INTO " + Quoted(t) + " (" + cols +
                  ") SELECT " + cols + " FROM " + Quoted({stage, t.second}) + ";\n";
      }
      script += "COMMIT;\n";
    } else if (live_target.exists) {
      script = "RENAME TABLE " + Quoted(target) + " TO " + Quoted({stage, target.second + "~old"}) +
               ", " + Quoted({stage, target.second}) + " TO " + Quoted(target) + ";\n";
    } else {
      script = "CREATE DATABASE IF NOT EXISTS " + engine::SqlIdentifier(target.first) +
               ";\nRENAME TABLE " + Quoted({stage, target.second}) + " TO " + Quoted(target) +
               ";\n";
    }
    ASSIGN_OR_RETURN(std::string done, live->RunSqlAsRoot(script));
    (void)done;
    return Status::Ok();
  }();
  drop_stage();
  if (!s.ok()) {
    return s.WithContext("restoring " + Shown(target) + " to " + when +
                         " (the live table is unchanged)");
  }
  for (const TableName& t : tables) {
    auto n = live->RunSqlAsRoot("SELECT COUNT(*) FROM " + Quoted(t));
    if (n.ok()) report.rows += std::atoll(n->c_str());
  }
  std::string names;
  for (const std::string& t : report.tables) names += (names.empty() ? "" : ", ") + t;
  service_->RecordClusterEvent(src.cluster_id, EventKind::kTableRestored,
                               names + " restored to its state at " + when + " by " +
                                   (transactional ? "one transaction" : "a RENAME TABLE swap"));
  return report;
}

// ---------------------------------------------------------------------------------------------
// Diff.

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

// The base tables outside the system schemas.
Result<std::vector<TableName>> UserTables(const engine::MariaDbEngine& e) {
  ASSIGN_OR_RETURN(std::string out,
                   e.RunSqlAsRoot("SELECT HEX(TABLE_SCHEMA), HEX(TABLE_NAME) FROM "
                                  "information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND "
                                  "TABLE_SCHEMA NOT IN ('mysql', 'information_schema', "
                                  "'performance_schema', 'sys')"));
  const std::vector<diff::Column> two = {{"db", diff::ColumnKind::kText, false},
                                         {"t", diff::ColumnKind::kText, false}};
  std::vector<TableName> tables;
  for (const std::string& line : Lines(out)) {
    ASSIGN_OR_RETURN(diff::Row r, diff::ParseBatchLine(line, two));
    if (r[0] && r[1]) tables.emplace_back(*r[0], *r[1]);
  }
  return tables;
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

// ---------------------------------------------------------------------------------------------

TimeTravel::TimeTravel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TimeTravel::~TimeTravel() = default;

Result<std::unique_ptr<TimeTravel>> TimeTravel::Open(ClusterService* service,
                                                     const TimeTravelOptions& options) {
  if (options.first_port < 1024 || options.first_port > 65535) {
    return Status::InvalidArgument("time-travel first port must be from 1024 to 65535");
  }
  if (options.poll_ms <= 0) return Status::InvalidArgument("time-travel poll interval must be > 0");
  auto impl = std::make_unique<Impl>(service, options);
  impl->CleanLeftovers();
  impl->StartMonitor();
  return std::unique_ptr<TimeTravel>(new TimeTravel(std::move(impl)));
}

Result<TimeTravelView> TimeTravel::Start(const std::string& cluster_id,
                                         std::optional<int64_t> at_ns, int64_t idle_minutes) {
  if (idle_minutes < 1 || idle_minutes > 1440) {
    return InvalidParam(Reason::kIdleOutOfRange, {.field = Field::kIdleMinutes, .number = idle_minutes});
  }
  ASSIGN_OR_RETURN(CopyOnWriteSource src, impl_->service_->CopyOnWriteSourceOf(cluster_id, at_ns));
  ASSIGN_OR_RETURN(std::shared_ptr<Impl::Instance> inst, impl_->Launch(src, idle_minutes, false));
  std::lock_guard<std::mutex> lk(impl_->mu_);
  return inst->view;
}

Result<std::vector<TimeTravelView>> TimeTravel::List(const std::string& cluster_id) {
  ASSIGN_OR_RETURN(std::vector<ClusterView> c, impl_->service_->DescribeClusters(cluster_id));
  std::vector<TimeTravelView> out;
  std::lock_guard<std::mutex> lk(impl_->mu_);
  for (auto& [id, inst] : impl_->instances_) {
    if (!inst->hidden && inst->ready && inst->view.cluster_id == c.at(0).id) {
      out.push_back(inst->view);
    }
  }
  return out;
}

Result<std::vector<TimeTravelView>> TimeTravel::Stop(const std::string& cluster_id,
                                                     std::optional<std::string> id) {
  ASSIGN_OR_RETURN(std::vector<ClusterView> c, impl_->service_->DescribeClusters(cluster_id));
  std::vector<std::shared_ptr<Impl::Instance>> stopping;
  {
    std::lock_guard<std::mutex> lk(impl_->mu_);
    for (auto it = impl_->instances_.begin(); it != impl_->instances_.end();) {
      const auto& inst = it->second;
      if (!inst->hidden && inst->ready && inst->view.cluster_id == c.at(0).id &&
          (!id || *id == inst->view.id)) {
        stopping.push_back(inst);
        it = impl_->instances_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (id && stopping.empty()) {
    return Refuse(ClusterError::kTimeTravelNotFound, Reason::kTimeTravelNotFound,
                  {.id = c.at(0).id, .input = BoundedInput(*id)});
  }
  std::vector<TimeTravelView> out;
  for (auto& inst : stopping) {
    out.push_back(inst->view);
    impl_->Destroy(*inst);
  }
  return out;
}

Result<std::string> TimeTravel::Query(const std::string& cluster_id, std::optional<int64_t> at_ns,
                                      const std::string& sql, const std::string& database) {
  if (sql.empty()) return InvalidParam(Reason::kSqlEmpty, {.field = Field::kSql});
  ASSIGN_OR_RETURN(CopyOnWriteSource src, impl_->service_->CopyOnWriteSourceOf(cluster_id, at_ns));
  ASSIGN_OR_RETURN(std::unique_ptr<Impl::Lease> lease, impl_->Acquire(src));
  ASSIGN_OR_RETURN(engine::SqlLogin login, impl_->Reader(*lease->inst));
  engine::SqlRunOptions ro;
  ro.database = database.empty() ? src.database_name : database;
  ro.column_names = true;
  auto out = lease->inst->engine->RunSql(login, sql, ro);
  if (!out.ok() && out.status().code() == Status::Code::kInvalidArgument) {
    return InvalidParam(Reason::kStatementFailed, {.field = Field::kSql, .id = src.cluster_id,
                                                   .time_ns = src.at_ns,
                                                   .cause = out.status().message()});
  }
  return out;
}

Result<RestoreTableReport> TimeTravel::RestoreTable(const RestoreTableRequest& req) {
  return impl_->RestoreTable(req);
}

Result<std::vector<std::string>> TimeTravel::Tables(const std::string& cluster_id, int64_t at_ns) {
  ASSIGN_OR_RETURN(CopyOnWriteSource src, impl_->service_->CopyOnWriteSourceOf(cluster_id, at_ns));
  ASSIGN_OR_RETURN(std::unique_ptr<Impl::Lease> lease, impl_->Acquire(src));
  ASSIGN_OR_RETURN(std::vector<TableName> tables, UserTables(*lease->inst->engine));
  std::sort(tables.begin(), tables.end());
  // Each part as ParseTableName reads it back: plain when it is a plain identifier, else quoted.
  auto part = [](const std::string& name) {
    const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
    });
    if (plain) return name;
    std::string q = "`";
    for (char c : name) q += c == '`' ? std::string("``") : std::string(1, c);
    return q + "`";
  };
  std::vector<std::string> out;
  for (const TableName& t : tables) out.push_back(part(t.first) + "." + part(t.second));
  return out;
}

}  // namespace rwd::cluster
