#include "protocol/write_queue.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace presync {
namespace {

write_request write_for(std::string person, std::string presence_key,
                        write_kind kind = write_kind::write) {
  write_request r;
  r.person = std::move(person);
  r.kind = kind;
  r.teams = teams_target::of(*parse_presence(presence_key));
  return r;
}

write_outcome throttled(duration retry_after, int status = 429) {
  write_outcome o;
  o.result = write_outcome::kind::throttled;
  o.http_status = status;
  o.retry_after = retry_after;
  return o;
}

// Sends Busy/InACall for person "a" at 0 s and withdraws it at 1 s while
// it is on its way; returns the attempt's ticket.
uint64_t send_then_withdraw(write_queue& q) {
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  EXPECT_EQ(fx.dispatches.size(), 1u);
  queue_effects cancel;
  q.submit(write_for("a", "Busy/InACall", write_kind::cancel), at(1s), cancel);
  EXPECT_TRUE(cancel.results.empty());
  return fx.dispatches.at(0).ticket;
}

TEST(WriteQueue, SendsAtOnceWhenNothingHoldsItBack) {
  write_queue q;
  queue_effects fx;

  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);

  ASSERT_EQ(fx.dispatches.size(), 1u);
  EXPECT_EQ(fx.dispatches[0].request.person, "a");
  EXPECT_TRUE(fx.waiting.empty());
}

TEST(WriteQueue, RetryAfterHoldsBackEveryWriteOfTheSide) {
  write_queue q;
  queue_effects first;
  q.submit(write_for("a", "Busy/InACall"), at(0s), first);
  queue_effects after;
  q.on_result(first.dispatches[0].ticket, throttled(30s), at(0s), after);

  queue_effects other;
  q.submit(write_for("b", "Away"), at(10s), other);

  EXPECT_TRUE(other.dispatches.empty());
  ASSERT_EQ(other.waiting.size(), 1u);
  EXPECT_EQ(q.next_wakeup(at(10s)), at(30s));
  queue_effects woke;
  q.on_wakeup(at(30s), woke);
  ASSERT_EQ(woke.dispatches.size(), 2u);
  EXPECT_EQ(woke.dispatches[0].request.person, "a");
  EXPECT_EQ(woke.dispatches[1].request.person, "b");
}

TEST(WriteQueue, ThrottleWithoutRetryAfterWaitsTheDefault) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Away"), at(0s), fx);
  queue_effects after;

  q.on_result(fx.dispatches[0].ticket, throttled(0s, 503), at(1s), after);

  EXPECT_EQ(q.blocked_until(), at(6s));
  ASSERT_EQ(after.results.size(), 1u);
  EXPECT_EQ(after.results[0].outcome.http_status, 503);
}

TEST(WriteQueue, NewerWriteReplacesTheWaitingOne) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  queue_effects after;
  q.on_result(fx.dispatches[0].ticket, throttled(30s), at(0s), after);

  queue_effects newer;
  q.submit(write_for("a", "Away"), at(5s), newer);
  queue_effects woke;
  q.on_wakeup(at(30s), woke);

  EXPECT_EQ(q.waiting_count(), 0u);
  ASSERT_EQ(woke.dispatches.size(), 1u);
  EXPECT_EQ(woke.dispatches[0].request.describe(), "Away/Away");
}

TEST(WriteQueue, CancelWithdrawsTheUnsentWrite) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  queue_effects after;
  q.on_result(fx.dispatches[0].ticket, throttled(30s), at(0s), after);

  queue_effects cancel;
  q.submit(write_for("a", "Busy/InACall", write_kind::cancel), at(5s), cancel);
  queue_effects woke;
  q.on_wakeup(at(30s), woke);

  EXPECT_TRUE(woke.dispatches.empty());
  EXPECT_FALSE(q.next_wakeup(at(30s)));
  ASSERT_EQ(cancel.results.size(), 1u);
  EXPECT_EQ(cancel.results[0].outcome.result, write_outcome::kind::cancelled);
  EXPECT_EQ(cancel.results[0].request.describe(), "Busy/InACall");
}

TEST(WriteQueue, CancelOfAnAttemptInFlightReportsNothing) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  ASSERT_EQ(fx.dispatches.size(), 1u);

  queue_effects cancel;
  q.submit(write_for("a", "Busy/InACall", write_kind::cancel), at(1s), cancel);

  EXPECT_TRUE(cancel.results.empty());
  EXPECT_EQ(q.in_flight_count(), 1u);
}

// A withdrawn write that was already on its way and comes back throttled
// is not sent again: it would put back what the person no longer wants.
TEST(WriteQueue, WithdrawnAttemptThrottledIsNotSentAgain) {
  write_queue q;
  auto ticket = send_then_withdraw(q);

  queue_effects after;
  q.on_result(ticket, throttled(2s), at(2s), after);

  ASSERT_EQ(after.results.size(), 1u);
  EXPECT_EQ(after.results[0].outcome.result, write_outcome::kind::cancelled);
  EXPECT_EQ(after.results[0].request.describe(), "Busy/InACall");
  EXPECT_TRUE(after.waiting.empty());
  EXPECT_EQ(q.waiting_count(), 0u);
  EXPECT_FALSE(q.next_wakeup(at(2s)));
  // The Retry-After still holds the side back.
  ASSERT_TRUE(q.blocked_until());
  EXPECT_EQ(*q.blocked_until(), at(4s));
}

