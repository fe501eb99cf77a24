// The Graph actors and the directory loader against the emulator when
// Graph misbehaves: whole $batch failures (5xx, timeout, a connection cut
// mid-response) with and without Retry-After, the poller's back-off, and
// Teams phone numbers that are denied or change on their own.

#include "adapters/graph/directory_loader.hpp"
#include "adapters/graph/presence_poller.hpp"
#include "adapters/graph/presence_writer.hpp"
#include "adapters/log/log.hpp"

#include "emulator_process.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace presync::graph::testing {
namespace {

using namespace std::chrono_literals;

/// Short back-off steps keep these tests fast: 50 ms, 100 ms, then the
/// write goes back to the queue.
backoff_policy quick_backoff() {
  backoff_policy p;
  p.initial = 100ms;
  p.cap = 400ms;
  p.max_attempts = 3;
  return p;
}

class GraphFailures : public emulator_fixture {
 protected:
  void SetUp() override {
    log_ = std::make_shared<log::memory_sink>();
    log::set_sink(log_);
  }

  void TearDown() override { log::set_sink(nullptr); }

  presence_writer_args writer_args(size_t users) {
    presence_writer_args a;
    a.http = http_;
    a.tokens = tokens_;
    a.budget = budget_;
    a.where = where_;
    a.session = session_settings{client_id, std::chrono::hours{1}};
    for (size_t n = 1; n <= users; ++n) {
      a.graph_ids[person_of(n)] = user_id(n);
    }
    a.options.total_timeout = 20s;
    a.backoff = quick_backoff();
    a.jitter_seed = 7;
    a.tenant = "t1";
    return a;
  }

  /// Dispatches one write per user 1..n (value of user n: Busy/InACall)
  /// and returns the answers by ticket.
  std::map<uint64_t, write_outcome> write_all(caf::actor writer, size_t n) {
    caf::scoped_actor self{sys_};
    for (size_t k = 1; k <= n; ++k) {
      self->send(
        writer, actors::write_dispatch{k, teams_write(k, {"Busy", "InACall"})});
    }
    std::map<uint64_t, write_outcome> got;
    bool timed_out = false;
    while (got.size() < n && !timed_out) {
      self->receive(
        [&](actors::write_attempted& a) { got[a.ticket] = a.outcome; },
        caf::after(30s) >> [&] { timed_out = true; });
    }
    return got;
  }

  presence_writer_counters writer_counters(caf::actor writer) {
    caf::scoped_actor self{sys_};
    presence_writer_counters c;
    self
      ->request(writer, 10s, caf::get_atom::value, actors::counters_atom::value)
      .receive([&](presence_writer_counters& got) { c = got; },
               [](caf::error&) {});
    return c;
  }

  /// Returns how many log lines carry `"event":"<event>"`.
  size_t log_lines(const std::string& event) {
    auto lines = log_->lines();
    auto needle = "\"event\":\"" + event + "\"";
    return static_cast<size_t>(
      std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.find(needle) != std::string::npos;
      }));
  }

  /// Returns the number of accepted writes per user in /_control/writes.
  std::map<std::string, int> accepted_writes() {
    auto body = control("GET", "writes");
    simdjson::dom::parser p;
    std::map<std::string, int> out;
    for (auto w : p.parse(body)["writes"].get_array()) {
      int64_t status = 0;
      std::string_view user;
      if (w["status"].get(status) || w["userId"].get(user)) {
        continue;
      }
      if (status < 300) {
        ++out[std::string(user)];
      }
    }
    return out;
  }

  std::shared_ptr<log::memory_sink> log_;
};

// -- whole $batch failures -----------------------------------------------

TEST_F(GraphFailures, BatchFiveHundredsAreRetriedAndEveryWriteLandsOnce) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"failNext":2,"failStatus":500})");
  auto writer = keep(spawn_presence_writer(sys_, writer_args(3)));

  auto got = write_all(writer, 3);
  auto c = writer_counters(writer);

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::ok) << ticket << ": " << o.reason;
  }
  EXPECT_EQ(counter("batch"), 3);
  EXPECT_EQ(counter("injected_errors"), 2);
  EXPECT_EQ(accepted_writes(),
            (std::map<std::string, int>{
              {user_id(1), 1}, {user_id(2), 1}, {user_id(3), 1}}));
  EXPECT_EQ(c.batch_failures, 2u);
  EXPECT_EQ(c.retries, 6u);
  EXPECT_EQ(c.gave_up, 0u);
  EXPECT_EQ(log_lines("presence_write_retry"), 1u); // the second: held back
  EXPECT_EQ(session_of(2), std::string(client_id) + " Busy/InACall");
  stop({writer});
}

