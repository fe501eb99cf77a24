#include "adapters/connect/connect_api.hpp"

#include "adapters/aws/credentials.hpp"
#include "adapters/aws/json_escape.hpp"
#include "adapters/connect/internal/json.hpp"

#include <charconv>

namespace presync::connect {

using namespace internal;
using aws::append_json_string;

namespace {

std::string label(std::string_view value) {
  return aws::uri_encode(value, false);
}

void add_query(std::string& query, std::string_view name,
               std::string_view value) {
  if (!query.empty()) {
    query += '&';
  }
  query += aws::uri_encode(name, false);
  query += '=';
  query += aws::uri_encode(value, false);
}

api_request with_json_body(std::string method, std::string path,
                           std::string body) {
  api_request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = {{"Content-Type", "application/json"}};
  r.body = std::move(body);
  return r;
}

// Iterates the members of `v` (an object) and hands each to `on_field`,
// which returns an error to stop.
template <class F>
std::optional<error> for_each_field(json_value& v, const std::string& where,
                                    F&& on_field) {
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where, "not an object");
  }
  for (auto field : obj) {
    std::string_view key;
    json_value value;
    if (auto code = field.unescaped_key().get(key)) {
      return invalid_json(where, code);
    }
    if (auto code = field.value().get(value)) {
      return invalid_json(where, code);
    }
    if (auto e = on_field(key, value)) {
      return e;
    }
  }
  return std::nullopt;
}

// Iterates the items of `v` (an array), naming each "<where>[i]".
template <class F>
std::optional<error> for_each_item(json_value& v, const std::string& where,
                                   F&& on_item) {
  json_array items;
  if (v.get_array().get(items)) {
    return malformed(where, "not an array");
  }
  size_t index = 0;
  for (auto item : items) {
    auto item_where = where + "[" + std::to_string(index++) + "]";
    json_value value;
    if (auto code = item.get(value)) {
      return invalid_json(item_where, code);
    }
    if (auto e = on_item(value, item_where)) {
      return e;
    }
  }
  return std::nullopt;
}

// Parses the root object of `body`, handing each member to `on_field`.
template <class F>
std::optional<error> parse_root(std::string_view body, std::string_view what,
                                F&& on_field) {
  json_document d;
  json_object root;
  if (auto e = open_object(d, body, what, root)) {
    return e;
  }
  for (auto field : root) {
    std::string_view key;
    json_value value;
    if (auto code = field.unescaped_key().get(key)) {
      return invalid_json(what, code);
    }
    if (auto code = field.value().get(value)) {
      return invalid_json(what, code);
    }
    if (auto e = on_field(key, value)) {
      return e;
    }
  }
  return check_end(d, what);
}

std::optional<error> require(const std::string& value,
                             const std::string& where) {
  if (value.empty()) {
    return malformed(where, "missing");
  }
  return std::nullopt;
}

} // namespace

// -- Users -------------------------------------------------------------------

api_request build_list_users(std::string_view instance_id,
                             std::string_view next_token,
                             std::optional<int> max_results) {
  api_request r;
  r.method = "GET";
  r.path = "/users-summary/" + label(instance_id);
  if (max_results) {
    add_query(r.query, "maxResults", std::to_string(*max_results));
  }
  if (!next_token.empty()) {
    add_query(r.query, "nextToken", next_token);
  }
  return r;
}

expected<list_users_result> parse_list_users(std::string_view body) {
  list_users_result out;
  bool has_list = false;
  auto e = parse_root(
    body, "ListUsers",
    [&](std::string_view key, json_value& v) -> std::optional<error> {
      if (key == "NextToken") {
        return read_nullable_string(v, "NextToken", out.next_token);
      }
      if (key != "UserSummaryList") {
        return std::nullopt;
      }
      has_list = true;
      return for_each_item(
        v, "UserSummaryList",
        [&](json_value& item,
            const std::string& where) -> std::optional<error> {
          user_summary u;
          auto fe = for_each_field(
            item, where,
            [&](std::string_view k, json_value& fv) -> std::optional<error> {
              auto at = where + "." + std::string{k};
              if (k == "Id") {
                return read_string(fv, at, u.id);
              }
              if (k == "Arn") {
                return read_string(fv, at, u.arn);
              }
              if (k == "Username") {
                return read_string(fv, at, u.username);
              }
              if (k == "LastModifiedTime") {
                return read_epoch_ms(fv, at, u.last_modified_ms);
              }
              if (k == "LastModifiedRegion") {
                return read_string(fv, at, u.last_modified_region);
              }
              return std::nullopt;
            });
          if (fe) {
            return fe;
          }
          if (auto re = require(u.id, where + ".Id")) {
            return re;
          }
          out.users.push_back(std::move(u));
          return std::nullopt;
        });
    });
  if (e) {
    return *e;
  }
  if (!has_list) {
    return malformed("UserSummaryList", "missing");
  }
  return out;
}

