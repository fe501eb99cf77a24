#include "protocol/rules.hpp"

namespace presync {

std::optional<teams_target>
connect_to_teams_map::lookup(std::string_view state) const {
  for (const auto& [name, target] : entries) {
    if (iequals(name, state)) {
      return target;
    }
  }
  return fallback;
}

std::optional<teams_to_connect_map::match>
teams_to_connect_map::lookup(const presence& p) const {
  auto exact = p.key();
  const std::pair<std::string, teams_rule>* bare = nullptr;
  for (const auto& entry : entries) {
    if (iequals(entry.first, exact)) {
      return match{entry.first, entry.second};
    }
    if (bare == nullptr && iequals(entry.first, p.availability)) {
      bare = &entry;
    }
  }
  if (bare != nullptr) {
    return match{bare->first, bare->second};
  }
  return std::nullopt;
}

std::string_view to_string(sync_mode m) {
  switch (m) {
  case sync_mode::bidirectional:
    return "bidirectional";
  case sync_mode::connect_to_teams:
    return "connect_to_teams";
  case sync_mode::teams_to_connect:
    return "teams_to_connect";
  case sync_mode::off:
    return "off";
  }
  return "off";
}

std::optional<sync_mode> parse_sync_mode(std::string_view text) {
  for (auto m : {sync_mode::bidirectional, sync_mode::connect_to_teams,
                 sync_mode::teams_to_connect, sync_mode::off}) {
    if (text == to_string(m)) {
      return m;
    }
  }
  return std::nullopt;
}

connect_to_teams_map sync_settings::default_connect_to_teams() {
  auto busy = teams_target::of({"Busy", "InACall"});
  auto away = teams_target::of({"Away", "Away"});
  connect_to_teams_map m;
  m.entries = {
    {"Available", teams_target::of({"Available", "Available"})},
    {"OnContact", busy},
    {"Incoming", busy},
    {"AfterContactWork", busy},
    {"Missed", away},
    {"Error", away},
    {"Offline", teams_target::clear()},
    {"LoggedOut", teams_target::clear()},
  };
  m.fallback = away;
  return m;
}

teams_to_connect_map sync_settings::default_teams_to_connect() {
  auto meeting = teams_rule::set("Meeting");
  meeting.only_when_connect_in = {"Available"};
  meeting.restore_on_exit = true;
  teams_to_connect_map m;
  m.entries = {
    {"Busy/InAMeeting", meeting},
    {"Busy/InAConferenceCall", meeting},
    {"DoNotDisturb", meeting},
    {"Away", teams_rule::ignore()},
    {"BeRightBack", teams_rule::ignore()},
    {"Offline", teams_rule::ignore()},
    {"AvailableIdle", teams_rule::ignore()},
    {"BusyIdle", teams_rule::ignore()},
    {"PresenceUnknown", teams_rule::ignore()},
  };
  return m;
}

} // namespace presync
