#include "adapters/graph/directory.hpp"

#include "adapters/graph/internal/json.hpp"
#include "protocol/status.hpp"

#include <algorithm>

namespace presync::graph {

using namespace internal;

namespace {

constexpr std::string_view page_what = "users page";

// Reads the next field of `object` or returns the error of the iteration.
#define PRESYNC_NEXT_FIELD(item, f, key, path)                                 \
  od::field f;                                                                 \
  std::string_view key;                                                        \
  if (auto ec = std::move(item).get(f)) {                                      \
    return json_error(page_what, path, ec);                                    \
  }                                                                            \
  if (auto ec = f.unescaped_key().get(key)) {                                  \
    return json_error(page_what, path, ec);                                    \
  }

std::optional<error> read_plans(od::value v, std::vector<assigned_plan>& out,
                                const std::string& path) {
  od::array arr;
  if (auto ec = v.get_array().get(arr)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(page_what, path, "expected an array")
             : json_error(page_what, path, ec);
  }
  size_t i = 0;
  for (auto element : arr) {
    auto at = index(path, i++);
    od::object plan;
    if (auto ec = element.get_object().get(plan)) {
      return json_error(page_what, at, ec);
    }
    assigned_plan p;
    for (auto item : plan) {
      PRESYNC_NEXT_FIELD(item, f, key, at)
      std::string* target = nullptr;
      if (key == "servicePlanId") {
        target = &p.service_plan_id;
      } else if (key == "capabilityStatus") {
        target = &p.capability_status;
      } else if (key == "service") {
        target = &p.service;
      }
      if (target) {
        if (auto e =
              read_string(f.value(), *target, page_what, join(at, key))) {
          return e;
        }
      }
    }
    out.push_back(std::move(p));
  }
  return std::nullopt;
}

std::optional<error> read_licences(od::value v, std::vector<std::string>& out,
                                   const std::string& path) {
  od::array arr;
  if (auto ec = v.get_array().get(arr)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(page_what, path, "expected an array")
             : json_error(page_what, path, ec);
  }
  size_t i = 0;
  for (auto element : arr) {
    auto at = index(path, i++);
    od::object licence;
    if (auto ec = element.get_object().get(licence)) {
      return json_error(page_what, at, ec);
    }
    for (auto item : licence) {
      PRESYNC_NEXT_FIELD(item, f, key, at)
      if (key == "disabledPlans") {
        std::vector<std::string> plans;
        if (auto e =
              read_string_array(f.value(), plans, page_what, join(at, key))) {
          return e;
        }
        out.insert(out.end(), plans.begin(), plans.end());
      }
    }
  }
  return std::nullopt;
}

std::optional<error> read_user(od::value v, graph_user& u,
                               const std::string& path) {
  od::object obj;
  if (auto ec = v.get_object().get(obj)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(page_what, path, "expected an object")
             : json_error(page_what, path, ec);
  }
  bool seen_id = false;
  for (auto item : obj) {
    PRESYNC_NEXT_FIELD(item, f, key, path)
    auto at = join(path, key);
    std::optional<error> e;
    if (key == "id") {
      e = read_string(f.value(), u.id, page_what, at);
      seen_id = true;
    } else if (key == "displayName") {
      e = read_nullable_string(f.value(), u.display_name, page_what, at);
    } else if (key == "mail") {
      e = read_nullable_string(f.value(), u.mail, page_what, at);
    } else if (key == "userPrincipalName") {
      e = read_nullable_string(f.value(), u.user_principal_name, page_what, at);
    } else if (key == "mobilePhone") {
      e = read_nullable_string(f.value(), u.mobile_phone, page_what, at);
    } else if (key == "businessPhones") {
      e = read_string_array(f.value(), u.business_phones, page_what, at);
    } else if (key == "accountEnabled") {
      bool enabled = false;
      e = read_bool(f.value(), enabled, page_what, at);
      u.account_enabled = enabled;
    } else if (key == "assignedPlans") {
      e = read_plans(f.value(), u.assigned_plans, at);
    } else if (key == "assignedLicenses") {
      e = read_licences(f.value(), u.disabled_plans, at);
    } else if (key == "@removed") {
      u.removed = true;
      od::object removed;
      if (auto ec = f.value().get_object().get(removed)) {
        return json_error(page_what, at, ec);
      }
      for (auto r : removed) {
        PRESYNC_NEXT_FIELD(r, rf, rkey, at)
        if (rkey == "reason") {
          e = read_string(rf.value(), u.removed_reason, page_what,
                          join(at, rkey));
        }
      }
    }
    if (e) {
      return e;
    }
  }
  if (!seen_id) {
    return field_error(page_what, join(path, "id"), "missing");
  }
  if (u.id.empty()) {
    return field_error(page_what, join(path, "id"), "empty");
  }
  return std::nullopt;
}

#undef PRESYNC_NEXT_FIELD

bool contains(const std::vector<std::string>& list, std::string_view id) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& x) { return iequals(x, id); });
}

} // namespace

std::string users_url(const endpoints& where, int top) {
  top = std::clamp(top, 1, 999);
  return where.graph_base() + "/users?$select=" + std::string{user_select} +
         "&$top=" + std::to_string(top);
}

