// The emulator's /_control/ API: drives the emulated tenant from tests and
// demos. No authentication; the server answers it on loopback only.

#include "emulators/graph/internal/json_read.hpp"
#include "emulators/graph/json_writer.hpp"
#include "emulators/graph/service.hpp"

namespace presync::graph_emulator {

namespace {

using internal::field;
using internal::read_bool;
using internal::read_double;
using internal::read_string;

http_response control_json(int status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

http_response control_error(int status, const std::string& message) {
  json_writer w;
  w.begin_object().member("error", message).end_object();
  return control_json(status, w.str());
}

http_response no_content() {
  http_response r;
  r.status = 204;
  return r;
}

void write_pair(json_writer& w, const presence_pair& p) {
  w.begin_object()
    .member("availability", p.availability)
    .member("activity", p.activity)
    .end_object();
}

void write_user_record(json_writer& w, const user_record& u) {
  w.begin_object();
  w.member("id", u.id).member("displayName", u.display_name);
  w.member_or_null("mail", u.mail);
  w.member("userPrincipalName", u.user_principal_name);
  w.key("businessPhones").begin_array();
  for (const auto& p : u.business_phones) {
    w.string(p);
  }
  w.end_array();
  w.member_or_null("mobilePhone", u.mobile_phone);
  w.key("accountEnabled").boolean(u.account_enabled);
  w.member("userType", u.user_type);
  w.key("licensed").boolean(u.has_licence);
  w.member("teamsPlanStatus", u.teams_plan_status);
  w.key("teamsPlanDisabled").boolean(u.teams_plan_disabled);
  w.key("teamsUser").boolean(is_teams_user(u));
  w.member_or_null("teamsNumber", u.teams_number);
  w.end_object();
}

// Applies the user fields present in `o` to `u`; returns an error text.
std::string apply_user_fields(simdjson::dom::object o, user_record& u) {
  std::string s;
  if (read_string(o, "displayName", s) == field::ok) {
    u.display_name = s;
  }
  if (auto f = read_string(o, "mail", s); f == field::ok) {
    u.mail = s;
  } else if (f == field::wrong_type) {
    u.mail.clear();
  }
  if (read_string(o, "userPrincipalName", s) == field::ok) {
    u.user_principal_name = s;
  }
  if (auto f = read_string(o, "mobilePhone", s); f == field::ok) {
    u.mobile_phone = s;
  } else if (f == field::wrong_type) {
    u.mobile_phone.clear();
  }
  if (read_string(o, "userType", s) == field::ok) {
    u.user_type = s;
  }
  if (read_string(o, "teamsPlanStatus", s) == field::ok) {
    u.teams_plan_status = s;
  }
  if (auto f = read_string(o, "teamsNumber", s); f == field::ok) {
    u.teams_number = s;
  } else if (f == field::wrong_type) {
    u.teams_number.clear();
  }
  simdjson::dom::array phones;
  if (o["businessPhones"].get(phones) == simdjson::SUCCESS) {
    u.business_phones.clear();
    for (auto p : phones) {
      std::string_view sv;
      if (p.get_string().get(sv) != simdjson::SUCCESS) {
        return "businessPhones must be an array of strings";
      }
      u.business_phones.emplace_back(sv);
    }
  }
  bool b = false;
  if (read_bool(o, "accountEnabled", b) == field::ok) {
    u.account_enabled = b;
  }
  if (read_bool(o, "licensed", b) == field::ok) {
    u.has_licence = b;
    if (b && u.teams_plan_status.empty()) {
      u.teams_plan_status = "Enabled";
    }
  }
  if (read_bool(o, "teamsPlanDisabled", b) == field::ok) {
    u.teams_plan_disabled = b;
  }
  return "";
}

} // namespace

http_response
service::control(const http_request& req, const std::string& path,
                 const std::map<std::string, std::string>& query) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto pos = path.find('/', start);
    std::string part = path.substr(start, pos - start);
    if (!part.empty()) {
      parts.push_back(part);
    }
    if (pos == std::string::npos) {
      break;
    }
    start = pos + 1;
  }
  const std::string& m = req.method;
  if (parts.empty()) {
    return control_error(404, "no control route at /_control/");
  }
  const std::string& head = parts[0];

