// Crash tests through the fault-injecting Env: after a simulated power loss at random points,
// every synced record is present and nothing after the cut is visible; a flipped byte or a
// truncated record in the tail is cut off and reported, and the store opens.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/record.h"
#include "store/store.h"
#include "store/store_model.h"

namespace rwd::store {
namespace {

using testing::Model;
using testing::RandomWorkload;
using testing::StoreMatches;

// Parameter: StoreOptions::compress.
class CrashTest : public ::testing::TestWithParam<bool> {
 protected:
  void Open() {
    StoreOptions o;
    o.dir = dir_.path();
    o.compress = GetParam();
    o.compress_inline = compress_inline_;  // else closed segments compress in the background
    o.compress_min_bytes = 0;  // the small writes of these tests compressed too
    o.env = &env_;
    o.segment_bytes = segment_bytes_;
    o.checkpoint_every_bytes = 1 << 20;  // checkpoints happen mid-run too
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void Crash(std::mt19937_64* rng, bool torn) {
    env_.SetActive(false);
    store_.reset();  // its closing checkpoint fails: the machine is gone
    ASSERT_TRUE(env_.SimulateCrash(rng, torn).ok());
    env_.SetActive(true);
  }

  rwd::testing::TempDir dir_;
  FaultInjectionEnv env_;
  uint64_t segment_bytes_ = 256 << 10;  // several segments per run
  bool compress_inline_ = false;
  std::unique_ptr<Store> store_;
};

TEST_P(CrashTest, SyncedRecordsSurviveAndNothingAfterTheCutIsVisible) {
  const uint64_t seed = rwd::testing::TestSeed();
  RandomWorkload work(seed);
  auto& rng = work.rng();
  Open();
  auto vol = store_->CreateVolume("crash");
  ASSERT_TRUE(vol.ok());
  TimelineId tl = vol->head;
  Model synced_model;  // state at the last successful Sync()
  Lsn synced_lsn = store_->LastLsn();
  std::map<uint64_t, Model> since_sync;  // LSN -> model, for every op after the last sync

  for (int round = 0; round < 25; ++round) {
    Model m = synced_model;
    const int ops = 20 + static_cast<int>(rng() % 200);
    for (int i = 0; i < ops; ++i) {
      ASSERT_TRUE(work.Step(*store_, tl, m)) << "seed " << seed;
      since_sync[store_->LastLsn().value] = m;
      if (rng() % 30 == 0) {
        ASSERT_TRUE(store_->Sync().ok());
        synced_model = m;
        synced_lsn = store_->LastLsn();
        since_sync.clear();
      }
    }
    Crash(&rng, rng() % 2 == 0);
    Open();
    const Lsn recovered = store_->LastLsn();
    ASSERT_GE(recovered, synced_lsn) << "a synced record was lost; seed " << seed;
    ASSERT_TRUE(StoreMatches(*store_, tl, synced_lsn, synced_model)) << "seed " << seed;
    const Model& at_cut =
        recovered == synced_lsn ? synced_model : since_sync.at(recovered.value);
    ASSERT_TRUE(StoreMatches(*store_, tl, kLatestLsn, at_cut))
        << "state after recovery is not the prefix up to LSN " << recovered.value << "; seed "
        << seed;
    synced_model = at_cut;  // what is there now is the base of the next round
    ASSERT_TRUE(store_->Sync().ok());
    synced_lsn = store_->LastLsn();
    since_sync.clear();
  }
}

// Walks a segment file's records: (offset, length) of each.
std::vector<std::pair<uint64_t, uint64_t>> RecordsIn(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t off = 16;
  while (off + kRecordHeaderSize <= bytes.size()) {
    auto h = DecodeHeader(std::string_view(bytes).substr(off, kRecordHeaderSize));
    if (!h.ok()) break;
    out.emplace_back(off, kRecordHeaderSize + h->payload_len);
    off += kRecordHeaderSize + h->payload_len;
  }
  return out;
}

class TailDamageTest : public CrashTest {
 protected:
  // Writes `n` records after a synced base, closes, removes the checkpoint so the damage lies
  // in the replayed tail. Returns the model after each record, by LSN.
  std::map<uint64_t, Model> WriteTail(RandomWorkload& work, int n) {
    segment_bytes_ = 64 << 20;  // one segment: the damage is always in the tail
    compress_inline_ = true;    // compressed records in that one (active) segment
    Open();
    auto vol = store_->CreateVolume("tail");
    tl_ = vol->head;
    Model m;
    std::map<uint64_t, Model> models;
    models[store_->LastLsn().value] = m;
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(work.Step(*store_, tl_, m));
      models[store_->LastLsn().value] = m;
    }
    EXPECT_TRUE(store_->Sync().ok());
    store_.reset();
    std::remove((dir_.path() + "/index.ckpt").c_str());
    return models;
  }
  std::string LastSegment() {
    std::string last;
    for (auto& e : std::filesystem::directory_iterator(dir_.path() + "/log")) {
      if (e.path().string() > last) last = e.path().string();
    }
    return last;
  }
  TimelineId tl_;
};

TEST_P(TailDamageTest, FlippedByteInTailIsCutThere) {
  const uint64_t seed = rwd::testing::TestSeed();
  RandomWorkload work(seed);
  auto models = WriteTail(work, 300);
  const std::string seg = LastSegment();
  auto recs = RecordsIn(seg);
  ASSERT_GT(recs.size(), 10u);
  // Damage one of the last 10 records.
  const size_t victim = recs.size() - 1 - work.rng()() % 10;
  const uint64_t pos = recs[victim].first + work.rng()() % recs[victim].second;
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(pos);
    char c;
    f.read(&c, 1);
    c ^= static_cast<char>(1 + work.rng()() % 255);
    f.seekp(pos);
    f.write(&c, 1);
  }
  Open();
  EXPECT_TRUE(store_->recovery().tail_cut);
  EXPECT_FALSE(store_->recovery().cut_reason.empty());
  std::printf("recovery: %s\n", store_->recovery().cut_reason.c_str());
  // Everything before the damaged record is there; it and everything after are gone.
  const uint64_t last = store_->LastLsn().value;
  ASSERT_EQ(models.rbegin()->first - (recs.size() - victim), last) << "seed " << seed;
  ASSERT_TRUE(StoreMatches(*store_, tl_, kLatestLsn, models.at(last))) << "seed " << seed;
  // The store takes new writes after the cut, and they survive a reopen.
  auto f = store_->Create(tl_, kRootInode, "after-cut", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(store_->Write(tl_, f->ino, 0, "fresh").ok());
  store_.reset();
  Open();
  EXPECT_FALSE(store_->recovery().tail_cut);
  char buf[5];
  ASSERT_EQ(5u, *store_->Read(tl_, kLatestLsn, f->ino, 0, 5, buf));
  EXPECT_EQ("fresh", std::string(buf, 5));
}

// A compressed page version is guarded by the record's CRC over its stored (compressed) bytes:
// a flipped bit in a frame is caught at recovery, never decompressed into wrong data.
TEST_P(TailDamageTest, FlippedByteInACompressedPageIsCutThere) {
  if (!GetParam()) GTEST_SKIP() << "compression off";
  const uint64_t seed = rwd::testing::TestSeed();
  RandomWorkload work(seed);
  auto models = WriteTail(work, 300);
  const std::string seg = LastSegment();
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  auto recs = RecordsIn(seg);
  // The last compressed Write, and a byte in its last stored bytes (a frame or raw chunk).
  size_t victim = recs.size();
  for (size_t i = recs.size(); i-- > 0;) {
    if (bytes[recs[i].first + 8] == static_cast<char>(kRecordVersion)) {
      victim = i;
      break;
    }
  }
  ASSERT_LT(victim, recs.size()) << "no compressed record; seed " << seed;
  const uint64_t pos = recs[victim].first + recs[victim].second - 1 - work.rng()() % 8;
  bytes[pos] = static_cast<char>(bytes[pos] ^ (1 + work.rng()() % 255));
  {
    std::ofstream out(seg, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  Open();
  EXPECT_TRUE(store_->recovery().tail_cut);
  EXPECT_NE(std::string::npos, store_->recovery().cut_reason.find("checksum"))
      << store_->recovery().cut_reason;
  const uint64_t last = store_->LastLsn().value;
  ASSERT_EQ(models.rbegin()->first - (recs.size() - victim), last) << "seed " << seed;
  ASSERT_TRUE(StoreMatches(*store_, tl_, kLatestLsn, models.at(last))) << "seed " << seed;
}

TEST_P(TailDamageTest, TruncationMidRecordIsCutAtLastGoodRecord) {
  const uint64_t seed = rwd::testing::TestSeed();
  RandomWorkload work(seed);
  auto models = WriteTail(work, 200);
  const std::string seg = LastSegment();
  auto recs = RecordsIn(seg);
  const auto& lastrec = recs.back();
  const uint64_t cut_at = lastrec.first + 1 + work.rng()() % (lastrec.second - 1);
  std::filesystem::resize_file(seg, cut_at);
  Open();
  EXPECT_TRUE(store_->recovery().tail_cut);
  const uint64_t last = store_->LastLsn().value;
  ASSERT_EQ(models.rbegin()->first - 1, last);
  ASSERT_TRUE(StoreMatches(*store_, tl_, kLatestLsn, models.at(last))) << "seed " << seed;
  EXPECT_EQ(lastrec.first, std::filesystem::file_size(seg));
}

auto ParamName = [](const auto& info) { return info.param ? "zstd" : "raw"; };
INSTANTIATE_TEST_SUITE_P(Compression, CrashTest, ::testing::Bool(), ParamName);
INSTANTIATE_TEST_SUITE_P(Compression, TailDamageTest, ::testing::Bool(), ParamName);

}  // namespace
}  // namespace rwd::store
