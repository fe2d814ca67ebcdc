// Opening a store: finding the log's files (first-written, cleaned, evicted, prepared),
// choosing each segment's file, loading the checkpoint, replaying the log after it and
// cutting a torn tail. Crash safety of the cleaner's file swap rests on the choices here.
#include <algorithm>
#include <cstdio>
#include <map>

#include "store/store_internal.h"

namespace rwd::store {

using store_internal::AllZero;

Status Store::Impl::Replay(uint32_t from_segment, uint64_t from_offset,
                           const std::vector<uint32_t>& segs,
                           std::map<uint32_t, uint64_t>* ends) {
  std::string buf;
  auto cut_local = [&](uint32_t seg, uint64_t offset, uint64_t header_size,
                       const std::string& why) -> Status {
    const std::string path = CurrentPath(seg);
    ASSIGN_OR_RETURN(uint64_t size, env_->FileSize(path));
    recovery_.tail_cut = true;
    recovery_.cut_reason = why + " in segment " + std::to_string(seg) + " at offset " +
                           std::to_string(offset);
    recovery_.bytes_cut += size - offset;
    (*ends)[seg] = std::max(offset, header_size);
    if (offset < header_size && seg != segs.front()) {
      RETURN_IF_ERROR(env_->RemoveFile(path));
    } else {
      RETURN_IF_ERROR(env_->Truncate(path, std::max(offset, header_size)));
    }
    for (uint32_t later : segs) {
      if (later <= seg) continue;
      const std::string lpath = CurrentPath(later);
      ASSIGN_OR_RETURN(uint64_t lsize, env_->FileSize(lpath));
      recovery_.bytes_cut += lsize;
      RETURN_IF_ERROR(env_->RemoveFile(lpath));
    }
    return env_->SyncDir(log_dir_);
  };

  // The LSN the next record must carry: exactly this in a first-written segment; in a cleaned
  // one (dropped records leave gaps) above the previous and at most its header's last_lsn.
  uint64_t prev_lsn = last_lsn_.load();
  for (uint32_t seg : segs) {
    if (seg < from_segment) continue;
    uint32_t file_id = seg;
    std::optional<ColdFile> cold;
    {
      std::lock_guard<std::mutex> lk(seg_mu_);
      file_id = seg_files_[seg].file_id;
      if (auto c = cold_.find(file_id); c != cold_.end()) cold = c->second;
    }
    uint64_t size = 0;
    ASSIGN_OR_RETURN(std::shared_ptr<ReadFile> file,
                     OpenLogFile(seg, file_id, cold ? &*cold : nullptr, &size));
    // A cold file was whole when evicted (its bytes checked by CRC): nothing to cut there.
    auto cut = [&](uint32_t s, uint64_t offset, uint64_t header_size, const std::string& why) {
      if (cold) {
        return Status::Corruption(why + " in evicted segment " + std::to_string(s) +
                                  " at offset " + std::to_string(offset));
      }
      return cut_local(s, offset, header_size, why);
    };
    char hbuf[kCleanedHeaderSize];
    ASSIGN_OR_RETURN(size_t hn, file->ReadAt(0, kCleanedHeaderSize, hbuf));
    Result<SegmentHeaderInfo> sh = ParseSegmentHeader(std::string_view(hbuf, hn), seg, file_id);
    if (!sh.ok()) return cut(seg, 0, kSegmentHeaderSize, sh.status().message());
    const bool cleaned = sh->version == kCleanedSegmentVersion;
    uint64_t off = seg == from_segment ? std::max(from_offset, sh->size) : sh->size;
    while (off < size) {
      char hbytes[kRecordHeaderSize];
      ASSIGN_OR_RETURN(size_t n, file->ReadAt(off, kRecordHeaderSize, hbytes));
      // An all-zero header is never a record (the version byte is not 0): it is the clean end
      // of the records in a preallocated segment. (Open checks that nothing follows it.)
      if (n == kRecordHeaderSize && AllZero(hbytes, n)) break;
      if (n < kRecordHeaderSize) return cut(seg, off, sh->size, "short record header");
      Result<RecordHeader> h = DecodeHeader(std::string_view(hbytes, kRecordHeaderSize));
      if (!h.ok()) return cut(seg, off, sh->size, h.status().message());
      const uint64_t total = kRecordHeaderSize + h->payload_len;
      if (off + total > size) return cut(seg, off, sh->size, "short record");
      buf.resize(total);
      ASSIGN_OR_RETURN(n, file->ReadAt(off, total, buf.data()));
      if (n < total) return cut(seg, off, sh->size, "short record");
      Result<Record> rec = DecodeRecord(buf);
      if (!rec.ok()) return cut(seg, off, sh->size, rec.status().message());
      const bool in_sequence = cleaned ? rec->lsn.value > prev_lsn && rec->lsn.value <= sh->last_lsn
                                       : rec->lsn.value == prev_lsn + 1;
      if (!in_sequence) return cut(seg, off, sh->size, "LSN out of sequence");
      Apply(*rec, MakeLoc(file_id, off + kWriteDataOffset));
      prev_lsn = rec->lsn.value;
      recovery_.records_replayed++;
      off += total;
    }
    if (cleaned) {
      // The records the cleaner dropped keep their LSNs (and times) used.
      prev_lsn = std::max(prev_lsn, sh->last_lsn);
      if (last_lsn_.load() < sh->last_lsn) last_lsn_.store(sh->last_lsn);
      if (last_time_ns_.load() < sh->last_time_ns) last_time_ns_.store(sh->last_time_ns);
    }
    (*ends)[seg] = off;
  }
  return Status::Ok();
}

Status Store::Impl::Open() {
  RETURN_IF_ERROR(env_->CreateDir(options_.dir));
  RETURN_IF_ERROR(env_->CreateDir(log_dir_));
  ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(log_dir_));
  std::map<uint32_t, std::vector<uint32_t>> files;  // segment -> its files' ids
  std::vector<uint32_t> prepared;
  std::map<uint32_t, ColdFile> cold;  // by file id: files evicted to the tier
  std::vector<std::pair<uint32_t, uint32_t>> markers;  // (segment, file id) of .cold names
  for (const std::string& name : names) {
    unsigned seg = 0, id = 0;
    char tail[8] = {0};
    if (name.size() == 12 && std::sscanf(name.c_str(), "%8u.%3s", &seg, tail) == 2 &&
        std::string(tail) == "seg") {
      files[seg].push_back(seg);
    } else if (name.size() == 23 &&
               std::sscanf(name.c_str(), "%8u-%10u.%3s", &seg, &id, tail) == 3 &&
               std::string(tail) == "seg" && id >= kCleanedFileIdBase) {
      files[seg].push_back(id);
      next_cleaned_id_ = std::max(next_cleaned_id_, id + 1);
    } else if (name.size() == 13 && std::sscanf(name.c_str(), "%8u.%4s", &seg, tail) == 2 &&
               std::string(tail) == "cold") {
      markers.emplace_back(seg, seg);
    } else if (name.size() == 24 &&
               std::sscanf(name.c_str(), "%8u-%10u.%4s", &seg, &id, tail) == 3 &&
               std::string(tail) == "cold" && id >= kCleanedFileIdBase) {
      markers.emplace_back(seg, id);
      next_cleaned_id_ = std::max(next_cleaned_id_, id + 1);
    } else if (name.size() == 13 && std::sscanf(name.c_str(), "%8u.%4s", &seg, tail) == 2 &&
               std::string(tail) == "prep") {
      prepared.push_back(seg);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      // Half-made by a preparer or a cleaning pass: never in use.
      RETURN_IF_ERROR(env_->RemoveFile(log_dir_ + "/" + name));
    }
  }
  for (const auto& [seg, id] : markers) {
    if (std::count(files[seg].begin(), files[seg].end(), id) > 0) {
      // An eviction cut short after its marker: the local file is still whole; keep it.
      RETURN_IF_ERROR(env_->RemoveFile(ColdPath(seg, id)));
      continue;
    }
    ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(env_, ColdPath(seg, id)));
    ASSIGN_OR_RETURN(cold[id], DecodeColdMarker(bytes, seg, id));
    files[seg].push_back(id);
  }
  auto cold_of = [&cold](uint32_t id) -> const ColdFile* {
    auto it = cold.find(id);
    return it == cold.end() ? nullptr : &it->second;
  };
  auto log_file_size = [&](uint32_t seg, uint32_t id) -> Result<uint64_t> {
    if (const ColdFile* c = cold_of(id)) return c->size;
    return env_->FileSize(FilePath(seg, id));
  };
  auto remove_log_file = [&](uint32_t seg, uint32_t id) {
    return env_->RemoveFile(cold_of(id) ? ColdPath(seg, id) : FilePath(seg, id));
  };
  std::vector<uint32_t> segs;
  for (const auto& [seg, ids] : files) segs.push_back(seg);
  auto has_file = [&files](uint32_t seg, uint32_t id) {
    auto it = files.find(seg);
    return it != files.end() && std::count(it->second.begin(), it->second.end(), id) > 0;
  };

  uint32_t from_segment = segs.empty() ? 1 : segs.front();
  uint64_t from_offset = 0;
  // Which file each segment is read from: the checkpoint's choice when it is usable (a cleaning
  // pass makes its new file the segment's only after a checkpoint names it), else the newest.
  std::map<uint32_t, uint32_t> chosen;
  const std::string ckpt = options_.dir + "/index.ckpt";
  if (env_->FileExists(ckpt)) {
    Result<std::string> bytes = ReadWholeFile(env_, ckpt);
    uint32_t cseg = 0;
    uint64_t coff = 0;
    std::map<uint32_t, uint32_t> ckpt_files;
    Status loaded = bytes.ok() ? LoadIndex(*bytes, &cseg, &coff, &ckpt_files) : bytes.status();
    bool usable = loaded.ok() && files.count(cseg) > 0;
    for (uint32_t seg : segs) {
      auto c = ckpt_files.find(seg);
      const uint32_t id = c == ckpt_files.end() ? seg : c->second;
      usable = usable && has_file(seg, id);
      chosen[seg] = id;
    }
    for (const auto& [seg, id] : ckpt_files) {
      // A segment the checkpoint's index points into must still be there.
      usable = usable && (seg >= cseg || has_file(seg, id));
    }
    if (usable) {
      Result<uint64_t> size = log_file_size(cseg, chosen[cseg]);
      usable = size.ok() && *size >= coff;
    }
    if (usable) {
      recovery_.loaded_checkpoint = true;
      recovery_.checkpoint_lsn = Lsn(last_lsn_.load());
      from_segment = cseg;
      from_offset = coff;
    } else {
      // A checkpoint that does not match the log is useless, not fatal: rebuild from the log.
      chosen.clear();
      std::unique_lock<std::shared_mutex> lk(index_mu_);
      timelines_.clear();
      inodes_.clear();
      dirs_.clear();
      volumes_.clear();
      time_index_.clear();
      activity_.Clear();
      last_lsn_ = 0;
      last_time_ns_ = 0;
      records_ = page_versions_ = 0;
      next_inode_ = 2;
      next_timeline_ = next_volume_ = 1;
    }
  }
  for (uint32_t seg : segs) {
    if (!chosen.count(seg)) {
      const auto& ids = files[seg];
      chosen[seg] = *std::max_element(ids.begin(), ids.end());
    }
    for (uint32_t id : files[seg]) {
      if (id != chosen[seg]) RETURN_IF_ERROR(remove_log_file(seg, id));
    }
  }

  for (uint32_t seg : segs) {
    const uint32_t id = chosen[seg];
    uint64_t size = 0;
    ASSIGN_OR_RETURN(std::shared_ptr<ReadFile> reader, OpenLogFile(seg, id, cold_of(id), &size));
    std::lock_guard<std::mutex> lk(seg_mu_);
    readers_[id] = std::move(reader);
    seg_files_[seg] = SegmentFile{id, 0};
    if (const ColdFile* c = cold_of(id)) {
      seg_files_[seg].cold = true;
      cold_[id] = *c;
      cold_bytes_ += c->size;
    }
  }
  std::map<uint32_t, uint64_t> ends;
  if (!segs.empty()) RETURN_IF_ERROR(Replay(from_segment, from_offset, segs, &ends));

  // Segments that survived the cut.
  uint32_t last = 0;
  uint64_t total = 0, last_size = 0, last_end = 0;
  bool last_cold = false;
  for (uint32_t seg : segs) {
    const std::string path = FilePath(seg, chosen[seg]);
    last_cold = cold_of(chosen[seg]) != nullptr;
    if (!last_cold && !env_->FileExists(path)) {
      std::lock_guard<std::mutex> lk(seg_mu_);
      readers_.erase(chosen[seg]);
      seg_files_.erase(seg);
      continue;
    }
    last = seg;
    ASSIGN_OR_RETURN(last_size, log_file_size(seg, chosen[seg]));
    auto e = ends.find(seg);
    last_end = e == ends.end() ? last_size : std::min(e->second, last_size);
    total += last_end;
    std::lock_guard<std::mutex> lk(seg_mu_);
    seg_files_[seg].size = last_end;
  }
  if (last != 0 && (chosen[last] != last || last_cold)) {
    // The log ends in a cleaned or an evicted segment (the tail after it was cut): appends go
    // to a new one.
    log_bytes_ = total;
    RETURN_IF_ERROR(StartSegment(last + 1, 0, /*prepared=*/false));
    last = 0;
  }
  bool last_prepared = false;  // zeros follow the records of the last segment
  if (last != 0 && last_end < last_size) {
    // The last segment was preallocated: its records end at last_end, zeros follow. Anything
    // else there is what a crash left of unsynced appends after a lost one; it must go, or
    // new records written over the hole could line up with it and revive it at a later open.
    ASSIGN_OR_RETURN(bool zero, RangeIsZero(last, last_end, last_size));
    last_prepared = zero;
    if (!zero) {
      RETURN_IF_ERROR(env_->Truncate(SegmentPath(last), last_end));
      if (!recovery_.tail_cut) {
        recovery_.tail_cut = true;
        recovery_.cut_reason = "unsynced records after a hole in segment " +
                               std::to_string(last) + " at offset " + std::to_string(last_end);
      }
      recovery_.bytes_cut += last_size - last_end;
    }
  }
  if (active_ == nullptr) {
    log_bytes_ = total;
    RETURN_IF_ERROR(
        StartSegment(last == 0 ? 1 : last, last == 0 ? 0 : last_end, last_prepared));
  }
  // What the last run appended may still be only in the page cache (it was killed, not the
  // machine): make it durable before counting it as synced.
  RETURN_IF_ERROR(active_->Sync().WithContext("syncing the log's last segment at open"));
  synced_lsn_ = last_lsn_.load();
  synced_segment_ = active_segment_;
  synced_offset_ = active_->Size();

  // A prepared next segment left by the last run is used; other prepared files are stale.
  for (uint32_t p : prepared) {
    Result<uint64_t> size = env_->FileSize(PreparedPath(p));
    if (options_.preallocate_segments && p == active_segment_ + 1 && size.ok() &&
        *size == options_.segment_bytes) {
      // Opening it makes it private again (0600), as every file the store opens: one an
      // older version (or a hand copy) left readable is fixed before it is used.
      ASSIGN_OR_RETURN(std::unique_ptr<ReadFile> fixed, env_->OpenRead(PreparedPath(p)));
      fixed.reset();
      prep_ready_ = p;
      prep_requested_ = p;
    } else {
      RETURN_IF_ERROR(env_->RemoveFile(PreparedPath(p)));
    }
  }
  if (options_.preallocate_segments) preparer_ = std::thread([this] { PreparerLoop(); });
  if (options_.compress && !options_.compress_inline && options_.background_compaction) {
    compact_wanted_ = true;  // what the last run closed and left raw
    compactor_ = std::thread([this] { CompactorLoop(); });
  }
  return Status::Ok();
}

}  // namespace rwd::store
