#include "api/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "api/random_id.h"
#include "api/timeparse.h"
#include "api/xml.h"
#include "tls/tls.h"

namespace rwd::api {

namespace {

constexpr char kRequestIdHeader[] = "x-amzn-RequestId";
constexpr char kXmlContentType[] = "text/xml";

bool ValidActionName(std::string_view action) {
  if (action.empty() || action.size() > 128) return false;
  for (char c : action) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// httplib listens with a backlog of 5 (a compile-time constant of the shared library), so a
// burst of more than 5 simultaneous connects loses SYNs and stalls clients for a second. The
// listening socket is a protected member; expose it to raise the backlog after binding.
// Base: httplib::Server (HTTP) or httplib::SSLServer (HTTPS).
template <class Base>
class Listener : public Base {
 public:
  using Base::Base;
  socket_t listen_socket() const { return this->svr_sock_; }
};

struct Route {
  std::string method;
  std::string prefix;
  HttpHandler handler;
};

bool PrefixMatches(std::string_view prefix, std::string_view path) {
  if (path == prefix) return true;
  if (prefix.empty() || prefix.back() != '/') return false;
  return path.substr(0, prefix.size()) == prefix;
}

}  // namespace

struct ApiServer::Impl {
  ApiServerOptions options;
  ApiHandler* handler;
  std::vector<Route> routes;
  std::unique_ptr<httplib::Server> http;  // made by Start: HTTP, or HTTPS with a certificate
  std::function<socket_t()> listen_socket;
  std::thread thread;
  std::mutex mu;  // guards started/stopped for Start/Stop
  bool started = false;
  bool stopped = false;
  std::atomic<bool> listener_done{false};
  int bound_port = 0;

  int64_t Now() const { return options.clock ? options.clock() : NowNs(); }

  void SendError(httplib::Response& res, const ApiError& e, const std::string& request_id) {
    res.status = e.http_status;
    res.set_content(ErrorResponseXml(e, request_id), kXmlContentType);
  }

