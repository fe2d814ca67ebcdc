#include "store/record.h"

#include <gtest/gtest.h>

#include "common/crc32c.h"

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
  buf[8] = 2;
  auto h = DecodeHeader(buf);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(std::string::npos, h.status().message().find("version"));
}

}  // namespace
}  // namespace rwd::store
