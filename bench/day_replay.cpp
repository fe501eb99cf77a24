#include "bench/day_replay.hpp"

#include "emulators/graph/model.hpp"
#include "protocol/person.hpp"
#include "protocol/rules.hpp"
#include "protocol/write_queue.hpp"
#include "sim/workload.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <vector>

namespace presync::bench {

namespace {

using namespace std::chrono_literals;
namespace ge = graph_emulator;

constexpr int presence_ids_per_read = 650; // getPresencesByUserId
constexpr int writes_per_batch = 20;       // JSON $batch
constexpr duration kinesis_latency = 1s;   // an agent event reaches presync
constexpr duration reference_poll = 5s;    // the polling policy's interval

// -- the day as it happens --------------------------------------------------

/// What one person does, as the platforms see it.
struct truth_event {
  duration at;
  int person;
  bool connect; ///< an effective Connect state, else the user's own Teams
  std::string state;
  std::optional<presence> client;    ///< the Teams client
  std::optional<presence> preferred; ///< DoNotDisturb set by the user
};

/// One agent's Connect side: the status and the contact in progress.
struct agent_model {
  std::string status = "Offline";
  std::string contact; ///< Incoming, OnContact, AfterContactWork, Missed
  std::optional<std::string> next_status; ///< a PutUserStatus during one
  std::string effective() const { return contact.empty() ? status : contact; }
};

presence presence_of(const std::string& key) {
  return parse_presence(key).value_or(presence{"Available", "Available"});
}

/// Turns the workload's actions into per-person changes, as the
/// platforms would report them without presync.
std::vector<truth_event> make_truth(const std::vector<sim::action>& actions,
                                    int agents, int persons) {
  std::vector<agent_model> connect(static_cast<size_t>(agents));
  std::vector<std::optional<presence>> preferred(static_cast<size_t>(persons));
  std::vector<presence> client(static_cast<size_t>(persons),
                               presence{"Available", "Available"});
  std::vector<truth_event> out;
  for (const auto& a : actions) {
    const auto i = static_cast<size_t>(a.person);
    if (a.person < agents && a.kind != sim::action_kind::teams_client &&
        a.kind != sim::action_kind::dnd_on &&
        a.kind != sim::action_kind::dnd_off) {
      auto& m = connect[i];
      auto before = m.effective();
      switch (a.kind) {
      case sim::action_kind::login:
        m.status = "Available";
        break;
      case sim::action_kind::offer_contact:
        m.contact = "Incoming";
        break;
      case sim::action_kind::connect_contact:
        m.contact = "OnContact";
        break;
      case sim::action_kind::end_contact:
        m.contact = "AfterContactWork";
        break;
      case sim::action_kind::miss_contact:
        m.contact = "Missed";
        break;
      case sim::action_kind::clear_contact:
        m.contact.clear();
        break;
      case sim::action_kind::set_status:
        m.status = a.value;
        break;
      default:
        break;
      }
      if (m.effective() != before) {
        out.push_back({a.at, a.person, true, m.effective(), {}, {}});
      }
      continue;
    }
    switch (a.kind) {
    case sim::action_kind::teams_client:
      client[i] = presence_of(a.value);
      break;
    case sim::action_kind::dnd_on:
      preferred[i] = presence_of(a.value);
      break;
    case sim::action_kind::dnd_off:
      preferred[i].reset();
      break;
    default:
      break;
    }
    out.push_back({a.at, a.person, false, {}, client[i], preferred[i]});
  }
  return out;
}

/// Counts writes that the same policy replaced within min_hold: values a
/// user saw flash.
class reset_counter {
 public:
  reset_counter(int persons, duration min_hold)
    : last_(static_cast<size_t>(persons)), min_hold_(min_hold) {}

  void on_write(int person, duration at) {
    auto& last = last_[static_cast<size_t>(person)];
    if (last && at - *last < min_hold_) {
      ++resets;
    }
    last = at;
  }

  int64_t resets = 0;

