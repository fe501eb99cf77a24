// Writing JSON by hand: the one escaping helper every adapter codec uses.
#pragma once

#include <string>
#include <string_view>

namespace presync::aws {

/// Appends `text` to `out` as a JSON string literal, quotes included:
/// escapes `"` and `\`, writes control characters as \n, \t, ... or
/// \u00XX, and copies every other byte (UTF-8 stays as it is).
void append_json_string(std::string& out, std::string_view text);

/// Returns `text` as a JSON string literal, quotes included.
std::string json_string(std::string_view text);

} // namespace presync::aws
