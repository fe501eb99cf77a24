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
        .Register(*registry_)) {
  // nop
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

} // namespace presync::metrics
