#include "app/tenant_metrics.hpp"

#include "adapters/metrics/api_call.hpp"
#include "adapters/metrics/metrics.hpp"

#include <algorithm>

namespace presync::app {

namespace {

using wall_clock = std::chrono::system_clock;

double seconds_of(std::chrono::duration<double> d) {
  return d.count();
}

double unix_seconds(wall_clock::time_point t) {
  return seconds_of(t.time_since_epoch());
}

} // namespace

http::exchange_fn make_api_observer(std::string tenant,
                                    std::shared_ptr<metrics::sync_metrics> m) {
  return [tenant = std::move(tenant),
          m = std::move(m)](const http::http_request& req,
                            const expected<http::http_response>& answer,
                            std::chrono::steady_clock::duration elapsed) {
    auto call = metrics::classify_api_call(
      req.method, req.url, req.headers.find("X-Amz-Target"), req.body);
    std::optional<int> status;
    if (answer) {
      status = answer->status;
    }
    m->count_api_request(tenant, call, metrics::status_class(status),
                         seconds_of(elapsed));
    if (!answer) {
      return;
    }

    // Throttling answers count with the back-off they asked for.
    auto now = wall_clock::now();
    auto retry_header = answer->headers.find("Retry-After");
    if (metrics::is_throttling_answer(answer->status, retry_header.has_value(),
                                      answer->body)) {
      std::optional<duration> wait;
      if (retry_header) {
        wait = http::parse_retry_after(*retry_header, now);
      }
      m->count_throttled(tenant, call, seconds_of(wait.value_or(duration{0})));
    }

    // The event stream is live while GetRecords answers.
    if (call.api == "kinesis" && call.operation == "get_records" &&
        answer->status / 100 == 2) {
      m->set_source_last_success(tenant, "kinesis", unix_seconds(now));
    }
  };
}

expected<std::optional<double>>
client_secret_expiry(const config::env_lookup& env,
                     const std::string& client_secret_env) {
  auto name = client_secret_env + "_EXPIRES_AT";
  auto text = env(name);
  if (!text || text->empty()) {
    return std::optional<double>{};
  }
  auto ms = parse_iso8601_ms(*text);
  if (!ms) {
    return make_error(sync_error::config_invalid,
                      name + ": expected an ISO-8601 UTC timestamp such as "
                             "2026-06-30T00:00:00Z");
  }
  return std::optional<double>{static_cast<double>(*ms) / 1000.0};
}

tenant_metrics_feed::tenant_metrics_feed(
  std::string tenant, std::shared_ptr<metrics::sync_metrics> m,
  const config::tenant_config& cfg)
  : tenant_(std::move(tenant)), metrics_(std::move(m)) {
  on_settings(cfg);
  metrics_->set_tenant_ready(tenant_, false);
  metrics_->set_token_expiry(tenant_, 0);
}

void tenant_metrics_feed::on_settings(const config::tenant_config& cfg) {
  // Graph's presence budget is per window; Connect's limiter per second.
  const auto window = seconds_of(cfg.graph.presence_window);
  if (window > 0) {
    metrics_->set_api_budget(tenant_, "graph",
                             cfg.graph.presence_requests_per_window / window);
  }
  metrics_->set_api_budget(
    tenant_, "connect", static_cast<double>(cfg.connect.requests_per_second));
  std::lock_guard<std::mutex> guard{mutex_};
  loop_cooldown_ = cfg.sync.loop_cooldown;
}

void tenant_metrics_feed::on_effects(const std::string& person,
                                     const person_effects& fx, mono_time now) {
  std::lock_guard<std::mutex> guard{mutex_};

  // The newest decision for a side is the one its acknowledgement ends.
  for (const auto& w : fx.writes) {
    person_side key{person, w.to};
    if (w.kind == write_kind::write) {
      decided_[key] = now;
    } else if (w.kind == write_kind::cancel) {
      decided_.erase(key);
    }
  }

  // A pause lasts loop_cooldown (protocol/person.cpp, start_pause).
  if (fx.loop_pauses > 0) {
    paused_until_[person] = now + loop_cooldown_;
  }
}

void tenant_metrics_feed::on_write_result(const write_request& req,
                                          const write_outcome& outcome,
                                          mono_time now) {
  if (req.kind != write_kind::write) {
    return;
  }
  person_side key{req.person, req.to};
  std::optional<double> delay;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    switch (outcome.result) {
    case write_outcome::kind::throttled:
      return; // the queue tries again; the delay goes on
    case write_outcome::kind::failed:
      failing_.insert(key);
      decided_.erase(key);
      return;
    case write_outcome::kind::cancelled:
      decided_.erase(key); // withdrawn: no delay to measure
      return;
    case write_outcome::kind::ok:
    case write_outcome::kind::deferred:
      failing_.erase(key);
      break;
    }
    if (auto d = decided_.find(key); d != decided_.end()) {
      delay = seconds_of(now - d->second);
      decided_.erase(d);
    }
  }
  if (delay) {
    auto dir = req.to == side::teams ? direction::connect_to_teams
                                     : direction::teams_to_connect;
    metrics_->observe_propagation_delay(tenant_, dir, *delay);
  }
}

