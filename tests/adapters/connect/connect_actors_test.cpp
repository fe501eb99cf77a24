// The Connect adapter's moving parts against the Connect emulator and
// kinesalite, both started here on 127.0.0.1 (ports 0) and stopped by the
// fixture: the Kinesis consumer, the writer actor and the shared limiter.
#include "adapters/connect/connect_actors.hpp"

#include "adapters/aws/signed_call.hpp"
#include "adapters/http/client.hpp"
#include "tests/emulators/connect/support.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace pc = presync::connect;
namespace emu_t = presync::connect_emulator::testing;
using presync::mono_time;
using presync::actors::connect_batch;
using presync::actors::connect_change;
using std::chrono::steady_clock;

namespace {

constexpr const char* instance = "00000000-0000-0000-0000-0000000000aa";
constexpr const char* stream = "connect-agent-events";

std::string agent_id(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "11111111-1111-4111-8111-%012d", n);
  return buf;
}

std::string person_of(int n) {
  return "person-" + std::to_string(n);
}

std::string kinesalite_script() {
  return std::string(PRESYNC_TEST_DATA_DIR) +
         "/../emulators/kinesis/kinesalite.js";
}

/// Maps the emulator's effective_state names to presync's.
std::string our_state(const std::string& emulator_state,
                      const std::string& status_name) {
  static const std::map<std::string, std::string> names = {
    {"logged_out", "LoggedOut"}, {"on_call", "OnContact"},
    {"incoming", "Incoming"},    {"after_contact_work", "AfterContactWork"},
    {"missed", "Missed"},        {"available", "Available"},
    {"offline", "Offline"},
  };
  if (emulator_state == "custom") {
    return status_name;
  }
  auto i = names.find(emulator_state);
  return i == names.end() ? "unmapped:" + emulator_state : i->second;
}

/// Credentials testing/testing through the chain's environment lookup.
presync::aws::credentials_chain
make_chain(const std::string& secret = "testing") {
  return presync::aws::credentials_chain{
    presync::aws::fixed_environment(
      {{"AWS_ACCESS_KEY_ID", "testing"}, {"AWS_SECRET_ACCESS_KEY", secret}}),
    presync::aws::local_files(), presync::aws::no_credential_transport()};
}

class ConnectAdapterTest : public ::testing::Test {
 protected:
  void start(int agents, bool with_kinesis) {
    std::vector<std::string> argv = {
      emu_t::bin_path("presync-connect-emulator"), "--agents",
      std::to_string(agents), "--no-heartbeats"};
    if (with_kinesis) {
      kinesis_ = std::make_unique<emu_t::child_process>(
        std::vector<std::string>{"node", kinesalite_script(), "0"});
      ASSERT_GT(kinesis_->port(), 0) << kinesis_->first_line();
      argv.push_back("--kinesis-endpoint");
      argv.push_back("http://127.0.0.1:" + std::to_string(kinesis_->port()));
      argv.push_back("--stream");
      argv.push_back(stream);
    }
    emulator_ = std::make_unique<emu_t::child_process>(argv);
    ASSERT_GT(emulator_->port(), 0) << emulator_->first_line();

    presync::http::client_config cfg;
    cfg.env = presync::http::empty_environment();
    auto made = presync::http::client::make(cfg);
    ASSERT_TRUE(made) << made.err().describe();
    http_ = std::move(*made);
    chain_ = std::make_unique<presync::aws::credentials_chain>(make_chain());
    connect_caller_ = std::make_unique<presync::aws::signed_caller>(
      *http_, *chain_,
      presync::aws::service_endpoint{url(emulator_->port()), "us-east-1",
                                     "connect"});
    if (with_kinesis) {
      kinesis_caller_ = std::make_unique<presync::aws::signed_caller>(
        *http_, *chain_,
        presync::aws::service_endpoint{url(kinesis_->port()), "us-east-1",
                                       "kinesis"});
    }
  }

  static std::string url(int port) {
    return "http://127.0.0.1:" + std::to_string(port);
  }

