// The web console: the pages (a built front end, console/ in the source tree) and the JSON API
// they call, on the ApiServer's address beside the RDS Query API. It calls ClusterService
// directly (no AWS vocabulary: errors are JSON {"error": "what to fix"}).
//
//   GET  /, /assets/…                 the built pages from ConsoleOptions::assets_dir (index.html
//                                     for /); 503 with the fix when the directory is missing
//   POST /console/api/login           {"access_key_id", "secret_access_key"} → the session cookie
//                                     and {"csrf_token", "access_key_id", "expires_ms"}; 401 for
//                                     a wrong pair, 429 (Retry-After) past the attempt limit
//   GET  /console/api/session         the session's {"csrf_token", "access_key_id", "expires_ms"}
//   POST /console/api/logout          ends the session, clears the cookie
//   GET  /console/api/clusters        [cluster…]
//   GET  /console/api/clusters/ID     {"cluster", "instances", "backtracks", "events"} (events
//                                     of the cluster and its instances, oldest first)
//   GET  /console/api/clusters/ID/activity[?from=ISO&to=ISO&step=SECONDS]
//                                     {"from_ms", "to_ms", "step_s", "earliest_ms",
//                                      "points": [[time_ms, bytes, records], …]}
//   POST /console/api/clusters/ID/backtrack  {"to": ISO}                → 202 {"backtrack"}
//   POST /console/api/clusters/ID/clone      {"new_id", "at": ISO}      → 202 {"cluster"}
//   POST /console/api/clusters/ID/instances  {"instance_id", "instance_class"} → 202 {"instance"}
//
// The past of a cluster at a picked moment (cluster::TimeTravel, as the API's
// QueryDBClusterAsOf, DiffDBCluster and RestoreDBClusterTable; README "The past without
// rewinding"). AT is an ISO 8601 time with a zone; a time outside the window or in the future
// is refused with the range to pick from (400).
//   POST /console/api/clusters/ID/query      {"at", "sql", "database"?}
//                                     → {"at_ms", "columns": [name…], "rows": [[cell…]…],
//                                        "row_count", "truncated", "message"?}: at most
//                                        kMaxQueryRows rows and kMaxQueryBytes of cells are
//                                        sent; "message" says what was cut and how to narrow
//   GET  /console/api/clusters/ID/diff?at=AT[&table=DB.TABLE]
//                                     the changes from AT to now → {"from_ms", "to_ms",
//                                        "tables": [{"table", "schema" (created|dropped|altered|
//                                        unchanged), "compared_by", "key", "counts": {"inserted",
//                                        "deleted", "updated"}}…]} (tables without changes left
//                                        out); with table: that table's entry also has
//                                        "changes" (the first kMaxDiffChanges of them, as
//                                        `rewind diff --format json`), "changes_total" and
//                                        "truncated"
//   GET  /console/api/clusters/ID/tables?at=AT   {"at_ms", "tables": ["db.table"…]} (the tables
//                                        that existed at AT: what restore-table can take back)
//   POST /console/api/clusters/ID/restore-table {"table", "at", "with_related"?, "dry_run"?}
//                                     → {"tables", "method", "created", "rows", "dry_run"}: with
//                                        dry_run the plan and its lock, nothing changed; without,
//                                        when the table is back (the call lasts the restore); a
//                                        table bound by foreign keys without with_related → 400
//                                        naming them
//
// Security (docs/security.md, "Web console"):
//   - Every /console/api/ call but login needs a live session (SessionStore): its id travels
//     only in a cookie, HttpOnly, SameSite=Strict, Path=/, and Secure with the __Host- prefix
//     when served over TLS. No session → 401.
//   - Every POST needs Content-Type: application/json (so no cross-site form can send one) and,
//     if the browser sent them, an Origin equal to scheme://Host and Sec-Fetch-Site same-origin;
//     every POST but login needs the session's CSRF token in X-CSRF-Token. Otherwise 403.
//   - When rewindd listens on a loopback address, the Host header must name a loopback host
//     (localhost, 127.x.x.x, [::1]): a DNS-rebound name is refused (403).
//   - Pages and answers carry a strict Content-Security-Policy (scripts and styles only from
//     this origin), frame-ancestors 'none', nosniff and no-referrer; API answers are no-store.
//   - The log (ConsoleOptions::log) gets one line per API call: method, path, status, remote
//     address; never a body, a cookie or a token.
//
// Thread safety: Handle may be called concurrently (the ApiServer's workers).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/credentials.h"
#include "api/server.h"
#include "cluster/cluster_service.h"
#include "cluster/time_travel.h"
#include "console/session.h"

namespace rwd::console {

struct ConsoleOptions {
  // The built front end (console/dist after `npm ci && npm run build`). Read at each request, so
  // a rebuild shows without a restart.
  std::string assets_dir;
  bool tls = false;            // served over HTTPS: Secure cookies, https:// origins
  bool loopback_only = true;   // the server listens on a loopback address (see Host check)
  SessionOptions sessions;
  std::function<void(const std::string& line)> log;  // optional
};

class Console {
 public:
  // Bounds of what one as-of query or diff detail sends to the page.
  static constexpr size_t kMaxQueryRows = 1000;
  static constexpr size_t kMaxQueryBytes = 1 << 20;
  static constexpr size_t kMaxDiffChanges = 200;

  // `service` and `time_travel` (over that service) are not owned and must outlive the
  // Console; `credentials` is the key a login must present (DATA_DIR/credentials).
  Console(cluster::ClusterService* service, cluster::TimeTravel* time_travel,
          api::Credentials credentials, ConsoleOptions options);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Adds GET / (pages; longer prefixes such as /metrics keep theirs) and GET/POST
  // /console/api/ to `server`, before it starts. The Console must outlive the server's serving.
  void Register(api::ApiServer* server);

  // One request to any of the routes above (what Register installs).
  api::HttpResponse Handle(const api::HttpRequestInfo& request);

  // The cookie's name: "__Host-rewind_session" over TLS, else "rewind_session".
  std::string cookie_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What POST …/query answers (without "at_ms") for `mysql -B` output (column names first, fields
// with the client's escapes), bounded as that route says; {"error"} for output that is not
// that. Pure; for tests.
std::string QueryResultJson(std::string_view batch_output);

// What GET …/diff answers as "tables" for a `json` or `summary` diff rendering (each table's
// changes cut as that route says); {"error"} for a rendering that is not a list of objects.
// Pure; for tests.
std::string DiffTablesJson(std::string_view rendering);

}  // namespace rwd::console
