// The console's HTTP gate and JSON API over a real ClusterService (an empty data dir: no
// cluster, so no mount and no mariadbd).
#include "console/console.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/test_util.h"

namespace rwd::console {
namespace {

using nlohmann::json;
const api::Credentials kCreds{"AKIAABCDEFGHIJKLMNOP", "abcdefghijklmnopqrstuvwxyz0123456789+/AB"};

std::string HeaderOf(const api::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0, ::chmod(dir_.path().c_str(), 0711)) << std::strerror(errno);
    cluster::ServiceOptions o;
    o.data_dir = dir_.path() + "/data";
    o.first_port = 47100;
    o.clean_interval_ms = 0;
    auto s = cluster::ClusterService::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(s).value();
    cluster::TimeTravelOptions tto;
    tto.data_dir = o.data_dir;
    tto.first_port = 47200;
    auto tt = cluster::TimeTravel::Open(service_.get(), tto);
    ASSERT_TRUE(tt.ok()) << tt.status().ToString();
    time_travel_ = std::move(tt).value();
    assets_ = dir_.path() + "/assets";
    std::filesystem::create_directories(assets_ + "/assets");
    std::ofstream(assets_ + "/index.html") << "<!doctype html><title>Rewind</title>";
    std::ofstream(assets_ + "/assets/app-1234.js") << "console.log(1)";
    std::ofstream(dir_.path() + "/secret.txt") << "outside";
    Make(false);
  }

  void Make(bool tls) {
    ConsoleOptions co;
    co.assets_dir = assets_;
    co.tls = tls;
    co.log = [this](const std::string& line) { log_ += line + "\n"; };
    console_ = std::make_unique<Console>(service_.get(), time_travel_.get(), kCreds, co);
  }

  api::HttpRequestInfo Req(std::string method, std::string path, std::string body = "") {
    api::HttpRequestInfo r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.body = std::move(body);
    r.remote_addr = "127.0.0.1";
    r.headers = {{"Host", "127.0.0.1:8686"}};
    if (r.method == "POST") {
      r.headers.emplace_back("Content-Type", "application/json");
      r.headers.emplace_back("Origin", "http://127.0.0.1:8686");
    }
    return r;
  }
  // Adds the session's cookie (and, for a POST, its CSRF token).
  api::HttpRequestInfo Authed(std::string method, std::string path, std::string body = "") {
    api::HttpRequestInfo r = Req(std::move(method), std::move(path), std::move(body));
    r.headers.emplace_back("Cookie", "theme=dark; " + console_->cookie_name() + "=" + sid_);
    if (r.method == "POST") r.headers.emplace_back("X-CSRF-Token", csrf_);
    return r;
  }
  api::HttpResponse LoginAs(std::string_view secret) {
    json body{{"access_key_id", kCreds.access_key_id}, {"secret_access_key", secret}};
    return console_->Handle(Req("POST", "/console/api/login", body.dump()));
  }
  void LogIn() {
    api::HttpResponse r = LoginAs(kCreds.secret_access_key);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string cookie = HeaderOf(r, "Set-Cookie");
    const std::string prefix = console_->cookie_name() + "=";
    ASSERT_EQ(cookie.rfind(prefix, 0), 0u) << cookie;
    sid_ = cookie.substr(prefix.size(), cookie.find(';') - prefix.size());
    csrf_ = json::parse(r.body)["csrf_token"];
  }

  testing::TempDir dir_;
  std::unique_ptr<cluster::ClusterService> service_;
  std::unique_ptr<cluster::TimeTravel> time_travel_;  // destroyed before the service
  std::unique_ptr<Console> console_;
  std::string assets_;
  std::string log_;
  std::string sid_, csrf_;
};

