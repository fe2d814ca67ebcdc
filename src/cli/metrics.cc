#include "cli/metrics.h"

#include <algorithm>
#include <cstdio>

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
           PromLabelEscape(c.status) + "\"} 1\n";
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

}  // namespace rwd::cli
