// ObjectStorePeers against the real radosgw of tests/objstore/ceph.sh, under real cluster
// services (stand-in engine, real FUSE mounts): node 1 ships its store and metadata (with its
// engines' root passwords) to the bucket; node 2 finds node 1's store in the prefix (never its
// own), builds a view at the moment asked, clones node 1's cluster through it (the clone reads
// the state at T), pins what the view reads and releases the pin with the clone; a view is
// built once and reused, and a build cut short is cleaned up at the next open.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cluster/cluster_service.h"
#include "cluster/cluster_test_util.h"
#include "cluster/service_test_util.h"
#include "objstore/bucket_gc.h"
#include "objstore/objstore_testing.h"
#include "objstore/shipper.h"
#include "peer/object_store_peers.h"

namespace rwd::peer {
namespace {

namespace fs = std::filesystem;
using objstore::testing::CephTest;

const std::string kNode2Id(32, '2');

class PeerCephTest : public CephTest {
 protected:
  std::unique_ptr<objstore::S3Client> Client() { return MakeClient(config_, GoodCredentials()); }
  Result<std::unique_ptr<ObjectStorePeers>> OpenPeers(const std::string& dir,
                                                      const std::string& own_id) {
    std::map<std::string, std::unique_ptr<objstore::S3Client>> clients;
    clients["node1"] = Client();
    return ObjectStorePeers::Open(dir, own_id, std::move(clients),
                                  [this](const std::string& l) { logged_ += l + "\n"; });
  }
  std::string logged_;
};

TEST_F(PeerCephTest, ASecondNodeClonesAShippedClusterThroughItsViewAndPinsIt) {
  ASSERT_EQ(0u, ::geteuid()) << "this test mounts FUSE: run it as root";
  rwd::testing::TempDir base("rewind-peer-ceph");
  const std::string node1 = base.path() + "/node1", node2 = base.path() + "/node2";
  // Both nodes' data dirs are below it: the engine user crosses it.
  fs::permissions(base.path(), fs::perms::others_exec | fs::perms::group_exec,
                  fs::perm_options::add);

  // Node 1: cluster lab, "first" at T, then "second", shipped with its metadata.
  cluster::StandInKnobs knobs1;
  auto opened1 =
      cluster::ClusterService::Open(cluster::StandInServiceOptions(node1, &knobs1, 41600));
  ASSERT_TRUE(opened1.ok()) << opened1.status().ToString();
  cluster::ClusterService& svc1 = **opened1;
  cluster::CreateClusterRequest c = cluster::CreateC1();
  c.id = "lab";
  ASSERT_TRUE(svc1.CreateCluster(c).ok());
  svc1.WaitIdle();
  ASSERT_TRUE(svc1.CreateInstance(cluster::Writer("lab-1", "lab")).ok());
  svc1.WaitIdle();
  ASSERT_TRUE(cluster::ReplaceFile(node1 + "/mnt/lab/data", "first"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const int64_t t = cluster::WallNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(cluster::ReplaceFile(node1 + "/mnt/lab/data", "second"));
  objstore::ShipperSource src;
  src.durable_log = [&] { return objstore::testing::ShipperLogOf(svc1.store()); };
  src.meta_changes = [&] { return svc1.MetadataChanges(); };
  src.snapshot_meta = [&](const std::string& path, int64_t* changes) -> Result<uint64_t> {
    ASSIGN_OR_RETURN(store::Lsn lsn, svc1.SnapshotMetadata(path, changes));
    return lsn.value;
  };
  src.data_dir = node1;
  src.aux_files = [] { return std::vector<std::string>{"run/lab/root.password"}; };
  objstore::ShipperOptions so;
  so.store_dir = node1 + "/store";
  so.work_dir = node1;
  so.meta_interval_ms = 0;
  so.collect_interval_ms = 0;
  auto sh = objstore::Shipper::Create(client_.get(), std::move(src), so);
  ASSERT_TRUE(sh.ok()) << sh.status().ToString();
  ASSERT_TRUE(svc1.mutable_store()->Sync().ok());
  ASSERT_TRUE((*sh)->RunOnce().ok()) << (*sh)->stats().last_error;
  const std::string id1 = (*sh)->store_id();

  // Node 2's catalog: node 1's store is the peer's (its own id never is).
  auto peers = OpenPeers(node2 + "/peers", kNode2Id);
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  EXPECT_EQ(std::vector<std::string>{"node1"}, (*peers)->Names());
  auto current = (*peers)->CurrentStoreId("node1");
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ(id1, *current);
  {
    auto self = OpenPeers(base.path() + "/self-peers", id1);
    ASSERT_TRUE(self.ok());
    EXPECT_EQ(Status::Code::kNotFound, (*self)->CurrentStoreId("node1").status().code());
  }
  EXPECT_EQ(Status::Code::kNotFound, (*peers)->Resolve("node9", t).status().code());
  auto view = (*peers)->Resolve("node1", t);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(id1, view->store_id);
  EXPECT_GE(view->time_ns, t);
  EXPECT_FALSE(view->meta_path.empty());
  EXPECT_EQ(view->store, (*peers)->ViewStore(id1, view->view_lsn));
  EXPECT_EQ(nullptr, (*peers)->ViewStore(id1, view->view_lsn + 1));
  auto pw = (*peers)->RootPassword(*view, "lab");
  ASSERT_TRUE(pw.ok()) << pw.status().ToString();
  EXPECT_EQ("stand-in-root", *pw);
  EXPECT_EQ(Status::Code::kNotFound, (*peers)->RootPassword(*view, "nosuch").status().code());
  // Held moments reuse the view; so does the latest while node 1 ships nothing new.
  ASSERT_TRUE((*peers)->Resolve("node1", t).ok());
  ASSERT_TRUE((*peers)->Resolve("node1", std::nullopt).ok());
  EXPECT_EQ(1u, (*peers)->views());

  // Node 2 clones lab at T through the catalog.
  cluster::StandInKnobs knobs2;
  cluster::ServiceOptions o2 = cluster::StandInServiceOptions(node2, &knobs2, 41700);
  o2.peers = peers->get();
  auto opened2 = cluster::ClusterService::Open(o2);
  ASSERT_TRUE(opened2.ok()) << opened2.status().ToString();
  cluster::CloneRequest req;
  req.id = "pc";
  req.source_id = "lab";
  req.source_peer = "node1";
  req.restore_type = "copy-on-write";
  req.restore_to_ns = t;
  auto made = (*opened2)->Clone(req);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  (*opened2)->WaitIdle();
  ASSERT_EQ("available", cluster::StatusOf(**opened2, "pc"));
  EXPECT_EQ("first", cluster::ReadWholeFile(node2 + "/mnt/pc/data"));
  const std::string pin = objstore::PinObjectName(id1, kNode2Id, made->resource_id);
  EXPECT_TRUE(client_->Head(pin).ok()) << pin;

  // Restarted with a build cut short beside the view: it goes; the clone serves again.
  (*opened2).reset();
  cluster::DetachMounts(node2);
  fs::create_directories(node2 + "/peers/" + id1 + "/building-x1");
  peers->reset();
  peers = OpenPeers(node2 + "/peers", kNode2Id);
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  EXPECT_FALSE(fs::exists(node2 + "/peers/" + id1 + "/building-x1"));
  EXPECT_NE(std::string::npos, logged_.find("building-x1")) << logged_;
  EXPECT_EQ(1u, (*peers)->views());
  o2.peers = peers->get();
  opened2 = cluster::ClusterService::Open(o2);
  ASSERT_TRUE(opened2.ok()) << opened2.status().ToString();
  (*opened2)->WaitIdle();
  EXPECT_EQ("available", cluster::StatusOf(**opened2, "pc"));
  EXPECT_EQ("first", cluster::ReadWholeFile(node2 + "/mnt/pc/data"));

  // Deleted: the volume, then the pin.
  cluster::DeleteClusterRequest del;
  del.id = "pc";
  del.skip_final_snapshot = true;
  ASSERT_TRUE((*opened2)->DeleteCluster(del).ok());
  (*opened2)->WaitIdle();
  EXPECT_EQ("absent", cluster::StatusOf(**opened2, "pc"));
  EXPECT_EQ(Status::Code::kNotFound, client_->Head(pin).status().code());
  (*opened2).reset();
  cluster::DetachMounts(node2);
  (*sh).reset();
  (*opened1).reset();
  cluster::DetachMounts(node1);
}

}  // namespace
}  // namespace rwd::peer
