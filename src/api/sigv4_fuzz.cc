// libFuzzer target for SigV4 verification (sigv4.h). Built with REWIND_FUZZ.
//
// The first input byte picks a mode; the rest feeds a FuzzedDataProvider.
//   even: a hostile request: arbitrary method, target, headers (Authorization, X-Amz-Date and
//         X-Amz-Content-SHA256 among them, sometimes), body and clock. VerifySigV4 must not
//         crash or throw and must answer with one of the outcomes sigv4.h lists, with its HTTP
//         status; ParseSigV4Authorization, on any text, either fails with IncompleteSignature
//         or returns a well-formed credential scope (five non-empty parts, an 8-digit date,
//         non-empty signed header names without ';').
//   odd:  a request signed by SignSigV4 from fuzzed parts (method, target with any bytes,
//         headers in any case with any values, body, key id, any secret, region, time). It must
//         verify, within the allowed clock skew, as exactly its signer. Then each single
//         tampering must be refused with the documented error: a changed body, a changed signed
//         header, one changed signature digit, the wrong secret, an unknown key, another
//         service, a clock just outside the skew on either side, no Authorization header.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/sigv4.h"
#include "api/timeparse.h"

namespace rwd::api {
namespace {

constexpr std::string_view kKeyId = "AKIAFUZZFUZZFUZZFUZZ";
constexpr std::string_view kSecret = "fuzzSecretKey/0123456789abcdefghijklmnopq";

[[noreturn]] void Fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "sigv4_fuzz: property violated: %s %s\n", what, detail.c_str());
  std::abort();
}

void Check(bool cond, const char* what, const std::string& detail = {}) {
  if (!cond) Fail(what, detail);
}

// The outcomes listed in sigv4.h, with their HTTP statuses.
void CheckDocumentedError(const ApiError& e) {
  static const std::pair<std::string_view, int> kOutcomes[] = {
      {"MissingAuthenticationToken", 403}, {"IncompleteSignature", 400},
      {"InvalidClientTokenId", 403},       {"RequestExpired", 403},
      {"SignatureDoesNotMatch", 403},      {"XAmzContentSHA256Mismatch", 400},
  };
  for (const auto& [code, status] : kOutcomes) {
    if (e.code == code) {
      Check(e.http_status == status, "wrong HTTP status", e.ToString());
      return;
    }
  }
  Fail("undocumented SigV4 error", e.ToString());
}

void ExpectError(const ApiResult<SigV4Identity>& r, std::string_view code, const char* what) {
  Check(!r.ok(), what, "was accepted");
  Check(r.error().code == code, what, r.error().ToString());
  CheckDocumentedError(r.error());
}

void CheckParsedAuthorization(std::string_view text) {
  ApiResult<SigV4Authorization> a = ParseSigV4Authorization(text);
  if (!a.ok()) {
    Check(a.error().code == "IncompleteSignature" && a.error().http_status == 400,
          "ParseSigV4Authorization error", a.error().ToString());
    return;
  }
  Check(!a->access_key_id.empty() && !a->region.empty() && !a->service.empty() &&
            !a->terminator.empty(),
        "an empty credential scope part");
  Check(a->date.size() == 8 && a->date.find_first_not_of("0123456789") == std::string::npos,
        "a scope date that is not YYYYMMDD", a->date);
  Check(!a->signed_headers.empty(), "no signed headers");
  for (const std::string& h : a->signed_headers) {
    Check(!h.empty() && h.find(';') == std::string::npos, "a malformed signed header name", h);
  }
}

SecretLookup FuzzLookup() {
  return [](std::string_view id) -> std::optional<std::string> {
    if (id == kKeyId) return std::string(kSecret);
    return std::nullopt;
  };
}

// --- Mode even: hostile requests ---

