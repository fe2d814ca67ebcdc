// libFuzzer target for the log record codec (record.h). Built with REWIND_FUZZ (clang only).
//
// The first input byte picks a mode; the rest is the data.
//   mode 0: the bytes are a record as read from disk. DecodeHeader and DecodeRecord must not
//           crash; whatever DecodeRecord accepts re-encodes to a record of the same length that
//           decodes to the same fields (decode . encode . decode == decode).
//   mode 1: as mode 0, but the checksum is first recomputed over the bytes, so that the fuzzer
//           gets past the CRC and reaches the payload parsers of every kind.
//           A compressed Write (flag kRecordCompressed) must also have every chunk either
//           decompress to exactly its length or fail as Corruption.
//   mode 2: a Record is built from the bytes (a Write possibly compressed: its data is then
//           compressed by CompressWrite and must decompress back to the input, or, where that
//           does not pay, stored as an all-raw body); encode then decode must give back every
//           field of its kind exactly. Then any change confined to one byte of the encoding, and any
//           truncation or extension, must be rejected as Corruption (a CRC-32C catches every
//           burst of up to 32 bits).
// Failures are Status values: a C++ exception escaping the codec is a finding too.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "common/crc32c.h"
#include "store/compress.h"
#include "store/record.h"

namespace rwd::store {
namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "record_fuzz: property violated: %s %s\n", what, detail.c_str());
  std::abort();
}

void Check(bool cond, const char* what, const std::string& detail = {}) {
  if (!cond) Fail(what, detail);
}

// The fields that are meaningful for the record's kind are equal (record.h lists them).
bool SameFields(const Record& a, const Record& b) {
  if (a.kind != b.kind || a.flags != b.flags || a.lsn != b.lsn || a.time_ns != b.time_ns) {
    return false;
  }
  switch (a.kind) {
    case RecordKind::kWrite:
      return a.tl == b.tl && a.ino == b.ino && a.offset == b.offset && a.data == b.data;
    case RecordKind::kCreate:
      return a.tl == b.tl && a.parent == b.parent && a.ino == b.ino && a.type == b.type &&
             a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.rdev == b.rdev &&
             a.name == b.name;
    case RecordKind::kRemove:
      return a.tl == b.tl && a.parent == b.parent && a.flag == b.flag && a.name == b.name;
    case RecordKind::kRename:
      return a.tl == b.tl && a.parent == b.parent && a.parent2 == b.parent2 && a.flag == b.flag &&
             a.name == b.name && a.name2 == b.name2;
    case RecordKind::kSetAttr:
      return a.tl == b.tl && a.ino == b.ino && a.mask == b.mask && a.mode == b.mode &&
             a.uid == b.uid && a.gid == b.gid && a.size == b.size && a.atime_ns == b.atime_ns &&
             a.mtime_ns == b.mtime_ns;
    case RecordKind::kBranch:
      return a.tl == b.tl && a.ancestor == b.ancestor && a.ancestor_lsn == b.ancestor_lsn;
    case RecordKind::kCreateVolume:
      return a.volume == b.volume && a.tl == b.tl && a.name == b.name;
    case RecordKind::kRewind:
      return a.volume == b.volume && a.tl == b.tl && a.ancestor == b.ancestor &&
             a.ancestor_lsn == b.ancestor_lsn;
    case RecordKind::kClone:
      return a.volume == b.volume && a.tl == b.tl && a.ancestor == b.ancestor &&
             a.ancestor_lsn == b.ancestor_lsn && a.name == b.name;
    case RecordKind::kDeleteVolume:
      return a.volume == b.volume;
    case RecordKind::kRetain:
      return a.volume == b.volume && a.retain_from_ns == b.retain_from_ns;
    case RecordKind::kPin:
      return a.pin == b.pin && a.volume == b.volume && a.tl == b.tl &&
             a.ancestor_lsn == b.ancestor_lsn && a.retain_from_ns == b.retain_from_ns &&
             a.name == b.name;
    case RecordKind::kUnpin:
      return a.pin == b.pin;
    case RecordKind::kCloneForeign:
      return a.volume == b.volume && a.tl == b.tl && a.ancestor == b.ancestor &&
             a.ancestor_lsn == b.ancestor_lsn && a.offset == b.offset && a.size == b.size &&
             a.name2 == b.name2 && a.name == b.name;
  }
  return false;
}

void CheckCorruption(const Result<Record>& r, const char* what, size_t where) {
  Check(!r.ok(), what, "at byte " + std::to_string(where));
  Check(r.status().code() == Status::Code::kCorruption, what,
        "wrong code: " + r.status().ToString());
}

