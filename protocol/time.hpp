// Time as the sync core sees it: a monotonic instant in milliseconds.
//
// protocol/ never reads a clock. Production code passes the steady clock's
// reading, tests and the scenario runner pass simulated instants that start
// at zero (DESIGN.md §4, "Time").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace presync {

using duration = std::chrono::milliseconds;
using mono_time = std::chrono::time_point<std::chrono::steady_clock, duration>;

/// Returns the instant `d` after the start of a simulated clock.
constexpr mono_time at(duration d) {
  return mono_time{d};
}

/// Formats a duration the way configs and scenarios write it: "15s", "4m",
/// "1500ms", "1h"; the largest unit that divides it exactly.
std::string format_duration(duration d);

/// Parses "250ms", "15s", "4m", "1h" (also "0"); nullopt on anything else.
std::optional<duration> parse_duration(std::string_view text);

/// Parses an ISO-8601 UTC timestamp ("2025-03-04T15:02:06.884Z", any
/// fraction length, `Z` or a ±hh:mm offset) into milliseconds since the
/// Unix epoch; nullopt when it is not one.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

/// Formats an instant of the simulated clock as its offset from zero.
inline std::string format_offset(mono_time t) {
  return format_duration(t.time_since_epoch());
}

} // namespace presync
