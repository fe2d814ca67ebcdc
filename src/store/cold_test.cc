// Cold segments (Store::EvictColdSegments with a SegmentTier): evicted history reads exactly as
// before, also after cleaning (which reads evicted files back), a reopen from the checkpoint and
// a full replay through the tier; nothing is evicted that the tier cannot verify; a failed fetch
// fails the read; a store with evicted segments refuses to open without its tier.
//
// The tier here keeps its copies in a local directory (the object-store tier, objstore::ColdTier,
// is tested against Ceph in objstore_ceph_test): it is the store's side of the contract that is
// under test.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "common/crc32c.h"
#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/segment_tier.h"
#include "store/store.h"
#include "store/store_model.h"

namespace rwd::store {
namespace {

using testing::Model;
using testing::RandomWorkload;
using testing::StoreMatches;

constexpr int64_t kMs = 1'000'000;

// Copies of segment files in a directory; checks every block it returns like a real tier must.
class DirTier : public SegmentTier {
 public:
  explicit DirTier(std::string dir) : dir_(std::move(dir)) {}

  // "Uploads" every closed file of the store's log (as the shipper does).
  void UploadClosed(const Store& store) {
    for (const LogFileInfo& f : store.DurableLogState().closed) {
      if (f.cold) continue;
      std::ifstream in(f.path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), {});
      bytes.resize(f.size);
      std::ofstream(Name(f.segment, f.file_id), std::ios::binary) << bytes;
    }
  }
  std::atomic<bool> down{false};
  std::atomic<uint64_t> fetches{0};

  Status Verify(const ColdFile& file) override {
    if (down) return Status::Unavailable("tier down");
    std::string bytes;
    if (!Load(file, &bytes)) return Status::NotFound("not uploaded");
    if (bytes.size() != file.size || crc32c::Value(bytes.data(), bytes.size()) != file.crc32c) {
      return Status::FailedPrecondition("other bytes");
    }
    return Status::Ok();
  }
  Result<std::shared_ptr<ReadFile>> Open(const ColdFile& file) override {
    return std::shared_ptr<ReadFile>(std::make_shared<Reader>(this, file));
  }
  SegmentTierStats stats() const override {
    SegmentTierStats s;
    s.cold_reads = fetches.load();
    return s;
  }

 private:
  struct Reader : ReadFile {
    Reader(DirTier* t, ColdFile f) : tier(t), file(std::move(f)) {}
    Result<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
      if (tier->down) return Status::Unavailable("tier down");
      ++tier->fetches;
      std::string bytes;
      if (!tier->Load(file, &bytes)) return Status::NotFound("object gone");
      if (offset >= bytes.size()) return size_t{0};
      n = std::min<size_t>(n, bytes.size() - offset);
      for (uint64_t b = offset / kColdBlockBytes; b <= (offset + n - 1) / kColdBlockBytes; ++b) {
        const uint64_t len = std::min<uint64_t>(kColdBlockBytes, bytes.size() - b * kColdBlockBytes);
        if (crc32c::Value(bytes.data() + b * kColdBlockBytes, len) != file.block_crcs.at(b)) {
          return Status::Corruption("block checksum");
        }
      }
      std::memcpy(out, bytes.data() + offset, n);
      return n;
    }
    DirTier* tier;
    ColdFile file;
  };
  std::string Name(uint32_t seg, uint32_t id) const {
    return dir_ + "/" + std::to_string(seg) + "-" + std::to_string(id);
  }
  bool Load(const ColdFile& f, std::string* out) const {
    const std::string name = Name(f.segment, f.file_id);
    std::lock_guard<std::mutex> lk(mu_);
    auto it = loaded_.find(name);
    if (it == loaded_.end()) {
      std::ifstream in(name, std::ios::binary);
      if (!in) return false;
      it = loaded_.emplace(name, std::string((std::istreambuf_iterator<char>(in)), {})).first;
    }
    *out = it->second;
    return true;
  }
  const std::string dir_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::string> loaded_;  // files never change once written
};

class ColdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetClock(now_);
    Open(&tier_);
  }
  void Open(SegmentTier* tier) {
    store_.reset();
    auto s = TryOpen(tier);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  Result<std::unique_ptr<Store>> TryOpen(SegmentTier* tier) {
    StoreOptions o;
    o.dir = dir_.path();
    o.env = &env_;
    o.segment_bytes = 256 << 10;  // many segments
    o.preallocate_segments = false;
    o.tier = tier;
    return Store::Open(o);
  }
  void Tick() { env_.SetClock(now_ += kMs); }
  void Work(RandomWorkload& work, VolumeId vol, int ops) {
    for (int i = 0; i < ops; ++i) {
      Tick();
      ASSERT_TRUE(work.Step(*store_, store_->GetVolume(vol)->head, model_));
      if (i % 7 == 0) states_.emplace_back(store_->LastTimeNs(), model_);
    }
  }
  void CheckStates(VolumeId vol, int64_t floor) {
    int checked = 0;
    for (const auto& [t, m] : states_) {
      if (t < floor) continue;
      auto pit = store_->Resolve(vol, t);
      ASSERT_TRUE(pit.ok()) << pit.status().ToString();
      ASSERT_TRUE(StoreMatches(*store_, pit->timeline, pit->lsn, m)) << "state at " << t;
      ++checked;
    }
    EXPECT_GT(checked, 10);
  }
  size_t LocalSegmentFiles() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path() + "/log")) {
      n += e.path().extension() == ".seg";
    }
    return n;
  }

  rwd::testing::TempDir dir_;
  rwd::testing::TempDir remote_{"rewind-tier"};
  DirTier tier_{remote_.path()};
  FaultInjectionEnv env_;
  int64_t now_ = 1'700'000'000'000'000'000;
  std::unique_ptr<Store> store_;
  Model model_;
  std::vector<std::pair<int64_t, Model>> states_;
};

TEST_F(ColdStoreTest, EvictedHistoryReadsTheSameThroughCleaningReopeningAndReplaying) {
  RandomWorkload work(rwd::testing::TestSeed());
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  Work(work, vol->id, 1500);
  const uint32_t segments = store_->stats().segments;
  ASSERT_GT(segments, 4u);

  // Nothing uploaded yet: nothing may go.
  auto none = store_->EvictColdSegments(0);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(0u, none->segments);
  EXPECT_EQ(segments - 1, none->deferred);
  EXPECT_EQ(segments, LocalSegmentFiles());

  // Uploaded: every closed segment goes (the active one stays), reads go through the tier.
  tier_.UploadClosed(*store_);
  auto ev = store_->EvictColdSegments(0);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(segments - 1, ev->segments);
  EXPECT_EQ(1u, LocalSegmentFiles());
  StoreStats st = store_->stats();
  EXPECT_EQ(segments - 1, st.cold_segments);
  EXPECT_EQ(segments - 1, st.segments_evicted);
  EXPECT_LT(st.local_log_bytes, 256u << 10);
  EXPECT_EQ(st.log_bytes - ev->bytes, st.local_log_bytes);
  const uint64_t fetches = tier_.fetches;
  CheckStates(vol->id, 0);
  EXPECT_GT(tier_.fetches, fetches);
  for (const LogFileInfo& f : store_->DurableLogState().closed) EXPECT_TRUE(f.cold);

  // A budget above what is local evicts nothing more.
  Work(work, vol->id, 300);
  tier_.UploadClosed(*store_);
  auto big = store_->EvictColdSegments(1ull << 40);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(0u, big->segments);
  ASSERT_TRUE(store_->EvictColdSegments(0).ok());

  // The cleaner reads evicted files back to rewrite them, and their markers go.
  const int64_t floor = states_[states_.size() / 2].first;
  ASSERT_TRUE(store_->SetRetention(vol->id, floor).ok());
  CleanOptions co;
  co.min_reclaim_bytes = 16 << 10;
  co.max_rewrite_bytes_per_s = 0;
  auto r = store_->Clean(co);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->segments_rewritten, 0u);
  EXPECT_LT(store_->stats().cold_segments, st.cold_segments + 2);
  CheckStates(vol->id, floor);

  Open(&tier_);  // from the checkpoint
  EXPECT_TRUE(store_->recovery().loaded_checkpoint);
  CheckStates(vol->id, floor);
  Work(work, vol->id, 50);
  CheckStates(vol->id, floor);

  store_.reset();
  ASSERT_EQ(0, std::remove((dir_.path() + "/index.ckpt").c_str()));
  Open(&tier_);  // a full replay, evicted segments fetched through the tier
  EXPECT_FALSE(store_->recovery().loaded_checkpoint);
  EXPECT_FALSE(store_->recovery().tail_cut) << store_->recovery().cut_reason;
  CheckStates(vol->id, floor);

  // Without its tier the store cannot read its history: it says so instead of opening.
  store_.reset();
  auto without = TryOpen(nullptr);
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, without.status().code());
  EXPECT_NE(std::string::npos, without.status().message().find("object store"))
      << without.status().message();
}

