#include "cli/metrics.h"

#include <algorithm>
#include <cstdio>

#include "api/rds_handler.h"

namespace rwd::cli {

std::string PromLabelEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

ApiMetrics::ApiMetrics(std::vector<std::string_view> known_actions)
    : known_actions_(std::move(known_actions)) {}

void ApiMetrics::Record(const api::ApiCallRecord& call) {
  std::string action = "other";
  if (call.action.empty()) {
    action = "none";  // refused before an action was read (authentication, bad form)
  } else if (std::find(known_actions_.begin(), known_actions_.end(), call.action) !=
             known_actions_.end()) {
    action = call.action;
  }
  std::string code = call.error_code.empty() ? "ok" : call.error_code;
  std::lock_guard<std::mutex> lk(mu_);
  ++calls_[{action, code}];
  duration_ns_[action] += call.duration_ns;
}

std::string ApiMetrics::Render(const std::vector<cluster::ClusterView>& clusters) const {
  std::string out;
  char buf[64];
  {
    std::lock_guard<std::mutex> lk(mu_);
    out += "# HELP rewind_api_calls_total RDS API calls answered, by action and error code.\n";
    out += "# TYPE rewind_api_calls_total counter\n";
    for (const auto& [key, n] : calls_) {
      out += "rewind_api_calls_total{action=\"" + PromLabelEscape(key.first) + "\",code=\"" +
             PromLabelEscape(key.second) + "\"} " + std::to_string(n) + "\n";
    }
    out += "# HELP rewind_api_call_seconds_total Time spent answering RDS API calls.\n";
    out += "# TYPE rewind_api_call_seconds_total counter\n";
    for (const auto& [action, ns] : duration_ns_) {
      std::snprintf(buf, sizeof(buf), "%.6f", static_cast<double>(ns) / 1e9);
      out += "rewind_api_call_seconds_total{action=\"" + PromLabelEscape(action) + "\"} " + buf +
             "\n";
    }
  }
  out += "# HELP rewind_clusters DB clusters known to this rewindd.\n";
  out += "# TYPE rewind_clusters gauge\n";
  out += "rewind_clusters " + std::to_string(clusters.size()) + "\n";
  out += "# HELP rewind_cluster_status 1 for the status each DB cluster is in.\n";
  out += "# TYPE rewind_cluster_status gauge\n";
  for (const auto& c : clusters) {
    out += "rewind_cluster_status{cluster=\"" + PromLabelEscape(c.id) + "\",status=\"" +
           PromLabelEscape(api::AuroraStatusWord(c.status)) + "\"} 1\n";
  }
  out += "# HELP rewind_cluster_port TCP port of each DB cluster's endpoint.\n";
  out += "# TYPE rewind_cluster_port gauge\n";
  for (const auto& c : clusters) {
    out += "rewind_cluster_port{cluster=\"" + PromLabelEscape(c.id) + "\"} " +
           std::to_string(c.port) + "\n";
  }
  out += "# HELP rewind_cluster_backtrack_window_seconds Target backtrack window.\n";
  out += "# TYPE rewind_cluster_backtrack_window_seconds gauge\n";
  for (const auto& c : clusters) {
    out += "rewind_cluster_backtrack_window_seconds{cluster=\"" + PromLabelEscape(c.id) + "\"} " +
           std::to_string(c.backtrack_window_s) + "\n";
  }
  out += "# HELP rewind_cluster_earliest_backtrack_timestamp_seconds Earliest time a backtrack "
         "can reach.\n";
  out += "# TYPE rewind_cluster_earliest_backtrack_timestamp_seconds gauge\n";
  for (const auto& c : clusters) {
    if (c.backtrack_window_s <= 0 || c.earliest_backtrack_ns <= 0) continue;
    std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(c.earliest_backtrack_ns) / 1e9);
    out += "rewind_cluster_earliest_backtrack_timestamp_seconds{cluster=\"" +
           PromLabelEscape(c.id) + "\"} " + buf + "\n";
  }
  return out;
}

namespace {

// One metric family: HELP, TYPE, then its samples.
class Family {
 public:
  Family(std::string* out, const char* name, const char* type, const char* help)
      : out_(out), name_(name) {
    *out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const std::string& labels, double v, const char* suffix = "") {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    *out_ += name_ + suffix + (labels.empty() ? "" : "{" + labels + "}") + " " + buf + "\n";
  }

