#include "emulators/graph/service.hpp"

#include "emulators/graph/internal/json_read.hpp"
#include "emulators/graph/json_writer.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

namespace presync::graph_emulator {

namespace {

using internal::field;
using internal::read_string;

constexpr const char* graph_json_type =
  "application/json;odata.metadata=minimal;odata.streaming=true;"
  "IEEE754Compatible=false;charset=utf-8";
constexpr millis delta_link_lifetime_ms = 7LL * 24 * 3600 * 1000;
constexpr std::size_t max_presence_ids = 650;
constexpr std::size_t max_batch_requests = 20;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) {
      return out;
    }
    start = pos + 1;
  }
}

http_response json_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", graph_json_type);
  r.body = std::move(body);
  return r;
}

std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
      return 62;
    }
    if (c == '/' || c == '_') {
      return 63;
    }
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) {
      continue;
    }
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xffu);
    }
  }
  return out;
}

// Graph's default user properties, and every property the emulator knows.
const std::vector<std::string> default_user_fields = {
  "id",   "displayName",       "givenName",      "surname",
  "mail", "userPrincipalName", "businessPhones", "mobilePhone",
};
const std::set<std::string> known_user_fields = {
  "id",
  "displayName",
  "givenName",
  "surname",
  "mail",
  "userPrincipalName",
  "businessPhones",
  "mobilePhone",
  "accountEnabled",
  "userType",
  "assignedPlans",
  "assignedLicenses",
};

void write_user(json_writer& w, const user_record& u,
                const std::vector<std::string>& fields) {
  w.begin_object();
  for (const auto& f : fields) {
    if (f == "id") {
      w.member("id", u.id);
    } else if (f == "displayName") {
      w.member("displayName", u.display_name);
    } else if (f == "givenName") {
      w.member_or_null("givenName", u.given_name);
    } else if (f == "surname") {
      w.member_or_null("surname", u.surname);
    } else if (f == "mail") {
      w.member_or_null("mail", u.mail);
    } else if (f == "userPrincipalName") {
      w.member("userPrincipalName", u.user_principal_name);
    } else if (f == "businessPhones") {
      w.key("businessPhones").begin_array();
      for (const auto& p : u.business_phones) {
        w.string(p);
      }
      w.end_array();
    } else if (f == "mobilePhone") {
      w.member_or_null("mobilePhone", u.mobile_phone);
    } else if (f == "accountEnabled") {
      w.key("accountEnabled").boolean(u.account_enabled);
    } else if (f == "userType") {
      w.member("userType", u.user_type);
    } else if (f == "assignedPlans") {
      w.key("assignedPlans").begin_array();
      if (u.has_licence) {
        w.begin_object()
          .member("assignedDateTime", u.assigned_date)
          .member("capabilityStatus", "Enabled")
          .member("service", "exchange")
          .member("servicePlanId", "00000000-0000-0000-0000-0000000000e1")
          .end_object();
        if (!u.teams_plan_status.empty() && !u.teams_plan_disabled) {
          w.begin_object()
            .member("assignedDateTime", u.assigned_date)
            .member("capabilityStatus", u.teams_plan_status)
            .member("service", "TeamspaceAPI")
            .member("servicePlanId", teams1_plan_id)
            .end_object();
        }
      }
      w.end_array();
    } else if (f == "assignedLicenses") {
      w.key("assignedLicenses").begin_array();
      if (u.has_licence) {
        w.begin_object().key("disabledPlans").begin_array();
        if (u.teams_plan_disabled) {
          w.string(teams1_plan_id);
        }
        w.end_array()
          .member("skuId", "00000000-0000-0000-0000-0000000000f1")
          .end_object();
      }
      w.end_array();
    }
  }
  w.end_object();
}

// Reads $select into a field list; an error message names a bad property.
std::vector<std::string>
select_fields(const std::map<std::string, std::string>& query,
              std::string& error) {
  auto it = query.find("$select");
  if (it == query.end() || it->second.empty()) {
    return default_user_fields;
  }
  std::vector<std::string> fields{"id"};
  for (const auto& f : split(it->second, ',')) {
    if (known_user_fields.count(f) == 0) {
      error = "Could not find a property named '" + f +
              "' on type 'microsoft.graph.user'.";
      return {};
    }
    if (f != "id") {
      fields.push_back(f);
    }
  }
  return fields;
}

// Writes a user's Teams configuration (spec section 7.2).
void write_teams_configuration(json_writer& w, const user_record& u,
                               const std::string& tenant) {
  bool has_number = !u.teams_number.empty();
  w.begin_object();
  w.member("id", u.id).member("userPrincipalName", u.user_principal_name);
  w.member("tenantId", tenant);
  w.member("accountType", is_teams_user(u) ? "user" : "ineligibleUser");
  w.key("isEnterpriseVoiceEnabled").boolean(has_number);
  w.key("featureTypes").begin_array();
  if (is_teams_user(u)) {
    w.string("Teams");
  }
  if (has_number) {
    w.string("PhoneSystem").string("CallingPlan");
  }
  w.end_array();
  w.key("telephoneNumbers").begin_array();
  if (has_number) {
    w.begin_object()
      .member("telephoneNumber", u.teams_number)
      .member("assignmentCategory", "primary")
      .end_object();
  }
  w.end_array();
  w.key("effectivePolicyAssignments").begin_array().end_array();
  w.member("createdDateTime", u.assigned_date);
  w.member("modifiedDateTime", u.assigned_date);
  w.end_object();
}

std::string format_retry_after(millis ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f",
                static_cast<double>(std::max<millis>(ms, 1)) / 1000.0);
  return buf;
}

} // namespace

std::string http_response::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(name)) {
      return v;
    }
  }
  return "";
}

