#include "app/demo_sources.hpp"

#include "protocol/status.hpp"
#include "protocol/time.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdlib>

namespace presync::app::demo {

namespace {

namespace dom = simdjson::dom;

error bad(std::string_view what, std::string_view detail) {
  return make_error(sync_error::malformed,
                    std::string{what} + ": " + std::string{detail});
}

/// Parses `json` into `doc`; the parser must outlive every view taken.
expected<dom::element> parse(dom::parser& parser, std::string_view json,
                             std::string_view what) {
  dom::element doc;
  if (auto ec = parser.parse(json.data(), json.size()).get(doc)) {
    return bad(what, simdjson::error_message(ec));
  }
  return doc;
}

std::string text(dom::element e, const char* key) {
  std::string_view sv;
  if (e[key].get_string().get(sv) != simdjson::SUCCESS) {
    return "";
  }
  return std::string{sv};
}

std::int64_t number(dom::element e, const char* key) {
  dom::element v;
  if (e[key].get(v) != simdjson::SUCCESS) {
    return 0;
  }
  std::int64_t i = 0;
  if (v.get_int64().get(i) == simdjson::SUCCESS) {
    return i;
  }
  double d = 0;
  if (v.get_double().get(d) == simdjson::SUCCESS) {
    return static_cast<std::int64_t>(d);
  }
  return 0;
}

/// Returns the array member `key` of `e`, or an error naming `what`.
expected<dom::array> array_of(dom::element e, const char* key,
                              std::string_view what) {
  dom::array a;
  if (e[key].get_array().get(a) != simdjson::SUCCESS) {
    return bad(what, std::string{"no '"} + key + "' array");
  }
  return a;
}

std::optional<presence> pair_of(dom::element e) {
  if (e.is_null()) {
    return std::nullopt;
  }
  return presence{text(e, "availability"), text(e, "activity")};
}

} // namespace

// -- Prometheus text ----------------------------------------------------------

std::vector<metric_sample> parse_metrics(std::string_view text) {
  std::vector<metric_sample> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? "" : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }

    metric_sample s;
    const auto name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) {
      continue;
    }
    s.name = std::string{line.substr(0, name_end)};
    std::string_view rest = line.substr(name_end);
    if (rest.front() == '{') {
      // label="value" pairs; values escape \, " and newlines.
      std::size_t i = 1;
      bool ok = false;
      while (i < rest.size()) {
        if (rest[i] == '}') {
          ok = true;
          ++i;
          break;
        }
        if (rest[i] == ',' || rest[i] == ' ') {
          ++i;
          continue;
        }
        const auto eq = rest.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= rest.size() ||
            rest[eq + 1] != '"') {
          break;
        }
        std::string label{rest.substr(i, eq - i)};
        std::string value;
        std::size_t j = eq + 2;
        for (; j < rest.size() && rest[j] != '"'; ++j) {
          if (rest[j] == '\\' && j + 1 < rest.size()) {
            ++j;
            value += rest[j] == 'n' ? '\n' : rest[j];
          } else {
            value += rest[j];
          }
        }
        s.labels.emplace_back(std::move(label), std::move(value));
        i = j + 1;
      }
      if (!ok) {
        continue;
      }
      rest = rest.substr(i);
    }
    while (!rest.empty() && rest.front() == ' ') {
      rest.remove_prefix(1);
    }
    const std::string number{rest.substr(0, rest.find(' '))};
    char* end = nullptr;
    s.value = std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size()) {
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

double metric_sum(
  const std::vector<metric_sample>& samples, std::string_view name,
  const std::vector<std::pair<std::string_view, std::string_view>>& match) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name != name) {
      continue;
    }
    bool all = true;
    for (const auto& [k, v] : match) {
      bool found = false;
      for (const auto& [lk, lv] : s.labels) {
        found = found || (lk == k && lv == v);
      }
      all = all && found;
    }
    if (all) {
      sum += s.value;
    }
  }
  return sum;
}

// -- Connect emulator ---------------------------------------------------------

