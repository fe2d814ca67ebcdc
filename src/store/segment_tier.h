// SegmentTier: where the store reads closed log segment files it no longer keeps locally (a
// second, remote tier such as an object store; implemented in src/objstore, injected by rewindd
// through StoreOptions::tier). The store depends only on this interface.
//
// Eviction (Store::EvictColdSegments): a closed segment file is dropped locally only after
// Verify() confirmed the remote copy has its exact size and CRC-32C; the store then keeps a small
// marker (log/SSSSSSSS[-FFFFFFFFFF].cold, docs/format/log.md "Cold segments") holding the file's
// size, whole CRC and the CRC of every kColdBlockBytes block, and reads the file through Open().
// Every block a tier's reader returns must be checked against block_crcs: the store never
// reads a fetched byte that was not checked.
//
// Thread safety: implementations are called from any thread, concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/env.h"

namespace rwd::store {

// The unit of a cold read and of its checksums: a reader fetches whole aligned blocks (the
// last one shorter).
inline constexpr uint64_t kColdBlockBytes = 1ull << 20;

// One closed segment file kept only in the remote tier.
struct ColdFile {
  uint32_t segment = 0;
  uint32_t file_id = 0;  // == segment for a first-written file, else a cleaner rewrite
  uint64_t size = 0;     // bytes of the file (header + records)
  uint32_t crc32c = 0;   // of bytes [0, size)
  std::vector<uint32_t> block_crcs;  // CRC-32C of each kColdBlockBytes block of [0, size)
};

// What a tier did, for /metrics (counters since it was made).
struct SegmentTierStats {
  uint64_t cold_reads = 0;       // ranged GETs (blocks fetched)
  uint64_t cold_read_bytes = 0;  // bytes fetched by them
  uint64_t cache_hits = 0;       // blocks served from the local cache
  uint64_t cache_bytes = 0;      // bytes in the cache now
  uint64_t read_failures = 0;    // fetches that failed (unreachable, missing, bad checksum)
};

class SegmentTier {
 public:
  virtual ~SegmentTier() = default;
  // Ok when the remote tier holds file (segment, file_id) with exactly `size` bytes and CRC
  // `crc32c`; kNotFound when it does not hold it (not uploaded yet); kFailedPrecondition when
  // it holds other bytes under that name; kUnavailable (or another code) when it cannot say.
  // The store evicts only after Ok.
  virtual Status Verify(const ColdFile& file) = 0;
  // A reader of the remote copy. ReadAt returns the bytes or fails (kUnavailable: unreachable;
  // kNotFound: the object is gone; kCorruption: fetched bytes do not match block_crcs): never
  // unchecked or wrong bytes. The reader may outlive nothing but the tier.
  virtual Result<std::shared_ptr<ReadFile>> Open(const ColdFile& file) = 0;
  virtual SegmentTierStats stats() const = 0;
};

// The marker file's bytes for `file` and back (docs/format/log.md, "Cold segments").
std::string EncodeColdMarker(const ColdFile& file);
// kCorruption for anything but a whole, checksummed marker of (segment, file_id).
Result<ColdFile> DecodeColdMarker(std::string_view bytes, uint32_t segment, uint32_t file_id);

}  // namespace rwd::store
