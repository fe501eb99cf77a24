#include "protocol/time.hpp"

#include <charconv>
#include <cstdint>

namespace presync {

std::string format_duration(duration d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) {
    return std::to_string(ms / 3'600'000) + "h";
  }
  if (ms != 0 && ms % 60'000 == 0) {
    return std::to_string(ms / 60'000) + "m";
  }
  if (ms % 1'000 == 0) {
    return std::to_string(ms / 1'000) + "s";
  }
  return std::to_string(ms) + "ms";
}

std::optional<duration> parse_duration(std::string_view text) {
  if (text == "0") {
    return duration{0};
  }
  std::int64_t value = 0;
  auto [rest, ec] =
    std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || rest == text.data() || value < 0) {
    return std::nullopt;
  }
  std::string_view unit{rest,
                        static_cast<size_t>(text.data() + text.size() - rest)};
  std::int64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1'000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return std::nullopt;
  }
  // Reject values whose milliseconds would overflow (about 292 million years).
  if (value > INT64_MAX / scale) {
    return std::nullopt;
  }
  return duration{value * scale};
}

} // namespace presync
