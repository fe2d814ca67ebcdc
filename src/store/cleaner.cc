// The cleaner: one pass of Store::Clean. What is kept and why is in store.h (Store::Clean) and
// docs/format/log.md ("Cleaning"); crash safety of the file swap is in Open() (store_open.cc).
//
// A pass:
//   1. read sets: for every timeline, the LSNs at which some retained state reads it
//      (an open range [lo, hi) plus single branch points), from the volumes' histories and
//      retention floors, the pins, and the timelines' ancestor chains;
//   2. prune: drop from the index every page and attribute version that no read LSN can see
//      (a newer version of the same timeline, at or before the nearest read LSN, covers it),
//      in batches under the exclusive index lock, counting the live data per log file;
//   3. rewrite each closed segment that is mostly dead into a new file without its dead Write
//      records (tmp file, fsync, rename, directory fsync), then swap the index locations and
//      the segment's reader under the exclusive index lock;
//   4. checkpoint (which names the new files), then remove the old files.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "common/failpoint.h"
#include "store/store_impl.h"

namespace rwd::store {
namespace {

constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

// The LSNs at which retained states read one timeline (for one inode: capped at its unlink).
struct ReadSet {
  uint64_t lo = kNone;  // every LSN in [lo, hi) is read; kNone: none
  uint64_t hi = kNone;
  std::vector<uint64_t> points;  // and these; sorted, unique

