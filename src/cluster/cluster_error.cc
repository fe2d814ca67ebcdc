#include "cluster/cluster_error.h"

#include <array>
#include <string>

namespace rwd::cluster {
namespace {

// The kind travels in the status's tag under these names (stable, internal to the process).
constexpr std::array<std::string_view, 19> kNames = {
    "cluster.cluster_not_found",      "cluster.instance_not_found",
    "cluster.backtrack_not_found",    "cluster.cluster_exists",
    "cluster.instance_exists",        "cluster.invalid_cluster_state",
    "cluster.invalid_instance_state", "cluster.invalid_parameter",
    "cluster.invalid_combination",    "cluster.missing_parameter",
    "cluster.invalid_restore",        "cluster.time_travel_not_found",
    "cluster.snapshot_not_found",     "cluster.snapshot_exists",
    "cluster.invalid_snapshot_state", "cluster.snapshot_quota",
    "cluster.param_group_not_found",  "cluster.param_group_exists",
    "cluster.invalid_param_group_state"};

Status::Code CodeOf(ClusterError kind) {
  switch (kind) {
    case ClusterError::kClusterNotFound:
    case ClusterError::kInstanceNotFound:
    case ClusterError::kBacktrackNotFound:
    case ClusterError::kTimeTravelNotFound:
    case ClusterError::kSnapshotNotFound:
    case ClusterError::kParamGroupNotFound:
      return Status::Code::kNotFound;
    case ClusterError::kClusterExists:
    case ClusterError::kInstanceExists:
    case ClusterError::kSnapshotExists:
    case ClusterError::kParamGroupExists:
      return Status::Code::kAlreadyExists;
    case ClusterError::kInvalidClusterState:
    case ClusterError::kInvalidInstanceState:
    case ClusterError::kInvalidSnapshotState:
    case ClusterError::kSnapshotQuota:
    case ClusterError::kInvalidParamGroupState:
      return Status::Code::kFailedPrecondition;
    case ClusterError::kInvalidParameter:
    case ClusterError::kInvalidCombination:
    case ClusterError::kMissingParameter:
    case ClusterError::kInvalidRestore:
      return Status::Code::kInvalidArgument;
  }
  return Status::Code::kInvalidArgument;
}

}  // namespace

Status Refusal(ClusterError kind, std::string_view message) {
  Status base;
  switch (CodeOf(kind)) {
    case Status::Code::kNotFound: base = Status::NotFound(message); break;
    case Status::Code::kAlreadyExists: base = Status::AlreadyExists(message); break;
    case Status::Code::kFailedPrecondition: base = Status::FailedPrecondition(message); break;
    default: base = Status::InvalidArgument(message); break;
  }
  return base.WithTag(kNames[static_cast<size_t>(kind)]);
}

std::optional<ClusterError> ErrorKindOf(const Status& status) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (status.tag() == kNames[i]) return static_cast<ClusterError>(i);
  }
  return std::nullopt;
}

}  // namespace rwd::cluster
