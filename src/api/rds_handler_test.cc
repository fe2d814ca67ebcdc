// RdsHandler without an HTTP server: parameter parsing, error mapping, XML rendering, and the
// refusals a ClusterService on an empty data dir gives (no cluster is created, so nothing is
// mounted and no mariadbd runs). The end-to-end path through the real CLI is
// tests/e2e/api_smoke_test.sh.
#include "api/rds_handler.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "api/handler_test_util.h"
#include "api/test_util.h"
#include "api/timeparse.h"
#include "cluster/meta_db.h"

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

TEST(RdsHandlerParse, IdentifierFromArn) {
  EXPECT_EQ("demo", IdentifierFromArn("demo", "cluster"));
  EXPECT_EQ("demo", IdentifierFromArn("arn:aws:rds:us-east-1:123456789012:cluster:demo", "cluster"));
  EXPECT_EQ("inst", IdentifierFromArn("arn:aws:rds:eu-west-1:123456789012:db:inst", "db"));
  EXPECT_EQ("arn:aws:rds:us-east-1:123456789012:db:inst",
            IdentifierFromArn("arn:aws:rds:us-east-1:123456789012:db:inst", "cluster"));
  EXPECT_EQ("arn:bad", IdentifierFromArn("arn:bad", "cluster"));
}

