// Parameter groups: the checks of values against the engine's catalog, the apply plan, and the
// service's calls with the stand-in engine (immediate values reach the running engine, static
// ones wait for the reboot, refusals change nothing, values survive a reopen). The service
// tests need root and /dev/fuse (they fail loudly otherwise).
#include "cluster/parameter_groups.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "cluster/cluster_service.h"
#include "cluster/cluster_test_util.h"
#include "cluster/stand_in_engine.h"
#include "common/failpoint.h"
#include "common/test_util.h"

namespace rwd::cluster {
namespace {

// What MariaDB 10.11 says about a few tunables (information_schema.SYSTEM_VARIABLES).
std::vector<engine::SystemVariable> Variables() {
  std::vector<engine::SystemVariable> v = {
      {"binlog_format", "ENUM", {}, {}, {"MIXED", "STATEMENT", "ROW"}, false, "MIXED"},
      {"character_set_server", "ENUM", {}, {}, {"latin1", "utf8mb4"}, false, "latin1"},
      {"innodb_buffer_pool_size", "BIGINT UNSIGNED", "2097152", "18446744073701163008", {}, false,
       "134217728"},
      {"innodb_log_buffer_size", "INT UNSIGNED", "2097152", "2147479552", {}, true, "16777216"},
      {"long_query_time", "DOUBLE", "0", "31536000", {}, false, "10.000000"},
      {"max_connections", "BIGINT UNSIGNED", "10", "100000", {}, false, "151"},
      {"slow_query_log", "BOOLEAN", {}, {}, {"OFF", "ON"}, false, "OFF"},
      {"sql_mode", "SET", {}, {}, {"ANSI_QUOTES", "STRICT_TRANS_TABLES", "NO_ZERO_DATE"}, false,
       "STRICT_TRANS_TABLES"},
      {"time_zone", "VARCHAR", {}, {}, {}, false, "SYSTEM"},
  };
  return v;
}

ParameterChange Set(const std::string& name, const std::string& value,
                    std::optional<ApplyMethod> m = ApplyMethod::kImmediate) {
  return ParameterChange{name, value, m};
}

TEST(ParamCatalog, TypesRangesAndTheMemoryCapComeFromTheEngine) {
  ParameterCatalog c = BuildCatalog(Variables(), 1ull << 30);
  const ParameterSpec* mc = FindSpec(c, "max_connections");
  ASSERT_NE(nullptr, mc);
  EXPECT_EQ(ParamDataType::kInteger, mc->data_type);
  EXPECT_EQ("10-100000", mc->allowed_text);
  EXPECT_FALSE(mc->is_static);
  EXPECT_TRUE(FindSpec(c, "innodb_log_buffer_size")->is_static);
  EXPECT_EQ("2097152-1073741824", FindSpec(c, "innodb_buffer_pool_size")->allowed_text);
  EXPECT_EQ("0,1", FindSpec(c, "slow_query_log")->allowed_text);
  EXPECT_EQ("0", FindSpec(c, "slow_query_log")->default_value);
  EXPECT_EQ(ParamDataType::kList, FindSpec(c, "sql_mode")->data_type);
  // The meta.db cache gives the same catalog back.
  EXPECT_EQ(Variables(), VariablesFromRows(CatalogRows(Variables())));
}

TEST(ParamCatalog, ValuesAreCheckedAndCanonical) {
  ParameterCatalog c = BuildCatalog(Variables(), 0);
  auto ok = CheckParameterChanges(
      c,
      {Set("max_connections", "500"), Set("slow_query_log", "on"), Set("binlog_format", "row"),
       Set("sql_mode", "strict_trans_tables,NO_ZERO_DATE"), Set("time_zone", "+05:30"),
       Set("long_query_time", "0.25"), Set("character_set_server", "UTF8MB4"),
       Set("innodb_log_buffer_size", "4194304", ApplyMethod::kPendingReboot)},
      false);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  std::map<std::string, std::string> got;
  for (const ParamValueRow& r : *ok) got[r.name] = r.value;
  EXPECT_EQ("1", got["slow_query_log"]);
  EXPECT_EQ("ROW", got["binlog_format"]);
  EXPECT_EQ("STRICT_TRANS_TABLES,NO_ZERO_DATE", got["sql_mode"]);
  EXPECT_EQ("utf8mb4", got["character_set_server"]);
}

TEST(ParamCatalog, EveryBadParameterIsNamedInOneRefusal) {
  ParameterCatalog c = BuildCatalog(Variables(), 0);
  auto bad = CheckParameterChanges(
      c,
      {Set("max_connections", "5"), Set("plugin_dir", "/tmp"), Set("general_log_file", "x"),
       Set("slow_query_log", "maybe"), Set("innodb_log_buffer_size", "4194304"),
       Set("time_zone", "+14:00"), Set("binlog_format", "ROW", std::nullopt),
       Set("sql_mode", "ANSI_QUOTES;DROP"), Set("long_query_time", "abc"),
       ParameterChange{"wait_timeout", std::nullopt, ApplyMethod::kImmediate}},
      false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ClusterError::kInvalidParameter, ErrorKindOf(bad.status()));
  std::optional<RefusalDetail> d = RefusalOf(bad.status());
  ASSERT_TRUE(d);
  EXPECT_EQ(Reason::kParametersInvalid, d->reason);
  auto item = [&](const std::string& name) -> const RefusalItem* {
    for (const RefusalItem& it : d->items) {
      if (it.name == name) return &it;
    }
    return nullptr;
  };
  for (const char* name : {"max_connections", "plugin_dir", "general_log_file", "slow_query_log",
                           "innodb_log_buffer_size", "time_zone", "binlog_format", "sql_mode",
                           "long_query_time", "wait_timeout"}) {
    EXPECT_NE(nullptr, item(name)) << name << ": " << bad.status().message();
  }
  ASSERT_NE(nullptr, item("max_connections"));
  EXPECT_EQ(Reason::kParamValueRange, item("max_connections")->reason);
  EXPECT_EQ("10-100000", item("max_connections")->other);
  ASSERT_NE(nullptr, item("plugin_dir"));
  EXPECT_EQ(Reason::kParamNotModifiable, item("plugin_dir")->reason);
  ASSERT_NE(nullptr, item("time_zone"));
  EXPECT_EQ(Reason::kParamValueTimeZone, item("time_zone")->reason);
  ASSERT_NE(nullptr, item("binlog_format"));
  EXPECT_EQ(Reason::kParamNoApplyMethod, item("binlog_format")->reason);

  EXPECT_FALSE(CheckParameterChanges(c, {Set("max_connections", "20"), Set("max_connections", "30")},
                                     false)
                   .ok());
  EXPECT_FALSE(CheckParameterChanges(c, {}, false).ok());
  // A reset of a static parameter cannot be immediate; by default it waits for the reboot.
  EXPECT_FALSE(CheckParameterChanges(
                   c, {ParameterChange{"innodb_log_buffer_size", {}, ApplyMethod::kImmediate}}, true)
                   .ok());
  auto reset = CheckParameterChanges(c, {ParameterChange{"innodb_log_buffer_size", {}, {}}}, true);
  ASSERT_TRUE(reset.ok());
  EXPECT_EQ("pending-reboot", reset->front().apply_method);
}

TEST(ParamPlan, ImmediateDynamicOnlyAndResetAllTakesDynamicOnes) {
  ParameterCatalog c = BuildCatalog(Variables(), 0);
  std::vector<ParamValueRow> before = {{"innodb_log_buffer_size", "4194304", "pending-reboot"},
                                       {"max_connections", "200", "immediate"}};
  std::vector<ParamValueRow> after = {{"innodb_log_buffer_size", "4194304", "pending-reboot"},
                                      {"max_connections", "300", "immediate"},
                                      {"wait_timeout", "60", "pending-reboot"}};
  auto plan = ImmediatePlan(before, after,
                            {Set("max_connections", "300"),
                             Set("long_query_time", "1", ApplyMethod::kPendingReboot)},
                            c, false);
  ASSERT_EQ(1u, plan.size());
  EXPECT_EQ("max_connections", plan[0].name);
  EXPECT_EQ("300", plan[0].value.value_or(""));
  auto all = ImmediatePlan(before, {}, {}, c, true);
  ASSERT_EQ(1u, all.size());
  EXPECT_EQ("max_connections", all[0].name);
  EXPECT_FALSE(all[0].value.has_value());
  EXPECT_EQ((engine::TunedSettings{{"a", "2"}, {"b", "1"}}),
            MergeSettings({{"a", "1", ""}, {"b", "1", ""}}, {{"a", "2", ""}}));
  EXPECT_EQ(ParamApplyStatus::kInSync, ApplyStatusOf({{"a", "1"}}, std::nullopt));
  EXPECT_EQ(ParamApplyStatus::kPendingReboot, ApplyStatusOf({{"a", "1"}}, engine::TunedSettings{}));
  EXPECT_EQ(ParamApplyStatus::kInSync, ApplyStatusOf({{"a", "1"}}, engine::TunedSettings{{"a", "1"}}));
  EXPECT_FALSE(ValidateParamGroupName("1abc", Field::kClusterParamGroup).ok());
  EXPECT_FALSE(ValidateParamGroupName("a--b", Field::kClusterParamGroup).ok());
  EXPECT_TRUE(ValidateParamGroupName("my-group-1", Field::kClusterParamGroup).ok());
}

// ---- The service, with the stand-in engine ----

Result<std::unique_ptr<ClusterService>> Open(const std::string& dir, StandInKnobs* knobs,
                                             int* probes) {
  ServiceOptions o = StandInServiceOptions(dir, knobs, 41500);
  o.variable_probe = [probes]() -> Result<std::vector<engine::SystemVariable>> {
    // A catalog as complete as the engine's (every tunable), typed like the real one.
    std::vector<engine::SystemVariable> vars = Variables();
    for (const std::string& n : engine::TunableVariables()) {
      if (std::none_of(vars.begin(), vars.end(), [&](const auto& v) { return v.name == n; })) {
        vars.push_back({n, "BIGINT UNSIGNED", "0", "100000", {}, false, "1"});
      }
    }
    ++*probes;
    return vars;
  };
  return ClusterService::Open(o);
}

// Cluster c1 (master admin) in cluster parameter group `group`; instance `id` of c1 in DB
// parameter group `group` ("": the default).
CreateClusterRequest C1In(const std::string& group) {
  CreateClusterRequest cr;
  cr.id = "c1";
  cr.engine = "aurora-mysql";
  cr.master_username = "admin";
  cr.master_password = "secret-pw-1";
  cr.param_group = group;
  return cr;
}
CreateInstanceRequest InstanceIn(const std::string& id, const std::string& group) {
  CreateInstanceRequest ir;
  ir.id = id;
  ir.cluster_id = "c1";
  ir.instance_class = "db.r5.large";
  if (!group.empty()) ir.param_group = group;
  return ir;
}

ParamApplyStatus InstanceParamStatus(ClusterService& svc, const std::string& id = "c1-1") {
  auto i = svc.DescribeInstances(id, std::nullopt);
  EXPECT_TRUE(i.ok());
  return i.ok() ? i->front().param_status : ParamApplyStatus::kApplying;
}

TEST(ParamService, ImmediatePendingRebootRefusalsInUseAndReopen) {
  rwd::testing::TempDir dir;
  StandInKnobs knobs;
  int probes = 0;
  {
    auto opened = Open(dir.path(), &knobs, &probes);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ClusterService& svc = **opened;
    EXPECT_EQ(1, probes);
    const auto kC = ParamGroupKind::kCluster;
    EXPECT_EQ(ClusterError::kInvalidParameter,
              ErrorKindOf(svc.CreateParamGroup(kC, "pg", "mysql8.0", "d").status()));
    ASSERT_TRUE(svc.CreateParamGroup(kC, "PG", kParamGroupFamily, "mine").ok());
    EXPECT_EQ(ClusterError::kParamGroupExists,
              ErrorKindOf(svc.CreateParamGroup(kC, "pg", kParamGroupFamily, "d").status()));
    EXPECT_EQ(2u, svc.DescribeParamGroups(kC, std::nullopt)->size());  // default + pg
    EXPECT_EQ(ClusterError::kInvalidParamGroupState,
              ErrorKindOf(svc.ModifyParamGroup(kC, DefaultParamGroupName(),
                                               {Set("max_connections", "20")})
                              .status()));
    EXPECT_EQ(ClusterError::kInvalidParamGroupState,
              ErrorKindOf(svc.DeleteParamGroup(kC, DefaultParamGroupName())));
    EXPECT_EQ(ClusterError::kParamGroupNotFound,
              ErrorKindOf(svc.DescribeParameters(kC, "nope", std::nullopt).status()));

    CreateClusterRequest cr = C1In("nope");
    EXPECT_EQ(ClusterError::kParamGroupNotFound, ErrorKindOf(svc.CreateCluster(cr).status()));
    cr.param_group = "pg";
    ASSERT_TRUE(svc.CreateCluster(cr).ok());
    svc.WaitIdle();
    // The writer's instance group: its values are the engine's from its first start.
    ASSERT_TRUE(svc.CreateParamGroup(ParamGroupKind::kInstance, "ipg", kParamGroupFamily, "i").ok());
    ASSERT_TRUE(svc.ModifyParamGroup(ParamGroupKind::kInstance, "ipg",
                                     {Set("max_connections", "42")})
                    .ok());
    CreateInstanceRequest ir;
    ir.param_group = "ipg";
    ir.id = "c1-1";
    ir.cluster_id = "c1";
    ir.instance_class = "db.r5.large";
    ASSERT_TRUE(svc.CreateInstance(ir).ok());
    svc.WaitIdle();
    EXPECT_EQ("pg", svc.DescribeClusters("c1")->front().param_group);
    EXPECT_EQ("ipg", svc.DescribeInstances("c1-1", std::nullopt)->front().param_group);
    EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc));
    // The instance group's value wins over the cluster group's; drop it for what follows.
    ASSERT_TRUE(svc.ResetParamGroup(ParamGroupKind::kInstance, "ipg", true, {}).ok());
    knobs.applied = 0;