  simdjson::dom::element parse(const std::string& text) {
    docs_.emplace_back(std::make_unique<simdjson::dom::parser>());
    return docs_.back()->parse(text).value();
  }

  emu_t::response control(const std::string& method, const std::string& path,
                          const std::string& body = {}) {
    return emu_t::control(emulator_->port(), method, path, body);
  }

  /// Runs one control step and fails the test if it is refused.
  void step(const std::string& method, const std::string& path,
            const std::string& body = {}) {
    auto r = control(method, path, body);
    ASSERT_EQ(r.status, 200) << method << " " << path << ": " << r.body;
  }

  std::string start_contact(const std::string& agent) {
    auto r = control("POST", "/_control/agents/" + agent + "/contacts");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) {
      return {};
    }
    return std::string(parse(r.body)["contact_id"].get_string().value());
  }

  uint64_t events_delivered() {
    auto r = control("GET", "/_control/counters");
    EXPECT_EQ(r.status, 200);
    return static_cast<uint64_t>(
      parse(r.body)["events"]["delivered"].get_int64().value());
  }

  presync::expected<pc::kinesis_reply> kinesis(const std::string& op,
                                               const std::string& body) {
    pc::kinesis::request req;
    req.operation = op;
    req.headers = {{"X-Amz-Target", "Kinesis_20131202." + op},
                   {"Content-Type", "application/x-amz-json-1.1"}};
    req.body = body;
    return pc::make_kinesis_call(*kinesis_caller_)(req);
  }

  std::unique_ptr<emu_t::child_process> kinesis_;
  std::unique_ptr<emu_t::child_process> emulator_;
  std::unique_ptr<presync::http::client> http_;
  std::unique_ptr<presync::aws::credentials_chain> chain_;
  std::unique_ptr<presync::aws::signed_caller> connect_caller_;
  std::unique_ptr<presync::aws::signed_caller> kinesis_caller_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> docs_;
};

caf::actor_system_config& test_config() {
  static caf::actor_system_config cfg;
  return cfg;
}

} // namespace

TEST_F(ConnectAdapterTest, ConsumerActorSendsEachEffectiveStateInOrder) {
  start(3, true);
  const std::string a = agent_id(1);
  const std::string base = "/_control/agents/" + a;
  step("POST", base + "/login");
  const std::string cid = start_contact(a);
  ASSERT_FALSE(cid.empty());
  for (const char* action : {"connect", "end", "clear"}) {
    step("POST", base + "/contacts/" + cid + "/" + action);
  }

  caf::actor_system sys{test_config()};
  caf::scoped_actor self{sys};
  pc::memory_checkpoint_store store;
  pc::consumer_setup setup;
  setup.call = pc::make_kinesis_call(*kinesis_caller_);
  setup.config.stream_name = stream;
  setup.config.start = pc::kinesis::iterator_type::trim_horizon;
  setup.people = {{a, "alice"}};
  setup.store = &store;
  auto consumer = pc::spawn_consumer_actor(sys, std::move(setup), self);

  // Upper bound only: each batch normally arrives within milliseconds.
  // The records may come in one GetRecords answer or several.
  std::vector<std::string> states;
  while (states.size() < 6) {
    bool timed_out = false;
    self->receive(
      [&](const connect_batch& b) {
        EXPECT_FALSE(b.changes.empty());
        for (const auto& c : b.changes) {
          EXPECT_EQ(c.person, "alice");
          EXPECT_GT(c.source_ms, 0);
          states.push_back(c.state);
        }
      },
      caf::after(std::chrono::seconds{20}) >>
        [&] {
          ADD_FAILURE() << "no connect_batch after " << states.size();
          timed_out = true;
        });
    if (timed_out) {
      break;
    }
  }
  EXPECT_EQ(states, (std::vector<std::string>{
                      "Offline", "Available", "Incoming", "OnContact",
                      "AfterContactWork", "Available"}));

  // The checkpoint is the sequence number of the last record.
  self
    ->request(consumer, std::chrono::seconds{10}, caf::get_atom::value,
              pc::kstats_atom::value)
    .receive(
      [&](const pc::consumer_stats& s) {
        EXPECT_EQ(s.records, 6u);
        EXPECT_EQ(s.applied, 6u);
        EXPECT_EQ(s.malformed, 0u);
      },
      [&](const caf::error& e) { ADD_FAILURE() << sys.render(e); });
  EXPECT_EQ(store.all().size(), 1u);
  self->send_exit(consumer, caf::exit_reason::user_shutdown);
}

