// S3Client against the real single-node Ceph (radosgw) that tests/objstore/ceph.sh starts once
// per CTest run (fixture `ceph`). REWIND_S3_ENV names its s3.env; without it the tests fail: run
// them through ctest, or start ceph.sh by hand and export REWIND_S3_ENV.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "objstore/objstore_testing.h"
#include "objstore/s3_client.h"

namespace rwd::objstore {
namespace {

using Code = Status::Code;
using testing::CephTest;

TEST_F(CephTest, PutGetRangeHeadDelete) {
  const std::string data = RandomBytes(100000, 1);
  { Status st_ = client_->Put("segments/0001", data, PutOptions{{{"crc32c", "0a1b2c3d"}}}); ASSERT_TRUE(st_.ok()) << st_.ToString(); }

  auto got = client_->Get("segments/0001");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(data, *got);

  auto range = client_->Get("segments/0001", GetOptions{ByteRange{4096, 1000}, ""});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(data.substr(4096, 1000), *range);
  // A range running past the end is cut short.
  auto tail = client_->Get("segments/0001", GetOptions{ByteRange{99990, 100}, ""});
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(data.substr(99990), *tail);

  auto head = client_->Head("segments/0001");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(data.size(), head->size);
  EXPECT_FALSE(head->etag.empty());
  EXPECT_FALSE(head->last_modified.empty());
  EXPECT_EQ("0a1b2c3d", head->metadata["crc32c"]);

  // If-Match: the right ETag reads, another one is a failed precondition.
  EXPECT_TRUE(client_->Get("segments/0001", GetOptions{std::nullopt, head->etag}).ok());
  auto wrong = client_->Get("segments/0001", GetOptions{std::nullopt, "00000000000000000000"});
  EXPECT_EQ(Code::kFailedPrecondition, wrong.status().code()) << wrong.status().ToString();

  // An empty object and a key with characters that need encoding.
  { Status st_ = client_->Put("odd key+with=chars&~%", ""); ASSERT_TRUE(st_.ok()) << st_.ToString(); }
  auto odd = client_->Get("odd key+with=chars&~%");
  ASSERT_TRUE(odd.ok()) << odd.status().ToString();
  EXPECT_EQ("", *odd);

  ASSERT_TRUE(client_->Delete("segments/0001").ok());
  EXPECT_EQ(Code::kNotFound, client_->Get("segments/0001").status().code());
  EXPECT_TRUE(client_->Delete("segments/0001").ok());  // deleting what is gone is fine
}

TEST_F(CephTest, MissingKeyIsNotFound) {
  auto got = client_->Get("never/written");
  EXPECT_EQ(Code::kNotFound, got.status().code());
  EXPECT_EQ("NoSuchKey", got.status().tag());
  EXPECT_EQ(Code::kNotFound, client_->Head("never/written").status().code());
}

TEST_F(CephTest, ListPaginatesUnderThePrefix) {
  std::vector<std::string> keys;
  for (int i = 0; i < 23; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "list/%03d", i);
    keys.push_back(name);
    { Status st_ = client_->Put(name, std::string(static_cast<size_t>(i), 'x')); ASSERT_TRUE(st_.ok()) << st_.ToString(); }
  }
  { Status st_ = client_->Put("listing-sibling", "not under list/"); ASSERT_TRUE(st_.ok()) << st_.ToString(); }

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = client_->List("list/", token, 5);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->objects.size(), 5u);
    for (const ObjectInfo& o : page->objects) {
      seen.push_back(o.key);
      EXPECT_EQ(std::stoul(o.key.substr(5)), o.size);
    }
    token = page->truncated ? page->next_continuation_token : "";
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(keys, seen);
  EXPECT_EQ(5, pages);

