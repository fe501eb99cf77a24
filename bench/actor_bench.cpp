#include "bench/actor_bench.hpp"

#include "actors/messages.hpp"
#include "actors/tenant_supervisor.hpp"
#include "adapters/connect/agent_event.hpp"
#include "adapters/connect/agent_event_filter.hpp"

#include <caf/all.hpp>
#include <simdjson.h>

#ifdef PRESYNC_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>
#include <unordered_map>

namespace presync::bench {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int64_t resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  int64_t size = 0;
  int64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

namespace {

/// Returns the bytes malloc has handed out and not got back.
int64_t heap_in_use_bytes() {
#ifdef PRESYNC_WITH_JEMALLOC
  uint64_t epoch = 1; // refreshes the statistics
  size_t len = sizeof epoch;
  mallctl("epoch", &epoch, &len, &epoch, len);
  size_t allocated = 0;
  len = sizeof allocated;
  mallctl("stats.allocated", &allocated, &len, nullptr, 0);
  return static_cast<int64_t>(allocated);
#else
  auto m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
#endif
}

/// Gives freed memory back so that resident size shows what is live.
int64_t settled_resident_bytes() {
#ifdef PRESYNC_WITH_JEMALLOC
  // jemalloc hands back unused pages after a decay time; now, instead.
  const auto purge = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(purge.c_str(), nullptr, nullptr, nullptr, 0);
#else
  malloc_trim(0);
#endif
  return resident_bytes();
}

std::string person_id(int i) {
  return "p" + std::to_string(i);
}

int person_index(const std::string& id) {
  int i = -1;
  std::from_chars(id.data() + 1, id.data() + id.size(), i);
  return i;
}

/// What the stand-in writer and the effects hook share with the bench.
struct probe {
  explicit probe(int persons) : hold_due_ms(static_cast<size_t>(persons)) {}

  std::atomic<int64_t> effects{0};
  std::atomic<int64_t> writes{0};
  std::vector<std::atomic<int64_t>> hold_due_ms; ///< per person, 0: none
  std::vector<double> delays_ms;                 ///< the writer's only
  std::vector<int64_t> arrivals_us; ///< when each of those reached it
  bool record_delays = false;
};

struct ack_writer_state {
  static inline const char* name = "presync.bench.ack_writer";
};

/// Answers every write at once; for Teams writes records the delay since
/// the hold that caused it ended.
caf::behavior ack_writer(caf::stateful_actor<ack_writer_state>* self,
                         std::shared_ptr<probe> p) {
  return {
    [self, p](actors::write_dispatch& d) {
      if (p->record_delays && d.request.to == side::teams &&
          d.request.kind == write_kind::write) {
        auto i = static_cast<size_t>(person_index(d.request.person));
        auto due = p->hold_due_ms[i].exchange(0);
        if (due > 0) {
          auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          steady::now().time_since_epoch())
                          .count();
          p->delays_ms.push_back(static_cast<double>(now_us - due * 1000) /
                                 1000.0);
          p->arrivals_us.push_back(now_us);
        }
      }
      p->writes.fetch_add(1, std::memory_order_relaxed);
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 actors::write_attempted{d.ticket, write_outcome::ok()});
    },
  };
}

/// A budget no test load reaches: the figures are the engine's own.
write_queue_settings unlimited() {
  write_queue_settings s;
  s.requests_per_window = 1e9;
  s.burst = 1e9;
  s.window = 1s;
  return s;
}

/// A running tenant of `persons` people on a fresh actor system.
struct tenant {
  tenant(int persons, duration hold, bool record_delays,
         duration rest_after = duration{0})
    : cfg_(make_config()), sys(cfg_), p(std::make_shared<probe>(persons)),
      persons_(persons), hold_(hold), rest_after_(rest_after) {
    p->record_delays = record_delays;
    writer = sys.spawn(ack_writer, p);
  }