 private:
  std::vector<std::optional<duration>> last_;
  duration min_hold_;
};

// -- presync ----------------------------------------------------------------

class presync_day {
 public:
  presync_day(const day_params& p, std::shared_ptr<const sync_settings> s)
    : p_(p), settings_(std::move(s)), persons_(p.agents + p.office_users),
      agents_(static_cast<size_t>(p.agents)),
      graph_(static_cast<size_t>(persons_)),
      observed_(static_cast<size_t>(persons_)),
      delivered_(static_cast<size_t>(p.agents)),
      resets_(persons_, settings_->min_hold), teams_queue_(teams_limits()),
      connect_queue_(connect_limits()) {
    out.name = "presync";
    for (int i = 0; i < persons_; ++i) {
      person_init init;
      init.id = "u" + std::to_string(i);
      init.has_connect = i < p.agents;
      init.connect_state = "Offline";
      init.teams_presence = presence{"Available", "Available"};
      people_.emplace_back(std::move(init), settings_);
      graph_[static_cast<size_t>(i)].teams_client =
        ge::presence_pair{"Available", "Available"};
    }
  }

  void run(const std::vector<truth_event>& truth) {
    // A day that continues from yesterday: the stored state resumes.
    for (int i = 0; i < persons_; ++i) {
      auto& g = graph_[static_cast<size_t>(i)];
      auto agg = ge::aggregate(g, 0);
      observed_[static_cast<size_t>(i)] =
        presence{agg.availability, agg.activity};
      person_effects fx;
      people_[static_cast<size_t>(i)].start(start_mode::resumed, at(0ms), fx);
      apply(i, fx, at(0ms));
    }
    const int batches =
      (persons_ + presence_ids_per_read - 1) / presence_ids_per_read;
    for (int b = 0; b < batches; ++b) {
      push(settings_->teams_poll_interval * b / batches, ev_poll, b);
    }

    // Actions in order, each after what fell due before it.
    for (const auto& e : truth) {
      if (e.connect) {
        advance(e.at + kinesis_latency - 1ms);
        deliver_connect(e.person, on_connect_truth(e), e.at + kinesis_latency);
        continue;
      }
      advance(e.at);
      auto& g = graph_[static_cast<size_t>(e.person)];
      g.teams_client =
        ge::presence_pair{e.client->availability, e.client->activity};
      if (e.preferred) {
        g.preferred = ge::preferred_presence{
          {e.preferred->availability, e.preferred->activity},
          std::numeric_limits<ge::millis>::max()};
      } else {
        g.preferred.reset();
      }
    }
    advance(p_.length + 30min);
    out.visible_resets = resets_.resets;
    poll_cycles = static_cast<double>(out.graph_read_requests) / batches;
  }

  /// Connect states as presync received them, per agent.
  const std::vector<std::vector<std::pair<duration, std::string>>>&
  delivered() const {
    return delivered_;
  }

  policy_figures out;
  double poll_cycles = 0;

 private:
  enum event_kind : uint8_t { ev_timer, ev_wakeup, ev_flush, ev_poll };

  struct event {
    duration due;
    uint64_t seq;
    event_kind kind;
    int arg; ///< person, side or poll batch
    timer_kind timer = timer_kind::c2t_hold;
    uint64_t generation = 0;
    bool operator>(const event& o) const {
      return due != o.due ? due > o.due : seq > o.seq;
    }
  };

  write_queue_settings teams_limits() const {
    // As app/tenant_runtime.cpp: the poller's share of 1,500 per 30 s
    // is taken off the writes' budget.
    const double window = 30;
    const double polls =
      window /
      std::chrono::duration<double>(settings_->teams_poll_interval).count() *
      static_cast<double>((persons_ + presence_ids_per_read - 1) /
                          presence_ids_per_read);
    write_queue_settings s;
    s.requests_per_window = std::max(1.0, 1500 - polls);
    s.burst = s.requests_per_window;
    return s;
  }

  static write_queue_settings connect_limits() {
    write_queue_settings s;
    s.requests_per_window = 2;
    s.window = 1s;
    s.burst = 5;
    return s;
  }