api_request build_describe_user(std::string_view instance_id,
                                std::string_view user_id) {
  api_request r;
  r.method = "GET";
  r.path = "/users/" + label(instance_id) + "/" + label(user_id);
  return r;
}

expected<user_details> parse_describe_user(std::string_view body) {
  user_details u;
  bool has_user = false;
  auto read_user = [&](json_value& v) {
    return for_each_field(
      v, "User",
      [&](std::string_view k, json_value& fv) -> std::optional<error> {
        auto at = "User." + std::string{k};
        if (k == "Id") {
          return read_string(fv, at, u.id);
        }
        if (k == "Arn") {
          return read_string(fv, at, u.arn);
        }
        if (k == "Username") {
          return read_string(fv, at, u.username);
        }
        if (k == "DirectoryUserId") {
          return read_string(fv, at, u.directory_user_id);
        }
        if (k == "RoutingProfileId") {
          return read_string(fv, at, u.routing_profile_id);
        }
        if (k == "HierarchyGroupId") {
          return read_string(fv, at, u.hierarchy_group_id);
        }
        if (k == "LastModifiedTime") {
          return read_epoch_ms(fv, at, u.last_modified_ms);
        }
        if (k == "SecurityProfileIds") {
          return for_each_item(
            fv, at, [&](json_value& item, const std::string& where) {
              std::string id;
              auto ie = read_string(item, where, id);
              u.security_profile_ids.push_back(std::move(id));
              return ie;
            });
        }
        if (k == "IdentityInfo") {
          return for_each_field(
            fv, at,
            [&](std::string_view ik, json_value& iv) -> std::optional<error> {
              auto iat = at + "." + std::string{ik};
              if (ik == "FirstName") {
                return read_string(iv, iat, u.first_name);
              }
              if (ik == "LastName") {
                return read_string(iv, iat, u.last_name);
              }
              if (ik == "Email") {
                return read_string(iv, iat, u.email);
              }
              if (ik == "SecondaryEmail") {
                return read_string(iv, iat, u.secondary_email);
              }
              if (ik == "Mobile") {
                return read_string(iv, iat, u.mobile);
              }
              return std::nullopt;
            });
        }
        if (k == "PhoneConfig") {
          return for_each_field(
            fv, at,
            [&](std::string_view pk, json_value& pv) -> std::optional<error> {
              auto pat = at + "." + std::string{pk};
              if (pk == "PhoneType") {
                return read_string(pv, pat, u.phone_type);
              }
              if (pk == "AutoAccept") {
                return read_bool(pv, pat, u.auto_accept);
              }
              if (pk == "AfterContactWorkTimeLimit") {
                return read_int64(pv, pat, u.after_contact_work_time_limit_s);
              }
              if (pk == "DeskPhoneNumber") {
                return read_string(pv, pat, u.desk_phone_number);
              }
              return std::nullopt;
            });
        }
        return std::nullopt;
      });
  };
  auto e = parse_root(
    body, "DescribeUser",
    [&](std::string_view key, json_value& v) -> std::optional<error> {
      if (key != "User") {
        return std::nullopt;
      }
      has_user = true;
      return read_user(v);
    });
  if (e) {
    return *e;
  }
  if (!has_user) {
    return malformed("User", "missing");
  }
  if (auto re = require(u.id, "User.Id")) {
    return *re;
  }
  return u;
}

// -- Agent statuses ----------------------------------------------------------

api_request build_list_agent_statuses(std::string_view instance_id,
                                      const std::vector<std::string>& types,
                                      std::string_view next_token,
                                      std::optional<int> max_results) {
  api_request r;
  r.method = "GET";
  r.path = "/agent-status/" + label(instance_id);
  if (max_results) {
    add_query(r.query, "maxResults", std::to_string(*max_results));
  }
  for (const auto& t : types) {
    add_query(r.query, "AgentStatusTypes", t);
  }
  if (!next_token.empty()) {
    add_query(r.query, "nextToken", next_token);
  }
  return r;
}