TEST(RdsHandlerParse, CreateDBClusterFull) {
  auto r = ParseCreateDBCluster(Form(
      "Action=CreateDBCluster&DBClusterIdentifier=Lab&Engine=aurora-mysql&MasterUsername=masteruser"
      "&MasterUserPassword=Secret123&DatabaseName=mylab&BacktrackWindow=86400&Port=4406"
      "&EngineVersion=8.0.mysql_aurora.3.04.0&DeletionProtection=false"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("Lab", r->id);
  EXPECT_EQ("aurora-mysql", r->engine);
  EXPECT_EQ("masteruser", r->master_username);
  EXPECT_EQ("Secret123", r->master_password);
  EXPECT_EQ("mylab", r->database_name);
  EXPECT_EQ(86400, r->backtrack_window_s);
  EXPECT_EQ(4406, r->port.value_or(0));
  EXPECT_EQ("8.0.mysql_aurora.3.04.0", r->engine_version.value_or(""));
}

TEST(RdsHandlerParse, CreateDBClusterMissingAndMalformed) {
  const std::string ok = "DBClusterIdentifier=a&Engine=aurora-mysql&MasterUsername=u"
                         "&MasterUserPassword=Secret123";
  ExpectError(ParseCreateDBCluster(Form("Engine=aurora-mysql&MasterUsername=u")), 400,
              "MissingParameter", "DBClusterIdentifier");
  ExpectError(ParseCreateDBCluster(Form("DBClusterIdentifier=a&MasterUsername=u")), 400,
              "MissingParameter", "Engine");
  ExpectError(ParseCreateDBCluster(Form("DBClusterIdentifier=a&Engine=aurora-mysql"
                                        "&MasterUserPassword=Secret123")),
              400, "MissingParameter", "MasterUsername");
  ExpectError(ParseCreateDBCluster(Form("DBClusterIdentifier=a&Engine=aurora-mysql"
                                        "&MasterUsername=u")),
              400, "MissingParameter", "MasterUserPassword");
  ExpectError(ParseCreateDBCluster(Form(ok + "&BacktrackWindow=1d")), 400,
              "InvalidParameterValue", "BacktrackWindow");
  ExpectError(ParseCreateDBCluster(Form(ok + "&Port=abc")), 400, "InvalidParameterValue", "Port");
  ExpectError(ParseCreateDBCluster(Form(ok + "&DeletionProtection=yes")), 400,
              "InvalidParameterValue", "DeletionProtection");
  ExpectError(ParseCreateDBCluster(Form(ok + "&EngineMode=serverless")), 400,
              "InvalidParameterValue", "EngineMode");
  ExpectError(ParseCreateDBCluster(Form(ok + "&StorageEncrypted=true")), 400,
              "InvalidParameterValue", "StorageEncrypted");
  EXPECT_TRUE(ParseCreateDBCluster(Form(ok + "&StorageEncrypted=false")).ok());
}

TEST(RdsHandlerParse, ModifyDBCluster) {
  auto r = ParseModifyDBCluster(
      Form("DBClusterIdentifier=a&BacktrackWindow=3600&MasterUserPassword=NewSecret1"
           "&ApplyImmediately=true"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(3600, r->backtrack_window_s.value_or(-1));
  EXPECT_EQ("NewSecret1", r->master_password.value_or(""));
  r = ParseModifyDBCluster(Form("DBClusterIdentifier=a"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->backtrack_window_s.has_value());
  EXPECT_FALSE(r->master_password.has_value());
  ExpectError(ParseModifyDBCluster(Form("BacktrackWindow=1")), 400, "MissingParameter",
              "DBClusterIdentifier");
  ExpectError(ParseModifyDBCluster(Form("DBClusterIdentifier=a&ApplyImmediately=now")), 400,
              "InvalidParameterValue", "ApplyImmediately");
  ExpectError(ParseModifyDBCluster(Form("DBClusterIdentifier=a&MasterUserPassword=")), 400,
              "InvalidParameterValue", "MasterUserPassword");
  ExpectError(ParseModifyDBCluster(Form("DBClusterIdentifier=a&NewDBClusterIdentifier=b")), 400,
              "InvalidParameterValue", "NewDBClusterIdentifier");
}

TEST(RdsHandlerParse, DeleteDBCluster) {
  auto r = ParseDeleteDBCluster(Form("DBClusterIdentifier=a&SkipFinalSnapshot=true"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->skip_final_snapshot);
  EXPECT_FALSE(r->final_snapshot_id.has_value());
  r = ParseDeleteDBCluster(Form("DBClusterIdentifier=a&FinalDBSnapshotIdentifier=snap"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->skip_final_snapshot);
  EXPECT_EQ("snap", r->final_snapshot_id.value_or(""));
  ExpectError(ParseDeleteDBCluster(Form("DBClusterIdentifier=a&SkipFinalSnapshot=1")), 400,
              "InvalidParameterValue", "SkipFinalSnapshot");
}

TEST(RdsHandlerParse, CreateDBInstance) {
  auto r = ParseCreateDBInstance(Form("DBInstanceIdentifier=i1&DBInstanceClass=db.r5.large"
                                      "&Engine=aurora-mysql&DBClusterIdentifier=lab"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("i1", r->id);
  EXPECT_EQ("lab", r->cluster_id);
  EXPECT_EQ("db.r5.large", r->instance_class);
  ExpectError(ParseCreateDBInstance(Form("DBInstanceIdentifier=i1&Engine=aurora-mysql")), 400,
              "MissingParameter", "DBInstanceClass");
  ExpectError(ParseCreateDBInstance(Form("DBInstanceClass=x&Engine=aurora-mysql")), 400,
              "MissingParameter", "DBInstanceIdentifier");
  ExpectError(ParseCreateDBInstance(Form("DBInstanceIdentifier=i1&DBInstanceClass=x")), 400,
              "MissingParameter", "Engine");
}

TEST(RdsHandlerParse, BacktrackDBCluster) {
  auto r = ParseBacktrackDBCluster(
      Form("DBClusterIdentifier=lab&BacktrackTo=2026-11-25T10%3A00%3A00.250000Z&Force=true"
           "&UseEarliestTimeOnPointInTimeUnavailable=true"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("lab", r->cluster_id);
  EXPECT_EQ(*ParseIso8601("2026-11-25T10:00:00.25Z"), r->backtrack_to_ns);
  EXPECT_TRUE(r->force);
  EXPECT_TRUE(r->use_earliest_time_on_point_in_time_unavailable);
  ExpectError(ParseBacktrackDBCluster(Form("DBClusterIdentifier=lab")), 400, "MissingParameter",
              "BacktrackTo");
  ExpectError(ParseBacktrackDBCluster(Form("BacktrackTo=2026-11-25T10%3A00%3A00Z")), 400,
              "MissingParameter", "DBClusterIdentifier");
  ExpectError(ParseBacktrackDBCluster(Form("DBClusterIdentifier=lab&BacktrackTo=yesterday")), 400,
              "InvalidParameterValue", "BacktrackTo");
  ExpectError(ParseBacktrackDBCluster(
                  Form("DBClusterIdentifier=lab&BacktrackTo=2026-11-25T10%3A00%3A00Z&Force=maybe")),
              400, "InvalidParameterValue", "Force");
}

TEST(RdsHandlerParse, RestoreDBClusterToPointInTime) {
  auto r = ParseRestoreDBClusterToPointInTime(
      Form("DBClusterIdentifier=lab-clone&SourceDBClusterIdentifier=lab&RestoreType=copy-on-write"
           "&UseLatestRestorableTime=true&Port=4407&BacktrackWindow=600"
           "&DBClusterParameterGroupName=tuned"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("tuned", r->param_group.value_or(""));
  EXPECT_EQ("lab-clone", r->id);
  EXPECT_EQ("lab", r->source_id);
  EXPECT_EQ("copy-on-write", r->restore_type);
  EXPECT_TRUE(r->use_latest_restorable_time);
  EXPECT_FALSE(r->restore_to_ns.has_value());
  EXPECT_EQ(4407, r->port.value_or(0));
  EXPECT_EQ(600, r->backtrack_window_s.value_or(0));
  ExpectError(ParseRestoreDBClusterToPointInTime(Form("DBClusterIdentifier=c")), 400,
              "MissingParameter", "SourceDBClusterIdentifier");
  ExpectError(ParseRestoreDBClusterToPointInTime(
                  Form("DBClusterIdentifier=c&SourceDBClusterIdentifier=s&RestoreToTime=soon")),
              400, "InvalidParameterValue", "RestoreToTime");
}

// A cluster ARN of another account names a peer's cluster (a peer clone); this node's own
// account, or a plain identifier, a cluster here.
TEST(RdsHandlerParse, RestoreDBClusterToPointInTimeFromAPeer) {
  const std::string rest = "&DBClusterIdentifier=pc&RestoreType=copy-on-write"
                           "&RestoreToTime=2026-11-25T10%3A00%3A00Z";
  auto r = ParseRestoreDBClusterToPointInTime(
      Form("SourceDBClusterIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3Anode1%3Acluster%3Alab" + rest),
      "123456789012");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("lab", r->source_id);
  EXPECT_EQ("node1", r->source_peer);
  EXPECT_TRUE(r->restore_to_ns.has_value());
  r = ParseRestoreDBClusterToPointInTime(
      Form("SourceDBClusterIdentifier=arn%3Aaws%3Ards%3Aeu-west-1%3A123456789012%3Acluster%3Alab" +
           rest),
      "123456789012");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("lab", r->source_id);
  EXPECT_EQ("", r->source_peer);
  r = ParseRestoreDBClusterToPointInTime(Form("SourceDBClusterIdentifier=lab" + rest), "1");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("", r->source_peer);
  // Another node's account id: a peer named so (the service refuses it unless configured).
  r = ParseRestoreDBClusterToPointInTime(
      Form("SourceDBClusterIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A123456789012%3Acluster%3Alab" +
           rest),
      "210987654321");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("123456789012", r->source_peer);
  auto a = ParseResourceArn("arn:aws:rds:us-east-1:node1:cluster:lab");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ("node1", a->account);
}

TEST(RdsHandlerParse, RestoreDBClusterFromSnapshot) {
  auto r = ParseRestoreDBClusterFromSnapshot(
      Form("DBClusterIdentifier=back&SnapshotIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A123456789012"
           "%3Acluster-snapshot%3Asnap1&Engine=aurora-mysql&Port=4408&BacktrackWindow=60"
           "&DeletionProtection=true&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v"
           "&DBClusterParameterGroupName=arn%3Aaws%3Ards%3Aus-east-1%3A123456789012%3Acluster-pg"
           "%3Atuned"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("tuned", r->param_group.value_or(""));
  EXPECT_EQ("back", r->id);
  EXPECT_EQ("snap1", r->snapshot_id);
  EXPECT_EQ("aurora-mysql", r->engine);
  EXPECT_EQ(4408, r->port.value_or(0));
  EXPECT_EQ(60, r->backtrack_window_s.value_or(0));
  EXPECT_TRUE(r->deletion_protection);
  ASSERT_EQ(1u, r->tags.size());
  ExpectError(ParseRestoreDBClusterFromSnapshot(Form("DBClusterIdentifier=c&Engine=aurora-mysql")),
              400, "MissingParameter", "SnapshotIdentifier");
  ExpectError(ParseRestoreDBClusterFromSnapshot(
                  Form("DBClusterIdentifier=c&SnapshotIdentifier=s&Engine=aurora-mysql"
                       "&KmsKeyId=k")),
              400, "InvalidParameterValue", "KmsKeyId");
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

TEST(RdsHandlerParse, DescribeEvents) {
  auto q = ParseDescribeEvents(
      Form("SourceIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A123456789012%3Acluster%3Alab"
           "&SourceType=db-cluster&Duration=120"
           "&EventCategories.EventCategory.1=backtrack&EventCategories.EventCategory.2=creation"));
  ASSERT_TRUE(q.ok()) << q.error().ToString();
  EXPECT_EQ("lab", q->source_id.value_or(""));
  EXPECT_EQ("db-cluster", q->source_type.value_or(""));
  EXPECT_EQ(120, q->duration_minutes.value_or(0));
  EXPECT_EQ((std::vector<std::string>{"backtrack", "creation"}), q->categories);
  ExpectError(ParseDescribeEvents(Form("SourceType=cluster")), 400, "InvalidParameterValue",
              "SourceType");
  ExpectError(ParseDescribeEvents(Form("SourceIdentifier=lab")), 400,
              "InvalidParameterCombination", "SourceType");
  ExpectError(ParseDescribeEvents(Form("StartTime=noon")), 400, "InvalidParameterValue",
              "StartTime");
  ExpectError(ParseDescribeEvents(Form("Duration=ten")), 400, "InvalidParameterValue", "Duration");
}

TEST(RdsHandlerParse, Filters) {
  auto f = ParseFilters(Form("Filters.Filter.1.Name=db-cluster-id&Filters.Filter.1.Values.Value.1=a"
                             "&Filters.Filter.1.Values.Value.2=b"),
                        {"db-cluster-id"});
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_TRUE(f->Matches("db-cluster-id", "a"));
  EXPECT_TRUE(f->Matches("db-cluster-id", "b"));
  EXPECT_FALSE(f->Matches("db-cluster-id", "c"));
  EXPECT_TRUE(f->Matches("engine", "anything"));
  ExpectError(ParseFilters(Form("Filters.Filter.1.Name=vpc-id&Filters.Filter.1.Values.Value.1=x"),
                           {"db-cluster-id"}),
              400, "InvalidParameterValue", "vpc-id");
  ExpectError(ParseFilters(Form("Filters.Filter.1.Values.Value.1=x"), {"db-cluster-id"}), 400,
              "MissingParameter");
  ExpectError(ParseFilters(Form("Filters.Filter.1.Name=db-cluster-id"), {"db-cluster-id"}), 400,
              "InvalidParameterValue", "db-cluster-id");
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

// A ClusterService on an empty data dir: only refusals and empty answers, so nothing is mounted
// and no mariadbd is started.
using RdsHandlerServiceTest = RdsServiceFixture;

TEST_F(RdsHandlerServiceTest, UnknownActionIsInvalidAction) {
  ExpectError(Call("DescribeDBSnapshots"), 400, "InvalidAction", "DescribeDBSnapshots");
}

TEST_F(RdsHandlerServiceTest, EmptyDescribes) {
  auto r = Call("DescribeDBClusters");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("<DBClusters></DBClusters>", r->result_xml);
  r = Call("DescribeDBInstances");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("<DBInstances></DBInstances>", r->result_xml);
  r = Call("DescribeEvents");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("<Events></Events>", r->result_xml);
}

TEST(RdsHandlerParse, DescribeDBClusterActivity) {
  auto r = ParseDescribeDBClusterActivity(
      Form("DBClusterIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A123456789012%3Acluster%3Alab"
           "&StartTime=2026-11-25T10%3A00%3A00Z&EndTime=2026-11-25T11%3A00%3A00Z&Step=60"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("lab", r->cluster_id);
  EXPECT_EQ(r->to_ns.value() - r->from_ns.value(), 3600 * kNanosPerSecond);
  EXPECT_EQ(60 * kNanosPerSecond, r->step_ns.value());
  r = ParseDescribeDBClusterActivity(Form("DBClusterIdentifier=lab"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->from_ns || r->to_ns || r->step_ns);
  ExpectError(ParseDescribeDBClusterActivity(Form("StartTime=2026-11-25T10%3A00%3A00Z")), 400,
              "MissingParameter", "DBClusterIdentifier");
  ExpectError(ParseDescribeDBClusterActivity(Form("DBClusterIdentifier=lab&StartTime=noon")), 400,
              "InvalidParameterValue", "StartTime");
  ExpectError(ParseDescribeDBClusterActivity(
                  Form("DBClusterIdentifier=lab&EndTime=2026-11-25T10%3A00%3A00")),
              400, "InvalidParameterValue", "EndTime");
  ExpectError(ParseDescribeDBClusterActivity(
                  Form("DBClusterIdentifier=lab&StartTime=2026-11-25T11%3A00%3A00Z"
                       "&EndTime=2026-11-25T10%3A00%3A00Z")),
              400, "InvalidParameterValue", "EndTime is before StartTime");
  ExpectError(ParseDescribeDBClusterActivity(Form("DBClusterIdentifier=lab&Step=0")), 400,
              "InvalidParameterValue", "Step");
  ExpectError(ParseDescribeDBClusterActivity(Form("DBClusterIdentifier=lab&Step=1m")), 400,
              "InvalidParameterValue", "Step");
  ExpectError(ParseDescribeDBClusterActivity(Form("DBClusterIdentifier=lab&Period=60")), 400,
              "InvalidParameterValue", "Period");
}

TEST_F(RdsHandlerServiceTest, ActivityOfAnUnknownClusterIsNotFound) {
  ExpectError(Call("DescribeDBClusterActivity", "DBClusterIdentifier=nope"), 404,
              "DBClusterNotFoundFault", "nope");
}

TEST_F(RdsHandlerServiceTest, NotFoundFaults) {
  ExpectError(Call("DescribeDBClusters", "DBClusterIdentifier=nope"), 404,
              "DBClusterNotFoundFault", "nope");
  ExpectError(Call("DescribeDBInstances", "DBInstanceIdentifier=nope"), 404, "DBInstanceNotFound");
  ExpectError(Call("DeleteDBCluster", "DBClusterIdentifier=nope&SkipFinalSnapshot=true"), 404,
              "DBClusterNotFoundFault");
  ExpectError(Call("DeleteDBInstance", "DBInstanceIdentifier=nope"), 404, "DBInstanceNotFound");
  ExpectError(Call("ModifyDBCluster", "DBClusterIdentifier=nope&BacktrackWindow=10"), 404,
              "DBClusterNotFoundFault");
  ExpectError(Call("BacktrackDBCluster",
                   "DBClusterIdentifier=nope&BacktrackTo=2026-01-01T00%3A00%3A00Z"),
              404, "DBClusterNotFoundFault");
  ExpectError(Call("DescribeDBClusterBacktracks", "DBClusterIdentifier=nope"), 404,
              "DBClusterNotFoundFault");
  ExpectError(Call("RestoreDBClusterToPointInTime",
                   "DBClusterIdentifier=c&SourceDBClusterIdentifier=nope"
                   "&UseLatestRestorableTime=true"),
              404, "DBClusterNotFoundFault");
  // A peer's cluster on a node without peers: not found, and the message says how to add one.
  ExpectError(Call("RestoreDBClusterToPointInTime",
                   "DBClusterIdentifier=c&SourceDBClusterIdentifier=arn%3Aaws%3Ards%3A"
                   "us-east-1%3Anode9%3Acluster%3Alab&UseLatestRestorableTime=true"),
              404, "DBClusterNotFoundFault", "--peer-object-store");
  ExpectError(Call("CreateDBInstance", "DBInstanceIdentifier=i&DBInstanceClass=db.r5.large"
                                       "&Engine=aurora-mysql&DBClusterIdentifier=nope"),
              404, "DBClusterNotFoundFault");
}

TEST_F(RdsHandlerServiceTest, StopAndStartFaults) {
  ExpectError(Call("StopDBCluster", "DBClusterIdentifier=nope"), 404, "DBClusterNotFoundFault",
              "nope");
  ExpectError(Call("StartDBCluster",
                   "DBClusterIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A123456789012%3Acluster%3Anope"),
              404, "DBClusterNotFoundFault", "nope");
  ExpectError(Call("StopDBCluster"), 400, "MissingParameter", "DBClusterIdentifier");
  ExpectError(Call("StartDBCluster", "DBClusterIdentifier=lab&Force=true"), 400,
              "InvalidParameterValue", "Force");
}

TEST_F(RdsHandlerServiceTest, FailoverFaults) {
  ExpectError(Call("FailoverDBCluster", "DBClusterIdentifier=nope"), 404,
              "DBClusterNotFoundFault", "nope");
  ExpectError(Call("FailoverDBCluster"), 400, "MissingParameter", "DBClusterIdentifier");
  ExpectError(Call("FailoverDBCluster", "DBClusterIdentifier=lab&Force=true"), 400,
              "InvalidParameterValue", "Force");
}

TEST_F(RdsHandlerServiceTest, ServiceRefusalsBeforeAnythingIsCreated) {
  ExpectError(Call("CreateDBCluster", "DBClusterIdentifier=lab&Engine=postgres"
                                      "&MasterUsername=masteruser&MasterUserPassword=Secret123"),
              400, "InvalidParameterValue", "postgres");
  ExpectError(Call("CreateDBCluster", "DBClusterIdentifier=1lab&Engine=aurora-mysql"
                                      "&MasterUsername=masteruser&MasterUserPassword=Secret123"),
              400, "InvalidParameterValue", "DBClusterIdentifier");
  ExpectError(Call("CreateDBCluster", "DBClusterIdentifier=lab&Engine=aurora-mysql"
                                      "&MasterUsername=masteruser&MasterUserPassword=short"),
              400, "InvalidParameterValue", "MasterUserPassword");
  ExpectError(Call("CreateDBCluster", "DBClusterIdentifier=lab&Engine=aurora-mysql"
                                      "&MasterUsername=masteruser&MasterUserPassword=Secret123"
                                      "&BacktrackWindow=99999999"),
              400, "InvalidParameterValue", "BacktrackWindow");
  ExpectError(Call("CreateDBInstance", "DBInstanceIdentifier=i&DBInstanceClass=db.r5.large"
                                       "&Engine=aurora-mysql"),
              400, "InvalidParameterCombination", "DBClusterIdentifier");
  // Nothing was created by the refusals.
  auto r = Call("DescribeDBClusters");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("<DBClusters></DBClusters>", r->result_xml);
}

TEST_F(RdsHandlerServiceTest, MalformedParametersNameTheParameter) {
  ExpectError(Call("DescribeDBClusters", "MaxRecords=5"), 400, "InvalidParameterValue",
              "MaxRecords");
  ExpectError(Call("DescribeDBClusters",
                   "Filters.Filter.1.Name=vpc-id&Filters.Filter.1.Values.Value.1=v"),
              400, "InvalidParameterValue", "vpc-id");
  ExpectError(Call("DeleteDBInstance", "DBInstanceIdentifier=i&FinalDBSnapshotIdentifier=s"), 400,
              "InvalidParameterCombination", "FinalDBSnapshotIdentifier");
  ExpectError(Call("DescribeDBClusterBacktracks",
                   "DBClusterIdentifier=lab&Filters.Filter.1.Name=db-cluster-backtrack-status"
                   "&Filters.Filter.1.Values.Value.1=done"),
              400, "InvalidParameterValue", "done");
  ExpectError(Call("DescribeDBClusterBacktracks"), 400, "MissingParameter", "DBClusterIdentifier");
}

TEST_F(RdsHandlerServiceTest, RebootDBInstanceRefusals) {
  ExpectError(Call("RebootDBInstance"), 400, "MissingParameter", "DBInstanceIdentifier");
  ExpectError(Call("RebootDBInstance", "DBInstanceIdentifier=nope"), 404, "DBInstanceNotFound",
              "nope");
  ExpectError(Call("RebootDBInstance",
                   "DBInstanceIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A123456789012%3Adb%3Anope"),
              404, "DBInstanceNotFound", "nope");
  ExpectError(Call("RebootDBInstance", "DBInstanceIdentifier=nope&ForceFailover=maybe"), 400,
              "InvalidParameterValue", "ForceFailover");
  // Checked before the instance is looked up, as every malformed request is.
  ExpectError(Call("RebootDBInstance", "DBInstanceIdentifier=nope&ForceFailover=true"), 400,
              "InvalidParameterCombination", "Multi-AZ");
  ExpectError(Call("RebootDBInstance", "DBInstanceIdentifier=nope&ForceFailover=false"), 404,
              "DBInstanceNotFound");
}

// Metadata left by an earlier rewindd (written before the service opens it): a cluster whose
// volume is gone, so that nothing can be mounted or started, with instances in given states.
class RdsHandlerRebootTest : public RdsHandlerServiceTest {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/data");
    {
      auto meta = cluster::MetaDb::Open(dir_.path() + "/data/meta.db");
      ASSERT_TRUE(meta.ok()) << meta.status().ToString();
      cluster::ClusterRow c;
      c.id = "gone";
      c.engine = "aurora-mysql";
      c.status = cluster::ClusterStatus::kAvailable;
      c.port = 47001;
      c.volume = "gone-volume";
      ASSERT_TRUE((*meta)->PutCluster(c).ok());
      for (const auto& [id, status] : {std::pair<std::string, std::string>{"busy", "deleting"},
                                       {"down", "failed"}}) {
        cluster::InstanceRow i;
        i.id = id;
        i.cluster_id = "gone";
        i.instance_class = "db.r5.large";
        cluster::ParseStatus(status, &i.status);
        ASSERT_TRUE((*meta)->PutInstance(i).ok());
      }
    }
    RdsHandlerServiceTest::SetUp();
  }
  std::string InstanceStatus(const std::string& id) {
    auto r = Call("DescribeDBInstances", "DBInstanceIdentifier=" + id);
    if (!r.ok()) return r.error().ToString();
    const size_t b = r->result_xml.find("<DBInstanceStatus>");
    const size_t e = r->result_xml.find("</DBInstanceStatus>");
    if (b == std::string::npos || e == std::string::npos) return r->result_xml;
    return r->result_xml.substr(b + 18, e - b - 18);
  }
};

TEST_F(RdsHandlerRebootTest, OnlyAnAvailableOrFailedInstanceReboots) {
  ExpectError(Call("RebootDBInstance", "DBInstanceIdentifier=busy"), 400, "InvalidDBInstanceState",
              "deleting");
  EXPECT_EQ("deleting", InstanceStatus("busy"));
  // A failed instance is taken: "rebooting" at once, then failed again (its volume is gone).
  auto r = Call("RebootDBInstance", "DBInstanceIdentifier=DOWN");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(Contains(r->result_xml, "<DBInstanceIdentifier>down</DBInstanceIdentifier>"))
      << r->result_xml;
  EXPECT_TRUE(Contains(r->result_xml, "<DBInstanceStatus>rebooting</DBInstanceStatus>"))
      << r->result_xml;
  service_->WaitIdle();
  EXPECT_EQ("failed", InstanceStatus("down"));
  auto events = Call("DescribeEvents", "SourceIdentifier=down&SourceType=db-instance");
  ASSERT_TRUE(events.ok()) << events.error().ToString();
  EXPECT_TRUE(Contains(events->result_xml, "DB instance failed to restart")) << events->result_xml;
}

// ---------------------------------------------------------------------------------------------
// What Rewind accepts is honoured or refused by name (issue 14).

TEST(RdsHandlerParse, DeletionProtectionAndTagsAreRead) {
  const std::string ok = "DBClusterIdentifier=a&Engine=aurora-mysql&MasterUsername=u"
                         "&MasterUserPassword=Secret123";
  auto r = ParseCreateDBCluster(Form(ok + "&DeletionProtection=true&Tags.Tag.1.Key=team"
                                          "&Tags.Tag.1.Value=db&Tags.Tag.2.Key=empty"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->deletion_protection);
  EXPECT_EQ((std::vector<cluster::TagView>{{"team", "db"}, {"empty", ""}}), r->tags);
  auto m = ParseModifyDBCluster(Form("DBClusterIdentifier=a&DeletionProtection=false"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(false, m->deletion_protection.value_or(true));
  m = ParseModifyDBCluster(Form("DBClusterIdentifier=a"));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->deletion_protection.has_value());
  auto c = ParseRestoreDBClusterToPointInTime(
      Form("DBClusterIdentifier=c&SourceDBClusterIdentifier=s&UseLatestRestorableTime=true"
           "&DeletionProtection=true&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v"));
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->deletion_protection);
  EXPECT_EQ((std::vector<cluster::TagView>{{"k", "v"}}), c->tags);
  auto i = ParseCreateDBInstance(Form("DBInstanceIdentifier=i1&DBInstanceClass=db.r5.large"
                                      "&Engine=aurora-mysql&DBClusterIdentifier=lab"
                                      "&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v"));
  ASSERT_TRUE(i.ok()) << i.error().ToString();
  EXPECT_EQ((std::vector<cluster::TagView>{{"k", "v"}}), i->tags);
  // An Aurora instance's own deletion protection does not apply: refused, not ignored.
  ExpectError(ParseCreateDBInstance(Form("DBInstanceIdentifier=i1&DBInstanceClass=x"
                                         "&Engine=aurora-mysql&DeletionProtection=true")),
              400, "InvalidParameterCombination", "DeletionProtection");
}

TEST(RdsHandlerParse, UnservedParametersAreRefusedByName) {
  const std::string ok = "DBClusterIdentifier=a&Engine=aurora-mysql&MasterUsername=u"
                         "&MasterUserPassword=Secret123";
  ExpectError(ParseCreateDBCluster(Form(ok + "&VpcSecurityGroupIds.VpcSecurityGroupId.1=sg-1")),
              400, "InvalidParameterValue", "VpcSecurityGroupIds");
  ExpectError(ParseCreateDBCluster(Form(ok + "&KmsKeyId=k")), 400, "InvalidParameterValue",
              "KmsKeyId");
  ExpectError(ParseCreateDBCluster(Form(ok + "&BackupRetentionPeriod=7")), 400,
              "InvalidParameterValue", "BackupRetentionPeriod");
  ExpectError(ParseCreateDBCluster(Form(ok + "&EnableIAMDatabaseAuthentication=true")), 400,
              "InvalidParameterValue", "EnableIAMDatabaseAuthentication");
  EXPECT_TRUE(ParseCreateDBCluster(Form(ok + "&EnableIAMDatabaseAuthentication=false")).ok());
  ExpectError(ParseModifyDBCluster(Form("DBClusterIdentifier=a&EngineVersion=8.0")), 400,
              "InvalidParameterValue", "EngineVersion");
  ExpectError(ParseCreateDBInstance(Form("DBInstanceIdentifier=i&DBInstanceClass=x"
                                         "&Engine=aurora-mysql&PromotionTier=2")),
              400, "InvalidParameterValue", "PromotionTier");
  ExpectError(ParseRestoreDBClusterToPointInTime(
                  Form("DBClusterIdentifier=c&SourceDBClusterIdentifier=s"
                       "&UseLatestRestorableTime=true&RestoreType=full-copy")),
              400, "InvalidParameterValue", "only copy-on-write");
  // The server's own parameters are not the action's.
  EXPECT_TRUE(CheckAcceptedParameters(Form("Action=DescribeEvents&Version=2014-10-31"
                                           "&X-Amz-Date=20260101T000000Z"),
                                      "DescribeEvents")
                  .ok());
  // Every served action has its list.
  for (std::string_view action : RdsHandler::Actions()) {
    EXPECT_NE(nullptr, AcceptedParameters(action)) << action;
  }
}

TEST(RdsHandlerParse, PagingMarkers) {
  auto p = ParsePaging(Form(""), "DescribeEvents");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(100u, p->max_records);
  EXPECT_EQ(0u, p->offset);
  p = ParsePaging(Form("MaxRecords=20&Marker=" + EncodeMarker("DescribeEvents", 40)),
                  "DescribeEvents");
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(20u, p->max_records);
  EXPECT_EQ(40u, p->offset);
  ExpectError(ParsePaging(Form("MaxRecords=19"), "DescribeEvents"), 400, "InvalidParameterValue",
              "MaxRecords");
  ExpectError(ParsePaging(Form("MaxRecords=101"), "DescribeEvents"), 400,
              "InvalidParameterValue", "MaxRecords");
  ExpectError(ParsePaging(Form("Marker=garbage"), "DescribeEvents"), 400,
              "InvalidParameterValue", "Marker");
  // A marker of another action is not this one's.
  ExpectError(ParsePaging(Form("Marker=" + EncodeMarker("DescribeDBClusters", 20)),
                          "DescribeEvents"),
              400, "InvalidParameterValue", "Marker");
}

TEST(RdsHandlerParse, ResourceArns) {
  auto a = ParseResourceArn("arn:aws:rds:us-east-1:123456789012:cluster:lab");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(cluster::ResourceKind::kCluster, a->kind);
  EXPECT_EQ("lab", a->id);
  a = ParseResourceArn("arn:aws:rds:us-east-1:123456789012:db:lab-1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(cluster::ResourceKind::kInstance, a->kind);
  EXPECT_EQ("lab-1", a->id);
  ExpectError(ParseResourceArn("lab"), 400, "InvalidParameterValue", "resource name");
  ExpectError(ParseResourceArn("arn:aws:s3:::bucket"), 400, "InvalidParameterValue");
  ExpectError(ParseResourceArn("arn:aws:rds:us-east-1:123456789012:cluster:"), 400,
              "InvalidParameterValue");
  ExpectError(ParseResourceArn("arn:aws:rds:us-east-1:123456789012:snapshot:s"), 400,
              "InvalidParameterValue", "snapshot");
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

// Metadata with clusters whose volumes are gone (nothing mounts, no mariadbd; the service may
// find them failed): the API's deletion protection, tags and paging over them.
class RdsHandlerContractTest : public RdsHandlerServiceTest {
 protected:
  static constexpr int kClusters = 25;
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/data");
    {
      auto meta = cluster::MetaDb::Open(dir_.path() + "/data/meta.db");
      ASSERT_TRUE(meta.ok()) << meta.status().ToString();
      for (int n = 0; n < kClusters; ++n) {
        cluster::ClusterRow c;
        c.id = "c" + std::to_string(100 + n);
        c.engine = "aurora-mysql";
        c.status = cluster::ClusterStatus::kAvailable;
        c.port = 47100 + n;
        c.volume = c.id + "-gone";
        c.create_time_ns = 1'000'000'000LL * (n + 1);
        ASSERT_TRUE((*meta)->PutCluster(c).ok());
      }
      cluster::InstanceRow i;
      i.id = "c100-1";
      i.cluster_id = "c100";
      i.instance_class = "db.r5.large";
      i.status = cluster::InstanceStatus::kFailed;
      ASSERT_TRUE((*meta)->PutInstance(i).ok());
      // Events 15 and 13 days old: the service keeps 14 days (event_retention_days).
      const int64_t day = 24 * 3600 * 1'000'000'000LL;
      for (int64_t age : {15, 13}) {
        ASSERT_TRUE((*meta)->AddEvent(cluster::EventRow{"c104", "db-cluster",
                                                        std::to_string(age) + " days old", "",
                                                        NowNs() - age * day})
                        .ok());
      }
    }
    RdsHandlerServiceTest::SetUp();
  }
  static std::string Arn(const std::string& kind, const std::string& id) {
    return "arn%3Aaws%3Ards%3Aus-east-1%3A123456789012%3A" + kind + "%3A" + id;
  }
  static int Count(const std::string& xml, const std::string& part) {
    int n = 0;
    for (size_t at = xml.find(part); at != std::string::npos; at = xml.find(part, at + 1)) ++n;
    return n;
  }
  static std::string MarkerOf(const std::string& xml) {
    const size_t b = xml.find("<Marker>");
    if (b == std::string::npos) return "";
    return xml.substr(b + 8, xml.find("</Marker>") - b - 8);
  }
};

TEST_F(RdsHandlerContractTest, DeletionProtectionRefusesDeleteUntilTurnedOff) {
  auto r = Call("ModifyDBCluster", "DBClusterIdentifier=c101&DeletionProtection=true");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(Contains(r->result_xml, "<DeletionProtection>true</DeletionProtection>"));
  ExpectError(Call("DeleteDBCluster", "DBClusterIdentifier=c101&SkipFinalSnapshot=true"), 400,
              "InvalidParameterCombination",
              "Cannot delete protected Cluster, please disable deletion protection and try again.");
  r = Call("DescribeDBClusters", "DBClusterIdentifier=c101");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(Contains(r->result_xml, "<Status>deleting</Status>")) << r->result_xml;
  EXPECT_TRUE(Contains(r->result_xml, "<DeletionProtection>true</DeletionProtection>"));
  ASSERT_TRUE(Call("ModifyDBCluster", "DBClusterIdentifier=c101&DeletionProtection=false").ok());
  r = Call("DeleteDBCluster", "DBClusterIdentifier=c101&SkipFinalSnapshot=true");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  service_->WaitIdle();
  ExpectError(Call("DescribeDBClusters", "DBClusterIdentifier=c101"), 404,
              "DBClusterNotFoundFault");
}

TEST_F(RdsHandlerContractTest, TagsRoundTripAndGoWithTheResource) {
  const std::string arn = "ResourceName=" + Arn("cluster", "c102");
  auto r = Call("AddTagsToResource",
                arn + "&Tags.Tag.1.Key=team&Tags.Tag.1.Value=db&Tags.Tag.2.Key=env"
                      "&Tags.Tag.2.Value=test");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(r->has_result);
  r = Call("ListTagsForResource", arn);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("<TagList><Tag><Key>team</Key><Value>db</Value></Tag>"
            "<Tag><Key>env</Key><Value>test</Value></Tag></TagList>",
            r->result_xml);
  r = Call("DescribeDBClusters", "DBClusterIdentifier=c102");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml, "<Tag><Key>team</Key><Value>db</Value></Tag>"));
  ASSERT_TRUE(Call("RemoveTagsFromResource", arn + "&TagKeys.member.1=team").ok());
  r = Call("ListTagsForResource", arn);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("<TagList><Tag><Key>env</Key><Value>test</Value></Tag></TagList>", r->result_xml);
  // Instances by their own ARN.
  const std::string iarn = "ResourceName=" + Arn("db", "c100-1");
  ASSERT_TRUE(Call("AddTagsToResource", iarn + "&Tags.Tag.1.Key=role&Tags.Tag.1.Value=w").ok());
  r = Call("DescribeDBInstances", "DBInstanceIdentifier=c100-1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml, "<TagList><Tag><Key>role</Key><Value>w</Value></Tag>"))
      << r->result_xml;
  // Refusals.
  ExpectError(Call("AddTagsToResource", arn + "&Tags.Tag.1.Key=aws%3Ax&Tags.Tag.1.Value=v"), 400,
              "InvalidParameterValue", "aws:");
  ExpectError(Call("AddTagsToResource", "ResourceName=" + Arn("cluster", "nope") +
                                            "&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v"),
              404, "DBClusterNotFoundFault");
  ExpectError(Call("ListTagsForResource", "ResourceName=" + Arn("db", "nope")), 404,
              "DBInstanceNotFound");
  ExpectError(Call("ListTagsForResource", "ResourceName=c102"), 400, "InvalidParameterValue");
  ExpectError(Call("ListTagsForResource",
                   "ResourceName=arn%3Aaws%3Ards%3Aeu-west-1%3A123456789012%3Acluster%3Ac102"),
              404, "DBClusterNotFoundFault");
  std::string fifty;
  for (int n = 1; n <= 50; ++n) {
    fifty += "&Tags.Tag." + std::to_string(n) + ".Key=k" + std::to_string(n);
  }
  ExpectError(Call("AddTagsToResource", arn + fifty), 400, "InvalidParameterValue", "50");
  r = Call("ListTagsForResource", arn);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(1, Count(r->result_xml, "<Tag>")) << "a refused AddTags changed nothing";
  // Deleting the cluster deletes its tags: a new cluster of that name starts with none.
  ASSERT_TRUE(Call("DeleteDBCluster", "DBClusterIdentifier=c102&SkipFinalSnapshot=true").ok());
  service_->WaitIdle();
  auto meta = cluster::MetaDb::Open(dir_.path() + "/data/meta.db");
  ASSERT_TRUE(meta.ok());
  auto tags = (*meta)->ListTags("cluster", "c102");
  ASSERT_TRUE(tags.ok());
  EXPECT_TRUE(tags->empty());
}

TEST_F(RdsHandlerContractTest, DescribeDBClustersPages) {
  std::set<std::string> seen;
  std::string marker;
  int pages = 0;
  do {
    auto r = Call("DescribeDBClusters", "MaxRecords=20" + (marker.empty() ? "" : "&Marker=" + marker));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ++pages;
    const std::string& xml = r->result_xml;
    for (size_t at = xml.find("<DBClusterIdentifier>"); at != std::string::npos;
         at = xml.find("<DBClusterIdentifier>", at + 1)) {
      seen.insert(xml.substr(at + 21, xml.find('<', at + 21) - at - 21));
    }
    EXPECT_LE(Count(xml, "<DBCluster>"), 20);
    marker = MarkerOf(xml);
  } while (!marker.empty() && pages < 10);
  EXPECT_EQ(2, pages);
  EXPECT_EQ(static_cast<size_t>(kClusters), seen.size());
  ExpectError(Call("DescribeDBClusters", "Marker=00ff"), 400, "InvalidParameterValue", "Marker");
  // Every Describe checks MaxRecords and its own Marker.
  for (const std::string action : {"DescribeDBInstances", "DescribeEvents"}) {
    ExpectError(Call(action, "MaxRecords=101"), 400, "InvalidParameterValue", "MaxRecords");
    ExpectError(Call(action, "Marker=" + EncodeMarker("DescribeDBClusters", 20)), 400,
                "InvalidParameterValue", "Marker");
  }
  ExpectError(Call("DescribeDBClusterBacktracks", "DBClusterIdentifier=c100&Marker=zz"), 400,
              "InvalidParameterValue", "Marker");
  auto bt = Call("DescribeDBClusterBacktracks",
                 "DBClusterIdentifier=c100&MaxRecords=20&Marker=" +
                     EncodeMarker("DescribeDBClusterBacktracks", 20));
  ASSERT_TRUE(bt.ok()) << bt.error().ToString();  // past the end: an empty last page
  EXPECT_EQ("<DBClusterBacktracks></DBClusterBacktracks>", bt->result_xml);
  auto all = Call("DescribeDBClusters");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(kClusters, Count(all->result_xml, "<DBCluster>"));
  EXPECT_EQ("", MarkerOf(all->result_xml));
}

TEST_F(RdsHandlerContractTest, DescribeEventsPages) {
  for (int n = 0; n < 23; ++n) {
    ASSERT_TRUE(Call("ModifyDBCluster", "DBClusterIdentifier=c103&DeletionProtection=" +
                                            std::string(n % 2 ? "true" : "false"))
                    .ok());
  }
  auto all = Call("DescribeEvents", "SourceIdentifier=c103&SourceType=db-cluster");
  ASSERT_TRUE(all.ok());
  const int total = Count(all->result_xml, "<Event>");  // 23, and any the service added itself
  ASSERT_GE(total, 23);
  ASSERT_LE(total, 40);
  auto r = Call("DescribeEvents", "SourceIdentifier=c103&SourceType=db-cluster&MaxRecords=20");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(20, Count(r->result_xml, "<Event>"));
  const std::string marker = MarkerOf(r->result_xml);
  ASSERT_FALSE(marker.empty());
  r = Call("DescribeEvents",
           "SourceIdentifier=c103&SourceType=db-cluster&MaxRecords=20&Marker=" + marker);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(total - 20, Count(r->result_xml, "<Event>"));
  EXPECT_EQ("", MarkerOf(r->result_xml));
}

TEST_F(RdsHandlerContractTest, EventsOlderThanTheRetentionAreGone) {
  const int64_t day = 24 * 3600 * 1'000'000'000LL;
  const std::string since = FormatIso8601(NowNs() - 20 * day, 0);
  auto r = Call("DescribeEvents", "SourceIdentifier=c104&SourceType=db-cluster&StartTime=" + since);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(Contains(r->result_xml, "15 days old")) << r->result_xml;
  EXPECT_TRUE(Contains(r->result_xml, "13 days old")) << r->result_xml;
  // A retention pass prunes too (nothing older is left to prune now).
  auto pruned = service_->PruneEvents();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(0, *pruned);
}

TEST_F(RdsHandlerContractTest, ReservedMasterUsernameCreatesNothing) {
  ExpectError(Call("CreateDBCluster", "DBClusterIdentifier=newone&Engine=aurora-mysql"
                                      "&MasterUsername=root&MasterUserPassword=Secret123"),
              400, "InvalidParameterValue", "reserved word");
  ExpectError(Call("DescribeDBClusters", "DBClusterIdentifier=newone"), 404,
              "DBClusterNotFoundFault");
  ExpectError(Call("CreateDBCluster", "DBClusterIdentifier=" + std::string(300, 'a') +
                                          "&Engine=aurora-mysql&MasterUsername=u"
                                          "&MasterUserPassword=Secret123"),
              400, "InvalidParameterValue", "DBClusterIdentifier");
  auto r = Call("DescribeDBClusters", "DBClusterIdentifier=" + std::string(5000, 'z'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("DBClusterNotFoundFault", r.error().code);
  EXPECT_LT(r.error().message.size(), 120u) << r.error().message;
}

}  // namespace
}  // namespace rwd::api
