// HTTP requests and answers as plain values, and the mapping of HTTP
// statuses to presync errors. No Beast types appear here, so codecs can
// build requests without compiling Asio.
#pragma once

#include "protocol/error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presync::http {

/// Header fields in the order given. Names compare case-insensitively.
class header_list {
 public:
  /// Appends a field; an existing field of the same name stays.
  void add(std::string name, std::string value);

  /// Replaces every field named `name` with one field.
  void set(std::string name, std::string value);

  /// Returns the first value of `name` (case-insensitive), if any.
  std::optional<std::string_view> find(std::string_view name) const;

  /// Returns true if a field named `name` exists.
  bool contains(std::string_view name) const { return find(name).has_value(); }

  const std::vector<std::pair<std::string, std::string>>& fields() const {
    return fields_;
  }

  size_t size() const { return fields_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// One request. `url` is absolute: https://host[:port]/path?query or http://.
struct http_request {
  std::string method = "GET";
  std::string url;
  header_list headers;
  std::string body;
};

/// One answer. Any status is a successful exchange at this layer.
struct http_response {
  int status = 0;
  header_list headers;
  std::string body;
};

/// The parts of an absolute http(s) URL.
struct url_parts {
  bool tls = true;
  std::string host;   ///< without brackets for IPv6 literals
  uint16_t port = 0;  ///< the scheme's default when the URL names none
  std::string target; ///< path and query, at least "/"
};

/// Splits an absolute URL; config_invalid naming the URL's problem otherwise
/// (the URL itself is not echoed, it may carry a token).
[[nodiscard]] expected<url_parts> parse_url(std::string_view url);

/// Returns true for methods that may be sent twice (RFC 9110 §9.2.2).
bool is_idempotent(std::string_view method);

/// Parses a Retry-After value: whole or fractional seconds ("2", "2.128"),
/// or an HTTP date (IMF-fixdate, RFC 9110 §5.6.7), which counts from `now`
/// (a date in the past gives 0). nullopt when it is neither.
std::optional<duration>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now);

/// Maps an HTTP status to an error (spec/graph.md §6): 401 unauthorized,
/// 403 forbidden, 404 and 410 not_found, 413 too_large, 429 throttled,
/// 5xx unavailable, other 4xx rejected. Retry-After, when present and
/// valid, fills retry_after; request-id fills request_id. Call it only for
/// statuses the caller treats as failures.
[[nodiscard]] error from_http_status(
  int status, const header_list& headers, std::string context,
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

} // namespace presync::http
