// RdsHandler without an HTTP server: parameter parsing, error mapping, XML rendering, and the
// refusals a ClusterService on an empty data dir gives (no cluster is created, so nothing is
// mounted and no mariadbd runs). The end-to-end path through the real CLI is
// tests/e2e/api_smoke_test.sh.
#include "api/rds_handler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "api/test_util.h"
#include "api/timeparse.h"
#include "cluster/meta_db.h"

namespace rwd::api {
namespace {

FormParams Form(std::string_view body) {
  ApiResult<FormParams> p = FormParams::Parse(body);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().ToString());
  return p.ok() ? std::move(p).value() : FormParams();
}

template <typename T>
void ExpectError(const ApiResult<T>& r, int http, const std::string& code,
                 const std::string& message_part = "") {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(http, r.error().http_status) << r.error().ToString();
  EXPECT_EQ(code, r.error().code) << r.error().ToString();
  if (!message_part.empty()) {
    EXPECT_NE(std::string::npos, r.error().message.find(message_part)) << r.error().ToString();
  }
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

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
      Status::FailedPrecondition("DB cluster x is creating.").WithTag("InvalidDBClusterStateFault"));
  EXPECT_EQ(400, e.http_status);
  EXPECT_EQ("InvalidDBClusterStateFault", e.code);
  EXPECT_EQ("DB cluster x is creating.", e.message);
  EXPECT_TRUE(e.sender_fault);

  e = ApiErrorFromClusterStatus(Status::NotFound("DBCluster y not found.")
                                    .WithTag("DBClusterNotFoundFault"));
  EXPECT_EQ(404, e.http_status);
  EXPECT_EQ("DBClusterNotFoundFault", e.code);
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
           "&UseLatestRestorableTime=true&Port=4407&BacktrackWindow=600"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
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
  c.arn = "arn:aws:rds:us-east-1:123456789012:cluster:lab";
  c.engine = "aurora-mysql";
  c.engine_version = "10.11.6-MariaDB";
  c.master_username = "masteruser";
  c.database_name = "mylab";
  c.status = "available";
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
  i.status = "creating";
  i.endpoint = "127.0.0.1";
  i.port = 3306;
  XmlWriter w;
  WriteDBInstance(w, i, RenderOptions{});
  std::string xml = std::move(w).Take();
  EXPECT_FALSE(Contains(xml, "<Endpoint>")) << xml;
  EXPECT_TRUE(Contains(xml, "<DBInstanceStatus>creating</DBInstanceStatus>")) << xml;
  i.status = "available";
  XmlWriter w2;
  WriteDBInstance(w2, i, RenderOptions{});
  xml = std::move(w2).Take();
  EXPECT_TRUE(Contains(xml, "<Endpoint><Address>127.0.0.1</Address><Port>3306</Port></Endpoint>"))
      << xml;
  EXPECT_TRUE(Contains(xml, "<AvailabilityZone>us-east-1a</AvailabilityZone>")) << xml;
}

// A ClusterService on an empty data dir: only refusals and empty answers, so nothing is mounted
// and no mariadbd is started.
class RdsHandlerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster::ServiceOptions o;
    o.data_dir = dir_.path() + "/data";
    o.first_port = 47000;
    auto s = cluster::ClusterService::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(s).value();
    handler_ = std::make_unique<RdsHandler>(service_.get());
  }

  ApiResult<ApiResponse> Call(const std::string& action, const std::string& body = "") {
    ApiRequest req;
    req.action = action;
    req.version = std::string(kRdsApiVersion);
    req.params = Form("Action=" + action + "&Version=2014-10-31" + (body.empty() ? "" : "&") + body);
    return handler_->Handle(req);
  }

  testing::TempDir dir_;
  std::unique_ptr<cluster::ClusterService> service_;
  std::unique_ptr<RdsHandler> handler_;
};

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
  ExpectError(Call("CreateDBInstance", "DBInstanceIdentifier=i&DBInstanceClass=db.r5.large"
                                       "&Engine=aurora-mysql&DBClusterIdentifier=nope"),
              404, "DBClusterNotFoundFault");
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
      c.status = "available";
      c.port = 47001;
      c.volume = "gone-volume";
      ASSERT_TRUE((*meta)->PutCluster(c).ok());
      for (const auto& [id, status] : {std::pair<std::string, std::string>{"busy", "deleting"},
                                       {"down", "failed"}}) {
        cluster::InstanceRow i;
        i.id = id;
        i.cluster_id = "gone";
        i.instance_class = "db.r5.large";
        i.status = status;
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

}  // namespace
}  // namespace rwd::api
