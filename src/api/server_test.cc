// ApiServer end to end: the real Debian AWS CLI (/usr/bin/aws, v2) and Debian boto3
// (/usr/bin/python3) against a server with a fake handler, plus raw HTTP cases.
#include "api/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "api/credentials.h"
#include "api/test_util.h"
#include "api/timeparse.h"
#include "api/xml.h"
#include "tls/tls.h"

namespace rwd::api {
namespace {

using testing::CommandResult;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

constexpr int64_t kT = 1795600800LL * kNanosPerSecond;     // 2026-11-25T10:00:00Z
constexpr int64_t kCreated = kT - 3600 * kNanosPerSecond;  // 2026-11-25T09:00:00Z

class FakeHandler : public ApiHandler {
 public:
  ApiResult<ApiResponse> Handle(const ApiRequest& req) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = req;
      ++calls_;
    }
    if (req.action == "DescribeDBClusters") {
      std::string id = req.params.GetOr("DBClusterIdentifier", "minimal");
      if (id == "missing") return ApiError::DBClusterNotFound(id);
      XmlWriter w;
      w.Open("DBClusters")
          .Open("DBCluster")
          .Element("DBClusterIdentifier", id)
          .Element("Status", "available")
          .Element("Engine", "aurora-mysql")
          .IntElement("BacktrackWindow", 72000)
          .TimeElement("ClusterCreateTime", kCreated)
          .Close()
          .Close();
      return ApiResponse{std::move(w).Take()};
    }
    if (req.action == "BacktrackDBCluster") {
      API_ASSIGN_OR_RETURN(std::string id, req.params.Required("DBClusterIdentifier"));
      API_ASSIGN_OR_RETURN(std::optional<int64_t> to, req.params.GetTimestamp("BacktrackTo"));
      if (!to) return ApiError::MissingParameter("BacktrackTo");
      XmlWriter w;
      w.Element("DBClusterIdentifier", id)
          .Element("BacktrackIdentifier", "bt-1")
          .TimeElement("BacktrackTo", *to)
          .TimeElement("BacktrackedFrom", kT + 600 * kNanosPerSecond + 123'000'000)
          .TimeElement("BacktrackRequestCreationTime", kT + 600 * kNanosPerSecond)
          .Element("Status", "pending");
      return ApiResponse{std::move(w).Take()};
    }
    if (req.action == "Throw") throw std::runtime_error("boom");
    return ApiError::InvalidAction(req.action);
  }

  ApiRequest last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  ApiRequest last_;
  int calls_ = 0;
};

