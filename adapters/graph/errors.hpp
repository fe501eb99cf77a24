// Graph's error bodies and the mapping of a failed Graph answer to a
// presync error (spec/graph.md §6).
#pragma once

#include "adapters/http/message.hpp"
#include "protocol/error.hpp"

#include <string>
#include <string_view>

namespace presync::graph {

/// The useful part of {"error": {"code", "message", "innerError": {...}}}.
struct graph_error_body {
  std::string code;       ///< e.g. TooManyRequests
  std::string message;    ///< human text from Graph
  std::string request_id; ///< innerError.request-id
  std::string date;       ///< innerError.date
};

/// Parses an error body; malformed naming the field when `error` or
/// `error.code` is missing or of the wrong type.
[[nodiscard]] expected<graph_error_body>
parse_graph_error(std::string_view json);

/// Maps a failed Graph answer: the HTTP status and Retry-After via
/// http::from_http_status, the body's code added to the context, the
/// request id from the body or the request-id header.
[[nodiscard]] error from_graph_response(const http::http_response& response,
                                        std::string context);

} // namespace presync::graph
