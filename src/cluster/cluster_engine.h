// ClusterEngine: what a cluster host needs of a database server, behind an interface so that
// the control plane's unit tests can run with a stand-in (src/cluster/*_test.cc) while rewindd
// runs the real mariadbd (MariaDbClusterEngine, over engine::MariaDbEngine).
//
// Contract of every implementation (the one of engine::MariaDbEngine, which these mirror):
// - Initialize makes a new database in an empty datadir and leaves the server running.
// - Start starts the server on an initialised datadir and returns once it serves; after a
//   failure no server runs.
// - Stop (graceful) and Kill (SIGKILL: a crash image) are OK when nothing runs. A failure
//   (the process survives) leaves IsRunning() true.
// - Destroying an engine stops a running server gracefully.
// Thread safety: Start/Stop/Kill/Initialize are called by one thread at a time (the cluster
// host's operation lock); IsRunning from any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/engine.h"
#include "engine/replication.h"

namespace rwd::cluster {

class ClusterEngine {
 public:
  virtual ~ClusterEngine() = default;
  virtual Status Initialize(std::string_view master_user, std::string_view master_password,
                            std::string_view database) = 0;
  virtual Status Start() = 0;
  virtual Status Stop() = 0;
  virtual Status Kill() = 0;
  virtual bool IsRunning() const = 0;
  // ALTER USER user@'%' IDENTIFIED BY password, as root. FailedPrecondition-like failures of
  // the server pass through.
  virtual Status SetUserPassword(std::string_view user, std::string_view password) const = 0;
  // Tuned variables (engine::MariaDbEngine's SetTunedSettings, ApplySetting, SettingsInEffect):
  // the settings of the next start; SET GLOBAL on the running server; what it runs with.
  virtual Status SetTunedSettings(engine::TunedSettings settings) = 0;
  virtual Status ApplySetting(const std::string& name, const std::optional<std::string>& value) = 0;
  virtual engine::TunedSettings SettingsInEffect() const = 0;

  // Replication (reader instances; engine/replication.h). Each needs a running server
  // (FailedPrecondition-like failures of the server pass through).
  // On a writer: the replication account exists with `password` (idempotent, not binlogged).
  virtual Status EnsureReplicationAccount(const std::string& user,
                                          const std::string& password) const = 0;
  // On a reader just recovered from its clone: replicate from `source` from the clone's own
  // last transaction on.
  virtual Status FollowWriter(const engine::ReplicationSource& source) const = 0;
  // On a reader: its replica threads and lag. NotFound if it follows nobody.
  virtual Result<engine::ReplicaState> ReplicaState() const = 0;
};

// Makes the engine of one cluster (called by its host when it needs one).
using EngineMaker = std::function<Result<std::unique_ptr<ClusterEngine>>()>;

// The real engine: an engine::MariaDbEngine made from `options` (engine::MariaDbEngine::Create's
// failures pass through).
Result<std::unique_ptr<ClusterEngine>> MakeMariaDbEngine(engine::EngineOptions options);

}  // namespace rwd::cluster