// A cancel names a value: it does not withdraw an older attempt in flight
// of another value, which is retried as before when throttled.
TEST(WriteQueue, CancelOfAnotherValueLeavesTheAttemptInFlight) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  queue_effects cancel;
  q.submit(write_for("a", "Away", write_kind::cancel), at(1s), cancel);

  queue_effects after;
  q.on_result(fx.dispatches[0].ticket, throttled(2s), at(2s), after);
  queue_effects woke;
  q.on_wakeup(at(4s), woke);

  ASSERT_EQ(after.results.size(), 1u);
  EXPECT_EQ(after.results[0].outcome.result, write_outcome::kind::throttled);
  ASSERT_EQ(woke.dispatches.size(), 1u);
  EXPECT_EQ(woke.dispatches[0].request.describe(), "Busy/InACall");
}

// A withdrawn attempt that is answered is reported as answered: it may
// have landed, and the person puts its value right.
TEST(WriteQueue, WithdrawnAttemptAnsweredOkIsReportedOk) {
  write_queue q;
  auto ticket = send_then_withdraw(q);

  queue_effects after;
  q.on_result(ticket, write_outcome::ok(), at(2s), after);

  ASSERT_EQ(after.results.size(), 1u);
  EXPECT_EQ(after.results[0].outcome.result, write_outcome::kind::ok);
}

// Withdrawn on its way, wanted again, then landed: the second write of the
// same value would only repeat it.
TEST(WriteQueue, SameValueQueuedBehindALandedAttemptIsNotSent) {
  write_queue q;
  auto ticket = send_then_withdraw(q);
  queue_effects again;
  q.submit(write_for("a", "Busy/InACall"), at(2s), again);
  EXPECT_TRUE(again.dispatches.empty());

  queue_effects after;
  q.on_result(ticket, write_outcome::ok(), at(3s), after);

  ASSERT_EQ(after.results.size(), 2u);
  EXPECT_EQ(after.results[0].outcome.result, write_outcome::kind::ok);
  EXPECT_EQ(after.results[1].outcome.result, write_outcome::kind::cancelled);
  EXPECT_EQ(after.results[1].request.describe(), "Busy/InACall");
  EXPECT_TRUE(after.dispatches.empty());
  EXPECT_EQ(q.waiting_count(), 0u);
}

TEST(WriteQueue, OneAttemptPerPersonAtATime) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  queue_effects second;

  q.submit(write_for("a", "Away"), at(0s), second);

  EXPECT_TRUE(second.dispatches.empty());
  EXPECT_TRUE(second.waiting.empty());
  EXPECT_FALSE(q.next_wakeup(at(0s)));
  queue_effects done;
  q.on_result(fx.dispatches[0].ticket, write_outcome::ok(), at(1s), done);
  ASSERT_EQ(done.dispatches.size(), 1u);
  EXPECT_EQ(done.dispatches[0].request.describe(), "Away/Away");
}

TEST(WriteQueue, TokenBucketSpacesRequestsOut) {
  write_queue_settings s;
  s.requests_per_window = 2;
  s.window = 1s;
  s.burst = 2;
  write_queue q{s};
  queue_effects fx;

  q.submit(write_for("a", "Away"), at(0s), fx);
  q.submit(write_for("b", "Away"), at(0s), fx);
  q.submit(write_for("c", "Away"), at(0s), fx);

  EXPECT_EQ(fx.dispatches.size(), 2u);
  ASSERT_EQ(fx.waiting.size(), 1u);
  EXPECT_EQ(fx.waiting[0].person, "c");
  EXPECT_EQ(q.next_wakeup(at(0s)), at(500ms));
  queue_effects woke;
  q.on_wakeup(at(500ms), woke);
  ASSERT_EQ(woke.dispatches.size(), 1u);
  EXPECT_EQ(woke.dispatches[0].request.person, "c");
}

TEST(WriteQueue, RefreshNeverReplacesAWaitingWrite) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  queue_effects after;
  q.on_result(fx.dispatches[0].ticket, throttled(10s), at(0s), after);

  queue_effects refresh;
  q.submit(write_for("a", "Available", write_kind::refresh), at(1s), refresh);
  queue_effects woke;
  q.on_wakeup(at(10s), woke);

  ASSERT_EQ(woke.dispatches.size(), 1u);
  EXPECT_EQ(woke.dispatches[0].request.kind, write_kind::write);
  EXPECT_EQ(woke.dispatches[0].request.describe(), "Busy/InACall");
}

TEST(WriteQueue, ThrottledAttemptGivesWayToANewerValue) {
  write_queue q;
  queue_effects fx;
  q.submit(write_for("a", "Busy/InACall"), at(0s), fx);
  queue_effects queued;
  q.submit(write_for("a", "Away"), at(0s), queued);

  queue_effects after;
  q.on_result(fx.dispatches[0].ticket, throttled(5s), at(1s), after);
  queue_effects woke;
  q.on_wakeup(at(6s), woke);

  ASSERT_EQ(woke.dispatches.size(), 1u);
  EXPECT_EQ(woke.dispatches[0].request.describe(), "Away/Away");
}

TEST(WriteQueue, UnknownTicketIsIgnored) {
  write_queue q;
  queue_effects fx;

  q.on_result(42, write_outcome::ok(), at(0s), fx);

  EXPECT_TRUE(fx.results.empty());
  EXPECT_EQ(q.in_flight_count(), 0u);
}

} // namespace
} // namespace presync