  auto all = client_->ListAll("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(24u, all->size());

  ASSERT_TRUE(client_->DeleteMany(keys).ok());
  auto left = client_->ListAll("");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(1u, left->size());
  EXPECT_EQ("listing-sibling", (*left)[0].key);
}

TEST_F(CephTest, MultipartAboveTheThreshold) {
  const std::string data = RandomBytes(12 << 20, 2);  // 3 parts: 5 + 5 + 2 MiB
  { Status st_ = client_->Put("big", data, PutOptions{{{"kind", "segment"}}}); ASSERT_TRUE(st_.ok()) << st_.ToString(); }
  auto head = client_->Head("big");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(data.size(), head->size);
  EXPECT_NE(std::string::npos, head->etag.find("-3"));  // a multipart ETag: "<md5>-<parts>"
  EXPECT_EQ("segment", head->metadata["kind"]);
  auto got = client_->Get("big");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(data == *got);
  // A range across the first part boundary.
  auto range = client_->Get("big", GetOptions{ByteRange{(5 << 20) - 10, 20}, ""});
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(data.substr((5 << 20) - 10, 20), *range);
}

TEST_F(CephTest, PutFileSingleAndMultipart) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("objstore_putfile_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (size_t size : {size_t{3000}, size_t{(11 << 20) + 7}}) {
    const std::string data = RandomBytes(size, size);
    const std::string path = (dir / "f").string();
    std::ofstream(path, std::ios::binary) << data;
    ASSERT_TRUE(client_->PutFile("file", path).ok()) << size;
    auto got = client_->Get("file");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(data == *got) << size;
  }
  EXPECT_EQ(Code::kIOError, client_->PutFile("file", (dir / "missing").string()).code());
  std::filesystem::remove_all(dir);
}

TEST_F(CephTest, AFailedPartAbortsTheUpload) {
  // A file shorter than the size given: the last part's read fails after others went up; the
  // upload is aborted (an abort failure would show in the message) and no object appears.
  const auto dir = testing::TempDir("abort");
  const std::string path = (dir / "short").string();
  std::ofstream(path, std::ios::binary) << RandomBytes(11 << 20, 3);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Status s = client_->PutFd("short", fd, 16 << 20, path);
  ::close(fd);
  EXPECT_EQ(Code::kIOError, s.code()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("shrank")) << s.ToString();
  EXPECT_EQ(std::string::npos, s.message().find("abort failed")) << s.ToString();
  EXPECT_EQ(Code::kNotFound, client_->Head("short").status().code());
  std::filesystem::remove_all(dir);
}

TEST_F(CephTest, ManyThreadsShareOneClient) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string key = "mt/" + std::to_string(t) + "/" + std::to_string(i);
        const std::string value = key + std::string(static_cast<size_t>(1000 * i), 'v');
        if (!client_->Put(key, value).ok()) ++failures;
        auto got = client_->Get(key);
        if (!got.ok() || *got != value) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(0, failures.load());
  auto all = client_->ListAll("mt/");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(40u, all->size());
}

TEST_F(CephTest, BadCredentialsAreDenied) {
  Credentials unknown{"NOSUCHKEY0000000000", "whatever", "", "test"};
  auto c1 = MakeClient(config_, unknown);
  auto r1 = c1->Get("anything");
  EXPECT_EQ(Code::kPermissionDenied, r1.status().code()) << r1.status().ToString();
  EXPECT_EQ(Code::kPermissionDenied, c1->Put("k", "v").code());

  Credentials wrong_secret = GoodCredentials();
  wrong_secret.secret_access_key += "x";
  auto c2 = MakeClient(config_, wrong_secret);
  Status s = c2->Put("k", "v");
  EXPECT_EQ(Code::kPermissionDenied, s.code()) << s.ToString();
  EXPECT_EQ("SignatureDoesNotMatch", s.tag());
  // Denials are not retried: one attempt, so no "after N attempts" in the message.
  EXPECT_EQ(std::string::npos, s.message().find("attempts"));
}

TEST_F(CephTest, ClosedPortIsUnavailableAfterRetries) {
  // Port 9 (discard) on 127.0.0.1: nothing serves it here, so connections are refused.
  S3Config cfg = config_;
  cfg.endpoint = "http://127.0.0.1:9";
  cfg.retry.max_attempts = 3;
  cfg.retry.base_delay = std::chrono::milliseconds(10);
  cfg.retry.max_delay = std::chrono::milliseconds(40);
  auto c = MakeClient(cfg, GoodCredentials());
  auto r = c->Get("k");
  EXPECT_EQ(Code::kUnavailable, r.status().code()) << r.status().ToString();
  EXPECT_NE(std::string::npos, r.status().message().find("after 3 attempts"));
}

}  // namespace
}  // namespace rwd::objstore
