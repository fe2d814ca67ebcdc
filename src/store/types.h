// Value types shared by the store's interface: ids, attributes, directory entries.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/strong_id.h"

namespace rwd::store {

// Position in the store's log. Strictly increasing over all records of all timelines.
// Lsn(0) is "before the first record".
using Lsn = StrongId<struct LsnTag>;
using TimelineId = StrongId<struct TimelineTag>;
using InodeId = StrongId<struct InodeTag>;
using VolumeId = StrongId<struct VolumeTag>;
// A named pin on one moment of a volume (Store::Pin). Never reused within a store.
using PinId = StrongId<struct PinTag>;

// Reads at kLatestLsn see every record of the timeline (its head).
inline constexpr Lsn kLatestLsn{std::numeric_limits<uint64_t>::max()};
// Every timeline's root directory. Equal to FUSE_ROOT_ID on purpose.
inline constexpr InodeId kRootInode{1};

enum class NodeType : uint8_t {
  kFile = 1,
  kDirectory = 2,
  kSymlink = 3,
  kFifo = 4,
  kSocket = 5,
  kCharDevice = 6,
  kBlockDevice = 7,
};

struct Attr {
  InodeId ino;
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits only (07777); the type is in `type`
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  InodeId parent;  // directories: the directory holding it; files: where it was created
  uint32_t nlink = 1;  // 1 for files, 2 for directories, 0 once unlinked
};

struct DirEntry {
  std::string name;
  InodeId ino;
  NodeType type = NodeType::kFile;
  bool operator==(const DirEntry&) const = default;
};

// Only the fields that are set change.
struct SetAttrRequest {
  std::optional<uint64_t> size;  // truncate down (bytes past it read as zeros later) or extend
  std::optional<uint32_t> mode;  // permission bits
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<int64_t> atime_ns;
  std::optional<int64_t> mtime_ns;
};

// A timeline's ancestor in another store: a peer's, read through a read-only view of it
// (Store::CloneForeign; docs/format/log.md, "Foreign ancestors"). Reads that find nothing on
// the local chain fall through to `timeline` of that store at `lsn`.
struct ForeignAncestor {
  std::string store_id;   // the peer store's id (object store, 32 hex digits); empty: none
  uint64_t view_lsn = 0;  // which view of it: the peer's shipped LSN the view was built at
  TimelineId timeline;    // in the peer store
  Lsn lsn;                // in the peer store's LSNs
  uint64_t inode_floor = 0;  // the peer's next inode id then: local inodes are made above it
  bool valid() const { return !store_id.empty(); }
};

struct TimelineInfo {
  TimelineId id;
  TimelineId ancestor;  // invalid (0) for a root timeline
  Lsn ancestor_lsn;     // reads fall through to `ancestor` at min(L, ancestor_lsn)
  Lsn created_lsn;      // the record that created it
  int64_t created_ns = 0;
  // A root timeline made by CloneForeign: its foreign ancestor (its branches read through it
  // too, below every local ancestor). ancestor is then invalid.
  ForeignAncestor foreign;
};

// The (timeline, LSN) that was a volume's state at some moment.
struct PointInTime {
  TimelineId timeline;
  Lsn lsn;
  bool operator==(const PointInTime&) const = default;
};

// From `from_ns` on (until the next entry), `timeline` was the volume's head.
struct HistoryEntry {
  int64_t from_ns = 0;
  TimelineId timeline;
};

struct VolumeInfo {
  VolumeId id;
  std::string name;
  TimelineId head;
  std::vector<HistoryEntry> history;  // oldest first; history.back().timeline == head
  int64_t created_ns = 0;             // no state before this moment can be resolved
  // States before this moment may have been reclaimed by the cleaner: Resolve refuses them.
  // Starts at created_ns; only ever raised (Store::SetRetention).
  int64_t retained_from_ns = 0;
};

// A pin: the exact state of a volume at one moment, kept readable (and clonable) until Unpin,
// past the volume's retention floor and past the deletion of the volume itself.
struct PinInfo {
  PinId id;
  std::string name;        // unique among the store's pins
  VolumeId volume;         // the volume it was taken of (may be deleted since)
  std::string volume_name; // that volume's name when pinned
  PointInTime point;       // the pinned state: read it at (point.timeline, point.lsn)
  int64_t time_ns = 0;     // the moment pinned: for a pin at an LSN, that record's time
  int64_t created_ns = 0;  // when Pin was called (the pin record's time)
};

// What Store::CheckPinBudget found; bytes are log bytes (stored, after compression).
struct PinBudget {
  bool fits = false;          // floor_bytes + new_pin_bytes <= budget_bytes
  uint64_t budget_bytes = 0;  // as asked
  // What no retention floor can reclaim now: the data every live volume's head, every clone's
  // branch point and every existing pin reads (CleanReport::floor_stored_bytes of the last
  // pass, plus the file data written since; before any pass since open, the whole log).
  uint64_t floor_bytes = 0;
  // The most the new pin can come to hold beyond that, as of the last pass plus what was
  // written since. A pin of the volume's current state: the data its head timeline wrote
  // itself and shows (its own live bytes; what it reads through a branch point is in
  // floor_bytes already), all of it held once the volume overwrites or deletes everything.
  // A pin of an earlier moment: every version the volume's own timelines keep (its history
  // bytes), since that state may read any of them.
  uint64_t new_pin_bytes = 0;
  bool at_head = false;  // which of the two the pin is
};

struct StoreStats {
  Lsn last_lsn;
  Lsn synced_lsn;
  uint64_t records = 0;
  uint64_t log_bytes = 0;         // bytes in all segments
  uint64_t pins = 0;              // pins now
  // As of the last Clean pass since open (0 before one): see CleanReport.
  uint64_t pinned_bytes = 0;
  uint64_t pinned_stored_bytes = 0;
  uint64_t floor_stored_bytes = 0;
  uint64_t page_versions = 0;     // entries in the data index
  uint64_t device_syncs = 0;      // fdatasync calls issued
  uint64_t sync_requests = 0;     // Sync() calls
  uint64_t write_bytes = 0;       // file data bytes written (Write) since open
  // Bytes of log record data they took when appended (less only with compress_inline; the
  // background compactor's savings are in compaction_saved_bytes).
  uint64_t write_stored_bytes = 0;
  uint64_t segments_compacted = 0;      // closed segments compressed in the background
  uint64_t compaction_saved_bytes = 0;  // log bytes that compression saved there
  uint64_t compaction_errors = 0;       // background passes that failed (the raw file stays)
  uint32_t segments = 0;
  uint64_t local_log_bytes = 0;   // bytes of segment files on the local disk (not cold)
  uint32_t cold_segments = 0;     // closed segments kept only in the remote tier
  uint64_t segments_evicted = 0;  // evicted since open
};

// What one Store::EvictColdSegments pass did.
struct EvictReport {
  uint64_t segments = 0;     // files evicted
  uint64_t bytes = 0;        // their bytes, freed locally
  uint64_t deferred = 0;     // files over the budget the tier could not verify (kept)
  std::string last_deferral; // why, for the last of them
  uint64_t local_bytes = 0;  // local segment bytes after the pass
};

// One volume's history as a Store::Clean pass found it (its own timelines only: data it shares
// with an ancestor volume is counted there).
struct VolumeHistoryStats {
  uint64_t change_records = 0;  // page versions written inside its retained window
  uint64_t history_bytes = 0;   // file data bytes of every version kept for it
  // File data bytes its head timeline wrote itself (since the volume's last rewind or clone)
  // and its head still shows; what the head reads through from older timelines is not counted.
  uint64_t live_bytes = 0;
  // The same two as bytes in the log (less than the file data bytes where it is compressed).
  uint64_t history_stored_bytes = 0;
  uint64_t live_stored_bytes = 0;
};

// One interval of a volume's activity (Store::Activity): what the timeline that was the volume's
// head recorded in [time_ns, time_ns + step).
struct ActivityPoint {
  int64_t time_ns = 0;
  uint64_t bytes = 0;    // file data bytes written (Write), before compression
  uint64_t records = 0;  // change records: writes, creates, removes, renames, attribute changes
  bool operator==(const ActivityPoint&) const = default;
};
// The activity summary keeps per-second counts for this long before the store's clock; older
// counts are kept per minute (Store::Activity).
inline constexpr int64_t kActivityFineSpanNs = 24ll * 3600 * 1'000'000'000;
// Store::Activity answers at most this many points.
inline constexpr int64_t kMaxActivityPoints = 10'000;

// What one Store::Clean pass did.
struct CleanReport {
  uint64_t versions_dropped = 0;     // page versions no retained state needs, dropped from the index
  uint64_t attr_versions_dropped = 0;
  uint64_t live_data_bytes = 0;      // log bytes of the file data the index still points at
  uint64_t segments_rewritten = 0;
  uint64_t bytes_before = 0;         // log bytes before the pass
  uint64_t bytes_after = 0;          // and after it
  double seconds = 0;
  std::map<uint64_t, VolumeHistoryStats> volumes;  // by volume id
  // Pins: file data bytes (and their log bytes) that only pins keep, i.e. that would be
  // reclaimable if there were no pins and every volume's retention floor were at its head.
  // What the pins cost on disk whatever the backtrack windows; shared between pins, so not
  // split per pin.
  uint64_t pinned_bytes = 0;
  uint64_t pinned_stored_bytes = 0;
  // Log bytes of the file data that no retention floor can reclaim: what the volumes' heads,
  // the clones' branch points and the pins read (pinned_stored_bytes included). A history
  // budget below this cannot be met by cutting backtrack windows.
  uint64_t floor_stored_bytes = 0;
};

}  // namespace rwd::store
