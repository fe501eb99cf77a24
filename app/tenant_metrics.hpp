// One tenant's operational metrics (docs/operations.md, DESIGN.md §6),
// fed from what the adapters and actors already count: every HTTP request
// through the client's observer, the poller's and the consumer's counters,
// the supervisor's restarts, the token's expiry, and per person the write
// decisions and results behind the propagation delay and the sync states.
//
// Person ids stay in this object's memory; the metrics carry only counts.
#pragma once

#include "actors/messages.hpp"
#include "adapters/connect/kinesis_consumer.hpp"
#include "adapters/graph/presence_poller.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"
#include "config/config.hpp"
#include "protocol/person.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace presync::metrics {
class sync_metrics;
} // namespace presync::metrics

namespace presync::app {

/// Returns an observer for a tenant's HTTP client: counts each request by
/// API, operation and status class with its latency, counts throttling
/// answers with their Retry-After, and stamps the Kinesis source's last
/// successful GetRecords. Labels come from metrics::classify_api_call only,
/// never from the URL or a header.
http::exchange_fn make_api_observer(std::string tenant,
                                    std::shared_ptr<metrics::sync_metrics> m);

/// Reads the client secret's expiry the deployment declares in the
/// variable `<client_secret_env>_EXPIRES_AT` (ISO-8601, e.g.
/// 2026-06-30T00:00:00Z) as Unix seconds. nullopt when unset; an error
/// naming the variable when it is not a timestamp.
[[nodiscard]] expected<std::optional<double>>
client_secret_expiry(const config::env_lookup& env,
                     const std::string& client_secret_env);

/// Turns one tenant's counters into metrics. on_effects and
/// on_write_result may be called from any thread; the rest from the
/// tenant's own thread.
class tenant_metrics_feed {
 public:
  using wall_clock = std::chrono::system_clock;

  /// Publishes the tenant's API budgets and marks it not ready.
  tenant_metrics_feed(std::string tenant,
                      std::shared_ptr<metrics::sync_metrics> m,
                      const config::tenant_config& cfg);

  /// Takes a reloaded config: new budgets and loop cooldown (a pause
  /// already running keeps the end it had).
  void on_settings(const config::tenant_config& cfg);

  // -- from the actor hooks (any thread) ------------------------------------

  /// Notes the writes a person decided and any loop-guard pause, at `now`.
  void on_effects(const std::string& person, const person_effects& fx,
                  mono_time now);

  /// Notes how a write went: an acknowledged write ends its propagation
  /// delay; a failed one marks the person's side failing until a later
  /// write to that side succeeds.
  void on_write_result(const write_request& req, const write_outcome& outcome,
                       mono_time now);

  // -- from the tenant's thread ---------------------------------------------

  /// Publishes the poller's cycle duration and its last complete cycle.
  void on_poller(const graph::presence_poller_counters& c,
                 wall_clock::time_point now);

  /// Publishes the consumer's lag and its records by result.
  void on_consumer(const connect::consumer_stats& s);

  /// Publishes restarts and persons given up by supervision.
  void on_supervisor(const actors::supervisor_counters& c);

  /// Publishes the depth of the Teams and the Connect queue.
  void on_queue_depths(uint64_t teams, uint64_t connect);

  /// Publishes the token's expiry: `expires_at` is on the provider's
  /// clock, which read `mono_now` when the wall clock read `wall_now`.
  void on_token(std::optional<mono_time> expires_at, mono_time mono_now,
                wall_clock::time_point wall_now);

  /// Publishes whether the tenant is ready.
  void on_ready(bool ready);

  /// Publishes the persons in each troubled sync state as of `now`; the
  /// rest of presync_persons{kind="synced"} is in sync.
  void publish_states(mono_time now);

  /// Asks the supervisor for its counters and the queues for their depth
  /// (each answer waits at most `timeout`) and publishes them with the
  /// token's expiry and the sync states.
  void collect(caf::scoped_actor& self, const caf::actor& supervisor,
               const graph::token_provider& tokens,
               std::chrono::milliseconds timeout);

 private:
  using person_side = std::pair<std::string, side>;

  std::string tenant_;
  std::shared_ptr<metrics::sync_metrics> metrics_;

  // Touched by the actor hooks, guarded by mutex_.
  std::mutex mutex_;
  duration loop_cooldown_{0};
  std::map<person_side, mono_time> decided_; ///< write decided, not acked
  std::set<person_side> failing_;            ///< last write failed
  std::map<std::string, mono_time> paused_until_;

  // The tenant thread's alone.
  std::set<std::string> given_up_; ///< supervision failed
  uint64_t cycles_seen_ = 0;
  uint64_t restarts_seen_ = 0;
  connect::consumer_stats consumer_seen_;
  std::vector<caf::actor> queues_; ///< Teams, Connect; asked once
};

} // namespace presync::app
