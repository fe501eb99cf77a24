#include "actors/scheduler_config.hpp"

#include <caf/atom.hpp>

#include <string>

namespace presync::actors {

std::optional<error> apply_scheduler_settings(caf::actor_system_config& cfg,
                                              size_t threads,
                                              std::string_view policy,
                                              size_t throughput) {
  if (threads == 0) {
    return make_error(sync_error::config_invalid,
                      "actors.scheduler_threads: must be at least 1");
  }
  if (throughput == 0) {
    return make_error(sync_error::config_invalid,
                      "actors.throughput: must be at least 1");
  }
  caf::atom_value policy_atom;
  if (policy == "stealing") {
    policy_atom = caf::atom("stealing");
  } else if (policy == "sharing") {
    policy_atom = caf::atom("sharing");
  } else {
    return make_error(
      sync_error::config_invalid,
      "actors.scheduler_policy: expected stealing or sharing, got '" +
        std::string{policy} + "'");
  }

  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.policy", policy_atom);
  cfg.set("scheduler.max-throughput", throughput);
  return std::nullopt;
}

} // namespace presync::actors