TEST_F(ColdStoreTest, AFailedFetchFailsTheReadAndAnEvictionCutShortKeepsTheLocalFile) {
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  const TimelineId tl = vol->head;
  auto f = store_->Create(tl, kRootInode, "f", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  std::string page(16384, 'a');
  for (int i = 0; i < 64; ++i) {
    page.assign(16384, static_cast<char>('a' + i % 26));
    Tick();
    ASSERT_TRUE(store_->Write(tl, f->ino, i * page.size(), page).ok());
  }
  const Lsn old_lsn = store_->LastLsn();
  tier_.UploadClosed(*store_);
  ASSERT_GT(store_->EvictColdSegments(0)->segments, 0u);

  std::string buf(16384, '?');
  auto ok = store_->Read(tl, old_lsn, f->ino, 0, buf.size(), buf.data());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(std::string(16384, 'a'), buf);
  tier_.down = true;
  auto failed = store_->Read(tl, old_lsn, f->ino, 0, buf.size(), buf.data());
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(Status::Code::kUnavailable, failed.status().code());
  tier_.down = false;

  // A marker beside a still-present file (a crash between the two steps): the file wins.
  store_.reset();
  std::string seg1, cold1;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() + "/log")) {
    if (e.path().extension() == ".cold") cold1 = e.path().string();
  }
  ASSERT_FALSE(cold1.empty());
  seg1 = cold1.substr(0, cold1.size() - 5) + ".seg";
  {
    std::ifstream in(remote_.path() + "/" +
                         std::to_string(std::stoul(std::filesystem::path(cold1).stem().string())) +
                         "-" + std::to_string(std::stoul(std::filesystem::path(cold1).stem().string())),
                     std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    ASSERT_FALSE(bytes.empty());
    std::ofstream(seg1, std::ios::binary) << bytes;
  }
  Open(&tier_);
  EXPECT_FALSE(std::filesystem::exists(cold1));
  EXPECT_TRUE(std::filesystem::exists(seg1));
  ok = store_->Read(tl, old_lsn, f->ino, 0, buf.size(), buf.data());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(std::string(16384, 'a'), buf);
}

TEST(ColdMarkerTest, RoundTripsAndRefusesDamage) {
  ColdFile f{7, 0x80000003u, (3ull << 20) + 5, 0x1234, {1, 2, 3, 4}};
  const std::string bytes = EncodeColdMarker(f);
  auto back = DecodeColdMarker(bytes, 7, 0x80000003u);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(f.size, back->size);
  EXPECT_EQ(f.block_crcs, back->block_crcs);
  EXPECT_EQ(Status::Code::kCorruption, DecodeColdMarker(bytes, 8, 0x80000003u).status().code());
  std::string bad = bytes;
  bad[20] ^= 1;
  EXPECT_EQ(Status::Code::kCorruption, DecodeColdMarker(bad, 7, 0x80000003u).status().code());
  EXPECT_EQ(Status::Code::kCorruption,
            DecodeColdMarker(bytes.substr(0, 30), 7, 0x80000003u).status().code());
}

}  // namespace
}  // namespace rwd::store
