#include "app/tenant_runtime.hpp"

#include "actors/tenant_supervisor.hpp"
#include "adapters/aws/credentials.hpp"
#include "adapters/aws/signed_call.hpp"
#include "adapters/connect/checkpoint_store.hpp"
#include "adapters/connect/connect_actors.hpp"
#include "adapters/connect/connect_client.hpp"
#include "adapters/graph/budget.hpp"
#include "adapters/graph/directory_loader.hpp"
#include "adapters/graph/presence_poller.hpp"
#include "adapters/graph/presence_reader.hpp"
#include "adapters/graph/presence_writer.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"
#include "adapters/log/log.hpp"
#include "adapters/metrics/metrics.hpp"
#include "adapters/store/checkpoints.hpp"
#include "app/durable_writer.hpp"
#include "app/tenant_metrics.hpp"
#include "protocol/identity.hpp"
#include "protocol/person_record.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <variant>

namespace presync::app {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const log::logger& logger() {
  static const log::logger l{"tenant"};
  return l;
}

/// Counters the actor hooks bump from many threads.
struct live_totals {
  std::atomic<uint64_t> connect_events{0};
  std::atomic<uint64_t> teams_changes{0};
  std::atomic<uint64_t> teams_writes{0};
  std::atomic<uint64_t> connect_writes{0};
  std::atomic<uint64_t> refreshes{0};
  std::atomic<uint64_t> throttled{0};
  std::atomic<uint64_t> failed{0};
  std::array<std::atomic<uint64_t>, decision_count> decisions{};
};

/// Sends a credentials request (STS, container endpoint) with the shared
/// HTTP client, so those sources use the same TLS settings.
aws::http_call credentials_transport(std::shared_ptr<http::client> client) {
  return
    [client](const aws::simple_request& in) -> expected<aws::simple_response> {
      http::http_request req;
      req.method = in.method;
      req.url = in.url;
      for (const auto& h : in.headers) {
        req.headers.add(h.name, h.value);
      }
      req.body = in.body;
      auto answer = client->send(std::move(req));
      if (!answer) {
        return answer.err();
      }
      aws::simple_response out;
      out.status = answer->status;
      out.headers = aws::to_aws_headers(answer->headers);
      out.body = std::move(answer->body);
      return out;
    };
}

/// Reads the identity mapping file: one `teams,connect` pair a line, `#`
/// comments and blank lines skipped.
expected<std::vector<identity_pair>>
read_mapping_file(const std::string& file) {
  std::ifstream in{file};
  if (!in) {
    return make_error(sync_error::config_invalid,
                      "identity.mapping_file: cannot read " + file);
  }
  std::vector<identity_pair> out;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    auto text = normalise_identity(line);
    if (text.empty() || text.front() == '#') {
      continue;
    }
    auto comma = line.find(',');
    if (comma == std::string::npos) {
      return make_error(sync_error::config_invalid,
                        file + ":" + std::to_string(n) +
                          ": expected 'teams user,connect user'");
    }
    out.push_back(identity_pair{normalise_identity(line.substr(0, comma)),
                                normalise_identity(line.substr(comma + 1)), n});
  }
  return out;
}

identity_key to_identity_key(config::identity_config::key k) {
  switch (k) {
  case config::identity_config::key::upn:
    return identity_key::upn;
  case config::identity_config::key::mail:
    return identity_key::mail;
  case config::identity_config::key::username:
    return identity_key::username;
  }
  return identity_key::upn;
}

/// Tags the relay's control message: (relay_atom, supervisor).
using relay_atom = caf::atom_constant<caf::atom("relay")>;

/// Tags a checkpoint the consumer reached: (ckpt_atom, shard, sequence).
using ckpt_atom = caf::atom_constant<caf::atom("ckpt")>;

/// Where the relay stores the checkpoints it passes on.
struct relay_config {
  caf::actor target;                   ///< the supervisor, if it exists
  store::state_store* store = nullptr; ///< null: checkpoints stay in memory
  std::string tenant;
  std::string stream;
};

struct relay_state {
  relay_config cfg;
  /// Kept until the supervisor exists: events and checkpoints, in order.
  std::vector<
    std::variant<actors::connect_change, std::pair<std::string, std::string>>>
    held;
  uint64_t next_token = 0;
  /// Checkpoints waiting for the persons to apply what came before them.
  std::map<uint64_t, std::pair<std::string, std::string>> waiting;
  static inline const char* name = "presync.event_relay";
};

using relay_type = caf::stateful_actor<relay_state>;

/// Passes a checkpoint on to the supervisor as a barrier: it is stored
/// once every event handed over before it was applied (issue #6).
void relay_checkpoint(relay_type* self, std::string shard, std::string seq) {
  auto& st = self->state;
  auto token = ++st.next_token;
  st.waiting.emplace(token, std::pair{std::move(shard), std::move(seq)});
  self->send(st.cfg.target, actors::applied_atom::value, token);
}

/// Stands between the Kinesis consumer and the supervisor. While the
/// tenant starts, the consumer reads before the agents' current state is
/// read, so no event falls between the two, and the relay keeps those
/// events until the supervisor exists. Checkpoints travel the same way,
/// behind the events they cover, and are stored once the supervisor says
/// those events were applied.
///
/// The argument also keeps CAF 0.17 from binding a null reference when it
/// spawns a function actor without any (UBSan aborts the asan build).
caf::behavior event_relay(relay_type* self, relay_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](actors::connect_change& c) {
      if (self->state.cfg.target) {
        self->send(self->state.cfg.target, std::move(c));
      } else {
        self->state.held.emplace_back(std::move(c));
      }
    },
    [self](actors::connect_batch& b) {
      if (self->state.cfg.target) {
        self->send(self->state.cfg.target, std::move(b));
      } else {
        for (auto& c : b.changes) {
          self->state.held.emplace_back(std::move(c));
        }
      }
    },
    [self](ckpt_atom, std::string& shard, std::string& seq) {
      if (self->state.cfg.target) {
        relay_checkpoint(self, std::move(shard), std::move(seq));
      } else {
        self->state.held.emplace_back(
          std::pair{std::move(shard), std::move(seq)});
      }
    },
    [self](actors::applied_atom, uint64_t token) {
      auto& st = self->state;
      auto found = st.waiting.find(token);
      if (found == st.waiting.end()) {
        return;
      }
      if (st.cfg.store != nullptr) {
        st.cfg.store->put_checkpoint(store::checkpoint_key{st.cfg.tenant,
                                                           st.cfg.stream,
                                                           found->second.first},
                                     std::move(found->second.second));
      }
      st.waiting.erase(found);
    },
    [self](relay_atom, caf::actor target) {
      auto& st = self->state;
      st.cfg.target = std::move(target);
      for (auto& x : st.held) {
        if (auto* c = std::get_if<actors::connect_change>(&x)) {
          self->send(st.cfg.target, std::move(*c));
        } else {
          auto& cp = std::get<1>(x);
          relay_checkpoint(self, std::move(cp.first), std::move(cp.second));
        }
      }
      st.held.clear();
    },
    [self](caf::get_atom, actors::depth_atom) {
      auto& st = self->state;
      return static_cast<uint64_t>(st.waiting.size() + st.held.size());
    },
  };
}

/// Keeps the consumer's checkpoints in the store, by way of the relay: a
/// put travels behind the events it covers (the consumer's thread sends
/// both, in order) and is stored only after they were applied.
class relayed_checkpoints final : public connect::checkpoint_store {
 public:
  relayed_checkpoints(store::state_store& store, std::string tenant,
                      std::string stream, caf::actor relay)
    : reader_(store, std::move(tenant), std::move(stream)),
      relay_(std::move(relay)) {}