// The CLI under test: Debian's awscli v2 unless REWIND_TEST_AWS_CLI names another (e.g. a v1).
std::string AwsCli() {
  const char* env = getenv("REWIND_TEST_AWS_CLI");
  return env && *env ? env : "/usr/bin/aws";
}
bool HaveAwsCli() { return access(AwsCli().c_str(), X_OK) == 0; }
// v2 re-formats response timestamps; v1 (cli_timestamp_format=none) prints the XML text.
std::string CliTime(const std::string& v2, const std::string& v1) {
  return AwsCli() == "/usr/bin/aws" ? v2 : v1;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Credentials> c = GenerateCredentials();
    ASSERT_TRUE(c.ok());
    creds_ = *c;
    ASSERT_TRUE(WriteCredentialsFile(dir_.path(), creds_).ok());
    ApiServerOptions opts;
    opts.credentials = SingleKeyLookup(creds_);
    opts.on_call = [this](const ApiCallRecord& r) {
      std::lock_guard<std::mutex> lock(mu_);
      records_.push_back(r);
    };
    server_ = std::make_unique<ApiServer>(std::move(opts), &handler_);
    server_->SetMetricsHandler([] { return std::string("rewind_up 1\n"); });
    server_->AddGetHandler("/console/", [](const HttpRequestInfo& r) {
      HttpResponse out;
      out.content_type = "text/html; charset=utf-8";
      out.body = "<p>" + r.path + " q=" + r.query.GetOr("q", "") + "</p>";
      return out;
    });
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_GT(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Runs /usr/bin/aws (Debian awscli v2) with a clean environment.
  CommandResult Aws(const std::string& args, const std::string& creds_file,
                    const std::string& region = "us-east-1") {
    TempDir home;
    return RunShell("env -i HOME=" + ShellQuote(home.path()) +
                        " PATH=/usr/bin:/bin LANG=C.UTF-8 AWS_SHARED_CREDENTIALS_FILE=" +
                        ShellQuote(creds_file) +
                        " AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER= " +
                        AwsCli() + " --profile rewind --region " + region + " --endpoint-url " +
                        server_->endpoint_url() + " --output json " + args,
                    home.path());
  }

  std::string CredsFile() const { return CredentialsPath(dir_.path()); }

  // A POST / signed with our signer (or unsigned), through httplib's client.
  httplib::Result Post(const std::string& body, bool sign = true, int64_t now = 0) {
    httplib::Client cli("127.0.0.1", server_->port());
    cli.set_tcp_nodelay(true);
    std::string host = "127.0.0.1:" + std::to_string(server_->port());
    const std::string content_type = "application/x-www-form-urlencoded; charset=utf-8";
    httplib::Headers headers = {{"Host", host}};
    if (sign) {
      SigV4SignInput in;
      in.headers = {{"Host", host}, {"Content-Type", content_type}};
      in.body = body;
      in.access_key_id = creds_.access_key_id;
      in.secret_access_key = creds_.secret_access_key;
      in.now_ns = now != 0 ? now : NowNs();
      for (auto& [k, v] : SignSigV4(in)) headers.emplace(k, v);
    }
    return cli.Post("/", headers, body, content_type.c_str());
  }

  static void ExpectError(const httplib::Result& r, int status, const std::string& code) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(status, r->status) << r->body;
    EXPECT_NE(std::string::npos, r->body.find("<Code>" + code + "</Code>")) << r->body;
    std::string rid = r->get_header_value("x-amzn-RequestId");
    EXPECT_EQ(36u, rid.size());
    EXPECT_NE(std::string::npos, r->body.find("<RequestId>" + rid + "</RequestId>")) << r->body;
    EXPECT_EQ("text/xml", r->get_header_value("Content-Type"));
  }

  TempDir dir_;
  Credentials creds_;
  FakeHandler handler_;
  std::unique_ptr<ApiServer> server_;
  std::mutex mu_;
  std::vector<ApiCallRecord> records_;
};

TEST_F(ApiServerTest, AwsCliDescribeDBClusters) {
  ASSERT_TRUE(HaveAwsCli()) << AwsCli() << " (Debian package awscli) is required";
  CommandResult r = Aws("rds describe-db-clusters", CredsFile());
  ASSERT_EQ(0, r.exit_code) << "stdout: " << r.out << "\nstderr: " << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(1u, j["DBClusters"].size()) << r.out;
  EXPECT_EQ("minimal", j["DBClusters"][0]["DBClusterIdentifier"]);
  EXPECT_EQ("available", j["DBClusters"][0]["Status"]);
  EXPECT_EQ(72000, j["DBClusters"][0]["BacktrackWindow"]);
  EXPECT_EQ(CliTime("2026-11-25T09:00:00+00:00", "2026-11-25T09:00:00Z"),
            j["DBClusters"][0]["ClusterCreateTime"]);

  ApiRequest last = handler_.last();
  EXPECT_EQ("DescribeDBClusters", last.action);
  EXPECT_EQ("2014-10-31", last.version);
  EXPECT_EQ(creds_.access_key_id, last.identity.access_key_id);
  EXPECT_EQ("us-east-1", last.identity.region);
  EXPECT_EQ(36u, last.request_id.size());
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_FALSE(records_.empty());
  EXPECT_EQ(200, records_.back().http_status);
  EXPECT_EQ("DescribeDBClusters", records_.back().action);
  EXPECT_EQ("", records_.back().error_code);
}

