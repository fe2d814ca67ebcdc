#include "store/compress.h"

#include <zstd.h>

#include <memory>

namespace rwd::store {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread: creating one costs more than compressing a page, and a context is
// not thread-safe. Each holds a few hundred KiB at the fast levels, freed at thread exit.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

}  // namespace

bool CompressWrite(uint64_t offset, std::string_view data, int level, std::string* body) {
  if (data.size() < kMinCompressBytes || data.size() > UINT32_MAX) return false;
  ZSTD_CCtx* ctx = ThreadCCtx();
  if (ctx == nullptr) return false;
  const uint64_t n = ChunkCount(offset, data.size());
  const size_t limit = data.size() / 8 * 7;
  // Worst case kept: the header, the table, and every chunk raw; frames are written in place
  // and only kept when they fit in 7/8 of their chunk.
  body->resize(4 + 2 * n + data.size());
  const uint32_t raw = static_cast<uint32_t>(data.size());
  std::memcpy(body->data(), &raw, 4);
  size_t pos = 4 + 2 * n;
  uint64_t file_off = offset;
  size_t in = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t chunk_end =
        std::min<uint64_t>(offset + data.size(), (file_off / kChunkBytes + 1) * kChunkBytes);
    const size_t len = static_cast<size_t>(chunk_end - file_off);
    // A frame must be smaller than the chunk (that is how a reader tells them apart) and pay.
    const size_t cap = len / 8 * 7;
    size_t stored = len;
    if (cap > 0) {
      const size_t z = ZSTD_compressCCtx(ctx, body->data() + pos, cap, data.data() + in, len,
                                         level);
      if (!ZSTD_isError(z) && z > 0 && z <= cap) stored = z;  // else: too small a buffer
    }
    if (stored == len) std::memcpy(body->data() + pos, data.data() + in, len);
    const uint16_t s16 = static_cast<uint16_t>(stored);
    std::memcpy(body->data() + 4 + 2 * i, &s16, 2);
    pos += stored;
    in += len;
    file_off = chunk_end;
    if (pos > limit) return false;  // it cannot pay any more: spend no CPU on the rest
  }
  body->resize(pos);
  return pos <= limit;
}

Status DecompressChunk(std::string_view frame, char* out, size_t raw_len) {
  ZSTD_DCtx* ctx = ThreadDCtx();
  if (ctx == nullptr) return Status::IOError("out of memory for a zstd context");
  const size_t n = ZSTD_decompressDCtx(ctx, out, raw_len, frame.data(), frame.size());
  if (ZSTD_isError(n)) {
    return Status::Corruption(std::string("compressed page version does not decode: ") +
                              ZSTD_getErrorName(n));
  }
  if (n != raw_len) return Status::Corruption("compressed page version has the wrong length");
  return Status::Ok();
}

}  // namespace rwd::store