TEST_F(GraphFailures, BatchFailingEveryTryGoesBackToTheQueueAsThrottled) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"failNext":100,"failStatus":502})");
  auto writer = keep(spawn_presence_writer(sys_, writer_args(3)));

  auto got = write_all(writer, 3);
  auto c = writer_counters(writer);

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::throttled) << ticket;
    EXPECT_EQ(o.http_status, 502);
    // The queue holds the side for the next step of the back-off.
    EXPECT_GE(o.retry_after, 200ms);
    EXPECT_LE(o.retry_after, 400ms);
    EXPECT_EQ(o.reason.rfind("gave up after 3 tries: unavailable: presence "
                             "$batch",
                             0),
              0u)
      << o.reason;
  }
  EXPECT_EQ(counter("batch"), 3);
  EXPECT_TRUE(accepted_writes().empty());
  EXPECT_EQ(c.retries, 6u);
  EXPECT_EQ(c.gave_up, 3u);
  EXPECT_EQ(log_lines("presence_write_gave_up"), 1u);
  EXPECT_EQ(session_of(1), "none");
  stop({writer});
}

TEST_F(GraphFailures, Batch503WithRetryAfterHoldsTheBudgetWithoutRetrying) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"failNext":1,"failStatus":503,"failRetryAfterMs":1500})");
  auto writer = keep(spawn_presence_writer(sys_, writer_args(3)));
  auto before = steady_now();

  auto got = write_all(writer, 3);
  auto c = writer_counters(writer);

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::throttled) << ticket;
    EXPECT_EQ(o.http_status, 503);
    EXPECT_EQ(o.retry_after, 1500ms);
  }
  auto held = budget_->held_until(steady_now());
  ASSERT_TRUE(held);
  EXPECT_GE(*held, before + 1500ms);
  EXPECT_EQ(counter("batch"), 1);
  EXPECT_EQ(c.retries, 0u);
  EXPECT_EQ(c.gave_up, 0u);
  // The whole answer's 503 is the HTTP observer's to count, not the writer's.
  EXPECT_EQ(c.throttled_sub_responses, 0u);
  stop({writer});
}

TEST_F(GraphFailures, EachThrottledSubResponseIsReportedWithItsRetryAfter) {
  start({"--users", "3"});
  warm_token();
  // Every setPresence inside a $batch is answered 429 with Retry-After: 2;
  // the $batch POST itself is answered 200.
  knobs(R"({"throttleRate":1,"throttleRetryAfterMs":2000})");
  auto seen = std::make_shared<std::vector<duration>>();
  auto guard = std::make_shared<std::mutex>();
  auto args = writer_args(3);
  args.on_throttled_sub_response = [seen, guard](duration retry_after) {
    std::lock_guard lock{*guard};
    seen->push_back(retry_after);
  };
  auto writer = keep(spawn_presence_writer(sys_, std::move(args)));

  auto got = write_all(writer, 3);
  auto c = writer_counters(writer);

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::throttled) << ticket;
    EXPECT_EQ(o.http_status, 429) << ticket;
  }
  std::lock_guard lock{*guard};
  EXPECT_EQ(*seen, (std::vector<duration>{2s, 2s, 2s}));
  EXPECT_EQ(c.throttled_sub_responses, 3u);
  EXPECT_EQ(counter("throttled"), 3);
  stop({writer});
}

TEST_F(GraphFailures, BatchRejectedWith400FailsEveryWriteAtOnce) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"failNext":1,"failStatus":400})");
  auto writer = keep(spawn_presence_writer(sys_, writer_args(3)));

  auto got = write_all(writer, 3);

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::failed) << ticket;
    EXPECT_EQ(o.http_status, 400);
  }
  EXPECT_EQ(counter("batch"), 1);
  EXPECT_EQ(writer_counters(writer).retries, 0u);
  stop({writer});
}