TEST_F(ApiServerTest, AwsCliOtherRegionAndParameters) {
  ASSERT_TRUE(HaveAwsCli()) << AwsCli() << " (Debian package awscli) is required";
  CommandResult r =
      Aws("rds describe-db-clusters --db-cluster-identifier demo --filters "
          "Name=engine,Values=aurora-mysql,aurora-postgresql",
          CredsFile(), "eu-west-1");
  ASSERT_EQ(0, r.exit_code) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ("demo", j["DBClusters"][0]["DBClusterIdentifier"]) << r.out;
  ApiRequest last = handler_.last();
  EXPECT_EQ("eu-west-1", last.identity.region);
  ApiResult<std::vector<Filter>> filters = last.params.GetFilters();
  ASSERT_TRUE(filters.ok());
  ASSERT_EQ(1u, filters->size());
  EXPECT_EQ((std::vector<std::string>{"aurora-mysql", "aurora-postgresql"}), (*filters)[0].values);
}

TEST_F(ApiServerTest, AwsCliBacktrack) {
  ASSERT_TRUE(HaveAwsCli()) << AwsCli() << " (Debian package awscli) is required";
  CommandResult r =
      Aws("rds backtrack-db-cluster --db-cluster-identifier demo --backtrack-to "
          "2026-11-25T12:00:00+02:00",
          CredsFile());
  ASSERT_EQ(0, r.exit_code) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ("demo", j["DBClusterIdentifier"]) << r.out;
  EXPECT_EQ("pending", j["Status"]);
  EXPECT_EQ(CliTime("2026-11-25T10:00:00+00:00", "2026-11-25T10:00:00Z"), j["BacktrackTo"]);
  EXPECT_EQ(CliTime("2026-11-25T10:10:00.123000+00:00", "2026-11-25T10:10:00.123Z"),
            j["BacktrackedFrom"]);
  ApiRequest last = handler_.last();
  EXPECT_EQ("2026-11-25T10:00:00Z", last.params.GetOr("BacktrackTo", ""));
}

TEST_F(ApiServerTest, AwsCliErrors) {
  ASSERT_TRUE(HaveAwsCli()) << AwsCli() << " (Debian package awscli) is required";
  CommandResult r = Aws("rds describe-db-clusters --db-cluster-identifier missing", CredsFile());
  EXPECT_EQ(AwsCli() == "/usr/bin/aws" ? 254 : 255, r.exit_code) << r.err;  // v2 : v1
  EXPECT_NE(std::string::npos,
            r.err.find("An error occurred (DBClusterNotFoundFault) when calling the "
                       "DescribeDBClusters operation: DBCluster missing not found."))
      << r.err;

  // Same access key, wrong secret.
  TempDir other;
  Credentials wrong = creds_;
  wrong.secret_access_key[0] = wrong.secret_access_key[0] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(WriteCredentialsFile(other.path(), wrong).ok());
  int calls_before = handler_.calls();
  r = Aws("rds describe-db-clusters", CredentialsPath(other.path()));
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.err.find("SignatureDoesNotMatch")) << r.err;

  // Unknown access key.
  Result<Credentials> stranger = GenerateCredentials();
  ASSERT_TRUE(WriteCredentialsFile(other.path(), *stranger).ok());
  r = Aws("rds describe-db-clusters", CredentialsPath(other.path()));
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.err.find("InvalidClientTokenId")) << r.err;
  EXPECT_EQ(calls_before, handler_.calls());  // rejected before reaching the handler
}

constexpr char kBoto3Py[] = R"PY(
import json, sys
import boto3, botocore
from botocore.exceptions import ClientError
endpoint, akid, secret = sys.argv[1], sys.argv[2], sys.argv[3]
def client(s):
    return boto3.client('rds', endpoint_url=endpoint, region_name='us-east-1',
                        aws_access_key_id=akid, aws_secret_access_key=s)
out = {}
rds = client(secret)
d = rds.describe_db_clusters()
out['clusters'] = [{'id': c['DBClusterIdentifier'], 'status': c['Status'],
                    'created': c['ClusterCreateTime'].isoformat()} for c in d['DBClusters']]
out['request_id'] = d['ResponseMetadata']['RequestId']
try:
    rds.describe_db_clusters(DBClusterIdentifier='missing')
except rds.exceptions.DBClusterNotFoundFault as e:
    out['not_found'] = e.response['Error']
try:
    client(secret[:-1] + ('x' if secret[-1] != 'x' else 'y')).describe_db_clusters()
except ClientError as e:
    out['wrong_secret'] = e.response['Error']['Code']
    out['wrong_secret_status'] = e.response['ResponseMetadata']['HTTPStatusCode']