  std::optional<std::string> get(const std::string& shard_id) override {
    return reader_.get(shard_id);
  }

  void put(const std::string& shard_id,
           const std::string& sequence_number) override {
    caf::anon_send(relay_, ckpt_atom::value, shard_id, sequence_number);
  }

 private:
  store::store_checkpoints reader_;
  caf::actor relay_;
};

/// Returns both clocks now, for person records.
record_clock record_now() {
  using namespace std::chrono;
  return record_clock{
    mono_time{floor<duration>(steady_clock::now().time_since_epoch())},
    duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count()};
}

/// What a person believes about both sides, from its last snapshot: what
/// reconciliation compares a fresh read with.
struct belief {
  std::string connect_state;
  presence teams;
};

/// The beliefs of every person of a tenant; written by the supervisor's
/// snapshot hook, read by reconciliation.
struct belief_board {
  std::mutex mutex; ///< guards `of`
  std::unordered_map<std::string, belief> of;
};

} // namespace

/// Everything a running tenant owns. Declared here so the header stays
/// free of adapter types; destroyed in reverse order of declaration, so
/// the clients outlive the actors that use them.
struct tenant_runtime::parts {
  std::shared_ptr<http::client> http;
  graph::endpoints where;
  std::shared_ptr<graph::token_provider> tokens;
  std::shared_ptr<graph::presence_budget> budget;
  std::unique_ptr<graph::directory_loader> loader;

  std::unique_ptr<aws::credentials_chain> chain;
  std::unique_ptr<aws::signed_caller> connect_caller;
  std::unique_ptr<aws::signed_caller> kinesis_caller;
  std::unique_ptr<connect::connect_client> connect;
  std::unique_ptr<connect::checkpoint_store> checkpoints;

  live_totals live;
  std::unique_ptr<tenant_metrics_feed> feed;
  std::map<std::string, graph::directory_entry> directory; ///< by Graph id
  std::vector<teams_account> teams;
  std::vector<connect_account> agents;
  std::map<std::string, std::string> emails; ///< UserId -> DescribeUser mail
  std::vector<identity_pair> mapping;
  identity_result people;

  belief_board beliefs;

  caf::actor supervisor;
  caf::actor teams_writer;
  caf::actor connect_writer;
  caf::actor teams_ledger;   ///< durable_writer before teams_writer
  caf::actor connect_ledger; ///< durable_writer before connect_writer
  caf::actor poller;
  caf::actor consumer;
  caf::actor relay;
};

namespace {

/// What the adapters need to know about the persons of a tenant.
struct people_maps {
  std::map<std::string, std::string> graph_of;     ///< person -> Graph id
  std::map<std::string, std::string> agent_of;     ///< person -> UserId
  std::map<std::string, std::string> person_of_id; ///< UserId -> person
  std::vector<graph::polled_user> polled;
  size_t both = 0; ///< persons with both sides

  static people_maps of(const tenant_runtime::parts& p) {
    people_maps m;
    for (const auto& person : p.people.people) {
      if (person.teams) {
        const auto& gid = p.teams[*person.teams].graph_id;
        m.graph_of[person.id] = gid;
        m.polled.push_back(graph::polled_user{gid, person.id});
      }
      if (person.connect) {
        const auto& uid = p.agents[*person.connect].user_id;
        m.agent_of[person.id] = uid;
        m.person_of_id[uid] = person.id;
      }
      m.both += person.teams && person.connect ? 1u : 0u;
    }
    return m;
  }
};

/// Returns the limits of the Teams and the Connect write queue. The Teams
/// queue leaves the poller its share of the presence budget.
std::pair<write_queue_settings, write_queue_settings>
queue_limits(const config::tenant_config& cfg, size_t polled_users) {
  const auto& g = cfg.graph;
  const auto polls_per_window =
    static_cast<double>(g.presence_window / cfg.sync.teams_poll_interval) *
    static_cast<double>((polled_users + graph::max_presence_ids - 1) /
                        graph::max_presence_ids);
  write_queue_settings teams;
  teams.requests_per_window =
    std::max(1.0, g.presence_requests_per_window - polls_per_window);
  teams.window = g.presence_window;
  teams.burst = teams.requests_per_window;
  write_queue_settings connect;
  connect.requests_per_window = cfg.connect.requests_per_second;
  connect.window = 1s;
  connect.burst = cfg.connect.burst;
  return {teams, connect};
}

/// Lists what changed between two configs of a tenant that only a restart
/// applies (the clients and actors were built with the old values).
std::vector<std::string> restart_only_changes(const config::tenant_config& a,
                                              const config::tenant_config& b) {
  std::vector<std::string> out;
  auto check = [&](bool same, const char* path) {
    if (!same) {
      out.emplace_back(path);
    }
  };
  check(a.graph.tenant_id == b.graph.tenant_id, "graph.tenant_id");
  check(a.graph.client_id == b.graph.client_id, "graph.client_id");
  check(a.graph.client_secret_env == b.graph.client_secret_env,
        "graph.client_secret_env");
  check(a.graph.login_endpoint == b.graph.login_endpoint,
        "graph.login_endpoint");
  check(a.graph.graph_endpoint == b.graph.graph_endpoint,
        "graph.graph_endpoint");
  check(a.graph.ca_file == b.graph.ca_file, "graph.ca_file");
  check(a.graph.write_gather == b.graph.write_gather, "graph.write_gather");
  check(a.connect.instance_id == b.connect.instance_id, "connect.instance_id");
  check(a.connect.region == b.connect.region, "connect.region");
  check(a.connect.endpoint == b.connect.endpoint, "connect.endpoint");
  check(a.connect.kinesis_endpoint == b.connect.kinesis_endpoint,
        "connect.kinesis_endpoint");
  check(a.connect.sts_endpoint == b.connect.sts_endpoint,
        "connect.sts_endpoint");
  check(a.connect.stream_name == b.connect.stream_name, "connect.stream_name");
  check(a.connect.credentials == b.connect.credentials, "connect.credentials");
  check(a.sync.teams_poll_interval == b.sync.teams_poll_interval,
        "sync.teams_poll_interval");
  check(a.sync.teams_session_ttl == b.sync.teams_session_ttl,
        "sync.teams_session_ttl");
  return out;
}

/// The initial facts of one person from the bulk reads of both sides.
person_init make_init(const tenant_runtime::parts& p,
                      const matched_person& person,
                      const std::map<std::string, std::string>& live_state,
                      const std::map<std::string, presence>& observed) {
  person_init init;
  init.id = person.id;
  init.has_teams = person.teams.has_value();
  init.has_connect = person.connect.has_value();
  if (person.teams) {
    const auto& gid = p.teams[*person.teams].graph_id;
    if (auto o = observed.find(normalise_identity(gid)); o != observed.end()) {
      init.teams_presence = o->second;
    }
  }
  if (person.connect) {
    auto s = live_state.find(p.agents[*person.connect].user_id);
    init.connect_state = s == live_state.end()
                           ? std::string{connect_states::logged_out}
                           : s->second;
  }
  return init;
}

/// Both sides as read in bulk, by person (start and reconciliation).
struct live_read {
  std::map<std::string, std::string> connect; ///< effective Connect state
  std::map<std::string, presence> teams;      ///< observed Teams presence
  int64_t read_ms = 0; ///< wall clock when the reads began
};

/// Rebuilds the persons that have a stored record into `tc.stored` and
/// erases the records of persons no longer in the directory. Returns what
/// each resumed person believes about both sides.
std::map<std::string, belief>
resume_persons(store::state_store& store, const std::string& tenant,
               actors::tenant_config& tc, const std::vector<person_init>& inits,
               const live_read& now) {
  std::map<std::string, belief> out;
  auto records = store.person_records(tenant);
  auto written = store.written(tenant);
  if (!records || !written) {
    const auto& e = records ? written.err() : records.err();
    logger().error("state_unreadable",
                   {log::kv("tenant", tenant), log::kv("error", e.describe()),
                    log::kv("detail", "every person starts fresh")});
    return out;
  }

  auto clock = record_now();
  auto as_last = [](const std::optional<store::written_value>& v) {
    return v ? std::optional{last_written{v->value, v->at_ms}} : std::nullopt;
  };
  std::set<std::string> present;
  size_t unusable = 0;
  size_t in_doubt = 0;
  for (const auto& init : inits) {
    present.insert(init.id);
    auto record = records->find(init.id);
    if (record == records->end()) {
      continue;
    }
    resume_facts facts;
    if (auto w = written->find(init.id); w != written->end()) {
      facts.teams = as_last(w->second.teams);
      facts.connect = as_last(w->second.connect);
    }
    if (auto c = now.connect.find(init.id); c != now.connect.end()) {
      facts.connect_state_now = c->second;
    }
    auto machine = resume_person(record->second, init, tc.sync, facts, clock);
    if (!machine) {
      ++unusable;
      logger().warning("person_record_unusable",
                       {log::kv("tenant", tenant), log::kv("person", init.id),
                        log::kv("error", machine.err().describe()),
                        log::kv("detail", "the person starts fresh")});
      continue;
    }
    if (machine->session_in_doubt()) {
      ++in_doubt;
      logger().info("teams_session_in_doubt",
                    {log::kv("tenant", tenant), log::kv("person", init.id),
                     log::kv("detail", "a withdrawn write's answer never "
                                       "came; the session is written again")});
    }
    auto v = machine->view();
    out[init.id] =
      belief{v.connect_state, v.teams_observed.value_or(presence{})};
    tc.stored[init.id] = std::make_shared<const person>(std::move(*machine));
  }
  for (const auto& [id, record] : *records) {
    if (present.count(id) == 0) {
      store.erase_person(tenant, id);
    }
  }
  logger().info("state_resumed",
                {log::kv("tenant", tenant), log::kv("resumed", out.size()),
                 log::kv("fresh", inits.size() - out.size()),
                 log::kv("unusable_records", unusable),
                 log::kv("teams_in_doubt", in_doubt),
                 log::kv("records", records->size())});
  return out;
}

/// Sends `supervisor` every difference between `read` and what the
/// persons believe, as ordinary changes stamped with the read's start
/// (DESIGN.md §4, "Reconciliation"). Returns how many differed on the
/// Connect and the Teams side.
///
/// TODO: the stamp is presync's wall clock while Connect events carry
/// Connect's; a skew of more than the read's duration could order a
/// reconciled state after a later event. Stamping each agent with the
/// StatusStartTimestamp of its answer would use Connect's clock.
std::pair<size_t, size_t>
feed_differences(const caf::actor& supervisor,
                 const std::map<std::string, belief>& believed,
                 const live_read& read) {
  size_t connect = 0;
  size_t teams = 0;
  for (const auto& [id, b] : believed) {
    auto c = read.connect.find(id);
    if (c != read.connect.end() && c->second != b.connect_state) {
      ++connect;
      caf::anon_send(supervisor,
                     actors::connect_change{id, c->second, read.read_ms});
    }
    auto t = read.teams.find(id);
    if (t != read.teams.end() && !(t->second == b.teams)) {
      ++teams;
      caf::anon_send(supervisor,
                     actors::teams_observation{id, t->second, read.read_ms});
    }
  }
  return {connect, teams};
}

} // namespace

