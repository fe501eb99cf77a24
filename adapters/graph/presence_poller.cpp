#include "adapters/graph/presence_poller.hpp"

#include "actors/clock.hpp"
#include "adapters/graph/errors.hpp"
#include "adapters/log/log.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace presync::graph {
namespace {

/// The access token for one batch, from the token provider's thread.
struct poller_token {
  uint64_t cycle = 0;
  size_t index = 0;
  std::shared_ptr<expected<secret>> token;
};

/// The answer to one getPresencesByUserId, from the HTTP client's thread.
struct poller_answer {
  uint64_t cycle = 0;
  size_t index = 0;
  std::shared_ptr<expected<http::http_response>> answer;
};

/// Reads batch `index` of `cycle` again once a back-off has passed.
struct poller_retry {
  uint64_t cycle = 0;
  size_t index = 0;
};

} // namespace
} // namespace presync::graph

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::poller_token)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::poller_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::poller_retry)

namespace presync::graph {
namespace {

using self_ptr = caf::stateful_actor<presence_poller_state>*;

const log::logger& poller_log() {
  static const log::logger logger{"graph.poller"};
  return logger;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Marks one batch of `cycle` done and closes the cycle after its last.
void batch_done(self_ptr self, uint64_t cycle, size_t readings) {
  auto& st = self->state;
  auto i = st.cycles.find(cycle);
  if (i == st.cycles.end()) {
    return;
  }
  i->second.readings += readings;
  if (--i->second.open == 0) {
    ++st.counters.cycles_completed;
    st.counters.last_cycle_requests = i->second.requests;
    st.counters.last_cycle_readings = i->second.readings;
    st.counters.last_cycle_duration = actors::now_of(self) - i->second.started;
    st.cycles.erase(i);
  }
}

/// Schedules batch `index` of `cycle` to be read when the back-off ends,
/// if that comes before its turn in the next cycle; returns false (the
/// next cycle reads it) otherwise.
bool retry_after_backoff(self_ptr self, uint64_t cycle, size_t index) {
  auto& st = self->state;
  auto c = st.cycles.find(cycle);
  if (c == st.cycles.end() || index >= c->second.batches.size() ||
      !st.backoff_until) {
    return false;
  }
  auto next_turn =
    c->second.started + st.args.interval + c->second.batches[index].offset;
  if (*st.backoff_until >= next_turn) {
    return false;
  }
  auto now = actors::now_of(self);
  self->delayed_send(self, actors::delay_until(*st.backoff_until, now),
                     poller_retry{cycle, index});
  return true;
}

/// Starts or extends the back-off after a failure without Retry-After;
/// `fixed` replaces the exponential step (the token provider's next try).
void back_off(self_ptr self, const error& e,
              std::optional<duration> fixed = std::nullopt) {
  auto& st = self->state;
  auto now = actors::now_of(self);
  ++st.failures;
  ++st.counters.backoffs;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto delay = fixed
                 ? *fixed
                 : backoff_delay(st.args.backoff, st.failures, unit(st.jitter));
  auto until = now + delay;
  if (!st.backoff_until || *st.backoff_until < until) {
    st.backoff_until = until;
  }
  poller_log().warning("presence_poll_backoff",
                       {log::kv("tenant", st.args.tenant),
                        log::kv("failures", static_cast<uint64_t>(st.failures)),
                        log::kv("delay", delay), log::kv("error", e.describe()),
                        log::kv("backoffs_total", st.counters.backoffs)});
}

void batch_failed(self_ptr self, uint64_t cycle, size_t index, const error& e) {
  auto& st = self->state;
  ++st.counters.batches_failed;
  st.counters.last_failure = e.describe();
  if ((e.http_status == 429 || e.http_status == 503) &&
      e.retry_after > duration{0}) {
    st.args.budget->hold_until(actors::now_of(self) + e.retry_after);
    ++st.throttled;
    if (!st.log_limit) {
      st.log_limit.emplace(std::chrono::seconds{10});
    }
    if (auto lines = st.log_limit->allow("presence_poll_throttled",
                                         std::chrono::steady_clock::now())) {
      poller_log().warning("presence_poll_throttled",
                           {log::kv("tenant", st.args.tenant),
                            log::kv("status", e.http_status),
                            log::kv("retry_after", e.retry_after),
                            log::kv("throttled_total", st.throttled),
                            log::kv("held_back", lines - 1)});
    }
  }
  if (e.http_status == 401) {
    st.args.tokens->invalidate();
  }
  if (backs_off(e)) {
    back_off(self, e);
    if (retry_after_backoff(self, cycle, index)) {
      return;
    }
  }
  batch_done(self, cycle, 0);
}

/// A batch got no token: whatever the token endpoint said, the poller
/// waits for the token provider's next try (it paces the token requests)
/// and reads the batch again then, so polling resumes as soon as a token
/// can be had again, not at the end of a long exponential step.
void token_failed(self_ptr self, uint64_t cycle, size_t index, const error& e) {
  auto& st = self->state;
  ++st.counters.batches_failed;
  st.counters.last_failure = e.describe();
  auto now = actors::now_of(self);
  auto at = st.args.tokens->retry_at().value_or(now);
  back_off(self, e,
           std::max<duration>(at - now, std::chrono::milliseconds{100}));
  if (!retry_after_backoff(self, cycle, index)) {
    batch_done(self, cycle, 0);
  }
}

/// Ends a back-off after a batch was read.
void on_success(self_ptr self) {
  auto& st = self->state;
  if (st.failures == 0) {
    return;
  }
  poller_log().info("presence_poll_recovered",
                    {log::kv("tenant", st.args.tenant),
                     log::kv("failures", static_cast<uint64_t>(st.failures)),
                     log::kv("skipped_total", st.counters.batches_skipped)});
  st.failures = 0;
  st.backoff_until.reset();
}

void start_cycle(self_ptr self) {
  auto& st = self->state;
  auto id = ++st.cycle;
  ++st.counters.cycles_started;
  poll_planner planner{st.args.interval};
  auto& c = st.cycles[id];
  c.started = actors::now_of(self);
  c.batches = planner.plan(st.ids);
  c.open = c.batches.size();
  for (size_t i = 0; i < c.batches.size(); ++i) {
    self->delayed_send(self, c.batches[i].offset, poll_atom::value, id, i);
  }
  if (c.open == 0) {
    batch_done(self, id, 0);
  }
  if (st.args.max_cycles == 0 || st.cycle < st.args.max_cycles) {
    self->delayed_send(self, st.args.interval, poll_atom::value);
  }
}

void start_batch(self_ptr self, uint64_t cycle, size_t index, bool retry) {
  auto& st = self->state;
  auto now = actors::now_of(self);

  // Inside a back-off: a retry waits for its end (it may have moved), a
  // batch on its ordinary turn is skipped and read in the next cycle.
  if (st.backoff_until && now < *st.backoff_until) {
    if (!retry || !retry_after_backoff(self, cycle, index)) {
      ++st.counters.batches_skipped;
      batch_done(self, cycle, 0);
    }
    return;
  }
  if (retry) {
    ++st.counters.retries;
  }
  if (st.args.budget->take(1, now) == 0) {
    batch_failed(self, cycle, index,
                 make_error(sync_error::throttled,
                            "getPresencesByUserId: presence budget spent"));
    return;
  }
  auto me = caf::actor_cast<caf::actor>(self);
  st.args.tokens->get([me, cycle, index](expected<secret> token) {
    caf::anon_send(
      me, poller_token{cycle, index,
                       std::make_shared<expected<secret>>(std::move(token))});
  });
}

void send_batch(self_ptr self, uint64_t cycle, size_t index,
                const secret& token) {
  auto& st = self->state;
  auto c = st.cycles.find(cycle);
  if (c == st.cycles.end() || index >= c->second.batches.size()) {
    return;
  }
  auto request =
    build_presence_request(st.args.where, c->second.batches[index].ids);
  if (!request) {
    batch_failed(self, cycle, index, request.err());
    return;
  }
  request->headers.set("Authorization", "Bearer " + token.reveal());
  ++st.counters.requests_sent;
  ++c->second.requests;
  auto me = caf::actor_cast<caf::actor>(self);
  st.args.http->async_send(
    std::move(*request), st.args.options,
    [me, cycle, index](expected<http::http_response> answer) {
      caf::anon_send(
        me, poller_answer{cycle, index,
                          std::make_shared<expected<http::http_response>>(
                            std::move(answer))});
    });
}

void on_answer(self_ptr self, uint64_t cycle, size_t index,
               expected<http::http_response>& answer) {
  auto& st = self->state;
  if (!answer) {
    batch_failed(self, cycle, index, answer.err());
    return;
  }
  if (answer->status != 200) {
    batch_failed(self, cycle, index,
                 from_graph_response(*answer, "getPresencesByUserId"));
    return;
  }
  auto readings = parse_presence_response(answer->body);
  if (!readings) {
    batch_failed(self, cycle, index, readings.err());
    return;
  }
  on_success(self);
  auto arrived = unix_ms_now();
  for (auto& r : *readings) {
    auto id = lower(r.id);
    auto person = st.person_of.find(id);
    if (person == st.person_of.end()) {
      continue;
    }
    auto key = lower(r.value.key());
    auto& last = st.last_seen[id];
    if (last == key) {
      continue;
    }
    last = std::move(key);
    ++st.counters.observations;
    self->send(
      st.args.supervisor,
      actors::teams_observation{person->second, std::move(r.value), arrived});
  }
  batch_done(self, cycle, readings->size());
}

} // namespace

caf::behavior presence_poller(self_ptr self, presence_poller_args args) {
  auto& st = self->state;
  st.args = std::move(args);
  st.jitter.seed(st.args.jitter_seed != 0 ? st.args.jitter_seed
                                          : std::random_device{}());
  for (const auto& u : st.args.users) {
    st.ids.push_back(u.graph_id);
    st.person_of[lower(u.graph_id)] = u.person;
  }
  self->send(self, poll_atom::value);
  return {
    [self](poll_atom) { start_cycle(self); },
    [self](poll_atom, uint64_t cycle, size_t index) {
      start_batch(self, cycle, index, false);
    },
    [self](poller_retry& r) { start_batch(self, r.cycle, r.index, true); },
    [self](poller_token& t) {
      if (!*t.token) {
        token_failed(self, t.cycle, t.index, t.token->err());
        return;
      }
      send_batch(self, t.cycle, t.index, t.token->value());
    },
    [self](poller_answer& a) { on_answer(self, a.cycle, a.index, *a.answer); },
    [self](caf::get_atom, actors::counters_atom) {
      return self->state.counters;
    },
    [self](polled_users_update& u) {
      auto& users = u.users;
      // The directory changed: the next cycle reads the new list. Users
      // still listed keep what was last seen, so only real changes go on.
      auto& st = self->state;
      std::map<std::string, std::string> last_seen;
      st.ids.clear();
      st.person_of.clear();
      for (const auto& u : users) {
        auto id = lower(u.graph_id);
        st.ids.push_back(u.graph_id);
        st.person_of[id] = u.person;
        if (auto seen = st.last_seen.find(id); seen != st.last_seen.end()) {
          last_seen[id] = seen->second;
        }
      }
      st.last_seen = std::move(last_seen);
      st.args.users = std::move(users);
    },
  };
}

caf::actor spawn_presence_poller(caf::actor_system& sys,
                                 presence_poller_args args) {
  return sys.spawn(presence_poller, std::move(args));
}

} // namespace presync::graph