  if (head == "health" && m == "GET") {
    json_writer w;
    w.begin_object().key("ok").boolean(true).end_object();
    return control_json(200, w.str());
  }
  if (head == "users") {
    return control_user(req, parts, query);
  }
  if (head == "clock" && parts.size() == 1 && m == "GET") {
    json_writer w;
    w.begin_object().key("nowMs").number(world_.clock.now());
    w.member("now", format_time(world_.clock.now(), true));
    w.member("mode", world_.clock.real_time() ? "real" : "manual");
    w.end_object();
    return control_json(200, w.str());
  }
  if (head == "clock" && parts.size() == 2 && parts[1] == "advance" &&
      m == "POST") {
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    double ms = 0;
    if (parser.parse(req.body).get(o) != simdjson::SUCCESS ||
        read_double(o, "ms", ms) != field::ok || ms < 0) {
      return control_error(400, "clock/advance: body must be {\"ms\": N} "
                                "with N >= 0");
    }
    world_.clock.advance(static_cast<millis>(ms));
    world_.refresh_all();
    json_writer w;
    w.begin_object().key("nowMs").number(world_.clock.now());
    w.member("now", format_time(world_.clock.now(), true)).end_object();
    return control_json(200, w.str());
  }
  // One app's session of every user at once (`?sessionId=`, else the
  // configured client id), for tests that compare many people quickly.
  if (head == "sessions" && parts.size() == 1 && m == "GET") {
    auto sid = query.find("sessionId");
    const std::string session_id =
      sid == query.end() ? world_.client_id : sid->second;
    millis now = world_.clock.now();
    json_writer w;
    w.begin_object().key("users").begin_array();
    for (const auto& [id, u] : world_.users()) {
      const presence_state& p = world_.presence(id);
      w.begin_object().member("id", id).key("session");
      auto s = p.sessions.find(session_id);
      if (s != p.sessions.end() && effective_session(s->second, now)) {
        write_pair(w, s->second.requested);
      } else {
        w.null();
      }
      w.key("teamsClient");
      if (p.teams_client) {
        write_pair(w, *p.teams_client);
      } else {
        w.null();
      }
      w.end_object();
    }
    w.end_array().end_object();
    return control_json(200, w.str());
  }
  if (head == "counters" && parts.size() == 1 && m == "GET") {
    json_writer w;
    w.begin_object().key("operations").begin_object();
    for (const auto& [k, v] : world_.counters) {
      w.key(k).number(v);
    }
    w.end_object().key("statuses").begin_object();
    for (const auto& [k, v] : world_.statuses) {
      w.key(std::to_string(k)).number(v);
    }
    w.end_object().end_object();
    return control_json(200, w.str());
  }
  if (head == "counters" && parts.size() == 2 && parts[1] == "reset" &&
      m == "POST") {
    world_.counters.clear();
    world_.statuses.clear();
    world_.throttle_count = 0;
    world_.throttle_window_start = world_.clock.now();
    return no_content();
  }
  if (head == "writes" && parts.size() == 1 && m == "GET") {
    json_writer w;
    w.begin_object().key("writes").begin_array();
    for (const auto& x : world_.writes) {
      w.begin_object().key("timeMs").number(x.time);
      w.member("time", format_time(x.time, true));
      w.member("operation", x.operation).member("userId", x.user_id);
      w.member("sessionId", x.session_id);
      w.member("availability", x.availability);
      w.member("activity", x.activity);
      w.member("expirationDuration", x.expiration_duration);
      w.key("status").number(x.status);
      w.key("answerLost").boolean(x.answer_lost).end_object();
    }
    w.end_array().end_object();
    return control_json(200, w.str());
  }
  if (head == "writes" && parts.size() == 2 && parts[1] == "reset" &&
      m == "POST") {
    world_.writes.clear();
    return no_content();
  }
  if (head == "requests" && m == "GET") {
    json_writer w;
    w.begin_object().key("requests").begin_array();
    for (const auto& line : world_.request_log) {
      w.string(line);
    }
    w.end_array().end_object();
    return control_json(200, w.str());
  }
  if (head == "tokens" && parts.size() == 2 && parts[1] == "revoke" &&
      m == "POST") {
    world_.tokens.clear();
    return no_content();
  }
  if (head == "knobs") {
    return control_knobs(req);
  }
  return control_error(404, "no control route " + m + " /_control/" + path);
}

