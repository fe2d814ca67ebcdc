// Pins (Store::Pin and friends): what a pin keeps, what it costs, what is refused, and that a
// crash at any step of Pin or Unpin leaves the pin whole or absent.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <fstream>

#include "common/crc32c.h"
#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/store.h"
#include "store/store_model.h"

namespace rwd::store {
namespace {

using testing::Model;
using testing::PinMatches;
using testing::RandomWorkload;

constexpr int64_t kMs = 1'000'000;

class PinTest : public ::testing::Test {
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
    o.segment_bytes = 256 << 10;
    o.preallocate_segments = false;  // every I/O from this thread: crash steps are repeatable
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void Tick() { env_.SetClock(now_ += kMs); }
  PinAt Now() const { return PinAt::Time(store_->NowNs()); }
  std::string ReadAll(TimelineId tl, Lsn lsn, InodeId ino, size_t n) {
    std::string buf(n, '?');
    auto r = store_->Read(tl, lsn, ino, 0, n, buf.data());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    buf.resize(r.ok() ? *r : 0);
    return buf;
  }

  rwd::testing::TempDir dir_;
  FaultInjectionEnv env_;
  int64_t now_ = 1'700'000'000'000'000'000;
  std::unique_ptr<Store> store_;
  CleanOptions co_ = [] {
    CleanOptions o;
    o.min_reclaim_bytes = 16 << 10;
    o.max_rewrite_bytes_per_s = 0;
    return o;
  }();
};

TEST_F(PinTest, APinKeepsItsStatePastTheFloorAndTheVolumeAndIsCountedUntilUnpinned) {
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  Tick();
  auto f = store_->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  const std::string old_data(1 << 20, 'o');
  ASSERT_TRUE(store_->Write(vol->head, f->ino, 0, old_data).ok());
  Tick();
  const int64_t pinned_at = store_->NowNs();
  const Lsn pinned_lsn = store_->LastLsn();
  auto by_time = store_->Pin("snap-time", vol->id, PinAt::Time(pinned_at));
  ASSERT_TRUE(by_time.ok()) << by_time.status().ToString();
  auto by_lsn = store_->Pin("snap-lsn", vol->id, PinAt::AtLsn(pinned_lsn));
  ASSERT_TRUE(by_lsn.ok()) << by_lsn.status().ToString();
  EXPECT_EQ(by_time->point, by_lsn->point);
  auto head = store_->Pin("snap-head", vol->id, PinAt::Head());
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(by_time->point.timeline, head->point.timeline);
  EXPECT_EQ(store_->LastLsn().value, head->point.lsn.value + 1);  // its own record follows
  ASSERT_TRUE(store_->Unpin(head->id).ok());
  EXPECT_EQ("v", by_time->volume_name);
  EXPECT_EQ(pinned_at, by_time->time_ns);
  // Overwrite everything, move the floor to now, delete the volume, clean.
  for (int i = 0; i < 3; ++i) {
    Tick();
    ASSERT_TRUE(store_->Write(vol->head, f->ino, 0, std::string(1 << 20, 'a' + i)).ok());
  }
  Tick();
  ASSERT_TRUE(store_->SetRetention(vol->id, store_->NowNs()).ok());
  EXPECT_EQ(Status::Code::kInvalidArgument, store_->Resolve(vol->id, pinned_at).status().code());
  auto rep = store_->Clean(co_);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(uint64_t{1} << 20, rep->pinned_bytes);  // the old version, kept only by the pins
  EXPECT_EQ(uint64_t{2} << 20, rep->floor_stored_bytes);  // it and the head's
  EXPECT_EQ(rep->pinned_bytes, store_->stats().pinned_bytes);
  EXPECT_EQ(2u, store_->stats().pins);
  ASSERT_TRUE(store_->DeleteVolume(vol->id).ok());
  rep = store_->Clean(co_);
  ASSERT_TRUE(rep.ok());
  EXPECT_GT(rep->segments_rewritten + rep->versions_dropped, 0u);
  EXPECT_EQ(uint64_t{1} << 20, rep->floor_stored_bytes);  // the pins' state only
  EXPECT_EQ(old_data, ReadAll(by_time->point.timeline, by_time->point.lsn, f->ino, 2 << 20));

  // A copy of a pin of the deleted volume: same state, same volume and moment.
  auto copy = store_->CopyPin("snap-copy", by_time->id);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(by_time->point, copy->point);
  EXPECT_EQ("v", copy->volume_name);
  EXPECT_EQ(by_time->time_ns, copy->time_ns);
  EXPECT_EQ(Status::Code::kAlreadyExists, store_->CopyPin("snap-lsn", by_time->id).status().code());
  EXPECT_EQ(Status::Code::kNotFound, store_->CopyPin("x", PinId(99)).status().code());
  ASSERT_TRUE(store_->Unpin(copy->id).ok());

  // Restore from the pin, after a reopen from the checkpoint.
  Open();
  ASSERT_EQ(2u, store_->ListPins().size());
  auto restored = store_->CloneFromPin("restored", by_lsn->id);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(old_data, ReadAll(restored->head, kLatestLsn, f->ino, 2 << 20));
  ASSERT_TRUE(store_->Write(restored->head, f->ino, 0, "new").ok());

  // Unpinning both: the clone still holds its branch point; nothing is pinned any more.
  ASSERT_TRUE(store_->Unpin(by_time->id).ok());
  ASSERT_TRUE(store_->Unpin(by_lsn->id).ok());
  EXPECT_EQ(Status::Code::kNotFound, store_->Unpin(by_lsn->id).code());
  EXPECT_EQ(Status::Code::kNotFound, store_->GetPin(by_lsn->id).status().code());
  rep = store_->Clean(co_);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(0u, rep->pinned_bytes);
  EXPECT_EQ("newooo", ReadAll(restored->head, kLatestLsn, f->ino, 6));
  Open();
  EXPECT_TRUE(store_->ListPins().empty());
  // Pin ids are not reused, even after a reopen with no pin left.
  auto again = store_->Pin("snap-time", restored->id, PinAt::Time(store_->NowNs()));
  ASSERT_TRUE(again.ok());
  EXPECT_GT(again->id, by_lsn->id);
}

TEST_F(PinTest, BadInputIsRefusedAndChangesNothing) {
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  Tick();
  ASSERT_TRUE(store_->Pin("p", vol->id, PinAt::Time(store_->NowNs())).ok());
  const Lsn last = store_->LastLsn();
  auto code = [&](const Result<PinInfo>& r) { return r.status().code(); };
  using C = Status::Code;
  EXPECT_EQ(C::kInvalidArgument, code(store_->Pin("", vol->id, PinAt::Time(now_))));
  EXPECT_EQ(C::kInvalidArgument,
            code(store_->Pin(std::string(1025, 'x'), vol->id, PinAt::Time(now_))));
  EXPECT_EQ(C::kAlreadyExists, code(store_->Pin("p", vol->id, PinAt::Time(now_))));
  EXPECT_EQ(C::kNotFound, code(store_->Pin("q", VolumeId(99), PinAt::Time(now_))));
  EXPECT_EQ(C::kNotFound, code(store_->Pin("q", VolumeId(99), PinAt::Head())));
  EXPECT_EQ(C::kInvalidArgument, code(store_->Pin("q", vol->id, PinAt::Time(now_ + kMs))));
  EXPECT_EQ(C::kInvalidArgument,
            code(store_->Pin("q", vol->id, PinAt::Time(vol->created_ns - 1))));
  EXPECT_EQ(C::kInvalidArgument,
            code(store_->Pin("q", vol->id, PinAt::AtLsn(Lsn(last.value + 1)))));
  // An LSN before the volume existed (another volume's record).
  Tick();
  auto other = store_->CreateVolume("w");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(C::kInvalidArgument, code(store_->Pin("q", other->id, PinAt::AtLsn(last))));
  // Before the retention floor, by time and by LSN.
  auto f = store_->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  const Lsn before_floor = store_->LastLsn();
  Tick();
  ASSERT_TRUE(store_->Write(vol->head, f->ino, 0, "x").ok());
  Tick();
  auto v = store_->SetRetention(vol->id, store_->NowNs());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(C::kInvalidArgument,
            code(store_->Pin("q", vol->id, PinAt::Time(v->retained_from_ns - 1))));
  EXPECT_EQ(C::kInvalidArgument, code(store_->Pin("q", vol->id, PinAt::AtLsn(before_floor))));
  EXPECT_EQ(C::kNotFound, store_->Unpin(PinId(77)).code());
  EXPECT_EQ(C::kNotFound, store_->CloneFromPin("c", PinId(77)).status().code());
  EXPECT_EQ(C::kAlreadyExists, store_->CloneFromPin("w", PinId(1)).status().code());
  EXPECT_EQ(C::kInvalidArgument, store_->CloneFromPin("", PinId(1)).status().code());
  const PinAt now = PinAt::Time(store_->NowNs());
  EXPECT_EQ(C::kInvalidArgument, store_->CheckPinBudget(vol->id, now, 0).status().code());
  EXPECT_EQ(C::kNotFound, store_->CheckPinBudget(VolumeId(99), now, 1).status().code());
  EXPECT_EQ(C::kInvalidArgument,
            store_->CheckPinBudget(vol->id, PinAt::AtLsn(before_floor), 1).status().code());
  EXPECT_EQ(1u, store_->ListPins().size());
  EXPECT_TRUE(store_->FindPin("p").ok());
  EXPECT_EQ(C::kNotFound, store_->FindPin("q").status().code());
}

TEST_F(PinTest, TheBudgetCheckCountsTheFloorAndTheNewPinsWorstCase) {
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  auto f = store_->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(store_->Write(vol->head, f->ino, 0, std::string(1 << 20, 'a')).ok());
  // Before any pass nothing is measured: the whole log counts, twice over.
  auto b = store_->CheckPinBudget(vol->id, Now(), 1ull << 40);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(store_->stats().log_bytes, b->floor_bytes);
  EXPECT_TRUE(b->fits);
  Tick();
  ASSERT_TRUE(store_->SetRetention(vol->id, store_->NowNs()).ok());
  ASSERT_TRUE(store_->Clean(co_).ok());
  b = store_->CheckPinBudget(vol->id, Now(), 2 << 20);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(uint64_t{1} << 20, b->floor_bytes);    // the head's data
  EXPECT_EQ(uint64_t{1} << 20, b->new_pin_bytes);  // a pin may come to hold all of it
  EXPECT_TRUE(b->fits);
  EXPECT_FALSE(store_->CheckPinBudget(vol->id, Now(), (2 << 20) - 1)->fits);
  // With a pin taken and the data overwritten, the floor holds both copies, and writes since
  // the pass count before the next one.
  const Lsn pinned = store_->LastLsn();
  Tick();  // later records stamped in the floor's nanosecond would move the floor's LSN
  ASSERT_TRUE(store_->Pin("p", vol->id, PinAt::AtLsn(pinned)).ok());
  Tick();
  ASSERT_TRUE(store_->Write(vol->head, f->ino, 0, std::string(1 << 20, 'b')).ok());
  b = store_->CheckPinBudget(vol->id, Now(), 3 << 20);
  EXPECT_TRUE(b->at_head);
  EXPECT_EQ(uint64_t{2} << 20, b->floor_bytes);
  EXPECT_FALSE(b->fits);
  // A pin of an earlier moment may read any version the volume keeps: its history bytes.
  b = store_->CheckPinBudget(vol->id, PinAt::AtLsn(pinned), 1ull << 40);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_FALSE(b->at_head);
  EXPECT_EQ((uint64_t{1} << 20) + (uint64_t{1} << 20), b->new_pin_bytes);  // 'a', then 'b'
  Tick();
  ASSERT_TRUE(store_->SetRetention(vol->id, store_->NowNs()).ok());
  auto rep = store_->Clean(co_);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(uint64_t{1} << 20, rep->pinned_stored_bytes);
  b = store_->CheckPinBudget(vol->id, Now(), 4 << 20);
  EXPECT_EQ(uint64_t{2} << 20, b->floor_bytes);
  EXPECT_EQ(uint64_t{1} << 20, b->new_pin_bytes);
  EXPECT_TRUE(b->fits);
}

// Pins taken while a writer overwrites the file and cleaning passes (floor at now) run: each
// pin reads, at the end, what it read when it was taken.
TEST(PinConcurrency, PinsTakenDuringWritesAndCleaningKeepWhatTheyRead) {
  rwd::testing::TempDir dir;
  StoreOptions o;
  o.dir = dir.path();
  o.segment_bytes = 256 << 10;
  auto store = std::move(Store::Open(o)).value();
  auto vol = store->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  auto f = store->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  constexpr size_t kBytes = 64 << 10;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string page(16384, static_cast<char>('a' + i % 26));
      if (!store->Write(vol->head, f->ino, (i % 4) * 16384ull, page).ok()) return;
    }
  });
  std::thread cleaner([&] {
    CleanOptions co;
    co.min_reclaim_bytes = 16 << 10;
    co.max_rewrite_bytes_per_s = 0;
    while (!stop.load()) {
      if (!store->SetRetention(vol->id, store->NowNs()).ok() || !store->Clean(co).ok()) return;
    }
  });
  std::vector<std::pair<PinInfo, std::string>> taken;
  for (int i = 0; i < 40; ++i) {
    // The head: a time or an LSN read before the call may fall below a floor raised meanwhile.
    auto p = store->Pin("p" + std::to_string(i), vol->id, PinAt::Head());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    std::string buf(kBytes, '?');
    auto n = store->Read(p->point.timeline, p->point.lsn, f->ino, 0, kBytes, buf.data());
    ASSERT_TRUE(n.ok());
    buf.resize(*n);
    taken.emplace_back(*p, buf);
    // Release an earlier one now and then (i / 2 is a different pin each time).
    if (i % 3 == 0) {
      ASSERT_TRUE(store->Unpin(taken[i / 2].first.id).ok());
    }
  }
  stop = true;
  writer.join();
  cleaner.join();
  ASSERT_TRUE(store->health().ok());
  CleanOptions co;
  co.max_rewrite_bytes_per_s = 0;
  ASSERT_TRUE(store->Clean(co).ok());
  int checked = 0;
  for (const auto& [p, bytes] : taken) {
    if (!store->GetPin(p.id).ok()) continue;
    std::string buf(kBytes, '?');
    auto n = store->Read(p.point.timeline, p.point.lsn, f->ino, 0, kBytes, buf.data());
    ASSERT_TRUE(n.ok());
    buf.resize(*n);
    EXPECT_EQ(bytes, buf) << "pin " << p.name;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

// A version-4 checkpoint (before pins) loads as one without pins, and the next checkpoint is
// version 5 with the pins made since.
TEST_F(PinTest, Version4CheckpointLoadsWithoutPins) {
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  auto f = store_->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(store_->Write(vol->head, f->ino, 0, "old").ok());
  store_.reset();
  const std::string path = dir_.path() + "/index.ckpt";
  auto bytes = ReadWholeFile(Env::Default(), path);
  ASSERT_TRUE(bytes.ok());
  auto version_of = [](const std::string& b) {
    uint32_t v = 0;
    std::memcpy(&v, b.data() + 8, 4);
    return v;
  };
  ASSERT_EQ(5u, version_of(*bytes));
  // Version 4 is version 5 without its last section (next pin id, pin count 0).
  std::string v4 = bytes->substr(0, bytes->size() - 4 - 16);
  const uint32_t four = 4;
  std::memcpy(v4.data() + 8, &four, 4);
  const uint32_t crc = crc32c::Mask(crc32c::Value(v4.data(), v4.size()));
  v4.append(reinterpret_cast<const char*>(&crc), 4);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(v4.data(), static_cast<std::streamsize>(v4.size()));
  }
  Open();
  ASSERT_TRUE(store_->recovery().loaded_checkpoint);
  EXPECT_EQ(0u, store_->recovery().records_replayed);
  EXPECT_TRUE(store_->ListPins().empty());
  auto pin = store_->Pin("p", vol->id, PinAt::AtLsn(store_->LastLsn()));
  ASSERT_TRUE(pin.ok()) << pin.status().ToString();
  ASSERT_TRUE(store_->Write(vol->head, f->ino, 0, "new").ok());
  store_.reset();
  bytes = ReadWholeFile(Env::Default(), path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(5u, version_of(*bytes));
  Open();
  ASSERT_TRUE(store_->recovery().loaded_checkpoint);
  EXPECT_EQ("old", ReadAll(pin->point.timeline, pin->point.lsn, f->ino, 3));
}

// Steps a crash through every I/O of one Pin, then of one Unpin (from the same files each
// time): after a power loss the store opens, the pin is there with its exact state or is not
// there at all, and the earlier pin is untouched.
TEST_F(PinTest, ACrashAtAnyStepOfPinOrUnpinLeavesItWholeOrAbsent) {
  const uint64_t seed = rwd::testing::TestSeed();
  RandomWorkload work(seed);
  std::mt19937_64 rng(seed);
  auto vol = store_->CreateVolume("v");
  ASSERT_TRUE(vol.ok());
  Model m;
  for (int i = 0; i < 150; ++i) ASSERT_TRUE(work.Step(*store_, vol->head, m));
  auto first = store_->Pin("first", vol->id, PinAt::AtLsn(store_->LastLsn()));
  ASSERT_TRUE(first.ok());
  const Model first_model = m;
  Tick();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(work.Step(*store_, vol->head, m));
  Tick();
  // The floor past the first pin: only the pin keeps its state through the passes below.
  ASSERT_TRUE(store_->SetRetention(vol->id, store_->NowNs()).ok());
  store_.reset();  // a checkpoint: every record so far durable

  const std::string start = dir_.path() + ".start";
  for (const bool unpin : {false, true}) {
    std::filesystem::remove_all(start);
    std::filesystem::copy(dir_.path(), start, std::filesystem::copy_options::recursive);
    bool completed = false;
    int steps = 0;
    for (int n = 0; n < 200 && !completed; ++n, ++steps) {
      std::filesystem::remove_all(dir_.path());
      std::filesystem::copy(start, dir_.path(), std::filesystem::copy_options::recursive);
      Open();
      if (HasFatalFailure()) return;
      env_.CrashAfter(n);
      Status s = unpin ? store_->Unpin(first->id)
                       : store_->Pin("second", vol->id, PinAt::AtLsn(store_->LastLsn())).status();
      completed = s.ok() && !env_.crashed();
      env_.SetActive(false);
      store_.reset();
      ASSERT_TRUE(env_.SimulateCrash(&rng, /*torn=*/n % 2 == 1).ok());
      env_.SetActive(true);
      Open();
      if (HasFatalFailure()) return;
      auto second = store_->FindPin("second");
      auto kept_first = store_->FindPin("first");
      if (!unpin) {
        ASSERT_TRUE(kept_first.ok()) << "crash after " << n << " I/Os";
        if (completed) {
          ASSERT_TRUE(second.ok()) << "a synced pin was lost";
        }
        if (second.ok()) {
          ASSERT_TRUE(PinMatches(*store_, second->id, m)) << "after " << n;
        }
      } else {
        ASSERT_TRUE(second.ok());
        if (completed) {
          ASSERT_FALSE(kept_first.ok()) << "a synced unpin was lost";
        }
        ASSERT_TRUE(PinMatches(*store_, second->id, m));
      }
      if (kept_first.ok()) {
          ASSERT_TRUE(PinMatches(*store_, first->id, first_model));
        }
      ASSERT_TRUE(store_->Clean(co_).ok());  // and what is pinned survives a pass
      if (kept_first.ok()) {
          ASSERT_TRUE(PinMatches(*store_, first->id, first_model));
        }
    }
    EXPECT_TRUE(completed) << "the operation never got through: raise the step limit";
    EXPECT_GT(steps, 1);
    // The next round starts from a store where the pin was made.
    store_.reset();
  }
  std::filesystem::remove_all(start);
}

}  // namespace
}  // namespace rwd::store

