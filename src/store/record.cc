#include "store/record.h"

#include <cstring>

#include "common/crc32c.h"
#include "store/compress.h"

namespace rwd::store {
namespace {

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU16(std::string* out, uint16_t v) { out->append(reinterpret_cast<const char*>(&v), 2); }
void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutI64(std::string* out, int64_t v) { PutU64(out, static_cast<uint64_t>(v)); }

// Bounds-checked little-endian reader over a payload.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool U8(uint8_t* v) { return Get(v, 1); }
  bool U16(uint16_t* v) { return Get(v, 2); }
  bool U32(uint32_t* v) { return Get(v, 4); }
  bool U64(uint64_t* v) { return Get(v, 8); }
  bool I64(int64_t* v) { return Get(v, 8); }
  bool Bytes(size_t n, std::string_view* v) {
    if (s_.size() - pos_ < n) return false;
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view Rest() {
    std::string_view r = s_.substr(pos_);
    pos_ = s_.size();
    return r;
  }
  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  bool Get(void* v, size_t n) {
    if (s_.size() - pos_ < n) return false;
    std::memcpy(v, s_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view s_;
  size_t pos_ = 0;
};

bool ValidKind(uint8_t k) { return k >= 1 && k <= kLastRecordKind; }
bool ValidType(uint8_t t) { return t >= 1 && t <= 7; }

}  // namespace

namespace {

// Encodes rec into out; a kWrite record's data is copied only when copy_data, else it is
// accounted for by its length and data_crc (the caller writes it after these bytes).
size_t Encode(const Record& rec, std::string* out, bool copy_data, uint32_t data_crc) {
  const size_t start = out->size();
  out->resize(start + kRecordHeaderSize);  // header filled in at the end
  size_t data_offset = 0;
  switch (rec.kind) {
    case RecordKind::kWrite:
      PutU64(out, rec.tl.value);
      PutU64(out, rec.ino.value);
      PutU64(out, rec.offset);
      data_offset = kWriteDataOffset;
      if (copy_data) out->append(rec.data);
      break;
    case RecordKind::kCreate:
      PutU64(out, rec.tl.value);
      PutU64(out, rec.parent.value);
      PutU64(out, rec.ino.value);
      PutU8(out, static_cast<uint8_t>(rec.type));
      PutU32(out, rec.mode);
      PutU32(out, rec.uid);
      PutU32(out, rec.gid);
      PutU32(out, rec.rdev);
      out->append(rec.name);
      break;
    case RecordKind::kRemove:
      PutU64(out, rec.tl.value);
      PutU64(out, rec.parent.value);
      PutU8(out, rec.flag ? 1 : 0);
      out->append(rec.name);
      break;
    case RecordKind::kRename:
      PutU64(out, rec.tl.value);
      PutU64(out, rec.parent.value);
      PutU64(out, rec.parent2.value);
      PutU8(out, rec.flag ? 1 : 0);
      PutU16(out, static_cast<uint16_t>(rec.name.size()));
      out->append(rec.name);
      out->append(rec.name2);
      break;
    case RecordKind::kSetAttr:
      PutU64(out, rec.tl.value);
      PutU64(out, rec.ino.value);
      PutU32(out, rec.mask);
      PutU32(out, rec.mode);
      PutU32(out, rec.uid);
      PutU32(out, rec.gid);
      PutU64(out, rec.size);
      PutI64(out, rec.atime_ns);
      PutI64(out, rec.mtime_ns);
      break;
    case RecordKind::kBranch:
      PutU64(out, rec.tl.value);
      PutU64(out, rec.ancestor.value);
      PutU64(out, rec.ancestor_lsn.value);
      break;
    case RecordKind::kCreateVolume:
      PutU64(out, rec.volume.value);
      PutU64(out, rec.tl.value);
      out->append(rec.name);
      break;
    case RecordKind::kRewind:
      PutU64(out, rec.volume.value);
      PutU64(out, rec.tl.value);
      PutU64(out, rec.ancestor.value);
      PutU64(out, rec.ancestor_lsn.value);
      break;
    case RecordKind::kClone:
      PutU64(out, rec.volume.value);
      PutU64(out, rec.tl.value);
      PutU64(out, rec.ancestor.value);
      PutU64(out, rec.ancestor_lsn.value);
      out->append(rec.name);
      break;
    case RecordKind::kDeleteVolume:
      PutU64(out, rec.volume.value);
      break;
    case RecordKind::kRetain:
      PutU64(out, rec.volume.value);
      PutI64(out, rec.retain_from_ns);
      break;
    case RecordKind::kPin:
      PutU64(out, rec.pin.value);
      PutU64(out, rec.volume.value);
      PutU64(out, rec.tl.value);
      PutU64(out, rec.ancestor_lsn.value);
      PutI64(out, rec.retain_from_ns);
      out->append(rec.name);
      break;
    case RecordKind::kUnpin:
      PutU64(out, rec.pin.value);
      break;
    case RecordKind::kCloneForeign:
      PutU64(out, rec.volume.value);
      PutU64(out, rec.tl.value);
      PutU64(out, rec.ancestor.value);
      PutU64(out, rec.ancestor_lsn.value);
      PutU64(out, rec.offset);
      PutU64(out, rec.size);
      PutU8(out, static_cast<uint8_t>(rec.name2.size()));
      out->append(rec.name2);
      out->append(rec.name);
      break;
  }
  const size_t not_copied = rec.kind == RecordKind::kWrite && !copy_data ? rec.data.size() : 0;
  const uint32_t payload_len =
      static_cast<uint32_t>(out->size() - start - kRecordHeaderSize + not_copied);
  char* h = out->data() + start;
  std::memcpy(h + 4, &payload_len, 4);
  h[8] = static_cast<char>(rec.flags != 0 ? kRecordVersion : kRecordVersion1);
  h[9] = static_cast<char>(rec.kind);
  std::memcpy(h + 10, &rec.flags, 2);
  std::memset(h + 12, 0, 4);
  std::memcpy(h + 16, &rec.lsn.value, 8);
  std::memcpy(h + 24, &rec.time_ns, 8);
  const uint32_t head_crc = crc32c::Value(h + 4, out->size() - start - 4);
  const uint32_t crc =
      crc32c::Mask(not_copied ? crc32c::Combine(head_crc, data_crc, not_copied) : head_crc);
  std::memcpy(h, &crc, 4);
  return data_offset;
}

}  // namespace

size_t EncodeRecord(const Record& rec, std::string* out) { return Encode(rec, out, true, 0); }

void EncodeWriteHead(const Record& rec, uint32_t data_crc, std::string* out) {
  (void)Encode(rec, out, false, data_crc);
}

uint64_t WriteLength(const Record& rec) {
  return (rec.flags & kRecordCompressed) ? CompressedRawLength(rec.data) : rec.data.size();
}

Result<RecordHeader> DecodeHeader(std::string_view bytes) {
  if (bytes.size() < kRecordHeaderSize) return Status::Corruption("short record header");
  RecordHeader h;
  const char* p = bytes.data();
  std::memcpy(&h.masked_crc, p, 4);
  std::memcpy(&h.payload_len, p + 4, 4);
  h.version = static_cast<uint8_t>(p[8]);
  const uint8_t kind = static_cast<uint8_t>(p[9]);
  std::memcpy(&h.flags, p + 10, 2);
  std::memcpy(&h.lsn.value, p + 16, 8);
  std::memcpy(&h.time_ns, p + 24, 8);
  if (h.version != kRecordVersion1 && h.version != kRecordVersion) {
    return Status::Corruption("record format version " + std::to_string(h.version) +
                              " is not 1 or " + std::to_string(kRecordVersion));
  }
  if (!ValidKind(kind)) return Status::Corruption("unknown record kind " + std::to_string(kind));
  // Version 1 has no flags; version 2 exists only for them (so each record has one encoding).
  const bool flags_ok = h.version == kRecordVersion1
                            ? h.flags == 0
                            : h.flags == kRecordCompressed && kind == uint8_t(RecordKind::kWrite);
  if (!flags_ok) {
    return Status::Corruption("record flags " + std::to_string(h.flags) + " not valid for version " +
                              std::to_string(h.version) + " kind " + std::to_string(kind));
  }
  if (h.payload_len > kMaxPayload) return Status::Corruption("record length out of range");
  h.kind = static_cast<RecordKind>(kind);
  return h;
}

Result<Record> DecodeRecord(std::string_view bytes) {
  ASSIGN_OR_RETURN(RecordHeader h, DecodeHeader(bytes));
  if (bytes.size() != kRecordHeaderSize + h.payload_len) {
    return Status::Corruption("record length does not match its frame");
  }
  const uint32_t actual = crc32c::Value(bytes.data() + 4, bytes.size() - 4);
  if (crc32c::Unmask(h.masked_crc) != actual) return Status::Corruption("record checksum mismatch");

  Record r;
  r.kind = h.kind;
  r.flags = h.flags;
  r.lsn = h.lsn;
  r.time_ns = h.time_ns;
  Reader in(bytes.substr(kRecordHeaderSize));
  bool ok = true;
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  std::string_view sv;
  switch (h.kind) {
    case RecordKind::kWrite:
      ok = in.U64(&r.tl.value) && in.U64(&r.ino.value) && in.U64(&r.offset);
      r.data = in.Rest();
      if (ok && (r.flags & kRecordCompressed)) {
        ok = ForEachChunk(r.offset, r.data, [](const WriteChunk&) {});
      }
      break;
    case RecordKind::kCreate:
      ok = in.U64(&r.tl.value) && in.U64(&r.parent.value) && in.U64(&r.ino.value) &&
           in.U8(&u8) && ValidType(u8) && in.U32(&r.mode) && in.U32(&r.uid) && in.U32(&r.gid) &&
           in.U32(&r.rdev);
      r.type = static_cast<NodeType>(u8);
      r.name = std::string(in.Rest());
      break;
    case RecordKind::kRemove:
      ok = in.U64(&r.tl.value) && in.U64(&r.parent.value) && in.U8(&u8);
      r.flag = u8 != 0;
      r.name = std::string(in.Rest());
      break;
    case RecordKind::kRename:
      ok = in.U64(&r.tl.value) && in.U64(&r.parent.value) && in.U64(&r.parent2.value) &&
           in.U8(&u8) && in.U16(&u16) && in.Bytes(u16, &sv);
      r.flag = u8 != 0;
      r.name = std::string(sv);
      r.name2 = std::string(in.Rest());
      break;
    case RecordKind::kSetAttr:
      ok = in.U64(&r.tl.value) && in.U64(&r.ino.value) && in.U32(&r.mask) && in.U32(&r.mode) &&
           in.U32(&r.uid) && in.U32(&r.gid) && in.U64(&r.size) && in.I64(&r.atime_ns) &&
           in.I64(&r.mtime_ns) && in.AtEnd();
      break;
    case RecordKind::kBranch:
      ok = in.U64(&r.tl.value) && in.U64(&r.ancestor.value) && in.U64(&r.ancestor_lsn.value) &&
           in.AtEnd();
      break;
    case RecordKind::kCreateVolume:
      ok = in.U64(&r.volume.value) && in.U64(&r.tl.value);
      r.name = std::string(in.Rest());
      break;
    case RecordKind::kRewind:
      ok = in.U64(&r.volume.value) && in.U64(&r.tl.value) && in.U64(&r.ancestor.value) &&
           in.U64(&r.ancestor_lsn.value) && in.AtEnd();
      break;
    case RecordKind::kClone:
      ok = in.U64(&r.volume.value) && in.U64(&r.tl.value) && in.U64(&r.ancestor.value) &&
           in.U64(&r.ancestor_lsn.value);
      r.name = std::string(in.Rest());
      break;
    case RecordKind::kDeleteVolume:
      ok = in.U64(&r.volume.value) && in.AtEnd();
      break;
    case RecordKind::kRetain:
      ok = in.U64(&r.volume.value) && in.I64(&r.retain_from_ns) && in.AtEnd();
      break;
    case RecordKind::kPin:
      ok = in.U64(&r.pin.value) && in.U64(&r.volume.value) && in.U64(&r.tl.value) &&
           in.U64(&r.ancestor_lsn.value) && in.I64(&r.retain_from_ns);
      r.name = std::string(in.Rest());
      break;
    case RecordKind::kUnpin:
      ok = in.U64(&r.pin.value) && in.AtEnd();
      break;
    case RecordKind::kCloneForeign:
      ok = in.U64(&r.volume.value) && in.U64(&r.tl.value) && in.U64(&r.ancestor.value) &&
           in.U64(&r.ancestor_lsn.value) && in.U64(&r.offset) && in.U64(&r.size) &&
           in.U8(&u8) && u8 > 0 && in.Bytes(u8, &sv);
      r.name2 = std::string(sv);
      r.name = std::string(in.Rest());
      break;
  }
  if (!ok) return Status::Corruption("malformed payload for record kind " +
                                     std::to_string(static_cast<int>(h.kind)));
  return r;
}

}  // namespace rwd::store
