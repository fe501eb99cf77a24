#include "config/config.hpp"

#include "test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace presync::config {
namespace {

using namespace std::chrono_literals;
using testing::fake_env;

const std::string example_file =
  PRESYNC_TEST_DATA_DIR "/../config/examples/presync.yaml";

constexpr const char* minimal = R"(
tenants:
  - id: contoso
    graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: 00000000-0000-0000-0000-0000000000b1
      client_secret_env: PRESYNC_GRAPH_SECRET
    connect:
      instance_id: 00000000-0000-0000-0000-0000000000c1
      region: eu-west-2
      stream_name: agent-events
)";

TEST(ExampleConfig, PassesWithTheVariablesItNames) {
  diagnostics diags{"presync.yaml"};

  auto config = load_config_file(example_file, diags, fake_env());

  ASSERT_TRUE(config.has_value())
    << ::testing::PrintToString(diags.format_all());
  EXPECT_TRUE(diags.items().empty())
    << ::testing::PrintToString(diags.format_all());
  ASSERT_EQ(config->tenants.size(), 1u);
  EXPECT_EQ(config->tenants[0].id, "contoso");
  EXPECT_EQ(config->tenants[0].graph.client_secret_env, "PRESYNC_GRAPH_SECRET");
  EXPECT_EQ(config->tenants[0].connect.agent_statuses,
            (std::vector<std::string>{"Meeting", "Lunch", "Break"}));
}

TEST(ExampleConfig, SpellsOutExactlyTheDefaults) {
  diagnostics diags;
  diagnostics example_diags;

  auto defaults = load_config_text(minimal, diags, fake_env());
  auto example = load_config_file(example_file, example_diags, fake_env());

  ASSERT_TRUE(defaults && example);
  const auto& d = defaults->tenants[0];
  const auto& e = example->tenants[0];
  EXPECT_EQ(e.sync.min_hold, d.sync.min_hold);
  EXPECT_EQ(e.sync.echo_window, d.sync.echo_window);
  EXPECT_EQ(e.sync.chain_window, d.sync.chain_window);
  EXPECT_EQ(e.sync.loop_max_chain, d.sync.loop_max_chain);
  EXPECT_EQ(e.sync.loop_cooldown, d.sync.loop_cooldown);
  EXPECT_EQ(e.sync.available_refresh, d.sync.available_refresh);
  EXPECT_EQ(e.sync.teams_session_ttl, d.sync.teams_session_ttl);
  EXPECT_EQ(e.sync.session_refresh_margin, d.sync.session_refresh_margin);
  EXPECT_EQ(e.sync.reconcile_interval, d.sync.reconcile_interval);
  EXPECT_EQ(e.sync.directory_interval, d.sync.directory_interval);
  EXPECT_EQ(e.sync.teams_poll_interval, d.sync.teams_poll_interval);
  EXPECT_EQ(e.sync.journal_size, d.sync.journal_size);
  EXPECT_EQ(e.sync.connect_to_teams.entries, d.sync.connect_to_teams.entries);
  EXPECT_EQ(e.sync.connect_to_teams.fallback, d.sync.connect_to_teams.fallback);
  EXPECT_EQ(e.sync.teams_to_connect.entries, d.sync.teams_to_connect.entries);
  EXPECT_EQ(e.graph.login_endpoint, d.graph.login_endpoint);
  EXPECT_EQ(e.graph.graph_endpoint, d.graph.graph_endpoint);
  EXPECT_EQ(e.graph.presence_requests_per_window,
            d.graph.presence_requests_per_window);
  EXPECT_EQ(e.graph.presence_window, d.graph.presence_window);
  EXPECT_EQ(e.graph.directory_requests_per_second,
            d.graph.directory_requests_per_second);
  EXPECT_EQ(e.graph.write_gather, d.graph.write_gather);
  EXPECT_EQ(e.connect.endpoint, d.connect.endpoint);
  EXPECT_EQ(e.connect.kinesis_endpoint, d.connect.kinesis_endpoint);
  EXPECT_EQ(e.connect.sts_endpoint, d.connect.sts_endpoint);
  EXPECT_EQ(e.connect.requests_per_second, d.connect.requests_per_second);
  EXPECT_EQ(e.connect.burst, d.connect.burst);
  EXPECT_EQ(e.connect.credentials, d.connect.credentials);
  EXPECT_EQ(e.identity.match_order, d.identity.match_order);
  EXPECT_EQ(example->actors.scheduler_threads,
            defaults->actors.scheduler_threads);
  EXPECT_EQ(example->actors.scheduler_policy,
            defaults->actors.scheduler_policy);
  EXPECT_EQ(example->actors.throughput, defaults->actors.throughput);
  EXPECT_EQ(example->actors.rest_after, defaults->actors.rest_after);
  EXPECT_EQ(example->server.listen.to_string(),
            defaults->server.listen.to_string());
  EXPECT_EQ(example->server.api_tokens_env, defaults->server.api_tokens_env);
  EXPECT_EQ(example->server.cors_origins, defaults->server.cors_origins);
  EXPECT_EQ(example->server.shutdown_grace, defaults->server.shutdown_grace);
  EXPECT_EQ(example->server.read_timeout, defaults->server.read_timeout);
  EXPECT_EQ(example->metrics.listen.to_string(),
            defaults->metrics.listen.to_string());
  EXPECT_EQ(example->log.min_level, defaults->log.min_level);
  EXPECT_EQ(example->store.path, defaults->store.path);
}