TEST_F(GraphFailures, ConnectionCutMidResponseIsRetriedAndLands) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"resetNext":1})");
  auto writer = keep(spawn_presence_writer(sys_, writer_args(3)));

  auto got = write_all(writer, 3);
  auto c = writer_counters(writer);

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::ok) << ticket << ": " << o.reason;
  }
  // The cut answer came after the writes took effect: sent twice, both
  // accepted, the same value (setPresence is safe to repeat, spec 6.2).
  EXPECT_EQ(counter("batch"), 2);
  EXPECT_EQ(counter("connection_resets"), 1);
  EXPECT_EQ(accepted_writes(),
            (std::map<std::string, int>{
              {user_id(1), 2}, {user_id(2), 2}, {user_id(3), 2}}));
  EXPECT_EQ(c.retries, 3u);
  EXPECT_EQ(session_of(3), std::string(client_id) + " Busy/InACall");
  stop({writer});
}

TEST_F(GraphFailures, ConnectionCutOnEveryTryGoesBackToTheQueue) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"resetRate":1})");
  auto writer = keep(spawn_presence_writer(sys_, writer_args(3)));

  auto got = write_all(writer, 3);

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::throttled) << ticket;
    EXPECT_EQ(o.http_status, 0);
    EXPECT_NE(o.reason.find("gave up after 3 tries: unavailable"),
              std::string::npos)
      << o.reason;
  }
  EXPECT_EQ(counter("batch"), 3);
  EXPECT_EQ(writer_counters(writer).gave_up, 3u);
  stop({writer});
}

TEST_F(GraphFailures, TimedOutBatchIsRetriedAndLands) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"latencyMs":1500})");
  auto args = writer_args(3);
  args.options.total_timeout = 300ms;
  args.backoff.initial = 1200ms; // time enough to lift the latency
  args.backoff.cap = 1200ms;
  auto writer = keep(spawn_presence_writer(sys_, std::move(args)));
  caf::scoped_actor self{sys_};
  for (size_t k = 1; k <= 3; ++k) {
    self->send(writer,
               actors::write_dispatch{k, teams_write(k, {"Away", "Away"})});
  }

  // The first try times out; lift the latency during the back-off.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (writer_counters(writer).retries == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  knobs(R"({"latencyMs":0})");
  std::map<uint64_t, write_outcome> got;
  bool timed_out = false;
  while (got.size() < 3 && !timed_out) {
    self->receive(
      [&](actors::write_attempted& a) { got[a.ticket] = a.outcome; },
      caf::after(30s) >> [&] { timed_out = true; });
  }

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::ok) << ticket << ": " << o.reason;
  }
  EXPECT_EQ(counter("batch"), 2);
  EXPECT_EQ(writer_counters(writer).retries, 3u);
  EXPECT_EQ(session_of(1), std::string(client_id) + " Away/Away");
  auto lines = log_->lines();
  auto retry = std::find_if(lines.begin(), lines.end(), [](const auto& l) {
    return l.find("presence_write_retry") != std::string::npos;
  });
  ASSERT_NE(retry, lines.end());
  EXPECT_NE(retry->find("\"error\":\"timeout: "), std::string::npos) << *retry;
  EXPECT_EQ(retry->find(test_secret), std::string::npos);
  stop({writer});
}

TEST_F(GraphFailures, TimeoutOnEveryTryGoesBackToTheQueue) {
  start({"--users", "3"});
  warm_token();
  knobs(R"({"latencyMs":2000})");
  auto args = writer_args(3);
  args.options.total_timeout = 200ms;
  auto writer = keep(spawn_presence_writer(sys_, std::move(args)));

  auto got = write_all(writer, 3);
  knobs(R"({"latencyMs":0})");

  ASSERT_EQ(got.size(), 3u);
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::throttled) << ticket;
    EXPECT_NE(o.reason.find("gave up after 3 tries: timeout"),
              std::string::npos)
      << o.reason;
  }
  EXPECT_EQ(counter("batch"), 3);
  stop({writer});
}

