// The person state machine: the one place where sync decisions are made
// (DESIGN.md §2, "Person actor", and §4).
//
// A person holds both sides' current state, the value presync last wrote to
// each side, the pending holds and the decision journal. Every input is a
// plain value with the current instant; every output is a write request or
// a timer request collected in `person_effects`. The same machine runs in
// production (wrapped by actors/person_actor) and in the scenario runner.
// A person is a value type: a copy is a complete snapshot, which is how the
// tenant supervisor restarts a failed person actor.
#pragma once

#include "protocol/internal/compact.hpp"
#include "protocol/journal.hpp"
#include "protocol/messages.hpp"
#include "protocol/rules.hpp"
#include "protocol/status.hpp"
#include "protocol/time.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace presync {

/// What one call into a person asks of its owner.
struct person_effects {
  std::vector<write_request> writes;    ///< submit to (or cancel at) a queue
  std::vector<timer_request> timers;    ///< arm these
  std::vector<journal_entry> decisions; ///< appended to the journal now
  int loop_pauses = 0;                  ///< loop-guard pauses that started now
};

/// How a person starts (DESIGN.md §4, "Start").
enum class start_mode : uint8_t {
  fresh,   ///< no stored state: publish at once, move no Connect status
  resumed, ///< stored state: the session counts as posted at start
};

/// The initial facts about a person.
struct person_init {
  std::string id;
  bool has_teams = true;
  bool has_connect = true;
  std::string connect_state = std::string{connect_states::offline};
  presence teams_presence{"PresenceUnknown", "PresenceUnknown"};
};

/// A read-only view for the API, the CLI and tests.
struct person_view {
  std::string id;
  std::string connect_state;
  std::string agent_status;
  std::optional<presence> teams_observed;
  std::optional<teams_target> session; ///< nullopt: not known (fresh start)
  std::optional<teams_target> teams_pending;
  std::optional<std::string> connect_pending;
  std::optional<teams_target> c2t_hold;
  std::optional<mono_time> c2t_hold_due;
  std::optional<std::string> t2c_hold;
  std::optional<mono_time> t2c_hold_due;
  bool deferred = false;
  std::optional<std::string> restore_to; ///< status a restore would put back
  int chain = 0;
  std::optional<mono_time> paused_until;
};

class person {
 public:
  person(person_init init, std::shared_ptr<const sync_settings> settings);

  // -- inputs ---------------------------------------------------------------

  /// Starts the machine; called once before any other input.
  void start(start_mode mode, mono_time now, person_effects& out);

  /// A new effective Connect state; `source_ms` orders events of this side.
  void on_connect(const std::string& state, int64_t source_ms, mono_time now,
                  person_effects& out);

  /// A newly observed Teams presence; `source_ms` orders events of this side.
  void on_teams(const presence& observed, int64_t source_ms, mono_time now,
                person_effects& out);

  /// A timer armed through person_effects came due.
  void on_timer(timer_kind kind, uint64_t generation, mono_time now,
                person_effects& out);

  /// The queue of `req.to` reports how an attempt of `req` went.
  void on_write_result(const write_request& req, const write_outcome& outcome,
                       mono_time now, person_effects& out);

  /// The queue says `req` waits (Retry-After or token bucket).
  void on_write_waiting(const write_request& req, mono_time now,
                        person_effects& out);

  /// Swaps in new settings (config reload); running holds keep their due.
  void set_settings(std::shared_ptr<const sync_settings> settings);

  // -- observers ------------------------------------------------------------

  const std::string& id() const { return id_; }
  bool has_teams() const { return has_teams_; }
  bool has_connect() const { return has_connect_; }
  const journal& decisions() const { return journal_; }
  person_view view() const;
  /// True for a person resumed while a Teams write's answer was
  /// outstanding: its session is written again whatever it shows.
  bool session_in_doubt() const { return session_in_doubt_; }

  /// Lists the timers that are live now, for re-arming after a restart.
  std::vector<timer_request> pending_timers() const;

  // -- persistence ------------------------------------------------------------

  /// protocol/person_record.cpp writes the machine to a stored record and
  /// rebuilds it from one after a process restart (issue #6).
  friend struct person_record_access;

 private:
  // -- hold bookkeeping -----------------------------------------------------

  // Status names, presences and Teams targets are held as
  // protocol/internal/compact.hpp handles (8 bytes each), and members that
  // are rarely set live on the heap, so that a person, which its actor
  // copies after every input, is small (docs/PERFORMANCE.md).
  using name = internal::name;
  using compact_target = internal::compact_target;
  template <class T>
  using boxed_optional = internal::boxed_optional<T>;

  struct c2t_hold_state {
    compact_target target;
    mono_time due;
    bool chained = false;
  };

  struct t2c_hold_state {
    std::string key;
    teams_rule rule;
    mono_time due;
    bool chained = false;
  };

  struct exit_hold_state {
    mono_time due;
    bool chained = false;
  };

  /// A teams_to_connect action that waits for a contact to end.
  struct deferral_state {
    bool restore = false; ///< a restore rather than a rule
    bool chained = false;
    std::optional<mono_time> due; ///< armed once the contact is over
  };

  /// What presync replaced when it acted on a Teams key.
  struct match_record {
    name rule_key;
    name set_status;
    name replaced;
    bool restore_on_exit = false;
    bool untouched = true; ///< the agent kept set_status since
  };

  /// The Teams write presync last made (for echo and chain windows).
  struct last_teams_write {
    compact_target value;
    mono_time at;
    bool for_contact = false; ///< made while the agent was on a contact
  };

