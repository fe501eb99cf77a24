#include "protocol/messages.hpp"

#include <array>

namespace presync {

std::string_view to_string(side s) {
  return s == side::teams ? "teams" : "connect";
}

std::string_view to_string(timer_kind k) {
  constexpr std::array<std::string_view, timer_kind_count> names = {
    "c2t_hold", "t2c_hold", "exit_hold", "deferral", "refresh", "pause_end",
  };
  return names[static_cast<size_t>(k)];
}

} // namespace presync