TEST_F(ConnectAdapterTest, ThousandAgentDaySurvivesSplitAndExpiredIterator) {
  constexpr int agents = 1000;
  start(agents, true);

  std::map<std::string, std::string> people;
  for (int n = 1; n <= agents; ++n) {
    people[agent_id(n)] = person_of(n);
  }
  std::map<std::string, std::string> last_state;
  std::set<std::string> event_ids;
  uint64_t repeated_ids = 0;
  pc::memory_checkpoint_store store;
  pc::consumer_config cfg;
  cfg.stream_name = stream;
  cfg.start = pc::kinesis::iterator_type::trim_horizon;
  cfg.limit = 1000;
  pc::kinesis_consumer consumer{
    pc::make_kinesis_call(*kinesis_caller_), cfg, people, store,
    [&](const connect_change& c, const pc::agent_event& e) {
      last_state[c.person] = c.state;
      if (!event_ids.insert(e.event_id).second) {
        ++repeated_ids;
      }
    }};

  // Time is an input: the consumer's clock jumps to its next due call, so
  // the 5-calls-per-second limit is honoured without waiting for it.
  mono_time now{};
  std::chrono::nanoseconds consuming{0};
  auto catch_up = [&] {
    const uint64_t target = events_delivered();
    const auto deadline = steady_clock::now() + std::chrono::seconds{120};
    const auto began = steady_clock::now();
    while (consumer.stats().records < target &&
           steady_clock::now() < deadline) {
      now = std::max(now, consumer.poll(now));
    }
    consuming += steady_clock::now() - began;
    const auto& st = consumer.stats();
    ASSERT_EQ(st.records, target)
      << "GetRecords " << st.get_records_calls << ", failures " << st.failures
      << ", throttled " << st.throttled << ", lists " << st.list_shards_calls;
  };

  // Morning: everyone logs in; most take a call, some leave it in ACW.
  std::mt19937 rng{20261204};
  const std::vector<std::string> custom = {"Lunch", "Break", "Training",
                                           "Meeting"};
  std::map<int, std::string> open_contact;
  for (int n = 1; n <= agents; ++n) {
    const std::string base = "/_control/agents/" + agent_id(n);
    ASSERT_NO_FATAL_FAILURE(step("POST", base + "/login"));
    if (rng() % 10 < 6) {
      const std::string cid = start_contact(agent_id(n));
      ASSERT_FALSE(cid.empty());
      ASSERT_NO_FATAL_FAILURE(
        step("POST", base + "/contacts/" + cid + "/connect"));
      if (rng() % 2 == 0) {
        ASSERT_NO_FATAL_FAILURE(
          step("POST", base + "/contacts/" + cid + "/end"));
      }
      open_contact[n] = cid;
    }
  }
  ASSERT_NO_FATAL_FAILURE(catch_up());

  // Midday: the reader's iterator expires, then the shard splits.
  const auto first = consumer.active_shards();
  ASSERT_EQ(first.size(), 1u);
  consumer.expire_iterator_for_test(first[0]);
  auto split = kinesis(
    "SplitShard",
    std::string(R"({"StreamName":")") + stream + R"(","ShardToSplit":")" +
      first[0] +
      R"(","NewStartingHashKey":"170141183460469231731687303715884105728"})");
  ASSERT_TRUE(split) << split.err().describe();
  ASSERT_EQ(split->status, 200) << split->body;
  bool active = false;
  for (int i = 0; i < 500 && !active; ++i) {
    auto d = kinesis("DescribeStreamSummary",
                     std::string(R"({"StreamName":")") + stream + "\"}");
    active = d && d->body.find("\"ACTIVE\"") != std::string::npos;
  }
  ASSERT_TRUE(active);

  // Afternoon: calls end, custom statuses, and a third of them log out.
  for (int n = 1; n <= agents; ++n) {
    const std::string base = "/_control/agents/" + agent_id(n);
    if (auto c = open_contact.find(n); c != open_contact.end()) {
      const std::string path = base + "/contacts/" + c->second + "/";
      auto r = control("POST", path + "end");
      ASSERT_TRUE(r.status == 200 || r.status == 409) << r.body;
      if (rng() % 4 != 0) {
        ASSERT_NO_FATAL_FAILURE(step("POST", path + "clear"));
      } else {
        continue; // stays in after-contact work
      }
    }
    if (rng() % 2 == 0) {
      const std::string body =
        R"({"status":")" + custom[rng() % custom.size()] + "\"}";
      ASSERT_NO_FATAL_FAILURE(step("POST", base + "/status", body));
    }
    if (rng() % 3 == 0) {
      ASSERT_NO_FATAL_FAILURE(step("POST", base + "/logout"));
    }
  }
  ASSERT_NO_FATAL_FAILURE(catch_up());

  // The parent was finished and both children read.
  EXPECT_EQ(consumer.finished_shards(), std::set<std::string>{first[0]});
  EXPECT_EQ(consumer.active_shards().size(), 2u);
  EXPECT_GE(consumer.stats().expired_iterators, 1u);
  EXPECT_EQ(consumer.stats().malformed, 0u);
  EXPECT_EQ(repeated_ids, 0u);
  EXPECT_EQ(consumer.stats().applied, consumer.stats().records);

  // Every agent ends where the emulator says it is.
  int mismatches = 0;
  for (int n = 1; n <= agents; ++n) {
    auto r = control("GET", "/_control/agents/" + agent_id(n));
    ASSERT_EQ(r.status, 200);
    auto doc = parse(r.body);
    const std::string expected =
      our_state(std::string(doc["effective_state"].get_string().value()),
                std::string(doc["status"]["name"].get_string().value()));
    if (last_state[person_of(n)] != expected && ++mismatches <= 5) {
      ADD_FAILURE() << "agent " << n << ": presync has "
                    << last_state[person_of(n)] << ", emulator " << expected;
    }
  }
  EXPECT_EQ(mismatches, 0);

  const double seconds = std::chrono::duration<double>(consuming).count();
  std::printf(
    "[ figures  ] %llu events in %.3f s of consuming: %.0f events/s"
    ", %llu GetRecords calls\n",
    static_cast<unsigned long long>(consumer.stats().records), seconds,
    static_cast<double>(consumer.stats().records) / seconds,
    static_cast<unsigned long long>(consumer.stats().get_records_calls));
}

