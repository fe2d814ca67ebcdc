// The states of clusters, instances and backtracks, as the C++ code holds them. Their words are
// chosen at the edges: meta.db stores its own (StatusName, meta_db.h); the API and the console
// show Aurora's (src/api, rds_handler.h).
#pragma once

namespace rwd::cluster {

// kStopping, kStopped, kStarting: StopDBCluster / StartDBCluster (cluster_stop_start.cc); a
// stopped cluster has no engine running and its volume unmounted, and its instances are too.
enum class ClusterStatus {
  kCreating, kAvailable, kBacktracking, kDeleting, kFailed, kStopping, kStopped, kStarting
};
enum class InstanceStatus {
  kCreating, kAvailable, kRebooting, kDeleting, kFailed, kStopping, kStopped, kStarting
};
enum class BacktrackStatus { kPending, kApplying, kCompleted, kFailed };

}  // namespace rwd::cluster
