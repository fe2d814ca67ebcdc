// Store::Activity: exact counts of known writes at known times (the test controls the clock),
// following a volume's history across rewinds, through restarts, cleaning and coarsening.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/crc32c.h"

#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/store.h"

namespace rwd::store {
namespace {

using rwd::testing::TempDir;

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kT0 = 1'800'000'000 * kS;  // a whole minute (and hour) since the epoch

class ActivityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetClock(kT0);
    Reopen();
    auto v = store_->CreateVolume("vol");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vol_ = v->id;
  }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.dir = dir_.path();
    o.env = &env_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  TimelineId Head() { return store_->GetVolume(vol_)->head; }
  InodeId NewFileAt(int64_t t, const std::string& name) {
    env_.SetClock(t);
    auto a = store_->Create(Head(), kRootInode, name, NodeType::kFile, 0644);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->ino : InodeId();
  }
  void WriteAt(int64_t t, InodeId ino, size_t bytes) {
    env_.SetClock(t);
    auto l = store_->Write(Head(), ino, 0, std::string(bytes, 'x'));
    ASSERT_TRUE(l.ok()) << l.status().ToString();
  }
  std::vector<ActivityPoint> Activity(int64_t from, int64_t to, int64_t step) {
    auto r = store_->Activity(vol_, from, to, step);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<ActivityPoint>{};
  }
  // The non-zero points, as (seconds after kT0, bytes, records).
  std::vector<std::tuple<int64_t, uint64_t, uint64_t>> NonZero(
      const std::vector<ActivityPoint>& points) {
    std::vector<std::tuple<int64_t, uint64_t, uint64_t>> out;
    for (const auto& p : points) {
      if (p.bytes || p.records) out.emplace_back((p.time_ns - kT0) / kS, p.bytes, p.records);
    }
    return out;
  }

  TempDir dir_;
  FaultInjectionEnv env_;
  std::unique_ptr<Store> store_;
  VolumeId vol_;
};

using Points = std::vector<std::tuple<int64_t, uint64_t, uint64_t>>;

TEST_F(ActivityTest, CountsKnownWritesAtKnownTimes) {
  InodeId f = NewFileAt(kT0 + 1 * kS, "f");  // one record, no bytes
  WriteAt(kT0 + 10 * kS, f, 100);
  WriteAt(kT0 + 10 * kS + kS / 2, f, 5000);
  WriteAt(kT0 + 12 * kS, f, 7);
  SetAttrRequest chmod;
  chmod.mode = 0600;
  env_.SetClock(kT0 + 12 * kS);
  ASSERT_TRUE(store_->SetAttr(Head(), f, chmod).ok());
  env_.SetClock(kT0 + 20 * kS);

  auto pts = Activity(kT0, kT0 + 20 * kS, kS);
  ASSERT_EQ(pts.size(), 20u);
  EXPECT_EQ(pts[0].time_ns, kT0);
  EXPECT_EQ(pts[19].time_ns, kT0 + 19 * kS);
  EXPECT_EQ(NonZero(pts), (Points{{1, 0, 1}, {10, 5100, 2}, {12, 7, 2}}));
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 20 * kS, 10 * kS)), (Points{{0, 0, 1}, {10, 5107, 4}}));
  // The interval is rounded out to whole steps: [kT0 + 5 s, kT0 + 11 s) at 10 s covers
  // [kT0, kT0 + 20 s).
  auto rounded = Activity(kT0 + 5 * kS, kT0 + 11 * kS, 10 * kS);
  ASSERT_EQ(rounded.size(), 2u);
  EXPECT_EQ(rounded[0].time_ns, kT0);
  // Before the volume existed: zeros.
  EXPECT_EQ(NonZero(Activity(kT0 - 100 * kS, kT0, kS)), Points{});
}

