#include "app/api.hpp"

#include "adapters/graph/phone.hpp"
#include "adapters/http/json_body.hpp"
#include "adapters/log/log.hpp"
#include "app/tenant_directory.hpp"
#include "app/ui_assets.hpp"
#include "protocol/json_text.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <optional>

namespace presync::app {

namespace {

using http::responder;
using http::server_request;
using http::server_response;

const log::logger& logger() {
  static const log::logger l{"api"};
  return l;
}

server_response error_json(int status, std::string_view message) {
  return server_response::json(status,
                               "{\"error\":" + json_string(message) + "}");
}

/// 400 naming the input at fault and why.
server_response invalid(std::string_view field, std::string_view reason) {
  return server_response::json(400, R"({"error":"invalid request","field":)" +
                                      json_string(field) + R"(,"reason":)" +
                                      json_string(reason) + "}");
}

server_response method_not_allowed(std::string_view allow) {
  auto r = error_json(405, "method not allowed");
  r.headers.set("Allow", std::string{allow});
  return r;
}

server_response starting() {
  auto r = error_json(503, "the tenant is starting; try again shortly");
  r.headers.set("Retry-After", "5");
  return r;
}

std::string string_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ",") + json_string(items[i]);
  }
  return out + "]";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// Decodes %XX (and + as space in queries); nullopt on a bad escape or a
/// NUL byte.
std::optional<std::string> percent_decode(std::string_view in, bool plus) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return std::nullopt;
      }
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus) {
      c = ' ';
    }
    if (c == '\0') {
      return std::nullopt;
    }
    out += c;
  }
  return out;
}

// -- query parameters --------------------------------------------------------

/// The parameters of one request, with the names it accepts.
class params {
 public:
  /// Fails with a 400 for a bad encoding, an unknown or repeated name.
  static std::optional<server_response>
  read(std::string_view query, std::initializer_list<std::string_view> known,
       params& out) {
    auto parsed = parse_query(query);
    if (!parsed) {
      return invalid("query", parsed.err().context);
    }
    for (auto& p : *parsed) {
      if (std::find(known.begin(), known.end(), p.name) == known.end()) {
        return invalid(p.name, "unknown parameter");
      }
      if (out.values_.count(p.name) != 0) {
        return invalid(p.name, "given more than once");
      }
      out.values_.emplace(std::move(p.name), std::move(p.value));
    }
    return std::nullopt;
  }

  std::optional<std::string> get(const std::string& name) const {
    auto i = values_.find(name);
    return i == values_.end() ? std::nullopt : std::optional{i->second};
  }

 private:
  std::map<std::string, std::string> values_;
};

// -- health ------------------------------------------------------------------

/// 200 when every tenant is ready, else 503. Probes come without a token,
/// so only a caller with a valid bearer token sees tenant ids and reasons;
/// the rest get the bare verdict (issue 10).
server_response readiness(const api_context& ctx, const server_request& req) {
  bool all = true;
  for (const auto& t : *ctx.tenants) {
    all = all && t->ready();
  }
  const int status = all ? 200 : 503;

  auto auth = req.headers.find("Authorization");
  if (!auth || !bearer_allowed(*auth, ctx.tokens)) {
    return server_response::json(status, all ? R"({"status":"ready"})"
                                             : R"({"status":"not ready"})");
  }

  std::string body = R"({"tenants":{)";
  const auto& tenants = *ctx.tenants;
  for (size_t i = 0; i < tenants.size(); ++i) {
    const auto& t = *tenants[i];
    body += (i == 0 ? "" : ",") + json_string(t.id()) + ":" +
            json_string(t.readiness());
  }
  body += std::string{R"(},"ready":)"} + (all ? "true" : "false") + "}";
  return server_response::json(status, std::move(body));
}

