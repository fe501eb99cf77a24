#pragma once

// The Graph emulator's world: directory, Teams presence sessions and their
// aggregation (spec/graph.md section 4.1), tokens, knobs and counters.
// Plain C++: no sockets, no JSON. Time comes from an emulator clock that
// runs in real time or only when advanced through the control API.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace presync::graph_emulator {

/// Milliseconds since the Unix epoch on the emulator's clock.
using millis = std::int64_t;

/// Is the Teams service plan TEAMS1 (spec section 2.2).
inline constexpr const char* teams1_plan_id =
  "57ff2da0-773e-42df-b2af-ffb7a2317929";

/// Gives the emulator's notion of now: real time plus manual advances.
class emulator_clock {
 public:
  /// Starts at the current wall time; `real_time` false freezes it.
  explicit emulator_clock(bool real_time);

  /// Returns now in milliseconds since the epoch.
  millis now() const;

  /// Moves the clock forward by `ms` milliseconds.
  void advance(millis ms) { offset_ += ms; }

  /// Tells whether real time passes between advances.
  bool real_time() const { return real_time_; }

 private:
  bool real_time_;
  millis start_wall_;
  std::chrono::steady_clock::time_point start_steady_;
  millis offset_ = 0;
};

/// Formats a time as ISO 8601 UTC with a trailing Z ("2026-01-01T10:00:00Z").
std::string format_time(millis t, bool with_millis = false);

/// Parses an ISO 8601 duration "PT1H30M", "PT5M", "P1D"; nullopt if bad.
std::optional<millis> parse_duration(const std::string& text);

/// Holds one directory entry (spec section 2.1).
struct user_record {
  std::string id;
  std::string display_name;
  std::string given_name;
  std::string surname;
  std::string mail; ///< empty means null
  std::string user_principal_name;
  std::vector<std::string> business_phones;
  std::string mobile_phone; ///< empty means null
  bool account_enabled = true;
  std::string user_type = "Member";
  /// Teams plan status in assignedPlans; empty means no Teams plan.
  std::string teams_plan_status = "Enabled";
  /// Lists the Teams plan as disabled inside the licence.
  bool teams_plan_disabled = false;
  bool has_licence = true;
  std::string assigned_date = "2025-03-01T08:00:00Z";
  /// The primary Teams phone number (section 7.2), E.164 as Graph gives
  /// it; empty means none. Not an Entra property: changing it alone is
  /// no users/delta change.
  std::string teams_number;

  bool operator==(const user_record&) const = default;
};

/// Tells whether a user counts as a Teams user with presence.
bool is_teams_user(const user_record& u);

/// Holds an availability/activity pair.
struct presence_pair {
  std::string availability;
  std::string activity;
  bool operator==(const presence_pair&) const = default;
};

/// Holds one application presence session (setPresence, section 4.2).
struct app_session {
  std::string session_id;
  presence_pair requested;
  millis last_set = 0;
  millis expires_at = 0;
};

/// Holds a user-preferred presence (section 4.4).
struct preferred_presence {
  presence_pair value;
  millis expires_at = 0;
};

/// Holds everything that shapes one user's presence.
struct presence_state {
  std::optional<presence_pair> teams_client; ///< the user's own client
  std::map<std::string, app_session> sessions;
  std::optional<preferred_presence> preferred;
  bool out_of_office = false;
  std::string out_of_office_message;
  presence_pair last_aggregate{"Offline", "Offline"};
  std::string sequence_number;
};

/// Gives the effective value of an app session at `now`, applying the
/// Available fade (5 min -> Available/AvailableInactive, 10 min -> Away);
/// nullopt once the session has expired.
std::optional<presence_pair> effective_session(const app_session& s,
                                               millis now);

/// Aggregates sessions and preference as Teams does (section 4.1).
presence_pair aggregate(const presence_state& p, millis now);

/// Tells whether a pair is accepted by setPresence (section 4.2).
bool valid_set_presence_pair(const presence_pair& p);

/// Tells whether a pair is accepted by setUserPreferredPresence (4.4).
bool valid_preferred_pair(const presence_pair& p);

/// Returns the canonical PascalCase spelling of a presence value, matching
/// case-insensitively; the input unchanged when unknown.
std::string canonical_presence_value(const std::string& v);