expected<list_agent_statuses_result>
parse_list_agent_statuses(std::string_view body) {
  list_agent_statuses_result out;
  bool has_list = false;
  auto e = parse_root(
    body, "ListAgentStatuses",
    [&](std::string_view key, json_value& v) -> std::optional<error> {
      if (key == "NextToken") {
        return read_nullable_string(v, "NextToken", out.next_token);
      }
      if (key != "AgentStatusSummaryList") {
        return std::nullopt;
      }
      has_list = true;
      return for_each_item(
        v, "AgentStatusSummaryList",
        [&](json_value& item,
            const std::string& where) -> std::optional<error> {
          agent_status_summary s;
          auto fe = for_each_field(
            item, where,
            [&](std::string_view k, json_value& fv) -> std::optional<error> {
              auto at = where + "." + std::string{k};
              if (k == "Id") {
                return read_string(fv, at, s.id);
              }
              if (k == "Arn") {
                return read_string(fv, at, s.arn);
              }
              if (k == "Name") {
                return read_string(fv, at, s.name);
              }
              if (k == "Type") {
                return read_string(fv, at, s.type);
              }
              if (k == "LastModifiedTime") {
                return read_epoch_ms(fv, at, s.last_modified_ms);
              }
              if (k == "LastModifiedRegion") {
                return read_string(fv, at, s.last_modified_region);
              }
              return std::nullopt;
            });
          if (fe) {
            return fe;
          }
          if (auto re = require(s.id, where + ".Id")) {
            return re;
          }
          if (auto re = require(s.name, where + ".Name")) {
            return re;
          }
          out.statuses.push_back(std::move(s));
          return std::nullopt;
        });
    });
  if (e) {
    return *e;
  }
  if (!has_list) {
    return malformed("AgentStatusSummaryList", "missing");
  }
  return out;
}

std::map<std::string, agent_status_summary>
index_by_name(const std::vector<agent_status_summary>& statuses) {
  std::map<std::string, agent_status_summary> out;
  for (const auto& s : statuses) {
    out.emplace(s.name, s);
  }
  return out;
}

api_request build_put_user_status(std::string_view instance_id,
                                  std::string_view user_id,
                                  std::string_view agent_status_id) {
  std::string body = "{\"AgentStatusId\":";
  append_json_string(body, agent_status_id);
  body += '}';
  return with_json_body(
    "PUT", "/users/" + label(instance_id) + "/" + label(user_id) + "/status",
    std::move(body));
}

// -- Current user data -------------------------------------------------------

agent_snapshot user_data::snapshot() const {
  agent_snapshot s;
  s.status_name = status_name;
  for (const auto& c : contacts) {
    s.contacts.push_back({c.state, c.channel});
  }
  return s;
}

expected<api_request> build_get_current_user_data(
  std::string_view instance_id, const std::vector<std::string>& agent_ids,
  std::string_view next_token, std::optional<int> max_results) {
  if (agent_ids.empty() || agent_ids.size() > 100) {
    return make_error(sync_error::rejected,
                      "GetCurrentUserData: 1 to 100 agents per call, got " +
                        std::to_string(agent_ids.size()));
  }
  if (max_results && (*max_results < 1 || *max_results > 100)) {
    return make_error(sync_error::rejected,
                      "GetCurrentUserData: MaxResults must be 1 to 100");
  }
  std::string body = "{\"Filters\":{\"Agents\":[";
  for (size_t i = 0; i < agent_ids.size(); ++i) {
    if (i > 0) {
      body += ',';
    }
    append_json_string(body, agent_ids[i]);
  }
  body += "]}";
  if (max_results) {
    body += ",\"MaxResults\":" + std::to_string(*max_results);
  }
  if (!next_token.empty()) {
    body += ",\"NextToken\":";
    append_json_string(body, next_token);
  }
  body += '}';
  return with_json_body("POST", "/metrics/userdata/" + label(instance_id),
                        std::move(body));
}

