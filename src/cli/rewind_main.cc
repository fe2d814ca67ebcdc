// rewind: a friendly front over Rewind's RDS API (the same calls `aws rds` makes).
//   rewind [--endpoint URL] [--credentials FILE] [--ca-bundle FILE] COMMAND ...
//   (an https:// endpoint is verified against --ca-bundle, else AWS_CA_BUNDLE, else the
//   system's CAs, as the aws CLI does)
//   status                                  clusters, their state, endpoints and windows
//   backtrack CLUSTER --to TIME [--use-earliest]
//                                           rewinds in place; waits and shows progress
//   clone SOURCE NEW [--at TIME] [--port N] [--param-group NAME] [--peer NAME]
//                                           copy-on-write clone + writer instance; waits
//                                           (--peer: SOURCE is a cluster of the peer NAME,
//                                           rewindd --peer-object-store NAME=s3://...)
//   activity CLUSTER [--from TIME] [--to TIME] [--step 1s|10s|1m|1h] [--format table|json]
//                                           file data bytes and change records per step
//   history CLUSTER                         activity sparkline, backtracks and events
//   show CLUSTER                            one cluster: endpoint, window, deletion
//                                           protection, tags
//   protect CLUSTER on|off                  deletion protection (modify-db-cluster)
//   stop CLUSTER | start CLUSTER            stop-db-cluster / start-db-cluster; waits until
//                                           stopped / available
//   failover CLUSTER [--target INSTANCE]    failover-db-cluster; waits until available and
//                                           shows the new writer
//   tag CLUSTER KEY=VALUE...                adds or changes tags (add-tags-to-resource)
//   untag CLUSTER KEY...                    removes tags (remove-tags-from-resource)
//   time-travel CLUSTER --at TIME [--minutes N] | --list | --stop [ID]
//                                           a read-only server on the state at TIME
//   query CLUSTER --at TIME -e SQL [--database DB]
//                                           SQL on the state at TIME, printed as mysql -B
//   restore-table CLUSTER --table DB.TABLE --to TIME [--with-related]
//                                           one table back as at TIME, live
//   diff CLUSTER --from T1 --to T2 [--table DB.TABLE] [--format table|json|sql|summary]
//                                           what changed (sql: the undo)
// TIME: ISO 8601 ("2026-11-25T10:00:00Z") or relative ("90 seconds ago", "5m ago", "now").
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/timeparse.h"
#include "cli/activity_view.h"
#include "cli/rds_client.h"
#include "tls/tls.h"

