#include "api/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <string>

#include "api/form.h"
#include "api/timeparse.h"

namespace rwd::api {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Trim + collapse runs of whitespace to one space (botocore: ' '.join(value.split())).
std::string TrimAll(std::string_view s) {
  std::string out;
  bool pending_space = false;
  for (char c : s) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out += ' ';
      pending_space = false;
      out += c;
    }
  }
  return out;
}

std::optional<std::string_view> FindHeader(const SigV4Request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

// RFC 3986 5.2.4, plus removal of empty segments (botocore utils.remove_dot_segments).
std::string RemoveDotSegments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(start, slash - start);
    start = slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(seg);
    }
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view seg = query.substr(start, amp - start);
    start = amp + 1;
    if (seg.empty()) continue;
    size_t eq = seg.find('=');
    std::string_view k = seg.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? "" : seg.substr(eq + 1);
    Result<std::string> dk = PercentDecode(k, true);
    Result<std::string> dv = PercentDecode(v, true);
    pairs.emplace_back(UriEncode(dk.ok() ? *dk : std::string(k), false),
                       UriEncode(dv.ok() ? *dv : std::string(v), false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0) out += '&';
    out += pairs[i].first;
    out += '=';
    out += pairs[i].second;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string ComputeSignature(const SigV4Request& req,
                             const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash, std::string_view amz_date,
                             std::string_view secret, std::string_view region,
                             std::string_view service) {
  std::string date(amz_date.substr(0, 8));
  std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/" +
                      std::string(kTerminator);
  std::string canonical = SigV4CanonicalRequest(req, signed_headers, payload_hash);
  std::string sts = SigV4StringToSign(amz_date, scope, canonical);
  return HexEncode(HmacSha256(SigV4SigningKey(secret, date, region, service), sts));
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    return std::string();  // Not reachable with the default provider; never equals a real hash.
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len) == nullptr) {
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, kTerminator);
}

std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request) {
  std::string sts(kAlgorithm);
  sts += '\n';
  sts += amz_date;
  sts += '\n';
  sts += scope;
  sts += '\n';
  sts += Sha256Hex(canonical_request);
  return sts;
}

std::string SigV4CanonicalRequest(const SigV4Request& req,
                                  const std::vector<std::string>& signed_headers,
                                  std::string_view payload_hash) {
  std::string_view target = req.target;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);

  std::string cr;
  for (char c : req.method) cr += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  cr += '\n';
  cr += UriEncode(RemoveDotSegments(path), true);
  cr += '\n';
  cr += CanonicalQuery(query);
  cr += '\n';
  for (const std::string& name : signed_headers) {
    cr += name;
    cr += ':';
    bool first = true;
    for (const auto& [k, v] : req.headers) {
      if (!EqualsIgnoreCase(k, name)) continue;
      if (!first) cr += ',';
      first = false;
      cr += TrimAll(v);
    }
    cr += '\n';
  }
  cr += '\n';
  cr += Join(signed_headers, ';');
  cr += '\n';
  cr += payload_hash;
  return cr;
}

ApiResult<SigV4Authorization> ParseSigV4Authorization(std::string_view header_value) {
  std::string_view v = Trim(header_value);
  size_t sp = v.find_first_of(" \t");
  std::string_view algorithm = v.substr(0, sp);
  if (algorithm != kAlgorithm) {
    return ApiError::IncompleteSignature("Unsupported Authorization algorithm '" +
                                         std::string(algorithm.substr(0, 64)) +
                                         "': only AWS4-HMAC-SHA256 (Signature Version 4) is "
                                         "accepted.");
  }
  std::string_view rest = sp == std::string_view::npos ? "" : v.substr(sp + 1);
  std::optional<std::string_view> credential, signed_headers, signature;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string_view::npos) comma = rest.size();
    std::string_view part = Trim(rest.substr(start, comma - start));
    start = comma + 1;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = Trim(part.substr(0, eq));
    std::string_view val = Trim(part.substr(eq + 1));
    if (key == "Credential") credential = val;
    if (key == "SignedHeaders") signed_headers = val;
    if (key == "Signature") signature = val;
  }
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!missing.empty()) {
    return ApiError::IncompleteSignature(
        missing + "Authorization=" + std::string(header_value.substr(0, 512)));
  }
  SigV4Authorization auth;
  std::vector<std::string> parts;
  size_t s = 0;
  while (true) {
    size_t slash = credential->find('/', s);
    parts.emplace_back(credential->substr(s, slash == std::string_view::npos ? slash : slash - s));
    if (slash == std::string_view::npos) break;
    s = slash + 1;
  }
  bool parts_ok = parts.size() == 5 && std::none_of(parts.begin(), parts.end(),
                                                    [](const std::string& p) { return p.empty(); });
  if (!parts_ok || parts[1].size() != 8 ||
      !std::all_of(parts[1].begin(), parts[1].end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return ApiError::IncompleteSignature(
        "Credential '" + std::string(credential->substr(0, 256)) +
        "' is malformed: expected <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request.");
  }
  auth.access_key_id = parts[0];
  auth.date = parts[1];
  auth.region = parts[2];
  auth.service = parts[3];
  auth.terminator = parts[4];
  s = 0;
  while (s <= signed_headers->size()) {
    size_t semi = signed_headers->find(';', s);
    if (semi == std::string_view::npos) semi = signed_headers->size();
    std::string_view h = signed_headers->substr(s, semi - s);
    if (!h.empty()) auth.signed_headers.emplace_back(h);
    s = semi + 1;
  }
  if (auth.signed_headers.empty()) {
    return ApiError::IncompleteSignature("Authorization header has an empty 'SignedHeaders'.");
  }
  auth.signature = std::string(*signature);
  return auth;
}

