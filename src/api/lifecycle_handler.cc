// StopDBCluster and StartDBCluster (RdsHandler's lifecycle actions; hooked into its dispatch).
// Each takes DBClusterIdentifier (a name or the cluster's ARN) and answers the DBCluster as it
// is right after the call, status "stopping" or "starting" (the botocore model's
// StopDBClusterResult / StartDBClusterResult). Refusals keep Aurora's codes:
// DBClusterNotFoundFault, InvalidDBClusterStateFault (stop unless available, start unless
// stopped), InvalidDBInstanceStateFault (an instance being created, rebooted or deleted).
#include "api/rds_handler.h"

namespace rwd::api {

ApiResult<ApiResponse> RdsHandler::StopDBCluster(const FormParams& p) {
  API_ASSIGN_OR_RETURN(std::string id, p.Required("DBClusterIdentifier"));
  return ClusterAnswer(service_->StopCluster(IdentifierFromArn(id, "cluster")));
}

ApiResult<ApiResponse> RdsHandler::StartDBCluster(const FormParams& p) {
  API_ASSIGN_OR_RETURN(std::string id, p.Required("DBClusterIdentifier"));
  return ClusterAnswer(service_->StartCluster(IdentifierFromArn(id, "cluster")));
}

}  // namespace rwd::api
