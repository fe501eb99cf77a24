// presync's Prometheus metrics: names with the `presync_` prefix and base
// units, labels bounded to tenant, direction, side, decision, result, api,
// operation, status class, source, state and reconcile reason (never a
// person id). The dashboards and alerts in dashboards/ depend on these
// names: change them together (docs/operations.md lists every family).
#pragma once

#include "adapters/metrics/api_call.hpp"
#include "protocol/journal.hpp"
#include "protocol/messages.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Exposer;
} // namespace prometheus

namespace presync::metrics {

/// The metric families of the sync core. Thread-safe: prometheus-cpp
/// counters are atomic and family lookups are locked by the library.
class sync_metrics {
 public:
  explicit sync_metrics(std::shared_ptr<prometheus::Registry> registry);

  /// Counts a change observed on `from` (Connect event, Teams observation).
  void count_source_change(const std::string& tenant, side from);

  /// Counts one journal decision.
  void count_decision(const std::string& tenant, direction dir, decision d);

  /// Counts one write attempt to `to` by how it went.
  void count_write(const std::string& tenant, side to,
                   write_outcome::kind result);

  /// Counts one session refresh.
  void count_refresh(const std::string& tenant, bool ok);

  /// Counts a loop-guard pause.
  void count_loop_pause(const std::string& tenant);

  /// Counts a restarted person actor.
  void count_actor_restart(const std::string& tenant);

  /// Sets how many writes wait in the queue of `to`.
  void set_queue_depth(const std::string& tenant, side to, double depth);

  /// Sets how many persons a tenant syncs, by kind: synced (both sides),
  /// teams_only, connect_only.
  void set_persons(const std::string& tenant, const std::string& kind,
                   double count);

  /// Sets how many identity conflicts keep accounts out of sync.
  void set_identity_conflicts(const std::string& tenant, double count);

  /// Records the time from a hold ending to the write being acknowledged.
  void observe_propagation_delay(const std::string& tenant, direction dir,
                                 double seconds);

  // -- remote APIs ----------------------------------------------------------

  /// Counts one HTTP request to a remote API by its answer's status class
  /// ("2xx" ... "5xx", "error" without an answer) and records its latency.
  void count_api_request(const std::string& tenant, api_call call,
                         std::string_view status_class, double seconds);

  /// Counts an answer that asked presync to slow down, and the time it
  /// asked for (Retry-After; 0 when none was given).
  void count_throttled(const std::string& tenant, api_call call,
                       double retry_after_seconds);

  /// Sets the configured request budget of `api` in requests per second
  /// (Graph presence: requests per window / window; Connect: the limiter).
  void set_api_budget(const std::string& tenant, std::string_view api,
                      double requests_per_second);

  // -- event sources --------------------------------------------------------

  /// Records how long one presence poll cycle took, first batch sent to
  /// last batch answered.
  void observe_poll_cycle(const std::string& tenant, double seconds);

  /// Sets how far the Kinesis consumer is behind the stream's tip
  /// (MillisBehindLatest of the last answers, the largest over shards).
  void set_consumer_lag(const std::string& tenant, double seconds);

  /// Sets when `source` (kinesis, teams_poll) last read successfully, as
  /// Unix time in seconds.
  void set_source_last_success(const std::string& tenant,
                               std::string_view source, double unix_seconds);

  /// Counts Kinesis records by what became of them (applied, malformed,
  /// duplicate, stale, after_logout, unmapped).
  void count_event_records(const std::string& tenant, std::string_view result,
                           double n);

  // -- credentials ----------------------------------------------------------

  /// Sets when the tenant's Graph token expires, as Unix time in seconds;
  /// 0 while no token is held.
  void set_token_expiry(const std::string& tenant, double unix_seconds);

  /// Sets when the tenant's Graph client secret expires, as Unix time in
  /// seconds. Only known when the deployment says so (docs/operations.md).
  void set_client_secret_expiry(const std::string& tenant, double unix_seconds);

  // -- persons and tenants --------------------------------------------------

