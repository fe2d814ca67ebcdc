// Restore: a data dir brought back from the bucket after the machine (or its disk) was lost
// (rewindd --data-dir NEW --object-store s3://… --restore; docs/format/object-store.md).
//
// It picks the store in the bucket whose HEAD is newest, and writes, as of that HEAD:
//   DATA_DIR/store/log/*.seg   every segment below HEAD's segment (each file id in the bucket;
//                              the store's open keeps the one its checkpoint names), and HEAD's
//                              segment whole if it is up, else its tail chunks cut at HEAD's
//                              offset (a record boundary: what was durable then);
//   DATA_DIR/store/index.ckpt  HEAD's checkpoint, if any (the store checks it, and rebuilds the
//                              index from the log if it does not match);
//   DATA_DIR/meta.db           HEAD's meta.db copy, consistent with the log up to HEAD's LSN;
//   DATA_DIR/PATH              each file shipped with that copy (ShipperSource::aux_files,
//                              HEAD's meta_files), mode 0600, its directories 0700.
// The restored store gets a new store id when it is shipped again (the old store's objects stay
// as they are: a second restore can still use them until the new one's HEAD is newer).
//
// Failure: kFailedPrecondition if DATA_DIR already holds a store log or a meta.db (nothing is
// overwritten), kNotFound if the bucket holds no HEAD, kCorruption for a HEAD or tail chain
// that does not add up or a HEAD checkpoint naming a segment file below its position that the
// bucket lacks (lost history: the store would rebuild its index without it), the client's errors otherwise. Files written before a failure stay;
// remove the data dir and run again.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "objstore/s3_client.h"

namespace rwd::objstore {

struct RestoreReport {
  std::string store_id;
  uint64_t lsn = 0;            // HEAD's
  uint64_t files = 0;          // segment files written
  uint64_t bytes = 0;          // bytes written, all files
  bool checkpoint = false;
  bool meta = false;
  std::string checkpoint_name;  // HEAD's checkpoint and meta copy objects ("" when none)
  std::string meta_name;
  // Every segment file of the bucket written (as bytes or as a cold marker): what a peer's
  // view may read, hence what a pin keeps (peer_view.h).
  std::vector<std::pair<uint32_t, uint32_t>> segment_files;
};

struct RestoreOptions {
  // The store to restore: empty, the one whose HEAD is newest; else this store id's HEAD
  // (kNotFound when it has none).
  std::string store_id;
  // A peer's read-only view (peer_view.h) rather than a restore: every segment below HEAD's
  // is written as its cold marker (DATA_DIR/store/log/*.cold, from the segment's .crcs; see
  // FetchSegmentCrcs), no bytes; the store reads them through a ColdTier on that store id.
  bool cold_history = false;
  bool aux_files = true;  // write HEAD's meta_files
};

Result<RestoreReport> RestoreFromBucket(S3Client* client, const std::string& data_dir,
                                        const RestoreOptions& options = {});

}  // namespace rwd::objstore
