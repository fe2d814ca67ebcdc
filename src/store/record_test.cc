#include "store/record.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "common/crc32c.h"
#include "common/test_util.h"
#include "store/compress.h"

namespace rwd::store {
namespace {

Record SampleRename() {
  Record r;
  r.kind = RecordKind::kRename;
  r.lsn = Lsn(42);
  r.time_ns = 1234567;
  r.tl = TimelineId(3);
  r.parent = InodeId(1);
  r.parent2 = InodeId(9);
  r.flag = true;
  r.name = "old.frm";
  r.name2 = "new.frm";
  return r;
}

TEST(Record, RoundTripsEveryKind) {
  std::string buf;
  Record w;
  w.kind = RecordKind::kWrite;
  w.lsn = Lsn(7);
  w.time_ns = 99;
  w.tl = TimelineId(2);
  w.ino = InodeId(5);
  w.offset = 12345;
  w.data = "payload bytes";
  size_t data_off = EncodeRecord(w, &buf);
  EXPECT_EQ(kWriteDataOffset, data_off);
  EXPECT_EQ("payload bytes", buf.substr(data_off));
  auto back = DecodeRecord(buf);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(RecordKind::kWrite, back->kind);
  EXPECT_EQ(Lsn(7), back->lsn);
  EXPECT_EQ(99, back->time_ns);
  EXPECT_EQ(InodeId(5), back->ino);
  EXPECT_EQ(12345u, back->offset);
  EXPECT_EQ("payload bytes", back->data);

  buf.clear();
  EncodeRecord(SampleRename(), &buf);
  auto rn = DecodeRecord(buf);
  ASSERT_TRUE(rn.ok());
  EXPECT_EQ("old.frm", rn->name);
  EXPECT_EQ("new.frm", rn->name2);
  EXPECT_EQ(InodeId(9), rn->parent2);
  EXPECT_TRUE(rn->flag);

  Record c;
  c.kind = RecordKind::kClone;
  c.volume = VolumeId(4);
  c.tl = TimelineId(8);
  c.ancestor = TimelineId(2);
  c.ancestor_lsn = Lsn(77);
  c.name = "mylab-clone";
  buf.clear();
  EncodeRecord(c, &buf);
  auto cb = DecodeRecord(buf);
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ("mylab-clone", cb->name);
  EXPECT_EQ(Lsn(77), cb->ancestor_lsn);

  Record p;
  p.kind = RecordKind::kPin;
  p.pin = PinId(3);
  p.volume = VolumeId(4);
  p.tl = TimelineId(8);
  p.ancestor_lsn = Lsn(78);
  p.retain_from_ns = -5;
  p.name = "snap-1";
  buf.clear();
  EncodeRecord(p, &buf);
  auto pb = DecodeRecord(buf);
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(PinId(3), pb->pin);
  EXPECT_EQ(VolumeId(4), pb->volume);
  EXPECT_EQ(TimelineId(8), pb->tl);
  EXPECT_EQ(Lsn(78), pb->ancestor_lsn);
  EXPECT_EQ(-5, pb->retain_from_ns);
  EXPECT_EQ("snap-1", pb->name);

  Record u;
  u.kind = RecordKind::kUnpin;
  u.pin = PinId(3);
  buf.clear();
  EncodeRecord(u, &buf);
  auto ub = DecodeRecord(buf);
  ASSERT_TRUE(ub.ok());
  EXPECT_EQ(PinId(3), ub->pin);
}

TEST(Record, WriteHeadPlusDataEqualsWholeRecord) {
  // The store writes a Write record as EncodeWriteHead's bytes followed by the caller's data.
  for (size_t size : {size_t{0}, size_t{1}, size_t{511}, size_t{16384}, size_t{3 * 4096 * 2 + 5}}) {
    std::string data(size, '\0');
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 131 + size);
    Record w;
    w.kind = RecordKind::kWrite;
    w.lsn = Lsn(77);
    w.time_ns = 5;
    w.tl = TimelineId(4);
    w.ino = InodeId(9);
    w.offset = 4096;
    w.data = data;
    std::string whole, head;
    EncodeRecord(w, &whole);
    EncodeWriteHead(w, crc32c::Value(data.data(), data.size()), &head);
    ASSERT_EQ(kWriteDataOffset, head.size());
    EXPECT_EQ(whole, head + data) << "data size " << size;
    auto decoded = DecodeRecord(whole);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  }
}

TEST(Record, EveryFlippedByteIsDetected) {
  std::string buf;
  EncodeRecord(SampleRename(), &buf);
  for (size_t i = 0; i < buf.size(); ++i) {
    std::string bad = buf;
    bad[i] ^= 0x20;
    EXPECT_FALSE(DecodeRecord(bad).ok()) << "flip at byte " << i << " went unnoticed";
  }
}

TEST(Record, TruncationIsDetected) {
  std::string buf;
  EncodeRecord(SampleRename(), &buf);
  for (size_t n = 0; n < buf.size(); ++n) {
    EXPECT_FALSE(DecodeRecord(std::string_view(buf).substr(0, n)).ok()) << n;
  }
}

TEST(Record, RejectsUnknownVersion) {
  std::string buf;
  EncodeRecord(SampleRename(), &buf);
  buf[8] = 3;
  auto h = DecodeHeader(buf);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(std::string::npos, h.status().message().find("version"));
}

// Rewrites the header's CRC after a test changed bytes on purpose.
void FixCrc(std::string* buf) {
  const uint32_t crc = crc32c::Mask(crc32c::Value(buf->data() + 4, buf->size() - 4));
  std::memcpy(buf->data(), &crc, 4);
}

std::string Digits(std::mt19937_64& rng, size_t n) {
  std::string s(n, '-');
  for (size_t i = 0; i < n; ++i) {
    if (i % 12 != 11) s[i] = static_cast<char>('0' + rng() % 10);
  }
  return s;
}

// Decompresses a body back into the bytes it holds.
std::string Inflate(uint64_t offset, std::string_view body) {
  std::string out;
  bool ok_all = true;
  const bool ok = ForEachChunk(offset, body, [&](const WriteChunk& c) {
    std::string chunk(c.raw_len, '\0');
    std::string_view stored = body.substr(c.stored_off, c.stored_len);
    if (c.compressed()) {
      ok_all = ok_all && DecompressChunk(stored, chunk.data(), c.raw_len).ok();
    } else {
      chunk = std::string(stored);
    }
    out += chunk;
  });
  EXPECT_TRUE(ok && ok_all);
  return out;
}

TEST(Record, UnflaggedRecordsStayVersion1) {
  std::string buf;
  EncodeRecord(SampleRename(), &buf);
  EXPECT_EQ(1, buf[8]);
  EXPECT_EQ(0, buf[10]);
  EXPECT_EQ(0, buf[11]);
}

TEST(Record, CompressedWriteRoundTrips) {
  const uint64_t seed = rwd::testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 50; ++i) {
    const uint64_t offset = rng() % 100000;
    const std::string data = Digits(rng, 200 + rng() % 70000);
    std::string body;
    ASSERT_TRUE(CompressWrite(offset, data, 1, &body)) << "seed " << seed;
    EXPECT_LE(body.size(), data.size() / 8 * 7);
    EXPECT_EQ(data.size(), CompressedRawLength(body));
    EXPECT_EQ(data, Inflate(offset, body)) << "seed " << seed;
    // Chunks follow the 16 KiB page grid of the file.
    uint64_t next = offset;
    ForEachChunk(offset, body, [&](const WriteChunk& c) {
      EXPECT_EQ(next, c.file_off);
      EXPECT_EQ(c.file_off / kChunkBytes, (c.file_off + c.raw_len - 1) / kChunkBytes);
      next = c.file_off + c.raw_len;
    });
    EXPECT_EQ(offset + data.size(), next);

    Record w;
    w.kind = RecordKind::kWrite;
    w.flags = kRecordCompressed;
    w.lsn = Lsn(9);
    w.tl = TimelineId(2);
    w.ino = InodeId(5);
    w.offset = offset;
    w.data = body;
    std::string buf;
    EXPECT_EQ(kWriteDataOffset, EncodeRecord(w, &buf));
    EXPECT_EQ(kRecordVersion, buf[8]);
    auto back = DecodeRecord(buf);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(kRecordCompressed, back->flags);
    EXPECT_EQ(body, back->data);
    EXPECT_EQ(data.size(), WriteLength(*back));
  }
}