void Hostile(FuzzedDataProvider& in) {
  std::vector<std::string> storage;  // owns what the request's views point at
  storage.reserve(32);
  auto keep = [&](std::string s) -> std::string_view { return storage.emplace_back(std::move(s)); };

  SigV4Request req;
  req.method = keep(in.ConsumeRandomLengthString(16));
  req.target = keep(in.ConsumeRandomLengthString(256));
  const int n = in.ConsumeIntegralInRange<int>(0, 10);
  for (int i = 0; i < n; ++i) {
    std::string name;
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: name = "Authorization"; break;
      case 1: name = "X-Amz-Date"; break;
      case 2: name = "x-amz-content-sha256"; break;
      case 3: name = "Host"; break;
      default: name = in.ConsumeRandomLengthString(32);
    }
    std::string value = in.ConsumeRandomLengthString(512);
    if (name == "Authorization") CheckParsedAuthorization(value);
    req.headers.emplace_back(keep(std::move(name)), keep(std::move(value)));
  }
  const int64_t now = in.ConsumeIntegral<int64_t>();
  SigV4Options options;
  options.max_skew_ns = in.ConsumeIntegralInRange<int64_t>(0, int64_t{1} << 50);
  req.body = keep(in.ConsumeRemainingBytesAsString());
  CheckParsedAuthorization(req.body);

  ApiResult<SigV4Identity> r = VerifySigV4(req, FuzzLookup(), now, options);
  if (r.ok()) {
    // Only possible for a request really signed with kSecret (e.g. from the seed corpus).
    Check(r->access_key_id == kKeyId && r->service == options.service, "forged identity");
  } else {
    CheckDocumentedError(r.error());
  }
  // No lookup at all: never accepted.
  ApiResult<SigV4Identity> none = VerifySigV4(req, SecretLookup(), now, options);
  Check(!none.ok(), "accepted without a secret");
  CheckDocumentedError(none.error());
}

// --- Mode odd: signed requests, then tampered ones ---

std::string FromAlphabet(FuzzedDataProvider& in, std::string_view alphabet, size_t min_len,
                         size_t max_len) {
  const size_t len = in.ConsumeIntegralInRange<size_t>(min_len, max_len);
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    out += alphabet[in.ConsumeIntegralInRange<size_t>(0, alphabet.size() - 1)];
  }
  return out;
}

