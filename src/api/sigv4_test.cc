// SigV4 verification against real signatures: fixtures are produced at test time by Debian's
// botocore (/usr/bin/python3, botocore.auth.SigV4Auth + botocore.awsrequest.AWSRequest) with a
// known key and a pinned clock, then verified here.
#include "api/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "api/test_util.h"
#include "api/timeparse.h"

namespace rwd::api {
namespace {

using testing::CommandResult;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

constexpr char kAkid[] = "AKIAREWINDTEST000001";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
// The pinned signing time: 2026-11-25T08:32:23Z.
constexpr int64_t kSignedAt = 1795595543LL * kNanosPerSecond;

// Signs each case of a JSON list with botocore; prints a JSON list of
// {target, headers, body, canonical_request, string_to_sign}.
constexpr char kSignerPy[] = R"PY(
import datetime, json, sys
from urllib.parse import urlsplit
import botocore, botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

class PinnedDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return cls(2026, 11, 25, 8, 32, 23)
botocore.auth.datetime.datetime = PinnedDateTime

class Capturing(SigV4Auth):
    def canonical_request(self, request):
        self.cr = super().canonical_request(request)
        return self.cr
    def string_to_sign(self, request, canonical_request):
        self.sts = super().string_to_sign(request, canonical_request)
        return self.sts

cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    req = AWSRequest(method=c['method'], url=c['url'], data=c['body'].encode('utf-8'),
                     headers=c['headers'], params=c.get('params') or {})
    signer = Capturing(Credentials(c['akid'], c['secret']), c['service'], c['region'])
    signer.add_auth(req)
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path or '/'
    if parts.query:
        target += '?' + parts.query
    headers = [[k, v] for k, v in prepared.headers.items()]
    headers.append(['Host', parts.netloc])
    out.append({'target': target, 'method': prepared.method, 'headers': headers,
                'body': c['body'], 'canonical_request': signer.cr,
                'string_to_sign': signer.sts, 'botocore': botocore.__version__})
print(json.dumps(out))
)PY";

struct Fixture {
  std::string name;
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string canonical_request;
  std::string string_to_sign;
  std::string region;

