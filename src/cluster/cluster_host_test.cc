// ClusterHost against the real store (on the FaultInjectionEnv), a real FUSE mount and the
// stand-in engine: the verbs' contracts, the state after a stop or a start that fails, and a
// rewind seen through the mount. Needs root and /dev/fuse (fails loudly otherwise).
#include "cluster/cluster_host.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/cluster_test_util.h"
#include "cluster/stand_in_engine.h"
#include "common/test_util.h"
#include "store/fault_env.h"

namespace rwd::cluster {
namespace {


class ClusterHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0u, ::geteuid()) << "ClusterHost tests mount FUSE: run them as root";
    ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
    store::StoreOptions so;
    so.dir = dir_.path() + "/store";
    so.env = &env_;
    auto store = store::Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    HostConfig config;
    config.store = store_.get();
    config.mount_dir = dir_.path() + "/mnt";
    config.run_dir = dir_.path() + "/run";
    config.mount_options.statfs_dir = dir_.path();
    config.make_engine = [this]() -> Result<std::unique_ptr<ClusterEngine>> {
      engine::EngineOptions eo;
      eo.datadir = dir_.path() + "/mnt";
      eo.run_dir = dir_.path() + "/run";
      return std::unique_ptr<ClusterEngine>(new StandInEngine(eo, &knobs_));
    };
    host_ = std::make_unique<ClusterHost>(std::move(config));
    std::lock_guard<std::mutex> lk(host_->op_mutex());
    auto vol = host_->MakeVolume("c1");
    ASSERT_TRUE(vol.ok()) << vol.status().ToString();
    ASSERT_TRUE(host_->Initialize("admin", "secret-pw", "db").ok());
  }
  void TearDown() override {
    knobs_.fail_stop = false;
    host_.reset();  // stops and unmounts
  }
  std::string Mnt() const { return dir_.path() + "/mnt"; }

  testing::TempDir dir_{"rewind-host-test"};
  store::FaultInjectionEnv env_;
  std::unique_ptr<store::Store> store_;
  StandInKnobs knobs_;
  std::unique_ptr<ClusterHost> host_;
};

TEST_F(ClusterHostTest, InitializeLeavesTheDataMountedAndNothingRunning) {
  std::lock_guard<std::mutex> lk(host_->op_mutex());
  EXPECT_TRUE(host_->mounted());
  EXPECT_FALSE(host_->serving());
  EXPECT_EQ(0, knobs_.running.load());
  EXPECT_EQ("admin:secret-pw:db", ReadWholeFile(Mnt() + "/mysql/master"));
  auto pw = host_->RootPassword();
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ("stand-in-root", *pw);
  // A second database on the same volume is refused by the engine.
  EXPECT_FALSE(host_->Initialize("admin", "secret-pw", "db").ok());
}

TEST_F(ClusterHostTest, AStopThatFailsUnmountsNothingAndNothingIsRewound) {
  std::lock_guard<std::mutex> lk(host_->op_mutex());
  ASSERT_TRUE(host_->Serve().ok());
  auto before = host_->Volume();
  ASSERT_TRUE(before.ok());
  const int64_t t0 = store_->NowNs();
  knobs_.fail_stop = true;
  Status halt = host_->Halt(HaltMode::kKill);
  EXPECT_FALSE(halt.ok());
  // The engine still runs over its mount: the mount stays, and the volume is not rewound.
  EXPECT_TRUE(host_->serving());
  EXPECT_TRUE(host_->mounted());
  EXPECT_EQ(Status::Code::kFailedPrecondition, host_->Rebranch(t0).status().code());
  EXPECT_EQ(before->head, host_->Volume()->head);
  // Serve finds them so: no second mount, no second start.
  const int starts = knobs_.starts;
  EXPECT_TRUE(host_->Serve().ok());
  EXPECT_EQ(starts, knobs_.starts.load());
  EXPECT_EQ("admin:secret-pw:db", ReadWholeFile(Mnt() + "/mysql/master"));
  knobs_.fail_stop = false;
  EXPECT_TRUE(host_->Halt(HaltMode::kKill).ok());
  EXPECT_FALSE(host_->mounted());
  EXPECT_FALSE(host_->serving());
}

