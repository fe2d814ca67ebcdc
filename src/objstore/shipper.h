// Shipper: keeps a store's history in the bucket while rewindd runs (rewindd --object-store;
// layout v1, docs/format/object-store.md). Its own thread, never on the commit path: the local
// log is the buffer. Every `interval_ms` (1 s) one pass:
//   1. a consistent copy of the metadata (meta.db), when it changed and at most every
//      meta_interval_ms, uploaded as meta/L-T.db with the store LSN L it is consistent with;
//   2. every closed segment file (SegmentUploader, exactly the segment's bytes) and the
//      checkpoint once the segments it names are up; tail chunks of a segment once it is up
//      are deleted;
//   3. the active segment's durable bytes not yet shipped, as one or more tail chunks;
//   4. HEAD, when the shipped point moved: the newest LSN whose log is wholly in the bucket and
//      the newest checkpoint and meta copy at or below it.
// So a lost machine loses at most about interval_ms of acknowledged (synced) commits; stats()
// says how much is at risk now (the upload lag: the RPO).
//
// Failure. A pass that fails (the store down, slow, refusing) changes nothing already shipped;
// the next pass starts again from what is known to be in the bucket, so uploads catch up by
// themselves, and nothing local is deleted. on_state(true, why) is called when passes start
// failing, or the lag passes behind_after_ms (a slow store), and on_state(false, …) when a quick
// pass has shipped everything that was durable when it began. An object
// already in the bucket under an immutable name with other bytes is never overwritten (the pass
// fails with kFailedPrecondition, on every pass, until an operator looks).
//
// Restart. Nothing is kept locally but the store id (STORE_DIR/objstore.id): after a restart
// (kill -9 included) the pass lists the active segment's tail chunks, checks the last one's CRC
// against the local bytes, and goes on after it; closed segments are checked by HEAD once.
//
// Thread safety: Start/Stop from one thread; stats() from any thread at any time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "objstore/s3_client.h"
#include "objstore/segment_uploader.h"

namespace rwd::objstore {

// The store's log as far as it is durable (from Store::DurableLogState, converted by the
// caller: the shipper reads the store's files, never the Store; ColdTier, beside it, implements
// the store's SegmentTier).
struct LogSnapshot {
  uint64_t lsn = 0;          // every record <= lsn is durable locally ...
  uint32_t segment = 0;      // ... and ends at (segment, offset)
  uint64_t offset = 0;
  uint32_t active_segment = 0;
  std::string active_path;   // the active segment's file; bytes below `offset` are fixed
  std::vector<LocalSegmentFile> closed;  // ascending, with their sizes
};

struct ShipperSource {
  // Required. Called from the shipper's thread and from stats().
  std::function<LogSnapshot()> durable_log;
  // Optional (both or neither): the metadata. meta_changes() grows with every change;
  // snapshot_meta(path, &changes) writes a consistent copy at path and returns the LSN the
  // copy is consistent with (the log up to it holds everything the copy refers to).
  std::function<int64_t()> meta_changes;
  std::function<Result<uint64_t>(const std::string& path, int64_t* changes)> snapshot_meta;
  // Optional: small files outside the store and meta.db that a restore needs (paths relative
  // to data_dir, e.g. an engine's run/ID/root.password), shipped with every meta copy as
  // meta/L-T.files/PATH (mode 0600 when restored). Files that vanish meanwhile are skipped.
  std::function<std::vector<std::string>()> aux_files;
  std::string data_dir;  // what aux_files are relative to
  // Optional: uploads started failing (down = true, why) or caught up again (false). Called
  // from the shipper's thread, outside its locks.
  std::function<void(bool down, const std::string& why)> on_state;
  // Optional: called from the shipper's thread after every pass that succeeded (what was
  // durable is now in the bucket): rewindd evicts uploaded segments there
  // (Store::EvictColdSegments, --local-history-budget).
  std::function<void()> after_pass;
};

struct ShipperOptions {
  std::string store_dir;  // the store's directory: objstore.id is kept there
  std::string work_dir;   // a directory for the meta.db copy (a temp file)
  int64_t interval_ms = 1000;
  int64_t meta_interval_ms = 3000;
  uint64_t max_tail_chunk = 16ull << 20;  // bytes per tail chunk at most
  // A watchdog raises on_state(true, …) when the upload lag passes this, even while a pass is
  // still waiting on a slow store (a failing pass raises it at once). 0: no watchdog.
  int64_t behind_after_ms = 10'000;
  // How often a pass also deletes the objects nothing reads any more (bucket_gc.h: segment
  // files a cleaning pass replaced, checkpoints and meta copies older than HEAD's), after HEAD
  // was written. 0: every pass.
  int64_t collect_interval_ms = 10'000;
};

struct ShipperStats {
  std::string store_id;
  bool down = false;             // passes failed, and none has caught up since
  uint64_t durable_lsn = 0;      // local
  uint64_t shipped_lsn = 0;      // in the bucket (HEAD)
  double lag_seconds = 0;        // 0 when everything durable is shipped; else the age of the
                                 // shipped point (commits since then would be lost with the disk)
  uint64_t lag_bytes = 0;        // durable log bytes not yet in the bucket
  uint64_t bytes_uploaded = 0;   // since start
  uint64_t objects_uploaded = 0;
  uint64_t objects_deleted = 0;  // tail chunks replaced by their segment
  uint64_t objects_collected = 0;  // unreachable objects deleted (bucket_gc.h)
  uint64_t pins = 0;               // other nodes' pins on this store at the last collection
  int64_t oldest_pin_ns = 0;       // when the oldest of them was made (0: none)
  double oldest_pin_age_seconds = 0;  // its age now (0: none)
  uint64_t failures = 0;         // failed passes
  uint64_t passes = 0;
  std::string last_error;
};

class Shipper {
 public:
  // Reads (or makes) the store id, then checks the bucket (store.json): fails at once, with
  // the client's error, when the bucket cannot be reached or belongs to another store, so a
  // bad --object-store stops rewindd at start. client: not owned, outlives the shipper.
  static Result<std::unique_ptr<Shipper>> Create(S3Client* client, ShipperSource source,
                                                 ShipperOptions options);
  ~Shipper();  // Stop()
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  void Start();
  // Ends the threads after one last pass (unless the store is down: then at once, after the
  // pass in flight, which the client's retries bound).
  void Stop();
  // One pass now (the thread's work; for tests, without Start).
  Status RunOnce();
  ShipperStats stats() const;
  const std::string& store_id() const { return store_id_; }

