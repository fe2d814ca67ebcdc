// ClusterService's operations and recovery with the stand-in engine (no mariadbd), the real
// store and real FUSE mounts: a backtrack whose engine cannot be stopped, an instance whose
// engine cannot start, and a crash at every named failpoint of every operation (a death test:
// the child runs the operations until the failpoint kills it; the parent reopens the service on
// the same data dir and checks that the operation is whole or absent and the cluster serves).
// Needs root and /dev/fuse (fails loudly otherwise).
#include "cluster/cluster_service.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/meta_db.h"
#include "cluster/op_journal.h"
#include "cluster/cluster_test_util.h"
#include "cluster/service_test_util.h"
#include "cluster/stand_in_engine.h"
#include "common/failpoint.h"
#include "common/test_util.h"

namespace rwd::cluster {
namespace {

constexpr int64_t kSec = 1'000'000'000;

// Every operation once, in an order that reaches every failpoint of cluster_operations.cc:
// create, create_instance, backtrack (data "second" -> "first"), clone (c2, data "first"),
// modify, reboot, create and delete of c2's instance, delete of c2. Returns the moment the
// backtrack goes to. Any failure aborts (the death test then sees no SIGKILL).
void RunEveryOperation(const std::string& dir) {
  StandInKnobs knobs;
  auto opened = OpenService(dir, &knobs);
  if (!opened.ok()) std::abort();
  ClusterService& svc = **opened;
  must(svc.CreateCluster(CreateC1()).status());
  svc.WaitIdle();
  must(svc.CreateInstance(Writer("c1-1", "c1")).status());
  svc.WaitIdle();
  ASSERT_TRUE(ReplaceFile(dir + "/mnt/c1/data", "first"));
  // The backtrack's moment: a whole second after creation (the earliest one reachable) and
  // after "first", before "second".
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const int64_t between = WallNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(ReplaceFile(dir + "/mnt/c1/data", "second"));
  BacktrackRequest bt;
  bt.cluster_id = "c1";
  bt.backtrack_to_ns = between;
  must(svc.Backtrack(bt).status());
  svc.WaitIdle();
  CloneRequest clone;
  clone.id = "c2";
  clone.source_id = "c1";
  clone.restore_type = "copy-on-write";
  clone.use_latest_restorable_time = true;
  must(svc.Clone(clone).status());
  svc.WaitIdle();
  ModifyClusterRequest modify;
  modify.id = "c1";
  modify.master_password = "secret-pw-2";
  modify.backtrack_window_s = 7200;  // journaled: a modify cut short after the password is whole
  must(svc.ModifyCluster(modify).status());
  must(svc.RebootInstance("c1-1").status());
  svc.WaitIdle();
  must(svc.CreateInstance(Writer("c2-1", "c2")).status());
  svc.WaitIdle();
  must(svc.DeleteInstance("c2-1").status());
  svc.WaitIdle();
  DeleteClusterRequest del;
  del.id = "c2";
  del.skip_final_snapshot = true;
  must(svc.DeleteCluster(del).status());
  svc.WaitIdle();
}

struct CrashCase {
  const char* failpoint;
  // What the reopened service shows (c1's data file, statuses...), checked by Check.
  const char* c1_data;       // "first" once the backtrack landed, "second" before
  const char* backtrack;     // the backtrack's status, or "" if it was never asked
  const char* c1;            // c1's status
  const char* c1_1;          // c1-1's status
  const char* c2;            // c2's status ("absent": never made, or deleted)
};

class CrashTest : public ::testing::TestWithParam<CrashCase> {};

TEST_P(CrashTest, TheOperationIsWholeOrAbsentAfterARestart) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
  const CrashCase& c = GetParam();
  // The child re-runs this test: it finds the parent's data dir in the environment.
  std::optional<testing::TempDir> own;
  const char* env = "RWD_CLUSTER_CRASH_DIR";
  const std::string dir = CrashDir(env, c.failpoint, &own, "rewind-crash-test");
  KillAtFailpoint(dir, env, c.failpoint, RunEveryOperation);
  {
    StandInKnobs knobs;
    auto opened = OpenService(dir, &knobs);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    svc.WaitIdle();
    EXPECT_EQ(c.c1, StatusOf(svc, "c1"));
    EXPECT_EQ(c.c1_1, InstanceStatus(svc, "c1-1"));
    EXPECT_EQ(c.c2, StatusOf(svc, "c2"));
    if (std::string(c.failpoint) == "cluster.modify.password_set") {
      // The password was set before the crash: the rest of the modify is written at the start.
      auto c1 = svc.DescribeClusters(std::string("c1"));
      ASSERT_TRUE(c1.ok());
      EXPECT_EQ(7200, c1->front().backtrack_window_s);
    }
    if (std::string(c.c1) == "available") {
      EXPECT_EQ(c.c1_data, ReadWholeFile(dir + "/mnt/c1/data"));
    }
    if (std::string(c.c2) == "available") {
      // A clone is of c1 after its backtrack: "first".
      EXPECT_EQ("first", ReadWholeFile(dir + "/mnt/c2/data"));
    }
    if (*c.backtrack != '\0') {
      auto bts = svc.DescribeBacktracks("c1", std::nullopt, {});
      ASSERT_TRUE(bts.ok());
      ASSERT_EQ(1u, bts->size());
      EXPECT_STREQ(c.backtrack, StatusName(bts->front().status));
    }
    if (std::string(c.c1_1) == "available") {
      EXPECT_EQ(1, knobs.running.load());
    }
    if (std::string(c.c2) == "absent") {
      EXPECT_FALSE(std::filesystem::exists(dir + "/mnt/c2"));
    }
  }
  // Every operation the crash cut short was settled.
  ExpectJournalSettled(dir);
  DetachMounts(dir);
}

INSTANTIATE_TEST_SUITE_P(
    EveryFailpoint, CrashTest,
    ::testing::Values(
        // A creation cut short before its database was made is rolled back (its password is
        // gone, so it cannot be redone).
        CrashCase{"cluster.create.volume_made", "", "", "absent", "absent", "absent"},
        CrashCase{"cluster.create.initialized", "", "", "available", "absent", "absent"},
        CrashCase{"cluster.create_instance.started", "", "", "available", "available", "absent"},
        CrashCase{"cluster.backtrack.before_rewind", "second", "failed", "available",
                  "available", "absent"},
        CrashCase{"cluster.backtrack.after_rewind", "first", "completed", "available",
                  "available", "absent"},
        CrashCase{"cluster.backtrack.serving", "first", "completed", "available", "available",
                  "absent"},
        CrashCase{"cluster.clone.before_store_clone", "first", "completed", "available",
                  "available", "available"},
        CrashCase{"cluster.clone.after_store_clone", "first", "completed", "available",
                  "available", "available"},
        CrashCase{"cluster.clone.prepared", "first", "completed", "available", "available",
                  "available"},
        CrashCase{"cluster.modify.password_set", "first", "completed", "available", "available",
                  "available"},
        CrashCase{"cluster.reboot.restarted", "first", "completed", "available", "available",
                  "available"},
        CrashCase{"cluster.delete_instance.halted", "first", "completed", "available",
                  "available", "available"},
        CrashCase{"cluster.delete.halted", "first", "completed", "available", "available",
                  "absent"},
        CrashCase{"cluster.delete.volume_deleted", "first", "completed", "available",
                  "available", "absent"}),
    [](const ::testing::TestParamInfo<CrashCase>& info) {
      return FailpointTestName(info.param.failpoint);
    });

// ---- Failures without a crash ----

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
    auto opened = OpenService(dir_.path(), &knobs_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    svc_ = std::move(opened).value();
    ASSERT_TRUE(svc_->CreateCluster(CreateC1()).ok());
    svc_->WaitIdle();
    ASSERT_TRUE(svc_->CreateInstance(Writer("c1-1", "c1")).ok());
    svc_->WaitIdle();
    ASSERT_EQ("available", InstanceStatus(*svc_, "c1-1"));
  }
  void TearDown() override {
    knobs_.fail_stop = false;
    knobs_.fail_start = false;
    svc_.reset();
    DetachMounts(dir_.path());
  }
  testing::TempDir dir_{"rewind-service-test"};
  StandInKnobs knobs_;
  std::unique_ptr<ClusterService> svc_;
};

