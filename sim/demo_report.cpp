#include "sim/demo_report.hpp"

#include "protocol/json_text.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_map>

namespace presync::sim {

namespace {

bool ok_status(int status) {
  return status >= 200 && status < 300;
}

/// What a write asks the session to show: a presence for setPresence,
/// nullopt (clear) for clearPresence; other operations are not session
/// writes.
std::optional<std::optional<presence>> written_value(const graph_write& w) {
  if (w.operation == "setPresence") {
    return std::optional<presence>{presence{w.availability, w.activity}};
  }
  if (w.operation == "clearPresence") {
    return std::optional<presence>{};
  }
  return std::nullopt;
}

std::string describe(const std::optional<presence>& p) {
  return p ? p->key() : "clear";
}

bool same(const std::optional<presence>& a, const std::optional<presence>& b) {
  if (a.has_value() != b.has_value()) {
    return false;
  }
  return !a || (iequals(a->availability, b->availability) &&
                iequals(a->activity, b->activity));
}

bool is_presync_write(const graph_write& w, std::string_view session_id) {
  return iequals(w.session_id, session_id) && written_value(w).has_value();
}

/// presync's session writes per Graph user, in time order.
std::unordered_map<std::string, std::vector<const graph_write*>>
writes_by_user(const std::vector<graph_write>& writes,
               std::string_view session_id) {
  std::unordered_map<std::string, std::vector<const graph_write*>> out;
  for (const auto& w : writes) {
    if (is_presync_write(w, session_id)) {
      out[w.user_id].push_back(&w);
    }
  }
  for (auto& [user, list] : out) {
    std::stable_sort(list.begin(), list.end(),
                     [](auto* a, auto* b) { return a->at_ms < b->at_ms; });
  }
  return out;
}

/// The statuses only presync sets: targets of teams_to_connect rules.
std::set<std::string> rule_statuses(const sync_settings& sync) {
  std::set<std::string> out;
  for (const auto& [key, rule] : sync.teams_to_connect.entries) {
    if (rule.what == teams_rule::action::set_status) {
      out.insert(rule.status);
    }
  }
  return out;
}

/// A stretch of time during which a mapped value stayed the same.
template <class Value>
struct run {
  Value value;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  bool open = false; ///< still running when the world was read
};

/// Merges (time, value) steps into runs of equal values.
template <class Value, class Same>
std::vector<run<Value>>
merge_runs(const std::vector<std::pair<std::int64_t, Value>>& steps,
           std::int64_t end_ms, Same same_value) {
  std::vector<run<Value>> runs;
  for (const auto& [at, value] : steps) {
    if (!runs.empty() && same_value(runs.back().value, value)) {
      continue;
    }
    if (!runs.empty()) {
      runs.back().end_ms = at;
    }
    runs.push_back({value, at, end_ms, false});
  }
  if (!runs.empty()) {
    runs.back().open = true;
  }
  return runs;
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {
  // Nearest rank: the smallest value with at least q of the data at or
  // below it.
  const auto n = sorted.size();
  auto rank = static_cast<std::size_t>(std::ceil(static_cast<double>(n) * q));
  return sorted[std::clamp<std::size_t>(rank, 1, n) - 1];
}

/// Describes an early write: the run, the runs before it and the Connect
/// states around its start, times relative to the run's start.
std::string
describe_early(const std::vector<run<std::optional<presence>>>& runs,
               std::size_t i, const graph_write& w,
               const std::vector<const connect_state_change*>& states) {
  const auto t0 = runs[i].start_ms;
  auto rel = [&](std::int64_t t) {
    return (t >= t0 ? "+" : "") + std::to_string(t - t0) + " ms";
  };
  std::string out = describe(runs[i].value) + " run written at " +
                    rel(w.at_ms) + "; runs before:";
  for (std::size_t k = i > 3 ? i - 3 : 0; k < i; ++k) {
    out += " " + describe(runs[k].value) + " at " + rel(runs[k].start_ms);
  }
  out += "; Connect states:";
  for (const auto* c : states) {
    if (c->at_ms >= t0 - 60000 && c->at_ms <= w.at_ms + 1000) {
      out += " " + c->state + " at " + rel(c->at_ms);
    }
  }
  return out;
}

/// Judges every Connect run of every agent: short, borderline or expected,
/// and measures the delay of expected changes.
void judge_connect_runs(const report_input& in, demo_report& r,
                        std::vector<std::int64_t>& delays) {
  const auto min_hold = in.sync.min_hold.count();
  const auto tolerance = in.hold_tolerance.count();
  const auto grace = in.write_grace.count();
  const auto late = in.late_session_write.count();
  const auto by_user = writes_by_user(in.writes, in.session_id);

  std::unordered_map<std::string, std::vector<const connect_state_change*>>
    changes;
  for (const auto& c : in.connect_changes) {
    changes[c.connect_id].push_back(&c);
  }

  for (const auto& person : in.persons) {
    if (person.connect_id.empty()) {
      continue;
    }
    auto& list = changes[person.connect_id];
    std::stable_sort(list.begin(), list.end(),
                     [](auto* a, auto* b) { return a->at_ms < b->at_ms; });

    // The mapped value over time; a state without a rule keeps the value.
    using value = std::optional<presence>;
    std::vector<std::pair<std::int64_t, value>> steps;
    value current;
    if (auto t = in.sync.connect_to_teams.lookup(connect_states::logged_out)) {
      current = t->value;
    }
    steps.emplace_back(
      std::min(in.start_ms, list.empty() ? in.start_ms : list.front()->at_ms),
      current);
    for (const auto* c : list) {
      if (auto t = in.sync.connect_to_teams.lookup(c->state)) {
        current = t->value;
      }
      steps.emplace_back(c->at_ms, current);
    }
    const auto runs = merge_runs(steps, in.end_ms, same);

    static const std::vector<const graph_write*> none;
    auto found = by_user.find(person.graph_id);
    const auto& writes = found == by_user.end() ? none : found->second;

    // Writes are matched to runs in order, each write to one run: a write
    // that arrives late for an earlier run (queued behind a rate limit)
    // is not taken for a later short run of the same value.
    std::vector<bool> claimed(writes.size(), false);
    auto claim = [&](const value& v, std::int64_t from, std::int64_t to,
                     bool until_success) -> const graph_write* {
      const graph_write* first_ok = nullptr;
      const graph_write* first = nullptr;
      for (std::size_t k = 0; k < writes.size(); ++k) {
        const auto* w = writes[k];
        if (claimed[k] || w->at_ms < from || w->at_ms > to ||
            !same(*written_value(*w), v)) {
          continue;
        }
        claimed[k] = true;
        first = first ? first : w;
        if (!until_success || ok_status(w->status)) {
          first_ok = w;
          break;
        }
      }
      return until_success ? first_ok : first;
    };

    // A run may claim a late write only until the next run of its value
    // that is not short starts: from then on the write is that run's. (A
    // short run should get no write at all, so it does not end the claim.)
    auto is_short = [&](const auto& x) {
      return !x.open && x.end_ms - x.start_ms < min_hold - tolerance;
    };
    std::vector<std::int64_t> claim_until(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      claim_until[i] = runs[i].end_ms + late;
      for (std::size_t j = i + 1; j < runs.size(); ++j) {
        if (same(runs[j].value, runs[i].value) && !is_short(runs[j])) {
          claim_until[i] = std::min(claim_until[i], runs[j].start_ms);
          break;
        }
      }
    }

    // The first run is the start-up projection: the baseline.
    value propagated = runs.front().value;
    for (std::size_t i = 1; i < runs.size(); ++i) {
      const auto& run = runs[i];
      const auto length = run.end_ms - run.start_ms;
      if (run.open && length < min_hold) {
        continue; // still holding when the world was read
      }
      if (!run.open && length < min_hold - tolerance) {
        if (const auto* w =
              claim(run.value, run.start_ms, run.end_ms + grace, false)) {
          ++r.short_changes_propagated;
          if (r.short_propagated_examples.size() < 10) {
            r.short_propagated_examples.push_back(
              {person.name, "Connect run of " + std::to_string(length) +
                              " ms: " + describe_early(runs, i, *w, list)});
          }
        } else {
          ++r.short_changes_suppressed;
          ++r.short_connect_suppressed;
        }
        continue;
      }
      if (!run.open && length < min_hold + tolerance) {
        ++r.borderline_changes;
        if (claim(run.value, run.start_ms, claim_until[i], true)) {
          propagated = run.value;
        }
        continue;
      }
      if (same(run.value, propagated)) {
        continue;
      }
      propagated = run.value;
      ++r.expected_changes;
      const auto* w = claim(run.value, run.start_ms, claim_until[i], true);
      if (!w) {
        ++r.changes_not_written;
        continue;
      }
      const auto delay = w->at_ms - (run.start_ms + min_hold);
      delays.push_back(delay);
      if (delay < -tolerance) {
        ++r.early_writes;
        if (r.early_write_examples.size() < 10) {
          r.early_write_examples.push_back(
            {person.name, describe_early(runs, i, *w, list)});
        }
      }
    }
  }
}

/// Judges the Teams changes the workload made for agents: a run shorter
/// than min_hold whose key maps to a status must not reach Connect.
/// PutUserStatus requests are matched to runs in order: a run that held
/// takes the first request of its status after its hold could end, so a
/// request queued for an earlier meeting is not blamed on a later flick.
void judge_teams_runs(const report_input& in, demo_report& r) {
  const auto min_hold = in.sync.min_hold.count();
  const auto tolerance = in.hold_tolerance.count();
  const auto grace = in.write_grace.count();
  const auto late = in.late_status_put.count();

  std::unordered_map<std::string, std::vector<const teams_change*>> changes;
  for (const auto& c : in.teams_changes) {
    changes[c.graph_id].push_back(&c);
  }
  std::unordered_map<std::string, std::vector<const status_put_record*>> puts;
  for (const auto& p : in.status_puts) {
    puts[p.connect_id].push_back(&p);
  }

  for (const auto& person : in.persons) {
    if (person.connect_id.empty()) {
      continue;
    }
    auto& list = changes[person.graph_id];
    std::stable_sort(list.begin(), list.end(),
                     [](auto* a, auto* b) { return a->at_ms < b->at_ms; });
    std::vector<std::pair<std::int64_t, std::string>> steps;
    for (const auto* c : list) {
      steps.emplace_back(c->at_ms, c->key);
    }
    const auto runs = merge_runs(
      steps, in.end_ms,
      [](const std::string& a, const std::string& b) { return iequals(a, b); });
    auto& mine = puts[person.connect_id];
    std::stable_sort(mine.begin(), mine.end(),
                     [](auto* a, auto* b) { return a->at_ms < b->at_ms; });
    std::vector<bool> claimed(mine.size(), false);
    auto claim = [&](const std::string& status, std::int64_t from,
                     std::int64_t to) -> const status_put_record* {
      for (std::size_t k = 0; k < mine.size(); ++k) {
        if (!claimed[k] && mine[k]->at_ms >= from && mine[k]->at_ms <= to &&
            iequals(mine[k]->status_name, status)) {
          claimed[k] = true;
          return mine[k];
        }
      }
      return nullptr;
    };

    for (const auto& run : runs) {
      auto key = parse_presence(run.value);
      if (!key) {
        continue;
      }
      auto match = in.sync.teams_to_connect.lookup(rule_view(*key));
      if (!match || match->rule.what != teams_rule::action::set_status) {
        continue; // nothing this change could have written
      }
      const auto& status = match->rule.status;
      const auto length = run.end_ms - run.start_ms;
      if (run.open || length >= min_hold - tolerance) {
        // It held (or nearly): its request, if any, is its own.
        claim(status, run.start_ms + min_hold - tolerance, run.end_ms + late);
        if (!run.open && length < min_hold + tolerance) {
          ++r.borderline_changes;
        }
        continue;
      }
      if (const auto* p = claim(status, run.start_ms, run.end_ms + grace)) {
        ++r.short_changes_propagated;
        if (r.short_propagated_examples.size() < 10) {
          r.short_propagated_examples.push_back(
            {person.name, "Teams " + run.value + " for " +
                            std::to_string(length) + " ms; PutUserStatus " +
                            p->status_name + " at +" +
                            std::to_string(p->at_ms - run.start_ms) + " ms"});
        }
      } else {
        ++r.short_changes_suppressed;
        ++r.short_teams_suppressed;
      }
    }
  }
}

/// Adds to each "left in status" finding when presync set that status,
/// measured from the person's last Teams change.
void explain_stranded(const report_input& in,
                      std::vector<inconsistency>& found) {
  constexpr std::string_view prefix = "left in status ";
  for (auto& x : found) {
    if (!x.why.starts_with(prefix)) {
      continue;
    }
    auto person =
      std::find_if(in.persons.begin(), in.persons.end(),
                   [&](const auto& p) { return p.name == x.person; });
    if (person == in.persons.end()) {
      continue;
    }
    const auto status = x.why.substr(
      prefix.size(), x.why.find(' ', prefix.size()) - prefix.size());
    const status_put_record* put = nullptr;
    for (const auto& p : in.status_puts) {
      if (p.connect_id == person->connect_id &&
          iequals(p.status_name, status) && (!put || p.at_ms >= put->at_ms)) {
        put = &p;
      }
    }
    const teams_change* change = nullptr;
    for (const auto& c : in.teams_changes) {
      if (c.graph_id == person->graph_id &&
          (!change || c.at_ms >= change->at_ms)) {
        change = &c;
      }
    }
    if (!put || !change) {
      continue;
    }
    char buf[128];
    const double gap = static_cast<double>(put->at_ms - change->at_ms) / 1000;
    std::snprintf(buf, sizeof buf,
                  " (presync set it %.1f s %s Teams last "
                  "changed, to %s)",
                  gap < 0 ? -gap : gap, gap < 0 ? "before" : "after",
                  change->key.c_str());
    x.why += buf;
  }
}

/// Counts session writes, refreshes and redundant writes per user.
void count_writes(const report_input& in, demo_report& r) {
  const auto refresh_after =
    (in.sync.available_refresh - std::chrono::seconds{30}).count();
  for (const auto& [user, list] : writes_by_user(in.writes, in.session_id)) {
    // Unknown until the first write: a fresh start publishes every value,
    // clear included (DESIGN.md §4, "Start").
    std::optional<std::optional<presence>> held;
    std::int64_t last_ok_ms = 0;
    for (const auto* w : list) {
      ++(w->at_ms < in.start_ms ? r.startup_writes : r.session_writes);
      const auto value = *written_value(*w);
      if (held && same(*held, value)) {
        if (value && w->at_ms - last_ok_ms >= refresh_after) {
          ++r.refreshes;
        } else {
          ++r.redundant_session_writes;
        }
      }
      if (ok_status(w->status)) {
        held = value;
        last_ok_ms = w->at_ms;
      } else if (w->status == 404 && !value) {
        held = value; // there was no session to clear
      }
    }
  }
  for (const auto& p : in.status_puts) {
    ++r.status_puts;
    if (p.applied == "unchanged") {
      ++r.redundant_status_puts;
    } else {
      ++r.status_puts_applied;
    }
  }
  r.redundant_writes = r.redundant_session_writes + r.redundant_status_puts;
}

double ratio(std::int64_t a, std::int64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

/// Builds one JSON object, key by key.
class json_object {
 public:
  json_object& raw(std::string_view k, std::string_view json) {
    key(k);
    out_ += json;
    return *this;
  }
  json_object& str(std::string_view k, std::string_view v) {
    key(k);
    append_json_string(out_, v);
    return *this;
  }
  json_object& num(std::string_view k, std::int64_t v) {
    return raw(k, std::to_string(v));
  }
  json_object& num(std::string_view k, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return raw(k, buf);
  }
  json_object& num(std::string_view k, const std::optional<std::int64_t>& v) {
    return v ? num(k, *v) : raw(k, "null");
  }
  json_object& boolean(std::string_view k, bool v) {
    return raw(k, v ? "true" : "false");
  }

  /// Returns the object's text; call once.
  std::string done() { return out_ + "}"; }

 private:
  void key(std::string_view k) {
    if (out_.size() > 1) {
      out_ += ',';
    }
    append_json_string(out_, k);
    out_ += ':';
  }

  std::string out_ = "{";
};

/// Returns [{"person":..,"why":..},...].
std::string people_list(const std::vector<inconsistency>& list) {
  std::string out = "[";
  for (const auto& x : list) {
    json_object item;
    item.str("person", x.person).str("why", x.why);
    out += out.size() > 1 ? "," : "";
    out += item.done();
  }
  return out + "]";
}

std::string ms_text(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) + " ms" : "n/a";
}

} // namespace

std::string state_name(std::string_view emulator_state,
                       std::string_view status_name) {
  if (emulator_state == "logged_out") {
    return std::string{connect_states::logged_out};
  }
  if (emulator_state == "on_call") {
    return std::string{connect_states::on_contact};
  }
  if (emulator_state == "incoming") {
    return std::string{connect_states::incoming};
  }
  if (emulator_state == "after_contact_work") {
    return std::string{connect_states::after_contact_work};
  }
  if (emulator_state == "missed") {
    return std::string{connect_states::missed};
  }
  if (emulator_state == "error") {
    return std::string{connect_states::error};
  }
  return std::string{status_name};
}

std::map<std::string, std::optional<presence>>
sessions_from_writes(const std::vector<graph_write>& writes,
                     std::string_view session_id) {
  std::map<std::string, std::optional<presence>> out;
  for (const auto& [user, list] : writes_by_user(writes, session_id)) {
    for (const auto* w : list) {
      if (ok_status(w->status)) {
        out[user] = *written_value(*w);
      }
    }
  }
  return out;
}

std::vector<inconsistency>
check_consistency(const sync_settings& sync, std::string_view session_id,
                  const std::vector<demo_person>& persons,
                  const std::vector<final_agent>& agents,
                  const std::vector<final_presence>& presences,
                  const std::vector<graph_write>& writes) {
  std::vector<inconsistency> out;
  std::unordered_map<std::string, const final_agent*> agent_of;
  for (const auto& a : agents) {
    agent_of[a.connect_id] = &a;
  }
  std::unordered_map<std::string, const final_presence*> presence_of;
  for (const auto& p : presences) {
    presence_of[p.graph_id] = &p;
  }
  const auto sessions = sessions_from_writes(writes, session_id);
  std::set<std::string> written_users;
  for (const auto& w : writes) {
    if (is_presync_write(w, session_id)) {
      written_users.insert(w.user_id);
    }
  }
  const auto only_presync = rule_statuses(sync);

  for (const auto& person : persons) {
    if (person.connect_id.empty()) {
      if (written_users.count(person.graph_id)) {
        out.push_back({person.name, "presync wrote a session for a Teams-only "
                                    "user"});
      }
      continue;
    }
    auto a = agent_of.find(person.connect_id);
    if (a == agent_of.end()) {
      out.push_back({person.name, "Connect does not list the agent"});
      continue;
    }
    const final_agent& agent = *a->second;

    // presync's session against the map.
    std::optional<presence> session;
    std::optional<presence> effective;
    const final_presence* shown = nullptr;
    if (auto p = presence_of.find(person.graph_id); p != presence_of.end()) {
      shown = p->second;
      session = shown->session;
      effective = shown->session_effective;
    } else if (auto s = sessions.find(person.graph_id); s != sessions.end()) {
      session = s->second;
      effective = session;
    }
    if (auto target = sync.connect_to_teams.lookup(agent.state)) {
      if (!same(session, target->value)) {
        out.push_back({person.name, "Connect " + agent.state + " maps to " +
                                      target->describe() +
                                      ", presync's session shows " +
                                      describe(session)});
        continue;
      }
      if (session && !same(session, effective)) {
        out.push_back({person.name, "presync's session " + describe(session) +
                                      " has faded to " + describe(effective)});
        continue;
      }
    }

    // A status only presync sets must still match the Teams key.
    const bool rule_status =
      std::any_of(only_presync.begin(), only_presync.end(),
                  [&](const auto& s) { return iequals(s, agent.status_name); });
    if (rule_status && shown) {
      auto match = sync.teams_to_connect.lookup(rule_view(shown->aggregate));
      const bool still = match &&
                         match->rule.what == teams_rule::action::set_status &&
                         iequals(match->rule.status, agent.status_name);
      if (!still) {
        out.push_back({person.name, "left in status " + agent.status_name +
                                      " while Teams shows " +
                                      shown->aggregate.key()});
      }
    }
  }
  return out;
}

request_counters counted_since(const request_counters& now,
                               const request_counters& base) {
  request_counters d;
  d.graph_batches = now.graph_batches - base.graph_batches;
  d.graph_batch_subrequests =
    now.graph_batch_subrequests - base.graph_batch_subrequests;
  d.graph_set_presence = now.graph_set_presence - base.graph_set_presence;
  d.graph_clear_presence = now.graph_clear_presence - base.graph_clear_presence;
  d.graph_polls = now.graph_polls - base.graph_polls;
  d.graph_throttled = now.graph_throttled - base.graph_throttled;
  d.graph_requests = now.graph_requests - base.graph_requests;
  d.connect_put_user_status =
    now.connect_put_user_status - base.connect_put_user_status;
  d.connect_list_agent_statuses =
    now.connect_list_agent_statuses - base.connect_list_agent_statuses;
  d.connect_throttled = now.connect_throttled - base.connect_throttled;
  d.connect_requests = now.connect_requests - base.connect_requests;
  return d;
}

demo_report make_report(const report_input& in) {
  demo_report r;
  r.persons = static_cast<int>(in.persons.size());
  for (const auto& p : in.persons) {
    (p.connect_id.empty() ? r.office_users : r.agents) += 1;
  }
  r.counters = in.counters;

  r.inconsistent = check_consistency(in.sync, in.session_id, in.persons,
                                     in.agents, in.presences, in.writes);
  r.consistent = r.inconsistent.empty();
  explain_stranded(in, r.inconsistent);

  std::vector<std::int64_t> delays;
  judge_connect_runs(in, r, delays);
  judge_teams_runs(in, r);
  count_writes(in, r);

  if (!delays.empty()) {
    std::sort(delays.begin(), delays.end());
    r.min_delay_ms = delays.front();
    r.max_delay_ms = delays.back();
    r.p50_delay_ms = percentile(delays, 0.5);
    r.p99_delay_ms = percentile(delays, 0.99);
  }

  // Writes and requests per propagated change; batch sub-requests are
  // counted by Graph as writes too, so direct writes are the rest.
  // TODO: that assumes presync batches presence writes only; exact counts
  // need the Graph emulator to count sub-requests per operation.
  const auto& c = in.counters;
  const auto direct_writes =
    std::max<std::int64_t>(0, c.graph_set_presence + c.graph_clear_presence -
                                c.graph_batch_subrequests);
  r.write_requests = c.graph_batches + direct_writes +
                     c.connect_put_user_status + c.connect_list_agent_statuses;
  r.propagated_changes = r.expected_changes + r.status_puts_applied;
  r.writes_per_change =
    ratio(r.session_writes + r.status_puts, r.propagated_changes);
  r.requests_per_change = ratio(r.write_requests, r.propagated_changes);
  const auto poll_ms = in.sync.teams_poll_interval.count();
  if (poll_ms > 0 && in.end_ms > in.start_ms) {
    r.poll_cycles = static_cast<double>(in.end_ms - in.start_ms) /
                    static_cast<double>(poll_ms);
    r.poll_requests_per_cycle =
      r.poll_cycles > 0 ? static_cast<double>(c.graph_polls) / r.poll_cycles
                        : 0.0;
  }

  if (!r.consistent) {
    r.failures.push_back(std::to_string(r.inconsistent.size()) + " of " +
                         std::to_string(r.persons) +
                         " people are inconsistent");
  }
  if (r.redundant_writes > 0) {
    r.failures.push_back(std::to_string(r.redundant_writes) +
                         " redundant writes");
  }
  if (r.short_changes_propagated > 0) {
    r.failures.push_back(std::to_string(r.short_changes_propagated) +
                         " changes shorter than min_hold were propagated");
  }
  return r;
}

std::string report_json(const demo_report& r) {
  const auto& c = r.counters;
  json_object requests;
  requests.num("graph", c.graph_requests)
    .num("graph_batches", c.graph_batches)
    .num("graph_batch_subrequests", c.graph_batch_subrequests)
    .num("graph_set_presence", c.graph_set_presence)
    .num("graph_clear_presence", c.graph_clear_presence)
    .num("graph_polls", c.graph_polls)
    .num("graph_throttled", c.graph_throttled)
    .num("connect", c.connect_requests)
    .num("connect_put_user_status", c.connect_put_user_status)
    .num("connect_list_agent_statuses", c.connect_list_agent_statuses)
    .num("connect_throttled", c.connect_throttled);

  const std::string people = people_list(r.inconsistent);

  std::string failures = "[";
  for (const auto& f : r.failures) {
    failures += failures.size() > 1 ? "," : "";
    append_json_string(failures, f);
  }
  failures += ']';

  json_object o;
  o.num("persons", std::int64_t{r.persons})
    .num("agents", std::int64_t{r.agents})
    .num("office_users", std::int64_t{r.office_users})
    .boolean("consistent", r.consistent)
    .raw("inconsistent", people)
    .num("redundant_writes", r.redundant_writes)
    .num("redundant_session_writes", r.redundant_session_writes)
    .num("redundant_status_puts", r.redundant_status_puts)
    .num("short_changes_suppressed", r.short_changes_suppressed)
    .num("short_changes_propagated", r.short_changes_propagated)
    .raw("short_propagated_examples", people_list(r.short_propagated_examples))
    .num("short_connect_changes_suppressed", r.short_connect_suppressed)
    .num("short_teams_changes_suppressed", r.short_teams_suppressed)
    .num("borderline_changes", r.borderline_changes)
    .num("expected_changes", r.expected_changes)
    .num("changes_not_written", r.changes_not_written)
    .num("early_writes", r.early_writes)
    .raw("early_write_examples", people_list(r.early_write_examples))
    .num("propagated_changes", r.propagated_changes)
    .num("session_writes", r.session_writes)
    .num("startup_writes", r.startup_writes)
    .num("refreshes", r.refreshes)
    .num("status_puts", r.status_puts)
    .num("write_requests", r.write_requests)
    .num("writes_per_change", r.writes_per_change)
    .num("requests_per_change", r.requests_per_change)
    .num("poll_cycles", r.poll_cycles)
    .num("poll_requests_per_cycle", r.poll_requests_per_cycle)
    .num("max_delay_ms", r.max_delay_ms)
    .num("min_delay_ms", r.min_delay_ms)
    .num("p50_delay_ms", r.p50_delay_ms)
    .num("p99_delay_ms", r.p99_delay_ms)
    .raw("requests", requests.done())
    .boolean("passed", r.passed())
    .raw("failures", failures);
  return o.done();
}

std::string report_text(const demo_report& r) {
  char buf[512];
  std::string o;
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    o += buf;
    o += '\n';
  };
  const auto consistent_people =
    r.persons - static_cast<int>(r.inconsistent.size());
  line("persons              %d (%d agents, %d office users)", r.persons,
       r.agents, r.office_users);
  line("consistent           %s (%d of %d, %.1f %%)",
       r.consistent ? "yes" : "NO", consistent_people, r.persons,
       r.persons ? 100.0 * consistent_people / r.persons : 100.0);
  for (std::size_t i = 0; i < r.inconsistent.size() && i < 20; ++i) {
    line("  %s: %s", r.inconsistent[i].person.c_str(),
         r.inconsistent[i].why.c_str());
  }
  if (r.inconsistent.size() > 20) {
    line("  ... and %zu more", r.inconsistent.size() - 20);
  }
  line("redundant writes     %" PRId64 " (session %" PRId64
       ", PutUserStatus unchanged %" PRId64 ")",
       r.redundant_writes, r.redundant_session_writes, r.redundant_status_puts);
  line("short changes        %" PRId64 " held back (Connect %" PRId64
       ", Teams %" PRId64 "), %" PRId64 " propagated, %" PRId64 " borderline",
       r.short_changes_suppressed, r.short_connect_suppressed,
       r.short_teams_suppressed, r.short_changes_propagated,
       r.borderline_changes);
  line("propagated changes   %" PRId64 " (Connect->Teams %" PRId64
       ", Teams->Connect %" PRId64 "; %" PRId64 " not written)",
       r.propagated_changes, r.expected_changes, r.status_puts_applied,
       r.changes_not_written);
  for (std::size_t i = 0; i < r.short_propagated_examples.size() && i < 3;
       ++i) {
    line("  propagated: %s: %s", r.short_propagated_examples[i].person.c_str(),
         r.short_propagated_examples[i].why.c_str());
  }
  if (r.early_writes > 0) {
    line("early writes         %" PRId64
         " changes written before their hold ended, e.g.",
         r.early_writes);
    for (std::size_t i = 0; i < r.early_write_examples.size() && i < 3; ++i) {
      line("  %s: %s", r.early_write_examples[i].person.c_str(),
           r.early_write_examples[i].why.c_str());
    }
  }
  line("writes               %" PRId64 " session writes (%" PRId64
       " refreshes), %" PRId64 " PutUserStatus; %" PRId64
       " start-up projection writes before that",
       r.session_writes, r.refreshes, r.status_puts, r.startup_writes);
  line("writes per change    %.3f", r.writes_per_change);
  line("requests per change  %.3f (%" PRId64 " write requests)",
       r.requests_per_change, r.write_requests);
  line("polls per cycle      %.2f (%" PRId64 " polls in %.0f cycles)",
       r.poll_requests_per_cycle, r.counters.graph_polls, r.poll_cycles);
  line("delay after hold     max %s, p99 %s, p50 %s, min %s",
       ms_text(r.max_delay_ms).c_str(), ms_text(r.p99_delay_ms).c_str(),
       ms_text(r.p50_delay_ms).c_str(), ms_text(r.min_delay_ms).c_str());
  line("requests             Graph %" PRId64 " (%" PRId64
       " throttled), Connect %" PRId64 " (%" PRId64 " throttled)",
       r.counters.graph_requests, r.counters.graph_throttled,
       r.counters.connect_requests, r.counters.connect_throttled);
  if (r.passed()) {
    line("result               PASS");
  } else {
    for (const auto& f : r.failures) {
      line("result               FAIL: %s", f.c_str());
    }
  }
  return o;
}

} // namespace presync::sim