 private:
  Shipper(S3Client* client, ShipperSource source, ShipperOptions options, std::string id,
          std::unique_ptr<SegmentUploader> uploader);
  void Loop();
  void Watch();  // the watchdog thread
  // Marks uploads down (once) and tells on_state; caller holds no lock.
  void MarkDown(const std::string& why);
  Status ShipMeta(bool* shipped);
  // Ships [tail_end_, snap.offset) of the active segment; sets tail_end_.
  Status ShipTail(const LogSnapshot& snap);
  // The contiguous chunks of `segment` in the bucket from offset 0: sets tail_end_ (checks
  // the last chunk's CRC against the local bytes).
  Status ResumeTail(uint32_t segment, const std::string& path);
  Status DeleteTails(uint32_t segment);
  Status PutHead(const LogSnapshot& snap);
  // Deletes what HEAD (as PutHead wrote it for snap) made unreachable; see bucket_gc.h.
  Status Collect(const LogSnapshot& snap);
  std::string TailPrefix(uint32_t segment) const;

  S3Client* const client_;
  const ShipperSource source_;
  const ShipperOptions options_;
  const std::string store_id_;
  std::unique_ptr<SegmentUploader> uploader_;

  // Shipper thread state (RunOnce is serialised by pass_mu_).
  std::mutex pass_mu_;
  uint32_t tail_segment_ = 0;  // 0: none resumed yet
  uint64_t tail_end_ = 0;
  uint64_t unsure_chunk_end_ = 0;  // end of the chunk at tail_end_ whose PUT failed (0: none)
  std::set<uint32_t> tails_to_delete_;  // segments whose tail chunks may be in the bucket
  bool listed_old_tails_ = false;
  std::set<uint64_t> checkpoints_;      // LSNs of checkpoints in the bucket
  std::map<uint64_t, std::string> metas_;  // LSN -> meta object name, in the bucket
  std::map<uint64_t, std::vector<std::string>> meta_files_;  // LSN -> its aux file objects
  int64_t meta_changes_shipped_ = -1;
  int64_t last_meta_ns_ = 0;
  std::string head_written_;
  int64_t last_collect_ns_ = 0;
  uint64_t collected_for_ckpt_ = 0;        // the checkpoint LSN parsed into collect_ckpt_
  CheckpointSummary collect_ckpt_;

  mutable std::mutex mu_;  // guards stats_ and the shipped point
  ShipperStats stats_;
  uint64_t shipped_segment_ = 0, shipped_offset_ = 0;
  int64_t shipped_at_ns_ = 0;  // when the snapshot of the shipped point was taken

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
  std::thread watchdog_;
};

}  // namespace rwd::objstore
