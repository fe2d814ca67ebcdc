#include "store/store.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "common/crc32c.h"
#include "common/failpoint.h"
#include "store/compress.h"
#include "store/store_impl.h"

namespace rwd::store {
namespace {

constexpr char kSegmentMagic[8] = {'R', 'W', 'N', 'D', 'S', 'E', 'G', '1'};
constexpr uint32_t kSegmentVersion = 1;
constexpr uint64_t kMaxLsn = std::numeric_limits<uint64_t>::max();

Status ValidateName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty file name");
  if (name == "." || name == "..") return Status::InvalidArgument("name '.' or '..' not allowed");
  if (name.size() > 255) return Status::InvalidArgument("file name longer than 255 bytes");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("file name contains '/' or NUL");
  }
  return Status::Ok();
}

// Matches the per-timeline states of one id against tl's chain: the states tl sees, nearest
// first, each with the highest LSN of it that a read at `lsn` sees.
template <typename S>
struct ChainHits {
  struct Hit {
    uint32_t index;
    uint64_t limit;
    const S* state;
  };
  Hit inline_hits[8];
  std::vector<Hit> more;
  size_t n = 0;

  ChainHits(const Timeline* tl, uint64_t lsn, const PerTimeline<S>* states) {
    if (!states) return;
    for (const auto& [t, state] : *states) {
      if (t->depth > tl->depth) continue;
      const uint32_t idx = tl->depth - t->depth;
      if (tl->chain[idx].first != t) continue;
      Push({idx, std::min(lsn, tl->chain[idx].second), state.get()});
    }
    Hit* b = begin();
    std::sort(b, b + n, [](const Hit& a, const Hit& c) { return a.index < c.index; });
  }
  void Push(Hit h) {
    if (n < 8 && more.empty()) {
      inline_hits[n++] = h;
      return;
    }
    if (more.empty()) more.assign(inline_hits, inline_hits + n);
    more.push_back(h);
    ++n;
  }
  Hit* begin() { return more.empty() ? inline_hits : more.data(); }
  Hit* end() { return begin() + n; }
};

template <typename V>
const V* LastAtOrBefore(const std::vector<V>& versions, uint64_t lsn) {
  auto it = std::upper_bound(versions.begin(), versions.end(), lsn,
                             [](uint64_t l, const V& v) { return l < v.lsn; });
  if (it == versions.begin()) return nullptr;
  return &*(it - 1);
}

}  // namespace

Store::Impl::Impl(const StoreOptions& options)
    : options_(options), env_(options.env ? options.env : Env::Default()) {
  log_dir_ = options_.dir + "/log";
}

Store::Impl::~Impl() {
  StopCompactor();
  StopPreparer();
}

std::string Store::Impl::SegmentPath(uint32_t seg) const {
  char name[32];
  std::snprintf(name, sizeof(name), "/%08" PRIu32 ".seg", seg);
  return log_dir_ + name;
}

std::string Store::Impl::FilePath(uint32_t seg, uint32_t file_id) const {
  if (file_id == seg) return SegmentPath(seg);
  char name[40];
  std::snprintf(name, sizeof(name), "/%08" PRIu32 "-%010" PRIu32 ".seg", seg, file_id);
  return log_dir_ + name;
}

std::string Store::Impl::CurrentPath(uint32_t seg) const {
  std::lock_guard<std::mutex> lk(seg_mu_);
  auto it = seg_files_.find(seg);
  return FilePath(seg, it == seg_files_.end() ? seg : it->second.file_id);
}

std::string Store::Impl::PreparedPath(uint32_t seg) const {
  char name[32];
  std::snprintf(name, sizeof(name), "/%08" PRIu32 ".prep", seg);
  return log_dir_ + name;
}

const Timeline* Store::Impl::FindTimeline(TimelineId id) const {
  auto it = timelines_.find(id.value);
  return it == timelines_.end() ? nullptr : it->second.get();
}

