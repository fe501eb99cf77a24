// Which agent events to apply (spec/connect.md §1.5 and §6.3): Kinesis may
// repeat records and reorder them slightly, and heartbeats keep coming for
// up to an hour after LOGOUT.
#pragma once

#include "adapters/connect/agent_event.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace presync::connect {

/// What agent_event_filter decided about one event.
enum class filter_verdict : uint8_t {
  apply,        ///< newest known snapshot of the agent: use it
  duplicate,    ///< EventId seen recently for this agent: drop
  stale,        ///< older than the newest applied event: drop
  after_logout, ///< HEART_BEAT after LOGOUT: does not log the agent in
};

/// Returns apply, duplicate, stale or after_logout.
std::string_view to_string(filter_verdict v);

/// Decides per agent (by UserId) whether an event is applied.
///
/// Memory is bounded per agent: the last `ids_per_agent` EventIds (64 by
/// default, about 64 × 40 bytes), the newest applied timestamp and a
/// logged-out flag. A duplicate older than the remembered ids is still
/// dropped, as stale, because its EventTimestamp is older than the newest
/// applied one. The number of agents is bounded by the instance's users;
/// forget() drops one.
class agent_event_filter {
 public:
  explicit agent_event_filter(size_t ids_per_agent = 64);

  /// Decides about `event` and, unless it is a duplicate, remembers its id;
  /// on apply, also its timestamp and whether it logged the agent out.
  filter_verdict offer(const agent_event& event);

  /// Forgets everything about one agent.
  void forget(const std::string& user_id);

  /// Returns how many agents are tracked.
  size_t tracked_agents() const { return agents_.size(); }

  /// Returns how many ids are remembered for `user_id` (for tests).
  size_t remembered_ids(const std::string& user_id) const;

 private:
  /// The last ids_per_agent_ event ids of one agent in a ring: once it is
  /// full, the oldest id's slot takes the next id, and its string keeps
  /// its buffer, so remembering an id allocates nothing. The ids' hashes
  /// sit in an array of their own, side by side: a new id is compared
  /// with them first, and only an equal hash is followed by a string
  /// compare (most ids of an agent share a long prefix).
  struct agent_state {
    std::vector<size_t> id_hashes;
    std::vector<std::string> ids; ///< in the order of id_hashes
    size_t oldest = 0;            ///< the slot written next, once full
    int64_t newest_applied_ms = 0;
    bool any_applied = false;
    bool logged_out = false;
  };

  size_t ids_per_agent_;
  std::unordered_map<std::string, agent_state> agents_;
};

} // namespace presync::connect
