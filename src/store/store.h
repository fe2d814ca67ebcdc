// Store: the versioned timeline store, the heart of Rewind.
//
// Every mutation of a volume's files (file data and namespace changes) becomes one record in an
// append-only, checksummed log (docs/format/log.md), stamped with an LSN (strictly increasing)
// and a wall-clock time (ns, non-decreasing even if the system clock steps back). An in-memory
// index, rebuilt at open from the last checkpoint (docs/format/checkpoint.md) plus the log tail,
// finds the newest version <= L of any byte without scanning the log.
//
// Timelines: {id, ancestor, ancestor LSN}. Reading timeline t at LSN L sees t's own records <= L,
// then its ancestor's at min(L, ancestor LSN), recursively. Branch() writes one record: O(1) in
// the amount of data.
//
// Volumes: a head timeline plus a history of (from-time, timeline). Resolve(v, T) gives the state
// of v at wall-clock time T, also across earlier rewinds, so rewinding back and forth works.
//
// Durability: a mutation returns once its record is in the OS (it survives a crash of this
// process); Sync() makes every earlier record durable on the device. Concurrent Sync() calls
// share one device sync (group commit). A failed device sync or write makes the store refuse all
// further mutations with the same (sticky) error; reads keep working.
//
// Thread safety: all methods may be called concurrently from any number of threads. Mutations
// are applied in LSN order; a read that starts after a mutation returned sees it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/env.h"
#include "store/segment_tier.h"
#include "store/types.h"
#include "store/write_gate.h"

