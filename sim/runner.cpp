#include "sim/runner.hpp"

#include "protocol/person.hpp"
#include "protocol/write_queue.hpp"

#include <algorithm>
#include <deque>
#include <memory>
#include <queue>
#include <unordered_map>

namespace presync::sim {

namespace {

/// A timer of a person, or a queue's wake-up when `person` is empty.
struct event {
  mono_time due;
  uint64_t seq;
  std::string person;
  timer_kind kind = timer_kind::c2t_hold;
  uint64_t generation = 0;
  side queue = side::teams;

  bool operator>(const event& other) const {
    return due != other.due ? due > other.due : seq > other.seq;
  }
};

/// A scripted failure of the next write to one side for one person.
struct failure {
  int status;
  std::optional<duration> retry_after;
};

class tenant_sim {
 public:
  explicit tenant_sim(const scenario& s)
    : settings_(std::make_shared<sync_settings>(s.sync)) {
    for (const auto& p : s.people) {
      person_init init;
      init.id = p.id;
      init.has_teams = p.teams;
      init.has_connect = p.connect;
      init.connect_state = p.initial_connect;
      init.teams_presence = p.initial_teams;
      people_.emplace(p.id, person{std::move(init), settings_});
      order_.push_back(p.id);
    }
  }

  replay run(const scenario& s) {
    auto mode = s.fresh_start ? start_mode::fresh : start_mode::resumed;
    for (const auto& id : order_) {
      person_effects fx;
      people_.at(id).start(mode, at(duration{0}), fx);
      apply(id, fx, at(duration{0}));
    }
    for (const auto& step : s.steps) {
      advance_to(at(step.at));
      apply_step(step);
    }
    advance_to(at(s.end()));
    return std::move(out_);
  }

 private:
  void advance_to(mono_time t) {
    while (!events_.empty() && events_.top().due <= t) {
      auto ev = events_.top();
      events_.pop();
      if (ev.person.empty()) {
        wake_queue(ev.queue, ev.due);
        continue;
      }
      person_effects fx;
      people_.at(ev.person).on_timer(ev.kind, ev.generation, ev.due, fx);
      apply(ev.person, fx, ev.due);
    }
  }

  void apply_step(const scenario_step& step) {
    auto now = at(step.at);
    auto source_ms = step.at.count();
    person_effects fx;
    switch (step.what) {
    case scenario_step::kind::connect:
      people_.at(step.person).on_connect(step.state, source_ms, now, fx);
      break;
    case scenario_step::kind::teams:
      people_.at(step.person).on_teams(step.observed, source_ms, now, fx);
      break;
    case scenario_step::kind::write_fails:
      failures_[key(step.person, step.fail_side)].push_back(
        {step.fail_status, step.retry_after});
      return;
    }
    apply(step.person, fx, now);
  }

  void apply(const std::string& id, person_effects& fx, mono_time now) {
    auto& log = out_.decisions[id];
    log.insert(log.end(), fx.decisions.begin(), fx.decisions.end());
    for (const auto& t : fx.timers) {
      events_.push({t.due, seq_++, id, t.kind, t.generation, side::teams});
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
      people_.at(req.person).on_write_waiting(req, now, fx);
      apply(req.person, fx, now);
    }
    for (auto& d : qe.dispatches) {
      auto outcome = attempt(d.request, now);
      queue_effects next;
      queue(to).on_result(d.ticket, outcome, now, next);
      handle(to, next, now);
    }
    for (const auto& r : qe.results) {
      person_effects fx;
      people_.at(r.request.person)
        .on_write_result(r.request, r.outcome, now, fx);
      apply(r.request.person, fx, now);
    }
    schedule_wakeup(to, now);
  }

  /// The simulated remote side: succeeds unless a failure was scripted.
  write_outcome attempt(const write_request& req, mono_time now) {
    expected_write w{now.time_since_epoch(), req.to, req.person, req.describe(),
                     std::nullopt};
    if (req.kind == write_kind::refresh) {
      out_.refreshes.push_back(std::move(w));
      return write_outcome::ok();
    }
    auto& script = failures_[key(req.person, req.to)];
    if (script.empty()) {
      out_.writes.push_back(std::move(w));
      return write_outcome::ok();
    }
    auto f = script.front();
    script.pop_front();
    w.result = f.status;
    out_.writes.push_back(std::move(w));

    write_outcome o;
    o.http_status = f.status;
    o.retry_after = f.retry_after.value_or(duration{0});
    o.result = (f.status == 429 || f.status >= 500)
                 ? write_outcome::kind::throttled
                 : write_outcome::kind::failed;
    return o;
  }