  void push(duration due, event_kind k, int arg, timer_kind t = {},
            uint64_t gen = 0) {
    events_.push({due, seq_++, k, arg, t, gen});
  }

  static int index_of(const std::string& id) {
    int i = 0;
    std::from_chars(id.data() + 1, id.data() + id.size(), i);
    return i;
  }

  void advance(duration t) {
    while (!events_.empty() && events_.top().due <= t) {
      auto ev = events_.top();
      events_.pop();
      auto now = at(ev.due);
      switch (ev.kind) {
      case ev_timer: {
        person_effects fx;
        people_[static_cast<size_t>(ev.arg)].on_timer(ev.timer, ev.generation,
                                                      now, fx);
        apply(ev.arg, fx, now);
        break;
      }
      case ev_wakeup:
        wake(static_cast<side>(ev.arg), now);
        break;
      case ev_flush:
        on_flush_timer(now);
        break;
      case ev_poll:
        poll(ev.arg, now);
        break;
      }
    }
  }

  /// Follows the workload's agent, keeping a status presync put.
  std::string on_connect_truth(const truth_event& e) {
    auto& a = agents_[static_cast<size_t>(e.person)];
    if (is_contact_state(e.state) || e.state == "Missed") {
      a.contact = e.state;
    } else {
      if (!a.contact.empty() && a.next_status) {
        a.status = *a.next_status; // taken when the contact was cleared
        a.next_status.reset();
        a.contact.clear();
        return a.effective();
      }
      a.contact.clear();
      a.status = e.state;
    }
    return a.effective();
  }

  void deliver_connect(int person, const std::string& state, duration t) {
    advance(t);
    delivered_[static_cast<size_t>(person)].emplace_back(t, state);
    person_effects fx;
    people_[static_cast<size_t>(person)].on_connect(state, t.count(), at(t),
                                                    fx);
    apply(person, fx, at(t));
  }

  void apply(int person, person_effects& fx, mono_time now) {
    for (const auto& t : fx.timers) {
      push(t.due.time_since_epoch(), ev_timer, person, t.kind, t.generation);
    }
    for (auto& req : fx.writes) {
      queue_effects qe;
      auto to = req.to;
      queue(to).submit(std::move(req), now, qe);
      handle(to, qe, now);
    }
  }

  void handle(side to, queue_effects& qe, mono_time now) {
    for (const auto& req : qe.waiting) {
      person_effects fx;
      auto i = index_of(req.person);
      people_[static_cast<size_t>(i)].on_write_waiting(req, now, fx);
      apply(i, fx, now);
    }
    for (auto& d : qe.dispatches) {
      if (to == side::teams) {
        gather(std::move(d), now);
        continue;
      }
      auto outcome = put_user_status(d.request, now);
      queue_effects next;
      connect_queue_.on_result(d.ticket, outcome, now, next);
      handle(to, next, now);
    }
    for (const auto& r : qe.results) {
      person_effects fx;
      auto i = index_of(r.request.person);
      people_[static_cast<size_t>(i)].on_write_result(r.request, r.outcome, now,
                                                      fx);
      apply(i, fx, now);
    }
    auto next = queue(to).next_wakeup(now);
    auto& scheduled = wakeup_[static_cast<size_t>(to)];
    if (next && (!scheduled || *next < *scheduled)) {
      scheduled = *next;
      push(next->time_since_epoch(), ev_wakeup, static_cast<int>(to));
    }
  }

  void wake(side to, mono_time now) {
    auto& scheduled = wakeup_[static_cast<size_t>(to)];
    if (scheduled && *scheduled <= now) {
      scheduled.reset();
    }
    queue_effects qe;
    queue(to).on_wakeup(now, qe);
    handle(to, qe, now);
  }

  /// The Graph writer's gather rule (adapters/graph/presence_writer.cpp):
  /// a write waits for others to share its $batch; the batch leaves when
  /// it holds 20 or when its oldest write has waited the gather window.
  void gather(queue_effects::dispatch d, mono_time now) {
    if (pending_.empty()) {
      gather_from_ = now;
    }
    pending_.push_back(std::move(d));
    if (pending_.size() >= static_cast<size_t>(writes_per_batch)) {
      flush(now);
    } else {
      arm_flush(gather_from_ + p_.gather_window);
    }
  }

