#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace rwd::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82f63b78u;  // reflected Castagnoli polynomial

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();

// Polynomial arithmetic modulo the Castagnoli polynomial, in the reflected bit order the CRC
// register uses (bit 31 is x^0). The register after n more zero bytes is the register times
// x^(8n), which is what Combine and the interleaved hardware loop need.
uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;  // b *= x
  }
  return product;
}

// x^(8 * n) mod P, by squaring: powers[k] = x^(8 * 2^k).
uint32_t XPow8N(uint64_t n) {
  static const std::array<uint32_t, 64> powers = [] {
    std::array<uint32_t, 64> p{};
    p[0] = 1u << 23;  // x^8
    for (size_t k = 1; k < p.size(); ++k) p[k] = MultiplyModP(p[k - 1], p[k - 1]);
    return p;
  }();
  uint32_t result = 1u << 31;  // x^0
  for (size_t k = 0; n != 0; ++k, n >>= 1) {
    if (n & 1) result = MultiplyModP(powers[k], result);
  }
  return result;
}

uint32_t ExtendTable(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

#if defined(__x86_64__)
// Three independent streams hide the crc32 instruction's 3-cycle latency (one chain alone runs
// at a third of the instruction's throughput); the streams are joined by multiplying with
// x^(8 * kStripe). Large buffers (16 KiB pages) are the common case in the store.
constexpr size_t kStripe = 4096;

__attribute__((target("sse4.2"))) uint32_t ExtendHw(uint32_t crc, const uint8_t* p, size_t n) {
  static const uint32_t stripe_shift = XPow8N(kStripe);
  uint64_t c = static_cast<uint32_t>(~crc);
  while (n >= 3 * kStripe) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < kStripe; i += 8) {
      uint64_t v0, v1, v2;
      std::memcpy(&v0, p + i, 8);
      std::memcpy(&v1, p + kStripe + i, 8);
      std::memcpy(&v2, p + 2 * kStripe + i, 8);
      c = _mm_crc32_u64(c, v0);
      c1 = _mm_crc32_u64(c1, v1);
      c2 = _mm_crc32_u64(c2, v2);
    }
    uint32_t joined = MultiplyModP(stripe_shift, static_cast<uint32_t>(c)) ^
                      static_cast<uint32_t>(c1);
    joined = MultiplyModP(stripe_shift, joined) ^ static_cast<uint32_t>(c2);
    c = joined;
    p += 3 * kStripe;
    n -= 3 * kStripe;
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --n;
  }
  return ~c32;
}
bool HasHw() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
#if defined(__x86_64__)
  if (HasHw()) return ExtendHw(crc, p, n);
#endif
  return ExtendTable(crc, p, n);
}

uint32_t Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  // Value(A||B) = Value(A) shifted past |B| zero bytes, xor Value(B): the pre- and
  // post-inversions of both sides cancel.
  return MultiplyModP(XPow8N(len_b), crc_a) ^ crc_b;
}

}  // namespace rwd::crc32c
