// AsOfHandler: Rewind's own actions on a cluster's past (issue 17), in the Query-API style of
// RdsHandler (RDS has no such actions), over a cluster::TimeTravel:
//
//   StartDBClusterTimeTravel     DBClusterIdentifier, Time (ISO 8601; absent: now), IdleMinutes
//                                (1..1440, default 10) → <TimeTravel>
//   DescribeDBClusterTimeTravels DBClusterIdentifier → <TimeTravels><TimeTravel>...
//   StopDBClusterTimeTravel      DBClusterIdentifier, TimeTravelIdentifier (absent: all)
//                                → <TimeTravels> stopped
//   QueryDBClusterAsOf           DBClusterIdentifier, Time, Sql, Database → <Output> (what
//                                `mysql -B` prints)
//   RestoreDBClusterTable        DBClusterIdentifier, TableName (DB.TABLE), RestoreToTime,
//                                RestoreRelatedTables, DryRun → <Tables>, <Method>,
//                                <CreatedTables>, <Rows>
//   DiffDBCluster                DBClusterIdentifier, StartTime, EndTime, TableName (DB.TABLE;
//                                absent: all), Format (table|json|sql|summary, default table)
//                                → <Output> (TimeTravel::Diff)
// A <TimeTravel> has TimeTravelIdentifier, DBClusterIdentifier, Time, Endpoint, Port,
// MasterUsername, StartTime, IdleMinutes, LastActivityTime, ReadySeconds.
//
// Every other parameter is refused by name (InvalidParameterValue); a missing required one is
// MissingParameter; service refusals keep their AWS code (ApiErrorFromClusterStatus).
// Thread safety: Handle may be called concurrently.
#pragma once

#include <string_view>
#include <vector>

#include "api/server.h"
#include "cluster/time_travel.h"

namespace rwd::api {

class AsOfHandler : public ApiHandler {
 public:
  // `time_travel` is not owned and must outlive the handler.
  explicit AsOfHandler(cluster::TimeTravel* time_travel) : tt_(time_travel) {}
  ApiResult<ApiResponse> Handle(const ApiRequest& request) override;
  static const std::vector<std::string_view>& Actions();

 private:
  cluster::TimeTravel* tt_;
};

// Serves `first`'s actions with `first`, everything else with `rest` (not owned).
class ChainHandler : public ApiHandler {
 public:
  ChainHandler(ApiHandler* first, std::vector<std::string_view> first_actions, ApiHandler* rest)
      : first_(first), first_actions_(std::move(first_actions)), rest_(rest) {}
  ApiResult<ApiResponse> Handle(const ApiRequest& request) override;

 private:
  ApiHandler* first_;
  std::vector<std::string_view> first_actions_;
  ApiHandler* rest_;
};

}  // namespace rwd::api
