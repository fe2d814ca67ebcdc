// TimeTravel (time_travel.h): the instances (launched, reused, watched for idleness and
// stopped), Query and the other public methods. What a server says about its tables is in
// time_travel_tables.cc, RestoreTable in time_travel_restore.cc, Diff in time_travel_diff.cc;
// the state they share in time_travel_internal.h.
#include "cluster/time_travel.h"

#include "cluster/host_util.h"
#include "cluster/time_travel_internal.h"

#include <sys/mount.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "engine/sql_text.h"
#include "fs/mount.h"

namespace rwd::cluster {

namespace time_travel_internal {

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

Status InvalidParam(Reason reason, RefusalDetail detail) {
  return Refuse(ClusterError::kInvalidParameter, reason, std::move(detail));
}

}  // namespace time_travel_internal

namespace {

// Ephemeral volumes, mounts and run dirs carry these prefixes; no cluster id can (a cluster id
// is letters, digits and hyphens), so a restart finds exactly what an earlier run left.
constexpr const char* kVolumePrefix = "~asof~";
constexpr const char* kDirPrefix = ".asof-";
constexpr const char* kReaderUser = "rewind_asof";

}  // namespace

using time_travel_internal::InvalidParam;
using time_travel_internal::Iso;
using time_travel_internal::kNsPerSec;
using time_travel_internal::NowNs;
using time_travel_internal::RandomAlnum;
using time_travel_internal::TableName;
using time_travel_internal::UserTables;

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
// Instances.

TimeTravel::Impl::~Impl() {
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

std::string TimeTravel::Impl::MountDir(const std::string& id) const {
  return options_.data_dir + "/mnt/" + kDirPrefix + id;
}
std::string TimeTravel::Impl::RunDir(const std::string& id) const {
  return options_.data_dir + "/run/" + kDirPrefix + id;
}

void TimeTravel::Impl::CleanLeftovers() {
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

void TimeTravel::Impl::StartMonitor() {
  monitor_ = std::thread([this] { Monitor(); });
}

void TimeTravel::Impl::Monitor() {
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

void TimeTravel::Impl::Destroy(Instance& inst) {
  if (inst.engine) (void)inst.engine->Kill();
  if (inst.mount) (void)inst.mount->Stop();
  if (inst.volume.value != 0) (void)store_->DeleteVolume(inst.volume);
  std::error_code ec;
  std::filesystem::remove_all(inst.run_dir, ec);
  std::filesystem::remove(inst.mount_dir, ec);
  std::lock_guard<std::mutex> lk(mu_);
  ports_.erase(inst.view.port);
}

Result<int> TimeTravel::Impl::TakePort() {
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

Result<std::shared_ptr<TimeTravel::Impl::Instance>> TimeTravel::Impl::Launch(
    const CopyOnWriteSource& src, int64_t idle_minutes, bool hidden) {
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

Status TimeTravel::Impl::Bring(Instance& inst, const CopyOnWriteSource& src) {
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

std::shared_ptr<TimeTravel::Impl::Instance> TimeTravel::Impl::Reusable(
    const CopyOnWriteSource& src) {
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

TimeTravel::Impl::Lease::~Lease() {
  if (!owned || !inst) return;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lk(impl->mu_);
    mine = impl->instances_.erase(inst->view.id) > 0;
  }
  if (mine) impl->Destroy(*inst);
}

Result<std::unique_ptr<TimeTravel::Impl::Lease>> TimeTravel::Impl::Acquire(
    const CopyOnWriteSource& src) {
  auto lease = std::make_unique<Lease>();
  lease->impl = this;
  lease->inst = Reusable(src);
  if (!lease->inst) {
    ASSIGN_OR_RETURN(lease->inst, Launch(src, 0, /*hidden=*/true));
    lease->owned = true;
  }
  return lease;
}

Result<engine::SqlLogin> TimeTravel::Impl::Reader(Instance& inst) {
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

// ---------------------------------------------------------------------------------------------
// The public methods (Diff: time_travel_diff.cc).

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