  bool empty() const { return lo == kNone && points.empty(); }
  // The smallest read LSN >= x, or kNone.
  uint64_t NextRead(uint64_t x) const {
    uint64_t best = kNone;
    if (lo != kNone) {
      const uint64_t r = std::max(lo, x);
      if (r < hi) best = r;
    }
    auto it = std::lower_bound(points.begin(), points.end(), x);
    if (it != points.end() && *it < hi) best = std::min(best, *it);
    return best;
  }
};

// Disjoint, merged byte ranges of one page.
class Coverage {
 public:
  void Clear() { ranges_.clear(); }
  bool Covers(uint32_t a, uint32_t b) const {
    for (const auto& [x, y] : ranges_) {
      if (x <= a && b <= y) return true;
    }
    return false;
  }
  void Add(uint32_t a, uint32_t b) {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    out.reserve(ranges_.size() + 1);
    for (const auto& r : ranges_) {
      if (r.second < a || r.first > b) {
        out.push_back(r);
      } else {
        a = std::min(a, r.first);
        b = std::max(b, r.second);
      }
    }
    out.emplace_back(a, b);
    std::sort(out.begin(), out.end());
    ranges_.swap(out);
  }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
};

// Marks dead[i] for the extents of one page (ascending LSN) that no read in `rs` sees.
void MarkDeadExtents(const std::vector<Extent>& exts, const ReadSet& rs, std::vector<bool>* dead) {
  const size_t n = exts.size();
  dead->assign(n, false);
  std::vector<uint64_t> next_read(n);
  for (size_t i = 0; i < n; ++i) {
    next_read[i] = rs.NextRead(exts[i].lsn);
    if (next_read[i] == kNone) (*dead)[i] = true;
  }
  // Extents whose nearest read is a later LSN g are dead if the versions in (lsn, g] cover
  // them. next_read is non-decreasing in i, so each g's extents are one run of indexes.
  Coverage cov;
  size_t i = 0;
  while (i < n) {
    const uint64_t g = next_read[i];
    if (g == kNone || g == exts[i].lsn) {
      ++i;
      continue;
    }
    size_t run_end = i;
    while (run_end + 1 < n && next_read[run_end + 1] == g && exts[run_end + 1].lsn != g) ++run_end;
    // Sweep down from the newest extent at or below g.
    size_t top = static_cast<size_t>(
        std::upper_bound(exts.begin(), exts.end(), g,
                         [](uint64_t l, const Extent& e) { return l < e.lsn; }) -
        exts.begin());
    cov.Clear();
    for (size_t k = top; k-- > i;) {
      const Extent& e = exts[k];
      if (k <= run_end && cov.Covers(e.page_off, e.page_off + e.len)) (*dead)[k] = true;
      cov.Add(e.page_off, e.page_off + e.len);
    }
    i = run_end + 1;
  }
}

}  // namespace

Result<CleanReport> Store::Impl::Clean(const CleanOptions& options) {
  std::lock_guard<std::mutex> clean_lock(clean_mu_);
  RETURN_IF_ERROR(CheckHealthy());
  const auto t0 = std::chrono::steady_clock::now();
  CleanReport report;
  report.bytes_before = log_bytes_.load();

  // ---- 0. the activity summary keeps what the volumes may still show: per timeline, from the
  // earliest retention floor (whole seconds) of a volume that had it as its head since then ----
  {
    std::unique_lock<std::shared_mutex> lk(index_mu_);
    std::unordered_map<uint64_t, int64_t> activity_from;
    for (const auto& [id, v] : volumes_) {
      const int64_t floor_s = std::max(v.retained_from_ns, v.created_ns) / 1'000'000'000;
      for (size_t h = 0; h < v.history.size(); ++h) {
        const int64_t end = h + 1 < v.history.size() ? v.history[h + 1].from_ns
                                                     : std::numeric_limits<int64_t>::max();
        if (end / 1'000'000'000 < floor_s) continue;
        auto [it, fresh] = activity_from.emplace(v.history[h].timeline.value, floor_s);
        if (!fresh) it->second = std::min(it->second, floor_s);
      }
    }
    activity_.Prune(activity_from);
  }

  // ---- 1. read sets ----
  std::unordered_map<const Timeline*, ReadSet> sets;
  struct Owner {
    uint64_t volume;
    uint64_t lo;  // the window's first LSN on this timeline
    bool head;
  };
  std::unordered_map<const Timeline*, Owner> owner;  // timelines a volume reads as its own
  int64_t min_floor = std::numeric_limits<int64_t>::max();
  // What no retention floor can reclaim (the volumes' heads and their branch points), and
  // per timeline the points pins read: for CleanReport::floor_stored_bytes and pinned_*.
  std::unordered_map<const Timeline*, ReadSet> floor_sets;
  std::unordered_map<const Timeline*, std::vector<uint64_t>> pin_points;
  uint64_t written_at_start = 0;
  std::vector<uint64_t> inode_ids;
  {
    std::shared_lock<std::shared_mutex> lk(index_mu_);
    auto lsn_at_time = [this](int64_t t) -> uint64_t {
      auto it = std::upper_bound(time_index_.begin(), time_index_.end(), t,
                                 [](int64_t x, const auto& p) { return x < p.first; });
      return it == time_index_.begin() ? 0 : (it - 1)->second;
    };
    std::vector<std::pair<const Timeline*, uint64_t>> own;  // (timeline, lo) from volumes
    owner.clear();
    for (const auto& [id, v] : volumes_) {
      const int64_t floor = std::max(v.retained_from_ns, v.created_ns);
      min_floor = std::min(min_floor, floor);
      for (size_t h = 0; h < v.history.size(); ++h) {
        const int64_t end = h + 1 < v.history.size() ? v.history[h + 1].from_ns
                                                     : std::numeric_limits<int64_t>::max();
        if (end <= floor) continue;  // every moment it was head is before the floor
        const Timeline* t = FindTimeline(v.history[h].timeline);
        if (!t) continue;
        // Reads at moment T >= floor use the LSN at T: at least the LSN at the floor, and at
        // least the record that made this timeline the head.
        uint64_t lo = t->info.created_lsn.value;
        if (v.history[h].from_ns < floor) lo = std::max(lo, lsn_at_time(floor));
        own.emplace_back(t, lo);
        owner[t] = Owner{id, lo, t->info.id == v.head};
      }
    }
    for (const auto& [t, lo] : own) {
      ReadSet& rs = sets[t];
      rs.lo = std::min(rs.lo, lo);
      for (size_t idx = 1; idx < t->chain.size(); ++idx) {
        const auto& [ancestor, limit] = t->chain[idx];
        sets[ancestor].points.push_back(std::min(limit, lo));
      }
    }
    // The floor's reads: every live head, and the branch points its chain reads.
    for (const auto& [id, v] : volumes_) {
      const Timeline* t = FindTimeline(v.head);
      if (!t) continue;
      floor_sets[t].points.push_back(kNone - 1);
      for (size_t idx = 1; idx < t->chain.size(); ++idx) {
        floor_sets[t->chain[idx].first].points.push_back(t->chain[idx].second);
      }
    }
    // A pin reads its point, and through its chain the branch points below it, like a clone.
    for (const auto& [id, p] : pins_) {
      const Timeline* t = FindTimeline(p.point.timeline);
      if (!t) continue;
      for (const auto& [at, limit] : t->chain) {
        const uint64_t point = std::min(limit, p.point.lsn.value);
        sets[at].points.push_back(point);
        pin_points[at].push_back(point);
      }
    }
    auto sort_unique = [](std::vector<uint64_t>& v) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    };
    for (auto& [t, rs] : sets) sort_unique(rs.points);
    for (auto& [t, rs] : floor_sets) sort_unique(rs.points);
    for (auto& [t, pts] : pin_points) sort_unique(pts);
    written_at_start = write_stored_bytes_.load();
    inode_ids.reserve(inodes_.size());
    for (const auto& [ino, per] : inodes_) inode_ids.push_back(ino);
  }

  // ---- 2. prune the index, counting live data per log file ----
  std::unordered_map<uint32_t, uint64_t> live;  // file id -> live data bytes
  {
    static const ReadSet kNoReads;
    const ReadSet kAtHead{kNone, kNone, {kNone - 1}};
    std::vector<bool> dead, at_head, floor_dead, unpinned_dead;
    std::vector<Extent> kept;
    size_t pos = 0;
    while (pos < inode_ids.size()) {
      // write_mu_ too: writers validate against the index holding write_mu_ alone.
      std::unique_lock<std::mutex> wl(write_mu_);
      std::unique_lock<std::shared_mutex> lk(index_mu_);
      uint64_t visited = 0;
      for (; pos < inode_ids.size() && visited < options.batch_versions; ++pos) {
        auto it = inodes_.find(inode_ids[pos]);
        if (it == inodes_.end()) continue;
        for (auto& [t, st] : it->second) {
          auto s = sets.find(t);
          ReadSet rs = s == sets.end() ? kNoReads : s->second;
          // An unlinked inode is read only before its unlink (unless a mount still has it open).
          if (!st->attrs.empty() && st->attrs.back().attr.nlink == 0 &&
              !(options.in_use && options.in_use(t->info.id, InodeId(inode_ids[pos])))) {
            rs.hi = st->attrs.back().lsn;
          }
          auto own = owner.find(t);
          VolumeHistoryStats* vs =
              own == owner.end() ? nullptr : &report.volumes[own->second.volume];
          bool alive_at_head = false;
          if (vs && own->second.head) {
            Result<Attr> a = AttrAt(t, kNone, InodeId(inode_ids[pos]));
            alive_at_head = a.ok() && a->nlink > 0;
          }
          // The floor's reads without and with the pins (both within rs: a subset of reads
          // keeps a subset of versions, so both are judged on the versions rs keeps).
          ReadSet floor_rs;
          if (auto f = floor_sets.find(t); f != floor_sets.end()) floor_rs = f->second;
          floor_rs.hi = rs.hi;
          const auto pp = pin_points.find(t);
          ReadSet pinned_rs = floor_rs;
          if (pp != pin_points.end()) {
            pinned_rs.points.insert(pinned_rs.points.end(), pp->second.begin(), pp->second.end());
            std::sort(pinned_rs.points.begin(), pinned_rs.points.end());
          }
          for (auto p = st->pages.begin(); p != st->pages.end();) {
            std::vector<Extent>& exts = p->second;
            visited += exts.size();
            MarkDeadExtents(exts, rs, &dead);
            kept.clear();
            for (size_t k = 0; k < exts.size(); ++k) {
              if (!dead[k]) kept.push_back(exts[k]);
            }
            MarkDeadExtents(kept, pinned_rs, &floor_dead);
            if (pp != pin_points.end()) MarkDeadExtents(kept, floor_rs, &unpinned_dead);
            for (size_t k = 0; k < kept.size(); ++k) {
              if (!floor_dead[k]) {
                report.floor_stored_bytes += StoredLen(kept[k]);
                if (pp != pin_points.end() && unpinned_dead[k]) {
                  report.pinned_bytes += kept[k].len;
                  report.pinned_stored_bytes += StoredLen(kept[k]);
                }
              }
              // Log bytes: what rewriting the segment would keep of it.
              live[LocSegment(kept[k].loc)] += StoredLen(kept[k]);
              if (vs) {
                vs->history_bytes += kept[k].len;
                vs->history_stored_bytes += StoredLen(kept[k]);
                if (kept[k].lsn >= own->second.lo) ++vs->change_records;
              }
            }
            if (vs && alive_at_head) {
              MarkDeadExtents(kept, kAtHead, &at_head);
              for (size_t k = 0; k < kept.size(); ++k) {
                if (at_head[k]) continue;
                vs->live_bytes += kept[k].len;
                vs->live_stored_bytes += StoredLen(kept[k]);
              }
            }
            if (kept.size() != exts.size()) {
              report.versions_dropped += exts.size() - kept.size();
              page_versions_ -= exts.size() - kept.size();
              if (kept.empty()) {
                p = st->pages.erase(p);
                continue;
              }
              exts.assign(kept.begin(), kept.end());
              exts.shrink_to_fit();
            }
            ++p;
          }
          // An attribute version is dead if no read sees it before the next one replaces it.
          auto& attrs = st->attrs;
          visited += attrs.size();
          size_t out = 0;
          for (size_t k = 0; k < attrs.size(); ++k) {
            const uint64_t g = rs.NextRead(attrs[k].lsn);
            // The last one always stays: it says whether the inode was unlinked.
            const bool is_dead = k + 1 < attrs.size() && (g == kNone || attrs[k + 1].lsn <= g);
            if (is_dead) {
              ++report.attr_versions_dropped;
              continue;
            }
            if (out != k) attrs[out] = attrs[k];
            ++out;
          }
          attrs.resize(out);
        }
      }
      lk.unlock();
      wl.unlock();
      std::this_thread::yield();
    }
    for (const auto& [id, bytes] : live) report.live_data_bytes += bytes;
    std::unique_lock<std::shared_mutex> lk(index_mu_);
    pass_.valid = true;
    pass_.written_stored_at = written_at_start;
    pass_.floor_stored_bytes = report.floor_stored_bytes;
    pass_.pinned_bytes = report.pinned_bytes;
    pass_.pinned_stored_bytes = report.pinned_stored_bytes;
    pass_.live_stored_bytes.clear();
    pass_.history_stored_bytes.clear();
    for (const auto& [id, vs] : report.volumes) {
      pass_.live_stored_bytes[id] = vs.live_stored_bytes;
      pass_.history_stored_bytes[id] = vs.history_stored_bytes;
    }
  }

  // The time index before the earliest retained moment is no longer needed but for its last
  // entry (Resolve at the floor itself).
  if (min_floor != std::numeric_limits<int64_t>::max()) {
    std::lock_guard<std::mutex> wl(write_mu_);  // Rewind and Clone resolve under write_mu_
    std::unique_lock<std::shared_mutex> lk(index_mu_);
    auto it = std::upper_bound(time_index_.begin(), time_index_.end(), min_floor,
                               [](int64_t x, const auto& p) { return x < p.first; });
    if (it - time_index_.begin() > 1) time_index_.erase(time_index_.begin(), it - 1);
  }

  // ---- 3. rewrite mostly-dead closed segments ----
  std::map<uint32_t, SegmentFile> files;
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    files = seg_files_;
  }
  const uint32_t active = files.empty() ? 0 : files.rbegin()->first;
  std::vector<std::string> to_remove;
  const auto rewrite_start = std::chrono::steady_clock::now();
  uint64_t rewrite_bytes = 0;
  for (const auto& [seg, f] : files) {
    if (seg >= active || f.size == 0) continue;  // the active segment, or size unknown
    const uint64_t live_bytes = live.count(f.file_id) ? live[f.file_id] : 0;
    const uint64_t fixed = std::min(f.size, f.kept_bytes + live_bytes);
    if (f.size - fixed < options.min_reclaim_bytes ||
        static_cast<double>(live_bytes) >= options.rewrite_below_live_fraction * f.size) {
      continue;
    }
    std::string old_path;
    uint64_t new_size = 0;
    RETURN_IF_ERROR(RewriteSegment(seg, f, &old_path, &new_size));
    to_remove.push_back(old_path);
    ++report.segments_rewritten;

    // Throttle: keep the rewrite's I/O under the configured rate.
    rewrite_bytes += f.size + new_size;
    if (options.max_rewrite_bytes_per_s > 0) {
      const double due = static_cast<double>(rewrite_bytes) / options.max_rewrite_bytes_per_s;
      const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                         rewrite_start)
                               .count();
      if (due > spent) std::this_thread::sleep_for(std::chrono::duration<double>(due - spent));
    }
  }

  // ---- 4. a checkpoint names the new files; only then may the old ones go ----
  RETURN_IF_ERROR(CheckpointThenRemove(std::move(to_remove)));
  report.bytes_after = log_bytes_.load();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

