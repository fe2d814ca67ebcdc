// Applying a record to the in-memory index: the live path (after its append, store_log.cc)
// and replay at open (store_open.cc) alike.
#include <algorithm>

#include "store/store_internal.h"

namespace rwd::store {

using store_internal::kMaxLsn;

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

}  // namespace rwd::store