tenant_runtime::tenant_runtime(caf::actor_system& sys,
                               config::tenant_config cfg,
                               std::shared_ptr<metrics::sync_metrics> metrics,
                               config::env_lookup env)
  : sys_(sys), cfg_(std::move(cfg)), metrics_(std::move(metrics)),
    env_(std::move(env)), parts_(std::make_unique<parts>()),
    directory_(std::make_unique<tenant_directory>(cfg_.id, cfg_.connect)) {
  // nop
}

tenant_runtime::~tenant_runtime() {
  shut_down(steady::now());
}

void tenant_runtime::start() {
  thread_ = std::thread{[this] {
    run();
  }};
}

bool tenant_runtime::wait_for(steady::duration d) {
  std::unique_lock<std::mutex> lock{mutex_};
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

void tenant_runtime::set_readiness(std::string why) {
  std::lock_guard<std::mutex> guard{mutex_};
  readiness_ = std::move(why);
}

bool tenant_runtime::ready() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return ready_;
}

std::string tenant_runtime::readiness() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return ready_ ? "ready" : readiness_;
}

void tenant_runtime::run() {
  logger().info("tenant_starting", {log::kv("tenant", cfg_.id)});
  if (!start_sequence()) {
    return; // stopped while starting
  }
  phase_ = tenant_phase::running;
  periodic();
}

// -- start sequence ----------------------------------------------------------

