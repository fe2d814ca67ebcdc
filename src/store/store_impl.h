// Internal: the store's in-memory index and its log. Not part of the store's contract; included
// only by the files that implement Store (store*.cc through store_internal.h, checkpoint.cc,
// cleaner.cc, cold.cc).
//
// Lock order: clean_mu_ -> write_mu_ -> sync_mu_ -> index_mu_ -> seg_mu_; prep_mu_ and
// compact_mu_ are leaves (held for no I/O; the preparer thread takes nothing else). clean_mu_ serialises cleaning
// passes (src/store/cleaner.cc). Mutations are serialised by
// write_mu_: validation (which reads the index without index_mu_, safe because only write_mu_
// holders change it: the cleaner too takes write_mu_ before index_mu_ to drop versions or trim
// the time index), LSN assignment, log append, then index apply under index_mu_ (exclusive).
// Readers take index_mu_ shared to collect log locations, release it, then pread: log bytes
// never change once written.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/activity.h"
#include "store/compress.h"
#include "store/record.h"
#include "store/store.h"

namespace rwd::store {

// Index granularity for file data. A write is indexed as one extent per page it touches.
inline constexpr uint64_t kPageSize = 16384;
// A compressed write's chunks are the index's pages: one extent is always one whole chunk.
static_assert(kPageSize == kChunkBytes);
inline constexpr uint64_t kSegmentHeaderSize = 16;
// A rewritten (cleaned) segment's header: docs/format/log.md.
inline constexpr uint64_t kCleanedHeaderSize = 40;
// Log files: a segment as first written has file id == its segment number; a segment rewritten
// by the cleaner gets a fresh file id at or above this (log/SSSSSSSS-IIIIIIIIII.seg).
inline constexpr uint32_t kCleanedFileIdBase = 0x80000000u;

inline constexpr uint32_t kCleanedSegmentVersion = 2;

// A segment file's header, parsed.
struct SegmentHeaderInfo {
  uint32_t version = 0;  // 1: first written; 2: rewritten by the cleaner
  uint64_t size = 0;     // header bytes: where the records start
  uint64_t last_lsn = 0;     // version 2: the last LSN the segment held before cleaning
  int64_t last_time_ns = 0;  // version 2: that record's time
};
// Checks magic, version and that the header names segment `seg` and file `file_id`.
Result<SegmentHeaderInfo> ParseSegmentHeader(std::string_view bytes, uint32_t seg,
                                             uint32_t file_id);
std::string CleanedSegmentHeader(uint32_t seg, uint32_t file_id, uint64_t last_lsn,
                                 int64_t last_time_ns);

// Location of bytes in the log: file id << 32 | offset in the file.
inline uint64_t MakeLoc(uint32_t segment, uint64_t offset) {
  return (static_cast<uint64_t>(segment) << 32) | offset;
}
inline uint32_t LocSegment(uint64_t loc) { return static_cast<uint32_t>(loc >> 32); }
inline uint64_t LocOffset(uint64_t loc) { return loc & 0xffffffffu; }

// One version of part of one page: bytes [page_off, page_off + len) of the page, written at
// `lsn`, stored in the log at `loc`: raw (zlen 0), or as a zstd frame of zlen bytes that
// decompresses to exactly these len bytes (one chunk of a compressed write). 24 bytes.
struct Extent {
  uint64_t lsn;
  uint64_t loc;
  uint16_t page_off;  // < kPageSize
  uint16_t zlen;      // < kPageSize
  uint32_t len;
};
static_assert(sizeof(Extent) == 24);
// Bytes the extent occupies in the log.
inline uint64_t StoredLen(const Extent& e) { return e.zlen != 0 ? e.zlen : e.len; }

struct AttrVersion {
  uint64_t lsn;
  Attr attr;
};

// One inode's own history on one timeline.
struct InodeState {
  std::vector<AttrVersion> attrs;                          // ascending lsn
  std::unordered_map<uint64_t, std::vector<Extent>> pages;  // page number -> ascending lsn
  // Bounds of the page numbers `pages` ever held (kept through cleaning: a superset). A read
  // through a long branch chain skips, with two comparisons instead of a hash probe, the
  // timelines that never wrote near the page it wants.
  uint64_t min_page = UINT64_MAX;
  uint64_t max_page = 0;
  std::vector<Extent>& PageVersions(uint64_t page) {
    min_page = std::min(min_page, page);
    max_page = std::max(max_page, page);
    return pages[page];
  }
  std::vector<std::pair<uint64_t, uint64_t>> truncations;  // (lsn, new size) when it shrank
  uint64_t last_write_lsn = 0;
  int64_t last_write_ns = 0;
};

struct DentryVersion {
  uint64_t lsn;
  InodeId ino;  // invalid: the name was removed at lsn
  NodeType type;
};

// One directory's own name changes on one timeline.
struct DirState {
  std::map<std::string, std::vector<DentryVersion>, std::less<>> names;
};

struct Timeline {
  TimelineInfo info;
  uint32_t depth = 0;  // 0 for a root timeline
  // chain[i]: the ancestor i steps up (chain[0] is this timeline) and the highest LSN of it
  // that this timeline sees (min of the ancestor LSNs on the way; max for chain[0]).
  std::vector<std::pair<const Timeline*, uint64_t>> chain;
};

// Per-timeline states of one inode or directory, few per id (one per timeline that changed it).
template <typename S>
using PerTimeline = std::vector<std::pair<const Timeline*, std::unique_ptr<S>>>;

class Store::Impl {
 public:
  explicit Impl(const StoreOptions& options);
  ~Impl();