    // Immediate: set on the running engine at once.
    ASSERT_TRUE(svc.ModifyParamGroup(kC, "pg", {Set("max_connections", "500")}).ok());
    EXPECT_EQ(1, knobs.applied.load());
    EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc));
    // Static, pending-reboot: the instance waits for its reboot.
    ASSERT_TRUE(svc.ModifyParamGroup(kC, "pg", {Set("innodb_log_buffer_size", "4194304",
                                                    ApplyMethod::kPendingReboot)})
                    .ok());
    EXPECT_EQ(1, knobs.applied.load());
    EXPECT_EQ(ParamApplyStatus::kPendingReboot, InstanceParamStatus(svc));
    EXPECT_EQ(ParamApplyStatus::kPendingReboot,
              svc.DescribeClusters("c1")->front().members.front().param_status);
    ASSERT_TRUE(svc.RebootInstance("c1-1").ok());
    svc.WaitIdle();
    EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc));

    // A refused change names every bad parameter and stores nothing.
    auto before = svc.DescribeParameters(kC, "pg", ParamSource::kUser);
    ASSERT_TRUE(before.ok());
    ASSERT_EQ(2u, before->size());
    auto bad = svc.ModifyParamGroup(kC, "pg", {Set("max_connections", "9"), Set("datadir", "/")});
    ASSERT_FALSE(bad.ok());
    std::optional<RefusalDetail> d = RefusalOf(bad.status());
    ASSERT_TRUE(d);
    ASSERT_EQ(2u, d->items.size());
    EXPECT_EQ("max_connections", d->items[0].name);
    EXPECT_EQ("datadir", d->items[1].name);
    EXPECT_EQ(Reason::kParamNotModifiable, d->items[1].reason);
    auto after = svc.DescribeParameters(kC, "pg", ParamSource::kUser);
    ASSERT_EQ(2u, after->size());
    EXPECT_EQ("500", *(*after)[1].value);

    EXPECT_EQ(ClusterError::kInvalidParamGroupState, ErrorKindOf(svc.DeleteParamGroup(kC, "pg")));
    // Reset of a dynamic one goes back now.
    ASSERT_TRUE(svc.ResetParamGroup(kC, "pg", false, {ParameterChange{"max_connections", {}, {}}}).ok());
    EXPECT_EQ(2, knobs.applied.load());
    EXPECT_EQ(1u, svc.DescribeParameters(kC, "pg", ParamSource::kUser)->size());
    EXPECT_EQ(ClusterError::kInvalidCombination,
              ErrorKindOf(svc.ResetParamGroup(kC, "pg", true, {Set("max_connections", "1")}).status()));
  }
  // Reopened: the group, its value and the cluster's use of it are kept; the catalog is cached.
  auto reopened = Open(dir.path(), &knobs, &probes);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(1, probes);
  auto kept = (*reopened)->DescribeParameters(ParamGroupKind::kCluster, "pg", ParamSource::kUser);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(1u, kept->size());
  EXPECT_EQ("innodb_log_buffer_size", kept->front().name);
  EXPECT_EQ("pg", (*reopened)->DescribeClusters("c1")->front().param_group);
  EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(**reopened));
}

