#include "objstore/segment_uploader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

#include "common/crc32c.h"
#include "store/segment_tier.h"

namespace rwd::objstore {
namespace {

constexpr std::string_view kCheckpointMagic = "RWNDCKP1";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// NNNNNNNN.seg or NNNNNNNN-IIIIIIIIII.seg (log.md); false for anything else.
bool ParseSegmentName(std::string_view name, uint32_t* segment, uint32_t* file_id) {
  if (name.size() < 4 || name.substr(name.size() - 4) != ".seg") return false;
  name.remove_suffix(4);
  std::string_view seg = name.substr(0, 8), id;
  if (name.size() == 8) {
    id = seg;
  } else if (name.size() == 19 && name[8] == '-') {
    id = name.substr(9);
  } else {
    return false;
  }
  if (!AllDigits(seg) || !AllDigits(id)) return false;
  const unsigned long long s = std::stoull(std::string(seg)), f = std::stoull(std::string(id));
  if (s == 0 || s > UINT32_MAX || f > UINT32_MAX) return false;
  *segment = static_cast<uint32_t>(s);
  *file_id = static_cast<uint32_t>(f);
  return true;
}

template <typename T>
T Load(std::string_view bytes, size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;  // little-endian host (x86-64, arm64), like the store itself
}

Status ReadAt(int fd, uint64_t offset, size_t len, char* out, const std::string& what) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "read " + what);
    if (n == 0) return Status::IOError(what + " shrank while being read");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// The whole CRC-32C of [0, size) of fd and the CRC of each store::kColdBlockBytes block.
Result<store::ColdFile> FileCrcs(int fd, uint64_t size, const std::string& what) {
  std::string buf(store::kColdBlockBytes, '\0');
  store::ColdFile f;
  f.size = size;
  for (uint64_t off = 0; off < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    RETURN_IF_ERROR(ReadAt(fd, off, n, buf.data(), what));
    f.crc32c = crc32c::Extend(f.crc32c, buf.data(), n);
    f.block_crcs.push_back(crc32c::Value(buf.data(), n));
    off += n;
  }
  return f;
}

// The store's local name of a segment file with another extension (log.md).
std::string LocalLogName(uint32_t segment, uint32_t file_id, const char* ext) {
  char buf[40];
  if (segment == file_id) {
    std::snprintf(buf, sizeof buf, "%08" PRIu32 ".%s", segment, ext);
  } else {
    std::snprintf(buf, sizeof buf, "%08" PRIu32 "-%010" PRIu32 ".%s", segment, file_id, ext);
  }
  return buf;
}

// An open file descriptor, closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string StoreRootName(std::string_view store_id) {
  return "rewind/v1/stores/" + std::string(store_id) + "/";
}

std::string SegmentObjectName(std::string_view store_id, uint32_t segment, uint32_t file_id) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "log/%08" PRIu32 "-%010" PRIu32 ".seg", segment, file_id);
  return StoreRootName(store_id) + buf;
}

std::string SegmentCrcsObjectName(std::string_view store_id, uint32_t segment,
                                  uint32_t file_id) {
  std::string name = SegmentObjectName(store_id, segment, file_id);
  return name.substr(0, name.size() - 3) + "crcs";
}

std::string CheckpointObjectName(std::string_view store_id, uint64_t last_lsn) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "ckpt/%020" PRIu64 ".ckpt", last_lsn);
  return StoreRootName(store_id) + buf;
}