server_response tenant_list(const api_context& ctx, std::string_view query) {
  params p;
  if (auto bad = params::read(query, {"format"}, p)) {
    return *bad;
  }
  auto format = p.get("format").value_or("json");
  if (format == "text") {
    // One tenant a line: "id ready" or "id starting" (presync explain).
    server_response r;
    r.headers.set("Content-Type", "text/plain; charset=utf-8");
    for (const auto& t : *ctx.tenants) {
      r.body += t->id() + (t->ready() ? " ready\n" : " starting\n");
    }
    return r;
  }
  if (format != "json") {
    return invalid("format", "expected json or text");
  }
  std::string body = R"({"tenants":[)";
  const auto& tenants = *ctx.tenants;
  for (size_t i = 0; i < tenants.size(); ++i) {
    const auto& t = *tenants[i];
    body += (i == 0 ? "" : ",") + std::string{R"({"id":)"} +
            json_string(t.id()) + R"(,"ready":)" +
            (t.ready() ? "true" : "false") + "}";
  }
  return server_response::json(200, body + "]}");
}

server_response conflicts(const tenant_runtime& t) {
  std::string body = R"({"conflicts":[)";
  auto list = t.conflicts();
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& c = list[i];
    body += (i == 0 ? "" : ",") + std::string{R"({"key":)"} +
            json_string(c.key) + R"(,"teams_users":)" +
            string_list(c.teams_ids) + R"(,"connect_users":)" +
            string_list(c.connect_ids) + "}";
  }
  return server_response::json(200, body + "]}");
}

// -- the status drawer page --------------------------------------------------

server_response ui_file(std::string_view path) {
  if (path == "/ui") {
    server_response r;
    r.status = 301;
    r.headers.set("Location", "/ui/");
    return r;
  }
  auto name = path.substr(std::string_view{"/ui/"}.size());
  if (name.empty()) {
    name = "index.html";
  }

  // Only the files built into the binary exist: nothing is read from disk,
  // so no path can reach outside them.
  const auto* asset = find_ui_asset(name);
  if (asset == nullptr) {
    return error_json(404, "not found");
  }
  server_response r;
  r.status = 200;
  r.headers.set("Content-Type", std::string{asset->content_type});
  r.headers.set("Cache-Control", "no-cache");
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.headers.set("Referrer-Policy", "no-referrer");
  r.headers.set("Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  r.body = std::string{asset->body};
  return r;
}

// -- CORS --------------------------------------------------------------------

bool origin_allowed(const api_context& ctx, std::string_view origin) {
  return std::any_of(
    ctx.cors_origins.begin(), ctx.cors_origins.end(),
    [&](const std::string& o) { return o == "*" || o == origin; });
}

server_response preflight(const api_context& ctx, const server_request& req) {
  auto origin = req.headers.find("Origin");
  if (!origin || !origin_allowed(ctx, *origin)) {
    return error_json(403, "origin not allowed");
  }
  server_response r;
  r.status = 204;
  r.headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  r.headers.set("Access-Control-Allow-Headers",
                "Authorization, Content-Type, Last-Event-ID");
  r.headers.set("Access-Control-Max-Age", "600");
  return r;
}

/// Adds the CORS headers to whatever `out` answers.
responder with_cors(responder out, std::string origin) {
  auto add = [origin](server_response& r) {
    r.headers.set("Access-Control-Allow-Origin", origin);
    r.headers.set("Access-Control-Expose-Headers", "Retry-After");
    r.headers.add("Vary", "Origin");
  };
  return responder{[out, add](server_response r) {
                     add(r);
                     out.reply(std::move(r));
                   },
                   [out, add](server_response head) {
                     add(head);
                     return out.open_stream(std::move(head));
                   }};
}

// -- directory ---------------------------------------------------------------

constexpr size_t max_page = 1000;

server_response directory(const tenant_directory& dir, std::string_view query) {
  params p;
  if (auto bad = params::read(query, {"q", "presence", "limit", "cursor"}, p)) {
    return *bad;
  }

  directory_query dq;
  if (auto q = p.get("q")) {
    if (q->size() > 200) {
      return invalid("q", "at most 200 characters");
    }
    dq.q = lower_ascii(*q);
    auto b = dq.q.find_first_not_of(' ');
    dq.q = b == std::string::npos
             ? ""
             : dq.q.substr(b, dq.q.find_last_not_of(' ') - b + 1);
  }
  if (auto presence = p.get("presence"); presence && !presence->empty()) {
    std::string_view rest = *presence;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = rest.substr(0, comma);
      auto c = parse_presence_category(item);
      if (!c) {
        return invalid("presence", "expected a comma-separated list of "
                                   "available, busy, dnd, away, offline, "
                                   "unknown");
      }
      dq.presence.push_back(*c);
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
  }
  if (auto limit = p.get("limit")) {
    size_t n = 0;
    bool ok = !limit->empty() && limit->size() <= 4 &&
              std::all_of(limit->begin(), limit->end(),
                          [](char c) { return c >= '0' && c <= '9'; });
    if (ok) {
      n = std::stoul(*limit);
    }
    if (!ok || n < 1 || n > max_page) {
      return invalid("limit", "expected a whole number from 1 to 1000");
    }
    dq.limit = n;
  }
  if (auto cursor = p.get("cursor"); cursor && !cursor->empty()) {
    auto after = decode_cursor(*cursor);
    if (!after) {
      return invalid("cursor", "not a cursor this server gave out");
    }
    dq.after = std::move(*after);
  }

  auto snap = dir.snapshot();
  if (!snap) {
    return starting();
  }

  // The stream id is taken first: a client that subscribes from it sees
  // every change made after this page was read.
  auto events_from = dir.board().event_id(dir.board().latest());
  auto page = query_directory(*snap, dir.board(), dq);

  std::string body;
  body.reserve(256 + page.items.size() * 420);
  body += R"({"tenant":)";
  append_json_string(body, dir.tenant());
  body += R"(,"version":)" + std::to_string(snap->version()) + R"(,"total":)" +
          std::to_string(page.total) + R"(,"people":[)";
  for (size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0) {
      body += ',';
    }
    append_person_json(body, *page.items[i], page.live[i]);
  }
  body += R"(],"next_cursor":)";
  if (page.next_after) {
    append_json_string(body, encode_cursor(*page.next_after));
  } else {
    body += "null";
  }
  body += R"(,"events_from":)";
  append_json_string(body, events_from);
  body += '}';
  return server_response::json(200, std::move(body));
}

