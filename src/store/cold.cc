// Cold segments: closed log files evicted to a remote tier (segment_tier.h), their markers
// (docs/format/log.md, "Cold segments") and Store::EvictColdSegments.
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "common/crc32c.h"
#include "common/failpoint.h"
#include "store/segment_tier.h"
#include "store/store_impl.h"

namespace rwd::store {
namespace {

constexpr char kColdMagic[8] = {'R', 'W', 'N', 'D', 'C', 'O', 'L', 'D'};
constexpr uint32_t kColdVersion = 1;
// magic, version, segment, file id, size, crc, block size, block count; then the blocks' CRCs
// and a masked CRC of everything before it.
constexpr size_t kColdFixed = 8 + 4 + 4 + 4 + 8 + 4 + 4 + 4;

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}
template <typename T>
T Get(std::string_view in, size_t* pos) {
  T v;
  std::memcpy(&v, in.data() + *pos, sizeof(v));
  *pos += sizeof(v);
  return v;
}

}  // namespace

std::string EncodeColdMarker(const ColdFile& file) {
  std::string out(kColdMagic, sizeof(kColdMagic));
  Put<uint32_t>(&out, kColdVersion);
  Put<uint32_t>(&out, file.segment);
  Put<uint32_t>(&out, file.file_id);
  Put<uint64_t>(&out, file.size);
  Put<uint32_t>(&out, file.crc32c);
  Put<uint32_t>(&out, static_cast<uint32_t>(kColdBlockBytes));
  Put<uint32_t>(&out, static_cast<uint32_t>(file.block_crcs.size()));
  for (uint32_t c : file.block_crcs) Put<uint32_t>(&out, c);
  Put<uint32_t>(&out, crc32c::Mask(crc32c::Value(out.data(), out.size())));
  return out;
}

Result<ColdFile> DecodeColdMarker(std::string_view bytes, uint32_t segment, uint32_t file_id) {
  const std::string what = "cold segment marker of segment " + std::to_string(segment) +
                           " file " + std::to_string(file_id);
  if (bytes.size() < kColdFixed + 4 || std::memcmp(bytes.data(), kColdMagic, 8) != 0) {
    return Status::Corruption(what + ": not a marker");
  }
  size_t pos = 8;
  const uint32_t version = Get<uint32_t>(bytes, &pos);
  ColdFile f;
  f.segment = Get<uint32_t>(bytes, &pos);
  f.file_id = Get<uint32_t>(bytes, &pos);
  f.size = Get<uint64_t>(bytes, &pos);
  f.crc32c = Get<uint32_t>(bytes, &pos);
  const uint32_t block = Get<uint32_t>(bytes, &pos);
  const uint32_t blocks = Get<uint32_t>(bytes, &pos);
  if (version != kColdVersion || block != kColdBlockBytes) {
    return Status::Corruption(what + ": unknown version or block size");
  }
  if (bytes.size() != kColdFixed + 4ull * blocks + 4) {
    return Status::Corruption(what + ": wrong length");
  }
  for (uint32_t i = 0; i < blocks; ++i) f.block_crcs.push_back(Get<uint32_t>(bytes, &pos));
  const uint32_t stored = Get<uint32_t>(bytes, &pos);
  if (crc32c::Unmask(stored) != crc32c::Value(bytes.data(), bytes.size() - 4)) {
    return Status::Corruption(what + ": checksum mismatch");
  }
  if (f.segment != segment || f.file_id != file_id ||
      blocks != (f.size + kColdBlockBytes - 1) / kColdBlockBytes) {
    return Status::Corruption(what + ": names another file or size");
  }
  return f;
}

std::string Store::Impl::ColdPath(uint32_t seg, uint32_t file_id) const {
  std::string path = FilePath(seg, file_id);
  return path.substr(0, path.size() - 4) + ".cold";
}

