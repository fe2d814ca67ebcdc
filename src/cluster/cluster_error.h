// The cluster service's refusals, typed. Every request the service refuses returns a non-OK
// Status made by Refusal: its code is the generic one (NotFound, AlreadyExists,
// FailedPrecondition, InvalidArgument), its message says what to fix, and ErrorKindOf gives the
// precise kind back. What a kind is called on the wire (an AWS fault code, an HTTP status) is the
// API layer's business (src/api/rds_handler.cc); nothing here names it.
#pragma once

#include <optional>
#include <string_view>

#include "common/status.h"

namespace rwd::cluster {

enum class ClusterError {
  kClusterNotFound,       // no DB cluster of that id
  kInstanceNotFound,      // no DB instance of that id
  kBacktrackNotFound,     // no backtrack of that id on the cluster
  kClusterExists,         // a DB cluster of that id exists
  kInstanceExists,        // a DB instance of that id exists
  kInvalidClusterState,   // the cluster's state forbids it now (the message says which state)
  kInvalidInstanceState,  // the instance's (or its cluster's) state forbids it now
  kInvalidParameter,      // a parameter's value is invalid (the message names it)
  kInvalidCombination,    // parameters that do not go together (or with the resource)
  kMissingParameter,      // a required parameter is missing (the message names it)
  kInvalidRestore,        // a clone's moment is outside what the source keeps
  kTimeTravelNotFound,    // no time-travel instance of that id (src/cluster/time_travel.h)
  kSnapshotNotFound,      // no DB cluster snapshot of that id
  kSnapshotExists,        // a DB cluster snapshot of that id exists
  kInvalidSnapshotState,  // the snapshot's state forbids it now
  kSnapshotQuota,         // the history budget cannot hold another snapshot
  kParamGroupNotFound,    // no parameter group of that name (of the kind asked)
  kParamGroupExists,      // a parameter group of that name exists
  kInvalidParamGroupState,  // in use, or a default group (which cannot change)
};

// A refusal of `kind` with `message`.
Status Refusal(ClusterError kind, std::string_view message);
// The kind of a refusal made by Refusal; nullopt for any other status (I/O failures, ...).
std::optional<ClusterError> ErrorKindOf(const Status& status);

}  // namespace rwd::cluster
