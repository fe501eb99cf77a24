#include "app/runtime_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <gtest/gtest.h>

namespace presync::app {
namespace {

/// Loads the shipped example with its actors block edited.
config::presync_config load_example(std::string threads, std::string policy,
                                    std::string throughput) {
  auto text = config::read_text_file(std::string{PRESYNC_TEST_DATA_DIR} +
                                     "/../config/examples/presync.yaml");
  EXPECT_TRUE(text);
  auto edit = [&](std::string from, const std::string& to) {
    auto at = text->find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text->replace(at, from.size(), to);
  };
  edit("scheduler_threads: 0", "scheduler_threads: " + threads);
  edit("scheduler_policy: sharing", "scheduler_policy: " + policy);
  edit("throughput: 100", "throughput: " + throughput);
  config::diagnostics diags;
  auto env = [](std::string_view) -> std::optional<std::string> {
    return "set";
  };
  auto cfg = config::load_config_text(*text, diags, env);
  EXPECT_TRUE(cfg) << (diags.items().empty() ? "" : diags.format_all()[0]);
  return cfg.value_or(config::presync_config{});
}

TEST(ActorSystemConfig, ThreadsAndPolicyComeFromTheActorsBlock) {
  auto cfg = load_example("3", "sharing", "7");
  caf::actor_system_config sys_cfg;

  auto err = configure_actor_system(sys_cfg, cfg.actors);

  ASSERT_FALSE(err) << err->describe();
  caf::actor_system sys{sys_cfg};
  EXPECT_EQ(sys.scheduler().num_workers(), 3u);
  EXPECT_EQ(caf::get_or(sys.config(), "scheduler.policy", caf::atom("none")),
            caf::atom("sharing"));
  EXPECT_EQ(caf::get_or(sys.config(), "scheduler.max-throughput", size_t{0}),
            7u);
}

TEST(ActorSystemConfig, ZeroThreadsMeansOnePerCore) {
  auto cfg = load_example("0", "stealing", "100");
  caf::actor_system_config sys_cfg;

  ASSERT_FALSE(configure_actor_system(sys_cfg, cfg.actors));

  caf::actor_system sys{sys_cfg};
  EXPECT_EQ(sys.scheduler().num_workers(),
            std::max(1u, std::thread::hardware_concurrency()));
}

} // namespace
} // namespace presync::app