Result<std::shared_ptr<ReadFile>> Store::Impl::OpenLogFile(uint32_t seg, uint32_t file_id,
                                                           const ColdFile* cold,
                                                           uint64_t* size) {
  if (cold == nullptr) {
    const std::string path = FilePath(seg, file_id);
    ASSIGN_OR_RETURN(*size, env_->FileSize(path));
    ASSIGN_OR_RETURN(std::unique_ptr<ReadFile> file, env_->OpenRead(path));
    return std::shared_ptr<ReadFile>(std::move(file));
  }
  if (options_.tier == nullptr) {
    return Status::FailedPrecondition(
        "segment " + std::to_string(seg) + " of the log in " + options_.dir +
        " was evicted to the object store (" + ColdPath(seg, file_id) +
        "): open the store with its remote tier (rewindd --object-store)");
  }
  *size = cold->size;
  return options_.tier->Open(*cold);
}

Result<std::string> Store::Impl::ReadLogFile(uint32_t file_id, uint64_t size) const {
  ASSIGN_OR_RETURN(std::shared_ptr<ReadFile> file, FileReader(file_id));
  std::string buf(size, '\0');
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, size, buf.data()));
  if (n != size) {
    return Status::Corruption("log file " + std::to_string(file_id) + " is shorter (" +
                              std::to_string(n) + " bytes) than the " + std::to_string(size) +
                              " the store knows");
  }
  return buf;
}

Result<EvictReport> Store::Impl::Evict(uint64_t local_budget_bytes) {
  if (options_.tier == nullptr) {
    return Status::FailedPrecondition("evicting segments needs a remote tier (StoreOptions::tier)");
  }
  // A cleaning pass replaces files: never at the same time as an eviction.
  std::lock_guard<std::mutex> cl(clean_mu_);
  std::map<uint32_t, SegmentFile> files;
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    files = seg_files_;
  }
  EvictReport report;
  const uint32_t active = files.empty() ? 0 : files.rbegin()->first;
  uint64_t local = log_bytes_.load() - cold_bytes_.load();
  std::string buf;
  bool removed = false;
  for (const auto& [seg, f] : files) {
    if (local <= local_budget_bytes) break;
    if (seg >= active || f.size == 0 || f.cold) continue;
    // Checksum the local bytes: the tier must hold exactly these, and cold reads check the
    // fetched blocks against them.
    const std::string path = FilePath(seg, f.file_id);
    ASSIGN_OR_RETURN(std::unique_ptr<ReadFile> file, env_->OpenRead(path));
    ColdFile cold{seg, f.file_id, f.size, 0, {}};
    for (uint64_t off = 0; off < f.size; off += kColdBlockBytes) {
      const uint64_t len = std::min(kColdBlockBytes, f.size - off);
      buf.resize(len);
      ASSIGN_OR_RETURN(size_t n, file->ReadAt(off, len, buf.data()));
      if (n != len) return Status::IOError(path + " is shorter than its segment's records");
      cold.block_crcs.push_back(crc32c::Value(buf.data(), len));
      cold.crc32c = crc32c::Extend(cold.crc32c, buf.data(), len);
    }
    Status verified = options_.tier->Verify(cold);
    if (!verified.ok()) {
      ++report.deferred;
      report.last_deferral = "segment " + std::to_string(seg) + ": " + verified.ToString();
      continue;
    }
    RETURN_IF_ERROR(WriteFileAtomic(env_, ColdPath(seg, f.file_id), EncodeColdMarker(cold)));
    Failpoint("store.evict.after_marker");
    ASSIGN_OR_RETURN(std::shared_ptr<ReadFile> remote, options_.tier->Open(cold));
    {
      // Reads that pinned the local reader keep it (the open file outlives its name).
      std::lock_guard<std::mutex> lk(seg_mu_);
      readers_[f.file_id] = std::move(remote);
      seg_files_[seg].cold = true;
      cold_[f.file_id] = cold;
    }
    cold_bytes_ += f.size;
    RETURN_IF_ERROR(env_->RemoveFile(path));
    removed = true;
    local -= f.size;
    ++report.segments;
    report.bytes += f.size;
    ++segments_evicted_;
  }
  if (removed) RETURN_IF_ERROR(env_->SyncDir(log_dir_));
  report.local_bytes = log_bytes_.load() - cold_bytes_.load();
  return report;
}

Result<EvictReport> Store::EvictColdSegments(uint64_t local_budget_bytes) const {
  return impl_->Evict(local_budget_bytes);
}

}  // namespace rwd::store
