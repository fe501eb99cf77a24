#include "fuzz/targets.hpp"

#include "adapters/graph/presence.hpp"

namespace presync::fuzz {

void graph_presence(std::string_view data) {
  auto many = graph::parse_presence_response(data);
  if (many) {
    for (const auto& r : *many) {
      (void)r.value.key();
    }
  }
  (void)graph::parse_presence_object(data);
}

} // namespace presync::fuzz
