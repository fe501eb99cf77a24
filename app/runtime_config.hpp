// Glue between the loaded config file and the runtime it configures.
#pragma once

#include "config/config.hpp"
#include "protocol/error.hpp"

#include <caf/actor_system_config.hpp>

#include <optional>

namespace presync::app {

/// Applies the config's `actors:` block (scheduler threads, policy,
/// throughput) to a CAF system config; 0 threads means one per core.
[[nodiscard]] std::optional<error>
configure_actor_system(caf::actor_system_config& cfg,
                       const config::actors_config& actors);

} // namespace presync::app