bool tenant_runtime::start_sequence() {
  auto& p = *parts_;
  const auto& g = cfg_.graph;
  const auto& c = cfg_.connect;

  // Retries `step` until it succeeds, backing off 1 s doubling to 60 s.
  auto retry = [this](const char* what, auto step) {
    auto wait = steady::duration{1s};
    for (int attempt = 1;; ++attempt) {
      auto failure = step();
      if (!failure) {
        return true;
      }
      set_readiness(std::string{what} + ": " + failure->describe());
      logger().warning("start_step_failed",
                       {log::kv("tenant", cfg_.id), log::kv("step", what),
                        log::kv("attempt", attempt),
                        log::kv("error", failure->describe())});
      if (!wait_for(wait)) {
        return false;
      }
      wait = std::min<steady::duration>(wait * 2, 60s);
    }
  };

  // The HTTP client trusts the system store plus the tenant's CA file.
  http::client_config hc;
  hc.extra_ca_file = g.ca_file;
  hc.log = [](http::log_level l, std::string_view event,
              std::string_view detail) {
    static const log::logger http_log{"http"};
    auto level = l == http::log_level::error     ? log::level::error
                 : l == http::log_level::warning ? log::level::warning
                 : l == http::log_level::info    ? log::level::info
                                                 : log::level::debug;
    http_log.write(level, event, {log::kv("detail", detail)});
  };
  hc.observe = make_api_observer(cfg_.id, metrics_);
  auto made = http::client::make(hc);
  if (!made) {
    set_readiness("http client: " + made.err().describe());
    logger().error(
      "http_client_failed",
      {log::kv("tenant", cfg_.id), log::kv("error", made.err().describe())});
    return false;
  }
  p.http = std::shared_ptr<http::client>{std::move(*made)};

  // Graph: token, budget, directory.
  p.where.login = g.login_endpoint;
  p.where.graph = g.graph_endpoint;
  p.where.scope_resource = "https://graph.microsoft.com";
  auto secret_text = env_(g.client_secret_env);
  graph::client_credentials creds{g.tenant_id, g.client_id,
                                  secret{secret_text.value_or("")}};
  p.tokens = graph::token_provider::make(p.http, std::move(creds), p.where);
  p.budget = std::make_shared<graph::presence_budget>(
    g.presence_requests_per_window, g.presence_window);
  p.feed = std::make_unique<tenant_metrics_feed>(cfg_.id, metrics_, cfg_);
  if (auto expiry = client_secret_expiry(env_, g.client_secret_env); !expiry) {
    logger().warning(
      "secret_expiry_unreadable",
      {log::kv("tenant", cfg_.id), log::kv("error", expiry.err().describe())});
  } else if (*expiry) {
    metrics_->set_client_secret_expiry(cfg_.id, **expiry);
  }
  p.loader =
    std::make_unique<graph::directory_loader>(p.http, p.tokens, p.where);
  p.loader->set_rate_limit(g.directory_requests_per_second);

  // The directory loads on its own thread while Connect lists its users:
  // the two are independent and each takes seconds at 10,000 persons.
  std::vector<graph::directory_entry> licensed;
  auto directory_loaded = std::async(std::launch::async, [&] {
    return retry("directory", [&]() -> std::optional<error> {
      auto round = p.loader->load();
      if (!round) {
        return round.err();
      }
      licensed = std::move(round->licensed);
      return std::nullopt;
    });
  });

  // Connect: credentials, signed callers, the shared rate limiter.
  aws::credentials_options ao;
  ao.region = c.region;
  ao.sts_endpoint = c.sts_endpoint;
  p.chain = std::make_unique<aws::credentials_chain>(
    [this](std::string_view name) { return env_(name); }, aws::local_files(),
    credentials_transport(p.http), ao);
  p.connect_caller = std::make_unique<aws::signed_caller>(
    *p.http, *p.chain, aws::service_endpoint{c.endpoint, c.region, "connect"});
  p.kinesis_caller = std::make_unique<aws::signed_caller>(
    *p.http, *p.chain,
    aws::service_endpoint{c.kinesis_endpoint, c.region, "kinesis"});
  p.connect = std::make_unique<connect::connect_client>(
    *p.connect_caller, c.instance_id,
    connect::connect_limits{static_cast<double>(c.requests_per_second),
                            static_cast<double>(c.burst)});

  std::vector<connect::user_summary> users;
  bool ok = retry("connect users", [&]() -> std::optional<error> {
    auto listed = connect::list_all_users(*p.connect);
    if (!listed) {
      return listed.err();
    }
    users = std::move(*listed);
    return std::nullopt;
  });
  if (!directory_loaded.get() || !ok) { // waits for the directory either way
    return false;
  }
  for (auto& e : licensed) {
    p.directory[e.id] = std::move(e);
  }
  rebuild_teams_accounts();
  logger().info("directory_loaded", {log::kv("tenant", cfg_.id),
                                     log::kv("licensed", p.teams.size())});
  rebuild_agents(users);
  directory_->on_connect_users(users);

  // Identity: the mapping file, then the configured keys. ListUsers has no
  // e-mail; DescribeUser (rate limited) is read only for the agents that
  // the keys before `mail` left unpaired.
  std::vector<identity_pair> mapping;
  if (!cfg_.identity.mapping_file.empty()) {
    auto read = read_mapping_file(cfg_.identity.mapping_file);
    if (!read) {
      set_readiness(read.err().describe());
      logger().error(
        "mapping_file_invalid",
        {log::kv("tenant", cfg_.id), log::kv("error", read.err().describe())});
      return false;
    }
    mapping = std::move(*read);
  }
  p.mapping = std::move(mapping);
  match_people();

  // The event stream is read from LATEST before the agents' current state
  // is, so no event falls between the two; events read meanwhile wait in
  // the relay and are applied after the state they may already be part of
  // (applying one again changes nothing that holds).
  std::vector<std::string> agent_ids;
  std::map<std::string, std::string> person_of_id; // UserId -> person
  for (const auto& person : p.people.people) {
    if (person.connect) {
      const auto& uid = p.agents[*person.connect].user_id;
      agent_ids.push_back(uid);
      person_of_id[uid] = person.id;
    }
  }
  p.relay = sys_.spawn(
    event_relay, relay_config{caf::actor{}, store_, cfg_.id, c.stream_name});
  // With a store, a shard resumes after its checkpoint instead of LATEST,
  // and a checkpoint is stored once the events before it were applied. A
  // checkpoint the stream has trimmed meanwhile is covered by the
  // reconciliation that follows every start.
  if (store_ != nullptr) {
    p.checkpoints = std::make_unique<relayed_checkpoints>(
      *store_, cfg_.id, c.stream_name, p.relay);
  } else {
    p.checkpoints = std::make_unique<connect::memory_checkpoint_store>();
  }
  connect::consumer_setup cs;
  cs.call = connect::make_kinesis_call(*p.kinesis_caller);
  cs.config.stream_name = c.stream_name;
  cs.config.start = connect::kinesis::iterator_type::latest;
  cs.people = person_of_id;
  cs.store = p.checkpoints.get();
  p.consumer = connect::spawn_consumer_actor(sys_, std::move(cs), p.relay);
  ok = retry("event stream", [&]() -> std::optional<error> {
    // The first read usually lands within a second; give it ten.
    caf::scoped_actor self{sys_};
    for (auto until = steady::now() + 10s; steady::now() < until;) {
      std::optional<connect::consumer_stats> got;
      self
        ->request(p.consumer, 30s, caf::get_atom::value,
                  connect::kstats_atom::value)
        .receive([&](const connect::consumer_stats& st) { got = st; },
                 [](const caf::error&) {});
      if (got && got->get_records_calls > 0) {
        return std::nullopt;
      }
      std::this_thread::sleep_for(50ms);
    }
    return make_error(sync_error::unavailable,
                      "no shard of stream " + c.stream_name + " read yet");
  });
  if (!ok) {
    return false;
  }
  std::map<std::string, std::string> live_state;
  const auto read_ms = record_now().wall_ms; // reconciliation's timestamp
  ok = retry("connect current user data", [&]() -> std::optional<error> {
    auto data = connect::read_current_user_data(*p.connect, agent_ids);
    if (!data) {
      return data.err();
    }
    for (const auto& d : *data) {
      live_state[d.user_id] = d.effective_state;
    }
    return std::nullopt;
  });
  if (!ok) {
    return false;
  }

  // The Teams side's current presence.
  std::vector<std::string> graph_ids;
  for (const auto& t : p.teams) {
    graph_ids.push_back(t.graph_id);
  }
  std::map<std::string, presence> observed;
  ok = retry("teams presence", [&]() -> std::optional<error> {
    auto read =
      graph::read_presences(*p.http, *p.tokens, *p.budget, p.where, graph_ids);
    if (!read) {
      return read.err();
    }
    for (auto& r : *read) {
      observed[normalise_identity(r.id)] = r.value;
    }
    return std::nullopt;
  });
  if (!ok) {
    return false;
  }

  // Persons and the maps each adapter needs.
  std::vector<person_init> inits;
  for (const auto& person : p.people.people) {
    inits.push_back(make_init(p, person, live_state, observed));
  }
  auto maps = people_maps::of(p);

  // The actors, writers first: the supervisor hands their handles on.
  graph::presence_writer_args wa;
  wa.http = p.http;
  wa.tokens = p.tokens;
  wa.budget = p.budget;
  wa.where = p.where;
  wa.tenant = cfg_.id;
  wa.session =
    graph::session_settings{g.client_id, cfg_.sync.teams_session_ttl};
  wa.graph_ids = maps.graph_of;
  wa.gather_window = g.write_gather;
  wa.on_throttled_sub_response =
    metrics::graph_batch_throttle_counter(metrics_, cfg_.id);
  p.teams_writer = graph::spawn_presence_writer(sys_, std::move(wa));
  p.connect_writer =
    connect::spawn_connect_writer(sys_, *p.connect, maps.agent_of);

  auto [teams_limits, connect_limits] = queue_limits(cfg_, maps.polled.size());

  auto tenant = cfg_.id;
  auto metrics = metrics_;
  auto* live = &p.live;
  auto* feed = p.feed.get();
  auto* board = &directory_->board();
  actors::tenant_config tc;
  tc.tenant = tenant;
  tc.sync = std::make_shared<const sync_settings>(cfg_.sync);
  tc.supervision.rest_after = rest_after_;
  for (const auto& init : inits) {
    directory_->seed(init);
  }

  // What the reads above found, per person: the facts a resumed person
  // checks its unconfirmed writes against, and reconciles with.
  live_read start_read;
  start_read.read_ms = read_ms;
  for (const auto& init : inits) {
    if (init.has_connect) {
      start_read.connect[init.id] = init.connect_state;
    }
    if (init.has_teams) {
      start_read.teams[init.id] = init.teams_presence;
    }
  }

  // With a store, persons resume from their records, and the store learns
  // every write before the person does.
  std::map<std::string, belief> resumed;
  if (store_ != nullptr) {
    resumed = resume_persons(*store_, cfg_.id, tc, inits, start_read);
    p.teams_ledger = sys_.spawn(
      durable_writer, durable_writer_args{tenant, store_, p.teams_writer, {}});
    p.connect_ledger =
      sys_.spawn(durable_writer,
                 durable_writer_args{tenant, store_, p.connect_writer, {}});
  }
  tc.people = std::move(inits);
  tc.mode = start_mode::fresh; // persons without a record
  tc.teams_writer = p.teams_ledger ? p.teams_ledger : p.teams_writer;
  tc.connect_writer = p.connect_ledger ? p.connect_ledger : p.connect_writer;
  tc.teams_limits = teams_limits;
  tc.connect_limits = connect_limits;
  tc.on_delivered = [tenant, metrics, live, feed,
                     board](const actors::person_input& in) {
    if (auto* c = std::get_if<actors::connect_change>(&in)) {
      board->on_connect(c->person, c->state);
      ++live->connect_events;
      metrics->count_source_change(tenant, side::connect);
    } else if (auto* t = std::get_if<actors::teams_observation>(&in)) {
      board->on_teams(t->person, t->observed);
      ++live->teams_changes;
      metrics->count_source_change(tenant, side::teams);
    } else if (auto* r = std::get_if<actors::write_result>(&in)) {
      feed->on_write_result(r->request, r->outcome, graph::steady_now());
      const auto result = r->outcome.result;
      if (r->request.kind == write_kind::refresh) {
        ++live->refreshes;
        metrics->count_refresh(tenant, result == write_outcome::kind::ok);
        return;
      }
      metrics->count_write(tenant, r->request.to, result);
      switch (result) {
      case write_outcome::kind::throttled:
        ++live->throttled;
        break;
      case write_outcome::kind::failed:
        ++live->failed;
        break;
      case write_outcome::kind::cancelled: // withdrawn before it was sent
        break;
      case write_outcome::kind::ok:
      case write_outcome::kind::deferred:
        ++(r->request.to == side::teams ? live->teams_writes
                                        : live->connect_writes);
        break;
      }
    }
  };
  tc.on_snapshot = [tenant, store = store_, beliefs = &p.beliefs](
                     const std::string& id,
                     const std::shared_ptr<const person>& machine) {
    if (!machine) {
      if (store != nullptr) {
        store->erase_person(tenant, id);
      }
      std::lock_guard<std::mutex> guard{beliefs->mutex};
      beliefs->of.erase(id);
      return;
    }
    if (store != nullptr) {
      store->put_person(tenant, id,
                        encode_person_record(*machine, record_now()));
    }
    auto v = machine->view();
    std::lock_guard<std::mutex> guard{beliefs->mutex};
    auto& b = beliefs->of[id];
    b.connect_state = std::move(v.connect_state);
    b.teams = v.teams_observed.value_or(presence{});
  };
  tc.on_effects = [tenant, metrics, live, feed](const std::string& person,
                                                const person_effects& fx) {
    feed->on_effects(person, fx, graph::steady_now());
    for (const auto& d : fx.decisions) {
      ++live->decisions[static_cast<size_t>(d.what)];
      metrics->count_decision(tenant, d.dir, d.what);
    }
    for (int i = 0; i < fx.loop_pauses; ++i) {
      metrics->count_loop_pause(tenant);
    }
  };
  p.supervisor = actors::spawn_tenant_supervisor(sys_, std::move(tc));
  directory_->set_person_query(make_person_query(sys_, p.supervisor, 5s));
  directory_->set_dialer(make_connect_dialer(*p.connect));
  publish_directory();

  graph::presence_poller_args pa;
  pa.http = p.http;
  pa.tokens = p.tokens;
  pa.budget = p.budget;
  pa.where = p.where;
  pa.users = std::move(maps.polled);
  pa.supervisor = p.supervisor;
  pa.interval = cfg_.sync.teams_poll_interval;
  pa.tenant = cfg_.id;
  p.poller = graph::spawn_presence_poller(sys_, std::move(pa));

  caf::anon_send(p.relay, relay_atom::value, p.supervisor);

  // Reconciliation at start: what changed while presync was down goes to
  // the resumed persons as ordinary changes (fresh ones started from it).
  if (store_ != nullptr) {
    auto [connect_diffs, teams_diffs] =
      feed_differences(p.supervisor, resumed, start_read);
    log_reconciled("start", resumed.size(), connect_diffs, teams_diffs, 0ms);
  }

  publish_people_counts();
  set_readiness("first poll cycle running");
  logger().info("tenant_started",
                {log::kv("tenant", cfg_.id),
                 log::kv("persons", p.people.people.size()),
                 log::kv("synced", maps.both),
                 log::kv("teams_only", p.teams.size() - maps.both),
                 log::kv("conflicts", p.people.conflicts.size())});
  return true;
}