expected<std::vector<connect_agent>> parse_agents(std::string_view json) {
  constexpr std::string_view what = "Connect agents";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  auto agents = array_of(*doc, "agents", what);
  if (!agents) {
    return agents.err();
  }
  std::vector<connect_agent> out;
  for (dom::element a : *agents) {
    connect_agent x;
    x.id = text(a, "id");
    x.username = text(a, "username");
    x.email = text(a, "email");
    dom::element status;
    if (a["status"].get(status) == simdjson::SUCCESS) {
      x.status_name = text(status, "name");
    }
    x.state = sim::state_name(text(a, "effective_state"), x.status_name);
    if (x.id.empty()) {
      return bad(what, "an agent without 'id'");
    }
    out.push_back(std::move(x));
  }
  return out;
}

expected<std::vector<sim::connect_state_change>>
parse_events(std::string_view json, std::uint64_t& last_seq) {
  constexpr std::string_view what = "Connect events";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  auto events = array_of(*doc, "events", what);
  if (!events) {
    return events.err();
  }
  std::vector<sim::connect_state_change> out;
  for (dom::element e : *events) {
    const auto seq = number(e, "seq");
    if (seq > 0) {
      last_seq = std::max(last_seq, static_cast<std::uint64_t>(seq));
    }
    dom::element record;
    if (e["record"].get(record) != simdjson::SUCCESS) {
      return bad(what, "an event without 'record'");
    }
    const auto stamp = parse_iso8601_ms(text(record, "EventTimestamp"));
    if (!stamp) {
      return bad(what, "an event without a valid EventTimestamp");
    }

    agent_snapshot snapshot;
    snapshot.logged_out = text(record, "EventType") == "LOGOUT";
    dom::element current;
    if (record["CurrentAgentSnapshot"].get(current) == simdjson::SUCCESS) {
      dom::element status;
      if (current["AgentStatus"].get(status) == simdjson::SUCCESS) {
        snapshot.status_name = text(status, "Name");
      }
      dom::array contacts;
      if (current["Contacts"].get_array().get(contacts) == simdjson::SUCCESS) {
        for (dom::element c : contacts) {
          snapshot.contacts.push_back({text(c, "State"), text(c, "Channel")});
        }
      }
    }
    out.push_back({text(e, "agent_id"), *stamp, effective_state(snapshot)});
  }
  return out;
}

expected<std::vector<sim::status_put_record>>
parse_status_puts(std::string_view json) {
  constexpr std::string_view what = "PutUserStatus log";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  auto requests = array_of(*doc, "requests", what);
  if (!requests) {
    return requests.err();
  }
  std::vector<sim::status_put_record> out;
  for (dom::element r : *requests) {
    sim::status_put_record p;
    p.at_ms = parse_iso8601_ms(text(r, "received")).value_or(0);
    p.connect_id = text(r, "user_id");
    p.status_name = text(r, "status_name");
    p.applied = text(r, "applied");
    out.push_back(std::move(p));
  }
  return out;
}

expected<std::string> parse_contact_id(std::string_view json) {
  constexpr std::string_view what = "new contact";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  auto id = text(*doc, "contact_id");
  if (id.empty()) {
    return bad(what, "no 'contact_id'");
  }
  return id;
}

expected<bool> parse_connect_counters(std::string_view json,
                                      sim::request_counters& c) {
  constexpr std::string_view what = "Connect counters";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  dom::object ops;
  if ((*doc)["operations"].get_object().get(ops) != simdjson::SUCCESS) {
    return bad(what, "no 'operations' object");
  }
  for (auto [name, op] : ops) {
    const auto requests = number(op, "requests");
    c.connect_requests += requests;
    c.connect_throttled += number(op, "throttled");
    if (name == "PutUserStatus") {
      c.connect_put_user_status += requests;
    } else if (name == "ListAgentStatuses") {
      c.connect_list_agent_statuses += requests;
    }
  }
  return true;
}

// -- Graph emulator -----------------------------------------------------------

expected<std::string> parse_user_id(std::string_view json) {
  constexpr std::string_view what = "Graph user";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  auto id = text(*doc, "id");
  if (id.empty()) {
    return bad(what, "no 'id'");
  }
  return id;
}

