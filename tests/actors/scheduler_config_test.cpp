#include "actors/scheduler_config.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

namespace presync::actors {
namespace {

TEST(SchedulerConfig, AppliesThreadsPolicyAndThroughput) {
  caf::actor_system_config cfg;

  auto err = apply_scheduler_settings(cfg, 3, "sharing", 7);
  caf::actor_system sys{cfg};

  EXPECT_FALSE(err.has_value());
  EXPECT_EQ(sys.scheduler().num_workers(), 3u);
  EXPECT_EQ(caf::get_or(sys.config(), "scheduler.policy", caf::atom("none")),
            caf::atom("sharing"));
  EXPECT_EQ(caf::get_or(sys.config(), "scheduler.max-throughput", size_t{0}),
            7u);
}

TEST(SchedulerConfig, UnknownPolicyIsRejectedNamingTheKey) {
  caf::actor_system_config cfg;
  auto before = caf::get_or(cfg, "scheduler.max-threads", size_t{0});

  auto err = apply_scheduler_settings(cfg, 2, "fifo", 1);

  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, sync_error::config_invalid);
  EXPECT_NE(err->context.find("actors.scheduler_policy"), std::string::npos);
  EXPECT_NE(err->context.find("'fifo'"), std::string::npos);
  EXPECT_EQ(caf::get_or(cfg, "scheduler.max-threads", size_t{0}), before);
}

TEST(SchedulerConfig, ZeroThreadsOrThroughputIsRejected) {
  caf::actor_system_config cfg;

  auto threads = apply_scheduler_settings(cfg, 0, "stealing", 1);
  auto throughput = apply_scheduler_settings(cfg, 1, "stealing", 0);

  ASSERT_TRUE(threads.has_value());
  EXPECT_NE(threads->context.find("actors.scheduler_threads"),
            std::string::npos);
  ASSERT_TRUE(throughput.has_value());
  EXPECT_NE(throughput->context.find("actors.throughput"), std::string::npos);
}

} // namespace
} // namespace presync::actors