TEST_F(ClusterHostTest, AStartThatFailsLeavesNothingRunningAndTheMountInPlace) {
  std::lock_guard<std::mutex> lk(host_->op_mutex());
  knobs_.fail_start = true;
  EXPECT_FALSE(host_->Serve().ok());
  EXPECT_FALSE(host_->serving());
  EXPECT_TRUE(host_->mounted());
  EXPECT_FALSE(host_->Reboot().ok());
  EXPECT_FALSE(host_->serving());
  knobs_.fail_start = false;
  EXPECT_TRUE(host_->Serve().ok());
  EXPECT_TRUE(host_->serving());
}

TEST_F(ClusterHostTest, RebranchRewindsTheHeadAndANewMountShowsIt) {
  std::lock_guard<std::mutex> lk(host_->op_mutex());
  ASSERT_TRUE(host_->Serve().ok());
  ASSERT_TRUE(ReplaceFile(Mnt() + "/data", "first"));
  // Store times are wall-clock nanoseconds: a moment strictly between the two writes.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int64_t between = store_->NowNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(ReplaceFile(Mnt() + "/data", "second"));
  auto old_head = host_->Volume()->head;
  ASSERT_TRUE(host_->Halt(HaltMode::kKill).ok());
  auto head = host_->Rebranch(between);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_NE(old_head, *head);
  EXPECT_EQ(*head, host_->Volume()->head);
  ASSERT_TRUE(host_->Serve().ok());
  EXPECT_EQ("first", ReadWholeFile(Mnt() + "/data"));
  auto snap = host_->Inspect();
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(*head, snap->timeline);
  // The new mount is the one in place (the old Mount object, gone, never touched it).
  ASSERT_TRUE(ReplaceFile(Mnt() + "/data", "third"));
  EXPECT_EQ("third", ReadWholeFile(Mnt() + "/data"));
}

TEST_F(ClusterHostTest, DismantleDeletesTheVolumeAndItsDirectories) {
  std::lock_guard<std::mutex> lk(host_->op_mutex());
  ASSERT_TRUE(host_->Serve().ok());
  const store::VolumeId vol = host_->volume();
  ASSERT_TRUE(host_->Dismantle().ok());
  EXPECT_FALSE(host_->serving());
  EXPECT_FALSE(host_->mounted());
  EXPECT_FALSE(host_->volume().valid());
  EXPECT_FALSE(store_->GetVolume(vol).ok());
  EXPECT_FALSE(std::filesystem::exists(Mnt()));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/run"));
  // Deleting again finds nothing to do.
  EXPECT_TRUE(host_->Dismantle().ok());
}

TEST_F(ClusterHostTest, AStaleMountOfADeadProcessIsDetachedBeforeMounting) {
  std::lock_guard<std::mutex> lk(host_->op_mutex());
  ASSERT_TRUE(host_->Halt(HaltMode::kGraceful).ok());
  // A mount at the path that the host does not hold: as a rewindd that died leaves it.
  auto vol = host_->Volume();
  ASSERT_TRUE(vol.ok());
  auto foreign = fs::Mount::Start(store_.get(), vol->head, Mnt());
  ASSERT_TRUE(foreign.ok()) << foreign.status().ToString();
  ASSERT_TRUE(host_->Serve().ok()) << "the host mounts over the stale mount";
  EXPECT_EQ("admin:secret-pw:db", ReadWholeFile(Mnt() + "/mysql/master"));
  // The foreign Mount object stands for the dead process's, which never runs again: it is
  // destroyed only once the host unmounted (its Stop would unmount whatever is at the path).
  ASSERT_TRUE(host_->Halt(HaltMode::kGraceful).ok());
  foreign->reset();
}

}  // namespace
}  // namespace rwd::cluster