namespace rwd::store {
namespace {

// The child of the test below (run alone, through --gtest_filter, with REWIND_FAILPOINTS and
// REWIND_PIN_TEST_DIR set): opens the store there and pins, or copies or unpins pin 1, dying
// at the failpoint. Skipped when run in the ordinary way.
TEST(PinFailpointChild, PinOrUnpinUntilKilled) {
  const char* dir = std::getenv("REWIND_PIN_TEST_DIR");
  const char* op = std::getenv("REWIND_PIN_TEST_OP");
  if (dir == nullptr || op == nullptr) GTEST_SKIP() << "run by PinFailpoints only";
  StoreOptions o;
  o.dir = dir;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok());
  auto vol = (*store)->FindVolume("v");
  ASSERT_TRUE(vol.ok());
  if (std::string(op) == "unpin") {
    (void)(*store)->Unpin(PinId(1));
  } else if (std::string(op) == "copy") {
    (void)(*store)->CopyPin("copy", PinId(1));
  } else {
    (void)(*store)->Pin("p", vol->id, PinAt::AtLsn((*store)->LastLsn()));
  }
  FAIL() << "the failpoint did not fire";
}

// The failpoints of Pin, CopyPin and Unpin (for the kill matrix): a process killed there
// leaves the pin (its copy, its release) whole, since its one record is in the OS already.
TEST(PinFailpoints, AKillAtEachFailpointLeavesTheOperationWhole) {
  rwd::testing::TempDir dir;
  {
    StoreOptions o;
    o.dir = dir.path();
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok());
    auto vol = (*store)->CreateVolume("v");
    ASSERT_TRUE(vol.ok());
    auto f = (*store)->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*store)->Write(vol->head, f->ino, 0, "pinned").ok());
  }
  for (const std::string op : {"pin", "copy", "unpin"}) {
    const bool unpin = op == "unpin";
    const std::string name = "store.pin." + (op == "pin" ? std::string() : op + "_") +
                             "before_sync";
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::setenv("REWIND_FAILPOINTS", name.c_str(), 1);
      ::setenv("REWIND_PIN_TEST_DIR", dir.path().c_str(), 1);
      ::setenv("REWIND_PIN_TEST_OP", op.c_str(), 1);
      ::execl("/proc/self/exe", "store_test", "--gtest_filter=PinFailpointChild.*",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(child, ::waitpid(child, &status, 0));
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << name << ": the child was not killed at the failpoint (status " << status << ")";
    StoreOptions o;
    o.dir = dir.path();
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok());
    auto pin = (*store)->GetPin(PinId(1));
    if (!unpin) {
      ASSERT_TRUE(pin.ok()) << "the pin's record was written before the kill";
      std::string buf(6, '?');
      ASSERT_TRUE((*store)->Read(pin->point.timeline, pin->point.lsn, InodeId(2), 0, 6, buf.data())
                      .ok());
      EXPECT_EQ("pinned", buf);
    } else {
      EXPECT_EQ(Status::Code::kNotFound, pin.status().code());
    }
    if (op == "copy") {
      auto copy = (*store)->FindPin("copy");
      ASSERT_TRUE(copy.ok()) << "the copy's record was written before the kill";
      EXPECT_EQ(pin->point, copy->point);
    }
  }
}

}  // namespace
}  // namespace rwd::store
