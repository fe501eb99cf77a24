// AWS error answers of Connect (rest-json) and Kinesis (JSON 1.1), mapped to
// sync_error (spec/connect.md §2.3 and §4.7).
#pragma once

#include "protocol/error.hpp"

#include <string>
#include <string_view>

namespace presync::connect {

/// An error answer: the AWS error code, its message, and the sync_error.
struct service_error {
  std::string type;    ///< e.g. ThrottlingException, prefix/suffix stripped
  std::string message; ///< the remote's message (never holds a secret)
  error err;           ///< code, HTTP status, request id, context
};

/// Strips a "namespace#" prefix and a ":suffix" from an error type
/// ("aws.protocol#ThrottlingException:http://..." → "ThrottlingException").
std::string normalize_error_type(std::string_view raw);

/// Returns true for the codes the AWS SDKs retry as throttling.
bool is_throttling_code(std::string_view type);

/// Maps an error type plus HTTP status to a sync_error: throttling codes
/// and 429 → throttled; 5xx and transient codes → unavailable; not-found
/// codes and 404 → not_found; access codes and 403 → forbidden; expired or
/// unknown credentials → unauthorized; other 4xx → rejected.
sync_error classify_service_error(std::string_view type, int http_status);

} // namespace presync::connect