  /// Spawns the supervisor, which spawns every person actor.
  void start() {
    const int persons = persons_;
    const duration hold = hold_;
    auto settings = std::make_shared<sync_settings>();
    settings->min_hold = hold;

    actors::tenant_config tc;
    tc.tenant = "bench";
    tc.sync = settings;
    tc.people.reserve(static_cast<size_t>(persons));
    for (int i = 0; i < persons; ++i) {
      person_init init;
      init.id = person_id(i);
      init.connect_state = "Available";
      init.teams_presence = presence{"Available", "Available"};
      tc.people.push_back(std::move(init));
    }
    tc.mode = start_mode::resumed;
    tc.teams_writer = writer;
    tc.connect_writer = writer;
    tc.teams_limits = unlimited();
    tc.connect_limits = unlimited();
    tc.supervision.rest_after = rest_after_;
    tc.log = [](const actors::log_event&) {
    };
    auto shared = p;
    tc.on_effects = [shared](const std::string& id, const person_effects& fx) {
      for (const auto& t : fx.timers) {
        if (t.kind == timer_kind::c2t_hold) {
          auto i = static_cast<size_t>(person_index(id));
          shared->hold_due_ms[i].store(t.due.time_since_epoch().count());
        }
      }
      shared->effects.fetch_add(1, std::memory_order_release);
    };
    supervisor = actors::spawn_tenant_supervisor(sys, std::move(tc));
  }

  ~tenant() {
    caf::anon_send(supervisor, actors::stop_atom::value);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }

  /// Waits until the person actors reported `count` effects in all.
  void wait_effects(int64_t count) const {
    while (p->effects.load(std::memory_order_acquire) < count) {
      std::this_thread::sleep_for(2ms);
    }
  }

  /// Returns the supervisor's counters.
  actors::supervisor_counters counters() {
    actors::supervisor_counters out;
    caf::scoped_actor self{sys};
    self
      ->request(supervisor, caf::infinite, caf::get_atom::value,
                actors::counters_atom::value)
      .receive([&](const actors::supervisor_counters& c) { out = c; },
               [](caf::error&) {});
    return out;
  }

  /// Waits until `persons` rest or `limit` passed; returns how many do.
  int64_t wait_resting(int64_t persons, duration limit) {
    auto until = steady::now() + limit;
    auto resting = static_cast<int64_t>(counters().resting);
    while (resting < persons && steady::now() < until) {
      std::this_thread::sleep_for(100ms);
      resting = static_cast<int64_t>(counters().resting);
    }
    return resting;
  }

  /// Waits until no effect was reported for `quiet`.
  void wait_quiet(duration quiet) const {
    auto last = p->effects.load();
    for (;;) {
      std::this_thread::sleep_for(quiet);
      auto now = p->effects.load();
      if (now == last) {
        return;
      }
      last = now;
    }
  }

  static caf::actor_system_config& make_config() {
    static caf::actor_system_config cfg;
    static bool once = [] {
      cfg.set("scheduler.max-threads", 2);
      if (const char* policy = std::getenv("PRESYNC_BENCH_POLICY")) {
        cfg.set("scheduler.policy", caf::atom_from_string(policy));
      }
      cfg.set("logger.verbosity", caf::atom("quiet"));
      return true;
    }();
    (void)once;
    return cfg;
  }

  caf::actor_system_config& cfg_;
  caf::actor_system sys;
  std::shared_ptr<probe> p;
  int persons_;
  duration hold_;
  duration rest_after_;
  caf::actor writer;
  caf::actor supervisor;
};

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

} // namespace

