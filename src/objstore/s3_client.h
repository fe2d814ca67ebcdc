// S3Client: the S3 REST API over libcurl (SigV4 by CURLOPT_AWS_SIGV4, path-style URLs), for any
// S3-compatible store (AWS S3, Ceph RGW, MinIO...).
//
// Keys. Every key a caller passes or gets back is relative to the configured prefix (S3Config):
// with s3://b/rewind/, Put("segments/1") writes "rewind/segments/1" in bucket b. Keys are 1..1024
// bytes without control characters; anything else fails with kInvalidArgument before any request.
//
// Integrity. Every request body is sent with its real SHA-256 in x-amz-content-sha256, which the
// signature covers and the server checks: a body damaged on the way is refused, never stored.
//
// Failure. Each call returns Ok / a value, or a Status whose code says what happened, with the S3
// error code (e.g. "NoSuchKey", "SignatureDoesNotMatch") as its tag when the server sent one:
//   kNotFound            no such key, bucket or upload (404);
//   kPermissionDenied    credentials refused or not allowed (403);
//   kFailedPrecondition  a condition (If-Match) did not hold (412), or a conflict (409);
//   kInvalidArgument     a bad key or range, or another 4xx;
//   kUnavailable         the store could not be reached or kept failing (5xx, 429, timeouts,
//                        refused connections) after RetryPolicy::max_attempts tries;
//   kCorruption          an answer that is not what S3 sends (bad XML, a short body);
//   kIOError             a local file could not be read (PutFile).
// Retries: only ShouldRetry() outcomes (retry.h), with full-jitter exponential backoff; each
// attempt re-sends the whole request (or part), so a retried PUT is idempotent.
//
// Thread safety: one S3Client may be used from many threads at once; every call is independent
// (each takes its own curl handle from a pool; connections are reused across calls). The client
// must outlive the calls in flight. A call blocks its thread for the request and its retries; a
// multipart Put also runs part_concurrency - 1 threads of its own for the parts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "objstore/config.h"
#include "objstore/retry.h"
#include "objstore/xml.h"

namespace rwd::objstore {

struct PutOptions {
  // Stored with the object as x-amz-meta-NAME (names: lowercase letters, digits, '-');
  // returned by Head. The uploader keeps its checksum there.
  std::map<std::string, std::string> metadata;
};

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;  // > 0; a range past the end is cut short by the server
};

struct GetOptions {
  std::optional<ByteRange> range;
  std::string if_match;  // ETag the object must have, else kFailedPrecondition
};

class S3Client {
 public:
  // Makes a client; no request is sent. Fails with kInvalidArgument for a bad config (empty
  // bucket, part_size below 5 MiB or above 5 GiB, threshold below part_size, part_concurrency
  // outside 1..64) or missing keys.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config, Credentials credentials);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Config& config() const { return config_; }

  // Stores `data` at `key`, replacing any object there; by multipart upload (parts of
  // config.part_size) above config.multipart_threshold, aborted on failure so no parts linger.
  Status Put(std::string_view key, std::string_view data, const PutOptions& options = {});
  // The same from a local file, read part by part (memory: one part). kIOError if it cannot be
  // read; the file must not change during the upload (the store's closed segments do not).
  Status PutFile(std::string_view key, const std::string& path, const PutOptions& options = {});
  // The same from an open file: bytes [0, size) read with pread (the offset is not moved, the
  // fd not closed). Lets a caller upload exactly the file it checked, even if its name is
  // replaced or removed meanwhile.
  Status PutFd(std::string_view key, int fd, uint64_t size, const std::string& name,
               const PutOptions& options = {});

  // The object's bytes, or those of options.range (HTTP 206).
  Result<std::string> Get(std::string_view key, const GetOptions& options = {});

  // Size, ETag, Last-Modified and metadata, without the body.
  Result<ObjectInfo> Head(std::string_view key);

  // One page of the keys under `prefix` (relative to the configured prefix), in key order, at
  // most max_keys (1..1000); pass the previous page's next_continuation_token to go on.
  Result<ListPage> List(std::string_view prefix, std::string_view continuation_token = {},
                        int max_keys = 1000);
  // Every key under `prefix`, page after page.
  Result<std::vector<ObjectInfo>> ListAll(std::string_view prefix);

  // Removes the object; Ok also if it did not exist (S3 semantics).
  Status Delete(std::string_view key);
  // Removes up to any number of objects, 1000 per request; Ok also for absent keys. A key the
  // server refused to delete fails the call with its code as the tag (the others may be gone).
  Status DeleteMany(const std::vector<std::string>& keys);

 private:
  struct Request;
  struct Response;
  class HandlePool;

  S3Client(S3Config config, Credentials credentials);
  Result<std::string> FullKey(std::string_view key) const;
  std::string ObjectUrl(const std::string& full_key, const std::string& query) const;
  // Sends the request with retries; the Response of the first success (2xx), or the Status.
  Result<Response> Send(const Request& request);
  Result<Response> SendOnce(const Request& request, AttemptOutcome* outcome);
  // Reads bytes [offset, offset + length) of the object being put into *out; called from
  // several threads at once (for different parts).
  using PartReader = std::function<Status(uint64_t offset, uint64_t length, std::string* out)>;
  Status PutMultipart(const std::string& full_key, uint64_t size, const PartReader& read,
                      const PutOptions& options);
  Status UploadPart(const std::string& full_key, const std::string& upload_id, int number,
                    uint64_t offset, uint64_t length, const PartReader& read,
                    std::pair<int, std::string>* etag_out);
  Status PutSingle(const std::string& full_key, std::string body, const PutOptions& options);

  const S3Config config_;
  const Credentials credentials_;
  const std::string sigv4_;  // "aws:amz:REGION:s3"
  std::unique_ptr<HandlePool> handles_;
};

}  // namespace rwd::objstore
