// ObsoleteObjects (the cleaner across tiers, bucket side) against the store model: a store under
// a random workload with rewinds is "uploaded" into an in-memory bucket as the shipper does
// (closed segment files under their names, checkpoints), cleaned past a retention floor and
// uploaded again; the objects ObsoleteObjects names are deleted; a store rebuilt from what is
// left (as --restore does) reads every retained state exactly as the model says, and every
// object still named by HEAD's checkpoint stayed.
#include <gtest/gtest.h>

#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/test_util.h"
#include "objstore/bucket_gc.h"
#include "store/fault_env.h"
#include "store/store.h"
#include "store/store_model.h"

namespace rwd::objstore {
namespace {

using store::testing::Model;
using store::testing::RandomWorkload;
using store::testing::StoreMatches;

constexpr int64_t kMs = 1'000'000;
const std::string kId(32, 'a');

std::string Slurp(const std::string& path, uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  if (size) s.resize(size);
  return s;
}

class BucketGcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetClock(now_);
    Open(dir_.path());
  }
  void Open(const std::string& dir) {
    store_.reset();
    store::StoreOptions o;
    o.dir = dir;
    o.env = &env_;
    o.segment_bytes = 256 << 10;
    o.preallocate_segments = false;
    auto s = store::Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // What one shipper pass leaves in the bucket: closed files, the checkpoint, the active
  // segment's durable bytes (tail chunks, as one object here), HEAD's checkpoint name.
  void Upload() {
    ASSERT_TRUE(store_->Sync().ok());
    const store::DurableLog d = store_->DurableLogState();
    for (const store::LogFileInfo& f : d.closed) {
      bucket_[SegmentObjectName(kId, f.segment, f.file_id)] = Slurp(f.path, f.size);
      bucket_[SegmentCrcsObjectName(kId, f.segment, f.file_id)] = "block checksums";
    }
    tail_ = {d.active_segment, Slurp(d.active_path, d.offset)};
    const std::string ckpt = Slurp(dir_.path() + "/index.ckpt", 0);
    auto summary = ParseCheckpoint(ckpt);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    head_ckpt_ = CheckpointObjectName(kId, summary->last_lsn);
    bucket_[head_ckpt_] = ckpt;
    head_summary_ = *summary;
  }
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const auto& [k, v] : bucket_) keys.push_back(k);
    return keys;
  }
  void Work(RandomWorkload& work, store::VolumeId vol, int ops) {
    for (int i = 0; i < ops; ++i) {
      env_.SetClock(now_ += kMs);
      ASSERT_TRUE(work.Step(*store_, store_->GetVolume(vol)->head, model_));
      if (i % 7 == 0) states_.emplace_back(store_->LastTimeNs(), model_);
    }
  }

  rwd::testing::TempDir dir_;
  rwd::testing::TempDir restored_{"rewind-restored"};
  store::FaultInjectionEnv env_;
  int64_t now_ = 1'700'000'000'000'000'000;
  std::unique_ptr<store::Store> store_;
  Model model_;
  std::vector<std::pair<int64_t, Model>> states_;
  std::map<std::string, std::string> bucket_;
  std::pair<uint32_t, std::string> tail_;
  std::string head_ckpt_;
  CheckpointSummary head_summary_;
};