TEST(ParamService, AReaderRunsItsClusterGroupAndItsOwnGroupButKeepsItsReplication) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  rwd::testing::TempDir dir;
  StandInKnobs knobs;
  int probes = 0;
  auto opened = Open(dir.path(), &knobs, &probes);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ClusterService& svc = **opened;
  {
    const auto kC = ParamGroupKind::kCluster;
    const auto kI = ParamGroupKind::kInstance;
    ASSERT_TRUE(svc.CreateParamGroup(kC, "pg", kParamGroupFamily, "cluster").ok());
    ASSERT_TRUE(svc.CreateParamGroup(kI, "rpg", kParamGroupFamily, "the reader's").ok());
    ASSERT_TRUE(svc.ModifyParamGroup(kI, "rpg", {Set("max_connections", "77")}).ok());
    ASSERT_TRUE(svc.CreateCluster(C1In("pg")).ok());
    svc.WaitIdle();
    ASSERT_TRUE(svc.CreateInstance(InstanceIn("c1-1", "")).ok());
    svc.WaitIdle();
    ASSERT_TRUE(svc.CreateInstance(InstanceIn("c1-2", "rpg")).ok());
    svc.WaitIdle();
    ASSERT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc, "c1-2"));
    knobs.applied = 0;
    // An immediate value of the cluster group reaches the writer and the reader at once (the
    // reader with its own group's max_connections, which wins).
    ASSERT_TRUE(svc.ModifyParamGroup(kC, "pg", {Set("max_connections", "500")}).ok());
    EXPECT_EQ(2, knobs.applied.load());
    EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc, "c1-2"));
    // binlog_format is a replication setting: the writer's only, never a reader's.
    ASSERT_TRUE(svc.ModifyParamGroup(kC, "pg", {Set("binlog_format", "MIXED")}).ok());
    EXPECT_EQ(3, knobs.applied.load());
    EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc, "c1-2"));
    // A static value: the reader is pending-reboot (DescribeDBClusters' members say so too)
    // until its own reboot.
    ASSERT_TRUE(svc.ModifyParamGroup(kC, "pg", {Set("innodb_log_buffer_size", "4194304",
                                                    ApplyMethod::kPendingReboot)})
                    .ok());
    EXPECT_EQ(ParamApplyStatus::kPendingReboot, InstanceParamStatus(svc, "c1-2"));
    EXPECT_EQ(ParamApplyStatus::kPendingReboot,
              svc.DescribeClusters("c1")->front().members.back().param_status);
    ASSERT_TRUE(svc.RebootInstance("c1-2").ok());
    svc.WaitIdle();
    EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc, "c1-2"));
    EXPECT_EQ(ParamApplyStatus::kPendingReboot, InstanceParamStatus(svc, "c1-1"));
  }
}

