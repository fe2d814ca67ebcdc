// RdsHandler: the RDS Query API actions Rewind serves, translated onto a cluster::ClusterService.
// It only translates (DESIGN.md, "Layering"): request parameters → service requests, service
// views → the output shapes of reference/rds-api.md, service refusals → AWS errors.
//
// Actions: CreateDBCluster, DescribeDBClusters, ModifyDBCluster, DeleteDBCluster,
// CreateDBInstance, DescribeDBInstances, DeleteDBInstance, RebootDBInstance, BacktrackDBCluster,
// DescribeDBClusterBacktracks, RestoreDBClusterToPointInTime, DescribeEvents, AddTagsToResource,
// ListTagsForResource, RemoveTagsFromResource, CreateDBClusterSnapshot,
// DescribeDBClusterSnapshots (manual snapshots only), DeleteDBClusterSnapshot,
// CopyDBClusterSnapshot, RestoreDBClusterFromSnapshot, StopDBCluster, StartDBCluster
// (lifecycle_handler.cc), FailoverDBCluster (reader_handler.cc), and Rewind's own
// DescribeDBClusterActivity (RDS has no such action; it follows the Query-API style of the
// others), and the parameter group actions of api/parameter_handler.h (dispatched there). Anything else is answered with InvalidAction.
//
// DescribeDBClusterActivity: DBClusterIdentifier (required), StartTime, EndTime (ISO 8601),
// Step (whole seconds, 1..31622400). Answers DBClusterIdentifier, StartTime and EndTime (the
// interval rounded out to whole steps), Step, EarliestTime (of the window), and
// <Points><Point><Time/><Bytes/><Records/></Point>...</Points>: every step, zeros included, at
// most store::kMaxActivityPoints (no paging). Errors: DBClusterNotFoundFault; InvalidParameterValue
// naming StartTime, EndTime or Step (ClusterService::Activity).
//
// Every parameter an action accepts is honoured or refused by value (AcceptedParameters); any
// other parameter is refused with InvalidParameterValue naming it, never ignored. Describe*
// actions page as RDS does: MaxRecords 20..100 (default 100), an opaque Marker in the answer
// while more remain, a Marker not issued by the same action → InvalidParameterValue. Error
// messages quote user input cut to a bounded length (ShownInput).
//
// Errors:
//   - a required parameter that is absent → 400 MissingParameter naming it;
//   - a malformed value (not a boolean, integer or ISO 8601 timestamp; an unknown filter name;
//     a parameter Rewind cannot honour, such as EngineMode serverless) → 400
//     InvalidParameterValue (or InvalidParameterCombination) naming the parameter;
//   - a service refusal (a typed refusal, cluster/cluster_error.h) → Aurora's code for its kind
//     (RdsErrorCode) with the HTTP status the RDS model gives it (ApiErrorFromClusterStatus);
//   - any other service failure → ApiErrorFromStatus (api_error.h).
// Parameters are validated before the service is called, so a malformed request changes
// nothing.
//
// Output notes. Both AWS CLIs and boto3 order the members of a parsed structure as the service
// model lists them, whatever the XML order; the `| grep -i EngineMode -A 2 | grep Status` step
// of the backtrack lab therefore sees the members the model lists right after EngineMode, not
// the cluster's Status (see WriteDBCluster).
//
// Thread safety: Handle may be called concurrently (ClusterService is thread-safe); the free
// functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "api/form.h"
#include "api/server.h"
#include "api/xml.h"
#include "cluster/cluster_service.h"
#include "common/status.h"

