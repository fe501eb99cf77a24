// The demo's verdict, computed from what the emulators recorded: whether
// every person's Teams session and Connect status agree with the maps,
// how many short changes were held back, how many writes and requests each
// propagated change cost, and how late the writes arrived (DESIGN.md §4).
//
// Pure: `presync demo` reads the emulators' control APIs, turns the answers
// into the plain records below and calls make_report(). Times are
// milliseconds since the Unix epoch, as both emulators (real clock) and the
// workload executor record them.
#pragma once

#include "protocol/rules.hpp"
#include "protocol/status.hpp"
#include "protocol/time.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::sim {

// -- inputs -----------------------------------------------------------------

/// One person the demo created.
struct demo_person {
  std::string name;       ///< agent0001@example.com, office0001@example.com
  std::string graph_id;   ///< the Graph user id
  std::string connect_id; ///< the Connect user id; empty for office users
};

/// An agent's effective Connect state from `at_ms` on (one agent event).
struct connect_state_change {
  std::string connect_id;
  std::int64_t at_ms = 0;
  std::string state; ///< DESIGN.md §3 name: OnContact, Lunch, LoggedOut...
};

/// One presence write the Graph emulator recorded (`/_control/writes`).
struct graph_write {
  std::int64_t at_ms = 0;
  std::string operation; ///< setPresence, clearPresence, ...
  std::string user_id;
  std::string session_id;
  std::string availability;
  std::string activity;
  int status = 0; ///< the HTTP status Graph answered
};

/// One PutUserStatus the Connect emulator received.
struct status_put_record {
  std::int64_t at_ms = 0;
  std::string connect_id;
  std::string status_name;
  std::string applied; ///< current, next or unchanged
};

/// A Teams presence the workload chose for a person (their own client or
/// preferred presence), as "Availability/Activity".
struct teams_change {
  std::string graph_id;
  std::int64_t at_ms = 0;
  std::string key;
};

/// An agent as Connect holds it when the report is made.
struct final_agent {
  std::string connect_id;
  std::string state;       ///< DESIGN.md §3 name
  std::string status_name; ///< the agent status, e.g. Meeting
};

/// What Graph shows for a person when the report is made.
struct final_presence {
  std::string graph_id;
  presence aggregate;
  /// presync's session as set (nullopt: no session, i.e. clear).
  std::optional<presence> session;
  /// What that session shows now; differs when it faded or expired.
  std::optional<presence> session_effective;
};

/// Request counts the emulators keep (`/_control/counters`).
struct request_counters {
  std::int64_t graph_batches = 0;
  std::int64_t graph_batch_subrequests = 0;
  std::int64_t graph_set_presence = 0;   ///< direct and inside batches
  std::int64_t graph_clear_presence = 0; ///< direct and inside batches
  std::int64_t graph_polls = 0;          ///< getPresencesByUserId
  std::int64_t graph_throttled = 0;
  std::int64_t graph_requests = 0; ///< every counted Graph operation
  std::int64_t connect_put_user_status = 0;
  std::int64_t connect_list_agent_statuses = 0;
  std::int64_t connect_throttled = 0;
  std::int64_t connect_requests = 0; ///< every REST operation
};

/// Returns `now - base`, field by field: what was counted in between.
request_counters counted_since(const request_counters& now,
                               const request_counters& base);

/// Everything make_report() looks at.
struct report_input {
  sync_settings sync;        ///< the tenant's settings, maps included
  std::string session_id;    ///< presync's session id (its client id)
  std::int64_t ready_ms = 0; ///< presync answered /readyz
  std::int64_t start_ms = 0; ///< the workload started
  std::int64_t end_ms = 0;   ///< the world was read
  std::vector<demo_person> persons;
  std::vector<connect_state_change> connect_changes;
  std::vector<graph_write> writes;
  std::vector<status_put_record> status_puts;
  std::vector<teams_change> teams_changes;
  std::vector<final_agent> agents;
  std::vector<final_presence> presences;
  /// Counted from start_ms to end_ms (see counted_since).
  request_counters counters;

  /// A run this close to min_hold is neither short nor long: events reach
  /// presync through Kinesis and polls, so its view of a run's length
  /// differs from the recorded one by up to about a second.
  duration hold_tolerance = std::chrono::seconds{2};
  /// How long after a short run ends a write of its value still counts as
  /// propagating it.
  duration write_grace = std::chrono::seconds{5};
  /// How long after a run that held ends a write of its value still counts
  /// as its own (writes wait behind rate limits): session writes, and
  /// PutUserStatus requests (Connect's budget can queue them for
  /// minutes). Writes are matched to runs in order, each to one run.
  duration late_session_write = std::chrono::minutes{1};
  duration late_status_put = std::chrono::minutes{10};
};

