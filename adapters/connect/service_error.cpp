#include "adapters/connect/service_error.hpp"

#include "adapters/aws/credentials.hpp"

#include <array>

namespace presync::connect {

std::string normalize_error_type(std::string_view raw) {
  auto hash = raw.rfind('#');
  if (hash != std::string_view::npos) {
    raw = raw.substr(hash + 1);
  }
  auto colon = raw.find(':');
  if (colon != std::string_view::npos) {
    raw = raw.substr(0, colon);
  }
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) {
    raw.remove_suffix(1);
  }
  while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) {
    raw.remove_prefix(1);
  }
  return std::string{raw};
}

bool is_throttling_code(std::string_view type) {
  // The AWS SDKs' standard retry mode (spec/connect.md §2.3), plus
  // Kinesis' KMS throttling.
  constexpr std::array<std::string_view, 15> codes = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "KMSThrottlingException",
  };
  for (auto c : codes) {
    if (c == type) {
      return true;
    }
  }
  return false;
}

sync_error classify_service_error(std::string_view type, int http_status) {
  if (is_throttling_code(type) || http_status == 429) {
    return sync_error::throttled;
  }
  if (type == "InternalServiceException" || type == "InternalFailure" ||
      type == "InternalFailureException" || type == "ServiceUnavailable" ||
      type == "ServiceUnavailableException" || type == "RequestTimeout" ||
      type == "RequestTimeoutException" || http_status >= 500) {
    return sync_error::unavailable;
  }
  if (type == "ResourceNotFoundException") {
    return sync_error::not_found;
  }
  if (type == "AccessDeniedException" || type == "AccessDenied" ||
      type.starts_with("KMS") || type == "OptInRequired" ||
      type == "DestinationNotAllowedException" ||
      type == "OutboundContactNotPermittedException") {
    return sync_error::forbidden;
  }
  if (type == "UnrecognizedClientException" || type == "InvalidClientTokenId" ||
      type == "ExpiredTokenException" || type == "ExpiredToken" ||
      type == "MissingAuthenticationToken" ||
      type == "MissingAuthenticationTokenException") {
    return sync_error::unauthorized;
  }
  if (!type.empty() && http_status >= 400 && http_status < 500) {
    return sync_error::rejected;
  }
  return aws::error_for_http_status(http_status);
}

} // namespace presync::connect
