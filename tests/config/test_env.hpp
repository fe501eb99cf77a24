// A fixed environment for config tests: the variables the example and the
// broken configs name, with values that must never appear in any output.
#pragma once

#include "config/config.hpp"

#include <map>
#include <string>

namespace presync::config::testing {

inline const std::map<std::string, std::string>& fake_variables() {
  static const std::map<std::string, std::string> vars = {
    {"PRESYNC_API_TOKENS", "tok-one-value,tok-two-value"},
    {"PRESYNC_GRAPH_SECRET", "graph-secret-value"},
    {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLEVALUE"},
    {"AWS_SECRET_ACCESS_KEY", "aws-secret-value"},
  };
  return vars;
}

/// Returns a lookup over fake_variables(), with `extra` added or replacing.
inline env_lookup
fake_env(const std::map<std::string, std::string>& extra = {}) {
  auto vars = fake_variables();
  for (const auto& [name, value] : extra) {
    vars.insert_or_assign(name, value);
  }
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string{name});
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

} // namespace presync::config::testing
