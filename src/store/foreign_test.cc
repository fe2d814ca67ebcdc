// Foreign ancestors (Store::CloneForeign; docs/format/log.md, "Foreign ancestors"): a volume of
// one store whose first timeline reads through a state of another store (a peer's view). Checked
// against the store model: the clone reads exactly the peer's state at the clone point, its own
// writes (random workload, rewinds, cleaning) stay in it and never show in the peer, and all of
// it survives a reopen from the checkpoint (version 6) or from the log alone, and a crash at
// every I/O of the clone's record.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/store.h"
#include "store/store_model.h"

namespace rwd::store {
namespace {

using testing::Model;
using testing::RandomWorkload;
using testing::StoreMatches;

const std::string kPeerId = "0123456789abcdef0123456789abcdef";
constexpr uint64_t kView = 7;
constexpr int64_t kMs = 1'000'000;

class ForeignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetClock(now_);
    StoreOptions o;
    o.dir = peer_dir_.path();
    o.env = &env_;
    o.segment_bytes = 256 << 10;
    auto p = Store::Open(o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    peer_ = std::move(*p);
    auto v = peer_->CreateVolume("lab");
    ASSERT_TRUE(v.ok());
    peer_vol_ = v->id;
    for (int i = 0; i < 400; ++i) {
      env_.SetClock(now_ += kMs);
      ASSERT_TRUE(work_.Step(*peer_, v->head, peer_model_));
      if (i == 250) {
        at_ = peer_->LastTimeNs();
        at_model_ = peer_model_;
      }
    }
  }
  // The node's store; `attach`: its peers resolver knows the peer's view.
  Status OpenNode(bool attach = true, Env* env = nullptr) {
    node_.reset();
    StoreOptions o;
    o.dir = node_dir_.path();
    o.env = env != nullptr ? env : &env_;
    o.segment_bytes = 256 << 10;
    o.preallocate_segments = false;
    if (attach) {
      o.peers = [this](std::string_view id, uint64_t view) -> const Store* {
        return id == kPeerId && view == kView ? peer_.get() : nullptr;
      };
    }
    auto n = Store::Open(o);
    if (!n.ok()) return n.status();
    node_ = std::move(*n);
    return Status::Ok();
  }
  ForeignAncestor At(int64_t time_ns) {
    auto pit = peer_->Resolve(peer_vol_, time_ns);
    EXPECT_TRUE(pit.ok()) << pit.status().ToString();
    ForeignAncestor f;
    f.store_id = kPeerId;
    f.view_lsn = kView;
    f.timeline = pit->timeline;
    f.lsn = pit->lsn;
    return f;
  }

  rwd::testing::TempDir peer_dir_{"rewind-peer"}, node_dir_{"rewind-node"};
  FaultInjectionEnv env_;
  int64_t now_ = 1'700'000'000'000'000'000;
  RandomWorkload work_{rwd::testing::TestSeed()};
  std::unique_ptr<Store> peer_, node_;
  VolumeId peer_vol_;
  Model peer_model_, at_model_;
  int64_t at_ = 0;
};

TEST_F(ForeignTest, TheCloneReadsThePeersStateAndItsWritesStayLocal) {
  ASSERT_TRUE(OpenNode().ok());
  const uint64_t peer_next_inode = peer_->NextInode();
  auto c = node_->CloneForeign("labclone", At(at_));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(StoreMatches(*node_, c->head, kLatestLsn, at_model_));
  auto info = node_->GetTimeline(c->head);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->foreign.valid());
  EXPECT_FALSE(info->ancestor.valid());
  EXPECT_EQ(peer_next_inode, info->foreign.inode_floor);

  // The clone's own life: writes, a rewind, cleaning past a retention floor.
  Model m = at_model_;
  std::vector<std::pair<int64_t, Model>> states;
  VolumeInfo vol = *c;
  for (int i = 0; i < 400; ++i) {
    env_.SetClock(now_ += kMs);
    ASSERT_TRUE(work_.Step(*node_, node_->GetVolume(vol.id)->head, m));
    if (i % 20 == 0) states.emplace_back(node_->LastTimeNs(), m);
  }
  for (const auto& [ino, bytes] : m.files) {
    if (!at_model_.files.count(ino)) {
      EXPECT_GE(ino, peer_next_inode) << "a new inode's id";
    }
  }
  const auto& [back_to, back_model] = states[states.size() / 2];
  env_.SetClock(now_ += kMs);
  ASSERT_TRUE(node_->Rewind(vol.id, back_to).ok());
  m = back_model;
  for (int i = 0; i < 100; ++i) {
    env_.SetClock(now_ += kMs);
    ASSERT_TRUE(work_.Step(*node_, node_->GetVolume(vol.id)->head, m));
  }
  ASSERT_TRUE(StoreMatches(*node_, node_->GetVolume(vol.id)->head, kLatestLsn, m));
  auto pit = node_->Resolve(vol.id, back_to);
  ASSERT_TRUE(pit.ok());
  ASSERT_TRUE(StoreMatches(*node_, pit->timeline, pit->lsn, back_model));
  ASSERT_TRUE(node_->SetRetention(vol.id, node_->NowNs()).ok());
  CleanOptions co;
  co.min_reclaim_bytes = 0;
  co.max_rewrite_bytes_per_s = 0;
  ASSERT_TRUE(node_->Clean(co).ok());
  ASSERT_TRUE(StoreMatches(*node_, node_->GetVolume(vol.id)->head, kLatestLsn, m));