memory_figure measure_memory(int persons, int changes, duration hold,
                             duration rest_after) {
  memory_figure f;
  f.persons = persons;
  f.rest_after_s = std::chrono::duration<double>(rest_after).count();

  // The baseline: a running actor system with nothing in it yet.
  auto t = std::make_unique<tenant>(persons, hold, false, rest_after);
  std::this_thread::sleep_for(100ms);
  auto before = settled_resident_bytes();
  auto heap_before = heap_in_use_bytes();

  auto t0 = steady::now();
  t->start();
  t->wait_effects(persons);
  auto t1 = steady::now();
  f.start_seconds = std::chrono::duration<double>(t1 - t0).count();

  // Every person gets `changes` Connect changes, a round at a time so that
  // no mailbox holds more than one round.
  auto cpu0 = process_cpu_seconds();
  int64_t expected = persons;
  for (int r = 0; r < changes; ++r) {
    const std::string state = r % 2 == 0 ? "Lunch" : "Available";
    for (int i = 0; i < persons; ++i) {
      caf::anon_send(t->supervisor,
                     actors::connect_change{person_id(i), state, r + 1});
    }
    expected += persons;
    t->wait_effects(expected);
  }
  auto cpu1 = process_cpu_seconds();
  f.fill_seconds = std::chrono::duration<double>(steady::now() - t1).count();
  f.cpu_us_per_input =
    (cpu1 - cpu0) * 1e6 / (static_cast<double>(persons) * changes);

  // The holds end (the last change of each person is written), then the
  // tenant is quiet.
  std::this_thread::sleep_for(hold + 500ms);
  t->wait_quiet(300ms);
  if (rest_after > duration{0}) {
    // Idle for one to two sweeps, then every actor ends.
    f.resting = t->wait_resting(persons, 4 * rest_after + 120s);
  }

  {
    caf::scoped_actor self{t->sys};
    self
      ->request(t->supervisor, caf::infinite, caf::get_atom::value,
                actors::journal_atom::value, person_id(persons / 2))
      .receive(
        [&](const actors::journal_entries& j) {
          f.journal_entries = static_cast<double>(j.entries.size());
        },
        [](caf::error&) {});
  }

  auto after = settled_resident_bytes();
  f.bytes_per_person = static_cast<double>(after - before) / persons;
  f.heap_bytes_per_person =
    static_cast<double>(heap_in_use_bytes() - heap_before) / persons;
  return f;
}

std::vector<int64_t> gather_departures(const std::vector<int64_t>& arrivals_us,
                                       int64_t window_us, size_t batch) {
  std::vector<int64_t> out(arrivals_us.size());
  size_t first = 0;
  while (first < arrivals_us.size()) {
    const auto closes = arrivals_us[first] + window_us;
    auto last = first; // one past the batch
    while (last < arrivals_us.size() && last - first < batch &&
           arrivals_us[last] <= closes) {
      ++last;
    }
    const auto leaves = last - first == batch ? arrivals_us[last - 1] : closes;
    std::fill(out.begin() + static_cast<ptrdiff_t>(first),
              out.begin() + static_cast<ptrdiff_t>(last), leaves);
    first = last;
  }
  return out;
}

delay_figure measure_engine_delay(int persons, double rate, duration run,
                                  duration hold, duration gather,
                                  duration rest_after) {
  delay_figure f;
  f.persons = persons;
  f.changes_per_second = rate;
  f.gather_ms = static_cast<double>(gather.count());
  f.rest_after_s = std::chrono::duration<double>(rest_after).count();

  tenant t{persons, hold, true, rest_after};
  t.start();
  t.wait_effects(persons);

  // A different person each time, in a fixed order: with persons ÷ rate
  // above the hold, nobody changes twice within one.
  auto start = steady::now();
  auto total =
    static_cast<int64_t>(rate * std::chrono::duration<double>(run).count());
  std::vector<int> round(static_cast<size_t>(persons), 0);
  for (int64_t k = 0; k < total; ++k) {
    auto due =
      start + std::chrono::duration_cast<steady::duration>(
                std::chrono::duration<double>(static_cast<double>(k) / rate));
    std::this_thread::sleep_until(due);
    auto i = static_cast<int>(k % persons);
    auto r = ++round[static_cast<size_t>(i)];
    const std::string state = r % 2 == 1 ? "Lunch" : "Available";
    caf::anon_send(
      t.supervisor,
      actors::connect_change{person_id(i), state, static_cast<int64_t>(r)});
  }

  // The last holds end.
  std::this_thread::sleep_for(hold + 1s);
  t.wait_quiet(300ms);
  f.woken = t.counters().woken;

  // The writer is idle now: its samples can be read. One writer actor
  // records them, so the arrivals are in order.
  auto& d = t.p->delays_ms;
  f.samples = static_cast<int64_t>(d.size());
  auto leaves = gather_departures(
    t.p->arrivals_us,
    std::chrono::duration_cast<std::chrono::microseconds>(gather).count(), 20);
  std::vector<double> leaving(d.size());
  for (size_t k = 0; k < d.size(); ++k) {
    leaving[k] =
      d[k] + static_cast<double>(leaves[k] - t.p->arrivals_us[k]) / 1000.0;
  }
  f.writer_max_ms = d.empty() ? 0 : *std::max_element(d.begin(), d.end());
  f.writer_p50_ms = percentile(d, 0.50);
  f.writer_p99_ms = percentile(d, 0.99);
  f.max_ms =
    leaving.empty() ? 0 : *std::max_element(leaving.begin(), leaving.end());
  f.p50_ms = percentile(leaving, 0.50);
  f.p99_ms = percentile(leaving, 0.99);
  return f;
}

