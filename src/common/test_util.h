// Helpers for tests only: temporary directories removed on every exit path, and seeded
// randomness whose seed is printed (set REWIND_SEED to replay a failure).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace rwd::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rewind-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (!p) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The seed for this test: REWIND_SEED if set, else random; printed so a failure can be replayed.
inline uint64_t TestSeed() {
  uint64_t seed;
  if (const char* s = std::getenv("REWIND_SEED")) {
    seed = std::strtoull(s, nullptr, 10);
  } else {
    seed = std::random_device{}();
    seed = (seed << 32) ^ std::random_device{}();
  }
  std::printf("seed: REWIND_SEED=%llu\n", static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

}  // namespace rwd::testing
