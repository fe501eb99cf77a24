#include "protocol/journal.hpp"

#include <array>

namespace presync {

namespace {

constexpr std::array<std::string_view, decision_count> names = {
  "propagated", "held",     "superseded", "echo",     "loop_paused",  "no_rule",
  "ignored",    "deferred", "unchanged",  "restored", "rate_limited", "failed",
};

} // namespace

std::string_view to_string(decision d) {
  return names[static_cast<size_t>(d)];
}

std::optional<decision> parse_decision(std::string_view text) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) {
      return static_cast<decision>(i);
    }
  }
  return std::nullopt;
}

std::string_view to_string(direction d) {
  return d == direction::connect_to_teams ? "connect_to_teams"
                                          : "teams_to_connect";
}

} // namespace presync
