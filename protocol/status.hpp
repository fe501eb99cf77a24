// The status model of both platforms (DESIGN.md §3).
//
// Teams: a presence is an availability plus an activity, compared
// case-insensitively and kept in Graph's PascalCase spelling. Connect: the
// sync core works on an agent's *effective state*, derived from its contacts
// first and its agent status second.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presync {

// -- Teams ------------------------------------------------------------------

/// A Teams presence: availability plus activity, e.g. Busy/InACall.
struct presence {
  std::string availability;
  std::string activity;

  /// Returns "Availability/Activity".
  std::string key() const { return availability + "/" + activity; }

  friend bool operator==(const presence&, const presence&) = default;
};

/// Parses "Busy/InACall" or "Busy" (activity equals availability).
/// Known values are folded to Graph's spelling whatever their case; unknown
/// ones are kept as given. nullopt for an empty or malformed text.
std::optional<presence> parse_presence(std::string_view text);

/// Returns Graph's spelling of a known availability or activity value
/// (case-insensitive), or nullopt for an unknown one.
std::optional<std::string_view> canonical_availability(std::string_view v);
std::optional<std::string_view> canonical_activity(std::string_view v);

/// Returns the presence as rules see it: unknown values read as
/// PresenceUnknown (spec/graph.md §3.2).
presence rule_view(const presence& p);

/// Returns true if an application session may publish `p` with setPresence
/// (spec/graph.md §4.2).
bool is_publishable(const presence& p);

/// Lists the pairs setPresence accepts, for error messages.
std::span<const presence> publishable_presences();

/// Returns true if `observed` is what Teams may report for a session that
/// holds `written`: same availability, and the written activity or the
/// generic one (Busy/Busy for a written Busy/InACall).
bool reports_as(const presence& observed, const presence& written);

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

// -- Connect ----------------------------------------------------------------

/// Effective-state names that are not agent status names (DESIGN.md §3).
namespace connect_states {
inline constexpr std::string_view on_contact = "OnContact";
inline constexpr std::string_view incoming = "Incoming";
inline constexpr std::string_view after_contact_work = "AfterContactWork";
inline constexpr std::string_view missed = "Missed";
inline constexpr std::string_view error = "Error";
inline constexpr std::string_view logged_out = "LoggedOut";
inline constexpr std::string_view available = "Available";
inline constexpr std::string_view offline = "Offline";
} // namespace connect_states

/// Returns true for OnContact, Incoming and AfterContactWork: the states in
/// which teams_to_connect rules are deferred by default.
bool is_contact_state(std::string_view state);

/// Returns true for the states presync derives rather than reads from an
/// agent status: the contact states, Missed, Error and LoggedOut.
bool is_system_state(std::string_view state);

/// One contact as listed in an agent snapshot (spec/connect.md §1.2).
struct contact_view {
  std::string state; ///< CONNECTING, CONNECTED, ENDED, MISSED, ...
  std::string channel;
};

/// What the sync core needs of a Connect agent snapshot.
struct agent_snapshot {
  std::string status_name; ///< AgentStatus.Name, e.g. Available, Lunch
  std::vector<contact_view> contacts;
  bool logged_out = false; ///< the last event was LOGOUT
};

/// Derives the effective state: on a contact, incoming, after-contact work,
/// missed/error, then the status name; LoggedOut after LOGOUT.
std::string effective_state(const agent_snapshot& snapshot);

} // namespace presync
