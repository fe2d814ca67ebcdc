// FailoverDBCluster (RdsHandler's reader action; hooked into its dispatch). It takes
// DBClusterIdentifier (a name or the cluster's ARN) and optionally TargetDBInstanceIdentifier
// (a name or an instance ARN) and answers the DBCluster right after the call, status
// "failing-over" (the botocore model's FailoverDBClusterResult). Refusals keep Aurora's codes:
// DBClusterNotFoundFault, DBInstanceNotFound (no such target), InvalidDBInstanceStateFault (a
// target that is not an available reader of the cluster), InvalidDBClusterStateFault (the
// cluster not available, or no reader to fail over to).
#include "api/rds_handler.h"

namespace rwd::api {

ApiResult<ApiResponse> RdsHandler::FailoverDBCluster(const FormParams& p) {
  API_ASSIGN_OR_RETURN(std::string id, p.Required("DBClusterIdentifier"));
  // An empty value counts as absent.
  const std::string given = p.Optional("TargetDBInstanceIdentifier").value_or("");
  std::optional<std::string> target;
  if (!given.empty()) target = IdentifierFromArn(given, "db");
  return ClusterAnswer(service_->FailoverCluster(IdentifierFromArn(id, "cluster"), target));
}

}  // namespace rwd::api