/// Holds one entry of the directory change log used by users/delta.
struct directory_change {
  std::uint64_t seq = 0;
  std::string user_id;
  bool removed = false;
  bool permanent = false;
};

/// Holds one write received by the presence write endpoints.
struct write_record {
  millis time = 0;
  std::string operation;
  std::string user_id;
  std::string session_id;
  std::string availability;
  std::string activity;
  std::string expiration_duration;
  int status = 0;
  /// The connection was cut before the answer went out (resetNext,
  /// resetRate): the write took effect but its writer never learnt so.
  bool answer_lost = false;
};

/// Holds an issued access token.
struct token_record {
  std::string client_id;
  millis expires_at = 0;
};

/// Holds the fault-injection and limit settings.
struct knobs {
  std::int64_t throttle_limit = 0; ///< presence calls per window; 0 = off
  millis throttle_window_ms = 30000;
  /// Fraction of presence calls ($batch sub-requests included) answered
  /// 429 at random, whatever the window says: a throttling storm.
  double throttle_rate = 0.0;
  /// Retry-After of those 429s; 0 sends none.
  millis throttle_retry_after_ms = 1000;
  double error_rate = 0.0; ///< fraction of Graph calls answered 5xx
  std::uint64_t error_seed = 1;
  millis latency_ms = 0;       ///< added before every response
  double reset_rate = 0.0;     ///< fraction of responses cut mid-way
  std::int64_t reset_next = 0; ///< cut this many next responses
  bool token_endpoint_down = false;
  bool secret_expired = false;
  std::int64_t token_lifetime_s = 3599;
  /// Fail this many next top-level Graph calls ($batch included, not its
  /// sub-requests) with fail_status, before any effect.
  std::int64_t fail_next = 0;
  int fail_status = 500;
  millis fail_retry_after_ms = 0; ///< Retry-After on those; 0 = none
  /// 403 on /admin/teams/userConfigurations, as when the app lacks
  /// TeamsUserConfiguration.Read.All.
  bool teams_config_denied = false;
};

/// Holds the whole emulated tenant.
class world {
 public:
  /// Creates a tenant with `licensed_users` generated licensed users plus
  /// three that filters must drop (disabled, plan disabled, room).
  world(int licensed_users, bool real_time, std::string tenant,
        std::string client_id, std::string client_secret);

  // -- directory -------------------------------------------------------

  /// Returns the users in id order.
  const std::map<std::string, user_record>& users() const { return users_; }

  /// Adds or replaces a user and logs the change for delta.
  void put_user(const user_record& u);

  /// Sets a user's primary Teams number without a delta change; false
  /// when the user is unknown.
  bool set_teams_number(const std::string& id, const std::string& number);

  /// Removes a user; false when unknown.
  bool remove_user(const std::string& id, bool permanent);

  /// Returns a fresh generated id not in use.
  std::string next_user_id();

  /// Returns the change log (oldest first).
  const std::vector<directory_change>& changes() const { return changes_; }

  /// Returns the sequence number of the newest change.
  std::uint64_t change_seq() const { return change_seq_; }

  // -- presence --------------------------------------------------------

  /// Returns the presence state of a user, creating it on first use.
  presence_state& presence(const std::string& id);

  /// Recomputes a user's aggregate, bumping its sequence number on change.
  presence_pair refresh(const std::string& id);

  /// Recomputes every user (after a clock move).
  void refresh_all();

  // -- members -----------------------------------------------------------

  emulator_clock clock;
  std::string tenant;
  std::string client_id;
  std::string client_secret;
  knobs settings;
  std::mt19937_64 rng;
  std::map<std::string, token_record> tokens;
  std::map<std::string, std::int64_t> counters;
  std::map<int, std::int64_t> statuses;
  std::vector<write_record> writes;
  std::vector<std::string> request_log;
  millis throttle_window_start = 0;
  std::int64_t throttle_count = 0;
  std::uint64_t next_id_number = 1;

 private:
  std::map<std::string, user_record> users_;
  std::map<std::string, presence_state> presence_;
  std::vector<directory_change> changes_;
  std::uint64_t change_seq_ = 0;
  std::uint64_t presence_seq_ = 0;
};

/// Builds the generated user number `n` (stable id, name, mail, phones).
user_record generated_user(std::uint64_t n);

} // namespace presync::graph_emulator
