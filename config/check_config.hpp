// `presync check-config FILE`: validate a config file and list every
// problem (DESIGN.md §6).
#pragma once

#include "config/config.hpp"

#include <ostream>
#include <span>
#include <string>

namespace presync::config {

/// Runs check-config on `args` (the words after `check-config`): prints
/// every diagnostic and a summary line to `out`, usage problems to `err`.
/// Returns 0 without errors, 1 with errors, 2 on a usage error or an
/// unreadable file.
[[nodiscard]] int check_config(std::span<const std::string> args,
                               std::ostream& out, std::ostream& err,
                               const env_lookup& env);

/// Runs check-config from main(): argv[0] is `check-config`, the
/// environment is the process's.
int check_config_main(int argc, char** argv);

} // namespace presync::config
