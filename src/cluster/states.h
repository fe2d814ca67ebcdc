// The states of clusters, instances and backtracks, as the C++ code holds them. Their words are
// chosen at the edges: meta.db stores its own (StatusName, meta_db.h); the API and the console
// show Aurora's (src/api, rds_handler.h).
#pragma once

namespace rwd::cluster {

// kStopping, kStopped, kStarting: StopDBCluster / StartDBCluster (cluster_stop_start.cc); a
// stopped cluster has no engine running and its volume unmounted, and its instances are too.
// kFailingOver: FailoverDBCluster (failover.cc) is moving the writer role to a reader.
enum class ClusterStatus {
  kCreating, kAvailable, kBacktracking, kDeleting, kFailed, kStopping, kStopped, kStarting,
  kFailingOver
};
enum class InstanceStatus {
  kCreating, kAvailable, kRebooting, kDeleting, kFailed, kStopping, kStopped, kStarting
};
// A cluster's instances: one writer (serving the cluster's volume), any number of readers
// (each on a copy-on-write clone of it, following it by replication). meta.db: instances.role.
enum class InstanceRole { kWriter = 0, kReader = 1 };
enum class BacktrackStatus { kPending, kApplying, kCompleted, kFailed };

}  // namespace rwd::cluster