std::string users_delta_url(const endpoints& where) {
  return where.graph_base() +
         "/users/delta?$select=" + std::string{user_select};
}

expected<users_page> parse_users_page(std::string_view json) {
  json_document d;
  od::object root;
  if (auto e = open_object(d, json, root, page_what)) {
    return *e;
  }
  users_page page;
  bool seen_value = false;
  for (auto item : root) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(page_what, "document", ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(page_what, "document", ec);
    }
    if (key == "@odata.nextLink" || key == "@odata.deltaLink") {
      std::string link;
      if (auto e = read_string(f.value(), link, page_what, key)) {
        return *e;
      }
      (key == "@odata.nextLink" ? page.next_link : page.delta_link) = link;
    } else if (key == "value") {
      seen_value = true;
      od::array arr;
      if (auto ec = f.value().get_array().get(arr)) {
        return ec == simdjson::INCORRECT_TYPE
                 ? field_error(page_what, "value", "expected an array")
                 : json_error(page_what, "value", ec);
      }
      size_t i = 0;
      for (auto element : arr) {
        auto path = index("value", i++);
        od::value v;
        if (auto ec = std::move(element).get(v)) {
          return json_error(page_what, path, ec);
        }
        graph_user u;
        if (auto e = read_user(v, u, path)) {
          return *e;
        }
        page.users.push_back(std::move(u));
      }
    }
  }
  if (!seen_value) {
    return field_error(page_what, "value", "missing");
  }
  return page;
}

bool is_teams_licensed(const graph_user& user, const licence_rule& rule) {
  if (user.account_enabled != true) {
    return false;
  }
  return std::any_of(user.assigned_plans.begin(), user.assigned_plans.end(),
                     [&](const assigned_plan& p) {
                       bool teams =
                         contains(rule.plan_ids, p.service_plan_id) ||
                         (rule.accept_teamspace_service &&
                          iequals(p.service, "TeamspaceAPI"));
                       bool usable = iequals(p.capability_status, "Enabled") ||
                                     iequals(p.capability_status, "Warning");
                       return teams && usable &&
                              !contains(user.disabled_plans, p.service_plan_id);
                     });
}

std::string teams_user_configuration_url(const endpoints& where,
                                         std::string_view user_id) {
  return where.graph_base() + "/admin/teams/userConfigurations/" +
         form_encode(user_id);
}

namespace {

constexpr std::string_view teams_what = "teams user configuration";

std::optional<error> read_numbers(od::value v, std::optional<std::string>& out,
                                  const std::string& path) {
  od::array arr;
  if (auto ec = v.get_array().get(arr)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(teams_what, path, "expected an array")
             : json_error(teams_what, path, ec);
  }
  size_t i = 0;
  for (auto element : arr) {
    auto at = index(path, i++);
    od::object entry;
    if (auto ec = element.get_object().get(entry)) {
      return json_error(teams_what, at, ec);
    }
    std::string number;
    std::string category;
    for (auto item : entry) {
      od::field f;
      std::string_view key;
      if (auto ec = std::move(item).get(f)) {
        return json_error(teams_what, at, ec);
      }
      if (auto ec = f.unescaped_key().get(key)) {
        return json_error(teams_what, at, ec);
      }
      if (key == "telephoneNumber") {
        if (auto e =
              read_string(f.value(), number, teams_what, join(at, key))) {
          return e;
        }
      } else if (key == "assignmentCategory") {
        if (auto e =
              read_string(f.value(), category, teams_what, join(at, key))) {
          return e;
        }
      }
    }
    if (!out && iequals(category, "primary") && !number.empty()) {
      out = std::move(number);
    }
  }
  return std::nullopt;
}

/// Reads one configuration object: its id and its primary number.
std::optional<error> read_configuration_entry(od::object obj,
                                              teams_configuration& out,
                                              const std::string& path) {
  bool seen_id = false;
  for (auto item : obj) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(teams_what, path, ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(teams_what, path, ec);
    }
    if (key == "id") {
      seen_id = true;
      if (auto e =
            read_string(f.value(), out.user_id, teams_what, join(path, key))) {
        return e;
      }
    } else if (key == "telephoneNumbers") {
      if (auto e =
            read_numbers(f.value(), out.primary_number, join(path, key))) {
        return e;
      }
    }
  }
  if (!seen_id || out.user_id.empty()) {
    return field_error(teams_what, join(path, "id"),
                       seen_id ? "empty" : "missing");
  }
  return std::nullopt;
}

std::optional<error> read_configuration(od::object obj,
                                        std::optional<std::string>& out,
                                        const std::string& base) {
  for (auto item : obj) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(teams_what, base.empty() ? "document" : base, ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(teams_what, base, ec);
    }
    if (key == "telephoneNumbers") {
      if (auto e = read_numbers(f.value(), out, join(base, key))) {
        return e;
      }
    } else if (key == "value" && base.empty()) {
      od::object inner;
      if (auto ec = f.value().get_object().get(inner)) {
        return ec == simdjson::INCORRECT_TYPE
                 ? field_error(teams_what, "value", "expected an object")
                 : json_error(teams_what, "value", ec);
      }
      if (auto e = read_configuration(inner, out, "value")) {
        return e;
      }
    }
  }
  return std::nullopt;
}

} // namespace

