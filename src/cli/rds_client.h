// RdsClient: a small RDS Query API client for the `rewind` CLI: signs each call with SigV4 (the
// credentials rewindd issued), POSTs it, and parses the XML answer. An AWS error answer becomes
// a Status tagged with the error code, its message kept.
// Thread-compatible (one client per thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <pugixml.hpp>

#include "common/status.h"

namespace rwd::cli {

struct ClientConfig {
  std::string endpoint = "http://127.0.0.1:8686";  // http://host:port or https://host:port
  // For an https endpoint: a PEM file of the CAs to trust (as aws --ca-bundle); empty: the
  // system's CAs. The server's certificate is always verified, its name included.
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::string ca_bundle;
};

// Reads the [profile] of an AWS shared-credentials file.
Result<ClientConfig> LoadClientConfig(const std::string& credentials_path,
                                      const std::string& endpoint,
                                      const std::string& profile = "rewind");

class RdsClient {
 public:
  explicit RdsClient(ClientConfig config) : config_(std::move(config)) {}

  // Calls `action` with `params`; returns the parsed <ActionResult> element's document.
  // Failure: InvalidArgument for an endpoint that is not http(s)://host:port; Unavailable if
  // rewindd cannot be reached or its certificate does not verify (the message says which);
  // otherwise the AWS error, tagged.
  Result<std::shared_ptr<pugi::xml_document>> Call(
      const std::string& action, const std::vector<std::pair<std::string, std::string>>& params);

 private:
  ClientConfig config_;
};

// The text of the first descendant element named `name` (empty if none).
std::string ChildText(const pugi::xml_node& node, const char* name);

}  // namespace rwd::cli
