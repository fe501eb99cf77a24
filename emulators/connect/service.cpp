#include "emulators/connect/service.hpp"

#include "emulators/connect/util.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <regex>

namespace presync::connect_emulator {

namespace {

using simdjson::dom::element;

// -- request parsing ----------------------------------------------------------

struct target_parts {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};

std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(
        std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

target_parts split_target(std::string_view target) {
  target_parts parts;
  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  std::size_t pos = 0;
  while (pos < path.size()) {
    const std::size_t next = std::min(path.find('/', pos), path.size());
    if (next > pos) {
      parts.segments.push_back(url_decode(path.substr(pos, next - pos)));
    }
    pos = next + 1;
  }
  if (q != std::string_view::npos) {
    const std::string_view query = target.substr(q + 1);
    pos = 0;
    while (pos < query.size()) {
      const std::size_t next = std::min(query.find('&', pos), query.size());
      const std::string_view item = query.substr(pos, next - pos);
      const std::size_t eq = item.find('=');
      if (!item.empty()) {
        parts.query.emplace_back(
          url_decode(item.substr(0, eq)),
          eq == std::string_view::npos ? "" : url_decode(item.substr(eq + 1)));
      }
      pos = next + 1;
    }
  }
  return parts;
}

std::optional<std::string> query_value(const target_parts& t,
                                       std::string_view name) {
  for (const auto& [k, v] : t.query) {
    if (k == name) {
      return v;
    }
  }
  return std::nullopt;
}

// A parsed JSON body; an empty body reads as an empty object.
struct json_body {
  simdjson::dom::parser parser;
  element root;
  std::string error;

  bool parse(const std::string& body) {
    const std::string text = body.empty() ? std::string("{}") : body;
    if (auto err = parser.parse(text).get(root); err) {
      error = std::string("request body is not valid JSON: ") +
              simdjson::error_message(err);
      return false;
    }
    if (!root.is_object()) {
      error = "request body must be a JSON object";
      return false;
    }
    return true;
  }
};

bool has(element obj, const char* key) {
  return obj[key].error() != simdjson::NO_SUCH_FIELD;
}

// Reads an optional string field; sets `error` when present but not a string.
std::optional<std::string> str_field(element obj, const char* key,
                                     std::string& error) {
  if (!has(obj, key)) {
    return std::nullopt;
  }
  std::string_view value;
  if (obj[key].get_string().get(value)) {
    error = std::string("field '") + key + "' must be a string";
    return std::nullopt;
  }
  return std::string(value);
}

std::optional<double> num_field(element obj, const char* key,
                                std::string& error) {
  if (!has(obj, key)) {
    return std::nullopt;
  }
  double value = 0;
  if (obj[key].get_double().get(value)) {
    error = std::string("field '") + key + "' must be a number";
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<std::string>>
str_list_field(element obj, const char* key, std::string& error) {
  if (!has(obj, key)) {
    return std::nullopt;
  }
  simdjson::dom::array arr;
  if (obj[key].get_array().get(arr)) {
    error = std::string("field '") + key + "' must be a list of strings";
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (element item : arr) {
    std::string_view value;
    if (item.get_string().get(value)) {
      error = std::string("field '") + key + "' must be a list of strings";
      return std::nullopt;
    }
    out.emplace_back(value);
  }
  return out;
}

// -- responses ---------------------------------------------------------------

http_response json_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

http_response aws_error(int status, std::string_view code,
                        std::string_view message) {
  json_out j;
  j.begin_object().key("Message").string(message).end_object();
  http_response r = json_response(status, j.str());
  r.headers.emplace_back("x-amzn-ErrorType", std::string(code));
  return r;
}

http_response control_error(int status, std::string_view message) {
  json_out j;
  j.begin_object().key("error").string(message).end_object();
  return json_response(status, j.str());
}

std::string page_token(std::string_view kind, std::size_t offset) {
  return base64_encode(std::string(kind) + ":" + std::to_string(offset));
}

// Decodes a page token of `kind`; nothing when it is not one of ours.
std::optional<std::size_t> read_token(std::string_view kind,
                                      std::string_view token) {
  const auto text = base64_decode(token);
  const std::string prefix = std::string(kind) + ":";
  if (!text || !text->starts_with(prefix)) {
    return std::nullopt;
  }
  const std::string digits = text->substr(prefix.size());
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(std::stoul(digits));
}

struct page {
  std::size_t offset = 0;
  std::size_t size = 0;
};

// Reads paging input; returns an error response on bad values.
std::optional<http_response>
read_page(std::string_view kind, std::optional<std::string> token,
          std::optional<std::string> max_text, std::optional<double> max_number,
          std::size_t limit, std::size_t dflt, page& out) {
  out.size = dflt;
  if (max_text) {
    const bool digits =
      !max_text->empty() && max_text->size() < 8 &&
      std::all_of(max_text->begin(), max_text->end(),
                  [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      return aws_error(400, "InvalidParameterException",
                       "maxResults must be a whole number");
    }
    max_number = std::stod(*max_text);
  }
  if (max_number) {
    if (*max_number < 1 || *max_number > static_cast<double>(limit) ||
        std::floor(*max_number) != *max_number) {
      return aws_error(400, "InvalidParameterException",
                       "MaxResults must be between 1 and " +
                         std::to_string(limit));
    }
    out.size = static_cast<std::size_t>(*max_number);
  }
  if (token) {
    const auto offset = read_token(kind, *token);
    if (!offset) {
      return aws_error(400, "InvalidParameterException",
                       "NextToken is not valid for this operation");
    }
    out.offset = *offset;
  }
  return std::nullopt;
}

bool is_e164(std::string_view number) {
  static const std::regex pattern{R"(\+[1-9][0-9]{1,14})"};
  return std::regex_match(number.begin(), number.end(), pattern);
}

void write_contact_control(json_out& j, const contact& c) {
  j.begin_object();
  j.key("contact_id").string(c.id);
  j.key("channel").string(c.channel);
  j.key("initiation").string(c.initiation);
  j.key("state").string(c.state);
  j.key("state_start").string(iso_ms(c.state_start_ms));
  j.key("queue_id").string(c.queue_id);
  j.end_object();
}

} // namespace

service::service(model& m, service_config cfg)
  : model_(m), cfg_(std::move(cfg)) {}

void service::set_sink(event_sink sink, std::string description) {
  sink_ = std::move(sink);
  sink_description_ = std::move(description);
}

void service::tick() {
  model_.tick();
  deliver();
}

void service::deliver() {
  const auto& events = model_.events();
  if (!sink_ || delivered_ >= events.size()) {
    return;
  }
  std::vector<std::string> records;
  std::vector<std::string> keys;
  for (std::size_t i = delivered_; i < events.size(); ++i) {
    records.push_back(events[i].json);
    const agent* a = model_.find_agent(events[i].agent_id);
    keys.push_back(a ? model_.agent_arn(*a) : events[i].agent_id);
  }
  ++put_requests_;
  std::string why;
  if (sink_(records, keys, why)) {
    delivered_ = events.size();
  } else {
    // Kept in order; the next request or tick retries them.
    ++put_failures_;
    last_sink_error_ = why;
  }
}

bool service::take_token() {
  if (knobs_.throttle_rps <= 0) {
    return true;
  }
  const double burst =
    knobs_.throttle_burst > 0 ? knobs_.throttle_burst : knobs_.throttle_rps;
  const std::int64_t now = model_.now_ms();
  if (tokens_at_ms_ == 0) {
    tokens_ = burst;
  } else {
    const double gained =
      static_cast<double>(now - tokens_at_ms_) / 1000.0 * knobs_.throttle_rps;
    tokens_ = std::min(burst, tokens_ + std::max(0.0, gained));
  }
  tokens_at_ms_ = now;
  if (tokens_ < 1.0) {
    return false;
  }
  tokens_ -= 1.0;
  return true;
}

http_response service::handle(const sigv4::request& req, bool loopback_peer) {
  http_response r;
  const std::string_view target = req.target;
  if (target.starts_with("/_control/") || target == "/_control") {
    r = loopback_peer
          ? handle_control(req)
          : control_error(403, "the control API answers loopback peers only");
  } else {
    r = handle_rest(req);
    r.headers.emplace_back("x-amzn-RequestId", model_.make_uuid());
    if (knobs_.latency_ms > 0) {
      r.delay_ms = knobs_.latency_ms;
    }
  }
  deliver();
  return r;
}

// -- REST operations ---------------------------------------------------------
// -----------------------------------------------------------

namespace {

// ListUsers: GET /users-summary/{InstanceId}, paged.
http_response list_users(model& m, const target_parts& t) {
  page p;
  if (auto bad =
        read_page("users", query_value(t, "nextToken"),
                  query_value(t, "maxResults"), std::nullopt, 1000, 100, p)) {
    return (*bad);
  }
  const auto& agents = m.agents();
  json_out j;
  j.begin_object().key("UserSummaryList").begin_array();
  const std::size_t end = std::min(agents.size(), p.offset + p.size);
  for (std::size_t i = p.offset; i < end; ++i) {
    const agent& a = agents[i];
    j.begin_object();
    j.key("Id").string(a.id);
    j.key("Arn").string(m.agent_arn(a));
    j.key("Username").string(a.username);
    j.key("LastModifiedTime").epoch_seconds(a.modified_ms);
    j.key("LastModifiedRegion").string(m.config().region);
    j.end_object();
  }
  j.end_array();
  if (end < agents.size()) {
    j.key("NextToken").string(page_token("users", end));
  }
  j.end_object();
  return json_response(200, j.str());
}

// DescribeUser: GET /users/{InstanceId}/{UserId}.
http_response describe_user(model& m, const target_parts& t) {
  const auto& s = t.segments;
  const agent* a = m.find_agent(s[2]);
  if (!a || a->id != s[2]) {
    return (
      aws_error(404, "ResourceNotFoundException", "User not found: " + s[2]));
  }
  json_out j;
  j.begin_object().key("User").begin_object();
  j.key("Id").string(a->id);
  j.key("Arn").string(m.agent_arn(*a));
  j.key("Username").string(a->username);
  j.key("IdentityInfo").begin_object();
  j.key("FirstName").string(a->first_name);
  j.key("LastName").string(a->last_name);
  j.key("Email").string(a->email);
  j.key("Mobile").string(a->did);
  j.end_object();
  j.key("PhoneConfig").begin_object();
  j.key("PhoneType").string(a->phone_type);
  j.key("AutoAccept").boolean(false);
  j.key("AfterContactWorkTimeLimit").number(std::int64_t{a->acw_limit_s});
  if (a->phone_type == "DESK_PHONE") {
    j.key("DeskPhoneNumber").string(a->did);
  }
  j.end_object();
  j.key("DirectoryUserId").string(a->id);
  j.key("SecurityProfileIds").begin_array();
  j.string("88888888-8888-4888-8888-888888888888").end_array();
  j.key("RoutingProfileId").string(m.routing_profile_id());
  j.key("HierarchyGroupId").string(model::group2_id);
  j.key("Tags").begin_object().end_object();
  j.key("AutoAcceptConfigs").begin_array().begin_object();
  j.key("Channel").string("VOICE").key("AutoAccept").boolean(false);
  j.end_object().end_array();
  j.key("AfterContactWorkConfigs").begin_array().begin_object();
  j.key("Channel").string("VOICE");
  j.key("AfterContactWorkConfig").begin_object();
  j.key("AfterContactWorkTimeLimit").number(std::int64_t{a->acw_limit_s});
  j.end_object().end_object().end_array();
  j.key("PhoneNumberConfigs").begin_array().begin_object();
  j.key("Channel").string("VOICE").key("PhoneType").string(a->phone_type);
  if (a->phone_type == "DESK_PHONE") {
    j.key("PhoneNumber").string(a->did);
  }
  j.end_object().end_array();
  j.key("LastModifiedTime").epoch_seconds(a->modified_ms);
  j.key("LastModifiedRegion").string(m.config().region);
  j.end_object().end_object();
  return json_response(200, j.str());
}

// ListAgentStatuses and DescribeAgentStatus: GET /agent-status/....
http_response agent_statuses(model& m, const target_parts& t, bool describe) {
  const auto& s = t.segments;
  const auto& statuses = m.statuses();
  if (describe) {
    const auto it =
      std::find_if(statuses.begin(), statuses.end(),
                   [&](const status_def& d) { return d.id == s[2]; });
    if (it == statuses.end()) {
      return (aws_error(404, "ResourceNotFoundException",
                        "Agent status not found: " + s[2]));
    }
    json_out j;
    j.begin_object().key("AgentStatus").begin_object();
    j.key("AgentStatusARN").string(m.status_arn(*it));
    j.key("AgentStatusId").string(it->id);
    j.key("Name").string(it->name);
    j.key("Description").string(it->name);
    j.key("Type").string(it->type);
    j.key("DisplayOrder")
      .number(static_cast<std::int64_t>(it - statuses.begin() + 1));
    j.key("State").string("ENABLED");
    j.key("Tags").begin_object().end_object();
    j.key("LastModifiedTime").epoch_seconds(1735689600000);
    j.key("LastModifiedRegion").string(m.config().region);
    j.end_object().end_object();
    return json_response(200, j.str());
  }
  std::vector<std::string> types;
  for (const auto& [k, val] : t.query) {
    if (k == "AgentStatusTypes") {
      if (val != "ROUTABLE" && val != "CUSTOM" && val != "OFFLINE") {
        return (aws_error(400, "InvalidParameterException",
                          "AgentStatusTypes must be ROUTABLE, CUSTOM "
                          "or OFFLINE, not '" +
                            val + "'"));
      }
      types.push_back(val);
    }
  }
  std::vector<const status_def*> chosen;
  for (const auto& d : statuses) {
    if (types.empty() ||
        std::find(types.begin(), types.end(), d.type) != types.end()) {
      chosen.push_back(&d);
    }
  }
  page p;
  if (auto bad =
        read_page("statuses", query_value(t, "nextToken"),
                  query_value(t, "maxResults"), std::nullopt, 1000, 100, p)) {
    return (*bad);
  }
  json_out j;
  j.begin_object().key("AgentStatusSummaryList").begin_array();
  const std::size_t end = std::min(chosen.size(), p.offset + p.size);
  for (std::size_t i = p.offset; i < end; ++i) {
    const status_def& d = *chosen[i];
    j.begin_object();
    j.key("Id").string(d.id);
    j.key("Arn").string(m.status_arn(d));
    j.key("Name").string(d.name);
    j.key("Type").string(d.type);
    j.key("LastModifiedTime")
      .epoch_seconds(1735689600000 + static_cast<std::int64_t>(i) * 3600000);
    j.key("LastModifiedRegion").string(m.config().region);
    j.end_object();
  }
  j.end_array();
  if (end < chosen.size()) {
    j.key("NextToken").string(page_token("statuses", end));
  }
  j.end_object();
  return json_response(200, j.str());
}

// PutUserStatus: PUT /users/{InstanceId}/{UserId}/status.
http_response put_user_status(model& m, const target_parts& t, element root) {
  const auto& s = t.segments;
  std::string error;
  const auto status_id = str_field(root, "AgentStatusId", error);
  if (!error.empty() || !status_id) {
    return (aws_error(400, "InvalidRequestException",
                      error.empty() ? "AgentStatusId is required" : error));
  }
  const agent* a = m.find_agent(s[2]);
  if (!a || a->id != s[2]) {
    return (
      aws_error(404, "ResourceNotFoundException", "User not found: " + s[2]));
  }
  const auto& statuses = m.statuses();
  const auto it =
    std::find_if(statuses.begin(), statuses.end(),
                 [&](const status_def& d) { return d.id == *status_id; });
  if (it == statuses.end()) {
    return (aws_error(404, "ResourceNotFoundException",
                      "Agent status not found: " + *status_id));
  }
  std::string applied;
  if (auto bad = m.set_status(
        s[2], static_cast<std::size_t>(it - statuses.begin()), applied)) {
    return (aws_error(bad->status, bad->code, bad->message));
  }
  m.status_puts().push_back({s[2], *status_id, it->name, applied, m.now_ms()});
  http_response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

// GetCurrentUserData: POST /metrics/userdata/{InstanceId}.
http_response get_current_user_data(model& m, element root) {
  std::string error;
  if (!has(root, "Filters")) {
    return (aws_error(400, "InvalidRequestException", "Filters is required"));
  }
  element filters = root["Filters"];
  if (!filters.is_object()) {
    return (
      aws_error(400, "InvalidRequestException", "Filters must be an object"));
  }
  static constexpr const char* kinds[] = {"Queues", "RoutingProfiles", "Agents",
                                          "UserHierarchyGroups"};
  std::string kind;
  std::vector<std::string> wanted;
  for (const char* k : kinds) {
    if (auto list = str_list_field(filters, k, error)) {
      if (!kind.empty()) {
        return (aws_error(400, "InvalidRequestException",
                          "Filters must hold exactly one of Queues, "
                          "RoutingProfiles, Agents, "
                          "UserHierarchyGroups"));
      }
      kind = k;
      wanted = std::move(*list);
    }
  }
  if (!error.empty()) {
    return (aws_error(400, "InvalidParameterException", error));
  }
  if (kind.empty()) {
    return (aws_error(400, "InvalidRequestException",
                      "Filters must hold one of Queues, "
                      "RoutingProfiles, Agents, UserHierarchyGroups"));
  }
  if (wanted.size() > 100 || wanted.empty()) {
    return (aws_error(400, "InvalidParameterException",
                      "Filters." + kind + " must hold 1 to 100 items"));
  }
  std::vector<std::string> states;
  if (has(filters, "ContactFilter")) {
    element cf = filters["ContactFilter"];
    if (auto list = str_list_field(cf, "ContactStates", error)) {
      states = std::move(*list);
    }
    if (!error.empty()) {
      return (
        aws_error(400, "InvalidParameterException", "ContactFilter: " + error));
    }
  }
  page p;
  const auto max = num_field(root, "MaxResults", error);
  const auto token = str_field(root, "NextToken", error);
  if (!error.empty()) {
    return (aws_error(400, "InvalidParameterException", error));
  }
  if (auto bad = read_page("userdata", token, std::nullopt, max, 100, 100, p)) {
    return (*bad);
  }

  auto listed = [&](std::string_view id, std::string_view arn) {
    return std::find(wanted.begin(), wanted.end(), id) != wanted.end() ||
           std::find(wanted.begin(), wanted.end(), arn) != wanted.end();
  };
  std::vector<const agent*> matches;
  for (const agent& a : m.agents()) {
    // Logged-out agents are left out (spec 2.2 leaves this open).
    if (!a.logged_in) {
      continue;
    }
    bool match = false;
    if (kind == "Agents") {
      match = listed(a.id, m.agent_arn(a));
    } else if (kind == "Queues") {
      match =
        listed(model::inbound_queue_id, m.queue_arn(model::inbound_queue_id)) ||
        listed("agent/" + a.id, m.instance_arn() + "/queue/agent/" + a.id);
    } else if (kind == "RoutingProfiles") {
      match = listed(m.routing_profile_id(), m.routing_profile_arn());
    } else {
      match = listed(model::group1_id, m.group_arn(model::group1_id)) ||
              listed(model::group2_id, m.group_arn(model::group2_id));
    }
    if (match && !states.empty()) {
      match = std::any_of(a.contacts.begin(), a.contacts.end(), [&](auto& c) {
        return std::find(states.begin(), states.end(), c.state) != states.end();
      });
    }
    if (match) {
      matches.push_back(&a);
    }
  }

  json_out j;
  j.begin_object().key("UserDataList").begin_array();
  const std::size_t end = std::min(matches.size(), p.offset + p.size);
  for (std::size_t i = p.offset; i < end; ++i) {
    const agent& a = *matches[i];
    const status_def& st = m.statuses()[a.status];
    const bool voice =
      std::any_of(a.contacts.begin(), a.contacts.end(),
                  [](auto& c) { return c.channel == "VOICE"; });
    j.begin_object();
    j.key("User").begin_object().key("Id").string(a.id);
    j.key("Arn").string(m.agent_arn(a)).end_object();
    j.key("RoutingProfile").begin_object();
    j.key("Id").string(m.routing_profile_id());
    j.key("Arn").string(m.routing_profile_arn()).end_object();
    j.key("HierarchyPath").begin_object();
    j.key("LevelOne").begin_object().key("Id").string(model::group1_id);
    j.key("Arn").string(m.group_arn(model::group1_id)).end_object();
    j.key("LevelTwo").begin_object().key("Id").string(model::group2_id);
    j.key("Arn").string(m.group_arn(model::group2_id)).end_object();
    j.end_object();
    j.key("Status").begin_object();
    j.key("StatusStartTimestamp").epoch_seconds(a.status_start_ms);
    j.key("StatusArn").string(m.status_arn(st));
    j.key("StatusName").string(st.name);
    j.end_object();
    j.key("AvailableSlotsByChannel").begin_object();
    j.key("VOICE").number(std::int64_t{voice ? 0 : 1});
    j.key("CHAT").number(std::int64_t{3}).end_object();
    j.key("MaxSlotsByChannel").begin_object();
    j.key("VOICE").number(std::int64_t{1});
    j.key("CHAT").number(std::int64_t{3}).end_object();
    j.key("ActiveSlotsByChannel").begin_object();
    j.key("VOICE").number(std::int64_t{voice ? 1 : 0});
    j.key("CHAT").number(std::int64_t{0}).end_object();
    j.key("Contacts").begin_array();
    for (const contact& c : a.contacts) {
      j.begin_object();
      j.key("ContactId").string(c.id);
      j.key("Channel").string(c.channel);
      j.key("InitiationMethod").string(c.initiation);
      j.key("AgentContactState").string(c.state);
      // On hold keeps the time the contact was connected (spec 2.2).
      const std::int64_t start = c.state == "CONNECTED_ONHOLD" && c.connected_ms
                                   ? *c.connected_ms
                                   : c.state_start_ms;
      j.key("StateStartTimestamp").epoch_seconds(start);
      if (c.connected_ms) {
        j.key("ConnectedToAgentTimestamp").epoch_seconds(*c.connected_ms);
      }
      j.key("Queue").begin_object().key("Id").string(c.queue_id);
      j.key("Arn").string(m.queue_arn(c.queue_id)).end_object();
      j.end_object();
    }
    j.end_array();
    if (a.next_status) {
      j.key("NextStatus").string(m.statuses()[*a.next_status].name);
    }
    j.end_object();
  }
  j.end_array();
  if (end < matches.size()) {
    j.key("NextToken").string(page_token("userdata", end));
  }
  j.key("ApproximateTotalCount")
    .number(static_cast<std::int64_t>(matches.size()));
  j.end_object();
  return json_response(200, j.str());
}

// StartOutboundVoiceContact: PUT /contact/outbound-voice.
http_response start_outbound_voice_contact(model& m, element root) {
  std::string error;
  outbound_call call;
  const auto dest = str_field(root, "DestinationPhoneNumber", error);
  const auto flow = str_field(root, "ContactFlowId", error);
  const auto queue = str_field(root, "QueueId", error);
  const auto source = str_field(root, "SourcePhoneNumber", error);
  const auto token = str_field(root, "ClientToken", error);
  if (!error.empty()) {
    return (aws_error(400, "InvalidParameterException", error));
  }
  if (!dest || !flow) {
    return (aws_error(400, "InvalidRequestException",
                      !dest ? "DestinationPhoneNumber is required"
                            : "ContactFlowId is required"));
  }
  if (!is_e164(*dest)) {
    return (aws_error(400, "InvalidParameterException",
                      "DestinationPhoneNumber must be in E.164 format"));
  }
  if (!queue && !source) {
    return (aws_error(400, "InvalidRequestException",
                      "Either SourcePhoneNumber or QueueId is required"));
  }
  if (token && token->size() > 500) {
    return (aws_error(400, "InvalidParameterException",
                      "ClientToken must be at most 500 characters"));
  }
  if (has(root, "Attributes")) {
    simdjson::dom::object attrs;
    if (root["Attributes"].get_object().get(attrs)) {
      return (aws_error(400, "InvalidParameterException",
                        "Attributes must be a map of strings"));
    }
    for (auto field : attrs) {
      std::string_view value;
      if (field.value.get_string().get(value)) {
        return (aws_error(400, "InvalidParameterException",
                          "Attributes values must be strings"));
      }
      call.attributes.emplace_back(std::string(field.key), std::string(value));
    }
  }
  call.destination = *dest;
  call.contact_flow_id = *flow;
  call.queue_id = queue.value_or("");
  call.source_phone_number = source.value_or("");
  call.client_token = token.value_or("");
  call.received_ms = m.now_ms();
  if (token) {
    auto [it, fresh] = m.client_tokens().try_emplace(*token, "");
    if (fresh) {
      it->second = m.make_uuid();
    } else {
      call.replay = true;
    }
    call.contact_id = it->second;
  } else {
    call.contact_id = m.make_uuid();
  }
  m.outbound_calls().push_back(call);
  json_out j;
  j.begin_object().key("ContactId").string(call.contact_id).end_object();
  return json_response(200, j.str());
}

} // namespace

http_response service::handle_rest(const sigv4::request& req) {
  const target_parts t = split_target(req.target);
  const auto& s = t.segments;
  const std::string& m = req.method;

  // Which operation (spec 2.2); the instance id is checked further down.
  std::string op;
  if (m == "GET" && s.size() == 2 && s[0] == "users-summary") {
    op = "ListUsers";
  } else if (m == "GET" && s.size() == 3 && s[0] == "users") {
    op = "DescribeUser";
  } else if (m == "PUT" && s.size() == 4 && s[0] == "users" &&
             s[3] == "status") {
    op = "PutUserStatus";
  } else if (m == "GET" && s.size() == 2 && s[0] == "agent-status") {
    op = "ListAgentStatuses";
  } else if (m == "GET" && s.size() == 3 && s[0] == "agent-status") {
    op = "DescribeAgentStatus";
  } else if (m == "POST" && s.size() == 3 && s[0] == "metrics" &&
             s[1] == "userdata") {
    op = "GetCurrentUserData";
  } else if (m == "PUT" && s.size() == 2 && s[0] == "contact" &&
             s[1] == "outbound-voice") {
    op = "StartOutboundVoiceContact";
  } else {
    op = "Unknown";
  }
  op_counters& count = counters_[op];
  ++count.requests;
  auto fail = [&](http_response r) {
    ++count.errors;
    return r;
  };

  // Authentication first, as AWS does.
  const sigv4::verdict v = sigv4::verify(
    req,
    [&](std::string_view key) -> std::optional<std::string> {
      if (key == cfg_.access_key_id) {
        return cfg_.secret_access_key;
      }
      return std::nullopt;
    },
    {model_.config().region, "connect", 5 * 60 * 1000, true}, model_.now_ms());
  if (!v.ok) {
    ++count.auth_failures;
    return fail(aws_error(v.status, v.code, v.message));
  }
  if (op == "Unknown") {
    return fail(
      aws_error(404, "UnknownOperationException",
                "No operation matches " + m + " " +
                  std::string(req.target.substr(0, req.target.find('?')))));
  }

  // Fault knobs.
  if (knobs_.fail_next > 0) {
    --knobs_.fail_next;
    return fail(aws_error(knobs_.fail_next_status, knobs_.fail_next_code,
                          "Injected failure"));
  }
  if (!take_token()) {
    ++count.throttled;
    return fail(aws_error(429, knobs_.throttle_error, "Rate exceeded"));
  }
  if (knobs_.error_rate > 0 &&
      std::uniform_real_distribution<double>(0, 1)(rng_) < knobs_.error_rate) {
    return fail(
      aws_error(knobs_.error_status, knobs_.error_code, "Injected failure"));
  }

  json_body body;
  if (!body.parse(req.body)) {
    return fail(aws_error(400, "InvalidRequestException", body.error));
  }
  std::string error;
  const std::string& instance = model_.config().instance_id;
  std::string requested_instance;
  if (op == "StartOutboundVoiceContact") {
    requested_instance = str_field(body.root, "InstanceId", error).value_or("");
  } else if (op == "GetCurrentUserData") {
    requested_instance = s[2];
  } else {
    requested_instance = s[1];
  }
  if (requested_instance != instance) {
    return fail(aws_error(404, "ResourceNotFoundException",
                          requested_instance.empty()
                            ? "InstanceId is required"
                            : "Instance not found: " + requested_instance));
  }

  http_response r;
  if (op == "ListUsers") {
    r = list_users(model_, t);
  } else if (op == "DescribeUser") {
    r = describe_user(model_, t);
  } else if (op == "ListAgentStatuses" || op == "DescribeAgentStatus") {
    r = agent_statuses(model_, t, op == "DescribeAgentStatus");
  } else if (op == "PutUserStatus") {
    r = put_user_status(model_, t, body.root);
  } else if (op == "GetCurrentUserData") {
    r = get_current_user_data(model_, body.root);
  } else {
    r = start_outbound_voice_contact(model_, body.root);
  }
  if (r.status >= 400) {
    ++count.errors;
  }
  return r;
}

// -- control API
// ---------------------------------------------------------------

namespace {

void write_agent(json_out& j, const model& m, const agent& a) {
  const status_def& st = m.statuses()[a.status];
  j.begin_object();
  j.key("id").string(a.id);
  j.key("arn").string(m.agent_arn(a));
  j.key("username").string(a.username);
  j.key("first_name").string(a.first_name);
  j.key("last_name").string(a.last_name);
  j.key("email").string(a.email);
  j.key("phone_type").string(a.phone_type);
  j.key("did").string(a.did);
  j.key("logged_in").boolean(a.logged_in);
  j.key("status").begin_object();
  j.key("id").string(st.id).key("name").string(st.name);
  j.key("type").string(st.type);
  j.key("start").string(iso_ms(a.status_start_ms)).end_object();
  j.key("next_status");
  if (a.next_status) {
    const status_def& next = m.statuses()[*a.next_status];
    j.begin_object().key("id").string(next.id).key("name").string(next.name);
    j.key("type").string(next.type);
    j.key("enqueued").string(iso_ms(a.next_enqueued_ms)).end_object();
  } else {
    j.null();
  }
  j.key("contacts").begin_array();
  for (const auto& c : a.contacts) {
    write_contact_control(j, c);
  }
  j.end_array();
  j.key("effective_state").string(model::effective_state(a, m.statuses()));
  j.key("snapshot").raw(m.snapshot(a));
  j.end_object();
}

} // namespace

http_response service::handle_control(const sigv4::request& req) {
  const target_parts t = split_target(req.target);
  std::vector<std::string> s(t.segments.begin() + 1, t.segments.end());
  const std::string& m = req.method;
  json_body body;
  if (!body.parse(req.body)) {
    return control_error(400, body.error);
  }
  std::string error;
  auto ok = [](std::string json) {
    return json_response(200, std::move(json));
  };
  auto from_change =
    [&](const change_result& r) -> std::optional<http_response> {
    if (r) {
      return control_error(r->status == 0 ? 400 : r->status,
                           r->code + ": " + r->message);
    }
    return std::nullopt;
  };

  if (s.size() == 1 && s[0] == "health" && m == "GET") {
    return ok(R"({"ok":true})");
  }

  if (!s.empty() && s[0] == "clock") {
    if (s.size() == 2 && s[1] == "advance" && m == "POST") {
      const auto secs = num_field(body.root, "seconds", error);
      const auto ms = num_field(body.root, "ms", error);
      if (!error.empty() || (!secs && !ms)) {
        return control_error(
          400, error.empty() ? "clock/advance needs 'seconds' or 'ms'" : error);
      }
      const double total = secs.value_or(0) * 1000 + ms.value_or(0);
      if (total < 0) {
        return control_error(400, "the clock only moves forward");
      }
      model_.advance(static_cast<std::int64_t>(total));
    } else if (!(s.size() == 1 && m == "GET")) {
      return control_error(404, "unknown clock route");
    }
    json_out j;
    j.begin_object().key("now_ms").number(model_.now_ms());
    j.key("now").string(iso_ms(model_.now_ms()));
    j.key("offset_ms").number(model_.offset_ms()).end_object();
    return ok(j.str());
  }

  if (s.size() == 1 && s[0] == "knobs") {
    if (m == "POST") {
      knobs k = knobs_;
      auto read_num = [&](const char* key, auto& target) {
        if (auto v = num_field(body.root, key, error)) {
          target = static_cast<std::remove_reference_t<decltype(target)>>(*v);
        }
      };
      auto read_str = [&](const char* key, std::string& target) {
        if (auto v = str_field(body.root, key, error)) {
          target = *v;
        }
      };
      read_num("throttle_rps", k.throttle_rps);
      read_num("throttle_burst", k.throttle_burst);
      read_str("throttle_error", k.throttle_error);
      read_num("error_rate", k.error_rate);
      read_num("error_status", k.error_status);
      read_str("error_code", k.error_code);
      read_num("latency_ms", k.latency_ms);
      read_num("fail_next", k.fail_next);
      read_num("fail_next_status", k.fail_next_status);
      read_str("fail_next_code", k.fail_next_code);
      if (has(body.root, "heartbeats")) {
        bool on = true;
        if (body.root["heartbeats"].get_bool().get(on)) {
          error = "field 'heartbeats' must be true or false";
        }
        model_.set_heartbeats(on);
      }
      if (!error.empty()) {
        return control_error(400, error);
      }
      if (k.error_rate < 0 || k.error_rate > 1 || k.throttle_rps < 0 ||
          k.latency_ms < 0 || k.latency_ms > 60000 || k.fail_next < 0) {
        return control_error(400, "knob out of range (error_rate 0..1, "
                                  "throttle_rps >= 0, latency_ms 0..60000, "
                                  "fail_next >= 0)");
      }
      if (k.throttle_rps != knobs_.throttle_rps ||
          k.throttle_burst != knobs_.throttle_burst) {
        tokens_at_ms_ = 0;
      }
      knobs_ = k;
    } else if (m != "GET") {
      return control_error(405, "knobs: use GET or POST");
    }
    json_out j;
    j.begin_object();
    j.key("throttle_rps").number(knobs_.throttle_rps);
    j.key("throttle_burst").number(knobs_.throttle_burst);
    j.key("throttle_error").string(knobs_.throttle_error);
    j.key("error_rate").number(knobs_.error_rate);
    j.key("error_status").number(std::int64_t{knobs_.error_status});
    j.key("error_code").string(knobs_.error_code);
    j.key("latency_ms").number(knobs_.latency_ms);
    j.key("fail_next").number(std::int64_t{knobs_.fail_next});
    j.key("fail_next_status").number(std::int64_t{knobs_.fail_next_status});
    j.key("fail_next_code").string(knobs_.fail_next_code);
    j.key("heartbeats").boolean(model_.heartbeats());
    j.end_object();
    return ok(j.str());
  }

  if (s.size() == 1 && s[0] == "counters" && m == "GET") {
    json_out j;
    j.begin_object().key("operations").begin_object();
    for (const auto& [name, c] : counters_) {
      j.key(name).begin_object();
      j.key("requests").number(static_cast<std::int64_t>(c.requests));
      j.key("errors").number(static_cast<std::int64_t>(c.errors));
      j.key("throttled").number(static_cast<std::int64_t>(c.throttled));
      j.key("auth_failures").number(static_cast<std::int64_t>(c.auth_failures));
      j.end_object();
    }
    j.end_object();
    j.key("events").begin_object();
    j.key("total").number(static_cast<std::int64_t>(model_.events().size()));
    j.key("sink").string(sink_ ? sink_description_ : "memory");
    j.key("delivered").number(static_cast<std::int64_t>(delivered_));
    j.key("put_requests").number(static_cast<std::int64_t>(put_requests_));
    j.key("put_failures").number(static_cast<std::int64_t>(put_failures_));
    j.key("last_error").string(last_sink_error_);
    j.end_object().end_object();
    return ok(j.str());
  }

  if (s.size() == 1 && s[0] == "events" && m == "GET") {
    const std::string agent_key = query_value(t, "agent").value_or("");
    const agent* filter =
      agent_key.empty() ? nullptr : model_.find_agent(agent_key);
    if (!agent_key.empty() && !filter) {
      return control_error(404, "no agent '" + agent_key + "'");
    }
    const std::string since_text = query_value(t, "since").value_or("0");
    if (since_text.empty() || since_text.size() > 15 ||
        !std::all_of(since_text.begin(), since_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return control_error(400, "'since' must be a sequence number");
    }
    const std::uint64_t since = std::stoull(since_text);
    json_out j;
    j.begin_object().key("events").begin_array();
    for (const auto& e : model_.events()) {
      if (e.seq <= since || (filter && e.agent_id != filter->id)) {
        continue;
      }
      j.begin_object().key("seq").number(static_cast<std::int64_t>(e.seq));
      j.key("agent_id").string(e.agent_id).key("type").string(e.type);
      j.key("record").raw(e.json).end_object();
    }
    j.end_array().end_object();
    return ok(j.str());
  }

  if (s.size() == 1 && s[0] == "put-user-status" && m == "GET") {
    json_out j;
    j.begin_object().key("requests").begin_array();
    for (const auto& p : model_.status_puts()) {
      j.begin_object().key("user_id").string(p.user_id);
      j.key("agent_status_id").string(p.status_id);
      j.key("status_name").string(p.status_name);
      j.key("applied").string(p.applied);
      j.key("received").string(iso_ms(p.received_ms)).end_object();
    }
    j.end_array().end_object();
    return ok(j.str());
  }

  if (s.size() == 1 && s[0] == "outbound-calls" && m == "GET") {
    json_out j;
    j.begin_object().key("calls").begin_array();
    for (const auto& c : model_.outbound_calls()) {
      j.begin_object().key("contact_id").string(c.contact_id);
      j.key("destination").string(c.destination);
      j.key("contact_flow_id").string(c.contact_flow_id);
      j.key("queue_id").string(c.queue_id);
      j.key("source_phone_number").string(c.source_phone_number);
      j.key("client_token").string(c.client_token);
      j.key("attributes").begin_object();
      for (const auto& [k, v] : c.attributes) {
        j.key(k).string(v);
      }
      j.end_object();
      j.key("replay").boolean(c.replay);
      j.key("received").string(iso_ms(c.received_ms)).end_object();
    }
    j.end_array().end_object();
    return ok(j.str());
  }

  if (!s.empty() && s[0] == "statuses" && m == "GET") {
    json_out j;
    j.begin_object().key("statuses").begin_array();
    for (const auto& d : model_.statuses()) {
      j.begin_object().key("id").string(d.id).key("name").string(d.name);
      j.key("type").string(d.type).key("arn").string(model_.status_arn(d));
      j.end_object();
    }
    j.end_array().end_object();
    return ok(j.str());
  }

  if (!s.empty() && s[0] == "agents") {
    if (s.size() == 1 && m == "GET") {
      json_out j;
      j.begin_object().key("agents").begin_array();
      for (const auto& a : model_.agents()) {
        write_agent(j, model_, a);
      }
      j.end_array().end_object();
      return ok(j.str());
    }
    if (s.size() == 1 && m == "POST") {
      const auto count = num_field(body.root, "count", error);
      if (!error.empty() || (count && (*count < 1 || *count > 10000))) {
        return control_error(400, error.empty() ? "'count' must be 1..10000"
                                                : error);
      }

      // One agent with chosen identity fields, or `count` generated ones.
      const auto username = str_field(body.root, "username", error);
      const auto first = str_field(body.root, "first_name", error);
      const auto last = str_field(body.root, "last_name", error);
      const auto email = str_field(body.root, "email", error);
      const auto phone_type = str_field(body.root, "phone_type", error);
      const auto did = str_field(body.root, "did", error);
      if (!error.empty()) {
        return control_error(400, error);
      }
      const bool custom =
        username || first || last || email || phone_type || did;
      if (custom && count && *count != 1) {
        return control_error(400, "identity fields need 'count' 1 or none");
      }
      if (username && (username->empty() || username->size() > 100)) {
        return control_error(400, "'username' must have 1..100 characters");
      }
      if (username && model_.find_agent(*username)) {
        return control_error(409, "username '" + *username + "' is taken");
      }
      if (phone_type && *phone_type != "SOFT_PHONE" &&
          *phone_type != "DESK_PHONE") {
        return control_error(400,
                             "'phone_type' must be SOFT_PHONE or DESK_PHONE");
      }
      if (did && !is_e164(*did)) {
        return control_error(400, "'did' must be an E.164 number");
      }
      json_out j;
      j.begin_object().key("agents").begin_array();
      for (int i = 0; i < static_cast<int>(count.value_or(1)); ++i) {
        agent& a = model_.add_agent();
        if (username) {
          a.username = *username;
          a.email = *username;
        }
        a.first_name = first.value_or(a.first_name);
        a.last_name = last.value_or(a.last_name);
        a.email = email.value_or(a.email);
        a.phone_type = phone_type.value_or(a.phone_type);
        a.did = did.value_or(a.did);
        write_agent(j, model_, a);
      }
      j.end_array().end_object();
      return ok(j.str());
    }
    if (s.size() < 2) {
      return control_error(404, "unknown agents route");
    }
    const std::string& key = s[1];
    if (!model_.find_agent(key)) {
      return control_error(404, "no agent '" + key + "'");
    }
    const std::string id = model_.find_agent(key)->id;
    auto agent_json = [&]() {
      json_out j;
      write_agent(j, model_, *model_.find_agent(id));
      return ok(j.str());
    };
    if (s.size() == 2 && m == "GET") {
      return agent_json();
    }
    auto status_arg = [&](std::optional<std::size_t>& out) -> bool {
      const auto name = str_field(body.root, "status", error);
      if (!error.empty()) {
        return false;
      }
      if (name) {
        out = model_.find_status(*name);
        if (!out) {
          error = "unknown status '" + *name + "'";
          return false;
        }
      }
      return true;
    };
    if (s.size() == 3 && m == "POST" && s[2] == "login") {
      std::optional<std::size_t> status;
      if (!status_arg(status)) {
        return control_error(400, error);
      }
      if (auto bad = from_change(model_.login(id, status))) {
        return *bad;
      }
      return agent_json();
    }
    if (s.size() == 3 && m == "POST" && s[2] == "logout") {
      if (auto bad = from_change(model_.logout(id))) {
        return *bad;
      }
      return agent_json();
    }
    if (s.size() == 3 && m == "POST" && s[2] == "status") {
      std::optional<std::size_t> status;
      if (!status_arg(status) || !status) {
        return control_error(400,
                             error.empty() ? "'status' is required" : error);
      }
      std::string applied;
      if (auto bad = from_change(model_.set_status(id, *status, applied))) {
        return *bad;
      }
      return agent_json();
    }
    if (s.size() == 3 && m == "POST" && s[2] == "contacts") {
      contact c;
      c.initiation =
        str_field(body.root, "initiation", error).value_or("INBOUND");
      c.channel = str_field(body.root, "channel", error).value_or("VOICE");
      c.id = str_field(body.root, "contact_id", error).value_or("");
      c.queue_id = str_field(body.root, "queue_id", error).value_or("");
      if (!error.empty()) {
        return control_error(400, error);
      }
      std::string contact_id;
      if (auto bad = from_change(model_.offer_contact(id, c, contact_id))) {
        return *bad;
      }
      json_out j;
      j.begin_object().key("contact_id").string(contact_id);
      j.key("agent");
      write_agent(j, model_, *model_.find_agent(id));
      j.end_object();
      return ok(j.str());
    }
    if (s.size() == 5 && m == "POST" && s[2] == "contacts") {
      if (auto bad = from_change(model_.contact_action(id, s[3], s[4]))) {
        return *bad;
      }
      return agent_json();
    }
  }
  return control_error(404, "unknown control route " + m + " " +
                              std::string(req.target));
}

} // namespace presync::connect_emulator