namespace {

std::optional<error> read_user_contact(json_value& v, const std::string& where,
                                       user_contact& c) {
  auto e = for_each_field(
    v, where, [&](std::string_view k, json_value& fv) -> std::optional<error> {
      auto at = where + "." + std::string{k};
      if (k == "ContactId") {
        return read_string(fv, at, c.contact_id);
      }
      if (k == "Channel") {
        return read_string(fv, at, c.channel);
      }
      if (k == "InitiationMethod") {
        return read_string(fv, at, c.initiation_method);
      }
      if (k == "AgentContactState") {
        return read_string(fv, at, c.state);
      }
      if (k == "StateStartTimestamp") {
        return read_epoch_ms(fv, at, c.state_start_ms);
      }
      if (k == "ConnectedToAgentTimestamp") {
        if (is_null(fv)) {
          return std::nullopt;
        }
        int64_t ms = 0;
        auto te = read_epoch_ms(fv, at, ms);
        c.connected_to_agent_ms = ms;
        return te;
      }
      if (k == "Queue") {
        if (is_null(fv)) {
          return std::nullopt;
        }
        return for_each_field(
          fv, at,
          [&](std::string_view qk, json_value& qv) -> std::optional<error> {
            if (qk == "Id") {
              return read_string(qv, at + ".Id", c.queue_id);
            }
            return std::nullopt;
          });
      }
      return std::nullopt;
    });
  if (e) {
    return e;
  }
  if (auto re = require(c.state, where + ".AgentContactState")) {
    return re;
  }
  return require(c.channel, where + ".Channel");
}

std::optional<error> read_user_data(json_value& v, const std::string& where,
                                    user_data& u) {
  bool has_status = false;
  auto e = for_each_field(
    v, where, [&](std::string_view k, json_value& fv) -> std::optional<error> {
      auto at = where + "." + std::string{k};
      if (k == "User") {
        return for_each_field(
          fv, at,
          [&](std::string_view uk, json_value& uv) -> std::optional<error> {
            if (uk == "Id") {
              return read_string(uv, at + ".Id", u.user_id);
            }
            if (uk == "Arn") {
              return read_string(uv, at + ".Arn", u.user_arn);
            }
            return std::nullopt;
          });
      }
      if (k == "Status") {
        has_status = true;
        return for_each_field(
          fv, at,
          [&](std::string_view sk, json_value& sv) -> std::optional<error> {
            auto sat = at + "." + std::string{sk};
            if (sk == "StatusName") {
              return read_string(sv, sat, u.status_name);
            }
            if (sk == "StatusArn") {
              return read_string(sv, sat, u.status_arn);
            }
            if (sk == "StatusStartTimestamp") {
              return read_epoch_ms(sv, sat, u.status_start_ms);
            }
            return std::nullopt;
          });
      }
      if (k == "Contacts") {
        if (is_null(fv)) {
          return std::nullopt;
        }
        return for_each_item(
          fv, at, [&](json_value& item, const std::string& item_where) {
            user_contact c;
            auto ce = read_user_contact(item, item_where, c);
            u.contacts.push_back(std::move(c));
            return ce;
          });
      }
      if (k == "NextStatus") {
        return read_nullable_string(fv, at, u.next_status);
      }
      return std::nullopt;
    });
  if (e) {
    return e;
  }
  if (auto re = require(u.user_id, where + ".User.Id")) {
    return re;
  }
  if (!has_status) {
    return malformed(where + ".Status", "missing");
  }
  if (auto re = require(u.status_name, where + ".Status.StatusName")) {
    return re;
  }
  u.effective_state = effective_state(u.snapshot());
  return std::nullopt;
}

} // namespace

expected<current_user_data_result>
parse_get_current_user_data(std::string_view body) {
  current_user_data_result out;
  bool has_list = false;
  auto e = parse_root(
    body, "GetCurrentUserData",
    [&](std::string_view key, json_value& v) -> std::optional<error> {
      if (key == "NextToken") {
        return read_nullable_string(v, "NextToken", out.next_token);
      }
      if (key == "ApproximateTotalCount") {
        int64_t n = 0;
        auto ne = read_int64(v, "ApproximateTotalCount", n);
        out.approximate_total_count = n;
        return ne;
      }
      if (key != "UserDataList") {
        return std::nullopt;
      }
      has_list = true;
      return for_each_item(v, "UserDataList",
                           [&](json_value& item, const std::string& where) {
                             user_data u;
                             auto ue = read_user_data(item, where, u);
                             out.users.push_back(std::move(u));
                             return ue;
                           });
    });
  if (e) {
    return *e;
  }
  if (!has_list) {
    return malformed("UserDataList", "missing");
  }
  return out;
}

