#include "adapters/graph/backoff.hpp"

#include <gtest/gtest.h>

namespace presync::graph {
namespace {

using namespace std::chrono_literals;

TEST(BackoffDelay, DoublesFromOneSecondUpToTheCap) {
  backoff_policy p; // 1 s, cap 60 s

  // unit 1.0 is the top of each step: the exponential step itself.
  EXPECT_EQ(backoff_delay(p, 1, 1.0), 1s);
  EXPECT_EQ(backoff_delay(p, 2, 1.0), 2s);
  EXPECT_EQ(backoff_delay(p, 3, 1.0), 4s);
  EXPECT_EQ(backoff_delay(p, 6, 1.0), 32s);
  EXPECT_EQ(backoff_delay(p, 7, 1.0), 60s);
  EXPECT_EQ(backoff_delay(p, 1000, 1.0), 60s);
}

TEST(BackoffDelay, JitterKeepsTheUpperHalfOfEachStep) {
  backoff_policy p;

  EXPECT_EQ(backoff_delay(p, 3, 0.0), 2s);
  EXPECT_EQ(backoff_delay(p, 3, 0.5), 3s);
  EXPECT_EQ(backoff_delay(p, 7, 0.0), 30s);
  EXPECT_EQ(backoff_delay(p, 7, 0.25), 37500ms);
}

TEST(BackoffDelay, NeverZeroEvenForTinyPoliciesAndRetryZero) {
  backoff_policy p;
  p.initial = 1ms;
  p.cap = 1ms;

  EXPECT_EQ(backoff_delay(p, 0, 0.0), 1ms);
  EXPECT_EQ(backoff_delay(p, 1, 0.0), 1ms);
  EXPECT_EQ(backoff_delay(backoff_policy{}, 0, 1.0), 1s);
}

TEST(BacksOff, TimeoutsResetsAndFiveHundredsWithoutRetryAfter) {
  auto e500 = make_error(sync_error::unavailable, "batch", 500);
  auto reset = make_error(sync_error::unavailable, "read: reset");
  auto timeout = make_error(sync_error::timeout, "read: timed out");
  auto dns = make_error(sync_error::connection_failed, "resolve");
  auto e429 = make_error(sync_error::throttled, "batch", 429);

  EXPECT_TRUE(backs_off(e500));
  EXPECT_TRUE(backs_off(reset));
  EXPECT_TRUE(backs_off(timeout));
  EXPECT_TRUE(backs_off(dns));
  EXPECT_TRUE(backs_off(e429));
}

TEST(BacksOff, NotWhenRetryAfterHoldsTheBudgetOrRetryCannotHelp) {
  auto e503 = make_error(sync_error::unavailable, "batch", 503);
  e503.retry_after = 2128ms;
  auto e429 = make_error(sync_error::throttled, "batch", 429);
  e429.retry_after = 1s;
  auto spent = make_error(sync_error::throttled, "presence budget spent");

  EXPECT_FALSE(backs_off(e503));
  EXPECT_FALSE(backs_off(e429));
  EXPECT_FALSE(backs_off(spent));
  EXPECT_FALSE(backs_off(make_error(sync_error::forbidden, "x", 403)));
  EXPECT_FALSE(backs_off(make_error(sync_error::rejected, "x", 400)));
  EXPECT_FALSE(backs_off(make_error(sync_error::tls_failed, "handshake")));
  EXPECT_FALSE(backs_off(make_error(sync_error::malformed, "batch")));
}

} // namespace
} // namespace presync::graph