Status Store::Impl::CheckpointThenRemove(std::vector<std::string> to_remove) {
  if (to_remove.empty() && pending_removals_.empty()) return Status::Ok();
  {
    std::lock_guard<std::mutex> wl(write_mu_);
    Status s = WriteCheckpointLocked();
    if (!s.ok()) {
      pending_removals_.insert(pending_removals_.end(), to_remove.begin(), to_remove.end());
      return s.WithContext("checkpoint after rewriting segments (old files kept until one works)");
    }
  }
  to_remove.insert(to_remove.end(), pending_removals_.begin(), pending_removals_.end());
  pending_removals_.clear();
  for (const std::string& path : to_remove) {
    if (env_->FileExists(path)) RETURN_IF_ERROR(env_->RemoveFile(path));
  }
  return env_->SyncDir(log_dir_);
}

Status Store::Impl::RewriteSegment(uint32_t seg, const SegmentFile& f, std::string* old_path,
                                   uint64_t* new_size) {
  // An evicted file is read through the tier (fetched, checked) and rewritten locally; its
  // marker goes like a local file, and the bucket's copy once an uploaded checkpoint names
  // the new file (objstore::Shipper).
  *old_path = f.cold ? ColdPath(seg, f.file_id) : FilePath(seg, f.file_id);
  ASSIGN_OR_RETURN(std::string buf, ReadLogFile(f.file_id, f.size));
  ASSIGN_OR_RETURN(SegmentHeaderInfo sh, ParseSegmentHeader(buf, seg, f.file_id));
  const bool compress = options_.compress && !options_.compress_inline;

  // Which records stay: every record but a Write whose versions are all out of the index.
  struct Kept {
    uint64_t off, len;
    bool is_write;
    bool raw_write;  // a Write stored raw: compressed on the way when `compress`
    uint64_t tl, ino, lsn, offset;
    uint64_t data_len;    // file bytes the write covers (its pages)
    uint64_t stored_len;  // bytes of its data in the log (less when compressed)
  };
  std::vector<Kept> records;
  uint64_t last_lsn = sh.last_lsn;
  int64_t last_time = sh.last_time_ns;
  for (uint64_t off = sh.size; off + kRecordHeaderSize <= buf.size();) {
    std::string_view hbytes(buf.data() + off, kRecordHeaderSize);
    if (std::all_of(hbytes.begin(), hbytes.end(), [](char c) { return c == 0; })) break;
    ASSIGN_OR_RETURN(RecordHeader h, DecodeHeader(hbytes));
    const uint64_t total = kRecordHeaderSize + h.payload_len;
    if (off + total > buf.size()) {
      return Status::Corruption("closed segment " + std::to_string(seg) +
                                " ends inside a record: not rewritten");
    }
    ASSIGN_OR_RETURN(Record rec, DecodeRecord(std::string_view(buf.data() + off, total)));
    last_lsn = std::max(last_lsn, rec.lsn.value);
    last_time = std::max(last_time, rec.time_ns);
    const bool is_write = rec.kind == RecordKind::kWrite;
    records.push_back(Kept{off, total, is_write,
                           is_write && (rec.flags & kRecordCompressed) == 0, rec.tl.value,
                           rec.ino.value, rec.lsn.value, rec.offset, WriteLength(rec),
                           rec.data.size()});
    off += total;
  }
  {
    std::shared_lock<std::shared_mutex> lk(index_mu_);
    auto is_live = [this](const Kept& k) {
      if (!k.is_write || k.data_len == 0) return true;
      const Timeline* t = FindTimeline(TimelineId(k.tl));
      if (!t) return true;  // never applied: keep the log as it was
      auto it = inodes_.find(k.ino);
      if (it == inodes_.end()) return false;
      for (const auto& [st_t, st] : it->second) {
        if (st_t != t) continue;
        const uint64_t first = k.offset / kPageSize, last = (k.offset + k.data_len - 1) / kPageSize;
        for (uint64_t page = first; page <= last; ++page) {
          auto p = st->pages.find(page);
          if (p == st->pages.end()) continue;
          auto e = std::lower_bound(p->second.begin(), p->second.end(), k.lsn,
                                    [](const Extent& x, uint64_t l) { return x.lsn < l; });
          if (e != p->second.end() && e->lsn == k.lsn) return true;
        }
      }
      return false;
    };
    records.erase(std::remove_if(records.begin(), records.end(),
                                 [&](const Kept& k) { return !is_live(k); }),
                  records.end());
  }

  // Write the new file: header, then the kept records, byte for byte but for raw Writes that
  // compress (same LSN, time and fields; a compressed body and its own checksum).
  const uint32_t new_id = next_cleaned_id_++;
  const std::string new_path = FilePath(seg, new_id);
  const std::string tmp = new_path + ".tmp";
  std::string out = CleanedSegmentHeader(seg, new_id, last_lsn, last_time);
  // Index moves: a record kept as it was shifts its pages' locations by (new - old); a record
  // compressed here gets, per chunk, a new location and frame length.
  struct Move {
    uint64_t tl, ino, lsn, first_page, last_page;
    uint64_t old_data, new_data;  // offsets of the record's data in the old and new file
  };
  struct ChunkMove {
    uint64_t tl, ino, lsn, page;
    uint64_t new_loc;  // offset in the new file
    uint16_t zlen;
  };
  std::vector<Move> moves;
  std::vector<ChunkMove> chunk_moves;
  uint64_t kept_non_data = out.size();
  uint64_t saved = 0;  // log bytes compression saves here
  std::string body;
  for (const Kept& k : records) {
    if (compress && k.raw_write && k.data_len > 0) {
      Record rec = *DecodeRecord(std::string_view(buf.data() + k.off, k.len));  // checked above
      if (CompressWrite(rec.offset, rec.data, options_.compress_level, &body)) {
        rec.flags |= kRecordCompressed;
        rec.data = body;
        const size_t before = out.size();
        const size_t data_offset = EncodeRecord(rec, &out);
        const uint64_t data_at = before + data_offset;
        ForEachChunk(rec.offset, body, [&](const WriteChunk& c) {
          chunk_moves.push_back(ChunkMove{k.tl, k.ino, k.lsn, c.file_off / kPageSize,
                                          data_at + c.stored_off,
                                          static_cast<uint16_t>(c.compressed() ? c.stored_len
                                                                               : 0)});
        });
        kept_non_data += (out.size() - before) - body.size();
        saved += k.len - (out.size() - before);
        continue;
      }
    }
    if (k.is_write && k.data_len > 0) {
      moves.push_back(Move{k.tl, k.ino, k.lsn, k.offset / kPageSize,
                           (k.offset + k.data_len - 1) / kPageSize, k.off + kWriteDataOffset,
                           out.size() + kWriteDataOffset});
      kept_non_data += k.len - k.stored_len;
    } else {
      kept_non_data += k.len;
    }
    out.append(buf, k.off, k.len);
  }
  buf.clear();
  buf.shrink_to_fit();
  {
    ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> file, env_->OpenAppend(tmp));
    Status s = file->Append(out);
    if (s.ok()) s = file->Sync();
    if (s.ok()) s = env_->RenameFile(tmp, new_path);
    if (s.ok()) s = env_->SyncDir(log_dir_);
    if (!s.ok()) {
      (void)env_->RemoveFile(tmp);  // the rewrite's failure is reported; a leftover is ignored
      return s.WithContext("rewriting segment " + std::to_string(seg));
    }
  }
  Failpoint("store.clean.after_rewrite");
  ASSIGN_OR_RETURN(std::unique_ptr<ReadFile> reader, env_->OpenRead(new_path));
  std::shared_ptr<ReadFile> shared_reader = std::move(reader);
  {
    // Readers pin their files under index_mu_ (Store::Read), so after this block none can
    // read the old file with a new location, or the new file with an old one.
    std::unique_lock<std::shared_mutex> lk(index_mu_);
    // The extent of (tl, ino, page) written at lsn, if the index still holds it in the old file.
    auto find = [&](uint64_t tl, uint64_t ino, uint64_t lsn, uint64_t page) -> Extent* {
      const Timeline* t = FindTimeline(TimelineId(tl));
      auto it = inodes_.find(ino);
      if (!t || it == inodes_.end()) return nullptr;
      for (auto& [st_t, st] : it->second) {
        if (st_t != t) continue;
        auto p = st->pages.find(page);
        if (p == st->pages.end()) return nullptr;
        auto e = std::lower_bound(p->second.begin(), p->second.end(), lsn,
                                  [](const Extent& x, uint64_t l) { return x.lsn < l; });
        if (e == p->second.end() || e->lsn != lsn || LocSegment(e->loc) != f.file_id) {
          return nullptr;
        }
        return &*e;
      }
      return nullptr;
    };
    for (const Move& m : moves) {
      for (uint64_t page = m.first_page; page <= m.last_page; ++page) {
        if (Extent* e = find(m.tl, m.ino, m.lsn, page)) {
          e->loc = MakeLoc(new_id, LocOffset(e->loc) - m.old_data + m.new_data);
        }
      }
    }
    // A raw extent and its compressed chunk cover the same bytes of the page (both are cut at
    // page boundaries): only where it is stored changes.
    for (const ChunkMove& m : chunk_moves) {
      if (Extent* e = find(m.tl, m.ino, m.lsn, m.page)) {
        e->loc = MakeLoc(new_id, m.new_loc);
        e->zlen = m.zlen;
      }
    }
    std::lock_guard<std::mutex> sl(seg_mu_);
    readers_[new_id] = shared_reader;
    readers_.erase(f.file_id);
    seg_files_[seg] = SegmentFile{new_id, out.size(), kept_non_data};
    if (f.cold) {
      cold_.erase(f.file_id);
      cold_bytes_ -= f.size;
    }
  }
  log_bytes_ -= f.size;
  log_bytes_ += out.size();
  compaction_saved_bytes_ += saved;
  *new_size = out.size();
  return Status::Ok();
}