 private:
  std::string* out_;
  std::string name_;
};

std::string ClusterLabel(const std::string& id) { return "cluster=\"" + PromLabelEscape(id) + "\""; }

}  // namespace

std::string RenderReplicas(const std::vector<cluster::ReplicaView>& replicas) {
  std::string out;
  auto labels = [](const cluster::ReplicaView& r) {
    return ClusterLabel(r.cluster_id) + ",instance=\"" + PromLabelEscape(r.instance_id) + "\"";
  };
  {
    Family f(&out, "rewind_replica_running", "gauge",
             "1 while a reader instance's replica threads both run.");
    for (const auto& r : replicas) f.Sample(labels(r), r.running ? 1 : 0);
  }
  Family f(&out, "rewind_replica_lag_seconds", "gauge",
           "A reader instance's replica lag (Seconds_Behind_Master); absent while unknown.");
  for (const auto& r : replicas) {
    if (r.lag_seconds) f.Sample(labels(r), static_cast<double>(*r.lag_seconds));
  }
  return out;
}

std::string RenderRetention(const cluster::RetentionMetrics& m) {
  std::string out;
  using Getter = double (*)(const cluster::ClusterRetention&);
  struct PerCluster {
    const char* name;
    const char* type;
    const char* help;
    Getter get;
  };
  const PerCluster per_cluster[] = {
      {"rewind_backtrack_window_target_seconds", "gauge", "BacktrackWindow: the target.",
       [](const cluster::ClusterRetention& c) { return double(c.window_target_s); }},
      {"rewind_backtrack_window_actual_seconds", "gauge",
       "BacktrackWindowActual: how far back a backtrack can go now.",
       [](const cluster::ClusterRetention& c) { return double(c.window_actual_s); }},
      {"rewind_backtrack_window_alert", "gauge",
       "BacktrackWindowAlert: 1 while the history budget holds the window below its target.",
       [](const cluster::ClusterRetention& c) { return c.alert ? 1.0 : 0.0; }},
      {"rewind_backtrack_change_records_stored", "gauge",
       "BacktrackChangeRecordsStored: page versions kept inside the window.",
       [](const cluster::ClusterRetention& c) { return double(c.change_records); }},
      {"rewind_backtrack_change_records_creation_rate", "gauge",
       "BacktrackChangeRecordsCreationRate: writes per second between the last two passes.",
       [](const cluster::ClusterRetention& c) { return c.change_records_per_s; }},
      {"rewind_backtrack_change_records_created_total", "counter",
       "Writes through the cluster's mount (change records created).",
       [](const cluster::ClusterRetention& c) { return double(c.change_records_created); }},
      {"rewind_mount_written_bytes_total", "counter",
       "Bytes mariadbd wrote through the cluster's mount since it was mounted.",
       [](const cluster::ClusterRetention& c) { return double(c.mount.write_bytes); }},
      {"rewind_history_bytes", "gauge", "File data bytes kept for the cluster's history.",
       [](const cluster::ClusterRetention& c) { return double(c.history_bytes); }},
      {"rewind_live_bytes", "gauge", "File data bytes the cluster's head timeline wrote (since its last backtrack or clone) "
       "and still shows.",
       [](const cluster::ClusterRetention& c) { return double(c.live_bytes); }},
      {"rewind_history_stored_bytes", "gauge",
       "Log bytes the cluster's history takes (rewind_history_bytes as stored: less where "
       "compressed).",
       [](const cluster::ClusterRetention& c) { return double(c.history_stored_bytes); }},
      {"rewind_live_stored_bytes", "gauge",
       "Log bytes of the data counted by rewind_live_bytes (less where compressed).",
       [](const cluster::ClusterRetention& c) { return double(c.live_stored_bytes); }},
  };
  for (const auto& pc : per_cluster) {
    Family f(&out, pc.name, pc.type, pc.help);
    for (const auto& c : m.clusters) f.Sample(ClusterLabel(c.id), pc.get(c));
  }
  {
    Family f(&out, "rewind_fsync_seconds", "histogram",
             "fsync/fsyncdir latency through the cluster's mount, until the store synced.");
    for (const auto& c : m.clusters) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < c.mount.sync_latency_buckets.size(); ++i) {
        cumulative += c.mount.sync_latency_buckets[i];
        char le[32];
        if (i < fs::kSyncBucketsUs.size()) {
          std::snprintf(le, sizeof(le), "%g", double(fs::kSyncBucketsUs[i]) / 1e6);
        } else {
          std::snprintf(le, sizeof(le), "+Inf");
        }
        f.Sample(ClusterLabel(c.id) + ",le=\"" + le + "\"", double(cumulative), "_bucket");
      }
      f.Sample(ClusterLabel(c.id), double(c.mount.sync_latency_ns) / 1e9, "_sum");
      f.Sample(ClusterLabel(c.id), double(cumulative), "_count");
    }
  }
  Family(&out, "rewind_store_log_bytes", "gauge", "Bytes of the store's log on disk (all history).")
      .Sample("", double(m.store.log_bytes));
  Family(&out, "rewind_store_page_versions", "gauge", "Page versions in the store's index.")
      .Sample("", double(m.store.page_versions));
  Family(&out, "rewind_store_segments", "gauge", "Log segment files.")
      .Sample("", double(m.store.segments));
  Family(&out, "rewind_store_write_bytes_total", "counter",
         "File data bytes written to the store since rewindd started.")
      .Sample("", double(m.store.write_bytes));
  Family(&out, "rewind_store_write_stored_bytes_total", "counter",
         "Log bytes that data took when written (raw: closed segments are compressed later, in the "
         "background).")
      .Sample("", double(m.store.write_stored_bytes));
  Family(&out, "rewind_store_pins", "gauge",
         "Pins in the store now (DB cluster snapshots, and other pins).")
      .Sample("", double(m.store.pins));
  Family(&out, "rewind_store_pinned_bytes", "gauge",
         "File data bytes only pins keep, as of the last cleaning pass.")
      .Sample("", double(m.store.pinned_bytes));
  Family(&out, "rewind_store_pinned_stored_bytes", "gauge",
         "Log bytes only pins keep, as of the last cleaning pass.")
      .Sample("", double(m.store.pinned_stored_bytes));
  Family(&out, "rewind_history_budget_bytes", "gauge", "The history budget (0: none).")
      .Sample("", double(m.history_budget_bytes));
  Family(&out, "rewind_cleaner_passes_total", "counter", "Cleaning passes run.")
      .Sample("", double(m.clean_passes));
  Family(&out, "rewind_cleaner_versions_dropped_total", "counter",
         "Page versions the cleaner dropped from the index.")
      .Sample("", double(m.versions_dropped_total));
  Family(&out, "rewind_cleaner_segments_rewritten_total", "counter",
         "Log segments the cleaner rewrote without their dead records.")
      .Sample("", double(m.segments_rewritten_total));
  Family(&out, "rewind_cleaner_reclaimed_bytes_total", "counter",
         "Log bytes the cleaner reclaimed.")
      .Sample("", double(m.bytes_reclaimed_total));
  Family(&out, "rewind_cleaner_last_pass_seconds", "gauge", "How long the last pass took.")
      .Sample("", m.last_pass_seconds);
  Family(&out, "rewind_cleaner_last_pass_timestamp_seconds", "gauge",
         "When the last pass ended (0: none yet).")
      .Sample("", double(m.last_pass_end_ns) / 1e9);
  return out;
}

