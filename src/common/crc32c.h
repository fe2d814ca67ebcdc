// CRC-32C (Castagnoli), as used by iSCSI, ext4 and LevelDB. Uses the SSE4.2 instruction when the
// CPU has it, a table otherwise; both give identical results. Thread-safe.
// Hand-written because Debian 12 ships no C/C++ crc32c library.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rwd::crc32c {

// Extends `crc` (the value of an earlier call, or 0 to start) over data[0, n).
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// The CRC of A followed by B, from crc_a = Value(A), crc_b = Value(B) and len_b = |B|: lets a
// caller checksum a large buffer before it knows the bytes that will precede it. O(log len_b).
uint32_t Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

// A stored CRC is masked, as in LevelDB, so that a CRC of data containing CRCs stays strong.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace rwd::crc32c