Status Store::Impl::CheckHealthy() const {
  if (!failed_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard<std::mutex> lk(sticky_mu_);
  return sticky_;
}

void Store::Impl::SetSticky(const Status& s) {
  std::lock_guard<std::mutex> lk(sticky_mu_);
  if (!failed_.load()) {
    sticky_ = s.WithContext("store refuses writes after a failed device write or sync");
    failed_.store(true, std::memory_order_release);
  }
}

// ---------------------------------------------------------------- index reads

Result<Attr> Store::Impl::AttrAt(const Timeline* tl, uint64_t lsn, InodeId ino) const {
  auto it = inodes_.find(ino.value);
  ChainHits<InodeState> hits(tl, lsn, it == inodes_.end() ? nullptr : &it->second);
  // Writes do not add attribute versions (unless they extend the file): the newest write seen
  // at this LSN sets mtime, unless an explicit SetAttr came after it.
  uint64_t write_lsn = 0;
  int64_t write_ns = 0;
  for (const auto& hit : hits) {
    const InodeState* st = hit.state;
    if (st->last_write_lsn != 0 && st->last_write_lsn <= hit.limit &&
        st->last_write_lsn > write_lsn) {
      write_lsn = st->last_write_lsn;
      write_ns = st->last_write_ns;
    }
    if (const AttrVersion* v = LastAtOrBefore(st->attrs, hit.limit)) {
      Attr a = v->attr;
      if (write_lsn > v->lsn) a.mtime_ns = std::max(a.mtime_ns, write_ns);
      return a;
    }
  }
  ASSIGN_OR_RETURN(ForeignRead foreign, Foreign(tl));
  if (foreign.peer != nullptr) {
    // Every local record of the chain is after the foreign state: a local write's mtime wins.
    Result<Attr> a = foreign.peer->GetAttr(foreign.from->timeline, foreign.from->lsn, ino);
    if (a.ok() && write_lsn != 0) a->mtime_ns = std::max(a->mtime_ns, write_ns);
    if (a.ok() || a.status().code() != Status::Code::kNotFound) return a;
  }
  return Status::NotFound("no inode " + ino.ToString() + " on timeline " +
                          tl->info.id.ToString());
}

Result<Store::Impl::ForeignRead> Store::Impl::Foreign(const Timeline* tl) const {
  const ForeignAncestor& f = tl->chain.back().first->info.foreign;
  if (!f.valid()) return ForeignRead{};
  const Store* peer = options_.peers ? options_.peers(f.store_id, f.view_lsn) : nullptr;
  if (peer == nullptr) {
    return Status::FailedPrecondition(
        "timeline " + tl->info.id.ToString() + " reads through peer store " + f.store_id +
        " (view at LSN " + std::to_string(f.view_lsn) +
        "), which is not attached: start rewindd with --peer-object-store for it");
  }
  return ForeignRead{peer, &f};
}

Result<InodeId> Store::Impl::LookupAt(const Timeline* tl, uint64_t lsn, InodeId parent,
                                      std::string_view name, NodeType* type) const {
  ASSIGN_OR_RETURN(Attr pa, AttrAt(tl, lsn, parent));
  if (pa.type != NodeType::kDirectory) {
    return Status::NotDirectory("inode " + parent.ToString() + " is not a directory");
  }
  auto it = dirs_.find(parent.value);
  ChainHits<DirState> hits(tl, lsn, it == dirs_.end() ? nullptr : &it->second);
  bool removed = false;
  for (const auto& hit : hits) {
    auto n = hit.state->names.find(name);
    if (n == hit.state->names.end()) continue;
    const DentryVersion* v = LastAtOrBefore(n->second, hit.limit);
    if (!v) continue;
    if (!v->ino.valid()) {
      removed = true;
      break;
    }
    if (type) *type = v->type;
    return v->ino;
  }
  ASSIGN_OR_RETURN(ForeignRead foreign, Foreign(tl));
  if (!removed && foreign.peer != nullptr) {
    const ForeignAncestor& f = *foreign.from;
    Result<InodeId> ino = foreign.peer->Lookup(f.timeline, f.lsn, parent, name);
    if (ino.ok() && type) {
      ASSIGN_OR_RETURN(Attr a, foreign.peer->GetAttr(f.timeline, f.lsn, *ino));
      *type = a.type;
    }
    if (ino.ok() || ino.status().code() != Status::Code::kNotFound) return ino;
  }
  return Status::NotFound("no entry '" + std::string(name) + "' in directory " +
                          parent.ToString());
}

Result<std::vector<DirEntry>> Store::Impl::ReadDirAt(const Timeline* tl, uint64_t lsn,
                                                     InodeId dir) const {
  ASSIGN_OR_RETURN(Attr da, AttrAt(tl, lsn, dir));
  if (da.type != NodeType::kDirectory) {
    return Status::NotDirectory("inode " + dir.ToString() + " is not a directory");
  }
  std::vector<DirEntry> out;
  ASSIGN_OR_RETURN(ForeignRead foreign, Foreign(tl));
  auto it = dirs_.find(dir.value);
  if (it == dirs_.end() && foreign.peer == nullptr) return out;
  ChainHits<DirState> hits(tl, lsn, it == dirs_.end() ? nullptr : &it->second);
  // A name's state is decided by the nearest timeline that has a version of it at its limit.
  std::map<std::string_view, const DentryVersion*> decided;
  for (const auto& hit : hits) {
    for (const auto& [name, versions] : hit.state->names) {
      if (decided.count(name)) continue;
      if (const DentryVersion* v = LastAtOrBefore(versions, hit.limit)) decided[name] = v;
    }
  }
  for (const auto& [name, v] : decided) {
    if (v->ino.valid()) out.push_back(DirEntry{std::string(name), v->ino, v->type});
  }
  if (foreign.peer != nullptr) {
    // Names the local chain never touched are as the foreign state has them.
    Result<std::vector<DirEntry>> theirs =
        foreign.peer->ReadDir(foreign.from->timeline, foreign.from->lsn, dir);
    if (!theirs.ok() && theirs.status().code() != Status::Code::kNotFound) {
      return theirs.status();
    }
    const size_t local = out.size();
    for (DirEntry& e : theirs.ok() ? *theirs : std::vector<DirEntry>{}) {
      if (!decided.count(e.name)) out.push_back(std::move(e));
    }
    if (out.size() != local) {
      std::sort(out.begin(), out.end(),
                [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    }
  }
  return out;
}

void Store::Impl::CollectPieces(const Timeline* tl, uint64_t lsn, InodeId ino, uint64_t offset,
                                uint64_t len, std::vector<Piece>* pieces) const {
  auto it = inodes_.find(ino.value);
  if (it == inodes_.end()) return;
  ChainHits<InodeState> hits(tl, lsn, &it->second);

  // Truncations seen at this read: a version is valid only below every later truncation's size.
  std::vector<std::pair<uint64_t, uint64_t>> truncs;
  for (const auto& hit : hits) {
    for (const auto& t : hit.state->truncations) {
      if (t.first <= hit.limit) truncs.push_back(t);
    }
  }
  auto valid_end = [&truncs](uint64_t version_lsn) {
    uint64_t end = kMaxLsn;
    for (const auto& [tl_lsn, size] : truncs) {
      if (tl_lsn > version_lsn) end = std::min(end, size);
    }
    return end;
  };

  const uint64_t end = offset + len;
  std::vector<std::pair<uint64_t, uint64_t>> uncovered;  // page-relative [a, b)
  std::vector<std::pair<uint64_t, uint64_t>> next;
  for (uint64_t page = offset / kPageSize; page * kPageSize < end; ++page) {
    const uint64_t base = page * kPageSize;
    uncovered.assign(1, {std::max(offset, base) - base, std::min(end, base + kPageSize) - base});
    for (const auto& hit : hits) {
      if (page < hit.state->min_page || page > hit.state->max_page) continue;
      auto p = hit.state->pages.find(page);
      if (p == hit.state->pages.end()) continue;
      const auto& exts = p->second;
      auto e = std::upper_bound(exts.begin(), exts.end(), hit.limit,
                                [](uint64_t l, const Extent& x) { return l < x.lsn; });
      while (e != exts.begin() && !uncovered.empty()) {
        --e;
        uint64_t ea = e->page_off;
        uint64_t eb = e->page_off + e->len;
        if (!truncs.empty()) {
          uint64_t ve = valid_end(e->lsn);
          if (ve <= base + ea) continue;
          if (ve < base + eb) eb = ve - base;
        }
        next.clear();
        for (const auto& [a, b] : uncovered) {
          const uint64_t ia = std::max(a, ea), ib = std::min(b, eb);
          if (ia >= ib) {
            next.push_back({a, b});
            continue;
          }
          if (e->zlen != 0) {
            pieces->push_back(Piece{base + ia - offset, e->loc, ib - ia, e->zlen,
                                    static_cast<uint32_t>(ia - e->page_off), e->len});
          } else {
            pieces->push_back(Piece{base + ia - offset, e->loc + (ia - e->page_off), ib - ia});
          }
          if (a < ia) next.push_back({a, ia});
          if (ib < b) next.push_back({ib, b});
        }
        uncovered.swap(next);
      }
      if (uncovered.empty()) break;
    }
  }
}

uint64_t Store::Impl::LocalTruncationEnd(const Timeline* tl, uint64_t lsn, InodeId ino) const {
  uint64_t end = kMaxLsn;
  auto it = inodes_.find(ino.value);
  if (it == inodes_.end()) return end;
  ChainHits<InodeState> hits(tl, lsn, &it->second);
  for (const auto& hit : hits) {
    for (const auto& [t_lsn, size] : hit.state->truncations) {
      if (t_lsn <= hit.limit) end = std::min(end, size);
    }
  }
  return end;
}

Result<std::shared_ptr<ReadFile>> Store::Impl::FileReader(uint32_t file_id) const {
  std::lock_guard<std::mutex> lk(seg_mu_);
  auto it = readers_.find(file_id);
  if (it != readers_.end() && it->second) return it->second;
  return Status::Corruption("index points into missing log file " + std::to_string(file_id));
}

Status Store::Impl::PinFiles(const std::vector<Piece>& pieces,
                             std::vector<std::shared_ptr<ReadFile>>* files) const {
  files->resize(pieces.size());
  if (pieces.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lk(seg_mu_);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const uint32_t id = LocSegment(pieces[i].loc);
    if (i > 0 && LocSegment(pieces[i - 1].loc) == id) {
      (*files)[i] = (*files)[i - 1];
      continue;
    }
    auto it = readers_.find(id);
    if (it == readers_.end() || !it->second) {
      return Status::Corruption("index points into missing log file " + std::to_string(id));
    }
    (*files)[i] = it->second;
  }
  return Status::Ok();
}

Status Store::Impl::ReadPieces(const std::vector<Piece>& pieces,
                               const std::vector<std::shared_ptr<ReadFile>>& files,
                               char* out) const {
  // The last chunk decompressed by this call: a chunk partly overwritten later yields several
  // pieces. Not kept across calls (nothing here may outlive the store or grow).
  thread_local std::string frame, chunk;
  uint64_t chunk_loc = 0;
  const ReadFile* chunk_file = nullptr;
  for (size_t i = 0; i < pieces.size(); ++i) {
    Piece p = pieces[i];
    const ReadFile* file = files[i].get();
    if (p.zlen != 0) {
      if (chunk_file != file || chunk_loc != p.loc) {
        frame.resize(p.zlen);
        chunk.resize(p.zraw);
        ASSIGN_OR_RETURN(size_t n, file->ReadAt(LocOffset(p.loc), p.zlen, frame.data()));
        if (n != p.zlen) return Status::Corruption("log segment shorter than its index says");
        RETURN_IF_ERROR(DecompressChunk(frame, chunk.data(), p.zraw));
        chunk_file = file;
        chunk_loc = p.loc;
      }
      if (uint64_t{p.zoff} + p.len > chunk.size()) {
        return Status::Corruption("read past a compressed page version");
      }
      std::memcpy(out + p.dst, chunk.data() + p.zoff, p.len);
      continue;
    }
    // Coalesce pieces contiguous both in the output and in the log (one write spanning pages).
    while (i + 1 < pieces.size() && pieces[i + 1].zlen == 0 &&
           pieces[i + 1].dst == p.dst + p.len && pieces[i + 1].loc == p.loc + p.len) {
      p.len += pieces[++i].len;
    }
    ASSIGN_OR_RETURN(size_t n, file->ReadAt(LocOffset(p.loc), p.len, out + p.dst));
    if (n != p.len) return Status::Corruption("log segment shorter than its index says");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- index apply

template <typename S>
S* Store::Impl::StateFor(std::unordered_map<uint64_t, PerTimeline<S>>& map, const Timeline* tl,
                         uint64_t id) {
  auto& per = map[id];
  for (auto& [t, s] : per) {
    if (t == tl) return s.get();
  }
  per.emplace_back(tl, std::make_unique<S>());
  return per.back().second.get();
}

void Store::Impl::Apply(const Record& rec, uint64_t data_loc) {
  std::unique_lock<std::shared_mutex> lk(index_mu_);
  const uint64_t lsn = rec.lsn.value;
  const int64_t now = rec.time_ns;
  last_lsn_.store(lsn, std::memory_order_release);
  last_time_ns_.store(now, std::memory_order_release);
  ++records_;
  if (!time_index_.empty() && time_index_.back().first == now) {
    time_index_.back().second = lsn;
  } else {
    time_index_.emplace_back(now, lsn);
  }

  auto new_timeline = [&](TimelineId id, TimelineId ancestor, Lsn ancestor_lsn) {
    auto t = std::make_unique<Timeline>();
    t->info = TimelineInfo{id, ancestor, ancestor_lsn, rec.lsn, now};
    t->chain.emplace_back(t.get(), kMaxLsn);
    if (const Timeline* a = FindTimeline(ancestor)) {
      t->depth = a->depth + 1;
      for (const auto& [at, limit] : a->chain) {
        t->chain.emplace_back(at, std::min(limit, ancestor_lsn.value));
      }
    }
    next_timeline_ = std::max(next_timeline_, id.value + 1);
    Timeline* raw = t.get();
    timelines_[id.value] = std::move(t);
    return raw;
  };
  auto head_attr = [&](const Timeline* tl, InodeId ino) -> Attr {
    Result<Attr> a = AttrAt(tl, kMaxLsn, ino);
    return a.ok() ? *a : Attr{};
  };

  const Timeline* tl = FindTimeline(rec.tl);
  if (tl && IsFileChange(rec.kind)) {
    activity_.Add(rec.tl.value, now, rec.kind == RecordKind::kWrite ? WriteLength(rec) : 0);
  }
  switch (rec.kind) {
    case RecordKind::kWrite: {
      if (!tl) return;
      InodeState* st = StateFor(inodes_, tl, rec.ino.value);
      const uint64_t end = rec.offset + WriteLength(rec);
      if (rec.flags & kRecordCompressed) {
        // One extent per chunk, pointing at its frame (or raw bytes). Decode checked the body.
        ForEachChunk(rec.offset, rec.data, [&](const WriteChunk& c) {
          const uint64_t page = c.file_off / kPageSize;
          st->PageVersions(page).push_back(
              Extent{lsn, data_loc + c.stored_off,
                     static_cast<uint16_t>(c.file_off - page * kPageSize),
                     static_cast<uint16_t>(c.compressed() ? c.stored_len : 0), c.raw_len});
          ++page_versions_;
        });
      } else {
        for (uint64_t off = rec.offset; off < end;) {
          const uint64_t page = off / kPageSize;
          const uint64_t page_end = std::min(end, (page + 1) * kPageSize);
          st->PageVersions(page).push_back(Extent{lsn, data_loc + (off - rec.offset),
                                           static_cast<uint16_t>(off - page * kPageSize), 0,
                                           static_cast<uint32_t>(page_end - off)});
          ++page_versions_;
          off = page_end;
        }
      }
      st->last_write_lsn = lsn;
      st->last_write_ns = now;
      Attr a = head_attr(tl, rec.ino);
      if (end > a.size) {
        a.size = end;
        a.mtime_ns = a.ctime_ns = now;
        st->attrs.push_back(AttrVersion{lsn, a});
      }
      break;
    }
    case RecordKind::kCreate: {
      if (!tl) return;
      Attr a;
      a.ino = rec.ino;
      a.type = rec.type;
      a.mode = rec.mode & 07777;
      a.uid = rec.uid;
      a.gid = rec.gid;
      a.rdev = rec.rdev;
      a.atime_ns = a.mtime_ns = a.ctime_ns = now;
      a.parent = rec.parent;
      a.nlink = rec.type == NodeType::kDirectory ? 2 : 1;
      StateFor(inodes_, tl, rec.ino.value)->attrs.push_back(AttrVersion{lsn, a});
      StateFor(dirs_, tl, rec.parent.value)
          ->names[rec.name]
          .push_back(DentryVersion{lsn, rec.ino, rec.type});
      next_inode_ = std::max(next_inode_, rec.ino.value + 1);
      break;
    }
    case RecordKind::kRemove: {
      if (!tl) return;
      NodeType type;
      Result<InodeId> victim = LookupAt(tl, kMaxLsn, rec.parent, rec.name, &type);
      StateFor(dirs_, tl, rec.parent.value)
          ->names[rec.name]
          .push_back(DentryVersion{lsn, InodeId(), type});
      if (victim.ok()) {
        Attr a = head_attr(tl, *victim);
        a.nlink = 0;
        a.ctime_ns = now;
        StateFor(inodes_, tl, victim->value)->attrs.push_back(AttrVersion{lsn, a});
      }
      break;
    }
    case RecordKind::kRename: {
      if (!tl) return;
      NodeType type = NodeType::kFile, replaced_type = NodeType::kFile;
      Result<InodeId> src = LookupAt(tl, kMaxLsn, rec.parent, rec.name, &type);
      Result<InodeId> replaced = LookupAt(tl, kMaxLsn, rec.parent2, rec.name2, &replaced_type);
      if (!src.ok()) return;
      if (replaced.ok() && *replaced == *src) return;  // rename onto itself: no change
      StateFor(dirs_, tl, rec.parent.value)
          ->names[rec.name]
          .push_back(DentryVersion{lsn, InodeId(), type});
      StateFor(dirs_, tl, rec.parent2.value)
          ->names[rec.name2]
          .push_back(DentryVersion{lsn, *src, type});
      if (replaced.ok()) {
        Attr a = head_attr(tl, *replaced);
        a.nlink = 0;
        a.ctime_ns = now;
        StateFor(inodes_, tl, replaced->value)->attrs.push_back(AttrVersion{lsn, a});
      }
      Attr a = head_attr(tl, *src);
      a.parent = rec.parent2;
      a.ctime_ns = now;
      StateFor(inodes_, tl, src->value)->attrs.push_back(AttrVersion{lsn, a});
      break;
    }
    case RecordKind::kSetAttr: {
      if (!tl) return;
      InodeState* st = StateFor(inodes_, tl, rec.ino.value);
      Attr a = head_attr(tl, rec.ino);
      if (rec.mask & kSetSize) {
        if (rec.size < a.size) st->truncations.emplace_back(lsn, rec.size);
        a.size = rec.size;
        a.mtime_ns = now;
      }
      if (rec.mask & kSetMode) a.mode = rec.mode & 07777;
      if (rec.mask & kSetUid) a.uid = rec.uid;
      if (rec.mask & kSetGid) a.gid = rec.gid;
      if (rec.mask & kSetAtime) a.atime_ns = rec.atime_ns;
      if (rec.mask & kSetMtime) a.mtime_ns = rec.mtime_ns;
      a.ctime_ns = now;
      st->attrs.push_back(AttrVersion{lsn, a});
      break;
    }
    case RecordKind::kBranch:
      new_timeline(rec.tl, rec.ancestor, rec.ancestor_lsn);
      break;
    case RecordKind::kCreateVolume: {
      Timeline* t = new_timeline(rec.tl, TimelineId(), Lsn());
      Attr root;
      root.ino = kRootInode;
      root.type = NodeType::kDirectory;
      root.mode = 0755;
      root.atime_ns = root.mtime_ns = root.ctime_ns = now;
      root.parent = kRootInode;
      root.nlink = 2;
      StateFor(inodes_, t, kRootInode.value)->attrs.push_back(AttrVersion{lsn, root});
      volumes_[rec.volume.value] =
          VolumeInfo{rec.volume, rec.name, rec.tl, {HistoryEntry{now, rec.tl}}, now, now};
      next_volume_ = std::max(next_volume_, rec.volume.value + 1);
      break;
    }
    case RecordKind::kRewind: {
      new_timeline(rec.tl, rec.ancestor, rec.ancestor_lsn);
      auto v = volumes_.find(rec.volume.value);
      if (v == volumes_.end()) return;
      v->second.head = rec.tl;
      v->second.history.push_back(HistoryEntry{now, rec.tl});
      break;
    }
    case RecordKind::kClone:
      new_timeline(rec.tl, rec.ancestor, rec.ancestor_lsn);
      volumes_[rec.volume.value] =
          VolumeInfo{rec.volume, rec.name, rec.tl, {HistoryEntry{now, rec.tl}}, now, now};
      next_volume_ = std::max(next_volume_, rec.volume.value + 1);
      break;
    case RecordKind::kDeleteVolume:
      volumes_.erase(rec.volume.value);
      break;
    case RecordKind::kRetain: {
      auto v = volumes_.find(rec.volume.value);
      if (v != volumes_.end()) {
        v->second.retained_from_ns = std::max(v->second.retained_from_ns, rec.retain_from_ns);
      }
      break;
    }
    case RecordKind::kPin: {
      // The volume's name: from the volume, or, for a copy of a pin of a deleted volume, from
      // the pins of that volume (the source is one of them, here live and at replay alike).
      std::string volume_name;
      if (auto v = volumes_.find(rec.volume.value); v != volumes_.end()) {
        volume_name = v->second.name;
      } else {
        for (const auto& [id, p] : pins_) {
          if (p.volume == rec.volume) volume_name = p.volume_name;
        }
      }
      pins_[rec.pin.value] = PinInfo{rec.pin, rec.name, rec.volume, volume_name,
                                     PointInTime{rec.tl, rec.ancestor_lsn}, rec.retain_from_ns, now};
      next_pin_ = std::max(next_pin_, rec.pin.value + 1);
      break;
    }
    case RecordKind::kUnpin:
      pins_.erase(rec.pin.value);
      break;
    case RecordKind::kCloneForeign: {
      Timeline* t = new_timeline(rec.tl, TimelineId(), Lsn());
      t->info.foreign =
          ForeignAncestor{rec.name2, rec.offset, rec.ancestor, rec.ancestor_lsn, rec.size};
      volumes_[rec.volume.value] =
          VolumeInfo{rec.volume, rec.name, rec.tl, {HistoryEntry{now, rec.tl}}, now, now};
      next_volume_ = std::max(next_volume_, rec.volume.value + 1);
      next_inode_ = std::max(next_inode_, rec.size);  // never an id the foreign state uses
      break;
    }
  }
}

// ---------------------------------------------------------------- log

std::string CleanedSegmentHeader(uint32_t seg, uint32_t file_id, uint64_t last_lsn,
                                 int64_t last_time_ns) {
  std::string header(kSegmentMagic, sizeof(kSegmentMagic));
  const uint32_t version = kCleanedSegmentVersion, reserved = 0;
  header.append(reinterpret_cast<const char*>(&version), 4);
  header.append(reinterpret_cast<const char*>(&seg), 4);
  header.append(reinterpret_cast<const char*>(&file_id), 4);
  header.append(reinterpret_cast<const char*>(&reserved), 4);
  header.append(reinterpret_cast<const char*>(&last_lsn), 8);
  header.append(reinterpret_cast<const char*>(&last_time_ns), 8);
  return header;
}

Result<SegmentHeaderInfo> ParseSegmentHeader(std::string_view bytes, uint32_t seg,
                                             uint32_t file_id) {
  SegmentHeaderInfo h;
  if (bytes.size() < kSegmentHeaderSize || std::memcmp(bytes.data(), kSegmentMagic, 8) != 0) {
    return Status::Corruption("bad segment magic");
  }
  uint32_t number = 0;
  std::memcpy(&h.version, bytes.data() + 8, 4);
  std::memcpy(&number, bytes.data() + 12, 4);
  if (number != seg) return Status::Corruption("segment number does not match the file name");
  if (h.version == kSegmentVersion) {
    if (file_id != seg) return Status::Corruption("a first-written segment under a cleaned name");
    h.size = kSegmentHeaderSize;
    return h;
  }
  if (h.version != kCleanedSegmentVersion) return Status::Corruption("unknown segment version");
  if (bytes.size() < kCleanedHeaderSize) return Status::Corruption("short cleaned segment header");
  uint32_t id = 0;
  std::memcpy(&id, bytes.data() + 16, 4);
  std::memcpy(&h.last_lsn, bytes.data() + 24, 8);
  std::memcpy(&h.last_time_ns, bytes.data() + 32, 8);
  if (id != file_id) return Status::Corruption("file id does not match the file name");
  h.size = kCleanedHeaderSize;
  return h;
}

namespace {
std::string SegmentHeader(uint32_t seg) {
  std::string header(kSegmentMagic, sizeof(kSegmentMagic));
  header.append(reinterpret_cast<const char*>(&kSegmentVersion), 4);
  header.append(reinterpret_cast<const char*>(&seg), 4);
  return header;
}

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}
}  // namespace

Status Store::Impl::StartSegment(uint32_t seg, uint64_t end, bool prepared) {
  const std::string path = SegmentPath(seg);
  std::unique_ptr<AppendFile> file;
  if (end > 0) {
    ASSIGN_OR_RETURN(file, env_->OpenAppendAt(path, end));
  } else {
    ASSIGN_OR_RETURN(file, env_->OpenAppend(path));
  }
  if (file->Size() == 0) {
    RETURN_IF_ERROR(file->Append(SegmentHeader(seg)));
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(env_->SyncDir(log_dir_));
    log_bytes_ += kSegmentHeaderSize;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ReadFile> reader, env_->OpenRead(path));
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    readers_[seg] = std::move(reader);
    seg_files_[seg] = SegmentFile{seg, 0};
  }
  active_prepared_ = prepared;
  active_ = std::move(file);
  active_segment_ = seg;
  return Status::Ok();
}

Status Store::Impl::OpenNextSegment() {
  const uint32_t seg = active_segment_ + 1;
  Status s = StartNextSegment(seg);
  if (s.ok()) return s;
  // The new segment holds no record yet: removing it undoes the roll. A partial header left in
  // place would be appended after by the next attempt and cut, with those records, at open.
  if (env_->FileExists(SegmentPath(seg))) {
    Status removed = env_->RemoveFile(SegmentPath(seg));
    if (!removed.ok()) {
      SetSticky(s);
      return CheckHealthy();
    }
  }
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    readers_.erase(seg);
    seg_files_.erase(seg);
  }
  return s;
}

Status Store::Impl::StartNextSegment(uint32_t seg) {
  bool prepared = false;
  {
    std::lock_guard<std::mutex> lk(prep_mu_);
    if (prep_ready_ == seg) {
      prepared = true;
      prep_ready_ = 0;
      if (prep_wanted_ == seg) prep_wanted_ = 0;  // taken: not to be made again
    } else if (prep_wanted_ == seg) {
      prep_wanted_ = 0;  // too late: what the preparer makes now is dropped
    }
  }
  if (prepared) {
    // Complete and durable (header + zeros); the rename is made durable before any record
    // goes into it.
    Status s = env_->RenameFile(PreparedPath(seg), SegmentPath(seg));
    if (s.ok()) s = env_->SyncDir(log_dir_);
    if (s.ok()) {
      s = StartSegment(seg, kSegmentHeaderSize, /*prepared=*/true);
      if (s.ok()) log_bytes_ += kSegmentHeaderSize;
      return s;
    }
    if (env_->FileExists(SegmentPath(seg))) return s;  // renamed, directory sync failed
    (void)env_->RemoveFile(PreparedPath(seg));  // unused now; a leftover is removed at open
  }
  return StartSegment(seg, 0, /*prepared=*/false);
}

Status Store::Impl::RollSegment() {
  // Records in closed segments must be durable before the next segment's are.
  Status s = active_->Sync();
  if (!s.ok()) {
    SetSticky(s);
    return CheckHealthy();
  }
  device_syncs_++;
  const uint32_t closed = active_segment_;
  const uint64_t closed_size = active_->Size();
  RETURN_IF_ERROR(OpenNextSegment());
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    seg_files_[closed].size = closed_size;
  }
  if (options_.preallocate_segments) {
    std::lock_guard<std::mutex> lk(prep_mu_);
    prep_trims_.emplace_back(closed, closed_size);
    prep_cv_.notify_all();
  }
  if (compactor_.joinable()) WakeCompactor();
  return Status::Ok();
}

bool Store::Impl::MaybeUsePreparedSegment() {
  // Zero-filling writes every byte of a segment twice; it pays only where it saves a metadata
  // write (ext4: the inode, or a journal commit) on each of many small device syncs, as under
  // commits, not under bulk writes. Judged by recent windows of the log, so that a bulk load
  // followed by commits (sysbench prepare, then run) moves to preallocated segments at once.
  const uint64_t window = std::max<uint64_t>(options_.segment_bytes / 16,
                                             4 * options_.preallocate_below_bytes_per_sync);
  if (log_bytes_ - window_start_bytes_ >= window) {
    const uint64_t syncs = device_syncs_.load() - window_start_syncs_;
    small_syncs_ = syncs > 0 && (log_bytes_ - window_start_bytes_) / syncs <=
                                    options_.preallocate_below_bytes_per_sync;
    window_start_bytes_ = log_bytes_;
    window_start_syncs_ = device_syncs_.load();
  }
  if (!small_syncs_) return false;
  const uint32_t next = active_segment_ + 1;
  if (prep_requested_ != next) RequestPrepared(next);
  if (active_prepared_ || active_->Size() < options_.segment_bytes / 64) return false;
  std::lock_guard<std::mutex> lk(prep_mu_);
  return prep_ready_ == next;
}

void Store::Impl::RequestPrepared(uint32_t seg) {
  prep_requested_ = seg;
  std::lock_guard<std::mutex> lk(prep_mu_);
  if (prep_ready_ == seg) return;
  prep_wanted_ = seg;
  prep_cv_.notify_all();
}

void Store::Impl::PreparerLoop() {
  std::unique_lock<std::mutex> lk(prep_mu_);
  while (true) {
    prep_cv_.wait(lk, [this] {
      return prep_stop_ || !prep_trims_.empty() ||
             (prep_wanted_ != 0 && prep_wanted_ != prep_ready_ && prep_wanted_ != prep_failed_);
    });
    if (prep_stop_) return;
    if (!prep_trims_.empty()) {
      // A closed segment keeps only its records: drop its unused preallocated zeros.
      const auto [seg, size] = prep_trims_.back();
      prep_trims_.pop_back();
      lk.unlock();
      Result<uint64_t> fsize = env_->FileSize(SegmentPath(seg));
      // Space only: a segment that keeps its zeros reads the same.
      if (fsize.ok() && *fsize > size) (void)env_->Truncate(SegmentPath(seg), size);
      lk.lock();
      continue;
    }
    const uint32_t seg = prep_wanted_;
    lk.unlock();
    const std::string tmp = PreparedPath(seg) + ".tmp";
    Status s = env_->CreateFilled(tmp, SegmentHeader(seg), options_.segment_bytes);
    if (s.ok()) s = env_->RenameFile(tmp, PreparedPath(seg));
    // A failed preparation is retried; its partial file only takes space.
    if (!s.ok() && env_->FileExists(tmp)) (void)env_->RemoveFile(tmp);
    lk.lock();
    if (s.ok() && prep_wanted_ == seg) {
      const uint32_t old = prep_ready_;
      prep_ready_ = seg;
      if (old != 0 && old != seg) {
        lk.unlock();
        (void)env_->RemoveFile(PreparedPath(old));  // a leftover is removed at open
        lk.lock();
      }
    } else if (s.ok()) {
      lk.unlock();
      (void)env_->RemoveFile(PreparedPath(seg));  // no longer wanted
      lk.lock();
    } else {
      prep_failed_ = seg;  // appends then create the segment themselves
    }
  }
}

void Store::Impl::StopPreparer() {
  {
    std::lock_guard<std::mutex> lk(prep_mu_);
    prep_stop_ = true;
    prep_cv_.notify_all();
  }
  if (preparer_.joinable()) preparer_.join();
}

Result<bool> Store::Impl::RangeIsZero(uint32_t seg, uint64_t from, uint64_t to) const {
  ASSIGN_OR_RETURN(std::shared_ptr<ReadFile> file, FileReader(seg));
  std::string buf(1 << 20, '\0');
  for (uint64_t off = from; off < to;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - off));
    ASSIGN_OR_RETURN(size_t n, file->ReadAt(off, want, buf.data()));
    if (n == 0) break;
    if (!AllZero(buf.data(), n)) return false;
    off += n;
  }
  return true;
}

