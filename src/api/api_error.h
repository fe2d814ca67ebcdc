// ApiError: an RDS Query API error as the client sees it (HTTP status, error code, message),
// and ApiResult<T>: a T or an ApiError, for code that answers API requests.
//
// Codes and statuses follow the botocore RDS model (reference/rds-api.md): *NotFound faults are
// 404, *AlreadyExists and Invalid*State faults are 400, quota faults 403, and the AWS common
// errors (MissingParameter, InvalidParameterValue, SignatureDoesNotMatch, ...) use AWS's
// documented statuses. Note that several RDS codes drop the "Fault" suffix of their shape name
// (DBInstanceNotFound, InvalidDBInstanceState, DBInstanceAlreadyExists): the code, not the
// shape name, is what goes on the wire.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/status.h"

namespace rwd::api {

struct ApiError {
  int http_status = 400;
  std::string code;          // e.g. "DBClusterNotFoundFault"
  std::string message;       // human-readable, shown by the CLI after the code
  bool sender_fault = true;  // <Type>Sender</Type>; false → <Type>Receiver</Type> (5xx)

  static ApiError Make(int http_status, std::string_view code, std::string_view message);

  // --- Cluster / instance faults (RDS model) ---
  static ApiError DBClusterNotFound(std::string_view cluster_id);                // 404
  static ApiError DBClusterAlreadyExists(std::string_view cluster_id);           // 400
  static ApiError InvalidDBClusterState(std::string_view message);               // 400
  static ApiError DBClusterBacktrackNotFound(std::string_view message);          // 404
  static ApiError DBClusterQuotaExceeded(std::string_view message);              // 403
  static ApiError DBClusterSnapshotNotFound(std::string_view snapshot_id);       // 404
  static ApiError DBClusterParameterGroupNotFound(std::string_view name);        // 404
  static ApiError DBInstanceNotFound(std::string_view instance_id);              // 404
  static ApiError DBInstanceAlreadyExists(std::string_view instance_id);         // 400
  static ApiError InvalidDBInstanceState(std::string_view message);              // 400
  static ApiError InvalidRestore(std::string_view message);                      // 400
  static ApiError StorageQuotaExceeded(std::string_view message);                // 400
  static ApiError InsufficientStorageClusterCapacity(std::string_view message);  // 400

  // --- AWS common errors ---
  static ApiError InvalidParameterValue(std::string_view message);        // 400
  static ApiError InvalidParameterCombination(std::string_view message);  // 400
  // "The request must contain the parameter <name>".
  static ApiError MissingParameter(std::string_view param_name);   // 400
  static ApiError MissingAction();                                 // 400
  static ApiError InvalidAction(std::string_view action);          // 400
  static ApiError MalformedQueryString(std::string_view message);  // 404 (as AWS documents)
  static ApiError InternalFailure(std::string_view message = {});  // 500, Receiver
  static ApiError ServiceUnavailable(std::string_view message);    // 503, Receiver

  // --- Authentication (SigV4) ---
  static ApiError MissingAuthenticationToken();                          // 403
  static ApiError IncompleteSignature(std::string_view message);         // 400
  static ApiError InvalidClientTokenId();                                // 403
  static ApiError SignatureDoesNotMatch(std::string_view message = {});  // 403
  static ApiError RequestExpired(std::string_view message);              // 403
  static ApiError XAmzContentSHA256Mismatch();                           // 400

  std::string ToString() const;  // "403 SignatureDoesNotMatch: ..." for logs and tests
};

// A user-supplied value cut to at most `max` bytes (then "...", not splitting a UTF-8
// character), for quoting in an error message.
std::string ShownInput(std::string_view value, size_t max = 128);

// Generic mapping of a module Status to an API error, for failures the caller has no more
// specific fault for: InvalidArgument → InvalidParameterValue (400); Unavailable/Busy →
// ServiceUnavailable (503); everything else → InternalFailure (500). The Status message is kept.
ApiError ApiErrorFromStatus(const Status& status);

// ApiResult<T>: a T on success, an ApiError on failure. Implicit from either, like Result<T>.
template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}         // NOLINT: implicit
  ApiResult(ApiError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  const ApiError& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  ApiError&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, ApiError> v_;
};

// Success-or-error without a value.
using ApiStatus = ApiResult<std::monostate>;
inline ApiStatus ApiOk() { return std::monostate{}; }

}  // namespace rwd::api

// Returns the ApiError of `expr` (an ApiResult<any>) from the enclosing function on failure.
#define API_RETURN_IF_ERROR(expr)                           \
  do {                                                      \
    auto _api_res = (expr);                                 \
    if (!_api_res.ok()) return std::move(_api_res).error(); \
  } while (0)

// `lhs = value of expr` (an ApiResult<T>), or returns its ApiError from the enclosing function.
#define API_ASSIGN_OR_RETURN(lhs, expr)                           \
  auto REWIND_CONCAT(_api_res_, __LINE__) = (expr);               \
  if (!REWIND_CONCAT(_api_res_, __LINE__).ok())                   \
    return std::move(REWIND_CONCAT(_api_res_, __LINE__)).error(); \
  lhs = std::move(REWIND_CONCAT(_api_res_, __LINE__)).value()
