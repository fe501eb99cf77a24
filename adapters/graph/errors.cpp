#include "adapters/graph/errors.hpp"

#include "adapters/graph/internal/json.hpp"

namespace presync::graph {

using namespace internal;

namespace {

constexpr std::string_view error_what = "graph error";

std::optional<error> read_error_object(od::value v, graph_error_body& out,
                                       bool& seen_code) {
  od::object obj;
  if (auto ec = v.get_object().get(obj)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(error_what, "error", "expected an object")
             : json_error(error_what, "error", ec);
  }
  for (auto item : obj) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(error_what, "error", ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(error_what, "error", ec);
    }
    auto at = join("error", key);
    if (key == "code") {
      seen_code = true;
      if (auto e = read_string(f.value(), out.code, error_what, at)) {
        return e;
      }
    } else if (key == "message") {
      std::optional<std::string> message;
      if (auto e = read_nullable_string(f.value(), message, error_what, at)) {
        return e;
      }
      out.message = message.value_or("");
    } else if (key == "innerError" || key == "innererror") {
      od::object inner;
      if (auto ec = f.value().get_object().get(inner)) {
        return json_error(error_what, at, ec);
      }
      for (auto in : inner) {
        od::field g;
        std::string_view k;
        if (auto ec = std::move(in).get(g)) {
          return json_error(error_what, at, ec);
        }
        if (auto ec = g.unescaped_key().get(k)) {
          return json_error(error_what, at, ec);
        }
        if (k == "request-id") {
          if (auto e = read_string(g.value(), out.request_id, error_what,
                                   join(at, k))) {
            return e;
          }
        } else if (k == "date") {
          if (auto e =
                read_string(g.value(), out.date, error_what, join(at, k))) {
            return e;
          }
        }
      }
    }
  }
  return std::nullopt;
}

} // namespace

expected<graph_error_body> parse_graph_error(std::string_view json) {
  json_document d;
  od::object root;
  if (auto e = open_object(d, json, root, error_what)) {
    return *e;
  }
  graph_error_body out;
  bool seen_error = false;
  bool seen_code = false;
  for (auto item : root) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(error_what, "document", ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(error_what, "document", ec);
    }
    if (key == "error") {
      seen_error = true;
      if (auto e = read_error_object(f.value(), out, seen_code)) {
        return *e;
      }
    }
  }
  if (!seen_error) {
    return field_error(error_what, "error", "missing");
  }
  if (!seen_code) {
    return field_error(error_what, "error.code", "missing");
  }
  return out;
}

error from_graph_response(const http::http_response& response,
                          std::string context) {
  auto e = http::from_http_status(response.status, response.headers,
                                  std::move(context));
  if (response.body.empty()) {
    return e;
  }
  if (auto body = parse_graph_error(response.body)) {
    e.context += ": " + body->code;
    if (!body->request_id.empty()) {
      e.request_id = body->request_id;
    }
  }
  return e;
}

} // namespace presync::graph