TEST_F(ServiceTest, ABacktrackWhoseEngineCannotStopRewindsNothingAndKeepsServing) {
  ASSERT_TRUE(ReplaceFile(dir_.path() + "/mnt/c1/data", "first"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const int64_t between = WallNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(ReplaceFile(dir_.path() + "/mnt/c1/data", "second"));
  knobs_.fail_stop = true;
  BacktrackRequest bt;
  bt.cluster_id = "c1";
  bt.backtrack_to_ns = WallNs() + 3600 * kSec;  // refused: the future, typed
  std::optional<RefusalDetail> future = RefusalOf(svc_->Backtrack(bt).status());
  ASSERT_TRUE(future);
  EXPECT_EQ(ClusterError::kInvalidClusterState, future->kind);
  EXPECT_EQ(Reason::kTimeInFuture, future->reason);
  EXPECT_EQ(Field::kBacktrackTo, future->field);
  bt.backtrack_to_ns = between;
  ASSERT_TRUE(svc_->Backtrack(bt).ok());
  svc_->WaitIdle();
  auto bts = svc_->DescribeBacktracks("c1", std::nullopt, {});
  ASSERT_TRUE(bts.ok());
  ASSERT_EQ(1u, bts->size());
  EXPECT_EQ(BacktrackStatus::kFailed, bts->front().status);
  EXPECT_NE(std::string::npos, bts->front().message.find("stopping the engine"))
      << bts->front().message;
  // Nothing was rewound or remounted under the engine, which still serves.
  EXPECT_EQ("available", StatusOf(*svc_, "c1"));
  EXPECT_EQ("second", ReadWholeFile(dir_.path() + "/mnt/c1/data"));
  EXPECT_EQ(1, knobs_.running.load());
  // Once the engine stops again, the same backtrack goes through.
  knobs_.fail_stop = false;
  ASSERT_TRUE(svc_->Backtrack(bt).ok());
  svc_->WaitIdle();
  EXPECT_EQ("first", ReadWholeFile(dir_.path() + "/mnt/c1/data"));
}

TEST_F(ServiceTest, AnEngineThatCannotStartFailsTheInstanceUntilARebootBringsItBack) {
  knobs_.fail_start = true;
  ASSERT_TRUE(svc_->RebootInstance("c1-1").ok());
  svc_->WaitIdle();
  EXPECT_EQ("failed", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ(0, knobs_.running.load());
  bool said = false;
  for (const EventView& e : svc_->DescribeEvents(EventQuery{})) {
    said = said || (e.kind == EventKind::kInstanceRestartFailed && e.source_id == "c1-1" &&
                    e.detail.find("stand-in: start refused") != std::string::npos);
  }
  EXPECT_TRUE(said);
  knobs_.fail_start = false;
  ASSERT_TRUE(svc_->RebootInstance("c1-1").ok());
  svc_->WaitIdle();
  EXPECT_EQ("available", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ(1, knobs_.running.load());
}

TEST_F(ServiceTest, AnInstanceWhoseEngineCannotStopIsNotDeleted) {
  knobs_.fail_stop = true;
  ASSERT_TRUE(svc_->DeleteInstance("c1-1").ok());
  svc_->WaitIdle();
  EXPECT_EQ("failed", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ(1, knobs_.running.load());
  DeleteClusterRequest del;
  del.id = "c1";
  del.skip_final_snapshot = true;
  EXPECT_FALSE(svc_->DeleteCluster(del).ok()) << "the cluster still has a live instance";
  knobs_.fail_stop = false;
}

TEST_F(ServiceTest, DeletingTheInstanceThenTheClusterLeavesNothing) {
  ASSERT_TRUE(svc_->DeleteInstance("c1-1").ok());
  svc_->WaitIdle();
  // The instance is gone and its engine stopped; a cluster without one deletes.
  EXPECT_EQ("absent", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ(0, knobs_.running.load());
  DeleteClusterRequest del;
  del.id = "c1";
  del.skip_final_snapshot = true;
  ASSERT_TRUE(svc_->DeleteCluster(del).ok());
  svc_->WaitIdle();
  EXPECT_EQ("absent", StatusOf(*svc_, "c1"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/mnt/c1"));
}

// ---- Snapshots ----

size_t SnapshotPins(const ClusterService& svc) {
  size_t n = 0;
  for (const store::PinInfo& p : svc.store().ListPins()) n += p.name.rfind("snapshot:", 0) == 0;
  return n;
}

TEST_F(ServiceTest, SnapshotsAreTakenDescribedCopiedAndDeleted) {
  CreateSnapshotRequest req{.id = "S1", .cluster_id = "c1", .tags = {{"team", "db"}}};
  auto made = svc_->CreateSnapshot(req);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ("s1", made->id);
  EXPECT_EQ("c1", made->cluster_id);
  EXPECT_EQ("available", made->status);
  EXPECT_EQ("admin", made->master_username);
  EXPECT_EQ("aurora-mysql", made->engine);
  EXPECT_GT(made->create_ns, 0);
  EXPECT_GT(made->port, 0);
  ASSERT_EQ(1u, made->tags.size());
  EXPECT_EQ(1u, SnapshotPins(*svc_));
  EXPECT_EQ(ClusterError::kSnapshotExists, ErrorKindOf(svc_->CreateSnapshot(req).status()));
  CreateSnapshotRequest bad{.id = "1bad", .cluster_id = "c1"};
  EXPECT_EQ(ClusterError::kInvalidParameter, ErrorKindOf(svc_->CreateSnapshot(bad).status()));
  // The refusal says why and which input, in the domain's words (src/api words it).
  std::optional<RefusalDetail> why = RefusalOf(svc_->CreateSnapshot(bad).status());
  ASSERT_TRUE(why);
  EXPECT_EQ(Reason::kIdentifierInvalid, why->reason);
  EXPECT_EQ(Field::kSnapshotId, why->field);
  EXPECT_EQ("1bad", why->input);
  CreateSnapshotRequest nocluster{.id = "s2", .cluster_id = "nope"};
  EXPECT_EQ(ClusterError::kClusterNotFound,
            ErrorKindOf(svc_->CreateSnapshot(nocluster).status()));
  CopySnapshotRequest copy{.source_id = "s1", .target_id = "s1-copy"};
  auto copied = svc_->CopySnapshot(copy);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(made->create_ns, copied->create_ns);
  EXPECT_EQ(ClusterError::kSnapshotExists, ErrorKindOf(svc_->CopySnapshot(copy).status()));
  copy.source_id = "nope";
  copy.target_id = "s3";
  EXPECT_EQ(ClusterError::kSnapshotNotFound, ErrorKindOf(svc_->CopySnapshot(copy).status()));
  EXPECT_EQ(2u, SnapshotPins(*svc_));
  auto all = svc_->DescribeSnapshots(std::nullopt, std::string("c1"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(2u, all->size());
  EXPECT_EQ(ClusterError::kSnapshotNotFound,
            ErrorKindOf(svc_->DescribeSnapshots(std::string("nope"), std::nullopt).status()));
  auto gone = svc_->DeleteSnapshot("s1");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ("deleting", gone->status);
  EXPECT_EQ(ClusterError::kSnapshotNotFound, ErrorKindOf(svc_->DeleteSnapshot("s1").status()));
  EXPECT_EQ(1u, SnapshotPins(*svc_));
  // Snapshots are kept across a restart.
  svc_.reset();
  DetachMounts(dir_.path());
  auto reopened = OpenService(dir_.path(), &knobs_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  svc_ = std::move(reopened).value();
  svc_->WaitIdle();
  auto after = svc_->DescribeSnapshots(std::string("s1-copy"), std::nullopt);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(made->create_ns, after->front().create_ns);
  EXPECT_EQ(1u, SnapshotPins(*svc_));
}

TEST_F(ServiceTest, AFinalSnapshotOutlivesItsCluster) {
  ASSERT_TRUE(ReplaceFile(dir_.path() + "/mnt/c1/data", "kept"));
  ASSERT_TRUE(svc_->DeleteInstance("c1-1").ok());
  svc_->WaitIdle();
  ASSERT_TRUE(svc_->CreateSnapshot({.id = "taken", .cluster_id = "c1"}).ok());
  DeleteClusterRequest del{.id = "c1", .final_snapshot_id = "taken"};
  EXPECT_EQ(ClusterError::kSnapshotExists, ErrorKindOf(svc_->DeleteCluster(del).status()));
  EXPECT_EQ(Field::kFinalSnapshotId, RefusalOf(svc_->DeleteCluster(del).status())->field);
  EXPECT_EQ("available", StatusOf(*svc_, "c1")) << "a refused final snapshot deletes nothing";
  del.skip_final_snapshot = true;
  del.final_snapshot_id = "final";
  EXPECT_EQ(ClusterError::kInvalidCombination, ErrorKindOf(svc_->DeleteCluster(del).status()));
  EXPECT_EQ(Reason::kFinalSnapshotWithSkip, RefusalOf(svc_->DeleteCluster(del).status())->reason);
  del.skip_final_snapshot = false;
  ASSERT_TRUE(svc_->DeleteCluster(del).ok());
  svc_->WaitIdle();
  EXPECT_EQ("absent", StatusOf(*svc_, "c1"));
  auto snaps = svc_->DescribeSnapshots(std::nullopt, std::string("c1"));
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(2u, snaps->size());
  EXPECT_EQ("final", snaps->front().id);
  // The pin still reads the deleted cluster's data.
  auto pin = svc_->store().FindPin("snapshot:final");
  ASSERT_TRUE(pin.ok());
  auto inode = svc_->store().Lookup(pin->point.timeline, pin->point.lsn,
                                    store::kRootInode, "data");
  ASSERT_TRUE(inode.ok()) << inode.status().ToString();
  std::string buf(16, '\0');
  auto n = svc_->store().Read(pin->point.timeline, pin->point.lsn, *inode, 0, buf.size(),
                              buf.data());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ("kept", buf.substr(0, *n));
  // Restored, it is a new cluster with that data, then a writer as in Aurora.
  RestoreSnapshotRequest restore{.id = "c3", .snapshot_id = "final", .engine = "mysql"};
  EXPECT_EQ(ClusterError::kInvalidParameter,
            ErrorKindOf(svc_->RestoreFromSnapshot(restore).status()));
  restore.engine = "aurora-mysql";
  restore.snapshot_id = "nope";
  EXPECT_EQ(ClusterError::kSnapshotNotFound,
            ErrorKindOf(svc_->RestoreFromSnapshot(restore).status()));
  EXPECT_EQ("absent", StatusOf(*svc_, "c3"));
  restore.snapshot_id = "final";
  auto restored = svc_->RestoreFromSnapshot(restore);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  svc_->WaitIdle();
  EXPECT_EQ("available", StatusOf(*svc_, "c3"));
  EXPECT_EQ("kept", ReadWholeFile(dir_.path() + "/mnt/c3/data"));
  ASSERT_TRUE(svc_->CreateInstance(Writer("c3-1", "c3")).ok());
  svc_->WaitIdle();
  EXPECT_EQ("available", InstanceStatus(*svc_, "c3-1"));
  EXPECT_EQ(ClusterError::kClusterExists,
            ErrorKindOf(svc_->RestoreFromSnapshot(restore).status()));
  // The snapshot may go; the restored cluster keeps its data.
  ASSERT_TRUE(svc_->DeleteSnapshot("final").ok());
  EXPECT_EQ("kept", ReadWholeFile(dir_.path() + "/mnt/c3/data"));
}

TEST_F(ServiceTest, ASnapshotTheBudgetCannotHoldIsRefusedAndNothingIsPinned) {
  svc_.reset();
  DetachMounts(dir_.path());
  auto opened = OpenService(dir_.path(), &knobs_, /*history_budget_bytes=*/1);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  svc_ = std::move(opened).value();
  svc_->WaitIdle();
  EXPECT_EQ(ClusterError::kSnapshotQuota,
            ErrorKindOf(svc_->CreateSnapshot({.id = "s1", .cluster_id = "c1"}).status()));
  EXPECT_EQ(0u, SnapshotPins(*svc_));
  EXPECT_TRUE(svc_->DescribeSnapshots(std::nullopt, std::nullopt)->empty());
}

TEST_F(ServiceTest, OpenSettlesASnapshotCutShort) {
  // A pin made without its row (a crash between the two), and a row left "deleting".
  auto vol = svc_->store().FindVolume("c1");
  ASSERT_TRUE(vol.ok());
  ASSERT_TRUE(svc_->mutable_store()->Pin("snapshot:orphan", vol->id, store::PinAt::Head()).ok());
  ASSERT_TRUE(svc_->CreateSnapshot({.id = "half-deleted", .cluster_id = "c1"}).ok());
  ASSERT_TRUE(svc_->CreateSnapshot({.id = "whole", .cluster_id = "c1"}).ok());
  svc_.reset();
  DetachMounts(dir_.path());
  {
    auto meta = MetaDb::Open(dir_.path() + "/meta.db");
    ASSERT_TRUE(meta.ok());
    auto row = (*meta)->GetSnapshot("half-deleted");
    ASSERT_TRUE(row.ok() && row->has_value());
    (*row)->status = "deleting";
    ASSERT_TRUE((*meta)->PutSnapshot(**row).ok());
  }
  auto reopened = OpenService(dir_.path(), &knobs_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  svc_ = std::move(reopened).value();
  svc_->WaitIdle();
  auto snaps = svc_->DescribeSnapshots(std::nullopt, std::nullopt);
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(1u, snaps->size());
  EXPECT_EQ("whole", snaps->front().id);
  EXPECT_EQ(1u, SnapshotPins(*svc_));
}

}  // namespace
}  // namespace rwd::cluster

namespace rwd::cluster {
namespace {

// ---- Reader instances (readers.cc) ----

// c1 with its writer, data "first" then "second"; a reader c1-2 (a clone showing "second");
// a backtrack to between the two (the reader re-cloned: "first"); the reader deleted.
void RunReaderOperations(const std::string& dir, int64_t* between_out = nullptr) {
  StandInKnobs knobs;
  auto opened = OpenService(dir, &knobs);
  if (!opened.ok()) std::abort();
  ClusterService& svc = **opened;
  must(svc.CreateCluster(CreateC1()).status());
  svc.WaitIdle();
  must(svc.CreateInstance(Writer("c1-1", "c1")).status());
  svc.WaitIdle();
  ASSERT_TRUE(ReplaceFile(dir + "/mnt/c1/data", "first"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const int64_t between = WallNs();
  if (between_out) *between_out = between;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(ReplaceFile(dir + "/mnt/c1/data", "second"));
  must(svc.CreateInstance(Writer("c1-2", "c1")).status());
  svc.WaitIdle();
  BacktrackRequest bt;
  bt.cluster_id = "c1";
  bt.backtrack_to_ns = between;
  must(svc.Backtrack(bt).status());
  svc.WaitIdle();
  must(svc.DeleteInstance("c1-2").status());
  svc.WaitIdle();
}

TEST(ReaderTest, AReaderIsAFollowingCloneReprovisionedByABacktrackAndDeletedWhole) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  testing::TempDir dir("rewind-reader-test");
  StandInKnobs knobs;
  {
    auto opened = OpenService(dir.path(), &knobs);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    ASSERT_TRUE(svc.CreateCluster(CreateC1()).ok());
    svc.WaitIdle();
    // No writer yet: the first instance is the writer.
    ASSERT_TRUE(svc.CreateInstance(Writer("c1-1", "c1")).ok());
    svc.WaitIdle();
    ASSERT_TRUE(ReplaceFile(dir.path() + "/mnt/c1/data", "first"));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const int64_t between = WallNs();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(ReplaceFile(dir.path() + "/mnt/c1/data", "second"));
    auto r = svc.CreateInstance(Writer("c1-2", "c1"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->is_writer);
    svc.WaitIdle();
    EXPECT_EQ("available", InstanceStatus(svc, "c1-2"));
    const std::string rmnt = dir.path() + "/mnt/.reader-c1-2";
    EXPECT_EQ("second", ReadWholeFile(rmnt + "/data"));
    // It follows the writer at the cluster's port, from its own port.
    auto views = svc.DescribeInstances(std::string("c1-2"), std::nullopt);
    ASSERT_TRUE(views.ok());
    auto c = svc.DescribeClusters(std::string("c1"));
    ASSERT_TRUE(c.ok());
    EXPECT_NE(c->front().port, views->front().port);
    EXPECT_EQ("127.0.0.1:" + std::to_string(c->front().port), ReadWholeFile(rmnt + "/replica-of"));
    ASSERT_EQ(2u, c->front().members.size());
    EXPECT_TRUE(c->front().members[0].is_writer);
    EXPECT_EQ("c1-2", c->front().members[1].instance_id);
    EXPECT_FALSE(c->front().members[1].is_writer);
    EXPECT_EQ(2, knobs.running.load());
    // A second reader: the backtrack below re-provisions both side by side.
    ASSERT_TRUE(svc.CreateInstance(Writer("c1-3", "c1")).ok());
    svc.WaitIdle();
    EXPECT_EQ("available", InstanceStatus(svc, "c1-3"));
    EXPECT_EQ(3, knobs.running.load());
    // (Deleting the writer now fails over to the reader first: failover_test.cc.)
    // A backtrack re-clones every reader from the rewound head.
    BacktrackRequest bt;
    bt.cluster_id = "c1";
    bt.backtrack_to_ns = between;
    ASSERT_TRUE(svc.Backtrack(bt).ok());
    svc.WaitIdle();
    EXPECT_EQ("first", ReadWholeFile(dir.path() + "/mnt/c1/data"));
    for (const std::string id : {"c1-2", "c1-3"}) {
      const std::string mnt = dir.path() + "/mnt/.reader-" + id;
      EXPECT_EQ("first", ReadWholeFile(mnt + "/data")) << id;
      EXPECT_EQ("127.0.0.1:" + std::to_string(c->front().port),
                ReadWholeFile(mnt + "/replica-of")) << id;
      EXPECT_EQ("available", InstanceStatus(svc, id));
      int reprovisioned = 0;
      for (const EventView& e : svc.DescribeEvents(EventQuery{})) {
        if (e.kind == EventKind::kReaderReprovisioned && e.source_id == id) ++reprovisioned;
      }
      EXPECT_EQ(1, reprovisioned) << id;
    }
    EXPECT_EQ(3, knobs.running.load());
    ASSERT_TRUE(svc.DeleteInstance("c1-3").ok());
    svc.WaitIdle();
    // Deleting it leaves the writer serving, nothing of the reader behind.
    ASSERT_TRUE(svc.DeleteInstance("c1-2").ok());
    svc.WaitIdle();
    EXPECT_EQ("absent", InstanceStatus(svc, "c1-2"));
    EXPECT_EQ(1, knobs.running.load());
    EXPECT_FALSE(std::filesystem::exists(rmnt));
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/run/.reader-c1-2"));
  }
  DetachMounts(dir.path());
}

TEST(ReaderTest, AReaderServesAgainAfterARestartOfTheService) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  testing::TempDir dir("rewind-reader-restart-test");
  {
    StandInKnobs knobs;
    auto opened = OpenService(dir.path(), &knobs);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    ASSERT_TRUE(svc.CreateCluster(CreateC1()).ok());
    svc.WaitIdle();
    ASSERT_TRUE(svc.CreateInstance(Writer("c1-1", "c1")).ok());
    svc.WaitIdle();
    ASSERT_TRUE(svc.CreateInstance(Writer("c1-2", "c1")).ok());
    svc.WaitIdle();
    ASSERT_EQ("available", InstanceStatus(svc, "c1-2"));
  }
  {
    StandInKnobs knobs;
    auto opened = OpenService(dir.path(), &knobs);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    svc.WaitIdle();
    EXPECT_EQ("available", InstanceStatus(svc, "c1-1"));
    EXPECT_EQ("available", InstanceStatus(svc, "c1-2"));
    // Both engines run again; the reader's replication settings are in its datadir.
    EXPECT_EQ(2, knobs.running.load());
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/mnt/.reader-c1-2/replica-of"));
    auto replicas = svc.Replicas();
    ASSERT_EQ(1u, replicas.size());
    EXPECT_EQ("c1-2", replicas[0].instance_id);
    EXPECT_TRUE(replicas[0].running);
  }
  DetachMounts(dir.path());
}

struct ReaderCrashCase {
  const char* failpoint;
  const char* reader;       // c1-2's status after the restart
  const char* reader_data;  // what its mount shows when available
};

class ReaderCrashTest : public ::testing::TestWithParam<ReaderCrashCase> {};

TEST_P(ReaderCrashTest, TheReaderOperationIsWholeOrAbsentAfterARestart) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
  const ReaderCrashCase& c = GetParam();
  std::optional<testing::TempDir> own;
  const char* given = std::getenv("RWD_CLUSTER_CRASH_DIR");
  if (given == nullptr) {
    ASSERT_FALSE(FailpointArmed(c.failpoint));
    own.emplace("rewind-reader-crash-test");
  }
  const std::string dir = given != nullptr ? given : own->path();
  ::setenv("RWD_CLUSTER_CRASH_DIR", dir.c_str(), 1);
  ::setenv("REWIND_FAILPOINTS", c.failpoint, 1);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunReaderOperations(dir), ::testing::KilledBySignal(SIGKILL),
              std::string("failpoint ") + c.failpoint);
  ::unsetenv("REWIND_FAILPOINTS");
  ::unsetenv("RWD_CLUSTER_CRASH_DIR");
  {
    StandInKnobs knobs;
    auto opened = OpenService(dir, &knobs);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    svc.WaitIdle();
    EXPECT_EQ("available", StatusOf(svc, "c1"));
    EXPECT_EQ("available", InstanceStatus(svc, "c1-1"));
    EXPECT_EQ(c.reader, InstanceStatus(svc, "c1-2"));
    const std::string rmnt = dir + "/mnt/.reader-c1-2";
    if (std::string(c.reader) == "available") {
      EXPECT_EQ(c.reader_data, ReadWholeFile(rmnt + "/data"));
      EXPECT_EQ(2, knobs.running.load());
    } else {
      EXPECT_FALSE(std::filesystem::exists(rmnt));
      EXPECT_EQ(1, knobs.running.load());
    }
  }
  DetachMounts(dir);
}

INSTANTIATE_TEST_SUITE_P(
    EveryReaderFailpoint, ReaderCrashTest,
    ::testing::Values(
        // A creation cut short is redone from a fresh clone of the head ("second").
        ReaderCrashCase{"cluster.create_reader.reader_cloned", "available", "second"},
        ReaderCrashCase{"cluster.create_reader.reader_serving", "available", "second"},
        ReaderCrashCase{"cluster.create_reader.reader_following", "available", "second"},
        // The backtrack landed; the reader is (again) a clone of the rewound head.
        ReaderCrashCase{"cluster.backtrack_readers.reprovisioned", "available", "first"},
        // Cut short once rewound (the readers being re-cloned beside the writer's start):
        // recovery re-clones them from the rewound head.
        ReaderCrashCase{"cluster.backtrack.after_rewind", "available", "first"},
        ReaderCrashCase{"cluster.backtrack.serving", "available", "first"},
        ReaderCrashCase{"cluster.delete_reader.halted", "absent", ""},
        ReaderCrashCase{"cluster.delete_reader.volume_deleted", "absent", ""}),
    [](const ::testing::TestParamInfo<ReaderCrashCase>& info) {
      std::string name = info.param.failpoint;
      for (char& ch : name) {
        if (ch == '.') ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace rwd::cluster
