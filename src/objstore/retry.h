// When a failed S3 request is tried again, and after how long. Pure functions: the client applies
// them; tests check every decision without a server. Thread-safe (no state).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace rwd::objstore {

struct RetryPolicy {
  int max_attempts = 6;  // including the first; 1 means no retry
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{5000};
};

// What one attempt came back with.
struct AttemptOutcome {
  enum class Transport {
    kOk,          // an HTTP answer arrived (see http_status)
    kRetryable,   // connection refused or reset, timeout, DNS hiccup: the server may be back soon
    kPermanent,   // a malformed URL, a TLS certificate refused...: trying again cannot help
  };
  Transport transport = Transport::kOk;
  long http_status = 0;
  std::string s3_code;  // <Code> of the error body, if any (e.g. "SlowDown")
};

// True if the request should be tried again: transport failures that may heal, 5xx (500, 502,
// 503 SlowDown, 504...), 429 Too Many Requests, and S3's 400 RequestTimeout (the server gave up
// waiting for our body: a transport failure reported as 400; the AWS SDKs retry it too). Never
// for other 4xx: the same request would fail the same way.
bool ShouldRetry(const AttemptOutcome& outcome);

// The delay before attempt `attempt` (1 = the first retry): "full jitter", uniformly in
// [0, min(max_delay, base_delay * 2^(attempt-1))], from `random` (any 64-bit value).
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, uint64_t random);

// The Status an outcome that is not a success ends in (after the last attempt). 404 ->
// kNotFound, 401/403 -> kPermissionDenied, 412 and 409 -> kFailedPrecondition, 416 and other 4xx
// -> kInvalidArgument; 5xx, 429, RequestTimeout and transport failures -> kUnavailable.
// The S3 error code, if any, is the Status's tag; `detail` (the server's message) ends the text.
Status StatusFromOutcome(const AttemptOutcome& outcome, const std::string& what,
                         const std::string& detail = {});

}  // namespace rwd::objstore
