// The two admin-editable maps and the tenant's sync settings
// (DESIGN.md §4, "Maps", "Teams keys", "Conditions", "Direction switches").
#pragma once

#include "protocol/status.hpp"
#include "protocol/time.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presync {

/// What presync's Teams session should show: a presence, or no session at
/// all (`clear` withdraws it).
struct teams_target {
  std::optional<presence> value; ///< nullopt means clear

  static teams_target clear() { return {}; }
  static teams_target of(presence p) { return {std::move(p)}; }

  bool is_clear() const { return !value.has_value(); }

  /// Returns "Busy/InACall" or "clear".
  std::string describe() const { return value ? value->key() : "clear"; }

  friend bool operator==(const teams_target&, const teams_target&) = default;
};

/// Maps an effective Connect state to what presync's session shows.
struct connect_to_teams_map {
  /// Entries by state name; names match case-insensitively.
  std::vector<std::pair<std::string, teams_target>> entries;

  /// The `*` entry: every state the map does not list.
  std::optional<teams_target> fallback;

  /// Returns the target for `state`, or nullopt when no entry applies
  /// (`no_rule`: the session is left as it is).
  std::optional<teams_target> lookup(std::string_view state) const;
};

/// One teams_to_connect entry: set an agent status, or ignore the key.
struct teams_rule {
  enum class action : uint8_t { set_status, ignore };

  action what = action::ignore;
  std::string status;                            ///< for set_status
  std::vector<std::string> only_when_connect_in; ///< empty: any state
  bool never_during_contact = true;
  bool restore_on_exit = false;

  static teams_rule ignore() { return {}; }
  static teams_rule set(std::string status) {
    teams_rule r;
    r.what = action::set_status;
    r.status = std::move(status);
    return r;
  }

  friend bool operator==(const teams_rule&, const teams_rule&) = default;
};

/// Maps a Teams key to a teams_rule. A key with `/` matches exactly and wins
/// over a bare availability key, which matches any activity.
struct teams_to_connect_map {
  /// Entries by key as written ("Busy", "Busy/InAMeeting"), in Graph's
  /// spelling; matching is case-insensitive.
  std::vector<std::pair<std::string, teams_rule>> entries;

  struct match {
    std::string key;
    teams_rule rule;
  };

  /// Returns the rule for a presence (as rule_view() shows it), or nullopt
  /// when no entry applies (`no_rule`).
  std::optional<match> lookup(const presence& p) const;
};

/// Which directions a tenant syncs.
enum class sync_mode : uint8_t {
  bidirectional,
  connect_to_teams,
  teams_to_connect,
  off,
};

std::string_view to_string(sync_mode m);
std::optional<sync_mode> parse_sync_mode(std::string_view text);

/// Every key of a tenant's `sync:` section, with DESIGN.md §4's defaults.
struct sync_settings {
  sync_mode mode = sync_mode::bidirectional;
  duration min_hold = std::chrono::seconds{15};
  duration echo_window = std::chrono::minutes{2};
  duration chain_window = std::chrono::seconds{30};
  int loop_max_chain = 6;
  duration loop_cooldown = std::chrono::minutes{15};
  duration available_refresh = std::chrono::minutes{4};
  duration teams_session_ttl = std::chrono::hours{1};
  /// How long before the session's expiry a non-Available session is
  /// refreshed.
  duration session_refresh_margin = std::chrono::minutes{5};
  duration reconcile_interval = std::chrono::minutes{60};
  duration directory_interval = std::chrono::minutes{5};
  duration teams_poll_interval = std::chrono::seconds{5};
  /// Decisions kept per person.
  int journal_size = 50;

  connect_to_teams_map connect_to_teams = default_connect_to_teams();
  teams_to_connect_map teams_to_connect = default_teams_to_connect();

  bool syncs_connect_to_teams() const {
    return mode == sync_mode::bidirectional ||
           mode == sync_mode::connect_to_teams;
  }
  bool syncs_teams_to_connect() const {
    return mode == sync_mode::bidirectional ||
           mode == sync_mode::teams_to_connect;
  }

  /// The default maps of ../shared/scenarios/README.md.
  static connect_to_teams_map default_connect_to_teams();
  static teams_to_connect_map default_teams_to_connect();
};

} // namespace presync