void directory_events(const api_context& ctx, tenant_directory& dir,
                      const server_request& req, std::string_view query,
                      const responder& out) {
  params p;
  if (auto bad = params::read(query, {"last_event_id"}, p)) {
    out.reply(*bad);
    return;
  }
  if (ctx.events == nullptr) {
    out.reply(error_json(503, "event streams are not available"));
    return;
  }

  // The header wins over the parameter (browsers send it on reconnect).
  std::optional<std::string> last;
  if (auto h = req.headers.find("Last-Event-ID")) {
    last = std::string{*h};
  } else {
    last = p.get("last_event_id");
  }
  auto& board = dir.board();
  uint64_t after = board.latest();
  bool reset = false;
  if (last && !last->empty()) {
    if (last->size() > 64) {
      out.reply(invalid("Last-Event-ID", "at most 64 characters"));
      return;
    }
    auto seq = board.parse_event_id(*last);
    reset = !seq;
    after = seq.value_or(after);
  }

  server_response head;
  head.status = 200;
  head.headers.set("Content-Type", "text/event-stream");
  head.headers.set("Cache-Control", "no-cache");
  head.headers.set("X-Accel-Buffering", "no");
  auto stream = out.open_stream(std::move(head));
  if (!stream) {
    out.reply(error_json(503, "event streams are not available here"));
    return;
  }
  stream->send("retry: 3000\n: connected\n\n");
  ctx.events->subscribe(dir, std::move(stream), after, reset);
}

// -- people ------------------------------------------------------------------

/// Returns the wall-clock text of a person actor's instant `t`.
std::string wall_of(mono_time t, mono_time now) {
  return iso8601_ms(wall_ms() - (now - t).count());
}

void append_hold(std::string& out, bool& first, std::string_view dir,
                 const std::string& value, std::optional<mono_time> due,
                 mono_time now) {
  out += first ? "" : ",";
  first = false;
  out += R"({"direction":")";
  out += dir;
  out += R"(","value":)";
  append_json_string(out, value);
  if (due) {
    out += R"(,"due":)";
    append_json_string(out, wall_of(*due, now));
    out += R"(,"due_in_ms":)" +
           std::to_string(std::max<int64_t>(0, (*due - now).count()));
  }
  out += '}';
}

