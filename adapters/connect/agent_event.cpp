#include "adapters/connect/agent_event.hpp"

#include "adapters/connect/internal/json.hpp"
#include "adapters/connect/internal/strict_json.hpp"

#include <utility>

namespace presync::connect {

using namespace internal;

namespace {

agent_event_type event_type_from(std::string_view text) {
  if (text == "LOGIN") {
    return agent_event_type::login;
  }
  if (text == "LOGOUT") {
    return agent_event_type::logout;
  }
  if (text == "STATE_CHANGE") {
    return agent_event_type::state_change;
  }
  if (text == "HEART_BEAT") {
    return agent_event_type::heart_beat;
  }
  return agent_event_type::unknown;
}

// Every record passes through the readers below, so they build no error
// text unless there is an error: a json_path names the object, and the
// text of a field's path is put together only when the field is wrong.

/// Where an object sits in the record: "<base>" or "<base>[<index>]".
struct json_path {
  std::string_view base;
  std::optional<size_t> index;

  /// Returns the path's text followed by `field`.
  std::string text(std::string_view field = {}) const {
    std::string out{base};
    if (index) {
      out += '[';
      out += std::to_string(*index);
      out += ']';
    }
    out.append(field);
    return out;
  }
};

/// Reads the string `field` of the object at `where` into `out`.
std::optional<error> read_field(json_value& v, const json_path& where,
                                std::string_view field, std::string& out) {
  std::string_view text;
  if (auto code = v.get_string().get(text)) {
    return string_error(where.text(field), code);
  }
  out.assign(text);
  return std::nullopt;
}

/// Reads the next member of an object: its key and its value. A key
/// without escapes (every key Connect sends) is its raw text; only one
/// with escapes is unescaped, which gives the same text.
std::optional<error> read_member(simdjson::simdjson_result<json_field> member,
                                 const json_path& where, std::string_view& key,
                                 json_value& value) {
  json_field field;
  if (auto code = std::move(member).get(field)) {
    return invalid_json(where.text(), code);
  }
  const char* raw = field.key().raw();
  size_t n = 0;
  while (raw[n] != '"' && raw[n] != '\\') {
    ++n;
  }
  if (raw[n] == '"') {
    key = std::string_view{raw, n};
  } else if (auto code = field.unescaped_key().get(key)) {
    return invalid_json(where.text(), code);
  }
  value = std::move(field).value();
  return std::nullopt;
}

std::optional<error> read_contact(json_value& v, const json_path& where,
                                  contact_view& out) {
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where.text(), "not an object");
  }
  bool has_state = false;
  bool has_channel = false;
  for (auto member : obj) {
    std::string_view key;
    json_value value;
    if (auto e = read_member(std::move(member), where, key, value)) {
      return e;
    }
    if (key == "State") {
      if (auto e = read_field(value, where, ".State", out.state)) {
        return e;
      }
      has_state = true;
    } else if (key == "Channel") {
      if (auto e = read_field(value, where, ".Channel", out.channel)) {
        return e;
      }
      has_channel = true;
    }
  }
  if (!has_state) {
    return malformed(where.text(".State"), "missing");
  }
  if (!has_channel) {
    return malformed(where.text(".Channel"), "missing");
  }
  return std::nullopt;
}

std::optional<error> read_agent_status(json_value& v, const json_path& where,
                                       agent_event& out) {
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where.text(), "not an object");
  }
  bool has_name = false;
  for (auto member : obj) {
    std::string_view key;
    json_value value;
    if (auto e = read_member(std::move(member), where, key, value)) {
      return e;
    }
    if (key == "Name") {
      if (auto e = read_field(value, where, ".Name", out.current.status_name)) {
        return e;
      }
      has_name = true;
    } else if (key == "ARN") {
      if (auto e = read_field(value, where, ".ARN", out.status_arn)) {
        return e;
      }
    } else if (key == "Type") {
      if (auto e = read_field(value, where, ".Type", out.status_type)) {
        return e;
      }
    }
  }
  if (!has_name) {
    return malformed(where.text(".Name"), "missing");
  }
  return std::nullopt;
}

std::optional<error> read_next_status(json_value& v, const json_path& where,
                                      agent_event& out) {
  if (is_null(v)) {
    return std::nullopt;
  }
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where.text(), "not an object");
  }
  for (auto member : obj) {
    std::string_view key;
    json_value value;
    if (auto e = read_member(std::move(member), where, key, value)) {
      return e;
    }
    if (key == "Name") {
      std::string name;
      if (auto e = read_field(value, where, ".Name", name)) {
        return e;
      }
      out.next_status = std::move(name);
    }
  }
  if (!out.next_status) {
    return malformed(where.text(".Name"), "missing");
  }
  return std::nullopt;
}

