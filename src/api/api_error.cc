#include "api/api_error.h"

#include <string>

namespace rwd::api {

namespace {

std::string Cat(std::string_view a, std::string_view b, std::string_view c = {}) {
  std::string s;
  s.reserve(a.size() + b.size() + c.size());
  s.append(a).append(b).append(c);
  return s;
}

}  // namespace

std::string ShownInput(std::string_view value, size_t max) {
  if (value.size() <= max) return std::string(value);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return std::string(value.substr(0, cut)) + "...";
}

ApiError ApiError::Make(int http_status, std::string_view code, std::string_view message) {
  // Backstop: no message grows without bound, whatever a caller quoted into it.
  constexpr size_t kMaxMessage = 1024;
  ApiError e;
  e.http_status = http_status;
  e.code = std::string(code);
  e.message = ShownInput(message, kMaxMessage);
  e.sender_fault = http_status < 500;
  return e;
}

ApiError ApiError::DBClusterNotFound(std::string_view cluster_id) {
  return Make(404, "DBClusterNotFoundFault", Cat("DBCluster ", ShownInput(cluster_id), " not found."));
}
ApiError ApiError::DBClusterAlreadyExists(std::string_view cluster_id) {
  return Make(400, "DBClusterAlreadyExistsFault",
              Cat("DB Cluster ", ShownInput(cluster_id), " already exists."));
}
ApiError ApiError::InvalidDBClusterState(std::string_view message) {
  return Make(400, "InvalidDBClusterStateFault", message);
}
ApiError ApiError::DBClusterBacktrackNotFound(std::string_view message) {
  return Make(404, "DBClusterBacktrackNotFoundFault", message);
}
ApiError ApiError::DBClusterQuotaExceeded(std::string_view message) {
  return Make(403, "DBClusterQuotaExceededFault", message);
}
ApiError ApiError::DBClusterSnapshotNotFound(std::string_view snapshot_id) {
  return Make(404, "DBClusterSnapshotNotFoundFault",
              Cat("DBClusterSnapshot ", ShownInput(snapshot_id), " not found."));
}
ApiError ApiError::DBClusterParameterGroupNotFound(std::string_view name) {
  return Make(404, "DBClusterParameterGroupNotFound",
              Cat("DBClusterParameterGroup ", ShownInput(name), " not found."));
}
ApiError ApiError::DBInstanceNotFound(std::string_view instance_id) {
  return Make(404, "DBInstanceNotFound", Cat("DBInstance ", ShownInput(instance_id), " not found."));
}
ApiError ApiError::DBInstanceAlreadyExists(std::string_view instance_id) {
  return Make(400, "DBInstanceAlreadyExists", Cat("DB instance ", ShownInput(instance_id), " already exists."));
}
ApiError ApiError::InvalidDBInstanceState(std::string_view message) {
  return Make(400, "InvalidDBInstanceState", message);
}
ApiError ApiError::InvalidRestore(std::string_view message) {
  return Make(400, "InvalidRestoreFault", message);
}
ApiError ApiError::StorageQuotaExceeded(std::string_view message) {
  return Make(400, "StorageQuotaExceeded", message);
}
ApiError ApiError::InsufficientStorageClusterCapacity(std::string_view message) {
  return Make(400, "InsufficientStorageClusterCapacity", message);
}

ApiError ApiError::InvalidParameterValue(std::string_view message) {
  return Make(400, "InvalidParameterValue", message);
}
ApiError ApiError::InvalidParameterCombination(std::string_view message) {
  return Make(400, "InvalidParameterCombination", message);
}
ApiError ApiError::MissingParameter(std::string_view param_name) {
  return Make(400, "MissingParameter", Cat("The request must contain the parameter ", param_name));
}
ApiError ApiError::MissingAction() {
  return Make(400, "MissingAction", "The request must contain the parameter Action");
}
ApiError ApiError::InvalidAction(std::string_view action) {
  return Make(400, "InvalidAction",
              Cat("The action ", ShownInput(action), " is not valid for this web service."));
}
ApiError ApiError::MalformedQueryString(std::string_view message) {
  return Make(404, "MalformedQueryString", message);
}
ApiError ApiError::InternalFailure(std::string_view message) {
  return Make(500, "InternalFailure",
              message.empty() ? "The request processing has failed because of an unknown "
                                "error, exception or failure."
                              : message);
}
ApiError ApiError::ServiceUnavailable(std::string_view message) {
  return Make(503, "ServiceUnavailable", message);
}

ApiError ApiError::MissingAuthenticationToken() {
  return Make(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
}
ApiError ApiError::IncompleteSignature(std::string_view message) {
  return Make(400, "IncompleteSignature", message);
}
ApiError ApiError::InvalidClientTokenId() {
  return Make(403, "InvalidClientTokenId",
              "The security token included in the request is invalid.");
}
ApiError ApiError::SignatureDoesNotMatch(std::string_view message) {
  return Make(403, "SignatureDoesNotMatch",
              message.empty()
                  ? "The request signature we calculated does not match the signature you "
                    "provided. Check your AWS Secret Access Key and signing method. Consult the "
                    "service documentation for details."
                  : message);
}
ApiError ApiError::RequestExpired(std::string_view message) {
  return Make(403, "RequestExpired", message);
}
ApiError ApiError::XAmzContentSHA256Mismatch() {
  return Make(400, "XAmzContentSHA256Mismatch",
              "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

std::string ApiError::ToString() const {
  return std::to_string(http_status) + " " + code + ": " + message;
}

ApiError ApiErrorFromStatus(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
      return ApiError::InvalidParameterValue(status.message());
    case Status::Code::kUnavailable:
    case Status::Code::kBusy:
      return ApiError::ServiceUnavailable(status.message());
    default:
      return ApiError::InternalFailure(status.ToString());
  }
}

}  // namespace rwd::api
