// Unit tests of the object-store client's pure parts: no server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "objstore/config.h"
#include "objstore/retry.h"
#include "objstore/s3_client.h"
#include "objstore/xml.h"

namespace rwd::objstore {
namespace {

using Code = Status::Code;

TEST(S3Url, BucketAndPrefix) {
  auto loc = ParseS3Url("s3://my-bucket/rewind/prod");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ("my-bucket", loc->bucket);
  EXPECT_EQ("rewind/prod/", loc->prefix);

  loc = ParseS3Url("s3://my.bucket.1/rewind/");
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ("rewind/", loc->prefix);

  loc = ParseS3Url("s3://bucket");
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ("", loc->prefix);
  loc = ParseS3Url("s3://bucket/");
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ("", loc->prefix);
}

TEST(S3Url, Refusals) {
  for (const char* bad : {"http://bucket/x", "bucket/x", "s3://", "s3://ab", "s3://Bucket/x",
                          "s3://under_score", "s3://-bucket", "s3://bucket-", "s3://bucket//x",
                          "s3://bucket/a//b", "s3://bucket/a\tb"}) {
    auto loc = ParseS3Url(bad);
    EXPECT_FALSE(loc.ok()) << bad;
    if (!loc.ok()) {
      EXPECT_EQ(Code::kInvalidArgument, loc.status().code()) << bad;
    }
  }
  EXPECT_FALSE(ParseS3Url("s3://bucket/" + std::string(513, 'a')).ok());
  EXPECT_FALSE(ParseS3Url("s3://" + std::string(64, 'a')).ok());
}

TEST(S3Url, Endpoint) {
  auto e = NormalizeEndpoint("http://127.0.0.1:7480/", "us-east-1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ("http://127.0.0.1:7480", *e);
  e = NormalizeEndpoint("", "eu-west-3");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ("https://s3.eu-west-3.amazonaws.com", *e);
  for (const char* bad : {"127.0.0.1:7480", "ftp://host", "http://", "http://host/path",
                          "http://user:pw@host", "https://host?x=1"}) {
    EXPECT_EQ(Code::kInvalidArgument, NormalizeEndpoint(bad, "us-east-1").status().code()) << bad;
  }
  // Plain http only on loopback; https anywhere.
  for (const char* ok : {"http://127.0.0.1", "http://127.9.8.7:80", "http://localhost:9000",
                         "http://[::1]:7480", "https://10.0.0.5:7480", "https://rgw.example"}) {
    EXPECT_TRUE(NormalizeEndpoint(ok, "us-east-1").ok()) << ok;
  }
  for (const char* clear : {"http://10.0.0.5:7480", "http://rgw.example", "http://128.0.0.1",
                            "http://[2001:db8::1]:80", "http://127.0.0.1.example.com"}) {
    auto r = NormalizeEndpoint(clear, "us-east-1");
    ASSERT_FALSE(r.ok()) << clear;
    EXPECT_EQ(Code::kInvalidArgument, r.status().code());
    EXPECT_NE(std::string::npos, r.status().message().find("https://")) << r.status().message();
  }
}

TEST(S3Url, MakeConfig) {
  auto c = MakeS3Config("s3://b-1/p", "http://localhost:9000", "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ("http://localhost:9000", c->endpoint);
  EXPECT_EQ("us-east-1", c->region);
  EXPECT_EQ("b-1", c->bucket);
  EXPECT_EQ("p/", c->prefix);
  EXPECT_EQ(Code::kInvalidArgument,
            MakeS3Config("s3://b-1/p", "", "Eu_West").status().code());
}

// An environment made of a map.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("objstore_cred_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / ".aws");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ / rel) << text;
    return (dir_ / rel).string();
  }
  std::filesystem::path dir_;
};

constexpr const char* kFile =
    "# comment\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key=secretdefault\r\n"
    "\n"
    "[ci]\n"
    "; another comment\n"
    "aws_access_key_id = AKIDCI\n"
    "aws_secret_access_key = secretci\n"
    "aws_session_token = tokenci\n"
    "[broken]\n"
    "aws_access_key_id = AKIDONLY\n";

TEST_F(CredentialsTest, EnvironmentFirst) {
  Write(".aws/credentials", kFile);
  auto c = ResolveCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                       {"AWS_SECRET_ACCESS_KEY", "secretenv"},
                                       {"AWS_SESSION_TOKEN", "tok"},
                                       {"HOME", dir_.string()}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ("AKIDENV", c->access_key_id);
  EXPECT_EQ("secretenv", c->secret_access_key);
  EXPECT_EQ("tok", c->session_token);
  EXPECT_EQ("environment", c->source);
}

TEST_F(CredentialsTest, HalfAPairInTheEnvironmentIsAnError) {
  auto c = ResolveCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"}}));
  EXPECT_EQ(Code::kInvalidArgument, c.status().code());
}

TEST_F(CredentialsTest, DefaultProfileUnderHome) {
  Write(".aws/credentials", kFile);
  auto c = ResolveCredentials(FakeEnv({{"HOME", dir_.string()}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ("AKIDDEFAULT", c->access_key_id);
  EXPECT_EQ("secretdefault", c->secret_access_key);  // the \r is trimmed
  EXPECT_EQ("", c->session_token);
}

TEST_F(CredentialsTest, NamedProfileAndFile) {
  const std::string file = Write("creds", kFile);
  auto c = ResolveCredentials(
      FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "ci"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ("AKIDCI", c->access_key_id);
  EXPECT_EQ("secretci", c->secret_access_key);
  EXPECT_EQ("tokenci", c->session_token);
  EXPECT_NE(std::string::npos, c->source.find("[ci]"));
}

TEST_F(CredentialsTest, Refusals) {
  const std::string file = Write("creds", kFile);
  // An explicit profile that is absent, a profile lacking its secret, an explicit file missing.
  EXPECT_EQ(Code::kInvalidArgument,
            ResolveCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", file},
                                        {"AWS_PROFILE", "nope"}}))
                .status()
                .code());
  EXPECT_EQ(Code::kInvalidArgument,
            ResolveCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", file},
                                        {"AWS_PROFILE", "broken"}}))
                .status()
                .code());
  EXPECT_EQ(Code::kInvalidArgument,
            ResolveCredentials(
                FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", (dir_ / "missing").string()}}))
                .status()
                .code());
  // Nothing anywhere: kNotFound naming where it looked.
  auto none = ResolveCredentials(FakeEnv({{"HOME", dir_.string()}}));
  EXPECT_EQ(Code::kNotFound, none.status().code());
  EXPECT_NE(std::string::npos, none.status().message().find(".aws/credentials"));
  EXPECT_EQ(Code::kNotFound, ResolveCredentials(FakeEnv({})).status().code());
}

TEST(Xml, ListObjectsV2) {
  const std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>p/a&amp;b</Key><LastModified>2026-12-07T01:02:03.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>12</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/c</Key><Size>0</Size><ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag></Contents>
</ListBucketResult>)";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", page->next_continuation_token);
  ASSERT_EQ(2u, page->objects.size());
  EXPECT_EQ("p/a&b", page->objects[0].key);
  EXPECT_EQ(12u, page->objects[0].size);
  EXPECT_EQ("9b2cf535f27731c974343645a3985328", page->objects[0].etag);
  EXPECT_EQ("2026-12-07T01:02:03.000Z", page->objects[0].last_modified);
  EXPECT_EQ("p/c", page->objects[1].key);
  EXPECT_EQ(0u, page->objects[1].size);
}

