#include "cli/metrics.h"

#include <gtest/gtest.h>

namespace rwd::cli {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(CliMetrics, CountsCallsAndBoundsActions) {
  ApiMetrics m({"DescribeDBClusters", "BacktrackDBCluster"});
  api::ApiCallRecord r;
  r.action = "DescribeDBClusters";
  r.http_status = 200;
  r.duration_ns = 2'000'000;
  m.Record(r);
  m.Record(r);
  r.action = "BacktrackDBCluster";
  r.http_status = 400;
  r.error_code = "InvalidDBClusterStateFault";
  m.Record(r);
  r.action = "Whatever\"Evil";
  r.error_code = "InvalidAction";
  m.Record(r);
  r.action = "";
  r.error_code = "SignatureDoesNotMatch";
  m.Record(r);
  std::string text = m.Render({});
  EXPECT_TRUE(Contains(text, "rewind_api_calls_total{action=\"DescribeDBClusters\",code=\"ok\"} 2\n"))
      << text;
  EXPECT_TRUE(Contains(text, "rewind_api_calls_total{action=\"BacktrackDBCluster\","
                             "code=\"InvalidDBClusterStateFault\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text, "{action=\"other\",code=\"InvalidAction\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "{action=\"none\",code=\"SignatureDoesNotMatch\"} 1\n")) << text;
  EXPECT_FALSE(Contains(text, "Evil")) << text;
  EXPECT_TRUE(Contains(text, "rewind_api_call_seconds_total{action=\"DescribeDBClusters\"} 0.004"))
      << text;
  EXPECT_TRUE(Contains(text, "rewind_clusters 0\n")) << text;
}

TEST(CliMetrics, ClusterGauges) {
  ApiMetrics m({});
  cluster::ClusterView c;
  c.id = "lab";
  c.status = cluster::ClusterStatus::kBacktracking;
  c.port = 3310;
  c.backtrack_window_s = 86400;
  c.earliest_backtrack_ns = 1'795'597'200'000'000'000;
  cluster::ClusterView d;
  d.id = "other";
  d.status = cluster::ClusterStatus::kAvailable;
  std::string text = m.Render({c, d});
  EXPECT_TRUE(Contains(text, "rewind_clusters 2\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_cluster_status{cluster=\"lab\",status=\"backtracking\"} 1\n"));
  EXPECT_TRUE(Contains(text, "rewind_cluster_status{cluster=\"other\",status=\"available\"} 1\n"));
  EXPECT_TRUE(Contains(text, "rewind_cluster_port{cluster=\"lab\"} 3310\n"));
  EXPECT_TRUE(Contains(text, "rewind_cluster_backtrack_window_seconds{cluster=\"lab\"} 86400\n"));
  EXPECT_TRUE(Contains(text, "rewind_cluster_earliest_backtrack_timestamp_seconds{cluster=\"lab\"} "
                             "1795597200.000\n"))
      << text;
  EXPECT_FALSE(Contains(text, "earliest_backtrack_timestamp_seconds{cluster=\"other\"}"));
}

TEST(CliMetrics, LabelEscape) {
  EXPECT_EQ("a\\\"b\\\\c\\nd", PromLabelEscape("a\"b\\c\nd"));
}

TEST(CliMetrics, RetentionFamiliesPerClusterAndHistogramIsCumulative) {
  cluster::RetentionMetrics m;
  m.store.log_bytes = 123456;
  m.clean_passes = 7;
  m.history_budget_bytes = 1ull << 30;
  cluster::ClusterRetention c;
  c.id = "lab";
  c.window_target_s = 86400;
  c.window_actual_s = 3600;
  c.alert = true;
  c.change_records = 42;
  c.change_records_per_s = 2.5;
  c.mount.sync_latency_buckets[0] = 3;   // <= 100 us
  c.mount.sync_latency_buckets[3] = 2;   // <= 1 ms
  c.mount.sync_latency_buckets[9] = 1;   // > 100 ms
  c.mount.sync_latency_ns = 250'000'000;
  m.clusters.push_back(c);
  m.store.pins = 2;
  m.store.pinned_bytes = 8192;
  const std::string text = RenderRetention(m);
  EXPECT_TRUE(Contains(text, "rewind_backtrack_window_actual_seconds{cluster=\"lab\"} 3600\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_backtrack_window_alert{cluster=\"lab\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_backtrack_change_records_stored{cluster=\"lab\"} 42\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_backtrack_change_records_creation_rate{cluster=\"lab\"} 2.5\n"))
      << text;
  EXPECT_TRUE(Contains(text, "rewind_fsync_seconds_bucket{cluster=\"lab\",le=\"0.0001\"} 3\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_fsync_seconds_bucket{cluster=\"lab\",le=\"0.001\"} 5\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_fsync_seconds_bucket{cluster=\"lab\",le=\"+Inf\"} 6\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_fsync_seconds_count{cluster=\"lab\"} 6\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_fsync_seconds_sum{cluster=\"lab\"} 0.25\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_store_log_bytes 123456\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_store_pins 2\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_store_pinned_bytes 8192\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_cleaner_passes_total 7\n")) << text;
  EXPECT_TRUE(Contains(text, "# TYPE rewind_fsync_seconds histogram\n")) << text;
}

TEST(CliMetrics, RendersTheObjectStoreLagAndCounters) {
  objstore::ShipperStats st;
  st.lag_seconds = 1.5;
  st.lag_bytes = 4096;
  st.shipped_lsn = 10;
  st.durable_lsn = 12;
  st.bytes_uploaded = 1 << 20;
  st.objects_uploaded = 3;
  st.failures = 2;
  st.down = true;
  std::string text = RenderObjectStore(st);
  EXPECT_TRUE(Contains(text, "# TYPE rewind_objstore_upload_lag_seconds gauge\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_upload_lag_seconds 1.5\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_upload_lag_bytes 4096\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_uploaded_bytes_total 1048576\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_failed_passes_total 2\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_down 1\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_shipped_lsn 10\n")) << text;
}

TEST(CliMetrics, RendersTheLocalBufferPolicy) {
  objstore::BacklogGateStats st;
  st.full = true;
  st.full_episodes = 2;
  st.writes_waiting = 3;
  st.writes_held = 7;
  st.wait_seconds = 1.25;
  std::string text = RenderBacklog(st);
  EXPECT_TRUE(Contains(text, "# TYPE rewind_objstore_backlog_full gauge\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_backlog_full 1\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_backlog_full_total 2\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_backlog_writes_waiting 3\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_backlog_writes_held_total 7\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_objstore_backlog_wait_seconds_total 1.25\n")) << text;
}

TEST(Metrics, ReplicasShowRunningAndLagPerReader) {
  std::vector<cluster::ReplicaView> r = {{"lab", "lab-2", true, 3}, {"lab", "lab-3", false, std::nullopt}};
  std::string text = RenderReplicas(r);
  EXPECT_TRUE(Contains(text, "rewind_replica_running{cluster=\"lab\",instance=\"lab-2\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_replica_running{cluster=\"lab\",instance=\"lab-3\"} 0\n")) << text;
  EXPECT_TRUE(Contains(text, "rewind_replica_lag_seconds{cluster=\"lab\",instance=\"lab-2\"} 3\n")) << text;
  EXPECT_FALSE(Contains(text, "instance=\"lab-3\"} 3")) << text;
  EXPECT_FALSE(Contains(text, "rewind_replica_lag_seconds{cluster=\"lab\",instance=\"lab-3\"}")) << text;
}

}  // namespace
}  // namespace rwd::cli
