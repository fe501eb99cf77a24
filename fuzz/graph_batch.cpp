#include "fuzz/targets.hpp"

#include "adapters/graph/batch.hpp"

#include <vector>

namespace presync::fuzz {

void graph_batch(std::string_view data) {
  // The input's length picks how many writes were sent (1-20), so a
  // recorded answer stays valid JSON; half of them are clears, so the
  // 404-on-clear rule is reached too.
  size_t count = 1 + data.size() % graph::max_batch_requests;
  std::vector<graph::presence_write> writes;
  for (size_t i = 0; i < count; ++i) {
    graph::presence_write w;
    w.user_id = "user-" + std::to_string(i);
    w.target = i % 2 == 0 ? teams_target::of({"Busy", "InACall"})
                          : teams_target::clear();
    writes.push_back(std::move(w));
  }
  auto outcomes = graph::parse_write_batch_response(data, writes);
  if (outcomes && outcomes->size() != writes.size()) {
    __builtin_trap(); // one outcome per write, whatever the answer held
  }
}

} // namespace presync::fuzz
