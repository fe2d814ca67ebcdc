#include "cluster/cluster_event.h"

namespace rwd::cluster {

const char* EventSourceType(EventKind kind) {
  const int k = static_cast<int>(kind);
  const bool instance = (k >= static_cast<int>(EventKind::kInstanceCreated) &&
                         k <= static_cast<int>(EventKind::kInstanceDeletionFailed)) ||
                        kind == EventKind::kInstanceStopped || kind == EventKind::kInstanceStarted ||
                        (k >= static_cast<int>(EventKind::kReaderCreated) &&
                         k <= static_cast<int>(EventKind::kReaderDeleted)) ||
                        kind == EventKind::kPromotedToWriter;
  return instance ? "db-instance" : "db-cluster";
}

const char* EventCategories(EventKind kind) {
  switch (kind) {
    case EventKind::kMessage: return "";
    case EventKind::kClusterCreated:
    case EventKind::kClusterCloned:
    case EventKind::kPeerClusterCloned:
    case EventKind::kInstanceCreated:
    case EventKind::kReaderCreated:
      return "creation";
    case EventKind::kReaderCreationFailed:
    case EventKind::kReaderReprovisionFailed:
    case EventKind::kClusterCreationFailed:
    case EventKind::kClusterCreationInterrupted:
    case EventKind::kCloneFailed:
    case EventKind::kClusterDeletionFailed:
    case EventKind::kInstanceStartFailed:
    case EventKind::kInstanceRestartFailed:
    case EventKind::kInstanceDeletionFailed:
      return "failure";
    case EventKind::kClusterDeleted:
    case EventKind::kInstanceDeleted:
    case EventKind::kReaderDeleted:
      return "deletion";
    case EventKind::kReaderReprovisioned: return "availability";
    case EventKind::kClusterModified: return "configuration change";
    case EventKind::kBacktrackStarted:
    case EventKind::kBacktrackCompleted:
    case EventKind::kBacktrackFailed:
    case EventKind::kWindowCut:
    case EventKind::kWindowBack:
      return "backtrack";
    case EventKind::kInstanceRestarted:
    case EventKind::kInstanceRecovered:
    case EventKind::kInstanceRestartedAfterExit:
      return "availability";
    case EventKind::kTableRestored:
    case EventKind::kClusterStopped:
    case EventKind::kClusterStarted:
    case EventKind::kClusterStopFailed:
    case EventKind::kClusterStartFailed:
    case EventKind::kInstanceStopped:
    case EventKind::kInstanceStarted:
      return "notification";
    case EventKind::kFailoverStarted:
    case EventKind::kFailoverCompleted:
    case EventKind::kFailoverFailed:
    case EventKind::kFailoverReverted:
    case EventKind::kPromotedToWriter:
      return "failover";
  }
  return "";
}

}  // namespace rwd::cluster
