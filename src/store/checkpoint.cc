// Index checkpoint: the whole in-memory index, serialised so that Open() need only replay the
// log after it. Byte layout in docs/format/checkpoint.md.
#include <algorithm>
#include <cstring>

#include "common/crc32c.h"
#include "store/store_impl.h"

namespace rwd::store {
namespace {

constexpr char kCheckpointMagic[8] = {'R', 'W', 'N', 'D', 'C', 'K', 'P', '1'};
// Version 4 adds the activity summary at the end. Version 3 stores an extent's zlen in the upper
// half of the u32 that version 2 used for its page offset (always below 2^16 there), so a
// version-2 checkpoint loads as one without compressed extents. Versions 2 and 3 have no
// activity summary: it is derived from the index they hold (DeriveActivity).
// Version 5 adds the pins after the activity summary; a version-4 checkpoint loads as one
// without pins (there were none before version 5).
// Version 6 adds the foreign ancestors after the pins; it is written only when a timeline has
// one (CloneForeign), so a store without any stays readable by a binary that knows version 5.
constexpr uint32_t kCheckpointVersionForeign = 6;
constexpr uint32_t kCheckpointVersion = 5;
constexpr uint32_t kCheckpointVersionNoPins = 4;
constexpr uint32_t kCheckpointVersionNoActivity = 3;
constexpr uint32_t kCheckpointVersionNoZlen = 2;

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { out_->append(reinterpret_cast<const char*>(&v), 2); }
  void U32(uint32_t v) { out_->append(reinterpret_cast<const char*>(&v), 4); }
  void U64(uint64_t v) { out_->append(reinterpret_cast<const char*>(&v), 8); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool ok() const { return ok_; }
  uint8_t U8() {
    uint8_t v = 0;
    Get(&v, 1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Get(&v, 4);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Get(&v, 8);
    return v;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string Str() {
    uint32_t n = U32();
    if (!ok_ || s_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string r(s_.substr(pos_, n));
    pos_ += n;
    return r;
  }
  // A count of items each at least `min_bytes` long: rejects counts the bytes cannot hold.
  uint64_t Count(size_t min_bytes) {
    uint64_t n = U64();
    if (ok_ && n > (s_.size() - pos_) / std::max<size_t>(min_bytes, 1)) ok_ = false;
    return ok_ ? n : 0;
  }
  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  void Get(void* v, size_t n) {
    if (!ok_ || s_.size() - pos_ < n) {
      ok_ = false;
      return;
    }
    std::memcpy(v, s_.data() + pos_, n);
    pos_ += n;
  }
  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void PutAttr(Writer& w, const Attr& a) {
  w.U64(a.ino.value);
  w.U8(static_cast<uint8_t>(a.type));
  w.U32(a.mode);
  w.U32(a.uid);
  w.U32(a.gid);
  w.U32(a.rdev);
  w.U64(a.size);
  w.I64(a.atime_ns);
  w.I64(a.mtime_ns);
  w.I64(a.ctime_ns);
  w.U64(a.parent.value);
  w.U32(a.nlink);
}

Attr ReadAttr(Reader& r) {
  Attr a;
  a.ino = InodeId(r.U64());
  a.type = static_cast<NodeType>(r.U8());
  a.mode = r.U32();
  a.uid = r.U32();
  a.gid = r.U32();
  a.rdev = r.U32();
  a.size = r.U64();
  a.atime_ns = r.I64();
  a.mtime_ns = r.I64();
  a.ctime_ns = r.I64();
  a.parent = InodeId(r.U64());
  a.nlink = r.U32();
  return a;
}

}  // namespace

std::string Store::Impl::SerializeIndex(uint32_t segment, uint64_t offset) const {
  std::string out(kCheckpointMagic, sizeof(kCheckpointMagic));
  Writer w(&out);
  const bool foreign = std::any_of(timelines_.begin(), timelines_.end(),
                                  [](const auto& t) { return t.second->info.foreign.valid(); });
  w.U32(foreign ? kCheckpointVersionForeign : kCheckpointVersion);
  w.U32(segment);
  w.U64(offset);
  w.U64(last_lsn_.load());
  w.I64(last_time_ns_.load());
  w.U64(records_);
  w.U64(next_inode_);
  w.U64(next_timeline_);
  w.U64(next_volume_);
  {
    std::lock_guard<std::mutex> lk(seg_mu_);
    w.U64(seg_files_.size());
    for (const auto& [seg, f] : seg_files_) {
      w.U32(seg);
      w.U32(f.file_id);
    }
  }

  w.U64(time_index_.size());
  for (const auto& [t, l] : time_index_) {
    w.I64(t);
    w.U64(l);
  }
  // Timelines in id order: an ancestor always has a smaller id than its branches.
  std::map<uint64_t, const Timeline*> sorted;
  for (const auto& [id, t] : timelines_) sorted[id] = t.get();
  w.U64(sorted.size());
  for (const auto& [id, t] : sorted) {
    w.U64(id);
    w.U64(t->info.ancestor.value);
    w.U64(t->info.ancestor_lsn.value);
    w.U64(t->info.created_lsn.value);
    w.I64(t->info.created_ns);
  }
  w.U64(inodes_.size());
  for (const auto& [ino, per] : inodes_) {
    w.U64(ino);
    w.U64(per.size());
    for (const auto& [t, st] : per) {
      w.U64(t->info.id.value);
      w.U64(st->attrs.size());
      for (const auto& v : st->attrs) {
        w.U64(v.lsn);
        PutAttr(w, v.attr);
      }
      w.U64(st->pages.size());
      for (const auto& [page, exts] : st->pages) {
        w.U64(page);
        w.U64(exts.size());
        for (const Extent& e : exts) {
          w.U64(e.lsn);
          w.U64(e.loc);
          w.U16(e.page_off);
          w.U16(e.zlen);
          w.U32(e.len);
        }
      }
      w.U64(st->truncations.size());
      for (const auto& [l, s] : st->truncations) {
        w.U64(l);
        w.U64(s);
      }
      w.U64(st->last_write_lsn);
      w.I64(st->last_write_ns);
    }
  }
  w.U64(dirs_.size());
  for (const auto& [ino, per] : dirs_) {
    w.U64(ino);
    w.U64(per.size());
    for (const auto& [t, st] : per) {
      w.U64(t->info.id.value);
      w.U64(st->names.size());
      for (const auto& [name, versions] : st->names) {
        w.Str(name);
        w.U64(versions.size());
        for (const auto& v : versions) {
          w.U64(v.lsn);
          w.U64(v.ino.value);
          w.U8(static_cast<uint8_t>(v.type));
        }
      }
    }
  }
  w.U64(volumes_.size());
  for (const auto& [id, v] : volumes_) {
    w.U64(id);
    w.Str(v.name);
    w.U64(v.head.value);
    w.I64(v.created_ns);
    w.I64(v.retained_from_ns);
    w.U64(v.history.size());
    for (const auto& h : v.history) {
      w.I64(h.from_ns);
      w.U64(h.timeline.value);
    }
  }
  w.I64(activity_.fine_from_s());
  w.U64(activity_.timelines().size());
  auto put_buckets = [&](const auto& buckets) {
    w.U64(buckets.size());
    for (const ActivityBucket& b : buckets) {
      w.I64(b.second);
      w.U64(b.bytes);
      w.U64(b.records);
    }
  };
  for (const auto& [tl, a] : activity_.timelines()) {
    w.U64(tl);
    put_buckets(a.coarse);
    put_buckets(a.fine);
  }
  w.U64(next_pin_);
  w.U64(pins_.size());
  for (const auto& [id, p] : pins_) {
    w.U64(id);
    w.Str(p.name);
    w.U64(p.volume.value);
    w.Str(p.volume_name);
    w.U64(p.point.timeline.value);
    w.U64(p.point.lsn.value);
    w.I64(p.time_ns);
    w.I64(p.created_ns);
  }
  if (foreign) {
    std::vector<const Timeline*> roots;
    for (const auto& [id, t] : timelines_) {
      if (t->info.foreign.valid()) roots.push_back(t.get());
    }
    w.U64(roots.size());
    for (const Timeline* t : roots) {
      const ForeignAncestor& f = t->info.foreign;
      w.U64(t->info.id.value);
      w.Str(f.store_id);
      w.U64(f.view_lsn);
      w.U64(f.timeline.value);
      w.U64(f.lsn.value);
      w.U64(f.inode_floor);
    }
  }
  w.U32(crc32c::Mask(crc32c::Value(out.data(), out.size())));
  return out;
}

void Store::Impl::DeriveActivity() {
  // Every change record left a version in the index under its LSN (an extent, an attribute or
  // a name version; several for one record share its LSN). Exact unless a cleaning pass
  // dropped versions before this checkpoint was written.
  std::unordered_map<uint64_t, std::map<uint64_t, uint64_t>> per_tl;  // tl -> lsn -> bytes
  for (const auto& [ino, per] : inodes_) {
    for (const auto& [t, st] : per) {
      auto& m = per_tl[t->info.id.value];
      for (const AttrVersion& a : st->attrs) m.emplace(a.lsn, 0);
      for (const auto& [page, exts] : st->pages) {
        for (const Extent& e : exts) m[e.lsn] += e.len;
      }
    }
  }
  for (const auto& [ino, per] : dirs_) {
    for (const auto& [t, st] : per) {
      auto& m = per_tl[t->info.id.value];
      for (const auto& [name, versions] : st->names) {
        for (const DentryVersion& d : versions) m.emplace(d.lsn, 0);
      }
    }
  }
  activity_.Clear();
  for (const auto& [tl, m] : per_tl) {
    const Timeline* t = FindTimeline(TimelineId(tl));
    for (const auto& [lsn, bytes] : m) {
      if (t && lsn == t->info.created_lsn.value) continue;  // a root directory's creation
      auto it = std::lower_bound(time_index_.begin(), time_index_.end(), lsn,
                                 [](const auto& e, uint64_t l) { return e.second < l; });
      if (it == time_index_.end()) continue;
      activity_.AddUnordered(tl, it->first, bytes, 1);
    }
  }
  activity_.Finish(last_time_ns_.load());
}

Status Store::Impl::LoadIndex(std::string_view bytes, uint32_t* segment, uint64_t* offset,
                             std::map<uint32_t, uint32_t>* files) {
  if (bytes.size() < sizeof(kCheckpointMagic) + 8 ||
      std::memcmp(bytes.data(), kCheckpointMagic, sizeof(kCheckpointMagic)) != 0) {
    return Status::Corruption("checkpoint has no magic");
  }
  uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
  if (crc32c::Unmask(stored) != crc32c::Value(bytes.data(), bytes.size() - 4)) {
    return Status::Corruption("checkpoint checksum mismatch");
  }
  Reader r(bytes.substr(sizeof(kCheckpointMagic), bytes.size() - sizeof(kCheckpointMagic) - 4));
  const uint32_t version = r.U32();
  if (version != kCheckpointVersionForeign && version != kCheckpointVersion &&
      version != kCheckpointVersionNoPins &&
      version != kCheckpointVersionNoActivity && version != kCheckpointVersionNoZlen) {
    return Status::Corruption("checkpoint version unknown");
  }
  *segment = r.U32();
  *offset = r.U64();

  std::unique_lock<std::shared_mutex> lk(index_mu_);
  last_lsn_ = r.U64();
  last_time_ns_ = r.I64();
  records_ = r.U64();
  next_inode_ = r.U64();
  next_timeline_ = r.U64();
  next_volume_ = r.U64();
  for (uint64_t n = r.Count(8); n > 0; --n) {
    const uint32_t seg = r.U32();
    (*files)[seg] = r.U32();
  }
  for (uint64_t n = r.Count(16); n > 0; --n) {
    int64_t t = r.I64();
    uint64_t l = r.U64();
    time_index_.emplace_back(t, l);
  }
  for (uint64_t n = r.Count(40); n > 0; --n) {
    auto t = std::make_unique<Timeline>();
    t->info.id = TimelineId(r.U64());
    t->info.ancestor = TimelineId(r.U64());
    t->info.ancestor_lsn = Lsn(r.U64());
    t->info.created_lsn = Lsn(r.U64());
    t->info.created_ns = r.I64();
    t->chain.emplace_back(t.get(), std::numeric_limits<uint64_t>::max());
    if (const Timeline* a = FindTimeline(t->info.ancestor)) {
      t->depth = a->depth + 1;
      for (const auto& [at, limit] : a->chain) {
        t->chain.emplace_back(at, std::min(limit, t->info.ancestor_lsn.value));
      }
    } else if (t->info.ancestor.valid()) {
      return Status::Corruption("checkpoint timeline before its ancestor");
    }
    timelines_[t->info.id.value] = std::move(t);
  }
  auto timeline = [&](uint64_t id) -> const Timeline* { return FindTimeline(TimelineId(id)); };
  for (uint64_t n = r.Count(16); n > 0 && r.ok(); --n) {
    uint64_t ino = r.U64();
    auto& per = inodes_[ino];
    for (uint64_t k = r.Count(8); k > 0 && r.ok(); --k) {
      const Timeline* t = timeline(r.U64());
      if (!t) return Status::Corruption("checkpoint inode on unknown timeline");
      auto st = std::make_unique<InodeState>();
      for (uint64_t a = r.Count(8); a > 0 && r.ok(); --a) {
        uint64_t lsn = r.U64();
        st->attrs.push_back(AttrVersion{lsn, ReadAttr(r)});
      }
      for (uint64_t p = r.Count(16); p > 0 && r.ok(); --p) {
        uint64_t page = r.U64();
        auto& exts = st->PageVersions(page);
        uint64_t e = r.Count(24);
        exts.reserve(e);
        for (; e > 0 && r.ok(); --e) {
          Extent x;
          x.lsn = r.U64();
          x.loc = r.U64();
          const uint32_t off_zlen = r.U32();
          x.page_off = static_cast<uint16_t>(off_zlen & 0xffff);
          x.zlen = static_cast<uint16_t>(off_zlen >> 16);
          x.len = r.U32();
          if (x.page_off + uint64_t{x.len} > kPageSize || x.zlen >= kPageSize) {
            return Status::Corruption("checkpoint extent out of its page");
          }
          exts.push_back(x);
          ++page_versions_;
        }
      }
      for (uint64_t tr = r.Count(16); tr > 0 && r.ok(); --tr) {
        uint64_t l = r.U64();
        uint64_t s = r.U64();
        st->truncations.emplace_back(l, s);
      }
      st->last_write_lsn = r.U64();
      st->last_write_ns = r.I64();
      per.emplace_back(t, std::move(st));
    }
  }
  for (uint64_t n = r.Count(16); n > 0 && r.ok(); --n) {
    uint64_t ino = r.U64();
    auto& per = dirs_[ino];
    for (uint64_t k = r.Count(8); k > 0 && r.ok(); --k) {
      const Timeline* t = timeline(r.U64());
      if (!t) return Status::Corruption("checkpoint directory on unknown timeline");
      auto st = std::make_unique<DirState>();
      for (uint64_t m = r.Count(12); m > 0 && r.ok(); --m) {
        std::string name = r.Str();
        auto& versions = st->names[name];
        for (uint64_t v = r.Count(17); v > 0 && r.ok(); --v) {
          DentryVersion d;
          d.lsn = r.U64();
          d.ino = InodeId(r.U64());
          d.type = static_cast<NodeType>(r.U8());
          versions.push_back(d);
        }
      }
      per.emplace_back(t, std::move(st));
    }
  }
  for (uint64_t n = r.Count(36); n > 0 && r.ok(); --n) {
    VolumeInfo v;
    v.id = VolumeId(r.U64());
    v.name = r.Str();
    v.head = TimelineId(r.U64());
    v.created_ns = r.I64();
    v.retained_from_ns = r.I64();
    for (uint64_t h = r.Count(16); h > 0 && r.ok(); --h) {
      HistoryEntry e;
      e.from_ns = r.I64();
      e.timeline = TimelineId(r.U64());
      v.history.push_back(e);
    }
    volumes_[v.id.value] = std::move(v);
  }
  activity_.Clear();
  if (version >= kCheckpointVersionNoPins) {
    activity_.set_fine_from_s(r.I64());
    auto read_buckets = [&](auto* out) {
      for (uint64_t k = r.Count(24); k > 0 && r.ok(); --k) {
        ActivityBucket b;
        b.second = r.I64();
        b.bytes = r.U64();
        b.records = r.U64();
        out->push_back(b);
      }
    };
    for (uint64_t n = r.Count(24); n > 0 && r.ok(); --n) {
      TimelineActivity& a = activity_.timelines()[r.U64()];
      read_buckets(&a.coarse);
      read_buckets(&a.fine);
    }
  } else if (r.ok()) {
    DeriveActivity();
  }
  pins_.clear();
  next_pin_ = 1;
  if (version >= kCheckpointVersion) {
    next_pin_ = r.U64();
    for (uint64_t n = r.Count(48); n > 0 && r.ok(); --n) {
      PinInfo p;
      p.id = PinId(r.U64());
      p.name = r.Str();
      p.volume = VolumeId(r.U64());
      p.volume_name = r.Str();
      p.point = PointInTime{TimelineId(r.U64()), Lsn(r.U64())};
      p.time_ns = r.I64();
      p.created_ns = r.I64();
      if (!FindTimeline(p.point.timeline)) return Status::Corruption("checkpoint pin on unknown timeline");
      if (p.id.value >= next_pin_) return Status::Corruption("checkpoint pin id past next_pin");
      pins_[p.id.value] = std::move(p);
    }
  }
  if (version >= kCheckpointVersionForeign) {
    for (uint64_t n = r.Count(44); n > 0 && r.ok(); --n) {
      const uint64_t id = r.U64();
      ForeignAncestor f;
      f.store_id = r.Str();
      f.view_lsn = r.U64();
      f.timeline = TimelineId(r.U64());
      f.lsn = Lsn(r.U64());
      f.inode_floor = r.U64();
      auto t = timelines_.find(id);
      if (t == timelines_.end() || t->second->info.ancestor.valid() || f.store_id.empty()) {
        return Status::Corruption("checkpoint foreign ancestor of an unknown or branched timeline");
      }
      t->second->info.foreign = std::move(f);
    }
  }
  if (!r.ok() || !r.AtEnd()) return Status::Corruption("checkpoint truncated or malformed");
  return Status::Ok();
}

}  // namespace rwd::store
