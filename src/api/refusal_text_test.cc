// The refusal renderer: every field has its wire name, every reason its own text, and a refusal
// made in src/cluster reaches the API with that text.
#include "api/refusal_text.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "api/rds_handler.h"

namespace rwd::api {
namespace {

using cluster::ClusterError;
using cluster::ClusterStatus;
using cluster::Field;
using cluster::Reason;
using cluster::RefusalDetail;
using cluster::RefusalItem;

// A detail with every value filled, so that a text that forgets one shows a gap, not a crash.
RefusalDetail Filled(Reason reason, Field field) {
  RefusalDetail d;
  d.reason = reason;
  d.field = field;
  d.id = "c1";
  d.other = "w1";
  d.input = "given";
  d.cluster_status = ClusterStatus::kStopped;
  d.instance_status = cluster::InstanceStatus::kRebooting;
  d.state = "creating";
  d.time_ns = 1'795'600'800'000'000'000;
  d.time2_ns = 1'795'600'000'000'000'000;
  d.number = 64;
  d.number2 = 65;
  d.cause = "the engine said no";
  d.items = {RefusalItem{.reason = Reason::kParamRepeated, .name = "max_connections"}};
  return d;
}

TEST(RefusalText, EveryFieldHasAWireName) {
  std::set<std::string> seen;
  for (int i = 1; i < cluster::kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    const std::string name(FieldWireName(f));
    EXPECT_FALSE(name.empty()) << cluster::FieldName(f);
    EXPECT_TRUE(seen.insert(name).second) << name << " names two fields";
  }
  EXPECT_EQ("", FieldWireName(Field::kNone));
}

TEST(RefusalText, EveryReasonHasItsOwnText) {
  for (int i = 0; i < cluster::kReasonCount; ++i) {
    const auto r = static_cast<Reason>(i);
    const std::string text = RefusalText(Filled(r, Field::kClusterId));
    EXPECT_FALSE(text.empty()) << cluster::ReasonName(r);
    EXPECT_NE("The request was refused.", text) << cluster::ReasonName(r) << " has no text";
  }
}

TEST(RefusalText, FieldsAreNamedAsOnTheWire) {
  EXPECT_EQ("The request must contain the parameter DBInstanceClass.",
            RefusalText(Filled(Reason::kMissingField, Field::kInstanceClass)));
  for (int i = 1; i < cluster::kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    for (Reason r : {Reason::kMissingField, Reason::kIdentifierInvalid, Reason::kTimeInFuture}) {
      const std::string text = RefusalText(Filled(r, f));
      EXPECT_NE(std::string::npos, text.find(FieldWireName(f))) << text;
    }
  }
  EXPECT_EQ("BacktrackTo is in the future: it must be a time before now.",
            RefusalText(Filled(Reason::kTimeInFuture, Field::kBacktrackTo)));
}

TEST(RefusalText, ValuesAreRendered) {
  RefusalDetail d = Filled(Reason::kMomentBeforeEarliest, Field::kMoment);
  EXPECT_EQ("The time 2026-11-25T10:00:00Z is before the earliest time DB cluster c1 keeps "
            "(2026-11-25T09:46:40Z); give a time from then to now.",
            RefusalText(d));
  d = Filled(Reason::kClusterNotModifiable, Field::kNone);
  EXPECT_EQ("DB cluster c1 is stopped; it can be modified when it is available. It is stopped: "
            "start it first (StartDBCluster) and wait until it is available.",
            RefusalText(d));
  d = Filled(Reason::kParametersInvalid, Field::kParameters);
  d.items.push_back(RefusalItem{.reason = Reason::kParamValueListMember, .name = "sql_mode",
                                .value = "ANSI,NOPE", .other = "ANSI,TRADITIONAL", .part = "NOPE"});
  EXPECT_EQ("Invalid parameters: max_connections is given more than once; sql_mode = ANSI,NOPE: "
            "the value has NOPE, not one of ANSI,TRADITIONAL.",
            RefusalText(d));
}

// A refusal made by the cluster service reaches the API error with its kind's code and its text.
TEST(RefusalText, ReachesTheApiError) {
  const Status s = cluster::Refuse(ClusterError::kInvalidClusterState,
                                   Reason::kClusterNotStartable,
                                   {.id = "c1", .cluster_status = ClusterStatus::kStopping});
  const ApiError e = ApiErrorFromClusterStatus(s.WithContext("starting"));
  EXPECT_EQ("InvalidDBClusterStateFault", e.code);
  EXPECT_EQ("DB cluster c1 is stopping; only a stopped cluster can be started. Wait until it is "
            "stopped.",
            e.message);
  // Not a refusal: the diagnostic stays.
  EXPECT_EQ("disk on fire", StatusText(Status::IOError("disk on fire")));
}

}  // namespace
}  // namespace rwd::api