Status Store::Impl::AppendAndApply(Record* rec, std::optional<uint32_t> data_crc) {
  RETURN_IF_ERROR(CheckHealthy());
  rec->lsn = Lsn(last_lsn_.load() + 1);
  rec->time_ns = std::max(env_->NowNs(), last_time_ns_.load());
  encode_buf_.clear();
  // The record's bytes: encode_buf_, then `body` (a Write's data, written from the caller's
  // buffer) when the data's checksum was given.
  std::string_view body;
  size_t data_offset;
  if (data_crc && rec->kind == RecordKind::kWrite) {
    EncodeWriteHead(*rec, *data_crc, &encode_buf_);
    body = rec->data;
    data_offset = kWriteDataOffset;
  } else {
    data_offset = EncodeRecord(*rec, &encode_buf_);
  }
  const uint64_t record_bytes = encode_buf_.size() + body.size();

  if (active_->Size() + record_bytes > options_.segment_bytes &&
      active_->Size() > kSegmentHeaderSize) {
    // A failed roll (typically ENOSPC) leaves the closed segment active and nothing stored
    // changed: this record fails, the next append tries the roll again.
    RETURN_IF_ERROR(RollSegment());
  }

  const uint64_t before = active_->Size();
  if (rec->kind == RecordKind::kWrite && FailpointArmed("store.append.torn")) {
    const std::string whole = encode_buf_ + std::string(body);
    // The failpoint's torn write: the process dies next, whatever the append said.
    (void)active_->Append(std::string_view(whole).substr(0, whole.size() / 2));
    Failpoint("store.append.torn");
  }
  Status s = body.empty() ? active_->Append(encode_buf_) : active_->Append(encode_buf_, body);
  if (!s.ok()) {
    // Cut the partial record so later records stay readable; if even that fails, stop.
    Status cut = env_->Truncate(SegmentPath(active_segment_), before);
    if (cut.ok()) {
      auto reopened = env_->OpenAppend(SegmentPath(active_segment_));
      if (reopened.ok()) {
        active_ = std::move(reopened).value();
        return s;  // e.g. NoSpace: nothing stored was lost, later writes may succeed
      }
      cut = reopened.status();
    }
    SetSticky(s);
    return s;
  }
  log_bytes_ += record_bytes;
  bytes_since_checkpoint_ += record_bytes;
  Apply(*rec, MakeLoc(active_segment_, before + data_offset));
  // After Apply, which publishes last_lsn_: whoever reads this LSN may sync up to it.
  if (rec->kind != RecordKind::kWrite) last_non_data_lsn_.store(rec->lsn.value);
  if (options_.writeback_every_bytes != 0) {
    if (writeback_segment_ != active_segment_) {
      writeback_segment_ = active_segment_;
      writeback_from_ = before;
    }
    const uint64_t end = active_->Size();
    if (end - writeback_from_ >= options_.writeback_every_bytes) {
      // Started by the caller once it has let go of write_mu_ (it may wait for the device's
      // request queue).
      pending_writeback_ = Writeback{active_, writeback_from_, end - writeback_from_};
      writeback_from_ = end;
    }
  }
  if (options_.preallocate_segments && MaybeUsePreparedSegment()) {
    // The record is stored; a failed roll only leaves the log where it was (tried again later).
    if (RollSegment().ok()) RequestPrepared(active_segment_ + 1);
  }
  if (bytes_since_checkpoint_ >= options_.checkpoint_every_bytes) {
    // Bounds the replay at the next open. A failure here is not the caller's: the record is
    // stored, and the log alone recovers it.
    (void)WriteCheckpointLocked();
  }
  return Status::Ok();
}

