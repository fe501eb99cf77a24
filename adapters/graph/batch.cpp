#include "adapters/graph/batch.hpp"

#include "adapters/graph/errors.hpp"
#include "adapters/graph/internal/json.hpp"
#include "protocol/status.hpp"

#include <charconv>

namespace presync::graph {

using namespace internal;

namespace {

constexpr std::string_view batch_what = "batch response";

// One parsed sub-response.
struct sub_response {
  int status = 0;
  duration retry_after{0};
  std::string reason;
};

std::optional<error> read_headers(od::value v, sub_response& out,
                                  const std::string& path) {
  od::object obj;
  if (auto ec = v.get_object().get(obj)) {
    return json_error(batch_what, path, ec);
  }
  for (auto item : obj) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(batch_what, path, ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(batch_what, path, ec);
    }
    if (iequals(key, "Retry-After")) {
      std::string value;
      if (auto e = read_string(f.value(), value, batch_what, join(path, key))) {
        return e;
      }
      auto after =
        http::parse_retry_after(value, std::chrono::system_clock::now());
      if (!after) {
        return field_error(batch_what, join(path, key),
                           "not seconds or an HTTP date");
      }
      out.retry_after = *after;
    }
  }
  return std::nullopt;
}

std::optional<error> read_sub_response(od::value v, std::string& id,
                                       sub_response& out,
                                       const std::string& path) {
  od::object obj;
  if (auto ec = v.get_object().get(obj)) {
    return json_error(batch_what, path, ec);
  }
  bool seen_status = false;
  for (auto item : obj) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(batch_what, path, ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(batch_what, path, ec);
    }
    auto at = join(path, key);
    if (key == "id") {
      if (auto e = read_string(f.value(), id, batch_what, at)) {
        return e;
      }
    } else if (key == "status") {
      int64_t status = 0;
      if (auto e = read_int(f.value(), status, batch_what, at)) {
        return e;
      }
      if (status < 100 || status > 599) {
        return field_error(batch_what, at, "not an HTTP status");
      }
      out.status = static_cast<int>(status);
      seen_status = true;
    } else if (key == "headers") {
      if (auto e = read_headers(f.value(), out, at)) {
        return e;
      }
    } else if (key == "body") {
      // Only an error body matters; keep its code for the journal.
      od::value body = f.value();
      od::json_type type;
      if (auto ec = body.type().get(type)) {
        return json_error(batch_what, at, ec);
      }
      if (type == od::json_type::object) {
        od::object b;
        std::string_view raw;
        if (auto ec = body.get_object().get(b)) {
          return json_error(batch_what, at, ec);
        }
        if (auto ec = b.raw_json().get(raw)) {
          return json_error(batch_what, at, ec);
        }
        if (auto parsed = parse_graph_error(raw)) {
          out.reason = parsed->code;
        }
      }
    }
  }
  if (id.empty()) {
    return field_error(batch_what, join(path, "id"), "missing");
  }
  if (!seen_status) {
    return field_error(batch_what, join(path, "status"), "missing");
  }
  return std::nullopt;
}

bool valid_ttl(duration ttl) {
  return ttl >= std::chrono::minutes{5} && ttl <= std::chrono::hours{4};
}

} // namespace

std::string iso8601_duration(duration d) {
  auto total = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (total <= 0) {
    return "PT0S";
  }
  auto h = total / 3600;
  auto m = (total % 3600) / 60;
  auto s = total % 60;
  std::string out = "PT";
  if (h != 0) {
    out += std::to_string(h) + "H";
  }
  if (m != 0) {
    out += std::to_string(m) + "M";
  }
  if (s != 0) {
    out += std::to_string(s) + "S";
  }
  return out;
}

expected<std::string> set_presence_body(const presence& value,
                                        const session_settings& session) {
  if (session.session_id.empty()) {
    return make_error(sync_error::config_invalid,
                      "setPresence: session id is empty");
  }
  if (!valid_ttl(session.session_ttl)) {
    return make_error(sync_error::config_invalid,
                      "setPresence: teams_session_ttl " +
                        format_duration(session.session_ttl) +
                        " is outside 5m-4h");
  }
  if (!is_publishable(value)) {
    return make_error(sync_error::rejected,
                      "setPresence: " + value.key() +
                        " is not a pair setPresence accepts");
  }
  std::string body = "{\"sessionId\":";
  append_quoted(body, session.session_id);
  body += ",\"availability\":";
  append_quoted(body, value.availability);
  body += ",\"activity\":";
  append_quoted(body, value.activity);
  body += ",\"expirationDuration\":";
  append_quoted(body, iso8601_duration(session.session_ttl));
  body += '}';
  return body;
}

std::string clear_presence_body(const session_settings& session) {
  return "{\"sessionId\":" + json_quoted(session.session_id) + "}";
}

std::string write_path(const presence_write& write) {
  return "/users/" + form_encode(write.user_id) + "/presence/" +
         (write.target.is_clear() ? "clearPresence" : "setPresence");
}

