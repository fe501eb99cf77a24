#include "adapters/connect/agent_event.hpp"

#include "adapters/connect/internal/json.hpp"

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
  // One document per thread: the parser keeps its buffers from one record
  // to the next instead of allocating them for every record.
  thread_local json_document d;
  json_object root;
  if (auto e = open_object(d, data, "agent event", root)) {
    return *e;
  }

  agent_event out;
  bool has_id = false;
  bool has_type = false;
  bool has_arn = false;
  bool has_time = false;
  bool has_snapshot = false;
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
      has_id = true;
    } else if (key == "EventType") {
      e = read_field(value, root_path, "EventType", out.event_type_text);
      out.event_type = event_type_from(out.event_type_text);
      has_type = true;
    } else if (key == "AgentARN") {
      e = read_field(value, root_path, "AgentARN", out.agent_arn);
      has_arn = true;
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
      has_time = true;
    } else if (key == "CurrentAgentSnapshot") {
      if (!is_null(value)) {
        snapshot_error = read_snapshot(value, out);
        has_snapshot = true;
      }
    }
    if (e) {
      return *e;
    }
  }
  if (auto e = check_end(d, "agent event")) {
    return *e;
  }

  if (!has_id || out.event_id.empty()) {
    return malformed("EventId", "missing");
  }
  if (!has_type) {
    return malformed("EventType", "missing");
  }
  if (!has_arn) {
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
  if (!has_time) {
    return malformed("EventTimestamp", "missing");
  }

  // An old defect sent LOGOUT without a snapshot (spec/connect.md §1.5):
  // logged out is all that counts then. A snapshot that is there must
  // still be well-formed.
  bool logout = out.event_type == agent_event_type::logout;
  if (!has_snapshot && !logout) {
    return malformed("CurrentAgentSnapshot", "missing");
  }
  if (snapshot_error) {
    return *snapshot_error;
  }
  out.current.logged_out = logout;
  out.effective_state = effective_state(out.current);
  return out;
}

} // namespace presync::connect
