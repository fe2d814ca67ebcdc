// ClusterHost: the live parts of one DB cluster — its store volume (held by id), the FUSE mount
// of the volume's head and the database engine over that mount — and the few verbs the
// cluster operations are made of. Every store/fs/engine step of every operation is here, once.
//
// Invariants the host keeps (and its verbs rely on):
// - At most one fs::Mount object exists for the host, and a Mount is stopped and destroyed
//   before another is started at the same path: an old Mount can never unmount a new one.
// - The engine runs only over a mount of the volume's head: Halt unmounts only after the
//   engine stopped; if the engine cannot be stopped nothing is unmounted, and Rebranch and the
//   mount verbs refuse (FailedPrecondition) while it still runs.
// - A mount found at the mount dir while the host holds none was left by a process that died
//   (a crashed rewindd): the mount verbs detach it before mounting.
//
// Threads: every verb and accessor must be called with op_mutex() held; an operation holds it
// from its first step to its last, so two operations on one cluster never interleave. The
// engine's own reaper thread calls nothing here (its exit callback posts work elsewhere).
// The store must outlive the host. Destroying the host stops the engine (gracefully) and
// unmounts, ignoring failures (shutdown).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cluster_engine.h"
#include "common/status.h"
#include "fs/mount.h"
#include "store/store.h"

namespace rwd::cluster {

struct HostConfig {
  store::Store* store = nullptr;   // not owned
  std::string mount_dir;           // where the volume's head is mounted
  std::string run_dir;             // the engine's run dir (its root.password lives there)
  fs::MountOptions mount_options;  // statfs dir, admitted uids, ...
  EngineMaker make_engine;         // called when the host needs an engine object
  // What the engine must run with (the stored parameter group values), asked before every
  // start by Serve and Reboot so that a start never runs with stale settings; unset: the
  // engine object's own. Its failure fails the start.
  std::function<Result<engine::TunedSettings>()> tuned_settings;
};

// What the retention pass needs of a mounted head.
struct MountSnapshot {
  store::TimelineId timeline;
  std::vector<uint64_t> known_inodes;
  fs::MountStats stats;
};

enum class HaltMode {
  kGraceful,  // the engine shuts down cleanly (delete, shutdown)
  kKill,      // SIGKILL: connections dropped, a crash image (a backtrack's state is one anyway)
};

class ClusterHost {
 public:
  explicit ClusterHost(HostConfig config, store::VolumeId volume = store::VolumeId());
  ~ClusterHost();
  ClusterHost(const ClusterHost&) = delete;
  ClusterHost& operator=(const ClusterHost&) = delete;

  std::mutex& op_mutex() { return op_mu_; }

  // ---- The volume ----
  // The volume's id (VolumeId() while it has none: a cluster being created).
  store::VolumeId volume() const { return volume_; }
  // A new volume `name` for a cluster being created; the host holds its id from then on.
  // Failure: the store's (AlreadyExists for a live volume of that name); nothing held then.
  Result<store::VolumeId> MakeVolume(std::string_view name);
  // A new volume `name` branched from `source` at `at_ns` (a copy-on-write clone).
  // Failure: the store's (InvalidArgument for a moment it no longer holds).
  Result<store::VolumeId> MakeClone(std::string_view name, store::VolumeId source, int64_t at_ns);
  // A new volume `name` whose first timeline reads a peer's state `from` (Store::CloneForeign:
  // a peer clone). Failure: the store's (FailedPrecondition when the peer's view is not
  // attached); nothing held then.
  Result<store::VolumeId> MakeForeignClone(std::string_view name,
                                           const store::ForeignAncestor& from);
  // Holds an existing volume (recovery found it).
  void Attach(store::VolumeId volume) { volume_ = volume; }
  // The volume as the store has it now. NotFound if the host holds none or it was deleted.
  Result<store::VolumeInfo> Volume() const;

