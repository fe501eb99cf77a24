// The Graph actors against the emulator binary over TLS on 127.0.0.1: the
// token provider and presence writer, the presence poller at 5,000 users,
// and a throttled burst through a real write queue actor.

#include "actors/write_queue_actor.hpp"
#include "adapters/graph/directory_loader.hpp"
#include "adapters/graph/presence_poller.hpp"
#include "adapters/graph/presence_writer.hpp"
#include "adapters/http/client.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace presync::graph::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* emulator_bin = PRESYNC_BIN_DIR "/presync-graph-emulator";
constexpr const char* client_id = "00000000-0000-0000-0000-0000000000b1";
constexpr const char* tenant = "00000000-0000-0000-0000-0000000000a1";
constexpr const char* test_secret = "graph-actor-test-secret";

/// Returns the emulator's id of user n (1-based).
std::string user_id(size_t n) {
  auto digits = std::to_string(n);
  return "00000000-0000-0000-0000-" + std::string(12 - digits.size(), '0') +
         digits;
}

/// Returns the person id presync uses for user n.
std::string person_of(size_t n) {
  return "person-" + std::to_string(n);
}

/// The four values setPresence accepts, in the order a burst writes them.
presence value_of(size_t round) {
  static const presence values[] = {{"Available", "Available"},
                                    {"Busy", "InACall"},
                                    {"DoNotDisturb", "Presenting"},
                                    {"Away", "Away"}};
  return values[round % 4];
}

/// Makes a test CA and a 127.0.0.1 certificate once for the whole binary.
class certificates {
 public:
  static const certificates& get() {
    static certificates c;
    return c;
  }
  std::string dir;
  std::string ca() const { return dir + "/ca.pem"; }
  std::string cert() const { return dir + "/cert.pem"; }
  std::string key() const { return dir + "/key.pem"; }

 private:
  certificates() {
    char tmpl[] = "/tmp/presync-graph-actor-XXXXXX";
    dir = mkdtemp(tmpl);
    std::string d = dir;
    std::string script =
      "cd " + d +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 1"
      " -subj /CN=presync-test-ca -keyout ca.key -out ca.pem 2>/dev/null"
      " && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1"
      " -keyout key.pem -out req.csr 2>/dev/null"
      " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext"
      " && openssl x509 -req -days 1 -in req.csr -CA ca.pem -CAkey ca.key"
      " -CAcreateserial -extfile ext -out cert.pem 2>/dev/null";
    if (std::system(script.c_str()) != 0) {
      throw std::runtime_error("openssl could not make the test certificates");
    }
  }
};

/// Starts the emulator with TLS on port 0 and stops it at the end.
class emulator {
 public:
  explicit emulator(std::vector<std::string> extra) {
    const auto& certs = certificates::get();
    std::vector<std::string> args{emulator_bin, "--tls-cert", certs.cert(),
                                  "--tls-key",  certs.key(),  "--client-secret",
                                  test_secret};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    auto rc =
      posix_spawn(&pid_, emulator_bin, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    out_ = out[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start the emulator");
    }
    // Upper bound only: the line normally arrives within milliseconds.
    std::string line;
    char c = 0;
    pollfd p{out_, POLLIN, 0};
    while (line.size() < 200 && poll(&p, 1, 30000) == 1 &&
           read(out_, &c, 1) == 1 && c != '\n') {
      line += c;
    }
    if (line.rfind("listening 127.0.0.1:", 0) != 0) {
      throw std::runtime_error("emulator did not start: " + line);
    }
    port_ = line.substr(line.rfind(':') + 1);
  }

  ~emulator() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) {
      close(out_);
    }
  }

  emulator(const emulator&) = delete;
  emulator& operator=(const emulator&) = delete;

  std::string base() const { return "https://127.0.0.1:" + port_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string port_;
};

std::shared_ptr<http::client> make_client(bool trust_ca) {
  http::client_config cfg;
  cfg.env = http::empty_environment();
  cfg.use_system_ca = true;
  if (trust_ca) {
    cfg.extra_ca_file = certificates::get().ca();
  }
  auto c = http::client::make(std::move(cfg));
  if (!c) {
    throw std::runtime_error("client: " + c.err().describe());
  }
  return std::shared_ptr<http::client>(std::move(*c));
}