std::string sync_json(const person_detail& d) {
  const auto& v = d.view;
  auto opt = [](const std::optional<std::string>& s) {
    return s ? json_string(*s) : std::string{"null"};
  };
  std::string out = R"({"connect_state":)" + json_string(v.connect_state) +
                    R"(,"agent_status":)" + json_string(v.agent_status) +
                    R"(,"teams_observed":)";
  if (v.teams_observed) {
    out += R"({"availability":)" + json_string(v.teams_observed->availability) +
           R"(,"activity":)" + json_string(v.teams_observed->activity) + "}";
  } else {
    out += "null";
  }
  out += R"(,"session":)";
  out += v.session ? json_string(v.session->describe()) : "null";
  out += R"(,"pending_writes":{"teams":)";
  out += v.teams_pending ? json_string(v.teams_pending->describe()) : "null";
  out += R"(,"connect":)" + opt(v.connect_pending) + "}";
  out += R"(,"holds":[)";
  bool first = true;
  if (v.c2t_hold) {
    append_hold(out, first, "connect_to_teams", v.c2t_hold->describe(),
                v.c2t_hold_due, d.now);
  }
  if (v.t2c_hold) {
    append_hold(out, first, "teams_to_connect", *v.t2c_hold, v.t2c_hold_due,
                d.now);
  }
  out += R"(],"deferred":)";
  out += v.deferred ? "true" : "false";
  out += R"(,"restore_to":)" + opt(v.restore_to);
  out +=
    R"(,"loop":{"chain":)" + std::to_string(v.chain) + R"(,"paused_until":)";
  out += v.paused_until && *v.paused_until > d.now
           ? json_string(wall_of(*v.paused_until, d.now))
           : "null";
  out += "}}";
  return out;
}

std::string journal_json(const person_detail& d) {
  std::string out = "[";
  for (size_t i = 0; i < d.journal.size(); ++i) {
    const auto& e = d.journal[i];
    out += (i == 0 ? "" : ",") + std::string{R"({"at":)"} +
           json_string(wall_of(e.at, d.now)) + R"(,"decision":)" +
           json_string(to_string(e.what)) + R"(,"direction":)" +
           json_string(to_string(e.dir)) + R"(,"detail":)" +
           json_string(e.detail) + "}";
  }
  return out + "]";
}

/// The same answer as text, for `presync explain` and people reading it.
std::string person_text(const directory_person& p, const live_state& live,
                        const expected<person_detail>& d) {
  std::string out = p.display_name + " (" + p.id + ")\n";
  out += "  e-mail:   " + (p.email.empty() ? "-" : p.email) + "\n";
  out += "  shows:    " + std::string{to_string(category_of(live))} + "\n";
  out += "  Teams:    ";
  if (p.has_teams()) {
    out += p.upn + ", presence " +
           (live.teams ? live.teams->key() : std::string{"not read yet"});
  } else {
    out += "no Teams account";
  }
  out += "\n  Connect:  ";
  if (p.has_connect()) {
    out += p.username + ", state " +
           (live.connect_state.empty() ? "not known" : live.connect_state);
  } else {
    out += "no Connect agent";
  }
  out += "\n  dialable: " +
         (p.dialable() ? p.number + " (from " + p.number_source + ")"
                       : "no: " + p.not_dialable_reason) +
         "\n";
  if (!d) {
    return out + "  sync:     not available (" + d.err().describe() + ")\n";
  }
  const auto& v = d->view;
  out += "  session:  presync's Teams session shows " +
         (v.session ? v.session->describe() : std::string{"(not known yet)"}) +
         "\n";
  if (v.teams_pending) {
    out += "  pending:  Teams write " + v.teams_pending->describe() + "\n";
  }
  if (v.connect_pending) {
    out += "  pending:  Connect status " + *v.connect_pending + "\n";
  }
  if (v.c2t_hold) {
    out += "  hold:     Connect -> Teams " + v.c2t_hold->describe() +
           (v.c2t_hold_due ? " in " + format_duration(std::max(
                                        duration{0}, *v.c2t_hold_due - d->now))
                           : "") +
           "\n";
  }
  if (v.t2c_hold) {
    out += "  hold:     Teams -> Connect " + *v.t2c_hold +
           (v.t2c_hold_due ? " in " + format_duration(std::max(
                                        duration{0}, *v.t2c_hold_due - d->now))
                           : "") +
           "\n";
  }
  if (v.deferred) {
    out += "  deferred: a Teams -> Connect change waits for the contact to "
           "end\n";
  }
  if (v.restore_to) {
    out += "  restore:  " + *v.restore_to + " when the Teams match ends\n";
  }
  if (v.paused_until && *v.paused_until > d->now) {
    out +=
      "  paused:   loop guard until " + wall_of(*v.paused_until, d->now) + "\n";
  }
  out += "  journal (oldest first):\n";
  if (d->journal.empty()) {
    out += "    (no decisions yet)\n";
  }
  for (const auto& e : d->journal) {
    out += "    " + wall_of(e.at, d->now) + "  " +
           std::string{to_string(e.what)} + "  " +
           std::string{to_string(e.dir)} + "  " + e.detail + "\n";
  }
  return out;
}