Status Store::Impl::SyncLog(uint64_t target) {
  sync_requests_++;
  std::unique_lock<std::mutex> lk(sync_mu_);
  while (true) {
    RETURN_IF_ERROR(CheckHealthy());
    if (synced_lsn_ >= target) return Status::Ok();
    if (!sync_in_progress_) break;
    sync_cv_.wait(lk);
  }
  sync_in_progress_ = true;
  lk.unlock();

  uint64_t upto, upto_offset;
  uint32_t upto_segment;
  std::shared_ptr<AppendFile> file;
  {
    std::lock_guard<std::mutex> wl(write_mu_);
    upto = last_lsn_.load();
    upto_segment = active_segment_;
    upto_offset = active_->Size();
    file = active_;
  }
  Status s = file->Sync();
  device_syncs_++;
  if (!s.ok()) SetSticky(s);

  lk.lock();
  sync_in_progress_ = false;
  if (s.ok() && upto >= synced_lsn_) {
    synced_lsn_ = upto;
    synced_segment_ = upto_segment;
    synced_offset_ = upto_offset;
  }
  sync_cv_.notify_all();
  return s.ok() ? Status::Ok() : CheckHealthy();
}

Status Store::Impl::WriteCheckpointLocked() {
  RETURN_IF_ERROR(CheckHealthy());
  Status s = active_->Sync();
  device_syncs_++;
  if (!s.ok()) {
    SetSticky(s);
    return s;
  }
  {
    std::lock_guard<std::mutex> lk(sync_mu_);
    if (last_lsn_.load() >= synced_lsn_) {
      synced_lsn_ = last_lsn_.load();
      synced_segment_ = active_segment_;
      synced_offset_ = active_->Size();
    }
  }
  std::string bytes;
  {
    std::shared_lock<std::shared_mutex> lk(index_mu_);
    bytes = SerializeIndex(active_segment_, active_->Size());
  }
  RETURN_IF_ERROR(WriteFileAtomic(env_, options_.dir + "/index.ckpt", bytes));
  bytes_since_checkpoint_ = 0;
  return Status::Ok();
}

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

