// Writing presence: setPresence and clearPresence for presync's own
// session, packed into JSON $batch requests of up to 20, and the
// per-request outcomes of a $batch answer (spec/graph.md §4.2, §4.3, §6.3).
#pragma once

#include "adapters/graph/token.hpp"
#include "adapters/http/message.hpp"
#include "protocol/error.hpp"
#include "protocol/messages.hpp"
#include "protocol/rules.hpp"
#include "protocol/status.hpp"

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presync::graph {

/// Sub-requests a JSON $batch accepts.
inline constexpr size_t max_batch_requests = 20;

/// Formats a duration as ISO 8601 for expirationDuration: PT1H, PT5M,
/// PT1H30M, PT90S -> PT1M30S. Sub-second parts are dropped.
std::string iso8601_duration(duration d);

/// presync's session: its id is presync's application id (spec §4.2).
struct session_settings {
  std::string session_id;
  duration session_ttl = std::chrono::hours{1}; ///< PT5M to PT4H
};

/// One presence write for one user: a value to set, or clear.
struct presence_write {
  std::string user_id;
  teams_target target;
};

/// Returns the setPresence body; rejected for a pair setPresence does not
/// accept, config_invalid for a TTL outside 5 min-4 h or an empty session.
[[nodiscard]] expected<std::string>
set_presence_body(const presence& value, const session_settings& session);

/// Returns the clearPresence body {"sessionId": ...}.
std::string clear_presence_body(const session_settings& session);

/// Returns the Graph path "/users/{id}/presence/setPresence" (or
/// clearPresence) of a write, relative to the v1.0 base.
std::string write_path(const presence_write& write);

/// Builds one write as a stand-alone request.
[[nodiscard]] expected<http::http_request>
build_write_request(const endpoints& where, const presence_write& write,
                    const session_settings& session);

/// Returns the $batch body for 1-20 writes; sub-request i has id i+1.
[[nodiscard]] expected<std::string>
build_write_batch_body(std::span<const presence_write> writes,
                       const session_settings& session);

/// Returns the POST {graph}/v1.0/$batch request for `writes`.
[[nodiscard]] expected<http::http_request>
build_write_batch(const endpoints& where,
                  std::span<const presence_write> writes,
                  const session_settings& session);

/// Maps one sub-response: 200/204 ok; 404 ok for a clear (no session
/// left); 429 and 5xx throttled with their Retry-After; others failed.
write_outcome write_outcome_for(const presence_write& write, int status,
                                duration retry_after, std::string reason);

/// Parses a $batch answer to the writes sent (ids "1".."n"), returning one
/// outcome per write in the order of `writes`. A write without a response
/// is failed ("no response in batch"); unknown ids are malformed.
[[nodiscard]] expected<std::vector<write_outcome>>
parse_write_batch_response(std::string_view json,
                           std::span<const presence_write> writes);

} // namespace presync::graph