std::vector<std::string> make_agent_events(int agents, int count) {
  static constexpr const char* statuses[] = {"Available", "Lunch", "Break",
                                             "Training"};
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(count));
  const std::string instance =
    "arn:aws:connect:eu-west-1:111122223333:instance/"
    "00000000-0000-4000-8000-0000000000aa";
  const int64_t base_ms = 1'767'000'000'000;
  for (int k = 0; k < count; ++k) {
    int a = k % agents;
    int n = k / agents;
    char uid[40];
    std::snprintf(uid, sizeof uid, "aaaaaaaa-0000-4000-8000-%012d", a);
    char eid[40];
    std::snprintf(eid, sizeof eid, "eeeeeeee-0000-4000-8000-%012d", k);
    auto ms = base_ms + k;
    auto secs = ms / 1000;
    time_t tt = static_cast<time_t>(secs);
    tm utc{};
    gmtime_r(&tt, &utc);
    char stamp[96];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                  utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
    const bool on_call = n % 3 == 1;
    const std::string status = statuses[n % 4];
    const std::string agent = instance + "/agent/" + uid;
    auto snapshot = [&](const std::string& name, bool call) {
      std::string s =
        "{\"AgentStatus\":{\"ARN\":\"" + instance +
        "/agent-state/aaaaaaaa-0000-4000-8000-000000000001\",\"Name\":\"" +
        name + "\",\"StartTimestamp\":\"" + stamp +
        "\",\"Type\":\"ROUTABLE\"},\"Configuration\":{"
        "\"AgentHierarchyGroups\":null,\"FirstName\":\"Agent\","
        "\"LastName\":\"" +
        std::to_string(a) + "\",\"Username\":\"agent" + std::to_string(a) +
        "@example.com\",\"RoutingProfile\":{\"ARN\":\"" + instance +
        "/routing-profile/22222222-2222-4222-8222-222222222222\","
        "\"Name\":\"Support\",\"Concurrency\":[{\"AvailableSlots\":1,"
        "\"Channel\":\"VOICE\",\"MaximumSlots\":1}],"
        "\"DefaultOutboundQueue\":{\"ARN\":\"" +
        instance +
        "/queue/33333333-3333-4333-8333-333333333334\",\"Name\":\"Out\","
        "\"Channels\":[\"VOICE\"]},\"InboundQueues\":[{\"ARN\":\"" +
        instance +
        "/queue/33333333-3333-4333-8333-333333333333\",\"Name\":\"Support\","
        "\"Channels\":[\"VOICE\",\"CHAT\"]}]}},\"Contacts\":[";
      if (call) {
        s += "{\"Channel\":\"VOICE\",\"ConnectedToAgentTimestamp\":\"" +
             std::string{stamp} + "\",\"ContactId\":\"" + eid +
             "\",\"InitiationMethod\":\"INBOUND\",\"Queue\":{\"ARN\":\"" +
             instance +
             "/queue/33333333-3333-4333-8333-333333333333\",\"Name\":"
             "\"Support\"},\"QueueTimestamp\":\"" +
             stamp + "\",\"State\":\"CONNECTED\",\"StateStartTimestamp\":\"" +
             stamp + "\"}";
      }
      return s + "]}";
    };
    out.push_back(
      "{\"AWSAccountId\":\"111122223333\",\"AgentARN\":\"" + agent +
      "\",\"CurrentAgentSnapshot\":" +
      snapshot(on_call ? "Available" : status, on_call) + ",\"EventId\":\"" +
      eid + "\",\"EventTimestamp\":\"" + stamp +
      "\",\"EventType\":\"STATE_CHANGE\",\"InstanceARN\":\"" + instance +
      "\",\"PreviousAgentSnapshot\":" + snapshot("Available", false) +
      ",\"Version\":\"2019-05-25\"}");
  }
  return out;
}

