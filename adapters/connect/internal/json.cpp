#include "adapters/connect/internal/json.hpp"

#include <chrono>
#include <cmath>

namespace presync::connect::internal {

error malformed(std::string_view where, std::string_view what) {
  return make_error(sync_error::malformed,
                    std::string{where} + ": " + std::string{what});
}

error invalid_json(std::string_view where, simdjson::error_code code) {
  return malformed(where, std::string{"invalid JSON ("} +
                            simdjson::error_message(code) + ")");
}

std::optional<error> open_object(json_document& d, std::string_view body,
                                 std::string_view where, json_object& out) {
  d.text = simdjson::padded_string{body};
  if (auto code = d.parser.iterate(d.text).get(d.doc)) {
    return invalid_json(where, code);
  }
  if (auto code = d.doc.get_object().get(out)) {
    if (code == simdjson::INCORRECT_TYPE) {
      return malformed(where, "not a JSON object");
    }
    return invalid_json(where, code);
  }
  return std::nullopt;
}

std::optional<error> check_end(json_document& d, std::string_view where) {
  const char* location = nullptr;
  if (d.doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS) {
    return malformed(where, "trailing content after the JSON object");
  }
  return std::nullopt;
}

bool is_null(json_value& v) {
  bool null = false;
  return !v.is_null().get(null) && null;
}

std::optional<error> read_string(json_value& v, std::string_view where,
                                 std::string& out) {
  std::string_view text;
  if (auto code = v.get_string().get(text)) {
    if (code == simdjson::INCORRECT_TYPE) {
      return malformed(where, "not a string");
    }
    return invalid_json(where, code);
  }
  out.assign(text);
  return std::nullopt;
}

std::optional<error> read_nullable_string(json_value& v, std::string_view where,
                                          std::optional<std::string>& out) {
  if (is_null(v)) {
    out.reset();
    return std::nullopt;
  }
  std::string text;
  if (auto e = read_string(v, where, text)) {
    return e;
  }
  out = std::move(text);
  return std::nullopt;
}

std::optional<error> read_int64(json_value& v, std::string_view where,
                                int64_t& out) {
  if (auto code = v.get_int64().get(out)) {
    if (code == simdjson::INCORRECT_TYPE) {
      return malformed(where, "not an integer");
    }
    return malformed(where, "not an integer (" +
                              std::string{simdjson::error_message(code)} + ")");
  }
  return std::nullopt;
}

std::optional<error> read_bool(json_value& v, std::string_view where,
                               bool& out) {
  if (v.get_bool().get(out)) {
    return malformed(where, "not a boolean");
  }
  return std::nullopt;
}

std::optional<error> read_epoch_ms(json_value& v, std::string_view where,
                                   int64_t& out) {
  simdjson::ondemand::json_type type;
  if (auto code = v.type().get(type)) {
    return invalid_json(where, code);
  }
  if (type == simdjson::ondemand::json_type::number) {
    double seconds = 0;
    if (v.get_double().get(seconds) || !std::isfinite(seconds)) {
      return malformed(where, "not a number");
    }
    out = std::llround(seconds * 1000.0);
    return std::nullopt;
  }
  if (type == simdjson::ondemand::json_type::string) {
    std::string text;
    if (auto e = read_string(v, where, text)) {
      return e;
    }
    auto ms = parse_iso8601_ms(text);
    if (!ms) {
      return malformed(where, "not an ISO-8601 time");
    }
    out = *ms;
    return std::nullopt;
  }
  return malformed(where, "neither an epoch number nor an ISO-8601 string");
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

} // namespace presync::connect::internal