std::optional<error> read_configuration(json_value& v, const json_path& where,
                                        agent_event& out) {
  if (is_null(v)) {
    return std::nullopt;
  }
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where.text(), "not an object");
  }
  for (auto member : obj) {
    std::string_view key;
    json_value value;
    if (auto e = read_member(std::move(member), where, key, value)) {
      return e;
    }
    if (key == "Username") {
      if (auto e = read_field(value, where, ".Username", out.username)) {
        return e;
      }
    }
  }
  return std::nullopt;
}

std::optional<error> read_contacts(json_value& v, agent_event& out) {
  constexpr std::string_view where = "CurrentAgentSnapshot.Contacts";
  if (is_null(v)) {
    return std::nullopt;
  }
  json_array contacts;
  if (v.get_array().get(contacts)) {
    return malformed(where, "not an array");
  }
  size_t index = 0;
  for (auto item : contacts) {
    json_path item_where{where, index++};
    json_value contact;
    if (auto code = item.get(contact)) {
      return invalid_json(item_where.text(), code);
    }
    contact_view c;
    if (auto e = read_contact(contact, item_where, c)) {
      return e;
    }
    out.current.contacts.push_back(std::move(c));
  }
  return std::nullopt;
}

std::optional<error> read_snapshot(json_value& v, agent_event& out) {
  const json_path where{"CurrentAgentSnapshot", std::nullopt};
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where.text(), "not an object");
  }
  bool has_status = false;
  bool has_contacts = false;
  for (auto member : obj) {
    std::string_view key;
    json_value value;
    if (auto e = read_member(std::move(member), where, key, value)) {
      return e;
    }
    std::optional<error> e;
    if (key == "AgentStatus") {
      e = read_agent_status(
        value, {"CurrentAgentSnapshot.AgentStatus", std::nullopt}, out);
      has_status = true;
    } else if (key == "NextAgentStatus") {
      e = read_next_status(
        value, {"CurrentAgentSnapshot.NextAgentStatus", std::nullopt}, out);
    } else if (key == "Configuration") {
      e = read_configuration(
        value, {"CurrentAgentSnapshot.Configuration", std::nullopt}, out);
    } else if (key == "Contacts") {
      has_contacts = true;
      e = read_contacts(value, out);
    }
    if (e) {
      return e;
    }
  }
  if (!has_status) {
    return malformed(where.text(".AgentStatus"), "missing");
  }
  if (!has_contacts) {
    return malformed(where.text(".Contacts"), "missing");
  }
  return std::nullopt;
}

/// Which top-level fields a record had.
struct seen_fields {
  bool id = false;
  bool type = false;
  bool arn = false;
  bool time = false;
  bool snapshot = false;
};

/// Checks what both readers read the same way and derives the rest:
/// UserId, a missing InstanceARN, the effective state.
std::optional<error> complete(agent_event& out, const seen_fields& seen,
                              const std::optional<error>& snapshot_error) {
  if (!seen.id || out.event_id.empty()) {
    return malformed("EventId", "missing");
  }
  if (!seen.type) {
    return malformed("EventType", "missing");
  }
  if (!seen.arn) {
    return malformed("AgentARN", "missing");
  }
  auto marker = out.agent_arn.find("/agent/");
  out.user_id = std::string{arn_last_segment(out.agent_arn)};
  if (marker == std::string::npos || out.user_id.empty() ||
      out.agent_arn.rfind('/') != marker + 6) {
    return malformed("AgentARN", "not an agent ARN (…/agent/<UserId>)");
  }
  if (out.instance_arn.empty()) {
    out.instance_arn = out.agent_arn.substr(0, marker);
  }
  if (!seen.time) {
    return malformed("EventTimestamp", "missing");
  }

  // An old defect sent LOGOUT without a snapshot (spec/connect.md §1.5):
  // logged out is all that counts then. A snapshot that is there must
  // still be well-formed.
  bool logout = out.event_type == agent_event_type::logout;
  if (!seen.snapshot && !logout) {
    return malformed("CurrentAgentSnapshot", "missing");
  }
  if (snapshot_error) {
    return snapshot_error;
  }
  out.current.logged_out = logout;
  out.effective_state = effective_state(out.current);
  return std::nullopt;
}

