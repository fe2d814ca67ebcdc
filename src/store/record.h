// The log record: the unit of the store's append-only log. Byte layout in docs/format/log.md.
//
// Every record is framed by a fixed 32-byte header:
//   u32 masked crc32c of bytes [4, 32 + payload_len)   (header rest + payload)
//   u32 payload_len
//   u8  format version: 1 (flags 0) or 2 (flags set; kRecordVersion)
//   u8  kind (RecordKind)
//   u16 flags (kRecordCompressed, on kWrite only)
//   u32 reserved (0)
//   u64 lsn
//   i64 time_ns
// followed by the kind's payload (little-endian fixed fields, then variable bytes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/types.h"

namespace rwd::store {

// Version 1: flags are 0 (every record before compression existed, and every record written
// without flags still, so such logs stay readable by older binaries). Version 2: flags say how
// the payload is encoded; older binaries refuse it rather than misread it.
inline constexpr uint8_t kRecordVersion1 = 1;
inline constexpr uint8_t kRecordVersion = 2;
// Header flag: a kWrite record's data is a compressed body (store/compress.h).
inline constexpr uint16_t kRecordCompressed = 1;
inline constexpr size_t kRecordHeaderSize = 32;
// Largest payload accepted on decode: bounds the damage a corrupt length can do.
inline constexpr uint32_t kMaxPayload = 64u << 20;

enum class RecordKind : uint8_t {
  kWrite = 1,         // tl, ino, offset, data
  kCreate = 2,        // tl, parent, ino, type, mode, uid, gid, rdev, name
  kRemove = 3,        // tl, parent, is_dir, name (unlink or rmdir)
  kRename = 4,        // tl, old_parent, new_parent, no_replace, old_name, new_name
  kSetAttr = 5,       // tl, ino, mask, mode, uid, gid, size, atime, mtime
  kBranch = 6,        // new tl, ancestor, ancestor_lsn
  kCreateVolume = 7,  // volume, tl (new root timeline), name
  kRewind = 8,        // volume, new tl, ancestor, ancestor_lsn
  kClone = 9,         // new volume, new tl, ancestor, ancestor_lsn, name
  kDeleteVolume = 10, // volume
  kRetain = 11,       // volume, retain_from_ns: the volume's states before it may be reclaimed
  kPin = 12,          // pin, volume, tl, ancestor_lsn (the pinned point), retain_from_ns (the
                      // moment pinned), name
  kUnpin = 13,        // pin
  kCloneForeign = 14, // new volume, new tl, foreign tl (ancestor), foreign lsn (ancestor_lsn),
                      // view lsn (offset), inode floor (size), store id (name2), name
};
inline constexpr uint8_t kLastRecordKind = 14;

// SetAttr mask bits.
enum : uint32_t {
  kSetSize = 1,
  kSetMode = 2,
  kSetUid = 4,
  kSetGid = 8,
  kSetAtime = 16,
  kSetMtime = 32,
};

// A decoded record. Only the fields of its kind are meaningful. `data` points into the buffer
// the record was decoded from (valid while that buffer is).
struct Record {
  RecordKind kind = RecordKind::kWrite;
  // kRecordCompressed (kWrite only): `data` is a compressed body (store/compress.h), not the
  // written bytes. Encode writes version 2 when any flag is set, else version 1.
  uint16_t flags = 0;
  Lsn lsn;
  int64_t time_ns = 0;
  TimelineId tl;
  InodeId ino;       // kWrite, kCreate (new inode), kSetAttr
  InodeId parent;    // kCreate, kRemove, kRename (old parent)
  InodeId parent2;   // kRename (new parent)
  uint64_t offset = 0;
  std::string_view data;
  NodeType type = NodeType::kFile;
  uint32_t mode = 0, uid = 0, gid = 0, rdev = 0;
  uint32_t mask = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0, mtime_ns = 0;
  bool flag = false;  // kRemove: is_dir; kRename: no_replace
  std::string name;   // kCreate, kRemove, kRename (old), volume name
  std::string name2;  // kRename (new)
  TimelineId ancestor;
  Lsn ancestor_lsn;
  VolumeId volume;
  int64_t retain_from_ns = 0;  // kRetain; kPin: the moment pinned
  PinId pin;                   // kPin, kUnpin
};

// Appends the record's framed bytes to `out`. Returns the offset, within the appended bytes, at
// which a kWrite record's data starts (0 for other kinds).
size_t EncodeRecord(const Record& rec, std::string* out);

// Bytes of the file a kWrite record covers (its data's size, or a compressed body's raw length).
uint64_t WriteLength(const Record& rec);

// Offset of a kWrite record's data (or compressed body) from the start of its header.
inline constexpr size_t kWriteDataOffset = kRecordHeaderSize + 24;

// For a kWrite record: appends its first kWriteDataOffset bytes to `out` (header and fixed
// fields); those bytes followed by rec.data are exactly what EncodeRecord appends.
// `data_crc` must be crc32c::Value(rec.data): computed by the caller, so that the writer can
// checksum the data before taking the append lock and write it without a copy.
void EncodeWriteHead(const Record& rec, uint32_t data_crc, std::string* out);

// Parses the fixed header at `p` (kRecordHeaderSize bytes). Corruption on a bad version, kind,
// flags (version 1: any; version 2: none, or one not valid for the kind) or length; the checksum is checked by DecodeRecord, which needs the payload.
struct RecordHeader {
  uint32_t masked_crc = 0;
  uint32_t payload_len = 0;
  uint8_t version = 0;
  RecordKind kind = RecordKind::kWrite;
  uint16_t flags = 0;
  Lsn lsn;
  int64_t time_ns = 0;
};
Result<RecordHeader> DecodeHeader(std::string_view bytes);

// Decodes a whole record (header + payload) from `bytes`, checking the checksum and that the
// payload is well-formed for its kind (a compressed body's structure too; not its zstd frames,
// which the checksum covers). `bytes` must be exactly the record.
Result<Record> DecodeRecord(std::string_view bytes);

}  // namespace rwd::store
