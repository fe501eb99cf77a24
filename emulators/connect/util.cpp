#include "emulators/connect/util.hpp"

#include <chrono>
#include <cstdio>

namespace presync::connect_emulator {

namespace {

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = m > 2 ? m - 3 : m + 9;
  const unsigned doy = (153 * mp + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  return {m <= 2 ? y + 1 : y, m, d};
}

struct broken_down {
  civil date;
  unsigned hour;
  unsigned minute;
  unsigned second;
  unsigned milli;
};

broken_down split(std::int64_t ms) {
  std::int64_t days = ms / 86400000;
  std::int64_t rest = ms % 86400000;
  if (rest < 0) {
    rest += 86400000;
    --days;
  }
  const auto r = static_cast<unsigned>(rest);
  return {civil_from_days(days), r / 3600000, r / 60000 % 60, r / 1000 % 60,
          r % 1000};
}

std::optional<unsigned> digits(std::string_view text, std::size_t pos,
                               std::size_t count) {
  if (pos + count > text.size()) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return value;
}

std::optional<std::int64_t> compose(unsigned y, unsigned mo, unsigned d,
                                    unsigned h, unsigned mi, unsigned s,
                                    unsigned milli) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  const std::int64_t days = days_from_civil(y, mo, d);
  return ((days * 24 + h) * 60 + mi) * 60000 + s * 1000 + milli;
}

constexpr std::string_view b64_alphabet =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

} // namespace

void json_out::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) {
      out_ += ',';
    }
    first_.back() = false;
  }
}

json_out& json_out::begin_object() {
  before_value();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

json_out& json_out::end_object() {
  out_ += '}';
  first_.pop_back();
  return *this;
}

json_out& json_out::begin_array() {
  before_value();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

json_out& json_out::end_array() {
  out_ += ']';
  first_.pop_back();
  return *this;
}

json_out& json_out::key(std::string_view name) {
  before_value();
  out_ += json_quote(name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

json_out& json_out::string(std::string_view text) {
  before_value();
  out_ += json_quote(text);
  return *this;
}

json_out& json_out::number(std::int64_t value) {
  before_value();
  out_ += std::to_string(value);
  return *this;
}

json_out& json_out::number(double value) {
  before_value();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  std::string text = buf;
  if (text.find_first_of(".eE") == std::string::npos) {
    text += ".0";
  }
  out_ += text;
  return *this;
}

json_out& json_out::boolean(bool value) {
  before_value();
  out_ += value ? "true" : "false";
  return *this;
}

json_out& json_out::null() {
  before_value();
  out_ += "null";
  return *this;
}

json_out& json_out::raw(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

json_out& json_out::epoch_seconds(std::int64_t ms) {
  before_value();
  const bool negative = ms < 0;
  const std::int64_t abs_ms = negative ? -ms : ms;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%lld.%03lld", negative ? "-" : "",
                static_cast<long long>(abs_ms / 1000),
                static_cast<long long>(abs_ms % 1000));
  out_ += buf;
  return *this;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x",
                      static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  out += '"';
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n =
      static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16 |
      static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
      static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
    out += b64_alphabet[n >> 18 & 63];
    out += b64_alphabet[n >> 12 & 63];
    out += b64_alphabet[n >> 6 & 63];
    out += b64_alphabet[n & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i]))
                 << 16;
    if (left == 2) {
      n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    }
    out += b64_alphabet[n >> 18 & 63];
    out += b64_alphabet[n >> 12 & 63];
    out += left == 2 ? b64_alphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    unsigned n = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      unsigned v = 0;
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
      } else {
        const auto pos = b64_alphabet.find(c);
        if (pos == std::string_view::npos || pad > 0) {
          return std::nullopt;
        }
        v = static_cast<unsigned>(pos);
      }
      n = n << 6 | v;
    }
    out += static_cast<char>(n >> 16 & 255);
    if (pad < 2) {
      out += static_cast<char>(n >> 8 & 255);
    }
    if (pad < 1) {
      out += static_cast<char>(n & 255);
    }
  }
  return out;
}

std::string iso_ms(std::int64_t ms) {
  const broken_down t = split(ms);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
                static_cast<long long>(t.date.year), t.date.month, t.date.day,
                t.hour, t.minute, t.second, t.milli);
  return buf;
}

std::string amz_date(std::int64_t ms) {
  const broken_down t = split(ms);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02uT%02u%02u%02uZ",
                static_cast<long long>(t.date.year), t.date.month, t.date.day,
                t.hour, t.minute, t.second);
  return buf;
}

std::optional<std::int64_t> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
    return std::nullopt;
  }
  const auto y = digits(text, 0, 4);
  const auto mo = digits(text, 4, 2);
  const auto d = digits(text, 6, 2);
  const auto h = digits(text, 9, 2);
  const auto mi = digits(text, 11, 2);
  const auto s = digits(text, 13, 2);
  if (!y || !mo || !d || !h || !mi || !s) {
    return std::nullopt;
  }
  return compose(*y, *mo, *d, *h, *mi, *s, 0);
}

std::optional<std::int64_t> parse_iso(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  const auto y = digits(text, 0, 4);
  const auto mo = digits(text, 5, 2);
  const auto d = digits(text, 8, 2);
  const auto h = digits(text, 11, 2);
  const auto mi = digits(text, 14, 2);
  const auto s = digits(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s) {
    return std::nullopt;
  }
  unsigned milli = 0;
  if (text.size() > 20) {
    if (text[19] != '.') {
      return std::nullopt;
    }
    const std::string_view frac = text.substr(20, text.size() - 21);
    unsigned scale = 100;
    for (const char c : frac) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      milli += static_cast<unsigned>(c - '0') * scale;
      scale /= 10;
    }
  }
  return compose(*y, *mo, *d, *h, *mi, *s, milli);
}

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace presync::connect_emulator