TEST_F(GraphFailures, FailedSubRequestsBackOffOnTheirOwnOrHoldTheBudget) {
  start({"--users", "6"});
  warm_token();
  // Every sub-request fails: 500 and 504 without Retry-After back off in
  // the writer, 503 with Retry-After: 1 goes back to the queue at once.
  knobs(R"({"errorRate":1,"errorSeed":5})");
  auto writer = keep(spawn_presence_writer(sys_, writer_args(6)));

  auto got = write_all(writer, 6);
  auto c = writer_counters(writer);

  ASSERT_EQ(got.size(), 6u);
  size_t held = 0;
  size_t given_up = 0;
  for (const auto& [ticket, o] : got) {
    EXPECT_EQ(o.result, write_outcome::kind::throttled) << ticket;
    if (o.http_status == 503 && o.retry_after == 1s) {
      ++held;
    } else {
      EXPECT_NE(o.reason.find("gave up after 3 tries: presence $batch "
                              "sub-request: HTTP 50"),
                std::string::npos)
        << o.reason;
      ++given_up;
    }
  }
  EXPECT_EQ(held + given_up, 6u);
  EXPECT_EQ(c.gave_up, given_up);
  EXPECT_GT(c.retries, 0u);
  EXPECT_TRUE(accepted_writes().empty());
  EXPECT_EQ(counter("batch.subrequests"), counter("injected_errors"));
  stop({writer});
}

// -- the poller's back-off -------------------------------------------------

TEST_F(GraphFailures, PollerBacksOffOnFiveHundredsThenReadsEveryone) {
  start({"--users", "50"});
  warm_token();
  knobs(R"({"failNext":3,"failStatus":500})");
  caf::scoped_actor sup{sys_};
  presence_poller_args a;
  a.http = http_;
  a.tokens = tokens_;
  a.budget = budget_;
  a.where = where_;
  for (size_t n = 1; n <= 50; ++n) {
    a.users.push_back({user_id(n), person_of(n)});
  }
  a.supervisor = sup;
  a.interval = 1s;
  a.max_cycles = 3;
  a.options.total_timeout = 10s;
  a.backoff.initial = 200ms;
  a.backoff.cap = 2s;
  a.jitter_seed = 11;
  a.tenant = "t1";
  auto poller = keep(spawn_presence_poller(sys_, std::move(a)));

  std::set<std::string> seen;
  bool timed_out = false;
  while (seen.size() < 50 && !timed_out) {
    sup->receive([&](actors::teams_observation& o) { seen.insert(o.person); },
                 caf::after(30s) >> [&] { timed_out = true; });
  }
  presence_poller_counters c;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (c.cycles_completed < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    sup
      ->request(poller, 10s, caf::get_atom::value, actors::counters_atom::value)
      .receive([&](presence_poller_counters& got) { c = got; },
               [](caf::error&) {});
    std::this_thread::sleep_for(50ms);
  }
  stop({poller});

  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(c.backoffs, 3u);
  EXPECT_EQ(c.batches_failed, 3u);
  // Every request but the three injected failures read everyone.
  EXPECT_EQ(static_cast<int64_t>(c.requests_sent),
            counter("presence.getPresencesByUserId"));
  EXPECT_EQ(log_lines("presence_poll_backoff"), 3u);
  EXPECT_EQ(log_lines("presence_poll_recovered"), 1u);
  std::printf("[ figures  ] poller back-off: %llu retries within a cycle, "
              "%llu batches skipped, %llu requests\n",
              static_cast<unsigned long long>(c.retries),
              static_cast<unsigned long long>(c.batches_skipped),
              static_cast<unsigned long long>(c.requests_sent));
}

// -- Teams phone numbers ------------------------------------------------------

/// Returns the entry of `id` in `round`, if listed.
std::optional<directory_entry> entry_of(const directory_round& round,
                                        const std::string& id) {
  for (const auto& e : round.licensed) {
    if (e.id == id) {
      return e;
    }
  }
  return std::nullopt;
}

