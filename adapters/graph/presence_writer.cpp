#include "adapters/graph/presence_writer.hpp"

#include "actors/clock.hpp"
#include "adapters/graph/errors.hpp"

#include <algorithm>
#include <utility>

namespace presync::graph {
namespace {

/// The access token for one batch, from the token provider's thread.
struct writer_token {
  uint64_t batch = 0;
  std::shared_ptr<expected<secret>> token;
};

/// The answer to one $batch POST, from the HTTP client's thread.
struct writer_answer {
  uint64_t batch = 0;
  std::shared_ptr<expected<http::http_response>> answer;
};

} // namespace
} // namespace presync::graph

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::writer_token)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::writer_answer)

namespace presync::graph {
namespace {

using self_ptr = caf::stateful_actor<presence_writer_state>*;

const log::logger& writer_log() {
  static const log::logger logger{"graph.writer"};
  return logger;
}

/// Returns true for errors a later attempt may overcome.
bool retryable(sync_error code) {
  return code == sync_error::timeout || code == sync_error::throttled ||
         code == sync_error::unavailable ||
         code == sync_error::connection_failed;
}

/// Returns the outcome every write of a failed batch gets.
write_outcome outcome_of(const error& e) {
  write_outcome o;
  o.result = retryable(e.code) ? write_outcome::kind::throttled
                               : write_outcome::kind::failed;
  o.http_status = e.http_status;
  o.retry_after = e.retry_after;
  o.reason = e.describe();
  return o;
}

uint64_t log_allowance(self_ptr self, const std::string& event);

/// Counts a $batch sub-response that asked presync to slow down, as the
/// HTTP observer counts a whole answer that does (issue 10).
void count_throttled_sub_response(self_ptr self, const write_outcome& o) {
  bool slow_down = o.http_status == 429 ||
                   (o.http_status == 503 && o.retry_after > duration{0});
  if (!slow_down) {
    return;
  }
  auto& st = self->state;
  ++st.counters.throttled_sub_responses;
  if (st.args.on_throttled_sub_response) {
    st.args.on_throttled_sub_response(std::max(o.retry_after, duration{0}));
  }
}

/// Holds the shared budget after a 429 or 503 that named a Retry-After,
/// and says so (warning `presence_write_throttled`, rate limited).
void hold_budget(self_ptr self, int status, duration retry_after) {
  if ((status == 429 || status == 503) && retry_after > duration{0}) {
    auto& st = self->state;
    st.args.budget->hold_until(actors::now_of(self) + retry_after);
    ++st.counters.throttled;
    if (auto lines = log_allowance(self, "presence_write_throttled")) {
      writer_log().warning("presence_write_throttled",
                           {log::kv("tenant", st.args.tenant),
                            log::kv("status", status),
                            log::kv("retry_after", retry_after),
                            log::kv("throttled_total", st.counters.throttled),
                            log::kv("held_back", lines - 1)});
    }
  }
}

void reply(self_ptr self, const pending_write& p, write_outcome outcome) {
  ++self->state.counters.writes_answered;
  self->send(p.reply_to, actors::write_attempted{p.ticket, std::move(outcome)});
}

/// Draws the next back-off delay for retry number `retry`.
duration draw_delay(self_ptr self, uint32_t retry) {
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  return backoff_delay(self->state.args.backoff, retry,
                       unit(self->state.jitter));
}

void schedule_flush(self_ptr self, duration delay) {
  auto& st = self->state;
  auto due = actors::now_of(self) + delay;
  if (!st.flush_at || due < *st.flush_at) {
    st.flush_at = due;
    self->delayed_send(self, delay, flush_atom::value);
  }
}

/// Returns how many lines of `event` to account for now (this one plus
/// those held back), or 0 when it was logged less than 10 s ago.
uint64_t log_allowance(self_ptr self, const std::string& event) {
  auto& st = self->state;
  if (!st.log_limit) {
    st.log_limit.emplace(std::chrono::seconds{10});
  }
  return st.log_limit->allow(event, std::chrono::steady_clock::now());
}

/// Answers or keeps for a retry the writes `failed` that failed without a
/// Retry-After (backoff.hpp): each try is counted, the last one answers
/// the write `throttled` so that the write queue takes it back.
void back_off(self_ptr self, std::vector<pending_write> failed,
              const std::string& why, int http_status) {
  auto& st = self->state;
  if (failed.empty()) {
    return;
  }
  auto now = actors::now_of(self);
  auto max_tries = std::max<uint32_t>(st.args.backoff.max_attempts, 1);

  // One delay for the whole group keeps it together in one later batch.
  uint32_t tries = 0;
  for (const auto& p : failed) {
    tries = std::max(tries, p.tries + 1);
  }
  auto delay = draw_delay(self, tries);
  size_t kept = 0;
  size_t given_up = 0;
  for (auto& p : failed) {
    p.tries += 1;
    if (p.tries < max_tries) {
      p.not_before = now + delay;
      st.retrying.push_back(std::move(p));
      ++kept;
      continue;
    }

    // Out of tries: the queue holds the side for a growing delay.
    write_outcome o;
    o.result = write_outcome::kind::throttled;
    o.http_status = http_status;
    o.retry_after = draw_delay(self, max_tries + st.gave_up_streak);
    o.reason = "gave up after " + std::to_string(p.tries) + " tries: " + why;
    reply(self, p, std::move(o));
    ++given_up;
  }
  st.counters.retries += kept;
  st.counters.gave_up += given_up;
  if (kept > 0) {
    schedule_flush(self, delay);
    if (auto lines = log_allowance(self, "presence_write_retry")) {
      writer_log().warning("presence_write_retry",
                           {log::kv("tenant", st.args.tenant),
                            log::kv("writes", kept),
                            log::kv("attempt", static_cast<uint64_t>(tries)),
                            log::kv("delay", delay), log::kv("error", why),
                            log::kv("retries_total", st.counters.retries),
                            log::kv("held_back", lines - 1)});
    }
  }
  if (given_up > 0) {
    ++st.gave_up_streak;
    if (auto lines = log_allowance(self, "presence_write_gave_up")) {
      writer_log().error(
        "presence_write_gave_up",
        {log::kv("tenant", st.args.tenant), log::kv("writes", given_up),
         log::kv("tries", static_cast<uint64_t>(max_tries)),
         log::kv("error", why), log::kv("gave_up_total", st.counters.gave_up),
         log::kv("held_back", lines - 1)});
    }
  }
}

void fail_batch(self_ptr self, uint64_t id, const error& e) {
  auto i = self->state.in_flight.find(id);
  if (i == self->state.in_flight.end()) {
    return;
  }
  ++self->state.counters.batch_failures;
  auto writes = std::move(i->second);
  self->state.in_flight.erase(i);
  self->state.resent.erase(id);
  if (backs_off(e)) {
    back_off(self, std::move(writes), e.describe(), e.http_status);
    return;
  }
  hold_budget(self, e.http_status, e.retry_after);
  auto outcome = outcome_of(e);
  for (const auto& p : writes) {
    reply(self, p, outcome);
  }
}

/// A batch got no token: nothing was sent, so no write of it is given up.
/// Each is answered `throttled` with the token provider's next try as its
/// Retry-After, so the write queue holds the Teams side until a token can
/// be had and then sends each person's newest value (coalescing), however
/// long the token endpoint is down or the secret is refused.
void token_failed(self_ptr self, uint64_t id, const error& e) {
  auto& st = self->state;
  auto i = st.in_flight.find(id);
  if (i == st.in_flight.end()) {
    return;
  }
  auto writes = std::move(i->second);
  st.in_flight.erase(i);
  st.resent.erase(id);
  ++st.counters.token_waits;
  auto now = actors::now_of(self);
  auto at = st.args.tokens->retry_at().value_or(now);
  write_outcome o;
  o.result = write_outcome::kind::throttled;
  o.http_status = e.http_status;
  o.retry_after = std::max<duration>(at - now, std::chrono::seconds{1});
  o.reason = "no token: " + e.describe();
  for (const auto& p : writes) {
    reply(self, p, o);
  }
  if (auto lines = log_allowance(self, "presence_write_waiting_for_token")) {
    writer_log().warning(
      "presence_write_waiting_for_token",
      {log::kv("tenant", st.args.tenant), log::kv("writes", writes.size()),
       log::kv("retry_after", o.retry_after), log::kv("error", e.describe()),
       log::kv("held_back", lines - 1)});
  }
}

void request_token(self_ptr self, uint64_t id) {
  auto me = caf::actor_cast<caf::actor>(self);
  self->state.args.tokens->get([me, id](expected<secret> token) {
    caf::anon_send(me, writer_token{id, std::make_shared<expected<secret>>(
                                          std::move(token))});
  });
}

/// Moves the retries whose back-off has passed to the head of the line
/// (they are older than anything pending) and returns when the next of
/// the others is due.
std::optional<mono_time> release_due_retries(self_ptr self, mono_time now) {
  auto& st = self->state;
  std::vector<pending_write> due;
  std::vector<pending_write> later;
  std::optional<mono_time> next;
  for (auto& p : st.retrying) {
    if (p.not_before <= now) {
      due.push_back(std::move(p));
    } else {
      next = next ? std::min(*next, p.not_before) : p.not_before;
      later.push_back(std::move(p));
    }
  }
  st.retrying = std::move(later);
  st.pending.insert(st.pending.begin(), std::make_move_iterator(due.begin()),
                    std::make_move_iterator(due.end()));
  return next;
}

void flush(self_ptr self) {
  auto& st = self->state;
  auto now = actors::now_of(self);
  const auto waiting = st.pending.size();
  if (auto next = release_due_retries(self, now)) {
    schedule_flush(self, actors::delay_until(*next, now));
  }
  if (st.pending.empty()) {
    return;
  }
  // A batch that is not full leaves once its oldest write has waited the
  // whole gather window, not at a timer armed for a batch that already
  // left full; retries that fell due leave at once.
  const auto gathered_until = st.gather_from + st.args.gather_window;
  if (st.pending.size() == waiting && waiting < max_batch_requests &&
      now < gathered_until) {
    schedule_flush(self, actors::delay_until(gathered_until, now));
    return;
  }
  auto wanted = std::min(st.pending.size(), max_batch_requests);
  auto taken = st.args.budget->take(wanted, now);
  if (taken == 0) {
    schedule_flush(
      self, actors::delay_until(st.args.budget->next_available(now), now));
    return;
  }
  auto id = st.next_batch++;
  auto first = st.pending.begin();
  auto last = first + static_cast<std::ptrdiff_t>(taken);
  st.in_flight[id].assign(std::make_move_iterator(first),
                          std::make_move_iterator(last));
  st.pending.erase(first, last);
  request_token(self, id);
  if (st.pending.size() >= max_batch_requests) {
    self->send(self, flush_atom::value);
  } else if (!st.pending.empty()) {
    st.gather_from = now;
    schedule_flush(self, st.args.gather_window);
  }
}

void send_batch(self_ptr self, uint64_t id, const secret& token) {
  auto& st = self->state;
  auto i = st.in_flight.find(id);
  if (i == st.in_flight.end()) {
    return;
  }
  std::vector<presence_write> writes;
  writes.reserve(i->second.size());
  for (const auto& p : i->second) {
    writes.push_back(p.write);
  }
  auto request = build_write_batch(st.args.where, writes, st.args.session);
  if (!request) {
    fail_batch(self, id, request.err());
    return;
  }
  request->headers.set("Authorization", "Bearer " + token.reveal());
  ++st.counters.batches_sent;
  auto me = caf::actor_cast<caf::actor>(self);
  st.args.http->async_send(
    std::move(*request), st.args.options,
    [me, id](expected<http::http_response> answer) {
      caf::anon_send(
        me, writer_answer{id, std::make_shared<expected<http::http_response>>(
                                std::move(answer))});
    });
}

void on_answer(self_ptr self, uint64_t id,
               expected<http::http_response>& answer) {
  auto& st = self->state;
  auto i = st.in_flight.find(id);
  if (i == st.in_flight.end()) {
    return;
  }
  if (!answer) {
    fail_batch(self, id, answer.err());
    return;
  }
  const auto& response = *answer;
  if (response.status == 401) {
    ++st.counters.token_refreshes;
    st.args.tokens->invalidate();
    if (!st.resent[id]) {
      st.resent[id] = true;
      request_token(self, id);
      return;
    }
  }
  if (response.status != 200) {
    fail_batch(self, id, from_graph_response(response, "presence $batch"));
    return;
  }
  std::vector<presence_write> writes;
  for (const auto& p : i->second) {
    writes.push_back(p.write);
  }
  auto outcomes = parse_write_batch_response(response.body, writes);
  if (!outcomes) {
    fail_batch(self, id, outcomes.err());
    return;
  }

  // Graph answered: the streak of give-ups ends. A sub-request that
  // failed without Retry-After (a 5xx, a 429 without the header) backs
  // off on its own; every other outcome goes back to the queue.
  st.gave_up_streak = 0;
  auto batch = std::move(i->second);
  st.in_flight.erase(i);
  st.resent.erase(id);
  std::vector<pending_write> again;
  std::string why;
  int again_status = 0;
  for (size_t k = 0; k < batch.size(); ++k) {
    auto& o = (*outcomes)[k];
    count_throttled_sub_response(self, o);
    if (o.result == write_outcome::kind::throttled &&
        o.retry_after <= duration{0}) {
      if (why.empty()) {
        why = "presence $batch sub-request: " + o.reason;
        again_status = o.http_status;
      }
      again.push_back(std::move(batch[k]));
      continue;
    }
    hold_budget(self, o.http_status, o.retry_after);
    reply(self, batch[k], std::move(o));
  }
  back_off(self, std::move(again), why, again_status);
}
} // namespace

caf::behavior presence_writer(self_ptr self, presence_writer_args args) {
  self->state.args = std::move(args);
  auto seed = self->state.args.jitter_seed;
  self->state.jitter.seed(seed != 0 ? seed : std::random_device{}());
  return {
    [self](actors::write_dispatch& d) {
      auto& st = self->state;
      pending_write p;
      p.ticket = d.ticket;
      p.reply_to = caf::actor_cast<caf::actor>(self->current_sender());
      auto id = st.args.graph_ids.find(d.request.person);
      if (d.request.to != side::teams || d.request.kind == write_kind::cancel ||
          id == st.args.graph_ids.end()) {
        write_outcome o;
        o.result = write_outcome::kind::failed;
        o.http_status = 0;
        o.reason = id == st.args.graph_ids.end()
                     ? "no Graph user id for person " + d.request.person
                     : "not a Teams presence write";
        reply(self, p, std::move(o));
        return;
      }
      p.write = presence_write{id->second, d.request.teams};
      p.request = std::move(d.request);
      if (st.pending.empty()) {
        st.gather_from = actors::now_of(self);
      }
      st.pending.push_back(std::move(p));
      if (st.pending.size() >= max_batch_requests) {
        flush(self);
      } else {
        schedule_flush(self, st.args.gather_window);
      }
    },
    [self](flush_atom) {
      auto& st = self->state;
      if (st.flush_at && *st.flush_at <= actors::now_of(self)) {
        st.flush_at.reset();
      }
      flush(self);
    },
    [self](writer_token& t) {
      if (!*t.token) {
        token_failed(self, t.batch, t.token->err());
        return;
      }
      send_batch(self, t.batch, t.token->value());
    },
    [self](writer_answer& a) { on_answer(self, a.batch, *a.answer); },
    [self](caf::get_atom, actors::counters_atom) {
      return self->state.counters;
    },
    [self](graph_id_update& u) {
      // The directory changed; writes already packed keep their user id.
      self->state.args.graph_ids = std::move(u.graph_ids);
    },
  };
}

caf::actor spawn_presence_writer(caf::actor_system& sys,
                                 presence_writer_args args) {
  return sys.spawn(presence_writer, std::move(args));
}

} // namespace presync::graph
