// The XML bodies of the S3 REST API that the client reads and writes (pugixml). Pure functions,
// thread-safe. A body that is not the expected document fails with kCorruption, saying which.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace rwd::objstore {

struct ObjectInfo {
  std::string key;  // full key in the bucket for the XML functions; the client strips its prefix
  uint64_t size = 0;
  std::string etag;           // as the server sent it, quotes removed
  std::string last_modified;  // as the server sent it (ISO 8601 in listings, RFC 1123 in HEAD)
  std::map<std::string, std::string> metadata;  // x-amz-meta-* (HEAD only), names lowercased
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};

// A ListObjectsV2 answer (<ListBucketResult>).
Result<ListPage> ParseListObjectsV2(std::string_view xml);

// The <Code> and <Message> of an S3 <Error> body; empty strings when the body is not one.
struct ErrorBody {
  std::string code;
  std::string message;
};
ErrorBody ParseErrorBody(std::string_view xml);

// The UploadId of an <InitiateMultipartUploadResult>.
Result<std::string> ParseUploadId(std::string_view xml);

// The <CompleteMultipartUpload> body for parts (part number, ETag) in order.
std::string CompleteMultipartXml(const std::vector<std::pair<int, std::string>>& parts);

// A <CompleteMultipartUploadResult> is success; an <Error> (S3 may send one with HTTP 200 after
// the upload was assembling for a while) is returned as its code, and anything else fails.
Result<ErrorBody> ParseCompleteMultipart(std::string_view xml);

// A quiet <Delete> body for DeleteObjects (at most 1000 keys).
std::string DeleteObjectsXml(const std::vector<std::string>& keys);
// The <Error> entries of a <DeleteResult>: (key, code) of each key not deleted.
Result<std::vector<std::pair<std::string, std::string>>> ParseDeleteResult(std::string_view xml);

}  // namespace rwd::objstore