TEST_F(ConnectAdapterTest, WriterChangesStatusThenReusesTheStatusCache) {
  start(2, false);
  const std::string a = agent_id(1);
  step("POST", "/_control/agents/" + a + "/login");
  pc::connect_client client{*connect_caller_, instance};
  caf::actor_system sys{test_config()};
  caf::scoped_actor self{sys};
  auto writer = pc::spawn_connect_writer(sys, client, {{"alice", a}});

  auto write = [&](uint64_t ticket, const std::string& status) {
    presync::write_request req;
    req.person = "alice";
    req.to = presync::side::connect;
    req.status = status;
    self->send(writer, presync::actors::write_dispatch{ticket, req});
    presync::write_outcome out;
    out.reason = "no answer";
    out.result = presync::write_outcome::kind::failed;
    self->receive(
      [&](const presync::actors::write_attempted& w) {
        EXPECT_EQ(w.ticket, ticket);
        out = w.outcome;
      },
      caf::after(std::chrono::seconds{20}) >> [] {});
    return out;
  };
  auto status_name = [&] {
    auto r = control("GET", "/_control/agents/" + a);
    return std::string(parse(r.body)["status"]["name"].get_string().value());
  };

  auto first = write(1, "Lunch");
  EXPECT_EQ(first.result, presync::write_outcome::kind::ok) << first.reason;
  EXPECT_EQ(status_name(), "Lunch");
  EXPECT_EQ(client.calls_sent(), 2u); // ListAgentStatuses + PutUserStatus

  auto second = write(2, "Break");
  EXPECT_EQ(second.result, presync::write_outcome::kind::ok) << second.reason;
  EXPECT_EQ(status_name(), "Break");
  EXPECT_EQ(client.calls_sent(), 3u); // the cache answered

  auto unknown = write(3, "NoSuchStatus");
  EXPECT_EQ(unknown.result, presync::write_outcome::kind::failed);
  EXPECT_NE(unknown.reason.find("NoSuchStatus"), std::string::npos);

  // On a contact Connect only queues the status: the writer says so.
  // (An outbound call: inbound ones reach only a routable status.)
  auto offered = control("POST", "/_control/agents/" + a + "/contacts",
                         R"({"initiation":"OUTBOUND"})");
  ASSERT_EQ(offered.status, 200) << offered.body;
  std::string contact{parse(offered.body)["contact_id"].get_string().value()};
  step("POST", "/_control/agents/" + a + "/contacts/" + contact + "/connect");
  presync::write_request during;
  during.person = "alice";
  during.to = presync::side::connect;
  during.status = "Lunch";
  during.during_contact = true;
  self->send(writer, presync::actors::write_dispatch{4, during});
  std::optional<presync::write_outcome> queued;
  self->receive(
    [&](const presync::actors::write_attempted& w) { queued = w.outcome; },
    caf::after(std::chrono::seconds{20}) >> [] {});
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->result, presync::write_outcome::kind::deferred)
    << queued->reason;
  EXPECT_EQ(status_name(), "Break");
  auto agent = control("GET", "/_control/agents/" + a);
  EXPECT_EQ(
    std::string(parse(agent.body)["next_status"]["name"].get_string().value()),
    "Lunch");

  std::printf("[ figures  ] %llu Connect calls for 2 status changes and one "
              "unknown name\n",
              static_cast<unsigned long long>(client.calls_sent()));
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}