  SigV4Request View() const {
    SigV4Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    for (const auto& [k, v] : headers) r.headers.emplace_back(k, v);
    return r;
  }
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return v;
      }
    }
    return "";
  }
  void SetHeader(std::string_view name, std::string value) {
    for (auto& [k, v] : headers) {
      if (std::equal(k.begin(), k.end(), name.begin(), name.end(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        v = std::move(value);
        return;
      }
    }
    headers.emplace_back(std::string(name), std::move(value));
  }
  void RemoveHeader(std::string_view name) {
    std::erase_if(headers, [&](const auto& h) {
      return std::equal(h.first.begin(), h.first.end(), name.begin(), name.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
  }
};

class ApiSigV4BotocoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixtures_ = new std::vector<Fixture>();
    error_ = new std::string();
    TempDir dir;
    CommandResult probe = RunShell("/usr/bin/python3 -c 'import botocore.auth'", dir.path());
    if (probe.exit_code != 0) {
      *error_ =
          "/usr/bin/python3 with Debian's botocore (apt python3-botocore) is required to "
          "produce SigV4 fixtures; probe failed (exit " +
          std::to_string(probe.exit_code) + "): " + probe.err;
      return;
    }
    nlohmann::json cases = nlohmann::json::array();
    auto add = [&](const std::string& name, const std::string& method, const std::string& url,
                   const std::string& body, nlohmann::json headers, const std::string& region,
                   nlohmann::json params = nlohmann::json::object()) {
      cases.push_back({{"name", name},
                       {"method", method},
                       {"url", url},
                       {"body", body},
                       {"headers", headers},
                       {"region", region},
                       {"params", params},
                       {"akid", kAkid},
                       {"secret", kSecret},
                       {"service", "rds"}});
    };
    const nlohmann::json form = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    add("describe", "POST", "http://127.0.0.1:18080/",
        "Action=DescribeDBClusters&Version=2014-10-31&DBClusterIdentifier=demo", form, "us-east-1");
    add("backtrack-eu", "POST", "http://127.0.0.1:18080/",
        "Action=BacktrackDBCluster&Version=2014-10-31&DBClusterIdentifier=demo&BacktrackTo=2026-"
        "11-25T10%3A00%3A00Z",
        form, "eu-west-1");
    add("utf8-body", "POST", "http://localhost:9999/",
        "Action=CreateDBCluster&Version=2014-10-31&Tags.Tag.1.Key=caf%C3%A9&Tags.Tag.1.Value="
        "\xE2\x82\xAC",
        form, "ap-southeast-2");
    add("odd-path-and-query", "GET", "http://127.0.0.1:18080/some/./path//x/../y%20z/", "",
        {{"X-Custom", "  spaced   out\tvalue  "}, {"X-Another", "b"}}, "us-west-2",
        {{"b", "two words"}, {"a", "x/y~z*"}, {"a2", ""}, {"Action", "DescribeDBClusters"}});
    add("empty-body", "POST", "http://127.0.0.1:18080/", "", form, "us-east-1");

    WriteFile(dir.File("signer.py"), kSignerPy);
    WriteFile(dir.File("cases.json"), cases.dump());
    CommandResult r =
        RunShell("env -i PATH=/usr/bin:/bin /usr/bin/python3 " + ShellQuote(dir.File("signer.py")) +
                     " " + ShellQuote(dir.File("cases.json")),
                 dir.path());
    if (r.exit_code != 0) {
      *error_ = "botocore signer failed (exit " + std::to_string(r.exit_code) + "): " + r.err;
      return;
    }
    nlohmann::json out = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    if (!out.is_array() || out.size() != cases.size()) {
      *error_ = "unexpected signer output: " + r.out;
      return;
    }
    for (size_t i = 0; i < out.size(); ++i) {
      Fixture f;
      f.name = cases[i]["name"];
      f.region = cases[i]["region"];
      f.method = out[i]["method"];
      f.target = out[i]["target"];
      f.body = out[i]["body"];
      f.canonical_request = out[i]["canonical_request"];
      f.string_to_sign = out[i]["string_to_sign"];
      for (const auto& h : out[i]["headers"]) f.headers.emplace_back(h[0], h[1]);
      fixtures_->push_back(std::move(f));
    }
  }
  static void TearDownTestSuite() {
    delete fixtures_;
    delete error_;
  }

  void SetUp() override { ASSERT_TRUE(error_->empty()) << *error_; }

  const Fixture& Get(const std::string& name) {
    for (const Fixture& f : *fixtures_) {
      if (f.name == name) return f;
    }
    ADD_FAILURE() << "no fixture " << name;
    return fixtures_->front();
  }

  static SecretLookup Lookup(std::string secret = kSecret) {
    return [secret](std::string_view akid) -> std::optional<std::string> {
      if (akid == kAkid) return secret;
      return std::nullopt;
    };
  }

  static std::vector<Fixture>* fixtures_;
  static std::string* error_;
};

std::vector<Fixture>* ApiSigV4BotocoreTest::fixtures_ = nullptr;
std::string* ApiSigV4BotocoreTest::error_ = nullptr;

TEST_F(ApiSigV4BotocoreTest, VerifiesEveryBotocoreSignature) {
  ASSERT_EQ(5u, fixtures_->size());
  for (const Fixture& f : *fixtures_) {
    SCOPED_TRACE(f.name);
    ApiResult<SigV4Authorization> auth = ParseSigV4Authorization(f.Header("Authorization"));
    ASSERT_TRUE(auth.ok()) << auth.error().ToString();
    // Same canonical request and string to sign as botocore, byte for byte.
    EXPECT_EQ(f.canonical_request,
              SigV4CanonicalRequest(f.View(), auth->signed_headers, Sha256Hex(f.body)));
    EXPECT_EQ(f.string_to_sign,
              SigV4StringToSign(f.Header("X-Amz-Date"),
                                "20261125/" + f.region + "/rds/aws4_request", f.canonical_request));
    ApiResult<SigV4Identity> id = VerifySigV4(f.View(), Lookup(), kSignedAt);
    ASSERT_TRUE(id.ok()) << id.error().ToString();
    EXPECT_EQ(kAkid, id->access_key_id);
    EXPECT_EQ(f.region, id->region);  // any region is accepted and echoed
    EXPECT_EQ("rds", id->service);
    EXPECT_EQ(kSignedAt, id->signed_at_ns);
  }
}

TEST_F(ApiSigV4BotocoreTest, OurSignerMatchesBotocore) {
  const Fixture& f = Get("describe");
  SigV4SignInput in;
  in.method = "POST";
  in.target = "/";
  in.headers = {{"Host", "127.0.0.1:18080"},
                {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                {"User-Agent", "rewind-test"}};
  in.body = f.body;
  in.access_key_id = kAkid;
  in.secret_access_key = kSecret;
  in.region = "us-east-1";
  in.now_ns = kSignedAt;
  auto added = SignSigV4(in);
  ASSERT_EQ(2u, added.size());
  EXPECT_EQ("X-Amz-Date", added[0].first);
  EXPECT_EQ("20261125T083223Z", added[0].second);
  EXPECT_EQ("Authorization", added[1].first);
  EXPECT_EQ(f.Header("Authorization"), added[1].second);
}

TEST_F(ApiSigV4BotocoreTest, UnknownAccessKey) {
  Fixture f = Get("describe");
  auto other = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  ApiResult<SigV4Identity> r = VerifySigV4(f.View(), other, kSignedAt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(403, r.error().http_status);
  EXPECT_EQ("InvalidClientTokenId", r.error().code);
}

TEST_F(ApiSigV4BotocoreTest, WrongSecret) {
  Fixture f = Get("describe");
  ApiResult<SigV4Identity> r =
      VerifySigV4(f.View(), Lookup("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"), kSignedAt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(403, r.error().http_status);
  EXPECT_EQ("SignatureDoesNotMatch", r.error().code);
}

TEST_F(ApiSigV4BotocoreTest, TamperedBodyHeaderPathOrMethod) {
  for (int variant = 0; variant < 5; ++variant) {
    SCOPED_TRACE(variant);
    Fixture f = Get("backtrack-eu");
    switch (variant) {
      case 0:
        f.body.back() = '1';
        break;  // body
      case 1:
        f.SetHeader("Content-Type", "text/plain");
        break;  // a signed header
      case 2:
        f.target = "/other";
        break;  // path
      case 3:
        f.method = "PUT";
        break;  // method
      case 4:
        f.SetHeader("Host", "127.0.0.1:18081");
        break;  // host
    }
    ApiResult<SigV4Identity> r = VerifySigV4(f.View(), Lookup(), kSignedAt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(403, r.error().http_status);
    EXPECT_EQ("SignatureDoesNotMatch", r.error().code);
  }
  // An unsigned header may change freely.
  Fixture f = Get("backtrack-eu");
  f.SetHeader("User-Agent", "something else");
  EXPECT_TRUE(VerifySigV4(f.View(), Lookup(), kSignedAt).ok());
}

TEST_F(ApiSigV4BotocoreTest, ClockSkew) {
  const Fixture& f = Get("describe");
  const int64_t min = 60 * kNanosPerSecond;
  EXPECT_TRUE(VerifySigV4(f.View(), Lookup(), kSignedAt + 14 * min).ok());
  EXPECT_TRUE(VerifySigV4(f.View(), Lookup(), kSignedAt - 14 * min).ok());
  for (int64_t now : {kSignedAt + 16 * min, kSignedAt - 16 * min, kSignedAt + 24 * 60 * min}) {
    ApiResult<SigV4Identity> r = VerifySigV4(f.View(), Lookup(), now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(403, r.error().http_status);
    EXPECT_EQ("RequestExpired", r.error().code);
    EXPECT_NE(std::string::npos, r.error().message.find("20261125T083223Z")) << r.error().message;
  }
  SigV4Options loose;
  loose.max_skew_ns = 60 * min;
  EXPECT_TRUE(VerifySigV4(f.View(), Lookup(), kSignedAt + 30 * min, loose).ok());
}

TEST_F(ApiSigV4BotocoreTest, MissingOrGarbledAuthorization) {
  struct Case {
    std::function<void(Fixture&)> mutate;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {[](Fixture& f) { f.RemoveHeader("Authorization"); }, 403, "MissingAuthenticationToken"},
      {[](Fixture& f) { f.SetHeader("Authorization", "Bearer abc"); }, 400, "IncompleteSignature"},
      {[](Fixture& f) { f.SetHeader("Authorization", "AWS AKIA:c2ln"); }, 400,
       "IncompleteSignature"},
      {[](Fixture& f) {
         std::string a = f.Header("Authorization");
         f.SetHeader("Authorization", a.substr(0, a.find(", Signature=")));
       },
       400, "IncompleteSignature"},
      {[](Fixture& f) {
         f.SetHeader("Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(kAkid) +
                                          "/20261125/us-east-1, SignedHeaders=host, Signature=00");
       },
       400, "IncompleteSignature"},
      {[](Fixture& f) { f.RemoveHeader("X-Amz-Date"); }, 400, "IncompleteSignature"},
      {[](Fixture& f) { f.SetHeader("X-Amz-Date", "2026-11-25T08:32:23Z"); }, 400,
       "IncompleteSignature"},
      {[](Fixture& f) {
         std::string a = f.Header("Authorization");
         size_t p = a.find("content-type;host;x-amz-date");
         f.SetHeader("Authorization", a.replace(p, 28, "content-type;x-amz-date"));
       },
       400, "IncompleteSignature"},
      // Scope for another service, another day, or a bad terminator.
      {[](Fixture& f) {
         std::string a = f.Header("Authorization");
         f.SetHeader("Authorization", a.replace(a.find("/rds/"), 5, "/ec2/"));
       },
       403, "SignatureDoesNotMatch"},
      {[](Fixture& f) {
         std::string a = f.Header("Authorization");
         f.SetHeader("Authorization", a.replace(a.find("/20261125/"), 10, "/20261124/"));
       },
       403, "SignatureDoesNotMatch"},
      {[](Fixture& f) {
         std::string a = f.Header("Authorization");
         f.SetHeader("Authorization", a.replace(a.find("aws4_request"), 12, "aws4_reqxxxx"));
       },
       403, "SignatureDoesNotMatch"},
      {[](Fixture& f) {
         std::string a = f.Header("Authorization");
         f.SetHeader("Authorization", a.substr(0, a.size() - 1) + (a.back() == '0' ? "1" : "0"));
       },
       403, "SignatureDoesNotMatch"},
      {[](Fixture& f) { f.SetHeader("X-Amz-Content-SHA256", Sha256Hex("other")); }, 400,
       "XAmzContentSHA256Mismatch"},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(i++);
    Fixture f = Get("describe");
    c.mutate(f);
    ApiResult<SigV4Identity> r = VerifySigV4(f.View(), Lookup(), kSignedAt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(c.status, r.error().http_status) << r.error().ToString();
    EXPECT_EQ(c.code, r.error().code) << r.error().ToString();
  }
}

TEST(ApiSigV4, SignAndVerifyRoundTrip) {
  SigV4SignInput in;
  in.target = "/?x=1&a=b%20c";
  in.headers = {{"Host", "127.0.0.1:1"},
                {"Content-Type", "application/x-www-form-urlencoded"},
                {"X-Amz-Content-SHA256", Sha256Hex("Action=X")}};
  in.body = "Action=X";
  in.access_key_id = "AKIAX";
  in.secret_access_key = "secret";
  in.region = "local";
  in.now_ns = 1795595543LL * kNanosPerSecond;
  auto added = SignSigV4(in);
  SigV4Request req;
  req.method = in.method;
  req.target = in.target;
  req.body = in.body;
  for (const auto& [k, v] : in.headers) req.headers.emplace_back(k, v);
  for (const auto& [k, v] : added) req.headers.emplace_back(k, v);
  auto lookup = [](std::string_view k) -> std::optional<std::string> {
    if (k == "AKIAX") return "secret";
    return std::nullopt;
  };
  ApiResult<SigV4Identity> id = VerifySigV4(req, lookup, in.now_ns);
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ("local", id->region);
}

TEST(ApiSigV4, Primitives) {
  // RFC 4231 test case 2.
  EXPECT_EQ("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")));
  EXPECT_EQ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Sha256Hex(""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  // The AWS documentation's signing-key example (secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
  // 20120215/us-east-1/iam).
  EXPECT_EQ("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
            HexEncode(SigV4SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                      "us-east-1", "iam")));
}

}  // namespace
}  // namespace rwd::api