print(json.dumps(out))
)PY";

TEST_F(ApiServerTest, Boto3) {
  TempDir tmp;
  CommandResult probe = RunShell("/usr/bin/python3 -c 'import boto3'", tmp.path());
  ASSERT_EQ(0, probe.exit_code) << "/usr/bin/python3 with Debian's boto3 (apt python3-boto3) is "
                                   "required: "
                                << probe.err;
  WriteFile(tmp.File("t.py"), kBoto3Py);
  CommandResult r =
      RunShell("env -i HOME=" + ShellQuote(tmp.path()) +
                   " PATH=/usr/bin:/bin AWS_CONFIG_FILE=/dev/null "
                   "AWS_SHARED_CREDENTIALS_FILE=/dev/null "
                   "AWS_EC2_METADATA_DISABLED=true /usr/bin/python3 " +
                   ShellQuote(tmp.File("t.py")) + " " + server_->endpoint_url() + " " +
                   creds_.access_key_id + " " + ShellQuote(creds_.secret_access_key),
               tmp.path());
  ASSERT_EQ(0, r.exit_code) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ("minimal", j["clusters"][0]["id"]);
  EXPECT_EQ("available", j["clusters"][0]["status"]);
  EXPECT_EQ("2026-11-25T09:00:00+00:00", j["clusters"][0]["created"]);
  EXPECT_EQ(36u, j["request_id"].get<std::string>().size());
  EXPECT_EQ("Sender", j["not_found"]["Type"]);
  EXPECT_EQ("DBClusterNotFoundFault", j["not_found"]["Code"]);
  EXPECT_EQ("DBCluster missing not found.", j["not_found"]["Message"]);
  EXPECT_EQ("SignatureDoesNotMatch", j["wrong_secret"]);
  EXPECT_EQ(403, j["wrong_secret_status"]);
}

TEST_F(ApiServerTest, RawProtocolErrors) {
  ExpectError(Post("Action=DescribeDBClusters&Version=2014-10-31", /*sign=*/false), 403,
              "MissingAuthenticationToken");
  ExpectError(Post("Version=2014-10-31"), 400, "MissingAction");
  ExpectError(Post("Action=DescribeDBClusters"), 400, "MissingParameter");
  ExpectError(Post("Action=DescribeDBClusters&Version=2013-01-10"), 400, "InvalidParameterValue");
  ExpectError(Post("Action=NoSuchThing&Version=2014-10-31"), 400, "InvalidAction");
  ExpectError(Post("Action=Bad%3CAction%3E&Version=2014-10-31"), 400, "InvalidAction");
  ExpectError(Post("Action=DescribeDBClusters&Version=2014-10-31&X=%zz"), 404,
              "MalformedQueryString");
  ExpectError(Post("Action=Throw&Version=2014-10-31"), 500, "InternalFailure");
  ExpectError(Post("Action=BacktrackDBCluster&Version=2014-10-31&DBClusterIdentifier=d&"
                   "BacktrackTo=yesterday"),
              400, "InvalidParameterValue");
  ExpectError(Post("Action=DescribeDBClusters&Version=2014-10-31", true,
                   NowNs() - 20 * 60 * kNanosPerSecond),
              403, "RequestExpired");

  httplib::Result ok = Post("Action=DescribeDBClusters&Version=2014-10-31");
  ASSERT_TRUE(ok);
  EXPECT_EQ(200, ok->status);
  std::string rid = ok->get_header_value("x-amzn-RequestId");
  EXPECT_EQ(0u, ok->body.find("<DescribeDBClustersResponse xmlns=\"http://rds.amazonaws.com/doc/"
                              "2014-10-31/\"><DescribeDBClustersResult><DBClusters>"))
      << ok->body;
  EXPECT_NE(std::string::npos,
            ok->body.find("<ResponseMetadata><RequestId>" + rid + "</RequestId>"));

  // A body over the limit is refused, still with a request id.
  httplib::Result big =
      Post("Action=DescribeDBClusters&Version=2014-10-31&Pad=" + std::string(2 << 20, 'x'));
  ASSERT_TRUE(big);
  EXPECT_EQ(413, big->status);
  EXPECT_EQ(36u, big->get_header_value("x-amzn-RequestId").size());
}