namespace rwd::cli {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

int Fail(const Status& s) {
  if (!s.tag().empty()) {
    std::fprintf(stderr, "rewind: %s: %s\n", s.tag().c_str(), s.message().c_str());
  } else {
    std::fprintf(stderr, "rewind: %s\n", s.message().c_str());
  }
  return 1;
}

int Usage() {
  std::fprintf(stderr,
               "usage: rewind [--endpoint URL] [--credentials FILE] [--ca-bundle FILE] COMMAND\n"
               "  status\n"
               "  backtrack CLUSTER --to TIME [--use-earliest]\n"
               "  clone SOURCE NEW [--at TIME] [--port N] [--param-group NAME] [--peer NAME]\n"
               "    (--peer: SOURCE is a cluster of that peer: rewindd --peer-object-store)\n"
               "  activity CLUSTER [--from TIME] [--to TIME] [--step 1s|10s|1m|1h|1d]\n"
               "                   [--format table|json]\n"
               "  history CLUSTER\n"
               "  show CLUSTER\n"
               "  protect CLUSTER on|off\n"
               "  stop CLUSTER | start CLUSTER\n"
               "  failover CLUSTER [--target INSTANCE]\n"
               "  tag CLUSTER KEY=VALUE...\n"
               "  untag CLUSTER KEY...\n"
               "  time-travel CLUSTER --at TIME [--minutes N]\n"
               "  time-travel CLUSTER --list | --stop [ID]\n"
               "  query CLUSTER --at TIME -e SQL [--database DB]\n"
               "  restore-table CLUSTER --table DB.TABLE --to TIME [--with-related]\n"
               "  diff CLUSTER --from T1 --to T2 [--table DB.TABLE] [--format table|json|sql|summary]\n"
               "  snapshot create CLUSTER SNAPSHOT | list [CLUSTER] | delete SNAPSHOT\n"
               "  snapshot restore SNAPSHOT NEW [--port N] [--param-group NAME]\n"
               "    (--param-group: the new cluster's DB cluster parameter group)\n"
               "  param-group create NAME [--description TEXT] | list | delete NAME\n"
               "  param-group show NAME [--source user|engine-default]\n"
               "  param-group set NAME VARIABLE=VALUE... [--pending-reboot]\n"
               "  param-group reset NAME [VARIABLE...] [--pending-reboot]\n"
               "  param-group use CLUSTER NAME\n"
               "    (--instance: DB (instance) parameter groups instead of cluster ones)\n"
               "  reader add CLUSTER READER | list CLUSTER | delete READER\n"
               "TIME: ISO 8601 (2026-11-25T10:00:00Z) or relative (\"90 seconds ago\", now)\n");
  return 2;
}

std::string Short(const std::string& iso) { return iso.empty() ? "-" : iso; }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Polls describe-db-clusters until the cluster's status is `want` (or failed, or
// `rolled_back` after another status: an operation undone, as a start that failed).
Result<std::string> WaitClusterStatus(RdsClient& rds, const std::string& id,
                                      const std::string& want, double timeout_s,
                                      std::chrono::steady_clock::time_point t0,
                                      const std::string& rolled_back = "") {
  std::string last;
  bool seen_other = false;
  while (Seconds(t0) < timeout_s) {
    auto r = rds.Call("DescribeDBClusters", {{"DBClusterIdentifier", id}});
    if (!r.ok()) return r.status();
    std::string st = ChildText(**r, "Status");
    if (st != last) {
      std::printf("  %6.2fs  %s: %s\n", Seconds(t0), id.c_str(), st.c_str());
      std::fflush(stdout);
      last = st;
    }
    if (st == want) return st;
    if (st == "failed") return Status::FailedPrecondition(id + " failed; see `rewind history`");
    if (!rolled_back.empty() && st == rolled_back && seen_other) {
      return Status::FailedPrecondition(id + " is " + st + " again; see `rewind history`");
    }
    seen_other = seen_other || st != rolled_back;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Unavailable("timed out waiting for " + id + " to be " + want);
}

// The first element named `name` anywhere in `doc`.
pugi::xml_node Find(const pugi::xml_document& doc, std::string_view name) {
  return doc.find_node([name](const pugi::xml_node& n) { return std::string_view(n.name()) == name; });
}

// Every page of a Describe action (following Marker), as the aws CLI does.
Result<std::vector<std::shared_ptr<pugi::xml_document>>> AllPages(RdsClient& rds,
                                                                   const std::string& action,
                                                                   Params params) {
  std::vector<std::shared_ptr<pugi::xml_document>> pages;
  std::string marker;
  do {
    Params p = params;
    if (!marker.empty()) p.emplace_back("Marker", marker);
    ASSIGN_OR_RETURN(std::shared_ptr<pugi::xml_document> doc, rds.Call(action, p));
    // Only the result's own Marker (a direct child), not one nested in an item.
    marker = Find(*doc, std::string(action) + "Result").child("Marker").text().as_string();
    pages.push_back(std::move(doc));
  } while (!marker.empty());
  return pages;
}

// The `item` elements of the `list` of every page (the nodes live as long as `pages`).
std::vector<pugi::xml_node> Items(const std::vector<std::shared_ptr<pugi::xml_document>>& pages,
                                  std::string_view list, const char* item) {
  std::vector<pugi::xml_node> out;
  for (const auto& page : pages) {
    for (pugi::xml_node n : Find(*page, list).children(item)) out.push_back(n);
  }
  return out;
}

int Status_(RdsClient& rds) {
  auto r = AllPages(rds, "DescribeDBClusters", {});
  if (!r.ok()) return Fail(r.status());
  std::printf("%-22s %-13s %-21s %-8s %-22s %-9s %s\n", "CLUSTER", "STATUS", "ENDPOINT", "WINDOW",
              "EARLIEST BACKTRACK", "PROTECTED", "WRITER");
  for (pugi::xml_node c : Items(*r, "DBClusters", "DBCluster")) {
    std::string id = c.child("DBClusterIdentifier").text().as_string();
    std::string writer = "-";
    for (pugi::xml_node m : c.child("DBClusterMembers").children("DBClusterMember")) {
      writer = m.child("DBInstanceIdentifier").text().as_string();
    }
    std::string window = c.child("BacktrackWindow").text().as_string();
    std::printf("%-22s %-13s %-21s %-8s %-22s %-9s %s\n", id.c_str(),
                c.child("Status").text().as_string(),
                (std::string(c.child("Endpoint").text().as_string()) + ":" +
                 c.child("Port").text().as_string())
                    .c_str(),
                window.empty() || window == "0" ? "off" : (window + "s").c_str(),
                Short(c.child("EarliestBacktrackTime").text().as_string()).c_str(),
                c.child("DeletionProtection").text().as_bool() ? "yes" : "no", writer.c_str());
  }
  return 0;
}

int Show(RdsClient& rds, const std::string& id) {
  auto r = rds.Call("DescribeDBClusters", {{"DBClusterIdentifier", id}});
  if (!r.ok()) return Fail(r.status());
  pugi::xml_node c = Find(**r, "DBCluster");
  auto field = [&](const char* label, const char* name) {
    std::printf("%-22s %s\n", label, c.child(name).text().as_string());
  };
  field("Cluster", "DBClusterIdentifier");
  field("ARN", "DBClusterArn");
  field("Status", "Status");
  std::printf("%-22s %s:%s\n", "Endpoint", c.child("Endpoint").text().as_string(),
              c.child("Port").text().as_string());
  field("Master user", "MasterUsername");
  field("Backtrack window (s)", "BacktrackWindow");
  field("Earliest backtrack", "EarliestBacktrackTime");
  std::printf("%-22s %s\n", "Deletion protection",
              c.child("DeletionProtection").text().as_bool() ? "on" : "off");
  std::printf("Tags:\n");
  bool any = false;
  for (pugi::xml_node t : c.child("TagList").children("Tag")) {
    std::printf("  %s=%s\n", t.child("Key").text().as_string(), t.child("Value").text().as_string());
    any = true;
  }
  if (!any) std::printf("  (none)\n");
  return 0;
}

int Protect(RdsClient& rds, const std::string& id, const std::string& on_off) {
  if (on_off != "on" && on_off != "off") return Usage();
  auto r = rds.Call("ModifyDBCluster", {{"DBClusterIdentifier", id},
                                        {"DeletionProtection", on_off == "on" ? "true" : "false"}});
  if (!r.ok()) return Fail(r.status());
  std::printf("Deletion protection of %s: %s\n", id.c_str(), on_off.c_str());
  return 0;
}

// `stop` / `start` of a cluster (stop-db-cluster / start-db-cluster), waited for: stopped, or
// available (a start that fails leaves it stopped: reported as a failure).
int StopStart(RdsClient& rds, const std::string& id, bool stop) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = rds.Call(stop ? "StopDBCluster" : "StartDBCluster", {{"DBClusterIdentifier", id}});
  if (!r.ok()) return Fail(r.status());
  std::printf("%s %s\n", stop ? "Stopping" : "Starting", id.c_str());
  auto done = stop ? WaitClusterStatus(rds, id, "stopped", 600, t0)
                   : WaitClusterStatus(rds, id, "available", 600, t0, "stopped");
  if (!done.ok()) return Fail(done.status());
  std::printf("%s is %s (%.1fs)\n", id.c_str(), done->c_str(), Seconds(t0));
  return 0;
}

// `failover` (failover-db-cluster), waited for: available, then the writer is named.
int Failover(RdsClient& rds, const std::string& id, const std::string& target) {
  const auto t0 = std::chrono::steady_clock::now();
  Params p = {{"DBClusterIdentifier", id}};
  if (!target.empty()) p.emplace_back("TargetDBInstanceIdentifier", target);
  auto r = rds.Call("FailoverDBCluster", p);
  if (!r.ok()) return Fail(r.status());
  std::printf("Failing over %s\n", id.c_str());
  auto done = WaitClusterStatus(rds, id, "available", 600, t0);
  if (!done.ok()) return Fail(done.status());
  auto c = rds.Call("DescribeDBClusters", {{"DBClusterIdentifier", id}});
  if (!c.ok()) return Fail(c.status());
  std::string writer = "(none)";
  for (pugi::xml_node m : Find(**c, "DBClusterMembers").children("DBClusterMember")) {
    if (std::string(m.child("IsClusterWriter").text().as_string()) == "true") {
      writer = m.child("DBInstanceIdentifier").text().as_string();
    }
  }
  std::printf("%s is %s, its writer is %s (%.1fs)\n", id.c_str(), done->c_str(), writer.c_str(),
              Seconds(t0));
  return 0;
}

// `tag` (KEY=VALUE...) or `untag` (KEY...) of a cluster, by its ARN.
int Tag(RdsClient& rds, const std::string& id, const std::vector<std::string>& items, bool add) {
  auto c = rds.Call("DescribeDBClusters", {{"DBClusterIdentifier", id}});
  if (!c.ok()) return Fail(c.status());
  Params p = {{"ResourceName", ChildText(**c, "DBClusterArn")}};
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    if (!add) {
      p.emplace_back("TagKeys.member." + n, items[i]);
      continue;
    }
    const size_t eq = items[i].find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "rewind: tag wants KEY=VALUE, got '%s'\n", items[i].c_str());
      return 2;
    }
    p.emplace_back("Tags.Tag." + n + ".Key", items[i].substr(0, eq));
    p.emplace_back("Tags.Tag." + n + ".Value", items[i].substr(eq + 1));
  }
  auto r = rds.Call(add ? "AddTagsToResource" : "RemoveTagsFromResource", p);
  if (!r.ok()) return Fail(r.status());
  return Show(rds, id);
}