namespace rwd::store {

class Store;

struct StoreOptions {
  std::string dir;                                  // created if missing
  Env* env = nullptr;                               // nullptr: Env::Default(); not owned
  uint64_t segment_bytes = 64ull << 20;             // a segment is closed past this size
  uint64_t checkpoint_every_bytes = 1ull << 30;     // log bytes between automatic checkpoints
  // Segments are made ahead of time by a background thread, zero-filled to segment_bytes and
  // synced (log/NNNNNNNN.prep, renamed into place when the log reaches it), so that appends
  // allocate nothing and a device sync needs no filesystem journal commit (ext4: ~40% less
  // per fdatasync). The log's end in its last segment is then the first all-zero record header.
  // Zero-filling writes each log byte twice, so the next segment is prepared only while the
  // log's recent windows (segment_bytes / 16 each, at least 4 × the threshold) average at most
  // preallocate_below_bytes_per_sync log bytes per device sync (many small commits); bulk
  // writes go to segments created as they grow, and when commits follow a bulk load, the log
  // leaves its growing segment for a prepared one as soon as that is ready.
  bool preallocate_segments = true;
  uint64_t preallocate_below_bytes_per_sync = 64 << 10;
  // Every this many appended bytes, the store starts the device writing them (without waiting;
  // sync_file_range), so that a Sync() finds little left to write: a small fsync (a redo log
  // commit) then does not wait for megabytes of page writes appended just before it. 0: off.
  // (sysbench oltp_write_only, 4 threads: mean FSYNC 435 -> 347 us; docs/benchmarks.md.)
  uint64_t writeback_every_bytes = 256 << 10;
  // Write data is stored zstd-compressed when that pays (a chunk's frame at most 7/8 of it;
  // docs/format/log.md, "Compressed writes"). Logs with and without compressed records read
  // the same either way. By default off the write path: writes are appended raw, and a
  // background thread (at nice 10) rewrites each segment once it is closed with its Writes
  // compressed (Store::CompactSegments; the cleaner's rewrite, which also drops dead writes),
  // so no commit or page flush waits for zstd; the active segment (<= segment_bytes) stays raw.
  bool compress = false;
  int compress_level = 1;  // zstd level (negative: faster, less compression)
  // Compress in the writing thread instead, before the store's append lock (the behaviour
  // before background compaction; for measuring the two side by side).
  bool compress_inline = false;
  // With compress and not compress_inline: a thread compresses each segment as it is closed.
  // Off: only Store::CompactSegments and the cleaner's rewrites compress (for tests that step
  // a crash through every I/O of one thread).
  bool background_compaction = true;
  // compress_inline only: writes shorter than this stay raw (small writes are redo-log appends
  // on a commit's path, where compressing adds latency). The background compactor compresses
  // every write of at least 128 bytes (kMinCompressBytes).
  uint64_t compress_min_bytes = 16 << 10;
  // Where closed segments evicted by EvictColdSegments are read from (not owned; must outlive
  // the store). nullptr: no remote tier; then Open fails with kFailedPrecondition if the log
  // has cold segments (evicted by an earlier run that had one).
  SegmentTier* tier = nullptr;
  // Asked before every Write whether it may go in (write_gate.h); may block. Not owned; must
  // outlive the store. nullptr: every write goes in.
  WriteGate* write_gate = nullptr;
  // The peers' stores that timelines with a foreign ancestor read through (CloneForeign):
  // given a ForeignAncestor's store id and view LSN, that view's open store, or nullptr when it
  // is not attached. Called under the store's index lock, from any thread: it must not call
  // this store. The stores it returns are not owned and must outlive this one. Open fails
  // (kFailedPrecondition) if a timeline's foreign ancestor does not resolve.
  std::function<const Store*(std::string_view store_id, uint64_t view_lsn)> peers;
};

// The log as far as it is durable, for a reader of the log's files beside the store (the
// object-store shipper, src/objstore; docs/format/object-store.md). See Store::DurableLogState.
struct LogFileInfo {
  uint32_t segment = 0;
  uint32_t file_id = 0;  // == segment for a first-written file, else a cleaner rewrite
  uint64_t size = 0;     // bytes of header + records: the file may hold zeros after them
  std::string path;      // the local file; absent when cold
  bool cold = false;     // evicted: only in the remote tier (already verified there)
};
struct DurableLog {
  Lsn lsn;                 // every record <= lsn is durable on the local device
  uint32_t segment = 0;    // and ends at this offset of this segment (the record after lsn's)
  uint64_t offset = 0;
  uint32_t active_segment = 0;   // the segment being appended to (its first-written file):
  std::string active_path;       // bytes below `offset` there never change
  std::vector<LogFileInfo> closed;  // every closed segment below it, ascending, final sizes
};

// How a Store::Clean pass works (see there).
struct CleanOptions {
  // A closed segment is rewritten when the live file data in it is below this fraction of its
  // size and rewriting frees at least min_reclaim_bytes.
  double rewrite_below_live_fraction = 0.5;
  uint64_t min_reclaim_bytes = 1ull << 20;
  // Throttle for segment rewriting (bytes read + written per second); 0: unthrottled.
  uint64_t max_rewrite_bytes_per_s = 64ull << 20;
  // Index entries examined per exclusive hold of the index lock (bounds reader/writer stalls).
  uint64_t batch_versions = 20000;
  // An unlinked inode's data is kept only for the states before its unlink, unless this says a
  // mount still has it open (its reads at the head must go on working). Called under the
  // store's index lock: it must not call the store.
  std::function<bool(TimelineId, InodeId)> in_use;
};

// Which moment of a volume Store::Pin pins: its current state (what a snapshot takes: no
// retention pass can race it), a wall-clock time (as Resolve reads it), or the state just
// after one record (an LSN).
struct PinAt {
  enum class Kind { kHead, kTime, kLsn };
  static PinAt Head() { return PinAt{Kind::kHead, 0, Lsn()}; }
  static PinAt Time(int64_t time_ns) { return PinAt{Kind::kTime, time_ns, Lsn()}; }
  static PinAt AtLsn(Lsn lsn) { return PinAt{Kind::kLsn, 0, lsn}; }
  Kind kind = Kind::kHead;
  int64_t time_ns = 0;
  Lsn lsn;
};

// What Open() found and did.
struct RecoveryReport {
  bool loaded_checkpoint = false;
  Lsn checkpoint_lsn;
  uint64_t records_replayed = 0;
  bool tail_cut = false;        // a torn or corrupt tail was cut off
  std::string cut_reason;       // why, and where
  uint64_t bytes_cut = 0;
};

class Store {
 public:
  // Opens (or creates) the store in options.dir: loads the newest valid checkpoint, replays the
  // log after it, and cuts a torn or corrupt tail at the last good record (see recovery()).
  // Fails only if the directory cannot be used or the log's head is unreadable.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);