// ---------------------------------------------------------------- Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
  impl_->StopCompactor();
  impl_->StopPreparer();
  std::lock_guard<std::mutex> lk(impl_->write_mu_);
  if (impl_->active_ && impl_->CheckHealthy().ok() && impl_->bytes_since_checkpoint_ > 0) {
    (void)impl_->WriteCheckpointLocked();  // best effort: the log alone recovers everything
  }
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("store directory not set");
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Open().WithContext("opening store at " + options.dir));
  for (const auto& [id, t] : impl->timelines_) {
    // Not before: replay applies records that may read through them (it sees no error, and
    // nothing of the store is used when this fails).
    if (t->info.foreign.valid()) RETURN_IF_ERROR(impl->Foreign(t.get()).status());
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const RecoveryReport& Store::recovery() const { return impl_->recovery_; }

#define RWD_TIMELINE_OR_RETURN(var, id)                                     \
  const Timeline* var = impl_->FindTimeline(id);                            \
  if (!var) return Status::NotFound("no timeline " + (id).ToString())

Result<InodeId> Store::Lookup(TimelineId tl, Lsn lsn, InodeId parent,
                              std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  return impl_->LookupAt(t, lsn.value, parent, name, nullptr);
}

Result<Attr> Store::GetAttr(TimelineId tl, Lsn lsn, InodeId ino) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  return impl_->AttrAt(t, lsn.value, ino);
}

Result<std::vector<DirEntry>> Store::ReadDir(TimelineId tl, Lsn lsn, InodeId dir) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  return impl_->ReadDirAt(t, lsn.value, dir);
}

Result<size_t> Store::Read(TimelineId tl, Lsn lsn, InodeId ino, uint64_t offset, size_t len,
                           char* out) const {
  thread_local std::vector<Impl::Piece> pieces;
  thread_local std::vector<std::shared_ptr<ReadFile>> files;
  pieces.clear();
  size_t n = 0;
  Impl::ForeignRead foreign;
  uint64_t foreign_end = 0;
  {
    std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
    RWD_TIMELINE_OR_RETURN(t, tl);
    ASSIGN_OR_RETURN(Attr a, impl_->AttrAt(t, lsn.value, ino));
    if (a.type == NodeType::kDirectory) {
      return Status::IsDirectory("inode " + ino.ToString() + " is a directory");
    }
    if (offset >= a.size) return size_t{0};
    n = static_cast<size_t>(std::min<uint64_t>(len, a.size - offset));
    impl_->CollectPieces(t, lsn.value, ino, offset, n, &pieces);
    // Sorted by destination before pinning: PinFiles reuses a file for runs of one file id.
    std::sort(pieces.begin(), pieces.end(),
              [](const Impl::Piece& a, const Impl::Piece& b) { return a.dst < b.dst; });
    RETURN_IF_ERROR(impl_->PinFiles(pieces, &files));
    ASSIGN_OR_RETURN(foreign, impl_->Foreign(t));
    if (foreign.peer != nullptr) foreign_end = impl_->LocalTruncationEnd(t, lsn.value, ino);
  }
  // Zero the holes: everything not covered by a piece. With a foreign ancestor, the holes below
  // every local truncation are the foreign state's bytes (read after this store's own pieces:
  // `pieces` is this thread's, and the peer's Read uses it too).
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  uint64_t pos = 0;
  auto hole = [&](uint64_t a, uint64_t b) {
    std::memset(out + a, 0, b - a);
    if (foreign.peer != nullptr && offset + a < foreign_end) {
      gaps.emplace_back(a, std::min<uint64_t>(b, foreign_end - offset));
    }
  };
  for (const auto& p : pieces) {
    if (p.dst > pos) hole(pos, p.dst);
    pos = p.dst + p.len;
  }
  if (pos < n) hole(pos, n);
  Status st = impl_->ReadPieces(pieces, files, out);
  files.clear();  // a cleaned file's last reference may be here
  RETURN_IF_ERROR(st);
  for (const auto& [a, b] : gaps) {
    const ForeignAncestor& f = *foreign.from;
    Result<size_t> got = foreign.peer->Read(f.timeline, f.lsn, ino, offset + a, b - a, out + a);
    // An inode made here (above the foreign inode floor) is not there: its holes are zeros.
    if (!got.ok() && got.status().code() != Status::Code::kNotFound) return got.status();
  }
  return n;
}

Result<Attr> Store::Create(TimelineId tl, InodeId parent, std::string_view name, NodeType type,
                           uint32_t mode, uint32_t uid, uint32_t gid, uint32_t rdev) {
  RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  Result<InodeId> existing = impl_->LookupAt(t, kMaxLsn, parent, name, nullptr);
  if (existing.ok()) return Status::AlreadyExists("'" + std::string(name) + "' exists");
  if (existing.status().code() != Status::Code::kNotFound ||
      !impl_->AttrAt(t, kMaxLsn, parent).ok()) {
    return existing.status();
  }
  Record rec;
  rec.kind = RecordKind::kCreate;
  rec.tl = tl;
  rec.parent = parent;
  rec.ino = InodeId(impl_->next_inode_);
  rec.type = type;
  rec.mode = mode;
  rec.uid = uid;
  rec.gid = gid;
  rec.rdev = rdev;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return impl_->AttrAt(t, kMaxLsn, rec.ino);
}

Result<Lsn> Store::Write(TimelineId tl, InodeId ino, uint64_t offset, std::string_view data) {
  if (offset + data.size() < offset || offset + data.size() > (1ull << 62)) {
    return Status::InvalidArgument("write past the largest file size");
  }
  if (data.size() > kMaxPayload - 64) {
    return Status::InvalidArgument("write larger than " + std::to_string(kMaxPayload >> 20) +
                                   " MiB; split it");
  }
  if (impl_->options_.write_gate != nullptr) RETURN_IF_ERROR(impl_->options_.write_gate->Admit());
  Record rec;
  rec.kind = RecordKind::kWrite;
  rec.tl = tl;
  rec.ino = ino;
  rec.offset = offset;
  rec.data = data;
  // Compressed and checksummed here, before the append lock, so that writers do it in
  // parallel. The buffer is per thread and given back when a rare huge write left it large.
  thread_local std::string body;
  if (impl_->options_.compress && impl_->options_.compress_inline &&
      data.size() >= impl_->options_.compress_min_bytes &&
      CompressWrite(offset, data, impl_->options_.compress_level, &body)) {
    rec.flags = kRecordCompressed;
    rec.data = body;
  }
  const uint32_t data_crc = crc32c::Value(rec.data.data(), rec.data.size());
  Impl::Writeback writeback;
  Status st = [&]() -> Status {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RWD_TIMELINE_OR_RETURN(t, tl);
    ASSIGN_OR_RETURN(Attr a, impl_->AttrAt(t, kMaxLsn, ino));
    if (a.type == NodeType::kDirectory) {
      return Status::IsDirectory("inode " + ino.ToString() + " is a directory");
    }
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec, data_crc));
    // A symlink's target (written right after its creation) is part of the namespace: a
    // file's fsync covers it like the creation (LastNonDataLsn).
    if (a.type != NodeType::kFile) impl_->last_non_data_lsn_.store(rec.lsn.value);
    writeback = std::move(impl_->pending_writeback_);
    impl_->pending_writeback_ = {};
    return Status::Ok();
  }();
  if (writeback.file) writeback.file->StartWriteback(writeback.offset, writeback.len);
  if (body.capacity() > (4u << 20)) std::string().swap(body);
  RETURN_IF_ERROR(st);
  impl_->write_bytes_.fetch_add(data.size(), std::memory_order_relaxed);
  impl_->write_stored_bytes_.fetch_add(rec.data.size(), std::memory_order_relaxed);
  return rec.lsn;
}