  void HandleApi(const httplib::Request& req, httplib::Response& res,
                 const std::string& request_id);
  void HandleRoute(const httplib::Request& req, httplib::Response& res,
                   const std::string& request_id);
};

void ApiServer::Impl::HandleApi(const httplib::Request& req, httplib::Response& res,
                                const std::string& request_id) {
  const int64_t start = Now();
  ApiCallRecord record;
  record.request_id = request_id;

  auto answer = [&]() -> ApiResult<std::string> {
    SigV4Request sreq;
    sreq.method = req.method;
    sreq.target = req.target;
    sreq.body = req.body;
    for (const auto& [k, v] : req.headers) sreq.headers.emplace_back(k, v);
    SigV4Options sopts;
    sopts.service = options.service;
    sopts.max_skew_ns = options.max_clock_skew_ns;
    API_ASSIGN_OR_RETURN(SigV4Identity identity,
                         VerifySigV4(sreq, options.credentials, start, sopts));
    record.access_key_id = identity.access_key_id;

    ApiRequest api;
    size_t q = req.target.find('?');
    if (q != std::string::npos) {
      API_ASSIGN_OR_RETURN(api.params,
                           FormParams::Parse(std::string_view(req.target).substr(q + 1)));
    }
    API_ASSIGN_OR_RETURN(FormParams body, FormParams::Parse(req.body));
    for (const auto& [k, v] : body.entries()) API_RETURN_IF_ERROR(api.params.Add(k, v));

    std::optional<std::string_view> action = api.params.Find("Action");
    if (!action || action->empty()) return ApiError::MissingAction();
    if (!ValidActionName(*action)) return ApiError::InvalidAction(*action);
    api.action = std::string(*action);
    record.action = api.action;
    std::optional<std::string_view> version = api.params.Find("Version");
    if (!version || version->empty()) return ApiError::MissingParameter("Version");
    if (*version != options.api_version) {
      return ApiError::InvalidParameterValue("Unsupported API version '" + ShownInput(*version) +
                                             "': this endpoint serves RDS API version " +
                                             options.api_version + ".");
    }
    api.version = std::string(*version);
    api.identity = std::move(identity);
    api.request_id = request_id;
    api.remote_addr = req.remote_addr;
    api.received_ns = start;

    ApiResult<ApiResponse> out = ApiError::InternalFailure();
    try {
      out = handler->Handle(api);
    } catch (const std::exception& e) {
      return ApiError::InternalFailure(std::string("internal error: ") + e.what());
    } catch (...) {
      return ApiError::InternalFailure();
    }
    if (!out.ok()) return std::move(out).error();
    return SuccessResponseXml(api.action, out->result_xml, request_id, out->has_result);
  };

  ApiResult<std::string> xml = answer();
  if (xml.ok()) {
    res.status = 200;
    res.set_content(std::move(xml).value(), kXmlContentType);
  } else {
    record.error_code = xml.error().code;
    SendError(res, xml.error(), request_id);
  }
  record.http_status = res.status;
  record.duration_ns = Now() - start;
  if (options.on_call) {
    try {
      options.on_call(record);
    } catch (...) {
    }
  }
}

void ApiServer::Impl::HandleRoute(const httplib::Request& req, httplib::Response& res,
                                  const std::string& request_id) {
  const Route* best = nullptr;
  for (const Route& r : routes) {
    bool method_ok = r.method == req.method || (req.method == "HEAD" && r.method == "GET");
    if (method_ok && PrefixMatches(r.prefix, req.path) &&
        (best == nullptr || r.prefix.size() > best->prefix.size())) {
      best = &r;
    }
  }
  if (best == nullptr) {
    res.status = 404;
    res.set_content("Not Found\n", "text/plain; charset=utf-8");
    return;
  }
  HttpRequestInfo info;
  info.method = req.method;
  info.path = req.path;
  size_t q = req.target.find('?');
  if (q != std::string::npos) {
    ApiResult<FormParams> query = FormParams::Parse(std::string_view(req.target).substr(q + 1));
    if (query.ok()) info.query = std::move(query).value();
  }
  for (const auto& [k, v] : req.headers) info.headers.emplace_back(k, v);
  info.body = req.body;
  info.remote_addr = req.remote_addr;
  info.request_id = request_id;
  HttpResponse out;
  try {
    out = best->handler(info);
  } catch (const std::exception& e) {
    out = HttpResponse{
        500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what(), {}};
  } catch (...) {
    out = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
  }
  res.status = out.status;
  for (auto& [k, v] : out.headers) res.set_header(k, v);
  res.set_content(std::move(out.body), out.content_type);
}

ApiServer::ApiServer(ApiServerOptions options, ApiHandler* handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = handler;
  impl_->bound_port = impl_->options.port;
}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::AddRoute(std::string method, std::string path_prefix, HttpHandler handler) {
  impl_->routes.push_back(Route{std::move(method), std::move(path_prefix), std::move(handler)});
}

void ApiServer::SetMetricsHandler(std::function<std::string()> render) {
  AddRoute("GET", "/metrics", [render = std::move(render)](const HttpRequestInfo&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = render();
    return r;
  });
}

Status ApiServer::Start() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  if (m.started) return Status::FailedPrecondition("ApiServer already started");
  if (m.handler == nullptr) return Status::InvalidArgument("ApiServer: no ApiHandler");
  if (!m.options.credentials) return Status::InvalidArgument("ApiServer: no credential lookup");