std::string url_decode(const std::string& s, bool form) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (form && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(const std::string& q,
                                               bool form) {
  std::map<std::string, std::string> out;
  if (q.empty()) {
    return out;
  }
  for (const auto& part : split(q, '&')) {
    if (part.empty()) {
      continue;
    }
    auto eq = part.find('=');
    std::string k = url_decode(part.substr(0, eq), form);
    std::string v = eq == std::string::npos
                      ? std::string{}
                      : url_decode(part.substr(eq + 1), form);
    out[k] = v;
  }
  return out;
}

service::service(const service_options& options)
  : world_(options.users, options.real_time_clock, options.tenant,
           options.client_id, options.client_secret) {
  world_.settings = options.initial_knobs;
  world_.rng.seed(world_.settings.error_seed);
  world_.throttle_window_start = world_.clock.now();
}

void service::set_base_url(std::string url) {
  std::lock_guard<std::mutex> lock{mutex_};
  base_url_ = std::move(url);
}

std::string service::next_guid() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(++guid_counter_));
  return buf;
}

http_response service::handle(const http_request& req) {
  std::lock_guard<std::mutex> lock{mutex_};
  if (world_.request_log.size() >= 1000) {
    world_.request_log.erase(world_.request_log.begin());
  }
  world_.request_log.push_back(req.method + " " + req.target);
  auto it = req.headers.find("client-request-id");
  current_client_request_id_ = it == req.headers.end() ? "" : it->second;

  const auto writes_before = world_.writes.size();
  http_response r = dispatch(req);
  ++world_.statuses[r.status];

  // Transport faults apply to everything but the control API.
  if (req.target.rfind("/_control/", 0) != 0) {
    r.delay_ms = world_.settings.latency_ms;
    std::uniform_real_distribution<double> coin{0.0, 1.0};
    if (world_.settings.reset_next > 0) {
      --world_.settings.reset_next;
      r.cut_connection = true;
    } else if (world_.settings.reset_rate > 0 &&
               coin(world_.rng) < world_.settings.reset_rate) {
      r.cut_connection = true;
    }
    if (r.cut_connection) {
      ++world_.counters["connection_resets"];
      for (auto i = writes_before; i < world_.writes.size(); ++i) {
        world_.writes[i].answer_lost = true;
      }
    }
  }
  return r;
}

http_response service::dispatch(const http_request& req) {
  auto qpos = req.target.find('?');
  std::string path = url_decode(req.target.substr(0, qpos));
  auto query =
    parse_query(qpos == std::string::npos ? "" : req.target.substr(qpos + 1));

  if (path.rfind("/_control/", 0) == 0) {
    if (!req.from_loopback) {
      return graph_error(403, "Forbidden",
                         "The control API answers loopback clients only.");
    }
    return control(req, path.substr(10), query);
  }
  if (path.rfind("/v1.0/", 0) == 0) {
    return graph_call(req, false);
  }

  // Identity platform: /{tenant}/oauth2/v2.0/token and discovery.
  auto parts = split(path, '/');
  if (parts.size() == 5 && parts[2] == "oauth2" && parts[3] == "v2.0" &&
      parts[4] == "token") {
    if (req.method != "POST") {
      return graph_error(405, "MethodNotAllowed", "Use POST for tokens.");
    }
    return token(req, parts[1]);
  }
  if (parts.size() == 5 && parts[2] == "v2.0" && parts[3] == ".well-known" &&
      parts[4] == "openid-configuration") {
    return openid_configuration(parts[1]);
  }
  if (path == "/common/discovery/instance") {
    return instance_discovery();
  }
  return graph_error(404, "ResourceNotFound",
                     "The emulator has no resource at " + path + ".");
}

http_response service::graph_error(int status, const std::string& code,
                                   const std::string& message) {
  json_writer w;
  w.begin_object().key("error").begin_object();
  w.member("code", code).member("message", message);
  w.key("innerError").begin_object();
  w.member("date", format_time(world_.clock.now()).substr(0, 19));
  w.member("request-id", next_guid());
  w.member("client-request-id", current_client_request_id_);
  w.end_object().end_object().end_object();
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = w.str();
  return r;
}

// -- identity platform ------------------------------------------------------