Result<Attr> Store::SetAttr(TimelineId tl, InodeId ino, const SetAttrRequest& request) {
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  ASSIGN_OR_RETURN(Attr a, impl_->AttrAt(t, kMaxLsn, ino));
  Record rec;
  rec.kind = RecordKind::kSetAttr;
  rec.tl = tl;
  rec.ino = ino;
  if (request.size) {
    if (a.type == NodeType::kDirectory) {
      return Status::IsDirectory("cannot set the size of a directory");
    }
    if (*request.size > (1ull << 62)) return Status::InvalidArgument("size too large");
    rec.mask |= kSetSize;
    rec.size = *request.size;
  }
  if (request.mode) {
    rec.mask |= kSetMode;
    rec.mode = *request.mode;
  }
  if (request.uid) {
    rec.mask |= kSetUid;
    rec.uid = *request.uid;
  }
  if (request.gid) {
    rec.mask |= kSetGid;
    rec.gid = *request.gid;
  }
  if (request.atime_ns) {
    rec.mask |= kSetAtime;
    rec.atime_ns = *request.atime_ns;
  }
  if (request.mtime_ns) {
    rec.mask |= kSetMtime;
    rec.mtime_ns = *request.mtime_ns;
  }
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return impl_->AttrAt(t, kMaxLsn, ino);
}

namespace {
Status RemoveChecks(Store::Impl* impl, const Timeline* t, InodeId parent, std::string_view name,
                    bool is_dir, InodeId* victim) {
  NodeType type;
  ASSIGN_OR_RETURN(*victim, impl->LookupAt(t, kMaxLsn, parent, name, &type));
  if (!is_dir && type == NodeType::kDirectory) {
    return Status::IsDirectory("'" + std::string(name) + "' is a directory");
  }
  if (is_dir) {
    if (type != NodeType::kDirectory) {
      return Status::NotDirectory("'" + std::string(name) + "' is not a directory");
    }
    ASSIGN_OR_RETURN(std::vector<DirEntry> entries, impl->ReadDirAt(t, kMaxLsn, *victim));
    if (!entries.empty()) return Status::NotEmpty("'" + std::string(name) + "' is not empty");
  }
  return Status::Ok();
}
}  // namespace

Result<InodeId> Store::Unlink(TimelineId tl, InodeId parent, std::string_view name) {
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  InodeId victim;
  RETURN_IF_ERROR(RemoveChecks(impl_.get(), t, parent, name, false, &victim));
  Record rec;
  rec.kind = RecordKind::kRemove;
  rec.tl = tl;
  rec.parent = parent;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  return victim;
}

Result<InodeId> Store::Rmdir(TimelineId tl, InodeId parent, std::string_view name) {
  if (name == ".") return Status::InvalidArgument("rmdir of '.'");
  if (name == "..") return Status::NotEmpty("rmdir of '..'");
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  InodeId victim;
  RETURN_IF_ERROR(RemoveChecks(impl_.get(), t, parent, name, true, &victim));
  Record rec;
  rec.kind = RecordKind::kRemove;
  rec.tl = tl;
  rec.parent = parent;
  rec.flag = true;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  return victim;
}

Result<InodeId> Store::Rename(TimelineId tl, InodeId old_parent, std::string_view old_name,
                              InodeId new_parent, std::string_view new_name, bool no_replace) {
  RETURN_IF_ERROR(ValidateName(old_name));
  RETURN_IF_ERROR(ValidateName(new_name));
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  NodeType src_type;
  ASSIGN_OR_RETURN(InodeId src, impl_->LookupAt(t, kMaxLsn, old_parent, old_name, &src_type));
  // The target directory must exist (the lookup fails with NotFound/NotDirectory otherwise).
  ASSIGN_OR_RETURN(Attr np, impl_->AttrAt(t, kMaxLsn, new_parent));
  if (np.type != NodeType::kDirectory) {
    return Status::NotDirectory("rename target parent " + new_parent.ToString() +
                                " is not a directory");
  }
  if (np.nlink == 0) return Status::NotFound("rename target directory was removed");
  NodeType dst_type;
  Result<InodeId> dst = impl_->LookupAt(t, kMaxLsn, new_parent, new_name, &dst_type);
  InodeId replaced;
  if (dst.ok()) {
    if (*dst == src) return InodeId();  // POSIX: same file, nothing to do
    if (no_replace) return Status::AlreadyExists("'" + std::string(new_name) + "' exists");
    if (src_type == NodeType::kDirectory) {
      if (dst_type != NodeType::kDirectory) {
        return Status::NotDirectory("cannot replace non-directory '" + std::string(new_name) +
                                    "' with a directory");
      }
      ASSIGN_OR_RETURN(std::vector<DirEntry> entries, impl_->ReadDirAt(t, kMaxLsn, *dst));
      if (!entries.empty()) {
        return Status::NotEmpty("'" + std::string(new_name) + "' is not empty");
      }
    } else if (dst_type == NodeType::kDirectory) {
      return Status::IsDirectory("cannot replace directory '" + std::string(new_name) +
                                 "' with a non-directory");
    }
    replaced = *dst;
  }
  if (src_type == NodeType::kDirectory) {
    // Refuse to move a directory into its own subtree.
    InodeId cur = new_parent;
    for (int guard = 0; guard < 4096 && cur != kRootInode; ++guard) {
      if (cur == src) return Status::InvalidArgument("cannot move a directory into itself");
      ASSIGN_OR_RETURN(Attr ca, impl_->AttrAt(t, kMaxLsn, cur));
      cur = ca.parent;
    }
    if (src == kRootInode) return Status::InvalidArgument("cannot move the root directory");
  }
  Record rec;
  rec.kind = RecordKind::kRename;
  rec.tl = tl;
  rec.parent = old_parent;
  rec.parent2 = new_parent;
  rec.flag = no_replace;
  rec.name = std::string(old_name);
  rec.name2 = std::string(new_name);
  RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  return replaced;
}

Status Store::Sync() { return impl_->SyncLog(impl_->last_lsn_.load(std::memory_order_acquire)); }

Status Store::SyncUpTo(Lsn upto) {
  const uint64_t last = impl_->last_lsn_.load(std::memory_order_acquire);
  if (upto.value > last) {
    return Status::InvalidArgument("sync up to LSN " + upto.ToString() +
                                   " is in the future (last LSN " + std::to_string(last) + ")");
  }
  return impl_->SyncLog(upto.value);
}

Lsn Store::LastNonDataLsn() const {
  return Lsn(impl_->last_non_data_lsn_.load(std::memory_order_acquire));
}

Result<TimelineId> Store::Branch(TimelineId ancestor, Lsn at) {
  TimelineId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    if (!impl_->FindTimeline(ancestor)) {
      return Status::NotFound("no timeline " + ancestor.ToString() + " to branch from");
    }
    if (at.value > impl_->last_lsn_.load()) {
      return Status::InvalidArgument("branch point LSN " + at.ToString() +
                                     " is in the future (last LSN " +
                                     std::to_string(impl_->last_lsn_.load()) + ")");
    }
    Record rec;
    rec.kind = RecordKind::kBranch;
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.ancestor = ancestor;
    rec.ancestor_lsn = at;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
    id = rec.tl;
  }
  RETURN_IF_ERROR(Sync());
  return id;
}

Result<VolumeInfo> Store::CreateVolume(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("volume name is empty");
  if (name.size() > 1024) return Status::InvalidArgument("volume name longer than 1024 bytes");
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    for (const auto& [vid, v] : impl_->volumes_) {
      if (v.name == name) return Status::AlreadyExists("volume '" + std::string(name) + "' exists");
    }
    Record rec;
    rec.kind = RecordKind::kCreateVolume;
    rec.volume = VolumeId(impl_->next_volume_);
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.name = std::string(name);
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
    id = rec.volume;
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

namespace {
Result<PointInTime> ResolveLocked(const Store::Impl& impl, VolumeId volume, int64_t time_ns,
                                  int64_t now_ns) {
  auto v = impl.volumes_.find(volume.value);
  if (v == impl.volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  const VolumeInfo& info = v->second;
  if (time_ns < info.created_ns) {
    return Status::InvalidArgument("time " + std::to_string(time_ns) +
                                   " is before the volume was created (" +
                                   std::to_string(info.created_ns) + ")");
  }
  if (time_ns > now_ns) {
    return Status::InvalidArgument("time " + std::to_string(time_ns) + " is in the future");
  }
  if (time_ns < info.retained_from_ns) {
    return Status::InvalidArgument("time " + std::to_string(time_ns) +
                                   " is before the earliest retained state of the volume (" +
                                   std::to_string(info.retained_from_ns) + ")");
  }
  auto h = std::upper_bound(info.history.begin(), info.history.end(), time_ns,
                            [](int64_t t, const HistoryEntry& e) { return t < e.from_ns; });
  const HistoryEntry& entry = *(h - 1);  // exists: history[0].from_ns == created_ns <= time_ns
  auto ti = std::upper_bound(impl.time_index_.begin(), impl.time_index_.end(), time_ns,
                             [](int64_t t, const auto& p) { return t < p.first; });
  const uint64_t lsn = ti == impl.time_index_.begin() ? 0 : (ti - 1)->second;
  return PointInTime{entry.timeline, Lsn(lsn)};
}
}  // namespace

Result<PointInTime> Store::Resolve(VolumeId volume, int64_t time_ns) const {
  const int64_t now = NowNs();
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return ResolveLocked(*impl_, volume, time_ns, now);
}

Result<VolumeInfo> Store::Rewind(VolumeId volume, int64_t time_ns) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    ASSIGN_OR_RETURN(PointInTime pit, ResolveLocked(*impl_, volume, time_ns, NowNs()));
    Record rec;
    rec.kind = RecordKind::kRewind;
    rec.volume = volume;
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.ancestor = pit.timeline;
    rec.ancestor_lsn = pit.lsn;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(volume);
}

namespace {
// AlreadyExists if a live volume is named `name`. Caller holds write_mu_.
Status VolumeNameFreeLocked(const Store::Impl& impl, std::string_view name) {
  for (const auto& [vid, v] : impl.volumes_) {
    if (v.name == name) return Status::AlreadyExists("volume '" + std::string(name) + "' exists");
  }
  return Status::Ok();
}

// Appends the Clone record of a new volume `name` (free: VolumeNameFreeLocked) branching from
// `from`. Caller holds write_mu_; `from` was resolved under it.
Result<VolumeId> AppendCloneLocked(Store::Impl& impl, std::string_view name, PointInTime from) {
  Record rec;
  rec.kind = RecordKind::kClone;
  rec.volume = VolumeId(impl.next_volume_);
  rec.tl = TimelineId(impl.next_timeline_);
  rec.ancestor = from.timeline;
  rec.ancestor_lsn = from.lsn;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl.AppendAndApply(&rec));
  return rec.volume;
}
}  // namespace

