// simdjson on-demand helpers shared by the Graph codecs: reading typed
// fields with errors that name the field, and writing escaped JSON.
#pragma once

#include "protocol/error.hpp"

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::graph::internal {

namespace od = simdjson::ondemand;

/// Returns a malformed error "<what>: <path>: <problem>".
error json_error(std::string_view what, std::string_view path,
                 simdjson::error_code ec);

/// Returns a malformed error "<what>: <path>: <problem>" for a rule that
/// simdjson cannot see (a missing required field, a bad value).
error field_error(std::string_view what, std::string_view path,
                  std::string_view problem);

/// Appends `s` as a JSON string literal, quotes included.
void append_quoted(std::string& out, std::string_view s);

/// Returns `s` as a JSON string literal.
std::string json_quoted(std::string_view s);

/// Percent-encodes `s` for an application/x-www-form-urlencoded body.
std::string form_encode(std::string_view s);

/// A document plus the buffer and parser it points into.
struct json_document {
  simdjson::padded_string buffer;
  od::parser parser;
  od::document doc;
};

/// Parses `json` and returns its root object in `root`.
std::optional<error> open_object(json_document& d, std::string_view json,
                                 od::object& root, std::string_view what);

/// Reads typed values; each returns an error naming `path` on a mismatch.
std::optional<error> read_string(od::value v, std::string& out,
                                 std::string_view what, std::string_view path);
std::optional<error> read_nullable_string(od::value v,
                                          std::optional<std::string>& out,
                                          std::string_view what,
                                          std::string_view path);
std::optional<error> read_bool(od::value v, bool& out, std::string_view what,
                               std::string_view path);
std::optional<error> read_int(od::value v, int64_t& out, std::string_view what,
                              std::string_view path);
std::optional<error> read_string_array(od::value v,
                                       std::vector<std::string>& out,
                                       std::string_view what,
                                       std::string_view path);

/// Returns true if `v` is JSON null (consuming it), false otherwise.
bool take_null(od::value& v);

/// Joins a path: "value[2]" + "id" -> "value[2].id".
std::string join(std::string_view base, std::string_view key);

/// Returns "base[i]".
std::string index(std::string_view base, size_t i);

} // namespace presync::graph::internal