http_response service::token(const http_request& req,
                             const std::string& tenant) {
  ++world_.counters["token"];
  millis now = world_.clock.now();

  auto fail = [&](int status, const std::string& error, int code,
                  const std::string& text) {
    std::string trace = next_guid();
    std::string correlation = next_guid();
    std::string stamp = format_time(now);
    stamp[10] = ' ';
    json_writer w;
    w.begin_object().member("error", error);
    w.member("error_description", "AADSTS" + std::to_string(code) + ": " +
                                    text + "\r\nTrace ID: " + trace +
                                    "\r\nCorrelation ID: " + correlation +
                                    "\r\nTimestamp: " + stamp);
    w.key("error_codes").begin_array().number(code).end_array();
    w.member("timestamp", stamp).member("trace_id", trace);
    w.member("correlation_id", correlation);
    w.member("error_uri", base_url_ + "/error?code=" + std::to_string(code));
    w.end_object();
    http_response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
    r.body = w.str();
    return r;
  };

  if (world_.settings.token_endpoint_down) {
    return fail(503, "temporarily_unavailable", 90033,
                "The token service is temporarily unavailable (emulator "
                "knob tokenEndpointDown).");
  }
  if (tenant != world_.tenant) {
    return fail(400, "invalid_request", 90002,
                "Tenant '" + tenant + "' not found.");
  }

  auto form = parse_query(req.body, true);
  std::string client_id = form["client_id"];
  std::string secret =
    form.count("client_secret") ? form["client_secret"] : std::string{};
  bool has_secret = form.count("client_secret") > 0;

  // RFC 6749 2.3.1: HTTP Basic with url-encoded id and secret.
  auto auth = req.headers.find("authorization");
  if (auth != req.headers.end() &&
      lower(auth->second).rfind("basic ", 0) == 0) {
    std::string pair = base64_decode(auth->second.substr(6));
    auto colon = pair.find(':');
    if (colon != std::string::npos) {
      client_id = url_decode(pair.substr(0, colon), true);
      secret = url_decode(pair.substr(colon + 1), true);
      has_secret = true;
    }
  }

  std::string grant = form["grant_type"];
  if (grant.empty()) {
    return fail(400, "invalid_request", 900144,
                "The request body must contain the following parameter: "
                "'grant_type'.");
  }
  if (grant != "client_credentials") {
    return fail(400, "unsupported_grant_type", 70003,
                "The app requested an unsupported grant type '" + grant +
                  "'; the emulator supports client_credentials only.");
  }
  if (client_id.empty()) {
    return fail(400, "invalid_request", 900144,
                "The request body must contain the following parameter: "
                "'client_id'.");
  }
  if (client_id != world_.client_id) {
    return fail(400, "unauthorized_client", 700016,
                "Application with identifier '" + client_id +
                  "' was not found in the directory '" + tenant + "'.");
  }
  if (!has_secret && form.count("client_assertion") == 0) {
    return fail(401, "invalid_client", 7000218,
                "The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.");
  }
  if (!has_secret) {
    // TODO: certificate credentials (client_assertion) are not checked;
    // verify the JWT against a certificate given by a new --client-cert.
    return fail(401, "invalid_client", 700027,
                "Client assertion failed signature validation (the "
                "emulator accepts client secrets only).");
  }
  if (secret != world_.client_secret) {
    return fail(401, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being "
                "sent in the request is the client secret value, not the "
                "client secret ID, for a secret added to app '" +
                  client_id + "'.");
  }
  if (world_.settings.secret_expired) {
    return fail(401, "invalid_client", 7000222,
                "The provided client secret keys for app '" + client_id +
                  "' are expired. Visit the Azure portal to create new "
                  "keys for your app.");
  }
  std::string scope = form["scope"];
  if (scope.find("https://graph.microsoft.com/.default") == std::string::npos) {
    return fail(400, "invalid_scope", 70011,
                "The provided request must include a 'scope' input "
                "parameter 'https://graph.microsoft.com/.default'.");
  }

  // Issue an opaque token.
  std::uniform_int_distribution<std::uint64_t> dist;
  char buf[64];
  std::snprintf(buf, sizeof buf, "emu.%016llx%016llx",
                static_cast<unsigned long long>(dist(world_.rng)),
                static_cast<unsigned long long>(++guid_counter_));
  std::string tok = buf;
  world_.tokens[tok] = {client_id,
                        now + world_.settings.token_lifetime_s * 1000};
  json_writer w;
  w.begin_object().member("token_type", "Bearer");
  w.key("expires_in").number(world_.settings.token_lifetime_s);
  w.key("ext_expires_in").number(world_.settings.token_lifetime_s);
  w.member("access_token", tok).end_object();
  http_response r;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store, no-cache");
  r.body = w.str();
  return r;
}

http_response service::openid_configuration(const std::string& tenant) {
  ++world_.counters["openid_configuration"];
  std::string t =
    tenant == "common" || tenant == "organizations" ? world_.tenant : tenant;
  std::string root = base_url_ + "/" + tenant;
  json_writer w;
  w.begin_object();
  w.member("token_endpoint", root + "/oauth2/v2.0/token");
  w.key("token_endpoint_auth_methods_supported")
    .begin_array()
    .string("client_secret_post")
    .string("private_key_jwt")
    .string("client_secret_basic")
    .end_array();
  w.member("jwks_uri", base_url_ + "/" + t + "/discovery/v2.0/keys");
  w.key("response_modes_supported")
    .begin_array()
    .string("query")
    .string("fragment")
    .string("form_post")
    .end_array();
  w.key("subject_types_supported").begin_array().string("pairwise").end_array();
  w.key("id_token_signing_alg_values_supported")
    .begin_array()
    .string("RS256")
    .end_array();
  w.key("response_types_supported")
    .begin_array()
    .string("code")
    .string("id_token")
    .string("code id_token")
    .string("id_token token")
    .end_array();
  w.key("scopes_supported")
    .begin_array()
    .string("openid")
    .string("profile")
    .string("email")
    .string("offline_access")
    .end_array();
  w.member("issuer", base_url_ + "/" + t + "/v2.0");
  w.key("request_uri_parameter_supported").boolean(false);
  w.member("userinfo_endpoint", base_url_ + "/oidc/userinfo");
  w.member("authorization_endpoint", root + "/oauth2/v2.0/authorize");
  w.member("device_authorization_endpoint", root + "/oauth2/v2.0/devicecode");
  w.key("http_logout_supported").boolean(true);
  w.key("frontchannel_logout_supported").boolean(true);
  w.member("end_session_endpoint", root + "/oauth2/v2.0/logout");
  w.member("tenant_region_scope", "EU");
  w.member("cloud_instance_name", "emulator.invalid");
  w.end_object();
  http_response r;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = w.str();
  return r;
}

http_response service::instance_discovery() {
  ++world_.counters["instance_discovery"];
  std::string host = base_url_.substr(base_url_.find("://") + 3);
  json_writer w;
  w.begin_object();
  w.member("tenant_discovery_endpoint", base_url_ + "/" + world_.tenant +
                                          "/v2.0/.well-known/"
                                          "openid-configuration");
  w.member("api-version", "1.1");
  w.key("metadata").begin_array().begin_object();
  w.member("preferred_network", host).member("preferred_cache", host);
  w.key("aliases").begin_array().string(host).end_array();
  w.end_object().end_array().end_object();
  http_response r;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = w.str();
  return r;
}

// -- Graph ------------------------------------------------------------------

std::string service::operation_of(const std::string& method,
                                  const std::string& path) const {
  auto parts = split(path, '/'); // "", "v1.0", ...
  std::size_t n = parts.size();
  if (n == 3 && parts[2] == "users") {
    return "users.list";
  }
  if (n == 4 && parts[2] == "users" && parts[3] == "delta") {
    return "users.delta";
  }
  if (n == 4 && parts[2] == "users") {
    return "users.get";
  }
  if (n == 5 && parts[2] == "users" && parts[4] == "presence") {
    return "presence.get";
  }
  if (n == 5 && parts[2] == "communications" && parts[3] == "presences") {
    return "presence.get";
  }
  if (n == 4 && parts[2] == "communications" &&
      parts[3] == "getPresencesByUserId") {
    return "presence.getPresencesByUserId";
  }
  if (n == 6 && parts[2] == "users" && parts[4] == "presence" &&
      method == "POST") {
    return "presence." + parts[5];
  }
  if (n == 3 && parts[2] == "$batch") {
    return "batch";
  }
  if (n >= 5 && parts[2] == "admin" && parts[3] == "teams" &&
      parts[4] == "userConfigurations") {
    return n == 5 ? "teams.userConfigurations.list"
                  : "teams.userConfigurations.get";
  }
  return "unknown";
}