/// Reads a record with simdjson On-Demand, naming the field of any error.
expected<agent_event> read_on_demand(std::string_view data) {
  // One document per thread: the parser keeps its buffers from one record
  // to the next instead of allocating them for every record.
  thread_local json_document d;
  json_object root;
  if (auto e = open_object(d, data, "agent event", root)) {
    return *e;
  }

  agent_event out;
  seen_fields seen;
  std::optional<error> snapshot_error;
  const json_path top{"agent event", std::nullopt};
  const json_path root_path{};
  for (auto member : root) {
    std::string_view key;
    json_value value;
    if (auto e = read_member(std::move(member), top, key, value)) {
      return *e;
    }
    std::optional<error> e;
    if (key == "EventId") {
      e = read_field(value, root_path, "EventId", out.event_id);
      seen.id = true;
    } else if (key == "EventType") {
      e = read_field(value, root_path, "EventType", out.event_type_text);
      out.event_type = event_type_from(out.event_type_text);
      seen.type = true;
    } else if (key == "AgentARN") {
      e = read_field(value, root_path, "AgentARN", out.agent_arn);
      seen.arn = true;
    } else if (key == "InstanceARN") {
      e = read_field(value, root_path, "InstanceARN", out.instance_arn);
    } else if (key == "EventTimestamp") {
      std::string_view text;
      if (auto code = value.get_string().get(text)) {
        e = string_error("EventTimestamp", code);
      } else if (auto ms = parse_iso8601_ms(text)) {
        out.timestamp_ms = *ms;
      } else {
        e = malformed("EventTimestamp", "not an ISO-8601 time");
      }
      seen.time = true;
    } else if (key == "CurrentAgentSnapshot") {
      if (!is_null(value)) {
        snapshot_error = read_snapshot(value, out);
        seen.snapshot = true;
      }
    }
    if (e) {
      return *e;
    }
  }
  if (auto e = check_end(d, "agent event")) {
    return *e;
  }
  if (auto e = complete(out, seen, snapshot_error)) {
    return *e;
  }
  return out;
}

// -- the fast path ----------------------------------------------------------
//
// Nearly every record is valid JSON without escapes. The readers below take
// such a record in one pass over its bytes (strict_json_reader) and give up
// on anything else: JSON that is not strict, an escape in a key or in a
// string they keep, a field that would be an error. read_on_demand() then
// reads the record again and gives the answer or names the error. On
// strict JSON both see the same members in the same order, and the fast
// readers follow read_on_demand() step by step (a repeated member is read
// again, Contacts are appended), so both give the same event.

bool fast_string(strict_json_reader& r, std::string& out) {
  std::string_view text;
  if (!r.read_string(text)) {
    return false;
  }
  out.assign(text);
  return true;
}

bool fast_contact(strict_json_reader& r, contact_view& out) {
  if (!r.begin_object()) {
    return false;
  }
  bool has_state = false;
  bool has_channel = false;
  bool first = true;
  for (;;) {
    bool done = false;
    std::string_view key;
    if (!r.next_member(first, done, key)) {
      return false;
    }
    if (done) {
      return has_state && has_channel;
    }
    bool ok = true;
    if (key == "State") {
      ok = fast_string(r, out.state);
      has_state = true;
    } else if (key == "Channel") {
      ok = fast_string(r, out.channel);
      has_channel = true;
    } else {
      ok = r.skip_value();
    }
    if (!ok) {
      return false;
    }
  }
}

bool fast_agent_status(strict_json_reader& r, agent_event& out) {
  if (!r.begin_object()) {
    return false;
  }
  bool has_name = false;
  bool first = true;
  for (;;) {
    bool done = false;
    std::string_view key;
    if (!r.next_member(first, done, key)) {
      return false;
    }
    if (done) {
      return has_name;
    }
    bool ok = true;
    if (key == "Name") {
      ok = fast_string(r, out.current.status_name);
      has_name = true;
    } else if (key == "ARN") {
      ok = fast_string(r, out.status_arn);
    } else if (key == "Type") {
      ok = fast_string(r, out.status_type);
    } else {
      ok = r.skip_value();
    }
    if (!ok) {
      return false;
    }
  }
}

bool fast_next_status(strict_json_reader& r, agent_event& out) {
  if (r.take_null()) {
    return true;
  }
  if (!r.begin_object()) {
    return false;
  }
  bool first = true;
  for (;;) {
    bool done = false;
    std::string_view key;
    if (!r.next_member(first, done, key)) {
      return false;
    }
    if (done) {
      return out.next_status.has_value();
    }
    bool ok = true;
    if (key == "Name") {
      std::string name;
      ok = fast_string(r, name);
      out.next_status = std::move(name);
    } else {
      ok = r.skip_value();
    }
    if (!ok) {
      return false;
    }
  }
}

