// What `presync demo` reads back from the world: the emulators' control API
// answers (JSON, parsed with simdjson) and presync's Prometheus text,
// turned into the plain records of sim/demo_report.hpp. No sockets here.
#pragma once

#include "protocol/error.hpp"
#include "sim/demo_report.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presync::app::demo {

// -- Prometheus text ----------------------------------------------------------

/// One sample of the Prometheus text format.
struct metric_sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

/// Parses the text exposition format; comment lines and lines it cannot
/// read are skipped.
std::vector<metric_sample> parse_metrics(std::string_view text);

/// Sums the samples named `name` whose labels include every pair of
/// `match`. A family that is not there (nothing counted yet) sums to 0.
double metric_sum(
  const std::vector<metric_sample>& samples, std::string_view name,
  const std::vector<std::pair<std::string_view, std::string_view>>& match = {});

// -- Connect emulator ---------------------------------------------------------

/// An agent as `GET /_control/agents` lists it.
struct connect_agent {
  std::string id;
  std::string username;
  std::string email;
  std::string state;       ///< DESIGN.md §3 name (see sim::state_name)
  std::string status_name; ///< the agent status
};

/// Parses `{"agents":[...]}`.
[[nodiscard]] expected<std::vector<connect_agent>>
parse_agents(std::string_view json);

/// Parses `{"events":[...]}` into state changes (the effective state each
/// record's CurrentAgentSnapshot gives; LoggedOut after LOGOUT) and moves
/// `last_seq` to the highest sequence number seen.
[[nodiscard]] expected<std::vector<sim::connect_state_change>>
parse_events(std::string_view json, std::uint64_t& last_seq);

/// Parses `{"requests":[...]}` of `GET /_control/put-user-status`.
[[nodiscard]] expected<std::vector<sim::status_put_record>>
parse_status_puts(std::string_view json);

/// Parses the answer of `POST /_control/agents/{a}/contacts` and returns
/// the new contact's id.
[[nodiscard]] expected<std::string> parse_contact_id(std::string_view json);

/// Adds the REST operation counts of `GET /_control/counters` to `c`.
[[nodiscard]] expected<bool> parse_connect_counters(std::string_view json,
                                                    sim::request_counters& c);

// -- Graph emulator -----------------------------------------------------------

/// Parses a user record (`POST /_control/users` answer) and returns its id.
[[nodiscard]] expected<std::string> parse_user_id(std::string_view json);

/// Parses `{"writes":[...]}`.
[[nodiscard]] expected<std::vector<sim::graph_write>>
parse_writes(std::string_view json);

/// Parses `GET /_control/users/{id}/presence`, keeping the session whose id
/// is `session_id` (case-insensitive).
[[nodiscard]] expected<sim::final_presence>
parse_presence(std::string_view json, std::string_view session_id);

/// Adds the operation counts of `GET /_control/counters` to `c`.
[[nodiscard]] expected<bool> parse_graph_counters(std::string_view json,
                                                  sim::request_counters& c);

// -- both ---------------------------------------------------------------------

/// Reads an emulator clock (`GET /_control/clock`): `now_ms` (Connect) or
/// `nowMs` (Graph), in ms since the Unix epoch.
[[nodiscard]] expected<std::int64_t> parse_clock_ms(std::string_view json);

/// Reads the port of a "listening HOST:PORT" line; 0 when it is not one.
std::uint16_t listening_port(std::string_view line);

} // namespace presync::app::demo
