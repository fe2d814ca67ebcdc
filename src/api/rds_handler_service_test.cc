// RdsHandler over a ClusterService with no running cluster: on an empty data dir, or on
// metadata left by an earlier rewindd whose volumes are gone (so nothing is mounted and no
// mariadbd runs): its refusals and faults, reboots, deletion protection, tags and paging.
#include "api/rds_handler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/handler_test_util.h"
#include "api/test_util.h"
#include "api/timeparse.h"
#include "cluster/meta_db.h"

namespace rwd::api {
namespace {

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
