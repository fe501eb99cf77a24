// Amazon Connect agent events: the JSON `Data` of one Kinesis record
// (spec/connect.md §1.2), reduced to what the sync core needs.
#pragma once

#include "protocol/error.hpp"
#include "protocol/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace presync::connect {

/// EventType of an agent event.
enum class agent_event_type : uint8_t {
  login,
  logout,
  state_change,
  heart_beat,
  unknown, ///< a value newer than this code; the snapshot still applies
};

/// Returns LOGIN, LOGOUT, STATE_CHANGE, HEART_BEAT or UNKNOWN.
std::string_view to_string(agent_event_type t);

/// One agent event, copied out of the parsed document.
struct agent_event {
  std::string event_id;
  agent_event_type event_type = agent_event_type::unknown;
  std::string event_type_text; ///< as sent, e.g. for an unknown type
  std::string agent_arn;
  std::string user_id; ///< last segment of AgentARN, the APIs' UserId
  std::string instance_arn;
  int64_t timestamp_ms = 0; ///< EventTimestamp, ms since the Unix epoch
  /// CurrentAgentSnapshot: status name and contacts; logged_out on LOGOUT.
  agent_snapshot current;
  std::string status_arn;                 ///< AgentStatus.ARN
  std::string status_type;                ///< ROUTABLE, CUSTOM or OFFLINE
  std::optional<std::string> next_status; ///< NextAgentStatus.Name
  std::string username;                   ///< Configuration.Username
  std::string effective_state;            ///< effective_state(current)
};

/// Parses the decoded `Data` of one record. Fields the core does not need
/// (PreviousAgentSnapshot, hierarchy, routing profile) may be absent or
/// null; a LOGOUT may come without CurrentAgentSnapshot (an old defect,
/// spec/connect.md §1.5), every other type needs one. Errors are malformed
/// and name the field, e.g.
/// "CurrentAgentSnapshot.AgentStatus.Name: missing".
[[nodiscard]] expected<agent_event> parse_agent_event(std::string_view data);

/// Returns the last path segment of an ARN ("…/agent/<id>" → "<id>"), or an
/// empty string if there is none.
std::string_view arn_last_segment(std::string_view arn);

} // namespace presync::connect
