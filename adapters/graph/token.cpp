#include "adapters/graph/token.hpp"

#include "adapters/graph/internal/json.hpp"
#include "protocol/status.hpp"

#include <algorithm>
#include <vector>

namespace presync::graph {

using namespace internal;

namespace {

constexpr std::string_view token_what = "token response";

} // namespace

expected<http::http_request>
build_token_request(const client_credentials& credentials,
                    const endpoints& where) {
  if (credentials.tenant.empty()) {
    return make_error(sync_error::config_invalid, "token request: tenant "
                                                  "is empty");
  }
  if (credentials.client_id.empty()) {
    return make_error(sync_error::config_invalid,
                      "token request: client_id is empty");
  }
  if (credentials.client_secret.empty()) {
    return make_error(sync_error::config_invalid,
                      "token request: client_secret is empty");
  }

  http::http_request req;
  req.method = "POST";
  req.url =
    where.login + "/" + form_encode(credentials.tenant) + "/oauth2/v2.0/token";
  req.headers.set("Content-Type", "application/x-www-form-urlencoded");
  req.headers.set("Accept", "application/json");
  req.body =
    "client_id=" + form_encode(credentials.client_id) + "&scope=" +
    form_encode(
      (where.scope_resource.empty() ? where.graph : where.scope_resource) +
      "/.default") +
    "&grant_type=client_credentials" +
    "&client_secret=" + form_encode(credentials.client_secret.reveal());
  return req;
}

expected<app_token> parse_token_response(std::string_view json) {
  json_document d;
  od::object root;
  if (auto e = open_object(d, json, root, token_what)) {
    return *e;
  }

  app_token out;
  std::string token_type;
  bool seen_expires = false;
  std::string access;
  for (auto item : root) {
    od::field f;
    if (auto ec = std::move(item).get(f)) {
      return json_error(token_what, "document", ec);
    }
    std::string_view key;
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(token_what, "document", ec);
    }
    if (key == "token_type") {
      if (auto e = read_string(f.value(), token_type, token_what, key)) {
        return *e;
      }
    } else if (key == "expires_in") {
      od::value v = f.value();
      od::json_type type;
      if (auto ec = v.type().get(type)) {
        return json_error(token_what, key, ec);
      }
      int64_t seconds = 0;
      if (type == od::json_type::string) {
        // The v1 endpoint sent a digit string; accept both spellings.
        std::string text;
        if (auto e = read_string(v, text, token_what, key)) {
          return *e;
        }
        if (text.empty() || text.size() > 9 ||
            !std::all_of(text.begin(), text.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
          return field_error(token_what, key, "expected an integer");
        }
        seconds = std::stoll(text);
      } else if (auto e = read_int(v, seconds, token_what, key)) {
        return *e;
      }
      if (seconds <= 0) {
        return field_error(token_what, key, "must be positive");
      }
      // Nine digits (about 31 years), as for the string spelling: larger
      // values would overflow once the token cache counts in milliseconds.
      if (seconds > 999'999'999) {
        return field_error(token_what, key, "out of range");
      }
      out.expires_in = std::chrono::seconds{seconds};
      seen_expires = true;
    } else if (key == "access_token") {
      if (auto e = read_string(f.value(), access, token_what, key)) {
        return *e;
      }
    }
  }

  if (access.empty()) {
    return field_error(token_what, "access_token", "missing or empty");
  }
  if (!seen_expires) {
    return field_error(token_what, "expires_in", "missing");
  }
  if (!token_type.empty() && !iequals(token_type, "Bearer")) {
    return field_error(token_what, "token_type", "expected Bearer");
  }
  out.access_token = secret{std::move(access)};
  return out;
}

namespace {

struct token_error_body {
  std::string error;
  std::vector<int64_t> codes;
  std::string correlation_id;
};

std::optional<token_error_body> read_token_error(std::string_view json) {
  json_document d;
  od::object root;
  if (open_object(d, json, root, "token error")) {
    return std::nullopt;
  }
  token_error_body out;
  for (auto item : root) {
    od::field f;
    std::string_view key;
    if (std::move(item).get(f) || f.unescaped_key().get(key)) {
      return std::nullopt;
    }
    if (key == "error") {
      if (read_string(f.value(), out.error, "", "")) {
        return std::nullopt;
      }
    } else if (key == "correlation_id") {
      if (read_string(f.value(), out.correlation_id, "", "")) {
        return std::nullopt;
      }
    } else if (key == "error_codes") {
      od::array arr;
      if (f.value().get_array().get(arr)) {
        return std::nullopt;
      }
      for (auto code : arr) {
        int64_t n = 0;
        if (code.get_int64().get(n)) {
          return std::nullopt;
        }
        out.codes.push_back(n);
      }
    }
  }
  return out;
}

} // namespace

error parse_token_error(int http_status, const http::header_list& headers,
                        std::string_view json) {
  auto body = read_token_error(json);
  if (!body || body->error.empty()) {
    auto e = http::from_http_status(http_status, headers, "token endpoint");
    if (http_status == 400) {
      e.code = sync_error::malformed;
      e.context = "token endpoint: unreadable error body";
    }
    return e;
  }

  auto has = [&](int64_t code) {
    return std::find(body->codes.begin(), body->codes.end(), code) !=
           body->codes.end();
  };
  const auto& oauth = body->error;
  sync_error code = sync_error::rejected;
  if (has(7000222)) {
    code = sync_error::secret_expired;
  } else if (has(65001) || has(700016) || oauth == "interaction_required" ||
             oauth == "consent_required") {
    code = sync_error::not_consented;
  } else if (has(90002)) {
    code = sync_error::tenant_not_found;
  } else if (oauth == "invalid_client" || oauth == "invalid_grant") {
    code = sync_error::unauthorized;
  } else if (oauth == "unauthorized_client" || oauth == "invalid_resource") {
    code = sync_error::config_invalid;
  } else if (oauth == "temporarily_unavailable" || http_status >= 500) {
    code = sync_error::unavailable;
  } else if (http_status == 429) {
    code = sync_error::throttled;
  }

  std::string context = "token endpoint: " + oauth;
  if (!body->codes.empty()) {
    context += " AADSTS" + std::to_string(body->codes.front());
  }
  auto e = make_error(code, std::move(context), http_status);
  if (auto after = headers.find("Retry-After")) {
    if (auto d =
          http::parse_retry_after(*after, std::chrono::system_clock::now())) {
      e.retry_after = *d;
    }
  }
  e.request_id = body->correlation_id;
  return e;
}

token_cache::token_cache(duration margin) : margin_(margin) {}

void token_cache::store(app_token token, mono_time now) {
  token_ = std::move(token.access_token);
  expires_at_ = now + token.expires_in;
  in_flight_ = false;
}

const secret* token_cache::current(mono_time now) const {
  if (!token_ || now >= expires_at_) {
    return nullptr;
  }
  return &*token_;
}

bool token_cache::needs_refresh(mono_time now) const {
  return !token_ || now >= expires_at_ - margin_;
}

std::optional<mono_time> token_cache::refresh_due() const {
  if (!token_) {
    return std::nullopt;
  }
  return expires_at_ - margin_;
}

std::optional<mono_time> token_cache::expires_at() const {
  if (!token_) {
    return std::nullopt;
  }
  return expires_at_;
}

bool token_cache::begin_refresh(mono_time now) {
  if (in_flight_ || !needs_refresh(now)) {
    return false;
  }
  in_flight_ = true;
  return true;
}

void token_cache::refresh_failed() {
  in_flight_ = false;
}

void token_cache::invalidate() {
  token_.reset();
}

} // namespace presync::graph
