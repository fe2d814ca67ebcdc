#include "objstore/cold_tier.h"

#include <algorithm>
#include <cstring>

#include "common/crc32c.h"
#include "objstore/segment_uploader.h"

namespace rwd::objstore {
namespace {

// Reads one cold file through its tier's block cache.
class ColdReader : public store::ReadFile {
 public:
  ColdReader(ColdTier* tier, store::ColdFile file) : tier_(tier), file_(std::move(file)) {}

  Result<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
    if (offset >= file_.size) return size_t{0};
    n = static_cast<size_t>(std::min<uint64_t>(n, file_.size - offset));
    size_t done = 0;
    while (done < n) {
      const uint64_t at = offset + done;
      const uint64_t index = at / store::kColdBlockBytes;
      ASSIGN_OR_RETURN(std::shared_ptr<const std::string> block, tier_->Block(file_, index));
      const uint64_t in_block = at - index * store::kColdBlockBytes;
      const size_t len = static_cast<size_t>(std::min<uint64_t>(n - done, block->size() - in_block));
      std::memcpy(out + done, block->data() + in_block, len);
      done += len;
    }
    return n;
  }

 private:
  ColdTier* const tier_;
  const store::ColdFile file_;
};

}  // namespace

Result<store::ColdFile> FetchSegmentCrcs(S3Client* client, std::string_view store_id,
                                         uint32_t segment, uint32_t file_id) {
  const std::string crcs_name = SegmentCrcsObjectName(store_id, segment, file_id);
  Result<std::string> crcs = client->Get(crcs_name);
  if (crcs.ok()) {
    Result<store::ColdFile> f = store::DecodeColdMarker(*crcs, segment, file_id);
    if (!f.ok()) return f.status().WithContext(crcs_name);
    return f;
  }
  if (crcs.status().code() != Status::Code::kNotFound) return crcs.status();
  // Uploaded by a rewindd that did not publish .crcs: one whole GET, checked against the
  // checksum the uploader put in the object's metadata.
  const std::string name = SegmentObjectName(store_id, segment, file_id);
  ASSIGN_OR_RETURN(ObjectInfo head, client->Head(name));
  ASSIGN_OR_RETURN(std::string bytes, client->Get(name));
  store::ColdFile f{segment, file_id, bytes.size(), 0, {}};
  for (uint64_t off = 0; off < bytes.size(); off += store::kColdBlockBytes) {
    const size_t len = static_cast<size_t>(std::min(store::kColdBlockBytes, bytes.size() - off));
    f.block_crcs.push_back(crc32c::Value(bytes.data() + off, len));
    f.crc32c = crc32c::Extend(f.crc32c, bytes.data() + off, len);
  }
  if (head.metadata["rewind-size"] != std::to_string(f.size) ||
      head.metadata["rewind-crc32c"] != Crc32cHex(f.crc32c)) {
    return Status::Corruption(name + " does not match its rewind-size/rewind-crc32c metadata ('" +
                              head.metadata["rewind-size"] + "', '" +
                              head.metadata["rewind-crc32c"] + "')");
  }
  return f;
}

Result<std::unique_ptr<ColdTier>> ColdTier::Create(S3Client* client, std::string store_id,
                                                   ColdTierOptions options) {
  if (client == nullptr) return Status::InvalidArgument("ColdTier: no S3 client");
  if (store_id.size() != 32 ||
      !std::all_of(store_id.begin(), store_id.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return Status::InvalidArgument("ColdTier: store id must be 32 lowercase hex digits, got '" +
                                   store_id + "'");
  }
  return std::unique_ptr<ColdTier>(new ColdTier(client, std::move(store_id), options));
}

ColdTier::ColdTier(S3Client* client, std::string store_id, ColdTierOptions options)
    : client_(client), store_id_(std::move(store_id)), options_(options) {}

Status ColdTier::Verify(const store::ColdFile& file) {
  const std::string name = SegmentObjectName(store_id_, file.segment, file.file_id);
  ASSIGN_OR_RETURN(ObjectInfo head, client_->Head(name));
  const std::string crc = Crc32cHex(file.crc32c);
  if (head.size != file.size || head.metadata["rewind-crc32c"] != crc) {
    return Status::FailedPrecondition(name + " holds other bytes than the local file (size " +
                                      std::to_string(head.size) + " vs " +
                                      std::to_string(file.size) + ", crc32c '" +
                                      head.metadata["rewind-crc32c"] + "' vs '" + crc + "')");
  }
  return Status::Ok();
}

Result<std::shared_ptr<store::ReadFile>> ColdTier::Open(const store::ColdFile& file) {
  if (file.block_crcs.size() != (file.size + store::kColdBlockBytes - 1) / store::kColdBlockBytes) {
    return Status::InvalidArgument("cold segment " + std::to_string(file.segment) +
                                   ": block checksums do not cover its size");
  }
  return std::shared_ptr<store::ReadFile>(std::make_shared<ColdReader>(this, file));
}

Result<std::shared_ptr<const std::string>> ColdTier::Block(const store::ColdFile& file,
                                                           uint64_t index) {
  const Key key{file.segment, file.file_id, index};
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++cache_hits_;
      return it->second->second;
    }
  }
  // Fetched outside the lock: two readers missing the same block may both fetch it.
  const std::string name = SegmentObjectName(store_id_, file.segment, file.file_id);
  const uint64_t offset = index * store::kColdBlockBytes;
  const uint64_t length = std::min(store::kColdBlockBytes, file.size - offset);
  GetOptions get;
  get.range = ByteRange{offset, length};
  Result<std::string> bytes = client_->Get(name, get);
  ++cold_reads_;
  if (!bytes.ok()) {
    ++read_failures_;
    return bytes.status().WithContext("reading " + name + " bytes " + std::to_string(offset) +
                                      "+" + std::to_string(length));
  }
  cold_read_bytes_ += bytes->size();
  if (bytes->size() != length ||
      crc32c::Value(bytes->data(), bytes->size()) != file.block_crcs.at(index)) {
    ++read_failures_;
    return Status::Corruption(name + " bytes " + std::to_string(offset) + "+" +
                              std::to_string(length) +
                              " do not match the checksum the store kept when it evicted them");
  }
  auto block = std::make_shared<const std::string>(std::move(bytes).value());
  Insert(key, block);
  return block;
}

void ColdTier::Insert(const Key& key, std::shared_ptr<const std::string> block) {
  std::lock_guard<std::mutex> lk(mu_);
  if (index_.count(key)) return;
  cache_bytes_ += block->size();
  lru_.emplace_front(key, std::move(block));
  index_[key] = lru_.begin();
  while (cache_bytes_ > options_.cache_bytes && !lru_.empty()) {
    cache_bytes_ -= lru_.back().second->size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

store::SegmentTierStats ColdTier::stats() const {
  store::SegmentTierStats s;
  s.cold_reads = cold_reads_.load();
  s.cold_read_bytes = cold_read_bytes_.load();
  s.cache_hits = cache_hits_.load();
  s.read_failures = read_failures_.load();
  std::lock_guard<std::mutex> lk(mu_);
  s.cache_bytes = cache_bytes_;
  return s;
}

}  // namespace rwd::objstore