TEST(LoadConfig, DerivesAwsEndpointsFromTheRegion) {
  diagnostics diags;

  auto config = load_config_text(minimal, diags, fake_env());

  ASSERT_TRUE(config);
  const auto& c = config->tenants[0].connect;
  EXPECT_EQ(c.endpoint, "https://connect.eu-west-2.amazonaws.com");
  EXPECT_EQ(c.kinesis_endpoint, "https://kinesis.eu-west-2.amazonaws.com");
  EXPECT_EQ(c.sts_endpoint, "https://sts.eu-west-2.amazonaws.com");
  EXPECT_EQ(config->store.path, "presync.db");
  EXPECT_EQ(config->server.listen.to_string(), "0.0.0.0:8080");
  EXPECT_EQ(config->server.read_timeout, 10s);
  EXPECT_EQ(config->tenants[0].sync.min_hold, 15s);
}

TEST(LoadConfig, ReadsProcessWideSections) {
  std::string text = std::string{minimal} + R"(
actors: {scheduler_threads: 4, scheduler_policy: stealing, throughput: 20,
         rest_after: 0s}
server:
  listen: "[::1]:18080"
  api_tokens_env: PRESYNC_API_TOKENS
  cors_origins: [https://desk.example.com, "http://localhost:3000"]
  read_timeout: 45s
metrics: {listen: 127.0.0.1:19464}
log: {level: debug}
store: {path: /var/lib/presync/state.db}
)";
  diagnostics diags;

  auto config = load_config_text(text, diags, fake_env());

  ASSERT_TRUE(config) << ::testing::PrintToString(diags.format_all());
  EXPECT_EQ(config->actors.scheduler_threads, 4);
  EXPECT_EQ(config->actors.scheduler_policy, actors_config::policy::stealing);
  EXPECT_EQ(config->actors.throughput, 20);
  EXPECT_EQ(config->actors.rest_after, 0s);
  EXPECT_EQ(config->server.listen.host, "::1");
  EXPECT_EQ(config->server.listen.port, 18080);
  EXPECT_EQ(config->server.listen.to_string(), "[::1]:18080");
  EXPECT_EQ(config->server.cors_origins.size(), 2u);
  EXPECT_EQ(config->server.read_timeout, 45s);
  EXPECT_EQ(config->metrics.listen.port, 19464);
  EXPECT_EQ(config->log.min_level, log_config::level::debug);
  EXPECT_EQ(config->store.path, "/var/lib/presync/state.db");
}

TEST(LoadConfig, AcceptsPlainHttpOnLoopbackOnly) {
  std::string text = std::string{minimal} +
                     "      endpoint: http://127.0.0.1:4566/\n"
                     "      kinesis_endpoint: http://[::1]:4567\n";
  diagnostics diags;

  auto config = load_config_text(text, diags, fake_env());

  ASSERT_TRUE(config) << ::testing::PrintToString(diags.format_all());
  EXPECT_EQ(config->tenants[0].connect.endpoint, "http://127.0.0.1:4566");
  EXPECT_EQ(config->tenants[0].connect.kinesis_endpoint, "http://[::1]:4567");
}

TEST(LoadConfig, PassesTheTenantsStatusesToTheSyncConditions) {
  std::string text = std::string{minimal} + R"(
      agent_statuses: [Lunch]
    sync:
      teams_to_connect:
        Busy: {status: Meeting, only_when_connect_in: [Lunch, Break]}
)";
  diagnostics diags;

  auto config = load_config_text(text, diags, fake_env());

  EXPECT_FALSE(config);
  ASSERT_EQ(diags.items().size(), 1u);
  EXPECT_EQ(diags.items()[0].path,
            "tenants[0].sync.teams_to_connect.Busy.only_when_connect_in[1]");
  EXPECT_EQ(diags.items()[0].line, 16);
}

TEST(LoadConfig, ReportsEveryProblemNotOnlyTheFirst) {
  std::string text = std::string{minimal} + R"(
    sync: {min_hold: x, journal_size: 0, mode: sideways}
actors: {throughput: 0}
)";
  diagnostics diags;

  auto config = load_config_text(text, diags, fake_env());

  EXPECT_FALSE(config);
  EXPECT_EQ(diags.error_count(), 4u)
    << ::testing::PrintToString(diags.format_all());
}

TEST(LoadConfig, MissingSecretVariableNamesTheVariable) {
  diagnostics diags;
  auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "PRESYNC_GRAPH_SECRET") {
      return std::nullopt;
    }
    return testing::fake_env()(name);
  };

  auto config = load_config_text(minimal, diags, env);

  EXPECT_FALSE(config);
  ASSERT_EQ(diags.items().size(), 1u);
  EXPECT_EQ(diags.format(diags.items()[0]),
            "line 7: error: tenants[0].graph.client_secret_env: environment "
            "variable PRESYNC_GRAPH_SECRET is not set");
}