Result<std::vector<LocalSegmentFile>> ClosedSegmentFiles(const std::string& log_dir) {
  std::vector<LocalSegmentFile> files;
  DIR* d = ::opendir(log_dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return files;
    return Status::FromErrno(errno, "opendir " + log_dir);
  }
  uint32_t newest = 0;
  while (dirent* e = ::readdir(d)) {
    LocalSegmentFile f;
    if (!ParseSegmentName(e->d_name, &f.segment, &f.file_id)) continue;
    f.path = log_dir + "/" + e->d_name;
    newest = std::max(newest, f.segment);
    files.push_back(std::move(f));
  }
  ::closedir(d);
  std::erase_if(files, [&](const LocalSegmentFile& f) { return f.segment >= newest; });
  std::sort(files.begin(), files.end(), [](const LocalSegmentFile& a, const LocalSegmentFile& b) {
    return std::tie(a.segment, a.file_id) < std::tie(b.segment, b.file_id);
  });
  return files;
}

Result<CheckpointSummary> ParseCheckpoint(std::string_view bytes) {
  // magic 8 | version 4 | segment 4 | offset 8 | last_lsn 8 | last_time 8 | records 8 |
  // next_inode 8 | next_timeline 8 | next_volume 8 | u64 count of (u32 segment, u32 file id)
  constexpr size_t kFilesAt = 72;
  if (bytes.size() < kFilesAt + 8 + 4 || bytes.substr(0, 8) != kCheckpointMagic) {
    return Status::Corruption("not an index checkpoint (magic or size)");
  }
  // Versions 2..6 share this head (docs/format/checkpoint.md: v3 widened page offsets in the
  // body, v4 appended the activity summary at the end, v5 the pins, v6 foreign ancestors); a
  // newer one may not.
  const uint32_t version = Load<uint32_t>(bytes, 8);
  if (version < 2 || version > 6) {
    return Status::Corruption("index checkpoint version " + std::to_string(version) +
                              " is not 2 to 6");
  }
  const uint32_t stored = Load<uint32_t>(bytes, bytes.size() - 4);
  if (crc32c::Mask(crc32c::Value(bytes.data(), bytes.size() - 4)) != stored) {
    return Status::Corruption("index checkpoint fails its CRC");
  }
  CheckpointSummary c;
  c.segment = Load<uint32_t>(bytes, 12);
  c.offset = Load<uint64_t>(bytes, 16);
  c.last_lsn = Load<uint64_t>(bytes, 24);
  const uint64_t n = Load<uint64_t>(bytes, kFilesAt);
  if (n > (bytes.size() - kFilesAt - 12) / 8) {
    return Status::Corruption("index checkpoint segment list runs past its end");
  }
  for (uint64_t i = 0; i < n; ++i) {
    c.segment_files.emplace_back(Load<uint32_t>(bytes, kFilesAt + 8 + 8 * i),
                                 Load<uint32_t>(bytes, kFilesAt + 12 + 8 * i));
  }
  return c;
}

