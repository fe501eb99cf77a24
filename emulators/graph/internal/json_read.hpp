#pragma once

// simdjson helpers shared by the emulator's request handlers.

#include <simdjson.h>

#include <optional>
#include <string>

namespace presync::graph_emulator::internal {

/// Tells how a field lookup went.
enum class field { ok, missing, wrong_type };

/// Reads a string member of `o` into `out`.
inline field read_string(simdjson::dom::object o, const char* key,
                         std::string& out) {
  simdjson::dom::element e;
  if (o[key].get(e) != simdjson::SUCCESS) {
    return field::missing;
  }
  std::string_view sv;
  if (e.get_string().get(sv) != simdjson::SUCCESS) {
    return field::wrong_type;
  }
  out.assign(sv);
  return field::ok;
}

/// Reads a boolean member of `o` into `out`.
inline field read_bool(simdjson::dom::object o, const char* key, bool& out) {
  simdjson::dom::element e;
  if (o[key].get(e) != simdjson::SUCCESS) {
    return field::missing;
  }
  if (e.get_bool().get(out) != simdjson::SUCCESS) {
    return field::wrong_type;
  }
  return field::ok;
}

/// Reads a number member of `o` into `out` (integers or doubles).
inline field read_double(simdjson::dom::object o, const char* key,
                         double& out) {
  simdjson::dom::element e;
  if (o[key].get(e) != simdjson::SUCCESS) {
    return field::missing;
  }
  if (e.get_double().get(out) != simdjson::SUCCESS) {
    return field::wrong_type;
  }
  return field::ok;
}

} // namespace presync::graph_emulator::internal