namespace rwd::api {

// The HTTP status the RDS model gives an error code: 404 for the *NotFound faults, 403 for
// DBClusterQuotaExceededFault and InsufficientDBClusterCapacityFault, 400 otherwise.
int HttpStatusForRdsErrorCode(std::string_view code);

// The AWS error code Aurora sends for a refusal of `kind`.
std::string_view RdsErrorCode(cluster::ClusterError kind);
// The word Aurora shows for a state: a cluster's Status, DBInstanceStatus, a backtrack's Status
// ("available", "backtracking", "pending", …). The one table of these words (the console and
// the metrics show the same ones).
std::string_view AuroraStatusWord(cluster::ClusterStatus status);
std::string_view AuroraStatusWord(cluster::InstanceStatus status);
std::string_view AuroraStatusWord(cluster::BacktrackStatus status);
// A ClusterService failure → the API error: a refusal (cluster::ErrorKindOf) gets its kind's
// code (RdsErrorCode) and its text (RefusalText, api/refusal_text.h); any other failure goes
// through ApiErrorFromStatus.
ApiError ApiErrorFromClusterStatus(const Status& status);

// "arn:aws:rds:<region>:<account>:<kind>:<id>" → "<id>" when `value` is such an ARN of `kind`
// ("cluster", "db"); otherwise `value` unchanged. RDS accepts either form for identifiers.
std::string IdentifierFromArn(std::string_view value, std::string_view kind);

// --- Request parsing (exposed for tests) ---

// A DescribeX filter as Rewind applies it: one name, any of its values matches.
struct FilterSet {
  std::vector<Filter> filters;
  // True if every filter named `name` has `value` among its values (true if there is none).
  bool Matches(std::string_view name, std::string_view value) const;
};

// Reads `Filters.Filter.N`; every name must be in `allowed`, every filter must have values.
// Failure: MissingParameter (no Name), InvalidParameterValue (unknown name, no values).
ApiResult<FilterSet> ParseFilters(const FormParams& params,
                                  const std::vector<std::string_view>& allowed);

// The parameters (top-level names: `Tags` covers Tags.Tag.N.Key) `action` accepts; nullptr for
// an action not served.
const std::vector<std::string_view>* AcceptedParameters(std::string_view action);
// Failure: InvalidParameterValue naming the first parameter `action` does not accept (Action,
// Version and X-Amz-* are always accepted); InvalidAction for an action not served.
ApiStatus CheckAcceptedParameters(const FormParams& params, std::string_view action);

// Paging of a Describe action.
struct Paging {
  size_t max_records = 100;
  size_t offset = 0;  // of the first item of this page, from the Marker
};
// MaxRecords (20..100) and Marker. Failure: InvalidParameterValue for MaxRecords out of range
// or a Marker that `action` did not issue.
ApiResult<Paging> ParsePaging(const FormParams& params, std::string_view action);
// The Marker of the page starting at `offset` of `action`'s list.
std::string EncodeMarker(std::string_view action, size_t offset);

// A tagged resource named by ARN: arn:aws:rds:<region>:<account>:cluster:<id> or :db:<id>.
struct ResourceArn {
  cluster::ResourceKind kind = cluster::ResourceKind::kCluster;
  std::string id;
  std::string arn;
  std::string account;  // the ARN's account field
};
// Failure: InvalidParameterValue for a malformed ARN or a resource type other than cluster/db.
ApiResult<ResourceArn> ParseResourceArn(std::string_view arn);

ApiResult<cluster::CreateClusterRequest> ParseCreateDBCluster(const FormParams& params);
ApiResult<cluster::ModifyClusterRequest> ParseModifyDBCluster(const FormParams& params);
ApiResult<cluster::DeleteClusterRequest> ParseDeleteDBCluster(const FormParams& params);
ApiResult<cluster::CreateInstanceRequest> ParseCreateDBInstance(const FormParams& params);
ApiResult<cluster::BacktrackRequest> ParseBacktrackDBCluster(const FormParams& params);
// SourceDBClusterIdentifier: an identifier or a cluster ARN. The ARN of `own_account` (this
// node's account, RenderOptions::account_id) names a cluster here; of any other account
// (arn:aws:rds:REGION:NAME:cluster:ID), cluster ID of the peer named NAME (rewindd
// --peer-object-store NAME=s3://...): a peer clone (CloneRequest::source_peer), which the
// service refuses with DBClusterNotFoundFault when NAME is no configured peer.
ApiResult<cluster::CloneRequest> ParseRestoreDBClusterToPointInTime(
    const FormParams& params, std::string_view own_account = "123456789012");
ApiResult<cluster::RestoreSnapshotRequest> ParseRestoreDBClusterFromSnapshot(
    const FormParams& params);
ApiResult<cluster::EventQuery> ParseDescribeEvents(const FormParams& params);
ApiResult<cluster::ActivityRequest> ParseDescribeDBClusterActivity(const FormParams& params);

// --- Rendering (exposed for tests): the members of one list item / result structure ---

struct RenderOptions {
  // The ARNs' region and account (arn:aws:rds:<region>:<account>:cluster:<id>).
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string availability_zone = "us-east-1a";
};

// The members of a <DBCluster>.
void WriteDBCluster(XmlWriter& w, const cluster::ClusterView& c, const RenderOptions& options);
// The members of a <DBInstance>.
void WriteDBInstance(XmlWriter& w, const cluster::InstanceView& i, const RenderOptions& options);
// The members of a DBClusterBacktrack (BacktrackDBClusterResult or <DBClusterBacktrack>).
void WriteDBClusterBacktrack(XmlWriter& w, const cluster::BacktrackView& b);
// The members of a <DBClusterSnapshot>.
void WriteDBClusterSnapshot(XmlWriter& w, const cluster::SnapshotView& s,
                            const RenderOptions& options);
// The text of an event as Aurora words it (its RDS-EVENT message), from its kind and detail.
std::string RenderEventMessage(cluster::EventKind kind, const std::string& source_id,
                               const std::string& detail);
// The members of an <Event>.
void WriteEvent(XmlWriter& w, const cluster::EventView& e, const RenderOptions& options);
// The ARN of a resource: `type` "cluster" (a DB cluster) or "db" (a DB instance).
std::string RdsArn(const RenderOptions& options, std::string_view type, std::string_view id);
// <TagList><Tag><Key/><Value/></Tag>...</TagList>
void WriteTagList(XmlWriter& w, const std::vector<cluster::TagView>& tags);

// --- The handler ---

class RdsHandler : public ApiHandler {
 public:
  // `service` is not owned and must outlive the handler.
  explicit RdsHandler(cluster::ClusterService* service, RenderOptions options = {});