  // ---- The engine's files ----
  // Initialises a new database on the volume: a fresh run dir (nothing from a namesake),
  // mount, engine, Initialize, graceful Stop, store sync. Success: the data is durable, the
  // head is mounted, no engine runs. Failure: the failing step's status; no engine runs, the
  // mount (if made) stays.
  Status Initialize(std::string_view master_user, std::string_view master_password,
                    std::string_view database);
  // The root password kept in the run dir. NotFound if missing or empty.
  Result<std::string> RootPassword() const;
  // A fresh run dir holding `root_password` (0600): a clone's datadir has its source's
  // accounts, so its engine needs the source's root password. IOError on failure.
  Status SeedRunDir(const std::string& root_password);

  // ---- Serving ----
  // Mounts the head (unless mounted) and makes the engine object (unless made); starts
  // nothing. Failure: the step's status (mount or engine options); what was done stays.
  Status Prepare();
  // Mounts the head unless mounted. Failure: the mount's (nothing mounted then);
  // FailedPrecondition if the engine runs without a mount (never, through these verbs).
  Status MountHead();
  // Prepare, then starts the engine unless it runs. Success: the engine serves on the head.
  // Failure: the step's status; after a failed start no engine runs, the mount stays.
  Status Serve();
  // Prepare, a graceful Stop, then Start (RebootDBInstance). Failure as Serve; a failed stop
  // leaves the engine as it is (IsRunning tells).
  Status Reboot();
  // Graceful stop of the engine (kept as an object: Serve starts it again). OK if none runs.
  // Failure: the engine's (it still runs).
  Status StopEngine();
  // Stops the engine (`mode`) and then unmounts (or, holding no mount, detaches one a dead
  // rewindd left at the mount dir). Success: nothing runs, nothing is mounted.
  // Failure to stop the engine: nothing else is done (the mount stays; serving() tells whether
  // the engine still runs). Failure to unmount (busy: detached, connection aborted): the engine
  // is stopped and the mount is gone all the same; the status says what happened.
  Status Halt(HaltMode mode);
  // Rewinds the volume in place to `to_ns`: its head becomes a new timeline branched from the
  // state at to_ns; returns the new head's id. FailedPrecondition unless halted (engine not
  // running, nothing mounted); the store's failure otherwise (then the head is unchanged).
  Result<store::TimelineId> Rebranch(int64_t to_ns);
  // Halt(kGraceful), drop the engine, delete the volume (if it has one), remove the run dir and
  // the mount dir. Failure: Halt's (nothing deleted) or the store's.
  Status Dismantle();

  // ALTER USER on the running engine. FailedPrecondition if it does not run.
  Status SetUserPassword(std::string_view user, std::string_view password);

  // Tuned variables (the caller holds op_mutex()): the settings the engine's next start
  // writes (OK with no engine object: the next one is made with the current settings), and
  // SET GLOBAL on the running engine (FailedPrecondition if it does not run).
  Status SetTunedSettings(const engine::TunedSettings& settings);
  Status ApplySetting(const std::string& name, const std::optional<std::string>& value);
  // What the running engine has (engine::MariaDbEngine::SettingsInEffect), without waiting:
  // false while an operation holds op_mutex(); else true with *out nullopt when no engine runs.
  bool TrySettingsInEffect(std::optional<engine::TunedSettings>* out);
  // Replication (reader instances; ClusterEngine's). FailedPrecondition if the engine does
  // not run.
  Status EnsureReplicationAccount(const std::string& user, const std::string& password);
  Status FollowWriter(const engine::ReplicationSource& source);
  Result<engine::ReplicaState> ReplicaState() const;
  // Deletes the host's volume (a reader about to be cloned again). FailedPrecondition unless
  // halted; OK if it has none (or the store has it no more).
  Status DropVolume();

  bool serving() const { return engine_ != nullptr && engine_->IsRunning(); }
  bool has_engine() const { return engine_ != nullptr; }
  bool mounted() const { return mount_ != nullptr; }
  // The mounted head's timeline, known inodes and counters; nullopt when not mounted.
  std::optional<MountSnapshot> Inspect() const;

 private:
  Status MakeEngine();
  // Gives the engine config_.tuned_settings() for its next start.
  Status RefreshTunedSettings();

  HostConfig config_;
  store::VolumeId volume_;
  std::mutex op_mu_;
  std::unique_ptr<fs::Mount> mount_;
  std::unique_ptr<ClusterEngine> engine_;
};

}  // namespace rwd::cluster
