// Test helpers of src/objstore (test binaries only): CephTest, a fixture whose client talks to
// the real radosgw of tests/objstore/ceph.sh (REWIND_S3_ENV names its s3.env; without it every
// test fails, loudly), and SmallStore, a real store with small segments to upload.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "objstore/s3_client.h"
#include "objstore/shipper.h"
#include "store/store.h"

namespace rwd::objstore::testing {

namespace fs = std::filesystem;

inline std::map<std::string, std::string> ReadEnvFile() {
  std::map<std::string, std::string> vars;
  const char* path = std::getenv("REWIND_S3_ENV");
  if (path == nullptr) return vars;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return vars;
}

class CephTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = ReadEnvFile();
    ASSERT_FALSE(env_["S3_ENDPOINT"].empty())
        << "no Ceph: REWIND_S3_ENV must name the s3.env of tests/objstore/ceph.sh (run via ctest)";
    // Each test its own prefix, so that tests never see each other's keys.
    const std::string prefix = std::string("t-") + std::to_string(::getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto cfg = MakeS3Config("s3://" + env_["S3_BUCKET"] + "/" + prefix, env_["S3_ENDPOINT"],
                            env_["S3_REGION"]);
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    cfg->part_size = 5 << 20;
    cfg->multipart_threshold = 5 << 20;
    config_ = *cfg;
    client_ = MakeClient(config_, GoodCredentials());
  }

  Credentials GoodCredentials() {
    return Credentials{env_["AWS_ACCESS_KEY_ID"], env_["AWS_SECRET_ACCESS_KEY"], "", "s3.env"};
  }

  static std::unique_ptr<S3Client> MakeClient(const S3Config& cfg, const Credentials& creds) {
    auto c = S3Client::Create(cfg, creds);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  static std::string RandomBytes(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t v = rng();
      for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
    }
    return s;
  }

  std::map<std::string, std::string> env_;
  S3Config config_;
  std::unique_ptr<S3Client> client_;
};

inline fs::path TempDir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() /
               ("objstore_" + tag + "_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A real store with several closed segments (small segments), a checkpoint, and its writes;
// `gate` (not owned), if any, is its StoreOptions::write_gate.
struct SmallStore {
  explicit SmallStore(const fs::path& dir, store::WriteGate* gate = nullptr) {
    store::StoreOptions o;
    o.dir = dir.string();
    o.segment_bytes = 256 << 10;
    o.write_gate = gate;
    auto s = store::Store::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(*s);
    auto v = store->CreateVolume("vol");
    EXPECT_TRUE(v.ok());
    tl = v->head;
    auto f = store->Create(tl, store::kRootInode, "data", store::NodeType::kFile, 0644);
    EXPECT_TRUE(f.ok());
    ino = f->ino;
  }
  // Appends `bytes` of random data in 16 KiB writes, then checkpoints.
  void Grow(size_t bytes, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string chunk(16 << 10, '\0');
    for (size_t done = 0; done < bytes; done += chunk.size()) {
      for (char& c : chunk) c = static_cast<char>(rng());
      ASSERT_TRUE(store->Write(tl, ino, offset, chunk).ok());
      offset += chunk.size();
    }
    ASSERT_TRUE(store->Checkpoint().ok());
  }
  std::unique_ptr<store::Store> store;
  store::TimelineId tl;
  store::InodeId ino;
  uint64_t offset = 0;
};

// What a shipper reads of `s` (as rewindd's ShipperLog): its durable log and closed files.
inline LogSnapshot ShipperLogOf(const store::Store& s) {
  store::DurableLog d = s.DurableLogState();
  LogSnapshot snap{d.lsn.value, d.segment, d.offset, d.active_segment, d.active_path, {}};
  for (const store::LogFileInfo& f : d.closed) {
    snap.closed.push_back(LocalSegmentFile{f.segment, f.file_id, f.path, f.size, f.cold});
  }
  return snap;
}

}  // namespace rwd::objstore::testing