  ApiResult<ApiResponse> Handle(const ApiRequest& request) override;

  // The actions Handle serves, in the order listed above.
  static const std::vector<std::string_view>& Actions();

 private:
  ApiResult<ApiResponse> CreateDBCluster(const FormParams& p);
  ApiResult<ApiResponse> DescribeDBClusters(const FormParams& p);
  ApiResult<ApiResponse> ModifyDBCluster(const FormParams& p);
  ApiResult<ApiResponse> DeleteDBCluster(const FormParams& p);
  ApiResult<ApiResponse> CreateDBInstance(const FormParams& p);
  ApiResult<ApiResponse> DescribeDBInstances(const FormParams& p);
  ApiResult<ApiResponse> DeleteDBInstance(const FormParams& p);
  ApiResult<ApiResponse> RebootDBInstance(const FormParams& p);
  ApiResult<ApiResponse> BacktrackDBCluster(const FormParams& p);
  ApiResult<ApiResponse> DescribeDBClusterBacktracks(const FormParams& p);
  ApiResult<ApiResponse> RestoreDBClusterToPointInTime(const FormParams& p);
  ApiResult<ApiResponse> DescribeEvents(const FormParams& p);
  ApiResult<ApiResponse> AddTagsToResource(const FormParams& p);
  ApiResult<ApiResponse> ListTagsForResource(const FormParams& p);
  ApiResult<ApiResponse> RemoveTagsFromResource(const FormParams& p);
  ApiResult<ApiResponse> DescribeDBClusterActivity(const FormParams& p);
  ApiResult<ApiResponse> CreateDBClusterSnapshot(const FormParams& p);
  ApiResult<ApiResponse> DescribeDBClusterSnapshots(const FormParams& p);
  ApiResult<ApiResponse> DeleteDBClusterSnapshot(const FormParams& p);
  ApiResult<ApiResponse> CopyDBClusterSnapshot(const FormParams& p);
  ApiResult<ApiResponse> RestoreDBClusterFromSnapshot(const FormParams& p);
  // lifecycle_handler.cc
  ApiResult<ApiResponse> StopDBCluster(const FormParams& p);
  ApiResult<ApiResponse> StartDBCluster(const FormParams& p);
  // reader_handler.cc
  ApiResult<ApiResponse> FailoverDBCluster(const FormParams& p);
  // A DBClusterSnapshot result (Create, Delete, Copy), or the refusal.
  ApiResult<ApiResponse> SnapshotAnswer(const Result<cluster::SnapshotView>& s) const;

  // A DBInstance result (CreateDBInstance, DeleteDBInstance, RebootDBInstance), or the refusal.
  ApiResult<ApiResponse> InstanceAnswer(const Result<cluster::InstanceView>& i) const;
  // A DBCluster result (Create, Modify, Delete, RestoreDBClusterToPointInTime), or the refusal.
  ApiResult<ApiResponse> ClusterAnswer(const Result<cluster::ClusterView>& c) const;
  // ResourceName: the ARN of an existing cluster or instance of this endpoint (region and
  // account included). Failure: InvalidParameterValue (malformed), DBClusterNotFoundFault /
  // DBInstanceNotFound.
  ApiResult<ResourceArn> TaggedResource(const FormParams& p) const;

  cluster::ClusterService* service_;
  RenderOptions options_;
};

}  // namespace rwd::api
