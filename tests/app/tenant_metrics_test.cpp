#include "app/tenant_metrics.hpp"

#include "adapters/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace presync::app {
namespace {

using namespace std::chrono_literals;

class TenantMetrics : public ::testing::Test {
 protected:
  TenantMetrics() {
    cfg_.id = "acme";
    cfg_.graph.presence_requests_per_window = 1500;
    cfg_.graph.presence_window = 30s;
    cfg_.connect.requests_per_second = 2;
    cfg_.sync.loop_cooldown = 15min;
  }

  /// Returns the value of one series, or -1 when it is not exported.
  double value(const std::string& series) {
    std::istringstream text{metrics::render(*registry_)};
    std::string line;
    while (std::getline(text, line)) {
      if (line.rfind(series + " ", 0) == 0) {
        return std::stod(line.substr(series.size() + 1));
      }
    }
    return -1;
  }

  static person_effects writes_to(side to,
                                  write_kind kind = write_kind::write) {
    person_effects fx;
    write_request w;
    w.person = "p1";
    w.to = to;
    w.kind = kind;
    fx.writes.push_back(w);
    return fx;
  }

  static write_request request(side to) {
    write_request w;
    w.person = "p1";
    w.to = to;
    return w;
  }

  static write_outcome outcome(write_outcome::kind k) {
    write_outcome o;
    o.result = k;
    return o;
  }

  config::tenant_config cfg_;
  std::shared_ptr<prometheus::Registry> registry_ =
    std::make_shared<prometheus::Registry>();
  std::shared_ptr<metrics::sync_metrics> metrics_ =
    std::make_shared<metrics::sync_metrics>(registry_);
  tenant_metrics_feed feed_{"acme", metrics_, cfg_};
};

TEST_F(TenantMetrics, BudgetsAreRequestsPerSecond) {
  EXPECT_EQ(value(R"(presync_api_budget_requests_per_second{api="graph",)"
                  R"(tenant="acme"})"),
            50);
  EXPECT_EQ(value(R"(presync_api_budget_requests_per_second{api="connect",)"
                  R"(tenant="acme"})"),
            2);
  EXPECT_EQ(value(R"(presync_tenant_ready{tenant="acme"})"), 0);
}

TEST_F(TenantMetrics, PropagationDelayRunsFromDecisionToAcknowledgement) {
  feed_.on_effects("p1", writes_to(side::teams), at(10s));

  feed_.on_write_result(request(side::teams), outcome(write_outcome::kind::ok),
                        at(10400ms));

  const std::string labels = R"({direction="connect_to_teams",tenant="acme"})";
  EXPECT_EQ(value("presync_propagation_delay_seconds_count" + labels), 1);
  EXPECT_DOUBLE_EQ(value("presync_propagation_delay_seconds_sum" + labels),
                   0.4);
}

TEST_F(TenantMetrics, ThrottledAttemptKeepsTheDelayRunning) {
  feed_.on_effects("p1", writes_to(side::connect), at(10s));

  feed_.on_write_result(request(side::connect),
                        outcome(write_outcome::kind::throttled), at(11s));
  feed_.on_write_result(request(side::connect),
                        outcome(write_outcome::kind::ok), at(12s));

  const std::string labels = R"({direction="teams_to_connect",tenant="acme"})";
  EXPECT_EQ(value("presync_propagation_delay_seconds_count" + labels), 1);
  EXPECT_DOUBLE_EQ(value("presync_propagation_delay_seconds_sum" + labels),
                   2.0);
}

TEST_F(TenantMetrics, CancelledWriteHasNoDelay) {
  feed_.on_effects("p1", writes_to(side::teams), at(10s));
  feed_.on_effects("p1", writes_to(side::teams, write_kind::cancel), at(11s));

  feed_.on_write_result(request(side::teams), outcome(write_outcome::kind::ok),
                        at(12s));

  EXPECT_EQ(value(R"(presync_propagation_delay_seconds_count{)"
                  R"(direction="connect_to_teams",tenant="acme"})"),
            -1);
}

TEST_F(TenantMetrics, FailedWriteCountsUntilALaterWriteToThatSideSucceeds) {
  const std::string failing =
    R"(presync_persons_in_state{state="write_failing",tenant="acme"})";
  feed_.on_write_result(request(side::teams),
                        outcome(write_outcome::kind::failed), at(1s));
  feed_.publish_states(at(2s));
  EXPECT_EQ(value(failing), 1);

  feed_.on_write_result(request(side::connect),
                        outcome(write_outcome::kind::ok), at(3s));
  feed_.publish_states(at(3s));
  EXPECT_EQ(value(failing), 1);

  feed_.on_write_result(request(side::teams), outcome(write_outcome::kind::ok),
                        at(4s));
  feed_.publish_states(at(4s));
  EXPECT_EQ(value(failing), 0);
}

TEST_F(TenantMetrics, LoopPauseCountsUntilTheCooldownEnds) {
  const std::string paused =
    R"(presync_persons_in_state{state="loop_paused",tenant="acme"})";
  person_effects fx;
  fx.loop_pauses = 1;
  feed_.on_effects("p1", fx, at(0s));

  feed_.publish_states(at(14min));
  EXPECT_EQ(value(paused), 1);

  feed_.publish_states(at(15min));
  EXPECT_EQ(value(paused), 0);
}

TEST_F(TenantMetrics, ReloadedCooldownAndBudgetApplyToNewPauses) {
  cfg_.sync.loop_cooldown = 5min;
  cfg_.connect.requests_per_second = 4;
  feed_.on_settings(cfg_);
  person_effects fx;
  fx.loop_pauses = 1;

  feed_.on_effects("p1", fx, at(0s));
  feed_.publish_states(at(5min));

  EXPECT_EQ(value(R"(presync_persons_in_state{state="loop_paused",)"
                  R"(tenant="acme"})"),
            0);
  EXPECT_EQ(value(R"(presync_api_budget_requests_per_second{api="connect",)"
                  R"(tenant="acme"})"),
            4);
}

TEST_F(TenantMetrics, EachPersonCountsInItsWorstStateOnly) {
  person_effects fx;
  fx.loop_pauses = 1;
  feed_.on_effects("p1", fx, at(0s));
  feed_.on_write_result(request(side::teams),
                        outcome(write_outcome::kind::failed), at(1s));
  actors::supervisor_counters c;
  c.failed = 1;
  c.failed_people = {"p1"};

  feed_.on_supervisor(c);
  feed_.publish_states(at(2s));

  auto state = [&](const std::string& s) {
    return value(R"(presync_persons_in_state{state=")" + s +
                 R"(",tenant="acme"})");
  };
  EXPECT_EQ(state("supervision_failed"), 1);
  EXPECT_EQ(state("loop_paused"), 0);
  EXPECT_EQ(state("write_failing"), 0);
}

