#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "common/crc32c.h"
#include "common/status.h"
#include "common/test_util.h"

namespace rwd {
namespace {

TEST(Crc32c, KnownVectors) {
  // From RFC 3720 B.4 and the LevelDB crc32c tests.
  char zeros[32] = {0};
  EXPECT_EQ(0x8a9136aau, crc32c::Value(zeros, sizeof(zeros)));
  char ones[32];
  for (char& c : ones) c = static_cast<char>(0xff);
  EXPECT_EQ(0x62a8ab43u, crc32c::Value(ones, sizeof(ones)));
  EXPECT_EQ(0xe3069283u, crc32c::Value("123456789", 9));
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello world, this is a longer string to cross 8-byte boundaries";
  uint32_t whole = crc32c::Value(s.data(), s.size());
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t part = crc32c::Extend(crc32c::Value(s.data(), cut), s.data() + cut, s.size() - cut);
    EXPECT_EQ(whole, part) << "cut at " << cut;
  }
}

TEST(Crc32c, CombineEqualsWhole) {
  // Long enough for the interleaved loop (3 x 4 KiB stripes) with odd tails around it.
  std::string s(3 * 4096 * 3 + 77, '\0');
  uint32_t x = 12345;
  for (char& c : s) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 16);
  const uint32_t whole = crc32c::Value(s.data(), s.size());
  for (size_t cut : {size_t{0}, size_t{1}, size_t{56}, size_t{4096}, size_t{12288},
                     size_t{12345}, s.size() - 1, s.size()}) {
    const uint32_t a = crc32c::Value(s.data(), cut);
    const uint32_t b = crc32c::Value(s.data() + cut, s.size() - cut);
    EXPECT_EQ(whole, crc32c::Combine(a, b, s.size() - cut)) << "cut at " << cut;
    EXPECT_EQ(whole, crc32c::Extend(a, s.data() + cut, s.size() - cut)) << "cut at " << cut;
  }
}

TEST(Crc32c, LongBufferMatchesBytewise) {
  // The interleaved hardware loop against byte-at-a-time extension (same algorithm family,
  // no stripes): 40 KiB of pseudo-random bytes.
  std::string s(40 * 1024 + 3, '\0');
  uint32_t x = 777;
  for (char& c : s) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 16);
  uint32_t bytewise = 0;
  for (char c : s) bytewise = crc32c::Extend(bytewise, &c, 1);
  EXPECT_EQ(bytewise, crc32c::Value(s.data(), s.size()));
}

TEST(Crc32c, MaskRoundTrip) {
  uint32_t crc = crc32c::Value("foo", 3);
  EXPECT_NE(crc, crc32c::Mask(crc));
  EXPECT_EQ(crc, crc32c::Unmask(crc32c::Mask(crc)));
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  ASSIGN_OR_RETURN(int h, Half(x));
  *out = h;
  return Status::Ok();
}

TEST(Status, ResultAndMacros) {
  int out = 0;
  EXPECT_TRUE(UseHalf(4, &out).ok());
  EXPECT_EQ(2, out);
  Status st = UseHalf(3, &out);
  EXPECT_EQ(Status::Code::kInvalidArgument, st.code());
  EXPECT_EQ("InvalidArgument: odd", st.ToString());
  EXPECT_EQ(Status::Code::kNoSpace, Status::FromErrno(ENOSPC, "write").code());
  EXPECT_EQ(Status::Code::kIOError, Status::FromErrno(EIO, "write").code());
  EXPECT_EQ("IOError: ctx: x", Status::IOError("x").WithContext("ctx").ToString());
}

// The test helper for server ports: a listening socket is seen as in use, and a port handed
// out lies below the ephemeral range, free, and bindable.
TEST(TestUtil, FreeTcpPortIsBelowTheEphemeralRangeAndUnused) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(0, ::bind(fd, reinterpret_cast<sockaddr*>(&address), length)) << std::strerror(errno);
  ASSERT_EQ(0, ::listen(fd, 1));
  ASSERT_EQ(0, ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length));
  EXPECT_TRUE(testing::TcpPortInUse(ntohs(address.sin_port)));
  ::close(fd);

  int lo = 0, hi = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> lo >> hi;
  ASSERT_GT(lo, 0);
  for (int i = 0; i < 20; ++i) {
    const int port = testing::FreeTcpPort();
    ASSERT_NE(0, port);
    if (lo > 21200) {  // the usual case; else ports come from above the range
      EXPECT_LT(port, lo) << "range " << lo << ".." << hi;
    }
    EXPECT_FALSE(testing::TcpPortInUse(port));
    const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    at.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(0, ::bind(probe, reinterpret_cast<sockaddr*>(&at), sizeof(at)))
        << port << ": " << std::strerror(errno);
    ::close(probe);
  }
}

}  // namespace
}  // namespace rwd