TEST_F(GraphFailures, TeamsNumberWinsAndItsChangeShowsWithoutDeltaChange) {
  start({"--users", "3"});
  control("PATCH", "users/" + user_id(2), R"({"teamsNumber":"+12065550142"})");
  directory_loader loader{http_, tokens_, where_};

  auto first = loader.load();
  control("PATCH", "users/" + user_id(3), R"({"teamsNumber":"+12065550143"})");
  control("PATCH", "users/" + user_id(2), R"({"teamsNumber":null})");
  auto second = loader.load();

  ASSERT_TRUE(first) << first.err().describe();
  EXPECT_EQ(first->teams_numbers, teams_numbers_state::read);
  EXPECT_EQ(first->teams_pages, 1u);
  EXPECT_EQ(first->teams_numbers_found, 1u);
  auto two = entry_of(*first, user_id(2));
  ASSERT_TRUE(two);
  EXPECT_EQ(two->phone_e164, "+12065550142");
  EXPECT_EQ(two->phone_from, phone_source::teams);
  auto one = entry_of(*first, user_id(1));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->phone_from, phone_source::business);

  // Only the two users whose Teams number changed, though Entra did not.
  ASSERT_TRUE(second) << second.err().describe();
  EXPECT_FALSE(second->full);
  ASSERT_EQ(second->licensed.size(), 2u);
  auto three = entry_of(*second, user_id(3));
  ASSERT_TRUE(three);
  EXPECT_EQ(three->phone_e164, "+12065550143");
  EXPECT_EQ(three->phone_from, phone_source::teams);
  two = entry_of(*second, user_id(2));
  ASSERT_TRUE(two);
  EXPECT_EQ(two->phone_from, phone_source::business);
  EXPECT_EQ(counter("teams.userConfigurations.list"), 2);
  EXPECT_EQ(counter("teams.userConfigurations.get"), 0);
}

TEST_F(GraphFailures, DeniedTeamsNumbersFallBackAndAreLoggedOnce) {
  start({"--users", "3"});
  control("PATCH", "users/" + user_id(1), R"({"teamsNumber":"+12065550101"})");
  knobs(R"({"teamsConfigDenied":true})");
  directory_loader loader{http_, tokens_, where_};

  auto first = loader.load();
  auto second = loader.load();
  knobs(R"({"teamsConfigDenied":false})");
  auto third = loader.load();

  ASSERT_TRUE(first) << first.err().describe();
  EXPECT_EQ(first->teams_numbers, teams_numbers_state::denied);
  EXPECT_NE(first->teams_numbers_error.find("forbidden"), std::string::npos)
    << first->teams_numbers_error;
  EXPECT_EQ(first->licensed.size(), 3u);
  auto one = entry_of(*first, user_id(1));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->phone_from, phone_source::business);
  ASSERT_TRUE(second) << second.err().describe();
  EXPECT_EQ(second->teams_numbers, teams_numbers_state::denied);
  EXPECT_EQ(log_lines("teams_numbers_denied"), 1u);

  // Allowed again: the Teams number replaces the business phone.
  ASSERT_TRUE(third) << third.err().describe();
  EXPECT_EQ(third->teams_numbers, teams_numbers_state::read);
  ASSERT_EQ(third->licensed.size(), 1u);
  EXPECT_EQ(third->licensed[0].phone_e164, "+12065550101");
  EXPECT_EQ(log_lines("teams_numbers_allowed_again"), 1u);
  for (const auto& line : log_->lines()) {
    EXPECT_EQ(line.find("+12065550101"), std::string::npos) << line;
  }
}

TEST_F(GraphFailures, FailedTeamsListKeepsTheLastNumbers) {
  start({"--users", "3"});
  control("PATCH", "users/" + user_id(1), R"({"teamsNumber":"+12065550101"})");
  directory_loader loader{http_, tokens_, where_};
  auto first = loader.load();
  warm_token();

  // The next Graph call is the Teams list of the second round.
  knobs(R"({"failNext":1,"failStatus":503})");
  control("PATCH", "users/" + user_id(2), R"({"displayName":"Renamed"})");
  auto second = loader.load();

  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->teams_numbers, teams_numbers_state::failed);
  EXPECT_NE(second->teams_numbers_error.find("HTTP 503"), std::string::npos)
    << second->teams_numbers_error;
  EXPECT_EQ(second->teams_numbers_found, 1u);
  ASSERT_EQ(second->licensed.size(), 1u);
  EXPECT_EQ(second->licensed[0].display_name, "Renamed");
  EXPECT_EQ(log_lines("teams_numbers_failed"), 1u);
}

} // namespace
} // namespace presync::graph::testing
