#include "objstore/s3_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <random>
#include <thread>

namespace rwd::objstore {

struct S3Client::Request {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // extra "Name: value" lines
  std::string what;                  // "GetObject key", for messages
};

struct S3Client::Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased; the last value wins
};

// Easy handles for reuse (each keeps its connections alive); one per call in flight.
class S3Client::HandlePool {
 public:
  ~HandlePool() {
    for (CURL* h : free_) curl_easy_cleanup(h);
  }
  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        CURL* h = free_.back();
        free_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* h) {
    curl_easy_reset(h);  // keeps the connection cache, drops every option
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(h);
  }

 private:
  std::mutex mu_;
  std::vector<CURL*> free_;
};

namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

std::string Md5Base64(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, '/' stays in paths.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

// The query string of name=value pairs, sorted by name and encoded (SigV4 signs it as sent).
std::string Query(std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string q;
  for (const auto& [k, v] : params) {
    if (!q.empty()) q += '&';
    q += UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return q;
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();  // a new response (after 100 Continue or a redirect)
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  (*headers)[name] = std::string(value);
  return size * n;
}

AttemptOutcome::Transport ClassifyCurl(CURLcode code) {
  switch (code) {
    case CURLE_OK: return AttemptOutcome::Transport::kOk;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_AGAIN:
      return AttemptOutcome::Transport::kRetryable;
    default:
      return AttemptOutcome::Transport::kPermanent;
  }
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

Status CheckMetadataNames(const PutOptions& options) {
  for (const auto& [name, value] : options.metadata) {
    if (name.empty()) return Status::InvalidArgument("empty object metadata name");
    for (char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return Status::InvalidArgument("object metadata name '" + name +
                                       "' may hold only lowercase letters, digits and '-'");
      }
    }
    for (unsigned char c : value) {
      if (c < 0x20 || c >= 0x7f) {
        return Status::InvalidArgument("object metadata '" + name +
                                       "' must be printable ASCII");
      }
    }
  }
  return Status::Ok();
}

std::vector<std::string> MetadataHeaders(const PutOptions& options) {
  std::vector<std::string> h;
  for (const auto& [name, value] : options.metadata) h.push_back("x-amz-meta-" + name + ": " + value);
  return h;
}

uint64_t JitterSeed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config, Credentials credentials) {
  if (config.bucket.empty()) return Status::InvalidArgument("S3 config without a bucket");
  if (config.endpoint.empty()) return Status::InvalidArgument("S3 config without an endpoint");
  if (config.part_size < (5ull << 20) || config.part_size > (5ull << 30)) {
    return Status::InvalidArgument("S3 part size must be 5 MiB to 5 GiB");
  }
  if (config.multipart_threshold < config.part_size) {
    return Status::InvalidArgument("S3 multipart threshold must be at least the part size");
  }
  if (config.part_concurrency < 1 || config.part_concurrency > 64) {
    return Status::InvalidArgument("S3 part concurrency must be 1 to 64");
  }
  if (config.retry.max_attempts < 1) {
    return Status::InvalidArgument("S3 retry policy needs at least one attempt");
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::InvalidArgument("S3 credentials without an access key id or secret");
  }
  static std::once_flag curl_once;
  static CURLcode curl_init = CURLE_OK;
  std::call_once(curl_once, [] { curl_init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (curl_init != CURLE_OK) {
    return Status::Unavailable(std::string("libcurl initialization failed: ") +
                               curl_easy_strerror(curl_init));
  }
  return std::unique_ptr<S3Client>(new S3Client(std::move(config), std::move(credentials)));
}

S3Client::S3Client(S3Config config, Credentials credentials)
    : config_(std::move(config)),
      credentials_(std::move(credentials)),
      sigv4_("aws:amz:" + config_.region + ":s3"),
      handles_(std::make_unique<HandlePool>()) {}

S3Client::~S3Client() = default;

Result<std::string> S3Client::FullKey(std::string_view key) const {
  if (key.empty()) return Status::InvalidArgument("empty object key");
  std::string full = config_.prefix + std::string(key);
  if (full.size() > 1024) {
    return Status::InvalidArgument("object key '" + full + "' is longer than 1024 bytes");
  }
  for (unsigned char c : full) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("object key holds a control character");
    }
  }
  return full;
}

std::string S3Client::ObjectUrl(const std::string& full_key, const std::string& query) const {
  std::string url = config_.endpoint + "/" + config_.bucket;
  if (!full_key.empty()) url += "/" + UriEncode(full_key, true);
  if (!query.empty()) url += "?" + query;
  return url;
}

Result<S3Client::Response> S3Client::SendOnce(const Request& req, AttemptOutcome* outcome) {
  CURL* h = handles_->Take();
  if (h == nullptr) return Status::Unavailable(req.what + ": curl_easy_init failed");
  Response resp;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  auto add = [&](const std::string& line) { headers = curl_slist_append(headers, line.c_str()); };
  add("x-amz-content-sha256: " + Sha256Hex(req.body));
  // No "Expect:" line to skip 100-continue: curl 7.88 signs the emptied header yet does not send
  // it, and the server answers SignatureDoesNotMatch.
  if (!credentials_.session_token.empty()) {
    add("x-amz-security-token: " + credentials_.session_token);
  }
  for (const std::string& line : req.headers) add(line);

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, credentials_.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, config_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, config_.stall_timeout_s);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    // PUT and POST bodies are in memory: given as POSTFIELDS so that curl signs them as sent.
    if (req.method != "DELETE") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(req.body.size()));
      add("Content-Type: application/octet-stream");
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  const CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_slist_free_all(headers);
  handles_->Give(h);

  *outcome = AttemptOutcome{};
  outcome->transport = ClassifyCurl(rc);
  if (rc != CURLE_OK) {
    const std::string detail = errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc);
    const std::string msg = req.what + ": " + detail;
    if (outcome->transport == AttemptOutcome::Transport::kRetryable) {
      return Status::Unavailable(msg);
    }
    return Status::InvalidArgument(msg);
  }
  outcome->http_status = resp.status;
  if (resp.status >= 200 && resp.status < 300) return resp;
  const ErrorBody err = ParseErrorBody(resp.body);
  outcome->s3_code = err.code;
  return StatusFromOutcome(*outcome, req.what, err.message);
}

