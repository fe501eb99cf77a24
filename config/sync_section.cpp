#include "config/sync_section.hpp"

#include "config/internal/yaml_reader.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace presync::config {

namespace {

using internal::entry;
using internal::where;

constexpr std::array<std::string_view, 15> sync_keys = {
  "mode",
  "min_hold",
  "echo_window",
  "chain_window",
  "loop_max_chain",
  "loop_cooldown",
  "available_refresh",
  "teams_session_ttl",
  "session_refresh_margin",
  "reconcile_interval",
  "directory_interval",
  "teams_poll_interval",
  "journal_size",
  "connect_to_teams",
  "teams_to_connect",
};

constexpr std::array<std::string_view, 4> rule_keys = {
  "status",
  "only_when_connect_in",
  "never_during_contact",
  "restore_on_exit",
};

constexpr std::array<std::string_view, 4> mode_names = {
  "bidirectional",
  "connect_to_teams",
  "teams_to_connect",
  "off",
};

// Graph's values (spec/graph.md §3.2), for did-you-mean hints only: whether
// a value is known is decided by protocol/status.hpp.
constexpr std::array<std::string_view, 10> availability_names = {
  "Available", "AvailableIdle", "Away",    "BeRightBack",     "Busy",
  "BusyIdle",  "DoNotDisturb",  "Offline", "PresenceUnknown", "Focusing",
};

constexpr std::array<std::string_view, 18> activity_names = {
  "Available",
  "Away",
  "BeRightBack",
  "Busy",
  "DoNotDisturb",
  "InACall",
  "InAConferenceCall",
  "Inactive",
  "InAMeeting",
  "Offline",
  "OffWork",
  "OutOfOffice",
  "PresenceUnknown",
  "Presenting",
  "UrgentInterruptionsOnly",
  "Focusing",
  "AvailableIdle",
  "AvailableInactive",
};

constexpr std::array<std::string_view, 8> builtin_states = {
  connect_states::available,
  connect_states::offline,
  connect_states::on_contact,
  connect_states::incoming,
  connect_states::after_contact_work,
  connect_states::missed,
  connect_states::error,
  connect_states::logged_out,
};

/// Where a duration may lie; `why` says where a limit comes from.
struct duration_range {
  duration lo{0};
  bool lo_open = false; ///< lo itself is not allowed
  std::optional<duration> hi;
  bool hi_open = false; ///< hi itself is not allowed
  std::string_view why;

  bool contains(duration d) const {
    bool above = lo_open ? d > lo : d >= lo;
    bool below = !hi || (hi_open ? d < *hi : d <= *hi);
    return above && below;
  }

  std::string describe() const {
    auto low = (lo_open ? "more than " : "at least ") + format_duration(lo);
    if (!hi) {
      return low;
    }
    if (!lo_open && !hi_open) {
      return format_duration(lo) + ".." + format_duration(*hi);
    }
    return low + " and " + (hi_open ? "less than " : "at most ") +
           format_duration(*hi);
  }
};

constexpr duration_range any_duration{};
constexpr duration_range positive{duration{0}, true, std::nullopt, false, ""};

/// One duration key: the member it sets and its range.
struct duration_key {
  std::string_view name;
  duration sync_settings::*member;
  duration_range range;
};

const std::array<duration_key, 10> duration_keys = {{
  {"min_hold", &sync_settings::min_hold, any_duration},
  {"echo_window", &sync_settings::echo_window, any_duration},
  {"chain_window", &sync_settings::chain_window, positive},
  {"loop_cooldown", &sync_settings::loop_cooldown, positive},
  {"available_refresh",
   &sync_settings::available_refresh,
   {duration{0}, true, std::chrono::minutes{5}, true,
    "Teams fades an idle Available session after 5m"}},
  {"teams_session_ttl",
   &sync_settings::teams_session_ttl,
   {std::chrono::minutes{5}, false, std::chrono::hours{4}, false,
    "setPresence's expirationDuration limits"}},
  {"session_refresh_margin", &sync_settings::session_refresh_margin, positive},
  {"reconcile_interval", &sync_settings::reconcile_interval, positive},
  {"directory_interval", &sync_settings::directory_interval, positive},
  {"teams_poll_interval",
   &sync_settings::teams_poll_interval,
   {std::chrono::seconds{1}, false, std::nullopt, false, ""}},
}};

bool contains_folded(std::span<const std::string> names,
                     std::string_view name) {
  return std::any_of(names.begin(), names.end(),
                     [&](const auto& n) { return iequals(n, name); });
}

/// Reads one sync section into `out`; one member function per kind of key.
class sync_parser {
 public:
  sync_parser(internal::reader& r, sync_settings& out) : r_(r), out_(out) {}