  // Nothing of it is in the peer, which goes on as it was.
  ASSERT_TRUE(StoreMatches(*peer_, peer_->GetVolume(peer_vol_)->head, kLatestLsn, peer_model_));
  EXPECT_EQ(1u, peer_->ListVolumes().size());

  // Reopened from its checkpoint (version 6: the foreign ancestor in it), then from the log.
  ASSERT_TRUE(OpenNode().ok());
  EXPECT_TRUE(node_->recovery().loaded_checkpoint);
  ASSERT_TRUE(StoreMatches(*node_, node_->GetVolume(vol.id)->head, kLatestLsn, m));
  node_.reset();
  std::filesystem::remove(node_dir_.path() + "/index.ckpt");
  ASSERT_TRUE(OpenNode().ok());
  EXPECT_FALSE(node_->recovery().loaded_checkpoint);
  ASSERT_TRUE(StoreMatches(*node_, node_->GetVolume(vol.id)->head, kLatestLsn, m));

  // Without its peer attached the store refuses to open rather than read holes.
  node_.reset();
  Status detached = OpenNode(/*attach=*/false);
  EXPECT_EQ(Status::Code::kFailedPrecondition, detached.code()) << detached.ToString();
  EXPECT_NE(std::string::npos, detached.message().find(kPeerId)) << detached.ToString();
}

TEST_F(ForeignTest, BadClonesAreRefusedTyped) {
  ASSERT_TRUE(OpenNode().ok());
  ForeignAncestor f = At(at_);
  ASSERT_TRUE(node_->CloneForeign("a", f).ok());
  EXPECT_EQ(Status::Code::kAlreadyExists, node_->CloneForeign("a", f).status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument, node_->CloneForeign("", f).status().code());
  ForeignAncestor other = f;
  other.store_id = std::string(32, 'f');
  EXPECT_EQ(Status::Code::kFailedPrecondition, node_->CloneForeign("b", other).status().code());
  other = f;
  other.view_lsn = kView + 1;
  EXPECT_EQ(Status::Code::kFailedPrecondition, node_->CloneForeign("b", other).status().code());
  other = f;
  other.timeline = TimelineId(999);
  EXPECT_EQ(Status::Code::kNotFound, node_->CloneForeign("b", other).status().code());
  other = f;
  other.lsn = Lsn(peer_->LastLsn().value + 1);
  EXPECT_EQ(Status::Code::kInvalidArgument, node_->CloneForeign("b", other).status().code());
  other = f;
  other.store_id.clear();
  EXPECT_EQ(Status::Code::kInvalidArgument, node_->CloneForeign("b", other).status().code());
  EXPECT_EQ(1u, node_->ListVolumes().size());  // "a" only
}

// A power loss at every I/O of CloneForeign: after reopening, the clone is there whole (with
// the peer's state) or not at all, and there whenever CloneForeign returned.
TEST_F(ForeignTest, ACrashAtEveryStepLeavesTheCloneWholeOrAbsent) {
  std::mt19937_64 rng(rwd::testing::TestSeed());
  FaultInjectionEnv node_env;
  node_env.SetClock(now_);
  bool completed = false;
  for (int n = 0; !completed && n < 64; ++n) {
    node_.reset();
    std::filesystem::remove_all(node_dir_.path());
    std::filesystem::create_directories(node_dir_.path());
    ASSERT_TRUE(OpenNode(true, &node_env).ok());
    ASSERT_TRUE(node_->CreateVolume("own").ok());
    node_env.CrashAfter(n);
    Result<VolumeInfo> c = node_->CloneForeign("labclone", At(at_));
    completed = c.ok() && !node_env.crashed();
    node_env.SetActive(false);
    node_.reset();
    ASSERT_TRUE(node_env.SimulateCrash(&rng, /*torn=*/true).ok());
    node_env.SetActive(true);
    ASSERT_TRUE(OpenNode(true, &node_env).ok()) << "crash after " << n << " I/Os";
    auto found = node_->FindVolume("labclone");
    if (c.ok()) {
      ASSERT_TRUE(found.ok()) << "a returned clone lost after " << n << " I/Os";
    }
    if (found.ok()) {
      ASSERT_TRUE(StoreMatches(*node_, found->head, kLatestLsn, at_model_)) << n;
    }
    ASSERT_TRUE(node_->FindVolume("own").ok());
  }
  EXPECT_TRUE(completed) << "CloneForeign never completed within 64 I/Os";
}

}  // namespace
}  // namespace rwd::store
