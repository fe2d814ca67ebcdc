#include "cluster/cluster_host.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cluster/host_util.h"

namespace rwd::cluster {
namespace {

// Removes `dir` and makes it again, empty and private (0700).
Status FreshPrivateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::IOError("removing " + dir + ": " + ec.message());
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (ec) return Status::IOError("chmod " + dir + ": " + ec.message());
  return Status::Ok();
}

// A mount at `dir` while the host holds none is not ours: left by a rewindd that died. Detached
// (lazily: a process still inside it keeps its view) so that nothing stays mounted there.
Status DetachStaleMount(const std::string& dir) {
  if (!IsMountPoint(dir)) return Status::Ok();
  if (::umount2(dir.c_str(), MNT_DETACH) != 0) {
    return Status::FromErrno(errno, "detaching stale mount " + dir);
  }
  return Status::Ok();
}

}  // namespace

ClusterHost::ClusterHost(HostConfig config, store::VolumeId volume)
    : config_(std::move(config)), volume_(volume) {}

ClusterHost::~ClusterHost() {
  std::lock_guard<std::mutex> lk(op_mu_);
  // Shutdown: a failure leaves nothing to do differently; the engine's destructor stops it too.
  (void)Halt(HaltMode::kGraceful);
  engine_.reset();
  mount_.reset();
}

Result<store::VolumeId> ClusterHost::MakeVolume(std::string_view name) {
  ASSIGN_OR_RETURN(store::VolumeInfo vol, config_.store->CreateVolume(name));
  volume_ = vol.id;
  return vol.id;
}

Result<store::VolumeId> ClusterHost::MakeClone(std::string_view name, store::VolumeId source,
                                               int64_t at_ns) {
  ASSIGN_OR_RETURN(store::VolumeInfo vol, config_.store->Clone(name, source, at_ns));
  volume_ = vol.id;
  return vol.id;
}

Result<store::VolumeId> ClusterHost::MakeForeignClone(std::string_view name,
                                                      const store::ForeignAncestor& from) {
  ASSIGN_OR_RETURN(store::VolumeInfo vol, config_.store->CloneForeign(name, from));
  volume_ = vol.id;
  return vol.id;
}

Result<store::VolumeInfo> ClusterHost::Volume() const {
  if (!volume_.valid()) return Status::NotFound("the cluster has no volume yet");
  return config_.store->GetVolume(volume_);
}

Status ClusterHost::MountHead() {
  if (mount_) return Status::Ok();
  if (serving()) {
    // Never reached through the verbs (Halt unmounts only a stopped engine); kept as a guard.
    return Status::FailedPrecondition("the engine runs without a mount");
  }
  const std::string& dir = config_.mount_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // The bare mountpoint (seen while unmounted) is as private as the rest.
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  RETURN_IF_ERROR(DetachStaleMount(dir));
  ASSIGN_OR_RETURN(store::VolumeInfo vol, Volume());
  ASSIGN_OR_RETURN(mount_, fs::Mount::Start(config_.store, vol.head, dir, config_.mount_options));
  return Status::Ok();
}

Status ClusterHost::MakeEngine() {
  if (engine_) return Status::Ok();
  ASSIGN_OR_RETURN(engine_, config_.make_engine());
  return Status::Ok();
}

Status ClusterHost::Initialize(std::string_view master_user, std::string_view master_password,
                               std::string_view database) {
  RETURN_IF_ERROR(MountHead());
  // A fresh cluster: no state from a namesake. The engine makes the run dir itself.
  std::error_code ec;
  std::filesystem::remove_all(config_.run_dir, ec);
  if (ec) return Status::IOError("removing " + config_.run_dir + ": " + ec.message());
  engine_.reset();
  RETURN_IF_ERROR(MakeEngine());
  Status s = engine_->Initialize(master_user, master_password, database);
  // The data is ready; the engine serves once the cluster has a writer instance.
  Status stop = engine_->Stop();
  if (!s.ok()) {
    if (!stop.ok()) {
      std::fprintf(stderr, "rewindd: stopping the engine after a failed initialisation: %s\n",
                   stop.ToString().c_str());
    }
    return s;
  }
  RETURN_IF_ERROR(stop);
  return config_.store->Sync();
}

Result<std::string> ClusterHost::RootPassword() const {
  std::string password;
  std::ifstream in(config_.run_dir + "/root.password");
  std::getline(in, password);
  if (password.empty()) return Status::NotFound("root password missing in " + config_.run_dir);
  return password;
}

Status ClusterHost::SeedRunDir(const std::string& root_password) {
  RETURN_IF_ERROR(FreshPrivateDir(config_.run_dir));
  // Created 0600 (never readable by others, whatever the umask), as the engine writes it:
  // no newline.
  return WriteSecretFile(config_.run_dir + "/root.password", root_password);
}

