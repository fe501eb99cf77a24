#include "adapters/metrics/metrics.hpp"

#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

namespace presync::metrics {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

std::string result_label(write_outcome::kind k) {
  switch (k) {
  case write_outcome::kind::ok:
    return "ok";
  case write_outcome::kind::throttled:
    return "throttled";
  case write_outcome::kind::failed:
    return "failed";
  case write_outcome::kind::deferred:
    return "deferred";
  case write_outcome::kind::cancelled:
    return "cancelled";
  }
  return "failed";
}

} // namespace

sync_metrics::sync_metrics(std::shared_ptr<prometheus::Registry> registry)
  : registry_(std::move(registry)),
    source_changes_(BuildCounter()
                      .Name("presync_source_changes_total")
                      .Help("Status changes observed, by source side")
                      .Register(*registry_)),
    decisions_(BuildCounter()
                 .Name("presync_decisions_total")
                 .Help("Sync decisions journaled, by direction and kind")
                 .Register(*registry_)),
    writes_(BuildCounter()
              .Name("presync_writes_total")
              .Help("Write attempts, by target side and result")
              .Register(*registry_)),
    refreshes_(BuildCounter()
                 .Name("presync_session_refreshes_total")
                 .Help("Re-posts of presync's unchanged Teams session")
                 .Register(*registry_)),
    loop_pauses_(BuildCounter()
                   .Name("presync_loop_pauses_total")
                   .Help("Persons paused by the loop guard")
                   .Register(*registry_)),
    restarts_(BuildCounter()
                .Name("presync_actor_restarts_total")
                .Help("Person actors restarted by their supervisor")
                .Register(*registry_)),
    queue_depth_(BuildGauge()
                   .Name("presync_write_queue_depth")
                   .Help("Writes waiting in a tenant's queue, by side")
                   .Register(*registry_)),
    persons_(BuildGauge()
               .Name("presync_persons")
               .Help("Persons of a tenant, by kind (synced, teams_only, "
                     "connect_only)")
               .Register(*registry_)),
    identity_conflicts_(BuildGauge()
                          .Name("presync_identity_conflicts")
                          .Help("Identities claimed by more than one account; "
                                "none of those accounts is synced")
                          .Register(*registry_)),
    propagation_delay_(
      BuildHistogram()
        .Name("presync_propagation_delay_seconds")
        .Help("Time from a hold ending to the write being acknowledged")
        .Register(*registry_)),
    api_requests_(BuildCounter()
                    .Name("presync_api_requests_total")
                    .Help("HTTP requests to Graph, Entra ID, Connect, Kinesis "
                          "and STS, by operation and status class")
                    .Register(*registry_)),
    api_duration_(BuildHistogram()
                    .Name("presync_api_request_duration_seconds")
                    .Help("Time from sending a remote API request to its "
                          "answer, pool wait included")
                    .Register(*registry_)),
    throttled_(BuildCounter()
                 .Name("presync_api_throttled_total")
                 .Help("Answers that asked presync to slow down (429, 503 "
                       "with Retry-After, AWS throttling exceptions)")
                 .Register(*registry_)),
    throttled_seconds_(BuildCounter()
                         .Name("presync_api_throttled_seconds_total")
                         .Help("Back-off time asked for by Retry-After")
                         .Register(*registry_)),
    api_budget_(BuildGauge()
                  .Name("presync_api_budget_requests_per_second")
                  .Help("Configured request budget of an API")
                  .Register(*registry_)),
    poll_cycle_(BuildHistogram()
                  .Name("presync_poll_cycle_duration_seconds")
                  .Help("Time from a presence poll cycle's first batch to its "
                        "last answer")
                  .Register(*registry_)),
    consumer_lag_(BuildGauge()
                    .Name("presync_consumer_lag_seconds")
                    .Help("How far the agent event consumer is behind the "
                          "stream's tip (MillisBehindLatest, largest shard)")
                    .Register(*registry_)),
    source_last_success_(
      BuildGauge()
        .Name("presync_event_source_last_success_timestamp_seconds")
        .Help("When an event source last read successfully (Unix time)")
        .Register(*registry_)),
    event_records_(BuildCounter()
                     .Name("presync_event_records_total")
                     .Help("Agent event records read, by what became of them")
                     .Register(*registry_)),
    token_expiry_(BuildGauge()
                    .Name("presync_graph_token_expiry_timestamp_seconds")
                    .Help("When the Graph app token expires (Unix time; 0 "
                          "while none is held)")
                    .Register(*registry_)),
    secret_expiry_(
      BuildGauge()
        .Name("presync_graph_client_secret_expiry_timestamp_seconds")
        .Help("When the Graph client secret expires (Unix time), as the "
              "deployment declares it")
        .Register(*registry_)),
    persons_in_state_(BuildGauge()
                        .Name("presync_persons_in_state")
                        .Help("Synced persons by sync state")
                        .Register(*registry_)),
    tenant_ready_(BuildGauge()
                    .Name("presync_tenant_ready")
                    .Help("1 when the tenant is ready (/readyz), else 0")
                    .Register(*registry_)),
    persons_resting_(BuildGauge()
                       .Name("presync_persons_resting")
                       .Help("Persons kept as their last state without an "
                             "actor until an input or timer wakes them")
                       .Register(*registry_)),
    config_reloads_(BuildCounter()
                      .Name("presync_config_reloads_total")
                      .Help("Config reloads, applied or rejected")
                      .Register(*registry_)),
    store_write_(BuildHistogram()
                   .Name("presync_store_write_duration_seconds")
                   .Help("Time one store write transaction took")
                   .Register(*registry_)),
    reconcile_runs_(BuildCounter()
                      .Name("presync_reconcile_runs_total")
                      .Help("Reconciliations finished, by what started them "
                            "(start, interval, gap)")
                      .Register(*registry_)),
    reconcile_differences_(
      BuildCounter()
        .Name("presync_reconcile_differences_total")
        .Help("Persons whose side, read in bulk by a reconciliation, "
              "differed from what presync believed")
        .Register(*registry_)) {
  // Both outcomes exist from the start, so increase() sees the first one.
  config_reloads_.Add({{"result", "applied"}});
  config_reloads_.Add({{"result", "rejected"}});
}