void tenant_runtime::rebuild_teams_accounts() {
  auto& p = *parts_;
  p.teams.clear();
  for (const auto& [id, e] : p.directory) {
    p.teams.push_back(
      teams_account{e.id, e.user_principal_name, e.mail, e.display_name});
  }
}

void tenant_runtime::rebuild_agents(
  const std::vector<connect::user_summary>& users) {
  auto& p = *parts_;
  p.agents.clear();
  for (const auto& u : users) {
    auto mail = p.emails.find(u.id);
    p.agents.push_back(
      connect_account{u.id, u.username,
                      mail == p.emails.end() ? "" : mail->second, u.username});
  }
}

void tenant_runtime::match_people() {
  auto& p = *parts_;
  std::vector<identity_key> order;
  for (auto k : cfg_.identity.match_order) {
    order.push_back(to_identity_key(k));
  }

  // ListUsers has no e-mail. DescribeUser (rate limited) is read once per
  // agent, and only for agents the keys before `mail` leave unpaired.
  auto mail_at = std::find(order.begin(), order.end(), identity_key::mail);
  if (mail_at != order.end()) {
    std::vector<identity_key> before{order.begin(), mail_at};
    auto first = match_identities(p.teams, p.agents, p.mapping, before);
    std::set<size_t> paired;
    for (const auto& person : first.people) {
      if (person.connect && person.teams) {
        paired.insert(*person.connect);
      }
    }
    for (size_t i = 0; i < p.agents.size(); ++i) {
      auto& agent = p.agents[i];
      if (paired.count(i) != 0 || p.emails.count(agent.user_id) != 0) {
        continue;
      }
      auto body = p.connect->call(
        connect::build_describe_user(cfg_.connect.instance_id, agent.user_id));
      if (!body && body.err().code == sync_error::throttled &&
          body.err().http_status == 0) {
        std::this_thread::sleep_for(body.err().retry_after);
        --i; // the tenant's limiter said wait: ask again
        continue;
      }
      // A failed DescribeUser leaves the agent to the other keys until the
      // next directory round asks again.
      if (body && body->status == 200) {
        if (auto d = connect::parse_describe_user(body->body)) {
          p.emails[agent.user_id] = d->email;
          agent.email = d->email;
          directory_->remember(*d);
        }
      }
    }
  }

  auto result = match_identities(p.teams, p.agents, p.mapping, order);
  for (const auto& problem : result.problems) {
    logger().warning("mapping_problem",
                     {log::kv("tenant", cfg_.id), log::kv("detail", problem)});
  }

  // A conflict is logged when it appears, not again at every round.
  auto known = [&](const identity_conflict& c) {
    return std::any_of(p.people.conflicts.begin(), p.people.conflicts.end(),
                       [&](const identity_conflict& k) {
                         return k.key == c.key && k.teams_ids == c.teams_ids &&
                                k.connect_ids == c.connect_ids;
                       });
  };
  for (const auto& conflict : result.conflicts) {
    if (known(conflict)) {
      continue;
    }
    std::string teams_ids;
    std::string connect_ids;
    for (const auto& id : conflict.teams_ids) {
      teams_ids += (teams_ids.empty() ? "" : ",") + id;
    }
    for (const auto& id : conflict.connect_ids) {
      connect_ids += (connect_ids.empty() ? "" : ",") + id;
    }
    logger().warning("identity_conflict",
                     {log::kv("tenant", cfg_.id), log::kv("key", conflict.key),
                      log::kv("teams_users", teams_ids),
                      log::kv("connect_users", connect_ids)});
  }
  p.people = std::move(result);
}