TEST(Xml, ListObjectsV2Refusals) {
  EXPECT_EQ(Code::kCorruption, ParseListObjectsV2("not xml <").status().code());
  EXPECT_EQ(Code::kCorruption, ParseListObjectsV2("<Other/>").status().code());
  EXPECT_EQ(Code::kCorruption,
            ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                               "</ListBucketResult>")
                .status()
                .code());
  EXPECT_EQ(Code::kCorruption,
            ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
                               "</Contents></ListBucketResult>")
                .status()
                .code());
  auto empty = ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated>"
                                  "</ListBucketResult>");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
  EXPECT_FALSE(empty->truncated);
}

TEST(Xml, ErrorsAndMultipart) {
  ErrorBody e = ParseErrorBody(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>gone</Message>"
      "<Key>k</Key></Error>");
  EXPECT_EQ("NoSuchKey", e.code);
  EXPECT_EQ("gone", e.message);
  EXPECT_EQ("", ParseErrorBody("").code);
  EXPECT_EQ("", ParseErrorBody("<html/>").code);

  auto id = ParseUploadId("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                          "<UploadId>2~abc</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ("2~abc", *id);
  EXPECT_EQ(Code::kCorruption, ParseUploadId("<InitiateMultipartUploadResult/>").status().code());

  EXPECT_EQ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag></Part>"
            "</CompleteMultipartUpload>",
            CompleteMultipartXml({{1, "e1"}, {2, "e2"}}));
  auto ok = ParseCompleteMultipart("<CompleteMultipartUploadResult><ETag>x</ETag>"
                                   "</CompleteMultipartUploadResult>");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ("", ok->code);
  auto late = ParseCompleteMultipart("<Error><Code>InternalError</Code></Error>");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ("InternalError", late->code);
  EXPECT_FALSE(ParseCompleteMultipart("<Other/>").ok());
}