Result<S3Client::Response> S3Client::Send(const Request& req) {
  for (int attempt = 1;; ++attempt) {
    AttemptOutcome outcome;
    Result<Response> r = SendOnce(req, &outcome);
    if (r.ok()) return r;
    if (attempt >= config_.retry.max_attempts || !ShouldRetry(outcome)) {
      if (attempt > 1) {
        return r.status().WithContext("after " + std::to_string(attempt) + " attempts");
      }
      return r.status();
    }
    std::this_thread::sleep_for(BackoffDelay(config_.retry, attempt, JitterSeed()));
  }
}

Status S3Client::PutSingle(const std::string& full_key, std::string body,
                           const PutOptions& options) {
  Request req{"PUT", ObjectUrl(full_key, ""), std::move(body), MetadataHeaders(options),
              "PutObject " + full_key};
  return Send(req).status();
}

Status S3Client::UploadPart(const std::string& full_key, const std::string& upload_id, int number,
                            uint64_t offset, uint64_t length, const PartReader& read,
                            std::pair<int, std::string>* etag_out) {
  Request part{"PUT",
               ObjectUrl(full_key, Query({{"partNumber", std::to_string(number)},
                                          {"uploadId", upload_id}})),
               "",
               {},
               "UploadPart " + std::to_string(number) + " of " + full_key};
  RETURN_IF_ERROR(read(offset, length, &part.body));
  ASSIGN_OR_RETURN(Response done, Send(part));
  auto etag = done.headers.find("etag");
  if (etag == done.headers.end() || etag->second.empty()) {
    return Status::Corruption(part.what + ": the answer has no ETag");
  }
  *etag_out = {number, Unquote(etag->second)};
  return Status::Ok();
}