Status ClusterHost::Prepare() {
  RETURN_IF_ERROR(MountHead());
  return MakeEngine();
}

Status ClusterHost::RefreshTunedSettings() {
  if (!config_.tuned_settings) return Status::Ok();
  ASSIGN_OR_RETURN(engine::TunedSettings settings, config_.tuned_settings());
  return engine_->SetTunedSettings(std::move(settings));
}

Status ClusterHost::Serve() {
  RETURN_IF_ERROR(Prepare());
  if (engine_->IsRunning()) return Status::Ok();
  RETURN_IF_ERROR(RefreshTunedSettings());
  return engine_->Start();
}

Status ClusterHost::Reboot() {
  RETURN_IF_ERROR(Prepare());
  RETURN_IF_ERROR(engine_->Stop());
  RETURN_IF_ERROR(RefreshTunedSettings());
  return engine_->Start();
}

Status ClusterHost::StopEngine() {
  if (!engine_) return Status::Ok();
  return engine_->Stop();
}

Status ClusterHost::Halt(HaltMode mode) {
  if (engine_) {
    Status s = mode == HaltMode::kKill ? engine_->Kill() : engine_->Stop();
    if (!s.ok()) return s.WithContext("stopping the engine");
  }
  if (!mount_) return DetachStaleMount(config_.mount_dir);
  // Stop leaves the Mount object inert (it never touches the path again), so destroying it
  // cannot unmount whatever is mounted there later.
  Status s = mount_->Stop();
  mount_.reset();
  if (!s.ok()) return s.WithContext("unmounting");
  return Status::Ok();
}

Result<store::TimelineId> ClusterHost::Rebranch(int64_t to_ns) {
  if (serving() || mount_) {
    return Status::FailedPrecondition("the cluster must be halted before its volume is rewound");
  }
  if (!volume_.valid()) return Status::NotFound("the cluster has no volume");
  ASSIGN_OR_RETURN(store::VolumeInfo vol, config_.store->Rewind(volume_, to_ns));
  return vol.head;
}

Status ClusterHost::Dismantle() {
  RETURN_IF_ERROR(Halt(HaltMode::kGraceful));
  engine_.reset();
  RETURN_IF_ERROR(DropVolume());
  std::error_code ec;
  std::filesystem::remove_all(config_.run_dir, ec);
  if (ec) return Status::IOError("removing " + config_.run_dir + ": " + ec.message());
  std::filesystem::remove(config_.mount_dir, ec);
  if (ec) return Status::IOError("removing " + config_.mount_dir + ": " + ec.message());
  return Status::Ok();
}

Status ClusterHost::SetUserPassword(std::string_view user, std::string_view password) {
  if (!serving()) return Status::FailedPrecondition("the engine does not run");
  return engine_->SetUserPassword(user, password);
}

Status ClusterHost::SetTunedSettings(const engine::TunedSettings& settings) {
  if (!engine_) return Status::Ok();
  return engine_->SetTunedSettings(settings);
}

Status ClusterHost::ApplySetting(const std::string& name, const std::optional<std::string>& value) {
  if (!serving()) return Status::FailedPrecondition("the engine does not run");
  return engine_->ApplySetting(name, value);
}

bool ClusterHost::TrySettingsInEffect(std::optional<engine::TunedSettings>* out) {
  std::unique_lock<std::mutex> lock(op_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  *out = serving() ? std::optional<engine::TunedSettings>(engine_->SettingsInEffect())
                   : std::nullopt;
  return true;
}

Status ClusterHost::EnsureReplicationAccount(const std::string& user,
                                             const std::string& password) {
  if (!serving()) return Status::FailedPrecondition("the writer's engine does not run");
  return engine_->EnsureReplicationAccount(user, password);
}

Status ClusterHost::FollowWriter(const engine::ReplicationSource& source) {
  if (!serving()) return Status::FailedPrecondition("the reader's engine does not run");
  return engine_->FollowWriter(source);
}

Result<engine::ReplicaState> ClusterHost::ReplicaState() const {
  if (!serving()) return Status::FailedPrecondition("the reader's engine does not run");
  return engine_->ReplicaState();
}

Status ClusterHost::DropVolume() {
  if (serving() || mount_) {
    return Status::FailedPrecondition("the volume must be halted before it is deleted");
  }
  if (!volume_.valid()) return Status::Ok();
  Status s = config_.store->DeleteVolume(volume_);
  if (!s.ok() && s.code() != Status::Code::kNotFound) return s;
  volume_ = store::VolumeId();
  return Status::Ok();
}

std::optional<MountSnapshot> ClusterHost::Inspect() const {
  if (!mount_) return std::nullopt;
  return MountSnapshot{mount_->timeline(), mount_->KnownInodes(), mount_->stats()};
}

}  // namespace rwd::cluster