void tenant_runtime::reload(config::tenant_config next) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    pending_reload_ = std::move(next);
  }
  wake_.notify_all();
}

void tenant_runtime::apply_reload(caf::scoped_actor& self,
                                  config::tenant_config next) {
  auto& p = *parts_;

  // What the running clients were built with stays until a restart; the
  // rest applies now.
  auto restart = restart_only_changes(cfg_, next);
  std::string restart_paths;
  for (const auto& path : restart) {
    restart_paths += (restart_paths.empty() ? "" : ",") + path;
  }
  auto kept = cfg_;
  cfg_.sync = next.sync;
  cfg_.sync.teams_poll_interval = kept.sync.teams_poll_interval;
  cfg_.sync.teams_session_ttl = kept.sync.teams_session_ttl;
  cfg_.identity = next.identity;
  cfg_.graph.presence_requests_per_window =
    next.graph.presence_requests_per_window;
  cfg_.graph.presence_window = next.graph.presence_window;
  cfg_.graph.directory_requests_per_second =
    next.graph.directory_requests_per_second;
  cfg_.connect.requests_per_second = next.connect.requests_per_second;
  cfg_.connect.burst = next.connect.burst;
  cfg_.connect.outbound_contact_flow_id = next.connect.outbound_contact_flow_id;
  cfg_.connect.outbound_queue_id = next.connect.outbound_queue_id;
  cfg_.connect.agent_statuses = next.connect.agent_statuses;
  if (p.feed) {
    p.feed->on_settings(cfg_); // budgets and loop cooldown of the metrics
  }

  if (p.supervisor) {
    auto [teams_limits, connect_limits] =
      queue_limits(cfg_, people_maps::of(p).polled.size());
    self->send(p.supervisor, actors::settings_update{
                               std::make_shared<const sync_settings>(cfg_.sync),
                               teams_limits, connect_limits});
    p.budget->reconfigure(cfg_.graph.presence_requests_per_window,
                          cfg_.graph.presence_window);
    p.loader->set_rate_limit(cfg_.graph.directory_requests_per_second);
    p.connect->set_limits(connect::connect_limits{
      static_cast<double>(cfg_.connect.requests_per_second),
      static_cast<double>(cfg_.connect.burst)});
  }
  logger().info("config_applied", {log::kv("tenant", cfg_.id)});
  if (!restart.empty()) {
    logger().warning(
      "config_change_needs_restart",
      {log::kv("tenant", cfg_.id), log::kv("paths", restart_paths)});
  }
}

void tenant_runtime::publish_people_counts() {
  auto& p = *parts_;
  auto maps = people_maps::of(p);
  metrics_->set_persons(cfg_.id, "synced", static_cast<double>(maps.both));
  metrics_->set_persons(cfg_.id, "teams_only",
                        static_cast<double>(p.teams.size() - maps.both));
  metrics_->set_persons(
    cfg_.id, "connect_only",
    static_cast<double>(p.people.people.size() - p.teams.size()));
  metrics_->set_identity_conflicts(
    cfg_.id, static_cast<double>(p.people.conflicts.size()));
  std::lock_guard<std::mutex> guard{mutex_};
  conflicts_ = p.people.conflicts;
}

void tenant_runtime::publish_directory() {
  auto& p = *parts_;
  directory_->rebuild(p.directory, p.teams, p.agents, p.people);
}

void tenant_runtime::refresh_directory(caf::scoped_actor& self) {
  auto& p = *parts_;

  // Both directories: Graph by delta, Connect by ListUsers.
  auto round = p.loader->load();
  if (!round) {
    logger().warning(
      "directory_refresh_failed",
      {log::kv("tenant", cfg_.id), log::kv("error", round.err().describe())});
    return;
  }
  auto users = connect::list_all_users(*p.connect);
  if (!users) {
    logger().warning(
      "connect_users_refresh_failed",
      {log::kv("tenant", cfg_.id), log::kv("error", users.err().describe())});
    return;
  }
  if (round->full) {
    p.directory.clear();
  }
  for (auto& e : round->licensed) {
    p.directory[e.id] = std::move(e);
  }
  for (const auto& id : round->removed) {
    p.directory.erase(id);
  }

  // Who was who before, and who is who now: a person is new or changed
  // when its id is new or its sides point at other accounts.
  auto sides_of = [&](const matched_person& m) {
    return (m.teams ? p.teams[*m.teams].graph_id : "") + "|" +
           (m.connect ? p.agents[*m.connect].user_id : "");
  };
  std::map<std::string, std::string> before;
  for (const auto& m : p.people.people) {
    before[m.id] = sides_of(m);
  }
  rebuild_teams_accounts();
  rebuild_agents(*users);
  directory_->on_connect_users(*users);
  match_people();

  std::vector<const matched_person*> added;
  std::set<std::string> now_ids;
  for (const auto& m : p.people.people) {
    now_ids.insert(m.id);
    auto was = before.find(m.id);
    if (was == before.end() || was->second != sides_of(m)) {
      added.push_back(&m);
    }
  }
  std::vector<std::string> removed;
  for (const auto& [id, sides] : before) {
    if (now_ids.count(id) == 0) {
      removed.push_back(id);
    }
  }

  // New persons start from a fresh read of both their sides.
  std::vector<std::string> agent_ids;
  std::vector<std::string> graph_ids;
  for (const auto* m : added) {
    if (m->connect) {
      agent_ids.push_back(p.agents[*m->connect].user_id);
    }
    if (m->teams) {
      graph_ids.push_back(p.teams[*m->teams].graph_id);
    }
  }
  std::map<std::string, std::string> live_state;
  if (!agent_ids.empty()) {
    if (auto data = connect::read_current_user_data(*p.connect, agent_ids)) {
      for (const auto& d : *data) {
        live_state[d.user_id] = d.effective_state;
      }
    }
  }
  std::map<std::string, presence> observed;
  if (!graph_ids.empty()) {
    if (auto read = graph::read_presences(*p.http, *p.tokens, *p.budget,
                                          p.where, graph_ids)) {
      for (auto& r : *read) {
        observed[normalise_identity(r.id)] = r.value;
      }
    }
  }

  // Adapters learn the new maps before the supervisor the new persons, so
  // a first write of a new person finds its account.
  auto maps = people_maps::of(p);
  self->send(p.teams_writer, graph::graph_id_update{maps.graph_of});
  self->send(p.connect_writer, connect::people_update{maps.agent_of});
  self->send(p.consumer, connect::people_update{maps.person_of_id});
  self->send(p.poller, graph::polled_users_update{maps.polled});
  for (const auto& id : removed) {
    self->send(p.supervisor, actors::remove_person{id});
  }
  for (const auto* m : added) {
    auto init = make_init(p, *m, live_state, observed);
    directory_->seed(init);
    self->send(p.supervisor, actors::add_person{std::move(init)});
  }
  publish_people_counts();
  publish_directory();
  logger().info("directory_refreshed",
                {log::kv("tenant", cfg_.id), log::kv("full", round->full),
                 log::kv("persons", p.people.people.size()),
                 log::kv("added", added.size()),
                 log::kv("removed", removed.size())});
}