TEST(Record, IncompressibleAndTinyWritesAreNotCompressed) {
  const uint64_t seed = rwd::testing::TestSeed();
  std::mt19937_64 rng(seed);
  std::string random(40000, '\0');
  for (auto& c : random) c = static_cast<char>(rng());
  std::string body;
  EXPECT_FALSE(CompressWrite(123, random, 1, &body));
  EXPECT_FALSE(CompressWrite(0, std::string(kMinCompressBytes - 1, 'a'), 1, &body));
  // Half random, half text: the text pages compress, the random ones stay raw in the body.
  const std::string mixed = random.substr(0, 16384) + std::string(16384, 'x') +
                            random.substr(16384, 16384) + std::string(16384, 'y');
  ASSERT_TRUE(CompressWrite(0, mixed, 1, &body));
  std::vector<bool> compressed;
  ForEachChunk(0, body, [&](const WriteChunk& c) { compressed.push_back(c.compressed()); });
  EXPECT_EQ((std::vector<bool>{false, true, false, true}), compressed);
  EXPECT_EQ(mixed, Inflate(0, body));
}

TEST(Record, FlagsAreCheckedAgainstVersionAndKind) {
  std::string buf;
  EncodeRecord(SampleRename(), &buf);
  std::string v1_flag = buf;  // version 1 with a flag
  v1_flag[10] = 1;
  FixCrc(&v1_flag);
  EXPECT_FALSE(DecodeRecord(v1_flag).ok());
  std::string v2_rename = v1_flag;  // a flag on a kind other than Write
  v2_rename[8] = 2;
  FixCrc(&v2_rename);
  EXPECT_FALSE(DecodeRecord(v2_rename).ok());

  Record w;
  w.kind = RecordKind::kWrite;
  w.offset = 10;
  w.data = "plain";
  buf.clear();
  EncodeRecord(w, &buf);
  std::string v2_none = buf;  // version 2 without a flag
  v2_none[8] = 2;
  FixCrc(&v2_none);
  EXPECT_FALSE(DecodeRecord(v2_none).ok());
  std::string unknown = buf;  // an unknown flag
  unknown[8] = 2;
  unknown[10] = 2;
  FixCrc(&unknown);
  EXPECT_FALSE(DecodeRecord(unknown).ok());
}

