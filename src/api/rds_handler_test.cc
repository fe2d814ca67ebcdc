// RdsHandler without an HTTP server: error mapping and XML rendering, and the cluster rules the
// API relies on. Parameter parsing is in rds_handler_parse_test.cc, the refusals of a
// ClusterService with no running cluster in rds_handler_service_test.cc. The end-to-end path
// through the real CLI is tests/e2e/api_smoke_test.sh.
#include "api/rds_handler.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "api/handler_test_util.h"
#include "api/timeparse.h"

namespace rwd::api {
namespace {

TEST(RdsHandlerErrors, HttpStatusOfCodes) {
  EXPECT_EQ(404, HttpStatusForRdsErrorCode("DBClusterNotFoundFault"));
  EXPECT_EQ(404, HttpStatusForRdsErrorCode("DBInstanceNotFound"));
  EXPECT_EQ(404, HttpStatusForRdsErrorCode("DBClusterBacktrackNotFoundFault"));
  EXPECT_EQ(404, HttpStatusForRdsErrorCode("DBClusterParameterGroupNotFound"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("InvalidDBClusterStateFault"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("DBClusterAlreadyExistsFault"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("DBInstanceAlreadyExists"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("InvalidDBInstanceState"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("InvalidParameterValue"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("InvalidParameterCombination"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("MissingParameter"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("InvalidRestoreFault"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("StorageQuotaExceeded"));
  EXPECT_EQ(400, HttpStatusForRdsErrorCode("InstanceQuotaExceeded"));
  EXPECT_EQ(403, HttpStatusForRdsErrorCode("DBClusterQuotaExceededFault"));
  EXPECT_EQ(403, HttpStatusForRdsErrorCode("InsufficientDBClusterCapacityFault"));
}

TEST(RdsHandlerErrors, TaggedStatusKeepsCodeAndMessage) {
  ApiError e = ApiErrorFromClusterStatus(
      cluster::Refuse(cluster::ClusterError::kInvalidClusterState,
                      cluster::Reason::kClusterNotAvailable,
                      {.id = "x", .cluster_status = cluster::ClusterStatus::kCreating}));
  EXPECT_EQ(400, e.http_status);
  EXPECT_EQ("InvalidDBClusterStateFault", e.code);
  EXPECT_EQ("DB cluster x is creating.", e.message);
  EXPECT_TRUE(e.sender_fault);

  e = ApiErrorFromClusterStatus(
      cluster::Refuse(cluster::ClusterError::kClusterNotFound, cluster::Reason::kClusterNotFound,
                      {.field = cluster::Field::kClusterId, .input = "y"}));
  EXPECT_EQ(404, e.http_status);
  EXPECT_EQ("DBClusterNotFoundFault", e.code);
}

TEST(RdsHandlerErrors, EveryRefusalKindHasAurorasCode) {
  using cluster::ClusterError;
  const std::vector<std::tuple<ClusterError, const char*, int>> cases = {
      {ClusterError::kClusterNotFound, "DBClusterNotFoundFault", 404},
      {ClusterError::kInstanceNotFound, "DBInstanceNotFound", 404},
      {ClusterError::kBacktrackNotFound, "DBClusterBacktrackNotFoundFault", 404},
      {ClusterError::kClusterExists, "DBClusterAlreadyExistsFault", 400},
      {ClusterError::kInstanceExists, "DBInstanceAlreadyExists", 400},
      {ClusterError::kInvalidClusterState, "InvalidDBClusterStateFault", 400},
      {ClusterError::kInvalidInstanceState, "InvalidDBInstanceState", 400},
      {ClusterError::kInvalidParameter, "InvalidParameterValue", 400},
      {ClusterError::kInvalidCombination, "InvalidParameterCombination", 400},
      {ClusterError::kMissingParameter, "MissingParameter", 400},
      {ClusterError::kInvalidRestore, "InvalidRestoreFault", 400},
      {ClusterError::kTimeTravelNotFound, "DBClusterTimeTravelNotFoundFault", 404},
      {ClusterError::kSnapshotNotFound, "DBClusterSnapshotNotFoundFault", 404},
      {ClusterError::kSnapshotExists, "DBClusterSnapshotAlreadyExistsFault", 400},
      {ClusterError::kInvalidSnapshotState, "InvalidDBClusterSnapshotStateFault", 400},
      {ClusterError::kSnapshotQuota, "SnapshotQuotaExceeded", 400},
      {ClusterError::kParamGroupNotFound, "DBParameterGroupNotFound", 404},
      {ClusterError::kParamGroupExists, "DBParameterGroupAlreadyExists", 400},
      {ClusterError::kInvalidParamGroupState, "InvalidDBParameterGroupState", 400}};
  for (const auto& [kind, code, http] : cases) {
    Status s = cluster::Refuse(kind, cluster::Reason::kSqlEmpty);
    EXPECT_EQ(kind, cluster::ErrorKindOf(s));
    ApiError e = ApiErrorFromClusterStatus(s);
    EXPECT_EQ(code, e.code);
    EXPECT_EQ(http, e.http_status) << code;
    EXPECT_EQ("The SQL to run is empty.", e.message);
  }
  EXPECT_FALSE(cluster::ErrorKindOf(Status::IOError("disk")).has_value());
}

TEST(RdsHandlerEvents, KindsAreRenderedInAurorasWords) {
  using cluster::EventKind;
  EXPECT_EQ("DB cluster created", RenderEventMessage(EventKind::kClusterCreated, "c", ""));
  EXPECT_EQ("Backtrack failed: interrupted",
            RenderEventMessage(EventKind::kBacktrackFailed, "c", "interrupted"));
  EXPECT_EQ("Cloned DB cluster c2 from c1",
            RenderEventMessage(EventKind::kClusterCloned, "c2", "c1"));
  EXPECT_EQ("The actual Backtrack window is the same as the target Backtrack window.",
            RenderEventMessage(EventKind::kWindowBack, "c", ""));
  EXPECT_NE(std::string::npos, RenderEventMessage(EventKind::kWindowCut, "c", "")
                                   .find("smaller than the target Backtrack window"));
  // Older rows (kind 0) keep their stored text.
  EXPECT_EQ("uploads failing", RenderEventMessage(EventKind::kMessage, "c", "uploads failing"));
  // Stop and start: RDS-EVENT-0150, 0151, 0152, 0087, 0088.
  EXPECT_EQ("DB cluster stopped", RenderEventMessage(EventKind::kClusterStopped, "c", ""));
  EXPECT_EQ("DB cluster started", RenderEventMessage(EventKind::kClusterStarted, "c", ""));
  EXPECT_EQ("DB cluster stop failed: busy",
            RenderEventMessage(EventKind::kClusterStopFailed, "c", "busy"));
  EXPECT_NE(std::string::npos,
            RenderEventMessage(EventKind::kClusterStartFailed, "c", "no disk").find("no disk"));
  EXPECT_EQ("DB instance stopped", RenderEventMessage(EventKind::kInstanceStopped, "i", ""));
  EXPECT_EQ("DB instance started", RenderEventMessage(EventKind::kInstanceStarted, "i", ""));
  EXPECT_STREQ("db-instance", cluster::EventSourceType(EventKind::kInstanceStopped));
  EXPECT_STREQ("db-cluster", cluster::EventSourceType(EventKind::kClusterStopped));
  // Failover: RDS-EVENT-0072, 0071, 0069, 0070.
  EXPECT_EQ("Started same AZ failover to DB instance: r1",
            RenderEventMessage(EventKind::kFailoverStarted, "c", "r1"));
  EXPECT_EQ("Completed failover to DB instance: r1",
            RenderEventMessage(EventKind::kFailoverCompleted, "c", "r1"));
  EXPECT_EQ("Promoting previous primary again: w1",
            RenderEventMessage(EventKind::kFailoverReverted, "c", "w1"));
  EXPECT_NE(std::string::npos,
            RenderEventMessage(EventKind::kFailoverFailed, "c", "no disk").find("no disk"));
  EXPECT_STREQ("db-cluster", cluster::EventSourceType(EventKind::kFailoverCompleted));
  EXPECT_STREQ("db-instance", cluster::EventSourceType(EventKind::kPromotedToWriter));
  EXPECT_STREQ("failover", cluster::EventCategories(EventKind::kFailoverStarted));
}

TEST(RdsHandlerStatus, StatesAreShownInAurorasWords) {
  using cluster::BacktrackStatus;
  using cluster::ClusterStatus;
  using cluster::InstanceStatus;
  EXPECT_EQ("creating", AuroraStatusWord(ClusterStatus::kCreating));
  EXPECT_EQ("available", AuroraStatusWord(ClusterStatus::kAvailable));
  EXPECT_EQ("backtracking", AuroraStatusWord(ClusterStatus::kBacktracking));
  EXPECT_EQ("deleting", AuroraStatusWord(ClusterStatus::kDeleting));
  EXPECT_EQ("failed", AuroraStatusWord(ClusterStatus::kFailed));
  EXPECT_EQ("creating", AuroraStatusWord(InstanceStatus::kCreating));
  EXPECT_EQ("available", AuroraStatusWord(InstanceStatus::kAvailable));
  EXPECT_EQ("rebooting", AuroraStatusWord(InstanceStatus::kRebooting));
  EXPECT_EQ("deleting", AuroraStatusWord(InstanceStatus::kDeleting));
  EXPECT_EQ("failed", AuroraStatusWord(InstanceStatus::kFailed));
  EXPECT_EQ("stopping", AuroraStatusWord(ClusterStatus::kStopping));
  EXPECT_EQ("stopped", AuroraStatusWord(ClusterStatus::kStopped));
  EXPECT_EQ("starting", AuroraStatusWord(ClusterStatus::kStarting));
  EXPECT_EQ("failing-over", AuroraStatusWord(ClusterStatus::kFailingOver));
  EXPECT_EQ("stopping", AuroraStatusWord(InstanceStatus::kStopping));
  EXPECT_EQ("stopped", AuroraStatusWord(InstanceStatus::kStopped));
  EXPECT_EQ("starting", AuroraStatusWord(InstanceStatus::kStarting));
  EXPECT_EQ("pending", AuroraStatusWord(BacktrackStatus::kPending));
  EXPECT_EQ("applying", AuroraStatusWord(BacktrackStatus::kApplying));
  EXPECT_EQ("completed", AuroraStatusWord(BacktrackStatus::kCompleted));
  EXPECT_EQ("failed", AuroraStatusWord(BacktrackStatus::kFailed));
}

TEST(RdsHandlerErrors, UntaggedStatusIsGeneric) {
  EXPECT_EQ("InvalidParameterValue",
            ApiErrorFromClusterStatus(Status::InvalidArgument("bad")).code);
  EXPECT_EQ(503, ApiErrorFromClusterStatus(Status::Unavailable("later")).http_status);
  ApiError e = ApiErrorFromClusterStatus(Status::IOError("disk"));
  EXPECT_EQ(500, e.http_status);
  EXPECT_EQ("InternalFailure", e.code);
}

TEST(RdsHandlerRender, DBClusterSnapshot) {
  cluster::SnapshotView s;
  s.id = "snap1";
  s.cluster_id = "lab";
  s.status = "available";
  s.create_ns = 1'795'597'200'000'000'000;  // 2026-11-25T09:00:00Z
  s.cluster_create_ns = s.create_ns - 3600'000'000'000;
  s.engine = "aurora-mysql";
  s.engine_version = "10.11.6";
  s.port = 3306;
  s.master_username = "masteruser";
  s.allocated_gb = 1;
  s.tags = {{"team", "db"}};
  XmlWriter w;
  WriteDBClusterSnapshot(w, s, RenderOptions{});
  std::string xml = std::move(w).Take();
  for (const char* part :
       {"<DBClusterSnapshotIdentifier>snap1</DBClusterSnapshotIdentifier>",
        "<DBClusterIdentifier>lab</DBClusterIdentifier>",
        "<SnapshotCreateTime>2026-11-25T09:00:00Z</SnapshotCreateTime>",
        "<ClusterCreateTime>2026-11-25T08:00:00Z</ClusterCreateTime>",
        "<Status>available</Status>", "<PercentProgress>100</PercentProgress>",
        "<Engine>aurora-mysql</Engine>", "<EngineVersion>10.11.6</EngineVersion>",
        "<Port>3306</Port>", "<MasterUsername>masteruser</MasterUsername>",
        "<AllocatedStorage>1</AllocatedStorage>", "<SnapshotType>manual</SnapshotType>",
        "<StorageEncrypted>false</StorageEncrypted>",
        "<DBClusterSnapshotArn>arn:aws:rds:us-east-1:123456789012:cluster-snapshot:snap1<",
        "<TagList><Tag><Key>team</Key><Value>db</Value></Tag></TagList>"}) {
    EXPECT_TRUE(Contains(xml, part)) << part << "\n" << xml;
  }
}

cluster::ClusterView SampleCluster(int64_t window_s) {
  cluster::ClusterView c;
  c.id = "lab";
  c.resource_id = "cluster-ABC";
  c.engine = "aurora-mysql";
  c.engine_version = "10.11.6-MariaDB";
  c.master_username = "masteruser";
  c.database_name = "mylab";
  c.status = cluster::ClusterStatus::kAvailable;
  c.endpoint = "127.0.0.1";
  c.reader_endpoint = "127.0.0.1";
  c.port = 3306;
  c.backtrack_window_s = window_s;
  c.create_time_ns = *ParseIso8601("2026-11-25T09:00:00Z");
  c.earliest_backtrack_ns = *ParseIso8601("2026-11-25T09:00:01Z");
  c.earliest_restorable_ns = c.create_time_ns;
  c.latest_restorable_ns = *ParseIso8601("2026-11-25T10:00:00Z");
  c.clone_group_id = "1234";
  c.members.push_back({"lab-instance", true});
  return c;
}

TEST(RdsHandlerRender, DBCluster) {
  XmlWriter w;
  WriteDBCluster(w, SampleCluster(86400), RenderOptions{});
  std::string xml = std::move(w).Take();
  for (const char* part :
       {"<DBClusterIdentifier>lab</DBClusterIdentifier>", "<Status>available</Status>",
        "<Endpoint>127.0.0.1</Endpoint>", "<ReaderEndpoint>127.0.0.1</ReaderEndpoint>",
        "<Port>3306</Port>", "<BacktrackWindow>86400</BacktrackWindow>",
        "<EarliestBacktrackTime>2026-11-25T09:00:01Z</EarliestBacktrackTime>",
        "<ClusterCreateTime>2026-11-25T09:00:00Z</ClusterCreateTime>",
        "<EngineMode>provisioned</EngineMode>", "<MultiAZ>false</MultiAZ>",
        "<StorageEncrypted>false</StorageEncrypted>", "<AllocatedStorage>1</AllocatedStorage>",
        "<DBClusterParameterGroup>default.aurora-mysql8.0</DBClusterParameterGroup>",
        "<DBClusterMembers><DBClusterMember><DBInstanceIdentifier>lab-instance"
        "</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter>",
        "<DbClusterResourceId>cluster-ABC</DbClusterResourceId>", "<CloneGroupId>1234</",
        "<MasterUsername>masteruser</", "<DatabaseName>mylab</"}) {
    EXPECT_TRUE(Contains(xml, part)) << part << "\n" << xml;
  }
  EXPECT_TRUE(Contains(xml, "<CrossAccountClone>false</")) << xml;
  cluster::ClusterView peer_clone = SampleCluster(86400);
  peer_clone.source_cluster = "lab";
  peer_clone.source_peer = "node1";
  XmlWriter wp;
  WriteDBCluster(wp, peer_clone, RenderOptions{});
  EXPECT_TRUE(Contains(std::move(wp).Take(), "<CrossAccountClone>true</"));
  XmlWriter w0;
  WriteDBCluster(w0, SampleCluster(0), RenderOptions{});
  xml = std::move(w0).Take();
  EXPECT_FALSE(Contains(xml, "EarliestBacktrackTime")) << xml;
  EXPECT_TRUE(Contains(xml, "<BacktrackWindow>0</BacktrackWindow>")) << xml;
}

TEST(RdsHandlerRender, DBInstanceHasNoEndpointWhileCreating) {
  cluster::InstanceView i;
  i.id = "lab-instance";
  i.cluster_id = "lab";
  i.status = cluster::InstanceStatus::kCreating;
  i.endpoint = "127.0.0.1";
  i.port = 3306;
  XmlWriter w;
  WriteDBInstance(w, i, RenderOptions{});
  std::string xml = std::move(w).Take();
  EXPECT_FALSE(Contains(xml, "<Endpoint>")) << xml;
  EXPECT_TRUE(Contains(xml, "<DBInstanceStatus>creating</DBInstanceStatus>")) << xml;
  i.status = cluster::InstanceStatus::kAvailable;
  XmlWriter w2;
  WriteDBInstance(w2, i, RenderOptions{});
  xml = std::move(w2).Take();
  EXPECT_TRUE(Contains(xml, "<Endpoint><Address>127.0.0.1</Address><Port>3306</Port></Endpoint>"))
      << xml;
  EXPECT_TRUE(Contains(xml, "<AvailabilityZone>us-east-1a</AvailabilityZone>")) << xml;
}

TEST(RdsHandlerErrors, EchoedInputIsBounded) {
  const std::string huge(5000, 'x');
  ApiError e = ApiError::DBClusterNotFound(huge);
  EXPECT_LT(e.message.size(), 200u) << e.message;
  EXPECT_TRUE(Contains(e.message, "...")) << e.message;
  auto r = ParseDescribeEvents(Form("SourceType=" + huge));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 300u);
  EXPECT_LE(ShownInput("\xc3\xa9\xc3\xa9", 3).size(), 6u);
  EXPECT_EQ("\xc3\xa9...", ShownInput("\xc3\xa9\xc3\xa9", 3));  // no half character
  EXPECT_LT(cluster::BoundedInput(huge).size(), 70u);
}

TEST(RdsHandlerRender, DeletionProtectionAndTags) {
  cluster::ClusterView c;
  c.id = "lab";
  c.deletion_protection = true;
  c.tags = {{"team", "db"}, {"env", ""}};
  XmlWriter w;
  WriteDBCluster(w, c, RenderOptions{});
  const std::string xml = std::move(w).Take();
  EXPECT_TRUE(Contains(xml, "<DeletionProtection>true</DeletionProtection>")) << xml;
  EXPECT_TRUE(Contains(xml, "<TagList><Tag><Key>team</Key><Value>db</Value></Tag>"
                            "<Tag><Key>env</Key><Value></Value></Tag></TagList>"))
      << xml;
}

TEST(ClusterRules, MasterUsernames) {
  EXPECT_TRUE(cluster::ValidateMasterUsername("masteruser").ok());
  EXPECT_TRUE(cluster::ValidateMasterUsername("admin").ok());
  for (const char* reserved : {"root", "ROOT", "mysql", "rdsadmin", "rdsrepladmin",
                               "rdsproxyadmin", "PUBLIC", "select", "Table", "mariadb.sys"}) {
    Status s = cluster::ValidateMasterUsername(reserved);
    EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(s).code) << reserved;
    EXPECT_NE(std::string::npos, ApiErrorFromClusterStatus(s).message.find("reserved word"))
        << reserved << s.message();
  }
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(cluster::ValidateMasterUsername("")).code);
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(cluster::ValidateMasterUsername("1user")).code);
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(cluster::ValidateMasterUsername("abcdefghijklmnopq")).code);
  EXPECT_TRUE(cluster::ValidateMasterUsername("abcdefghijklmnop").ok());  // 16
  EXPECT_TRUE(cluster::ValidateMasterPassword("Secret123").ok());
  EXPECT_FALSE(cluster::ValidateMasterPassword("short").ok());
  EXPECT_FALSE(cluster::ValidateMasterPassword("has space1").ok());
  EXPECT_FALSE(cluster::ValidateMasterPassword("has@at123").ok());
  EXPECT_FALSE(cluster::ValidateMasterPassword(std::string(42, 'a')).ok());
  EXPECT_TRUE(cluster::ValidateMasterPassword(std::string(41, 'a')).ok());
}

TEST(ClusterRules, Tags) {
  using cluster::TagView;
  EXPECT_TRUE(cluster::ValidateTags({{"team", "db"}, {"a:b/c=d+e-f@g_h. i", ""}}).ok());
  EXPECT_TRUE(cluster::ValidateTags({{std::string(128, 'k'), std::string(256, 'v')}}).ok());
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(cluster::ValidateTags({{"", "v"}})).code);
  EXPECT_EQ("InvalidParameterValue",
            ApiErrorFromClusterStatus(cluster::ValidateTags({{std::string(129, 'k'), "v"}})).code);
  EXPECT_EQ("InvalidParameterValue",
            ApiErrorFromClusterStatus(cluster::ValidateTags({{"k", std::string(257, 'v')}})).code);
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(cluster::ValidateTags({{"aws:name", "v"}})).code);
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(cluster::ValidateTags({{"k", "semi;colon"}})).code);
  std::vector<TagView> many;
  for (int i = 0; i < 50; ++i) many.push_back({"k" + std::to_string(i), ""});
  EXPECT_TRUE(cluster::ValidateTags(many).ok());
  many.push_back({"one-more", ""});
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromClusterStatus(cluster::ValidateTags(many)).code);
  // A key given again takes the new value, in its old place.
  EXPECT_EQ((std::vector<TagView>{{"a", "3"}, {"b", "2"}}),
            cluster::MergeTags({{"a", "1"}, {"b", "2"}}, {{"a", "3"}}));
}

}  // namespace
}  // namespace rwd::api