TEST_F(ConnectAdapterTest, WriterReportsThrottlingAsRetryable) {
  start(2, false);
  const std::string a = agent_id(1);
  step("POST", "/_control/agents/" + a + "/login");
  pc::connect_client client{*connect_caller_, instance};
  caf::actor_system sys{test_config()};
  caf::scoped_actor self{sys};
  auto writer = pc::spawn_connect_writer(sys, client, {{"alice", a}});
  presync::write_request req;
  req.person = "alice";
  req.to = presync::side::connect;
  req.status = "Lunch";

  // Warm the cache, then make the next PutUserStatus fail with 429.
  self->send(writer, presync::actors::write_dispatch{1, req});
  self->receive([](const presync::actors::write_attempted&) {},
                caf::after(std::chrono::seconds{20}) >>
                  [] { ADD_FAILURE() << "no answer"; });
  step("POST", "/_control/knobs",
       R"({"fail_next":1,"fail_next_status":429,)"
       R"("fail_next_code":"ThrottlingException"})");
  req.status = "Break";
  self->send(writer, presync::actors::write_dispatch{2, req});
  self->receive(
    [&](const presync::actors::write_attempted& w) {
      EXPECT_EQ(w.ticket, 2u);
      EXPECT_EQ(w.outcome.result, presync::write_outcome::kind::throttled);
      EXPECT_EQ(w.outcome.http_status, 429);
    },
    caf::after(std::chrono::seconds{20}) >>
      [] { ADD_FAILURE() << "no answer"; });

  // The retry goes through.
  self->send(writer, presync::actors::write_dispatch{3, req});
  self->receive(
    [&](const presync::actors::write_attempted& w) {
      EXPECT_EQ(w.outcome.result, presync::write_outcome::kind::ok);
    },
    caf::after(std::chrono::seconds{20}) >>
      [] { ADD_FAILURE() << "no answer"; });
  auto r = control("GET", "/_control/agents/" + a);
  EXPECT_EQ(parse(r.body)["status"]["name"].get_string().value(), "Break");
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}

