// ColdTier: the object store as the store's remote tier (store::SegmentTier): the store evicts a
// closed segment file once Verify() found it in the bucket, and reads it back through Open()'s
// reader by ranged GETs of the segment's object (layout v1, docs/format/object-store.md).
//
// Reads fetch whole store::kColdBlockBytes blocks (the last one shorter), check each against its
// CRC-32C from the store's marker (a mismatch is kCorruption, the block is not cached), and keep
// them in a bounded in-memory LRU cache shared by every file of the tier, so that a backtrack or
// a clone that reads the same old pages again costs one GET per block. A GET that fails fails the
// read with the client's code (kUnavailable when the bucket cannot be reached, kNotFound when the
// object is gone): never unchecked bytes.
//
// Thread safety: every method, and every reader it hands out, may be called from any thread.
// Readers hold the tier (not owned): the tier must outlive the store that uses it.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "common/status.h"
#include "objstore/s3_client.h"
#include "store/segment_tier.h"

namespace rwd::objstore {

struct ColdTierOptions {
  uint64_t cache_bytes = 256ull << 20;  // fetched blocks kept in memory at most
};

// The block checksums of another store's segment file (segment, file_id), for a peer that reads
// it without local bytes: its `.crcs` object (SegmentCrcsObjectName) decoded and checked; for a
// segment uploaded before .crcs existed (none beside it), the segment is fetched whole once and
// its checksums computed, accepted only if its size and CRC-32C are those of the object's
// x-amz-meta-rewind-size / rewind-crc32c. kNotFound when the segment object is absent;
// kCorruption for a .crcs or a segment that does not check; else the client's code.
Result<store::ColdFile> FetchSegmentCrcs(S3Client* client, std::string_view store_id,
                                         uint32_t segment, uint32_t file_id);

class ColdTier : public store::SegmentTier {
 public:
  // client: not owned, outlives the tier. store_id: the store whose log/ objects are read (32
  // lowercase hex digits: the shipper's). kInvalidArgument for a null client or a bad id.
  static Result<std::unique_ptr<ColdTier>> Create(S3Client* client, std::string store_id,
                                                  ColdTierOptions options = {});

  // HEAD of the segment file's object: Ok when its size and x-amz-meta-rewind-crc32c are
  // file's; kNotFound when absent; kFailedPrecondition for other bytes; else the client's code.
  Status Verify(const store::ColdFile& file) override;
  Result<std::shared_ptr<store::ReadFile>> Open(const store::ColdFile& file) override;
  store::SegmentTierStats stats() const override;

  // Block `index` of `file` (checked), from the cache or one ranged GET. For the readers.
  Result<std::shared_ptr<const std::string>> Block(const store::ColdFile& file, uint64_t index);

 private:
  ColdTier(S3Client* client, std::string store_id, ColdTierOptions options);
  using Key = std::tuple<uint32_t, uint32_t, uint64_t>;  // segment, file id, block
  void Insert(const Key& key, std::shared_ptr<const std::string> block);

  S3Client* const client_;
  const std::string store_id_;
  const ColdTierOptions options_;

  mutable std::mutex mu_;  // guards the cache
  std::list<std::pair<Key, std::shared_ptr<const std::string>>> lru_;  // most recent first
  std::map<Key, decltype(lru_)::iterator> index_;
  uint64_t cache_bytes_ = 0;

  std::atomic<uint64_t> cold_reads_{0}, cold_read_bytes_{0}, cache_hits_{0}, read_failures_{0};
};

}  // namespace rwd::objstore