http_response service::too_many_requests(millis retry_after_ms) {
  json_writer w;
  w.begin_object().key("error").begin_object();
  w.member("code", "TooManyRequests");
  w.member("message", "Please retry again later.");
  w.key("innerError").begin_object();
  w.member("code", "429");
  w.member("date", format_time(world_.clock.now()).substr(0, 19));
  w.member("message", "Please retry after");
  w.member("request-id", next_guid());
  w.member("client-request-id", current_client_request_id_);
  w.member("status", "429");
  w.end_object().end_object().end_object();
  http_response r = json_response(429, w.str());
  if (retry_after_ms > 0) {
    r.headers.emplace_back("Retry-After", format_retry_after(retry_after_ms));
  }
  return r;
}

http_response service::graph_call(const http_request& req, bool in_batch) {
  auto qpos = req.target.find('?');
  std::string path = url_decode(req.target.substr(0, qpos));
  auto query =
    parse_query(qpos == std::string::npos ? "" : req.target.substr(qpos + 1));
  std::string op = operation_of(req.method, path);
  ++world_.counters[op];
  if (in_batch) {
    ++world_.counters["batch.subrequests"];
  }

  // Authentication first, as Graph does.
  auto auth = req.headers.find("authorization");
  if (auth == req.headers.end() || auth->second.size() < 8 ||
      lower(auth->second.substr(0, 7)) != "bearer ") {
    ++world_.counters["unauthorized"];
    return graph_error(401, "InvalidAuthenticationToken",
                       "Access token is empty.");
  }
  auto tok = world_.tokens.find(auth->second.substr(7));
  if (tok == world_.tokens.end()) {
    ++world_.counters["unauthorized"];
    return graph_error(401, "InvalidAuthenticationToken",
                       "IDX14100: JWT is not well formed.");
  }
  if (world_.clock.now() >= tok->second.expires_at) {
    ++world_.counters["unauthorized"];
    return graph_error(401, "InvalidAuthenticationToken",
                       "Lifetime validation failed, the token is expired.");
  }
  std::string token_client = tok->second.client_id;

  // Scripted failures of whole calls ($batch included) come first.
  if (!in_batch && world_.settings.fail_next > 0) {
    --world_.settings.fail_next;
    ++world_.counters["injected_errors"];
    int status = world_.settings.fail_status;
    const char* code = status == 429   ? "TooManyRequests"
                       : status == 502 ? "badGateway"
                       : status == 503 ? "serviceNotAvailable"
                       : status == 504 ? "gatewayTimeout"
                       : status >= 500 ? "generalException"
                                       : "BadRequest";
    http_response r = graph_error(status, code,
                                  "Injected failure (emulator knob "
                                  "failNext).");
    if (world_.settings.fail_retry_after_ms > 0) {
      r.headers.emplace_back(
        "Retry-After", format_retry_after(world_.settings.fail_retry_after_ms));
    }
    return r;
  }

  // Injected server errors come before any effect.
  if (op != "batch" && world_.settings.error_rate > 0) {
    std::uniform_real_distribution<double> coin{0.0, 1.0};
    if (coin(world_.rng) < world_.settings.error_rate) {
      ++world_.counters["injected_errors"];
      static const std::pair<int, const char*> faults[] = {
        {500, "generalException"},
        {503, "serviceNotAvailable"},
        {504, "gatewayTimeout"},
      };
      std::uniform_int_distribution<int> pick{0, 2};
      const auto& [status, code] = faults[pick(world_.rng)];
      http_response r = graph_error(status, code,
                                    "Injected failure (emulator knob "
                                    "errorRate).");
      if (status == 503) {
        r.headers.emplace_back("Retry-After", "1");
      }
      return r;
    }
  }

  // A throttling storm: a share of presence calls answered 429 at random.
  const bool presence_op = op.rfind("presence.", 0) == 0;
  if (presence_op && world_.settings.throttle_rate > 0) {
    std::uniform_real_distribution<double> coin{0.0, 1.0};
    if (coin(world_.rng) < world_.settings.throttle_rate) {
      ++world_.counters["throttled"];
      return too_many_requests(world_.settings.throttle_retry_after_ms);
    }
  }

  // Presence calls share one window per tenant (spec section 6.1).
  if (presence_op && world_.settings.throttle_limit > 0) {
    millis now = world_.clock.now();
    if (now - world_.throttle_window_start >=
        world_.settings.throttle_window_ms) {
      world_.throttle_window_start = now;
      world_.throttle_count = 0;
    }
    if (++world_.throttle_count > world_.settings.throttle_limit) {
      ++world_.counters["throttled"];
      return too_many_requests(world_.throttle_window_start +
                               world_.settings.throttle_window_ms - now);
    }
  }

  http_response r = graph_route(req, op, path, query, token_client);
  r.headers.emplace_back("request-id", next_guid());
  if (!current_client_request_id_.empty()) {
    r.headers.emplace_back("client-request-id", current_client_request_id_);
  }
  return r;
}

