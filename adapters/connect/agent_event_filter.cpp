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
  auto& ids = agent.recent_ids;
  const auto hash = std::hash<std::string>{}(event.event_id);
  auto same = [&](const seen_id& s) {
    return s.hash == hash && s.id == event.event_id;
  };
  if (std::any_of(ids.begin(), ids.end(), same)) {
    return filter_verdict::duplicate;
  }
  ids.push_back(seen_id{hash, event.event_id});
  if (ids.size() > ids_per_agent_) {
    ids.pop_front();
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
  return it == agents_.end() ? 0 : it->second.recent_ids.size();
}

} // namespace presync::connect
