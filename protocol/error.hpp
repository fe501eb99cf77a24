// Errors as values: what went wrong at an adapter boundary, and what the
// core can do about it (STYLE.md, "Errors at adapter boundaries").
#pragma once

#include "protocol/time.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace presync {

/// Every failure the core distinguishes. One line each: what it means and
/// what the core does about it.
enum class sync_error : uint8_t {
  timeout,           ///< no answer in time: retry later
  throttled,         ///< 429 / ThrottlingException: retry after retry_after
  unavailable,       ///< 5xx or connection refused/reset: retry later
  connection_failed, ///< DNS, TCP or proxy failure: retry later
  tls_failed,        ///< certificate or handshake failure: stop and alert
  unauthorized,      ///< 401 after a token refresh: stop and alert
  forbidden,         ///< 403: missing permission or consent: stop and alert
  not_found,         ///< 404: give up on this item
  rejected,          ///< other 4xx: the request is wrong; give up on it
  malformed,         ///< the answer cannot be parsed: give up on this item
  too_large,         ///< the answer exceeds the size limit: give up
  secret_expired,    ///< the client secret has expired: stop and alert
  not_consented,     ///< the app lacks admin consent: stop and alert
  tenant_not_found,  ///< the directory tenant does not exist: stop and alert
  config_invalid,    ///< the configuration is wrong: stop and alert
  not_implemented,   ///< a path presync does not support yet
  canceled,          ///< the operation was stopped (shutdown)
};

std::string_view to_string(sync_error e);

/// How the core reacts to an error.
enum class error_class : uint8_t { retry_later, give_up, stop_and_alert };

/// Returns the reaction DESIGN.md and STYLE.md assign to `e`.
error_class classify(sync_error e);

/// An error plus the context an operator needs. Never holds a secret.
struct error {
  sync_error code = sync_error::malformed;
  std::string context;     ///< operation and what failed, e.g. "users page 2"
  int http_status = 0;     ///< when an HTTP answer caused it
  duration retry_after{0}; ///< Retry-After, when the remote gave one
  std::string request_id;  ///< the remote's request id, for support cases

  /// Returns "throttled: getPresencesByUserId (HTTP 429, request-id ...)".
  std::string describe() const;
};

/// A value or an error (std::expected arrives with C++23).
template <class T>
class [[nodiscard]] expected {
 public:
  expected(T value) : data_(std::move(value)) {}
  expected(error err) : data_(std::move(err)) {}

  explicit operator bool() const { return data_.index() == 0; }
  bool has_value() const { return data_.index() == 0; }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const { return std::get<1>(data_); }

 private:
  std::variant<T, error> data_;
};

/// Shorthand for building an error value.
inline error make_error(sync_error code, std::string context,
                        int http_status = 0) {
  error e;
  e.code = code;
  e.context = std::move(context);
  e.http_status = http_status;
  return e;
}

} // namespace presync
