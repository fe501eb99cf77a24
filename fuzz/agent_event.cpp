#include "fuzz/targets.hpp"

#include "adapters/connect/agent_event.hpp"

namespace presync::fuzz {

void agent_event(std::string_view data) {
  auto event = connect::parse_agent_event(data);
  if (event) {
    (void)connect::to_string(event->event_type);
    (void)connect::arn_last_segment(event->agent_arn);
  }
}

} // namespace presync::fuzz