std::string ToLowerAscii(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

struct Wire {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string method, target, body;

  SigV4Request View() const {
    SigV4Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    for (const auto& [k, v] : headers) r.headers.emplace_back(k, v);
    return r;
  }
};

void Signed(FuzzedDataProvider& in) {
  static constexpr std::string_view kTokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
  SigV4SignInput s;
  s.method = in.ConsumeBool() ? "POST" : FromAlphabet(in, "GETPOSTputdelete", 1, 8);
  s.target = in.ConsumeBool() ? "/" : in.ConsumeRandomLengthString(128);
  const std::string host = FromAlphabet(in, "abcdefghijklmnopqrstuvwxyz0123456789.:-", 1, 40);
  s.headers.emplace_back(in.ConsumeBool() ? "Host" : "host", host);
  const int n = in.ConsumeIntegralInRange<int>(0, 6);
  for (int i = 0; i < n; ++i) {
    std::string name = FromAlphabet(in, kTokenChars, 1, 24);
    const std::string lower = ToLowerAscii(name);
    // The signer replaces these two itself; a declared payload hash is added below.
    if (lower == "authorization" || lower == "x-amz-date" || lower == "x-amz-content-sha256") {
      continue;
    }
    s.headers.emplace_back(std::move(name), in.ConsumeRandomLengthString(64));
  }
  const bool declare_hash = in.ConsumeBool();
  const bool upper_hash = in.ConsumeBool();
  s.access_key_id = FromAlphabet(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 1, 20);
  s.secret_access_key = in.ConsumeRandomLengthString(64);
  s.region = FromAlphabet(in, "abcdefghijklmnopqrstuvwxyz0123456789-", 1, 16);
  // 2000-01-01 .. 2200-01-01.
  s.now_ns = in.ConsumeIntegralInRange<int64_t>(946'684'800LL * kNanosPerSecond,
                                                 7'258'118'400LL * kNanosPerSecond);
  SigV4Options options;
  options.max_skew_ns = in.ConsumeIntegralInRange<int64_t>(0, 3600) * kNanosPerSecond;
  const int64_t skew = in.ConsumeIntegralInRange<int64_t>(-options.max_skew_ns,
                                                          options.max_skew_ns);
  const auto flip_at = in.ConsumeIntegral<uint8_t>();
  s.body = in.ConsumeRemainingBytesAsString();
  if (declare_hash) {
    std::string h = Sha256Hex(s.body);
    if (upper_hash) {
      for (char& c : h) c = (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
    }
    s.headers.emplace_back("X-Amz-Content-SHA256", h);
  }

  Wire w;
  w.method = s.method;
  w.target = s.target;
  w.body = s.body;
  w.headers = s.headers;
  for (auto& h : SignSigV4(s)) w.headers.push_back(std::move(h));

  const std::string secret = s.secret_access_key;
  const std::string key_id = s.access_key_id;
  SecretLookup lookup = [&](std::string_view id) -> std::optional<std::string> {
    if (id == key_id) return secret;
    return std::nullopt;
  };
  const int64_t signed_at = s.now_ns / kNanosPerSecond * kNanosPerSecond;
  const int64_t now = signed_at + skew;

  ApiResult<SigV4Identity> ok = VerifySigV4(w.View(), lookup, now, options);
  Check(ok.ok(), "a correctly signed request was refused", ok.ok() ? "" : ok.error().ToString());
  Check(ok->access_key_id == key_id && ok->region == s.region && ok->service == "rds" &&
            ok->signed_at_ns == signed_at,
        "the verified identity is not the signer");

  {  // The body changed.
    Wire t = w;
    t.body += 'x';
    ExpectError(VerifySigV4(t.View(), lookup, now, options),
                declare_hash ? "XAmzContentSHA256Mismatch" : "SignatureDoesNotMatch",
                "a changed body");
  }
  {  // A signed header changed.
    Wire t = w;
    t.headers[0].second += 'x';
    ExpectError(VerifySigV4(t.View(), lookup, now, options), "SignatureDoesNotMatch",
                "a changed Host header");
  }
  {  // One digit of the signature changed.
    Wire t = w;
    std::string& auth = t.headers.back().second;
    const size_t sig = auth.rfind("Signature=") + 10;
    const size_t at = sig + flip_at % (auth.size() - sig);
    auth[at] = auth[at] == '0' ? '1' : '0';
    ExpectError(VerifySigV4(t.View(), lookup, now, options), "SignatureDoesNotMatch",
                "a changed signature");
  }
  {  // The wrong secret, an unknown key, another service.
    const std::string other = secret + "x";
    SecretLookup wrong = [&](std::string_view) -> std::optional<std::string> { return other; };
    ExpectError(VerifySigV4(w.View(), wrong, now, options), "SignatureDoesNotMatch",
                "the wrong secret");
    SecretLookup unknown = [](std::string_view) -> std::optional<std::string> {
      return std::nullopt;
    };
    ExpectError(VerifySigV4(w.View(), unknown, now, options), "InvalidClientTokenId",
                "an unknown key");
    SigV4Options ec2 = options;
    ec2.service = "ec2";
    ExpectError(VerifySigV4(w.View(), lookup, now, ec2), "SignatureDoesNotMatch",
                "another service");
  }
  {  // Just outside the allowed skew, either side.
    ExpectError(VerifySigV4(w.View(), lookup, signed_at + options.max_skew_ns + 1, options),
                "RequestExpired", "an expired signature");
    ExpectError(VerifySigV4(w.View(), lookup, signed_at - options.max_skew_ns - 1, options),
                "RequestExpired", "a signature from the future");
  }
  {  // No Authorization header.
    Wire t = w;
    t.headers.pop_back();
    ExpectError(VerifySigV4(t.View(), lookup, now, options), "MissingAuthenticationToken",
                "no Authorization");
  }
}

}  // namespace
}  // namespace rwd::api

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  try {
    FuzzedDataProvider in(data + 1, size - 1);
    if (data[0] % 2 == 0) {
      rwd::api::Hostile(in);
    } else {
      rwd::api::Signed(in);
    }
  } catch (const std::exception& e) {
    rwd::api::Fail("exception escaped SigV4 verification:", e.what());
  }
  return 0;
}
