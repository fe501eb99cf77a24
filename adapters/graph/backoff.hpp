// Exponential back-off with jitter for Graph failures that name no
// Retry-After: 5xx without the header, timeouts, connection resets
// (spec/graph.md §6.2: "Without Retry-After: exponential back-off with
// jitter (e.g. 1, 2, 4 ... 60 s)"). Throttling that names a Retry-After
// does not come here: it holds the whole presence budget instead
// (budget.hpp).
//
// Plain C++ with the random draw passed in, so tests pin every delay.
#pragma once

#include "protocol/error.hpp"
#include "protocol/time.hpp"

#include <chrono>
#include <cstdint>

namespace presync::graph {

/// How long to wait before each retry, and how many tries a caller makes.
struct backoff_policy {
  duration initial = std::chrono::seconds{1}; ///< before the first retry
  duration cap = std::chrono::seconds{60};    ///< no delay is longer
  /// Tries in all, the first included; a caller that gives up after them
  /// says so in a log line and a counter (the poller never gives up: it
  /// keeps backing off at `cap`).
  uint32_t max_attempts = 4;
};

/// Returns the delay before retry number `retry` (1 for the first): the
/// exponential step min(cap, initial * 2^(retry-1)) scaled into its upper
/// half by `unit` in [0, 1) ("equal jitter": never below half the step,
/// so a crowd of clients spreads out without anyone retrying at once).
/// Never zero; `retry` 0 counts as 1.
duration backoff_delay(const backoff_policy& policy, uint32_t retry,
                       double unit);

/// Returns true for a failure to back off from: a timeout, a refused,
/// reset or failed connection, or a 5xx or 429 answer without a
/// Retry-After. False for a 429/503 with Retry-After (the budget hold
/// handles those), for the budget's own "spent" (no HTTP status), and for
/// every error a retry cannot fix (4xx, TLS, malformed, config).
bool backs_off(const error& e);

} // namespace presync::graph