Status S3Client::PutMultipart(const std::string& full_key, uint64_t size,
                              const PartReader& read, const PutOptions& options) {
  const uint64_t part_size = config_.part_size;
  const uint64_t parts = (size + part_size - 1) / part_size;
  if (parts > 10000) {
    return Status::InvalidArgument("object of " + std::to_string(size) +
                                   " bytes needs more than 10000 parts: raise the part size");
  }
  Request create{"POST", ObjectUrl(full_key, Query({{"uploads", ""}})), "",
                 MetadataHeaders(options), "CreateMultipartUpload " + full_key};
  ASSIGN_OR_RETURN(Response created, Send(create));
  ASSIGN_OR_RETURN(std::string upload_id, ParseUploadId(created.body));

  auto upload_all = [&]() -> Status {
    // Parts go up from config.part_concurrency threads, each taking the next part number; the
    // first failure stops the others from starting new parts.
    std::vector<std::pair<int, std::string>> etags(parts);
    std::atomic<uint64_t> next{0};
    std::mutex mu;
    Status first_error;
    auto worker = [&] {
      for (;;) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!first_error.ok()) return;
        }
        const uint64_t i = next.fetch_add(1);
        if (i >= parts) return;
        Status st = UploadPart(full_key, upload_id, static_cast<int>(i + 1), i * part_size,
                               std::min(part_size, size - i * part_size), read, &etags[i]);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) first_error = st;
          return;
        }
      }
    };
    const uint64_t threads = std::min<uint64_t>(parts, config_.part_concurrency);
    std::vector<std::thread> pool;
    for (uint64_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    RETURN_IF_ERROR(first_error);
    Request complete{"POST", ObjectUrl(full_key, Query({{"uploadId", upload_id}})),
                     CompleteMultipartXml(etags), {}, "CompleteMultipartUpload " + full_key};
    ASSIGN_OR_RETURN(Response completed, Send(complete));
    ASSIGN_OR_RETURN(ErrorBody err, ParseCompleteMultipart(completed.body));
    if (!err.code.empty()) {
      AttemptOutcome o{AttemptOutcome::Transport::kOk, 500, err.code};
      return StatusFromOutcome(o, complete.what, err.message);
    }
    return Status::Ok();
  };
  Status s = upload_all();
  if (!s.ok()) {
    // Parts of an abandoned upload are billed and invisible: abort it (best effort; the
    // bucket's lifecycle rule for incomplete uploads is the backstop).
    Request abort{"DELETE", ObjectUrl(full_key, Query({{"uploadId", upload_id}})), "", {},
                  "AbortMultipartUpload " + full_key};
    Status a = Send(abort).status();
    if (!a.ok()) return s.WithContext("(abort failed too: " + a.ToString() + ")");
  }
  return s;
}

Status S3Client::Put(std::string_view key, std::string_view data, const PutOptions& options) {
  ASSIGN_OR_RETURN(std::string full, FullKey(key));
  RETURN_IF_ERROR(CheckMetadataNames(options));
  if (data.size() <= config_.multipart_threshold) {
    return PutSingle(full, std::string(data), options);
  }
  return PutMultipart(
      full, data.size(),
      [&](uint64_t offset, uint64_t len, std::string* out) {
        out->assign(data.substr(offset, len));
        return Status::Ok();
      },
      options);
}

Status S3Client::PutFile(std::string_view key, const std::string& path,
                         const PutOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = Status::FromErrno(errno, "stat " + path);
  } else {
    s = PutFd(key, fd, static_cast<uint64_t>(st.st_size), path, options);
  }
  ::close(fd);
  return s;
}

Status S3Client::PutFd(std::string_view key, int fd, uint64_t size, const std::string& name,
                       const PutOptions& options) {
  ASSIGN_OR_RETURN(std::string full, FullKey(key));
  RETURN_IF_ERROR(CheckMetadataNames(options));
  auto read = [&](uint64_t offset, uint64_t len, std::string* out) -> Status {
    out->resize(len);
    uint64_t done = 0;
    while (done < len) {
      const ssize_t n = ::pread(fd, out->data() + done, len - done,
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "read " + name);
      if (n == 0) return Status::IOError(name + " shrank during the upload");
      done += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  };
  if (size <= config_.multipart_threshold) {
    std::string body;
    RETURN_IF_ERROR(read(0, size, &body));
    return PutSingle(full, std::move(body), options);
  }
  return PutMultipart(full, size, read, options);
}

Result<std::string> S3Client::Get(std::string_view key, const GetOptions& options) {
  ASSIGN_OR_RETURN(std::string full, FullKey(key));
  Request req{"GET", ObjectUrl(full, ""), "", {}, "GetObject " + full};
  if (options.range.has_value()) {
    if (options.range->length == 0) return Status::InvalidArgument("empty byte range");
    const uint64_t last = options.range->offset + options.range->length - 1;
    req.headers.push_back("Range: bytes=" + std::to_string(options.range->offset) + "-" +
                          std::to_string(last));
  }
  if (!options.if_match.empty()) req.headers.push_back("If-Match: \"" + options.if_match + "\"");
  ASSIGN_OR_RETURN(Response resp, Send(req));
  if (options.range.has_value() && resp.status == 200) {
    // A server that ignores Range sends the whole object: cut it here.
    if (options.range->offset >= resp.body.size()) return std::string();
    return resp.body.substr(options.range->offset, options.range->length);
  }
  return std::move(resp.body);
}

Result<ObjectInfo> S3Client::Head(std::string_view key) {
  ASSIGN_OR_RETURN(std::string full, FullKey(key));
  Request req{"HEAD", ObjectUrl(full, ""), "", {}, "HeadObject " + full};
  ASSIGN_OR_RETURN(Response resp, Send(req));
  ObjectInfo info;
  info.key = std::string(key);
  const std::string& len = resp.headers["content-length"];
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), info.size);
  if (ec != std::errc() || p != len.data() + len.size()) {
    return Status::Corruption(req.what + ": bad Content-Length '" + len + "'");
  }
  info.etag = Unquote(resp.headers["etag"]);
  info.last_modified = resp.headers["last-modified"];
  for (const auto& [name, value] : resp.headers) {
    if (name.rfind("x-amz-meta-", 0) == 0) info.metadata[name.substr(11)] = value;
  }
  return info;
}