http_response
service::graph_route(const http_request& req, const std::string& op,
                     const std::string& path,
                     const std::map<std::string, std::string>& query,
                     const std::string& token_client) {
  auto parts = split(path, '/');
  const std::string& m = req.method;
  if (op == "users.list" && m == "GET") {
    return list_users(query);
  }
  if (op == "users.delta" && m == "GET") {
    return users_delta(req, query);
  }
  if (op == "users.get" && m == "GET") {
    return get_user(parts[3], query);
  }
  if (op == "presence.get" && m == "GET") {
    return get_presence(parts[parts[2] == "users" ? 3 : 4],
                        parts[2] == "users");
  }
  if (op == "presence.getPresencesByUserId" && m == "POST") {
    return presences_by_user_id(req);
  }
  if (op.rfind("presence.", 0) == 0 && op != "presence.setStatusMessage" &&
      m == "POST" && parts.size() == 6) {
    return presence_write(req, parts[3], parts[5], token_client);
  }
  if (op == "batch" && m == "POST") {
    return batch(req);
  }
  if (op == "teams.userConfigurations.list" && m == "GET") {
    return teams_user_configurations(req, query);
  }
  if (op == "teams.userConfigurations.get" && m == "GET" && parts.size() == 6) {
    return teams_user_configuration(parts[5]);
  }

  // Parts of the spec the emulator does not build answer 501, never a
  // fake success.
  // TODO: presence subscriptions and notifications (spec section 5),
  // setStatusMessage (4.6) and the Teams number inventory
  // (telephoneNumberManagement, 7.2) are not emulated; add routes here
  // and a notifier that POSTs to notificationUrl.
  bool unbuilt =
    op == "presence.setStatusMessage" ||
    (parts.size() >= 3 && parts[2] == "subscriptions") ||
    (parts.size() >= 4 && parts[2] == "admin" && parts[3] == "teams");
  if (unbuilt) {
    ++world_.counters["not_implemented"];
    return graph_error(501, "NotImplemented",
                       "The emulator does not implement " + m + " " + path +
                         " (spec/graph.md sections 4.6, 5 and 7.2).");
  }
  return graph_error(op == "unknown" ? 400 : 405,
                     op == "unknown" ? "BadRequest" : "MethodNotAllowed",
                     "Resource not found for the segment '" + path +
                       "' with method " + m + " in the emulator.");
}

http_response
service::list_users(const std::map<std::string, std::string>& query) {
  for (const char* unsupported : {"$filter", "$orderby", "$search", "$skip"}) {
    if (query.count(unsupported)) {
      // TODO: $filter/$orderby/$search on /users are not emulated; parse
      // OData expressions here if presync ever sends them.
      return graph_error(400, "Request_UnsupportedQuery",
                         std::string{"The emulator does not implement "} +
                           unsupported + " on /users.");
    }
  }
  std::string error;
  auto fields = select_fields(query, error);
  if (!error.empty()) {
    return graph_error(400, "Request_BadRequest", error);
  }
  long long top = 100;
  if (auto it = query.find("$top"); it != query.end()) {
    char* end = nullptr;
    top = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || top < 1 || top > 999) {
      return graph_error(400, "Request_UnsupportedQuery",
                         "Invalid page size specified: '" + it->second +
                           "'. Must be between 1 and 999 inclusive.");
    }
  }
  std::string after;
  if (auto it = query.find("$skiptoken"); it != query.end()) {
    if (it->second.rfind("U~", 0) != 0) {
      return graph_error(400, "Request_BadRequest",
                         "Invalid $skiptoken '" + it->second + "'.");
    }
    after = it->second.substr(2);
  }

  json_writer w;
  std::string select_text;
  for (const auto& f : fields) {
    select_text += (select_text.empty() ? "" : ",") + f;
  }
  w.begin_object();
  w.member("@odata.context", base_url_ + "/v1.0/$metadata#users" +
                               (query.count("$select") ? "(" + select_text + ")"
                                                       : std::string{}));
  std::string body_values;
  json_writer values;
  values.begin_array();
  long long written = 0;
  std::string last;
  bool more = false;
  for (auto it = world_.users().upper_bound(after); it != world_.users().end();
       ++it) {
    if (written == top) {
      more = true;
      break;
    }
    write_user(values, it->second, fields);
    last = it->first;
    ++written;
  }
  values.end_array();
  if (more) {
    std::string link = base_url_ + "/v1.0/users?";
    if (query.count("$select")) {
      link += "$select=" + query.at("$select") + "&";
    }
    link += "$top=" + std::to_string(top) + "&$skiptoken=U~" + last;
    w.member("@odata.nextLink", link);
  }
  w.key("value").raw(values.str());
  w.end_object();
  return json_response(200, w.str());
}

