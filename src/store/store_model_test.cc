// Thousands of random operations on random branches, checked at many LSNs against a plain
// in-memory model, before and after reopening the store (with and without a checkpoint).
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "store/store.h"
#include "store/store_model.h"

namespace rwd::store {
namespace {

using testing::Model;
using testing::RandomWorkload;
using testing::StoreMatches;

struct Snapshot {
  TimelineId tl;
  Lsn lsn;
  Model model;
};

// Parameter: StoreOptions::compress.
class StoreModel : public ::testing::TestWithParam<bool> {};

TEST_P(StoreModel, RandomOperationsOnBranchesMatchModelAtManyLsns) {
  const uint64_t seed = rwd::testing::TestSeed();
  rwd::testing::TempDir dir;
  StoreOptions opts;
  opts.dir = dir.path();
  opts.compress = GetParam();
  opts.compress_min_bytes = 0;  // the small writes of these tests compressed too
  opts.segment_bytes = 1 << 20;  // many segments
  auto store = std::move(Store::Open(opts)).value();
  auto vol = store->CreateVolume("model");
  ASSERT_TRUE(vol.ok());

  RandomWorkload work(seed);
  std::vector<Snapshot> snaps;
  TimelineId tl = vol->head;
  Model m;
  constexpr int kOps = 3000;
  for (int i = 0; i < kOps; ++i) {
    ASSERT_TRUE(work.Step(*store, tl, m)) << "op " << i << ", seed " << seed;
    if (i % 15 == 0) snaps.push_back({tl, store->LastLsn(), m});
    if (work.rng()() % 100 == 0 && !snaps.empty()) {
      // Branch from a random earlier moment of any timeline and go on writing there.
      const Snapshot& from = snaps[work.rng()() % snaps.size()];
      auto br = store->Branch(from.tl, from.lsn);
      ASSERT_TRUE(br.ok()) << br.status().ToString();
      tl = *br;
      m = from.model;
      snaps.push_back({tl, store->LastLsn(), m});
    }
  }
  snaps.push_back({tl, store->LastLsn(), m});
  const StoreStats before = store->stats();
  EXPECT_EQ(before.write_stored_bytes, before.write_bytes);  // appended raw either way
  if (GetParam()) {
    // Closed segments are compressed in the background (concurrently with the reads above
    // and below); whatever it has not done yet is done now. The workload's letters and runs
    // compress: the log must shrink.
    ASSERT_TRUE(store->CompactSegments().ok());
    const StoreStats st = store->stats();
    EXPECT_GT(st.segments_compacted, 0u) << "seed " << seed;
    EXPECT_GT(st.compaction_saved_bytes, 0u) << "seed " << seed;
    EXPECT_EQ(0u, st.compaction_errors);
  }

  auto check_all = [&](const char* when) {
    for (const Snapshot& s : snaps) {
      ASSERT_TRUE(StoreMatches(*store, s.tl, s.lsn, s.model))
          << when << ": timeline " << s.tl.value << " lsn " << s.lsn.value << " seed " << seed;
    }
  };
  check_all("live");
  store.reset();  // clean close: checkpoint
  store = std::move(Store::Open(opts)).value();
  ASSERT_TRUE(store->recovery().loaded_checkpoint);
  check_all("after checkpoint reopen");
  store.reset();
  ASSERT_EQ(0, std::remove((dir.path() + "/index.ckpt").c_str()));
  store = std::move(Store::Open(opts)).value();
  ASSERT_FALSE(store->recovery().loaded_checkpoint);
  check_all("after full replay");
}

// Random file operations on a volume mixed with pins (head, time or LSN), copies, unpins, cleaning
// passes with the retention floor at the head, deleting the volume and going on in a clone of
// a pin: every pin still held reads as the model said when it was taken, live, after cleaning,
// and after reopening (checkpoint, then full replay).
TEST_P(StoreModel, PinsKeepTheirStatesThroughCleaningDeletionAndReopen) {
  const uint64_t seed = rwd::testing::TestSeed();
  rwd::testing::TempDir dir;
  StoreOptions opts;
  opts.dir = dir.path();
  opts.compress = GetParam();
  opts.compress_min_bytes = 0;
  opts.segment_bytes = 256 << 10;  // the cleaner rewrites segments under the pins
  auto store = std::move(Store::Open(opts)).value();
  auto vol = store->CreateVolume("v0");
  ASSERT_TRUE(vol.ok());
  CleanOptions co;
  co.min_reclaim_bytes = 16 << 10;
  co.max_rewrite_bytes_per_s = 0;

  RandomWorkload work(seed);
  auto& rng = work.rng();
  std::map<uint64_t, Model> pins;  // pin id -> its state
  VolumeId v = vol->id;
  Model m;
  int volumes = 1, cleans = 0, unpins = 0;
  auto check_pins = [&](const char* when) {
    ASSERT_EQ(pins.size(), store->ListPins().size()) << when;
    for (const auto& [id, pm] : pins) {
      ASSERT_TRUE(testing::PinMatches(*store, PinId(id), pm)) << when << ", pin " << id
                                                               << ", seed " << seed;
    }
  };
  for (int i = 0; i < 2500; ++i) {
    const TimelineId head = store->GetVolume(v)->head;
    ASSERT_TRUE(work.Step(*store, head, m)) << "op " << i << ", seed " << seed;
    const uint64_t r = rng() % 1000;
    if (r < 20) {  // pin now, by time or by LSN
      const uint64_t kind = rng() % 3;
      const PinAt at = kind == 0   ? PinAt::Head()
                       : kind == 1 ? PinAt::Time(store->NowNs())
                                   : PinAt::AtLsn(store->LastLsn());
      auto p = store->Pin("p" + std::to_string(i), v, at);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      pins[p->id.value] = m;
    } else if (r < 28 && !pins.empty()) {
      auto it = pins.begin();
      std::advance(it, rng() % pins.size());
      ASSERT_TRUE(store->Unpin(PinId(it->first)).ok());
      pins.erase(it);
      ++unpins;
    } else if (r < 40) {  // no backtrack window: only the head and the pins are retained
      ASSERT_TRUE(store->SetRetention(v, store->NowNs()).ok());
      auto rep = store->Clean(co);
      ASSERT_TRUE(rep.ok()) << rep.status().ToString();
      EXPECT_LE(rep->pinned_stored_bytes, rep->floor_stored_bytes);
      ++cleans;
      check_pins("after a cleaning pass");
      ASSERT_TRUE(StoreMatches(*store, store->GetVolume(v)->head, kLatestLsn, m));
    } else if (r < 48 && !pins.empty()) {  // a copy of a pin reads as its source
      auto it = pins.begin();
      std::advance(it, rng() % pins.size());
      auto c = store->CopyPin("c" + std::to_string(i), PinId(it->first));
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      pins[c->id.value] = Model(it->second);
    } else if (r < 53 && !pins.empty()) {  // delete the volume, go on in a clone of a pin
      auto it = pins.begin();
      std::advance(it, rng() % pins.size());
      ASSERT_TRUE(store->DeleteVolume(v).ok());
      auto c = store->CloneFromPin("v" + std::to_string(volumes++), PinId(it->first));
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      v = c->id;
      m = it->second;
      ASSERT_TRUE(StoreMatches(*store, c->head, kLatestLsn, m)) << "clone of pin " << it->first;
    }
  }
  EXPECT_GT(cleans, 5);
  EXPECT_GT(unpins, 2);
  EXPECT_GT(volumes, 2);
  check_pins("live");
  store.reset();
  store = std::move(Store::Open(opts)).value();
  ASSERT_TRUE(store->recovery().loaded_checkpoint);
  check_pins("after checkpoint reopen");
  store.reset();
  ASSERT_EQ(0, std::remove((dir.path() + "/index.ckpt").c_str()));
  store = std::move(Store::Open(opts)).value();
  check_pins("after full replay");
  ASSERT_TRUE(StoreMatches(*store, store->GetVolume(v)->head, kLatestLsn, m));
}

INSTANTIATE_TEST_SUITE_P(Compression, StoreModel, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "zstd" : "raw"; });

}  // namespace
}  // namespace rwd::store