// -- running -----------------------------------------------------------------

tenant_totals tenant_runtime::totals() const {
  const auto& p = *parts_;
  const auto& l = p.live;
  tenant_totals t;
  t.connect_events = l.connect_events;
  t.teams_changes = l.teams_changes;
  t.teams_writes = l.teams_writes;
  t.connect_writes = l.connect_writes;
  t.refreshes = l.refreshes;
  t.throttled = l.throttled;
  t.failed = l.failed;
  for (int i = 0; i < decision_count; ++i) {
    if (auto n = l.decisions[static_cast<size_t>(i)].load(); n > 0) {
      t.decisions[std::string{to_string(static_cast<decision>(i))}] = n;
    }
  }
  if (phase_ != tenant_phase::starting) {
    t.http_requests = p.http ? p.http->stats().requests_sent : 0;
    t.connect_requests = p.connect ? p.connect->calls_sent() : 0;
  }
  std::lock_guard<std::mutex> guard{mutex_};
  t.kinesis_calls = polled_.kinesis_calls;
  t.kinesis_records = polled_.kinesis_records;
  t.kinesis_malformed = polled_.kinesis_malformed;
  t.kinesis_failures = polled_.kinesis_failures;
  t.poll_cycles = polled_.poll_cycles;
  t.poll_failures = polled_.poll_failures;
  return t;
}

std::vector<identity_conflict> tenant_runtime::conflicts() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return conflicts_;
}

void tenant_runtime::poll_adapter_counters(caf::scoped_actor& self) {
  auto& p = *parts_;
  tenant_totals got;
  self
    ->request(p.poller, 5s, caf::get_atom::value, actors::counters_atom::value)
    .receive(
      [&](const graph::presence_poller_counters& c) {
        p.feed->on_poller(c, std::chrono::system_clock::now());
        got.poll_cycles = c.cycles_completed;
        got.poll_failures = c.batches_failed;
      },
      [](const caf::error&) {});
  self
    ->request(p.consumer, 5s, caf::get_atom::value, connect::kstats_atom::value)
    .receive(
      [&](const connect::consumer_stats& c) {
        p.feed->on_consumer(c);
        got.kinesis_calls = c.get_records_calls;
        got.kinesis_records = c.records;
        got.kinesis_malformed = c.malformed;
        got.kinesis_failures = c.failures + c.throttled;
      },
      [](const caf::error&) {});

  // New failures are worth a line each time they grow (at most one per
  // second, so a flood cannot drown the log).
  std::lock_guard<std::mutex> guard{mutex_};
  if (got.kinesis_failures > polled_.kinesis_failures ||
      got.kinesis_malformed > polled_.kinesis_malformed) {
    logger().warning("event_stream_trouble",
                     {log::kv("tenant", cfg_.id),
                      log::kv("failed_calls", got.kinesis_failures),
                      log::kv("malformed_records", got.kinesis_malformed)});
  }
  if (got.poll_failures > polled_.poll_failures) {
    logger().warning("presence_poll_failed",
                     {log::kv("tenant", cfg_.id),
                      log::kv("failed_batches", got.poll_failures)});
  }
  polled_ = got;
}

void tenant_runtime::log_summary(const tenant_totals& now,
                                 const tenant_totals& before,
                                 std::chrono::seconds span) {
  auto delta = [](uint64_t a, uint64_t b) {
    return a >= b ? a - b : 0;
  };
  auto decided = [&](const char* name) {
    auto get = [name](const tenant_totals& t) {
      auto i = t.decisions.find(name);
      return i == t.decisions.end() ? uint64_t{0} : i->second;
    };
    return delta(get(now), get(before));
  };
  logger().info(
    "summary",
    {log::kv("tenant", cfg_.id),
     log::kv("seconds", int64_t{span.count()}),
     log::kv("connect_events",
             delta(now.connect_events, before.connect_events)),
     log::kv("teams_changes", delta(now.teams_changes, before.teams_changes)),
     log::kv("writes_to_teams", delta(now.teams_writes, before.teams_writes)),
     log::kv("writes_to_connect",
             delta(now.connect_writes, before.connect_writes)),
     log::kv("refreshes", delta(now.refreshes, before.refreshes)),
     log::kv("held", decided("held")),
     log::kv("superseded", decided("superseded")),
     log::kv("echo", decided("echo")),
     log::kv("loop_paused", decided("loop_paused")),
     log::kv("unchanged", decided("unchanged")),
     log::kv("deferred", decided("deferred")),
     log::kv("ignored", decided("ignored")),
     log::kv("http_requests", delta(now.http_requests, before.http_requests)),
     log::kv("connect_requests",
             delta(now.connect_requests, before.connect_requests)),
     log::kv("throttled", delta(now.throttled, before.throttled)),
     log::kv("failed", delta(now.failed, before.failed)),
     log::kv("kinesis_records",
             delta(now.kinesis_records, before.kinesis_records)),
     log::kv("poll_cycles", delta(now.poll_cycles, before.poll_cycles))});
}

void tenant_runtime::log_reconciled(const char* reason, size_t persons,
                                    size_t connect, size_t teams,
                                    std::chrono::milliseconds took) {
  logger().info("reconciled",
                {log::kv("tenant", cfg_.id), log::kv("reason", reason),
                 log::kv("persons", persons),
                 log::kv("connect_differences", connect),
                 log::kv("teams_differences", teams),
                 log::kv("ms", int64_t{took.count()})});
  if (metrics_) {
    metrics_->count_reconcile(cfg_.id, reason, connect, teams);
  }
}

