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
  const StoreStats st = store->stats();
  if (GetParam()) {
    // The workload's letters and runs compress: much of the data must have been.
    EXPECT_LT(st.write_stored_bytes, st.write_bytes / 8 * 7) << "seed " << seed;
  } else {
    EXPECT_EQ(st.write_stored_bytes, st.write_bytes);
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

INSTANTIATE_TEST_SUITE_P(Compression, StoreModel, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "zstd" : "raw"; });

}  // namespace
}  // namespace rwd::store