TEST_F(ApiServerTest, GetRoutes) {
  httplib::Client cli("127.0.0.1", server_->port());
  httplib::Result m = cli.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(200, m->status);
  EXPECT_EQ("rewind_up 1\n", m->body);
  EXPECT_EQ("text/plain; version=0.0.4; charset=utf-8", m->get_header_value("Content-Type"));
  EXPECT_EQ(36u, m->get_header_value("x-amzn-RequestId").size());

  httplib::Result c = cli.Get("/console/clusters/demo?q=a%20b");
  ASSERT_TRUE(c);
  EXPECT_EQ(200, c->status);
  EXPECT_EQ("<p>/console/clusters/demo q=a b</p>", c->body);

  for (const char* path : {"/nope", "/metricsx", "/console"}) {
    httplib::Result n = cli.Get(path);
    ASSERT_TRUE(n) << path;
    EXPECT_EQ(404, n->status) << path;
    EXPECT_EQ(36u, n->get_header_value("x-amzn-RequestId").size()) << path;
  }
  // Only POST / is the API.
  httplib::Result p = cli.Post("/other", "Action=X", "application/x-www-form-urlencoded");
  ASSERT_TRUE(p);
  EXPECT_EQ(404, p->status);
}

TEST_F(ApiServerTest, BindConflictAndLifecycle) {
  FakeHandler h;
  ApiServerOptions opts;
  opts.credentials = SingleKeyLookup(creds_);
  opts.port = server_->port();
  ApiServer second(opts, &h);
  Status st = second.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(Status::Code::kUnavailable, st.code());
  EXPECT_NE(std::string::npos, st.message().find("127.0.0.1:" + std::to_string(opts.port)))
      << st.ToString();
  second.Stop();  // harmless after a failed Start

  EXPECT_EQ(Status::Code::kFailedPrecondition, server_->Start().code());
  server_->Stop();
  server_->Stop();  // idempotent
  httplib::Client cli("127.0.0.1", opts.port);
  cli.set_connection_timeout(1, 0);
  EXPECT_FALSE(cli.Get("/metrics"));  // no longer listening

  ApiServer no_creds(ApiServerOptions{}, &h);
  EXPECT_EQ(Status::Code::kInvalidArgument, no_creds.Start().code());
  ApiServerOptions with_creds;
  with_creds.credentials = SingleKeyLookup(creds_);
  ApiServer no_handler(with_creds, nullptr);
  EXPECT_EQ(Status::Code::kInvalidArgument, no_handler.Start().code());
  ApiServerOptions bad_host = with_creds;
  bad_host.host = "203.0.113.1";  // TEST-NET-3: not a local address
  ApiServer unbindable(bad_host, &h);
  EXPECT_EQ(Status::Code::kUnavailable, unbindable.Start().code());
}

TEST_F(ApiServerTest, ConcurrentCalls) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {  // more clients than worker threads
    threads.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        httplib::Result r = Post("Action=DescribeDBClusters&Version=2014-10-31");
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(160, ok.load());
}

