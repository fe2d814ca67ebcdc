// Helpers for tests only: temporary directories removed on every exit path, seeded randomness
// whose seed is printed (set REWIND_SEED to replay a failure), and free TCP ports for servers.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
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

// Whether any TCP socket (listening or connected, IPv4 or IPv6) has `port` as its local port.
inline bool TcpPortInUse(int port) {
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local;
      fields >> slot >> local;  // "0100007F:1F90" or the IPv6 form, port in hex after ':'
      const size_t colon = local.rfind(':');
      if (colon != std::string::npos &&
          std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) {
        return true;
      }
    }
  }
  return false;
}

// A TCP port on 127.0.0.1 for a server a test starts (mariadbd), which binds it later. Taken
// from below the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), not from
// bind(port 0): a port in that range can become the local end of any client's outgoing
// connection before the server binds it, and bind() then fails even with SO_REUSEADDR (seen in
// CI). Checked against every TCP socket; the same scheme as tests/free_port.sh. 0 if none found.
inline int FreeTcpPort() {
  int lo = 32768, hi = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> lo >> hi;
  int first = 20000, last = lo - 200;  // room above for ports counted upward from this one
  if (last < first + 1000) first = hi + 1, last = 65000;  // an unusual range
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(first, last - 1);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = pick(rng);
    if (!TcpPortInUse(port)) return port;
  }
  return 0;
}

}  // namespace rwd::testing