void person(const tenant_directory& dir, std::string_view raw_id,
            std::string_view query, const responder& out) {
  params p;
  if (auto bad = params::read(query, {"format"}, p)) {
    out.reply(*bad);
    return;
  }
  auto format = p.get("format").value_or("json");
  if (format != "json" && format != "text") {
    out.reply(invalid("format", "expected json or text"));
    return;
  }
  auto id = percent_decode(raw_id, false);
  if (!id || id->empty() || id->size() > 256) {
    out.reply(invalid("id", "expected a person id"));
    return;
  }
  auto snap = dir.snapshot();
  if (!snap) {
    out.reply(starting());
    return;
  }
  const auto* found = snap->find(*id);
  if (found == nullptr) {
    out.reply(error_json(404, "unknown person"));
    return;
  }

  // The snapshot stays alive in the callback, so `found` does too.
  auto live = dir.board().state_of(*id);
  dir.ask_person(
    *id, [snap, found, live, format, out](expected<person_detail> d) {
      if (format == "text") {
        server_response r;
        r.status = 200;
        r.headers.set("Content-Type", "text/plain; charset=utf-8");
        r.body = person_text(*found, live, d);
        out.reply(std::move(r));
        return;
      }
      std::string body = R"({"person":)";
      append_person_json(body, *found, live);
      if (d) {
        body +=
          R"(,"sync":)" + sync_json(*d) + R"(,"journal":)" + journal_json(*d);
      } else {
        body += R"(,"sync":null,"sync_error":)" +
                json_string(d.err().describe()) + R"(,"journal":[])";
      }
      out.reply(server_response::json(200, body + "}"));
    });
}

// -- calls -------------------------------------------------------------------

