#include "adapters/connect/agent_event_filter.hpp"

#include <algorithm>
#include <functional>

namespace presync::connect {

std::string_view to_string(filter_verdict v) {
  switch (v) {
  case filter_verdict::apply:
    return "apply";
  case filter_verdict::duplicate:
    return "duplicate";
  case filter_verdict::stale:
    return "stale";
  case filter_verdict::after_logout:
    return "after_logout";
  }
  return "apply";
}

agent_event_filter::agent_event_filter(size_t ids_per_agent)
  : ids_per_agent_(std::max<size_t>(ids_per_agent, 1)) {}

filter_verdict agent_event_filter::offer(const agent_event& event) {
  auto& agent = agents_[event.user_id];

  // Duplicates first: a repeated record must not even refresh the id list.
  const auto hash = std::hash<std::string>{}(event.event_id);
  const auto& hashes = agent.id_hashes;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (hashes[i] == hash && agent.ids[i] == event.event_id) {
      return filter_verdict::duplicate;
    }
  }
  if (agent.ids.size() < ids_per_agent_) {
    agent.id_hashes.push_back(hash);
    agent.ids.push_back(event.event_id);
  } else {
    agent.id_hashes[agent.oldest] = hash;
    agent.ids[agent.oldest].assign(event.event_id);
    agent.oldest = (agent.oldest + 1) % ids_per_agent_;
  }

  // Every event carries a full snapshot, so an older one never overwrites
  // a newer one; equal timestamps are distinct events and both apply.
  if (agent.any_applied && event.timestamp_ms < agent.newest_applied_ms) {
    return filter_verdict::stale;
  }
  if (agent.logged_out && event.event_type == agent_event_type::heart_beat) {
    return filter_verdict::after_logout;
  }

  agent.any_applied = true;
  agent.newest_applied_ms = event.timestamp_ms;
  agent.logged_out = event.event_type == agent_event_type::logout;
  return filter_verdict::apply;
}

void agent_event_filter::forget(const std::string& user_id) {
  agents_.erase(user_id);
}

size_t agent_event_filter::remembered_ids(const std::string& user_id) const {
  auto it = agents_.find(user_id);
  return it == agents_.end() ? 0 : it->second.ids.size();
}

} // namespace presync::connect
