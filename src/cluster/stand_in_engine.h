// A stand-in for mariadbd behind ClusterEngine, for the control plane's unit tests (never
// linked into rewindd). It keeps ClusterEngine's contract with real files on the cluster's
// mount: Initialize makes <datadir>/mysql/ and a marker file and writes <run_dir>/root.password
// as the engine does; Start refuses an uninitialised datadir. Tests make its stops and starts
// fail through StandInKnobs.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "cluster/cluster_engine.h"

namespace rwd::cluster {

// Shared by every stand-in engine of a test (one service makes many engines).
struct StandInKnobs {
  std::atomic<bool> fail_stop{false};   // Stop and Kill fail; the server keeps running
  std::atomic<bool> fail_start{false};  // Start fails; nothing runs
  std::atomic<int> starts{0};
  std::atomic<int> running{0};          // engines running now
  std::atomic<int> applied{0};          // ApplySetting calls that set a value
};

class StandInEngine final : public ClusterEngine {
 public:
  StandInEngine(engine::EngineOptions options, StandInKnobs* knobs)
      : options_(std::move(options)), knobs_(knobs) {}
  ~StandInEngine() override {
    if (running_) --knobs_->running;
  }

  Status Initialize(std::string_view user, std::string_view password,
                    std::string_view database) override {
    std::error_code ec;
    if (std::filesystem::exists(options_.datadir + "/mysql", ec)) {
      return Status::AlreadyExists("the datadir already holds a database");
    }
    std::filesystem::create_directories(options_.datadir + "/mysql", ec);
    if (ec) return Status::IOError("mkdir mysql: " + ec.message());
    std::ofstream(options_.datadir + "/mysql/master") << user << ":" << password << ":"
                                                       << database;
    std::filesystem::create_directories(options_.run_dir, ec);
    std::ofstream(options_.run_dir + "/root.password") << "stand-in-root";
    return Start();
  }
  Status Start() override {
    if (running_) return Status::FailedPrecondition("already running");
    struct stat st {};
    if (::stat((options_.datadir + "/mysql").c_str(), &st) != 0) {
      return Status::FailedPrecondition("the datadir is not initialised");
    }
    if (knobs_->fail_start) return Status::Unavailable("stand-in: start refused");
    running_ = true;
    in_effect_ = tuned_;
    ++knobs_->running;
    ++knobs_->starts;
    return Status::Ok();
  }
  Status Stop() override { return Halt(); }
  Status Kill() override { return Halt(); }
  bool IsRunning() const override { return running_; }
  Status SetUserPassword(std::string_view, std::string_view) const override {
    if (!running_) return Status::Unavailable("not running");
    return Status::Ok();
  }
  // Tuned settings as the engine keeps them (checked by the engine's own rules).
  Status SetTunedSettings(engine::TunedSettings settings) override {
    for (const auto& [name, value] : settings) {
      RETURN_IF_ERROR(engine::CheckTunedSetting(name, value));
    }
    tuned_ = std::move(settings);
    return Status::Ok();
  }
  Status ApplySetting(const std::string& name, const std::optional<std::string>& value) override {
    if (!running_) return Status::FailedPrecondition("not running");
    ++knobs_->applied;
    if (value) {
      in_effect_[name] = *value;
    } else {
      in_effect_.erase(name);
    }
    return Status::Ok();
  }
  engine::TunedSettings SettingsInEffect() const override {
    return running_ ? in_effect_ : engine::TunedSettings{};
  }
  // Replication is written down in the datadir (as the real server keeps it there): the
  // account in mysql/ (a clone carries it), the source a reader follows in replica-of.
  Status EnsureReplicationAccount(const std::string& user,
                                  const std::string& password) const override {
    if (!running_) return Status::Unavailable("not running");
    std::ofstream(options_.datadir + "/mysql/replication-account") << user << ":" << password;
    return Status::Ok();
  }
  Status FollowWriter(const engine::ReplicationSource& source) const override {
    if (!running_) return Status::Unavailable("not running");
    if (!options_.read_only || options_.server_id == 0) {
      return Status::FailedPrecondition("stand-in: a reader runs read-only with a binlog");
    }
    std::ofstream(options_.datadir + "/replica-of") << source.host << ":" << source.port;
    return Status::Ok();
  }
  Result<engine::ReplicaState> ReplicaState() const override {
    if (!running_) return Status::Unavailable("not running");
    std::ifstream in(options_.datadir + "/replica-of");
    std::string line;
    if (!std::getline(in, line)) return Status::NotFound("not a replica");
    engine::ReplicaState st;
    st.io_running = st.sql_running = true;
    st.seconds_behind = 0;
    return st;
  }
  const engine::EngineOptions& options() const { return options_; }

 private:
  Status Halt() {
    if (!running_) return Status::Ok();
    if (knobs_->fail_stop) return Status::Busy("stand-in: the server survives SIGKILL");
    running_ = false;
    --knobs_->running;
    return Status::Ok();
  }

  engine::EngineOptions options_;
  StandInKnobs* knobs_;
  std::atomic<bool> running_{false};
  engine::TunedSettings tuned_ = options_.tuned_settings;
  engine::TunedSettings in_effect_;
};

}  // namespace rwd::cluster