TEST(ParamService, ARestoredOrClonedClusterRunsTheGroupItIsRestoredWith) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  rwd::testing::TempDir dir;
  StandInKnobs knobs;
  int probes = 0;
  auto opened = Open(dir.path(), &knobs, &probes);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ClusterService& svc = **opened;
  const auto kC = ParamGroupKind::kCluster;
  ASSERT_TRUE(svc.CreateParamGroup(kC, "pg", kParamGroupFamily, "restored").ok());
  ASSERT_TRUE(svc.ModifyParamGroup(kC, "pg", {Set("max_connections", "500")}).ok());
  CreateClusterRequest cr = C1In("");
  cr.param_group.reset();  // the default group: the restores below name theirs
  ASSERT_TRUE(svc.CreateCluster(cr).ok());
  svc.WaitIdle();
  CreateSnapshotRequest snap;
  snap.id = "s1";
  snap.cluster_id = "c1";
  ASSERT_TRUE(svc.CreateSnapshot(snap).ok());

  RestoreSnapshotRequest rs;
  rs.id = "r1";
  rs.snapshot_id = "s1";
  rs.engine = "aurora-mysql";
  rs.param_group = "nope";
  EXPECT_EQ(ClusterError::kParamGroupNotFound, ErrorKindOf(svc.RestoreFromSnapshot(rs).status()));
  CloneRequest cl;
  cl.id = "k1";
  cl.source_id = "c1";
  cl.restore_type = "copy-on-write";
  cl.use_latest_restorable_time = true;
  cl.param_group = "nope";
  EXPECT_EQ(ClusterError::kParamGroupNotFound, ErrorKindOf(svc.Clone(cl).status()));
  EXPECT_FALSE(svc.DescribeClusters("r1").ok());  // refused: nothing made
  EXPECT_FALSE(svc.DescribeClusters("k1").ok());

  rs.param_group = "PG";
  ASSERT_TRUE(svc.RestoreFromSnapshot(rs).ok());
  cl.param_group = "pg";
  ASSERT_TRUE(svc.Clone(cl).ok());
  svc.WaitIdle();
  int instances = 0;
  for (const std::string cluster : {"r1", "k1"}) {
    EXPECT_EQ("pg", svc.DescribeClusters(cluster)->front().param_group) << cluster;
    CreateInstanceRequest ir = InstanceIn(cluster + "-1", "");
    ir.cluster_id = cluster;
    knobs.applied = 0;
    ASSERT_TRUE(svc.CreateInstance(ir).ok()) << cluster;
    svc.WaitIdle();
    // Its engine started with the group's values (in sync with max_connections=500).
    EXPECT_EQ(ParamApplyStatus::kInSync, InstanceParamStatus(svc, cluster + "-1")) << cluster;
    // The group is in use: it cannot be deleted, and an immediate change reaches the engine.
    ++instances;
    ASSERT_TRUE(
        svc.ModifyParamGroup(kC, "pg", {Set("max_connections", std::to_string(500 + instances))})
            .ok());
    EXPECT_EQ(instances, knobs.applied.load()) << cluster;
  }
  EXPECT_EQ(ClusterError::kInvalidParamGroupState, ErrorKindOf(svc.DeleteParamGroup(kC, "pg")));
}

