#include "api/random_id.h"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace rwd::api {

Result<std::string> RandomString(std::string_view alphabet, size_t n) {
  if (alphabet.size() < 2 || alphabet.size() > 256) {
    return Status::InvalidArgument("RandomString: alphabet must have 2..256 characters");
  }
  // Accept bytes below the largest multiple of the alphabet size, so `b % size` is uniform.
  const unsigned limit = 256 - 256 % static_cast<unsigned>(alphabet.size());
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    if (RAND_bytes(buf, sizeof(buf)) != 1) {
      return Status::Unavailable("OpenSSL RAND_bytes failed: no secure random source");
    }
    for (unsigned char b : buf) {
      if (b >= limit) continue;
      out += alphabet[b % alphabet.size()];
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string RandomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    static std::atomic<uint64_t> counter{0};
    uint64_t t = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    uint64_t c = counter.fetch_add(1);
    for (int i = 0; i < 8; ++i) {
      b[i] = static_cast<unsigned char>(t >> (8 * i));
      b[8 + i] = static_cast<unsigned char>(c >> (8 * i));
    }
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(out, 36);
}

}  // namespace rwd::api