/// A ClientToken from the request, or one derived from who calls whom in
/// a ten-second window, so a double click places one call.
std::string derived_token(const std::string& tenant, const std::string& agent,
                          const std::string& person,
                          const std::string& number) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (char c : s) {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    h = (h ^ 0x1f) * 1099511628211ull;
  };
  mix(tenant);
  mix(agent);
  mix(person);
  mix(number);
  mix(std::to_string(wall_ms() / 10'000));
  char buf[32];
  std::snprintf(buf, sizeof buf, "presync-%016llx",
                static_cast<unsigned long long>(h));
  return buf;
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':';
}

server_response call_answer(const expected<std::string>& contact,
                            const directory_person& agent,
                            const directory_person& target,
                            const std::string& token) {
  if (contact) {
    return server_response::json(
      201, R"({"contact_id":)" + json_string(*contact) + R"(,"agent":)" +
             json_string(agent.agent_id) + R"(,"person":)" +
             json_string(target.id) + R"(,"number":)" +
             json_string(target.number) + R"(,"client_token":)" +
             json_string(token) + "}");
  }
  const auto& e = contact.err();
  if (e.code == sync_error::throttled) {
    auto secs = std::max<int64_t>(
      1,
      std::chrono::duration_cast<std::chrono::seconds>(e.retry_after).count());
    auto r = error_json(429, "Connect is busy; try again shortly");
    r.headers.set("Retry-After", std::to_string(secs));
    return r;
  }
  if (e.code == sync_error::unavailable && e.http_status == 0 &&
      e.context.find("starting") != std::string::npos) {
    return starting();
  }
  return server_response::json(
    502, R"({"error":"Connect did not place the call","detail":)" +
           json_string(e.describe()) + "}");
}

void place_call(const api_context& ctx, tenant_directory& dir,
                const server_request& req, const responder& out) {
  auto type = req.headers.find("Content-Type").value_or("");
  if (!type.starts_with("application/json")) {
    out.reply(error_json(415, "Content-Type must be application/json"));
    return;
  }
  std::map<std::string, std::string> body;
  if (auto bad = http::parse_string_object(req.body, body)) {
    out.reply(invalid(bad->field, bad->reason));
    return;
  }
  for (const auto& [name, value] : body) {
    if (name != "agent" && name != "person" && name != "client_token") {
      out.reply(invalid(name, "unknown field"));
      return;
    }
  }
  auto agent_id = body["agent"];
  auto person_id = body["person"];
  auto token = body["client_token"];
  if (agent_id.empty()) {
    out.reply(invalid("agent", "required: the Connect user id or username "
                               "placing the call"));
    return;
  }
  if (person_id.empty()) {
    out.reply(invalid("person", "required: the id of the person to call"));
    return;
  }
  if (token.size() > 100 ||
      !std::all_of(token.begin(), token.end(), token_char)) {
    out.reply(invalid("client_token", "at most 100 letters, digits and "
                                      "- _ . :"));
    return;
  }
  auto flow = dir.contact_flow_id();
  auto queue = dir.queue_id();
  if (flow.empty() || queue.empty()) {
    out.reply(error_json(503, "click-to-dial is not configured: set "
                              "connect.outbound_contact_flow_id and "
                              "connect.outbound_queue_id"));
    return;
  }

  auto snap = dir.snapshot();
  if (!snap) {
    out.reply(starting());
    return;
  }
  const auto* agent = snap->find_agent(agent_id);
  if (agent == nullptr) {
    out.reply(invalid("agent", "no Connect agent with this id or username"));
    return;
  }
  const auto* target = snap->find(person_id);
  if (target == nullptr) {
    out.reply(error_json(404, "unknown person"));
    return;
  }
  if (!target->dialable()) {
    out.reply(server_response::json(
      422, R"({"error":"this person has no dialable number","reason":)" +
             json_string(target->not_dialable_reason) + "}"));
    return;
  }
  if (token.empty()) {
    token =
      derived_token(dir.tenant(), agent->agent_id, target->id, target->number);
  }

  // The attributes name the target for the contact flow and reports.
  connect::outbound_voice_contact call;
  call.instance_id = dir.instance_id();
  call.contact_flow_id = flow;
  call.queue_id = queue;
  call.destination_phone_number = target->number;
  call.client_token = token;
  call.attributes = {
    {"presync_origin", "click-to-dial"},
    {"presync_agent_id", agent->agent_id},
    {"presync_agent_username", agent->username},
    {"presync_target_person", target->id},
    {"presync_target_name", target->display_name.substr(0, 256)},
  };
  if (!target->email.empty()) {
    call.attributes["presync_target_email"] = target->email.substr(0, 256);
  }
  if (!target->extension.empty()) {
    call.attributes["presync_target_extension"] = target->extension;
  }

  auto work = [&dir, snap, agent, target, call, token, out] {
    auto contact = dir.dial(call);
    if (contact) {
      logger().info("call_started",
                    {log::kv("tenant", dir.tenant()),
                     log::kv("agent", agent->agent_id),
                     log::kv("person", target->id),
                     log::kv("number", log::mask_phone(target->number)),
                     log::kv("contact", *contact)});
    } else {
      logger().warning("call_failed",
                       {log::kv("tenant", dir.tenant()),
                        log::kv("agent", agent->agent_id),
                        log::kv("person", target->id),
                        log::kv("error", contact.err().describe())});
    }
    out.reply(call_answer(contact, *agent, *target, token));
  };
  if (ctx.blocking == nullptr) {
    work();
  } else if (!ctx.blocking->post(work)) {
    auto r = error_json(503, "too many calls in progress; try again");
    r.headers.set("Retry-After", "1");
    out.reply(r);
  }
}

// -- routing -----------------------------------------------------------------

server_response route(const api_context& ctx, const tenant_directory& dir,
                      std::string_view query) {
  params p;
  if (auto bad = params::read(query, {"number", "ext"}, p)) {
    return *bad;
  }
  auto number = p.get("number").value_or("");
  if (number.empty()) {
    return invalid("number", "required: the dialled number, e.g. "
                             "+14255550100");
  }
  if (number.size() > 64) {
    return invalid("number", "at most 64 characters");
  }
  auto ext = p.get("ext").value_or("");
  if (ext.size() > 10 || !std::all_of(ext.begin(), ext.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return invalid("ext", "expected 1 to 10 digits");
  }
  // libphonenumber first; a number it does not know but that is written
  // as E.164 still finds an entry of the mapping file.
  auto normal = graph::normalize_e164(number, ctx.default_region);
  if (!normal) {
    std::string plain;
    for (char c : number) {
      if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
        plain += c;
      }
    }
    bool e164 = plain.size() >= 8 && plain.size() <= 16 &&
                plain.front() == '+' && plain[1] != '0' &&
                std::all_of(plain.begin() + 1, plain.end(),
                            [](char c) { return c >= '0' && c <= '9'; });
    if (!e164) {
      return invalid("number", normal.err().context);
    }
    normal = graph::e164_number{plain, ""};
  }
  if (!normal->extension.empty()) {
    if (!ext.empty() && ext != normal->extension) {
      return invalid("ext", "differs from the extension in number");
    }
    ext = normal->extension;
  }

  auto snap = dir.snapshot();
  if (!snap) {
    return starting();
  }
  auto found = snap->route(normal->number, ext);
  if (found.entry == nullptr) {
    return server_response::json(
      404, R"({"error":"not found","reason":)" + json_string(found.reason) +
             R"(,"number":)" + json_string(normal->number) +
             R"(,"extension":)" + (ext.empty() ? "null" : json_string(ext)) +
             "}");
  }
  const auto& r = *found.entry;
  auto live = dir.board().state_of(r.person);
  std::string body =
    R"({"number":)" + json_string(r.number) + R"(,"extension":)" +
    (r.extension.empty() ? "null" : json_string(r.extension)) +
    R"(,"agent":{"id":)" + json_string(r.agent_id) + R"(,"arn":)" +
    json_string(r.agent_arn) + R"(,"username":)" + json_string(r.username) +
    R"(,"state":)" +
    (live.connect_state.empty() ? "null" : json_string(live.connect_state)) +
    R"(},"person":)" + json_string(r.person) + R"(,"source":)" +
    json_string(r.source) + "}";
  return server_response::json(200, std::move(body));
}

// -- dispatch ----------------------------------------------------------------

void serve_tenant(const api_context& ctx, tenant_runtime& t,
                  const server_request& req, std::string_view route_path,
                  std::string_view query, const responder& out) {
  const auto& m = req.method;
  auto reads = m == "GET" || m == "HEAD";
  if (route_path == "/identity/conflicts") {
    out.reply(reads ? conflicts(t) : method_not_allowed("GET"));
    return;
  }
  auto* found = ctx.directory_of ? ctx.directory_of(t) : nullptr;
  if (found == nullptr) {
    out.reply(error_json(503, "the directory is not available"));
    return;
  }
  auto& dir = *found;

  if (route_path == "/directory") {
    out.reply(reads ? directory(dir, query) : method_not_allowed("GET"));
  } else if (route_path == "/directory/events") {
    if (!reads) {
      out.reply(method_not_allowed("GET"));
      return;
    }
    directory_events(ctx, dir, req, query, out);
  } else if (route_path.starts_with("/people/")) {
    if (!reads) {
      out.reply(method_not_allowed("GET"));
      return;
    }
    auto id = route_path.substr(std::string_view{"/people/"}.size());
    person(dir, id, query, out);
  } else if (route_path == "/calls") {
    if (m != "POST") {
      out.reply(method_not_allowed("POST"));
      return;
    }
    place_call(ctx, dir, req, out);
  } else if (route_path == "/route") {
    out.reply(reads ? route(ctx, dir, query) : method_not_allowed("GET"));
  } else {
    out.reply(error_json(404, "not found"));
  }
}

void serve_v1(const api_context& ctx, const server_request& req,
              std::string_view path, std::string_view query,
              const responder& out) {
  // Authentication comes before any lookup.
  auto auth = req.headers.find("Authorization");
  if (!auth || !bearer_allowed(*auth, ctx.tokens)) {
    auto r = error_json(401, "missing or invalid bearer token");
    r.headers.set("WWW-Authenticate", "Bearer");
    out.reply(r);
    return;
  }
  if (path == "/v1/tenants") {
    out.reply(req.method == "GET" || req.method == "HEAD"
                ? tenant_list(ctx, query)
                : method_not_allowed("GET"));
    return;
  }
  constexpr std::string_view prefix = "/v1/tenants/";
  if (path.starts_with(prefix)) {
    auto rest = path.substr(prefix.size());
    auto slash = rest.find('/');
    auto tenant = rest.substr(0, slash);
    auto route_path = slash == std::string_view::npos ? "" : rest.substr(slash);
    for (const auto& t : *ctx.tenants) {
      if (t->id() == tenant) {
        serve_tenant(ctx, *t, req, route_path, query, out);
        return;
      }
    }
    out.reply(error_json(404, "unknown tenant"));
    return;
  }
  out.reply(error_json(404, "not found"));
}

} // namespace

