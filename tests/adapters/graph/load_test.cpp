// Issue 3's "done means" on the emulator: 5,000 licensed users polled in
// full within one teams_poll_interval at the default presence budget
// (1,500 requests per 30 s shared by reads and writes), and a burst of
// writes for many persons that Graph throttles, pushed through a real
// write queue and presence writer while the poller keeps running: every
// person ends on the last value sent, no accepted write goes back to an
// older value, and the poller reads the new values back.

#include "actors/write_queue_actor.hpp"
#include "adapters/graph/presence_poller.hpp"
#include "adapters/graph/presence_writer.hpp"

#include "emulator_process.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

namespace presync::graph::testing {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr size_t users = 5000;
constexpr size_t writers = 1000; ///< persons the burst writes to
constexpr size_t rounds = 4;     ///< values written per person
constexpr auto interval = 5s;    ///< teams_poll_interval's default
constexpr double budget_requests = 1500;
constexpr auto budget_window = 30s;

class GraphLoad : public emulator_fixture {
 protected:
  presence_poller_counters poller_counters(caf::actor poller) {
    caf::scoped_actor self{sys_};
    presence_poller_counters c;
    self
      ->request(poller, 10s, caf::get_atom::value, actors::counters_atom::value)
      .receive([&](presence_poller_counters& got) { c = std::move(got); },
               [](caf::error&) {});
    return c;
  }

