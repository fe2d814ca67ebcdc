// ApiMetrics: the counters rewindd keeps about API calls, and the Prometheus text exposition of
// /metrics (format 0.0.4): API call counters by action and outcome, and per-cluster gauges.
//
//   rewind_api_calls_total{action="DescribeDBClusters",code="ok"} 12
//   rewind_api_call_seconds_total{action="DescribeDBClusters"} 0.031
//   rewind_clusters 1
//   rewind_cluster_status{cluster="lab",status="available"} 1
//   rewind_cluster_port{cluster="lab"} 3306
//   rewind_cluster_backtrack_window_seconds{cluster="lab"} 86400
//   rewind_cluster_earliest_backtrack_timestamp_seconds{cluster="lab"} 1795597200
//
// Label cardinality is bounded: actions the API does not serve are counted as action="other",
// and error codes come from a fixed set (the server's and the cluster service's).
//
// Thread safety: Record and Render may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/server.h"
#include "cluster/cluster_service.h"
#include "objstore/backlog_gate.h"
#include "objstore/shipper.h"

namespace rwd::cli {

// Escapes a Prometheus label value: backslash, double quote and newline.
std::string PromLabelEscape(std::string_view value);

// The exposition text for retention and storage: per cluster, the actual backtrack window and
// its alert, change records stored and created per second, history and live bytes, fsync
// latency histogram; for the store, its log bytes, and the cleaner's progress.
std::string RenderRetention(const cluster::RetentionMetrics& m);

// The exposition text for the object-store tier (rewindd --object-store): the upload lag (the
// RPO: durable local log not yet in the bucket, in seconds and bytes), uploads, failures and
// whether uploads are failing now.
std::string RenderObjectStore(const objstore::ShipperStats& s);
// The local-buffer policy (--upload-backlog-policy): rewind_objstore_backlog_*.
std::string RenderBacklog(const objstore::BacklogGateStats& s);
// The local disk as a cache (--local-history-budget): local and evicted log, cold reads.
std::string RenderColdTier(const store::StoreStats& store, const store::SegmentTierStats& tier);

// Per reader instance: rewind_replica_running and rewind_replica_lag_seconds
// (Seconds_Behind_Master; absent while unknown), labelled cluster and instance.
std::string RenderReplicas(const std::vector<cluster::ReplicaView>& replicas);

class ApiMetrics {
 public:
  // `known_actions`: actions counted under their own name; others become "other".
  explicit ApiMetrics(std::vector<std::string_view> known_actions);

  void Record(const api::ApiCallRecord& call);

  // The exposition text for the API counters and for `clusters`.
  std::string Render(const std::vector<cluster::ClusterView>& clusters) const;

 private:
  std::vector<std::string_view> known_actions_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> calls_;  // (action, code) → count
  std::map<std::string, int64_t> duration_ns_;                      // action → total
};

}  // namespace rwd::cli