http_response
service::users_delta(const http_request& req,
                     const std::map<std::string, std::string>& query) {
  if (query.count("$filter") || query.count("$top") ||
      query.count("$orderby")) {
    // TODO: delta $filter=id eq '...' (up to 50 ids) is not emulated;
    // add it here if presync starts to send it.
    return graph_error(400, "Request_UnsupportedQuery",
                       "Unsupported query for users/delta in the "
                       "emulator: only $select is accepted.");
  }
  std::string error;
  auto fields = select_fields(query, error);
  if (!error.empty()) {
    return graph_error(400, "Request_BadRequest", error);
  }
  millis now = world_.clock.now();
  std::size_t page_size = 100;
  if (auto it = req.headers.find("prefer"); it != req.headers.end()) {
    auto pos = it->second.find("odata.maxpagesize=");
    if (pos != std::string::npos) {
      page_size = static_cast<std::size_t>(
        std::max(1L, std::strtol(it->second.c_str() + pos + 18, nullptr, 10)));
    }
  }
  std::string select_part;
  if (query.count("$select")) {
    select_part = "$select=" + query.at("$select") + "&";
  }
  auto new_delta_link = [&] {
    return base_url_ + "/v1.0/users/delta?" + select_part +
           "$deltatoken=" + std::to_string(world_.change_seq()) + "_" +
           std::to_string(now);
  };

  json_writer w;
  w.begin_object();
  w.member("@odata.context", base_url_ + "/v1.0/$metadata#users");
  json_writer values;
  values.begin_array();

  if (auto it = query.find("$deltatoken"); it != query.end()) {
    // Changes since the token: newest state of every touched user.
    auto sep = it->second.find('_');
    char* end1 = nullptr;
    char* end2 = nullptr;
    std::string seq_text = it->second.substr(0, sep);
    unsigned long long seq = std::strtoull(seq_text.c_str(), &end1, 10);
    long long issued =
      sep == std::string::npos
        ? -1
        : std::strtoll(it->second.c_str() + sep + 1, &end2, 10);
    if (sep == std::string::npos || *end1 != '\0' || *end2 != '\0' ||
        seq > world_.change_seq()) {
      return graph_error(400, "Request_BadRequest",
                         "Invalid $deltatoken '" + it->second + "'.");
    }
    if (now - issued > delta_link_lifetime_ms) {
      return graph_error(400, "syncStateNotFound",
                         "The delta token has expired (older than 7 "
                         "days); start a new full round.");
    }
    std::map<std::string, const directory_change*> touched;
    for (const auto& c : world_.changes()) {
      if (c.seq > seq) {
        touched[c.user_id] = &c;
      }
    }
    for (const auto& [id, c] : touched) {
      auto u = world_.users().find(id);
      if (c->removed || u == world_.users().end()) {
        values.begin_object().member("id", id);
        values.key("@removed").begin_object();
        values.member("reason", c->permanent ? "deleted" : "changed");
        values.end_object().end_object();
      } else {
        write_user(values, u->second, fields);
      }
    }
    values.end_array();
    w.member("@odata.deltaLink", new_delta_link());
    w.key("value").raw(values.str());
    w.end_object();
    return json_response(200, w.str());
  }

  // First round: every current user, page by page.
  std::string after;
  if (auto it = query.find("$skiptoken"); it != query.end()) {
    if (it->second.rfind("D~", 0) != 0) {
      return graph_error(400, "Request_BadRequest",
                         "Invalid $skiptoken '" + it->second + "'.");
    }
    after = it->second.substr(2);
  }
  std::size_t written = 0;
  std::string last;
  bool more = false;
  for (auto it = world_.users().upper_bound(after); it != world_.users().end();
       ++it) {
    if (written == page_size) {
      more = true;
      break;
    }
    write_user(values, it->second, fields);
    last = it->first;
    ++written;
  }
  values.end_array();
  if (more) {
    w.member("@odata.nextLink", base_url_ + "/v1.0/users/delta?" + select_part +
                                  "$skiptoken=D~" + last);
  } else {
    w.member("@odata.deltaLink", new_delta_link());
  }
  w.key("value").raw(values.str());
  w.end_object();
  return json_response(200, w.str());
}

http_response service::teams_user_configurations(
  const http_request& req, const std::map<std::string, std::string>& query) {
  if (world_.settings.teams_config_denied) {
    return graph_error(403, "Forbidden",
                       "Missing role permissions on the request. API "
                       "requires one of 'TeamsUserConfiguration.Read.All' "
                       "(emulator knob teamsConfigDenied).");
  }
  std::size_t page_size = 100;
  if (auto it = req.headers.find("prefer"); it != req.headers.end()) {
    auto pos = it->second.find("odata.maxpagesize=");
    if (pos != std::string::npos) {
      page_size = static_cast<std::size_t>(
        std::max(1L, std::strtol(it->second.c_str() + pos + 18, nullptr, 10)));
    }
  }
  std::string after;
  if (auto it = query.find("$skiptoken"); it != query.end()) {
    if (it->second.rfind("T~", 0) != 0) {
      return graph_error(400, "BadRequest",
                         "Invalid $skiptoken '" + it->second + "'.");
    }
    after = it->second.substr(2);
  }

  json_writer w;
  w.begin_object();
  w.member("@odata.context",
           base_url_ + "/v1.0/$metadata#admin/teams/userConfigurations");
  json_writer values;
  values.begin_array();
  std::size_t written = 0;
  std::string last;
  bool more = false;
  for (auto it = world_.users().upper_bound(after); it != world_.users().end();
       ++it) {
    if (written == page_size) {
      more = true;
      break;
    }
    write_teams_configuration(values, it->second, world_.tenant);
    last = it->first;
    ++written;
  }
  values.end_array();
  if (more) {
    w.member("@odata.nextLink",
             base_url_ + "/v1.0/admin/teams/userConfigurations?$skiptoken=T~" +
               last);
  }
  w.key("value").raw(values.str());
  w.end_object();
  return json_response(200, w.str());
}

http_response service::teams_user_configuration(const std::string& id) {
  if (world_.settings.teams_config_denied) {
    return graph_error(403, "Forbidden",
                       "Missing role permissions on the request. API "
                       "requires one of 'TeamsUserConfiguration.Read.All' "
                       "(emulator knob teamsConfigDenied).");
  }
  auto it = world_.users().find(id);
  if (it == world_.users().end()) {
    return graph_error(404, "NotFound",
                       "Teams user configuration '" + id + "' not found.");
  }
  json_writer w;
  write_teams_configuration(w, it->second, world_.tenant);
  return json_response(200, w.str());
}

http_response
service::get_user(const std::string& id,
                  const std::map<std::string, std::string>& query) {
  auto it = world_.users().find(id);
  if (it == world_.users().end()) {
    return graph_error(404, "Request_ResourceNotFound",
                       "Resource '" + id +
                         "' does not exist or one of its "
                         "queried reference-property "
                         "objects are not present.");
  }
  std::string error;
  auto fields = select_fields(query, error);
  if (!error.empty()) {
    return graph_error(400, "Request_BadRequest", error);
  }
  json_writer w;
  write_user(w, it->second, fields);
  return json_response(200, w.str());
}

std::string service::presence_json(const std::string& id, bool with_context) {
  json_writer w;
  w.begin_object();
  if (with_context) {
    w.member("@odata.context", base_url_ + "/v1.0/$metadata#users('" + id +
                                 "')/presence/$entity");
  }
  w.member("id", id);
  const user_record& u = world_.users().at(id);
  if (!is_teams_user(u)) {
    w.member("availability", "PresenceUnknown");
    w.member("activity", "PresenceUnknown");
    w.key("statusMessage").null();
    w.key("outOfOfficeSettings").begin_object();
    w.key("message").null().key("isOutOfOffice").boolean(false);
    w.end_object().end_object();
    return w.str();
  }
  presence_pair p = world_.refresh(id);
  const presence_state& s = world_.presence(id);
  std::string activity = p.activity;
  if (s.out_of_office && activity == "Available") {
    activity = "OutOfOffice";
  }
  w.member("availability", p.availability).member("activity", activity);
  w.key("statusMessage").null();
  w.key("outOfOfficeSettings").begin_object();
  w.member_or_null("message", s.out_of_office_message);
  w.key("isOutOfOffice").boolean(s.out_of_office);
  w.end_object();
  w.member("sequenceNumber", s.sequence_number);
  w.end_object();
  return w.str();
}

