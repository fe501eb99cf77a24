#include "app/api.hpp"

#include "protocol/json_text.hpp"

namespace presync::app {

namespace {

http::server_response error_json(int status, std::string_view message) {
  return http::server_response::json(
    status, "{\"error\":" + json_string(message) + "}");
}

std::string string_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ",") + json_string(items[i]);
  }
  return out + "]";
}

http::server_response readiness(const api_context& ctx) {
  bool all = true;
  std::string body = R"({"tenants":{)";
  const auto& tenants = *ctx.tenants;
  for (size_t i = 0; i < tenants.size(); ++i) {
    const auto& t = *tenants[i];
    all = all && t.ready();
    body += (i == 0 ? "" : ",") + json_string(t.id()) + ":" +
            json_string(t.readiness());
  }
  body += std::string{R"(},"ready":)"} + (all ? "true" : "false") + "}";
  return http::server_response::json(all ? 200 : 503, std::move(body));
}

http::server_response conflicts(const tenant_runtime& t) {
  std::string body = R"({"conflicts":[)";
  auto list = t.conflicts();
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& c = list[i];
    body += (i == 0 ? "" : ",") + std::string{R"({"key":)"} +
            json_string(c.key) + R"(,"teams_users":)" +
            string_list(c.teams_ids) + R"(,"connect_users":)" +
            string_list(c.connect_ids) + "}";
  }
  return http::server_response::json(200, body + "]}");
}

} // namespace

std::vector<secret> parse_api_tokens(std::string_view text) {
  std::vector<secret> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    auto first = item.find_first_not_of(" \t");
    auto last = item.find_last_not_of(" \t");
    if (first != std::string_view::npos) {
      out.emplace_back(std::string{item.substr(first, last - first + 1)});
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool bearer_allowed(std::string_view header,
                    const std::vector<secret>& tokens) {
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() <= scheme.size() ||
      header.substr(0, scheme.size()) != scheme) {
    return false;
  }
  auto given = header.substr(scheme.size());
  bool allowed = false;
  for (const auto& t : tokens) {
    const auto& want = t.reveal();
    unsigned diff = want.size() == given.size() ? 0u : 1u;
    for (size_t i = 0; i < want.size(); ++i) {
      auto g = i < given.size() ? given[i] : '\0';
      diff |= static_cast<unsigned char>(want[i] ^ g);
    }
    allowed |= diff == 0;
  }
  return allowed;
}

http::server_response handle_api(const api_context& ctx,
                                 const http::server_request& req) {
  std::string_view target = req.target;
  auto path = target.substr(0, target.find('?'));
  if (req.method != "GET" && req.method != "HEAD") {
    return error_json(405, "method not allowed");
  }
  if (path == "/healthz") {
    return http::server_response::json(200, R"({"status":"ok"})");
  }
  if (path == "/readyz") {
    return readiness(ctx);
  }
  if (!path.starts_with("/v1/")) {
    return error_json(404, "not found");
  }

  // Authentication comes before any lookup.
  auto auth = req.headers.find("Authorization");
  if (!auth || !bearer_allowed(*auth, ctx.tokens)) {
    auto r = error_json(401, "missing or invalid bearer token");
    r.headers.set("WWW-Authenticate", "Bearer");
    return r;
  }

  constexpr std::string_view prefix = "/v1/tenants/";
  if (path.starts_with(prefix)) {
    auto rest = path.substr(prefix.size());
    auto slash = rest.find('/');
    auto tenant = rest.substr(0, slash);
    auto route = slash == std::string_view::npos ? "" : rest.substr(slash);
    for (const auto& t : *ctx.tenants) {
      if (t->id() != tenant) {
        continue;
      }
      if (route == "/identity/conflicts") {
        return conflicts(*t);
      }
      break;
    }
  }
  return error_json(404, "not found");
}

} // namespace presync::app
