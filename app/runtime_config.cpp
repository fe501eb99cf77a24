#include "app/runtime_config.hpp"

#include "actors/scheduler_config.hpp"

#include <algorithm>
#include <thread>

namespace presync::app {

std::optional<error>
configure_actor_system(caf::actor_system_config& cfg,
                       const config::actors_config& actors) {
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  auto threads = actors.scheduler_threads > 0
                   ? static_cast<size_t>(actors.scheduler_threads)
                   : size_t{cores};
  auto policy =
    actors.scheduler_policy == config::actors_config::policy::sharing
      ? "sharing"
      : "stealing";
  return actors::apply_scheduler_settings(
    cfg, threads, policy, static_cast<size_t>(std::max(1, actors.throughput)));
}

} // namespace presync::app