Result<VolumeInfo> Store::Clone(std::string_view name, VolumeId source, int64_t time_ns) {
  if (name.empty()) return Status::InvalidArgument("volume name is empty");
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RETURN_IF_ERROR(VolumeNameFreeLocked(*impl_, name));
    ASSIGN_OR_RETURN(PointInTime pit, ResolveLocked(*impl_, source, time_ns, NowNs()));
    ASSIGN_OR_RETURN(id, AppendCloneLocked(*impl_, name, pit));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

Result<VolumeInfo> Store::CloneForeign(std::string_view name, const ForeignAncestor& from) {
  if (name.empty()) return Status::InvalidArgument("volume name is empty");
  if (from.store_id.empty() || from.store_id.size() > 255) {
    return Status::InvalidArgument("a foreign ancestor's store id must be 1 to 255 bytes");
  }
  const Store* peer = impl_->options_.peers ? impl_->options_.peers(from.store_id, from.view_lsn)
                                            : nullptr;
  if (peer == nullptr) {
    return Status::FailedPrecondition("peer store " + from.store_id + " (view at LSN " +
                                      std::to_string(from.view_lsn) + ") is not attached");
  }
  RETURN_IF_ERROR(peer->GetTimeline(from.timeline).status());
  if (from.lsn > peer->LastLsn()) {
    return Status::InvalidArgument("LSN " + std::to_string(from.lsn.value) +
                                   " is past the peer store's last (" +
                                   std::to_string(peer->LastLsn().value) + ")");
  }
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RETURN_IF_ERROR(VolumeNameFreeLocked(*impl_, name));
    Record rec;
    rec.kind = RecordKind::kCloneForeign;
    rec.volume = VolumeId(impl_->next_volume_);
    rec.tl = TimelineId(impl_->next_timeline_);
    rec.ancestor = from.timeline;
    rec.ancestor_lsn = from.lsn;
    rec.offset = from.view_lsn;
    rec.size = peer->NextInode();
    rec.name2 = from.store_id;
    rec.name = std::string(name);
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
    id = rec.volume;
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

uint64_t Store::NextInode() const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  return impl_->next_inode_;
}

Status Store::DeleteVolume(VolumeId volume) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    if (!impl_->volumes_.count(volume.value)) {
      return Status::NotFound("no volume " + volume.ToString());
    }
    Record rec;
    rec.kind = RecordKind::kDeleteVolume;
    rec.volume = volume;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  return Sync();
}

namespace {
// The state of `volume` just after record `lsn` (Store::Pin at an LSN); *time_ns gets that
// record's time. Caller holds index_mu_ (the time index changes under it alone when cleaned).
Result<PointInTime> PointAtLsnLocked(const Store::Impl& impl, VolumeId volume, Lsn lsn,
                                     int64_t* time_ns) {
  auto v = impl.volumes_.find(volume.value);
  if (v == impl.volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  const VolumeInfo& info = v->second;
  if (lsn.value > impl.last_lsn_.load()) {
    return Status::InvalidArgument("LSN " + lsn.ToString() + " is in the future (last LSN " +
                                   std::to_string(impl.last_lsn_.load()) + ")");
  }
  // The head then: the newest history entry whose timeline existed at `lsn` (timelines of a
  // volume's history are created in LSN order).
  const HistoryEntry* entry = nullptr;
  for (const HistoryEntry& h : info.history) {
    const Timeline* t = impl.FindTimeline(h.timeline);
    if (t && t->info.created_lsn.value <= lsn.value) entry = &h;
  }
  if (entry == nullptr) {
    return Status::InvalidArgument("LSN " + lsn.ToString() + " is before volume " +
                                   volume.ToString() + " was created");
  }
  const auto& ti = impl.time_index_;
  // Exactly the states the cleaner keeps: from the last LSN stamped at or before the floor on
  // (src/store/cleaner.cc, read sets); none is dropped before the first floor raise.
  if (info.retained_from_ns > info.history.front().from_ns) {
    auto f = std::upper_bound(ti.begin(), ti.end(), info.retained_from_ns,
                              [](int64_t t, const auto& p) { return t < p.first; });
    const uint64_t floor_lsn = f == ti.begin() ? 0 : (f - 1)->second;
    if (lsn.value < floor_lsn) {
      return Status::InvalidArgument("LSN " + lsn.ToString() +
                                     " is before the earliest retained state of the volume (" +
                                     std::to_string(floor_lsn) + ")");
    }
  }
  auto it = std::lower_bound(ti.begin(), ti.end(), lsn.value,
                             [](const auto& p, uint64_t l) { return p.second < l; });
  *time_ns = it == ti.end() ? impl.last_time_ns_.load() : it->first;
  return PointInTime{entry->timeline, lsn};
}

}  // namespace

Result<PointInTime> Store::Impl::PinPointLocked(VolumeId volume, PinAt at,
                                                int64_t* time_ns) const {
  // The time index is trimmed by cleaning passes, which hold index_mu_ but not write_mu_.
  std::shared_lock<std::shared_mutex> lk(index_mu_);
  const int64_t now = std::max(env_->NowNs(), last_time_ns_.load());
  switch (at.kind) {
    case PinAt::Kind::kHead: {
      auto v = volumes_.find(volume.value);
      if (v == volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
      *time_ns = now;
      return PointInTime{v->second.head, Lsn(last_lsn_.load())};
    }
    case PinAt::Kind::kTime:
      *time_ns = at.time_ns;
      return ResolveLocked(*this, volume, at.time_ns, now);
    case PinAt::Kind::kLsn:
      return PointAtLsnLocked(*this, volume, at.lsn, time_ns);
  }
  return Status::InvalidArgument("unknown kind of pin moment");
}

namespace {
// Appends the Pin record of a new pin `name` of `point` (of `volume`, moment `time_ns`).
// AlreadyExists if a pin has the name. Caller holds write_mu_.
Result<PinId> AppendPinLocked(Store::Impl& impl, std::string_view name, VolumeId volume,
                              PointInTime point, int64_t time_ns) {
  for (const auto& [pid, p] : impl.pins_) {
    if (p.name == name) return Status::AlreadyExists("pin '" + std::string(name) + "' exists");
  }
  Record rec;
  rec.kind = RecordKind::kPin;
  rec.pin = PinId(impl.next_pin_);
  rec.volume = volume;
  rec.tl = point.timeline;
  rec.ancestor_lsn = point.lsn;
  rec.retain_from_ns = time_ns;
  rec.name = std::string(name);
  RETURN_IF_ERROR(impl.AppendAndApply(&rec));
  return rec.pin;
}

std::string CheckName(std::string_view name, const char* what) {
  if (name.empty()) return std::string(what) + " name is empty";
  if (name.size() > 1024) return std::string(what) + " name longer than 1024 bytes";
  return "";
}
}  // namespace

Result<PinInfo> Store::Pin(std::string_view name, VolumeId volume, PinAt at) {
  if (std::string bad = CheckName(name, "pin"); !bad.empty()) {
    return Status::InvalidArgument(bad);
  }
  PinId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    int64_t time_ns = 0;
    ASSIGN_OR_RETURN(PointInTime pit, impl_->PinPointLocked(volume, at, &time_ns));
    ASSIGN_OR_RETURN(id, AppendPinLocked(*impl_, name, volume, pit, time_ns));
  }
  // The record is in the OS, not on the device: a crash here leaves the pin or not.
  Failpoint("store.pin.before_sync");
  RETURN_IF_ERROR(Sync());
  return GetPin(id);
}

Result<PinInfo> Store::CopyPin(std::string_view name, PinId source) {
  if (std::string bad = CheckName(name, "pin"); !bad.empty()) {
    return Status::InvalidArgument(bad);
  }
  PinId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    auto p = impl_->pins_.find(source.value);
    if (p == impl_->pins_.end()) return Status::NotFound("no pin " + source.ToString());
    const PinInfo from = p->second;
    ASSIGN_OR_RETURN(id, AppendPinLocked(*impl_, name, from.volume, from.point, from.time_ns));
  }
  Failpoint("store.pin.copy_before_sync");
  RETURN_IF_ERROR(Sync());
  return GetPin(id);
}

Status Store::Unpin(PinId pin) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    if (!impl_->pins_.count(pin.value)) return Status::NotFound("no pin " + pin.ToString());
    Record rec;
    rec.kind = RecordKind::kUnpin;
    rec.pin = pin;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  Failpoint("store.pin.unpin_before_sync");
  return Sync();
}

Result<PinInfo> Store::GetPin(PinId pin) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  auto p = impl_->pins_.find(pin.value);
  if (p == impl_->pins_.end()) return Status::NotFound("no pin " + pin.ToString());
  return p->second;
}

