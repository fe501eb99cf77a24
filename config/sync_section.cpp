#include "config/sync_section.hpp"

namespace presync::config {

// TODO: interim reader covering the keys scenarios use; replaced by the
// full config loader's parse_sync once it lands (same semantics, plus
// did-you-mean and range checks).
sync_settings parse_sync_section(const YAML::Node& node,
                                 const std::string& path,
                                 std::vector<std::string>& problems) {
  sync_settings s;
  if (!node.IsMap()) {
    problems.push_back(path + ": expected a mapping");
    return s;
  }
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    auto where = path + "." + key;
    const auto& v = kv.second;
    auto dur = [&](duration& field) {
      auto d = v.IsScalar() ? parse_duration(v.Scalar()) : std::nullopt;
      if (!d) {
        problems.push_back(where + ": expected a duration like 15s");
        return;
      }
      field = *d;
    };
    if (key == "mode") {
      auto m = parse_sync_mode(v.as<std::string>());
      if (!m) {
        problems.push_back(where + ": unknown mode");
      } else {
        s.mode = *m;
      }
    } else if (key == "min_hold") {
      dur(s.min_hold);
    } else if (key == "echo_window") {
      dur(s.echo_window);
    } else if (key == "chain_window") {
      dur(s.chain_window);
    } else if (key == "loop_cooldown") {
      dur(s.loop_cooldown);
    } else if (key == "available_refresh") {
      dur(s.available_refresh);
    } else if (key == "teams_session_ttl") {
      dur(s.teams_session_ttl);
    } else if (key == "loop_max_chain") {
      s.loop_max_chain = v.as<int>();
    } else if (key == "connect_to_teams") {
      s.connect_to_teams = {};
      for (const auto& e : v) {
        auto state = e.first.as<std::string>();
        auto text = e.second.as<std::string>();
        teams_target t;
        if (text != "clear") {
          auto p = parse_presence(text);
          if (!p) {
            problems.push_back(where + "." + state + ": bad presence");
            continue;
          }
          t = teams_target::of(*p);
        }
        if (state == "*") {
          s.connect_to_teams.fallback = t;
        } else {
          s.connect_to_teams.entries.emplace_back(state, t);
        }
      }
    } else if (key == "teams_to_connect") {
      s.teams_to_connect = {};
      for (const auto& e : v) {
        auto k = e.first.as<std::string>();
        auto p = parse_presence(k);
        auto name = k.find('/') == std::string::npos && p ? p->availability
                                                          : (p ? p->key() : k);
        if (e.second.IsScalar()) {
          s.teams_to_connect.entries.emplace_back(name, teams_rule::ignore());
          continue;
        }
        auto rule = teams_rule::set(e.second["status"].as<std::string>());
        if (auto w = e.second["only_when_connect_in"]) {
          rule.only_when_connect_in = w.as<std::vector<std::string>>();
        }
        if (auto n = e.second["never_during_contact"]) {
          rule.never_during_contact = n.as<bool>();
        }
        if (auto r = e.second["restore_on_exit"]) {
          rule.restore_on_exit = r.as<bool>();
        }
        s.teams_to_connect.entries.emplace_back(name, rule);
      }
    } else {
      problems.push_back(where + ": unknown key");
    }
  }
  return s;
}

} // namespace presync::config