// -- task_runner -------------------------------------------------------------

task_runner::task_runner(size_t threads, size_t max_queued)
  : max_queued_(max_queued) {
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      std::unique_lock lock{mutex_};
      for (;;) {
        cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) {
          return; // stopping, and nothing left
        }
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        lock.lock();
      }
    });
  }
}

task_runner::~task_runner() {
  {
    std::lock_guard guard{mutex_};
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    t.join();
  }
}

bool task_runner::post(std::function<void()> task) {
  {
    std::lock_guard guard{mutex_};
    if (stop_ || tasks_.size() >= max_queued_) {
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

// -- public functions --------------------------------------------------------

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
  // The scheme name is case-insensitive (RFC 9110 §11.1).
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) {
    return false;
  }
  for (size_t i = 0; i < scheme.size(); ++i) {
    auto c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) !=
        scheme[i]) {
      return false;
    }
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

expected<std::vector<query_param>> parse_query(std::string_view query) {
  std::vector<query_param> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (item.empty()) {
      continue;
    }
    auto eq = item.find('=');
    auto name = percent_decode(item.substr(0, eq), true);
    auto value = percent_decode(
      eq == std::string_view::npos ? "" : item.substr(eq + 1), true);
    if (!name || !value) {
      return make_error(sync_error::rejected, "bad percent-encoding");
    }
    // Names and values may be echoed in a JSON answer, which must stay
    // UTF-8; no parameter has a use for other bytes.
    if (!simdjson::validate_utf8(name->data(), name->size()) ||
        !simdjson::validate_utf8(value->data(), value->size())) {
      return make_error(sync_error::rejected, "not UTF-8 once decoded");
    }
    out.push_back({std::move(*name), std::move(*value)});
  }
  return out;
}