  void arm_flush(mono_time due) {
    if (!flush_due_ || due < *flush_due_) {
      flush_due_ = due;
      push(due.time_since_epoch(), ev_flush, 0);
    }
  }

  void on_flush_timer(mono_time now) {
    if (flush_due_ && *flush_due_ <= now) {
      flush_due_.reset();
    }
    if (pending_.empty()) {
      return;
    }
    if (now < gather_from_ + p_.gather_window) {
      arm_flush(gather_from_ + p_.gather_window);
      return;
    }
    flush(now);
  }

  /// What gathered goes out in $batch requests of 20.
  void flush(mono_time now) {
    auto batch = std::move(pending_);
    pending_.clear();
    const auto ms = now.time_since_epoch().count();
    out.graph_write_requests += static_cast<int64_t>(
      (batch.size() + writes_per_batch - 1) / writes_per_batch);
    for (auto& d : batch) {
      const auto i = index_of(d.request.person);
      auto& g = graph_[static_cast<size_t>(i)];
      ++out.teams_writes;
      auto found = g.sessions.find("presync");
      std::optional<ge::presence_pair> shown;
      if (found != g.sessions.end()) {
        shown = ge::effective_session(found->second, ms);
      }
      const auto& target = d.request.teams;
      if (d.request.kind == write_kind::write) {
        const bool same =
          target.is_clear()
            ? !shown
            : shown && shown->availability == target.value->availability &&
                shown->activity == target.value->activity;
        if (same) {
          ++out.redundant_writes;
        } else {
          ++out.propagated_changes;
        }
        resets_.on_write(i, now.time_since_epoch());
      }
      if (target.is_clear()) {
        g.sessions.erase("presync");
      } else {
        auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(
                     settings_->teams_session_ttl)
                     .count();
        g.sessions["presync"] =
          ge::app_session{"presync",
                          {target.value->availability, target.value->activity},
                          ms,
                          ms + ttl};
      }
      queue_effects next;
      teams_queue_.on_result(d.ticket, write_outcome::ok(), now, next);
      handle(side::teams, next, now);
    }
  }

  /// The Connect emulator in brief: a status during a contact becomes
  /// the agent's next status.
  write_outcome put_user_status(const write_request& req, mono_time now) {
    ++out.connect_requests;
    const auto i = index_of(req.person);
    auto& a = agents_[static_cast<size_t>(i)];
    if (req.kind != write_kind::write) {
      return write_outcome::ok();
    }
    if (!a.contact.empty()) {
      a.next_status = req.status;
      write_outcome o;
      o.result = write_outcome::kind::deferred;
      return o;
    }
    if (a.status == req.status) {
      ++out.redundant_writes;
      return write_outcome::ok();
    }
    a.status = req.status;
    pending_connect_.push_back({now.time_since_epoch() + kinesis_latency,
                                i,
                                true,
                                a.effective(),
                                {},
                                {}});
    return write_outcome::ok();
  }

  void poll(int batch, mono_time now) {
    ++out.graph_read_requests;
    const auto ms = now.time_since_epoch().count();
    const int first = batch * presence_ids_per_read;
    const int last = std::min(persons_, first + presence_ids_per_read);
    for (int i = first; i < last; ++i) {
      auto agg = ge::aggregate(graph_[static_cast<size_t>(i)], ms);
      presence seen{agg.availability, agg.activity};
      auto& before = observed_[static_cast<size_t>(i)];
      if (seen == before) {
        continue;
      }
      before = seen;
      person_effects fx;
      people_[static_cast<size_t>(i)].on_teams(seen, ms, now, fx);
      apply(i, fx, now);
    }

    // Agent events presync's own Connect writes caused, due by now.
    auto due = std::move(pending_connect_);
    pending_connect_.clear();
    for (auto& e : due) {
      if (e.at <= now.time_since_epoch()) {
        delivered_[static_cast<size_t>(e.person)].emplace_back(e.at, e.state);
        person_effects fx;
        people_[static_cast<size_t>(e.person)].on_connect(e.state, e.at.count(),
                                                          now, fx);
        apply(e.person, fx, now);
      } else {
        pending_connect_.push_back(std::move(e));
      }
    }
    if (now.time_since_epoch() < p_.length + 30min) {
      push(now.time_since_epoch() + settings_->teams_poll_interval, ev_poll,
           batch);
    }
  }