bool fast_configuration(strict_json_reader& r, agent_event& out) {
  if (r.take_null()) {
    return true;
  }
  if (!r.begin_object()) {
    return false;
  }
  bool first = true;
  for (;;) {
    bool done = false;
    std::string_view key;
    if (!r.next_member(first, done, key)) {
      return false;
    }
    if (done) {
      return true;
    }
    bool ok = key == "Username" ? fast_string(r, out.username) : r.skip_value();
    if (!ok) {
      return false;
    }
  }
}

bool fast_contacts(strict_json_reader& r, agent_event& out) {
  if (r.take_null()) {
    return true;
  }
  if (!r.begin_array()) {
    return false;
  }
  bool first = true;
  for (;;) {
    bool done = false;
    if (!r.next_element(first, done)) {
      return false;
    }
    if (done) {
      return true;
    }
    contact_view c;
    if (!fast_contact(r, c)) {
      return false;
    }
    out.current.contacts.push_back(std::move(c));
  }
}

bool fast_snapshot(strict_json_reader& r, agent_event& out) {
  if (!r.begin_object()) {
    return false;
  }
  bool has_status = false;
  bool has_contacts = false;
  bool first = true;
  for (;;) {
    bool done = false;
    std::string_view key;
    if (!r.next_member(first, done, key)) {
      return false;
    }
    if (done) {
      return has_status && has_contacts;
    }
    bool ok = true;
    if (key == "AgentStatus") {
      ok = fast_agent_status(r, out);
      has_status = true;
    } else if (key == "NextAgentStatus") {
      ok = fast_next_status(r, out);
    } else if (key == "Configuration") {
      ok = fast_configuration(r, out);
    } else if (key == "Contacts") {
      has_contacts = true;
      ok = fast_contacts(r, out);
    } else {
      ok = r.skip_value();
    }
    if (!ok) {
      return false;
    }
  }
}

/// Reads a record into `out` if it is strict JSON and a valid event;
/// returns false otherwise, leaving `out` half-filled.
bool read_fast(std::string_view data, agent_event& out) {
  // Far beyond a Kinesis record (1 MB); simdjson has limits there.
  constexpr size_t max_size = size_t{1} << 24;
  strict_json_reader r{data};
  if (data.size() > max_size || !r.begin_object()) {
    return false;
  }
  seen_fields seen;
  bool first = true;
  for (;;) {
    bool done = false;
    std::string_view key;
    if (!r.next_member(first, done, key)) {
      return false;
    }
    if (done) {
      break;
    }
    bool ok = true;
    if (key == "EventId") {
      ok = fast_string(r, out.event_id);
      seen.id = true;
    } else if (key == "EventType") {
      ok = fast_string(r, out.event_type_text);
      out.event_type = event_type_from(out.event_type_text);
      seen.type = true;
    } else if (key == "AgentARN") {
      ok = fast_string(r, out.agent_arn);
      seen.arn = true;
    } else if (key == "InstanceARN") {
      ok = fast_string(r, out.instance_arn);
    } else if (key == "EventTimestamp") {
      std::string_view text;
      std::optional<int64_t> ms;
      ok = r.read_string(text) && (ms = parse_iso8601_ms(text));
      out.timestamp_ms = ms.value_or(out.timestamp_ms);
      seen.time = true;
    } else if (key == "CurrentAgentSnapshot") {
      if (!r.take_null()) {
        ok = fast_snapshot(r, out);
        seen.snapshot = true;
      }
    } else {
      ok = r.skip_value();
    }
    if (!ok) {
      return false;
    }
  }
  return r.at_valid_end(data) && !complete(out, seen, std::nullopt);
}

} // namespace

std::string_view to_string(agent_event_type t) {
  switch (t) {
  case agent_event_type::login:
    return "LOGIN";
  case agent_event_type::logout:
    return "LOGOUT";
  case agent_event_type::state_change:
    return "STATE_CHANGE";
  case agent_event_type::heart_beat:
    return "HEART_BEAT";
  case agent_event_type::unknown:
    break;
  }
  return "UNKNOWN";
}

std::string_view arn_last_segment(std::string_view arn) {
  auto slash = arn.rfind('/');
  if (slash == std::string_view::npos) {
    return {};
  }
  return arn.substr(slash + 1);
}

expected<agent_event> parse_agent_event(std::string_view data) {
  agent_event out;
  if (read_fast(data, out)) {
    return out;
  }
  return read_on_demand(data);
}

} // namespace presync::connect