void serve_api(const api_context& ctx, http::server_request req,
               http::responder out) {
  std::string_view target = req.target;
  auto question = target.find('?');
  auto path = target.substr(0, question);
  auto query =
    question == std::string_view::npos ? "" : target.substr(question + 1);

  // Answers to an allowed browser origin carry the CORS headers.
  auto origin = req.headers.find("Origin");
  if (origin && origin_allowed(ctx, *origin)) {
    out = with_cors(std::move(out), std::string{*origin});
  }
  if (req.method == "OPTIONS" && path.starts_with("/v1/")) {
    out.reply(preflight(ctx, req));
    return;
  }

  if (path.starts_with("/v1/")) {
    serve_v1(ctx, req, path, query, out);
    return;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    out.reply(method_not_allowed("GET"));
    return;
  }
  if (path == "/healthz") {
    out.reply(server_response::json(200, R"({"status":"ok"})"));
  } else if (path == "/readyz") {
    out.reply(readiness(ctx, req));
  } else if (path == "/ui" || path.starts_with("/ui/")) {
    out.reply(ui_file(path));
  } else if (path == "/") {
    server_response r;
    r.status = 302;
    r.headers.set("Location", "/ui/");
    out.reply(r);
  } else {
    out.reply(error_json(404, "not found"));
  }
}

http::server_response handle_api(const api_context& ctx,
                                 const http::server_request& req) {
  auto answer = std::make_shared<std::promise<server_response>>();
  auto future = answer->get_future();
  serve_api(ctx, req, responder{[answer](server_response r) {
              answer->set_value(std::move(r));
            }});
  if (future.wait_for(std::chrono::seconds{30}) != std::future_status::ready) {
    return error_json(504, "no answer in time");
  }
  return future.get();
}

} // namespace presync::app