TEST(LoadConfig, EmptyVariablesAreErrorsToo) {
  diagnostics diags;

  auto config = load_config_text(
    minimal, diags,
    fake_env({{"PRESYNC_GRAPH_SECRET", ""}, {"PRESYNC_API_TOKENS", " , "}}));

  EXPECT_FALSE(config);
  auto lines = diags.format_all();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "line 7: error: tenants[0].graph.client_secret_env: "
                      "environment variable PRESYNC_GRAPH_SECRET is empty");
  EXPECT_EQ(lines[1], "error: server.api_tokens_env: environment variable "
                      "PRESYNC_API_TOKENS holds no tokens (expected "
                      "comma-separated tokens)");
}

/// Loads `text`; returns what `pick` reads from the config (nullopt when
/// it was refused) and the first diagnostic line.
template <class Pick>
auto load_and_pick(const std::string& text, Pick pick) {
  diagnostics diags;
  auto config = load_config_text(text, diags, fake_env());
  auto lines = diags.format_all();
  return std::pair{config ? std::optional{pick(*config)} : std::nullopt,
                   lines.empty() ? std::string{} : lines[0]};
}

TEST(LoadConfig, WriteGatherTakesZeroToTenSeconds) {
  auto load = [](std::string value) {
    auto text = std::string{minimal};
    text.replace(text.find("      client_secret_env"), 0,
                 "      write_gather: " + value + "\n");
    return load_and_pick(
      text, [](const auto& c) { return c.tenants[0].graph.write_gather; });
  };

  auto none = load("0s");
  auto some = load("3s");
  auto over = load("11s");

  EXPECT_EQ(none.first, 0s);
  EXPECT_EQ(some.first, 3s);
  EXPECT_EQ(over.first, std::nullopt);
  EXPECT_NE(over.second.find("tenants[0].graph.write_gather: 11s is out of "
                             "range; allowed 0s..10s"),
            std::string::npos)
    << over.second;
}

TEST(LoadConfig, ReadTimeoutTakesOneSecondToFiveMinutes) {
  auto load = [](std::string value) {
    return load_and_pick(std::string{minimal} +
                           "server: {read_timeout: " + value + "}\n",
                         [](const auto& c) { return c.server.read_timeout; });
  };

  auto low = load("1s");
  auto high = load("5m");
  auto zero = load("0s");
  auto under = load("999ms");
  auto over = load("301s");

  EXPECT_EQ(low.first, 1s);
  EXPECT_EQ(high.first, 300s);
  EXPECT_EQ(zero.first, std::nullopt);
  EXPECT_EQ(under.first, std::nullopt);
  EXPECT_EQ(over.first, std::nullopt);
  EXPECT_NE(zero.second.find("error: server.read_timeout: 0s is out of range; "
                             "allowed 1s..5m"),
            std::string::npos)
    << zero.second;
  EXPECT_NE(under.second.find("server.read_timeout: 999ms is out of range"),
            std::string::npos)
    << under.second;
  EXPECT_NE(over.second.find("server.read_timeout: "), std::string::npos)
    << over.second;
}

TEST(LoadConfig, NeverPrintsASecretValue) {
  // Every check that reads a variable runs, and several others fail.
  std::string text = std::string{minimal} + R"(
      credentials: container
    sync: {min_hold: nope}
server: {api_tokens_env: PRESYNC_API_TOKENS, listen: nope}
)";
  diagnostics diags;

  auto config = load_config_text(text, diags, fake_env());

  EXPECT_FALSE(config);
  EXPECT_GE(diags.error_count(), 3u);
  for (const auto& line : diags.format_all()) {
    for (const auto& [name, value] : testing::fake_variables()) {
      EXPECT_EQ(line.find(value), std::string::npos) << line;
    }
  }
}

TEST(LoadConfig, SyntaxErrorCarriesItsLine) {
  diagnostics diags{"x.yaml"};

  auto config =
    load_config_text("tenants:\n  - id: [a, b\n", diags, fake_env());

  EXPECT_FALSE(config);
  ASSERT_EQ(diags.items().size(), 1u);
  EXPECT_EQ(diags.items()[0].line, 3);
  EXPECT_EQ(diags.format(diags.items()[0]),
            "x.yaml:3: error: YAML syntax error: end of sequence flow not "
            "found");
}

TEST(LoadConfig, UnreadableFileIsAnError) {
  diagnostics diags{"missing.yaml"};

  auto config = load_config_file(PRESYNC_TEST_DATA_DIR "/config/no-such.yaml",
                                 diags, fake_env());

  EXPECT_FALSE(config);
  ASSERT_EQ(diags.items().size(), 1u);
  EXPECT_EQ(diags.format(diags.items()[0]),
            "missing.yaml: error: cannot read the file");
}

} // namespace
} // namespace presync::config
