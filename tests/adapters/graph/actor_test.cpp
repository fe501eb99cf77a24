// The Graph actors against the emulator binary over TLS on 127.0.0.1: the
// token provider and presence writer, the presence poller at 5,000 users,
// and a throttled burst through a real write queue actor.

#include "actors/write_queue_actor.hpp"
#include "adapters/graph/directory_loader.hpp"
#include "adapters/graph/presence_poller.hpp"
#include "adapters/graph/presence_writer.hpp"
#include "adapters/http/client.hpp"

#include "emulator_process.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace presync::graph::testing {
namespace {

using namespace std::chrono_literals;

/// The emulator fixture plus a writer's arguments.
class GraphActors : public emulator_fixture {
 protected:
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
    return a;
  }
};

TEST_F(GraphActors, WriterFetchesATokenAndSetsPresenceOverTls) {
  start({"--users", "3"});
  auto writer = spawn_presence_writer(sys_, writer_args(3));
  caf::scoped_actor self{sys_};
  self->send(writer,
             actors::write_dispatch{7, teams_write(2, {"Busy", "InACall"})});
  std::optional<actors::write_attempted> got;
  self->receive([&](actors::write_attempted& a) { got = std::move(a); },
                caf::after(30s) >> [] {});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ticket, 7u);
  EXPECT_EQ(got->outcome.result, write_outcome::kind::ok)
    << got->outcome.reason;
  EXPECT_EQ(session_of(2), std::string(client_id) + " Busy/InACall");
  EXPECT_EQ(counter("batch"), 1);
  EXPECT_EQ(tokens_->requests_sent(), 1u);
  EXPECT_FALSE(tokens_->last_error());
  stop({writer});
}

// Without a token nothing is sent, so the write is not given up: it is
// answered throttled until the token provider's next try (the queue holds
// the Teams side meanwhile), and the provider keeps tls_failed for
// readiness.
TEST_F(GraphActors, UntrustedCaHoldsTheWriteUntilATokenComes) {
  start({"--users", "3"}, false);
  auto writer = spawn_presence_writer(sys_, writer_args(3));
  caf::scoped_actor self{sys_};
  self->send(writer,
             actors::write_dispatch{9, teams_write(1, {"Busy", "InACall"})});
  std::optional<actors::write_attempted> got;
  self->receive([&](actors::write_attempted& a) { got = std::move(a); },
                caf::after(30s) >> [] {});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ticket, 9u);
  EXPECT_EQ(got->outcome.result, write_outcome::kind::throttled);
  EXPECT_GE(got->outcome.retry_after, 1s);
  EXPECT_NE(got->outcome.reason.find("tls_failed"), std::string::npos)
    << got->outcome.reason;
  ASSERT_TRUE(tokens_->retry_at());
  ASSERT_TRUE(tokens_->last_error());
  EXPECT_EQ(tokens_->last_error()->code, sync_error::tls_failed);
  EXPECT_EQ(got->outcome.reason.find(test_secret), std::string::npos);
  EXPECT_EQ(counter("token"), 0);
  EXPECT_EQ(counter("batch"), 0);
  EXPECT_EQ(session_of(1), "none");
  stop({writer});
}

TEST_F(GraphActors, FortyFiveWritesGoOutAsThreeBatches) {
  start({"--users", "45"});
  auto args = writer_args(45);
  // Wide enough that all 45 dispatches arrive inside one gather window.
  args.gather_window = 300ms;
  auto writer = spawn_presence_writer(sys_, std::move(args));
  caf::scoped_actor self{sys_};
  for (size_t n = 1; n <= 45; ++n) {
    self->send(writer, actors::write_dispatch{n, teams_write(n, value_of(n))});
  }
  std::set<uint64_t> ok;
  std::vector<std::string> failures;
  bool timed_out = false;
  while (ok.size() + failures.size() < 45 && !timed_out) {
    self->receive(
      [&](actors::write_attempted& a) {
        if (a.outcome.result == write_outcome::kind::ok) {
          ok.insert(a.ticket);
        } else {
          failures.push_back(a.outcome.reason);
        }
      },
      caf::after(30s) >> [&] { timed_out = true; });
  }
  EXPECT_EQ(ok.size(), 45u);
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(counter("batch"), 3);
  EXPECT_EQ(counter("batch.subrequests"), 45);
  for (size_t n = 1; n <= 45; ++n) {
    EXPECT_EQ(session_of(n), std::string(client_id) + " " + value_of(n).key())
      << "user " << n;
  }
  stop({writer});
}

