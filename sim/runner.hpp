// Replays a scenario through the sync core on a simulated clock: the person
// state machines and the write queues of protocol/, exactly as production
// runs them, with only the two remote platforms simulated.
#pragma once

#include "protocol/journal.hpp"
#include "sim/scenario.hpp"

#include <map>
#include <string>
#include <vector>

namespace presync::sim {

/// Everything a replay produced.
struct replay {
  std::vector<expected_write> writes;    ///< attempts, in issue order
  std::vector<expected_write> refreshes; ///< keep-alive posts
  std::map<std::string, std::vector<journal_entry>> decisions;
};

/// Runs `s` from t=0 to s.end().
replay run_scenario(const scenario& s);

/// Returns the first difference between what `s` expects and `r`, or an
/// empty text when they agree.
std::string first_difference(const scenario& s, const replay& r);

/// Formats a write as the runner reports it: "15s teams gina Busy/InACall".
std::string describe(const expected_write& w);

} // namespace presync::sim