  void wake_queue(side to, mono_time now) {
    auto& scheduled = wakeup_[static_cast<size_t>(to)];
    if (scheduled && *scheduled == now) {
      scheduled.reset();
    }
    queue_effects qe;
    queue(to).on_wakeup(now, qe);
    handle(to, qe, now);
  }

  void schedule_wakeup(side to, mono_time now) {
    auto next = queue(to).next_wakeup(now);
    auto& scheduled = wakeup_[static_cast<size_t>(to)];
    if (!next || (scheduled && *scheduled <= *next)) {
      return;
    }
    scheduled = *next;
    events_.push({*next, seq_++, {}, timer_kind::c2t_hold, 0, to});
  }

  write_queue& queue(side s) {
    return s == side::teams ? teams_queue_ : connect_queue_;
  }

  static std::string key(const std::string& person, side s) {
    return person + (s == side::teams ? "/teams" : "/connect");
  }

  std::shared_ptr<const sync_settings> settings_;
  std::unordered_map<std::string, person> people_;
  std::vector<std::string> order_;
  write_queue teams_queue_{graph_presence_limits()};
  write_queue connect_queue_{connect_api_limits()};
  std::priority_queue<event, std::vector<event>, std::greater<>> events_;
  std::array<std::optional<mono_time>, 2> wakeup_;
  std::unordered_map<std::string, std::deque<failure>> failures_;
  uint64_t seq_ = 0;
  replay out_;

  static write_queue_settings graph_presence_limits() { return {}; }
  static write_queue_settings connect_api_limits() {
    write_queue_settings s;
    s.requests_per_window = 2;
    s.window = std::chrono::seconds{1};
    s.burst = 5;
    return s;
  }
};

/// Sorts writes of one instant so that sets compare as sorted lists.
std::vector<expected_write> canonical(std::vector<expected_write> w) {
  std::stable_sort(w.begin(), w.end(), [](const auto& a, const auto& b) {
    return std::tie(a.at, a.to, a.person, a.value, a.result) <
           std::tie(b.at, b.to, b.person, b.value, b.result);
  });
  return w;
}

std::string compare_lists(const char* what,
                          const std::vector<expected_write>& want,
                          const std::vector<expected_write>& got) {
  auto w = canonical(want);
  auto g = canonical(got);
  for (size_t i = 0; i < std::max(w.size(), g.size()); ++i) {
    if (i >= g.size()) {
      return std::string{"missing "} + what + " " + describe(w[i]);
    }
    if (i >= w.size()) {
      return std::string{"unexpected "} + what + " " + describe(g[i]);
    }
    if (!(w[i] == g[i])) {
      return std::string{"expected "} + what + " " + describe(w[i]) + ", got " +
             describe(g[i]);
    }
  }
  return {};
}

} // namespace

std::string describe(const expected_write& w) {
  auto out = format_duration(w.at) + " " + std::string{to_string(w.to)} + " " +
             w.person + " " + w.value;
  if (w.result) {
    out += " result " + std::to_string(*w.result);
  }
  return out;
}

replay run_scenario(const scenario& s) {
  return tenant_sim{s}.run(s);
}

std::string first_difference(const scenario& s, const replay& r) {
  if (s.only_these) {
    if (auto d = compare_lists("write", s.writes, r.writes); !d.empty()) {
      return d;
    }
  } else {
    auto got = r.writes;
    for (const auto& w : s.writes) {
      auto found = std::find(got.begin(), got.end(), w);
      if (found == got.end()) {
        return "missing write " + describe(w);
      }
      got.erase(found);
    }
  }
  if (s.refreshes) {
    if (auto d = compare_lists("refresh", *s.refreshes, r.refreshes);
        !d.empty()) {
      return d;
    }
  }
  for (const auto& j : s.journal) {
    auto found = r.decisions.find(j.person);
    bool seen =
      found != r.decisions.end() &&
      std::any_of(found->second.begin(), found->second.end(),
                  [&](const journal_entry& e) {
                    return e.what == j.what && e.at.time_since_epoch() == j.at;
                  });
    if (!seen) {
      return "missing decision " + std::string{to_string(j.what)} + " for " +
             j.person + " at " + format_duration(j.at);
    }
  }
  return {};
}

} // namespace presync::sim