TEST_F(ActivityTest, FollowsTheVolumeHistoryAcrossRewinds) {
  InodeId f = NewFileAt(kT0 + 1 * kS, "f");
  WriteAt(kT0 + 10 * kS, f, 10);
  WriteAt(kT0 + 20 * kS, f, 20);
  env_.SetClock(kT0 + 30 * kS);
  ASSERT_TRUE(store_->Rewind(vol_, kT0 + 15 * kS).ok());  // the head is a new timeline
  WriteAt(kT0 + 40 * kS, f, 40);
  env_.SetClock(kT0 + 50 * kS);
  // The moments 10 s and 20 s were recorded by the first timeline while it was the head; 40 s
  // by the second. The state at 20 s is no longer the head's, but it happened then.
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 50 * kS, kS)),
            (Points{{1, 0, 1}, {10, 10, 1}, {20, 20, 1}, {40, 40, 1}}));
  // A clone's activity starts at the clone.
  env_.SetClock(kT0 + 60 * kS);
  auto c = store_->Clone("copy", vol_, kT0 + 45 * kS);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  env_.SetClock(kT0 + 61 * kS);
  ASSERT_TRUE(store_->Write(c->head, f, 0, std::string(3, 'y')).ok());
  env_.SetClock(kT0 + 70 * kS);
  auto cp = store_->Activity(c->id, kT0, kT0 + 70 * kS, 10 * kS);
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(NonZero(*cp), (Points{{60, 3, 1}}));
  EXPECT_EQ(NonZero(Activity(kT0 + 60 * kS, kT0 + 70 * kS, 10 * kS)), Points{});
}

TEST_F(ActivityTest, SurvivesCheckpointAndTailReplay) {
  InodeId f = NewFileAt(kT0 + 1 * kS, "f");
  WriteAt(kT0 + 2 * kS, f, 1000);
  ASSERT_TRUE(store_->Checkpoint().ok());
  WriteAt(kT0 + 3 * kS, f, 2000);  // only in the log's tail
  env_.SetClock(kT0 + 4 * kS);
  ASSERT_TRUE(store_->Rewind(vol_, kT0 + 2 * kS).ok());
  WriteAt(kT0 + 5 * kS, f, 3000);
  ASSERT_TRUE(store_->Sync().ok());
  const Points want{{1, 0, 1}, {2, 1000, 1}, {3, 2000, 1}, {5, 3000, 1}};
  ASSERT_EQ(NonZero(Activity(kT0, kT0 + 6 * kS, kS)), want);

  // Power loss: no closing checkpoint; the tail after the checkpoint is replayed.
  env_.SetActive(false);
  store_.reset();
  std::mt19937_64 rng(1);
  ASSERT_TRUE(env_.SimulateCrash(&rng, /*torn=*/false).ok());
  env_.SetActive(true);
  Reopen();
  EXPECT_TRUE(store_->recovery().loaded_checkpoint);
  EXPECT_GT(store_->recovery().records_replayed, 0u);
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 6 * kS, kS)), want);
  // A checkpoint holding the whole summary.
  ASSERT_TRUE(store_->Checkpoint().ok());
  Reopen();
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 6 * kS, kS)), want);
}

// A version-3 checkpoint (before the summary existed) still loads; the summary is derived from
// the index it holds.
TEST_F(ActivityTest, OldCheckpointDerivesTheSummaryFromTheIndex) {
  InodeId f = NewFileAt(kT0 + 1 * kS, "f");
  WriteAt(kT0 + 2 * kS, f, 20000);  // two pages: two extents, one record
  WriteAt(kT0 + 3 * kS, f, 30);
  env_.SetClock(kT0 + 4 * kS);
  const Points want{{1, 0, 1}, {2, 20000, 1}, {3, 30, 1}};
  ASSERT_EQ(NonZero(Activity(kT0, kT0 + 4 * kS, kS)), want);
  ASSERT_TRUE(store_->Checkpoint().ok());
  store_.reset();
  // Rewrite it as version 3: drop the summary (fine_from, one timeline with three buckets) and
  // the pins of version 5 (next pin id, no pin).
  const std::string path = dir_.path() + "/index.ckpt";
  std::stringstream ss;
  ss << std::ifstream(path, std::ios::binary).rdbuf();
  std::string bytes = ss.str();
  const size_t summary = 8 + 8 + (8 + 8 + 8 + 3 * 24) + 8 + 8;
  ASSERT_GT(bytes.size(), summary + 4 + 12);
  bytes.resize(bytes.size() - 4 - summary);
  const uint32_t v3 = 3;
  std::memcpy(bytes.data() + 8, &v3, 4);
  const uint32_t crc = crc32c::Mask(crc32c::Value(bytes.data(), bytes.size()));
  bytes.append(reinterpret_cast<const char*>(&crc), 4);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  Reopen();
  ASSERT_TRUE(store_->recovery().loaded_checkpoint);
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 4 * kS, kS)), want);
}