  // Writes a checkpoint if the store is healthy, then closes files. No sync of unsynced records
  // beyond what the checkpoint needs.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const RecoveryReport& recovery() const;

  // ---- Reads at (timeline, lsn); lsn may be kLatestLsn. ----
  // NotFound: unknown timeline, parent or name. NotDirectory: parent is not a directory.
  Result<InodeId> Lookup(TimelineId tl, Lsn lsn, InodeId parent, std::string_view name) const;
  // NotFound: unknown timeline or inode (never created on that timeline's chain at lsn).
  // An unlinked inode still answers, with nlink 0.
  Result<Attr> GetAttr(TimelineId tl, Lsn lsn, InodeId ino) const;
  // Entries sorted by name, without "." and "..".
  Result<std::vector<DirEntry>> ReadDir(TimelineId tl, Lsn lsn, InodeId dir) const;
  // Copies up to `len` bytes from `offset`, stopping at the file's size; holes read as zeros.
  // Returns the number of bytes copied (0 at or past EOF). IsDirectory for a directory.
  Result<size_t> Read(TimelineId tl, Lsn lsn, InodeId ino, uint64_t offset, size_t len,
                      char* out) const;

  // ---- Mutations on a timeline's head. ----
  // Creates a node named `name` in directory `parent`. AlreadyExists if the name is taken,
  // NotFound/NotDirectory for a bad parent, InvalidArgument for a bad name ("", ".", "..",
  // containing '/', longer than 255 bytes).
  Result<Attr> Create(TimelineId tl, InodeId parent, std::string_view name, NodeType type,
                      uint32_t mode, uint32_t uid = 0, uint32_t gid = 0, uint32_t rdev = 0);
  // Writes data at offset (any size and alignment), extending the size if past it.
  // Returns the record's LSN. IsDirectory / NotFound as for Read.
  Result<Lsn> Write(TimelineId tl, InodeId ino, uint64_t offset, std::string_view data);
  Result<Attr> SetAttr(TimelineId tl, InodeId ino, const SetAttrRequest& request);
  // Removes a non-directory name. The inode's data stays readable by inode id and in history.
  // Returns the unlinked inode. IsDirectory if the name is a directory.
  Result<InodeId> Unlink(TimelineId tl, InodeId parent, std::string_view name);
  // Removes an empty directory. NotEmpty, NotDirectory as expected.
  Result<InodeId> Rmdir(TimelineId tl, InodeId parent, std::string_view name);
  // Renames, replacing an existing target (a file by a file, a directory by an empty directory)
  // unless no_replace (then AlreadyExists). Returns the replaced inode, or InodeId() if none.
  // InvalidArgument when moving a directory into itself.
  Result<InodeId> Rename(TimelineId tl, InodeId old_parent, std::string_view old_name,
                         InodeId new_parent, std::string_view new_name, bool no_replace = false);

  // Makes every record appended before the call durable. Concurrent callers share one device
  // sync. Returns the sticky error once a device sync has failed.
  Status Sync();
  // Makes every record with an LSN <= upto durable: the log is made durable in LSN order, so
  // this is Sync() for the records up to `upto`, and later records need not wait for it (a
  // file's fsync covers that file's writes and, through LastNonDataLsn(), every namespace
  // change; not the page writes of other files appended after). Concurrent callers share
  // device syncs with each other and with Sync(). InvalidArgument for an LSN in the future
  // (> LastLsn()); the sticky error once a device sync has failed.
  Status SyncUpTo(Lsn upto);

