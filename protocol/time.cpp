#include "protocol/time.hpp"

#include <charconv>
#include <chrono>
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

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  using namespace std::chrono;
  auto digits = [&](size_t pos, size_t n) -> int {
    if (pos + n > text.size()) {
      return -1;
    }
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return -1;
      }
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  int y = digits(0, 4);
  int mo = digits(5, 2);
  int d = digits(8, 2);
  int h = digits(11, 2);
  int mi = digits(14, 2);
  int s = digits(17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      s < 0 || s > 60) {
    return std::nullopt;
  }

  // Fraction of any length; digits past the millisecond are dropped.
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    ++pos;
    size_t first = pos;
    int scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (scale > 0) {
        ms += (text[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
    }
    if (pos == first) {
      return std::nullopt;
    }
  }

  int64_t offset_minutes = 0;
  if (pos + 1 == text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    // UTC
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') &&
             text[pos + 3] == ':') {
    int oh = digits(pos + 1, 2);
    int om = digits(pos + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }

  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                     day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} -
           minutes{offset_minutes};
  return duration_cast<milliseconds>(t.time_since_epoch()).count() + ms;
}

} // namespace presync
