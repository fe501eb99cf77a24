#include "adapters/metrics/metrics.hpp"

#include <gtest/gtest.h>

namespace presync::metrics {
namespace {

TEST(SyncMetrics, CountsDecisionsWithBoundedLabels) {
  auto registry = std::make_shared<prometheus::Registry>();
  sync_metrics m{registry};

  m.count_decision("acme", direction::connect_to_teams, decision::held);
  m.count_decision("acme", direction::connect_to_teams, decision::held);
  m.count_write("acme", side::teams, write_outcome::kind::throttled);

  auto text = render(*registry);
  EXPECT_NE(text.find("presync_decisions_total{decision=\"held\","
                      "direction=\"connect_to_teams\",tenant=\"acme\"} 2"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_writes_total{result=\"throttled\","
                      "side=\"teams\",tenant=\"acme\"} 1"),
            std::string::npos)
    << text;
}

TEST(SyncMetrics, PropagationDelayIsAHistogramInSeconds) {
  auto registry = std::make_shared<prometheus::Registry>();
  sync_metrics m{registry};

  m.observe_propagation_delay("acme", direction::teams_to_connect, 0.02);

  auto text = render(*registry);
  EXPECT_NE(text.find("presync_propagation_delay_seconds_bucket{"
                      "direction=\"teams_to_connect\",tenant=\"acme\","
                      "le=\"0.025\"} 1"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_propagation_delay_seconds_count{"),
            std::string::npos);
}

TEST(SyncMetrics, ApiRequestsCountByOperationAndStatusClass) {
  auto registry = std::make_shared<prometheus::Registry>();
  sync_metrics m{registry};

  m.count_api_request("acme", {"graph", "get_presences"}, "2xx", 0.03);
  m.count_api_request("acme", {"graph", "get_presences"}, "2xx", 0.2);
  m.count_throttled("acme", {"graph", "batch"}, 2.5);
  m.count_throttled("acme", {"graph", "get_presences"}, 1.5);

  auto text = render(*registry);
  EXPECT_NE(text.find("presync_api_requests_total{api=\"graph\","
                      "operation=\"get_presences\",status_class=\"2xx\","
                      "tenant=\"acme\"} 2"),
            std::string::npos)
    << text;
  EXPECT_NE(
    text.find("presync_api_request_duration_seconds_count{api=\"graph\","
              "operation=\"get_presences\",tenant=\"acme\"} 2"),
    std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_api_throttled_seconds_total{api=\"graph\","
                      "tenant=\"acme\"} 4"),
            std::string::npos)
    << text;
}

TEST(SyncMetrics, ThrottledBatchSubResponsesCountLikeTheBatchItself) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto m = std::make_shared<sync_metrics>(registry);
  auto count = graph_batch_throttle_counter(m, "acme");
  auto batch =
    classify_api_call("POST", "https://graph/v1.0/$batch", std::nullopt, "");

  count(std::chrono::seconds{2});
  count(std::chrono::milliseconds{500});

  auto text = render(*registry);
  EXPECT_EQ(batch.api, "graph");
  EXPECT_EQ(batch.operation, "batch");
  EXPECT_NE(text.find("presync_api_throttled_total{api=\"graph\","
                      "operation=\"batch\",tenant=\"acme\"} 2"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_api_throttled_seconds_total{api=\"graph\","
                      "tenant=\"acme\"} 2.5"),
            std::string::npos)
    << text;
}

TEST(SyncMetrics, ReconciliationsCountRunsByReasonAndDifferencesBySide) {
  auto registry = std::make_shared<prometheus::Registry>();
  sync_metrics m{registry};

  m.count_reconcile("acme", "start", 3, 0);
  m.count_reconcile("acme", "interval", 1, 2);
  m.count_reconcile("acme", "interval", 0, 0);

  auto text = render(*registry);
  EXPECT_NE(text.find("presync_reconcile_runs_total{reason=\"start\","
                      "tenant=\"acme\"} 1"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_reconcile_runs_total{reason=\"interval\","
                      "tenant=\"acme\"} 2"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_reconcile_differences_total{side=\"connect\","
                      "tenant=\"acme\"} 4"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_reconcile_differences_total{side=\"teams\","
                      "tenant=\"acme\"} 2"),
            std::string::npos)
    << text;
}

TEST(SyncMetrics, ConfigReloadOutcomesExistBeforeTheFirstReload) {
  auto registry = std::make_shared<prometheus::Registry>();
  sync_metrics m{registry};

  auto before = render(*registry);
  m.count_config_reload(false);
  auto after = render(*registry);

  EXPECT_NE(before.find("presync_config_reloads_total{result=\"applied\"} 0"),
            std::string::npos)
    << before;
  EXPECT_NE(before.find("presync_config_reloads_total{result=\"rejected\"} 0"),
            std::string::npos);
  EXPECT_NE(after.find("presync_config_reloads_total{result=\"rejected\"} 1"),
            std::string::npos)
    << after;
}

TEST(SyncMetrics, GaugesCarryUnixSecondsAndStates) {
  auto registry = std::make_shared<prometheus::Registry>();
  sync_metrics m{registry};

  m.set_token_expiry("acme", 1767225600);
  m.set_persons_in_state("acme", "loop_paused", 2);
  m.set_consumer_lag("acme", 1.5);
  m.set_tenant_ready("acme", true);

  auto text = render(*registry);
  EXPECT_NE(text.find("presync_graph_token_expiry_timestamp_seconds{"
                      "tenant=\"acme\"} 1767225600"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("presync_persons_in_state{state=\"loop_paused\","
                      "tenant=\"acme\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("presync_consumer_lag_seconds{tenant=\"acme\"} 1.5"),
            std::string::npos);
  EXPECT_NE(text.find("presync_tenant_ready{tenant=\"acme\"} 1"),
            std::string::npos);
}

TEST(SyncMetrics, StoreWriteLatencyIsEmptyUntilTheStoreWrites) {
  auto registry = std::make_shared<prometheus::Registry>();
  sync_metrics m{registry};

  auto before = render(*registry);
  m.observe_store_write("checkpoint", 0.002);
  auto after = render(*registry);

  EXPECT_EQ(before.find("presync_store_write_duration_seconds_count"),
            std::string::npos);
  EXPECT_NE(after.find("presync_store_write_duration_seconds_count{"
                       "operation=\"checkpoint\"} 1"),
            std::string::npos)
    << after;
}

TEST(MetricsServer, BindsAFreeLoopbackPort) {
  auto registry = std::make_shared<prometheus::Registry>();

  metrics_server server{"127.0.0.1:0", registry};

  EXPECT_GT(server.port(), 0);
}

} // namespace
} // namespace presync::metrics