TEST_F(GraphActors, PollsFiveThousandUsersInEightRequestsPerCycle) {
  start({"--users", "5000"});
  caf::scoped_actor sup{sys_};
  presence_poller_args a;
  a.http = http_;
  a.tokens = tokens_;
  a.budget = budget_;
  a.where = where_;
  for (size_t n = 1; n <= 5000; ++n) {
    a.users.push_back({user_id(n), person_of(n)});
  }
  a.supervisor = sup;
  a.interval = 2s;
  a.max_cycles = 3;
  a.options.total_timeout = 20s;
  auto poller = spawn_presence_poller(sys_, std::move(a));

  std::set<std::string> seen;
  bool timed_out = false;
  while (seen.size() < 5000 && !timed_out) {
    sup->receive(
      [&](actors::teams_observation& o) {
        EXPECT_EQ(o.observed, (presence{"Offline", "Offline"}));
        EXPECT_GT(o.source_ms, 1'700'000'000'000);
        seen.insert(o.person);
      },
      caf::after(30s) >> [&] { timed_out = true; });
  }
  ASSERT_EQ(seen.size(), 5000u);

  // The last user is read at the end of every cycle: script it now and
  // the next cycle reports exactly that change.
  control("PUT", "users/" + user_id(5000) + "/teams-client",
          R"({"availability":"Busy","activity":"InACall"})");
  std::optional<actors::teams_observation> change;
  size_t others = 0;
  timed_out = false;
  while (!change && !timed_out) {
    sup->receive(
      [&](actors::teams_observation& o) {
        if (o.person == person_of(5000)) {
          change = std::move(o);
        } else {
          ++others;
        }
      },
      caf::after(30s) >> [&] { timed_out = true; });
  }
  ASSERT_TRUE(change);
  EXPECT_EQ(change->observed, (presence{"Busy", "InACall"}));
  EXPECT_EQ(others, 0u);

  // Wait for the three cycles to end, then compare counts.
  presence_poller_counters c;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (c.cycles_completed < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    sup
      ->request(poller, 10s, caf::get_atom::value, actors::counters_atom::value)
      .receive([&](presence_poller_counters& got) { c = std::move(got); },
               [](caf::error&) {});
  }
  EXPECT_EQ(c.cycles_completed, 3u);
  EXPECT_EQ(c.last_cycle_requests, 8u);
  EXPECT_EQ(c.last_cycle_readings, 5000u);
  // The last of 8 batches goes out 7/8 into the 2 s interval.
  EXPECT_GE(c.last_cycle_duration, 1750ms);
  EXPECT_LT(c.last_cycle_duration, 20s);
  EXPECT_EQ(c.batches_failed, 0u) << c.last_failure;
  EXPECT_EQ(c.requests_sent, 24u);
  EXPECT_EQ(c.observations, 5001u);
  EXPECT_EQ(counter("presence.getPresencesByUserId"), 24);
  std::printf("[ figures  ] getPresencesByUserId per cycle at 5000 users: %llu"
              "\n",
              static_cast<unsigned long long>(c.last_cycle_requests));
  stop({poller});
}