// Modes 0 and 1: arbitrary bytes.
void DecodeArbitrary(std::string bytes, bool fix_crc) {
  if (fix_crc && bytes.size() >= 4) {
    const uint32_t crc = crc32c::Mask(crc32c::Value(bytes.data() + 4, bytes.size() - 4));
    std::memcpy(bytes.data(), &crc, 4);
  }
  Result<RecordHeader> h = DecodeHeader(bytes);
  if (h.ok()) {
    Check(h->version == kRecordVersion1 || h->version == kRecordVersion,
          "DecodeHeader accepted a bad version");
    Check(h->version == kRecordVersion1 ? h->flags == 0
                                        : h->flags == kRecordCompressed &&
                                              h->kind == RecordKind::kWrite,
          "DecodeHeader accepted bad flags");
    Check(h->payload_len <= kMaxPayload, "DecodeHeader accepted a huge length");
    const auto kind = static_cast<uint8_t>(h->kind);
    Check(kind >= 1 && kind <= kLastRecordKind, "DecodeHeader accepted an unknown kind");
  } else {
    Check(h.status().code() == Status::Code::kCorruption, "DecodeHeader: wrong error code");
  }

  Result<Record> r = DecodeRecord(bytes);
  if (!r.ok()) {
    Check(r.status().code() == Status::Code::kCorruption, "DecodeRecord: wrong error code",
          r.status().ToString());
    return;
  }
  Check(h.ok(), "DecodeRecord accepted what DecodeHeader refused");
  Check(r->kind == h->kind && r->lsn == h->lsn && r->time_ns == h->time_ns,
        "DecodeRecord and DecodeHeader disagree");
  Check(bytes.size() == kRecordHeaderSize + h->payload_len, "frame length not enforced");
  if (r->kind == RecordKind::kWrite) {
    // data is a view into the input, at the documented offset.
    Check(r->data.data() == bytes.data() + kWriteDataOffset &&
              r->data.size() == bytes.size() - kWriteDataOffset,
          "write data not at kWriteDataOffset");
  }
  if (r->kind == RecordKind::kWrite && (r->flags & kRecordCompressed)) {
    // Frames are only structure-checked at decode: decompressing arbitrary ones must fail
    // cleanly or give exactly the chunk's length.
    uint64_t covered = 0;
    std::string out;
    const bool ok = ForEachChunk(r->offset, r->data, [&](const WriteChunk& c) {
      covered += c.raw_len;
      if (!c.compressed()) return;
      out.resize(c.raw_len);
      Status st = DecompressChunk(r->data.substr(c.stored_off, c.stored_len), out.data(),
                                  c.raw_len);
      Check(st.ok() || st.code() == Status::Code::kCorruption, "DecompressChunk: wrong code");
    });
    Check(ok, "DecodeRecord accepted a malformed compressed body");
    Check(covered == WriteLength(*r), "chunks do not cover the write");
  }

  std::string again;
  const size_t data_off = EncodeRecord(*r, &again);
  Check(data_off == (r->kind == RecordKind::kWrite ? kWriteDataOffset : 0), "data offset");
  // Same length: nothing was dropped or invented. (Bytes may differ where the input was not
  // canonical: the unchecked flags/reserved header bytes, a boolean byte other than 0/1.)
  Check(again.size() == bytes.size(), "re-encoding changed the length",
        std::to_string(bytes.size()) + " -> " + std::to_string(again.size()));
  Result<Record> r2 = DecodeRecord(again);
  Check(r2.ok(), "re-encoded record does not decode", r2.ok() ? "" : r2.status().ToString());
  Check(SameFields(*r, *r2), "decode(encode(decode(x))) != decode(x)");
  std::string third;
  EncodeRecord(*r2, &third);
  Check(third == again, "encoding is not canonical (encode . decode . encode != encode)");
}

