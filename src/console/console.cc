#include "console/console.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/rds_handler.h"
#include "api/refusal_text.h"
#include "api/timeparse.h"
#include "diff/row_diff.h"

namespace rwd::console {

namespace {

using nlohmann::json;
using api::HttpRequestInfo;
using api::HttpResponse;

constexpr std::string_view kApiPrefix = "/console/api/";
constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";
constexpr size_t kMaxIdLength = 255;
constexpr size_t kMaxSqlBytes = 64 << 10;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> Header(const HttpRequestInfo& req, std::string_view name) {
  const std::string want = Lower(name);
  for (const auto& [k, v] : req.headers) {
    if (Lower(k) == want) return v;
  }
  return std::nullopt;
}

// The value of cookie `name` in the Cookie header(s), if any.
std::optional<std::string> CookieValue(const HttpRequestInfo& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (Lower(k) != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view part = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      size_t eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) {
        return std::string(part.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

// True if `host` (a Host header: name[:port]) names this machine's loopback interface.
bool IsLoopbackHost(std::string_view host) {
  std::string h = Lower(host);
  if (!h.empty() && h.front() == '[') {
    size_t close = h.find(']');
    return close != std::string::npos && h.substr(1, close - 1) == "::1";
  }
  size_t colon = h.rfind(':');
  if (colon != std::string::npos) h = h.substr(0, colon);
  if (h == "localhost") return true;
  if (h.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

void SecurityHeaders(HttpResponse* r) {
  r->headers.emplace_back("Content-Security-Policy", kCsp);
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
}

// `J`: json, or ordered_json where the order of keys carries meaning (a row's columns).
template <typename J = json>
HttpResponse JsonResponse(int status, const J& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = kJson;
  r.body = body.dump();
  r.headers.emplace_back("Cache-Control", "no-store");
  SecurityHeaders(&r);
  return r;
}

HttpResponse JsonError(int status, std::string message) {
  return JsonResponse(status, json{{"error", std::move(message)}});
}

// A refusal of the cluster service, with its text (which says what to fix; api/refusal_text.h).
HttpResponse StatusError(const Status& s) {
  int http = 500;
  switch (s.code()) {
    case Status::Code::kNotFound: http = 404; break;
    case Status::Code::kInvalidArgument: http = 400; break;
    case Status::Code::kAlreadyExists:
    case Status::Code::kFailedPrecondition:
    case Status::Code::kBusy: http = 409; break;
    case Status::Code::kPermissionDenied: http = 403; break;
    case Status::Code::kUnavailable:
    case Status::Code::kNoSpace: http = 503; break;
    default: break;
  }
  return JsonError(http, api::StatusText(s));
}

int64_t Ms(int64_t ns) { return ns / 1'000'000; }

json TimeJson(int64_t ns) { return ns > 0 ? json(Ms(ns)) : json(nullptr); }

json ClusterJson(const cluster::ClusterView& c) {
  std::string writer;
  json members = json::array();
  for (const cluster::ClusterMember& m : c.members) {
    if (m.is_writer && writer.empty()) writer = m.instance_id;
    members.push_back({{"instance_id", m.instance_id}, {"is_writer", m.is_writer}});
  }
  const bool backtrack = c.backtrack_window_s > 0;
  return json{
      {"id", c.id},
      {"status", api::AuroraStatusWord(c.status)},
      {"engine", c.engine},
      {"engine_version", c.engine_version},
      {"endpoint", c.endpoint},
      {"reader_endpoint", c.reader_endpoint},
      {"port", c.port},
      {"writer", writer.empty() ? json(nullptr) : json(writer)},
      {"members", members},
      {"master_username", c.master_username},
      {"database_name", c.database_name},
      {"backtrack_window_s", c.backtrack_window_s},
      {"backtrack_window_actual_s", c.backtrack_window_actual_s},
      {"backtrack_window_alert", c.backtrack_window_alert},
      {"earliest_backtrack_ms", backtrack ? TimeJson(c.earliest_backtrack_ns) : json(nullptr)},
      {"earliest_restorable_ms", TimeJson(c.earliest_restorable_ns)},
      {"latest_restorable_ms", TimeJson(c.latest_restorable_ns)},
      {"create_time_ms", TimeJson(c.create_time_ns)},
      {"source_cluster", c.source_cluster},
      {"source_peer", c.source_peer},  // a peer clone: the peer its source is on
      {"deletion_protection", c.deletion_protection},
  };
}

json InstanceJson(const cluster::InstanceView& i) {
  return json{{"id", i.id},         {"cluster_id", i.cluster_id},
              {"status", api::AuroraStatusWord(i.status)}, {"instance_class", i.instance_class},
              {"endpoint", i.endpoint}, {"port", i.port},
              {"create_time_ms", TimeJson(i.create_time_ns)}};
}

json BacktrackJson(const cluster::BacktrackView& b) {
  return json{{"id", b.id},
              {"to_ms", TimeJson(b.backtrack_to_ns)},
              {"from_ms", TimeJson(b.backtracked_from_ns)},
              {"requested_ms", TimeJson(b.request_time_ns)},
              {"status", api::AuroraStatusWord(b.status)},
              {"message", b.message}};
}

json EventJson(const cluster::EventView& e) {
  return json{{"date_ms", TimeJson(e.date_ns)},
              {"source_id", e.source_id},
              {"source_type", e.source_type},
              {"message", api::RenderEventMessage(e.kind, e.source_id, e.detail)},
              {"categories", e.categories}};
}

// The body of a POST as a JSON object, or the error response to send.
std::variant<json, HttpResponse> JsonBody(const HttpRequestInfo& req) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return JsonError(400, "the request body must be a JSON object");
  }
  return body;
}

// body[key] as a non-empty string, or an error naming the field.
std::variant<std::string, HttpResponse> StringField(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    return JsonError(400, std::string("\"") + key + "\" is missing: send it as a non-empty string");
  }
  std::string v = it->get<std::string>();
  if (v.size() > kMaxIdLength) {
    return JsonError(400, std::string("\"") + key + "\" is too long (at most 255 characters)");
  }
  return v;
}

// body[key] as a time: an ISO 8601 string with a zone ("2026-12-07T05:00:00Z").
std::variant<int64_t, HttpResponse> TimeField(const json& body, const char* key) {
  auto s = StringField(body, key);
  if (auto* err = std::get_if<HttpResponse>(&s)) return std::move(*err);
  Result<int64_t> t = api::ParseIso8601(std::get<std::string>(s));
  if (!t.ok()) return JsonError(400, std::string("\"") + key + "\": " + t.status().message());
  return *t;
}

// body[key] as a boolean; absent: false.
std::variant<bool, HttpResponse> BoolField(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return JsonError(400, std::string("\"") + key + "\" must be true or false");
  }
  return it->get<bool>();
}

// The query-string parameter `key` as a time (required).
std::variant<int64_t, HttpResponse> QueryTime(const HttpRequestInfo& req, const char* key) {
  std::optional<std::string_view> v = req.query.Find(key);
  if (!v || v->empty()) {
    return JsonError(400, std::string("\"") + key +
                              "\" is missing: give the picked moment as an ISO 8601 time "
                              "(2026-12-07T05:00:00Z)");
  }
  Result<int64_t> t = api::ParseIso8601(*v);
  if (!t.ok()) return JsonError(400, std::string("\"") + key + "\": " + t.status().message());
  return *t;
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// `mysql -B` output (column names first) as {"columns", "rows", "row_count", "truncated",
// "message"?}, at most Console::kMaxQueryRows rows and kMaxQueryBytes of cells. Fields are
// unescaped as the diff reads the client's batch output (as text; NULL stays "NULL").
Result<json> QueryResult(std::string_view text) {
  json columns = json::array(), rows = json::array();
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  size_t total = 0, bytes = 0;
  bool cut = false;
  if (!text.empty()) {
    std::vector<std::string_view> lines = Split(text, '\n');
    const size_t fields = static_cast<size_t>(std::count(lines[0].begin(), lines[0].end(), '\t')) + 1;
    const std::vector<diff::Column> as_text(
        fields, diff::Column{"", diff::ColumnKind::kText, /*bit=*/false, /*nullable=*/false});
    auto cells = [&](std::string_view line) -> Result<json> {
      ASSIGN_OR_RETURN(diff::Row row, diff::ParseBatchLine(line, as_text));
      json out = json::array();
      for (diff::Value& v : row) out.push_back(std::move(v).value_or(""));
      return out;
    };
    ASSIGN_OR_RETURN(columns, cells(lines[0]));
    total = lines.size() - 1;
    for (size_t i = 1; i < lines.size(); ++i) {
      if (rows.size() >= Console::kMaxQueryRows || bytes + lines[i].size() > Console::kMaxQueryBytes) {
        cut = true;
        break;
      }
      bytes += lines[i].size();
      ASSIGN_OR_RETURN(json row, cells(lines[i]));
      rows.push_back(std::move(row));
    }
  }
  json out{{"columns", std::move(columns)}, {"row_count", total}, {"truncated", cut}};
  if (cut) {
    out["message"] = "Showing the first " + std::to_string(rows.size()) + " of " +
                     std::to_string(total) + " rows (the console shows at most " +
                     std::to_string(Console::kMaxQueryRows) + " rows and " +
                     std::to_string(Console::kMaxQueryBytes >> 20) +
                     " MiB): narrow the query with WHERE or LIMIT, or run it with `rewind query`.";
  } else if (text.empty()) {
    out["message"] = "The statement returned no result set.";
  }
  out["rows"] = std::move(rows);
  return out;
}

// The diff's json (or summary) rendering as the diff route's "tables": each table's "changes"
// (if any) cut to Console::kMaxDiffChanges, with "changes_total" and "truncated". Ordered: a
// row's columns keep the table's order.
Result<nlohmann::ordered_json> DiffTables(std::string_view rendering) {
  nlohmann::ordered_json tables =
      nlohmann::ordered_json::parse(rendering, nullptr, /*allow_exceptions=*/false);
  if (tables.is_discarded() || !tables.is_array()) {
    return Status::Corruption("the diff's rendering is not a JSON list");
  }
  for (nlohmann::ordered_json& t : tables) {
    if (!t.is_object()) return Status::Corruption("the diff's rendering lists a non-object");
    auto changes = t.find("changes");
    if (changes == t.end() || !changes->is_array()) continue;
    const size_t total = changes->size();
    // Cut before adding keys: an ordered object's insertion moves its members (and `changes`).
    if (total > Console::kMaxDiffChanges) {
      changes->erase(changes->begin() + Console::kMaxDiffChanges, changes->end());
    }
    t["changes_total"] = total;
    t["truncated"] = total > Console::kMaxDiffChanges;
  }
  return tables;
}

// The media type of a file the front-end build makes.
std::string MimeType(const std::filesystem::path& p) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"},
      {".json", "application/json"}, {".map", "application/json"}, {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"}};
  const std::string ext = Lower(p.extension().string());
  for (const auto& [e, t] : kTypes) {
    if (ext == e) return t;
  }
  return "application/octet-stream";
}

}  // namespace

std::string QueryResultJson(std::string_view batch_output) {
  Result<json> r = QueryResult(batch_output);
  return r.ok() ? r->dump() : json{{"error", r.status().message()}}.dump();
}

std::string DiffTablesJson(std::string_view rendering) {
  Result<nlohmann::ordered_json> r = DiffTables(rendering);
  return r.ok() ? r->dump() : json{{"error", r.status().message()}}.dump();
}

struct Console::Impl {
  cluster::ClusterService* service;
  cluster::TimeTravel* time_travel;
  ConsoleOptions options;
  SessionStore sessions;

  Impl(cluster::ClusterService* s, cluster::TimeTravel* tt, api::Credentials creds,
       ConsoleOptions o)
      : service(s),
        time_travel(tt),
        options(std::move(o)),
        sessions(std::move(creds), options.sessions) {}

  std::string CookieName() const { return options.tls ? "__Host-rewind_session" : "rewind_session"; }

  std::string SetCookie(const std::string& value, int64_t max_age_s) const {
    std::string c = CookieName() + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                    std::to_string(max_age_s);
    if (options.tls) c += "; Secure";
    return c;
  }

  void Log(const HttpRequestInfo& req, int status, std::string_view note = {}) {
    if (!options.log) return;
    std::string line = "console: " + req.method + " " + req.path + " " + std::to_string(status) +
                       " from " + req.remote_addr;
    if (!note.empty()) line += " (" + std::string(note) + ")";
    options.log(line);
  }

  HttpResponse Static(const HttpRequestInfo& req);
  HttpResponse Api(const HttpRequestInfo& req);
  std::optional<HttpResponse> CheckOrigin(const HttpRequestInfo& req);
  HttpResponse Login(const HttpRequestInfo& req);
  HttpResponse Route(const HttpRequestInfo& req, const Session& session,
                     std::string_view session_id);
  HttpResponse ClusterDetail(const std::string& id);
  HttpResponse Activity(const HttpRequestInfo& req, const std::string& id);
  HttpResponse Backtrack(const HttpRequestInfo& req, const std::string& id);
  HttpResponse Clone(const HttpRequestInfo& req, const std::string& id);
  HttpResponse CreateInstance(const HttpRequestInfo& req, const std::string& id);
  HttpResponse Query(const HttpRequestInfo& req, const std::string& id);
  HttpResponse Diff(const HttpRequestInfo& req, const std::string& id);
  HttpResponse Tables(const HttpRequestInfo& req, const std::string& id);
  HttpResponse RestoreTable(const HttpRequestInfo& req, const std::string& id);
};

HttpResponse Console::Impl::Static(const HttpRequestInfo& req) {
  namespace fs = std::filesystem;
  auto not_found = [] {
    HttpResponse r{404, "text/plain; charset=utf-8", "Not Found\n", {}};
    SecurityHeaders(&r);
    return r;
  };
  std::error_code ec;
  const fs::path root = options.assets_dir.empty() ? fs::path() : fs::canonical(options.assets_dir, ec);
  if (options.assets_dir.empty() || ec || !fs::exists(root / "index.html", ec)) {
    HttpResponse r;
    r.status = 503;
    r.body = "The web console's pages are not built" +
             (options.assets_dir.empty() ? std::string()
                                         : " (no index.html in " + options.assets_dir + ")") +
             ": run scripts/setup.sh (it runs `npm ci && npm run build` in console/) or start "
             "rewindd with --console-dir pointing at a built console/dist.\n";
    SecurityHeaders(&r);
    return r;
  }
  std::string rel = req.path == "/" ? "index.html" : req.path.substr(1);
  // Only plain relative paths below the root: no "..", no hidden files, no NUL.
  if (rel.empty() || rel.find('\0') != std::string::npos || rel.find("..") != std::string::npos ||
      rel.front() == '/' || rel.find("/.") != std::string::npos || rel.front() == '.') {
    return not_found();
  }
  const fs::path file = fs::weakly_canonical(root / rel, ec);
  const std::string root_s = root.string() + "/";
  if (ec || file.string().rfind(root_s, 0) != 0 || !fs::is_regular_file(file, ec)) {
    return not_found();
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  if (!in.good() && !in.eof()) return not_found();
  HttpResponse r;
  r.content_type = MimeType(file);
  r.body = data.str();
  // Vite names built assets by content hash: they never change under one name.
  r.headers.emplace_back("Cache-Control", rel.rfind("assets/", 0) == 0
                                              ? "public, max-age=31536000, immutable"
                                              : "no-cache");
  SecurityHeaders(&r);
  return r;
}

std::optional<HttpResponse> Console::Impl::CheckOrigin(const HttpRequestInfo& req) {
  const std::optional<std::string> host = Header(req, "Host");
  if (options.loopback_only && (!host || !IsLoopbackHost(*host))) {
    return JsonError(403, "the Host header must name this machine's loopback address (open the "
                          "console at http://127.0.0.1:PORT/ or http://localhost:PORT/)");
  }
  if (req.method == "GET" || req.method == "HEAD") return std::nullopt;
  if (std::optional<std::string> origin = Header(req, "Origin")) {
    const std::string expected = (options.tls ? "https://" : "http://") + host.value_or("");
    if (!host || Lower(*origin) != Lower(expected)) {
      return JsonError(403, "cross-origin request refused: the Origin header must be " + expected);
    }
  }
  if (std::optional<std::string> site = Header(req, "Sec-Fetch-Site")) {
    if (*site != "same-origin") {
      return JsonError(403, "cross-site request refused (Sec-Fetch-Site: " + *site + ")");
    }
  }
  std::optional<std::string> type = Header(req, "Content-Type");
  if (!type || Lower(*type).rfind("application/json", 0) != 0) {
    return JsonError(415, "send the request body as JSON with Content-Type: application/json");
  }
  return std::nullopt;
}

HttpResponse Console::Impl::Login(const HttpRequestInfo& req) {
  auto body = JsonBody(req);
  if (auto* err = std::get_if<HttpResponse>(&body)) return std::move(*err);
  const json& b = std::get<json>(body);
  auto field = [&](const char* key) -> std::string {
    auto it = b.find(key);
    return it != b.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string akid = field("access_key_id");
  const std::string secret = field("secret_access_key");
  if (akid.empty() || secret.empty()) {
    return JsonError(400, "send \"access_key_id\" and \"secret_access_key\" (the [rewind] profile "
                          "of DATA_DIR/credentials)");
  }
  Result<LoginResult> r = sessions.Login(req.remote_addr, akid, secret);
  if (!r.ok()) return JsonError(503, "cannot make a session: " + r.status().message());
  switch (r->outcome) {
    case LoginResult::Outcome::kRateLimited: {
      HttpResponse resp = JsonError(
          429, "too many failed logins: try again in " + std::to_string(r->retry_after_s) + " s");
      resp.headers.emplace_back("Retry-After", std::to_string(r->retry_after_s));
      return resp;
    }
    case LoginResult::Outcome::kRefused:
      return JsonError(401, "wrong access key id or secret: use aws_access_key_id and "
                            "aws_secret_access_key of the [rewind] profile in DATA_DIR/credentials");
    case LoginResult::Outcome::kOk:
      break;
  }
  HttpResponse resp = JsonResponse(200, json{{"csrf_token", r->session.csrf_token},
                                             {"access_key_id", r->session.access_key_id},
                                             {"expires_ms", Ms(r->session.expires_ns)}});
  // Cookie lifetime: the absolute limit; the server ends idle sessions sooner on its own.
  resp.headers.emplace_back("Set-Cookie",
                            SetCookie(r->session_id, options.sessions.absolute_timeout_ns /
                                                         api::kNanosPerSecond));
  return resp;
}

HttpResponse Console::Impl::Api(const HttpRequestInfo& req) {
  if (std::optional<HttpResponse> refused = CheckOrigin(req)) return std::move(*refused);
  const std::string_view sub = std::string_view(req.path).substr(kApiPrefix.size());
  if (sub == "login") {
    if (req.method != "POST") return JsonError(405, "log in with POST");
    return Login(req);
  }
  const std::optional<std::string> sid = CookieValue(req, CookieName());
  std::optional<Session> session = sid ? sessions.Find(*sid) : std::nullopt;
  if (!session) {
    HttpResponse r = JsonError(401, "not logged in (or the session expired): log in again");
    if (sid) r.headers.emplace_back("Set-Cookie", SetCookie("", 0));
    return r;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    const std::optional<std::string> token = Header(req, "X-CSRF-Token");
    if (!token || !SessionStore::CsrfMatches(*session, *token)) {
      return JsonError(403, "missing or wrong X-CSRF-Token header: send the csrf_token that "
                            "login or GET /console/api/session returned");
    }
  }
  return Route(req, *session, *sid);
}

HttpResponse Console::Impl::Route(const HttpRequestInfo& req, const Session& session,
                                  std::string_view session_id) {
  const std::string_view sub = std::string_view(req.path).substr(kApiPrefix.size());
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  if (sub == "session" && get) {
    return JsonResponse(200, json{{"csrf_token", session.csrf_token},
                                  {"access_key_id", session.access_key_id},
                                  {"expires_ms", Ms(session.expires_ns)}});
  }
  if (sub == "logout" && post) {
    sessions.Logout(session_id);
    HttpResponse r = JsonResponse(200, json::object());
    r.headers.emplace_back("Set-Cookie", SetCookie("", 0));
    return r;
  }
  if (sub == "clusters" && get) {
    Result<std::vector<cluster::ClusterView>> all = service->DescribeClusters(std::nullopt);
    if (!all.ok()) return StatusError(all.status());
    json out = json::array();
    for (const auto& c : *all) out.push_back(ClusterJson(c));
    return JsonResponse(200, out);
  }
  constexpr std::string_view kClusters = "clusters/";
  if (sub.substr(0, kClusters.size()) == kClusters) {
    std::string_view rest = sub.substr(kClusters.size());
    const size_t slash = rest.find('/');
    const std::string id(rest.substr(0, slash));
    const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (id.empty() || id.size() > kMaxIdLength) {
      return JsonError(404, "no such console API path: " + req.path);
    }
    if (action.empty() && get) return ClusterDetail(id);
    if (action == "activity" && get) return Activity(req, id);
    if (action == "backtrack" && post) return Backtrack(req, id);
    if (action == "clone" && post) return Clone(req, id);
    if (action == "instances" && post) return CreateInstance(req, id);
    if ((action == "stop" || action == "start") && post) {
      // StopDBCluster / StartDBCluster; the page follows the status until stopped / available.
      Result<cluster::ClusterView> c =
          action == "stop" ? service->StopCluster(id) : service->StartCluster(id);
      if (!c.ok()) return StatusError(c.status());
      return JsonResponse(202, json{{"cluster", ClusterJson(*c)}});
    }
    if (action == "query" && post) return Query(req, id);
    if (action == "diff" && get) return Diff(req, id);
    if (action == "tables" && get) return Tables(req, id);
    if (action == "restore-table" && post) return RestoreTable(req, id);
  }
  return JsonError(404, "no such console API call: " + req.method + " " + req.path);
}

HttpResponse Console::Impl::ClusterDetail(const std::string& id) {
  Result<std::vector<cluster::ClusterView>> c = service->DescribeClusters(id);
  if (!c.ok()) return StatusError(c.status());
  if (c->empty()) return JsonError(404, "no DB cluster named " + cluster::BoundedInput(id));
  const cluster::ClusterView& view = c->front();
  json out{{"cluster", ClusterJson(view)}};
  json instances = json::array();
  Result<std::vector<cluster::InstanceView>> is = service->DescribeInstances(std::nullopt, view.id);
  if (!is.ok()) return StatusError(is.status());
  for (const auto& i : *is) instances.push_back(InstanceJson(i));
  out["instances"] = std::move(instances);
  json backtracks = json::array();
  if (auto bs = service->DescribeBacktracks(view.id, std::nullopt, {}); bs.ok()) {
    for (const auto& b : *bs) backtracks.push_back(BacktrackJson(b));
  } else {
    return StatusError(bs.status());
  }
  out["backtracks"] = std::move(backtracks);
  // Events of the cluster and of its instances over the cluster's whole life (its window is
  // within it), oldest first.
  cluster::EventQuery q;
  q.start_ns = std::min(view.create_time_ns, view.earliest_restorable_ns > 0
                                                 ? view.earliest_restorable_ns
                                                 : view.create_time_ns);
  q.end_ns = api::NowNs();
  std::vector<cluster::EventView> all;
  auto add = [&](const std::string& id, const char* type) {
    q.source_id = id;
    q.source_type = type;
    for (cluster::EventView& e : service->DescribeEvents(q)) all.push_back(std::move(e));
  };
  add(view.id, "db-cluster");
  for (const auto& i : *is) add(i.id, "db-instance");
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.date_ns < b.date_ns; });
  json events = json::array();
  for (const auto& e : all) events.push_back(EventJson(e));
  out["events"] = std::move(events);
  return JsonResponse(200, out);
}

HttpResponse Console::Impl::Activity(const HttpRequestInfo& req, const std::string& id) {
  cluster::ActivityRequest ar;
  ar.cluster_id = id;
  for (const char* key : {"from", "to"}) {
    std::optional<std::string_view> v = req.query.Find(key);
    if (!v || v->empty()) continue;
    Result<int64_t> t = api::ParseIso8601(*v);
    if (!t.ok()) return JsonError(400, std::string("\"") + key + "\": " + t.status().message());
    (std::string_view(key) == "from" ? ar.from_ns : ar.to_ns) = *t;
  }
  if (std::optional<std::string_view> step = req.query.Find("step"); step && !step->empty()) {
    int64_t s = 0;
    bool ok = step->size() <= 9;
    for (char c : *step) ok = ok && c >= '0' && c <= '9';
    if (ok) s = std::stoll(std::string(*step));
    if (!ok || s <= 0) {
      return JsonError(400, "\"step\" must be a whole number of seconds (1 or more)");
    }
    ar.step_ns = s * api::kNanosPerSecond;
  }
  Result<cluster::ActivityView> a = service->Activity(ar);
  if (!a.ok()) return StatusError(a.status());
  json points = json::array();
  for (const store::ActivityPoint& p : a->points) {
    points.push_back(json::array({Ms(p.time_ns), p.bytes, p.records}));
  }
  return JsonResponse(200, json{{"from_ms", Ms(a->from_ns)},
                                {"to_ms", Ms(a->to_ns)},
                                {"step_s", a->step_ns / api::kNanosPerSecond},
                                {"earliest_ms", TimeJson(a->earliest_ns)},
                                {"points", std::move(points)}});
}

HttpResponse Console::Impl::Backtrack(const HttpRequestInfo& req, const std::string& id) {
  auto body = JsonBody(req);
  if (auto* err = std::get_if<HttpResponse>(&body)) return std::move(*err);
  auto to = TimeField(std::get<json>(body), "to");
  if (auto* err = std::get_if<HttpResponse>(&to)) return std::move(*err);
  cluster::BacktrackRequest br;
  br.cluster_id = id;
  br.backtrack_to_ns = std::get<int64_t>(to);
  Result<cluster::BacktrackView> b = service->Backtrack(br);
  if (!b.ok()) return StatusError(b.status());
  return JsonResponse(202, json{{"backtrack", BacktrackJson(*b)}});
}

HttpResponse Console::Impl::Clone(const HttpRequestInfo& req, const std::string& id) {
  auto body = JsonBody(req);
  if (auto* err = std::get_if<HttpResponse>(&body)) return std::move(*err);
  const json& b = std::get<json>(body);
  auto new_id = StringField(b, "new_id");
  if (auto* err = std::get_if<HttpResponse>(&new_id)) return std::move(*err);
  auto at = TimeField(b, "at");
  if (auto* err = std::get_if<HttpResponse>(&at)) return std::move(*err);
  cluster::CloneRequest cr;
  cr.id = std::get<std::string>(new_id);
  cr.source_id = id;
  cr.restore_type = "copy-on-write";
  cr.restore_to_ns = std::get<int64_t>(at);
  Result<cluster::ClusterView> c = service->Clone(cr);
  if (!c.ok()) return StatusError(c.status());
  return JsonResponse(202, json{{"cluster", ClusterJson(*c)}});
}

HttpResponse Console::Impl::CreateInstance(const HttpRequestInfo& req, const std::string& id) {
  auto body = JsonBody(req);
  if (auto* err = std::get_if<HttpResponse>(&body)) return std::move(*err);
  const json& b = std::get<json>(body);
  auto instance_id = StringField(b, "instance_id");
  if (auto* err = std::get_if<HttpResponse>(&instance_id)) return std::move(*err);
  auto instance_class = StringField(b, "instance_class");
  if (auto* err = std::get_if<HttpResponse>(&instance_class)) return std::move(*err);
  cluster::CreateInstanceRequest ir;
  ir.id = std::get<std::string>(instance_id);
  ir.cluster_id = id;
  ir.instance_class = std::get<std::string>(instance_class);
  ir.engine = "aurora-mysql";
  Result<cluster::InstanceView> i = service->CreateInstance(ir);
  if (!i.ok()) return StatusError(i.status());
  return JsonResponse(202, json{{"instance", InstanceJson(*i)}});
}

HttpResponse Console::Impl::Query(const HttpRequestInfo& req, const std::string& id) {
  auto body = JsonBody(req);
  if (auto* err = std::get_if<HttpResponse>(&body)) return std::move(*err);
  const json& b = std::get<json>(body);
  auto at = TimeField(b, "at");
  if (auto* err = std::get_if<HttpResponse>(&at)) return std::move(*err);
  auto sql = b.find("sql");
  if (sql == b.end() || !sql->is_string() || sql->get<std::string>().find_first_not_of(
                                                 " \t\r\n") == std::string::npos) {
    return JsonError(400, "\"sql\" is missing: send the statement to run as a non-empty string");
  }
  if (sql->get<std::string>().size() > kMaxSqlBytes) {
    return JsonError(400, "\"sql\" is too long (at most 64 KiB)");
  }
  std::string database;
  if (auto d = b.find("database"); d != b.end() && !d->is_null()) {
    if (!d->is_string() || d->get<std::string>().size() > 64) {
      return JsonError(400, "\"database\" must be a database name (at most 64 characters)");
    }
    database = d->get<std::string>();
  }
  Result<std::string> out =
      time_travel->Query(id, std::get<int64_t>(at), sql->get<std::string>(), database);
  if (!out.ok()) return StatusError(out.status());
  Result<json> parsed = QueryResult(*out);
  if (!parsed.ok()) return JsonError(500, "reading the query's output: " + parsed.status().message());
  json result = std::move(*parsed);
  result["at_ms"] = Ms(std::get<int64_t>(at));
  return JsonResponse(200, result);
}

HttpResponse Console::Impl::Diff(const HttpRequestInfo& req, const std::string& id) {
  auto at = QueryTime(req, "at");
  if (auto* err = std::get_if<HttpResponse>(&at)) return std::move(*err);
  const std::string table(req.query.Find("table").value_or(""));
  const int64_t now = api::NowNs();
  // The summary's size does not grow with the rows; one table's details come as json, cut below.
  Result<std::string> out = time_travel->Diff(id, std::get<int64_t>(at), now, table,
                                              table.empty() ? "summary" : "json");
  if (!out.ok()) return StatusError(out.status());
  Result<nlohmann::ordered_json> tables = DiffTables(*out);
  if (!tables.ok()) return JsonError(500, tables.status().message());
  return JsonResponse(200, nlohmann::ordered_json{{"from_ms", Ms(std::get<int64_t>(at))},
                                                  {"to_ms", Ms(now)},
                                                  {"tables", std::move(*tables)}});
}

HttpResponse Console::Impl::Tables(const HttpRequestInfo& req, const std::string& id) {
  auto at = QueryTime(req, "at");
  if (auto* err = std::get_if<HttpResponse>(&at)) return std::move(*err);
  Result<std::vector<std::string>> tables = time_travel->Tables(id, std::get<int64_t>(at));
  if (!tables.ok()) return StatusError(tables.status());
  return JsonResponse(200, json{{"at_ms", Ms(std::get<int64_t>(at))}, {"tables", *tables}});
}

HttpResponse Console::Impl::RestoreTable(const HttpRequestInfo& req, const std::string& id) {
  auto body = JsonBody(req);
  if (auto* err = std::get_if<HttpResponse>(&body)) return std::move(*err);
  const json& b = std::get<json>(body);
  auto table = StringField(b, "table");
  if (auto* err = std::get_if<HttpResponse>(&table)) return std::move(*err);
  auto at = TimeField(b, "at");
  if (auto* err = std::get_if<HttpResponse>(&at)) return std::move(*err);
  auto related = BoolField(b, "with_related");
  if (auto* err = std::get_if<HttpResponse>(&related)) return std::move(*err);
  auto dry = BoolField(b, "dry_run");
  if (auto* err = std::get_if<HttpResponse>(&dry)) return std::move(*err);
  cluster::RestoreTableRequest r;
  r.cluster_id = id;
  r.table = std::get<std::string>(table);
  r.to_ns = std::get<int64_t>(at);
  r.with_related = std::get<bool>(related);
  r.dry_run = std::get<bool>(dry);
  Result<cluster::RestoreTableReport> rep = time_travel->RestoreTable(r);
  if (!rep.ok()) return StatusError(rep.status());
  return JsonResponse(200, json{{"tables", rep->tables},
                                {"method", rep->method},
                                {"created", rep->created},
                                {"rows", rep->rows},
                                {"dry_run", r.dry_run}});
}

Console::Console(cluster::ClusterService* service, cluster::TimeTravel* time_travel,
                 api::Credentials credentials, ConsoleOptions options)
    : impl_(std::make_unique<Impl>(service, time_travel, std::move(credentials),
                                   std::move(options))) {}

Console::~Console() = default;

std::string Console::cookie_name() const { return impl_->CookieName(); }

api::HttpResponse Console::Handle(const api::HttpRequestInfo& request) {
  if (request.path.rfind(kApiPrefix, 0) == 0) {
    HttpResponse r = impl_->Api(request);
    impl_->Log(request, r.status);
    return r;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return JsonError(405, "the console's pages are read with GET");
  }
  return impl_->Static(request);
}

void Console::Register(api::ApiServer* server) {
  auto handle = [this](const api::HttpRequestInfo& r) { return Handle(r); };
  server->AddRoute("GET", "/", handle);
  server->AddRoute("GET", std::string(kApiPrefix), handle);
  server->AddRoute("POST", std::string(kApiPrefix), handle);
}

}  // namespace rwd::console