Result<PinInfo> Store::FindPin(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  for (const auto& [id, p] : impl_->pins_) {
    if (p.name == name) return p;
  }
  return Status::NotFound("no pin named '" + std::string(name) + "'");
}

std::vector<PinInfo> Store::ListPins() const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  std::vector<PinInfo> out;
  for (const auto& [id, p] : impl_->pins_) out.push_back(p);
  return out;
}

Result<VolumeInfo> Store::CloneFromPin(std::string_view name, PinId pin) {
  if (std::string bad = CheckName(name, "volume"); !bad.empty()) {
    return Status::InvalidArgument(bad);
  }
  VolumeId id;
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    RETURN_IF_ERROR(VolumeNameFreeLocked(*impl_, name));
    auto p = impl_->pins_.find(pin.value);
    if (p == impl_->pins_.end()) return Status::NotFound("no pin " + pin.ToString());
    ASSIGN_OR_RETURN(id, AppendCloneLocked(*impl_, name, p->second.point));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(id);
}

Result<PinBudget> Store::CheckPinBudget(VolumeId volume, PinAt at,
                                        uint64_t budget_bytes) const {
  if (budget_bytes == 0) {
    return Status::InvalidArgument("history budget of 0 bytes: no budget, nothing to check");
  }
  const uint64_t written = impl_->write_stored_bytes_.load();
  int64_t ignored = 0;
  ASSIGN_OR_RETURN(PointInTime pit, impl_->PinPointLocked(volume, at, &ignored));
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  if (!impl_->volumes_.count(volume.value)) {
    return Status::NotFound("no volume " + volume.ToString());
  }
  const auto& pass = impl_->pass_;
  PinBudget b;
  b.budget_bytes = budget_bytes;
  b.at_head = pit.timeline == impl_->volumes_.at(volume.value).head &&
              pit.lsn.value >= impl_->last_lsn_.load();
  if (pass.valid) {
    const uint64_t since = written - std::min(written, pass.written_stored_at);
    const auto& per_volume = b.at_head ? pass.live_stored_bytes : pass.history_stored_bytes;
    auto own = per_volume.find(volume.value);
    b.floor_bytes = pass.floor_stored_bytes + since;
    b.new_pin_bytes = (own == per_volume.end() ? 0 : own->second) + since;
  } else {
    // No pass since open: nothing measured, so all of the log counts as unreclaimable.
    b.floor_bytes = impl_->log_bytes_.load();
    b.new_pin_bytes = b.floor_bytes;
  }
  b.fits = b.floor_bytes + b.new_pin_bytes <= budget_bytes;
  return b;
}

Result<std::vector<ActivityPoint>> Store::Activity(VolumeId volume, int64_t from_ns,
                                                   int64_t to_ns, int64_t step_ns) const {
  constexpr int64_t kNs = 1'000'000'000;
  if (step_ns <= 0 || step_ns % kNs != 0) {
    return Status::InvalidArgument("activity step must be a positive whole number of seconds");
  }
  if (from_ns > to_ns) return Status::InvalidArgument("activity start is after its end");
  const int64_t step_s = step_ns / kNs;
  auto floor_div = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && (a < 0)); };
  const int64_t grid_start_s = floor_div(from_ns, step_ns) * step_s;
  const int64_t grid_end_s = (floor_div(to_ns, step_ns) + (to_ns % step_ns != 0)) * step_s;
  const int64_t n = std::max<int64_t>((grid_end_s - grid_start_s) / step_s, 0);
  if (n > kMaxActivityPoints) {
    return Status::InvalidArgument("activity of " + std::to_string(n) + " points asked; at most " +
                                   std::to_string(kMaxActivityPoints) +
                                   ": use a longer step or a shorter interval");
  }
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  auto v = impl_->volumes_.find(volume.value);
  if (v == impl_->volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  const int64_t fine_from_s = impl_->activity_.fine_from_s();
  if (step_s % 60 != 0 && grid_start_s < fine_from_s) {
    return Status::InvalidArgument(
        "activity before " + std::to_string(fine_from_s) +
        " s since the epoch is kept per minute: use a step of whole minutes, or start later");
  }
  std::vector<ActivityPoint> points(n);
  for (int64_t i = 0; i < n; ++i) points[i].time_ns = (grid_start_s + i * step_s) * kNs;
  const std::vector<HistoryEntry>& h = v->second.history;
  for (size_t i = 0; i < h.size(); ++i) {
    // The timeline was the head over [from, until): the seconds touching that span (a record
    // of it cannot lie outside, so a shared second counts both timelines exactly).
    const int64_t from_s = std::max(floor_div(h[i].from_ns, kNs), grid_start_s);
    const int64_t until_s =
        i + 1 < h.size() ? std::min(floor_div(h[i + 1].from_ns, kNs) + 1, grid_end_s) : grid_end_s;
    impl_->activity_.Accumulate(h[i].timeline.value, from_s, until_s, grid_start_s, step_s,
                                &points);
  }
  return points;
}

Result<VolumeInfo> Store::GetVolume(VolumeId volume) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  auto v = impl_->volumes_.find(volume.value);
  if (v == impl_->volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
  return v->second;
}

Result<VolumeInfo> Store::FindVolume(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  for (const auto& [id, v] : impl_->volumes_) {
    if (v.name == name) return v;
  }
  return Status::NotFound("no volume named '" + std::string(name) + "'");
}

std::vector<VolumeInfo> Store::ListVolumes() const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  std::vector<VolumeInfo> out;
  for (const auto& [id, v] : impl_->volumes_) out.push_back(v);
  return out;
}

Result<TimelineInfo> Store::GetTimeline(TimelineId tl) const {
  std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
  RWD_TIMELINE_OR_RETURN(t, tl);
  return t->info;
}

Result<VolumeInfo> Store::SetRetention(VolumeId volume, int64_t from_ns) {
  {
    std::lock_guard<std::mutex> wl(impl_->write_mu_);
    auto v = impl_->volumes_.find(volume.value);
    if (v == impl_->volumes_.end()) return Status::NotFound("no volume " + volume.ToString());
    from_ns = std::min(from_ns, NowNs());
    if (from_ns <= v->second.retained_from_ns) return v->second;
    Record rec;
    rec.kind = RecordKind::kRetain;
    rec.volume = volume;
    rec.retain_from_ns = from_ns;
    RETURN_IF_ERROR(impl_->AppendAndApply(&rec));
  }
  RETURN_IF_ERROR(Sync());
  return GetVolume(volume);
}

Result<CleanReport> Store::Clean(const CleanOptions& options) { return impl_->Clean(options); }

Lsn Store::LastLsn() const { return Lsn(impl_->last_lsn_.load(std::memory_order_acquire)); }
int64_t Store::LastTimeNs() const { return impl_->last_time_ns_.load(std::memory_order_acquire); }
int64_t Store::NowNs() const { return std::max(impl_->env_->NowNs(), LastTimeNs()); }

Status Store::Checkpoint() {
  std::lock_guard<std::mutex> wl(impl_->write_mu_);
  return impl_->WriteCheckpointLocked();
}

Result<uint32_t> Store::CompactSegments() { return impl_->CompactSegments(); }

Status Store::health() const { return impl_->CheckHealthy(); }

DurableLog Store::DurableLogState() const {
  DurableLog d;
  {
    std::lock_guard<std::mutex> lk(impl_->sync_mu_);
    d.lsn = Lsn(impl_->synced_lsn_);
    d.segment = impl_->synced_segment_;
    d.offset = impl_->synced_offset_;
  }
  // After the synced point: a segment closed since is in the list, with its final size.
  std::lock_guard<std::mutex> lk(impl_->seg_mu_);
  const uint32_t active = impl_->seg_files_.empty() ? 0 : impl_->seg_files_.rbegin()->first;
  d.active_segment = active;
  d.active_path = impl_->SegmentPath(active);
  for (const auto& [seg, f] : impl_->seg_files_) {
    if (seg >= active) break;
    if (f.size == 0) {
      // Being closed by RollSegment right now (its size is set just after the next segment
      // opens): the list stops here, and this one counts as the active one until then.
      d.active_segment = seg;
      d.active_path = impl_->SegmentPath(seg);
      break;
    }
    d.closed.push_back(
        LogFileInfo{seg, f.file_id, f.size, impl_->FilePath(seg, f.file_id), f.cold});
  }
  return d;
}

uint64_t Store::LocalLogBytes() const {
  return impl_->log_bytes_.load() - impl_->cold_bytes_.load();
}

StoreStats Store::stats() const {
  StoreStats s;
  s.last_lsn = LastLsn();
  {
    std::lock_guard<std::mutex> lk(impl_->sync_mu_);
    s.synced_lsn = Lsn(impl_->synced_lsn_);
  }
  {
    std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
    s.records = impl_->records_;
    s.page_versions = impl_->page_versions_;
  }
  {
    std::lock_guard<std::mutex> lk(impl_->seg_mu_);
    s.segments = static_cast<uint32_t>(impl_->seg_files_.size());
    s.cold_segments = static_cast<uint32_t>(impl_->cold_.size());
  }
  s.log_bytes = impl_->log_bytes_.load();
  s.local_log_bytes = s.log_bytes - impl_->cold_bytes_.load();
  s.segments_evicted = impl_->segments_evicted_.load();
  s.device_syncs = impl_->device_syncs_.load();
  s.sync_requests = impl_->sync_requests_.load();
  s.write_bytes = impl_->write_bytes_.load();
  s.write_stored_bytes = impl_->write_stored_bytes_.load();
  s.segments_compacted = impl_->segments_compacted_.load();
  s.compaction_saved_bytes = impl_->compaction_saved_bytes_.load();
  s.compaction_errors = impl_->compaction_errors_.load();
  {
    std::shared_lock<std::shared_mutex> lk(impl_->index_mu_);
    s.pins = impl_->pins_.size();
    s.pinned_bytes = impl_->pass_.pinned_bytes;
    s.pinned_stored_bytes = impl_->pass_.pinned_stored_bytes;
    s.floor_stored_bytes = impl_->pass_.floor_stored_bytes;
  }
  return s;
}

}  // namespace rwd::store
