// AWS Signature Version 4 (header form, AWS4-HMAC-SHA256): verification of incoming requests,
// and signing of outgoing ones (for Rewind's own CLI and for tests).
//
// Verification rebuilds exactly what botocore signs (botocore/auth.py SigV4Auth):
//   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//                      SignedHeaders \n PayloadHash
//     CanonicalURI    = the raw path, dot segments and repeated '/' removed, then UriEncoded
//                       again keeping '/' (non-S3 services double-encode)
//     CanonicalQuery  = pairs decoded (form semantics) and re-encoded with UriEncode, sorted by
//                       key then value, joined with '&'
//     CanonicalHeaders= for each signed header (lower-case, sorted): name:values, each value
//                       trimmed with inner whitespace runs collapsed, repeats joined with ','
//     PayloadHash     = the x-amz-content-sha256 header if present (it must then match the body),
//                       else hex(SHA-256(body))
//   StringToSign = "AWS4-HMAC-SHA256" \n X-Amz-Date \n date/region/service/aws4_request \n
//                  hex(SHA-256(CanonicalRequest))
//   Signature    = hex(HMAC(kSigning, StringToSign)), kSigning = HMAC chain over "AWS4"+secret,
//                  date, region, service, "aws4_request".
// Any region is accepted (the scope's region is echoed in the identity); the service must match.
//
// Outcomes (as AWS answers them):
//   no Authorization header ................................. 403 MissingAuthenticationToken
//   other algorithm, missing Credential/SignedHeaders/Signature, malformed Credential,
//   host not signed, missing or malformed X-Amz-Date ......... 400 IncompleteSignature
//   unknown access key ....................................... 403 InvalidClientTokenId
//   X-Amz-Date more than max_skew from the server clock ...... 403 RequestExpired
//   wrong scope date/service/terminator, wrong signature ..... 403 SignatureDoesNotMatch
//   x-amz-content-sha256 differs from the body's hash ........ 400 XAmzContentSHA256Mismatch
// Signatures are compared in constant time.
//
// Thread safety: all functions are reentrant; the SecretLookup callback may be called
// concurrently from several threads and must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_error.h"
#include "common/status.h"

namespace rwd::api {

// Returns the secret access key for an access key id, or nullopt if the id is unknown.
using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key_id)>;

// An HTTP request as received. Views must outlive the call that takes the struct.
struct SigV4Request {
  std::string_view method;  // "POST"
  std::string_view target;  // request-target as on the wire, still percent-encoded: "/", "/a?b=c"
  // All headers in arrival order; names compare case-insensitively; a repeated name is allowed.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

// Who signed a verified request.
struct SigV4Identity {
  std::string access_key_id;
  std::string region;        // from the credential scope, e.g. "us-east-1"
  std::string service;       // from the credential scope, e.g. "rds"
  int64_t signed_at_ns = 0;  // X-Amz-Date
};

struct SigV4Options {
  std::string service = "rds";                      // the scope's service must equal this
  int64_t max_skew_ns = 15LL * 60 * 1'000'000'000;  // |X-Amz-Date - now| allowed
};

// Verifies `req` against the secret that `lookup` returns for its access key, at server time
// `now_ns`. On success returns the signer; on failure the ApiError listed above.
ApiResult<SigV4Identity> VerifySigV4(const SigV4Request& req, const SecretLookup& lookup,
                                     int64_t now_ns, const SigV4Options& options = {});

// --- Building blocks (exposed for tests and for the signer) ---

// The parsed `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
struct SigV4Authorization {
  std::string access_key_id;
  std::string date;  // YYYYMMDD from the credential scope
  std::string region;
  std::string service;
  std::string terminator;                   // "aws4_request"
  std::vector<std::string> signed_headers;  // as given (lower-case, ';'-separated on the wire)
  std::string signature;                    // hex
};
// Failure: IncompleteSignature describing what is missing or malformed.
ApiResult<SigV4Authorization> ParseSigV4Authorization(std::string_view header_value);

// The canonical request for `req`, with `signed_headers` (lower-case, sorted) and `payload_hash`.
std::string SigV4CanonicalRequest(const SigV4Request& req,
                                  const std::vector<std::string>& signed_headers,
                                  std::string_view payload_hash);
std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request);
// kSigning (32 raw bytes).
std::string SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service);

std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string HexEncode(std::string_view bytes);                        // lower-case
// Constant-time equality (the time depends only on the lengths).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// --- Signing ---

struct SigV4SignInput {
  std::string method = "POST";
  std::string target = "/";
  // Headers to send and sign; must include Host (e.g. "127.0.0.1:8080").
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::string service = "rds";
  int64_t now_ns = 0;
};
// Returns the headers to add to the request: X-Amz-Date and Authorization. Every header in
// `input.headers` is signed, except user-agent, expect and x-amzn-trace-id (as botocore does).
std::vector<std::pair<std::string, std::string>> SignSigV4(const SigV4SignInput& input);

}  // namespace rwd::api