TEST(Xml, DeleteObjects) {
  EXPECT_EQ("<Delete><Quiet>true</Quiet><Object><Key>a&lt;b</Key></Object></Delete>",
            DeleteObjectsXml({"a<b"}));
  auto errors = ParseDeleteResult(
      "<DeleteResult><Deleted><Key>x</Key></Deleted><Error><Key>y</Key>"
      "<Code>AccessDenied</Code></Error></DeleteResult>");
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(1u, errors->size());
  EXPECT_EQ("y", (*errors)[0].first);
  EXPECT_EQ("AccessDenied", (*errors)[0].second);
}

TEST(Retry, Decisions) {
  using T = AttemptOutcome::Transport;
  EXPECT_TRUE(ShouldRetry({T::kRetryable, 0, ""}));
  EXPECT_FALSE(ShouldRetry({T::kPermanent, 0, ""}));
  for (long s : {500L, 502L, 503L, 504L}) EXPECT_TRUE(ShouldRetry({T::kOk, s, ""})) << s;
  EXPECT_TRUE(ShouldRetry({T::kOk, 503, "SlowDown"}));
  EXPECT_TRUE(ShouldRetry({T::kOk, 429, ""}));
  EXPECT_TRUE(ShouldRetry({T::kOk, 400, "RequestTimeout"}));
  for (long s : {400L, 403L, 404L, 408L, 409L, 412L, 416L}) {
    EXPECT_FALSE(ShouldRetry({T::kOk, s, ""})) << s;
  }
  EXPECT_FALSE(ShouldRetry({T::kOk, 403, "SignatureDoesNotMatch"}));
}

TEST(Retry, StatusCodes) {
  using T = AttemptOutcome::Transport;
  auto code = [](AttemptOutcome o) { return StatusFromOutcome(o, "op").code(); };
  EXPECT_EQ(Code::kNotFound, code({T::kOk, 404, "NoSuchKey"}));
  EXPECT_EQ(Code::kPermissionDenied, code({T::kOk, 403, "AccessDenied"}));
  EXPECT_EQ(Code::kFailedPrecondition, code({T::kOk, 412, "PreconditionFailed"}));
  EXPECT_EQ(Code::kInvalidArgument, code({T::kOk, 416, "InvalidRange"}));
  EXPECT_EQ(Code::kInvalidArgument, code({T::kOk, 400, "InvalidArgument"}));
  EXPECT_EQ(Code::kUnavailable, code({T::kOk, 503, "SlowDown"}));
  EXPECT_EQ(Code::kUnavailable, code({T::kRetryable, 0, ""}));
  Status s = StatusFromOutcome({T::kOk, 404, "NoSuchKey"}, "GetObject k", "gone");
  EXPECT_EQ("NoSuchKey", s.tag());
  EXPECT_NE(std::string::npos, s.message().find("GetObject k"));
  EXPECT_NE(std::string::npos, s.message().find("gone"));
}