// Cleaning drops page versions but not the counts of the window; what lies before the window
// is forgotten (zeros), so the summary's memory follows the windows.
TEST_F(ActivityTest, CleaningKeepsTheWindowsCounts) {
  InodeId g = NewFileAt(kT0 + 1 * kS, "g");
  for (int i = 0; i < 3; ++i) WriteAt(kT0 + (2 + i) * kS, g, 4096);  // overwrites, before the floor
  InodeId f = NewFileAt(kT0 + 9 * kS, "f");
  for (int i = 0; i < 10; ++i) WriteAt(kT0 + (10 + i) * kS, f, 4096);  // in the window
  env_.SetClock(kT0 + 30 * kS);
  ASSERT_TRUE(store_->SetRetention(vol_, kT0 + 8 * kS).ok());
  auto report = store_->Clean();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GT(report->versions_dropped, 0u);
  const Points want{{0, 0, 1}, {10, 40960, 10}};  // the create at 9 s; nothing before 8 s
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 30 * kS, 10 * kS)), want);
  Reopen();
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 30 * kS, 10 * kS)), want);
  // A deleted volume's timelines leave the summary at the next pass.
  env_.SetClock(kT0 + 31 * kS);
  ASSERT_TRUE(store_->DeleteVolume(vol_).ok());
  ASSERT_TRUE(store_->Clean().ok());
  auto v = store_->CreateVolume("vol");
  ASSERT_TRUE(v.ok());
  auto again = store_->Activity(v->id, kT0, kT0 + 30 * kS, 2 * kS);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(NonZero(*again), Points{});
}

TEST_F(ActivityTest, OldSecondsAreKeptPerMinute) {
  InodeId f = NewFileAt(kT0 + 1 * kS, "f");
  WriteAt(kT0 + 70 * kS, f, 5);
  WriteAt(kT0 + 75 * kS, f, 6);
  const int64_t later = kT0 + kActivityFineSpanNs + 3600 * kS;
  WriteAt(later, f, 8);  // the clock moved on: the first hour is coarsened
  auto fine = store_->Activity(vol_, kT0, kT0 + 120 * kS, kS);
  ASSERT_FALSE(fine.ok());
  EXPECT_EQ(fine.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(fine.status().message().find("per minute"), std::string::npos);
  const Points want{{0, 0, 1}, {60, 11, 2}};
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 120 * kS, 60 * kS)), want);
  // Recent seconds stay exact per second.
  auto recent = Activity(later - 10 * kS, later + kS, kS);
  EXPECT_EQ(recent.back().bytes, 8u);
  Reopen();
  EXPECT_EQ(NonZero(Activity(kT0, kT0 + 120 * kS, 60 * kS)), want);
  EXPECT_FALSE(store_->Activity(vol_, kT0, kT0 + 120 * kS, kS).ok());
}

TEST_F(ActivityTest, RefusesBadQueries) {
  auto code = [&](VolumeId v, int64_t from, int64_t to, int64_t step) {
    return store_->Activity(v, from, to, step).status().code();
  };
  EXPECT_EQ(code(vol_, kT0, kT0 + kS, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(vol_, kT0, kT0 + kS, kS / 2), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(vol_, kT0 + kS, kT0, kS), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(vol_, kT0, kT0 + (kMaxActivityPoints + 1) * kS, kS),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(code(vol_, kT0, kT0 + kMaxActivityPoints * kS, kS), Status::Code::kOk);
  EXPECT_EQ(code(VolumeId(99), kT0, kT0 + kS, kS), Status::Code::kNotFound);
  EXPECT_TRUE(store_->Activity(vol_, kT0, kT0, kS)->empty());
}

}  // namespace
}  // namespace rwd::store