  /// Sets how many synced persons are in a troubled `state`:
  /// write_failing (the last write to a side failed), loop_paused,
  /// supervision_failed (given up after too many restarts). Each person
  /// counts in its worst state only; the rest are in sync.
  void set_persons_in_state(const std::string& tenant, std::string_view state,
                            double count);

  /// Sets whether the tenant is ready (the /readyz condition).
  void set_tenant_ready(const std::string& tenant, bool ready);

  /// Counts `n` restarted person actors.
  void count_actor_restarts(const std::string& tenant, double n);

  /// Sets how many persons rest without an actor (actors.rest_after).
  void set_persons_resting(const std::string& tenant, double count);

  // -- process --------------------------------------------------------------

  /// Counts one config reload: applied, or rejected (the file was invalid
  /// and the running config stayed).
  void count_config_reload(bool applied);

  // -- reconciliation -------------------------------------------------------

  /// Counts one finished reconciliation of `tenant` (both sides read in
  /// bulk and compared with what the persons believe) and the differences
  /// it found on each side. `reason` is one of a fixed few: start,
  /// interval, gap.
  void count_reconcile(const std::string& tenant, std::string_view reason,
                       uint64_t connect_differences,
                       uint64_t teams_differences);

  // -- store ----------------------------------------------------------------

  /// Records how long one store write took; `presync run` passes each
  /// committed batch of the SQLite store as operation "commit".
  void observe_store_write(std::string_view operation, double seconds);

  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& source_changes_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& writes_;
  prometheus::Family<prometheus::Counter>& refreshes_;
  prometheus::Family<prometheus::Counter>& loop_pauses_;
  prometheus::Family<prometheus::Counter>& restarts_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Gauge>& persons_;
  prometheus::Family<prometheus::Gauge>& identity_conflicts_;
  prometheus::Family<prometheus::Histogram>& propagation_delay_;
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Histogram>& api_duration_;
  prometheus::Family<prometheus::Counter>& throttled_;
  prometheus::Family<prometheus::Counter>& throttled_seconds_;
  prometheus::Family<prometheus::Gauge>& api_budget_;
  prometheus::Family<prometheus::Histogram>& poll_cycle_;
  prometheus::Family<prometheus::Gauge>& consumer_lag_;
  prometheus::Family<prometheus::Gauge>& source_last_success_;
  prometheus::Family<prometheus::Counter>& event_records_;
  prometheus::Family<prometheus::Gauge>& token_expiry_;
  prometheus::Family<prometheus::Gauge>& secret_expiry_;
  prometheus::Family<prometheus::Gauge>& persons_in_state_;
  prometheus::Family<prometheus::Gauge>& tenant_ready_;
  prometheus::Family<prometheus::Gauge>& persons_resting_;
  prometheus::Family<prometheus::Counter>& config_reloads_;
  prometheus::Family<prometheus::Histogram>& store_write_;
  prometheus::Family<prometheus::Counter>& reconcile_runs_;
  prometheus::Family<prometheus::Counter>& reconcile_differences_;
};

/// Serves a registry on its own port (`/metrics`).
class metrics_server {
 public:
  /// Binds `listen` ("127.0.0.1:9464"; port 0 picks a free one). Throws
  /// std::runtime_error when the address cannot be bound (start-up error).
  metrics_server(const std::string& listen,
                 std::shared_ptr<prometheus::Registry> registry);
  ~metrics_server();

  /// Returns the port actually bound.
  unsigned short port() const;

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
};

/// Returns the registry's metrics in Prometheus' text format.
std::string render(prometheus::Registry& registry);

/// Returns a callback that counts one throttled sub-response of a Graph
/// $batch answer of `tenant` in presync_api_throttled_total (and its
/// Retry-After in presync_api_throttled_seconds_total), with the labels
/// the $batch POST itself carries (api graph, operation batch). For
/// presence_writer_args::on_throttled_sub_response.
std::function<void(duration retry_after)>
graph_batch_throttle_counter(std::shared_ptr<sync_metrics> m,
                             std::string tenant);

} // namespace presync::metrics
