// rewindd --peer-object-store NAME=s3://BUCKET/PREFIX: what is taken, and every refusal says
// what to fix.
#include "peer/peer_flag.h"

#include <gtest/gtest.h>

namespace rwd::peer {
namespace {

constexpr const char* kOwn = "123456789012";

void ExpectRefused(const std::string& value, const std::string& says,
                   std::vector<PeerSpec> peers = {}) {
  const size_t before = peers.size();
  Status s = AddPeerSpec(value, kOwn, &peers);
  EXPECT_EQ(Status::Code::kInvalidArgument, s.code()) << value;
  EXPECT_NE(std::string::npos, s.message().find(says)) << value << ": " << s.message();
  EXPECT_EQ(before, peers.size());
}

TEST(PeerFlag, NamesAndUrlsAreTaken) {
  std::vector<PeerSpec> peers;
  ASSERT_TRUE(AddPeerSpec("node1=s3://rewind-test/node1", kOwn, &peers).ok());
  ASSERT_TRUE(AddPeerSpec("eu-2=s3://other-bucket", kOwn, &peers).ok());
  ASSERT_EQ(2u, peers.size());
  EXPECT_EQ("node1", peers[0].name);
  EXPECT_EQ("s3://rewind-test/node1", peers[0].url);
  EXPECT_EQ("eu-2", peers[1].name);
  ASSERT_TRUE(AddPeerSpec(std::string(63, 'a') + "=s3://b-b/p", kOwn, &peers).ok());
}

TEST(PeerFlag, BadInputIsRefusedSayingWhatToFix) {
  ExpectRefused("node1", "NAME=s3://BUCKET/PREFIX");
  ExpectRefused("=s3://rewind-test/x", "1 to 63 lower-case letters");
  ExpectRefused("Node1=s3://rewind-test/x", "1 to 63 lower-case letters");
  ExpectRefused("no_de=s3://rewind-test/x", "1 to 63 lower-case letters");
  ExpectRefused(std::string(64, 'a') + "=s3://rewind-test/x", "1 to 63");
  ExpectRefused("123456789012=s3://rewind-test/x", "own account id");
  ExpectRefused("node1=http://rewind-test/x", "--peer-object-store node1: ");
  ExpectRefused("node1=s3://rewind-test//x", "--peer-object-store node1: ");
  ExpectRefused("node1=", "--peer-object-store node1: ");
  ExpectRefused("node1=s3://rewind-test/y", "given twice", {PeerSpec{"node1", "s3://b-b/x"}});
}

}  // namespace
}  // namespace rwd::peer
