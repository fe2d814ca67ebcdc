// Reading the index: what a timeline holds at an LSN (attributes, names, directories, file
// bytes), through its chain of ancestors and, at the chain's root, a foreign ancestor's peer
// store; and Store's read calls. Applying records to the index is in store_apply.cc.
#include <algorithm>
#include <cstring>
#include <map>

#include "store/compress.h"
#include "store/store_internal.h"

namespace rwd::store {

using store_internal::kMaxLsn;

namespace {

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

}  // namespace rwd::store