http_response
service::control_user(const http_request& req,
                      const std::vector<std::string>& parts,
                      const std::map<std::string, std::string>& query) {
  const std::string& m = req.method;
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  bool has_body =
    !req.body.empty() && parser.parse(req.body).get(body) == simdjson::SUCCESS;
  if (!req.body.empty() && !has_body) {
    return control_error(400, "the body is not a JSON object");
  }

  if (parts.size() == 1 && m == "GET") {
    json_writer w;
    w.begin_object().key("users").begin_array();
    for (const auto& [id, u] : world_.users()) {
      write_user_record(w, u);
    }
    w.end_array().end_object();
    return control_json(200, w.str());
  }
  if (parts.size() == 1 && m == "POST") {
    std::string id;
    if (has_body && read_string(body, "id", id) == field::ok) {
      if (world_.users().count(id)) {
        return control_error(409, "user " + id + " already exists");
      }
    } else {
      id = world_.next_user_id();
    }
    std::string suffix = id.substr(id.size() - 4);
    user_record u = generated_user(0);
    u.id = id;
    u.display_name = "User " + suffix;
    u.surname = suffix;
    u.mail = "user" + suffix + "@contoso.example";
    u.user_principal_name = u.mail;
    if (has_body) {
      if (auto err = apply_user_fields(body, u); !err.empty()) {
        return control_error(400, "users: " + err);
      }
    }
    world_.put_user(u);
    json_writer w;
    write_user_record(w, u);
    return control_json(201, w.str());
  }
  if (parts.size() < 2) {
    return control_error(404, "no such users route");
  }
  const std::string& id = parts[1];
  auto it = world_.users().find(id);
  if (it == world_.users().end()) {
    return control_error(404, "user " + id + " not found");
  }

  if (parts.size() == 2 && m == "GET") {
    json_writer w;
    write_user_record(w, it->second);
    return control_json(200, w.str());
  }
  if (parts.size() == 2 && m == "PATCH") {
    user_record u = it->second;
    if (has_body) {
      if (auto err = apply_user_fields(body, u); !err.empty()) {
        return control_error(400, "users/" + id + ": " + err);
      }
    }

    // The Teams number lives in Teams, not in Entra: alone it is no
    // users/delta change.
    user_record entra_only = it->second;
    entra_only.teams_number = u.teams_number;
    if (entra_only == u) {
      world_.set_teams_number(id, u.teams_number);
    } else {
      world_.put_user(u);
    }
    json_writer w;
    write_user_record(w, u);
    return control_json(200, w.str());
  }
  if (parts.size() == 2 && m == "DELETE") {
    auto p = query.find("permanent");
    bool permanent = p != query.end() && p->second == "true";
    world_.remove_user(id, permanent);
    return no_content();
  }

  if (parts.size() == 3 && parts[2] == "presence" && m == "GET") {
    presence_pair agg = world_.refresh(id);
    const presence_state& p = world_.presence(id);
    millis now = world_.clock.now();
    json_writer w;
    w.begin_object().member("id", id);
    w.key("teamsUser").boolean(is_teams_user(it->second));
    w.key("aggregate");
    write_pair(w, agg);
    w.member("sequenceNumber", p.sequence_number);
    w.key("teamsClient");
    if (p.teams_client) {
      write_pair(w, *p.teams_client);
    } else {
      w.null();
    }
    w.key("preferred");
    if (p.preferred) {
      w.begin_object()
        .member("availability", p.preferred->value.availability)
        .member("activity", p.preferred->value.activity)
        .key("expiresAtMs")
        .number(p.preferred->expires_at)
        .end_object();
    } else {
      w.null();
    }
    w.key("outOfOffice").boolean(p.out_of_office);
    w.key("sessions").begin_array();
    for (const auto& [key, s] : p.sessions) {
      auto eff = effective_session(s, now);
      w.begin_object().member("sessionId", s.session_id);
      w.member("availability", s.requested.availability);
      w.member("activity", s.requested.activity);
      w.key("effective");
      if (eff) {
        write_pair(w, *eff);
      } else {
        w.null();
      }
      w.key("lastSetMs").number(s.last_set);
      w.key("expiresAtMs").number(s.expires_at).end_object();
    }
    w.end_array().end_object();
    return control_json(200, w.str());
  }

  presence_state& p = world_.presence(id);
  auto read_pair = [&](presence_pair& out) {
    return has_body &&
           read_string(body, "availability", out.availability) == field::ok &&
           read_string(body, "activity", out.activity) == field::ok;
  };
  if (parts.size() == 3 && parts[2] == "teams-client" &&
      (m == "PUT" || m == "POST")) {
    presence_pair pair;
    if (!read_pair(pair)) {
      return control_error(400, "teams-client: body must carry "
                                "'availability' and 'activity'");
    }
    pair.availability = canonical_presence_value(pair.availability);
    pair.activity = canonical_presence_value(pair.activity);
    if (pair.availability == "Offline") {
      p.teams_client.reset();
    } else {
      p.teams_client = pair;
    }
    world_.refresh(id);
    return no_content();
  }
  if (parts.size() == 3 && parts[2] == "teams-client" && m == "DELETE") {
    p.teams_client.reset();
    world_.refresh(id);
    return no_content();
  }
  if (parts.size() == 3 && parts[2] == "preferred" &&
      (m == "PUT" || m == "POST")) {
    presence_pair pair;
    if (!read_pair(pair)) {
      return control_error(400, "preferred: body must carry "
                                "'availability' and 'activity'");
    }
    millis duration = 7LL * 24 * 3600 * 1000;
    std::string text;
    if (read_string(body, "expirationDuration", text) == field::ok) {
      auto d = parse_duration(text);
      if (!d) {
        return control_error(400, "preferred: bad expirationDuration '" + text +
                                    "'");
      }
      duration = *d;
    }
    pair.availability = canonical_presence_value(pair.availability);
    pair.activity = canonical_presence_value(pair.activity);
    p.preferred = preferred_presence{pair, world_.clock.now() + duration};
    world_.refresh(id);
    return no_content();
  }
  if (parts.size() == 3 && parts[2] == "preferred" && m == "DELETE") {
    p.preferred.reset();
    world_.refresh(id);
    return no_content();
  }
  if (parts.size() == 3 && parts[2] == "out-of-office" &&
      (m == "PUT" || m == "POST")) {
    bool on = false;
    if (!has_body || read_bool(body, "isOutOfOffice", on) != field::ok) {
      return control_error(400, "out-of-office: body must carry "
                                "'isOutOfOffice'");
    }
    p.out_of_office = on;
    std::string msg;
    p.out_of_office_message =
      read_string(body, "message", msg) == field::ok ? msg : "";
    return no_content();
  }
  return control_error(404, "no control route " + m + " for user " + id);
}