  Status Open();

  // ---- index (reads; callers hold index_mu_ shared, or write_mu_) ----
  const Timeline* FindTimeline(TimelineId id) const;
  Result<Attr> AttrAt(const Timeline* tl, uint64_t lsn, InodeId ino) const;
  // The foreign ancestor under tl's chain (CloneForeign) and the peer store it is read from;
  // peer null when the chain has none. kFailedPrecondition when StoreOptions::peers does not
  // resolve it (the peer's view is not attached).
  struct ForeignRead {
    const Store* peer = nullptr;
    const ForeignAncestor* from = nullptr;
  };
  Result<ForeignRead> Foreign(const Timeline* tl) const;
  // The smallest size ino was truncated to on tl's chain at lsn (kMaxLsn: never): foreign
  // bytes at or past it are not seen.
  uint64_t LocalTruncationEnd(const Timeline* tl, uint64_t lsn, InodeId ino) const;
  Result<InodeId> LookupAt(const Timeline* tl, uint64_t lsn, InodeId parent,
                           std::string_view name, NodeType* type) const;
  Result<std::vector<DirEntry>> ReadDirAt(const Timeline* tl, uint64_t lsn, InodeId dir) const;

  // A piece of a read: copy `len` bytes from log location `loc` to out + dst; or, when zlen
  // is not 0, decompress the zlen-byte frame at `loc` (zraw bytes) and copy `len` bytes from
  // its byte zoff.
  struct Piece {
    uint64_t dst;
    uint64_t loc;
    uint64_t len;
    uint32_t zlen = 0;
    uint32_t zoff = 0;
    uint32_t zraw = 0;
  };
  // Fills `pieces` for bytes [offset, offset+len) of ino (already clipped to its size); bytes
  // not covered by any piece are holes (zeros).
  void CollectPieces(const Timeline* tl, uint64_t lsn, InodeId ino, uint64_t offset,
                     uint64_t len, std::vector<Piece>* pieces) const;

  // ---- mutations ----
  // Appends `rec` (lsn and time assigned here) and applies it. Caller holds write_mu_.
  // For a kWrite record, `data_crc` (crc32c of rec->data, computed before taking the lock)
  // lets the data go to the log without being copied or checksummed under the lock.
  Status AppendAndApply(Record* rec, std::optional<uint32_t> data_crc = std::nullopt);
  // Applies a record to the index; used by the live path and by replay. `data_loc` is the log
  // location of a kWrite record's data. Caller holds write_mu_ (live) or is alone (replay).
  void Apply(const Record& rec, uint64_t data_loc);
  // Makes every record with an LSN <= target durable (group commit; see Store::SyncUpTo).
  Status SyncLog(uint64_t target);
  Status WriteCheckpointLocked();  // caller holds write_mu_
  Status CheckHealthy() const;
  void SetSticky(const Status& s);