namespace {

expected<std::string> write_body(const presence_write& write,
                                 const session_settings& session) {
  if (write.user_id.empty()) {
    return make_error(sync_error::rejected, "presence write: user id empty");
  }
  if (write.target.is_clear()) {
    if (session.session_id.empty()) {
      return make_error(sync_error::config_invalid,
                        "clearPresence: session id is empty");
    }
    return clear_presence_body(session);
  }
  return set_presence_body(*write.target.value, session);
}

} // namespace

expected<http::http_request>
build_write_request(const endpoints& where, const presence_write& write,
                    const session_settings& session) {
  auto body = write_body(write, session);
  if (!body) {
    return body.err();
  }
  http::http_request req;
  req.method = "POST";
  req.url = where.graph_base() + write_path(write);
  req.headers.set("Content-Type", "application/json");
  req.body = std::move(*body);
  return req;
}

expected<std::string>
build_write_batch_body(std::span<const presence_write> writes,
                       const session_settings& session) {
  if (writes.empty() || writes.size() > max_batch_requests) {
    return make_error(sync_error::rejected,
                      "$batch: " + std::to_string(writes.size()) +
                        " writes, 1-20 allowed");
  }
  std::string out = "{\"requests\":[";
  for (size_t i = 0; i < writes.size(); ++i) {
    auto body = write_body(writes[i], session);
    if (!body) {
      auto e = body.err();
      e.context = "$batch request " + std::to_string(i + 1) + ": " + e.context;
      return e;
    }
    if (i != 0) {
      out += ',';
    }
    out += "{\"id\":";
    append_quoted(out, std::to_string(i + 1));
    out += ",\"method\":\"POST\",\"url\":";
    append_quoted(out, write_path(writes[i]));
    out += ",\"headers\":{\"Content-Type\":\"application/json\"},\"body\":";
    out += *body;
    out += '}';
  }
  out += "]}";
  return out;
}

expected<http::http_request>
build_write_batch(const endpoints& where,
                  std::span<const presence_write> writes,
                  const session_settings& session) {
  auto body = build_write_batch_body(writes, session);
  if (!body) {
    return body.err();
  }
  http::http_request req;
  req.method = "POST";
  req.url = where.graph_base() + "/$batch";
  req.headers.set("Content-Type", "application/json");
  req.headers.set("Accept", "application/json");
  req.body = std::move(*body);
  return req;
}

write_outcome write_outcome_for(const presence_write& write, int status,
                                duration retry_after, std::string reason) {
  write_outcome out;
  out.http_status = status;
  if (status == 200 || status == 204) {
    out.result = write_outcome::kind::ok;
    return out;
  }
  if (status == 404 && write.target.is_clear()) {
    out.result = write_outcome::kind::ok;
    out.reason = "no session to clear";
    return out;
  }
  if (status == 429 || (status >= 500 && status <= 599)) {
    out.result = write_outcome::kind::throttled;
    out.retry_after = retry_after;
  } else {
    out.result = write_outcome::kind::failed;
  }
  out.reason = "HTTP " + std::to_string(status);
  if (!reason.empty()) {
    out.reason += " " + reason;
  }
  return out;
}

expected<std::vector<write_outcome>>
parse_write_batch_response(std::string_view json,
                           std::span<const presence_write> writes) {
  json_document d;
  od::object root;
  if (auto e = open_object(d, json, root, batch_what)) {
    return *e;
  }
  std::vector<std::optional<write_outcome>> slots(writes.size());
  bool seen_responses = false;
  for (auto item : root) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(batch_what, "document", ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(batch_what, "document", ec);
    }
    if (key != "responses") {
      continue;
    }
    seen_responses = true;
    od::array arr;
    if (auto ec = f.value().get_array().get(arr)) {
      return ec == simdjson::INCORRECT_TYPE
               ? field_error(batch_what, "responses", "expected an array")
               : json_error(batch_what, "responses", ec);
    }
    size_t i = 0;
    for (auto element : arr) {
      auto path = index("responses", i++);
      od::value v;
      if (auto ec = std::move(element).get(v)) {
        return json_error(batch_what, path, ec);
      }
      std::string id;
      sub_response sub;
      if (auto e = read_sub_response(v, id, sub, path)) {
        return *e;
      }
      size_t n = 0;
      auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
      if (ec != std::errc{} || end != id.data() + id.size() || n == 0 ||
          n > writes.size()) {
        return field_error(batch_what, join(path, "id"),
                           "does not name a request of this batch");
      }
      slots[n - 1] = write_outcome_for(writes[n - 1], sub.status,
                                       sub.retry_after, sub.reason);
    }
  }
  if (!seen_responses) {
    return field_error(batch_what, "responses", "missing");
  }
  std::vector<write_outcome> out;
  for (auto& slot : slots) {
    if (slot) {
      out.push_back(std::move(*slot));
    } else {
      write_outcome missing;
      missing.result = write_outcome::kind::failed;
      missing.http_status = 0;
      missing.reason = "no response in batch";
      out.push_back(std::move(missing));
    }
  }
  return out;
}

} // namespace presync::graph
