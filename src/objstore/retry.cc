#include "objstore/retry.h"

#include <algorithm>

namespace rwd::objstore {

bool ShouldRetry(const AttemptOutcome& o) {
  switch (o.transport) {
    case AttemptOutcome::Transport::kRetryable: return true;
    case AttemptOutcome::Transport::kPermanent: return false;
    case AttemptOutcome::Transport::kOk: break;
  }
  if (o.http_status >= 500) return true;
  if (o.http_status == 429) return true;
  if (o.http_status == 400 && o.s3_code == "RequestTimeout") return true;
  return false;
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, uint64_t random) {
  using std::chrono::milliseconds;
  const int64_t base = std::max<int64_t>(policy.base_delay.count(), 0);
  const int64_t cap = std::max<int64_t>(policy.max_delay.count(), 0);
  int64_t ceiling = base;
  for (int i = 1; i < attempt && ceiling < cap; ++i) ceiling *= 2;  // no overflow: stops at cap
  ceiling = std::min(ceiling, cap);
  if (ceiling <= 0) return milliseconds(0);
  return milliseconds(static_cast<int64_t>(random % static_cast<uint64_t>(ceiling + 1)));
}

Status StatusFromOutcome(const AttemptOutcome& o, const std::string& what,
                         const std::string& detail) {
  std::string msg = what;
  if (o.transport != AttemptOutcome::Transport::kOk) {
    return Status::Unavailable(msg + ": the object store could not be reached");
  }
  msg += ": HTTP " + std::to_string(o.http_status);
  if (!o.s3_code.empty()) msg += " " + o.s3_code;
  if (!detail.empty()) msg += " (" + detail + ")";
  Status s;
  const long h = o.http_status;
  if (h == 404) {
    s = Status::NotFound(msg);
  } else if (h == 403 || h == 401) {
    s = Status::PermissionDenied(msg);
  } else if (h == 412 || h == 409) {
    s = Status::FailedPrecondition(msg);
  } else if (h >= 500 || h == 429 || (h == 400 && o.s3_code == "RequestTimeout")) {
    s = Status::Unavailable(msg);
  } else if (h >= 400) {
    s = Status::InvalidArgument(msg);
  } else {
    s = Status::IOError(msg + " (unexpected answer)");
  }
  return o.s3_code.empty() ? s : s.WithTag(o.s3_code);
}

}  // namespace rwd::objstore