// -- Outbound calls ----------------------------------------------------------

expected<api_request>
build_start_outbound_voice_contact(const outbound_voice_contact& c) {
  auto reject = [](std::string what) {
    return make_error(sync_error::rejected,
                      "StartOutboundVoiceContact: " + std::move(what));
  };
  if (c.instance_id.empty()) {
    return reject("InstanceId missing");
  }
  if (c.contact_flow_id.empty()) {
    return reject("ContactFlowId missing");
  }
  if (c.destination_phone_number.empty()) {
    return reject("DestinationPhoneNumber missing");
  }
  if (c.source_phone_number.empty() == c.queue_id.empty()) {
    return reject("exactly one of SourcePhoneNumber and QueueId needed");
  }
  if (c.client_token.empty() || c.client_token.size() > 500) {
    return reject("ClientToken must be 1 to 500 characters");
  }

  std::string body = "{\"InstanceId\":";
  append_json_string(body, c.instance_id);
  body += ",\"ContactFlowId\":";
  append_json_string(body, c.contact_flow_id);
  body += ",\"DestinationPhoneNumber\":";
  append_json_string(body, c.destination_phone_number);
  if (!c.source_phone_number.empty()) {
    body += ",\"SourcePhoneNumber\":";
    append_json_string(body, c.source_phone_number);
  } else {
    body += ",\"QueueId\":";
    append_json_string(body, c.queue_id);
  }
  if (!c.attributes.empty()) {
    body += ",\"Attributes\":{";
    bool first = true;
    for (const auto& [k, v] : c.attributes) {
      body += first ? "" : ",";
      first = false;
      append_json_string(body, k);
      body += ':';
      append_json_string(body, v);
    }
    body += '}';
  }
  body += ",\"ClientToken\":";
  append_json_string(body, c.client_token);
  body += '}';
  return with_json_body("PUT", "/contact/outbound-voice", std::move(body));
}

expected<std::string>
parse_start_outbound_voice_contact(std::string_view body) {
  std::string id;
  auto e = parse_root(
    body, "StartOutboundVoiceContact",
    [&](std::string_view key, json_value& v) -> std::optional<error> {
      if (key == "ContactId") {
        return read_string(v, "ContactId", id);
      }
      return std::nullopt;
    });
  if (e) {
    return *e;
  }
  if (id.empty()) {
    return malformed("ContactId", "missing");
  }
  return id;
}

// -- Errors ------------------------------------------------------------------

service_error parse_error(std::string_view operation, int http_status,
                          const std::vector<aws::http_header>& headers,
                          std::string_view body) {
  service_error out;
  std::string body_type;
  auto ignored = parse_root(
    body, operation,
    [&](std::string_view key, json_value& v) -> std::optional<error> {
      std::string text;
      if ((key == "__type" || key == "code") && !read_string(v, key, text)) {
        body_type = text;
      } else if ((key == "Message" || key == "message") &&
                 !read_string(v, key, text)) {
        out.message = text;
      }
      return std::nullopt;
    });
  (void)ignored; // an unreadable error body still has its HTTP status

  if (auto h = aws::find_header(headers, "x-amzn-ErrorType")) {
    out.type = normalize_error_type(*h);
  } else {
    out.type = normalize_error_type(body_type);
  }

  auto code = classify_service_error(out.type, http_status);
  std::string context = "connect " + std::string{operation};
  context += out.type.empty() ? ": HTTP error" : ": " + out.type;
  out.err = make_error(code, std::move(context), http_status);
  if (auto id = aws::find_header(headers, "x-amzn-RequestId")) {
    out.err.request_id = std::string{*id};
  }
  if (auto after = aws::find_header(headers, "Retry-After")) {
    int64_t seconds = 0;
    auto [end, ec] =
      std::from_chars(after->data(), after->data() + after->size(), seconds);
    if (ec == std::errc{} && end == after->data() + after->size() &&
        seconds >= 0) {
      out.err.retry_after = std::chrono::seconds{seconds};
    }
  }
  return out;
}

} // namespace presync::connect
