// StopCluster / StartCluster with the stand-in engine (no mariadbd), the real store and real
// FUSE mounts: statuses, what a stopped cluster refuses and allows, a stop whose engine cannot
// stop, a start whose engine cannot start, a restart of the service while stopped, and a crash
// at every failpoint of both operations (a death test, as in cluster_service_test.cc). Needs
// root and /dev/fuse (fails loudly otherwise).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cluster/cluster_host.h"
#include "cluster/cluster_test_util.h"
#include "cluster/host_util.h"
#include "cluster/op_journal.h"
#include "cluster/service_test_util.h"
#include "common/failpoint.h"
#include "common/test_util.h"

namespace rwd::cluster {
namespace {

void ExpectRefused(ClusterError kind, const Status& s, const char* what) {
  ASSERT_FALSE(s.ok()) << what << " was accepted on a stopped cluster";
  EXPECT_EQ(kind, ErrorKindOf(s)) << what << ": " << s.ToString();
  // The refusal carries the cluster's state, from which the API says to start it first.
  std::optional<RefusalDetail> d = RefusalOf(s);
  ASSERT_TRUE(d) << what;
  EXPECT_EQ(ClusterStatus::kStopped, d->cluster_status) << what << ": " << s.message();
}

bool Said(ClusterService& svc, EventKind kind, const std::string& source,
          const std::string& detail_part = "") {
  for (const EventView& e : svc.DescribeEvents(EventQuery{})) {
    if (e.kind == kind && e.source_id == source &&
        e.detail.find(detail_part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

class StopStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
    ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
    Open();
    ASSERT_TRUE(svc_->CreateCluster(CreateC1()).ok());
    svc_->WaitIdle();
    ASSERT_TRUE(svc_->CreateInstance(Writer("c1-1", "c1")).ok());
    svc_->WaitIdle();
    ASSERT_EQ("available", InstanceStatus(*svc_, "c1-1"));
    ASSERT_TRUE(ReplaceFile(mnt() + "/data", "kept"));
  }
  void TearDown() override {
    knobs_.fail_stop = false;
    knobs_.fail_start = false;
    svc_.reset();
    DetachMounts(dir_.path());
  }
  void Open() {
    auto opened = OpenService(dir_.path(), &knobs_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    svc_ = std::move(opened).value();
  }
  void Stop() {
    auto v = svc_->StopCluster("c1");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(ClusterStatus::kStopping, v->status);
    svc_->WaitIdle();
  }
  void Start() {
    auto v = svc_->StartCluster("c1");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(ClusterStatus::kStarting, v->status);
    svc_->WaitIdle();
  }
  // Stopped as Aurora shows it, and nothing runs or is mounted.
  void ExpectStopped() {
    EXPECT_EQ("stopped", StatusOf(*svc_, "c1"));
    EXPECT_EQ("stopped", InstanceStatus(*svc_, "c1-1"));
    EXPECT_EQ(0, knobs_.running.load());
    EXPECT_FALSE(IsMountPoint(mnt()));
  }
  void ExpectServing() {
    EXPECT_EQ("available", StatusOf(*svc_, "c1"));
    EXPECT_EQ("available", InstanceStatus(*svc_, "c1-1"));
    EXPECT_EQ(1, knobs_.running.load());
    EXPECT_EQ("kept", ReadWholeFile(mnt() + "/data"));
  }
  std::string mnt() const { return dir_.path() + "/mnt/c1"; }

  testing::TempDir dir_{"rewind-stop-start-test"};
  StandInKnobs knobs_;
  std::unique_ptr<ClusterService> svc_;
};

TEST_F(StopStartTest, AStoppedClusterRunsNothingAndStartsWithItsData) {
  Stop();
  ExpectStopped();
  EXPECT_TRUE(Said(*svc_, EventKind::kClusterStopped, "c1"));
  EXPECT_TRUE(Said(*svc_, EventKind::kInstanceStopped, "c1-1"));
  Start();
  ExpectServing();
  EXPECT_TRUE(Said(*svc_, EventKind::kClusterStarted, "c1"));
  EXPECT_TRUE(Said(*svc_, EventKind::kInstanceStarted, "c1-1"));
  ExpectJournalSettled(dir_.path());
}

TEST_F(StopStartTest, OnlyAnAvailableClusterStopsAndOnlyAStoppedOneStarts) {
  EXPECT_EQ(ClusterError::kInvalidClusterState, ErrorKindOf(svc_->StartCluster("c1").status()));
  EXPECT_EQ(ClusterError::kClusterNotFound, ErrorKindOf(svc_->StopCluster("nope").status()));
  Stop();
  EXPECT_EQ(ClusterError::kInvalidClusterState, ErrorKindOf(svc_->StopCluster("c1").status()));
  ExpectStopped();
}

TEST_F(StopStartTest, AStoppedClusterRefusesWhatNeedsItsEngineAndSaysToStartIt) {
  Stop();
  ModifyClusterRequest modify;
  modify.id = "c1";
  modify.deletion_protection = true;
  ExpectRefused(ClusterError::kInvalidClusterState, svc_->ModifyCluster(modify).status(),
                "ModifyCluster");
  BacktrackRequest bt;
  bt.cluster_id = "c1";
  bt.backtrack_to_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();  // the state is checked first
  ExpectRefused(ClusterError::kInvalidClusterState, svc_->Backtrack(bt).status(), "Backtrack");
  CreateSnapshotRequest snap;
  snap.id = "s1";
  snap.cluster_id = "c1";
  ExpectRefused(ClusterError::kInvalidClusterState, svc_->CreateSnapshot(snap).status(),
                "CreateSnapshot");
  ExpectRefused(ClusterError::kInvalidClusterState,
                svc_->CreateInstance(Writer("c1-2", "c1")).status(), "CreateInstance");
  ExpectRefused(ClusterError::kInvalidClusterState, svc_->DeleteInstance("c1-1").status(),
                "DeleteInstance");
  ExpectRefused(ClusterError::kInvalidInstanceState, svc_->RebootInstance("c1-1").status(),
                "RebootInstance");
  ExpectRefused(ClusterError::kInvalidClusterState,
                svc_->CopyOnWriteSourceOf("c1", std::nullopt).status(), "time travel");
  DeleteClusterRequest del;
  del.id = "c1";
  del.skip_final_snapshot = true;
  EXPECT_EQ(ClusterError::kInvalidClusterState, ErrorKindOf(svc_->DeleteCluster(del).status()))
      << "a stopped cluster with an instance is not deleted";
  // Nothing of that changed it.
  ExpectStopped();
  EXPECT_FALSE(svc_->DescribeClusters(std::string("c1"))->front().deletion_protection);
}

TEST_F(StopStartTest, AStoppedClusterCanBeClonedToAPointInTime) {
  Stop();
  CloneRequest clone;
  clone.id = "c2";
  clone.source_id = "c1";
  clone.restore_type = "copy-on-write";
  clone.use_latest_restorable_time = true;
  ASSERT_TRUE(svc_->Clone(clone).ok());
  svc_->WaitIdle();
  EXPECT_EQ("available", StatusOf(*svc_, "c2"));
  EXPECT_EQ("kept", ReadWholeFile(dir_.path() + "/mnt/c2/data"));
  ExpectStopped();
}

TEST_F(StopStartTest, AStoppedClusterWithoutInstancesIsDeletedKeepingAFinalSnapshot) {
  ASSERT_TRUE(svc_->CreateCluster([] {
                    CreateClusterRequest r = CreateC1();
                    r.id = "c3";
                    return r;
                  }())
                  .ok());
  svc_->WaitIdle();
  ASSERT_TRUE(svc_->StopCluster("c3").ok());
  svc_->WaitIdle();
  ASSERT_EQ("stopped", StatusOf(*svc_, "c3"));
  EXPECT_FALSE(IsMountPoint(dir_.path() + "/mnt/c3"));
  DeleteClusterRequest del;
  del.id = "c3";
  del.final_snapshot_id = "c3-final";
  auto deleted = svc_->DeleteCluster(del);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  svc_->WaitIdle();
  EXPECT_EQ("absent", StatusOf(*svc_, "c3"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/mnt/c3"));
  auto snaps = svc_->DescribeSnapshots(std::string("c3-final"), std::nullopt);
  ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
  EXPECT_EQ("c3", snaps->front().cluster_id);
}

TEST_F(StopStartTest, AStoppedClusterStaysStoppedAcrossARestart) {
  Stop();
  svc_.reset();
  Open();
  svc_->WaitIdle();
  ExpectStopped();
  Start();
  ExpectServing();
}

TEST_F(StopStartTest, AStopWhoseEngineCannotStopLeavesTheClusterServing) {
  knobs_.fail_stop = true;
  Stop();
  EXPECT_EQ("available", StatusOf(*svc_, "c1"));
  EXPECT_EQ("available", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ(1, knobs_.running.load());
  EXPECT_TRUE(IsMountPoint(mnt()));
  EXPECT_TRUE(Said(*svc_, EventKind::kClusterStopFailed, "c1", "stopping the engine"));
  knobs_.fail_stop = false;
  Stop();
  ExpectStopped();
}

TEST_F(StopStartTest, AStartWhoseEngineCannotStartIsRolledBackToStopped) {
  Stop();
  knobs_.fail_start = true;
  Start();
  ExpectStopped();
  EXPECT_TRUE(Said(*svc_, EventKind::kClusterStartFailed, "c1", "stand-in: start refused"));
  knobs_.fail_start = false;
  Start();
  ExpectServing();
  ExpectJournalSettled(dir_.path());
}

TEST_F(StopStartTest, AStopJournaledButNeverBegunEndsFailedAndChangesNothing) {
  // A crash between the journal's row and the status write: the row is all there is.
  svc_.reset();
  {
    auto meta = MetaDb::Open(dir_.path() + "/meta.db");
    ASSERT_TRUE(meta.ok());
    OpJournal journal(meta->get());
    Operation op{.kind = OpKind::kStop, .target = "c1"};
    ASSERT_TRUE(journal.Begin(&op).ok());
  }
  DetachMounts(dir_.path());
  Open();
  svc_->WaitIdle();
  ExpectServing();
  ExpectJournalSettled(dir_.path());
  auto meta = MetaDb::Open(dir_.path() + "/meta.db");
  ASSERT_TRUE(meta.ok());
  auto history = OpJournal(meta->get()).History("c1", 1);
  ASSERT_TRUE(history.ok() && !history->empty());
  EXPECT_EQ(OpKind::kStop, history->front().kind);
  EXPECT_EQ(OpState::kFailed, history->front().state);
}

// ---- A crash at every failpoint of stop and start ----

// Create c1 with its writer and data "kept", stop it, start it. Any failure aborts (the death
// test then sees no SIGKILL).
void RunStopStart(const std::string& dir) {
  StandInKnobs knobs;
  auto opened = OpenService(dir, &knobs);
  if (!opened.ok()) std::abort();
  ClusterService& svc = **opened;
  auto must = [](const Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "scenario step failed: %s\n", s.ToString().c_str());
      std::abort();
    }
  };
  must(svc.CreateCluster(CreateC1()).status());
  svc.WaitIdle();
  must(svc.CreateInstance(Writer("c1-1", "c1")).status());
  svc.WaitIdle();
  if (!ReplaceFile(dir + "/mnt/c1/data", "kept")) std::abort();
  must(svc.StopCluster("c1").status());
  svc.WaitIdle();
  must(svc.StartCluster("c1").status());
  svc.WaitIdle();
}

struct StopStartCrash {
  const char* failpoint;
  const char* c1;  // the status c1 comes back with ("stopped": a stop resumed; "available")
};

class StopStartCrashTest : public ::testing::TestWithParam<StopStartCrash> {};

TEST_P(StopStartCrashTest, TheOperationIsFinishedAfterARestart) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
  const StopStartCrash& c = GetParam();
  std::optional<testing::TempDir> own;
  const char* env = "RWD_STOP_START_CRASH_DIR";
  const std::string dir = CrashDir(env, c.failpoint, &own, "rewind-stop-start-crash");
  KillAtFailpoint(dir, env, c.failpoint, RunStopStart);
  // The killed child's mount is left behind (its FUSE daemon died): recovery detaches it.
  {
    StandInKnobs knobs;
    auto opened = OpenService(dir, &knobs);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    svc.WaitIdle();
    EXPECT_EQ(c.c1, StatusOf(svc, "c1"));
    EXPECT_EQ(c.c1, InstanceStatus(svc, "c1-1"));
    if (std::string(c.c1) == "stopped") {
      EXPECT_EQ(0, knobs.running.load());
      EXPECT_FALSE(IsMountPoint(dir + "/mnt/c1"));
      ASSERT_TRUE(svc.StartCluster("c1").ok());
      svc.WaitIdle();
      EXPECT_EQ("available", StatusOf(svc, "c1"));
    }
    EXPECT_EQ(1, knobs.running.load());
    EXPECT_EQ("kept", ReadWholeFile(dir + "/mnt/c1/data"));
  }
  ExpectJournalSettled(dir);
  DetachMounts(dir);
}

INSTANTIATE_TEST_SUITE_P(
    EveryFailpoint, StopStartCrashTest,
    ::testing::Values(
        // A stop cut short is finished (nothing ran after the crash anyway).
        StopStartCrash{"cluster.stop.requested", "stopped"},
        StopStartCrash{"cluster.stop.engines_stopped", "stopped"},
        StopStartCrash{"cluster.stop.unmounted", "stopped"},
        // A start cut short is finished from its last step.
        StopStartCrash{"cluster.start.requested", "available"},
        StopStartCrash{"cluster.start.mounted", "available"},
        StopStartCrash{"cluster.start.engines_started", "available"}),
    [](const ::testing::TestParamInfo<StopStartCrash>& info) {
      return FailpointTestName(info.param.failpoint);
    });

}  // namespace
}  // namespace rwd::cluster
