// presync's Prometheus metrics: names with the `presync_` prefix and base
// units, labels bounded to tenant, direction, side, decision and result
// (never a person id).
#pragma once

#include "protocol/journal.hpp"
#include "protocol/messages.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

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

} // namespace presync::metrics
