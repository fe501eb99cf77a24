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

TEST(MetricsServer, BindsAFreeLoopbackPort) {
  auto registry = std::make_shared<prometheus::Registry>();

  metrics_server server{"127.0.0.1:0", registry};

  EXPECT_GT(server.port(), 0);
}

} // namespace
} // namespace presync::metrics