  const bool https = !m.options.tls_cert_file.empty() || !m.options.tls_key_file.empty();
  if (https) {
    if (m.options.tls_cert_file.empty() || m.options.tls_key_file.empty()) {
      return Status::InvalidArgument("HTTPS needs both a certificate file and a key file");
    }
    // Checked here, with messages naming the file and the problem; httplib would only say
    // "invalid". Validity is judged by the real clock, whatever options.clock says (that one
    // is for SigV4's skew checks in tests).
    Result<tls::ServerIdentity> id = tls::ServerIdentity::Load(
        m.options.tls_cert_file, m.options.tls_key_file, NowNs() / kNanosPerSecond);
    if (!id.ok()) return id.status();
    Status configured = Status::Ok();
    auto server = std::make_unique<Listener<httplib::SSLServer>>([&](SSL_CTX& ctx) {
      configured = id->Configure(&ctx);
      return configured.ok();
    });
    if (!configured.ok()) return configured;
    if (!server->is_valid()) return Status::IOError("cannot create the TLS context");
    m.listen_socket = [s = server.get()] { return s->listen_socket(); };
    m.http = std::move(server);
  } else {
    auto server = std::make_unique<Listener<httplib::Server>>();
    m.listen_socket = [s = server.get()] { return s->listen_socket(); };
    m.http = std::move(server);
  }
  httplib::Server& http = *m.http;
  // httplib's default sets SO_REUSEPORT, which would let a second daemon share the port
  // silently. SO_REUSEADDR alone allows a quick restart and still fails on a live listener.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_tcp_nodelay(true);
  http.set_keep_alive_timeout(m.options.keep_alive_timeout_sec);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  http.set_payload_max_length(m.options.max_body_bytes);
  const size_t threads = static_cast<size_t>(std::max(1, m.options.worker_threads));
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  // A request id for every request, echoed in x-amzn-RequestId on every response.
  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header(kRequestIdHeader, RandomUuid());
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.has_header(kRequestIdHeader)) res.set_header(kRequestIdHeader, RandomUuid());
  });
  auto dispatch = [&m](const httplib::Request& req, httplib::Response& res) {
    std::string request_id = res.get_header_value(kRequestIdHeader);
    if (request_id.empty()) {
      request_id = RandomUuid();
      res.set_header(kRequestIdHeader, request_id);
    }
    if (req.method == "POST" && req.path == "/") {
      m.HandleApi(req, res, request_id);
    } else {
      m.HandleRoute(req, res, request_id);
    }
  };
  http.Get(".*", dispatch);
  http.Post(".*", dispatch);
  http.Put(".*", dispatch);
  http.Delete(".*", dispatch);
  http.Patch(".*", dispatch);
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(
            ErrorResponseXml(ApiError::InternalFailure(), res.get_header_value(kRequestIdHeader)),
            kXmlContentType);
      });

  errno = 0;
  bool bound;
  if (m.options.port == 0) {
    int port = http.bind_to_any_port(m.options.host);
    bound = port > 0;
    if (bound) m.bound_port = port;
  } else {
    bound = http.bind_to_port(m.options.host, m.options.port);
    if (bound) m.bound_port = m.options.port;
  }
  if (!bound) {
    int err = errno;
    std::string msg = "cannot listen on " + m.options.host + ":" + std::to_string(m.options.port);
    if (err != 0) msg += std::string(": ") + std::strerror(err);
    return Status::Unavailable(msg);
  }
  ::listen(m.listen_socket(), SOMAXCONN);  // re-listen only raises the backlog (Linux)
  m.started = true;
  m.listener_done = false;
  m.thread = std::thread([&m] {
    m.http->listen_after_bind();
    m.listener_done = true;
  });
  // httplib's stop() is a no-op until the accept loop runs; wait for it so Stop() cannot be lost.
  while (!http.is_running() && !m.listener_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

void ApiServer::Stop() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  if (!m.started || m.stopped) return;
  m.stopped = true;
  m.http->stop();
  if (m.thread.joinable()) m.thread.join();
}

int ApiServer::port() const { return impl_->bound_port; }

std::string ApiServer::endpoint_url() const {
  const std::string& host = impl_->options.host;
  bool v6 = host.find(':') != std::string::npos;
  const bool https = !impl_->options.tls_cert_file.empty();
  return (https ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port());
}

}  // namespace rwd::api