  // ---- Timelines and volumes. Each of these is one record, synced before returning. ----
  // A new timeline reading through to `ancestor` at `at`. InvalidArgument if `at` is in the
  // future (> LastLsn()); NotFound for an unknown ancestor.
  Result<TimelineId> Branch(TimelineId ancestor, Lsn at);
  // A new volume with a fresh root timeline holding an empty root directory.
  // AlreadyExists if a live volume has that name; InvalidArgument for an empty name.
  Result<VolumeInfo> CreateVolume(std::string_view name);
  // The state of `volume` at wall-clock time `time_ns`: the timeline that was its head then,
  // read at the last LSN whose time is <= time_ns. InvalidArgument if time_ns is before the
  // volume's creation or after LastTimeNs() (the future).
  Result<PointInTime> Resolve(VolumeId volume, int64_t time_ns) const;
  // Rewinds in place: the head becomes a new timeline branched from Resolve(volume, time_ns).
  Result<VolumeInfo> Rewind(VolumeId volume, int64_t time_ns);
  // A new volume whose first timeline branches from Resolve(source, time_ns).
  Result<VolumeInfo> Clone(std::string_view name, VolumeId source, int64_t time_ns);
  // A new volume whose first timeline has a *foreign* ancestor: the state of timeline
  // from.timeline at LSN from.lsn of another store (a peer's, resolved through
  // StoreOptions::peers by from.store_id and from.view_lsn; docs/format/log.md, "Foreign
  // ancestors"). Reads fall through to it below everything written here; writes stay here.
  // Inodes made here get ids at or above from.inode_floor, set here to the peer's NextInode()
  // (an id the foreign state never used). One record, synced, O(1).
  // InvalidArgument: empty name, a store id empty or longer than 255 bytes, an LSN past the
  // peer's LastLsn(). AlreadyExists: a live volume has the name. FailedPrecondition: the peer
  // is not attached. NotFound: no such timeline in the peer.
  Result<VolumeInfo> CloneForeign(std::string_view name, const ForeignAncestor& from);
  // Forgets the volume (its name may be reused). Its timelines stay while others branch from them.
  Status DeleteVolume(VolumeId volume);