http_response service::get_presence(const std::string& id, bool via_users) {
  if (world_.users().count(id) == 0) {
    return graph_error(404, via_users ? "Request_ResourceNotFound" : "NotFound",
                       "User '" + id + "' was not found.");
  }
  return json_response(200, presence_json(id, true));
}

http_response service::presences_by_user_id(const http_request& req) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(req.body).get(root) != simdjson::SUCCESS) {
    return graph_error(400, "BadRequest",
                       "getPresencesByUserId: the body must be a JSON "
                       "object with an 'ids' array.");
  }
  simdjson::dom::array ids;
  if (root["ids"].get(ids) != simdjson::SUCCESS) {
    return graph_error(400, "BadRequest",
                       "getPresencesByUserId: 'ids' is missing or not an "
                       "array.");
  }
  if (ids.size() == 0) {
    return graph_error(400, "BadRequest",
                       "getPresencesByUserId: 'ids' must not be empty.");
  }
  if (ids.size() > max_presence_ids) {
    return graph_error(400, "BadRequest",
                       "getPresencesByUserId: at most 650 ids are allowed "
                       "per request; got " +
                         std::to_string(ids.size()) + ".");
  }
  json_writer w;
  w.begin_object();
  w.member("@odata.context",
           base_url_ + "/v1.0/$metadata#Collection(microsoft.graph.presence)");
  w.key("value").begin_array();
  std::set<std::string> seen;
  std::size_t index = 0;
  for (auto e : ids) {
    std::string_view sv;
    if (e.get_string().get(sv) != simdjson::SUCCESS) {
      return graph_error(400, "BadRequest",
                         "getPresencesByUserId: ids[" + std::to_string(index) +
                           "] is not a string.");
    }
    ++index;
    std::string id{sv};
    // Unknown ids are left out (spec 3.4: callers must not assume all).
    if (!seen.insert(id).second || world_.users().count(id) == 0) {
      continue;
    }
    w.raw(presence_json(id, false));
  }
  w.end_array().end_object();
  return json_response(200, w.str());
}

http_response service::presence_write(const http_request& req,
                                      const std::string& id,
                                      const std::string& action,
                                      const std::string& token_client) {
  millis now = world_.clock.now();
  write_record rec;
  rec.time = now;
  rec.operation = action;
  rec.user_id = id;
  auto record = [&](http_response r) {
    rec.status = r.status;
    world_.writes.push_back(rec);
    return r;
  };

  if (action != "setPresence" && action != "clearPresence" &&
      action != "setUserPreferredPresence" &&
      action != "clearUserPreferredPresence") {
    return graph_error(400, "BadRequest",
                       "Unknown presence action '" + action + "'.");
  }
  auto ct = req.headers.find("content-type");
  if (ct == req.headers.end() ||
      lower(ct->second).find("application/json") == std::string::npos) {
    return record(graph_error(415, "UnsupportedMediaType",
                              action + ": Content-Type must be "
                                       "application/json."));
  }
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  std::string text = req.body.empty() ? "{}" : req.body;
  if (parser.parse(text).get(body) != simdjson::SUCCESS) {
    return record(graph_error(400, "BadRequest",
                              action + ": the body is not a JSON object."));
  }
  auto u = world_.users().find(id);
  if (u == world_.users().end()) {
    return record(
      graph_error(404, "NotFound", "User '" + id + "' was not found."));
  }
  if (!is_teams_user(u->second)) {
    return record(graph_error(404, "NotFound",
                              "User '" + id +
                                "' has no Teams presence "
                                "(no Teams licence or the "
                                "account is disabled)."));
  }
  presence_state& p = world_.presence(id);

  auto read_pair = [&](presence_pair& out) -> std::string {
    if (read_string(body, "availability", out.availability) != field::ok) {
      return action + ": 'availability' is missing or not a string.";
    }
    if (read_string(body, "activity", out.activity) != field::ok) {
      return action + ": 'activity' is missing or not a string.";
    }
    out.availability = canonical_presence_value(out.availability);
    out.activity = canonical_presence_value(out.activity);
    rec.availability = out.availability;
    rec.activity = out.activity;
    return "";
  };
  auto read_session = [&]() -> std::string {
    if (read_string(body, "sessionId", rec.session_id) != field::ok) {
      return action + ": 'sessionId' is missing or not a string.";
    }
    if (lower(rec.session_id) != lower(token_client)) {
      return action + ": 'sessionId' must be the calling application's "
                      "client id.";
    }
    return "";
  };
  auto read_expiry = [&](millis fallback, bool bounded,
                         millis& out) -> std::string {
    field f = read_string(body, "expirationDuration", rec.expiration_duration);
    if (f == field::missing) {
      out = fallback;
      return "";
    }
    auto d =
      f == field::ok ? parse_duration(rec.expiration_duration) : std::nullopt;
    if (!d) {
      return action + ": 'expirationDuration' is not an ISO 8601 "
                      "duration.";
    }
    if (bounded && (*d < 5 * 60 * 1000 || *d > 4 * 3600 * 1000)) {
      return action +
             ": 'expirationDuration' must be between PT5M and "
             "PT4H; got " +
             rec.expiration_duration + ".";
    }
    out = *d;
    return "";
  };

  std::string err;
  if (action == "setPresence") {
    presence_pair pair;
    millis duration = 0;
    if ((err = read_session()).empty() && (err = read_pair(pair)).empty() &&
        (err = read_expiry(5 * 60 * 1000, true, duration)).empty() &&
        !valid_set_presence_pair(pair)) {
      err = "setPresence: the combination availability '" + pair.availability +
            "' / activity '" + pair.activity + "' is not supported.";
    }
    if (!err.empty()) {
      return record(graph_error(400, "BadRequest", err));
    }
    p.sessions[lower(rec.session_id)] = {rec.session_id, pair, now,
                                         now + duration};
  } else if (action == "clearPresence") {
    if (!(err = read_session()).empty()) {
      return record(graph_error(400, "BadRequest", err));
    }
    world_.refresh(id); // drops expired sessions first
    if (p.sessions.erase(lower(rec.session_id)) == 0) {
      return record(
        graph_error(404, "NotFound", "Presence session not found."));
    }
  } else if (action == "setUserPreferredPresence") {
    presence_pair pair;
    millis duration = 0;
    if ((err = read_pair(pair)).empty()) {
      bool short_default =
        pair.availability == "Busy" || pair.availability == "DoNotDisturb";
      millis fallback = (short_default ? 1 : 7) * 24LL * 3600 * 1000;
      if ((err = read_expiry(fallback, false, duration)).empty() &&
          !valid_preferred_pair(pair)) {
        err = "setUserPreferredPresence: the combination availability '" +
              pair.availability + "' / activity '" + pair.activity +
              "' is not supported.";
      }
    }
    if (!err.empty()) {
      return record(graph_error(400, "BadRequest", err));
    }
    p.preferred = preferred_presence{pair, now + duration};
  } else {
    p.preferred.reset();
  }
  world_.refresh(id);
  http_response ok;
  ok.status = 200;
  return record(ok);
}

