// The `sync:` section of a tenant, shared by the config loader and the
// scenario runner: the same keys, defaults and checks in both files
// (DESIGN.md §4; ../shared/scenarios/README.md, "Format").
#pragma once

#include "config/diagnostics.hpp"
#include "protocol/rules.hpp"

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace presync::config {

/// Connect state names a tenant may use besides the built-in effective
/// states (Available, Offline, OnContact, Incoming, AfterContactWork,
/// Missed, Error, LoggedOut): typically `connect.agent_statuses`.
struct known_states {
  std::vector<std::string> names;
};

/// Reads a `sync:` section. Starts from `sync_settings{}` and applies every
/// key present; a map given replaces that default map entirely. Map keys are
/// stored in Graph's spelling (`busy/inameeting` becomes `Busy/InAMeeting`).
/// An undefined or null `node` yields the defaults.
///
/// Ranges: min_hold and echo_window >= 0; chain_window, loop_cooldown,
/// reconcile_interval, directory_interval > 0; available_refresh in
/// (0, 5m) because Teams fades an idle Available session after 5 min;
/// teams_session_ttl 5m..4h (setPresence's limits, spec/graph.md §4.2);
/// session_refresh_margin > 0 and below teams_session_ttl;
/// teams_poll_interval >= 1s; loop_max_chain 1..1000; journal_size
/// 1..10000.
///
/// With `states`, every `only_when_connect_in` entry must name a built-in
/// state, one of `states->names`, a status the teams_to_connect map sets, or
/// a connect_to_teams key; without it (a scenario, which has no status
/// catalogue) those names are not checked. In `bidirectional` mode, rules
/// that can chase each other across the two maps are reported as a warning.
///
/// Every problem goes to `diags` under `path` (e.g. `tenants[0].sync`); the
/// returned settings then hold the defaults for the keys that were wrong.
[[nodiscard]] sync_settings parse_sync(const YAML::Node& node,
                                       const std::string& path,
                                       diagnostics& diags,
                                       const known_states* states = nullptr);

/// Returns every cycle the two maps can run through, each as the chain of
/// names it passes, e.g. {"Meeting", "DoNotDisturb/Presenting", "Lunch",
/// "Busy/InACall", "Meeting"}: a status whose connect_to_teams presence
/// matches a teams_to_connect rule that sets another status, and so on back
/// to the first. Each cycle is listed once, starting from the status whose
/// rule comes first in the teams_to_connect map.
[[nodiscard]] std::vector<std::vector<std::string>>
find_rule_cycles(const sync_settings& settings);

} // namespace presync::config