TEST_F(GraphActors, ThrottledBurstEndsWithEachPersonsLastValue) {
  constexpr size_t people = 30;
  constexpr size_t rounds = 4;
  start({"--users", std::to_string(people), "--throttle-limit", "12",
         "--throttle-window-ms", "400"});
  auto writer = spawn_presence_writer(sys_, writer_args(people));
  caf::scoped_actor results{sys_};
  actors::write_queue_args qa;
  qa.writer = writer;
  qa.results = results;
  qa.settings.default_retry_after = 200ms;
  auto queue = sys_.spawn(actors::write_queue_actor, qa);

  for (size_t r = 0; r < rounds; ++r) {
    for (size_t n = 1; n <= people; ++n) {
      results->send(queue, teams_write(n, value_of(r)));
    }
  }
  const auto last = value_of(rounds - 1);
  std::set<std::string> done;
  std::vector<std::string> failures;
  bool timed_out = false;
  while (done.size() < people && !timed_out) {
    results->receive(
      [&](actors::write_result& w) {
        if (w.outcome.result == write_outcome::kind::failed) {
          failures.push_back(w.request.person + ": " + w.outcome.reason);
        }
        if (w.outcome.result == write_outcome::kind::ok &&
            w.request.teams == teams_target::of(last)) {
          done.insert(w.request.person);
        }
      },
      [](actors::write_waiting&) {},
      caf::after(60s) >> [&] { timed_out = true; });
  }
  EXPECT_EQ(done.size(), people);
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_GT(counter("throttled"), 0) << "the burst was never throttled";
  for (size_t n = 1; n <= people; ++n) {
    EXPECT_EQ(session_of(n), std::string(client_id) + " " + last.key())
      << "user " << n;
  }

  // Per user, the accepted writes never go back to an earlier round.
  auto body = control("GET", "writes");
  simdjson::dom::parser p;
  auto doc = p.parse(body);
  std::map<std::string, size_t> round_of_user;
  size_t accepted = 0;
  for (auto w : doc["writes"].get_array()) {
    std::string_view user = w["userId"].get_string().value_unsafe();
    int64_t status = 0;
    if (w["status"].get(status) || status >= 300) {
      continue;
    }
    std::string_view av = w["availability"].get_string().value_unsafe();
    std::string_view ac = w["activity"].get_string().value_unsafe();
    size_t round = rounds;
    for (size_t r = 0; r < rounds; ++r) {
      if (value_of(r).key() == std::string(av) + "/" + std::string(ac)) {
        round = r;
      }
    }
    ASSERT_LT(round, rounds) << av << "/" << ac;
    auto& prev = round_of_user[std::string(user)];
    EXPECT_GE(round, prev) << "user " << user << " went backwards";
    prev = round;
    ++accepted;
  }
  EXPECT_GE(accepted, people);
  auto batches = counter("batch");
  std::printf("[ figures  ] burst: %lld $batch requests for %zu writes "
              "(%.3f requests per write), %lld sub-requests, %lld throttled\n",
              static_cast<long long>(batches), people * rounds,
              static_cast<double>(batches) /
                static_cast<double>(people * rounds),
              static_cast<long long>(counter("batch.subrequests")),
              static_cast<long long>(counter("throttled")));
  stop({queue, writer});
}

TEST_F(GraphActors, DirectoryLoadsLicensedUsersThenOnlyChanges) {
  start({"--users", "5"});
  directory_loader loader{http_, tokens_, where_};
  auto first = loader.load();
  ASSERT_TRUE(first) << first.err().describe();
  EXPECT_TRUE(first->full);
  std::set<std::string> licensed;
  for (const auto& e : first->licensed) {
    licensed.insert(e.id);
  }
  EXPECT_EQ(licensed, (std::set<std::string>{user_id(1), user_id(2), user_id(3),
                                             user_id(4), user_id(5)}));
  // Disabled, Teams plan disabled, and a room without licences.
  EXPECT_EQ(first->removed.size(), 3u);
  EXPECT_TRUE(loader.has_delta_link());

  control("PATCH", "users/" + user_id(2), R"({"accountEnabled":false})");
  auto second = loader.load();
  ASSERT_TRUE(second) << second.err().describe();
  EXPECT_FALSE(second->full);
  EXPECT_TRUE(second->licensed.empty());
  EXPECT_EQ(second->removed, (std::vector<std::string>{user_id(2)}));
}

TEST_F(GraphActors, DirectoryRoundsKeepToTheDirectoryBudget) {
  start({"--users", "30"});
  directory_loader loader{http_, tokens_, where_};
  loader.set_rate_limit(4); // a burst of 4, then 4 per second

  // A round is a users page and a Teams numbers page; three rounds cannot
  // go faster than the budget allows. Only a lower bound is checked:
  // pacing can make a round slower, never faster.
  auto begin = std::chrono::steady_clock::now();
  for (int round = 0; round < 3; ++round) {
    auto r = loader.load();
    ASSERT_TRUE(r) << r.err().describe();
  }
  auto took = std::chrono::steady_clock::now() - begin;
  auto sent = loader.requests_sent();

  ASSERT_GT(sent, 4u);
  EXPECT_GE(took, std::chrono::milliseconds{
                    static_cast<int64_t>((sent - 4) * 1000 / 4) - 50});
}