TEST_F(ConnectAdapterTest, WriterWithWrongSecretFailsForbidden) {
  start(2, false);
  const std::string a = agent_id(1);
  step("POST", "/_control/agents/" + a + "/login");
  auto wrong = make_chain("not-the-secret");
  presync::aws::signed_caller caller{
    *http_, wrong,
    presync::aws::service_endpoint{url(emulator_->port()), "us-east-1",
                                   "connect"}};
  pc::connect_client client{caller, instance};
  caf::actor_system sys{test_config()};
  caf::scoped_actor self{sys};
  auto writer = pc::spawn_connect_writer(sys, client, {{"alice", a}});
  presync::write_request req;
  req.person = "alice";
  req.to = presync::side::connect;
  req.status = "Lunch";
  self->send(writer, presync::actors::write_dispatch{7, req});
  self->receive(
    [&](const presync::actors::write_attempted& w) {
      EXPECT_EQ(w.ticket, 7u);
      EXPECT_EQ(w.outcome.result, presync::write_outcome::kind::failed);
      EXPECT_EQ(w.outcome.http_status, 403);
      EXPECT_NE(w.outcome.reason.find("InvalidSignatureException"),
                std::string::npos)
        << w.outcome.reason;
      EXPECT_EQ(w.outcome.reason.find("not-the-secret"), std::string::npos);
    },
    caf::after(std::chrono::seconds{20}) >>
      [] { ADD_FAILURE() << "no answer"; });
  auto r = control("GET", "/_control/agents/" + a);
  EXPECT_EQ(parse(r.body)["status"]["name"].get_string().value(), "Available");
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}

TEST_F(ConnectAdapterTest, TenantLimiterAllowsBurstThenThrottles) {
  start(2, false);
  mono_time frozen{std::chrono::seconds{100}};
  pc::connect_client client{*connect_caller_, instance,
                            pc::connect_limits{2, 5}, [&] {
                              return frozen;
                            }};
  for (int i = 0; i < 5; ++i) {
    auto r = client.call(pc::build_list_agent_statuses(instance));
    ASSERT_TRUE(r) << r.err().describe();
    EXPECT_EQ(r->status, 200);
  }
  auto sixth = client.call(pc::build_list_agent_statuses(instance));
  ASSERT_FALSE(sixth);
  EXPECT_EQ(sixth.err().code, presync::sync_error::throttled);
  EXPECT_EQ(sixth.err().retry_after, std::chrono::milliseconds{500});

  // Half a second later one more token is there.
  frozen += std::chrono::milliseconds{500};
  EXPECT_TRUE(client.call(pc::build_list_agent_statuses(instance)));
  EXPECT_EQ(client.calls_sent(), 6u);
}

TEST_F(ConnectAdapterTest, DirectoryAndCurrentUserDataReadTheEmulator) {
  start(3, false);
  step("POST", "/_control/agents/" + agent_id(2) + "/login");
  pc::connect_client client{*connect_caller_, instance,
                            pc::connect_limits{1000, 1000}};
  auto users = pc::read_directory(client);
  ASSERT_TRUE(users) << users.err().describe();
  ASSERT_EQ(users->size(), 3u);
  std::set<std::string> ids;
  for (const auto& u : *users) {
    ids.insert(u.id);
  }
  EXPECT_EQ(ids,
            (std::set<std::string>{agent_id(1), agent_id(2), agent_id(3)}));

  auto live = pc::read_current_user_data(client, {agent_id(1), agent_id(2)});
  ASSERT_TRUE(live) << live.err().describe();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].user_id, agent_id(2));
  EXPECT_EQ((*live)[0].effective_state, "Available");
}