TEST_F(ConsoleTest, LoginSetsAStrictHttpOnlyCookie) {
  api::HttpResponse r = LoginAs(kCreds.secret_access_key);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cookie = HeaderOf(r, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("rewind_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; Path=/"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << cookie;
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
  json body = json::parse(r.body);
  EXPECT_EQ(body["access_key_id"], kCreds.access_key_id);
  EXPECT_EQ(body["csrf_token"].get<std::string>().size(), 43u);
  // Neither the secret nor the session id is in the answer or the log.
  EXPECT_EQ(r.body.find(kCreds.secret_access_key), std::string::npos);
  EXPECT_EQ(log_.find(kCreds.secret_access_key), std::string::npos);
  std::string sid = cookie.substr(15, cookie.find(';') - 15);
  EXPECT_EQ(r.body.find(sid), std::string::npos);
  EXPECT_EQ(log_.find(sid), std::string::npos);
}

TEST_F(ConsoleTest, OverTlsTheCookieIsSecureWithHostPrefix) {
  Make(true);
  api::HttpRequestInfo req = Req("POST", "/console/api/login",
                                 json{{"access_key_id", kCreds.access_key_id},
                                      {"secret_access_key", kCreds.secret_access_key}}
                                     .dump());
  // Over TLS the origin is https://.
  api::HttpResponse plain = console_->Handle(req);
  EXPECT_EQ(plain.status, 403) << plain.body;
  for (auto& [k, v] : req.headers) {
    if (k == "Origin") v = "https://127.0.0.1:8686";
  }
  api::HttpResponse r = console_->Handle(req);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cookie = HeaderOf(r, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("__Host-rewind_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; Secure"), std::string::npos) << cookie;
}

TEST_F(ConsoleTest, WrongSecretIsRefusedThenRateLimited) {
  for (int i = 0; i < 5; ++i) {
    api::HttpResponse r = LoginAs("not-the-secret");
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("DATA_DIR/credentials"),
              std::string::npos);
    EXPECT_EQ(HeaderOf(r, "Set-Cookie"), "");
  }
  api::HttpResponse r = LoginAs(kCreds.secret_access_key);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_FALSE(HeaderOf(r, "Retry-After").empty());
  EXPECT_EQ(log_.find("not-the-secret"), std::string::npos);
}

TEST_F(ConsoleTest, LoginNeedsBothFieldsAsJson) {
  api::HttpResponse r = console_->Handle(Req("POST", "/console/api/login", "{}"));
  EXPECT_EQ(r.status, 400);
  r = console_->Handle(Req("POST", "/console/api/login", "not json"));
  EXPECT_EQ(r.status, 400);
  api::HttpRequestInfo form = Req("POST", "/console/api/login", "access_key_id=x");
  for (auto& [k, v] : form.headers) {
    if (k == "Content-Type") v = "application/x-www-form-urlencoded";
  }
  EXPECT_EQ(console_->Handle(form).status, 415);
}

TEST_F(ConsoleTest, ApiWithoutSessionIs401) {
  for (const char* path : {"/console/api/session", "/console/api/clusters",
                           "/console/api/clusters/x", "/console/api/clusters/x/activity"}) {
    api::HttpResponse r = console_->Handle(Req("GET", path));
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_NE(r.body.find("log in"), std::string::npos) << r.body;
  }
  api::HttpRequestInfo bogus = Req("GET", "/console/api/clusters");
  bogus.headers.emplace_back("Cookie", "rewind_session=made-up");
  api::HttpResponse r = console_->Handle(bogus);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(HeaderOf(r, "Set-Cookie").find("Max-Age=0"), std::string::npos);
}

TEST_F(ConsoleTest, SessionAnswersItsCsrfToken) {
  LogIn();
  api::HttpResponse r = console_->Handle(Authed("GET", "/console/api/session"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["csrf_token"], csrf_);
}

TEST_F(ConsoleTest, PostWithoutOrWithWrongCsrfTokenIs403) {
  LogIn();
  const std::string body = R"({"to": "2026-12-07T05:00:00Z"})";
  api::HttpRequestInfo none = Req("POST", "/console/api/clusters/x/backtrack", body);
  none.headers.emplace_back("Cookie", console_->cookie_name() + "=" + sid_);
  api::HttpResponse r = console_->Handle(none);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("X-CSRF-Token"), std::string::npos);
  api::HttpRequestInfo wrong = none;
  // The right token with its last character changed (to one it cannot already be).
  std::string bad_token = csrf_;
  bad_token.back() = bad_token.back() == 'x' ? 'y' : 'x';
  wrong.headers.emplace_back("X-CSRF-Token", bad_token);
  EXPECT_EQ(console_->Handle(wrong).status, 403);
  // Logout needs it too.
  api::HttpRequestInfo logout = Req("POST", "/console/api/logout", "{}");
  logout.headers.emplace_back("Cookie", console_->cookie_name() + "=" + sid_);
  EXPECT_EQ(console_->Handle(logout).status, 403);
  // With it, the call reaches the cluster service (which has no such cluster).
  r = console_->Handle(Authed("POST", "/console/api/clusters/x/backtrack", body));
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(ConsoleTest, CrossOriginAndForeignHostsAreRefused) {
  LogIn();
  api::HttpRequestInfo r = Authed("POST", "/console/api/logout", "{}");
  for (auto& [k, v] : r.headers) {
    if (k == "Origin") v = "http://evil.example:8686";
  }
  EXPECT_EQ(console_->Handle(r).status, 403);
  r = Authed("POST", "/console/api/logout", "{}");
  r.headers.emplace_back("Sec-Fetch-Site", "cross-site");
  EXPECT_EQ(console_->Handle(r).status, 403);
  // A DNS-rebound name pointing at 127.0.0.1: its Host is not a loopback name.
  api::HttpRequestInfo rebound = Authed("GET", "/console/api/clusters");
  rebound.headers[0].second = "evil.example:8686";
  EXPECT_EQ(console_->Handle(rebound).status, 403);
  for (const char* ok : {"localhost:8686", "127.0.0.2:8686", "[::1]:8686", "LOCALHOST"}) {
    api::HttpRequestInfo g = Authed("GET", "/console/api/clusters");
    g.headers[0].second = ok;
    EXPECT_EQ(console_->Handle(g).status, 200) << ok;
  }
  // The session survived all of that.
  EXPECT_EQ(console_->Handle(Authed("GET", "/console/api/session")).status, 200);
}

TEST_F(ConsoleTest, LogoutEndsTheSessionAndClearsTheCookie) {
  LogIn();
  api::HttpResponse r = console_->Handle(Authed("POST", "/console/api/logout", "{}"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(HeaderOf(r, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(console_->Handle(Authed("GET", "/console/api/clusters")).status, 401);
}

TEST_F(ConsoleTest, ClustersAndErrorsThatSayWhatToFix) {
  LogIn();
  api::HttpResponse r = console_->Handle(Authed("GET", "/console/api/clusters"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::array());
  r = console_->Handle(Authed("GET", "/console/api/clusters/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("nope"), std::string::npos);
  r = console_->Handle(Authed("GET", "/console/api/clusters/nope/activity"));
  EXPECT_EQ(r.status, 404) << r.body;
  r = console_->Handle(Authed("POST", "/console/api/clusters/nope/backtrack", R"({"to": "yesterday"})"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\\\"to\\\""), std::string::npos) << r.body;
  r = console_->Handle(Authed("POST", "/console/api/clusters/nope/backtrack", "{}"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("missing"), std::string::npos) << r.body;
  r = console_->Handle(Authed("POST", "/console/api/clusters/nope/clone",
                              R"({"new_id": "copy", "at": "2026-12-07T05:00:00Z"})"));
  EXPECT_EQ(r.status, 404) << r.body;
  api::HttpRequestInfo bad_step = Authed("GET", "/console/api/clusters/nope/activity");
  bad_step.query = *api::FormParams::Parse("step=abc");
  r = console_->Handle(bad_step);
  EXPECT_EQ(r.status, 400) << r.body;
  r = console_->Handle(Authed("GET", "/console/api/nothing"));
  EXPECT_EQ(r.status, 404);
}

TEST_F(ConsoleTest, PreviewRoutesNeedTheSessionAndTheCsrfToken) {
  const std::string at = "2026-12-07T05:00:00Z";
  const std::string query = R"({"at": ")" + at + R"(", "sql": "SELECT 1"})";
  const std::string restore = R"({"at": ")" + at + R"(", "table": "db.t"})";
  auto with_at = [&](api::HttpRequestInfo r) {
    r.query = *api::FormParams::Parse("at=" + at);
    return r;
  };
  // No session: 401, for the reads and the writes alike.
  EXPECT_EQ(console_->Handle(with_at(Req("GET", "/console/api/clusters/web/diff"))).status, 401);
  EXPECT_EQ(console_->Handle(with_at(Req("GET", "/console/api/clusters/web/tables"))).status, 401);
  EXPECT_EQ(console_->Handle(Req("POST", "/console/api/clusters/web/query", query)).status, 401);
  EXPECT_EQ(console_->Handle(Req("POST", "/console/api/clusters/web/restore-table", restore)).status,
            401);
  LogIn();
  // A session but no (or a wrong) CSRF token: 403 before anything runs.
  for (const char* path : {"/console/api/clusters/web/query", "/console/api/clusters/web/restore-table"}) {
    api::HttpRequestInfo r = Req("POST", path, path[26] == 'q' ? query : restore);
    r.headers.emplace_back("Cookie", console_->cookie_name() + "=" + sid_);
    api::HttpResponse resp = console_->Handle(r);
    EXPECT_EQ(resp.status, 403) << path << resp.body;
    r.headers.emplace_back("X-CSRF-Token", std::string(43, 'x'));
    EXPECT_EQ(console_->Handle(r).status, 403) << path;
  }
  // A GET of a POST route (and the reverse) is no route.
  EXPECT_EQ(console_->Handle(Authed("GET", "/console/api/clusters/web/query")).status, 404);
  EXPECT_EQ(console_->Handle(Authed("POST", "/console/api/clusters/web/diff", "{}")).status, 404);
}

TEST_F(ConsoleTest, PreviewRoutesSayWhatToFix) {
  LogIn();
  auto error_of = [](const api::HttpResponse& r) {
    return json::parse(r.body).value("error", std::string());
  };
  auto post = [&](const std::string& action, const std::string& body) {
    return console_->Handle(Authed("POST", "/console/api/clusters/nope/" + action, body));
  };
  auto get = [&](const std::string& action, const std::string& query) {
    api::HttpRequestInfo r = Authed("GET", "/console/api/clusters/nope/" + action);
    r.query = *api::FormParams::Parse(query);
    return console_->Handle(r);
  };
  const std::string at = R"("at": "2026-12-07T05:00:00Z")";

  api::HttpResponse r = post("query", "{" + at + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("\"sql\" is missing"), std::string::npos) << r.body;
  r = post("query", "{" + at + R"(, "sql": "   "})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = post("query", R"({"at": "yesterday", "sql": "SELECT 1"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("\"at\""), std::string::npos) << r.body;
  r = post("query", "{" + at + R"(, "sql": "SELECT 1", "database": 7})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("\"database\""), std::string::npos) << r.body;
  r = post("query", "{" + at + R"(, "sql": ")" + std::string(70000, 'x') + "\"}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("too long"), std::string::npos) << r.body;
  r = post("query", "[1]");
  EXPECT_EQ(r.status, 400);

  r = get("diff", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("\"at\" is missing"), std::string::npos) << r.body;
  r = get("diff", "at=last-tuesday");
  EXPECT_EQ(r.status, 400) << r.body;
  r = get("tables", "");
  EXPECT_EQ(r.status, 400) << r.body;

  r = post("restore-table", "{" + at + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("\"table\" is missing"), std::string::npos) << r.body;
  r = post("restore-table", "{" + at + R"(, "table": "db.t", "with_related": "yes"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("\"with_related\" must be true or false"), std::string::npos) << r.body;
  r = post("restore-table", "{" + at + R"(, "table": "db.t", "dry_run": 1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("\"dry_run\""), std::string::npos) << r.body;

  // Well-formed, but no such cluster: the service's refusal, with the name.
  for (api::HttpResponse nf : {post("query", "{" + at + R"(, "sql": "SELECT 1"})"),
                               get("diff", "at=2026-12-07T05:00:00Z"),
                               get("tables", "at=2026-12-07T05:00:00Z"),
                               post("restore-table", "{" + at + R"(, "table": "db.t", "dry_run": true})")}) {
    EXPECT_EQ(nf.status, 404) << nf.body;
    EXPECT_NE(error_of(nf).find("nope"), std::string::npos) << nf.body;
  }
}

TEST(QueryResultJson, ColumnsRowsEscapesAndBounds) {
  json r = json::parse(QueryResultJson("id\tv\n1\ta\\tb\n2\tNULL\n"));
  EXPECT_EQ(r["columns"], json::array({"id", "v"}));
  EXPECT_EQ(r["rows"], json::array({json::array({"1", "a\tb"}), json::array({"2", "NULL"})}));
  EXPECT_EQ(r["row_count"], 2);
  EXPECT_FALSE(r["truncated"].get<bool>());
  EXPECT_FALSE(r.contains("message"));

  // A row with another field count than the header is not `mysql -B` output: said, not guessed.
  EXPECT_TRUE(json::parse(QueryResultJson("a\tb\n1\n")).contains("error"));

  json none = json::parse(QueryResultJson(""));
  EXPECT_EQ(none["rows"], json::array());
  EXPECT_NE(none["message"].get<std::string>().find("no result set"), std::string::npos);

  std::string many = "n\n";
  for (size_t i = 0; i < Console::kMaxQueryRows + 5; ++i) many += std::to_string(i) + "\n";
  json cut = json::parse(QueryResultJson(many));
  EXPECT_TRUE(cut["truncated"].get<bool>());
  EXPECT_EQ(cut["rows"].size(), Console::kMaxQueryRows);
  EXPECT_EQ(cut["row_count"], Console::kMaxQueryRows + 5);
  EXPECT_NE(cut["message"].get<std::string>().find("first 1000 of 1005 rows"), std::string::npos)
      << cut["message"];

  std::string wide = "w\n" + std::string(Console::kMaxQueryBytes / 2 + 1, 'a') + "\n" +
                     std::string(Console::kMaxQueryBytes / 2, 'b') + "\n";
  json big = json::parse(QueryResultJson(wide));
  EXPECT_TRUE(big["truncated"].get<bool>());
  EXPECT_EQ(big["rows"].size(), 1u);
}

TEST(DiffTablesJson, CutsChangesAndKeepsColumnOrder) {
  std::string changes;
  for (size_t i = 0; i < Console::kMaxDiffChanges + 5; ++i) {
    changes += std::string(i ? "," : "") + R"({"op":"delete","before":{"z":1,"a":)" +
               std::to_string(i) + "}}";
  }
  const std::string rendering =
      R"([{"table":"db.t","schema":"dropped","changes":[)" + changes +
      R"(],"counts":{"inserted":0,"deleted":205,"updated":0}},)" +
      R"({"table":"db.u","schema":"unchanged","changes":[],"counts":{}}])";
  const std::string out = DiffTablesJson(rendering);
  json t = json::parse(out);
  ASSERT_EQ(t.size(), 2u) << out;
  EXPECT_EQ(t[0]["changes"].size(), Console::kMaxDiffChanges);
  EXPECT_EQ(t[0]["changes_total"], Console::kMaxDiffChanges + 5);
  EXPECT_TRUE(t[0]["truncated"].get<bool>());
  EXPECT_EQ(t[0]["counts"]["deleted"], 205);
  EXPECT_EQ(t[1]["changes_total"], 0);
  EXPECT_FALSE(t[1]["truncated"].get<bool>());
  // A row's columns in the table's order, not sorted.
  EXPECT_NE(out.find(R"({"z":1,"a":0})"), std::string::npos) << out.substr(0, 200);
  // A summary has no changes: left as it is.
  json s = json::parse(DiffTablesJson(R"([{"table":"db.t","schema":"created","counts":{}}])"));
  EXPECT_FALSE(s[0].contains("changes_total"));
  EXPECT_TRUE(json::parse(DiffTablesJson("{}")).contains("error"));
  EXPECT_TRUE(json::parse(DiffTablesJson("[1]")).contains("error"));
}

TEST_F(ConsoleTest, PagesAreServedFromTheAssetsDirOnly) {
  api::HttpResponse r = console_->Handle(Req("GET", "/"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(HeaderOf(r, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  r = console_->Handle(Req("GET", "/assets/app-1234.js"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(HeaderOf(r, "Cache-Control").find("immutable"), std::string::npos);
  for (const char* bad : {"/../secret.txt", "/assets/../../secret.txt", "/missing.js", "/.hidden",
                          "/assets/"}) {
    EXPECT_EQ(console_->Handle(Req("GET", bad)).status, 404) << bad;
  }
  std::filesystem::remove(assets_ + "/index.html");
  r = console_->Handle(Req("GET", "/"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("--console-dir"), std::string::npos);
}

}  // namespace
}  // namespace rwd::console