Result<uint32_t> Store::Impl::CompactSegments() {
  std::lock_guard<std::mutex> clean_lock(clean_mu_);
  RETURN_IF_ERROR(CheckHealthy());
  if (!options_.compress || options_.compress_inline) return 0u;
  std::map<uint32_t, SegmentFile> files;
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    files = seg_files_;
  }
  const uint32_t active = files.empty() ? 0 : files.rbegin()->first;
  std::vector<std::string> to_remove;
  Status status;
  for (const auto& [seg, f] : files) {
    // First-written (file id == segment) closed local files: a rewritten one was compressed
    // when it was rewritten, an evicted one stays as the tier holds it.
    if (seg >= active || f.size == 0 || f.cold || f.file_id != seg) continue;
    if (compact_stop_.load()) break;
    std::string old_path;
    uint64_t new_size = 0;
    status = RewriteSegment(seg, f, &old_path, &new_size);
    if (!status.ok()) break;
    to_remove.push_back(old_path);
    segments_compacted_++;
  }
  const uint32_t done = static_cast<uint32_t>(to_remove.size());
  Status removed = CheckpointThenRemove(std::move(to_remove));
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(removed);
  return done;
}

void Store::Impl::CompactorLoop() {
  // Below mariadbd and the FUSE workers: compression is the work that can wait (a closed
  // segment reads the same raw), on machines whose cores the database keeps busy.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  std::unique_lock<std::mutex> lk(compact_mu_);
  while (true) {
    compact_cv_.wait(lk, [this] { return compact_stop_.load() || compact_wanted_; });
    if (compact_stop_.load()) return;
    compact_wanted_ = false;
    lk.unlock();
    // A failure (ENOSPC, say) leaves the raw files in use; the next closed segment retries.
    if (!CompactSegments().ok()) compaction_errors_++;
    lk.lock();
  }
}

void Store::Impl::WakeCompactor() {
  std::lock_guard<std::mutex> lk(compact_mu_);
  compact_wanted_ = true;
  compact_cv_.notify_all();
}

void Store::Impl::StopCompactor() {
  {
    std::lock_guard<std::mutex> lk(compact_mu_);
    compact_stop_.store(true);
    compact_cv_.notify_all();
  }
  if (compactor_.joinable()) compactor_.join();
}

}  // namespace rwd::store