  void parse(const YAML::Node& node, const where& at,
             const known_states* states) {
    bool ok =
      r_.for_each_key(node, at, sync_keys, [&](const entry& e) { on_key(e); });
    if (!ok) {
      return;
    }
    check_refresh_margin(at);
    if (states != nullptr) {
      check_conditions(*states);
    }
    if (out_.mode == sync_mode::bidirectional) {
      warn_cycles(at);
    }
  }

 private:
  /// An only_when_connect_in entry, kept until both maps are read.
  struct condition {
    std::string state;
    where at;
  };

  void on_key(const entry& e) {
    if (e.key == "mode") {
      if (auto m = r_.one_of(e.value, e.at, mode_names)) {
        out_.mode = *parse_sync_mode(*m);
      }
    } else if (e.key == "loop_max_chain") {
      internal::assign(out_.loop_max_chain, r_.integer(e.value, e.at, 1, 1000));
    } else if (e.key == "journal_size") {
      internal::assign(out_.journal_size, r_.integer(e.value, e.at, 1, 10000));
    } else if (e.key == "connect_to_teams") {
      on_connect_to_teams(e);
    } else if (e.key == "teams_to_connect") {
      on_teams_to_connect(e);
    } else {
      on_duration(e);
    }
  }

  void on_duration(const entry& e) {
    for (const auto& k : duration_keys) {
      if (k.name != e.key) {
        continue;
      }
      auto d = r_.duration_of(e.value, e.at);
      if (!d) {
        return;
      }
      if (!k.range.contains(*d)) {
        auto why = k.range.why.empty() ? std::string{}
                                       : " (" + std::string{k.range.why} + ")";
        r_.error(e.at, format_duration(*d) + " is out of range; allowed " +
                         k.range.describe() + why);
        return;
      }
      out_.*k.member = *d;
      if (e.key == "session_refresh_margin") {
        margin_at_ = e.at;
      } else if (e.key == "teams_session_ttl") {
        ttl_at_ = e.at;
      }
      return;
    }
  }

  // -- connect_to_teams -----------------------------------------------------

  void on_connect_to_teams(const entry& e) {
    connect_to_teams_map map;
    bool ok = true;
    bool valid = r_.for_each_entry(e.value, e.at, [&](const entry& rule) {
      auto target = read_target(rule);
      if (!target) {
        ok = false;
        return;
      }
      if (rule.key == "*") {
        map.fallback = *target;
        return;
      }
      if (rule.key.empty()) {
        r_.error(rule.at, "expected a Connect state name or *");
        ok = false;
        return;
      }
      for (const auto& [name, _] : map.entries) {
        if (iequals(name, rule.key)) {
          r_.error(rule.at, "repeats the state " + name +
                              " (state names match case-insensitively)");
          ok = false;
          return;
        }
      }
      map.entries.emplace_back(rule.key, *target);
    });
    if (valid && ok) {
      out_.connect_to_teams = std::move(map);
    }
  }

  std::optional<teams_target> read_target(const entry& rule) {
    if (rule.value.IsScalar() && rule.value.Scalar() == "clear") {
      return teams_target::clear();
    }
    std::optional<presence> p;
    if (rule.value.IsScalar()) {
      p = parse_presence(rule.value.Scalar());
    }
    if (!p) {
      r_.error(rule.at, "expected a presence like Busy/InACall, or clear; "
                        "got " +
                          internal::describe(rule.value));
      return std::nullopt;
    }
    if (!check_known_values(*p, rule.at)) {
      return std::nullopt;
    }
    if (!is_publishable(*p)) {
      std::vector<std::string> allowed;
      for (const auto& a : publishable_presences()) {
        allowed.push_back(a.key());
      }
      r_.error(rule.at, p->key() +
                          " cannot be published by an application session;"
                          " allowed: " +
                          internal::join(allowed));
      return std::nullopt;
    }
    return teams_target::of(*p);
  }

  /// Reports an availability or activity Graph does not define.
  bool check_known_values(const presence& p, const where& at) {
    if (!canonical_availability(p.availability)) {
      r_.error(at, "unknown availability " + p.availability +
                     did_you_mean(p.availability, availability_names));
      return false;
    }
    if (!canonical_activity(p.activity)) {
      r_.error(at, "unknown activity " + p.activity +
                     did_you_mean(p.activity, activity_names));
      return false;
    }
    return true;
  }

  // -- teams_to_connect -----------------------------------------------------

