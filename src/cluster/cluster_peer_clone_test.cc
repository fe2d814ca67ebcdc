// Peer clones (cluster_peer_clone.cc) with the stand-in engine, real FUSE mounts and a real
// store as the peer: "node 1" is a ClusterService of its own (cluster lab, data "first" at T,
// then "second"); node 2 reaches it through LocalPeers, a PeerCatalog over node 1's store and a
// copy of its meta.db (the object-store side, objstore::PeerView, is tested against Ceph in
// src/peer). The clone reads "first", its writes stay on node 2, its pin lives exactly as long
// as it does, every refusal is typed, and a crash at every peer_clone failpoint (and at the
// deletion's) leaves the clone whole or absent, its pin with it. Needs root and /dev/fuse.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "cluster/cluster_service.h"
#include "cluster/cluster_test_util.h"
#include "cluster/peer_catalog.h"
#include "cluster/service_test_util.h"
#include "cluster/stand_in_engine.h"
#include "common/failpoint.h"
#include "common/test_util.h"

namespace rwd::cluster {
namespace {

namespace fs = std::filesystem;
const std::string kPeerStoreId = "0123456789abcdef0123456789abcdef";

// A PeerCatalog with one peer, "node1": node 1's store opened as the view (its id
// kPeerStoreId, its view LSN the store's last), a copy of its meta.db, its run dirs' root
// passwords; pins are files in <view_dir>/pins/ (so a test sees them across a crash).
class LocalPeers : public PeerCatalog {
 public:
  static std::unique_ptr<LocalPeers> Open(const std::string& peer_dir, const std::string& view_dir) {
    std::unique_ptr<LocalPeers> p(new LocalPeers());
    p->peer_dir_ = peer_dir;
    p->view_dir_ = view_dir;
    fs::create_directories(view_dir + "/pins");
    if (!fs::exists(view_dir + "/meta.db")) fs::copy_file(peer_dir + "/meta.db", view_dir + "/meta.db");
    store::StoreOptions o;
    o.dir = peer_dir + "/store";
    o.preallocate_segments = false;
    auto s = store::Store::Open(o);
    if (!s.ok()) return nullptr;
    p->store_ = std::move(*s);
    return p;
  }
  std::vector<std::string> Names() const override { return {"node1"}; }
  PeerViewRef Ref() const {
    return PeerViewRef{"node1", kPeerStoreId, store_->LastLsn().value, store_.get(),
                       view_dir_ + "/meta.db", store_->LastTimeNs()};
  }
  Result<PeerViewRef> Resolve(const std::string& name, std::optional<int64_t>) override {
    if (name != "node1") return Status::NotFound("no peer " + name);
    ++resolves;
    return Ref();
  }
  Result<PeerViewRef> Find(const std::string& name, const std::string& store_id,
                           uint64_t view_lsn) override {
    if (name != "node1" || store_id != kPeerStoreId || view_lsn != store_->LastLsn().value) {
      return Status::NotFound("no such view");
    }
    return Ref();
  }
  const store::Store* ViewStore(std::string_view store_id, uint64_t view_lsn) const override {
    return store_id == kPeerStoreId && view_lsn == store_->LastLsn().value ? store_.get()
                                                                           : nullptr;
  }
  Result<std::string> RootPassword(const PeerViewRef&, const std::string& cluster_id) override {
    std::string pw = ReadWholeFile(peer_dir_ + "/run/" + cluster_id + "/root.password");
    if (pw.empty()) return Status::NotFound("no root password of " + cluster_id);
    return pw;
  }
  Status Pin(const PeerViewRef& view, const std::string& clone, int64_t) override {
    if (fail_pin) return Status::Unavailable("the peer's bucket is down");
    return ReplaceFile(view_dir_ + "/pins/" + clone, view.store_id)
               ? Status::Ok()
               : Status::IOError("pin " + clone);
  }
  Status Unpin(const std::string& name, const std::string&, const std::string& clone) override {
    if (name != "node1") return Status::NotFound("no peer " + name);
    std::error_code ec;
    fs::remove(view_dir_ + "/pins/" + clone, ec);
    return Status::Ok();
  }
  // The pins now (clone names).
  std::set<std::string> Pins() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(view_dir_ + "/pins")) {
      out.insert(e.path().filename().string());
    }
    return out;
  }
  bool fail_pin = false;
  int resolves = 0;

 private:
  LocalPeers() = default;
  std::string peer_dir_, view_dir_;
  std::unique_ptr<store::Store> store_;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "scenario step failed: %s\n", what.c_str());
  std::abort();
}