int Backtrack(RdsClient& rds, const std::string& id, const std::string& to_text,
              bool use_earliest) {
  auto to = api::ParseTimeArg(to_text, api::NowNs());
  if (!to.ok()) return Fail(to.status());
  const auto t0 = std::chrono::steady_clock::now();
  Params p = {{"DBClusterIdentifier", id}, {"BacktrackTo", api::FormatIso8601(*to, 6)}};
  if (use_earliest) p.emplace_back("UseEarliestTimeOnPointInTimeUnavailable", "true");
  std::printf("Backtracking %s to %s\n", id.c_str(), api::FormatIso8601(*to, 3).c_str());
  auto r = rds.Call("BacktrackDBCluster", p);
  if (!r.ok()) return Fail(r.status());
  std::string bid = ChildText(**r, "BacktrackIdentifier");
  auto done = WaitClusterStatus(rds, id, "available", 600, t0);
  if (!done.ok()) return Fail(done.status());
  auto bt = rds.Call("DescribeDBClusterBacktracks",
                     {{"DBClusterIdentifier", id}, {"BacktrackIdentifier", bid}});
  if (!bt.ok()) return Fail(bt.status());
  std::string st = ChildText(**bt, "Status");
  std::printf("Backtrack %s: %s in %.2f s\n", bid.c_str(), st.c_str(), Seconds(t0));
  return st == "completed" ? 0 : 1;
}

int WriterWhenAvailable(RdsClient& rds, const std::string& id,
                        std::chrono::steady_clock::time_point t0, const char* what);

// `snapshot create|list|delete|restore` (args after "snapshot").
int Snapshot(RdsClient& rds, const std::vector<std::string>& args, const std::string& port,
             const std::string& param_group) {
  const std::string& verb = args[0];
  if (verb == "create" && args.size() == 3) {
    auto r = rds.Call("CreateDBClusterSnapshot", {{"DBClusterIdentifier", args[1]},
                                                  {"DBClusterSnapshotIdentifier", args[2]}});
    if (!r.ok()) return Fail(r.status());
    std::printf("Snapshot %s of %s: %s at %s\n", args[2].c_str(), args[1].c_str(),
                ChildText(**r, "Status").c_str(), ChildText(**r, "SnapshotCreateTime").c_str());
    return 0;
  }
  if (verb == "list" && args.size() <= 2) {
    Params p;
    if (args.size() == 2) p.emplace_back("DBClusterIdentifier", args[1]);
    auto r = AllPages(rds, "DescribeDBClusterSnapshots", p);
    if (!r.ok()) return Fail(r.status());
    std::printf("%-30s %-22s %-10s %s\n", "SNAPSHOT", "CLUSTER", "STATUS", "TAKEN");
    for (pugi::xml_node s : Items(*r, "DBClusterSnapshots", "DBClusterSnapshot")) {
      std::printf("%-30s %-22s %-10s %s\n",
                  s.child("DBClusterSnapshotIdentifier").text().as_string(),
                  s.child("DBClusterIdentifier").text().as_string(),
                  s.child("Status").text().as_string(),
                  s.child("SnapshotCreateTime").text().as_string());
    }
    return 0;
  }
  if (verb == "delete" && args.size() == 2) {
    auto r = rds.Call("DeleteDBClusterSnapshot", {{"DBClusterSnapshotIdentifier", args[1]}});
    if (!r.ok()) return Fail(r.status());
    std::printf("Snapshot %s deleted\n", args[1].c_str());
    return 0;
  }
  if (verb == "restore" && args.size() == 3) {
    const auto t0 = std::chrono::steady_clock::now();
    Params p = {{"SnapshotIdentifier", args[1]},
                {"DBClusterIdentifier", args[2]},
                {"Engine", "aurora-mysql"}};
    if (!port.empty()) p.emplace_back("Port", port);
    if (!param_group.empty()) p.emplace_back("DBClusterParameterGroupName", param_group);
    std::printf("Restoring snapshot %s as %s\n", args[1].c_str(), args[2].c_str());
    auto r = rds.Call("RestoreDBClusterFromSnapshot", p);
    if (!r.ok()) return Fail(r.status());
    return WriterWhenAvailable(rds, args[2], t0, "Restored cluster");
  }
  return Usage();
}

