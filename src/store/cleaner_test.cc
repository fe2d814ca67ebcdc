// The cleaner (Store::SetRetention + Store::Clean): every retained state reads exactly as
// before cleaning, after a reopen from the checkpoint and after a full replay of the cleaned
// log; states before the floor are refused; a clone keeps its branch point when its source is
// deleted; the log shrinks; and a crash at any I/O step of a pass loses nothing retained.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/store.h"
#include "store/store_model.h"

namespace rwd::store {
namespace {

using testing::Model;
using testing::RandomWorkload;
using testing::StoreMatches;

constexpr int64_t kMs = 1'000'000;

// Parameter: StoreOptions::compress.
class CleanerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    env_.SetClock(now_);
    Open();
  }
  void Open() {
    store_.reset();
    StoreOptions o;
    o.dir = dir_.path();
    o.env = &env_;
    o.compress = GetParam();
    o.compress_min_bytes = 0;  // the small writes of these tests compressed too
    o.segment_bytes = 256 << 10;  // many segments
    o.preallocate_segments = false;  // every I/O from this thread: crash steps are repeatable
    o.background_compaction = false;  // likewise; the pass's rewrites compress (GetParam())
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void Tick() { env_.SetClock(now_ += kMs); }

  // Runs `ops` random operations on the volume's head, remembering its state every few.
  void Work(RandomWorkload& work, VolumeId vol, int ops) {
    for (int i = 0; i < ops; ++i) {
      Tick();
      ASSERT_TRUE(work.Step(*store_, store_->GetVolume(vol)->head, model_));
      if (i % 7 == 0) states_.emplace_back(store_->LastTimeNs(), model_);
    }
  }
  // Every remembered state at or after `floor` reads as it was; earlier ones are refused.
  void CheckStates(VolumeId vol, int64_t floor) {
    int checked = 0;
    for (const auto& [t, m] : states_) {
      auto pit = store_->Resolve(vol, t);
      if (t < floor) {
        EXPECT_EQ(Status::Code::kInvalidArgument, pit.status().code()) << "time " << t;
        continue;
      }
      ASSERT_TRUE(pit.ok()) << pit.status().ToString();
      ASSERT_TRUE(StoreMatches(*store_, pit->timeline, pit->lsn, m)) << "state at " << t;
      ++checked;
    }
    EXPECT_GT(checked, 10);
  }

  rwd::testing::TempDir dir_;
  FaultInjectionEnv env_;
  int64_t now_ = 1'700'000'000'000'000'000;
  std::unique_ptr<Store> store_;
  Model model_;
  std::vector<std::pair<int64_t, Model>> states_;  // (time, the volume's state then)
  CleanOptions opts_ = [] {
    CleanOptions o;
    o.min_reclaim_bytes = 16 << 10;  // segments are 256 KiB here
    o.max_rewrite_bytes_per_s = 0;
    return o;
  }();
};

TEST_P(CleanerTest, RetainedStatesReadTheSameAfterCleaningReopeningAndReplaying) {
  const uint64_t seed = rwd::testing::TestSeed();
  RandomWorkload work(seed);
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  for (int round = 0; round < 4; ++round) {
    Work(work, vol->id, 500);
    // Rewind to a remembered state (as a backtrack would), then go on from there.
    const auto& [t, m] = states_[states_.size() / 2 + work.rng()() % (states_.size() / 2)];
    Tick();
    ASSERT_TRUE(store_->Rewind(vol->id, t).ok());
    model_ = m;
    states_.emplace_back(store_->LastTimeNs(), model_);
  }
  Work(work, vol->id, 300);

  const int64_t floor = states_[states_.size() * 6 / 10].first;
  auto before = store_->Resolve(vol->id, floor - 1);
  ASSERT_TRUE(before.ok());  // reachable until the floor is raised
  auto v = store_->SetRetention(vol->id, floor);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(floor, v->retained_from_ns);
  EXPECT_EQ(floor, store_->SetRetention(vol->id, floor - 5 * kMs)->retained_from_ns);  // never lowered

  const uint64_t versions_before = store_->stats().page_versions;
  auto r = store_->Clean(opts_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->versions_dropped, 0u);
  EXPECT_GT(r->segments_rewritten, 0u);
  EXPECT_LT(r->bytes_after, r->bytes_before);
  EXPECT_EQ(versions_before - r->versions_dropped, store_->stats().page_versions);
  std::printf("clean: %llu versions dropped, %llu segments rewritten, log %llu -> %llu bytes\n",
              (unsigned long long)r->versions_dropped, (unsigned long long)r->segments_rewritten,
              (unsigned long long)r->bytes_before, (unsigned long long)r->bytes_after);
  CheckStates(vol->id, floor);
  ASSERT_EQ(1u, r->volumes.count(vol->id.value));
  const VolumeHistoryStats& vs = r->volumes.at(vol->id.value);
  EXPECT_GT(vs.change_records, 0u);
  EXPECT_GE(vs.history_bytes, vs.live_bytes);

  // More history on the cleaned log, a second pass with a later floor.
  Work(work, vol->id, 200);
  const int64_t floor2 = states_[states_.size() * 8 / 10].first;
  ASSERT_TRUE(store_->SetRetention(vol->id, floor2).ok());
  ASSERT_TRUE(store_->Clean(opts_).ok());
  CheckStates(vol->id, floor2);
  // A second pass with nothing new to drop changes nothing.
  auto again = store_->Clean(opts_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(0u, again->versions_dropped);
  CheckStates(vol->id, floor2);

  Open();  // from the checkpoint the cleaner wrote
  EXPECT_TRUE(store_->recovery().loaded_checkpoint);
  CheckStates(vol->id, floor2);
  Work(work, vol->id, 50);  // and it takes writes

  store_.reset();
  ASSERT_EQ(0, std::remove((dir_.path() + "/index.ckpt").c_str()));
  Open();  // a full replay of cleaned segments (LSN gaps) and first-written ones
  EXPECT_FALSE(store_->recovery().loaded_checkpoint);
  EXPECT_FALSE(store_->recovery().tail_cut) << store_->recovery().cut_reason;
  CheckStates(vol->id, floor2);
}

TEST_P(CleanerTest, ACloneKeepsItsBranchPointAfterItsSourceIsDeletedAndCleaned) {
  RandomWorkload work(rwd::testing::TestSeed());
  auto src = store_->CreateVolume("src");
  ASSERT_TRUE(src.ok());
  Work(work, src->id, 400);
  const int64_t clone_time = store_->LastTimeNs();
  const Model at_clone = model_;
  Tick();
  auto clone = store_->Clone("clone", src->id, clone_time);
  ASSERT_TRUE(clone.ok());
  Work(work, src->id, 400);  // the source goes on; the clone must never see it
  ASSERT_TRUE(store_->DeleteVolume(src->id).ok());

  model_ = at_clone;
  states_.clear();
  Work(work, clone->id, 200);
  ASSERT_TRUE(store_->SetRetention(clone->id, store_->NowNs()).ok());  // backtrack off
  auto r = store_->Clean(opts_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->versions_dropped, 0u);
  EXPECT_LT(r->bytes_after, r->bytes_before);
  ASSERT_TRUE(StoreMatches(*store_, store_->GetVolume(clone->id)->head, kLatestLsn, model_));
  Open();
  ASSERT_TRUE(StoreMatches(*store_, store_->GetVolume(clone->id)->head, kLatestLsn, model_));
}

TEST_P(CleanerTest, UnlinkedFilesAreReclaimedOnceNoRetainedStateSeesThem) {
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  const TimelineId tl = vol->head;
  auto f = store_->Create(tl, kRootInode, "big.ibd", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  const uint64_t log_before = store_->stats().log_bytes;
  // Digits and dashes: about half of it when compressed, so that it fills several segments.
  std::mt19937_64 rng(1);
  std::string page(16384, '-');
  for (int i = 0; i < 256; ++i) {
    for (size_t k = 0; k < page.size(); ++k) {
      if (k % 12 != 11) page[k] = static_cast<char>('0' + rng() % 10);
    }
    Tick();
    ASSERT_TRUE(store_->Write(tl, f->ino, i * page.size(), page).ok());
  }
  // The closed segments compressed: the file's bytes as stored (the active segment's raw).
  if (GetParam()) {
    ASSERT_TRUE(store_->CompactSegments().ok());
  }
  const uint64_t file_log_bytes = store_->stats().log_bytes - log_before;
  Tick();
  const int64_t with_file = store_->LastTimeNs();
  ASSERT_TRUE(store_->Unlink(tl, kRootInode, "big.ibd").ok());
  Tick();
  auto keep = store_->Create(tl, kRootInode, "keep", NodeType::kFile, 0644);
  ASSERT_TRUE(keep.ok() && store_->Write(tl, keep->ino, 0, "kept").ok());

  // Still inside the window: the dropped file's data stays (a backtrack brings it back).
  ASSERT_TRUE(store_->SetRetention(vol->id, with_file).ok());
  auto r = store_->Clean(opts_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(0u, r->versions_dropped);
  auto pit = store_->Resolve(vol->id, with_file);
  std::string buf(page.size(), '\0');
  ASSERT_TRUE(store_->Read(pit->timeline, pit->lsn, f->ino, 255 * page.size(), buf.size(),
                           buf.data()).ok());
  EXPECT_EQ(page, buf);

  // While a mount has it open, it stays readable at the head even past the window.
  Tick();
  ASSERT_TRUE(store_->SetRetention(vol->id, store_->NowNs()).ok());
  CleanOptions open_file = opts_;
  open_file.in_use = [&](TimelineId t, InodeId ino) { return t == tl && ino == f->ino; };
  r = store_->Clean(open_file);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(0u, r->versions_dropped);

  // Closed and out of the window: its 4 MiB (as stored) go.
  r = store_->Clean(opts_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(256u, r->versions_dropped);
  // (All but what the active segment holds of it.)
  EXPECT_GT(r->bytes_before, r->bytes_after + file_log_bytes / 4 * 3);
  if (GetParam()) {
    EXPECT_LT(file_log_bytes, 3u << 20);
  }
  buf.assign(4, '\0');
  ASSERT_TRUE(store_->Read(tl, kLatestLsn, keep->ino, 0, 4, buf.data()).ok());
  EXPECT_EQ("kept", buf);
}

TEST_P(CleanerTest, ACrashAtAnyStepOfAPassLosesNothingRetained) {
  const uint64_t seed = rwd::testing::TestSeed();
  RandomWorkload work(seed);
  std::mt19937_64 rng(seed);
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  Work(work, vol->id, 600);
  const int64_t floor = states_[states_.size() / 2].first;
  ASSERT_TRUE(store_->SetRetention(vol->id, floor).ok());
  ASSERT_TRUE(store_->Sync().ok());

  // Step the crash through every I/O of one pass: from the same starting files each time, n
  // I/Os succeed, the machine dies, and a store opened on what is left holds every retained
  // state.
  store_.reset();
  const std::string start = dir_.path() + ".start";
  std::filesystem::remove_all(start);
  std::filesystem::copy(dir_.path(), start, std::filesystem::copy_options::recursive);
  bool completed = false;
  int steps = 0;
  for (int n = 0; n < 2000 && !completed; ++n, ++steps) {
    std::filesystem::remove_all(dir_.path());
    std::filesystem::copy(start, dir_.path(), std::filesystem::copy_options::recursive);
    Open();
    if (::testing::Test::HasFatalFailure()) return;
    env_.CrashAfter(n);
    auto r = store_->Clean(opts_);
    completed = r.ok() && !env_.crashed();
    env_.SetActive(false);
    store_.reset();
    ASSERT_TRUE(env_.SimulateCrash(&rng, /*torn=*/n % 2 == 1).ok());
    env_.SetActive(true);
    Open();
    if (::testing::Test::HasFatalFailure()) return;
    CheckStates(vol->id, floor);
    if (::testing::Test::HasFatalFailure()) {
      ADD_FAILURE() << "crash after " << n << " I/Os of a cleaning pass";
      return;
    }
  }
  std::filesystem::remove_all(start);
  EXPECT_TRUE(completed) << "the pass never got through: raise the step limit";
  std::printf("crash steps: %d\n", steps);
  auto r = store_->Clean(opts_);  // and a pass after all that is clean work
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckStates(vol->id, floor);
}

TEST_P(CleanerTest, BadInputIsRefusedAndChangesNothing) {
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  EXPECT_EQ(Status::Code::kNotFound, store_->SetRetention(VolumeId(99), now_).status().code());
  // A floor in the future is clamped to now: the head stays readable and writable.
  auto v = store_->SetRetention(vol->id, now_ + 3600 * 1000 * kMs);
  ASSERT_TRUE(v.ok());
  EXPECT_LE(v->retained_from_ns, store_->NowNs());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Resolve(vol->id, v->retained_from_ns - 1).status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Clone("c", vol->id, v->retained_from_ns - 1).status().code());
  EXPECT_EQ(Status::Code::kInvalidArgument,
            store_->Rewind(vol->id, v->retained_from_ns - 1).status().code());
  EXPECT_TRUE(store_->Resolve(vol->id, v->retained_from_ns).ok());
  ASSERT_TRUE(store_->Clean(opts_).ok());
  EXPECT_TRUE(store_->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644).ok());
}

INSTANTIATE_TEST_SUITE_P(Compression, CleanerTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "zstd" : "raw"; });

}  // namespace
}  // namespace rwd::store
