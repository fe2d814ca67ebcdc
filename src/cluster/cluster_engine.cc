#include "cluster/cluster_engine.h"

namespace rwd::cluster {
namespace {

class MariaDbClusterEngine final : public ClusterEngine {
 public:
  explicit MariaDbClusterEngine(std::unique_ptr<engine::MariaDbEngine> engine)
      : engine_(std::move(engine)) {}
  Status Initialize(std::string_view user, std::string_view password,
                    std::string_view database) override {
    return engine_->Initialize(user, password, database);
  }
  Status Start() override { return engine_->Start(); }
  Status Stop() override { return engine_->Stop(); }
  Status Kill() override { return engine_->Kill(); }
  bool IsRunning() const override { return engine_->IsRunning(); }
  Status SetUserPassword(std::string_view user, std::string_view password) const override {
    return engine_->SetUserPassword(user, password);
  }
  Status SetTunedSettings(engine::TunedSettings settings) override {
    return engine_->SetTunedSettings(std::move(settings));
  }
  Status ApplySetting(const std::string& name, const std::optional<std::string>& value) override {
    return engine_->ApplySetting(name, value);
  }
  engine::TunedSettings SettingsInEffect() const override { return engine_->SettingsInEffect(); }
  Status EnsureReplicationAccount(const std::string& user,
                                  const std::string& password) const override {
    return engine::EnsureReplicationAccount(*engine_, user, password);
  }
  Status FollowWriter(const engine::ReplicationSource& source) const override {
    return engine::FollowSource(*engine_, source);
  }
  Result<engine::ReplicaState> ReplicaState() const override {
    return engine::ReadReplicaState(*engine_);
  }

 private:
  std::unique_ptr<engine::MariaDbEngine> engine_;
};

}  // namespace

Result<std::unique_ptr<ClusterEngine>> MakeMariaDbEngine(engine::EngineOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<engine::MariaDbEngine> engine,
                   engine::MariaDbEngine::Create(std::move(options)));
  return std::unique_ptr<ClusterEngine>(new MariaDbClusterEngine(std::move(engine)));
}

}  // namespace rwd::cluster