// Mode 2: a structured record.
void RoundTrip(FuzzedDataProvider& in) {
  Record rec;
  rec.kind = static_cast<RecordKind>(in.ConsumeIntegralInRange<uint8_t>(1, kLastRecordKind));
  rec.lsn = Lsn(in.ConsumeIntegral<uint64_t>());
  rec.time_ns = in.ConsumeIntegral<int64_t>();
  rec.tl = TimelineId(in.ConsumeIntegral<uint64_t>());
  rec.volume = VolumeId(in.ConsumeIntegral<uint64_t>());
  rec.ino = InodeId(in.ConsumeIntegral<uint64_t>());
  rec.parent = InodeId(in.ConsumeIntegral<uint64_t>());
  rec.parent2 = InodeId(in.ConsumeIntegral<uint64_t>());
  rec.offset = in.ConsumeIntegral<uint64_t>();
  rec.type = static_cast<NodeType>(in.ConsumeIntegralInRange<uint8_t>(1, 7));
  rec.mode = in.ConsumeIntegral<uint32_t>();
  rec.uid = in.ConsumeIntegral<uint32_t>();
  rec.gid = in.ConsumeIntegral<uint32_t>();
  rec.rdev = in.ConsumeIntegral<uint32_t>();
  rec.mask = in.ConsumeIntegral<uint32_t>();
  rec.size = in.ConsumeIntegral<uint64_t>();
  rec.atime_ns = in.ConsumeIntegral<int64_t>();
  rec.mtime_ns = in.ConsumeIntegral<int64_t>();
  rec.retain_from_ns = in.ConsumeIntegral<int64_t>();
  rec.ancestor = TimelineId(in.ConsumeIntegral<uint64_t>());
  rec.ancestor_lsn = Lsn(in.ConsumeIntegral<uint64_t>());
  rec.flag = in.ConsumeBool();
  rec.pin = PinId(in.ConsumeIntegral<uint64_t>());
  const size_t damage_at = in.ConsumeIntegral<uint16_t>();
  const auto damage_xor = static_cast<char>(in.ConsumeIntegralInRange<uint8_t>(1, 255));
  // Names: the store caps file names at 255 bytes (store_write.cc) and volume names at 1024
  // (store_volumes.cc, store_pins.cc); a kRename's old name has a u16 length on disk.
  rec.name = in.ConsumeRandomLengthString(1024);
  rec.name2 = in.ConsumeRandomLengthString(1024);
  if (rec.kind == RecordKind::kCloneForeign) {
    rec.name2 = rec.name2.substr(0, 255);  // a store id: 1..255 bytes with a u8 length
    if (rec.name2.empty()) rec.name2 = "s";
  }
  const bool compress = rec.kind == RecordKind::kWrite && in.ConsumeBool();
  const int level = in.ConsumeIntegralInRange<int>(-5, 3);
  const std::string data = in.ConsumeRemainingBytesAsString();
  rec.data = data;
  std::string body;
  if (compress && !data.empty()) {
    rec.offset %= 1ull << 62;  // the store's largest file size
    rec.flags = kRecordCompressed;
    if (CompressWrite(rec.offset, data, level, &body)) {
      Check(body.size() <= data.size() / 8 * 7, "CompressWrite kept a body that does not pay");
      std::string back;
      Check(ForEachChunk(rec.offset, body,
                         [&](const WriteChunk& c) {
                           std::string chunk(c.raw_len, '\0');
                           std::string_view stored(body.data() + c.stored_off, c.stored_len);
                           if (c.compressed()) {
                             Check(DecompressChunk(stored, chunk.data(), c.raw_len).ok(),
                                   "a frame CompressWrite made does not decompress");
                           } else {
                             chunk.assign(stored);
                           }
                           back += chunk;
                         }),
            "CompressWrite made a malformed body");
      Check(back == data, "decompress(compress(x)) != x");
    } else {
      // Every chunk raw: a valid body too.
      const uint64_t n = ChunkCount(rec.offset, data.size());
      const uint32_t raw = static_cast<uint32_t>(data.size());
      body.assign(reinterpret_cast<const char*>(&raw), 4);
      uint64_t off = rec.offset;
      for (uint64_t i = 0; i < n; ++i) {
        const uint64_t end = std::min<uint64_t>(rec.offset + raw, (off / kChunkBytes + 1) * kChunkBytes);
        const uint16_t len = static_cast<uint16_t>(end - off);
        body.append(reinterpret_cast<const char*>(&len), 2);
        off = end;
      }
      body += data;
    }
    rec.data = body;
  }

  std::string buf = "prefix";  // EncodeRecord appends: the offset it returns is relative
  const size_t data_off = EncodeRecord(rec, &buf);
  std::string_view enc = std::string_view(buf).substr(6);
  Check(buf.substr(0, 6) == "prefix", "EncodeRecord overwrote what was in the buffer");
  if (rec.kind == RecordKind::kWrite) {
    Check(data_off == kWriteDataOffset && enc.substr(data_off) == rec.data, "write data offset");
  }
  Result<Record> back = DecodeRecord(enc);
  Check(back.ok(), "encoded record does not decode", back.ok() ? "" : back.status().ToString());
  Check(SameFields(rec, *back), "decode(encode(x)) != x",
        "kind " + std::to_string(static_cast<int>(rec.kind)));

  // One damaged byte (any change confined to 8 bits) is always caught.
  std::string bad(enc);
  const size_t at = damage_at % bad.size();
  bad[at] = static_cast<char>(bad[at] ^ damage_xor);
  CheckCorruption(DecodeRecord(bad), "a damaged byte went unnoticed", at);
  // A torn tail, or bytes of the next record glued on, are caught.
  const size_t cut = damage_at % enc.size();
  CheckCorruption(DecodeRecord(enc.substr(0, cut)), "a truncated record decoded", cut);
  std::string longer(enc);
  longer.push_back(damage_xor);
  CheckCorruption(DecodeRecord(longer), "a record with a trailing byte decoded", enc.size());
}

}  // namespace
}  // namespace rwd::store

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  try {
    const uint8_t mode = data[0] % 3;
    if (mode == 2) {
      FuzzedDataProvider in(data + 1, size - 1);
      rwd::store::RoundTrip(in);
    } else {
      rwd::store::DecodeArbitrary(std::string(reinterpret_cast<const char*>(data + 1), size - 1),
                                  mode == 1);
    }
  } catch (const std::exception& e) {
    rwd::store::Fail("exception escaped the record codec:", e.what());
  }
  return 0;
}
