#include "api/xml.h"

#include <gtest/gtest.h>

#include <string>

namespace rwd::api {
namespace {

TEST(ApiXmlEscape, EntitiesAndInvalidBytes) {
  EXPECT_EQ("a&amp;b&lt;c&gt;d&quot;e&apos;f", XmlEscape("a&b<c>d\"e'f"));
  EXPECT_EQ("line1\nline2\ttab&#13;", XmlEscape("line1\nline2\ttab\r"));
  EXPECT_EQ("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
            XmlEscape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_EQ("x\xEF\xBF\xBDy", XmlEscape(std::string("x\x01y")));
  EXPECT_EQ("x\xEF\xBF\xBDy", XmlEscape(std::string("x\0y", 3)));
  EXPECT_EQ("\xEF\xBF\xBD", XmlEscape("\xC3"));                  // truncated sequence
  EXPECT_EQ("\xEF\xBF\xBD\xEF\xBF\xBD", XmlEscape("\xC0\xAF"));  // overlong
  EXPECT_EQ("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", XmlEscape("\xED\xA0\x80"));  // surrogate
}

TEST(ApiXmlWriter, BuildsDescribeDBClustersResult) {
  struct Cluster {
    std::string id;
    std::string status;
  };
  std::vector<Cluster> clusters = {{"demo", "available"}, {"a<b", "backtracking"}};
  XmlWriter w;
  w.List("DBClusters", "DBCluster", clusters, [](XmlWriter& x, const Cluster& c) {
    x.Element("DBClusterIdentifier", c.id)
        .Element("Status", c.status)
        .IntElement("BacktrackWindow", 72000)
        .BoolElement("DeletionProtection", false)
        .TimeElement("ClusterCreateTime", 1795597200LL * 1'000'000'000 + 123'000'000)
        .OptElement("Missing", std::nullopt)
        .StringList("AvailabilityZones", "AvailabilityZone", {"us-east-1a"});
  });
  EXPECT_EQ(0u, w.depth());
  EXPECT_EQ(
      "<DBClusters><DBCluster><DBClusterIdentifier>demo</DBClusterIdentifier><Status>available"
      "</Status><BacktrackWindow>72000</BacktrackWindow><DeletionProtection>false"
      "</DeletionProtection><ClusterCreateTime>2026-11-25T09:00:00.123Z</ClusterCreateTime>"
      "<AvailabilityZones><AvailabilityZone>us-east-1a</AvailabilityZone></AvailabilityZones>"
      "</DBCluster><DBCluster><DBClusterIdentifier>a&lt;b</DBClusterIdentifier><Status>"
      "backtracking</Status><BacktrackWindow>72000</BacktrackWindow><DeletionProtection>false"
      "</DeletionProtection><ClusterCreateTime>2026-11-25T09:00:00.123Z</ClusterCreateTime>"
      "<AvailabilityZones><AvailabilityZone>us-east-1a</AvailabilityZone></AvailabilityZones>"
      "</DBCluster></DBClusters>",
      std::move(w).Take());

  XmlWriter empty;
  empty.StringList("DBClusters", "DBCluster", {});
  EXPECT_EQ("<DBClusters></DBClusters>", std::move(empty).Take());

  XmlWriter nested;
  nested.Open("A").Open("B").Element("C", "1");
  EXPECT_EQ(2u, nested.depth());
  nested.Close().Close();
  EXPECT_EQ("<A><B><C>1</C></B></A>", nested.str());
}

TEST(ApiResponseXml, SuccessEnvelope) {
  EXPECT_EQ(
      "<DescribeDBClustersResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"
      "<DescribeDBClustersResult><DBClusters></DBClusters></DescribeDBClustersResult>"
      "<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>"
      "</DescribeDBClustersResponse>\n",
      SuccessResponseXml("DescribeDBClusters", "<DBClusters></DBClusters>", "rid-1"));
  EXPECT_EQ(
      "<AddTagsToResourceResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"
      "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
      "</AddTagsToResourceResponse>\n",
      SuccessResponseXml("AddTagsToResource", "", "r", /*has_result=*/false));
}

TEST(ApiResponseXml, ErrorDocument) {
  ApiError e = ApiError::DBClusterNotFound("demo");
  EXPECT_EQ(404, e.http_status);
  EXPECT_EQ(
      "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error><Type>Sender"
      "</Type><Code>DBClusterNotFoundFault</Code><Message>DBCluster demo not found.</Message>"
      "</Error><RequestId>536fa4e7</RequestId></ErrorResponse>\n",
      ErrorResponseXml(e, "536fa4e7"));
  std::string internal = ErrorResponseXml(ApiError::InternalFailure("a & b"), "r");
  EXPECT_NE(std::string::npos, internal.find("<Type>Receiver</Type>"));
  EXPECT_NE(std::string::npos, internal.find("<Message>a &amp; b</Message>"));
}

TEST(ApiErrorCodes, MatchTheRdsModel) {
  struct Case {
    ApiError e;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {ApiError::DBClusterNotFound("c"), 404, "DBClusterNotFoundFault"},
      {ApiError::DBClusterAlreadyExists("c"), 400, "DBClusterAlreadyExistsFault"},
      {ApiError::InvalidDBClusterState("m"), 400, "InvalidDBClusterStateFault"},
      {ApiError::DBClusterBacktrackNotFound("m"), 404, "DBClusterBacktrackNotFoundFault"},
      {ApiError::DBClusterQuotaExceeded("m"), 403, "DBClusterQuotaExceededFault"},
      {ApiError::DBClusterSnapshotNotFound("s"), 404, "DBClusterSnapshotNotFoundFault"},
      {ApiError::DBClusterParameterGroupNotFound("p"), 404, "DBClusterParameterGroupNotFound"},
      {ApiError::DBInstanceNotFound("i"), 404, "DBInstanceNotFound"},
      {ApiError::DBInstanceAlreadyExists("i"), 400, "DBInstanceAlreadyExists"},
      {ApiError::InvalidDBInstanceState("m"), 400, "InvalidDBInstanceState"},
      {ApiError::InvalidRestore("m"), 400, "InvalidRestoreFault"},
      {ApiError::StorageQuotaExceeded("m"), 400, "StorageQuotaExceeded"},
      {ApiError::InsufficientStorageClusterCapacity("m"), 400,
       "InsufficientStorageClusterCapacity"},
      {ApiError::InvalidParameterValue("m"), 400, "InvalidParameterValue"},
      {ApiError::InvalidParameterCombination("m"), 400, "InvalidParameterCombination"},
      {ApiError::MissingParameter("X"), 400, "MissingParameter"},
      {ApiError::MissingAction(), 400, "MissingAction"},
      {ApiError::InvalidAction("Foo"), 400, "InvalidAction"},
      {ApiError::MalformedQueryString("m"), 404, "MalformedQueryString"},
      {ApiError::InternalFailure(), 500, "InternalFailure"},
      {ApiError::ServiceUnavailable("m"), 503, "ServiceUnavailable"},
      {ApiError::MissingAuthenticationToken(), 403, "MissingAuthenticationToken"},
      {ApiError::IncompleteSignature("m"), 400, "IncompleteSignature"},
      {ApiError::InvalidClientTokenId(), 403, "InvalidClientTokenId"},
      {ApiError::SignatureDoesNotMatch(), 403, "SignatureDoesNotMatch"},
      {ApiError::RequestExpired("m"), 403, "RequestExpired"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status, c.e.http_status) << c.code;
    EXPECT_EQ(c.code, c.e.code);
    EXPECT_FALSE(c.e.message.empty()) << c.code;
    EXPECT_EQ(c.status < 500, c.e.sender_fault) << c.code;
  }
  EXPECT_EQ("InvalidParameterValue", ApiErrorFromStatus(Status::InvalidArgument("bad")).code);
  EXPECT_EQ(500, ApiErrorFromStatus(Status::IOError("disk")).http_status);
  EXPECT_EQ(503, ApiErrorFromStatus(Status::Unavailable("later")).http_status);
}

TEST(ApiResult, MacrosPropagate) {
  auto inner = [](bool fail) -> ApiResult<int> {
    if (fail) return ApiError::MissingParameter("X");
    return 7;
  };
  auto outer = [&](bool fail) -> ApiResult<std::string> {
    API_ASSIGN_OR_RETURN(int v, inner(fail));
    API_RETURN_IF_ERROR(ApiOk());
    return std::to_string(v);
  };
  EXPECT_EQ("7", *outer(false));
  ApiResult<std::string> r = outer(true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("MissingParameter", r.error().code);
}

}  // namespace
}  // namespace rwd::api