// Node 1, in <dir>/node1: cluster lab (writer lab-1, window 1 h), its data "first" at the
// moment written to <dir>/t, then "second"; the service closed. Aborts on a failure.
void MakePeer(const std::string& dir) {
  // Both nodes' data dirs are below it: the engine user crosses it.
  fs::permissions(dir, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
  StandInKnobs knobs;
  {
    auto opened = ClusterService::Open(StandInServiceOptions(dir + "/node1", &knobs, 41400));
    if (!opened.ok()) Die("opening node 1: " + opened.status().ToString());
    ClusterService& svc = **opened;
    CreateClusterRequest c = CreateC1();
    c.id = "lab";
    must(svc.CreateCluster(c).status());
    svc.WaitIdle();
    must(svc.CreateInstance(Writer("lab-1", "lab")).status());
    svc.WaitIdle();
    if (!ReplaceFile(dir + "/node1/mnt/lab/data", "first")) Die("writing first");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const int64_t t = WallNs();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!ReplaceFile(dir + "/node1/mnt/lab/data", "second")) Die("writing second");
    if (!ReplaceFile(dir + "/t", std::to_string(t))) Die("writing t");
  }
  DetachMounts(dir + "/node1");
}

int64_t MomentT(const std::string& dir) { return std::stoll(ReadWholeFile(dir + "/t")); }

Result<std::unique_ptr<ClusterService>> OpenNode2(const std::string& dir, StandInKnobs* knobs,
                                                  PeerCatalog* peers) {
  ServiceOptions o = StandInServiceOptions(dir + "/node2", knobs, 41500);
  o.peers = peers;
  return ClusterService::Open(o);
}

CloneRequest PeerClone(const std::string& id, int64_t at) {
  CloneRequest r;
  r.id = id;
  r.source_id = "lab";
  r.source_peer = "node1";
  r.restore_type = "copy-on-write";
  r.restore_to_ns = at;
  return r;
}

std::optional<Reason> ReasonOf(const Status& s) {
  auto d = RefusalOf(s);
  return d ? std::optional<Reason>(d->reason) : std::nullopt;
}

class PeerCloneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
    ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
    MakePeer(dir_.path());
    peers_ = LocalPeers::Open(dir_.path() + "/node1", dir_.path() + "/view");
    ASSERT_NE(nullptr, peers_);
    Reopen();
  }
  void Reopen() {
    svc_.reset();
    auto opened = OpenNode2(dir_.path(), &knobs_, peers_.get());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    svc_ = std::move(opened).value();
  }
  void TearDown() override {
    svc_.reset();
    DetachMounts(dir_.path() + "/node2");
  }
  std::string Mnt(const std::string& id) { return dir_.path() + "/node2/mnt/" + id; }
  testing::TempDir dir_{"rewind-peer-clone-test"};
  StandInKnobs knobs_;
  std::unique_ptr<LocalPeers> peers_;
  std::unique_ptr<ClusterService> svc_;
};