  // ---- checkpoint (checkpoint.cc) ----
  std::string SerializeIndex(uint32_t segment, uint64_t offset) const;
  // Replaces the index with the checkpoint's; returns the log position it covers and the file
  // of each segment it knew (segment -> file id).
  Status LoadIndex(std::string_view bytes, uint32_t* segment, uint64_t* offset,
                   std::map<uint32_t, uint32_t>* files);
  // Rebuilds activity_ from the index (a checkpoint older than version 4 has no summary).
  void DeriveActivity();

  // The file of segment `seg` as first written (file id == seg).
  std::string SegmentPath(uint32_t seg) const;
  // The file with id `file_id` of segment `seg` (SegmentPath when file_id == seg).
  std::string FilePath(uint32_t seg, uint32_t file_id) const;
  // The file segment `seg` is read from now.
  std::string CurrentPath(uint32_t seg) const;
  Result<std::shared_ptr<ReadFile>> FileReader(uint32_t file_id) const;
  // Caller holds index_mu_ (shared is enough), so that no cleaning pass moves the bytes between
  // collecting the pieces and pinning their files. files[i] reads pieces[i].
  Status PinFiles(const std::vector<Piece>& pieces,
                  std::vector<std::shared_ptr<ReadFile>>* files) const;
  Status ReadPieces(const std::vector<Piece>& pieces,
                    const std::vector<std::shared_ptr<ReadFile>>& files, char* out) const;
  // Replays segs from (from_segment, from_offset); `ends` gets each replayed segment's logical
  // end (where its records stop: an all-zero header, a cut, or the end of the file).
  Status Replay(uint32_t from_segment, uint64_t from_offset, const std::vector<uint32_t>& segs,
                std::map<uint32_t, uint64_t>* ends);
  // Makes `seg` the active segment, appending at `end` (its logical end); end == 0: creates it
  // (header written and synced, directory synced) or appends at the end of an existing file.
  // `prepared`: the file is preallocated (zeros after `end`).
  Status StartSegment(uint32_t seg, uint64_t end, bool prepared);

  // ---- segment preallocation ----
  std::string PreparedPath(uint32_t seg) const;  // log/NNNNNNNN.prep
  // Caller holds write_mu_. The next segment: the prepared file if it is ready, else a new one.
  // On failure (ENOSPC, say) the active segment stays as it was and the half-made next one is
  // removed, so the store stays writable; only if that removal fails is the error sticky.
  Status OpenNextSegment();
  Status StartNextSegment(uint32_t seg);  // OpenNextSegment's work, without the undo
  // Caller holds write_mu_. Asks the preparer for `seg` (once).
  void RequestPrepared(uint32_t seg);
  // After an append (write_mu_ held): updates the preallocation policy's window; true when the
  // log should roll now into the prepared next segment (the active one grows by appends while
  // commits are small, and the prepared one is ready).
  bool MaybeUsePreparedSegment();
  // Syncs and closes the active segment and opens the next one (write_mu_ held). On failure
  // (typically ENOSPC) the active segment stays active and nothing stored changed.
  Status RollSegment();
  void PreparerLoop();
  void StopPreparer();
  // Bytes [from, to) of segment `seg` are all zeros.
  Result<bool> RangeIsZero(uint32_t seg, uint64_t from, uint64_t to) const;

  template <typename S>
  S* StateFor(std::unordered_map<uint64_t, PerTimeline<S>>& map, const Timeline* tl,
              uint64_t id);

  StoreOptions options_;
  Env* env_;
  std::string log_dir_;
  RecoveryReport recovery_;

