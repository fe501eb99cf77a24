#include "adapters/log/log.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace std::chrono_literals;

namespace presync::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<memory_sink>();
    set_sink(sink_);
    set_level(level::info);
  }
  void TearDown() override { set_sink(nullptr); }

  std::shared_ptr<memory_sink> sink_;
};

TEST_F(LogTest, LineIsOneJsonObjectWithTheFixedFields) {
  logger log{"graph.writer"};

  log.info("presence_written", {kv("tenant", "acme"), kv("attempt", 2)});

  auto lines = sink_->lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto& line = lines[0];
  EXPECT_EQ(line.substr(0, 7), "{\"ts\":\"");
  EXPECT_NE(line.find("Z\",\"level\":\"info\",\"component\":\"graph.writer\","
                      "\"event\":\"presence_written\",\"tenant\":\"acme\","
                      "\"attempt\":2}"),
            std::string::npos)
    << line;
}

TEST_F(LogTest, SecretsNeverReachTheLine) {
  logger log{"graph.token"};
  secret token{"eyJ0eXAiOiJKV1QiLCJhbGciOi-very-secret"};

  log.warning("token_refreshed", {kv("token", token)});
  std::ostringstream printed;
  printed << token;

  auto lines = sink_->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find("very-secret"), std::string::npos);
  EXPECT_NE(lines[0].find("\"token\":\"***\""), std::string::npos);
  EXPECT_EQ(printed.str(), "***");
  EXPECT_EQ(token.reveal(), "eyJ0eXAiOiJKV1QiLCJhbGciOi-very-secret");
}

TEST_F(LogTest, LevelBelowTheMinimumIsDropped) {
  logger log{"user"};

  log.debug("decision");
  set_level(level::debug);
  log.debug("decision");

  EXPECT_EQ(sink_->lines().size(), 1u);
}

TEST_F(LogTest, TextIsEscaped) {
  logger log{"config"};

  log.error("bad", {kv("why", "a \"quote\"\nand\x01")});

  EXPECT_NE(sink_->lines()[0].find(R"("why":"a \"quote\"\nand\u0001")"),
            std::string::npos);
}

TEST(PhoneMask, KeepsOnlyTheEnds) {
  EXPECT_EQ(mask_phone("+493012345645"), "+49********45");
  EXPECT_EQ(mask_phone("123"), "***");
}

TEST(RateLimit, PassesOncePerIntervalAndCountsTheRest) {
  rate_limit limit{10s};
  auto t0 = std::chrono::steady_clock::time_point{};

  EXPECT_EQ(limit.allow("malformed", t0), 1u);
  EXPECT_EQ(limit.allow("malformed", t0 + 1s), 0u);
  EXPECT_EQ(limit.allow("malformed", t0 + 2s), 0u);
  EXPECT_EQ(limit.allow("other", t0 + 2s), 1u);
  EXPECT_EQ(limit.allow("malformed", t0 + 10s), 3u);
}

} // namespace
} // namespace presync::log
