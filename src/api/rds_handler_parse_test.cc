// RdsHandler's parameter parsing, without an HTTP server or a cluster: every action's
// parameters read, malformed or missing ones refused by name, paging markers and ARNs.
#include "api/rds_handler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/handler_test_util.h"
#include "api/timeparse.h"

namespace rwd::api {
namespace {

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

}  // namespace
}  // namespace rwd::api
