// A generated contact-centre day replayed on a simulated clock through
// presync's core and through two reference policies kept here only
// (issue 9, figure 3):
//
// - presync: the person state machines and write queues of protocol/,
//   Graph writes packed into $batch requests of up to 20 within the
//   writer's gather window, Teams read by polling ⌈persons ÷ 650⌉ users
//   per request every teams_poll_interval, Teams presence aggregated as
//   the Graph emulator does (presync's session included);
// - seed: the seed vendor's documented behaviour: each Connect change is
//   written at once, every user's presence is re-written every hour, and
//   Available is entered through a brief Offline; one request per write;
// - polling: every user's presence and agent state read every 5 s, one
//   request per user, and a write (one request) on every change seen.
//
// Counted for each: Graph requests (writes and reads), writes that repeat
// the value the user already shows (redundant) and visible status resets
// (a value the user saw for less than min_hold before the policy itself
// replaced it: a flicker or an Offline flash).
#pragma once

#include "config/config.hpp"
#include "protocol/time.hpp"

#include <cstdint>
#include <string>

namespace presync::bench {

struct day_params {
  uint64_t seed = 9;
  int agents = 1000;
  int office_users = 1000;
  duration length = std::chrono::hours{8};
  duration gather_window = config::graph_config{}.write_gather;
};

struct policy_figures {
  std::string name;
  int64_t graph_requests = 0;       ///< writes and reads
  int64_t graph_write_requests = 0; ///< $batch POSTs or direct writes
  int64_t graph_read_requests = 0;
  int64_t teams_writes = 0;       ///< presence writes inside them
  int64_t propagated_changes = 0; ///< writes that changed what Teams shows
  int64_t redundant_writes = 0;
  int64_t visible_resets = 0;
  int64_t connect_requests = 0; ///< PutUserStatus and reads of Connect
};

struct day_figures {
  int persons = 0;
  int64_t actions = 0;
  int64_t held_changes = 0;  ///< Connect runs of min_hold that changed Teams
  double floor_requests = 0; ///< held_changes ÷ 20
  double poll_cycles = 0;
  int64_t reads_per_cycle = 0;
  int64_t reads_per_cycle_floor = 0; ///< ⌈persons ÷ 650⌉
  policy_figures presync;
  policy_figures seed;
  policy_figures polling;
};

/// Replays one generated day through the three policies.
day_figures replay_day(const day_params& p);

} // namespace presync::bench