TEST_F(PeerCloneTest, TheCloneReadsThePeerAtTItsWritesStayHereAndItsPinGoesWithIt) {
  const int64_t t = MomentT(dir_.path());
  auto made = svc_->Clone(PeerClone("pc", t));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(ClusterStatus::kCreating, made->status);
  EXPECT_EQ("node1", made->source_peer);
  svc_->WaitIdle();
  ASSERT_EQ("available", StatusOf(*svc_, "pc"));
  EXPECT_EQ("first", ReadWholeFile(Mnt("pc") + "/data"));
  auto row = svc_->DescribeClusters(std::string("pc"));
  ASSERT_TRUE(row.ok());
  EXPECT_EQ("lab", row->front().source_cluster);
  EXPECT_EQ("node1", row->front().source_peer);
  EXPECT_EQ("admin", row->front().master_username);
  EXPECT_EQ(3600, row->front().backtrack_window_s);  // the source's
  EXPECT_EQ(std::set<std::string>{row->front().resource_id}, peers_->Pins());
  // As a local clone: CreateDBInstance gives it a writer, whose engine has the source's root
  // password (the datadir's accounts are the source's).
  ASSERT_TRUE(svc_->CreateInstance(Writer("pc-1", "pc")).ok());
  svc_->WaitIdle();
  EXPECT_EQ("available", InstanceStatus(*svc_, "pc-1"));
  EXPECT_EQ("stand-in-root", ReadWholeFile(dir_.path() + "/node2/run/pc/root.password"));
  ASSERT_TRUE(ReplaceFile(Mnt("pc") + "/data", "mine"));
  ASSERT_TRUE(ReplaceFile(Mnt("pc") + "/new", "only here"));
  // Node 1's history is untouched: its lab still ends at "second" (read through the view).
  auto lab = peers_->Ref().store->FindVolume("lab");
  ASSERT_TRUE(lab.ok());
  auto ino = peers_->Ref().store->Lookup(lab->head, store::kLatestLsn, store::kRootInode, "data");
  ASSERT_TRUE(ino.ok());
  char buf[16] = {};
  auto n = peers_->Ref().store->Read(lab->head, store::kLatestLsn, *ino, 0, sizeof buf, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ("second", std::string(buf, *n));
  // Back after a restart (the store opens only with the view attached).
  svc_->WaitIdle();
  Reopen();
  svc_->WaitIdle();
  EXPECT_EQ("available", StatusOf(*svc_, "pc"));
  EXPECT_EQ("mine", ReadWholeFile(Mnt("pc") + "/data"));
  EXPECT_EQ("only here", ReadWholeFile(Mnt("pc") + "/new"));
  // Deleted: the volume, then the pin.
  ASSERT_TRUE(svc_->DeleteInstance("pc-1").ok());
  svc_->WaitIdle();
  DeleteClusterRequest del;
  del.id = "pc";
  del.skip_final_snapshot = true;
  ASSERT_TRUE(svc_->DeleteCluster(del).ok());
  svc_->WaitIdle();
  EXPECT_EQ("absent", StatusOf(*svc_, "pc"));
  EXPECT_TRUE(peers_->Pins().empty());
  // Node 2 lists its own clusters only.
  auto all = svc_->DescribeClusters(std::nullopt);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(PeerCloneTest, RefusalsAreTypedAndLeaveNothing) {
  const int64_t t = MomentT(dir_.path());
  auto expect = [&](CloneRequest r, ClusterError kind, Reason reason) {
    auto c = svc_->Clone(r);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(kind, ErrorKindOf(c.status())) << c.status().ToString();
    EXPECT_EQ(reason, ReasonOf(c.status())) << c.status().ToString();
  };
  CloneRequest r = PeerClone("pc", t);
  r.source_peer = "node9";
  expect(r, ClusterError::kClusterNotFound, Reason::kPeerNotFound);
  {
    auto c = svc_->Clone(r);
    ASSERT_TRUE(RefusalOf(c.status()));
    EXPECT_EQ("node1", RefusalOf(c.status())->other);  // the configured peers
  }
  r = PeerClone("pc", t);
  r.source_id = "nosuch";
  expect(r, ClusterError::kClusterNotFound, Reason::kPeerClusterNotFound);
  expect(PeerClone("pc", peers_->Ref().time_ns + 1), ClusterError::kInvalidRestore,
         Reason::kRestoreTimeAfterPeerHead);
  expect(PeerClone("pc", t - 3600LL * 1'000'000'000), ClusterError::kInvalidRestore,
         Reason::kRestoreTimeBeforeEarliest);
  expect(PeerClone("pc", WallNs() + 3600LL * 1'000'000'000), ClusterError::kInvalidRestore,
         Reason::kRestoreTimeInFuture);
  r = PeerClone("pc", t);
  r.restore_type = "full-copy";
  expect(r, ClusterError::kInvalidParameter, Reason::kRestoreTypeFullCopy);
  EXPECT_EQ("absent", StatusOf(*svc_, "pc"));
  EXPECT_TRUE(peers_->Pins().empty());

  // Without peers, every peer is unknown.
  svc_.reset();
  {
    StandInKnobs knobs;
    auto lone = OpenNode2(dir_.path() + "/lone", &knobs, nullptr);
    ASSERT_TRUE(lone.ok()) << lone.status().ToString();
    auto c = (*lone)->Clone(PeerClone("pc", t));
    EXPECT_EQ(Reason::kPeerNotFound, ReasonOf(c.status()));
    EXPECT_EQ("", RefusalOf(c.status())->other);
  }
  Reopen();

  // A peer clone is neither cloned nor snapshotted here (its pin goes with it).
  ASSERT_TRUE(svc_->Clone(PeerClone("pc", t)).ok());
  svc_->WaitIdle();
  CloneRequest again;
  again.id = "pc2";
  again.source_id = "pc";
  again.use_latest_restorable_time = true;
  expect(again, ClusterError::kInvalidClusterState, Reason::kPeerCloneSource);
  auto snap = svc_->CreateSnapshot(CreateSnapshotRequest{"s1", "pc", {}});
  EXPECT_EQ(Reason::kPeerCloneSource, ReasonOf(snap.status()));
  // Latest: the view's newest state ("second").
  CloneRequest latest = PeerClone("pc3", 0);
  latest.restore_to_ns.reset();
  latest.use_latest_restorable_time = true;
  ASSERT_TRUE(svc_->Clone(latest).ok());
  svc_->WaitIdle();
  EXPECT_EQ("second", ReadWholeFile(Mnt("pc3") + "/data"));
  // A clone whose pin cannot be written fails (an event says why); deleting it leaves nothing.
  peers_->fail_pin = true;
  ASSERT_TRUE(svc_->Clone(PeerClone("pc4", t)).ok());
  svc_->WaitIdle();
  EXPECT_EQ("failed", StatusOf(*svc_, "pc4"));
  peers_->fail_pin = false;
  DeleteClusterRequest del;
  del.id = "pc4";
  del.skip_final_snapshot = true;
  ASSERT_TRUE(svc_->DeleteCluster(del).ok());
  svc_->WaitIdle();
  EXPECT_EQ("absent", StatusOf(*svc_, "pc4"));
  EXPECT_EQ(2u, peers_->Pins().size());  // pc's and pc3's
}

// ---- A crash at every step ----

// The child's scenario: node 2 clones lab at T as pc, then deletes it.
void RunPeerClone(const std::string& dir) {
  auto peers = LocalPeers::Open(dir + "/node1", dir + "/view");
  if (!peers) Die("opening the peers");
  StandInKnobs knobs;
  auto opened = OpenNode2(dir, &knobs, peers.get());
  if (!opened.ok()) Die("opening node 2: " + opened.status().ToString());
  ClusterService& svc = **opened;
  must(svc.Clone(PeerClone("pc", MomentT(dir))).status());
  svc.WaitIdle();
  DeleteClusterRequest del;
  del.id = "pc";
  del.skip_final_snapshot = true;
  must(svc.DeleteCluster(del).status());
  svc.WaitIdle();
}

struct PeerCrashCase {
  const char* failpoint;
  const char* pc;  // pc's status after the restart: "available" (whole) or "absent"
};
class PeerCrashTest : public ::testing::TestWithParam<PeerCrashCase> {};

TEST_P(PeerCrashTest, TheCloneAndItsPinAreWholeOrAbsentAfterARestart) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  ASSERT_EQ(0, ::access("/dev/fuse", R_OK | W_OK)) << "no /dev/fuse";
  const PeerCrashCase& c = GetParam();
  std::optional<testing::TempDir> own;
  const char* env = "RWD_PEER_CRASH_DIR";
  const bool child = std::getenv(env) != nullptr;
  const std::string dir = CrashDir(env, c.failpoint, &own, "rewind-peer-crash-test");
  if (!child) MakePeer(dir);
  KillAtFailpoint(dir, env, c.failpoint, RunPeerClone);
  DetachMounts(dir + "/node2");
  auto peers = LocalPeers::Open(dir + "/node1", dir + "/view");
  ASSERT_NE(nullptr, peers);
  {
    StandInKnobs knobs;
    auto opened = OpenNode2(dir, &knobs, peers.get());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    svc.WaitIdle();
    EXPECT_EQ(c.pc, StatusOf(svc, "pc"));
    if (std::string(c.pc) == "available") {
      EXPECT_EQ("first", ReadWholeFile(dir + "/node2/mnt/pc/data"));
      auto row = svc.DescribeClusters(std::string("pc"));
      ASSERT_TRUE(row.ok());
      EXPECT_EQ(std::set<std::string>{row->front().resource_id}, peers->Pins());
    } else {
      EXPECT_TRUE(peers->Pins().empty());
      EXPECT_FALSE(fs::exists(dir + "/node2/mnt/pc"));
    }
  }
  ExpectJournalSettled(dir + "/node2");
  DetachMounts(dir + "/node2");
}

INSTANTIATE_TEST_SUITE_P(
    EveryPeerCloneFailpoint, PeerCrashTest,
    ::testing::Values(
        // Killed in the request, the view ready, nothing stored: absent.
        PeerCrashCase{"cluster.peer_clone.view_ready", "absent"},
        // Journaled: redone from the start, whole.
        PeerCrashCase{"cluster.peer_clone.requested", "available"},
        PeerCrashCase{"cluster.peer_clone.pinned", "available"},
        PeerCrashCase{"cluster.peer_clone.volume_made", "available"},
        PeerCrashCase{"cluster.peer_clone.prepared", "available"},
        // The deletion, its volume gone: finished, the pin released.
        PeerCrashCase{"cluster.delete.volume_deleted", "absent"}),
    [](const ::testing::TestParamInfo<PeerCrashCase>& info) {
      return FailpointTestName(info.param.failpoint);
    });

}  // namespace
}  // namespace rwd::cluster
