// FailoverCluster and the deletion of a writer with readers, with the stand-in engine (no
// mariadbd), the real store and real FUSE mounts: roles, ports and mounts after a failover,
// Aurora's refusals, a backtrack after a failover, the writer's deletion, and a crash at every
// failpoint of both operations (a death test, as in cluster_stop_start_test.cc). Needs root and
// /dev/fuse (fails loudly otherwise).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cluster/service_test_util.h"

namespace rwd::cluster {
namespace {

bool Said(ClusterService& svc, EventKind kind, const std::string& source,
          const std::string& detail = "") {
  for (const EventView& e : svc.DescribeEvents(EventQuery{})) {
    if (e.kind == kind && e.source_id == source && (detail.empty() || e.detail == detail)) {
      return true;
    }
  }
  return false;
}

int Count(ClusterService& svc, EventKind kind, const std::string& source) {
  int n = 0;
  for (const EventView& e : svc.DescribeEvents(EventQuery{})) {
    if (e.kind == kind && e.source_id == source) ++n;
  }
  return n;
}

// The cluster's writer as DBClusterMembers shows it ("" if none).
std::string WriterOf(ClusterService& svc, const std::string& cluster) {
  auto c = svc.DescribeClusters(cluster);
  if (!c.ok()) return "";
  for (const ClusterMember& m : c->front().members) {
    if (m.is_writer) return m.instance_id;
  }
  return "";
}

int PortOf(ClusterService& svc, const std::string& instance) {
  auto i = svc.DescribeInstances(instance, std::nullopt);
  return i.ok() ? i->front().port : -1;
}

// c1 with writer c1-1 (data "first") and reader c1-2.
void MakeClusterWithReader(ClusterService& svc, const std::string& dir) {
  must(svc.CreateCluster(CreateC1()).status());
  svc.WaitIdle();
  must(svc.CreateInstance(Writer("c1-1", "c1")).status());
  svc.WaitIdle();
  if (!ReplaceFile(dir + "/mnt/c1/data", "first")) std::abort();
  must(svc.CreateInstance(Writer("c1-2", "c1")).status());
  svc.WaitIdle();
}

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
    ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
    auto opened = OpenService(dir_.path(), &knobs_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    svc_ = std::move(opened).value();
    MakeClusterWithReader(*svc_, dir_.path());
    ASSERT_EQ("available", InstanceStatus(*svc_, "c1-2"));
  }
  void TearDown() override {
    svc_.reset();
    DetachMounts(dir_.path());
  }
  std::string path(const std::string& rel) const { return dir_.path() + "/" + rel; }
  int ClusterPort() { return svc_->DescribeClusters(std::string("c1"))->front().port; }