// -- the report -------------------------------------------------------------

/// A person who does not agree with the maps, and why.
struct inconsistency {
  std::string person;
  std::string why;
};

/// The verdict and the figures of one run.
struct demo_report {
  int persons = 0;
  int agents = 0;
  int office_users = 0;

  bool consistent = true;
  std::vector<inconsistency> inconsistent;

  /// Session writes repeating the value the session held (refreshes
  /// aside) plus PutUserStatus requests the emulator applied `unchanged`.
  std::int64_t redundant_writes = 0;
  std::int64_t redundant_session_writes = 0;
  std::int64_t redundant_status_puts = 0;

  /// Source changes shorter than min_hold: held back, or written anyway.
  std::int64_t short_changes_suppressed = 0;
  std::int64_t short_changes_propagated = 0;
  /// Up to ten propagated short changes, described.
  std::vector<inconsistency> short_propagated_examples;
  std::int64_t short_connect_suppressed = 0;
  std::int64_t short_teams_suppressed = 0;
  /// Runs within hold_tolerance of min_hold (judged neither way).
  std::int64_t borderline_changes = 0;

  /// Connect runs of at least min_hold whose value differs from the last
  /// one propagated (the start-up projection excluded).
  std::int64_t expected_changes = 0;
  /// Expected changes with no write of their value by their end + grace.
  std::int64_t changes_not_written = 0;
  /// Expected changes first written more than hold_tolerance before their
  /// run had held for min_hold, and up to ten of them described.
  std::int64_t early_writes = 0;
  std::vector<inconsistency> early_write_examples;

  /// presync session writes from the workload's start on, refreshes in.
  std::int64_t session_writes = 0;
  /// Session writes before the workload started: the start-up projection.
  std::int64_t startup_writes = 0;
  std::int64_t refreshes = 0;
  std::int64_t status_puts = 0;         ///< PutUserStatus requests
  std::int64_t status_puts_applied = 0; ///< of them not `unchanged`
  std::int64_t write_requests = 0;      ///< batches + direct writes + Connect
  std::int64_t propagated_changes = 0;  ///< expected + applied status puts

  double writes_per_change = 0;
  double requests_per_change = 0;
  double poll_cycles = 0;
  double poll_requests_per_cycle = 0;

  /// Delay from a run reaching min_hold to its first write at Graph.
  std::optional<std::int64_t> max_delay_ms;
  std::optional<std::int64_t> min_delay_ms;
  std::optional<std::int64_t> p50_delay_ms;
  std::optional<std::int64_t> p99_delay_ms;

  request_counters counters;

  /// Why the run failed; empty when it passed.
  std::vector<std::string> failures;

  bool passed() const { return failures.empty(); }
};

/// Maps the Connect emulator's `effective_state` (on_call, incoming,
/// after_contact_work, missed, custom, available, offline, logged_out) and
/// the agent's status name to DESIGN.md §3's effective state.
std::string state_name(std::string_view emulator_state,
                       std::string_view status_name);

/// Returns presync's session per Graph user as its writes left it: the
/// value of the last successful setPresence, or nullopt after a
/// clearPresence. Users presync never wrote to are absent.
std::map<std::string, std::optional<presence>>
sessions_from_writes(const std::vector<graph_write>& writes,
                     std::string_view session_id);

/// Checks every person against the maps (DESIGN.md §4): an agent's
/// session must equal connect_to_teams(state) and must not have faded; an
/// agent must not be left in a status only presync sets (the target of a
/// teams_to_connect rule) while their Teams key no longer maps to it; an
/// office user must carry no presync write. An agent missing from
/// `presences` is judged from `writes` alone.
std::vector<inconsistency>
check_consistency(const sync_settings& sync, std::string_view session_id,
                  const std::vector<demo_person>& persons,
                  const std::vector<final_agent>& agents,
                  const std::vector<final_presence>& presences,
                  const std::vector<graph_write>& writes);

/// Computes the report of one run.
demo_report make_report(const report_input& in);

/// Returns the report as one JSON object (keys of README.md, "The demo").
std::string report_json(const demo_report& r);

/// Returns the report as lines for the terminal.
std::string report_text(const demo_report& r);

} // namespace presync::sim
