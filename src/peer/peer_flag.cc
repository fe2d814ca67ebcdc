#include "peer/peer_flag.h"

#include "objstore/config.h"

namespace rwd::peer {

Status AddPeerSpec(std::string_view value, std::string_view own_account,
                   std::vector<PeerSpec>* peers) {
  const size_t eq = value.find('=');
  if (eq == std::string_view::npos) {
    return Status::InvalidArgument("--peer-object-store wants NAME=s3://BUCKET/PREFIX (the "
                                   "peer's --object-store), got '" + std::string(value) + "'");
  }
  PeerSpec spec{std::string(value.substr(0, eq)), std::string(value.substr(eq + 1))};
  bool ok = !spec.name.empty() && spec.name.size() <= 63;
  for (char c : spec.name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) {
    return Status::InvalidArgument(
        "--peer-object-store: the peer name '" + spec.name +
        "' must be 1 to 63 lower-case letters, digits or hyphens (it is the account field of "
        "the ARNs that name the peer's clusters, arn:aws:rds:REGION:NAME:cluster:ID)");
  }
  if (spec.name == own_account) {
    return Status::InvalidArgument("--peer-object-store: the peer name '" + spec.name +
                                   "' is this node's own account id (its ARNs name clusters "
                                   "here): give the peer another name");
  }
  for (const PeerSpec& p : *peers) {
    if (p.name == spec.name) {
      return Status::InvalidArgument("--peer-object-store: peer '" + spec.name +
                                     "' is given twice: give each peer once, each its own name");
    }
  }
  if (Result<objstore::S3Location> loc = objstore::ParseS3Url(spec.url); !loc.ok()) {
    return Status::InvalidArgument("--peer-object-store " + spec.name + ": " +
                                   loc.status().message());
  }
  peers->push_back(std::move(spec));
  return Status::Ok();
}

}  // namespace rwd::peer