ApiResult<SigV4Identity> VerifySigV4(const SigV4Request& req, const SecretLookup& lookup,
                                     int64_t now_ns, const SigV4Options& options) {
  std::optional<std::string_view> authorization = FindHeader(req, "authorization");
  if (!authorization) return ApiError::MissingAuthenticationToken();
  API_ASSIGN_OR_RETURN(SigV4Authorization auth, ParseSigV4Authorization(*authorization));

  std::optional<std::string_view> amz_date = FindHeader(req, "x-amz-date");
  if (!amz_date) {
    return ApiError::IncompleteSignature(
        "Authorization header requires existence of an 'X-Amz-Date' header. Authorization=" +
        std::string(authorization->substr(0, 512)));
  }
  Result<int64_t> signed_at = ParseAmzDate(Trim(*amz_date));
  if (!signed_at.ok()) return ApiError::IncompleteSignature(signed_at.status().message());
  std::string amz_date_text(Trim(*amz_date));

  if (std::none_of(auth.signed_headers.begin(), auth.signed_headers.end(),
                   [](const std::string& h) { return EqualsIgnoreCase(h, "host"); })) {
    return ApiError::IncompleteSignature(
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  std::optional<std::string> secret = lookup ? lookup(auth.access_key_id) : std::nullopt;
  if (!secret) return ApiError::InvalidClientTokenId();

  if (*signed_at < now_ns - options.max_skew_ns) {
    return ApiError::RequestExpired(
        "Signature expired: " + amz_date_text + " is now earlier than " +
        FormatAmzDate(now_ns - options.max_skew_ns) + " (" + FormatAmzDate(now_ns) + " - " +
        std::to_string(options.max_skew_ns / (60 * kNanosPerSecond)) + " min.)");
  }
  if (*signed_at > now_ns + options.max_skew_ns) {
    return ApiError::RequestExpired(
        "Signature not yet current: " + amz_date_text + " is still later than " +
        FormatAmzDate(now_ns + options.max_skew_ns) + " (" + FormatAmzDate(now_ns) + " + " +
        std::to_string(options.max_skew_ns / (60 * kNanosPerSecond)) + " min.)");
  }
  if (auth.date != amz_date_text.substr(0, 8)) {
    return ApiError::SignatureDoesNotMatch(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        auth.date + "' != '" + amz_date_text.substr(0, 8) + "', from '" + amz_date_text + "'.");
  }
  if (auth.service != options.service) {
    return ApiError::SignatureDoesNotMatch("Credential should be scoped to correct service: '" +
                                           options.service + "'.");
  }
  if (auth.terminator != kTerminator) {
    return ApiError::SignatureDoesNotMatch(
        "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
        auth.terminator + "'.");
  }

  std::string body_hash = Sha256Hex(req.body);
  std::string payload_hash = body_hash;
  if (std::optional<std::string_view> declared = FindHeader(req, "x-amz-content-sha256")) {
    std::string d(Trim(*declared));
    if (ToLower(d) != body_hash) return ApiError::XAmzContentSHA256Mismatch();
    payload_hash = d;
  }

  std::string expected = ComputeSignature(req, auth.signed_headers, payload_hash, amz_date_text,
                                          *secret, auth.region, auth.service);
  if (!ConstantTimeEquals(expected, auth.signature)) return ApiError::SignatureDoesNotMatch();

  SigV4Identity id;
  id.access_key_id = std::move(auth.access_key_id);
  id.region = std::move(auth.region);
  id.service = std::move(auth.service);
  id.signed_at_ns = *signed_at;
  return id;
}

std::vector<std::pair<std::string, std::string>> SignSigV4(const SigV4SignInput& input) {
  std::string amz_date = FormatAmzDate(input.now_ns);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [k, v] : input.headers) {
    std::string lk = ToLower(k);
    if (lk == "user-agent" || lk == "expect" || lk == "x-amzn-trace-id" || lk == "authorization" ||
        lk == "x-amz-date") {
      continue;
    }
    headers.emplace_back(lk, v);
  }
  headers.emplace_back("x-amz-date", amz_date);

  std::vector<std::string> signed_headers;
  for (const auto& h : headers) signed_headers.push_back(h.first);
  std::sort(signed_headers.begin(), signed_headers.end());
  signed_headers.erase(std::unique(signed_headers.begin(), signed_headers.end()),
                       signed_headers.end());

  SigV4Request req;
  req.method = input.method;
  req.target = input.target;
  req.body = input.body;
  std::string payload_hash = Sha256Hex(input.body);
  for (const auto& [k, v] : headers) {
    req.headers.emplace_back(k, v);
    if (k == "x-amz-content-sha256") payload_hash = v;
  }
  std::string signature = ComputeSignature(req, signed_headers, payload_hash, amz_date,
                                           input.secret_access_key, input.region, input.service);
  std::string authorization =
      std::string(kAlgorithm) + " Credential=" + input.access_key_id + "/" + amz_date.substr(0, 8) +
      "/" + input.region + "/" + input.service + "/" + std::string(kTerminator) +
      ", SignedHeaders=" + Join(signed_headers, ';') + ", Signature=" + signature;
  return {{"X-Amz-Date", amz_date}, {"Authorization", authorization}};
}

}  // namespace rwd::api