TEST(Record, MalformedCompressedBodiesAreCorruption) {
  std::mt19937_64 rng(7);
  const std::string data = Digits(rng, 40000);
  std::string body;
  ASSERT_TRUE(CompressWrite(5000, data, 1, &body));
  Record w;
  w.kind = RecordKind::kWrite;
  w.flags = kRecordCompressed;
  w.offset = 5000;
  auto decodes = [&w](std::string_view b) {
    w.data = b;
    std::string buf;
    EncodeRecord(w, &buf);  // a valid CRC: only the body's structure is wrong
    return DecodeRecord(buf).ok();
  };
  EXPECT_TRUE(decodes(body));
  EXPECT_FALSE(decodes(""));
  EXPECT_FALSE(decodes(body.substr(0, body.size() - 1)));  // chunks shorter than the table says
  EXPECT_FALSE(decodes(body + "x"));                       // trailing bytes
  std::string zero_raw = body;
  std::memset(zero_raw.data(), 0, 4);
  EXPECT_FALSE(decodes(zero_raw));
  std::string longer = body;  // one chunk's stored length above its raw length
  const uint16_t too_long = 16385;
  std::memcpy(longer.data() + 4, &too_long, 2);
  EXPECT_FALSE(decodes(longer));
  std::string huge = body;  // a raw length whose chunk table is not there
  const uint32_t raw = 1u << 30;
  std::memcpy(huge.data(), &raw, 4);
  EXPECT_FALSE(decodes(huge));
  // A damaged frame passes the structure check but never decompresses into wrong bytes.
  std::vector<WriteChunk> chunks;
  ForEachChunk(5000, body, [&](const WriteChunk& c) { chunks.push_back(c); });
  ASSERT_TRUE(chunks[0].compressed());
  std::string frame = body.substr(chunks[0].stored_off, chunks[0].stored_len);
  frame[frame.size() / 2] ^= 0x55;
  std::string out(chunks[0].raw_len, '\0');
  Status st = DecompressChunk(frame, out.data(), out.size());
  if (st.ok()) {
    EXPECT_NE(data.substr(0, chunks[0].raw_len), out);  // zstd frames carry no checksum here
  } else {
    EXPECT_EQ(Status::Code::kCorruption, st.code());
  }
  EXPECT_EQ(Status::Code::kCorruption,
            DecompressChunk(frame.substr(0, 3), out.data(), out.size()).code());
}

}  // namespace
}  // namespace rwd::store
