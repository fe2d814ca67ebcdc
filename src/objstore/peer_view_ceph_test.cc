// PeerView against the real radosgw of tests/objstore/ceph.sh: a first node's store is shipped
// by its Shipper; a second node builds a view of it from the bucket alone (markers from the
// .crcs objects, HEAD's checkpoint and segment), clones a state of it with a foreign ancestor
// (Store::CloneForeign) and reads exactly that state by checked ranged GETs, while its own
// writes stay in its own store and nothing of the first node's objects changes.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "objstore/objstore_testing.h"
#include "objstore/peer_view.h"
#include "objstore/shipper.h"

namespace rwd::objstore {
namespace {

using testing::CephTest;
using testing::TempDir;

TEST_F(CephTest, APeerViewServesAForeignCloneOfAShippedState) {
  const auto node1 = TempDir("peer-node1"), node2 = TempDir("peer-node2");
  store::StoreOptions o;
  o.dir = node1.string();
  o.segment_bytes = 2 << 20;
  auto s1 = store::Store::Open(o);
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  std::unique_ptr<store::Store> store1 = std::move(*s1);
  ShipperSource src;
  src.durable_log = [&] { return testing::ShipperLogOf(*store1); };
  ShipperOptions so;
  so.store_dir = node1.string();
  so.work_dir = node1.string();
  so.collect_interval_ms = 0;  // every pass collects
  auto sh = Shipper::Create(client_.get(), std::move(src), so);
  ASSERT_TRUE(sh.ok()) << sh.status().ToString();
  std::unique_ptr<Shipper> shipper = std::move(*sh);

  auto vol = store1->CreateVolume("lab");
  ASSERT_TRUE(vol.ok());
  auto f = store1->Create(vol->head, store::kRootInode, "rows", store::NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  const std::string at_t = RandomBytes(7 << 20, 31);  // several segments and blocks
  for (size_t off = 0; off < at_t.size(); off += 64 << 10) {
    ASSERT_TRUE(store1->Write(vol->head, f->ino, off, at_t.substr(off, 64 << 10)).ok());
  }
  const int64_t t = store1->LastTimeNs();
  ASSERT_TRUE(store1->Write(vol->head, f->ino, 0, RandomBytes(3 << 20, 32)).ok());
  ASSERT_TRUE(store1->Checkpoint().ok());
  ASSERT_TRUE(store1->Sync().ok());
  ASSERT_TRUE(shipper->RunOnce().ok()) << shipper->stats().last_error;
  const std::string id1 = shipper->store_id();
  auto before = client_->ListAll(StoreRootName(id1));
  ASSERT_TRUE(before.ok());

  // Node 2: the view, from the bucket alone.
  const std::string peers = (node2 / "peers").string();
  auto view = PeerView::Build(client_.get(), peers, id1);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(id1, (*view)->store_id());
  EXPECT_GT((*view)->view_lsn(), 0u);
  EXPECT_FALSE((*view)->checkpoint_name().empty());
  EXPECT_GE((*view)->segment_files().size(), 3u);
  size_t markers = 0;
  for (const auto& e : std::filesystem::directory_iterator((*view)->dir() + "/store/log")) {
    markers += e.path().extension() == ".cold";
  }
  EXPECT_GE(markers, 3u);  // no segment bytes below HEAD's segment
  auto pvol = (*view)->store().FindVolume("lab");
  ASSERT_TRUE(pvol.ok()) << pvol.status().ToString();
  auto pit = (*view)->store().Resolve(pvol->id, t);
  ASSERT_TRUE(pit.ok()) << pit.status().ToString();

  store::StoreOptions o2;
  o2.dir = (node2 / "store").string();
  o2.preallocate_segments = false;
  const store::Store* peer_store = &(*view)->store();
  const uint64_t view_lsn = (*view)->view_lsn();
  o2.peers = [&](std::string_view id, uint64_t lsn) -> const store::Store* {
    return id == id1 && lsn == view_lsn ? peer_store : nullptr;
  };
  auto s2 = store::Store::Open(o2);
  ASSERT_TRUE(s2.ok()) << s2.status().ToString();
  std::unique_ptr<store::Store> store2 = std::move(*s2);
  store::ForeignAncestor from{id1, view_lsn, pit->timeline, pit->lsn, 0};
  auto clone = store2->CloneForeign("labclone", from);
  ASSERT_TRUE(clone.ok()) << clone.status().ToString();
  auto ino = store2->Lookup(clone->head, store::kLatestLsn, store::kRootInode, "rows");
  ASSERT_TRUE(ino.ok()) << ino.status().ToString();
  std::string got(at_t.size(), '\0');
  auto n = store2->Read(clone->head, store::kLatestLsn, *ino, 0, got.size(), got.data());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(at_t.size(), *n);
  EXPECT_TRUE(got == at_t) << "the clone reads the peer's state at T";

  // Node 2's writes stay in node 2; node 1's objects are as they were.
  ASSERT_TRUE(store2->Write(clone->head, *ino, 4096, "node 2 only").ok());
  got.assign(16, '\0');
  ASSERT_TRUE(store2->Read(clone->head, store::kLatestLsn, *ino, 4096, 11, got.data()).ok());
  EXPECT_EQ("node 2 only", got.substr(0, 11));
  ASSERT_TRUE(store1->Read(vol->head, store::kLatestLsn, f->ino, 4096, 11, got.data()).ok());
  EXPECT_NE("node 2 only", got.substr(0, 11));
  auto after = client_->ListAll(StoreRootName(id1));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(before->size(), after->size());
  for (size_t i = 0; i < before->size(); ++i) {
    EXPECT_EQ((*before)[i].key, (*after)[i].key);
    EXPECT_EQ((*before)[i].etag, (*after)[i].etag);
  }

  // Node 2 pins what its view reads; node 1's cleaner then drops the state at T from its own
  // history (rewriting segments) and its collector runs: the pinned objects stay.
  const std::string id2(32, '2');
  ASSERT_TRUE((*view)->WritePin(id2, "labclone", store1->NowNs()).ok());
  ASSERT_TRUE(store1->SetRetention(vol->id, store1->NowNs()).ok());
  store::CleanOptions co;
  co.min_reclaim_bytes = 0;
  co.max_rewrite_bytes_per_s = 0;
  auto cleaned = store1->Clean(co);
  ASSERT_TRUE(cleaned.ok()) << cleaned.status().ToString();
  ASSERT_GT(cleaned->segments_rewritten, 0u);
  ASSERT_TRUE(store1->Sync().ok());
  ASSERT_TRUE(shipper->RunOnce().ok()) << shipper->stats().last_error;
  EXPECT_EQ(1u, shipper->stats().pins);
  EXPECT_EQ(0u, shipper->stats().objects_collected) << "the pin keeps every file it names";
  for (const auto& [seg, fid] : (*view)->segment_files()) {
    EXPECT_TRUE(client_->Head(SegmentObjectName(id1, seg, fid)).ok()) << seg << "-" << fid;
    EXPECT_TRUE(client_->Head(SegmentCrcsObjectName(id1, seg, fid)).ok()) << seg << "-" << fid;
  }
  EXPECT_TRUE(client_->Head((*view)->checkpoint_name()).ok());

  // A restart: the view opens again from its directory (its objects pinned, read afresh by a
  // new tier), and node 2's store reopens through it.
  const std::string dir = (*view)->dir();
  store2.reset();
  view->reset();
  auto again = PeerView::Open(client_.get(), dir);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(view_lsn, (*again)->view_lsn());
  peer_store = &(*again)->store();
  s2 = store::Store::Open(o2);
  ASSERT_TRUE(s2.ok()) << s2.status().ToString();
  store2 = std::move(*s2);
  got.assign(at_t.size(), '\0');
  ASSERT_TRUE(
      store2->Read(clone->head, store::kLatestLsn, *ino, 0, got.size(), got.data()).ok());
  EXPECT_EQ("node 2 only", got.substr(4096, 11));
  EXPECT_TRUE(got.substr(0, 4096) == at_t.substr(0, 4096));
  EXPECT_TRUE(got.substr(4107) == at_t.substr(4107));

  // A Build now sees node 1's newer HEAD (after its cleaning): a new view beside the old one,
  // which the clone keeps reading (its foreign ancestor names the view's LSN).
  auto newer = PeerView::Build(client_.get(), peers, id1);
  ASSERT_TRUE(newer.ok()) << newer.status().ToString();
  EXPECT_GT((*newer)->view_lsn(), view_lsn);
  EXPECT_NE(dir, (*newer)->dir());
  newer->reset();
  EXPECT_EQ(Status::Code::kNotFound,
            PeerView::Build(client_.get(), peers, std::string(32, 'e')).status().code());

  // The clone is deleted: its pin goes, and node 1's collector deletes what only it kept.
  ASSERT_TRUE((*again)->DeletePin(id2, "labclone").ok());
  ASSERT_TRUE((*again)->DeletePin(id2, "labclone").ok());  // gone already: fine
  ASSERT_TRUE(store1->Checkpoint().ok());
  ASSERT_TRUE(shipper->RunOnce().ok()) << shipper->stats().last_error;
  EXPECT_EQ(0u, shipper->stats().pins);
  EXPECT_GE(shipper->stats().objects_collected, 2 * cleaned->segments_rewritten);
  store2.reset();
  again->reset();
  store1.reset();
  shipper.reset();
  std::filesystem::remove_all(node1);
  std::filesystem::remove_all(node2);
}

}  // namespace
}  // namespace rwd::objstore
