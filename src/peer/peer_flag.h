// rewindd --peer-object-store NAME=s3://BUCKET/PREFIX (repeatable): the peers whose clusters
// this node may clone (issue 18's second node; docs/format/object-store.md, "A second node").
// Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rwd::peer {

struct PeerSpec {
  std::string name;  // the account field of the ARNs that name its clusters
  std::string url;   // s3://BUCKET/PREFIX: the peer's --object-store
};

// Parses one NAME=s3://BUCKET/PREFIX and adds it to *peers. NAME: 1..63 of [a-z0-9-]; not
// `own_account` (this node's account id: an ARN of it names a cluster here); not a name
// already given; the URL as --object-store takes it (objstore::ParseS3Url). Failure:
// kInvalidArgument saying what to fix (*peers unchanged).
Status AddPeerSpec(std::string_view value, std::string_view own_account,
                   std::vector<PeerSpec>* peers);

}  // namespace rwd::peer
