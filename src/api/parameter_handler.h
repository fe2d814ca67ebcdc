// Parameter group actions of the RDS Query API, over cluster::ClusterService's parameter group
// calls (cluster/parameter_groups.h), served by RdsHandler (which dispatches these actions
// here):
//
//   CreateDBClusterParameterGroup / CreateDBParameterGroup   name, DBParameterGroupFamily,
//       Description → <DBClusterParameterGroup> / <DBParameterGroup>
//   DescribeDBClusterParameterGroups / DescribeDBParameterGroups   name (optional), paging
//   ModifyDBClusterParameterGroup / ModifyDBParameterGroup   name, Parameters → the name
//   ResetDBClusterParameterGroup / ResetDBParameterGroup   name, ResetAllParameters or
//       Parameters → the name
//   DeleteDBClusterParameterGroup / DeleteDBParameterGroup   name → no result
//   DescribeDBClusterParameters / DescribeDBParameters   name, Source (user | engine-default |
//       system), paging → <Parameters>
//   DescribeEngineDefaultClusterParameters   DBParameterGroupFamily → <EngineDefaults>
//
// Parameters are `Parameters.Parameter.N.<Member>` (as the AWS CLI and boto3 send them) or
// `Parameters.member.N.<Member>`; members ParameterName, ParameterValue, ApplyMethod
// (immediate | pending-reboot) are read; the other members of a Parameter (Description,
// Source, ApplyType, DataType, AllowedValues, IsModifiable, MinimumEngineVersion,
// SupportedEngineModes) describe a parameter and are accepted and not used, as RDS does.
// Any other member is refused by name. Errors: DBParameterGroupNotFound,
// DBParameterGroupAlreadyExists, InvalidDBParameterGroupState (in use, or a default group),
// InvalidParameterValue naming every bad parameter (the service's refusals).
// Thread safety: as RdsHandler.
#pragma once

#include <string_view>
#include <vector>

#include "api/rds_handler.h"

namespace rwd::api {

// The actions above, and the parameters each accepts (nullptr: not one of them).
const std::vector<std::string_view>& ParameterActions();
const std::vector<std::string_view>* ParameterActionParameters(std::string_view action);

// Serves one of ParameterActions() (its parameters already checked by the caller).
ApiResult<ApiResponse> HandleParameterAction(cluster::ClusterService* service,
                                             const RenderOptions& options,
                                             const ApiRequest& request);

// --- Parsing and rendering (exposed for tests) ---

// The Parameters list. Failure: InvalidParameterValue for a member Rewind does not know or an
// ApplyMethod other than immediate / pending-reboot (naming it).
ApiResult<std::vector<cluster::ParameterChange>> ParseParameterList(const FormParams& params);
// The members of a <Parameter>.
void WriteParameter(XmlWriter& w, const cluster::ParameterView& p);
// "in-sync" | "applying" | "pending-reboot".
std::string_view ApplyStatusWord(cluster::ParamApplyStatus status);

}  // namespace rwd::api