/// The fixture: an emulator, a trusted client, tokens, budget, actors.
class GraphActors : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args, bool trust_ca = true) {
    emu_ = std::make_unique<emulator>(std::move(args));
    control_ = make_client(true);
    http_ = make_client(trust_ca);
    where_.login = emu_->base();
    where_.graph = emu_->base();
    where_.scope_resource = "https://graph.microsoft.com";
    client_credentials creds{tenant, client_id, secret{test_secret}};
    tokens_ = token_provider::make(http_, creds, where_);
    budget_ = std::make_shared<presence_budget>();
  }

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

  /// Sends a control request and returns the body; fails the test on error.
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = "") {
    http::http_request r;
    r.method = method;
    r.url = emu_->base() + "/_control/" + path;
    r.body = body;
    if (!body.empty()) {
      r.headers.set("Content-Type", "application/json");
    }
    auto answer = control_->send(std::move(r));
    EXPECT_TRUE(answer) << path;
    if (!answer) {
      return "";
    }
    EXPECT_LT(answer->status, 300) << path << ": " << answer->body;
    return answer->body;
  }

  /// Returns counters.operations[name] (0 when absent).
  int64_t counter(const std::string& name) {
    auto body = control("GET", "counters");
    simdjson::dom::parser p;
    auto doc = p.parse(body);
    int64_t v = 0;
    if (doc["operations"][name].get(v) != simdjson::SUCCESS) {
      return 0;
    }
    return v;
  }

  /// Returns "sessionId availability/activity" of user n's first session.
  std::string session_of(size_t n) {
    auto body = control("GET", "users/" + user_id(n) + "/presence");
    simdjson::dom::parser p;
    auto doc = p.parse(body);
    simdjson::dom::array sessions;
    if (doc["sessions"].get(sessions) != simdjson::SUCCESS ||
        sessions.size() == 0) {
      return "none";
    }
    auto s = sessions.at(0);
    std::string_view id;
    std::string_view av;
    std::string_view ac;
    if (s["sessionId"].get(id) || s["availability"].get(av) ||
        s["activity"].get(ac)) {
      return "malformed";
    }
    return std::string(id) + " " + std::string(av) + "/" + std::string(ac);
  }

  static write_request teams_write(size_t n, presence value) {
    write_request r;
    r.person = person_of(n);
    r.to = side::teams;
    r.kind = write_kind::write;
    r.teams = teams_target::of(std::move(value));
    return r;
  }

  /// Stops every spawned actor.
  void stop(std::initializer_list<caf::actor> actors) {
    for (const auto& a : actors) {
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
  }

  std::unique_ptr<emulator> emu_;
  std::shared_ptr<http::client> control_;
  std::shared_ptr<http::client> http_;
  endpoints where_;
  std::shared_ptr<token_provider> tokens_;
  std::shared_ptr<presence_budget> budget_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
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
  EXPECT_EQ(counter("token"), 1);
  EXPECT_EQ(counter("batch"), 1);
  EXPECT_EQ(tokens_->requests_sent(), 1u);
  EXPECT_FALSE(tokens_->last_error());
  stop({writer});
}

// A certificate problem does not heal by retrying in a few seconds, so the
// write is answered failed (not throttled) and the token provider keeps
// tls_failed for readiness.
TEST_F(GraphActors, UntrustedCaFailsTheWriteCleanly) {
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
  EXPECT_EQ(got->outcome.result, write_outcome::kind::failed);
  EXPECT_NE(got->outcome.reason.find("tls_failed"), std::string::npos)
    << got->outcome.reason;
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

TEST_F(GraphActors, ExpiredSecretFailsTheWriteAndStaysReadable) {
  start({"--users", "3", "--secret-expired"});
  auto writer = spawn_presence_writer(sys_, writer_args(3));
  caf::scoped_actor self{sys_};
  self->send(writer,
             actors::write_dispatch{4, teams_write(3, {"Away", "Away"})});
  std::optional<actors::write_attempted> got;
  self->receive([&](actors::write_attempted& a) { got = std::move(a); },
                caf::after(30s) >> [] {});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome.result, write_outcome::kind::failed);
  ASSERT_TRUE(tokens_->last_error());
  EXPECT_EQ(tokens_->last_error()->code, sync_error::secret_expired);
  EXPECT_EQ(tokens_->last_error()->describe().find(test_secret),
            std::string::npos);
  EXPECT_EQ(counter("batch"), 0);
  EXPECT_EQ(session_of(3), "none");
  stop({writer});
}

} // namespace
} // namespace presync::graph::testing
