// Names the remote API call behind an HTTP request, for metric labels: a
// small fixed vocabulary of APIs and operations, so that no user id,
// instance id or query ever becomes a label value.
#pragma once

#include <optional>
#include <string_view>

namespace presync::metrics {

/// The API and operation of one request. Both point at static strings.
struct api_call {
  std::string_view api;       ///< graph, entra, connect, kinesis, sts, other
  std::string_view operation; ///< snake_case operation, "other" if unknown
};

/// Names the call from the request's method, absolute URL, X-Amz-Target
/// header (Kinesis) and body (STS's form-encoded Action). Graph calls are
/// recognised by their /v1.0 or /beta path, the token endpoint by
/// /oauth2/v2.0/token, Connect by its REST paths; anything else is
/// {"other", "other"}.
api_call classify_api_call(std::string_view method, std::string_view url,
                           std::optional<std::string_view> amz_target,
                           std::string_view body);

/// Returns "1xx" to "5xx" for an HTTP status, "error" for
/// none (the request got no answer) or one outside 100..599.
std::string_view status_class(std::optional<int> http_status);

/// Returns true if the answer asks the caller to slow down: HTTP 429, a
/// 503 carrying Retry-After, or an AWS throttling exception named in the
/// body's `__type` (ProvisionedThroughputExceededException,
/// ThrottlingException, TooManyRequestsException, LimitExceededException).
bool is_throttling_answer(int http_status, bool has_retry_after,
                          std::string_view body);

} // namespace presync::metrics