  void on_teams_to_connect(const entry& e) {
    teams_to_connect_map map;
    std::vector<condition> conditions;
    bool ok = true;
    bool valid = r_.for_each_entry(e.value, e.at, [&](const entry& rule) {
      auto key = read_teams_key(rule);
      auto value = key ? read_rule(rule, conditions) : std::nullopt;
      if (!key || !value) {
        ok = false;
        return;
      }
      for (const auto& [name, _] : map.entries) {
        if (iequals(name, *key)) {
          r_.error(rule.at, "repeats the Teams key " + name +
                              " (keys match case-insensitively)");
          ok = false;
          return;
        }
      }
      map.entries.emplace_back(*key, std::move(*value));
    });
    if (valid && ok) {
      out_.teams_to_connect = std::move(map);
      conditions_ = std::move(conditions);
    }
  }

  /// Returns the key in Graph's spelling: `Busy` or `Busy/InAMeeting`.
  std::optional<std::string> read_teams_key(const entry& rule) {
    auto p = parse_presence(rule.key);
    if (!p) {
      r_.error(rule.at, "expected a Teams key like Busy or Busy/InAMeeting");
      return std::nullopt;
    }
    // A bare key names an availability only.
    bool pair = rule.key.find('/') != std::string::npos;
    if (!pair && !canonical_availability(p->availability)) {
      r_.error(rule.at, "unknown availability " + p->availability +
                          did_you_mean(p->availability, availability_names));
      return std::nullopt;
    }
    if (pair && !check_known_values(*p, rule.at)) {
      return std::nullopt;
    }
    return pair ? p->key() : p->availability;
  }

  std::optional<teams_rule> read_rule(const entry& rule,
                                      std::vector<condition>& conditions) {
    if (rule.value.IsScalar() && rule.value.Scalar() == "ignore") {
      return teams_rule::ignore();
    }
    if (!rule.value.IsMap()) {
      r_.error(rule.at, "expected ignore or a map like {status: Meeting}, "
                        "got " +
                          internal::describe(rule.value));
      return std::nullopt;
    }

    teams_rule out = teams_rule::set("");
    std::vector<condition> mine;
    auto errors_before = r_.diags().error_count();
    r_.for_each_key(rule.value, rule.at, rule_keys, [&](const entry& e) {
      if (e.key == "status") {
        internal::assign(out.status, r_.text(e.value, e.at));
      } else if (e.key == "only_when_connect_in") {
        read_conditions(e, out, mine);
      } else if (e.key == "never_during_contact") {
        internal::assign(out.never_during_contact, r_.boolean(e.value, e.at));
      } else {
        internal::assign(out.restore_on_exit, r_.boolean(e.value, e.at));
      }
    });

    if (out.status.empty() && r_.diags().error_count() == errors_before) {
      r_.error(rule.at, "status is missing; expected {status: NAME, ...} "
                        "or ignore");
    } else if (!out.status.empty() && is_derived_state(out.status)) {
      r_.error(rule.at.key("status", rule.at.line),
               out.status + " is a state presync derives from contacts and "
                            "events; it cannot be set as an agent status");
    }
    if (r_.diags().error_count() != errors_before) {
      return std::nullopt;
    }
    conditions.insert(conditions.end(), mine.begin(), mine.end());
    return out;
  }

  void read_conditions(const entry& e, teams_rule& out,
                       std::vector<condition>& conditions) {
    auto names = r_.text_list(e.value, e.at);
    if (!names) {
      return;
    }
    out.only_when_connect_in = *names;
    for (std::size_t i = 0; i < names->size(); ++i) {
      auto item = e.value[i];
      conditions.push_back(
        {(*names)[i], e.at.item(i, internal::line_of(item))});
    }
  }

  static bool is_derived_state(std::string_view s) {
    return std::any_of(
      builtin_states.begin(), builtin_states.end(),
      [&](auto b) { return iequals(b, s) && is_system_state(b); });
  }

  // -- checks across keys ---------------------------------------------------

  void check_refresh_margin(const where& at) {
    if (out_.session_refresh_margin < out_.teams_session_ttl) {
      return;
    }
    auto here = margin_at_ ? *margin_at_
                : ttl_at_  ? *ttl_at_
                           : at.key("session_refresh_margin", at.line);
    r_.error(here, "session_refresh_margin (" +
                     format_duration(out_.session_refresh_margin) +
                     ") must be shorter than teams_session_ttl (" +
                     format_duration(out_.teams_session_ttl) + ")");
  }