  /// Waits until the poller has completed `cycles` cycles.
  presence_poller_counters wait_cycles(caf::actor poller, uint64_t cycles,
                                       steady::duration limit) {
    auto deadline = steady::now() + limit;
    auto c = poller_counters(poller);
    while (c.cycles_completed < cycles && steady::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      c = poller_counters(poller);
    }
    return c;
  }
};

TEST_F(GraphLoad, FiveThousandUsersPolledInOneIntervalAndBurstSurvived) {
  // Graph's own limit, lower than the burst: 400 presence calls per second.
  start({"--users", std::to_string(users), "--throttle-limit", "400",
         "--throttle-window-ms", "1000"});
  budget_ = std::make_shared<presence_budget>(budget_requests, budget_window);
  caf::scoped_actor sup{sys_};
  caf::scoped_actor results{sys_};

  presence_poller_args pa;
  pa.http = http_;
  pa.tokens = tokens_;
  pa.budget = budget_;
  pa.where = where_;
  for (size_t n = 1; n <= users; ++n) {
    pa.users.push_back({user_id(n), person_of(n)});
  }
  pa.supervisor = sup;
  pa.interval = interval;
  pa.options.total_timeout = 20s;
  pa.tenant = "load";
  auto started = steady::now();
  auto poller = keep(spawn_presence_poller(sys_, std::move(pa)));

  presence_writer_args wa;
  wa.http = http_;
  wa.tokens = tokens_;
  wa.budget = budget_;
  wa.where = where_;
  wa.session = session_settings{client_id, std::chrono::hours{1}};
  for (size_t n = 1; n <= writers; ++n) {
    wa.graph_ids[person_of(n)] = user_id(n);
  }
  wa.options.total_timeout = 20s;
  wa.tenant = "load";
  auto writer = keep(spawn_presence_writer(sys_, std::move(wa)));

  // The queue leaves the poller its share, as the tenant runtime does.
  const double polls_per_window =
    static_cast<double>(budget_window / interval) *
    static_cast<double>((users + 649) / 650);
  actors::write_queue_args qa;
  qa.writer = writer;
  qa.results = results;
  qa.settings.requests_per_window = budget_requests - polls_per_window;
  qa.settings.window = budget_window;
  qa.settings.burst = qa.settings.requests_per_window;
  auto queue = keep(sys_.spawn(actors::write_queue_actor, qa));

  // 1. A full poll cycle of 5,000 users, within one interval.
  std::map<std::string, presence> observed;
  auto drain_observations = [&](steady::duration wait) {
    bool idle = false;
    while (!idle) {
      sup->receive(
        [&](actors::teams_observation& o) { observed[o.person] = o.observed; },
        caf::after(wait) >> [&] { idle = true; });
      wait = 0ms;
    }
  };
  auto first = wait_cycles(poller, 1, 30s);
  drain_observations(100ms);
  ASSERT_EQ(first.cycles_completed, 1u) << first.last_failure;
  EXPECT_EQ(first.last_cycle_requests, 8u);
  EXPECT_EQ(first.last_cycle_readings, users);
  EXPECT_LT(first.last_cycle_duration, interval);
  EXPECT_EQ(first.batches_failed, 0u) << first.last_failure;
  EXPECT_EQ(observed.size(), users);
  auto first_cycle_wall = steady::now() - started;

  // 2. The burst: every round for every person at once, through the queue.
  control("POST", "counters/reset");
  control("POST", "writes/reset");
  auto burst_start = steady::now();
  for (size_t r = 0; r < rounds; ++r) {
    for (size_t n = 1; n <= writers; ++n) {
      results->send(queue, teams_write(n, value_of(r)));
    }
  }
  const auto last = teams_target::of(value_of(rounds - 1));
  std::set<std::string> done;
  std::vector<std::string> failures;
  size_t throttled_answers = 0;
  bool timed_out = false;
  while (done.size() < writers && !timed_out) {
    results->receive(
      [&](actors::write_result& w) {
        if (w.outcome.result == write_outcome::kind::failed) {
          failures.push_back(w.request.person + ": " + w.outcome.reason);
        } else if (w.outcome.result == write_outcome::kind::throttled) {
          ++throttled_answers;
        } else if (w.request.teams == last) {
          done.insert(w.request.person);
        }
      },
      [](actors::write_waiting&) {},
      caf::after(45s) >> [&] { timed_out = true; });
  }
  auto burst_wall = steady::now() - burst_start;
  auto batches = counter("batch");
  auto subrequests = counter("batch.subrequests");
  auto throttled = counter("throttled");
  EXPECT_EQ(done.size(), writers);
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_GT(throttled, 0) << "the burst was never throttled";

  // No lost write, none out of order: per user the accepted values only
  // move forward through the rounds and end on the last one.
  auto body = control("GET", "writes");
  simdjson::dom::parser parser;
  auto doc = parser.parse(body);
  std::map<std::string, size_t> round_of_user;
  size_t accepted = 0;
  size_t backwards = 0;
  for (auto w : doc["writes"].get_array()) {
    int64_t status = 0;
    std::string_view user;
    std::string_view av;
    std::string_view ac;
    if (w["status"].get(status) || w["userId"].get(user) ||
        w["availability"].get(av) || w["activity"].get(ac)) {
      ADD_FAILURE() << "malformed write record";
      continue;
    }
    if (status >= 300) {
      continue;
    }
    auto key = std::string(av) + "/" + std::string(ac);
    size_t round = rounds;
    for (size_t r = 0; r < rounds; ++r) {
      if (value_of(r).key() == key) {
        round = r;
      }
    }
    ASSERT_LT(round, rounds) << key;
    auto [prev, fresh] = round_of_user.try_emplace(std::string(user), round);
    if (!fresh) {
      backwards += round < prev->second ? 1u : 0u;
      prev->second = round;
    }
    ++accepted;
  }
  EXPECT_EQ(backwards, 0u);
  EXPECT_EQ(round_of_user.size(), writers);
  size_t not_last = 0;
  for (const auto& [user, round] : round_of_user) {
    not_last += round == rounds - 1 ? 0u : 1u;
  }
  EXPECT_EQ(not_last, 0u);

  // 3. The poller reads every new value back, and cycles stay whole.
  auto reads_back = [&] {
    for (size_t n = 1; n <= writers; ++n) {
      auto seen = observed.find(person_of(n));
      if (seen == observed.end() || !(seen->second == value_of(rounds - 1))) {
        return false;
      }
    }
    return true;
  };
  auto deadline = steady::now() + 3 * interval;
  while (!reads_back() && steady::now() < deadline) {
    drain_observations(100ms);
  }
  EXPECT_TRUE(reads_back());
  auto after = poller_counters(poller);
  auto end = wait_cycles(poller, after.cycles_completed + 1, 3 * interval);
  stop({queue, writer, poller});

  EXPECT_EQ(end.last_cycle_requests, 8u);
  EXPECT_EQ(end.last_cycle_readings, users);
  EXPECT_LT(end.last_cycle_duration, interval);

  std::printf(
    "[ figures  ] poll at %zu users: %llu requests per cycle, cycle %lld ms "
    "of a %lld ms interval (first cycle done %lld ms after start)\n",
    users, static_cast<unsigned long long>(end.last_cycle_requests),
    static_cast<long long>(end.last_cycle_duration.count()),
    static_cast<long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(interval).count()),
    static_cast<long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(first_cycle_wall)
        .count()));
  std::printf(
    "[ figures  ] burst: %zu writes for %zu persons in %lld ms; %zu accepted "
    "(propagated) writes; %lld $batch requests (%.3f per propagated change), "
    "%lld sub-requests (%.3f per change), %lld throttled (429), %zu "
    "throttled answers to the queue; poll batches failed meanwhile: %llu\n",
    writers * rounds, writers,
    static_cast<long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(burst_wall)
        .count()),
    accepted, static_cast<long long>(batches),
    static_cast<double>(batches) / static_cast<double>(accepted),
    static_cast<long long>(subrequests),
    static_cast<double>(subrequests) / static_cast<double>(accepted),
    static_cast<long long>(throttled), throttled_answers,
    static_cast<unsigned long long>(end.batches_failed));
}

} // namespace
} // namespace presync::graph::testing