void sync_metrics::count_source_change(const std::string& tenant, side from) {
  source_changes_
    .Add({{"tenant", tenant}, {"side", std::string{to_string(from)}}})
    .Increment();
}

void sync_metrics::count_decision(const std::string& tenant, direction dir,
                                  decision d) {
  decisions_
    .Add({{"tenant", tenant},
          {"direction", std::string{to_string(dir)}},
          {"decision", std::string{to_string(d)}}})
    .Increment();
}

void sync_metrics::count_write(const std::string& tenant, side to,
                               write_outcome::kind result) {
  writes_
    .Add({{"tenant", tenant},
          {"side", std::string{to_string(to)}},
          {"result", result_label(result)}})
    .Increment();
}

void sync_metrics::count_refresh(const std::string& tenant, bool ok) {
  refreshes_.Add({{"tenant", tenant}, {"result", ok ? "ok" : "failed"}})
    .Increment();
}

void sync_metrics::count_loop_pause(const std::string& tenant) {
  loop_pauses_.Add({{"tenant", tenant}}).Increment();
}

void sync_metrics::count_actor_restart(const std::string& tenant) {
  restarts_.Add({{"tenant", tenant}}).Increment();
}

void sync_metrics::set_queue_depth(const std::string& tenant, side to,
                                   double depth) {
  queue_depth_.Add({{"tenant", tenant}, {"side", std::string{to_string(to)}}})
    .Set(depth);
}

void sync_metrics::set_persons(const std::string& tenant,
                               const std::string& kind, double count) {
  persons_.Add({{"tenant", tenant}, {"kind", kind}}).Set(count);
}

void sync_metrics::set_identity_conflicts(const std::string& tenant,
                                          double count) {
  identity_conflicts_.Add({{"tenant", tenant}}).Set(count);
}

void sync_metrics::observe_propagation_delay(const std::string& tenant,
                                             direction dir, double seconds) {
  static const prometheus::Histogram::BucketBoundaries buckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  propagation_delay_
    .Add({{"tenant", tenant}, {"direction", std::string{to_string(dir)}}},
         buckets)
    .Observe(seconds);
}

void sync_metrics::count_api_request(const std::string& tenant, api_call call,
                                     std::string_view status_class,
                                     double seconds) {
  static const prometheus::Histogram::BucketBoundaries buckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  api_requests_
    .Add({{"tenant", tenant},
          {"api", std::string{call.api}},
          {"operation", std::string{call.operation}},
          {"status_class", std::string{status_class}}})
    .Increment();
  api_duration_
    .Add({{"tenant", tenant},
          {"api", std::string{call.api}},
          {"operation", std::string{call.operation}}},
         buckets)
    .Observe(seconds);
}