  write_queue& queue(side s) {
    return s == side::teams ? teams_queue_ : connect_queue_;
  }

  const day_params& p_;
  std::shared_ptr<const sync_settings> settings_;
  int persons_;
  std::vector<person> people_;
  std::vector<agent_model> agents_;
  std::vector<ge::presence_state> graph_;
  std::vector<presence> observed_;
  std::vector<std::vector<std::pair<duration, std::string>>> delivered_;
  std::vector<truth_event> pending_connect_;
  reset_counter resets_;
  write_queue teams_queue_;
  write_queue connect_queue_;
  std::vector<queue_effects::dispatch> pending_;
  mono_time gather_from_;              ///< the oldest pending write came
  std::optional<mono_time> flush_due_; ///< the earliest flush armed
  std::priority_queue<event, std::vector<event>, std::greater<>> events_;
  std::array<std::optional<mono_time>, 2> wakeup_;
  uint64_t seq_ = 0;
};

/// Connect runs of at least min_hold whose Teams target differs from the
/// last one that held: the changes a perfect sync would write.
int64_t held_changes(
  const std::vector<std::vector<std::pair<duration, std::string>>>& runs,
  const sync_settings& s, duration end) {
  int64_t held = 0;
  for (const auto& agent : runs) {
    auto last = s.connect_to_teams.lookup("Offline");
    for (size_t k = 0; k < agent.size(); ++k) {
      auto until = k + 1 < agent.size() ? agent[k + 1].first : end;
      if (until - agent[k].first < s.min_hold) {
        continue;
      }
      auto target = s.connect_to_teams.lookup(agent[k].second);
      if (target && target != last) {
        ++held;
        last = target;
      }
    }
  }
  return held;
}

// -- the reference policies -------------------------------------------------

/// The seed vendor: a write per Connect change, every agent re-written
/// hourly, Available entered through Offline.
policy_figures seed_policy(const std::vector<truth_event>& truth,
                           const day_params& p, const sync_settings& s) {
  policy_figures f;
  f.name = "seed";
  const auto persons = p.agents + p.office_users;
  reset_counter resets{persons, s.min_hold};
  std::vector<std::optional<teams_target>> shown(static_cast<size_t>(p.agents));
  std::vector<std::optional<teams_target>> wanted(
    static_cast<size_t>(p.agents));
  const auto offline = teams_target::of({"Offline", "Offline"});

  auto write = [&](int i, const teams_target& t, duration at, bool hourly) {
    auto& cur = shown[static_cast<size_t>(i)];
    const bool available = t.value && t.value->availability == "Available";
    if (available) {
      // Through a brief Offline: two writes, and the user sees Offline.
      f.graph_write_requests += 2;
      f.teams_writes += 2;
      resets.on_write(i, at);
      resets.on_write(i, at + 1s);
      ++f.visible_resets;
    } else {
      f.graph_write_requests += 1;
      f.teams_writes += 1;
      resets.on_write(i, at);
    }
    if (hourly || (cur && *cur == t)) {
      f.redundant_writes += available ? 2 : 1;
    } else {
      ++f.propagated_changes;
    }
    cur = t;
    (void)offline;
  };

  duration next_hour = 1h;
  for (const auto& e : truth) {
    while (e.at >= next_hour) {
      for (int i = 0; i < p.agents; ++i) {
        if (auto& w = wanted[static_cast<size_t>(i)]) {
          write(i, *w, next_hour, true);
        }
      }
      next_hour += 1h;
    }
    if (!e.connect || e.person >= p.agents) {
      continue;
    }
    auto target = s.connect_to_teams.lookup(e.state);
    if (!target) {
      continue;
    }
    wanted[static_cast<size_t>(e.person)] = target;
    write(e.person, *target, e.at + kinesis_latency, false);
  }
  // resets counted by the Offline flashes; the generic counter would
  // count each flash twice.
  f.graph_requests = f.graph_write_requests + f.graph_read_requests;
  return f;
}

/// Per-user polling every 5 s, a write on every change seen.
policy_figures polling_policy(const std::vector<truth_event>& truth,
                              const day_params& p, const sync_settings& s) {
  policy_figures f;
  f.name = "polling";
  const auto persons = p.agents + p.office_users;
  reset_counter resets{persons, s.min_hold};
  std::vector<std::string> state(static_cast<size_t>(p.agents), "Offline");
  std::vector<std::optional<teams_target>> shown(static_cast<size_t>(p.agents));
  std::vector<presence> teams(static_cast<size_t>(persons),
                              presence{"Available", "Available"});
  std::vector<presence> teams_seen = teams;

  size_t k = 0;
  const auto end = p.length + 30min;
  for (duration t = reference_poll; t <= end; t += reference_poll) {
    while (k < truth.size() && truth[k].at <= t) {
      const auto& e = truth[k++];
      if (e.connect) {
        state[static_cast<size_t>(e.person)] = e.state;
      } else {
        teams[static_cast<size_t>(e.person)] =
          e.preferred ? *e.preferred : *e.client;
      }
    }
    f.graph_read_requests += persons;
    f.connect_requests += p.agents;
    for (int i = 0; i < p.agents; ++i) {
      auto target = s.connect_to_teams.lookup(state[static_cast<size_t>(i)]);
      auto& cur = shown[static_cast<size_t>(i)];
      if (target && target != cur) {
        ++f.graph_write_requests;
        ++f.teams_writes;
        ++f.propagated_changes;
        resets.on_write(i, t);
        cur = target;
      }
    }
    for (int i = 0; i < persons; ++i) {
      auto& seen = teams_seen[static_cast<size_t>(i)];
      const auto& now = teams[static_cast<size_t>(i)];
      if (now == seen) {
        continue;
      }
      seen = now;
      if (i >= p.agents) {
        continue;
      }
      auto m = s.teams_to_connect.lookup(now);
      if (m && m->rule.what == teams_rule::action::set_status) {
        ++f.connect_requests; // PutUserStatus
      }
    }
  }
  f.visible_resets = resets.resets;
  f.graph_requests = f.graph_write_requests + f.graph_read_requests;
  return f;
}

} // namespace

day_figures replay_day(const day_params& p) {
  auto settings = std::make_shared<sync_settings>();
  sim::workload_params w;
  w.seed = p.seed;
  w.agents = p.agents;
  w.office_users = p.office_users;
  w.length = p.length;
  w.min_hold = settings->min_hold;
  const auto actions = sim::make_workload(w);
  const int persons = p.agents + p.office_users;
  const auto truth = make_truth(actions, p.agents, persons);

  day_figures f;
  f.persons = persons;
  f.actions = static_cast<int64_t>(actions.size());

  presync_day day{p, settings};
  day.run(truth);
  f.presync = day.out;
  f.presync.graph_requests =
    f.presync.graph_write_requests + f.presync.graph_read_requests;
  f.held_changes = held_changes(day.delivered(), *settings, p.length + 30min);
  f.floor_requests = static_cast<double>(f.held_changes) / writes_per_batch;
  f.poll_cycles = day.poll_cycles;
  f.reads_per_cycle_floor =
    (persons + presence_ids_per_read - 1) / presence_ids_per_read;
  f.reads_per_cycle = static_cast<int64_t>(
    static_cast<double>(f.presync.graph_read_requests) / f.poll_cycles + 0.5);

  f.seed = seed_policy(truth, p, *settings);
  f.polling = polling_policy(truth, p, *settings);
  return f;
}

} // namespace presync::bench
