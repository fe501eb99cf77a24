#include "protocol/error.hpp"

#include <array>

namespace presync {

std::string_view to_string(sync_error e) {
  constexpr std::array<std::string_view, 17> names = {
    "timeout",       "throttled",        "unavailable",    "connection_failed",
    "tls_failed",    "unauthorized",     "forbidden",      "not_found",
    "rejected",      "malformed",        "too_large",      "secret_expired",
    "not_consented", "tenant_not_found", "config_invalid", "not_implemented",
    "canceled",
  };
  return names[static_cast<size_t>(e)];
}

error_class classify(sync_error e) {
  switch (e) {
  case sync_error::timeout:
  case sync_error::throttled:
  case sync_error::unavailable:
  case sync_error::connection_failed:
  case sync_error::canceled:
    return error_class::retry_later;
  case sync_error::not_found:
  case sync_error::rejected:
  case sync_error::malformed:
  case sync_error::too_large:
  case sync_error::not_implemented:
    return error_class::give_up;
  case sync_error::tls_failed:
  case sync_error::unauthorized:
  case sync_error::forbidden:
  case sync_error::secret_expired:
  case sync_error::not_consented:
  case sync_error::tenant_not_found:
  case sync_error::config_invalid:
    return error_class::stop_and_alert;
  }
  return error_class::give_up;
}

std::string error::describe() const {
  std::string out{to_string(code)};
  if (!context.empty()) {
    out += ": ";
    out += context;
  }
  if (http_status != 0 || !request_id.empty()) {
    out += " (";
    if (http_status != 0) {
      out += "HTTP " + std::to_string(http_status);
    }
    if (!request_id.empty()) {
      out += http_status != 0 ? ", request-id " : "request-id ";
      out += request_id;
    }
    out += ")";
  }
  return out;
}

} // namespace presync