// A cluster, a group, and a modify giving it the group with a new master password; the
// failpoint after the password is set kills the process (the child of the death test).
void ModifyUntilTheFailpoint(const std::string& dir) {
  StandInKnobs knobs;
  int probes = 0;
  auto opened = Open(dir, &knobs, &probes);
  if (!opened.ok()) std::abort();
  ClusterService& svc = **opened;
  CreateClusterRequest cr;
  cr.id = "c1";
  cr.engine = "aurora-mysql";
  cr.master_username = "admin";
  cr.master_password = "secret-pw-1";
  if (!svc.CreateParamGroup(ParamGroupKind::kCluster, "pg", kParamGroupFamily, "d").ok() ||
      !svc.CreateCluster(cr).ok()) {
    std::abort();
  }
  svc.WaitIdle();
  CreateInstanceRequest ir;
  ir.id = "c1-1";
  ir.cluster_id = "c1";
  ir.instance_class = "db.r5.large";
  if (!svc.CreateInstance(ir).ok()) std::abort();
  svc.WaitIdle();
  ModifyClusterRequest m;
  m.id = "c1";
  m.master_password = "secret-pw-2";
  m.param_group = "pg";
  (void)svc.ModifyCluster(m);  // dies at the failpoint; returning is the test's failure
}

