// Reading presence: getPresencesByUserId requests and answers, and the
// poll planner that spreads batches over a cycle (spec/graph.md §3.4).
#pragma once

#include "adapters/graph/token.hpp"
#include "adapters/http/message.hpp"
#include "protocol/error.hpp"
#include "protocol/status.hpp"
#include "protocol/time.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presync::graph {

/// Ids getPresencesByUserId accepts per call.
inline constexpr size_t max_presence_ids = 650;

/// Returns {graph}/v1.0/communications/getPresencesByUserId.
std::string presences_by_id_url(const endpoints& where);

/// Returns {"ids":[...]} for `ids` after dropping duplicates
/// (case-insensitive, first spelling kept); rejected when more than 650
/// distinct ids remain or none.
[[nodiscard]] expected<std::string>
build_presence_body(std::span<const std::string> ids);

/// Returns the POST request for `ids` (see build_presence_body).
[[nodiscard]] expected<http::http_request>
build_presence_request(const endpoints& where,
                       std::span<const std::string> ids);

/// One user's presence as read from Graph.
struct presence_reading {
  std::string id;
  presence value; ///< known values in Graph's spelling, unknown ones raw
  presence raw;   ///< exactly as Graph sent them
  std::optional<std::string> sequence_number;
  bool out_of_office = false;
  std::optional<std::string> status_message; ///< message.content
};

/// Parses {"value":[presence, ...]} (also used for a single presence GET
/// through parse_presence_object). `id`, `availability` and `activity` are
/// required per entry.
[[nodiscard]] expected<std::vector<presence_reading>>
parse_presence_response(std::string_view json);

/// Parses one presence object, e.g. a GET /users/{id}/presence body.
[[nodiscard]] expected<presence_reading>
parse_presence_object(std::string_view json);

/// One poll batch: its ids and when it starts within the cycle.
struct poll_batch {
  std::vector<std::string> ids;
  duration offset{0};
};

/// Splits users into ceil(N/650) batches of near-equal size and spreads
/// their start evenly across the poll interval: batch i of k starts at
/// i * interval / k.
class poll_planner {
 public:
  explicit poll_planner(duration interval,
                        size_t batch_size = max_presence_ids);

  /// Plans one cycle for `ids` (duplicates dropped first).
  std::vector<poll_batch> plan(std::span<const std::string> ids) const;

  duration interval() const { return interval_; }

 private:
  duration interval_;
  size_t batch_size_;
};

} // namespace presync::graph