std::string RenderColdTier(const store::StoreStats& store, const store::SegmentTierStats& tier) {
  std::string out;
  Family(&out, "rewind_store_local_log_bytes", "gauge",
         "Bytes of log segment files on the local disk (the rest is only in the bucket).")
      .Sample("", double(store.local_log_bytes));
  Family(&out, "rewind_store_cold_segments", "gauge",
         "Closed log segments kept only in the bucket (evicted locally).")
      .Sample("", double(store.cold_segments));
  Family(&out, "rewind_store_evicted_segments_total", "counter",
         "Segments evicted locally since start, each after a HEAD verified its copy.")
      .Sample("", double(store.segments_evicted));
  Family(&out, "rewind_objstore_cold_reads_total", "counter",
         "Ranged GETs of evicted history (one per block of 1 MiB).")
      .Sample("", double(tier.cold_reads));
  Family(&out, "rewind_objstore_cold_read_bytes_total", "counter",
         "Bytes fetched by those GETs.")
      .Sample("", double(tier.cold_read_bytes));
  Family(&out, "rewind_objstore_cold_cache_hits_total", "counter",
         "Reads of evicted history served by the local block cache.")
      .Sample("", double(tier.cache_hits));
  Family(&out, "rewind_objstore_cold_cache_bytes", "gauge", "Bytes in the block cache.")
      .Sample("", double(tier.cache_bytes));
  Family(&out, "rewind_objstore_cold_read_failures_total", "counter",
         "Fetches of evicted history that failed (the read failed with them).")
      .Sample("", double(tier.read_failures));
  return out;
}