Result<std::unique_ptr<SegmentUploader>> SegmentUploader::Create(S3Client* client,
                                                                 std::string store_dir,
                                                                 std::string store_id) {
  if (client == nullptr) return Status::InvalidArgument("SegmentUploader needs a client");
  const bool hex = std::all_of(store_id.begin(), store_id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (store_id.size() != 32 || !hex) {
    return Status::InvalidArgument("store id '" + store_id +
                                   "' must be 32 lowercase hex digits");
  }
  return std::unique_ptr<SegmentUploader>(
      new SegmentUploader(client, std::move(store_dir), std::move(store_id)));
}

SegmentUploader::SegmentUploader(S3Client* client, std::string store_dir, std::string store_id)
    : client_(client), store_dir_(std::move(store_dir)), store_id_(std::move(store_id)) {}

Status SegmentUploader::EnsureStoreJson(UploadReport* report) {
  const std::string name = StoreRootName(store_id_) + "store.json";
  if (known_.count(name)) return Status::Ok();
  const std::string body = "{\"layout\":1,\"store_id\":\"" + store_id_ + "\"}\n";
  Result<std::string> there = client_->Get(name);
  if (there.ok()) {
    if (*there != body) {
      return Status::FailedPrecondition(name + " in the bucket is not this store's (" + *there +
                                        ")");
    }
    ++report->already_there;
  } else if (there.status().code() == Status::Code::kNotFound) {
    RETURN_IF_ERROR(client_->Put(name, body, PutOptions{{{"rewind-layout", "1"}}}));
    ++report->uploaded;
    report->bytes += body.size();
  } else {
    return there.status();
  }
  known_.insert(name);
  return Status::Ok();
}

Status SegmentUploader::UploadOnce(const std::string& name, int fd, uint64_t size,
                                   const std::string& what, UploadReport* report) {
  if (known_.count(name)) return Status::Ok();
  ASSIGN_OR_RETURN(store::ColdFile crcs, FileCrcs(fd, size, what));
  return UploadChecked(name, fd, {}, size, crcs.crc32c, what, report);
}

Status SegmentUploader::UploadChecked(const std::string& name, int fd, std::string_view body,
                                      uint64_t size, uint32_t crc, const std::string& what,
                                      UploadReport* report) {
  if (known_.count(name)) return Status::Ok();
  const std::string crc_hex = Crc32cHex(crc), size_text = std::to_string(size);
  Result<ObjectInfo> head = client_->Head(name);
  if (head.ok()) {
    if (head->size != size || head->metadata["rewind-crc32c"] != crc_hex) {
      return Status::FailedPrecondition(
          name + " is in the bucket with other bytes than " + what + " (size " +
          std::to_string(head->size) + " vs " + size_text + ", crc32c '" +
          head->metadata["rewind-crc32c"] + "' vs '" + crc_hex +
          "'): not overwritten; is another store using id " + store_id_ + "?");
    }
    ++report->already_there;
  } else if (head.status().code() == Status::Code::kNotFound) {
    RETURN_IF_ERROR(fd >= 0 ? client_->PutFd(name, fd, size, what, IntegrityMetadata(crc, size))
                            : client_->Put(name, body, IntegrityMetadata(crc, size)));
    ++report->uploaded;
    report->bytes += size;
  } else {
    return head.status();
  }
  known_.insert(name);
  return Status::Ok();
}

std::string Crc32cHex(uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08" PRIx32, crc);
  return buf;
}

PutOptions IntegrityMetadata(uint32_t crc32c, uint64_t size) {
  return PutOptions{{{"rewind-crc32c", Crc32cHex(crc32c)},
                     {"rewind-size", std::to_string(size)},
                     {"rewind-layout", "1"}}};
}

Status SegmentUploader::EnsureStore() {
  std::lock_guard<std::mutex> lock(mu_);
  UploadReport report;
  return EnsureStoreJson(&report);
}

bool SegmentUploader::Uploaded(uint32_t segment, uint32_t file_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return known_.count(SegmentObjectName(store_id_, segment, file_id)) != 0 &&
         known_.count(SegmentCrcsObjectName(store_id_, segment, file_id)) != 0;
}

Status SegmentUploader::UploadFile(const std::string& name, int fd, uint64_t size,
                                   const std::string& what, UploadReport* report) {
  std::lock_guard<std::mutex> lock(mu_);
  return UploadOnce(name, fd, size, what, report);
}

Result<UploadReport> SegmentUploader::RunOnce() {
  ASSIGN_OR_RETURN(std::vector<LocalSegmentFile> files, ClosedSegmentFiles(store_dir_ + "/log"));
  return RunOnce(files);
}

Status SegmentUploader::UploadSegment(const LocalSegmentFile& f, UploadReport* report) {
  const std::string name = SegmentObjectName(store_id_, f.segment, f.file_id);
  const std::string crcs_name = SegmentCrcsObjectName(store_id_, f.segment, f.file_id);
  if (known_.count(name) && known_.count(crcs_name)) return Status::Ok();
  store::ColdFile crcs;
  if (f.cold) {
    // Evicted by the store only after a HEAD found this object with the file's size and CRC;
    // its marker holds the block CRCs (a file evicted before .crcs existed gets them now).
    known_.insert(name);
    const std::string path = store_dir_ + "/log/" + LocalLogName(f.segment, f.file_id, "cold");
    Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0 && errno == ENOENT) return Status::Ok();  // replaced by a cleaner rewrite
    if (fd.fd < 0) return Status::FromErrno(errno, "open " + path);
    struct stat st;
    if (::fstat(fd.fd, &st) != 0) return Status::FromErrno(errno, "stat " + path);
    std::string bytes(static_cast<size_t>(st.st_size), '\0');
    RETURN_IF_ERROR(ReadAt(fd.fd, 0, bytes.size(), bytes.data(), path));
    Result<store::ColdFile> marker = store::DecodeColdMarker(bytes, f.segment, f.file_id);
    if (!marker.ok()) return marker.status().WithContext(path);
    crcs = *std::move(marker);
  } else {
    Fd fd{::open(f.path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0 && errno == ENOENT) return Status::Ok();  // replaced by a cleaner rewrite
    if (fd.fd < 0) return Status::FromErrno(errno, "open " + f.path);
    struct stat st;
    if (::fstat(fd.fd, &st) != 0) return Status::FromErrno(errno, "stat " + f.path);
    const uint64_t size = f.size != 0 ? f.size : static_cast<uint64_t>(st.st_size);
    if (size > static_cast<uint64_t>(st.st_size)) {
      return Status::IOError(f.path + " is shorter (" + std::to_string(st.st_size) +
                             " bytes) than its segment (" + std::to_string(size) + ")");
    }
    ASSIGN_OR_RETURN(crcs, FileCrcs(fd.fd, size, f.path));
    RETURN_IF_ERROR(UploadChecked(name, fd.fd, {}, size, crcs.crc32c, f.path, report));
  }
  // After the segment: a .crcs in the bucket always describes a segment object there.
  crcs.segment = f.segment;
  crcs.file_id = f.file_id;
  const std::string body = store::EncodeColdMarker(crcs);
  return UploadChecked(crcs_name, -1, body, body.size(), crc32c::Value(body.data(), body.size()),
                       "block checksums of " + name, report);
}

Result<UploadReport> SegmentUploader::RunOnce(const std::vector<LocalSegmentFile>& files) {
  std::lock_guard<std::mutex> lock(mu_);
  UploadReport report;
  RETURN_IF_ERROR(EnsureStoreJson(&report));

  for (const LocalSegmentFile& f : files) RETURN_IF_ERROR(UploadSegment(f, &report));

  // The checkpoint: read whole (it is replaced by rename, never rewritten in place), checked,
  // and sent only when every closed segment file it reads is up.
  const std::string ckpt_path = store_dir_ + "/index.ckpt";
  Fd fd{::open(ckpt_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0 && errno == ENOENT) return report;  // none yet
  if (fd.fd < 0) return Status::FromErrno(errno, "open " + ckpt_path);
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) return Status::FromErrno(errno, "stat " + ckpt_path);
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  RETURN_IF_ERROR(ReadAt(fd.fd, 0, bytes.size(), bytes.data(), ckpt_path));
  Result<CheckpointSummary> ckpt = ParseCheckpoint(bytes);
  if (!ckpt.ok()) return ckpt.status().WithContext(ckpt_path);
  for (const auto& [segment, file_id] : ckpt->segment_files) {
    if (segment == ckpt->segment) continue;  // the active segment when it was written
    if (!known_.count(SegmentObjectName(store_id_, segment, file_id)) ||
        !known_.count(SegmentCrcsObjectName(store_id_, segment, file_id))) {
      report.checkpoint_deferred = true;
      return report;
    }
  }
  RETURN_IF_ERROR(UploadOnce(CheckpointObjectName(store_id_, ckpt->last_lsn), fd.fd,
                             bytes.size(), ckpt_path, &report));
  report.checkpoint_lsn = ckpt->last_lsn;
  return report;
}

}  // namespace rwd::objstore