// HTTPS with a certificate from a test CA: the Debian aws CLI with --ca-bundle and httplib's
// verifying client succeed; a client that does not trust the CA, or speaks plain HTTP, fails.
TEST(ApiServerHttps, ServesTlsThatVerifiesAgainstTheCaBundle) {
  ASSERT_TRUE(HaveAwsCli()) << AwsCli() << " (Debian package awscli) is required";
  TempDir dir;
  const int64_t now_s = NowNs() / kNanosPerSecond;
  Result<tls::CertificateAuthority> ca = tls::CertificateAuthority::Create("API test CA", now_s);
  ASSERT_TRUE(ca.ok()) << ca.status().ToString();
  Result<tls::ServerCertFiles> files =
      tls::EnsureServerCertificate(*ca, dir.File("tls"), {"127.0.0.1"}, {}, now_s);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  Result<Credentials> creds = GenerateCredentials();
  ASSERT_TRUE(creds.ok());
  ASSERT_TRUE(WriteCredentialsFile(dir.path(), *creds).ok());

  FakeHandler handler;
  ApiServerOptions opts;
  opts.credentials = SingleKeyLookup(*creds);
  opts.tls_cert_file = files->cert_path;
  opts.tls_key_file = files->key_path;
  ApiServer server(opts, &handler);
  server.SetMetricsHandler([] { return std::string("rewind_up 1\n"); });
  Status st = server.Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string url = server.endpoint_url();
  EXPECT_EQ("https://127.0.0.1:" + std::to_string(server.port()), url);

  auto aws = [&](const std::string& extra) {
    TempDir home;
    return RunShell("env -i HOME=" + ShellQuote(home.path()) +
                        " PATH=/usr/bin:/bin LANG=C.UTF-8 AWS_SHARED_CREDENTIALS_FILE=" +
                        ShellQuote(CredentialsPath(dir.path())) +
                        " AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER= " +
                        AwsCli() + " --profile rewind --region us-east-1 --output json " + extra +
                        " rds describe-db-clusters",
                    home.path());
  };
  CommandResult r = aws("--endpoint-url " + url + " --ca-bundle " + ShellQuote(files->ca_path));
  ASSERT_EQ(0, r.exit_code) << r.err;
  EXPECT_NE(std::string::npos, r.out.find("\"minimal\"")) << r.out;
  r = aws("--endpoint-url " + url);  // the system's CAs do not know the test CA
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.err.find("SSL")) << r.err;
  r = aws("--endpoint-url http://127.0.0.1:" + std::to_string(server.port()) +
          " --cli-read-timeout 5 --cli-connect-timeout 5");
  EXPECT_NE(0, r.exit_code);

  httplib::Client trusted(url);
  trusted.set_ca_cert_path(files->ca_path);
  trusted.enable_server_certificate_verification(true);
  httplib::Result got = trusted.Get("/metrics");
  ASSERT_TRUE(got) << httplib::to_string(got.error());
  EXPECT_EQ(200, got->status);
  EXPECT_EQ("rewind_up 1\n", got->body);
  httplib::Client untrusted(url);
  untrusted.set_ca_cert_path(dir.File("tls/server-cert.pem"));  // not a CA
  untrusted.enable_server_certificate_verification(true);
  got = untrusted.Get("/metrics");
  EXPECT_FALSE(got);
  httplib::Client plain("http://127.0.0.1:" + std::to_string(server.port()));
  plain.set_read_timeout(5, 0);
  got = plain.Get("/metrics");
  EXPECT_FALSE(got && got->status == 200);
}

TEST(ApiServerHttps, RefusesToStartWithBadCertificateFiles) {
  TempDir dir;
  const int64_t now_s = NowNs() / kNanosPerSecond;
  Result<tls::CertificateAuthority> ca = tls::CertificateAuthority::Create("API test CA", now_s);
  ASSERT_TRUE(ca.ok());
  auto good = tls::EnsureServerCertificate(*ca, dir.File("a"), {"127.0.0.1"}, {}, now_s);
  auto other = tls::EnsureServerCertificate(*ca, dir.File("b"), {"127.0.0.1"}, {}, now_s);
  ASSERT_TRUE(good.ok() && other.ok());
  Result<Credentials> creds = GenerateCredentials();
  ASSERT_TRUE(creds.ok());
  FakeHandler handler;
  auto start = [&](const std::string& cert, const std::string& key) {
    ApiServerOptions opts;
    opts.credentials = SingleKeyLookup(*creds);
    opts.tls_cert_file = cert;
    opts.tls_key_file = key;
    ApiServer server(opts, &handler);
    return server.Start();
  };
  Status st = start(dir.File("missing.pem"), good->key_path);
  EXPECT_EQ(Status::Code::kNotFound, st.code());
  EXPECT_NE(std::string::npos, st.message().find(dir.File("missing.pem"))) << st.ToString();
  st = start(good->cert_path, other->key_path);
  EXPECT_EQ(Status::Code::kInvalidArgument, st.code());
  EXPECT_NE(std::string::npos, st.message().find("does not belong")) << st.ToString();
  st = start(good->cert_path, "");
  EXPECT_EQ(Status::Code::kInvalidArgument, st.code());
  EXPECT_TRUE(start(good->cert_path, good->key_path).ok());
}

}  // namespace
}  // namespace rwd::api
