// Reads a `sync:` section (a tenant's, or a scenario's overrides).
#pragma once

#include "protocol/rules.hpp"

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace presync::config {

/// Returns the defaults with every key of `node` applied; a map given
/// replaces that default map. Each problem is one line naming its path.
sync_settings parse_sync_section(const YAML::Node& node,
                                 const std::string& path,
                                 std::vector<std::string>& problems);

} // namespace presync::config