  // ---- Pins (snapshots): docs/format/log.md, "Pins" ----
  // Pins the state of `volume` at `at`, under `name`: from then until Unpin, that exact state
  // stays readable at the returned PinInfo::point and clonable (CloneFromPin), whatever the
  // volume's retention floor, rewinds, or its deletion. One record, synced before returning:
  // O(1) whatever the volume's size (nothing is copied; the cleaner keeps what the pin reads).
  // At the head: the head timeline at the last LSN when the pin's record is appended (its
  // time: the store's clock then). At a time: the state Resolve(volume, time) gives. At an LSN:
  // the state of the timeline that was the volume's head when that record was appended, just
  // after it (records of other volumes in between change nothing in it). A time or an LSN may
  // be refused if a SetRetention raises the floor past it first: serialise the two, or pin the
  // head.
  // InvalidArgument: empty name or longer than 1024 bytes; a time or LSN before the volume's
  // creation or its retention floor (for an LSN, once the floor was raised: below the last LSN
  // stamped at or before the floor, the first state the cleaner keeps), or in the future
  // (> NowNs() / LastLsn()). AlreadyExists:
  // a pin has that name. NotFound: unknown volume. Mutations' sticky error after a failed sync.
  // Whether a pin fits a history budget is the caller's question first (CheckPinBudget): Pin
  // itself never refuses for space.
  Result<PinInfo> Pin(std::string_view name, VolumeId volume, PinAt at);
  // A second pin `name` of the same state as `source` (CopyDBClusterSnapshot), with the same
  // volume, volume name and moment; works after the volume is deleted. One record, synced,
  // O(1). InvalidArgument / AlreadyExists for the name as Pin; NotFound: no such source pin.
  Result<PinInfo> CopyPin(std::string_view name, PinId source);
  // Releases the pin: what only it kept becomes reclaimable by the next Clean. One record,
  // synced. NotFound: no such pin (already unpinned, or never made).
  Status Unpin(PinId pin);
  Result<PinInfo> GetPin(PinId pin) const;
  Result<PinInfo> FindPin(std::string_view name) const;
  std::vector<PinInfo> ListPins() const;  // ascending id
  // A new volume whose first timeline branches from the pin's point (restore from snapshot):
  // as Clone, one record, O(1). The clone keeps its branch point readable itself, so the pin
  // may be released afterwards. AlreadyExists (a live volume has the name), InvalidArgument
  // (empty name), NotFound (no such pin).
  Result<VolumeInfo> CloneFromPin(std::string_view name, PinId pin);
  // Whether a new pin of `volume` at `at` fits a history budget of `budget_bytes` log bytes:
  // see PinBudget for what is counted. The worst case, so a pin that fits can never force the
  // cleaner past the budget by itself; figures are from the last Clean pass (plus what was
  // written since), so call Clean periodically. O(1) in the volume's size, no I/O, no record.
  // The caller refuses the pin when !fits (the cluster layer: SnapshotQuotaExceeded /
  // StorageQuotaExceeded); nothing is reserved, so concurrent callers must serialise check and
  // Pin themselves. Errors: as Pin for `volume` and `at` (NotFound, InvalidArgument), and
  // InvalidArgument for budget_bytes 0 (no budget: every pin fits, nothing to ask).
  Result<PinBudget> CheckPinBudget(VolumeId volume, PinAt at, uint64_t budget_bytes) const;

  // ---- Activity ----
  // What `volume` changed per interval: points at from_ns, from_ns + step_ns, ... while < to_ns,
  // where from_ns and to_ns are first rounded (down, up) to multiples of step_ns since the epoch;
  // each point counts the change records (bytes: file data bytes) that the timeline that was the
  // volume's head at that moment (its history, as Resolve follows it) recorded in the interval.
  // A record is every file-system change: Write, Create, Unlink/Rmdir, Rename, SetAttr (not
  // timeline or volume records). Exact: counted as records are applied (and at recovery), not
  // sampled. A second in which the volume switched timelines (a Rewind) counts what both
  // timelines recorded in it. Moments before the volume's creation show zeros, and so do, once
  // a Clean pass has run, the whole seconds before the volume's retained_from_ns (the summary
  // keeps only what some volume's window may show; inside the window, cleaning changes nothing).
  // Resolution: one second for the last kActivityFineSpanNs of the store's clock, a minute
  // before that (the summary's memory stays bounded).
  // InvalidArgument: step_ns not a positive whole number of seconds; from_ns > to_ns; more
  // than kMaxActivityPoints points; a step that is not a whole number of minutes for an
  // interval starting where only minutes are kept (the message says from when).
  // NotFound: unknown volume. Cost: O(buckets in [from, to)), no I/O.
  Result<std::vector<ActivityPoint>> Activity(VolumeId volume, int64_t from_ns, int64_t to_ns,
                                              int64_t step_ns) const;

  Result<VolumeInfo> GetVolume(VolumeId volume) const;
  Result<VolumeInfo> FindVolume(std::string_view name) const;
  std::vector<VolumeInfo> ListVolumes() const;
  Result<TimelineInfo> GetTimeline(TimelineId tl) const;

  // ---- Retention and cleaning ----
  // Lets the cleaner reclaim the volume's states before `from_ns` (clamped to NowNs()): from
  // then on Resolve, Rewind and Clone refuse earlier times (InvalidArgument). Never lowers the
  // volume's retained_from_ns (a lower value is a no-op, no record). One record, synced.
  // NotFound for an unknown volume.
  Result<VolumeInfo> SetRetention(VolumeId volume, int64_t from_ns);