expected<std::vector<sim::graph_write>> parse_writes(std::string_view json) {
  constexpr std::string_view what = "Graph writes";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  auto writes = array_of(*doc, "writes", what);
  if (!writes) {
    return writes.err();
  }
  std::vector<sim::graph_write> out;
  for (dom::element w : *writes) {
    sim::graph_write x;
    x.at_ms = number(w, "timeMs");
    x.operation = text(w, "operation");
    x.user_id = text(w, "userId");
    x.session_id = text(w, "sessionId");
    x.availability = text(w, "availability");
    x.activity = text(w, "activity");
    x.status = static_cast<int>(number(w, "status"));
    out.push_back(std::move(x));
  }
  return out;
}

expected<sim::final_presence> parse_presence(std::string_view json,
                                             std::string_view session_id) {
  constexpr std::string_view what = "Graph presence";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  sim::final_presence p;
  p.graph_id = text(*doc, "id");
  dom::element aggregate;
  if ((*doc)["aggregate"].get(aggregate) != simdjson::SUCCESS) {
    return bad(what, "no 'aggregate'");
  }
  p.aggregate = pair_of(aggregate).value_or(presence{});
  auto sessions = array_of(*doc, "sessions", what);
  if (!sessions) {
    return sessions.err();
  }
  for (dom::element s : *sessions) {
    if (!iequals(text(s, "sessionId"), session_id)) {
      continue;
    }
    p.session = presence{text(s, "availability"), text(s, "activity")};
    dom::element effective;
    if (s["effective"].get(effective) == simdjson::SUCCESS) {
      p.session_effective = pair_of(effective);
    }
  }
  return p;
}

expected<bool> parse_graph_counters(std::string_view json,
                                    sim::request_counters& c) {
  constexpr std::string_view what = "Graph counters";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  dom::object ops;
  if ((*doc)["operations"].get_object().get(ops) != simdjson::SUCCESS) {
    return bad(what, "no 'operations' object");
  }

  // Besides operations the map holds event counters; batch sub-requests
  // are counted as operations too, so they come off the request total.
  std::int64_t operations = 0;
  for (auto [name, value] : ops) {
    std::int64_t n = 0;
    if (value.get_int64().get(n) != simdjson::SUCCESS) {
      continue;
    }
    if (name == "batch") {
      c.graph_batches += n;
    } else if (name == "batch.subrequests") {
      c.graph_batch_subrequests += n;
      operations -= n;
      continue;
    } else if (name == "presence.setPresence") {
      c.graph_set_presence += n;
    } else if (name == "presence.clearPresence") {
      c.graph_clear_presence += n;
    } else if (name == "presence.getPresencesByUserId") {
      c.graph_polls += n;
    } else if (name == "throttled") {
      c.graph_throttled += n;
      continue;
    } else if (name == "injected_errors" || name == "unauthorized" ||
               name == "connection_resets" || name == "not_implemented") {
      continue;
    }
    operations += n;
  }
  c.graph_requests += std::max<std::int64_t>(0, operations);
  return true;
}

// -- both ---------------------------------------------------------------------

expected<std::int64_t> parse_clock_ms(std::string_view json) {
  constexpr std::string_view what = "emulator clock";
  dom::parser parser;
  auto doc = parse(parser, json, what);
  if (!doc) {
    return doc.err();
  }
  for (const char* key : {"now_ms", "nowMs"}) {
    if (auto n = number(*doc, key); n > 0) {
      return n;
    }
  }
  return bad(what, "no 'now_ms' or 'nowMs'");
}

std::uint16_t listening_port(std::string_view line) {
  constexpr std::string_view prefix = "listening ";
  if (!line.starts_with(prefix)) {
    return 0;
  }
  const auto colon = line.rfind(':');
  if (colon == std::string_view::npos) {
    return 0;
  }
  const auto digits = line.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] =
    std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 ||
      port > 65535) {
    return 0;
  }
  return static_cast<std::uint16_t>(port);
}

} // namespace presync::app::demo
