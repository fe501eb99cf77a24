// Writing JSON text by hand: the one escaping routine every writer uses.
// (All JSON *parsing* goes through simdjson in adapters/.)
#pragma once

#include <string>
#include <string_view>

namespace presync {

/// Appends `text` escaped for use inside a JSON string (no quotes added).
void append_json_escaped(std::string& out, std::string_view text);

/// Appends `text` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view text);

/// Returns `text` as a quoted JSON string.
std::string json_string(std::string_view text);

} // namespace presync