  testing::TempDir dir_{"rewind-failover-test"};
  StandInKnobs knobs_;
  std::unique_ptr<ClusterService> svc_;
};

TEST_F(FailoverTest, TheNamedReaderBecomesTheWriterAndTheOldWriterFollowsIt) {
  const int cluster_port = ClusterPort();
  const int reader_port = PortOf(*svc_, "c1-2");
  auto v = svc_->FailoverCluster("c1", std::string("c1-2"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(ClusterStatus::kFailingOver, v->status);
  svc_->WaitIdle();
  EXPECT_EQ("available", StatusOf(*svc_, "c1"));
  EXPECT_EQ("c1-2", WriterOf(*svc_, "c1"));
  EXPECT_EQ("available", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ("available", InstanceStatus(*svc_, "c1-2"));
  // The cluster's port (its endpoint) is the new writer's; the old writer took the reader's.
  EXPECT_EQ(cluster_port, PortOf(*svc_, "c1-2"));
  EXPECT_EQ(reader_port, PortOf(*svc_, "c1-1"));
  auto views = svc_->DescribeInstances(std::nullopt, std::string("c1"));
  ASSERT_TRUE(views.ok());
  for (const InstanceView& i : *views) EXPECT_EQ(i.id == "c1-2", i.is_writer) << i.id;
  // The cluster's volume serves on; the old writer is a fresh clone of it, following it.
  EXPECT_EQ("first", ReadWholeFile(path("mnt/c1/data")));
  EXPECT_EQ("first", ReadWholeFile(path("mnt/.reader-c1-1/data")));
  EXPECT_EQ("127.0.0.1:" + std::to_string(cluster_port),
            ReadWholeFile(path("mnt/.reader-c1-1/replica-of")));
  EXPECT_FALSE(std::filesystem::exists(path("mnt/.reader-c1-2")));
  EXPECT_FALSE(std::filesystem::exists(path("run/.reader-c1-2")));
  EXPECT_EQ(2, knobs_.running.load());
  EXPECT_TRUE(Said(*svc_, EventKind::kFailoverStarted, "c1", "c1-2"));
  EXPECT_TRUE(Said(*svc_, EventKind::kFailoverCompleted, "c1", "c1-2"));
  EXPECT_TRUE(Said(*svc_, EventKind::kPromotedToWriter, "c1-2"));
  // And back, to the best reader (the only one).
  ASSERT_TRUE(svc_->FailoverCluster("c1", std::nullopt).ok());
  svc_->WaitIdle();
  EXPECT_EQ("c1-1", WriterOf(*svc_, "c1"));
  EXPECT_EQ("available", InstanceStatus(*svc_, "c1-2"));
  EXPECT_EQ("first", ReadWholeFile(path("mnt/.reader-c1-2/data")));
  EXPECT_EQ(2, knobs_.running.load());
  ExpectJournalSettled(dir_.path());
}

TEST_F(FailoverTest, RefusalsAreAurorasAndChangeNothing) {
  EXPECT_EQ(ClusterError::kClusterNotFound,
            ErrorKindOf(svc_->FailoverCluster("nope", std::nullopt).status()));
  EXPECT_EQ(ClusterError::kInstanceNotFound,
            ErrorKindOf(svc_->FailoverCluster("c1", std::string("nope")).status()));
  EXPECT_EQ(ClusterError::kInvalidInstanceState,
            ErrorKindOf(svc_->FailoverCluster("c1", std::string("c1-1")).status()));
  CreateClusterRequest c2 = CreateC1();
  c2.id = "c2";
  ASSERT_TRUE(svc_->CreateCluster(c2).ok());
  svc_->WaitIdle();
  ASSERT_TRUE(svc_->CreateInstance(Writer("c2-1", "c2")).ok());
  svc_->WaitIdle();
  // A member of another cluster.
  EXPECT_EQ(ClusterError::kInvalidInstanceState,
            ErrorKindOf(svc_->FailoverCluster("c1", std::string("c2-1")).status()));
  // No reader: the message says so.
  auto none = svc_->FailoverCluster("c2", std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(ClusterError::kInvalidClusterState, ErrorKindOf(none.status()));
  ASSERT_TRUE(RefusalOf(none.status()));
  EXPECT_EQ(Reason::kNoReaderToFailOver, RefusalOf(none.status())->reason);
  EXPECT_EQ("c2", RefusalOf(none.status())->id);
  // No available reader: neither a failover nor the writer's deletion (which needs one).
  knobs_.fail_start = true;
  ASSERT_TRUE(svc_->RebootInstance("c1-2").ok());
  svc_->WaitIdle();
  knobs_.fail_start = false;
  ASSERT_EQ("failed", InstanceStatus(*svc_, "c1-2"));
  auto unavailable = svc_->FailoverCluster("c1", std::nullopt);
  EXPECT_EQ(ClusterError::kInvalidClusterState, ErrorKindOf(unavailable.status()));
  ASSERT_TRUE(RefusalOf(unavailable.status()));
  EXPECT_EQ(Reason::kNoAvailableReader, RefusalOf(unavailable.status())->reason);
  auto kept = svc_->DeleteInstance("c1-1");
  EXPECT_EQ(ClusterError::kInvalidClusterState, ErrorKindOf(kept.status()));
  ASSERT_TRUE(RefusalOf(kept.status()));
  EXPECT_EQ(Reason::kWriterDeleteNoReaderAvailable, RefusalOf(kept.status())->reason);
  EXPECT_EQ("c1-1", RefusalOf(kept.status())->id);
  EXPECT_EQ("c1", RefusalOf(kept.status())->other);
  EXPECT_EQ("available", InstanceStatus(*svc_, "c1-1"));
  ASSERT_TRUE(svc_->RebootInstance("c1-2").ok());
  svc_->WaitIdle();
  ASSERT_EQ("available", InstanceStatus(*svc_, "c1-2"));
  // A stopped cluster.
  ASSERT_TRUE(svc_->StopCluster("c1").ok());
  svc_->WaitIdle();
  auto stopped = svc_->FailoverCluster("c1", std::string("c1-2"));
  EXPECT_EQ(ClusterError::kInvalidClusterState, ErrorKindOf(stopped.status()));
  ASSERT_TRUE(RefusalOf(stopped.status()));
  EXPECT_EQ(Reason::kClusterNotFailoverable, RefusalOf(stopped.status())->reason);
  EXPECT_EQ(ClusterStatus::kStopped, RefusalOf(stopped.status())->cluster_status);
  ASSERT_TRUE(svc_->StartCluster("c1").ok());
  svc_->WaitIdle();
  EXPECT_EQ("c1-1", WriterOf(*svc_, "c1"));
  ExpectJournalSettled(dir_.path());
}

TEST_F(FailoverTest, ABacktrackAfterAFailoverRewindsTheClusterAndItsReaders) {
  auto before = svc_->DescribeClusters(std::string("c1"));
  ASSERT_TRUE(before.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const int64_t between = WallNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(ReplaceFile(path("mnt/c1/data"), "second"));
  ASSERT_TRUE(svc_->FailoverCluster("c1", std::string("c1-2")).ok());
  svc_->WaitIdle();
  ASSERT_EQ("c1-2", WriterOf(*svc_, "c1"));
  // The window is the cluster volume's: a failover does not move it.
  auto after = svc_->DescribeClusters(std::string("c1"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(before->front().earliest_backtrack_ns, after->front().earliest_backtrack_ns);
  EXPECT_EQ("second", ReadWholeFile(path("mnt/.reader-c1-1/data")));
  BacktrackRequest bt;
  bt.cluster_id = "c1";
  bt.backtrack_to_ns = between;
  auto b = svc_->Backtrack(bt);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  svc_->WaitIdle();
  EXPECT_EQ("first", ReadWholeFile(path("mnt/c1/data")));
  EXPECT_EQ("first", ReadWholeFile(path("mnt/.reader-c1-1/data")));
  EXPECT_EQ("available", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ("c1-2", WriterOf(*svc_, "c1"));
  ExpectJournalSettled(dir_.path());
}

TEST_F(FailoverTest, DeletingTheWriterFailsOverAndLeavesAServingCluster) {
  const int cluster_port = ClusterPort();
  auto d = svc_->DeleteInstance("c1-1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(InstanceStatus::kDeleting, d->status);
  EXPECT_EQ("failing-over", StatusOf(*svc_, "c1"));
  svc_->WaitIdle();
  EXPECT_EQ("absent", InstanceStatus(*svc_, "c1-1"));
  EXPECT_EQ("available", StatusOf(*svc_, "c1"));
  EXPECT_EQ("c1-2", WriterOf(*svc_, "c1"));
  EXPECT_EQ(cluster_port, PortOf(*svc_, "c1-2"));
  EXPECT_EQ("first", ReadWholeFile(path("mnt/c1/data")));
  EXPECT_EQ(1, knobs_.running.load());
  EXPECT_FALSE(std::filesystem::exists(path("mnt/.reader-c1-1")));
  EXPECT_FALSE(std::filesystem::exists(path("mnt/.reader-c1-2")));
  EXPECT_TRUE(Said(*svc_, EventKind::kInstanceDeleted, "c1-1"));
  ExpectJournalSettled(dir_.path());
}

// ---- A crash at every failpoint of failover and delete_writer ----

// c1 with writer c1-1 and reader c1-2, then a failover to c1-2 (or c1-1's deletion).
void RunFailover(const std::string& dir, bool delete_writer) {
  StandInKnobs knobs;
  auto opened = OpenService(dir, &knobs);
  if (!opened.ok()) std::abort();
  ClusterService& svc = **opened;
  MakeClusterWithReader(svc, dir);
  if (delete_writer) must(svc.DeleteInstance("c1-1").status());
  else must(svc.FailoverCluster("c1", std::string("c1-2")).status());
  svc.WaitIdle();
}

struct FailoverCrash {
  const char* failpoint;
  bool swapped;  // the failover is rolled forward (c1-2 the writer) rather than back
};

class FailoverCrashTest : public ::testing::TestWithParam<FailoverCrash> {};

TEST_P(FailoverCrashTest, TheFailoverIsWholeOrAbsentAfterARestart) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
  const FailoverCrash& c = GetParam();
  const bool del = std::string(c.failpoint).find("delete_writer") != std::string::npos;
  const char* env = "RWD_FAILOVER_CRASH_DIR";
  std::optional<testing::TempDir> own;
  const std::string dir = CrashDir(env, c.failpoint, &own, "rewind-failover-crash");
  KillAtFailpoint(dir, env, c.failpoint, [del](const std::string& d) { RunFailover(d, del); });
  {
    StandInKnobs knobs;
    auto opened = OpenService(dir, &knobs);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    svc.WaitIdle();
    EXPECT_EQ("available", StatusOf(svc, "c1"));
    EXPECT_EQ(c.swapped ? "c1-2" : "c1-1", WriterOf(svc, "c1"));
    EXPECT_EQ("first", ReadWholeFile(dir + "/mnt/c1/data"));
    const std::string reader = c.swapped ? "c1-1" : "c1-2";
    if (del && c.swapped) {
      EXPECT_EQ("absent", InstanceStatus(svc, "c1-1"));
      EXPECT_EQ(1, knobs.running.load());
    } else {
      EXPECT_EQ("available", InstanceStatus(svc, "c1-1"));
      EXPECT_EQ("available", InstanceStatus(svc, "c1-2"));
      EXPECT_EQ("first", ReadWholeFile(dir + "/mnt/.reader-" + reader + "/data"));
      EXPECT_TRUE(std::filesystem::exists(dir + "/mnt/.reader-" + reader + "/replica-of"));
      EXPECT_EQ(2, knobs.running.load());
    }
    if (c.swapped) {
      EXPECT_FALSE(std::filesystem::exists(dir + "/mnt/.reader-c1-2"));
      EXPECT_FALSE(std::filesystem::exists(dir + "/run/.reader-c1-2"));
    }
    // Rolled forward, the failover is announced once, whether or not the crash came after
    // the announcement (cluster.failover.completed); rolled back, never.
    EXPECT_EQ(c.swapped ? 1 : 0, Count(svc, EventKind::kFailoverCompleted, "c1"));
    // It can fail over again (or, rolled back, be deleted again).
    if (!del || !c.swapped) {
      EXPECT_TRUE(svc.FailoverCluster("c1", std::nullopt).ok());
      svc.WaitIdle();
      EXPECT_EQ(c.swapped ? "c1-1" : "c1-2", WriterOf(svc, "c1"));
    }
  }
  ExpectJournalSettled(dir);
  DetachMounts(dir);
}

INSTANTIATE_TEST_SUITE_P(
    EveryFailpoint, FailoverCrashTest,
    ::testing::Values(FailoverCrash{"cluster.failover.requested", false},
                      FailoverCrash{"cluster.failover.writer_stopped", false},
                      FailoverCrash{"cluster.failover.reader_halted", false},
                      FailoverCrash{"cluster.failover.roles_swapped", true},
                      FailoverCrash{"cluster.failover.writer_serving", true},
                      FailoverCrash{"cluster.failover.old_writer_following", true},
                      FailoverCrash{"cluster.failover.completed", true},
                      FailoverCrash{"cluster.delete_writer.requested", false},
                      FailoverCrash{"cluster.delete_writer.writer_stopped", false},
                      FailoverCrash{"cluster.delete_writer.reader_halted", false},
                      FailoverCrash{"cluster.delete_writer.roles_swapped", true},
                      FailoverCrash{"cluster.delete_writer.writer_serving", true},
                      FailoverCrash{"cluster.delete_writer.old_writer_deleted", true}),
    [](const ::testing::TestParamInfo<FailoverCrash>& info) {
      return FailpointTestName(info.param.failpoint);
    });

}  // namespace
}  // namespace rwd::cluster
