// Compression: inline on the write path, and of closed segments in the background (with
// crashes at every step of a pass); compressed versions read back exactly at every LSN.
#include "store/store_test_fixture.h"

namespace rwd::store {
namespace {

// The fixture (StoreTest) of store_test_fixture.h.
using namespace ::rwd::store::testing;

TEST_F(StoreTest, CompressionLeavesSmallWritesRaw) {
  // Production options: nothing is compressed on the write path (closed segments are, in the
  // background). Inline, small writes (redo-log appends on a commit's path) stay raw.
  for (bool in_line : {false, true}) {
    SCOPED_TRACE(in_line ? "inline" : "background");
    store_.reset();
    std::filesystem::remove_all(dir_.path());
    StoreOptions o;
    o.dir = dir_.path();
    o.env = &env_;
    o.compress = true;
    o.compress_inline = in_line;
    auto opened = Store::Open(o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    auto v = NewVolume();
    InodeId f = NewFile(v.head, "f");
    ASSERT_TRUE(store_->Write(v.head, f, 0, std::string(4096, 'r')).ok());
    StoreStats st = store_->stats();
    EXPECT_EQ(st.write_bytes, st.write_stored_bytes);
    ASSERT_TRUE(store_->Write(v.head, f, 16384, std::string(16384, 'p')).ok());
    st = store_->stats();
    if (in_line) {
      EXPECT_LT(st.write_stored_bytes, st.write_bytes - 4096);  // the page went compressed
    } else {
      EXPECT_EQ(st.write_bytes, st.write_stored_bytes);
    }
    std::string expect =
        std::string(4096, 'r') + std::string(12288, '\0') + std::string(16384, 'p');
    EXPECT_EQ(expect, ReadAll(v.head, kLatestLsn, f));
  }
}

// ---- Compression off the write path: closed segments compressed in the background ----

// Compressible 16 KiB pages: digits with a dash every 12 bytes (about half when compressed).
std::string DigitPage(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string page(16384, '-');
  for (size_t k = 0; k < page.size(); ++k) {
    if (k % 12 != 11) page[k] = static_cast<char>('0' + rng() % 10);
  }
  return page;
}

// Writes 160 versions of pages of one file (16 KiB pages, 4 KiB pieces, 300-byte appends at
// odd offsets) and returns the file's content after each write, by LSN.
std::map<uint64_t, std::string> WriteVersions(Store& store, TimelineId tl, InodeId f) {
  std::map<uint64_t, std::string> at;
  std::string content;
  for (int i = 0; i < 160; ++i) {
    std::string data = DigitPage(i);
    uint64_t off = (i * 7 % 24) * 16384ull;
    if (i % 5 == 1) data.resize(4096), off += 4096 * (i % 4);
    if (i % 5 == 2) data.resize(300), off = content.size();
    auto lsn = store.Write(tl, f, off, data);
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    if (!lsn.ok()) return at;
    if (content.size() < off + data.size()) content.resize(off + data.size(), '\0');
    content.replace(off, data.size(), data);
    at[lsn->value] = content;
  }
  return at;
}

TEST_F(StoreTest, ClosedSegmentsAreCompressedAndReadTheSameAtEveryLsn) {
  compress_ = true;
  compress_inline_ = false;
  segment_bytes_ = 256 << 10;
  Reopen();
  VolumeInfo v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  const auto versions = WriteVersions(*store_, v.head, f);
  StoreStats st = store_->stats();
  EXPECT_EQ(st.write_bytes, st.write_stored_bytes) << "appended raw, off the write path";
  ASSERT_GT(st.segments, 4u);
  // What the background thread has not done yet is done now.
  auto done = store_->CompactSegments();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  st = store_->stats();
  EXPECT_EQ(st.segments - 1, st.segments_compacted) << "every closed segment, once";
  EXPECT_EQ(0u, st.compaction_errors);
  EXPECT_GT(st.compaction_saved_bytes, st.write_bytes / 4);
  EXPECT_LT(st.log_bytes, st.write_bytes * 3 / 4);
  auto again = store_->CompactSegments();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(0u, *again) << "a compacted segment is not compacted again";
  auto check = [&](const char* when) {
    for (const auto& [lsn, content] : versions) {
      ASSERT_EQ(content, ReadAll(v.head, Lsn(lsn), f)) << when << ", LSN " << lsn;
    }
  };
  check("compacted");
  Reopen();  // from the checkpoint that names the compacted files
  EXPECT_TRUE(store_->recovery().loaded_checkpoint);
  check("reopened");
  store_.reset();
  ASSERT_TRUE(env_.RemoveFile(dir_.path() + "/index.ckpt").ok());
  Reopen();  // replaying the compacted segments
  EXPECT_FALSE(store_->recovery().loaded_checkpoint);
  EXPECT_FALSE(store_->recovery().tail_cut);
  check("replayed");
  // The cleaner keeps compressed records as they are and compresses what it rewrites.
  auto r = store_->Clean();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  check("cleaned");
}

// A machine crash at every I/O of a compaction pass: the store opens on what is left with
// every synced state readable, whichever of the old and new files each segment ends with.
TEST_F(StoreTest, ACrashAtAnyStepOfCompactionLosesNothing) {
  compress_ = true;
  compress_inline_ = false;
  background_compaction_ = false;  // every I/O from this thread: crash steps are repeatable
  preallocate_ = false;
  segment_bytes_ = 256 << 10;
  Reopen();
  VolumeInfo v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  const auto versions = WriteVersions(*store_, v.head, f);
  ASSERT_TRUE(store_->Sync().ok());
  store_.reset();
  const std::string start = dir_.path() + ".start";
  std::filesystem::remove_all(start);
  std::filesystem::copy(dir_.path(), start, std::filesystem::copy_options::recursive);
  std::mt19937_64 rng(rwd::testing::TestSeed());
  bool completed = false;
  int steps = 0;
  for (int n = 0; n < 500 && !completed; ++n, ++steps) {
    std::filesystem::remove_all(dir_.path());
    std::filesystem::copy(start, dir_.path(), std::filesystem::copy_options::recursive);
    Reopen();
    env_.CrashAfter(n);
    auto done = store_->CompactSegments();
    completed = done.ok() && !env_.crashed();
    env_.SetActive(false);
    store_.reset();
    ASSERT_TRUE(env_.SimulateCrash(&rng, /*torn=*/n % 2 == 1).ok());
    env_.SetActive(true);
    Reopen();
    for (const auto& [lsn, content] : versions) {
      ASSERT_EQ(content, ReadAll(v.head, Lsn(lsn), f))
          << "crash after " << n << " I/Os of compaction, LSN " << lsn;
    }
  }
  std::filesystem::remove_all(start);
  EXPECT_TRUE(completed) << "compaction never got through: raise the step limit";
  std::printf("crash steps: %d\n", steps);
}

// Text that compresses about as a sysbench table page does (digits and dashes).
std::string SysbenchLikeText(std::mt19937_64& rng, size_t n) {
  std::string s(n, '-');
  for (size_t i = 0; i < n; ++i) {
    if (i % 12 != 11) s[i] = static_cast<char>('0' + rng() % 10);
  }
  return s;
}

// Compressed versions read back exactly at every LSN, for reads of any range: unaligned
// multi-page writes, overwrites inside a compressed chunk (one chunk then serves several pieces
// of a read), truncation, holes; live, after a reopen from the checkpoint, and after a full
// replay, and with compression switched off again (the log says how each record is stored).
TEST_F(StoreTest, CompressedVersionsReadBackAtEveryLsn) {
  const uint64_t seed = rwd::testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto [v, f] = CompressingStoreWithFile();
  std::vector<std::pair<Lsn, std::string>> states;
  std::string model;
  for (int i = 0; i < 200; ++i) {
    const int op = static_cast<int>(rng() % 10);
    if (op == 0) {
      const uint64_t size = rng() % 200000;
      SetAttrRequest r;
      r.size = size;
      ASSERT_TRUE(store_->SetAttr(v.head, f, r).ok());
      model.resize(size, '\0');
    } else {
      const uint64_t off = op < 5 ? rng() % 200000 : (rng() % 12) * 16384;
      const size_t len = op < 3 ? 1 + rng() % 300 : 1 + rng() % 100000;
      std::string data = rng() % 4 == 0 ? std::string(len, static_cast<char>(rng()))
                                        : SysbenchLikeText(rng, len);
      ASSERT_TRUE(store_->Write(v.head, f, off, data).ok());
      if (model.size() < off + len) model.resize(off + len, '\0');
      model.replace(off, len, data);
    }
    states.emplace_back(store_->LastLsn(), model);
  }
  const StoreStats st = store_->stats();
  EXPECT_LT(st.write_stored_bytes, st.write_bytes / 2) << "seed " << seed;
  auto check = [&](const char* when) {
    for (const auto& [lsn, m] : states) {
      ASSERT_EQ(m, ReadAll(v.head, lsn, f)) << when << " lsn " << lsn.value << " seed " << seed;
      for (int k = 0; k < 5 && !m.empty(); ++k) {
        const uint64_t off = rng() % m.size();
        const size_t len = 1 + rng() % 40000;
        std::string buf(len, '?');
        auto n = store_->Read(v.head, lsn, f, off, len, buf.data());
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        buf.resize(*n);
        ASSERT_EQ(m.substr(off, len), buf) << when << " lsn " << lsn.value << " off " << off
                                           << " seed " << seed;
      }
    }
  };
  check("live");
  Reopen();
  ASSERT_TRUE(store_->recovery().loaded_checkpoint);
  check("from the checkpoint");
  store_.reset();
  ASSERT_TRUE(std::filesystem::remove(dir_.path() + "/index.ckpt"));
  compress_ = false;
  Reopen();
  ASSERT_FALSE(store_->recovery().loaded_checkpoint);
  check("after a full replay, compression off");
}

// What does not pay is stored as it came: random bytes, and writes too small to bother.
TEST_F(StoreTest, IncompressibleDataIsStoredRaw) {
  const uint64_t seed = rwd::testing::TestSeed();
  std::mt19937_64 rng(seed);
  auto [v, f] = CompressingStoreWithFile();
  std::string random(65536, '\0');
  for (auto& c : random) c = static_cast<char>(rng());
  const uint64_t log_before = store_->stats().log_bytes;
  ASSERT_TRUE(store_->Write(v.head, f, 0, random).ok());
  ASSERT_TRUE(store_->Write(v.head, f, 70000, std::string(100, 'z')).ok());  // below the minimum
  StoreStats st = store_->stats();
  EXPECT_EQ(st.write_bytes, st.write_stored_bytes);
  EXPECT_EQ(log_before + 2 * kWriteDataOffset + 65536 + 100, st.log_bytes);
  // A compressible write after them is compressed, and all read back.
  const std::string text = SysbenchLikeText(rng, 65536);
  ASSERT_TRUE(store_->Write(v.head, f, 131072, text).ok());
  st = store_->stats();
  EXPECT_LE(st.write_stored_bytes - (65536 + 100), 65536 / 8 * 7);
  std::string all = ReadAll(v.head, kLatestLsn, f);
  ASSERT_EQ(196608u, all.size());
  EXPECT_EQ(random, all.substr(0, 65536));
  EXPECT_EQ(std::string(70000 - 65536, '\0'), all.substr(65536, 70000 - 65536));
  EXPECT_EQ(std::string(100, 'z'), all.substr(70000, 100));
  EXPECT_EQ(std::string(131072 - 70100, '\0'), all.substr(70100, 131072 - 70100));
  EXPECT_EQ(text, all.substr(131072));
}

// A version-2 checkpoint (before compressed extents existed) still loads: its extents are
// byte-identical to version 3's without compression.
TEST_F(StoreTest, Version2CheckpointStillLoads) {
  env_.SetClock(1'800'000'000'000'000'000);  // every record in one second: one activity bucket
  auto v = NewVolume();
  InodeId f = NewFile(v.head, "f");
  ASSERT_TRUE(store_->Write(v.head, f, 100, std::string(40000, 'q')).ok());
  store_.reset();  // checkpoint (version 5)
  const std::string path = dir_.path() + "/index.ckpt";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // Version 5 ends with the activity summary (here: fine_from, one timeline, one bucket) and
  // the pins (next pin id, no pin).
  const size_t summary = 8 + 8 + (8 + 8 + 8 + 24) + 8 + 8;
  ASSERT_GT(bytes.size(), 16u + summary);
  bytes.erase(bytes.size() - 4 - summary, summary);
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  ASSERT_EQ(5u, version);
  version = 2;
  std::memcpy(bytes.data() + 8, &version, 4);
  const uint32_t crc = crc32c::Mask(crc32c::Value(bytes.data(), bytes.size() - 4));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  Reopen();
  ASSERT_TRUE(store_->recovery().loaded_checkpoint);
  EXPECT_EQ(0u, store_->recovery().records_replayed);
  EXPECT_EQ(std::string(100, '\0') + std::string(40000, 'q'), ReadAll(v.head, kLatestLsn, f));
}

}  // namespace
}  // namespace rwd::store