  // Write side, guarded by write_mu_.
  std::mutex write_mu_;
  std::shared_ptr<AppendFile> active_;
  uint32_t active_segment_ = 0;
  std::string encode_buf_;
  uint64_t bytes_since_checkpoint_ = 0;
  // Where the active segment's next StartWriteback begins (options_.writeback_every_bytes),
  // and the range an append asked to start, for its caller to start after write_mu_.
  uint32_t writeback_segment_ = 0;
  uint64_t writeback_from_ = 0;
  struct Writeback {
    std::shared_ptr<AppendFile> file;
    uint64_t offset = 0;
    uint64_t len = 0;
  };
  Writeback pending_writeback_;
  uint32_t prep_requested_ = 0;  // the segment last asked of the preparer
  // Whether the active segment was preallocated (zero-filled ahead): appends into it allocate
  // nothing, so a device sync needs no metadata write.
  bool active_prepared_ = false;
  // The preallocation policy looks at the log in windows of segment_bytes / 16 (at least four
  // times preallocate_below_bytes_per_sync, so that one window can judge it): where a window
  // averaged few bytes per device sync (commits), the next segment is prepared, and a log
  // growing by appends moves into it as soon as it is ready (see MaybeUsePreparedSegment).
  uint64_t window_start_bytes_ = 0;  // log_bytes_ when the window began
  uint64_t window_start_syncs_ = 0;  // device_syncs_ when the window began
  bool small_syncs_ = false;         // the last full window's verdict

  // The preparer: makes PreparedPath(prep_wanted_) and trims closed segments to their records.
  std::mutex prep_mu_;
  std::condition_variable prep_cv_;
  uint32_t prep_wanted_ = 0;  // guarded by prep_mu_; 0: none
  uint32_t prep_ready_ = 0;   // guarded by prep_mu_; PreparedPath(prep_ready_) is complete
  uint32_t prep_failed_ = 0;  // guarded by prep_mu_; not retried
  std::vector<std::pair<uint32_t, uint64_t>> prep_trims_;  // guarded by prep_mu_: (seg, size)
  bool prep_stop_ = false;    // guarded by prep_mu_
  std::thread preparer_;

  // Group commit.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool sync_in_progress_ = false;
  uint64_t synced_lsn_ = 0;
  // Where the log ends at synced_lsn_: segment and offset just past that record (guarded by
  // sync_mu_, set with synced_lsn_; for DurableLog()).
  uint32_t synced_segment_ = 0;
  uint64_t synced_offset_ = 0;
  std::atomic<uint64_t> device_syncs_{0};
  std::atomic<uint64_t> write_bytes_{0};         // file data bytes passed to Write()
  std::atomic<uint64_t> write_stored_bytes_{0};  // and the bytes their records' data took
  std::atomic<uint64_t> sync_requests_{0};

  // Sticky error.
  mutable std::mutex sticky_mu_;
  std::atomic<bool> failed_{false};
  Status sticky_;

  // Log files, guarded by seg_mu_. A cleaning pass changes a segment's file (and the index
  // locations into it) while holding index_mu_ exclusively as well.
  struct SegmentFile {
    uint32_t file_id = 0;
    uint64_t size = 0;  // bytes of header + records (a closed segment's; 0 while unknown)
    uint64_t kept_bytes = 0;  // cleaned: its bytes other than file data (headers, metadata)
    bool cold = false;        // evicted: read through options_.tier (its marker is local)
  };
  mutable std::mutex seg_mu_;
  std::map<uint32_t, SegmentFile> seg_files_;  // by segment number
  std::unordered_map<uint32_t, std::shared_ptr<ReadFile>> readers_;  // by file id
  std::atomic<uint64_t> log_bytes_{0};
  // Cold (evicted) files: their markers' contents by file id, guarded by seg_mu_; their bytes
  // (counted in log_bytes_ too) and how many were evicted since open.
  std::map<uint32_t, ColdFile> cold_;
  std::atomic<uint64_t> cold_bytes_{0};
  std::atomic<uint64_t> segments_evicted_{0};

  // Cleaning (cleaner.cc).
  std::mutex clean_mu_;
  uint32_t next_cleaned_id_ = kCleanedFileIdBase;  // guarded by clean_mu_ (and set by Open)
  // Replaced files to remove once a checkpoint names their successors; guarded by clean_mu_.
  std::vector<std::string> pending_removals_;


