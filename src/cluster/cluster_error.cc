#include "cluster/cluster_error.h"

#include <array>
#include <memory>
#include <string>
#include <utility>

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

// Carries the detail inside the Status (common/status.h).
class RefusalPayload : public Status::Detail {
 public:
  explicit RefusalPayload(RefusalDetail d) : detail(std::move(d)) {}
  RefusalDetail detail;
};

// "refused: cluster.invalid_cluster_state/kClusterNotModifiable field=kNone id=c1 ...": for logs.
std::string Diagnostic(const RefusalDetail& d) {
  std::string s = "refused: ";
  s.append(kNames[static_cast<size_t>(d.kind)]).append("/").append(ReasonName(d.reason));
  if (d.field != Field::kNone) s.append(" field=").append(FieldName(d.field));
  if (!d.id.empty()) s.append(" id=").append(d.id);
  if (!d.other.empty()) s.append(" other=").append(d.other);
  if (!d.input.empty()) s.append(" input=").append(d.input);
  if (!d.state.empty()) s.append(" state=").append(d.state);
  if (d.time_ns != 0) s.append(" time_ns=").append(std::to_string(d.time_ns));
  if (d.number != 0) s.append(" number=").append(std::to_string(d.number));
  if (!d.cause.empty()) s.append(" cause=").append(d.cause);
  return s;
}

}  // namespace

std::string_view FieldName(Field field) {
  static constexpr std::string_view kFieldNames[] = {
#define RWD_REFUSAL_NAME(name) #name,
      RWD_REFUSAL_FIELDS(RWD_REFUSAL_NAME)};
  return kFieldNames[static_cast<size_t>(field)];
}

std::string_view ReasonName(Reason reason) {
  static constexpr std::string_view kReasonNames[] = {RWD_REFUSAL_REASONS(RWD_REFUSAL_NAME)};
#undef RWD_REFUSAL_NAME
  return kReasonNames[static_cast<size_t>(reason)];
}

Status Refuse(ClusterError kind, Reason reason, RefusalDetail detail) {
  detail.kind = kind;
  detail.reason = reason;
  const std::string message = Diagnostic(detail);
  Status base;
  switch (CodeOf(kind)) {
    case Status::Code::kNotFound: base = Status::NotFound(message); break;
    case Status::Code::kAlreadyExists: base = Status::AlreadyExists(message); break;
    case Status::Code::kFailedPrecondition: base = Status::FailedPrecondition(message); break;
    default: base = Status::InvalidArgument(message); break;
  }
  return base.WithTag(kNames[static_cast<size_t>(kind)])
      .WithDetail(std::make_shared<const RefusalPayload>(std::move(detail)));
}

std::optional<ClusterError> ErrorKindOf(const Status& status) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (status.tag() == kNames[i]) return static_cast<ClusterError>(i);
  }
  return std::nullopt;
}

std::optional<RefusalDetail> RefusalOf(const Status& status) {
  const auto* payload = dynamic_cast<const RefusalPayload*>(status.detail());
  if (payload == nullptr) return std::nullopt;
  return payload->detail;
}

}  // namespace rwd::cluster