Result<ListPage> S3Client::List(std::string_view prefix, std::string_view continuation_token,
                                int max_keys) {
  if (max_keys < 1 || max_keys > 1000) {
    return Status::InvalidArgument("max_keys must be 1 to 1000");
  }
  std::vector<std::pair<std::string, std::string>> params = {
      {"list-type", "2"},
      {"max-keys", std::to_string(max_keys)},
      {"prefix", config_.prefix + std::string(prefix)}};
  if (!continuation_token.empty()) {
    params.emplace_back("continuation-token", std::string(continuation_token));
  }
  Request req{"GET", ObjectUrl("", Query(params)), "", {},
              "ListObjectsV2 " + config_.prefix + std::string(prefix)};
  ASSIGN_OR_RETURN(Response resp, Send(req));
  ASSIGN_OR_RETURN(ListPage page, ParseListObjectsV2(resp.body));
  for (ObjectInfo& o : page.objects) {
    if (o.key.compare(0, config_.prefix.size(), config_.prefix) != 0) {
      return Status::Corruption(req.what + ": the answer lists '" + o.key +
                                "', outside the prefix");
    }
    o.key.erase(0, config_.prefix.size());
  }
  return page;
}

Result<std::vector<ObjectInfo>> S3Client::ListAll(std::string_view prefix) {
  std::vector<ObjectInfo> all;
  std::string token;
  do {
    ASSIGN_OR_RETURN(ListPage page, List(prefix, token));
    for (ObjectInfo& o : page.objects) all.push_back(std::move(o));
    if (page.truncated && page.next_continuation_token == token) {
      return Status::Corruption("ListObjectsV2: the continuation token did not advance");
    }
    token = page.truncated ? page.next_continuation_token : std::string();
  } while (!token.empty());
  return all;
}

Status S3Client::Delete(std::string_view key) {
  ASSIGN_OR_RETURN(std::string full, FullKey(key));
  Request req{"DELETE", ObjectUrl(full, ""), "", {}, "DeleteObject " + full};
  return Send(req).status();
}

Status S3Client::DeleteMany(const std::vector<std::string>& keys) {
  for (size_t start = 0; start < keys.size(); start += 1000) {
    std::vector<std::string> batch;
    for (size_t i = start; i < std::min(keys.size(), start + 1000); ++i) {
      ASSIGN_OR_RETURN(std::string full, FullKey(keys[i]));
      batch.push_back(std::move(full));
    }
    std::string body = DeleteObjectsXml(batch);
    Request req{"POST", ObjectUrl("", Query({{"delete", ""}})), body,
                {"Content-MD5: " + Md5Base64(body)},
                "DeleteObjects (" + std::to_string(batch.size()) + " keys)"};
    ASSIGN_OR_RETURN(Response resp, Send(req));
    ASSIGN_OR_RETURN(auto errors, ParseDeleteResult(resp.body));
    if (!errors.empty()) {
      return Status::FailedPrecondition(req.what + ": " + errors[0].first + " was not deleted (" +
                                        errors[0].second + "), " +
                                        std::to_string(errors.size()) + " refused in all")
          .WithTag(errors[0].second);
    }
  }
  return Status::Ok();
}

}  // namespace rwd::objstore
