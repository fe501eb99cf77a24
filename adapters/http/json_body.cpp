#include "adapters/http/json_body.hpp"

#include <simdjson.h>

namespace presync::http {

std::optional<body_problem>
parse_string_object(std::string_view body,
                    std::map<std::string, std::string>& out,
                    size_t max_members) {
  auto invalid = [](std::string reason) {
    return body_problem{"body", std::move(reason)};
  };
  simdjson::padded_string text{body};
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(text).get(doc) != simdjson::SUCCESS) {
    return invalid("expected a JSON object");
  }
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return invalid("expected a JSON object");
  }

  size_t count = 0;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return invalid("invalid JSON");
    }
    std::string name{key};
    if (++count > max_members) {
      return invalid("too many members");
    }
    if (out.count(name) != 0) {
      return body_problem{name, "given twice"};
    }
    simdjson::ondemand::value value;
    if (field.value().get(value) != simdjson::SUCCESS) {
      return invalid("invalid JSON");
    }
    simdjson::ondemand::json_type type;
    if (value.type().get(type) != simdjson::SUCCESS) {
      return invalid("invalid JSON");
    }
    if (type == simdjson::ondemand::json_type::null) {
      continue;
    }
    std::string_view s;
    if (type != simdjson::ondemand::json_type::string ||
        value.get_string().get(s) != simdjson::SUCCESS) {
      return body_problem{name, "expected a string"};
    }
    out.emplace(std::move(name), std::string{s});
  }

  // Anything after the object (or a truncated one) is not valid JSON.
  const char* location = nullptr;
  if (doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS) {
    out.clear();
    return invalid("expected one JSON object and nothing after it");
  }
  return std::nullopt;
}

} // namespace presync::http
