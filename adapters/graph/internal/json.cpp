#include "adapters/graph/internal/json.hpp"

#include "protocol/json_text.hpp"

namespace presync::graph::internal {

namespace {

std::string_view describe(simdjson::error_code ec) {
  switch (ec) {
  case simdjson::NO_SUCH_FIELD:
    return "missing";
  case simdjson::INCORRECT_TYPE:
    return "wrong type";
  case simdjson::NUMBER_OUT_OF_RANGE:
  case simdjson::NUMBER_ERROR:
    return "not a valid integer";
  case simdjson::TAPE_ERROR:
  case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
  case simdjson::UNCLOSED_STRING:
  case simdjson::EMPTY:
    return "truncated or invalid JSON";
  default:
    return simdjson::error_message(ec);
  }
}

} // namespace

error json_error(std::string_view what, std::string_view path,
                 simdjson::error_code ec) {
  return field_error(what, path, describe(ec));
}

error field_error(std::string_view what, std::string_view path,
                  std::string_view problem) {
  std::string text{what};
  if (!path.empty()) {
    text += ": ";
    text += path;
  }
  text += ": ";
  text += problem;
  return make_error(sync_error::malformed, std::move(text));
}

void append_quoted(std::string& out, std::string_view s) {
  append_json_string(out, s);
}

std::string json_quoted(std::string_view s) {
  return json_string(s);
}

std::string form_encode(std::string_view s) {
  constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                 c == '~';
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

std::optional<error> open_object(json_document& d, std::string_view json,
                                 od::object& root, std::string_view what) {
  d.buffer = simdjson::padded_string{json};
  if (auto ec = d.parser.iterate(d.buffer).get(d.doc)) {
    return json_error(what, "document", ec);
  }
  if (auto ec = d.doc.get_object().get(root)) {
    return json_error(what, "document",
                      ec == simdjson::INCORRECT_TYPE ? simdjson::INCORRECT_TYPE
                                                     : ec);
  }
  return std::nullopt;
}

std::optional<error> read_string(od::value v, std::string& out,
                                 std::string_view what, std::string_view path) {
  std::string_view s;
  if (auto ec = v.get_string().get(s)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(what, path, "expected a string")
             : json_error(what, path, ec);
  }
  out.assign(s);
  return std::nullopt;
}

bool take_null(od::value& v) {
  bool null = false;
  if (v.is_null().get(null)) {
    return false;
  }
  return null;
}

std::optional<error> read_nullable_string(od::value v,
                                          std::optional<std::string>& out,
                                          std::string_view what,
                                          std::string_view path) {
  if (take_null(v)) {
    out.reset();
    return std::nullopt;
  }
  std::string s;
  if (auto e = read_string(v, s, what, path)) {
    return e;
  }
  out = std::move(s);
  return std::nullopt;
}

std::optional<error> read_bool(od::value v, bool& out, std::string_view what,
                               std::string_view path) {
  if (auto ec = v.get_bool().get(out)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(what, path, "expected true or false")
             : json_error(what, path, ec);
  }
  return std::nullopt;
}

std::optional<error> read_int(od::value v, int64_t& out, std::string_view what,
                              std::string_view path) {
  if (auto ec = v.get_int64().get(out)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(what, path, "expected an integer")
             : json_error(what, path, ec);
  }
  return std::nullopt;
}

std::optional<error> read_string_array(od::value v,
                                       std::vector<std::string>& out,
                                       std::string_view what,
                                       std::string_view path) {
  od::array arr;
  if (auto ec = v.get_array().get(arr)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(what, path, "expected an array")
             : json_error(what, path, ec);
  }
  out.clear();
  size_t i = 0;
  for (auto item : arr) {
    od::value element;
    if (auto ec = std::move(item).get(element)) {
      return json_error(what, index(path, i), ec);
    }
    std::string s;
    if (auto e = read_string(element, s, what, index(path, i))) {
      return e;
    }
    out.push_back(std::move(s));
    ++i;
  }
  return std::nullopt;
}

std::string join(std::string_view base, std::string_view key) {
  if (base.empty()) {
    return std::string{key};
  }
  std::string out{base};
  out += '.';
  out += key;
  return out;
}

std::string index(std::string_view base, size_t i) {
  std::string out{base};
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

} // namespace presync::graph::internal