// `param-group ...` (args after "param-group"): DB cluster parameter groups, or with
// `instance` DB parameter groups.
struct ParamGroupFlags {
  bool instance = false;
  bool pending_reboot = false;
  std::string description;
  std::string source;
};

int ParamGroup(RdsClient& rds, const std::vector<std::string>& args, const ParamGroupFlags& f) {
  const std::string& verb = args[0];
  const std::string kind = f.instance ? "DBParameterGroup" : "DBClusterParameterGroup";
  const std::string name_param = kind + "Name";
  const std::string method = f.pending_reboot ? "pending-reboot" : "immediate";
  auto done = [](const Result<std::shared_ptr<pugi::xml_document>>& r, const std::string& what) {
    if (!r.ok()) return Fail(r.status());
    std::printf("%s\n", what.c_str());
    return 0;
  };
  if (verb == "create" && args.size() == 2) {
    const std::string description = f.description.empty() ? "Created by rewind" : f.description;
    return done(rds.Call("Create" + kind, {{name_param, args[1]},
                                           {"DBParameterGroupFamily", "aurora-mysql8.0"},
                                           {"Description", description}}),
                "Parameter group " + args[1] + " created (family aurora-mysql8.0)");
  }
  if (verb == "list" && args.size() == 1) {
    auto r = AllPages(rds, "Describe" + kind + "s", {});
    if (!r.ok()) return Fail(r.status());
    for (pugi::xml_node g : Items(*r, (kind + "s").c_str(), kind.c_str())) {
      std::printf("%-40s %-16s %s\n", g.child(name_param.c_str()).text().as_string(),
                  g.child("DBParameterGroupFamily").text().as_string(),
                  g.child("Description").text().as_string());
    }
    return 0;
  }
  if (verb == "show" && args.size() == 2) {
    Params p = {{name_param, args[1]}};
    if (!f.source.empty()) p.emplace_back("Source", f.source);
    auto r = AllPages(rds, f.instance ? "DescribeDBParameters" : "DescribeDBClusterParameters", p);
    if (!r.ok()) return Fail(r.status());
    std::printf("%-32s %-24s %-15s %-8s %s\n", "PARAMETER", "VALUE", "SOURCE", "APPLY",
                "ALLOWED");
    for (pugi::xml_node x : Items(*r, "Parameters", "Parameter")) {
      const std::string value = x.child("ParameterValue").text().as_string();
      std::printf("%-32s %-24s %-15s %-8s %s\n", x.child("ParameterName").text().as_string(),
                  value.empty() ? "-" : value.c_str(), x.child("Source").text().as_string(),
                  x.child("ApplyType").text().as_string(),
                  x.child("AllowedValues").text().as_string());
    }
    return 0;
  }
  if ((verb == "set" || verb == "reset") && args.size() >= 2) {
    Params p = {{name_param, args[1]}};
    if (verb == "reset" && args.size() == 2) p.emplace_back("ResetAllParameters", "true");
    for (size_t i = 2; i < args.size(); ++i) {
      const std::string n = "Parameters.Parameter." + std::to_string(i - 1) + ".";
      const size_t eq = args[i].find('=');
      if (verb == "set" && eq == std::string::npos) return Usage();
      p.emplace_back(n + "ParameterName", args[i].substr(0, eq));
      if (verb == "set") p.emplace_back(n + "ParameterValue", args[i].substr(eq + 1));
      if (verb == "set" || f.pending_reboot) p.emplace_back(n + "ApplyMethod", method);
    }
    if (verb == "set" && args.size() == 2) return Usage();
    return done(rds.Call((verb == "set" ? "Modify" : "Reset") + kind, p),
                "Parameter group " + args[1] + (verb == "set" ? " modified" : " reset"));
  }
  if (verb == "delete" && args.size() == 2) {
    return done(rds.Call("Delete" + kind, {{name_param, args[1]}}),
                "Parameter group " + args[1] + " deleted");
  }
  if (verb == "use" && args.size() == 3 && !f.instance) {
    return done(rds.Call("ModifyDBCluster", {{"DBClusterIdentifier", args[1]},
                                             {"DBClusterParameterGroupName", args[2]}}),
                "DB cluster " + args[1] + " uses " + args[2] + " (applied at its next reboot)");
  }
  return Usage();
}

