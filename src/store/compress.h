// Compressed Write data: the body of a Write record whose header has kRecordCompressed set.
// Byte layout in docs/format/log.md ("Compressed writes").
//
// The written bytes are cut at the file's 16 KiB page boundaries (the index's pages, so one
// index extent is always exactly one chunk) and each chunk is stored either as a zstd frame or
// raw, whichever the compressor decided. A read of one page therefore decompresses at most one
// chunk of at most 16 KiB, however large the write was.
//
//   u32 raw length (bytes written, >= 1)
//   u16 stored length per chunk   (== the chunk's raw length: raw bytes; less: a zstd frame)
//   the chunks' stored bytes, in file order
//
// Thread safety: every function may be called concurrently (per-thread zstd contexts).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rwd::store {

// The chunk grid: the index's page size (store_impl.h checks they agree).
inline constexpr uint64_t kChunkBytes = 16384;

struct WriteChunk {
  uint64_t file_off = 0;    // where its bytes go in the file
  uint32_t raw_len = 0;     // bytes of file data it holds (1..kChunkBytes)
  uint32_t stored_off = 0;  // where its stored bytes start, from the start of the body
  uint32_t stored_len = 0;  // bytes stored: raw_len (raw) or less (a zstd frame)
  bool compressed() const { return stored_len < raw_len; }
};

// Number of chunks of a write of raw_len >= 1 bytes at `offset`.
inline uint64_t ChunkCount(uint64_t offset, uint64_t raw_len) {
  return (offset + raw_len - 1) / kChunkBytes - offset / kChunkBytes + 1;
}

// The raw length a body declares (0 if it is too short to declare one).
inline uint32_t CompressedRawLength(std::string_view body) {
  uint32_t n = 0;
  if (body.size() >= 4) std::memcpy(&n, body.data(), 4);
  return n;
}

// Calls f(const WriteChunk&) for each chunk of a compressed body written at `offset`, in file
// order, after checking the whole body's structure (not the frames' contents: the record CRC
// guards those). Returns false, without calling f, if the body is malformed.
template <typename F>
bool ForEachChunk(uint64_t offset, std::string_view body, F&& f) {
  const uint64_t raw = CompressedRawLength(body);
  if (body.size() < 4 || raw == 0 || offset + raw < offset) return false;
  const uint64_t n = ChunkCount(offset, raw);
  if (body.size() < 4 + 2 * n) return false;
  const char* table = body.data() + 4;
  uint64_t pos = 4 + 2 * n;
  uint64_t file_off = offset;
  const uint64_t end = offset + raw;
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t stored = 0;
    std::memcpy(&stored, table + 2 * i, 2);
    const uint64_t chunk_end = std::min(end, (file_off / kChunkBytes + 1) * kChunkBytes);
    if (stored == 0 || stored > chunk_end - file_off) return false;
    pos += stored;
    file_off = chunk_end;
  }
  if (pos != body.size()) return false;
  pos = 4 + 2 * n;
  file_off = offset;
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t stored = 0;
    std::memcpy(&stored, table + 2 * i, 2);
    const uint64_t chunk_end = std::min(end, (file_off / kChunkBytes + 1) * kChunkBytes);
    f(WriteChunk{file_off, static_cast<uint32_t>(chunk_end - file_off),
                 static_cast<uint32_t>(pos), stored});
    pos += stored;
    file_off = chunk_end;
  }
  return true;
}

// Encodes `data` (written at `offset`) as a compressed body into *body (replacing its
// contents), compressing each chunk with zstd at `level` and keeping a chunk's frame only if it
// is at most 7/8 of the chunk (else the chunk is stored raw). Returns true if the whole body is
// at most 7/8 of data.size(): the caller should then store the body; false: store data raw
// (*body is then unspecified). Writes shorter than kMinCompressBytes are never compressed.
inline constexpr size_t kMinCompressBytes = 128;
bool CompressWrite(uint64_t offset, std::string_view data, int level, std::string* body);

// Decompresses one chunk's zstd frame into out[0, raw_len). Corruption unless the frame
// decodes to exactly raw_len bytes.
Status DecompressChunk(std::string_view frame, char* out, size_t raw_len);

}  // namespace rwd::store