  // One cleaning pass. The retained states are, for every live volume, its state at every
  // moment from its retained_from_ns on (and its head), every pin's point, and, through
  // timeline ancestry, the branch points these read (so a clone keeps its source's state at
  // the clone point, even after the source is deleted; a pin keeps its state after its volume
  // is deleted). The report counts what the pins keep (CleanReport::pinned_*). A page version is dropped from the index when, at every
  // retained state that could see it, newer versions of the same timeline cover its bytes (or
  // when no retained state reads its timeline at all); an attribute version likewise. Then
  // every closed segment whose live file data is below options.rewrite_below_live_fraction is
  // rewritten without its dead Write records (every other record is kept byte for byte), a
  // checkpoint is written, and the old file is removed. Crash-safe at every step: a crash
  // leaves either the old or the new file in use, never a mix (docs/format/log.md).
  // Runs concurrently with reads and mutations, holding the index lock exclusively only in
  // batches of options.batch_versions. Passes are serialised. Reads at a fixed LSN of a state
  // that is not retained (for example a debugging read-only mount of an old LSN, or a timeline
  // made by Branch() that no volume reads) may see reclaimed data as holes: do not Clean a
  // store that serves such reads.
  Result<CleanReport> Clean(const CleanOptions& options = {});

  Lsn LastLsn() const;        // LSN of the newest record
  // The id the next inode made here gets: every inode of the store is below it.
  uint64_t NextInode() const;
  // Bytes of segment files on the local disk (not evicted): stats().local_log_bytes, cheaply
  // (two atomics; for a WriteGate called on every write).
  uint64_t LocalLogBytes() const;
  // LSN of the newest record appended since open that is not a regular file's data
  // (namespace, attributes, timelines, volumes, a symlink's target, ...); Lsn() if none (Open
  // makes every record before it durable). Never above LastLsn().
  Lsn LastNonDataLsn() const;
  int64_t LastTimeNs() const; // its time; the store's clock never goes below it
  // The store's clock: max(now, LastTimeNs()). What new records will be stamped with (or later).
  int64_t NowNs() const;

  // The durable end of the log and the files holding it (a snapshot; closed files stay as
  // listed until a cleaning pass replaces one, which a reader sees as the file vanishing).
  // For the object-store shipper: nothing here is on the commit path (two short lock holds).
  DurableLog DurableLogState() const;

  // Local disk as a cache (StoreOptions::tier): while the closed segment files kept locally
  // exceed `local_budget_bytes`, evicts the oldest, each only once tier->Verify() confirmed
  // the remote copy (size and CRC-32C of the local bytes); reads of an evicted file then go
  // through the tier (ranged, checked fetches). The active segment is never evicted. A
  // crash at any step leaves the file local, or its marker with the copy verified.
  // Serialised with Clean. kFailedPrecondition without a tier; an I/O error on the local
  // side stops the pass with it; a file the tier cannot verify (not uploaded yet, or the
  // tier unreachable) is kept and counted in `deferred`, never evicted.
  // const: it changes where bytes are kept, never what any read returns.
  Result<EvictReport> EvictColdSegments(uint64_t local_budget_bytes) const;

  // Compresses, now, every closed segment still as first written (raw), each rewritten as the
  // cleaner would (crash-safe at every step; docs/format/log.md, "Cleaning"), then writes a
  // checkpoint and removes the old files. What the background compactor does after each
  // segment is closed; serialised with Clean and EvictColdSegments. Returns how many segments
  // it rewrote (0 when compression is off or inline). Errors: the sticky error; an I/O error
  // of the rewrite (the raw file then stays in use; nothing stored is lost).
  Result<uint32_t> CompactSegments();

  // Writes an index checkpoint now (syncing the log first). Normally automatic.
  Status Checkpoint();
  // OK, or the sticky error that stops mutations.
  Status health() const;
  StoreStats stats() const;

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rwd::store