  /// A Connect write in flight and the record it creates once done (a
  /// rule's write), or the record it ends (a restore).
  struct connect_write {
    name status;
    bool restore = false;
    std::optional<match_record> record;
    /// Withdrawn because its reason ended before it was sent. Should it
    /// have been on its way already and land, `put_back` (the agent's
    /// status when it was withdrawn) is written back.
    bool withdrawn = false;
    name put_back;
  };

  // -- steps ----------------------------------------------------------------

  void note(person_effects& out, mono_time now, decision d, direction dir,
            std::string detail);
  void arm(person_effects& out, timer_kind k, mono_time due);
  void disarm(timer_kind k) { ++generation_[static_cast<size_t>(k)]; }
  bool is_paused(mono_time now) const;
  bool chained_after(const std::optional<mono_time>& last_write,
                     mono_time now) const;
  bool syncs() const;

  void project_connect_state(bool chained, mono_time now, person_effects& out);
  void cancel_c2t_hold(mono_time now, person_effects& out, std::string why);
  void cancel_t2c_hold(mono_time now, person_effects& out, std::string why);
  void cancel_exit_hold(mono_time now, person_effects& out, std::string why);
  void cancel_teams_pending(mono_time now, person_effects& out);
  bool connect_pending_live() const {
    return connect_pending_ && !connect_pending_->withdrawn;
  }
  void withdraw_connect_pending(mono_time now, person_effects& out,
                                const std::string& why, std::string put_back);
  void
  withdraw_ended_intent(const std::optional<teams_to_connect_map::match>& m,
                        mono_time now, person_effects& out);
  void on_connect_withdrawn_landed(const connect_write& w, mono_time now,
                                   person_effects& out);
  /// Holds the status the current Teams key asks for, if the agent lacks
  /// it: a new intent once the match before it is over.
  void hold_current_teams_intent(mono_time now, person_effects& out);

  void on_teams_echo(const presence& observed, bool chained, mono_time now,
                     person_effects& out);
  void check_match_exit(const std::optional<teams_to_connect_map::match>& m,
                        bool chained, mono_time now, person_effects& out);
  void evaluate_rule(const std::string& key, const teams_rule& rule,
                     bool chained, mono_time now, person_effects& out);
  void restore_if_untouched(const match_record& rec, bool chained,
                            mono_time now, person_effects& out);
  void evaluate_deferral(mono_time now, person_effects& out);

  void write_teams(const teams_target& target, bool chained, mono_time now,
                   person_effects& out);
  void write_connect(connect_write w, bool chained, mono_time now,
                     person_effects& out);
  bool admit_chain(bool chained, mono_time now, direction dir,
                   person_effects& out);
  void start_pause(mono_time now, direction dir, person_effects& out);
  void end_pause(mono_time now, person_effects& out);
  void schedule_refresh(mono_time posted, person_effects& out);
  void on_teams_written(const teams_target& value, mono_time now,
                        person_effects& out);
  void on_connect_written(const std::string& status,
                          const write_outcome& outcome, mono_time now,
                          person_effects& out);

  void on_c2t_hold_due(mono_time now, person_effects& out);
  void on_t2c_hold_due(mono_time now, person_effects& out);
  void on_exit_hold_due(mono_time now, person_effects& out);
  void on_refresh_due(mono_time now, person_effects& out);

  // -- member variables -----------------------------------------------------

  // The flags and the loop guard's chain come first, so that they share
  // one 8-byte word.
  std::string id_;
  bool has_teams_;
  bool has_connect_;
  bool session_known_ = false; ///< presync's session value is known
  bool teams_pending_for_contact_ = false;
  bool session_in_doubt_ = false;
  int chain_ = 0; ///< loop guard (DESIGN.md §4, "Loop guard")
  std::shared_ptr<const sync_settings> settings_;

  // Connect side: effective state and the last non-system state (the agent
  // status as far as rules and restores are concerned).
  name connect_state_;
  name agent_status_;
  std::optional<int64_t> connect_source_ms_;

  // Teams side as observed (the aggregate of all sessions).
  internal::compact_presence teams_observed_;
  std::optional<int64_t> teams_source_ms_;

  // presync's own session: what it holds once a write succeeded, and what
  // was asked of the queue but is not confirmed yet.
  compact_target session_;
  internal::optional_instant session_posted_at_;
  std::optional<compact_target> teams_pending_;
  /// A Teams write withdrawn while it may already have been on its way,
  /// until its answer comes: should presync stop before then, nobody knows
  /// what the session shows.
  std::optional<compact_target> teams_withdrawn_;
  std::optional<last_teams_write> last_teams_write_;

  boxed_optional<connect_write> connect_pending_;
  internal::optional_instant last_connect_write_at_;

  std::optional<c2t_hold_state> c2t_hold_;
  boxed_optional<t2c_hold_state> t2c_hold_;
  std::optional<exit_hold_state> exit_hold_;
  std::optional<deferral_state> deferral_;
  boxed_optional<match_record> match_;
  boxed_optional<match_record> pending_restore_; ///< a deferred restore
  internal::optional_instant refresh_due_;
  internal::optional_instant paused_until_; ///< loop guard

  /// The generation of each timer kind's latest request. 32 bits: four
  /// billion holds of one kind for one person are out of reach.
  std::array<uint32_t, timer_kind_count> generation_{};
  journal journal_;
};

} // namespace presync
