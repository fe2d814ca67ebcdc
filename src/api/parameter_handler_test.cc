// The parameter group actions through RdsHandler, over a real ClusterService (its catalog
// probed from the real mariadbd): fields, faults, and the parsing of Parameters.
#include "api/parameter_handler.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "api/handler_test_util.h"
#include "api/test_util.h"
#include "cluster/meta_db.h"

namespace rwd::api {
namespace {

TEST(ParameterHandlerParse, ParameterListBothSpellingsAndBadMembers) {
  auto r = ParseParameterList(Form(
      "Parameters.Parameter.1.ParameterName=max_connections"
      "&Parameters.Parameter.1.ParameterValue=200&Parameters.Parameter.1.ApplyMethod=immediate"
      "&Parameters.Parameter.2.ParameterName=innodb_log_buffer_size"
      "&Parameters.Parameter.2.ParameterValue=4194304"
      "&Parameters.Parameter.2.ApplyMethod=pending-reboot&Parameters.Parameter.2.DataType=integer"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(2u, r->size());
  EXPECT_EQ("max_connections", (*r)[0].name);
  EXPECT_EQ("200", (*r)[0].value.value_or(""));
  EXPECT_EQ(cluster::ApplyMethod::kImmediate, (*r)[0].apply_method);
  EXPECT_EQ(cluster::ApplyMethod::kPendingReboot, (*r)[1].apply_method);
  r = ParseParameterList(Form("Parameters.member.1.ParameterName=wait_timeout"
                              "&Parameters.member.1.ParameterValue=60"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(1u, r->size());
  EXPECT_FALSE((*r)[0].apply_method.has_value());
  ExpectError(ParseParameterList(Form("Parameters.Parameter.1.ParameterName=a"
                                      "&Parameters.Parameter.1.ApplyMethod=later")),
              400, "InvalidParameterValue", "later");
  ExpectError(ParseParameterList(Form("Parameters.Parameter.1.Bogus=a")), 400,
              "InvalidParameterValue", "Bogus");
  ExpectError(ParseParameterList(Form("Parameters.Thing.1.ParameterName=a")), 400,
              "InvalidParameterValue", "Parameters.Thing");
  EXPECT_EQ("pending-reboot", ApplyStatusWord(cluster::ParamApplyStatus::kPendingReboot));
}

class ParameterHandlerTest : public RdsServiceFixture {
 protected:
  void SetUp() override {
    first_port_ = 47600;
    std::filesystem::create_directories(dir_.path() + "/data");
    {
      // A cluster and its instance known to meta.db only (no volume: no engine runs).
      auto meta = cluster::MetaDb::Open(dir_.path() + "/data/meta.db");
      ASSERT_TRUE(meta.ok()) << meta.status().ToString();
      cluster::ClusterRow c;
      c.id = "c1";
      c.engine = "aurora-mysql";
      c.status = cluster::ClusterStatus::kAvailable;
      c.port = 47600;
      c.volume = "c1-gone";
      c.param_group = "used";
      ASSERT_TRUE((*meta)->PutCluster(c).ok());
      ASSERT_TRUE((*meta)->PutParamGroup({"cluster", "used", "aurora-mysql8.0", "in use", 1}).ok());
      cluster::InstanceRow i;
      i.id = "c1-1";
      i.cluster_id = "c1";
      i.instance_class = "db.r5.large";
      i.status = cluster::InstanceStatus::kFailed;
      ASSERT_TRUE((*meta)->PutInstance(i).ok());
    }
    RdsServiceFixture::SetUp();
  }
};

TEST_F(ParameterHandlerTest, ClusterGroupLifecycleFieldsAndFaults) {
  auto r = Call("CreateDBClusterParameterGroup",
                "DBClusterParameterGroupName=pg1&DBParameterGroupFamily=aurora-mysql8.0"
                "&Description=mine");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("<DBClusterParameterGroup><DBClusterParameterGroupName>pg1</"
            "DBClusterParameterGroupName><DBParameterGroupFamily>aurora-mysql8.0</"
            "DBParameterGroupFamily><Description>mine</Description><DBClusterParameterGroupArn>"
            "arn:aws:rds:us-east-1:123456789012:cluster-pg:pg1</DBClusterParameterGroupArn></"
            "DBClusterParameterGroup>",
            r->result_xml);
  ExpectError(Call("CreateDBClusterParameterGroup",
                   "DBClusterParameterGroupName=pg1&DBParameterGroupFamily=aurora-mysql8.0"
                   "&Description=again"),
              400, "DBParameterGroupAlreadyExists");
  ExpectError(Call("CreateDBClusterParameterGroup",
                   "DBClusterParameterGroupName=pg2&DBParameterGroupFamily=mysql8.0&Description=x"),
              400, "InvalidParameterValue", "aurora-mysql8.0");
  ExpectError(Call("CreateDBClusterParameterGroup",
                   "DBClusterParameterGroupName=pg2&DBParameterGroupFamily=aurora-mysql8.0"
                   "&Description=x&Tags.Tag.1.Key=a"),
              400, "InvalidParameterValue", "Tags");
  r = Call("DescribeDBClusterParameterGroups");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml, "<DBClusterParameterGroupName>default.aurora-mysql8.0<"));
  EXPECT_TRUE(Contains(r->result_xml, "<DBClusterParameterGroupName>pg1<"));
  ExpectError(Call("DescribeDBClusterParameterGroups", "DBClusterParameterGroupName=nope"), 404,
              "DBParameterGroupNotFound");

  // Every bad parameter is named in one refusal, and nothing is stored.
  ExpectError(Call("ModifyDBClusterParameterGroup",
                   "DBClusterParameterGroupName=pg1"
                   "&Parameters.Parameter.1.ParameterName=max_connections"
                   "&Parameters.Parameter.1.ParameterValue=1&Parameters.Parameter.1.ApplyMethod=immediate"
                   "&Parameters.Parameter.2.ParameterName=general_log_file"
                   "&Parameters.Parameter.2.ParameterValue=x&Parameters.Parameter.2.ApplyMethod=immediate"
                   "&Parameters.Parameter.3.ParameterName=innodb_log_buffer_size"
                   "&Parameters.Parameter.3.ParameterValue=4194304"
                   "&Parameters.Parameter.3.ApplyMethod=immediate"),
              400, "InvalidParameterValue", "max_connections");
  r = Call("DescribeDBClusterParameters", "DBClusterParameterGroupName=pg1&Source=user");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("<Parameters></Parameters>", r->result_xml);
  r = Call("ModifyDBClusterParameterGroup",
           "DBClusterParameterGroupName=pg1&Parameters.Parameter.1.ParameterName=max_connections"
           "&Parameters.Parameter.1.ParameterValue=250&Parameters.Parameter.1.ApplyMethod=immediate");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("<DBClusterParameterGroupName>pg1</DBClusterParameterGroupName>", r->result_xml);
  r = Call("DescribeDBClusterParameters", "DBClusterParameterGroupName=pg1&Source=user");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("<Parameters><Parameter><ParameterName>max_connections</ParameterName>"
            "<ParameterValue>250</ParameterValue><Description>Most simultaneous client "
            "connections.</Description><Source>user</Source><ApplyType>dynamic</ApplyType>"
            "<DataType>integer</DataType><AllowedValues>10-100000</AllowedValues>"
            "<IsModifiable>true</IsModifiable><ApplyMethod>immediate</ApplyMethod>"
            "<SupportedEngineModes><member>provisioned</member></SupportedEngineModes>"
            "</Parameter></Parameters>",
            r->result_xml);
  // The engine says innodb_log_buffer_size is static.
  r = Call("DescribeDBClusterParameters", "DBClusterParameterGroupName=pg1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml, "<ParameterName>innodb_log_buffer_size</ParameterName>"));
  EXPECT_TRUE(Contains(r->result_xml, "<ApplyType>static</ApplyType>"));
  ExpectError(Call("DescribeDBClusterParameters", "DBClusterParameterGroupName=pg1&Source=me"), 400,
              "InvalidParameterValue", "Source");
  r = Call("DescribeEngineDefaultClusterParameters", "DBParameterGroupFamily=aurora-mysql8.0");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml,
                       "<EngineDefaults><DBParameterGroupFamily>aurora-mysql8.0<"));

  // The default group cannot change; a group in use cannot be deleted.
  ExpectError(Call("ModifyDBClusterParameterGroup",
                   "DBClusterParameterGroupName=default.aurora-mysql8.0"
                   "&Parameters.Parameter.1.ParameterName=max_connections"
                   "&Parameters.Parameter.1.ParameterValue=250"
                   "&Parameters.Parameter.1.ApplyMethod=immediate"),
              400, "InvalidDBParameterGroupState");
  ExpectError(Call("DeleteDBClusterParameterGroup",
                   "DBClusterParameterGroupName=default.aurora-mysql8.0"),
              400, "InvalidDBParameterGroupState");
  // c1 (failed: its volume is gone) cannot be modified; it uses group "used".
  ExpectError(Call("ModifyDBCluster", "DBClusterIdentifier=c1&DBClusterParameterGroupName=pg1"),
              400, "InvalidDBClusterStateFault");
  ExpectError(Call("ModifyDBCluster", "DBClusterIdentifier=c1&DBClusterParameterGroupName=nope"),
              404, "DBParameterGroupNotFound");
  ExpectError(Call("DeleteDBClusterParameterGroup", "DBClusterParameterGroupName=used"), 400,
              "InvalidDBParameterGroupState", "c1");
  r = Call("DescribeDBClusters", "DBClusterIdentifier=c1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml, "<DBClusterParameterGroup>used</DBClusterParameterGroup>"));
  r = Call("ResetDBClusterParameterGroup",
           "DBClusterParameterGroupName=pg1&ResetAllParameters=true");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ExpectError(Call("ResetDBClusterParameterGroup", "DBClusterParameterGroupName=pg1"), 400,
              "InvalidParameterCombination");
  r = Call("DeleteDBClusterParameterGroup", "DBClusterParameterGroupName=pg1");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(r->has_result);
  ExpectError(Call("DeleteDBClusterParameterGroup", "DBClusterParameterGroupName=pg1"), 404,
              "DBParameterGroupNotFound");
}

TEST_F(ParameterHandlerTest, InstanceGroupsAndDescribeDBInstances) {
  auto r = Call("CreateDBParameterGroup",
                "DBParameterGroupName=ipg&DBParameterGroupFamily=aurora-mysql8.0&Description=i");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(Contains(r->result_xml,
                       "<DBParameterGroupArn>arn:aws:rds:us-east-1:123456789012:pg:ipg<"));
  r = Call("ModifyDBParameterGroup",
           "DBParameterGroupName=ipg&Parameters.Parameter.1.ParameterName=slow_query_log"
           "&Parameters.Parameter.1.ParameterValue=ON&Parameters.Parameter.1.ApplyMethod=pending-reboot");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ("<DBParameterGroupName>ipg</DBParameterGroupName>", r->result_xml);
  r = Call("DescribeDBParameters", "DBParameterGroupName=ipg&Source=user");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml, "<ParameterValue>1</ParameterValue>"));
  EXPECT_TRUE(Contains(r->result_xml, "<DataType>boolean</DataType>"));
  r = Call("ResetDBParameterGroup",
           "DBParameterGroupName=ipg&Parameters.Parameter.1.ParameterName=slow_query_log");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  r = Call("DescribeDBParameters", "DBParameterGroupName=ipg&Source=user");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("<Parameters></Parameters>", r->result_xml);
  r = Call("DescribeDBInstances", "DBInstanceIdentifier=c1-1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml,
                       "<DBParameterGroups><DBParameterGroup><DBParameterGroupName>default."
                       "aurora-mysql8.0</DBParameterGroupName><ParameterApplyStatus>in-sync</"
                       "ParameterApplyStatus></DBParameterGroup></DBParameterGroups>"))
      << r->result_xml;
  ExpectError(Call("CreateDBInstance",
                   "DBInstanceIdentifier=c1-2&DBInstanceClass=db.r5.large&Engine=aurora-mysql"
                   "&DBClusterIdentifier=c1&DBParameterGroupName=nope"),
              404, "DBParameterGroupNotFound");
  r = Call("DescribeDBParameterGroups", "MaxRecords=20");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Contains(r->result_xml, "<DBParameterGroupName>ipg<"));
  ASSERT_TRUE(Call("DeleteDBParameterGroup", "DBParameterGroupName=ipg").ok());
}

}  // namespace
}  // namespace rwd::api
