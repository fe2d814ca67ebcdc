// The texts of the cluster service's refusals, as API users read them. src/cluster refuses with
// a typed account (cluster::RefusalDetail: a reason, the field concerned, the values); this is
// the one place that turns it into words and names the field as the RDS Query API does
// (Field::kClusterId → "DBClusterIdentifier").
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "cluster/cluster_error.h"
#include "common/status.h"

namespace rwd::api {

// The request parameter a field is on the wire ("DBClusterIdentifier"); "" for Field::kNone.
std::string_view FieldWireName(cluster::Field field);

// The message a user reads for `refusal`: never empty.
std::string RefusalText(const cluster::RefusalDetail& refusal);

// RefusalText of a refusal made by cluster::Refuse; the status's own message for any other
// status (an I/O failure's diagnostic).
std::string StatusText(const Status& status);

}  // namespace rwd::api