  void check_conditions(const known_states& states) {
    std::vector<std::string> known(builtin_states.begin(),
                                   builtin_states.end());
    auto add = [&](const std::string& name) {
      if (name != "*" && !contains_folded(known, name)) {
        known.push_back(name);
      }
    };
    for (const auto& n : states.names) {
      add(n);
    }
    for (const auto& [key, rule] : out_.teams_to_connect.entries) {
      if (rule.what == teams_rule::action::set_status) {
        add(rule.status);
      }
    }
    for (const auto& [key, target] : out_.connect_to_teams.entries) {
      add(key);
    }

    for (const auto& c : conditions_) {
      if (contains_folded(known, c.state)) {
        continue;
      }
      r_.error(c.at, "unknown Connect state " + c.state +
                       did_you_mean(c.state, known) +
                       " (known: " + internal::join(known) +
                       "; list custom statuses in connect.agent_statuses)");
    }
  }

  void warn_cycles(const where& at) {
    for (const auto& cycle : find_rule_cycles(out_)) {
      std::string chain;
      for (const auto& step : cycle) {
        chain += chain.empty() ? "" : " -> ";
        chain += step;
      }
      r_.warning(at, "rules can chase each other: " + chain);
    }
  }

  internal::reader& r_;
  sync_settings& out_;
  std::vector<condition> conditions_;
  std::optional<where> margin_at_;
  std::optional<where> ttl_at_;
};

/// The next status the maps lead to from `state`, with the presence between
/// them; nullopt where the chain stops.
struct hop {
  std::string via;
  std::string next;
};

std::optional<hop> next_hop(const sync_settings& s, const std::string& state) {
  auto target = s.connect_to_teams.lookup(state);
  if (!target || target->is_clear()) {
    return std::nullopt;
  }
  auto match = s.teams_to_connect.lookup(*target->value);
  if (!match || match->rule.what != teams_rule::action::set_status) {
    return std::nullopt;
  }
  const auto& rule = match->rule;
  if (rule.never_during_contact && is_contact_state(state)) {
    return std::nullopt;
  }
  if (!rule.only_when_connect_in.empty() &&
      !contains_folded(rule.only_when_connect_in, state)) {
    return std::nullopt;
  }
  // Setting the status the agent already has is `unchanged`, not a write.
  if (iequals(rule.status, state)) {
    return std::nullopt;
  }
  return hop{target->value->key(), rule.status};
}

} // namespace

sync_settings parse_sync(const YAML::Node& node, const std::string& path,
                         diagnostics& diags, const known_states* states) {
  sync_settings out;
  if (!node.IsDefined() || node.IsNull()) {
    return out;
  }
  internal::reader r{diags};
  sync_parser{r, out}.parse(node, where{path, internal::line_of(node)}, states);
  return out;
}

std::vector<std::vector<std::string>>
find_rule_cycles(const sync_settings& settings) {
  // Every hop ends on a status the teams_to_connect map sets, so every cycle
  // passes through one; each status has at most one next hop, so a walk from
  // each of them finds every cycle.
  std::vector<std::string> starts;
  for (const auto& [key, rule] : settings.teams_to_connect.entries) {
    if (rule.what == teams_rule::action::set_status &&
        !contains_folded(starts, rule.status)) {
      starts.push_back(rule.status);
    }
  }
  auto index_of = [&](const std::string& s) {
    for (std::size_t i = 0; i < starts.size(); ++i) {
      if (iequals(starts[i], s)) {
        return i;
      }
    }
    return starts.size();
  };

  std::vector<std::vector<std::string>> cycles;
  std::vector<bool> done(starts.size(), false);
  for (std::size_t first = 0; first < starts.size(); ++first) {
    std::vector<std::string> walk;
    std::vector<std::string> vias;
    std::string state = starts[first];
    while (true) {
      auto i = index_of(state);
      auto again = std::find_if(walk.begin(), walk.end(),
                                [&](auto& w) { return iequals(w, state); });
      if (again != walk.end()) {
        // A cycle: rotate it to start at its earliest rule.
        auto k = static_cast<std::size_t>(again - walk.begin());
        std::size_t best = k;
        for (std::size_t j = k; j < walk.size(); ++j) {
          if (index_of(walk[j]) < index_of(walk[best])) {
            best = j;
          }
        }
        std::vector<std::string> cycle;
        for (std::size_t n = 0; n < walk.size() - k; ++n) {
          auto j = k + (best - k + n) % (walk.size() - k);
          cycle.push_back(walk[j]);
          cycle.push_back(vias[j]);
        }
        cycle.push_back(walk[best]);
        cycles.push_back(std::move(cycle));
        break;
      }
      if (i < starts.size() && done[i]) {
        break;
      }
      auto h = next_hop(settings, state);
      if (!h) {
        break;
      }
      walk.push_back(state);
      vias.push_back(h->via);
      state = h->next;
    }
    for (const auto& w : walk) {
      auto i = index_of(w);
      if (i < starts.size()) {
        done[i] = true;
      }
    }
  }
  return cycles;
}

} // namespace presync::config
