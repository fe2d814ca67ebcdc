// Where and as whom the object store is reached: an `s3://BUCKET/PREFIX` location, an endpoint and
// region, and credentials from the standard AWS chain. Pure functions, no I/O but the reads of the
// shared credentials file; safe to call from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "objstore/retry.h"

namespace rwd::objstore {

// s3://BUCKET[/PREFIX]. The prefix is normalized to end in '/' (or be empty), so that keys below it
// never share a name with a sibling ("a/b" never lists "a/bc").
struct S3Location {
  std::string bucket;
  std::string prefix;
};

// Parses `s3://BUCKET` or `s3://BUCKET/PREFIX`. Fails with kInvalidArgument, saying what to fix,
// for another scheme, a bucket name S3 would refuse (3-63 of [a-z0-9.-], starting and ending with
// a letter or digit), an empty path segment ("a//b"), or a prefix longer than 512 bytes.
Result<S3Location> ParseS3Url(std::string_view url);

// Validates an endpoint URL (https://, or http:// on a loopback host only: 127.0.0.0/8, ::1,
// localhost; host[:port], no path, query or credentials) and returns it without a trailing '/'.
// kInvalidArgument saying what to fix otherwise. Empty means AWS S3 in `region`: https://s3.REGION.amazonaws.com.
Result<std::string> NormalizeEndpoint(std::string_view endpoint, std::string_view region);

struct S3Config {
  std::string endpoint;             // normalized, e.g. "http://127.0.0.1:7480"
  std::string region = "us-east-1";
  std::string bucket;
  std::string prefix;               // every key the client takes is relative to it
  RetryPolicy retry;
  // Objects larger than this go up by multipart upload in parts of part_size bytes
  // (S3: parts of 5 MiB to 5 GiB, at most 10000 of them), part_concurrency parts at a time
  // (memory: that many parts in flight).
  uint64_t multipart_threshold = 16ull << 20;
  uint64_t part_size = 8ull << 20;
  int part_concurrency = 4;
  long connect_timeout_ms = 5000;
  // A transfer slower than 1 byte/s for this long is abandoned (and retried): no total timeout,
  // so that a large object on a slow link still completes.
  long stall_timeout_s = 30;
};

// The configuration for `s3://BUCKET/PREFIX` at `endpoint` (empty: AWS) in `region` (empty:
// us-east-1), with default retry, multipart and timeout settings.
Result<S3Config> MakeS3Config(std::string_view url, std::string_view endpoint,
                              std::string_view region);

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  std::string source;         // where they came from, for messages ("environment", a file+profile)
};

// Reads an environment variable; returns nullopt if unset. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup ProcessEnv();

// The standard AWS chain, first match wins:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) from the environment;
//   2. the shared credentials file AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials,
//      HOME from the environment), section AWS_PROFILE (default "default"): aws_access_key_id,
//      aws_secret_access_key, aws_session_token.
// Fails with kNotFound naming every place looked at when nothing is found; kInvalidArgument when
// only one of the key pair is set, or the named file is unreadable or the profile absent while
// AWS_PROFILE or AWS_SHARED_CREDENTIALS_FILE was set explicitly.
Result<Credentials> ResolveCredentials(const EnvLookup& env);

// Parses the INI text of a shared credentials file and returns `profile`'s credentials;
// kNotFound if the profile is absent, kInvalidArgument if it lacks a key. Exposed for tests.
Result<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile,
                                         std::string_view source);

}  // namespace rwd::objstore
