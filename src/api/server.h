// ApiServer: the HTTP front of the control plane (cpp-httplib underneath, not exposed).
//
//   POST /            the RDS Query API: SigV4 is verified first (sigv4.h), then the form body
//                     (and any URL query) is decoded, Action and Version are checked, and the
//                     request goes to ApiHandler::Handle. The result is wrapped in
//                     <ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…;
//                     an ApiError becomes <ErrorResponse> with its HTTP status.
//   GET /metrics      the metrics hook's text (Prometheus exposition format), if set.
//   other routes      handlers registered with AddRoute / AddGetHandler (a web console); these
//                     are NOT authenticated: bind to 127.0.0.1 (the default) unless that is wanted.
// Every response carries an `x-amzn-RequestId` header (a random UUID), which is also the
// <RequestId> in the XML.
//
// Lifecycle: construct → AddRoute/SetMetricsHandler → Start → ... → Stop (or destroy). Start
// once; Stop is idempotent and waits for in-flight requests (idle keep-alive connections are
// closed within keep_alive_timeout_sec).
//
// Thread safety: ApiHandler::Handle, route handlers, the metrics hook, the SecretLookup, the
// clock and on_call are called concurrently from the server's worker threads. Start/Stop must
// not race each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/api_error.h"
#include "api/form.h"
#include "api/sigv4.h"
#include "common/status.h"

namespace rwd::api {

inline constexpr std::string_view kRdsApiVersion = "2014-10-31";

// One authenticated API call, as the cluster-facing layer sees it.
struct ApiRequest {
  std::string action;      // e.g. "DescribeDBClusters" (non-empty, [A-Za-z0-9] only)
  std::string version;     // equals ApiServerOptions::api_version
  FormParams params;       // every parameter (URL query then body), Action and Version included
  SigV4Identity identity;  // who signed it; identity.region = the client's region
  std::string request_id;
  std::string remote_addr;
  int64_t received_ns = 0;  // server clock at arrival
};

// A successful answer: the children of <ActionResult> (build them with XmlWriter, xml.h).
struct ApiResponse {
  std::string result_xml;
  bool has_result = true;  // false for operations without an output shape: no Result element
};

// Implemented by the cluster-facing layer. Handle must answer every action it does not know with
// ApiError::InvalidAction(request.action). It may throw nothing (an escaping exception becomes a
// 500 InternalFailure, which clients retry). It runs on a server worker thread, concurrently with
// other calls; long work should be started and reported asynchronously, as Aurora does.
class ApiHandler {
 public:
  virtual ~ApiHandler() = default;
  virtual ApiResult<ApiResponse> Handle(const ApiRequest& request) = 0;
};

// A plain HTTP request for a route handler.
struct HttpRequestInfo {
  std::string method;
  std::string path;  // decoded
  FormParams query;  // decoded URL query (empty if it was malformed)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_addr;
  std::string request_id;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

using HttpHandler = std::function<HttpResponse(const HttpRequestInfo&)>;

// Reported after every POST / call (for logs and metrics).
struct ApiCallRecord {
  std::string request_id;
  std::string action;         // may be empty (auth failed, no Action)
  std::string access_key_id;  // empty when authentication failed
  int http_status = 0;
  std::string error_code;  // empty on success
  int64_t duration_ns = 0;
};

struct ApiServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;              // 0: the kernel picks a free port; read it back with ApiServer::port()
  // HTTPS (TLS 1.2 and later) when both are set: the server's certificate in PEM (then any
  // intermediates) and its unencrypted PEM key, loaded and checked by Start. Both empty: HTTP.
  // Choosing where plain HTTP is acceptable is the caller's job (tls::CheckPlainHttpListen).
  std::string tls_cert_file;
  std::string tls_key_file;
  SecretLookup credentials;  // required: access key id → secret
  std::string service = "rds";  // SigV4 scope service
  std::string api_version = std::string(kRdsApiVersion);
  int64_t max_clock_skew_ns = 15LL * 60 * 1'000'000'000;
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int keep_alive_timeout_sec = 2;
  int worker_threads = 8;
  std::function<int64_t()> clock;  // ns since the epoch; default: the system clock
  std::function<void(const ApiCallRecord&)> on_call;  // optional
};

class ApiServer {
 public:
  // `handler` is not owned and must outlive the server.
  ApiServer(ApiServerOptions options, ApiHandler* handler);
  ~ApiServer();  // Stop()s
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Registers a handler for `method` ("GET", "POST", ...) on `path_prefix`: it matches the path
  // itself and, for a prefix ending in '/', everything below ("/console/" matches
  // "/console/x/y"). The longest matching prefix wins. POST / is always the API. Call before
  // Start.
  void AddRoute(std::string method, std::string path_prefix, HttpHandler handler);
  void AddGetHandler(std::string path_prefix, HttpHandler handler) {
    AddRoute("GET", std::move(path_prefix), std::move(handler));
  }
  // GET /metrics → 200 text/plain; version=0.0.4 with render()'s output. Call before Start.
  void SetMetricsHandler(std::function<std::string()> render);

  // Binds host:port and starts serving on background threads; when it returns OK the port
  // accepts connections. Failure: InvalidArgument (no handler or credentials, only one of the
  // TLS files), Unavailable if the address cannot be bound (the message names host:port and the
  // OS error), FailedPrecondition if already started; for HTTPS, tls::ServerIdentity::Load's
  // Status (NotFound, IOError or InvalidArgument, naming the bad file and what is wrong).
  Status Start();
  // Stops accepting, finishes in-flight requests and joins all threads.
  void Stop();

  int port() const;                  // the bound port (after Start), else options.port
  std::string endpoint_url() const;  // "http(s)://host:port", for --endpoint-url

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rwd::api
