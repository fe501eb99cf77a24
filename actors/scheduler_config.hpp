// Applies a config file's `actors:` settings (DESIGN.md §6: "Actor pool
// size and scheduler policy come from the config") to CAF's configuration.
// Takes plain values, so it does not depend on the YAML loader.
#pragma once

#include "protocol/error.hpp"

#include <caf/actor_system_config.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

namespace presync::actors {

/// Sets scheduler.max-threads, scheduler.policy and
/// scheduler.max-throughput. `policy` is "stealing" or "sharing"; threads
/// and throughput must be at least 1. Returns a config_invalid error
/// naming the offending `actors.*` key and leaves `cfg` unchanged then.
[[nodiscard]] std::optional<error>
apply_scheduler_settings(caf::actor_system_config& cfg, size_t threads,
                         std::string_view policy, size_t throughput);

} // namespace presync::actors
