// The flags of `presync demo` and the config it writes for `presync run`.
#include "app/demo_cmd.hpp"

#include "config/check_config.hpp"
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace presync::app {
namespace {

using namespace std::chrono_literals;

bool parse(std::vector<std::string> words, demo_options& out,
           std::string& error) {
  std::vector<char*> argv;
  for (auto& w : words) {
    argv.push_back(w.data());
  }
  return parse_demo_flags(static_cast<int>(argv.size()), argv.data(), out,
                          error);
}

TEST(DemoFlags, DefaultsAreTheIssuesDefaults) {
  demo_options o;
  std::string error;

  ASSERT_TRUE(parse({}, o, error));

  EXPECT_EQ(o.workload.agents, 200);
  EXPECT_EQ(o.workload.office_users, 800);
  EXPECT_EQ(o.workload.length, 3min);
  EXPECT_EQ(o.workload.seed, 1u);
  EXPECT_EQ(o.workload.call_interval, 60s);
  EXPECT_EQ(o.workload.handle_time, 45s);
  EXPECT_EQ(o.workload.wrap_time, 15s);
  EXPECT_FALSE(o.no_presync);
}

TEST(DemoFlags, EveryFlagIsRead) {
  demo_options o;
  std::string error;

  ASSERT_TRUE(parse(
    {"--agents",    "2000", "--office-users",  "5000",   "--duration",    "10m",
     "--seed",      "7",    "--call-interval", "90s",    "--handle-time", "2m",
     "--wrap-time", "20s",  "--report",        "r.json", "--work-dir",    "w",
     "--bin-dir",   "b",    "--no-presync"},
    o, error))
    << error;

  EXPECT_EQ(o.workload.agents, 2000);
  EXPECT_EQ(o.workload.office_users, 5000);
  EXPECT_EQ(o.workload.length, 10min);
  EXPECT_EQ(o.workload.seed, 7u);
  EXPECT_EQ(o.workload.call_interval, 90s);
  EXPECT_EQ(o.workload.handle_time, 2min);
  EXPECT_EQ(o.workload.wrap_time, 20s);
  EXPECT_EQ(o.report_file, "r.json");
  EXPECT_EQ(o.work_dir, "w");
  EXPECT_EQ(o.bin_dir, "b");
  EXPECT_TRUE(o.no_presync);
}

TEST(DemoFlags, BadValuesAreRefused) {
  for (std::vector<std::string> words :
       {std::vector<std::string>{"--agents", "0"},
        {"--agents", "12x"},
        {"--office-users", "-1"},
        {"--duration", "60"},
        {"--duration", "5s"},
        {"--handle-time", "soon"},
        {"--seed", "-3"},
        {"--agents"},
        {"--frobnicate", "1"},
        {"stray"}}) {
    demo_options o;
    std::string error;
    EXPECT_FALSE(parse(words, o, error)) << words[0];
    EXPECT_FALSE(error.empty());
  }
}

TEST(DemoFlags, ErrorsNameWhatIsWrong) {
  demo_options o;
  std::string error;

  EXPECT_FALSE(parse({"--bogus"}, o, error));
  EXPECT_EQ(error, "unknown option --bogus");
  EXPECT_FALSE(parse({"--agents"}, o, error));
  EXPECT_EQ(error, "--agents needs a value");
  EXPECT_FALSE(parse({"stray"}, o, error));
  EXPECT_EQ(error, "unexpected argument stray");
}

TEST(DemoFlags, HelpIsAFlag) {
  demo_options o;
  std::string error;

  ASSERT_TRUE(parse({"--help"}, o, error));

  EXPECT_TRUE(o.help);
}

TEST(DemoFlags, BadFlagExitsWithTwo) {
  std::string word = "--agents";
  std::vector<char*> argv = {word.data()};

  EXPECT_EQ(demo_main(1, argv.data()), 2);
}

demo_endpoints sample_endpoints() {
  demo_endpoints e;
  e.api_port = 41001;
  e.metrics_port = 41002;
  e.graph_port = 41003;
  e.connect_port = 41004;
  e.kinesis_port = 41005;
  e.work_dir = "/tmp/presync-demo-test";
  return e;
}

std::optional<std::string> demo_env(std::string_view name) {
  for (const char* known : {"PRESYNC_GRAPH_SECRET", "AWS_ACCESS_KEY_ID",
                            "AWS_SECRET_ACCESS_KEY", "PRESYNC_API_TOKENS"}) {
    if (name == known) {
      return "set";
    }
  }
  return std::nullopt;
}

TEST(DemoConfig, CheckConfigAcceptsIt) {
  const std::string file = ::testing::TempDir() + "demo-config.yaml";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(demo_config_yaml(sample_endpoints()).c_str(), f);
    std::fclose(f);
  }
  std::ostringstream out;
  std::ostringstream err;
  const std::vector<std::string> args = {file};

  const int status = config::check_config(args, out, err, demo_env);

  EXPECT_EQ(status, 0) << out.str() << err.str();
  EXPECT_EQ(out.str().find("warning"), std::string::npos) << out.str();
  std::remove(file.c_str());
}

TEST(DemoConfig, PointsAtTheEmulators) {
  config::diagnostics diags;

  auto cfg = config::load_config_text(demo_config_yaml(sample_endpoints()),
                                      diags, demo_env);

  ASSERT_TRUE(cfg);
  ASSERT_EQ(cfg->tenants.size(), 1u);
  const auto& t = cfg->tenants[0];
  EXPECT_EQ(t.id, "demo");
  EXPECT_EQ(t.graph.client_id, demo_client_id);
  EXPECT_EQ(t.graph.graph_endpoint, "http://127.0.0.1:41003");
  EXPECT_EQ(t.graph.login_endpoint, "http://127.0.0.1:41003");
  EXPECT_EQ(t.connect.endpoint, "http://127.0.0.1:41004");
  EXPECT_EQ(t.connect.kinesis_endpoint, "http://127.0.0.1:41005");
  EXPECT_EQ(t.connect.outbound_queue_id,
            "33333333-3333-4333-8333-333333333334");
  EXPECT_EQ(cfg->server.listen.to_string(), "127.0.0.1:41001");
  EXPECT_EQ(cfg->metrics.listen.to_string(), "127.0.0.1:41002");
  EXPECT_EQ(cfg->store.path, "/tmp/presync-demo-test/presync.db");
  EXPECT_EQ(t.sync.min_hold, 15s);
  EXPECT_EQ(t.sync.teams_poll_interval, 5s);
  auto meeting = t.sync.teams_to_connect.lookup(presence{"Busy", "InAMeeting"});
  ASSERT_TRUE(meeting);
  EXPECT_EQ(meeting->rule.status, "Meeting");
  EXPECT_TRUE(meeting->rule.restore_on_exit);
  auto lunch = t.sync.connect_to_teams.lookup("Lunch");
  ASSERT_TRUE(lunch);
  EXPECT_EQ(lunch->describe(), "Away/Away");
}

} // namespace
} // namespace presync::app