TEST(Retry, BackoffIsBoundedFullJitter) {
  RetryPolicy p;
  p.base_delay = std::chrono::milliseconds(100);
  p.max_delay = std::chrono::milliseconds(1000);
  // The ceiling doubles per attempt up to max_delay; random picks within [0, ceiling].
  EXPECT_EQ(100, BackoffDelay(p, 1, 100).count());
  EXPECT_EQ(0, BackoffDelay(p, 1, 101).count());
  EXPECT_EQ(200, BackoffDelay(p, 2, 200).count());
  EXPECT_EQ(400, BackoffDelay(p, 3, 400).count());
  EXPECT_EQ(800, BackoffDelay(p, 4, 800).count());
  EXPECT_EQ(1000, BackoffDelay(p, 5, 1000).count());
  EXPECT_EQ(1000, BackoffDelay(p, 60, 1000).count());  // no overflow far out
  for (uint64_t r : {0ull, 1ull, 12345678901234ull, ~0ull}) {
    EXPECT_LE(BackoffDelay(p, 40, r).count(), 1000);
  }
  p.base_delay = std::chrono::milliseconds(0);
  EXPECT_EQ(0, BackoffDelay(p, 3, 77).count());
}

TEST(Client, CreateRefusesBadConfigs) {
  auto cfg = MakeS3Config("s3://bucket/p", "http://127.0.0.1:1", "");
  ASSERT_TRUE(cfg.ok());
  Credentials creds{"AKID", "secret", "", "test"};
  EXPECT_TRUE(S3Client::Create(*cfg, creds).ok());
  S3Config small = *cfg;
  small.part_size = 1 << 20;
  EXPECT_EQ(Code::kInvalidArgument, S3Client::Create(small, creds).status().code());
  S3Config low = *cfg;
  low.multipart_threshold = low.part_size - 1;
  EXPECT_EQ(Code::kInvalidArgument, S3Client::Create(low, creds).status().code());
  S3Config wide = *cfg;
  wide.part_concurrency = 0;
  EXPECT_EQ(Code::kInvalidArgument, S3Client::Create(wide, creds).status().code());
  EXPECT_EQ(Code::kInvalidArgument,
            S3Client::Create(*cfg, Credentials{"AKID", "", "", "t"}).status().code());
}

TEST(Client, BadKeysFailBeforeAnyRequest) {
  auto cfg = MakeS3Config("s3://bucket/p", "http://127.0.0.1:1", "");
  ASSERT_TRUE(cfg.ok());
  auto client = S3Client::Create(*cfg, Credentials{"AKID", "secret", "", "test"});
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(Code::kInvalidArgument, (*client)->Put("", "x").code());
  EXPECT_EQ(Code::kInvalidArgument, (*client)->Put("a\nb", "x").code());
  EXPECT_EQ(Code::kInvalidArgument, (*client)->Get(std::string(1100, 'k')).status().code());
  EXPECT_EQ(Code::kInvalidArgument,
            (*client)->Put("k", "x", PutOptions{{{"Bad Name", "v"}}}).code());
  EXPECT_EQ(Code::kInvalidArgument, (*client)->List("", "", 0).status().code());
  EXPECT_EQ(Code::kInvalidArgument,
            (*client)->Get("k", GetOptions{ByteRange{0, 0}, ""}).status().code());
}

// ---- The client's request loop against a scripted HTTP peer on 127.0.0.1 ----
// Ceph cannot be made to answer 503 or 500 on demand, so these tests stand up a minimal HTTP/1.1
// responder that plays a script of answers and records what it was sent (headers and body).

