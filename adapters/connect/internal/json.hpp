// Reading simdjson on-demand values into our own types, with errors that
// name the field ("Contacts[1].State: missing"). Private to adapters/connect.
#pragma once

#include "protocol/time.hpp"

#include "protocol/error.hpp"

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace presync::connect::internal {

using json_value = simdjson::ondemand::value;
using json_object = simdjson::ondemand::object;
using json_array = simdjson::ondemand::array;
using json_field = simdjson::ondemand::field;

/// Returns a malformed error "<where>: <what>".
error malformed(std::string_view where, std::string_view what);

/// A parsed document; the parser must outlive every value read from it.
/// A document that is used again keeps its buffers: parsing the next body
/// allocates nothing unless the body is longer than any before.
struct json_document {
  std::string text; ///< the body, with room for simdjson's padding
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
};

/// Starts reading `body` as a JSON object named `where` in errors.
[[nodiscard]] std::optional<error> open_object(json_document& d,
                                               std::string_view body,
                                               std::string_view where,
                                               json_object& out);

/// Checks that nothing follows the root value.
[[nodiscard]] std::optional<error> check_end(json_document& d,
                                             std::string_view where);

/// Returns "<where>: invalid JSON (<simdjson's reason>)".
error invalid_json(std::string_view where, simdjson::error_code code);

/// Returns the error for a value at `where` that get_string() refused
/// with `code`: "not a string" or invalid JSON.
error string_error(std::string_view where, simdjson::error_code code);

/// Reads a string.
[[nodiscard]] std::optional<error>
read_string(json_value& v, std::string_view where, std::string& out);

/// Reads a string or null (nullopt).
[[nodiscard]] std::optional<error>
read_nullable_string(json_value& v, std::string_view where,
                     std::optional<std::string>& out);

/// Reads an integer.
[[nodiscard]] std::optional<error>
read_int64(json_value& v, std::string_view where, int64_t& out);

/// Reads a boolean.
[[nodiscard]] std::optional<error> read_bool(json_value& v,
                                             std::string_view where, bool& out);

/// Reads a time as milliseconds since the Unix epoch: a number of epoch
/// seconds (fraction allowed) or an ISO-8601 string.
[[nodiscard]] std::optional<error>
read_epoch_ms(json_value& v, std::string_view where, int64_t& out);

/// Returns true if the value is JSON null (and consumes it).
bool is_null(json_value& v);

/// ISO-8601 timestamps are read by the shared parser of protocol/time.
using presync::parse_iso8601_ms;

} // namespace presync::connect::internal
