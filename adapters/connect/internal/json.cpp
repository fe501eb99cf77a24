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
  d.text.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  d.text.assign(body);
  if (auto code =
        d.parser.iterate(d.text.data(), d.text.size(), d.text.capacity())
          .get(d.doc)) {
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

error string_error(std::string_view where, simdjson::error_code code) {
  if (code == simdjson::INCORRECT_TYPE) {
    return malformed(where, "not a string");
  }
  return invalid_json(where, code);
}

std::optional<error> read_string(json_value& v, std::string_view where,
                                 std::string& out) {
  std::string_view text;
  if (auto code = v.get_string().get(text)) {
    return string_error(where, code);
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

} // namespace presync::connect::internal