  // The index, guarded by index_mu_.
  mutable std::shared_mutex index_mu_;
  std::atomic<uint64_t> last_lsn_{0};
  // LSN of the newest record appended since open that is not file data (0: none; everything
  // before open is durable). Set under write_mu_.
  std::atomic<uint64_t> last_non_data_lsn_{0};
  std::atomic<int64_t> last_time_ns_{0};
  uint64_t records_ = 0;
  uint64_t next_inode_ = 2;
  uint64_t next_timeline_ = 1;
  uint64_t next_volume_ = 1;
  uint64_t page_versions_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Timeline>> timelines_;
  std::unordered_map<uint64_t, PerTimeline<InodeState>> inodes_;
  std::unordered_map<uint64_t, PerTimeline<DirState>> dirs_;
  std::map<uint64_t, VolumeInfo> volumes_;
  std::map<uint64_t, PinInfo> pins_;  // by id
  uint64_t next_pin_ = 1;             // never lowered: pin ids are not reused
  // The last Clean pass's figures for CheckPinBudget and stats() (guarded by index_mu_).
  struct PassFigures {
    bool valid = false;                 // a pass has run since open
    uint64_t written_stored_at = 0;     // write_stored_bytes_ when the pass began
    uint64_t floor_stored_bytes = 0;
    uint64_t pinned_bytes = 0;
    uint64_t pinned_stored_bytes = 0;
    std::map<uint64_t, uint64_t> live_stored_bytes;     // by volume id
    std::map<uint64_t, uint64_t> history_stored_bytes;  // by volume id
  };
  PassFigures pass_;
  // Per timeline, change records and file data bytes per second (Store::Activity).
  ActivityLog activity_;
  // (time, last LSN stamped with that time), ascending in both.
  std::vector<std::pair<int64_t, uint64_t>> time_index_;

  // ---- pins (store_pins.cc) ----
  // The point Store::Pin(volume, at) pins and the moment it names (*time_ns). Takes index_mu_
  // shared; the caller holds write_mu_ to pin (so the head cannot move meanwhile), or nothing
  // to ask (CheckPinBudget). Errors as Store::Pin.
  Result<PointInTime> PinPointLocked(VolumeId volume, PinAt at, int64_t* time_ns) const;

  // ---- cleaning (cleaner.cc) ----
  Result<CleanReport> Clean(const CleanOptions& options);
  // Rewrites closed segment `seg`, now in file `f`, into a new file (docs/format/log.md,
  // "Cleaning"): without the Write records of which the index holds no version, and with
  // every raw Write compressed where that pays when compression runs in the background
  // (options_.compress && !options_.compress_inline). Moves the index locations and the
  // segment's reader to it under the index lock. *old_path: the file to remove once a
  // checkpoint names the new one; *new_size: the new file's size. Caller holds clean_mu_.
  Status RewriteSegment(uint32_t seg, const SegmentFile& f, std::string* old_path,
                        uint64_t* new_size);
  // Writes a checkpoint (naming the files rewritten so far), then removes `to_remove` and the
  // removals an earlier failed checkpoint left pending. Caller holds clean_mu_, not write_mu_.
  Status CheckpointThenRemove(std::vector<std::string> to_remove);
  // Store::CompactSegments: compresses every closed, local, first-written segment.
  Result<uint32_t> CompactSegments();
  // The compactor thread (started by Open when compression runs in the background): runs
  // CompactSegments whenever a segment is closed (WakeCompactor) and once at open.
  void CompactorLoop();
  void WakeCompactor();
  void StopCompactor();
  std::mutex compact_mu_;
  std::condition_variable compact_cv_;
  bool compact_wanted_ = false;           // guarded by compact_mu_
  std::atomic<bool> compact_stop_{false};  // also read by CompactSegments between segments
  std::thread compactor_;
  std::atomic<uint64_t> segments_compacted_{0};
  std::atomic<uint64_t> compaction_saved_bytes_{0};
  std::atomic<uint64_t> compaction_errors_{0};

  // ---- cold segments (cold.cc) ----
  // log/SSSSSSSS[-FFFFFFFFFF].cold: the marker of an evicted file.
  std::string ColdPath(uint32_t seg, uint32_t file_id) const;
  // A reader of log file (seg, file_id) and its size: the local file, or (cold) the tier's
  // reader of the marker `cold` names. kFailedPrecondition for a cold file without a tier.
  Result<std::shared_ptr<ReadFile>> OpenLogFile(uint32_t seg, uint32_t file_id,
                                                const ColdFile* cold, uint64_t* size);
  // Bytes [0, size) of a log file through its reader (local or cold), checked for length.
  Result<std::string> ReadLogFile(uint32_t file_id, uint64_t size) const;
  Result<EvictReport> Evict(uint64_t local_budget_bytes);
};

}  // namespace rwd::store
