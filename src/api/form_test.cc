#include "api/form.h"

#include <gtest/gtest.h>

#include <string>

namespace rwd::api {
namespace {

FormParams MustParse(std::string_view body) {
  ApiResult<FormParams> p = FormParams::Parse(body);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().ToString());
  return p.ok() ? std::move(p).value() : FormParams();
}

TEST(ApiPercentDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ("2026-11-25T10:00:00Z", *PercentDecode("2026-11-25T10%3A00%3a00Z", true));
  EXPECT_EQ("a b+c", *PercentDecode("a+b%2Bc", true));
  EXPECT_EQ("a+b", *PercentDecode("a+b", false));
  EXPECT_EQ("caf\xC3\xA9", *PercentDecode("caf%C3%A9", true));
}

TEST(ApiPercentDecode, RejectsBadEscapes) {
  for (const char* bad : {"%", "%4", "%zz", "abc%g1", "x%"}) {
    Result<std::string> r = PercentDecode(bad, true);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
    EXPECT_NE(std::string::npos, r.status().message().find("percent-encoding")) << bad;
  }
}

TEST(ApiUriEncode, Sigv4Rules) {
  EXPECT_EQ("AZaz09-_.~", UriEncode("AZaz09-_.~", false));
  EXPECT_EQ("a%20b%2Fc%2B%3D", UriEncode("a b/c+=", false));
  EXPECT_EQ("/a%20b/c", UriEncode("/a b/c", true));
  EXPECT_EQ("%C3%A9", UriEncode("\xC3\xA9", false));
}

TEST(ApiForm, ParsesCapturedCliBody) {
  FormParams p = MustParse(
      "Action=BacktrackDBCluster&Version=2014-10-31&DBClusterIdentifier=demo&BacktrackTo=2026-11-"
      "25T10%3A00%3A00Z&Force=true");
  ASSERT_EQ(5u, p.size());
  EXPECT_EQ("Action", p.entries()[0].first);
  EXPECT_EQ("BacktrackDBCluster", *p.Find("Action"));
  EXPECT_EQ("demo", *p.Required("DBClusterIdentifier"));
  EXPECT_EQ(true, p.GetBool("Force")->value());
  ApiResult<std::optional<int64_t>> t = p.GetTimestamp("BacktrackTo");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(1795600800LL * 1'000'000'000, t->value());
  EXPECT_FALSE(p.Has("Nope"));
  EXPECT_EQ("dflt", p.GetOr("Nope", "dflt"));
  EXPECT_FALSE(p.Optional("Nope").has_value());
}

TEST(ApiForm, EmptySegmentsAndMissingValues) {
  FormParams p = MustParse("a=1&&b&c=&");
  EXPECT_EQ(3u, p.size());
  EXPECT_EQ("", *p.Find("b"));
  EXPECT_EQ("", *p.Find("c"));
  EXPECT_TRUE(MustParse("").empty());
}

TEST(ApiForm, MalformedBody) {
  ApiResult<FormParams> r = FormParams::Parse("Action=X&Bad=%G0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("MalformedQueryString", r.error().code);
  EXPECT_NE(std::string::npos, r.error().message.find("Bad"));
  r = FormParams::Parse("=value");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("MalformedQueryString", r.error().code);
  r = FormParams::Parse("a=1&a=2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("InvalidParameterValue", r.error().code);
  EXPECT_EQ(400, r.error().http_status);
}

TEST(ApiForm, RequiredParameter) {
  FormParams p = MustParse("Empty=&Blank=%20%20&Ok=x");
  ApiResult<std::string> r = p.Required("Missing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("MissingParameter", r.error().code);
  EXPECT_EQ(400, r.error().http_status);
  EXPECT_NE(std::string::npos, r.error().message.find("Missing"));
  for (const char* name : {"Empty", "Blank"}) {
    r = p.Required(name);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ("InvalidParameterValue", r.error().code);
    EXPECT_NE(std::string::npos, r.error().message.find("must not be blank"));
  }
  EXPECT_EQ("x", *p.Required("Ok"));
}

TEST(ApiForm, Booleans) {
  FormParams p = MustParse("A=true&B=false&C=TRUE&D=yes&E=");
  EXPECT_EQ(true, p.GetBool("A")->value());
  EXPECT_EQ(false, p.GetBool("B")->value());
  EXPECT_EQ(true, p.GetBool("C")->value());
  EXPECT_FALSE(p.GetBool("Z")->has_value());
  for (const char* bad : {"D", "E"}) {
    ApiResult<std::optional<bool>> r = p.GetBool(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ("InvalidParameterValue", r.error().code);
    EXPECT_NE(std::string::npos, r.error().message.find("true or false"));
  }
}

TEST(ApiForm, Integers) {
  FormParams p = MustParse(
      "A=100&B=-5&C=%2B7&D=12x&E=&F=99999999999999999999&G=1.5&H=%2012&I=72000&J="
      "9223372036854775807");
  EXPECT_EQ(100, p.GetInt("A")->value());
  EXPECT_EQ(-5, p.GetInt("B")->value());
  EXPECT_EQ(7, p.GetInt("C")->value());
  EXPECT_EQ(INT64_MAX, p.GetInt("J")->value());
  EXPECT_FALSE(p.GetInt("Missing")->has_value());
  for (const char* bad : {"D", "E", "G", "H"}) {
    ApiResult<std::optional<int64_t>> r = p.GetInt(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ("InvalidParameterValue", r.error().code);
    EXPECT_NE(std::string::npos, r.error().message.find("expected an integer")) << bad;
  }
  ApiResult<std::optional<int64_t>> big = p.GetInt("F");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(std::string::npos, big.error().message.find("out of range"));
  // BacktrackWindow: 0..259200 seconds (72 hours).
  EXPECT_EQ(72000, p.GetInt("I", 0, 259200)->value());
  ApiResult<std::optional<int64_t>> range = p.GetInt("A", 0, 20);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(std::string::npos, range.error().message.find("between 0 and 20"));
}

// Found by form_fuzz: "+-5" (a '+' skipped, then from_chars reading "-5") was taken as -5.
TEST(ApiForm, IntegersTakeOneSignOnly) {
  FormParams p = MustParse("A=%2B-5&B=%2B%2B5&C=-%2B5&D=--5&E=%2B&F=-&G=%2B0&H=-0");
  for (const char* bad : {"A", "B", "C", "D", "E", "F"}) {
    ApiResult<std::optional<int64_t>> r = p.GetInt(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ("InvalidParameterValue", r.error().code);
    EXPECT_NE(std::string::npos, r.error().message.find("expected an integer")) << bad;
  }
  EXPECT_EQ(0, p.GetInt("G")->value());
  EXPECT_EQ(0, p.GetInt("H")->value());
}

TEST(ApiForm, Timestamps) {
  FormParams p = MustParse(
      "A=2026-11-25T10%3A00%3A00.250000Z&B=2026-11-25T12%3A00%3A00%2B02%3A00&C=yesterday");
  EXPECT_EQ(1795600800LL * 1'000'000'000 + 250'000'000, p.GetTimestamp("A")->value());
  EXPECT_EQ(1795600800LL * 1'000'000'000, p.GetTimestamp("B")->value());
  ApiResult<std::optional<int64_t>> r = p.GetTimestamp("C");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("InvalidParameterValue", r.error().code);
  EXPECT_NE(std::string::npos, r.error().message.find("2026-11-25T10:00:00Z"));
}

TEST(ApiForm, StringLists) {
  FormParams p = MustParse(
      "EventCategories.EventCategory.2=backtrack&EventCategories.EventCategory.1=creation&"
      "EventCategories.EventCategory.10=deletion&"
      "VpcSecurityGroupIds.VpcSecurityGroupId.1=sg-1&EnableCloudwatchLogsExports.member.1=error&"
      "AvailabilityZones=");
  EXPECT_EQ((std::vector<std::string>{"creation", "backtrack", "deletion"}),
            *p.GetStringList("EventCategories", "EventCategory"));
  EXPECT_EQ(std::vector<std::string>{"sg-1"},
            *p.GetStringList("VpcSecurityGroupIds", "VpcSecurityGroupId"));
  EXPECT_EQ(std::vector<std::string>{"error"},
            *p.GetStringList("EnableCloudwatchLogsExports", "member"));
  EXPECT_TRUE(p.GetStringList("AvailabilityZones", "AvailabilityZone")->empty());
  EXPECT_TRUE(p.GetStringList("Nothing", "Item")->empty());

  for (const char* bad : {"L.I.0=x", "L.I.x=y", "L.I.01=z", "L.I.1.Sub=w"}) {
    FormParams b = MustParse(bad);
    ApiResult<std::vector<std::string>> r = b.GetStringList("L", "I");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ("InvalidParameterValue", r.error().code) << bad;
  }
}

TEST(ApiForm, FiltersAsTheCliSendsThem) {
  // Captured from `--filters Name=engine,Values=aurora-mysql,aurora-postgresql`.
  FormParams p = MustParse(
      "Action=DescribeDBClusters&Version=2014-10-31&Filters.Filter.1.Name=engine&"
      "Filters.Filter.1.Values.Value.1=aurora-mysql&Filters.Filter.1.Values.Value.2=aurora-"
      "postgresql&Filters.Filter.2.Name=db-cluster-id&Filters.Filter.2.Values.Value.1=demo");
  ApiResult<std::vector<Filter>> f = p.GetFilters();
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  ASSERT_EQ(2u, f->size());
  EXPECT_EQ("engine", (*f)[0].name);
  EXPECT_EQ((std::vector<std::string>{"aurora-mysql", "aurora-postgresql"}), (*f)[0].values);
  EXPECT_EQ("db-cluster-id", (*f)[1].name);
  EXPECT_EQ(std::vector<std::string>{"demo"}, (*f)[1].values);

  FormParams bad = MustParse("Filters.Filter.1.Values.Value.1=x");
  ApiResult<std::vector<Filter>> r = bad.GetFilters();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("MissingParameter", r.error().code);
}

TEST(ApiForm, TagsAndStructs) {
  FormParams p = MustParse(
      "Tags.Tag.1.Key=team&Tags.Tag.1.Value=db&Tags.Tag.2.Key=empty&"
      "ScalingConfiguration.MinCapacity=2&ScalingConfiguration.MaxCapacity=8&ScalingConfigurationX="
      "1");
  ApiResult<std::vector<Tag>> tags = p.GetTags();
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(2u, tags->size());
  EXPECT_EQ("team", (*tags)[0].key);
  EXPECT_EQ("db", (*tags)[0].value);
  EXPECT_EQ("empty", (*tags)[1].key);
  EXPECT_EQ("", (*tags)[1].value);

  FormParams s = p.GetStruct("ScalingConfiguration");
  ASSERT_EQ(2u, s.size());
  EXPECT_EQ("MinCapacity", s.entries()[0].first);
  EXPECT_EQ(8, s.GetInt("MaxCapacity")->value());

  ApiResult<std::vector<FormParams>> raw = p.GetStructList("Tags", "Tag");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ("db", *(*raw)[0].Find("Value"));

  FormParams bad = MustParse("Tags.Tag.1.Value=v");
  ASSERT_FALSE(bad.GetTags().ok());
  EXPECT_EQ("MissingParameter", bad.GetTags().error().code);
}

}  // namespace
}  // namespace rwd::api
