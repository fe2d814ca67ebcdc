// The fixture of the store's rule tests (store_test.cc, store_log_test.cc,
// store_compress_test.cc; one binary: store_test): a store under /tmp on the
// fault-injecting Env, reopened with the options a test sets, and small helpers; it includes
// the headers the three files use.
#pragma once

#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "common/crc32c.h"
#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/record.h"

namespace rwd::store::testing {

using rwd::testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.dir = dir_.path();
    o.env = &env_;
    o.segment_bytes = segment_bytes_;
    o.compress = compress_;
    o.compress_inline = compress_inline_;
    o.background_compaction = background_compaction_;
    o.compress_min_bytes = 0;  // the small writes of these tests compressed too
    o.preallocate_segments = preallocate_;
    o.preallocate_below_bytes_per_sync = prealloc_below_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  VolumeInfo NewVolume(const std::string& name = "vol") {
    auto v = store_->CreateVolume(name);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return *v;
  }
  std::string ReadAll(TimelineId tl, Lsn lsn, InodeId ino) {
    auto a = store_->GetAttr(tl, lsn, ino);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    if (!a.ok()) return "";
    std::string out(a->size, '?');
    auto n = store_->Read(tl, lsn, ino, 0, out.size(), out.data());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (n.ok()) out.resize(*n);
    return out;
  }
  // Reopens the store with compression on; a new volume holding an empty file "f".
  std::pair<VolumeInfo, InodeId> CompressingStoreWithFile() {
    compress_ = true;
    Reopen();
    VolumeInfo v = NewVolume();
    return {v, NewFile(v.head, "f")};
  }
  // The machine loses power (no closing checkpoint; every unsynced byte is dropped), then the
  // store is opened again.
  void CrashMachineAndReopen(uint64_t seed) {
    env_.SetActive(false);
    store_.reset();
    std::mt19937_64 rng(seed);
    ASSERT_TRUE(env_.SimulateCrash(&rng, /*torn=*/false).ok());
    env_.SetActive(true);
    Reopen();
  }
  InodeId NewFile(TimelineId tl, const std::string& name, InodeId parent = kRootInode) {
    auto a = store_->Create(tl, parent, name, NodeType::kFile, 0644);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->ino : InodeId();
  }

  TempDir dir_;
  FaultInjectionEnv env_;
  uint64_t segment_bytes_ = 64ull << 20;
  bool compress_ = false;
  // The compression tests here test compression in the writing thread; those of background
  // compaction set this false.
  bool compress_inline_ = true;
  bool background_compaction_ = true;
  bool preallocate_ = true;
  uint64_t prealloc_below_ = 64 << 10;
  std::unique_ptr<Store> store_;
};

}  // namespace rwd::store::testing