expected<std::optional<std::string>>
parse_teams_primary_number(std::string_view json) {
  json_document d;
  od::object root;
  if (auto e = open_object(d, json, root, teams_what)) {
    return *e;
  }
  std::optional<std::string> out;
  if (auto e = read_configuration(root, out, "")) {
    return *e;
  }
  return out;
}

std::string teams_user_configurations_url(const endpoints& where) {
  return where.graph_base() + "/admin/teams/userConfigurations";
}

expected<teams_configurations_page>
parse_teams_configurations_page(std::string_view json) {
  json_document d;
  od::object root;
  if (auto e = open_object(d, json, root, teams_what)) {
    return *e;
  }
  teams_configurations_page page;
  bool seen_value = false;
  for (auto item : root) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(teams_what, "document", ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(teams_what, "document", ec);
    }
    if (key == "@odata.nextLink") {
      std::string link;
      if (auto e = read_string(f.value(), link, teams_what, key)) {
        return *e;
      }
      page.next_link = std::move(link);
      continue;
    }
    if (key != "value") {
      continue;
    }
    seen_value = true;
    od::value v = f.value();
    od::json_type type;
    if (auto ec = v.type().get(type)) {
      return json_error(teams_what, "value", ec);
    }
    if (type == od::json_type::object) {
      od::object obj;
      if (auto ec = v.get_object().get(obj)) {
        return json_error(teams_what, "value", ec);
      }
      teams_configuration c;
      if (auto e = read_configuration_entry(obj, c, "value")) {
        return *e;
      }
      page.users.push_back(std::move(c));
      continue;
    }
    od::array arr;
    if (auto ec = v.get_array().get(arr)) {
      return ec == simdjson::INCORRECT_TYPE
               ? field_error(teams_what, "value", "expected an array")
               : json_error(teams_what, "value", ec);
    }
    size_t i = 0;
    for (auto element : arr) {
      auto path = index("value", i++);
      od::object obj;
      if (auto ec = element.get_object().get(obj)) {
        return ec == simdjson::INCORRECT_TYPE
                 ? field_error(teams_what, path, "expected an object")
                 : json_error(teams_what, path, ec);
      }
      teams_configuration c;
      if (auto e = read_configuration_entry(obj, c, path)) {
        return *e;
      }
      page.users.push_back(std::move(c));
    }
  }
  if (!seen_value) {
    return field_error(teams_what, "value", "missing");
  }
  return page;
}

std::string_view to_string(phone_source s) {
  switch (s) {
  case phone_source::none:
    return "none";
  case phone_source::teams:
    return "teams";
  case phone_source::business:
    return "businessPhones";
  case phone_source::mobile:
    return "mobilePhone";
  }
  return "none";
}

phone_choice choose_phone(const graph_user& user,
                          std::optional<std::string_view> teams_number,
                          const phone_rule& rule) {
  phone_choice out;
  std::string reasons;
  auto attempt = [&](phone_source source,
                     std::optional<std::string_view> text) {
    if (out.number) {
      return;
    }
    if (!reasons.empty()) {
      reasons += "; ";
    }
    reasons += to_string(source);
    if (!text || text->empty()) {
      reasons += ": absent";
      return;
    }
    auto n = normalize_e164(*text, rule.default_region);
    if (!n) {
      // "phone number: too short" -> "businessPhones: too short"
      auto why = n.err().context;
      auto colon = why.find(": ");
      reasons += why.substr(colon == std::string::npos ? 0 : colon);
      return;
    }
    out.number = std::move(*n);
    out.source = source;
  };

  attempt(phone_source::teams, teams_number);
  attempt(phone_source::business,
          user.business_phones.empty()
            ? std::optional<std::string_view>{}
            : std::optional<std::string_view>{user.business_phones.front()});
  if (rule.allow_mobile) {
    attempt(phone_source::mobile,
            user.mobile_phone
              ? std::optional<std::string_view>{*user.mobile_phone}
              : std::nullopt);
  } else if (!out.number) {
    reasons += "; mobilePhone: not allowed";
  }
  if (!out.number) {
    out.not_dialable_reason = std::move(reasons);
  }
  return out;
}

directory_entry
make_directory_entry(const graph_user& user,
                     std::optional<std::string_view> teams_number,
                     const licence_rule& licence, const phone_rule& phone) {
  directory_entry e;
  e.id = user.id;
  e.display_name = user.display_name.value_or("");
  e.mail = user.mail.value_or("");
  e.user_principal_name = user.user_principal_name.value_or("");
  e.licensed = is_teams_licensed(user, licence);
  auto choice = choose_phone(user, teams_number, phone);
  if (choice.number) {
    e.phone_e164 = choice.number->number;
    e.phone_extension = choice.number->extension;
  }
  e.phone_from = choice.source;
  e.not_dialable_reason = std::move(choice.not_dialable_reason);
  return e;
}

} // namespace presync::graph
