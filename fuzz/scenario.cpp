#include "fuzz/targets.hpp"

#include "sim/scenario.hpp"

#include <string>
#include <vector>

namespace presync::fuzz {

void scenario(std::string_view data) {
  std::vector<std::string> problems;
  auto story = sim::load_scenario_text(data, "fuzz.yaml", problems);
  if (story) {
    (void)story->end();
  } else if (problems.empty()) {
    __builtin_trap(); // a story that does not load says why
  }
}

} // namespace presync::fuzz
