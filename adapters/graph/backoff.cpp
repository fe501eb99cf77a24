#include "adapters/graph/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace presync::graph {

duration backoff_delay(const backoff_policy& policy, uint32_t retry,
                       double unit) {
  // Double the step per retry, in floating point so a large retry number
  // cannot overflow, then clamp to the cap.
  auto initial =
    static_cast<double>(std::max<duration::rep>(policy.initial.count(), 1));
  auto cap =
    static_cast<double>(std::max<duration::rep>(policy.cap.count(), 1));
  auto exponent = static_cast<double>(std::max<uint32_t>(retry, 1) - 1);
  auto step = std::min(cap, initial * std::pow(2.0, std::min(exponent, 62.0)));

  // Equal jitter: half the step fixed, the other half drawn.
  unit = std::clamp(unit, 0.0, 1.0);
  auto ms = step / 2.0 + unit * step / 2.0;
  return duration{
    std::max<duration::rep>(static_cast<duration::rep>(std::ceil(ms)), 1)};
}

bool backs_off(const error& e) {
  switch (e.code) {
  case sync_error::timeout:
  case sync_error::connection_failed:
    return true;
  case sync_error::unavailable:
  case sync_error::throttled:
    // A Retry-After is the budget's business; the budget's own "spent"
    // carries no HTTP status and only waits for a refill.
    if (e.retry_after > duration{0}) {
      return false;
    }
    return e.code == sync_error::unavailable || e.http_status == 429;
  default:
    return false;
  }
}

} // namespace presync::graph
