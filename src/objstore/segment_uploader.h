// SegmentUploader: copies a store's closed log segments and its index checkpoint into the bucket,
// under the names of docs/format/object-store.md (layout v1), each exactly once.
//
// It reads the store's directory only (DIR/log/*.seg and DIR/index.ckpt, formats in
// docs/format/log.md and checkpoint.md); it never writes there and needs no open Store. A
// segment is closed when a segment with a higher number exists (the store never writes a
// segment again once it has moved past it); the newest is the active one and is left to the
// tail shipper (planned). Prepared (*.prep) and temporary (*.tmp) files are ignored.
//
// Each segment object goes up with its block checksums (`.crcs`, SegmentCrcsObjectName): computed
// from the local bytes in the same read as the upload's CRC, or, for a file already evicted
// (cold), taken from its local marker. A segment counts as uploaded once both are there.
//
// Idempotent: every object carries x-amz-meta-rewind-crc32c and rewind-size of the local file;
// an object already in the bucket with the same name, size and CRC is not sent again, so a pass
// cut short (a crash, the store down) is simply run again. The same name with other bytes is
// never overwritten: the pass fails with kFailedPrecondition (two stores sharing an id, or a
// damaged local file), naming the object. A checkpoint goes up only once every segment file it
// names (but its own position's, the then active segment) is in the bucket.
//
// Driven by objstore::Shipper (shipper.h) in rewindd --object-store.
// Thread safety: RunOnce may be called from any thread; calls are serialized.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "objstore/s3_client.h"

namespace rwd::objstore {

// Object names of layout v1 (relative to the client's prefix).
std::string StoreRootName(std::string_view store_id);  // "rewind/v1/stores/ID/"
std::string SegmentObjectName(std::string_view store_id, uint32_t segment, uint32_t file_id);
// log/SSSSSSSS-FFFFFFFFFF.crcs beside the segment object: the file's size, CRC-32C and the CRC
// of every store::kColdBlockBytes block, in the cold marker's checksummed format (log.md, "Cold
// segments"), so that a peer can read the segment by checked ranged GETs without its bytes.
std::string SegmentCrcsObjectName(std::string_view store_id, uint32_t segment, uint32_t file_id);
std::string CheckpointObjectName(std::string_view store_id, uint64_t last_lsn);

struct LocalSegmentFile {
  uint32_t segment = 0;
  uint32_t file_id = 0;  // == segment for a first-written file (NNNNNNNN.seg)
  std::string path;
  uint64_t size = 0;  // bytes [0, size) are the segment (zeros may follow); 0: the whole file
  bool cold = false;  // evicted locally (store::SegmentTier): known to be in the bucket already
};

// The closed segment files of log_dir in (segment, file id) order: every NNNNNNNN.seg and
// NNNNNNNN-IIIIIIIIII.seg whose segment number is below the highest one there. An empty or
// missing directory has none; kIOError if it cannot be read.
Result<std::vector<LocalSegmentFile>> ClosedSegmentFiles(const std::string& log_dir);

// What an index.ckpt says about itself (checkpoint.md): validated magic, version and CRC.
struct CheckpointSummary {
  uint32_t segment = 0;  // the log position it covers: segment and offset
  uint64_t offset = 0;
  uint64_t last_lsn = 0;
  std::vector<std::pair<uint32_t, uint32_t>> segment_files;  // (segment, file id) it reads
};
// kCorruption for anything that is not a whole version-2 or -3 checkpoint.
Result<CheckpointSummary> ParseCheckpoint(std::string_view bytes);

struct UploadReport {
  uint64_t uploaded = 0;      // objects sent in this pass
  uint64_t already_there = 0; // objects found in the bucket with the right size and CRC
  uint64_t bytes = 0;         // bytes sent
  bool checkpoint_deferred = false;  // the checkpoint names a segment file not up yet
  uint64_t checkpoint_lsn = 0;       // the local checkpoint, in the bucket (0: none up)
};

// The CRC as objects carry it in x-amz-meta-rewind-crc32c: 8 lowercase hex digits.
std::string Crc32cHex(uint32_t crc);
// x-amz-meta-… of every object (object-store.md): rewind-crc32c, rewind-size, rewind-layout.
PutOptions IntegrityMetadata(uint32_t crc32c, uint64_t size);

class SegmentUploader {
 public:
  // client: not owned, must outlive the uploader. store_dir: the store's directory (holds log/
  // and index.ckpt). store_id: 32 lowercase hex digits naming this store in the bucket.
  // kInvalidArgument for a bad id or a null client.
  static Result<std::unique_ptr<SegmentUploader>> Create(S3Client* client, std::string store_dir,
                                                         std::string store_id);

  // One pass: store.json if absent, then every closed segment file not yet in the bucket, then
  // the current checkpoint. Errors: the client's (kUnavailable when the store is down: run
  // again later), kIOError reading a local file, kFailedPrecondition for an object that differs
  // from the local file. Files removed locally during the pass (a cleaner rewrite) are skipped.
  Result<UploadReport> RunOnce();
  // The same pass over `closed` (ascending; e.g. Store::DurableLogState's list, which knows
  // each file's size without its trailing zeros) instead of a scan of the log directory.
  Result<UploadReport> RunOnce(const std::vector<LocalSegmentFile>& closed);

  // store.json alone: checks that the bucket answers and holds this store's identity (or
  // nothing yet). The first call of a shipper, to fail at start rather than later.
  Status EnsureStore();
  // True once segment file (segment, file_id) and its .crcs are known to be in the bucket.
  bool Uploaded(uint32_t segment, uint32_t file_id);
  // Uploads bytes [0, size) of fd as `name` unless the bucket has it with that size and CRC
  // (see the class comment); kFailedPrecondition if it has other bytes there.
  Status UploadFile(const std::string& name, int fd, uint64_t size, const std::string& what,
                    UploadReport* report);

 private:
  SegmentUploader(S3Client* client, std::string store_dir, std::string store_id);
  Status EnsureStoreJson(UploadReport* report);
  // Uploads [0, size) of fd as `name` unless the bucket has it with that size and CRC.
  Status UploadOnce(const std::string& name, int fd, uint64_t size, const std::string& what,
                    UploadReport* report);
  // The same with the CRC known, from fd (body empty) or from `body` (fd < 0).
  Status UploadChecked(const std::string& name, int fd, std::string_view body, uint64_t size,
                       uint32_t crc, const std::string& what, UploadReport* report);
  // One closed segment file and its .crcs.
  Status UploadSegment(const LocalSegmentFile& f, UploadReport* report);

  S3Client* const client_;
  const std::string store_dir_;
  const std::string store_id_;
  std::mutex mu_;
  std::set<std::string> known_;  // names confirmed in the bucket with the local size and CRC
};

}  // namespace rwd::objstore