// `reader add|list|delete` (args after "reader"): reader instances of a cluster.
int Reader(RdsClient& rds, const std::vector<std::string>& args) {
  const std::string& verb = args[0];
  if (verb == "add" && args.size() == 3) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = rds.Call("CreateDBInstance", {{"DBInstanceIdentifier", args[2]},
                                           {"DBClusterIdentifier", args[1]},
                                           {"Engine", "aurora-mysql"},
                                           {"DBInstanceClass", "db.r5.large"}});
    if (!r.ok()) return Fail(r.status());
    std::string st;
    while (Seconds(t0) < 600) {
      auto d = rds.Call("DescribeDBInstances", {{"DBInstanceIdentifier", args[2]}});
      if (!d.ok()) return Fail(d.status());
      st = ChildText(**d, "DBInstanceStatus");
      if (st == "available" || st == "failed") {
        pugi::xml_node ep = Find(**d, "Endpoint");
        std::printf("Reader %s of %s: %s in %.2f s, endpoint %s:%s\n", args[2].c_str(),
                    args[1].c_str(), st.c_str(), Seconds(t0),
                    ep.child("Address").text().as_string(), ep.child("Port").text().as_string());
        return st == "available" ? 0 : 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Fail(rwd::Status::Unavailable("timed out waiting for reader " + args[2]));
  }
  if (verb == "list" && args.size() == 2) {
    auto r = AllPages(rds, "DescribeDBInstances", {{"DBClusterIdentifier", args[1]}});
    if (!r.ok()) return Fail(r.status());
    std::printf("%-30s %-8s %-10s %s\n", "INSTANCE", "ROLE", "STATUS", "ENDPOINT");
    auto c = AllPages(rds, "DescribeDBClusters", {{"DBClusterIdentifier", args[1]}});
    if (!c.ok()) return Fail(c.status());
    std::set<std::string> writers;
    for (pugi::xml_node m : Items(*c, "DBClusterMembers", "DBClusterMember")) {
      if (std::string(m.child("IsClusterWriter").text().as_string()) == "true") {
        writers.insert(m.child("DBInstanceIdentifier").text().as_string());
      }
    }
    for (pugi::xml_node i : Items(*r, "DBInstances", "DBInstance")) {
      const std::string id = i.child("DBInstanceIdentifier").text().as_string();
      std::printf("%-30s %-8s %-10s %s:%s\n", id.c_str(), writers.count(id) ? "writer" : "reader",
                  i.child("DBInstanceStatus").text().as_string(),
                  i.child("Endpoint").child("Address").text().as_string(),
                  i.child("Endpoint").child("Port").text().as_string());
    }
    return 0;
  }
  if (verb == "delete" && args.size() == 2) {
    auto r = rds.Call("DeleteDBInstance", {{"DBInstanceIdentifier", args[1]}});
    if (!r.ok()) return Fail(r.status());
    std::printf("Reader %s: deleting\n", args[1].c_str());
    return 0;
  }
  return Usage();
}

int Clone(RdsClient& rds, const std::string& src, const std::string& id,
          const std::string& at_text, const std::string& port, const std::string& param_group,
          const std::string& peer, const std::string& region) {
  const auto t0 = std::chrono::steady_clock::now();
  // A peer's cluster is named by its ARN, the peer's name as the account (as Aurora names a
  // cluster of another account for a cross-account clone).
  const std::string source =
      peer.empty() ? src : "arn:aws:rds:" + region + ":" + peer + ":cluster:" + src;
  Params p = {{"SourceDBClusterIdentifier", source},
              {"DBClusterIdentifier", id},
              {"RestoreType", "copy-on-write"}};
  if (at_text.empty() || at_text == "now") {
    p.emplace_back("UseLatestRestorableTime", "true");
  } else {
    auto at = api::ParseTimeArg(at_text, api::NowNs());
    if (!at.ok()) return Fail(at.status());
    p.emplace_back("RestoreToTime", api::FormatIso8601(*at, 6));
  }
  if (!port.empty()) p.emplace_back("Port", port);
  if (!param_group.empty()) p.emplace_back("DBClusterParameterGroupName", param_group);
  std::printf("Cloning %s%s as %s\n", src.c_str(),
              peer.empty() ? "" : (" of peer " + peer).c_str(), id.c_str());
  auto r = rds.Call("RestoreDBClusterToPointInTime", p);
  if (!r.ok()) return Fail(r.status());
  return WriterWhenAvailable(rds, id, t0, "Clone");
}

// Once the new cluster `id` is available, its writer <id>-instance-1, waited for; prints how
// to connect. `what` names the cluster in the last line ("Clone", "Restored cluster").
int WriterWhenAvailable(RdsClient& rds, const std::string& id,
                        std::chrono::steady_clock::time_point t0, const char* what) {
  auto ok = WaitClusterStatus(rds, id, "available", 600, t0);
  if (!ok.ok()) return Fail(ok.status());
  auto inst = rds.Call("CreateDBInstance", {{"DBInstanceIdentifier", id + "-instance-1"},
                                            {"DBClusterIdentifier", id},
                                            {"Engine", "aurora-mysql"},
                                            {"DBInstanceClass", "db.r5.large"}});
  if (!inst.ok()) return Fail(inst.status());
  std::string last;
  while (Seconds(t0) < 600) {
    auto d = rds.Call("DescribeDBInstances", {{"DBInstanceIdentifier", id + "-instance-1"}});
    if (!d.ok()) return Fail(d.status());
    std::string st = ChildText(**d, "DBInstanceStatus");
    if (st != last) {
      std::printf("  %6.2fs  %s-instance-1: %s\n", Seconds(t0), id.c_str(), st.c_str());
      last = st;
    }
    if (st == "available") break;
    if (st == "failed") return Fail(Status::FailedPrecondition("the clone's instance failed"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto c = rds.Call("DescribeDBClusters", {{"DBClusterIdentifier", id}});
  if (!c.ok()) return Fail(c.status());
  std::printf("%s %s ready in %.2f s: mysql -h %s -P %s -u %s -p %s\n", what, id.c_str(),
              Seconds(t0),
              ChildText(**c, "Endpoint").c_str(), ChildText(**c, "Port").c_str(),
              ChildText(**c, "MasterUsername").c_str(), ChildText(**c, "DatabaseName").c_str());
  return 0;
}

// DescribeDBClusterActivity → its samples and the interval it answered.
struct ActivityAnswer {
  std::vector<ActivitySample> samples;
  int64_t from_ns = 0;
  int64_t to_ns = 0;
  int64_t step_s = 0;
};
Result<ActivityAnswer> FetchActivity(RdsClient& rds, const Params& params) {
  auto r = rds.Call("DescribeDBClusterActivity", params);
  if (!r.ok()) return r.status();
  auto time_of = [](const pugi::xml_node& n, const char* name) -> Result<int64_t> {
    return api::ParseIso8601(n.child(name).text().as_string());
  };
  pugi::xml_node result = (*r)->first_child().child("DescribeDBClusterActivityResult");
  ActivityAnswer a;
  auto from = time_of(result, "StartTime");
  auto to = time_of(result, "EndTime");
  if (!from.ok() || !to.ok()) {
    return Status::Corruption("DescribeDBClusterActivity answered without StartTime/EndTime");
  }
  a.from_ns = *from;
  a.to_ns = *to;
  a.step_s = result.child("Step").text().as_llong();
  for (pugi::xml_node p : result.child("Points").children("Point")) {
    auto t = time_of(p, "Time");
    if (!t.ok()) return Status::Corruption("DescribeDBClusterActivity answered a bad Time");
    a.samples.push_back(ActivitySample{*t, p.child("Bytes").text().as_ullong(),
                                       p.child("Records").text().as_ullong()});
  }
  return a;
}

int Activity(RdsClient& rds, const std::string& id, const std::string& from,
             const std::string& to, const std::string& step, const std::string& format) {
  if (format != "table" && format != "json") {
    return Fail(Status::InvalidArgument("--format must be table or json, not '" + format + "'"));
  }
  Params p = {{"DBClusterIdentifier", id}};
  const int64_t now = api::NowNs();
  auto time_param = [&](const std::string& text, const char* flag, const char* name) -> Status {
    if (text.empty()) return Status::Ok();
    auto t = api::ParseTimeArg(text, now);
    if (!t.ok()) return t.status().WithContext(flag);
    p.emplace_back(name, api::FormatIso8601(*t, 6));
    return Status::Ok();
  };
  if (Status s = time_param(from, "--from", "StartTime"); !s.ok()) return Fail(s);
  if (Status s = time_param(to, "--to", "EndTime"); !s.ok()) return Fail(s);
  if (!step.empty()) {
    auto s = ParseStep(step);
    if (!s.ok()) return Fail(s.status());
    p.emplace_back("Step", std::to_string(*s));
  }
  auto a = FetchActivity(rds, p);
  if (!a.ok()) return Fail(a.status());
  if (format == "json") {
    std::fputs(ActivityJson(a->samples).c_str(), stdout);
    return 0;
  }
  std::printf("Activity of %s from %s to %s, step %s (bytes: file data written; records: "
              "change records)\n",
              id.c_str(), api::FormatIso8601(a->from_ns, 0).c_str(),
              api::FormatIso8601(a->to_ns, 0).c_str(), FormatStep(a->step_s).c_str());
  std::fputs(ActivityTable(a->samples).c_str(), stdout);
  return 0;
}

int History(RdsClient& rds, const std::string& id) {
  auto bt = rds.Call("DescribeDBClusterBacktracks", {{"DBClusterIdentifier", id}});
  if (!bt.ok()) return Fail(bt.status());
  auto ev = AllPages(rds, "DescribeEvents", {{"SourceIdentifier", id},
                                              {"SourceType", "db-cluster"},
                                              {"Duration", "20160"}});
  if (!ev.ok()) return Fail(ev.status());
  // The whole window at the default step (at most a few hundred points), one column each up to
  // a terminal line. Backtracks and events are listed even if the activity cannot be had.
  auto act = FetchActivity(rds, {{"DBClusterIdentifier", id}});
  std::vector<TimeMark> marks;
  for (pugi::xml_node e : Items(*ev, "Events", "Event")) {
    if (auto t = api::ParseIso8601(e.child("Date").text().as_string()); t.ok()) {
      marks.push_back(TimeMark{*t, '*'});
    }
  }
  pugi::xml_node backtracks = (*bt)->find_node([](const pugi::xml_node& n) {
    return std::string_view(n.name()) == "DBClusterBacktracks";
  });
  for (pugi::xml_node b : backtracks.children("DBClusterBacktrack")) {
    if (auto t = api::ParseIso8601(b.child("BacktrackedFrom").text().as_string()); t.ok()) {
      marks.push_back(TimeMark{*t, 'B'});
    }
  }
  if (act.ok()) {
    std::printf("Activity of %s (file data bytes written, log scale; B: backtrack, *: event):\n",
                id.c_str());
    const int width = static_cast<int>(std::clamp<size_t>(act->samples.size(), 1, 72));
    std::fputs(Sparkline(act->samples, act->from_ns, act->to_ns, width, marks).c_str(), stdout);
  } else {
    const Status& s = act.status();
    std::printf("Activity of %s: unavailable (%s%s%s)\n", id.c_str(), s.tag().c_str(),
                s.tag().empty() ? "" : ": ", s.message().c_str());
  }
  std::printf("Backtracks of %s:\n", id.c_str());
  std::printf("  %-36s %-10s %-27s %s\n", "ID", "STATUS", "BACKTRACK TO", "FROM");
  for (pugi::xml_node b : backtracks.children("DBClusterBacktrack")) {
    std::printf("  %-36s %-10s %-27s %s\n", b.child("BacktrackIdentifier").text().as_string(),
                b.child("Status").text().as_string(), b.child("BacktrackTo").text().as_string(),
                b.child("BacktrackedFrom").text().as_string());
  }
  std::printf("Events of %s:\n", id.c_str());
  for (pugi::xml_node e : Items(*ev, "Events", "Event")) {
    std::printf("  %-27s %s\n", e.child("Date").text().as_string(),
                e.child("Message").text().as_string());
  }
  return 0;
}


// A TIME argument as the API's ISO 8601 (microseconds).
Result<std::string> ApiTime(const std::string& text, const char* flag) {
  auto t = api::ParseTimeArg(text, api::NowNs());
  if (!t.ok()) return t.status().WithContext(flag);
  return api::FormatIso8601(*t, 6);
}

void PrintTimeTravel(const pugi::xml_node& t) {
  std::printf("%-16s %-27s %-21s %-5s %s\n", t.child("TimeTravelIdentifier").text().as_string(),
              t.child("Time").text().as_string(),
              (std::string(t.child("Endpoint").text().as_string()) + ":" +
               t.child("Port").text().as_string())
                  .c_str(),
              t.child("IdleMinutes").text().as_string(),
              t.child("LastActivityTime").text().as_string());
}

int TimeTravel(RdsClient& rds, const std::string& id, const std::string& at_text,
               const std::string& minutes, bool list, bool stop, const std::string& stop_id) {
  if (list || stop) {
    if (!at_text.empty() || !minutes.empty() || (list && stop)) return Usage();
    Params p = {{"DBClusterIdentifier", id}};
    if (stop && !stop_id.empty()) p.emplace_back("TimeTravelIdentifier", stop_id);
    auto r = rds.Call(stop ? "StopDBClusterTimeTravel" : "DescribeDBClusterTimeTravels", p);
    if (!r.ok()) return Fail(r.status());
    std::printf("%s\n", stop ? "Stopped:" : "Time-travel instances:");
    std::printf("%-16s %-27s %-21s %-5s %s\n", "ID", "TIME", "ENDPOINT", "IDLE", "LAST ACTIVE");
    for (pugi::xml_node t : Find(**r, "TimeTravels").children("TimeTravel")) PrintTimeTravel(t);
    return 0;
  }
  if (at_text.empty()) return Usage();
  auto at = ApiTime(at_text, "--at");
  if (!at.ok()) return Fail(at.status());
  Params p = {{"DBClusterIdentifier", id}, {"Time", *at}};
  if (!minutes.empty()) p.emplace_back("IdleMinutes", minutes);
  auto r = rds.Call("StartDBClusterTimeTravel", p);
  if (!r.ok()) return Fail(r.status());
  pugi::xml_node t = Find(**r, "TimeTravel");
  const std::string tid = t.child("TimeTravelIdentifier").text().as_string();
  std::printf("Time-travel instance %s of %s at %s, read-only, ready in %.2f s\n", tid.c_str(),
              id.c_str(), t.child("Time").text().as_string(),
              t.child("ReadySeconds").text().as_double());
  std::printf("Host: %s\nPort: %s\n", t.child("Endpoint").text().as_string(),
              t.child("Port").text().as_string());
  std::printf("  mysql -h %s -P %s -u %s -p   (the cluster's master password)\n",
              t.child("Endpoint").text().as_string(), t.child("Port").text().as_string(),
              t.child("MasterUsername").text().as_string());
  std::printf("Stops after %s idle minutes, or: rewind time-travel %s --stop %s\n",
              t.child("IdleMinutes").text().as_string(), id.c_str(), tid.c_str());
  return 0;
}

int Query(RdsClient& rds, const std::string& id, const std::string& at_text,
          const std::string& sql, const std::string& database) {
  if (sql.empty()) return Usage();
  Params p = {{"DBClusterIdentifier", id}, {"Sql", sql}};
  if (!at_text.empty()) {
    auto at = ApiTime(at_text, "--at");
    if (!at.ok()) return Fail(at.status());
    p.emplace_back("Time", *at);
  }
  if (!database.empty()) p.emplace_back("Database", database);
  auto r = rds.Call("QueryDBClusterAsOf", p);
  if (!r.ok()) return Fail(r.status());
  std::fputs(ChildText(**r, "Output").c_str(), stdout);
  return 0;
}

int RestoreTable(RdsClient& rds, const std::string& id, const std::string& table,
                 const std::string& to_text, bool with_related) {
  if (table.empty() || to_text.empty()) return Usage();
  auto to = ApiTime(to_text, "--to");
  if (!to.ok()) return Fail(to.status());
  const auto t0 = std::chrono::steady_clock::now();
  Params p = {{"DBClusterIdentifier", id}, {"TableName", table}, {"RestoreToTime", *to}};
  if (with_related) p.emplace_back("RestoreRelatedTables", "true");
  // First the plan (checks everything, changes nothing): the lock it needs, said up front.
  Params dry = p;
  dry.emplace_back("DryRun", "true");
  auto plan = rds.Call("RestoreDBClusterTable", dry);
  if (!plan.ok()) return Fail(plan.status());
  std::string tables;
  for (pugi::xml_node n : Find(**plan, "Tables").children("Table")) {
    tables += (tables.empty() ? "" : ", ") + std::string(n.text().as_string());
  }
  std::printf("Restoring %s of %s to %s\n  how: %s\n", tables.c_str(), id.c_str(), to->c_str(),
              ChildText(**plan, "Method").c_str());
  std::fflush(stdout);
  auto r = rds.Call("RestoreDBClusterTable", p);
  if (!r.ok()) return Fail(r.status());
  std::printf("Restored %s: %s rows, in %.2f s\n", tables.c_str(), ChildText(**r, "Rows").c_str(),
              Seconds(t0));
  return 0;
}

int Diff(RdsClient& rds, const std::string& id, const std::string& from, const std::string& to,
         const std::string& table, const std::string& format) {
  if (from.empty() || to.empty()) return Usage();
  auto t1 = ApiTime(from, "--from");
  if (!t1.ok()) return Fail(t1.status());
  auto t2 = ApiTime(to, "--to");
  if (!t2.ok()) return Fail(t2.status());
  Params p = {{"DBClusterIdentifier", id}, {"StartTime", *t1}, {"EndTime", *t2},
              {"Format", format}};
  if (!table.empty()) p.emplace_back("TableName", table);
  auto r = rds.Call("DiffDBCluster", p);
  if (!r.ok()) return Fail(r.status());
  std::fputs(ChildText(**r, "Output").c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace rwd::cli

int main(int argc, char** argv) {
  using namespace rwd::cli;
  std::string endpoint = std::getenv("REWIND_ENDPOINT") ? std::getenv("REWIND_ENDPOINT")
                                                        : "http://127.0.0.1:8686";
  std::string data_dir = std::getenv("REWIND_DATA_DIR") ? std::getenv("REWIND_DATA_DIR")
                                                        : "/var/lib/rewind";
  std::string creds = std::getenv("AWS_SHARED_CREDENTIALS_FILE")
                          ? std::getenv("AWS_SHARED_CREDENTIALS_FILE")
                          : data_dir + "/credentials";
  // As the aws CLI: --ca-bundle, else AWS_CA_BUNDLE (https endpoints only).
  const char* env_ca = std::getenv("AWS_CA_BUNDLE");
  std::string ca_bundle;
  bool ca_flag = false;
  std::vector<std::string> args;
  std::string to, at, port, from, step, format = "table", target, param_group, peer;
  bool use_earliest = false;
  std::string minutes, sql, database, table, stop_id;
  bool list = false, stop = false, with_related = false;
  ParamGroupFlags pg_flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (a == "--endpoint" || a == "--endpoint-url") {
      if (!value(&endpoint)) return Usage();
    } else if (a == "--credentials") {
      if (!value(&creds)) return Usage();
    } else if (a == "--ca-bundle") {
      if (!value(&ca_bundle) || ca_bundle.empty()) return Usage();
      ca_flag = true;
    } else if (a == "--to") {
      if (!value(&to)) return Usage();
    } else if (a == "--from") {
      if (!value(&from)) return Usage();
    } else if (a == "--step") {
      if (!value(&step)) return Usage();
    } else if (a == "--format") {
      if (!value(&format)) return Usage();
    } else if (a == "--at") {
      if (!value(&at)) return Usage();
    } else if (a == "--port") {
      if (!value(&port)) return Usage();
    } else if (a == "--param-group") {
      if (!value(&param_group) || param_group.empty()) return Usage();
    } else if (a == "--peer") {
      if (!value(&peer) || peer.empty()) return Usage();
    } else if (a == "--minutes") {
      if (!value(&minutes)) return Usage();
    } else if (a == "-e" || a == "--execute") {
      if (!value(&sql)) return Usage();
    } else if (a == "--database") {
      if (!value(&database)) return Usage();
    } else if (a == "--table") {
      if (!value(&table)) return Usage();
    } else if (a == "--target") {
      if (!value(&target) || target.empty()) return Usage();
    } else if (a == "--list") {
      list = true;
    } else if (a == "--stop") {
      stop = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') stop_id = argv[++i];
    } else if (a == "--with-related") {
      with_related = true;
    } else if (a == "--description") {
      if (!value(&pg_flags.description)) return Usage();
    } else if (a == "--source") {
      if (!value(&pg_flags.source)) return Usage();
    } else if (a == "--pending-reboot") {
      pg_flags.pending_reboot = true;
    } else if (a == "--instance") {
      pg_flags.instance = true;
    } else if (a == "--use-earliest") {
      use_earliest = true;
    } else if (a == "-h" || a == "--help") {
      return Usage();
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) args.push_back("status");
  auto config = LoadClientConfig(creds, endpoint);
  if (!config.ok()) return Fail(config.status());
  if (!ca_flag && env_ca != nullptr && *env_ca != '\0') ca_bundle = env_ca;
  if (endpoint.rfind("https://", 0) == 0) {
    if (!ca_bundle.empty()) {
      rwd::Status ok = rwd::tls::CheckCaBundle(ca_bundle);
      if (!ok.ok()) return Fail(ok.WithContext(ca_flag ? "--ca-bundle" : "AWS_CA_BUNDLE"));
    }
    config->ca_bundle = ca_bundle;
  } else if (ca_flag) {
    return Fail(rwd::Status::InvalidArgument("--ca-bundle is for an https:// endpoint; " +
                                             endpoint + " is not one"));
  }
  RdsClient rds(*config);
  const std::string& cmd = args[0];
  if (cmd == "status" && args.size() == 1) return Status_(rds);
  if (cmd == "backtrack" && args.size() == 2 && !to.empty()) {
    return Backtrack(rds, args[1], to, use_earliest);
  }
  if (!peer.empty() && cmd != "clone") return Usage();  // --peer names a clone's source only
  if (cmd == "clone" && args.size() == 3) {
    return Clone(rds, args[1], args[2], at, port, param_group, peer, config->region);
  }
  if (cmd == "history" && args.size() == 2) return History(rds, args[1]);
  if (cmd == "activity" && args.size() == 2) return Activity(rds, args[1], from, to, step, format);
  if (cmd == "show" && args.size() == 2) return Show(rds, args[1]);
  if (cmd == "protect" && args.size() == 3) return Protect(rds, args[1], args[2]);
  if ((cmd == "stop" || cmd == "start") && args.size() == 2) {
    return StopStart(rds, args[1], cmd == "stop");
  }
  if (cmd == "failover" && args.size() == 2) return Failover(rds, args[1], target);
  if ((cmd == "tag" || cmd == "untag") && args.size() >= 3) {
    return Tag(rds, args[1], std::vector<std::string>(args.begin() + 2, args.end()),
               cmd == "tag");
  }
  if (cmd == "time-travel" && args.size() == 2) {
    return TimeTravel(rds, args[1], at, minutes, list, stop, stop_id);
  }
  if (cmd == "snapshot" && args.size() >= 2) {
    return Snapshot(rds, std::vector<std::string>(args.begin() + 1, args.end()), port,
                    param_group);
  }
  if (cmd == "param-group" && args.size() >= 2) {
    return ParamGroup(rds, std::vector<std::string>(args.begin() + 1, args.end()), pg_flags);
  }
  if (cmd == "reader" && args.size() >= 2) {
    return Reader(rds, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (cmd == "diff" && args.size() == 2) return Diff(rds, args[1], from, to, table, format);
  if (cmd == "query" && args.size() == 2) return Query(rds, args[1], at, sql, database);
  if (cmd == "restore-table" && args.size() == 2) {
    return RestoreTable(rds, args[1], table, to, with_related);
  }
  return Usage();
}