ingest_figure measure_ingest(int agents, int records, int rounds) {
  ingest_figure f;
  auto events = make_agent_events(agents, records);
  size_t bytes = 0;
  for (const auto& e : events) {
    bytes += e.size();
  }
  f.records = static_cast<int64_t>(events.size()) * rounds;
  f.record_bytes =
    static_cast<double>(bytes) / static_cast<double>(events.size());

  // simdjson alone: the DOM parser, reused, over the same bytes.
  {
    simdjson::dom::parser parser;
    size_t sink = 0;
    auto cpu0 = process_cpu_seconds();
    for (int r = 0; r < rounds; ++r) {
      for (const auto& e : events) {
        auto doc = parser.parse(e.data(), e.size());
        sink += doc.error() == simdjson::SUCCESS ? size_t{1} : size_t{0};
      }
    }
    auto cpu = process_cpu_seconds() - cpu0;
    f.simdjson_per_cpu_s = static_cast<double>(f.records) / cpu;
    if (sink != static_cast<size_t>(f.records)) {
      std::fprintf(stderr, "bench: simdjson rejected a generated record\n");
    }
  }

  // parse_agent_event alone.
  {
    size_t sink = 0;
    auto cpu0 = process_cpu_seconds();
    for (int r = 0; r < rounds; ++r) {
      for (const auto& e : events) {
        auto ev = connect::parse_agent_event(e);
        sink += ev ? ev->effective_state.size() : 0;
      }
    }
    auto cpu = process_cpu_seconds() - cpu0;
    f.parse_only_per_cpu_s = static_cast<double>(f.records) / cpu;
    (void)sink;
  }

  // The whole way: parse, filter, map to a person, the supervisor, the
  // person actor's decision. Each round gets fresh event ids and later
  // timestamps, as a live stream would.
  tenant t{agents, std::chrono::seconds{15}, false};
  t.start();
  t.wait_effects(agents);
  std::unordered_map<std::string, std::string> people;
  for (int a = 0; a < agents; ++a) {
    char uid[40];
    std::snprintf(uid, sizeof uid, "aaaaaaaa-0000-4000-8000-%012d", a);
    people.emplace(uid, person_id(a));
  }
  // The records come as the Kinesis consumer reads them: in GetRecords
  // answers of up to 1,000 (consumer_config::limit's default), each
  // answer's changes one message to the supervisor
  // (adapters/connect/connect_actors.cpp).
  constexpr size_t answer_records = 1000;
  connect::agent_event_filter filter;
  int64_t delivered = 0;
  auto cpu0 = process_cpu_seconds();
  for (int r = 0; r < rounds; ++r) {
    actors::connect_batch batch;
    size_t read = 0;
    for (const auto& e : events) {
      if (++read % answer_records == 0 && !batch.changes.empty()) {
        caf::anon_send(t.supervisor, std::move(batch));
        batch.changes.clear();
      }
      auto ev = connect::parse_agent_event(e);
      if (!ev) {
        continue;
      }
      ev->event_id += std::to_string(r);
      ev->timestamp_ms += int64_t{r} * records;
      if (filter.offer(*ev) != connect::filter_verdict::apply) {
        continue;
      }
      auto person = people.find(ev->user_id);
      if (person == people.end()) {
        continue;
      }
      batch.changes.push_back(actors::connect_change{
        person->second, std::move(ev->effective_state), ev->timestamp_ms});
      ++delivered;
    }
    if (!batch.changes.empty()) {
      caf::anon_send(t.supervisor, std::move(batch));
    }
    // Bounded mailboxes: a round is decided before the next is read.
    t.wait_effects(agents + delivered);
  }
  auto cpu = process_cpu_seconds() - cpu0;
  f.presync_per_cpu_s = static_cast<double>(delivered) / cpu;
  f.ratio = f.presync_per_cpu_s / f.simdjson_per_cpu_s;
  return f;
}

} // namespace presync::bench
