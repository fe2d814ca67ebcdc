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

#include "api/credentials.h"
#include "api/server.h"
#include "cluster/cluster_service.h"
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
  // `service` is not owned and must outlive the Console; `credentials` is the key a login must
  // present (DATA_DIR/credentials).
  Console(cluster::ClusterService* service, api::Credentials credentials, ConsoleOptions options);
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

}  // namespace rwd::console