http_response service::batch(const http_request& req) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(req.body).get(root) != simdjson::SUCCESS) {
    return graph_error(400, "BadRequest",
                       "$batch: the body is not a JSON object.");
  }
  simdjson::dom::array requests;
  if (root["requests"].get(requests) != simdjson::SUCCESS) {
    return graph_error(400, "BadRequest",
                       "$batch: 'requests' is missing or not an array.");
  }
  if (requests.size() > max_batch_requests) {
    return graph_error(400, "BadRequest",
                       "$batch: the number of requests in a batch cannot "
                       "exceed 20; got " +
                         std::to_string(requests.size()) + ".");
  }

  // Validate every entry before running any of them.
  struct sub {
    std::string id, method, url, body;
    std::map<std::string, std::string> headers;
    std::vector<std::string> depends_on;
  };
  std::vector<sub> subs;
  std::set<std::string> ids;
  std::size_t index = 0;
  for (auto e : requests) {
    std::string where = "$batch: requests[" + std::to_string(index++) + "]";
    simdjson::dom::object o;
    if (e.get(o) != simdjson::SUCCESS) {
      return graph_error(400, "BadRequest", where + " is not an object.");
    }
    sub s;
    if (read_string(o, "id", s.id) != field::ok || s.id.empty()) {
      return graph_error(400, "BadRequest", where + ": 'id' is missing.");
    }
    if (!ids.insert(s.id).second) {
      return graph_error(400, "BadRequest",
                         where + ": duplicate id '" + s.id + "'.");
    }
    if (read_string(o, "method", s.method) != field::ok) {
      return graph_error(400, "BadRequest", where + ": 'method' is missing.");
    }
    std::transform(
      s.method.begin(), s.method.end(), s.method.begin(),
      [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (read_string(o, "url", s.url) != field::ok || s.url.empty()) {
      return graph_error(400, "BadRequest", where + ": 'url' is missing.");
    }
    simdjson::dom::object headers;
    if (o["headers"].get(headers) == simdjson::SUCCESS) {
      for (auto [k, v] : headers) {
        std::string_view sv;
        if (v.get_string().get(sv) == simdjson::SUCCESS) {
          s.headers[lower(std::string{k})] = std::string{sv};
        }
      }
    }
    simdjson::dom::element body;
    if (o["body"].get(body) == simdjson::SUCCESS) {
      s.body = simdjson::minify(body);
      if (s.headers.count("content-type") == 0) {
        return graph_error(400, "BadRequest",
                           where + ": a request with a body needs a "
                                   "Content-Type header.");
      }
    }
    simdjson::dom::array deps;
    if (o["dependsOn"].get(deps) == simdjson::SUCCESS) {
      for (auto d : deps) {
        std::string_view sv;
        if (d.get_string().get(sv) == simdjson::SUCCESS) {
          s.depends_on.emplace_back(sv);
        }
      }
    }
    subs.push_back(std::move(s));
  }

  std::map<std::string, int> outcome;
  json_writer w;
  w.begin_object().key("responses").begin_array();
  for (const auto& s : subs) {
    http_response r;
    bool blocked = false;
    for (const auto& d : s.depends_on) {
      auto it = outcome.find(d);
      if (it == outcome.end() || it->second < 200 || it->second > 299) {
        blocked = true;
      }
    }
    if (blocked) {
      r = graph_error(424, "FailedDependency",
                      "A request this one depends on failed.");
    } else {
      http_request inner;
      inner.method = s.method;
      inner.target = s.url.rfind("/v1.0/", 0) == 0 ? s.url
                     : s.url.front() == '/'        ? "/v1.0" + s.url
                                                   : "/v1.0/" + s.url;
      inner.headers = s.headers;
      if (auto a = req.headers.find("authorization"); a != req.headers.end()) {
        inner.headers["authorization"] = a->second;
      }
      inner.body = s.body;
      inner.from_loopback = req.from_loopback;
      if (operation_of(inner.method, url_decode(inner.target.substr(
                                       0, inner.target.find('?')))) ==
          "batch") {
        r = graph_error(400, "BadRequest", "$batch cannot be nested.");
      } else {
        r = graph_call(inner, true);
      }
    }
    outcome[s.id] = r.status;
    w.begin_object().member("id", s.id).key("status").number(r.status);
    w.key("headers").begin_object();
    for (const auto& [k, v] : r.headers) {
      if (k == "Content-Type" || k == "Retry-After") {
        w.member(k, v);
      }
    }
    w.member("Cache-Control", "no-cache");
    w.end_object();
    if (!r.body.empty()) {
      w.key("body").raw(r.body);
    }
    w.end_object();
  }
  w.end_array().end_object();
  return json_response(200, w.str());
}

} // namespace presync::graph_emulator