bool tenant_runtime::reconcile(const char* reason) {
  auto& p = *parts_;
  auto started = steady::now();

  // Both sides in bulk: Connect current user data (absent: logged out),
  // Graph presence in batches of up to 650.
  live_read read;
  read.read_ms = record_now().wall_ms;
  std::vector<std::string> agent_ids;
  std::map<std::string, std::string> person_of_agent;
  std::vector<std::string> graph_ids;
  std::map<std::string, std::string> person_of_graph;
  for (const auto& m : p.people.people) {
    if (m.connect) {
      const auto& uid = p.agents[*m.connect].user_id;
      agent_ids.push_back(uid);
      person_of_agent[uid] = m.id;
      read.connect[m.id] = std::string{connect_states::logged_out};
    }
    if (m.teams) {
      const auto& gid = p.teams[*m.teams].graph_id;
      graph_ids.push_back(gid);
      person_of_graph[normalise_identity(gid)] = m.id;
    }
  }
  auto data = connect::read_current_user_data(*p.connect, agent_ids);
  auto presences =
    graph::read_presences(*p.http, *p.tokens, *p.budget, p.where, graph_ids);
  if (!data || !presences) {
    const auto& e = data ? presences.err() : data.err();
    logger().warning("reconcile_failed",
                     {log::kv("tenant", cfg_.id), log::kv("reason", reason),
                      log::kv("error", e.describe())});
    return false;
  }
  for (const auto& d : *data) {
    if (auto i = person_of_agent.find(d.user_id); i != person_of_agent.end()) {
      read.connect[i->second] = d.effective_state;
    }
  }
  for (const auto& r : *presences) {
    auto i = person_of_graph.find(normalise_identity(r.id));
    if (i != person_of_graph.end()) {
      read.teams[i->second] = r.value;
    }
  }

  // What the persons believe, as of their last snapshots.
  std::map<std::string, belief> believed;
  {
    std::lock_guard<std::mutex> guard{p.beliefs.mutex};
    believed.insert(p.beliefs.of.begin(), p.beliefs.of.end());
  }
  auto [connect_diffs, teams_diffs] =
    feed_differences(p.supervisor, believed, read);
  log_reconciled(reason, believed.size(), connect_diffs, teams_diffs,
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                   steady::now() - started));
  return true;
}

void tenant_runtime::periodic() {
  auto& p = *parts_;
  auto last_summary = steady::now();
  auto before = totals();
  auto next_directory = steady::now() + cfg_.sync.directory_interval;
  auto next_reconcile = steady::now() + cfg_.sync.reconcile_interval;
  auto last_publish = steady::now();
  bool described = false;
  uint64_t failures_seen = 0; // failed poll batches and Kinesis calls
  bool gap = false;
  auto last_reconcile = steady::now(); // the start reconciled; gaps wait 30 s

  while (wait_for(1s)) {
    auto now = steady::now();
    // A scoped actor per tick: CAF 0.17 does not cancel the timeout of a
    // request that was answered, so each one later leaves an error message
    // in the asker's mailbox that no receive takes. A scoped actor kept
    // for the tenant's life gathered five a second (storms, heaptrack).
    caf::scoped_actor self{sys_};

    std::optional<config::tenant_config> next;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      next.swap(pending_reload_);
    }
    if (next) {
      apply_reload(self, std::move(*next));
    }

    poll_adapter_counters(self);

    // Ready once a whole poll cycle came back and the token is good.
    if (!ready()) {
      auto cycles = totals().poll_cycles;
      auto token_error = p.tokens->last_error();
      if (cycles > 0 && !token_error) {
        std::lock_guard<std::mutex> guard{mutex_};
        ready_ = true;
        logger().info("tenant_ready", {log::kv("tenant", cfg_.id)});
      } else if (token_error) {
        set_readiness("token: " + token_error->describe());
      }
    }
    p.feed->on_ready(ready());
    p.feed->collect(self, p.supervisor, *p.tokens, 5s);

    // Reconciliation every reconcile_interval, and after a gap in an event
    // source: once failures stop growing, both sides are read again.
    auto current = totals();
    auto failures = current.poll_failures + current.kinesis_failures;
    bool failing = failures > failures_seen;
    failures_seen = failures;
    gap |= failing;
    bool gap_over = gap && !failing && now - last_reconcile >= 30s;
    if (gap_over || now >= next_reconcile) {
      const char* reason = gap_over ? "gap" : "interval";
      last_reconcile = now;
      if (reconcile(reason)) {
        gap = false;
        next_reconcile = now + cfg_.sync.reconcile_interval;
      } else {
        next_reconcile =
          now + std::min<steady::duration>(cfg_.sync.reconcile_interval, 30s);
      }
    }

    // The directory's delta round adds and removes persons.
    if (now >= next_directory) {
      next_directory = now + cfg_.sync.directory_interval;
      refresh_directory(self);
    }

    // Connect phone settings, a few per tick within the rate limit; the
    // directory is republished at most every 10 s while they come in.
    directory_->set_calls(cfg_.connect);
    auto describes =
      static_cast<size_t>(std::max(1, cfg_.connect.requests_per_second / 2));
    described |= directory_->describe_some(*p.connect, describes);
    if (described &&
        (directory_->undescribed() == 0 || now - last_publish >= 10s)) {
      publish_directory();
      described = false;
      last_publish = now;
    }

    if (now - last_summary >= 60s) {
      auto current = totals();
      log_summary(
        current, before,
        std::chrono::duration_cast<std::chrono::seconds>(now - last_summary));
      before = current;
      last_summary = now;
    }
  }
}

uint64_t tenant_runtime::shut_down(steady::time_point deadline) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (phase_ == tenant_phase::stopped) {
      return 0;
    }
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  auto& p = *parts_;
  if (!p.supervisor) {
    // Stopped while starting: end what the start sequence had spawned.
    caf::scoped_actor self{sys_};
    for (const auto& a :
         {p.consumer, p.relay, p.teams_ledger, p.connect_ledger}) {
      if (a) {
        self->send_exit(a, caf::exit_reason::user_shutdown);
        self->wait_for(a);
      }
    }
    phase_ = tenant_phase::stopped;
    return 0;
  }

  // Stop intake first, then let the queues flush what they hold.
  phase_ = tenant_phase::draining;
  caf::scoped_actor self{sys_};
  self->send_exit(p.poller, caf::exit_reason::user_shutdown);
  self->send_exit(p.consumer, caf::exit_reason::user_shutdown);
  std::vector<caf::actor> queues;
  self
    ->request(p.supervisor, 5s, caf::get_atom::value,
              actors::queues_atom::value)
    .receive([&](std::vector<caf::actor>& q) { queues = std::move(q); },
             [](const caf::error&) {});
  // The checkpoints of events read before the consumer stopped are
  // stored once the persons applied those events (the relay waits).
  auto depth_of = [&](const caf::actor& a) {
    uint64_t n = 0;
    self->request(a, 5s, caf::get_atom::value, actors::depth_atom::value)
      .receive([&](uint64_t got) { n = got; }, [](const caf::error&) {});
    return n;
  };
  uint64_t left = 0;
  uint64_t checkpoints_left = 0;
  for (;;) {
    left = 0;
    for (const auto& q : queues) {
      left += depth_of(q);
    }
    checkpoints_left = depth_of(p.relay);
    if ((left == 0 && checkpoints_left == 0) || steady::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }

  auto t = totals();
  logger().info("tenant_stopped",
                {log::kv("tenant", cfg_.id), log::kv("writes_left", left),
                 log::kv("checkpoints_left", checkpoints_left),
                 log::kv("writes_to_teams", t.teams_writes),
                 log::kv("writes_to_connect", t.connect_writes)});
  self->send(p.supervisor, actors::stop_atom::value);
  std::vector<caf::actor> rest{p.supervisor, p.teams_writer, p.connect_writer,
                               p.poller,     p.consumer,     p.relay};
  for (const auto& a : {p.teams_ledger, p.connect_ledger}) {
    if (a) {
      rest.push_back(a);
    }
  }
  for (const auto& a : rest) {
    if (a != p.supervisor) {
      self->send_exit(a, caf::exit_reason::user_shutdown);
    }
  }
  for (const auto& a : rest) {
    self->wait_for(a);
  }
  phase_ = tenant_phase::stopped;
  return left;
}

} // namespace presync::app