void tenant_metrics_feed::on_poller(const graph::presence_poller_counters& c,
                                    wall_clock::time_point now) {
  // Sampled once a second: at most one cycle completes between two reads
  // unless teams_poll_interval is below a second.
  if (c.cycles_completed > cycles_seen_) {
    cycles_seen_ = c.cycles_completed;
    metrics_->observe_poll_cycle(tenant_, seconds_of(c.last_cycle_duration));
    metrics_->set_source_last_success(tenant_, "teams_poll", unix_seconds(now));
  }
}

void tenant_metrics_feed::on_consumer(const connect::consumer_stats& s) {
  metrics_->set_consumer_lag(
    tenant_, static_cast<double>(s.millis_behind_latest) / 1000.0);
  auto add = [this](const char* result, uint64_t now, uint64_t before) {
    if (now > before) {
      metrics_->count_event_records(tenant_, result,
                                    static_cast<double>(now - before));
    }
  };
  const auto& b = consumer_seen_;
  add("applied", s.applied, b.applied);
  add("malformed", s.malformed, b.malformed);
  add("unmapped", s.unmapped, b.unmapped);
  add("duplicate", s.duplicates, b.duplicates);
  add("stale", s.stale, b.stale);
  add("after_logout", s.after_logout, b.after_logout);
  consumer_seen_ = s;
}

void tenant_metrics_feed::on_supervisor(const actors::supervisor_counters& c) {
  if (c.restarts > restarts_seen_) {
    metrics_->count_actor_restarts(
      tenant_, static_cast<double>(c.restarts - restarts_seen_));
    restarts_seen_ = c.restarts;
  }
  metrics_->set_persons_resting(tenant_, static_cast<double>(c.resting));
  given_up_ = {c.failed_people.begin(), c.failed_people.end()};
}

void tenant_metrics_feed::on_queue_depths(uint64_t teams, uint64_t connect) {
  metrics_->set_queue_depth(tenant_, side::teams, static_cast<double>(teams));
  metrics_->set_queue_depth(tenant_, side::connect,
                            static_cast<double>(connect));
}

void tenant_metrics_feed::on_token(std::optional<mono_time> expires_at,
                                   mono_time mono_now,
                                   wall_clock::time_point wall_now) {
  if (!expires_at) {
    metrics_->set_token_expiry(tenant_, 0);
    return;
  }
  metrics_->set_token_expiry(tenant_, unix_seconds(wall_now) +
                                        seconds_of(*expires_at - mono_now));
}

void tenant_metrics_feed::on_ready(bool ready) {
  metrics_->set_tenant_ready(tenant_, ready);
}

void tenant_metrics_feed::publish_states(mono_time now) {
  // Each person counts once, in the worst state: supervision_failed, then
  // loop_paused, then write_failing.
  std::set<std::string> paused;
  std::set<std::string> failing;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto i = paused_until_.begin(); i != paused_until_.end();) {
      if (i->second <= now) {
        i = paused_until_.erase(i);
        continue;
      }
      if (given_up_.count(i->first) == 0) {
        paused.insert(i->first);
      }
      ++i;
    }
    for (const auto& [person, to] : failing_) {
      if (given_up_.count(person) == 0 && paused.count(person) == 0) {
        failing.insert(person);
      }
    }
  }
  metrics_->set_persons_in_state(tenant_, "write_failing",
                                 static_cast<double>(failing.size()));
  metrics_->set_persons_in_state(tenant_, "loop_paused",
                                 static_cast<double>(paused.size()));
  metrics_->set_persons_in_state(tenant_, "supervision_failed",
                                 static_cast<double>(given_up_.size()));
}

void tenant_metrics_feed::collect(caf::scoped_actor& self,
                                  const caf::actor& supervisor,
                                  const graph::token_provider& tokens,
                                  std::chrono::milliseconds timeout) {
  self
    ->request(supervisor, timeout, caf::get_atom::value,
              actors::counters_atom::value)
    .receive([this](const actors::supervisor_counters& c) { on_supervisor(c); },
             [](const caf::error&) {});

  // The queues never change while the supervisor lives: ask once.
  if (queues_.empty()) {
    self
      ->request(supervisor, timeout, caf::get_atom::value,
                actors::queues_atom::value)
      .receive([this](std::vector<caf::actor>& q) { queues_ = std::move(q); },
               [](const caf::error&) {});
  }
  if (queues_.size() == 2) {
    uint64_t depth[2] = {0, 0};
    for (size_t i = 0; i < 2; ++i) {
      self
        ->request(queues_[i], timeout, caf::get_atom::value,
                  actors::depth_atom::value)
        .receive([&depth, i](uint64_t n) { depth[i] = n; },
                 [](const caf::error&) {});
    }
    on_queue_depths(depth[0], depth[1]);
  }

  auto now = graph::steady_now();
  on_token(tokens.token_expires_at(), now, wall_clock::now());
  publish_states(now);
}

} // namespace presync::app
