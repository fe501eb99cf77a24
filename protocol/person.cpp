#include "protocol/person.hpp"

#include <algorithm>
#include <utility>

namespace presync {

namespace {

constexpr auto c2t = direction::connect_to_teams;
constexpr auto t2c = direction::teams_to_connect;

bool same_presence(const presence& a, const presence& b) {
  return iequals(a.availability, b.availability) &&
         iequals(a.activity, b.activity);
}

bool contains_state(const std::vector<std::string>& states,
                    std::string_view state) {
  return std::any_of(states.begin(), states.end(),
                     [&](const std::string& s) { return iequals(s, state); });
}

} // namespace

person::person(person_init init, std::shared_ptr<const sync_settings> settings)
  : id_(std::move(init.id)), has_teams_(init.has_teams),
    has_connect_(init.has_connect), settings_(std::move(settings)),
    connect_state_(std::move(init.connect_state)),
    teams_observed_(std::move(init.teams_presence)),
    journal_(static_cast<size_t>(settings_->journal_size)) {
  if (!is_system_state(connect_state_)) {
    agent_status_ = connect_state_;
  }
}

void person::set_settings(std::shared_ptr<const sync_settings> settings) {
  settings_ = std::move(settings);
  journal_.set_capacity(static_cast<size_t>(settings_->journal_size));
}

// -- small helpers
// --------------------------------------------------------------

void person::note(person_effects& out, mono_time now, decision d, direction dir,
                  std::string detail) {
  journal_entry e{now, d, dir, std::move(detail)};
  out.decisions.push_back(e);
  journal_.add(std::move(e));
}

void person::arm(person_effects& out, timer_kind k, mono_time due) {
  auto gen = ++generation_[static_cast<size_t>(k)];
  out.timers.push_back({k, gen, due});
}

bool person::is_paused(mono_time now) const {
  return paused_until_ && now < *paused_until_;
}

bool person::chained_after(const std::optional<mono_time>& last_write,
                           mono_time now) const {
  return last_write && now - *last_write <= settings_->chain_window;
}

bool person::syncs() const {
  return has_teams_ && has_connect_;
}

// -- start
// ------------------------------------------------------------------------

void person::start(start_mode mode, mono_time now, person_effects& out) {
  if (!syncs()) {
    return;
  }
  auto target = settings_->connect_to_teams.lookup(connect_state_);

  // A resumed engine trusts that its session shows the projection of the
  // current state, posted now, with no echo or chain window open.
  if (mode == start_mode::resumed) {
    session_known_ = true;
    session_ = target.value_or(teams_target::clear());
    if (!session_.is_clear()) {
      schedule_refresh(now, out);
    }
    return;
  }

  // A fresh start cannot know whether an old session lingers, so it
  // publishes the projection at once, clear included, without a hold.
  if (target && settings_->syncs_connect_to_teams()) {
    write_teams(*target, false, now, out);
  }
}

// -- Connect input
// ------------------------------------------------------------------

void person::on_connect(const std::string& state, int64_t source_ms,
                        mono_time now, person_effects& out) {
  if (!has_connect_) {
    return;
  }

  // Events of one source apply in source order; a late one is dropped.
  if (connect_source_ms_ && source_ms < *connect_source_ms_) {
    note(out, now, decision::ignored, c2t,
         "Connect event older than one already applied");
    return;
  }
  connect_source_ms_ = source_ms;
  if (state == connect_state_) {
    return;
  }

  // Record the change: the effective state, the agent status as rules see
  // it, and whether the agent kept the status presync set.
  connect_state_ = state;
  if (!is_system_state(state)) {
    // The agent chose a status while presync's write still waits: the
    // agent's choice is the newer one.
    if (connect_pending_live() && !iequals(state, agent_status_) &&
        !iequals(state, connect_pending_->status)) {
      withdraw_connect_pending(now, out, "the agent chose " + state, state);
    }
    agent_status_ = state;
  }
  if (match_ && !is_contact_state(state) &&
      !iequals(state, match_->set_status)) {
    match_->untouched = false;
  }
  if (!has_teams_) {
    return;
  }
  bool chained = chained_after(last_connect_write_at_, now);

  // A deferred teams_to_connect action waits until the state after the
  // contact has held for min_hold.
  if (deferral_) {
    if (is_contact_state(state)) {
      deferral_->due.reset();
      disarm(timer_kind::deferral);
    } else {
      deferral_->due = now + settings_->min_hold;
      arm(out, timer_kind::deferral, *deferral_->due);
    }
  }

  if (is_paused(now)) {
    note(out, now, decision::loop_paused, c2t,
         "Connect " + state + " recorded while paused");
    return;
  }
  if (!settings_->syncs_connect_to_teams()) {
    note(out, now, decision::ignored, c2t,
         "direction connect_to_teams is switched off");
    return;
  }
  project_connect_state(chained, now, out);
}

void person::project_connect_state(bool chained, mono_time now,
                                   person_effects& out) {
  auto target = settings_->connect_to_teams.lookup(connect_state_);
  if (!target) {
    cancel_c2t_hold(now, out, "Connect state has no rule");
    note(out, now, decision::no_rule, c2t,
         "no connect_to_teams entry for " + connect_state_);
    return;
  }

  // The hold runs on the mapped value: the same value keeps it running.
  if (c2t_hold_ && c2t_hold_->target == *target) {
    return;
  }

  // A value the session already shows cancels the hold and any write still
  // waiting in the queue.
  if (session_known_ && session_ == *target) {
    cancel_c2t_hold(now, out, "Connect went back to what Teams shows");
    cancel_teams_pending(now, out);
    note(out, now, decision::unchanged, c2t,
         "session already shows " + target->describe());
    return;
  }
  if (teams_pending_ && *teams_pending_ == *target) {
    cancel_c2t_hold(now, out, "Connect went back to the queued value");
    note(out, now, decision::unchanged, c2t,
         target->describe() + " is already queued");
    return;
  }

  cancel_c2t_hold(now, out, "replaced by " + target->describe());
  c2t_hold_ = c2t_hold_state{*target, now + settings_->min_hold, chained};
  arm(out, timer_kind::c2t_hold, c2t_hold_->due);
  note(out, now, decision::held, c2t,
       connect_state_ + " -> " + target->describe() + " until " +
         format_offset(c2t_hold_->due));
}

void person::cancel_c2t_hold(mono_time now, person_effects& out,
                             std::string why) {
  if (!c2t_hold_) {
    return;
  }
  note(out, now, decision::superseded, c2t,
       "hold for " + c2t_hold_->target.describe() + ": " + why);
  c2t_hold_.reset();
  disarm(timer_kind::c2t_hold);
}

void person::withdraw_connect_pending(mono_time now, person_effects& out,
                                      const std::string& why,
                                      std::string put_back) {
  if (!connect_pending_live()) {
    return;
  }
  note(out, now, decision::superseded, t2c,
       "queued write of " + connect_pending_->status + " withdrawn: " + why);
  connect_pending_->withdrawn = true;
  connect_pending_->put_back = std::move(put_back);
  write_request req;
  req.person = id_;
  req.to = side::connect;
  req.kind = write_kind::cancel;
  req.status = connect_pending_->status;
  out.writes.push_back(std::move(req));
}

void person::withdraw_ended_intent(
  const std::optional<teams_to_connect_map::match>& m, mono_time now,
  person_effects& out) {
  if (!connect_pending_live()) {
    return;
  }
  auto& w = *connect_pending_;
  bool sets_status = m && m->rule.what == teams_rule::action::set_status;

  // A restore waits for the end of a match; a key that sets a status again
  // is a new intent, so the restore is withdrawn and the match it would
  // have ended holds again (the agent still has what presync set).
  if (w.restore) {
    if (!sets_status || !w.record) {
      return;
    }
    auto rec = *w.record;
    withdraw_connect_pending(
      now, out, "Teams " + teams_observed_.key() + " asks for a status again",
      agent_status_);
    if (iequals(agent_status_, rec.set_status)) {
      match_ = std::move(rec);
    }
    return;
  }

  // A rule's write follows the Teams key. Should the agent already show
  // it (its event came before the answer), what it replaced goes back.
  if (sets_status && iequals(m->rule.status, w.status)) {
    return;
  }
  auto back = iequals(agent_status_, w.status) && w.record ? w.record->replaced
                                                           : agent_status_;
  withdraw_connect_pending(
    now, out, "Teams " + teams_observed_.key() + " no longer asks for it",
    std::move(back));
}

void person::cancel_teams_pending(mono_time now, person_effects& out) {
  if (!teams_pending_) {
    return;
  }
  note(out, now, decision::superseded, c2t,
       "queued write of " + teams_pending_->describe() + " withdrawn");
  teams_withdrawn_ = teams_pending_;
  write_request req;
  req.person = id_;
  req.to = side::teams;
  req.kind = write_kind::cancel;
  req.teams = *teams_pending_;
  out.writes.push_back(std::move(req));
  teams_pending_.reset();
}

// -- Teams input
// --------------------------------------------------------------------

void person::on_teams(const presence& observed, int64_t source_ms,
                      mono_time now, person_effects& out) {
  if (!has_teams_) {
    return;
  }
  if (teams_source_ms_ && source_ms < *teams_source_ms_) {
    note(out, now, decision::ignored, t2c,
         "Teams observation older than one already applied");
    return;
  }
  teams_source_ms_ = source_ms;
  if (same_presence(observed, teams_observed_)) {
    return;
  }
  teams_observed_ = observed;
  if (!has_connect_) {
    return;
  }
  bool chained = chained_after(
    last_teams_write_ ? std::optional{last_teams_write_->at} : std::nullopt,
    now);

  if (is_paused(now)) {
    note(out, now, decision::loop_paused, t2c,
         "Teams " + observed.key() + " recorded while paused");
    return;
  }

  // An echo of presync's last write never starts teams_to_connect.
  bool echo = last_teams_write_ && last_teams_write_->value.value() &&
              now - last_teams_write_->at <= settings_->echo_window &&
              reports_as(observed, *last_teams_write_->value.value());
  if (echo) {
    on_teams_echo(observed, chained, now, out);
    return;
  }

  if (!settings_->syncs_teams_to_connect()) {
    note(out, now, decision::ignored, t2c,
         "direction teams_to_connect is switched off");
    return;
  }

  // A new intent replaces whatever waited for a contact to end.
  if (deferral_) {
    note(out, now, decision::superseded, t2c,
         "deferral replaced by Teams " + observed.key());
    deferral_.reset();
    disarm(timer_kind::deferral);
  }

  auto match = settings_->teams_to_connect.lookup(rule_view(observed));
  check_match_exit(match, chained, now, out);
  withdraw_ended_intent(match, now, out);
  if (!match) {
    cancel_t2c_hold(now, out, "Teams key has no rule");
    note(out, now, decision::no_rule, t2c,
         "no teams_to_connect entry for " + observed.key());
    return;
  }
  if (match->rule.what == teams_rule::action::ignore) {
    cancel_t2c_hold(now, out, "Teams key is ignored");
    note(out, now, decision::ignored, t2c,
         "rule " + match->key + " says ignore");
    return;
  }

  const auto& status = match->rule.status;
  if (t2c_hold_ && iequals(t2c_hold_->rule.status, status)) {
    return;
  }
  if (iequals(agent_status_, status) ||
      (connect_pending_live() && iequals(connect_pending_->status, status))) {
    cancel_t2c_hold(now, out, "agent already has " + status);
    note(out, now, decision::unchanged, t2c, "agent already has " + status);
    return;
  }

  cancel_t2c_hold(now, out, "replaced by " + match->key);
  t2c_hold_ =
    t2c_hold_state{match->key, match->rule, now + settings_->min_hold, chained};
  arm(out, timer_kind::t2c_hold, t2c_hold_->due);
  note(out, now, decision::held, t2c,
       observed.key() + " -> " + status + " until " +
         format_offset(t2c_hold_->due));
}

void person::on_teams_echo(const presence& observed, bool chained,
                           mono_time now, person_effects& out) {
  note(out, now, decision::echo, t2c,
       observed.key() + " is presync's own " +
         last_teams_write_->value.describe());
  cancel_t2c_hold(now, out, "Teams gave way to presync's own value");
  if (settings_->syncs_teams_to_connect()) {
    withdraw_ended_intent(
      settings_->teams_to_connect.lookup(rule_view(observed)), now, out);
  }

  // A meeting that ends while only presync's session is left shows
  // presync's value: that ends the match, unless the value shows a contact.
  if (match_ && !last_teams_write_->for_contact &&
      settings_->syncs_teams_to_connect()) {
    check_match_exit(settings_->teams_to_connect.lookup(rule_view(observed)),
                     chained, now, out);
  }
}

void person::check_match_exit(
  const std::optional<teams_to_connect_map::match>& m, bool chained,
  mono_time now, person_effects& out) {
  if (!match_) {
    return;
  }
  bool sets_status = m && m->rule.what == teams_rule::action::set_status;

  // Still the same intent: an exit that was waiting is off.
  if (sets_status && iequals(m->rule.status, match_->set_status)) {
    cancel_exit_hold(now, out,
                     "Teams key matches " + match_->rule_key + " again");
    return;
  }

  // Another status is a new intent, not an exit.
  if (sets_status) {
    cancel_exit_hold(now, out, "Teams key " + m->key + " is a new intent");
    return;
  }
  if (exit_hold_) {
    return;
  }

  // Without restore_on_exit there is nothing to put back: the match ends.
  if (!match_->restore_on_exit) {
    match_.reset();
    return;
  }
  exit_hold_ = exit_hold_state{now + settings_->min_hold, chained};
  arm(out, timer_kind::exit_hold, exit_hold_->due);
  note(out, now, decision::held, t2c,
       "end of " + match_->rule_key + " until " +
         format_offset(exit_hold_->due));
}

void person::cancel_t2c_hold(mono_time now, person_effects& out,
                             std::string why) {
  if (!t2c_hold_) {
    return;
  }
  note(out, now, decision::superseded, t2c,
       "hold for " + t2c_hold_->rule.status + ": " + why);
  t2c_hold_.reset();
  disarm(timer_kind::t2c_hold);
}

void person::cancel_exit_hold(mono_time now, person_effects& out,
                              std::string why) {
  if (!exit_hold_) {
    return;
  }
  note(out, now, decision::superseded, t2c, "end of match: " + why);
  exit_hold_.reset();
  disarm(timer_kind::exit_hold);
}

// -- timers
// -------------------------------------------------------------------------

void person::on_timer(timer_kind kind, uint64_t generation, mono_time now,
                      person_effects& out) {
  if (generation != generation_[static_cast<size_t>(kind)]) {
    return;
  }
  switch (kind) {
  case timer_kind::c2t_hold:
    on_c2t_hold_due(now, out);
    break;
  case timer_kind::t2c_hold:
    on_t2c_hold_due(now, out);
    break;
  case timer_kind::exit_hold:
    on_exit_hold_due(now, out);
    break;
  case timer_kind::deferral:
    evaluate_deferral(now, out);
    break;
  case timer_kind::refresh:
    on_refresh_due(now, out);
    break;
  case timer_kind::pause_end:
    end_pause(now, out);
    break;
  }
}

void person::on_c2t_hold_due(mono_time now, person_effects& out) {
  if (!c2t_hold_) {
    return;
  }
  auto hold = std::move(*c2t_hold_);
  c2t_hold_.reset();
  write_teams(hold.target, hold.chained, now, out);
}

void person::on_t2c_hold_due(mono_time now, person_effects& out) {
  if (!t2c_hold_) {
    return;
  }
  auto hold = std::move(*t2c_hold_);
  t2c_hold_.reset();
  evaluate_rule(hold.key, hold.rule, hold.chained, now, out);
}

void person::evaluate_rule(const std::string& key, const teams_rule& rule,
                           bool chained, mono_time now, person_effects& out) {
  // Conditions in DESIGN.md §4 order: never during a contact, then the
  // Connect states the rule allows.
  if (rule.never_during_contact && is_contact_state(connect_state_)) {
    deferral_ = deferral_state{false, chained, std::nullopt};
    note(out, now, decision::deferred, t2c,
         key + " -> " + rule.status + " waits: agent is " + connect_state_);
    return;
  }
  // A status presync set itself counts before its event arrives: the
  // agent has it (the write was confirmed), the stream only lags.
  const auto& state =
    is_system_state(connect_state_) ? connect_state_ : agent_status_;
  if (!rule.only_when_connect_in.empty() &&
      !contains_state(rule.only_when_connect_in, state)) {
    note(out, now, decision::ignored, t2c,
         key + " -> " + rule.status + " only applies when Connect is in " +
           "the rule's states, not " + state);
    return;
  }
  if (iequals(agent_status_, rule.status)) {
    note(out, now, decision::unchanged, t2c,
         "agent already has " + rule.status);
    return;
  }

  // Remember what presync replaces; a chain of intents keeps the status
  // from before the first one.
  match_record rec;
  rec.rule_key = key;
  rec.set_status = rule.status;
  rec.replaced = agent_status_;
  rec.restore_on_exit = rule.restore_on_exit;
  if (match_ && match_->untouched &&
      iequals(agent_status_, match_->set_status)) {
    rec.replaced = match_->replaced;
  }
  connect_write w;
  w.status = rule.status;
  w.record = std::move(rec);
  write_connect(std::move(w), chained, now, out);
}

void person::on_exit_hold_due(mono_time now, person_effects& out) {
  if (!exit_hold_ || !match_) {
    exit_hold_.reset();
    return;
  }
  auto hold = *exit_hold_;
  exit_hold_.reset();

  // A match ends once: the record goes, whether or not a restore follows.
  auto rec = std::move(*match_);
  match_.reset();
  if (!rec.restore_on_exit) {
    return;
  }
  if (is_contact_state(connect_state_)) {
    deferral_ = deferral_state{true, hold.chained, std::nullopt};
    pending_restore_ = std::move(rec);
    note(out, now, decision::deferred, t2c,
         "restore waits: agent is " + connect_state_);
    return;
  }
  restore_if_untouched(rec, hold.chained, now, out);
}

void person::restore_if_untouched(const match_record& rec, bool chained,
                                  mono_time now, person_effects& out) {
  if (!rec.untouched) {
    note(out, now, decision::ignored, t2c,
         "no restore: the agent changed status since presync set " +
           rec.set_status);
    return;
  }
  if (rec.replaced.empty() || is_system_state(rec.replaced)) {
    note(out, now, decision::ignored, t2c,
         "no restore: nothing restorable was replaced");
    return;
  }
  if (iequals(agent_status_, rec.replaced)) {
    note(out, now, decision::unchanged, t2c,
         "agent already has " + rec.replaced);
    return;
  }
  connect_write w;
  w.status = rec.replaced;
  w.restore = true;
  w.record = rec; // the match this ends, should the restore be withdrawn
  write_connect(std::move(w), chained, now, out);
}

void person::evaluate_deferral(mono_time now, person_effects& out) {
  if (!deferral_) {
    return;
  }
  auto d = *deferral_;
  deferral_.reset();

  if (d.restore) {
    if (pending_restore_) {
      auto rec = std::move(*pending_restore_);
      pending_restore_.reset();
      restore_if_untouched(rec, d.chained, now, out);
    }
    return;
  }

  // The rule is evaluated again with the Teams key as it is now, and acts
  // at once.
  auto match = settings_->teams_to_connect.lookup(rule_view(teams_observed_));
  if (!match) {
    note(out, now, decision::no_rule, t2c,
         "deferred: no rule for Teams " + teams_observed_.key() + " now");
    return;
  }
  if (match->rule.what == teams_rule::action::ignore) {
    note(out, now, decision::ignored, t2c,
         "deferred: rule " + match->key + " now says ignore");
    return;
  }
  evaluate_rule(match->key, match->rule, d.chained, now, out);
}

void person::on_refresh_due(mono_time, person_effects& out) {
  refresh_due_.reset();
  if (!session_known_ || session_.is_clear() || teams_pending_) {
    return;
  }
  write_request req;
  req.person = id_;
  req.to = side::teams;
  req.kind = write_kind::refresh;
  req.teams = session_;
  out.writes.push_back(std::move(req));
}

void person::schedule_refresh(mono_time posted, person_effects& out) {
  session_posted_at_ = posted;
  if (session_.is_clear()) {
    refresh_due_.reset();
    disarm(timer_kind::refresh);
    return;
  }

  // Teams fades an idle Available session after 5 minutes; other values
  // live until the session's expiry.
  bool available = session_.value()->availability == "Available";
  refresh_due_ = available ? posted + settings_->available_refresh
                           : posted + settings_->teams_session_ttl -
                               settings_->session_refresh_margin;
  arm(out, timer_kind::refresh, *refresh_due_);
}

// -- writes
// -------------------------------------------------------------------------

void person::write_teams(const teams_target& target, bool chained,
                         mono_time now, person_effects& out) {
  if (teams_pending_ ? *teams_pending_ == target
                     : session_known_ && session_ == target) {
    note(out, now, decision::unchanged, c2t,
         "session already shows " + target.describe());
    return;
  }
  if (!admit_chain(chained, now, c2t, out)) {
    return;
  }
  teams_pending_ = target;
  teams_pending_for_contact_ = is_contact_state(connect_state_);
  write_request req;
  req.person = id_;
  req.to = side::teams;
  req.teams = target;
  out.writes.push_back(std::move(req));
}

void person::write_connect(connect_write w, bool chained, mono_time now,
                           person_effects& out) {
  if (!admit_chain(chained, now, t2c, out)) {
    return;
  }
  write_request req;
  req.person = id_;
  req.to = side::connect;
  req.status = w.status;
  req.during_contact = is_contact_state(connect_state_);
  connect_pending_ = std::move(w);
  out.writes.push_back(std::move(req));
}

bool person::admit_chain(bool chained, mono_time now, direction dir,
                         person_effects& out) {
  if (!chained) {
    chain_ = 0;
    return true;
  }
  if (chain_ + 1 > settings_->loop_max_chain) {
    start_pause(now, dir, out);
    return false;
  }
  ++chain_;
  return true;
}

void person::start_pause(mono_time now, direction dir, person_effects& out) {
  paused_until_ = now + settings_->loop_cooldown;
  ++out.loop_pauses;
  note(out, now, decision::loop_paused, dir,
       "chain of " + std::to_string(chain_) +
         " writes answered each other; sync paused until " +
         format_offset(*paused_until_));

  // Nothing started before the pause may act during it.
  c2t_hold_.reset();
  t2c_hold_.reset();
  exit_hold_.reset();
  deferral_.reset();
  pending_restore_.reset();
  for (auto k : {timer_kind::c2t_hold, timer_kind::t2c_hold,
                 timer_kind::exit_hold, timer_kind::deferral}) {
    disarm(k);
  }
  arm(out, timer_kind::pause_end, *paused_until_);
}

void person::end_pause(mono_time now, person_effects& out) {
  paused_until_.reset();
  chain_ = 0;

  // The session is brought to the projection of the current state at once;
  // teams_to_connect waits for the next Teams change.
  auto target = settings_->connect_to_teams.lookup(connect_state_);
  if (target && settings_->syncs_connect_to_teams()) {
    write_teams(*target, false, now, out);
  }
}

// -- results from the queues
// ------------------------------------------------------------

void person::on_write_waiting(const write_request& req, mono_time now,
                              person_effects& out) {
  note(out, now, decision::rate_limited, req.to == side::teams ? c2t : t2c,
       req.describe() + " waits for the rate limit");
}

void person::on_write_result(const write_request& req,
                             const write_outcome& outcome, mono_time now,
                             person_effects& out) {
  auto dir = req.to == side::teams ? c2t : t2c;
  bool ok = outcome.result == write_outcome::kind::ok ||
            outcome.result == write_outcome::kind::deferred;

  // The answer to a withdrawn Teams write ends the doubt about it.
  if (req.to == side::teams && req.kind == write_kind::write &&
      teams_withdrawn_ && *teams_withdrawn_ == req.teams &&
      outcome.result != write_outcome::kind::throttled) {
    teams_withdrawn_.reset();
  }

  // A refresh keeps the session alive and nothing else.
  if (req.kind == write_kind::refresh) {
    if (ok && session_known_ && session_ == req.teams) {
      schedule_refresh(now, out);
    }
    return;
  }

  // A withdrawn write left the queue unsent; the Teams side forgot it when
  // it withdrew it.
  if (outcome.result == write_outcome::kind::cancelled) {
    if (req.to == side::connect && connect_pending_ &&
        connect_pending_->withdrawn &&
        iequals(connect_pending_->status, req.status)) {
      connect_pending_.reset();
    }
    return;
  }

  // A throttled attempt is retried by the queue; the person only notes it.
  if (outcome.result == write_outcome::kind::throttled) {
    note(out, now, decision::rate_limited, dir,
         req.describe() + " throttled (HTTP " +
           std::to_string(outcome.http_status) + "), retried later");
    return;
  }

  if (!ok) {
    note(out, now, decision::failed, dir,
         req.describe() + " given up (HTTP " +
           std::to_string(outcome.http_status) + ")" +
           (outcome.reason.empty() ? "" : ": " + outcome.reason));
    if (req.to == side::teams) {
      if (teams_pending_ && *teams_pending_ == req.teams) {
        teams_pending_.reset();
      }
    } else if (connect_pending_ &&
               iequals(connect_pending_->status, req.status)) {
      connect_pending_.reset();
    }
    return;
  }

  if (req.to == side::teams) {
    on_teams_written(req.teams, now, out);
  } else {
    on_connect_written(req.status, outcome, now, out);
  }
}

void person::on_teams_written(const teams_target& value, mono_time now,
                              person_effects& out) {
  session_known_ = true;
  session_ = value;
  bool for_contact = teams_pending_for_contact_;
  if (teams_pending_ && *teams_pending_ == value) {
    teams_pending_.reset();
  }
  last_teams_write_ = last_teams_write{value, now, for_contact};
  note(out, now, decision::propagated, c2t,
       "Teams session set to " + value.describe());
  schedule_refresh(now, out);

  // A write withdrawn while it was already on its way has landed anyway:
  // bring the session back to the projection of the current state.
  if (!teams_pending_ && !c2t_hold_ && !is_paused(now)) {
    auto target = settings_->connect_to_teams.lookup(connect_state_);
    if (target && !(*target == session_)) {
      write_teams(*target, false, now, out);
    }
  }
}

void person::on_connect_written(const std::string& status,
                                const write_outcome& outcome, mono_time now,
                                person_effects& out) {
  last_connect_write_at_ = now;
  std::optional<connect_write> w;
  if (connect_pending_ && iequals(connect_pending_->status, status)) {
    w = std::move(*connect_pending_);
    connect_pending_.reset();
  }
  // The agent has the status now, though it is projected to Teams only
  // when its event arrives; a deferred write only queued the next status.
  if (outcome.result == write_outcome::kind::ok) {
    agent_status_ = status;
  }
  if (w && w->withdrawn) {
    on_connect_withdrawn_landed(*w, now, out);
    return;
  }
  bool restore = w && w->restore;
  if (w && w->record && !restore) {
    match_ = std::move(w->record);
  }
  auto what = outcome.result == write_outcome::kind::deferred
                ? "Connect next status set to " + status
                : "Connect status set to " + status;
  note(out, now, restore ? decision::restored : decision::propagated, t2c,
       what);
}

void person::on_connect_withdrawn_landed(const connect_write& w, mono_time now,
                                         person_effects& out) {
  note(out, now, decision::propagated, t2c,
       "Connect status set to " + w.status +
         " by a write withdrawn too late to stop");

  // A restore withdrawn for a new intent is done all the same: the match
  // it ended is over, and the Teams key as it is now is that new intent.
  if (w.restore) {
    match_.reset();
    hold_current_teams_intent(now, out);
    return;
  }
  if (w.put_back.empty() || is_system_state(w.put_back) ||
      iequals(w.put_back, w.status) || is_paused(now)) {
    return;
  }
  connect_write back;
  back.status = w.put_back;
  back.restore = true;
  write_connect(std::move(back), false, now, out);
}

void person::hold_current_teams_intent(mono_time now, person_effects& out) {
  if (!settings_->syncs_teams_to_connect() || is_paused(now) || t2c_hold_) {
    return;
  }
  auto m = settings_->teams_to_connect.lookup(rule_view(teams_observed_));
  if (m && m->rule.what == teams_rule::action::set_status &&
      !iequals(agent_status_, m->rule.status)) {
    t2c_hold_ =
      t2c_hold_state{m->key, m->rule, now + settings_->min_hold, false};
    arm(out, timer_kind::t2c_hold, t2c_hold_->due);
    note(out, now, decision::held, t2c,
         teams_observed_.key() + " -> " + m->rule.status + " until " +
           format_offset(t2c_hold_->due));
  }
}

// -- observers
// ------------------------------------------------------------------------

person_view person::view() const {
  person_view v;
  v.id = id_;
  v.connect_state = connect_state_;
  v.agent_status = agent_status_;
  v.teams_observed = teams_observed_;
  if (session_known_) {
    v.session = session_;
  }
  v.teams_pending = teams_pending_;
  if (connect_pending_live()) {
    v.connect_pending = connect_pending_->status;
  }
  if (c2t_hold_) {
    v.c2t_hold = c2t_hold_->target;
    v.c2t_hold_due = c2t_hold_->due;
  }
  if (t2c_hold_) {
    v.t2c_hold = t2c_hold_->rule.status;
    v.t2c_hold_due = t2c_hold_->due;
  }
  v.deferred = deferral_.has_value();
  if (match_ && match_->restore_on_exit) {
    v.restore_to = match_->replaced;
  }
  v.chain = chain_;
  v.paused_until = paused_until_;
  return v;
}

std::vector<timer_request> person::pending_timers() const {
  std::vector<timer_request> out;
  auto add = [&](timer_kind k, std::optional<mono_time> due) {
    if (due) {
      out.push_back({k, generation_[static_cast<size_t>(k)], *due});
    }
  };
  add(timer_kind::c2t_hold,
      c2t_hold_ ? std::optional{c2t_hold_->due} : std::nullopt);
  add(timer_kind::t2c_hold,
      t2c_hold_ ? std::optional{t2c_hold_->due} : std::nullopt);
  add(timer_kind::exit_hold,
      exit_hold_ ? std::optional{exit_hold_->due} : std::nullopt);
  add(timer_kind::deferral, deferral_ ? deferral_->due : std::nullopt);
  add(timer_kind::refresh, refresh_due_);
  add(timer_kind::pause_end, paused_until_);
  return out;
}

} // namespace presync