http_response service::control_knobs(const http_request& req) {
  knobs& k = world_.settings;
  if (req.method == "POST" || req.method == "PATCH") {
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    if (parser.parse(req.body).get(o) != simdjson::SUCCESS) {
      return control_error(400, "knobs: the body is not a JSON object");
    }
    knobs next = k;
    double d = 0;
    bool b = false;
    auto number = [&](const char* name, auto& target, double lo,
                      double hi) -> std::string {
      field f = read_double(o, name, d);
      if (f == field::wrong_type || (f == field::ok && (d < lo || d > hi))) {
        return std::string{"knobs: '"} + name + "' must be a number in [" +
               std::to_string(lo) + ", " + std::to_string(hi) + "]";
      }
      if (f == field::ok) {
        target = static_cast<std::remove_reference_t<decltype(target)>>(d);
      }
      return "";
    };
    std::string err;
    for (auto e :
         {number("throttleLimit", next.throttle_limit, 0, 1e9),
          number("throttleWindowMs", next.throttle_window_ms, 1, 1e9),
          number("throttleRate", next.throttle_rate, 0, 1),
          number("throttleRetryAfterMs", next.throttle_retry_after_ms, 0,
                 600000),
          number("errorRate", next.error_rate, 0, 1),
          number("errorSeed", next.error_seed, 0, 1e18),
          number("latencyMs", next.latency_ms, 0, 600000),
          number("resetRate", next.reset_rate, 0, 1),
          number("resetNext", next.reset_next, 0, 1e9),
          number("tokenLifetimeS", next.token_lifetime_s, 1, 1e7),
          number("failNext", next.fail_next, 0, 1e9),
          number("failStatus", next.fail_status, 400, 599),
          number("failRetryAfterMs", next.fail_retry_after_ms, 0, 600000)}) {
      if (err.empty()) {
        err = e;
      }
    }
    if (!err.empty()) {
      return control_error(400, err);
    }
    if (read_bool(o, "tokenEndpointDown", b) == field::ok) {
      next.token_endpoint_down = b;
    }
    if (read_bool(o, "secretExpired", b) == field::ok) {
      next.secret_expired = b;
    }
    if (read_bool(o, "teamsConfigDenied", b) == field::ok) {
      next.teams_config_denied = b;
    }
    if (next.error_seed != k.error_seed) {
      world_.rng.seed(next.error_seed);
    }
    if (next.throttle_limit != k.throttle_limit ||
        next.throttle_window_ms != k.throttle_window_ms) {
      world_.throttle_count = 0;
      world_.throttle_window_start = world_.clock.now();
    }
    k = next;
  } else if (req.method != "GET") {
    return control_error(405, "knobs: use GET or POST");
  }
  json_writer w;
  w.begin_object();
  w.key("throttleLimit").number(k.throttle_limit);
  w.key("throttleWindowMs").number(k.throttle_window_ms);
  w.key("throttleRate").raw(std::to_string(k.throttle_rate));
  w.key("throttleRetryAfterMs").number(k.throttle_retry_after_ms);
  w.key("errorRate").raw(std::to_string(k.error_rate));
  w.key("errorSeed").number(static_cast<std::int64_t>(k.error_seed));
  w.key("latencyMs").number(k.latency_ms);
  w.key("resetRate").raw(std::to_string(k.reset_rate));
  w.key("resetNext").number(k.reset_next);
  w.key("tokenEndpointDown").boolean(k.token_endpoint_down);
  w.key("secretExpired").boolean(k.secret_expired);
  w.key("tokenLifetimeS").number(k.token_lifetime_s);
  w.key("failNext").number(k.fail_next);
  w.key("failStatus").number(k.fail_status);
  w.key("failRetryAfterMs").number(k.fail_retry_after_ms);
  w.key("teamsConfigDenied").boolean(k.teams_config_denied);
  w.end_object();
  return control_json(200, w.str());
}

} // namespace presync::graph_emulator