TEST_F(BucketGcTest, WhatIsDeletedNoRetainedStateReadsAndWhatIsLeftRestoresThem) {
  RandomWorkload work(rwd::testing::TestSeed());
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  for (int round = 0; round < 3; ++round) {
    Work(work, vol->id, 500);
    const auto& [t, m] = states_[states_.size() / 2 + work.rng()() % (states_.size() / 2)];
    env_.SetClock(now_ += kMs);
    ASSERT_TRUE(store_->Rewind(vol->id, t).ok());  // a backtrack: history branches
    model_ = m;
    states_.emplace_back(store_->LastTimeNs(), model_);
  }
  Work(work, vol->id, 300);
  ASSERT_TRUE(store_->Checkpoint().ok());
  Upload();
  // Before any cleaning nothing is obsolete but older checkpoints (none yet).
  EXPECT_TRUE(ObsoleteObjects(kId, Keys(), head_summary_, head_ckpt_, "").empty());
  const std::string first_ckpt = head_ckpt_;

  const int64_t floor = states_[states_.size() * 6 / 10].first;
  ASSERT_TRUE(store_->SetRetention(vol->id, floor).ok());
  store::CleanOptions co;
  co.min_reclaim_bytes = 16 << 10;
  co.max_rewrite_bytes_per_s = 0;
  auto r = store_->Clean(co);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->segments_rewritten, 0u);
  Upload();

  const std::vector<std::string> obsolete =
      ObsoleteObjects(kId, Keys(), head_summary_, head_ckpt_, "");
  // The replaced files with their .crcs, the old checkpoint.
  EXPECT_EQ(2 * r->segments_rewritten + 1, obsolete.size());
  EXPECT_NE(obsolete.end(), std::find(obsolete.begin(), obsolete.end(), first_ckpt));
  for (const std::string& k : obsolete) bucket_.erase(k);
  for (const auto& [seg, id] : head_summary_.segment_files) {
    if (seg < head_summary_.segment) {
      EXPECT_EQ(1u, bucket_.count(SegmentObjectName(kId, seg, id))) << seg << "-" << id;
    }
  }
  // Foreign or malformed names are never touched.
  std::vector<std::string> odd = Keys();
  odd.push_back(StoreRootName(kId) + "log/junk");
  odd.push_back(StoreRootName(std::string(32, 'b')) + "log/00000001-0000000001.seg");
  EXPECT_TRUE(ObsoleteObjects(kId, odd, head_summary_, head_ckpt_, "").empty());

  // Restore from what is left: every log object, HEAD's checkpoint, the tail.
  const std::string rdir = restored_.path() + "/store";
  std::filesystem::create_directories(rdir + "/log");
  const std::string log_prefix = StoreRootName(kId) + "log/";
  for (const auto& [k, v] : bucket_) {
    if (k.compare(0, log_prefix.size(), log_prefix) != 0 || !k.ends_with(".seg")) continue;
    unsigned seg = 0, id = 0;
    ASSERT_EQ(2, std::sscanf(k.c_str() + log_prefix.size(), "%8u-%10u", &seg, &id));
    char name[40];
    if (seg == id) {
      std::snprintf(name, sizeof name, "/log/%08u.seg", seg);
    } else {
      std::snprintf(name, sizeof name, "/log/%08u-%010u.seg", seg, id);
    }
    std::ofstream(rdir + name, std::ios::binary) << v;
  }
  char tail_name[40];
  std::snprintf(tail_name, sizeof tail_name, "/log/%08u.seg", tail_.first);
  std::ofstream(rdir + tail_name, std::ios::binary) << tail_.second;
  std::ofstream(rdir + "/index.ckpt", std::ios::binary) << bucket_[head_ckpt_];
  store_.reset();
  Open(rdir);
  EXPECT_TRUE(store_->recovery().loaded_checkpoint);
  int checked = 0;
  for (const auto& [t, m] : states_) {
    if (t < floor) continue;
    auto pit = store_->Resolve(vol->id, t);
    ASSERT_TRUE(pit.ok()) << pit.status().ToString();
    ASSERT_TRUE(StoreMatches(*store_, pit->timeline, pit->lsn, m)) << "state at " << t;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(BucketGc, MetaCopiesAndCheckpointsOlderThanHeadsGo) {
  const std::string root = StoreRootName(kId);
  CheckpointSummary ckpt;
  ckpt.segment = 5;
  ckpt.segment_files = {{1, 1}, {2, 0x80000001u}, {5, 5}};
  const std::vector<std::string> keys = {
      root + "HEAD",
      root + "store.json",
      root + "ckpt/00000000000000000100.ckpt",
      root + "ckpt/00000000000000000200.ckpt",
      root + "ckpt/00000000000000000300.ckpt",
      root + "log/00000001-0000000001.seg",
      // A rewrite newer than the file named (compaction's, before a checkpoint names it): stays.
      root + "log/00000001-2147483650.seg",
      root + "log/00000001-2147483650.crcs",
      root + "log/00000002-0000000002.seg",
      root + "log/00000002-0000000002.crcs",
      root + "log/00000002-2147483649.seg",
      root + "log/00000002-2147483649.crcs",
      root + "log/00000002-2147483649.crcx",
      root + "log/00000005-0000000005.seg",
      root + "log/00000006-0000000006.seg",
      root + "meta/00000000000000000090-00000000000000000001.db",
      root + "meta/00000000000000000090-00000000000000000001.files/run/x/root.password",
      root + "meta/00000000000000000190-00000000000000000002.db",
      root + "meta/00000000000000000290-00000000000000000003.db",
      root + "tail/00000006/000000000000-000000001000",
  };
  auto got = ObsoleteObjects(kId, keys, ckpt, root + "ckpt/00000000000000000200.ckpt",
                             root + "meta/00000000000000000190-00000000000000000002.db");
  const std::vector<std::string> want = {
      root + "ckpt/00000000000000000100.ckpt",
      root + "log/00000002-0000000002.seg",
      root + "log/00000002-0000000002.crcs",
      root + "meta/00000000000000000090-00000000000000000001.db",
      root + "meta/00000000000000000090-00000000000000000001.files/run/x/root.password",
  };
  EXPECT_EQ(want, got);
}

TEST(BucketGc, PinsKeepWhatTheyNameWhateverHeadSays) {
  const std::string root = StoreRootName(kId);
  const std::string other(32, 'b');
  CheckpointSummary ckpt;
  ckpt.segment = 5;
  ckpt.segment_files = {{1, 1}, {2, 0x80000001u}, {5, 5}};
  const std::vector<std::string> keys = {
      root + "ckpt/00000000000000000100.ckpt",
      root + "ckpt/00000000000000000200.ckpt",
      root + "log/00000002-0000000002.seg",
      root + "log/00000002-0000000002.crcs",
      root + "log/00000002-2147483649.seg",
      root + "meta/00000000000000000090-00000000000000000001.db",
      root + "meta/00000000000000000090-00000000000000000001.files/run/x/root.password",
      root + "meta/00000000000000000095-00000000000000000001.db",
      root + "pins/" + other + "-labclone.json",
  };
  BucketPins pins;
  const std::string body =
      PinBody(kId, other, "labclone", 1234, 100, root + "ckpt/00000000000000000100.ckpt",
              root + "meta/00000000000000000090-00000000000000000001.db",
              {{1, 1}, {2, 2}, {5, 5}});
  EXPECT_EQ(root + "pins/" + other + "-labclone.json", PinObjectName(kId, other, "labclone"));
  ASSERT_TRUE(AddPin(kId, body, &pins).ok());
  EXPECT_EQ(1u, pins.count);
  EXPECT_EQ(1234, pins.oldest_created_ns);
  auto got = ObsoleteObjects(kId, keys, ckpt, root + "ckpt/00000000000000000200.ckpt",
                             root + "meta/00000000000000000190-00000000000000000002.db", pins);
  // Only the unpinned meta copy goes; without the pin, the old file, checkpoint and meta too.
  EXPECT_EQ(std::vector<std::string>{root + "meta/00000000000000000095-00000000000000000001.db"},
            got);
  EXPECT_EQ(6u, ObsoleteObjects(kId, keys, ckpt, root + "ckpt/00000000000000000200.ckpt",
                                root + "meta/00000000000000000190-00000000000000000002.db")
                    .size());

  // Pins that cannot be read are refused (the collector then deletes nothing).
  BucketPins none;
  EXPECT_EQ(Status::Code::kCorruption, AddPin(kId, "junk", &none).code());
  EXPECT_EQ(Status::Code::kCorruption, AddPin(other, body, &none).code());  // another store's
  std::string bad = body;
  bad.replace(bad.find("\"files\":[[1,1]"), 16, "\"files\":[[1,\"x\"]");
  EXPECT_EQ(Status::Code::kCorruption, AddPin(kId, bad, &none).code()) << bad;
  EXPECT_EQ(0u, none.count);
}

}  // namespace
}  // namespace rwd::objstore