std::string RenderObjectStore(const objstore::ShipperStats& s) {
  std::string out;
  Family(&out, "rewind_objstore_upload_lag_seconds", "gauge",
         "Age of the newest point whose log is in the bucket, while durable commits are not "
         "(0 when all are): the RPO if the machine were lost now.")
      .Sample("", s.lag_seconds);
  Family(&out, "rewind_objstore_upload_lag_bytes", "gauge",
         "Durable local log bytes not yet in the bucket.")
      .Sample("", double(s.lag_bytes));
  Family(&out, "rewind_objstore_durable_lsn", "gauge", "The store's durable LSN.")
      .Sample("", double(s.durable_lsn));
  Family(&out, "rewind_objstore_shipped_lsn", "gauge",
         "The newest LSN whose log is wholly in the bucket (its HEAD).")
      .Sample("", double(s.shipped_lsn));
  Family(&out, "rewind_objstore_uploaded_bytes_total", "counter", "Bytes uploaded.")
      .Sample("", double(s.bytes_uploaded));
  Family(&out, "rewind_objstore_uploaded_objects_total", "counter", "Objects uploaded.")
      .Sample("", double(s.objects_uploaded));
  Family(&out, "rewind_objstore_deleted_objects_total", "counter",
         "Tail chunks deleted once their segment was uploaded whole.")
      .Sample("", double(s.objects_deleted));
  Family(&out, "rewind_objstore_collected_objects_total", "counter",
         "Objects deleted once nothing could read them (segment files the cleaner replaced, "
         "checkpoints and metadata copies older than HEAD's).")
      .Sample("", double(s.objects_collected));
  Family(&out, "rewind_objstore_pins", "gauge",
         "Other nodes' pins on this store (their clones read its history; the collector keeps "
         "what they name), at the last collection.")
      .Sample("", double(s.pins));
  Family(&out, "rewind_objstore_oldest_pin_seconds", "gauge",
         "Age of the oldest pin (0: none): a pin of a node that is gone keeps its objects until "
         "it is deleted (rewind/v1/stores/ID/pins/).")
      .Sample("", s.oldest_pin_age_seconds);
  Family(&out, "rewind_objstore_failed_passes_total", "counter",
         "Upload passes that failed (the object store down, slow or refusing).")
      .Sample("", double(s.failures));
  Family(&out, "rewind_objstore_passes_total", "counter", "Upload passes run.")
      .Sample("", double(s.passes));
  Family(&out, "rewind_objstore_down", "gauge",
         "1 while uploads fail or have not caught up since they failed.")
      .Sample("", s.down ? 1 : 0);
  return out;
}

std::string RenderBacklog(const objstore::BacklogGateStats& s) {
  std::string out;
  Family(&out, "rewind_objstore_backlog_full", "gauge",
         "1 while the local log is past --local-history-budget (plus headroom) with uploads "
         "behind: --upload-backlog-policy applies.")
      .Sample("", s.full ? 1 : 0);
  Family(&out, "rewind_objstore_backlog_full_total", "counter",
         "Times the local log became full.")
      .Sample("", double(s.full_episodes));
  Family(&out, "rewind_objstore_backlog_writes_waiting", "gauge",
         "Writes held back now by back-pressure (commits waiting for uploads).")
      .Sample("", double(s.writes_waiting));
  Family(&out, "rewind_objstore_backlog_writes_held_total", "counter",
         "Writes that waited for uploads (back-pressure).")
      .Sample("", double(s.writes_held));
  Family(&out, "rewind_objstore_backlog_wait_seconds_total", "counter",
         "Time writes spent waiting for uploads (back-pressure).")
      .Sample("", s.wait_seconds);
  return out;
}

}  // namespace rwd::cli
