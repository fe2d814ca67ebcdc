// BacklogGate (the local-buffer policy) on a real store: a stand-in for the shipper says whether
// uploads are behind (the bucket down), the store's own LocalLogBytes says how full the local log
// is. No timed assertions: the test waits for states, the ctest timeout bounds it.
#include "objstore/backlog_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "objstore/objstore_testing.h"
#include "store/store.h"

namespace rwd::objstore {
namespace {

using testing::TempDir;

constexpr uint64_t kChunk = 64 << 10;
constexpr uint64_t kTotal = 4 << 20;

class BacklogGateTest : public ::testing::Test {
 protected:
  void Open(BacklogPolicy policy) {
    BacklogGateOptions go;
    go.policy = policy;
    go.budget_bytes = 256 << 10;
    go.headroom_bytes = 512 << 10;
    go.recheck_ms = 0;  // every write evaluates: the bound below is exact
    BacklogGateSources src;
    src.local_log_bytes = [this] { return store_ ? store_->LocalLogBytes() : 0; };
    src.uploads_behind = [this] { return behind_.load(); };
    src.on_state = [this](bool full, const std::string& why) {
      std::lock_guard<std::mutex> lk(mu_);
      states_.push_back(full);
      whys_.push_back(why);
    };
    auto g = BacklogGate::Create(go, src);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gate_ = std::move(*g);
    small_ = std::make_unique<testing::SmallStore>(TempDir("backlog"), gate_.get());
    store_ = small_->store.get();
    tl_ = small_->tl;
    ino_ = small_->ino;
    data_.resize(kTotal);
    std::mt19937_64 rng(7);
    for (char& c : data_) c = static_cast<char>(rng());
  }
  // Writes data_ in kChunk writes with a sync after each (a commit), from its own thread.
  void StartWriter() {
    writer_ = std::thread([this] {
      for (uint64_t off = 0; off < kTotal; off += kChunk) {
        Result<store::Lsn> w = store_->Write(tl_, ino_, off, std::string_view(data_).substr(off, kChunk));
        ASSERT_TRUE(w.ok()) << w.status().ToString();
        ASSERT_TRUE(store_->Sync().ok());
        written_.store(off + kChunk);
      }
    });
  }
  void WaitUntil(const std::function<bool()>& cond) {
    while (!cond()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void ExpectAllDataReadable() {
    std::string got(kTotal, '\0');
    auto r = store_->Read(tl_, store_->LastLsn(), ino_, 0, kTotal, got.data());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(kTotal, *r);
    EXPECT_TRUE(got == data_) << "data written through the gate differs";
  }
  void TearDown() override {
    if (gate_) gate_->Release();
    if (writer_.joinable()) writer_.join();
  }

  std::atomic<bool> behind_{true};  // the stand-in shipper: the bucket is down
  std::unique_ptr<BacklogGate> gate_;
  std::unique_ptr<testing::SmallStore> small_;
  store::Store* store_ = nullptr;
  store::TimelineId tl_;
  store::InodeId ino_;
  std::string data_;
  std::thread writer_;
  std::atomic<uint64_t> written_{0};
  std::mutex mu_;
  std::vector<bool> states_;
  std::vector<std::string> whys_;
};

TEST_F(BacklogGateTest, BackPressureHoldsWritesUntilUploadsCatchUpAndLosesNothing) {
  Open(BacklogPolicy::kBackPressure);
  StartWriter();
  WaitUntil([&] { return gate_->stats().writes_waiting == 1; });
  // Held: the log went no further than the limit plus the write that crossed it.
  const uint64_t local = store_->LocalLogBytes();
  EXPECT_GT(local, gate_->limit_bytes());
  EXPECT_LE(local, gate_->limit_bytes() + kChunk + 4096);
  EXPECT_LT(written_.load(), kTotal);
  const uint64_t held_at = written_.load();
  EXPECT_TRUE(gate_->stats().full);
  {
    std::lock_guard<std::mutex> lk(mu_);
    ASSERT_EQ(1u, states_.size());
    EXPECT_TRUE(states_[0]);
    EXPECT_NE(std::string::npos, whys_[0].find("writes wait until uploads catch up")) << whys_[0];
  }
  EXPECT_EQ(held_at, written_.load()) << "a write got past a full buffer";
  behind_.store(false);  // the bucket is back and has everything
  gate_->Recheck();
  writer_.join();
  EXPECT_EQ(kTotal, written_.load());
  BacklogGateStats st = gate_->stats();
  EXPECT_FALSE(st.full);
  EXPECT_EQ(0u, st.writes_waiting);
  EXPECT_EQ(1u, st.writes_held);
  EXPECT_EQ(1u, st.full_episodes);
  {
    std::lock_guard<std::mutex> lk(mu_);
    ASSERT_EQ(2u, states_.size());
    EXPECT_FALSE(states_[1]);
  }
  ExpectAllDataReadable();
}

TEST_F(BacklogGateTest, GrowLetsWritesGoPastTheBudgetAndSaysSo) {
  Open(BacklogPolicy::kGrow);
  StartWriter();
  writer_.join();
  EXPECT_EQ(kTotal, written_.load());
  EXPECT_GT(store_->LocalLogBytes(), gate_->limit_bytes());
  BacklogGateStats st = gate_->stats();
  EXPECT_TRUE(st.full);
  EXPECT_EQ(0u, st.writes_held);
  {
    std::lock_guard<std::mutex> lk(mu_);
    ASSERT_EQ(1u, states_.size());
    EXPECT_NE(std::string::npos, whys_[0].find("policy grow")) << whys_[0];
  }
  ExpectAllDataReadable();
}

TEST_F(BacklogGateTest, ReleaseLetsHeldWritesThroughForGood) {
  Open(BacklogPolicy::kBackPressure);
  StartWriter();
  WaitUntil([&] { return gate_->stats().writes_waiting == 1; });
  gate_->Release();  // rewindd's shutdown: engines must flush
  writer_.join();
  EXPECT_EQ(kTotal, written_.load());
  ExpectAllDataReadable();
}

TEST(BacklogPolicyTest, Names) {
  EXPECT_EQ(BacklogPolicy::kBackPressure, *ParseBacklogPolicy("back-pressure"));
  EXPECT_EQ(BacklogPolicy::kGrow, *ParseBacklogPolicy("grow"));
  auto bad = ParseBacklogPolicy("drop");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(Status::Code::kInvalidArgument, bad.status().code());
  EXPECT_NE(std::string::npos, bad.status().message().find("back-pressure")) << bad.status().message();
  EXPECT_FALSE(BacklogGate::Create({}, {}).ok());
}

}  // namespace
}  // namespace rwd::objstore