void sync_metrics::count_throttled(const std::string& tenant, api_call call,
                                   double retry_after_seconds) {
  throttled_
    .Add({{"tenant", tenant},
          {"api", std::string{call.api}},
          {"operation", std::string{call.operation}}})
    .Increment();
  throttled_seconds_.Add({{"tenant", tenant}, {"api", std::string{call.api}}})
    .Increment(retry_after_seconds);
}

void sync_metrics::set_api_budget(const std::string& tenant,
                                  std::string_view api,
                                  double requests_per_second) {
  api_budget_.Add({{"tenant", tenant}, {"api", std::string{api}}})
    .Set(requests_per_second);
}

void sync_metrics::observe_poll_cycle(const std::string& tenant,
                                      double seconds) {
  static const prometheus::Histogram::BucketBoundaries buckets = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  poll_cycle_.Add({{"tenant", tenant}}, buckets).Observe(seconds);
}

void sync_metrics::set_consumer_lag(const std::string& tenant, double seconds) {
  consumer_lag_.Add({{"tenant", tenant}}).Set(seconds);
}

void sync_metrics::set_source_last_success(const std::string& tenant,
                                           std::string_view source,
                                           double unix_seconds) {
  source_last_success_
    .Add({{"tenant", tenant}, {"source", std::string{source}}})
    .Set(unix_seconds);
}

void sync_metrics::count_event_records(const std::string& tenant,
                                       std::string_view result, double n) {
  event_records_.Add({{"tenant", tenant}, {"result", std::string{result}}})
    .Increment(n);
}

void sync_metrics::set_token_expiry(const std::string& tenant,
                                    double unix_seconds) {
  token_expiry_.Add({{"tenant", tenant}}).Set(unix_seconds);
}

void sync_metrics::set_client_secret_expiry(const std::string& tenant,
                                            double unix_seconds) {
  secret_expiry_.Add({{"tenant", tenant}}).Set(unix_seconds);
}

void sync_metrics::set_persons_in_state(const std::string& tenant,
                                        std::string_view state, double count) {
  persons_in_state_.Add({{"tenant", tenant}, {"state", std::string{state}}})
    .Set(count);
}

void sync_metrics::set_tenant_ready(const std::string& tenant, bool ready) {
  tenant_ready_.Add({{"tenant", tenant}}).Set(ready ? 1 : 0);
}

void sync_metrics::count_actor_restarts(const std::string& tenant, double n) {
  restarts_.Add({{"tenant", tenant}}).Increment(n);
}

void sync_metrics::set_persons_resting(const std::string& tenant,
                                       double count) {
  persons_resting_.Add({{"tenant", tenant}}).Set(count);
}

void sync_metrics::count_config_reload(bool applied) {
  config_reloads_.Add({{"result", applied ? "applied" : "rejected"}})
    .Increment();
}

void sync_metrics::count_reconcile(const std::string& tenant,
                                   std::string_view reason,
                                   uint64_t connect_differences,
                                   uint64_t teams_differences) {
  reconcile_runs_.Add({{"tenant", tenant}, {"reason", std::string{reason}}})
    .Increment();

  // Both sides get a series on the first run, so increase() sees the
  // first difference too.
  reconcile_differences_.Add({{"tenant", tenant}, {"side", "connect"}})
    .Increment(static_cast<double>(connect_differences));
  reconcile_differences_.Add({{"tenant", tenant}, {"side", "teams"}})
    .Increment(static_cast<double>(teams_differences));
}

void sync_metrics::observe_store_write(std::string_view operation,
                                       double seconds) {
  static const prometheus::Histogram::BucketBoundaries buckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  store_write_.Add({{"operation", std::string{operation}}}, buckets)
    .Observe(seconds);
}

metrics_server::metrics_server(const std::string& listen,
                               std::shared_ptr<prometheus::Registry> registry)
  : exposer_(std::make_unique<prometheus::Exposer>(listen)) {
  exposer_->RegisterCollectable(registry);
}

metrics_server::~metrics_server() = default;

unsigned short metrics_server::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<unsigned short>(ports.front());
}

std::string render(prometheus::Registry& registry) {
  return prometheus::TextSerializer{}.Serialize(registry.Collect());
}

std::function<void(duration)>
graph_batch_throttle_counter(std::shared_ptr<sync_metrics> m,
                             std::string tenant) {
  return [m = std::move(m), tenant = std::move(tenant)](duration retry_after) {
    using seconds = std::chrono::duration<double>;
    m->count_throttled(
      tenant, {"graph", "batch"},
      std::chrono::duration_cast<seconds>(retry_after).count());
  };
}

} // namespace presync::metrics