class ScriptedServer {
 public:
  struct Answer {
    int status;
    std::string body;
  };
  explicit ScriptedServer(std::vector<Answer> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;  // the kernel's pick, held by this socket for the test's life
    EXPECT_EQ(0, ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a));
    EXPECT_EQ(0, ::listen(fd_, 16));
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    for (size_t i = 0;; ++i) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;  // shut down
      std::string req;
      char buf[4096];
      size_t header_end = std::string::npos;
      while (header_end == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        header_end = req.find("\r\n\r\n");
      }
      // The body, by Content-Length (curl sends one for every request with a body).
      size_t want = 0;
      const size_t cl = req.find("Content-Length: ");
      if (cl != std::string::npos && cl < header_end) want = std::stoul(req.substr(cl + 16));
      while (header_end != std::string::npos && req.size() < header_end + 4 + want) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      const Answer& a = script_[std::min(i, script_.size() - 1)];
      const std::string resp = "HTTP/1.1 " + std::to_string(a.status) + " X\r\nContent-Length: " +
                               std::to_string(a.body.size()) +
                               "\r\nConnection: close\r\n\r\n" + a.body;
      (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::vector<Answer> script_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

std::unique_ptr<S3Client> ClientFor(const std::string& endpoint, int attempts,
                                    std::string session_token = "") {
  auto cfg = MakeS3Config("s3://bucket/pre", endpoint, "eu-west-3");
  EXPECT_TRUE(cfg.ok());
  cfg->retry.max_attempts = attempts;
  cfg->retry.base_delay = std::chrono::milliseconds(1);
  cfg->retry.max_delay = std::chrono::milliseconds(5);
  auto c = S3Client::Create(*cfg, Credentials{"AKIDTEST", "secret", session_token, "test"});
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

const char* kSlowDown = "<Error><Code>SlowDown</Code><Message>Please slow down</Message></Error>";

TEST(ClientWire, RetriesServerErrorsThenSucceeds) {
  ScriptedServer server({{503, kSlowDown}, {500, ""}, {200, "payload"}});
  auto client = ClientFor(server.endpoint(), 5);
  auto got = client->Get("k");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ("payload", *got);
  EXPECT_EQ(3u, server.requests().size());
}

TEST(ClientWire, GivesUpAfterMaxAttemptsAsUnavailable) {
  ScriptedServer server({{503, kSlowDown}});
  auto client = ClientFor(server.endpoint(), 4);
  Status s = client->Put("k", "v");
  EXPECT_EQ(Code::kUnavailable, s.code()) << s.ToString();
  EXPECT_EQ("SlowDown", s.tag());
  EXPECT_NE(std::string::npos, s.message().find("after 4 attempts"));
  EXPECT_NE(std::string::npos, s.message().find("Please slow down"));
  EXPECT_EQ(4u, server.requests().size());
}

TEST(ClientWire, ClientErrorsAreNotRetried) {
  ScriptedServer server({{403, "<Error><Code>AccessDenied</Code></Error>"}, {200, ""}});
  auto client = ClientFor(server.endpoint(), 5);
  EXPECT_EQ(Code::kPermissionDenied, client->Delete("k").code());
  EXPECT_EQ(1u, server.requests().size());
}

TEST(ClientWire, SignsTheBodyHashAndSessionToken) {
  ScriptedServer server({{200, ""}});
  auto client = ClientFor(server.endpoint(), 1, "TOKEN123");
  ASSERT_TRUE(client->Put("dir/a b", "hello").ok());
  auto reqs = server.requests();
  ASSERT_EQ(1u, reqs.size());
  const std::string& r = reqs[0];
  // Path-style, key under the prefix, percent-encoded; the body as sent.
  EXPECT_EQ(0u, r.find("PUT /bucket/pre/dir/a%20b HTTP/1.1\r\n")) << r;
  EXPECT_EQ("hello", r.substr(r.size() - 5));
  // The real SHA-256 of "hello", and both it and the token under the signature.
  EXPECT_NE(std::string::npos,
            r.find("x-amz-content-sha256: "
                   "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
  EXPECT_NE(std::string::npos, r.find("x-amz-security-token: TOKEN123"));
  const size_t auth = r.find("Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/");
  ASSERT_NE(std::string::npos, auth) << r;
  const std::string auth_line = r.substr(auth, r.find("\r\n", auth) - auth);
  EXPECT_NE(std::string::npos, auth_line.find("/eu-west-3/s3/aws4_request"));
  EXPECT_NE(std::string::npos, auth_line.find("x-amz-content-sha256"));
  EXPECT_NE(std::string::npos, auth_line.find("x-amz-security-token"));
}

TEST(ClientWire, ListsWithASortedEncodedQuery) {
  ScriptedServer server({{200, "<ListBucketResult><IsTruncated>false</IsTruncated>"
                                "<Contents><Key>pre/x/1</Key><Size>3</Size></Contents>"
                                "</ListBucketResult>"}});
  auto client = ClientFor(server.endpoint(), 1);
  auto page = client->List("x/", "tok/en=", 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(1u, page->objects.size());
  EXPECT_EQ("x/1", page->objects[0].key);  // the prefix is stripped
  const std::string r = server.requests()[0];
  EXPECT_EQ(0u, r.find("GET /bucket?continuation-token=tok%2Fen%3D&list-type=2&max-keys=10&"
                       "prefix=pre%2Fx%2F HTTP/1.1\r\n"))
      << r;
}

}  // namespace
}  // namespace rwd::objstore