TEST_F(GraphActors, RevokedTokenIsRefreshedOnceAndTheWriteSucceeds) {
  start({"--users", "3"});
  auto writer = spawn_presence_writer(sys_, writer_args(3));
  caf::scoped_actor self{sys_};
  auto write = [&](uint64_t ticket, size_t n) {
    self->send(writer,
               actors::write_dispatch{ticket, teams_write(n, value_of(n))});
    std::optional<actors::write_attempted> got;
    self->receive([&](actors::write_attempted& a) { got = std::move(a); },
                  caf::after(30s) >> [] {});
    return got;
  };
  auto first = write(1, 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->outcome.result, write_outcome::kind::ok);
  control("POST", "tokens/revoke");
  auto second = write(2, 2);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->outcome.result, write_outcome::kind::ok)
    << second->outcome.reason;
  EXPECT_EQ(counter("token"), 2);
  EXPECT_EQ(counter("batch"), 3);
  EXPECT_EQ(tokens_->requests_sent(), 2u);
  presence_writer_counters c;
  self->request(writer, 10s, caf::get_atom::value, actors::counters_atom::value)
    .receive([&](presence_writer_counters& got) { c = got; },
             [](caf::error&) {});
  EXPECT_EQ(c.token_refreshes, 1u);
  EXPECT_EQ(c.batches_sent, 3u);
  EXPECT_EQ(session_of(2), std::string(client_id) + " " + value_of(2).key());
  stop({writer});
}

TEST_F(GraphActors, ExpiredSecretHoldsTheWriteAndStaysReadable) {
  start({"--users", "3", "--secret-expired"});
  auto writer = spawn_presence_writer(sys_, writer_args(3));
  caf::scoped_actor self{sys_};
  self->send(writer,
             actors::write_dispatch{4, teams_write(3, {"Away", "Away"})});
  std::optional<actors::write_attempted> got;
  self->receive([&](actors::write_attempted& a) { got = std::move(a); },
                caf::after(30s) >> [] {});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome.result, write_outcome::kind::throttled);
  EXPECT_GE(got->outcome.retry_after, 1s);
  EXPECT_EQ(tokens_->requests_sent(), 1u);
  ASSERT_TRUE(tokens_->last_error());
  EXPECT_EQ(tokens_->last_error()->code, sync_error::secret_expired);
  EXPECT_EQ(tokens_->last_error()->describe().find(test_secret),
            std::string::npos);
  EXPECT_EQ(counter("batch"), 0);
  EXPECT_EQ(session_of(3), "none");
  stop({writer});
}

// A token endpoint that is down is asked once per back-off step, however
// often callers want a token meanwhile; the first answer after the step
// brings the token (the provider's clock is a manual one here).
TEST_F(GraphActors, TokenProviderAsksOncePerBackOffStep) {
  start({"--users", "1", "--token-endpoint-down"});
  std::atomic<int64_t> now_ms{1'000'000};
  auto tokens = token_provider::make(
    http_, client_credentials{tenant_id, client_id, secret{test_secret}},
    where_, [&now_ms] { return mono_time{std::chrono::milliseconds{now_ms}}; });
  auto get = [&tokens] {
    std::promise<expected<secret>> done;
    tokens->get([&done](expected<secret> t) { done.set_value(std::move(t)); });
    return done.get_future().get();
  };

  auto first = get();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.err().code, sync_error::unavailable);
  ASSERT_TRUE(tokens->retry_at());
  const auto wait = *tokens->retry_at() - mono_time{1'000'000ms};
  EXPECT_GE(wait, 500ms);

  // Inside the back-off: the last failure, no request.
  EXPECT_FALSE(get());
  EXPECT_FALSE(get());
  EXPECT_EQ(tokens->requests_sent(), 1u);

  // After it, one request; the endpoint is back, so a token comes.
  control("POST", "knobs", R"({"tokenEndpointDown":false})");
  now_ms += wait.count();
  EXPECT_TRUE(get());
  EXPECT_EQ(tokens->requests_sent(), 2u);
  EXPECT_FALSE(tokens->retry_at());
}

} // namespace
} // namespace presync::graph::testing