TEST_F(TenantMetrics, RestartsAreCountedOnceEach) {
  actors::supervisor_counters c;
  c.restarts = 3;
  feed_.on_supervisor(c);
  feed_.on_supervisor(c);
  c.restarts = 5;
  feed_.on_supervisor(c);

  EXPECT_EQ(value(R"(presync_actor_restarts_total{tenant="acme"})"), 5);
}

TEST_F(TenantMetrics, RestingPersonsAreTheSupervisorsLatestCount) {
  actors::supervisor_counters c;
  c.resting = 7;
  feed_.on_supervisor(c);
  EXPECT_EQ(value(R"(presync_persons_resting{tenant="acme"})"), 7);
  c.resting = 2;
  feed_.on_supervisor(c);
  EXPECT_EQ(value(R"(presync_persons_resting{tenant="acme"})"), 2);
}

TEST_F(TenantMetrics, PollCycleIsObservedOncePerCompletedCycle) {
  graph::presence_poller_counters c;
  c.cycles_completed = 1;
  c.last_cycle_duration = 1750ms;
  auto now = std::chrono::system_clock::time_point{1'700'000'000s};

  feed_.on_poller(c, now);
  feed_.on_poller(c, now + 1s);

  EXPECT_EQ(value(R"(presync_poll_cycle_duration_seconds_count{)"
                  R"(tenant="acme"})"),
            1);
  EXPECT_DOUBLE_EQ(value(R"(presync_poll_cycle_duration_seconds_sum{)"
                         R"(tenant="acme"})"),
                   1.75);
  EXPECT_EQ(value(R"(presync_event_source_last_success_timestamp_seconds{)"
                  R"(source="teams_poll",tenant="acme"})"),
            1'700'000'000);
}

TEST_F(TenantMetrics, ConsumerLagIsInSecondsAndRecordsCountByResult) {
  connect::consumer_stats s;
  s.millis_behind_latest = 2500;
  s.applied = 4;
  s.malformed = 1;
  feed_.on_consumer(s);
  s.applied = 6;
  feed_.on_consumer(s);

  EXPECT_EQ(value(R"(presync_consumer_lag_seconds{tenant="acme"})"), 2.5);
  EXPECT_EQ(value(R"(presync_event_records_total{result="applied",)"
                  R"(tenant="acme"})"),
            6);
  EXPECT_EQ(value(R"(presync_event_records_total{result="malformed",)"
                  R"(tenant="acme"})"),
            1);
}

TEST_F(TenantMetrics, TokenExpiryIsWallClockSecondsOrZero) {
  auto wall = std::chrono::system_clock::time_point{1'700'000'000s};
  const std::string expiry =
    R"(presync_graph_token_expiry_timestamp_seconds{tenant="acme"})";

  EXPECT_EQ(value(expiry), 0);
  feed_.on_token(at(100s + 3600s), at(100s), wall);
  EXPECT_EQ(value(expiry), 1'700'003'600);
  feed_.on_token(std::nullopt, at(200s), wall);
  EXPECT_EQ(value(expiry), 0);
}

TEST_F(TenantMetrics, ObserverCountsStatusClassesAndThrottling) {
  auto observe = make_api_observer("acme", metrics_);
  http::http_request req;
  req.method = "POST";
  req.url = "https://graph.example/v1.0/communications/getPresencesByUserId";
  http::http_response throttled;
  throttled.status = 429;
  throttled.headers.add("Retry-After", "3");

  observe(req, throttled, 20ms);
  observe(req, make_error(sync_error::unavailable, "refused"), 1ms);

  const std::string op = R"(api="graph",operation="get_presences",)";
  EXPECT_EQ(value("presync_api_requests_total{" + op +
                  R"(status_class="4xx",tenant="acme"})"),
            1);
  EXPECT_EQ(value("presync_api_requests_total{" + op +
                  R"(status_class="error",tenant="acme"})"),
            1);
  EXPECT_EQ(value("presync_api_throttled_total{" + op + R"(tenant="acme"})"),
            1);
  EXPECT_EQ(value(R"(presync_api_throttled_seconds_total{api="graph",)"
                  R"(tenant="acme"})"),
            3);
}

TEST_F(TenantMetrics, ObserverStampsTheKinesisSourceOnGetRecords) {
  auto observe = make_api_observer("acme", metrics_);
  http::http_request req;
  req.method = "POST";
  req.url = "http://127.0.0.1:4567/";
  req.headers.add("X-Amz-Target", "Kinesis_20131202.GetRecords");
  http::http_response ok;
  ok.status = 200;

  observe(req, ok, 5ms);

  EXPECT_GT(value(R"(presync_event_source_last_success_timestamp_seconds{)"
                  R"(source="kinesis",tenant="acme"})"),
            1'700'000'000);
}

TEST(ClientSecretExpiry, ReadsTheDeclaredTimestamp) {
  std::map<std::string, std::string> vars{
    {"GRAPH_SECRET_EXPIRES_AT", "2026-06-30T00:00:00Z"},
    {"BAD_EXPIRES_AT", "next june"}};
  config::env_lookup env =
    [&vars](std::string_view name) -> std::optional<std::string> {
    auto i = vars.find(std::string{name});
    if (i == vars.end()) {
      return std::nullopt;
    }
    return i->second;
  };

  auto set = client_secret_expiry(env, "GRAPH_SECRET");
  auto unset = client_secret_expiry(env, "OTHER");
  auto bad = client_secret_expiry(env, "BAD");

  ASSERT_TRUE(set);
  EXPECT_EQ(*set, std::optional<double>{1782777600});
  ASSERT_TRUE(unset);
  EXPECT_EQ(*unset, std::nullopt);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.err().describe().find("BAD_EXPIRES_AT"), std::string::npos);
  EXPECT_EQ(bad.err().describe().find("next june"), std::string::npos);
}

} // namespace
} // namespace presync::app
