// Request bodies of presync's own API, read with simdjson: a JSON object
// whose members are strings. Kept here so app/ never sees simdjson.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace presync::http {

/// Why a body was refused: the member ("body" for the whole) and reason.
struct body_problem {
  std::string field;
  std::string reason;
};

/// Reads `body` as one JSON object of string members into `out`; a null
/// member counts as absent. Refuses invalid JSON, another root type, a
/// member of another type, a repeated member and more than `max_members`.
[[nodiscard]] std::optional<body_problem>
parse_string_object(std::string_view body,
                    std::map<std::string, std::string>& out,
                    size_t max_members = 16);

} // namespace presync::http