TEST(ParamService, ModifyWithPasswordAndGroupCutShortIsFinishedWhole) {
  ASSERT_EQ(0u, ::geteuid()) << "these tests mount FUSE: run them as root";
  const char* given = std::getenv("RWD_PARAM_CRASH_DIR");
  std::optional<rwd::testing::TempDir> own;
  if (given == nullptr) {
    ASSERT_FALSE(FailpointArmed("cluster.modify.password_set"));
    own.emplace("rewind-param-crash");
  }
  const std::string dir = given != nullptr ? given : own->path();
  ::setenv("RWD_PARAM_CRASH_DIR", dir.c_str(), 1);
  ::setenv("REWIND_FAILPOINTS", "cluster.modify.password_set", 1);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ModifyUntilTheFailpoint(dir), ::testing::KilledBySignal(SIGKILL),
              "failpoint cluster.modify.password_set");
  ::unsetenv("REWIND_FAILPOINTS");
  ::unsetenv("RWD_PARAM_CRASH_DIR");
  StandInKnobs knobs;
  int probes = 0;
  auto reopened = Open(dir, &knobs, &probes);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  (*reopened)->WaitIdle();
  EXPECT_EQ("pg", (*reopened)->DescribeClusters("c1")->front().param_group);
}

}  // namespace
}  // namespace rwd::cluster
