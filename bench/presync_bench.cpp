// `make bench`: every figure of issue 9 in one run, printed as a table and
// written to build/bench.json. `--smoke` runs tiny sizes (ctest's
// bench_smoke); nothing here asserts a timing.
//
// Sections, each in a fresh process where resident memory matters:
//   micro     Google Benchmark: simdjson, parse_agent_event, one decision,
//             a person copy, a journal entry
//   ingest    agent event records to decisions vs simdjson alone
//   memory    resident growth per person at 1k, 10k, 100k and 1M
//   delay     hold end to writer at 100k persons, 1,000 changes/s
//   day       a generated day: presync beside the seed and polling policies
//   coldstart `presync demo` at 10k persons against the emulators
#include "bench/actor_bench.hpp"
#include "bench/day_replay.hpp"

#include "adapters/connect/agent_event.hpp"
#include "protocol/person.hpp"

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace presync::bench {
namespace {

using namespace std::chrono_literals;

// -- running a measurement in a fresh process ---------------------------------

/// Runs `fn` in a child process and returns what it computed: resident
/// memory and the actor system start from nothing each time.
template <class T, class Fn>
T isolated(Fn fn) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (std::getenv("PRESYNC_BENCH_NO_FORK") != nullptr) {
    return fn(); // for a debugger
  }
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("bench: pipe");
    std::exit(1);
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    T value = fn();
    auto n = write(fds[1], &value, sizeof value);
    _exit(n == static_cast<ssize_t>(sizeof value) ? 0 : 1);
  }
  close(fds[1]);
  T value{};
  auto n = read(fds[0], &value, sizeof value);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n != static_cast<ssize_t>(sizeof value) || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench: a measurement process failed\n");
    std::exit(1);
  }
  return value;
}

// -- micro-benchmarks ---------------------------------------------------------

const std::vector<std::string>& sample_events() {
  static const auto events = make_agent_events(100, 1000);
  return events;
}

void bm_simdjson_dom(benchmark::State& state) {
  simdjson::dom::parser parser;
  const auto& events = sample_events();
  size_t k = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    const auto& e = events[k++ % events.size()];
    auto doc = parser.parse(e.data(), e.size());
    benchmark::DoNotOptimize(doc.error());
    bytes += e.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_simdjson_dom);

void bm_parse_agent_event(benchmark::State& state) {
  const auto& events = sample_events();
  size_t k = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    const auto& e = events[k++ % events.size()];
    auto ev = connect::parse_agent_event(e);
    benchmark::DoNotOptimize(ev);
    bytes += e.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_parse_agent_event);

person started_person(const std::shared_ptr<const sync_settings>& s) {
  person_init init;
  init.id = "agent0001";
  init.connect_state = "Available";
  init.teams_presence = presence{"Available", "Available"};
  person p{init, s};
  person_effects fx;
  p.start(start_mode::resumed, at(0ms), fx);
  return p;
}

/// One Connect change through the state machine (a hold starts or ends).
void bm_person_on_connect(benchmark::State& state) {
  auto s = std::make_shared<sync_settings>();
  auto p = started_person(s);
  int64_t k = 0;
  for (auto _ : state) {
    person_effects fx;
    ++k;
    p.on_connect(k % 2 == 0 ? "Available" : "Lunch", k, at(duration{k}), fx);
    benchmark::DoNotOptimize(fx);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_person_on_connect);

/// What a person actor's snapshot costs: a copy of the machine with a
/// full journal.
void bm_person_copy(benchmark::State& state) {
  auto s = std::make_shared<sync_settings>();
  auto p = started_person(s);
  for (int64_t k = 1; k <= 100; ++k) {
    person_effects fx;
    p.on_connect(k % 2 == 0 ? "Available" : "Lunch", k, at(duration{k}), fx);
  }
  for (auto _ : state) {
    auto copy = std::make_shared<const person>(p);
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_person_copy);

void bm_journal_add(benchmark::State& state) {
  journal j{50};
  int64_t k = 0;
  for (auto _ : state) {
    j.add(journal_entry{at(duration{++k}), decision::held,
                        direction::connect_to_teams,
                        "Lunch: Away/Away after min_hold 15s"});
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_journal_add);

/// Keeps what Google Benchmark measured, by name.
class collecting_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      ns_per_op[r.benchmark_name()] =
        r.GetAdjustedCPUTime() *
        (r.time_unit == benchmark::kNanosecond ? 1.0 : 1e3);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> ns_per_op;
};

// -- cold start against the emulators ----------------------------------------

struct cold_start_figure {
  bool measured = false;
  double seconds = 0;     ///< `started` to `tenant_ready`
  double directory_s = 0; ///< `started` to `directory_loaded`
  double started_s = 0;   ///< `started` to `tenant_started`
  double poll_requests_per_cycle = 0;
  double requests_per_change = 0;
  int64_t redundant_writes = -1;
  bool passed = false;
};

std::optional<int64_t> log_time(const std::string& log, const char* event) {
  auto key = std::string{"\"event\":\""} + event + "\"";
  std::istringstream in{log};
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(key) == std::string::npos) {
      continue;
    }
    auto ts = line.find("\"ts\":\"");
    if (ts == std::string::npos) {
      continue;
    }
    auto end = line.find('"', ts + 6);
    return parse_iso8601_ms(line.substr(ts + 6, end - ts - 6));
  }
  return std::nullopt;
}

cold_start_figure measure_cold_start(const std::string& bin_dir, int agents,
                                     int office_users,
                                     const std::string& work) {
  cold_start_figure f;
  std::string dir =
    work + "/coldstart-" + std::to_string(agents + office_users);
  std::string report = dir + ".json";
  std::string cmd =
    "rm -rf '" + dir + "' && mkdir -p '" + dir + "' && '" + bin_dir +
    "/presync' demo --agents " + std::to_string(agents) + " --office-users " +
    std::to_string(office_users) +
    " --duration 20s --call-interval 120s --seed 9"
    " --work-dir '" +
    dir + "' --report '" + report + "' > '" + dir + ".out' 2>&1";
  int rc = std::system(cmd.c_str());
  f.passed = rc == 0;

  std::ifstream in{dir + "/presync.log"};
  std::stringstream text;
  text << in.rdbuf();
  auto log = text.str();
  auto started = log_time(log, "started");
  auto ready = log_time(log, "tenant_ready");
  if (started && ready) {
    f.measured = true;
    f.seconds = static_cast<double>(*ready - *started) / 1000.0;
    if (auto d = log_time(log, "directory_loaded")) {
      f.directory_s = static_cast<double>(*d - *started) / 1000.0;
    }
    if (auto s = log_time(log, "tenant_started")) {
      f.started_s = static_cast<double>(*s - *started) / 1000.0;
    }
  }

  simdjson::dom::parser parser;
  auto doc = parser.load(report);
  if (doc.error() == simdjson::SUCCESS) {
    auto get = [&](const char* key) {
      double v = -1;
      auto x = doc[key];
      if (x.is_double()) {
        v = x.get_double().value();
      } else if (x.is_int64()) {
        v = static_cast<double>(x.get_int64().value());
      }
      return v;
    };
    f.poll_requests_per_cycle = get("poll_requests_per_cycle");
    f.requests_per_change = get("requests_per_change");
    f.redundant_writes = static_cast<int64_t>(get("redundant_writes"));
  }
  return f;
}

// -- output -------------------------------------------------------------------

std::string machine_description() {
  std::ifstream cpu{"/proc/cpuinfo"};
  std::string line;
  std::string model = "unknown CPU";
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  long mem_kb = 0;
  std::ifstream meminfo{"/proc/meminfo"};
  std::string key;
  meminfo >> key >> mem_kb;
  return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) +
         " cores, " + std::to_string(mem_kb / 1024 / 1024) + " GiB";
}

class json_out {
 public:
  void num(const std::string& k, double v) {
    char buf[64];
    if (std::isfinite(v)) {
      std::snprintf(buf, sizeof buf, "%.6g", v);
    } else {
      std::snprintf(buf, sizeof buf, "null");
    }
    add(k, buf);
  }
  void integer(const std::string& k, int64_t v) { add(k, std::to_string(v)); }
  void text(const std::string& k, const std::string& v) {
    std::string q = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') {
        q += '\\';
      }
      q += c;
    }
    add(k, q + "\"");
  }
  void boolean(const std::string& k, bool v) { add(k, v ? "true" : "false"); }
  std::string str() const { return "{\n" + body_ + "\n}\n"; }

 private:
  void add(const std::string& k, const std::string& v) {
    if (!body_.empty()) {
      body_ += ",\n";
    }
    body_ += "  \"" + k + "\": " + v;
  }
  std::string body_;
};

struct row {
  std::string figure;
  std::string value;
  std::string target;
};

std::string fmt(const char* f, double v) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string size_name(int n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) {
    return std::to_string(n / 1'000'000) + "m";
  }
  if (n >= 1000 && n % 1000 == 0) {
    return std::to_string(n / 1000) + "k";
  }
  return std::to_string(n);
}

int usage() {
  std::fprintf(stderr, "usage: presync_bench [--smoke] [--check] [--out FILE]\n"
                       "                     [--bin-dir DIR] [--work-dir DIR]\n"
                       "                     [--no-coldstart] [--only a,b]"
                       " [--sizes n,m]\n"
                       "  sections for --only: memory ingest delay micro day"
                       " coldstart\n");
  return 2;
}

} // namespace
} // namespace presync::bench

int main(int argc, char** argv) {
  using namespace presync::bench;
  using namespace std::chrono_literals;

  bool smoke = false;
  bool coldstart = true;
  bool check = false;
  int changes_given = 0;
  std::string only; ///< ",memory,day," runs just those sections
  std::vector<int> sizes_given;
  std::string out_file = "build/bench.json";
  std::string bin_dir;
  std::string work_dir = "build/bench-work";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke") {
      smoke = true;
    } else if (a == "--no-coldstart") {
      coldstart = false;
    } else if (a == "--changes" && i + 1 < argc) {
      changes_given = std::stoi(argv[++i]);
    } else if (a == "--check") {
      check = true;
    } else if (a == "--only" && i + 1 < argc) {
      only = std::string{","} + argv[++i] + ",";
    } else if (a == "--sizes" && i + 1 < argc) {
      std::stringstream list{argv[++i]};
      std::string item;
      while (std::getline(list, item, ',')) {
        sizes_given.push_back(std::stoi(item));
      }
    } else if (a == "--out" && i + 1 < argc) {
      out_file = argv[++i];
    } else if (a == "--bin-dir" && i + 1 < argc) {
      bin_dir = argv[++i];
    } else if (a == "--work-dir" && i + 1 < argc) {
      work_dir = argv[++i];
    } else {
      return usage();
    }
  }
  if (bin_dir.empty()) {
    std::string self = argv[0];
    auto slash = self.rfind('/');
    bin_dir = slash == std::string::npos ? "." : self.substr(0, slash);
  }
  std::system(("mkdir -p '" + work_dir + "'").c_str());

  // CAF's scheduler policy for the actor figures: `sharing` unless told
  // (docs/PERFORMANCE.md: work stealing spins on 2 cores).
  if (std::getenv("PRESYNC_BENCH_POLICY") == nullptr) {
    setenv("PRESYNC_BENCH_POLICY", "sharing", 1);
  }
  const std::string policy = std::getenv("PRESYNC_BENCH_POLICY");

  auto wanted = [&](const char* section) {
    return only.empty() ||
           only.find(std::string{","} + section + ",") != std::string::npos;
  };
  std::vector<int> sizes =
    smoke ? std::vector<int>{200, 1000}
          : std::vector<int>{1000, 10'000, 100'000, 1'000'000};
  if (!sizes_given.empty()) {
    sizes = sizes_given;
  }
  if (!wanted("memory")) {
    sizes.clear();
  }
  const int headline = smoke ? 1000 : 100'000;
  const int changes = changes_given > 0 ? changes_given : smoke ? 4 : 8;
  const auto hold = smoke ? presync::duration{300ms} : presync::duration{15s};

  // The actor figures, each in its own process. Persons are measured at
  // rest, as idle persons are with the default actors.rest_after (the
  // sweep period does not change what a resting person costs; 1 s keeps
  // the run short), and at the headline size once more with every actor
  // running.
  std::printf("== memory per person\n");
  const presync::duration rest_after = std::chrono::seconds{1};
  auto print_memory = [](const memory_figure& f) {
    std::printf(
      "  %8d persons: %7.0f bytes/person (heap in use %.0f; %s), "
      "journal %2.0f entries, start %.1f s, fill %.1f s "
      "(%.2f µs CPU/input)\n",
      f.persons, f.bytes_per_person, f.heap_bytes_per_person,
      f.rest_after_s > 0 ? (std::to_string(f.resting) + " resting").c_str()
                         : "every actor running",
      f.journal_entries, f.start_seconds, f.fill_seconds, f.cpu_us_per_input);
    std::fflush(stdout);
  };
  std::vector<memory_figure> memory;
  for (int n : sizes) {
    memory.push_back(isolated<memory_figure>(
      [&] { return measure_memory(n, changes, hold, rest_after); }));
    print_memory(memory.back());
  }
  memory_figure awake;
  if (!sizes.empty()) {
    awake = isolated<memory_figure>([&] {
      return measure_memory(headline, changes, hold, presync::duration{0});
    });
    print_memory(awake);
  }

  std::printf("== ingest\n");
  ingest_figure ingest;
  if (wanted("ingest"))
    ingest = isolated<ingest_figure>([&] {
      return smoke ? measure_ingest(100, 2000, 1)
                   : measure_ingest(10'000, 100'000, 3);
    });
  std::printf("  %.0f records/CPU-s to a decision, simdjson alone %.0f, "
              "ratio %.3f\n",
              ingest.presync_per_cpu_s, ingest.simdjson_per_cpu_s,
              ingest.ratio);

  // The engine delay with every actor running (as with the default
  // actors.rest_after of 60 s, which is longer than any hold here), and
  // again with persons resting after 5 s: each rests during its hold and
  // is woken ahead of it, the harder case.
  std::printf("== engine delay\n");
  auto engine_delay = [&](presync::duration rest) {
    return isolated<delay_figure>([&] {
      const auto gather = day_params{}.gather_window;
      // The smoke run rests after 1 s and runs 4 s, so that inputs come
      // to resting persons.
      const bool resting = rest > presync::duration{0};
      return smoke
               ? measure_engine_delay(1000, 200, resting ? 4s : 2s, 300ms,
                                      gather, resting ? 1s : rest)
               : measure_engine_delay(100'000, 1000, 30s, 15s, gather, rest);
    });
  };
  auto print_delay = [](const delay_figure& f) {
    std::printf("  %d persons, %.0f changes/s, %s: p50 %.2f ms, p99 %.2f ms, "
                "max %.2f ms to the request leaving (%.0f ms gather); "
                "to the writer p50 %.2f, p99 %.2f, max %.2f ms "
                "(%lld samples, %llu wakes)\n",
                f.persons, f.changes_per_second,
                f.rest_after_s > 0 ? "resting" : "every actor running",
                f.p50_ms, f.p99_ms, f.max_ms, f.gather_ms, f.writer_p50_ms,
                f.writer_p99_ms, f.writer_max_ms,
                static_cast<long long>(f.samples),
                static_cast<unsigned long long>(f.woken));
    std::fflush(stdout);
  };
  delay_figure delay;
  delay_figure delay_resting;
  if (wanted("delay")) {
    delay = engine_delay(presync::duration{0});
    print_delay(delay);
    delay_resting = engine_delay(std::chrono::seconds{5});
    print_delay(delay_resting);
  }

  // Micro-benchmarks (this process from here on).
  std::printf("== micro-benchmarks\n");
  std::vector<std::string> gb_args = {
    argv[0], smoke ? "--benchmark_min_time=0.01" : "--benchmark_min_time=0.3"};
  std::vector<char*> gb_argv;
  for (auto& s : gb_args) {
    gb_argv.push_back(s.data());
  }
  int gb_argc = static_cast<int>(gb_argv.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());
  collecting_reporter reporter;
  if (wanted("micro")) {
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }

  std::printf("== generated day\n");
  day_params dp;
  if (smoke) {
    dp.agents = 60;
    dp.office_users = 60;
    dp.length = 20min;
  }
  day_figures day;
  // The same day with other gather windows (graph.write_gather).
  const std::vector<std::chrono::milliseconds> windows{20ms, 250ms, 500ms, 1s};
  std::vector<day_figures> day_windows;
  if (wanted("day")) {
    day = replay_day(dp);
    for (auto w : windows) {
      auto other = dp;
      other.gather_window = w;
      day_windows.push_back(replay_day(other));
    }
  }
  auto per_change = [](const policy_figures& p) {
    return p.propagated_changes == 0
             ? 0.0
             : static_cast<double>(p.graph_write_requests) /
                 static_cast<double>(p.propagated_changes);
  };
  for (const auto* p : {&day.presync, &day.seed, &day.polling}) {
    std::printf("  %-8s Graph %9lld (writes %8lld, reads %9lld), writes "
                "%7lld, changes %6lld, redundant %6lld, resets %6lld\n",
                p->name.c_str(), static_cast<long long>(p->graph_requests),
                static_cast<long long>(p->graph_write_requests),
                static_cast<long long>(p->graph_read_requests),
                static_cast<long long>(p->teams_writes),
                static_cast<long long>(p->propagated_changes),
                static_cast<long long>(p->redundant_writes),
                static_cast<long long>(p->visible_resets));
  }

  cold_start_figure cold;
  if (coldstart && !smoke && wanted("coldstart")) {
    std::printf("== cold start (presync demo, 10,000 persons)\n");
    std::fflush(stdout);
    cold = measure_cold_start(bin_dir, 2000, 8000, work_dir);
    std::printf("  ready after %.1f s (directory %.1f s, persons started "
                "%.1f s); demo %s\n",
                cold.seconds, cold.directory_s, cold.started_s,
                cold.passed ? "passed" : "FAILED");
  }

  // The table.
  memory_figure none;
  const memory_figure* head = memory.empty() ? &none : &memory.back();
  for (const auto& m : memory) {
    if (m.persons == headline) {
      head = &m;
    }
  }
  std::vector<row> rows;
  rows.push_back({"ingest (records/CPU-s to a decision)",
                  fmt("%.0f", ingest.presync_per_cpu_s), ""});
  rows.push_back({"ingest, simdjson alone (records/CPU-s)",
                  fmt("%.0f", ingest.simdjson_per_cpu_s), ""});
  rows.push_back({"ingest ratio", fmt("%.3f", ingest.ratio), ">= 0.5"});
  for (const auto& m : memory) {
    rows.push_back(
      {"bytes per person at " + size_name(m.persons) + " (resting)",
       fmt("%.0f", m.bytes_per_person),
       m.persons == headline ? "<= 1024" : ""});
  }
  if (awake.persons > 0) {
    rows.push_back({"bytes per person at " + size_name(awake.persons) +
                      ", every actor running",
                    fmt("%.0f", awake.bytes_per_person), ""});
  }
  for (const auto& m : memory) {
    rows.push_back({"CPU per input at " + size_name(m.persons) + " (µs)",
                    fmt("%.2f", m.cpu_us_per_input), "flat"});
  }
  rows.push_back({"Graph requests per propagated change",
                  fmt("%.3f", per_change(day.presync)), "<= 0.06"});
  for (size_t k = 0; k < day_windows.size(); ++k) {
    rows.push_back(
      {"  the same with a " + std::to_string(windows[k].count()) + " ms gather",
       fmt("%.3f", per_change(day_windows[k].presync)), ""});
  }
  rows.push_back(
    {"floor per change (held ÷ 20)",
     fmt("%.3f", day.presync.propagated_changes
                   ? day.floor_requests /
                       static_cast<double>(day.presync.propagated_changes)
                   : 0.0),
     ""});
  rows.push_back({"reads per poll cycle (day replay)",
                  std::to_string(day.reads_per_cycle),
                  "= " + std::to_string(day.reads_per_cycle_floor)});
  if (cold.measured) {
    rows.push_back({"reads per poll cycle (emulator, 10k)",
                    fmt("%.2f", cold.poll_requests_per_cycle), "= 16"});
  }
  rows.push_back({"redundant writes (day replay)",
                  std::to_string(day.presync.redundant_writes), "0"});
  rows.push_back({"engine delay p50 / p99 / max (ms)",
                  fmt("%.2f", delay.p50_ms) + " / " +
                    fmt("%.2f", delay.p99_ms) + " / " +
                    fmt("%.2f", delay.max_ms),
                  "p99 <= 50"});
  rows.push_back({"  of which up to the writer (ms)",
                  fmt("%.2f", delay.writer_p50_ms) + " / " +
                    fmt("%.2f", delay.writer_p99_ms) + " / " +
                    fmt("%.2f", delay.writer_max_ms),
                  ""});
  rows.push_back({"  the same, persons resting after 5 s (ms)",
                  fmt("%.2f", delay_resting.p50_ms) + " / " +
                    fmt("%.2f", delay_resting.p99_ms) + " / " +
                    fmt("%.2f", delay_resting.max_ms),
                  ""});
  rows.push_back({"cold start at 10k (s)",
                  cold.measured ? fmt("%.1f", cold.seconds) : "not run",
                  "<= 30"});
  rows.push_back({"Graph requests of the day: presync",
                  std::to_string(day.presync.graph_requests), ""});
  rows.push_back(
    {"  seed policy", std::to_string(day.seed.graph_requests), ""});
  rows.push_back(
    {"  polling policy", std::to_string(day.polling.graph_requests), ""});
  rows.push_back({"visible status resets: presync / seed / polling",
                  std::to_string(day.presync.visible_resets) + " / " +
                    std::to_string(day.seed.visible_resets) + " / " +
                    std::to_string(day.polling.visible_resets),
                  ""});
  for (const auto& [name, ns] : reporter.ns_per_op) {
    rows.push_back({"micro: " + name + " (ns)", fmt("%.0f", ns), ""});
  }

  std::printf("\n%-52s %-26s %s\n", "figure", "value", "target");
  for (const auto& r : rows) {
    std::printf("%-52s %-26s %s\n", r.figure.c_str(), r.value.c_str(),
                r.target.c_str());
  }
#ifdef PRESYNC_WITH_JEMALLOC
  const std::string allocator = "jemalloc";
#else
  const std::string allocator = "glibc";
#endif
  std::printf("\nmachine: %s; CAF scheduler policy %s; allocator %s\n",
              machine_description().c_str(), policy.c_str(), allocator.c_str());

  // The JSON.
  json_out j;
  j.boolean("smoke", smoke);
  j.text("machine", machine_description());
  j.text("scheduler_policy", policy);
  j.text("allocator", allocator);
  j.num("ingest_ratio", ingest.ratio);
  j.num("ingest_records_per_cpu_s", ingest.presync_per_cpu_s);
  j.num("ingest_simdjson_records_per_cpu_s", ingest.simdjson_per_cpu_s);
  j.num("ingest_parse_only_records_per_cpu_s", ingest.parse_only_per_cpu_s);
  j.num("ingest_record_bytes", ingest.record_bytes);
  // Smoke sizes stand in for 100k under the key.
  if (head->persons != 100'000) {
    j.num("bytes_per_person_100k", head->bytes_per_person);
  }
  if (awake.persons > 0) {
    j.num("bytes_per_person_" + size_name(awake.persons) + "_awake",
          awake.bytes_per_person);
  }
  j.num("memory_rest_after_s",
        std::chrono::duration<double>(rest_after).count());
  for (const auto& m : memory) {
    j.num("persons_resting_" + size_name(m.persons),
          static_cast<double>(m.resting));
    j.num("bytes_per_person_" + size_name(m.persons), m.bytes_per_person);
    j.num("cpu_us_per_input_" + size_name(m.persons), m.cpu_us_per_input);
    j.num("journal_entries_" + size_name(m.persons), m.journal_entries);
  }
  j.num("graph_requests_per_change", per_change(day.presync));
  for (size_t k = 0; k < day_windows.size(); ++k) {
    j.num("graph_requests_per_change_gather_" +
            std::to_string(windows[k].count()) + "ms",
          per_change(day_windows[k].presync));
  }
  j.num("graph_requests_floor", day.floor_requests);
  j.num("graph_requests_floor_per_change",
        day.presync.propagated_changes
          ? day.floor_requests /
              static_cast<double>(day.presync.propagated_changes)
          : 0.0);
  j.integer("held_changes", day.held_changes);
  j.integer("propagated_changes", day.presync.propagated_changes);
  j.num("reads_per_cycle", cold.measured && cold.poll_requests_per_cycle > 0
                             ? cold.poll_requests_per_cycle
                             : static_cast<double>(day.reads_per_cycle));
  j.integer("reads_per_cycle_day", day.reads_per_cycle);
  j.integer("reads_per_cycle_floor",
            cold.measured ? 16 : day.reads_per_cycle_floor);
  j.integer(
    "redundant_writes",
    day.presync.redundant_writes +
      (cold.measured ? std::max<int64_t>(0, cold.redundant_writes) : 0));
  j.num("engine_delay_p50_ms_100k", delay.p50_ms);
  j.num("engine_delay_p99_ms_100k", delay.p99_ms);
  j.num("engine_delay_max_ms_100k", delay.max_ms);
  j.num("engine_delay_to_writer_p50_ms_100k", delay.writer_p50_ms);
  j.num("engine_delay_to_writer_p99_ms_100k", delay.writer_p99_ms);
  j.num("engine_delay_to_writer_max_ms_100k", delay.writer_max_ms);
  j.num("engine_delay_gather_ms", delay.gather_ms);
  j.num("engine_delay_p50_ms_100k_resting", delay_resting.p50_ms);
  j.num("engine_delay_p99_ms_100k_resting", delay_resting.p99_ms);
  j.num("engine_delay_max_ms_100k_resting", delay_resting.max_ms);
  j.integer("engine_delay_resting_wakes",
            static_cast<int64_t>(delay_resting.woken));
  j.integer("engine_delay_samples", delay.samples);
  j.num("cold_start_s_10k", cold.measured ? cold.seconds : NAN);
  j.integer("day_persons", day.persons);
  j.integer("presync_graph_requests", day.presync.graph_requests);
  j.integer("presync_graph_write_requests", day.presync.graph_write_requests);
  j.integer("presync_visible_resets", day.presync.visible_resets);
  j.integer("seed_policy_graph_requests", day.seed.graph_requests);
  j.integer("seed_policy_visible_resets", day.seed.visible_resets);
  j.integer("seed_policy_redundant_writes", day.seed.redundant_writes);
  j.integer("polling_policy_graph_requests", day.polling.graph_requests);
  j.integer("polling_policy_visible_resets", day.polling.visible_resets);
  for (const auto& [name, ns] : reporter.ns_per_op) {
    j.num("micro_" + name + "_ns", ns);
  }
  std::ofstream out{out_file};
  out << j.str();
  out.close();
  std::printf("wrote %s\n", out_file.c_str());
  if (!out) {
    std::fprintf(stderr, "bench: cannot write %s\n", out_file.c_str());
    return 1;
  }

  // --check (ctest's bench_smoke): every figure was produced and is sane.
  // Counts and correctness only; never a timing.
  if (!check) {
    return 0;
  }
  std::vector<std::string> problems;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) {
      problems.push_back(what);
    }
  };
  expect(ingest.records > 0 && ingest.presync_per_cpu_s > 0 &&
           ingest.simdjson_per_cpu_s > 0 && ingest.ratio > 0,
         "ingest figures missing");
  expect(memory.size() == sizes.size(), "a memory size was not measured");
  for (const auto& m : memory) {
    expect(m.bytes_per_person > 0,
           "bytes per person at " + size_name(m.persons) + " not positive");
    expect(m.journal_entries > 0,
           "no journal entries at " + size_name(m.persons));
    expect(m.resting == m.persons, "only " + std::to_string(m.resting) +
                                     " of " + std::to_string(m.persons) +
                                     " persons rested at " +
                                     size_name(m.persons));
  }
  expect(delay.samples > 0, "no engine delay samples");
  expect(delay_resting.woken > 0, "no person was woken in the resting run");
  expect(smoke || delay_resting.samples == delay.samples,
         "resting changed the number of writes: " +
           std::to_string(delay_resting.samples) + " against " +
           std::to_string(delay.samples));
  expect(delay.max_ms >= delay.p99_ms && delay.p99_ms >= delay.p50_ms,
         "delay percentiles out of order");
  // The gather rule on a known sequence: two leave full at the second's
  // arrival, the third waits its window, the fourth comes after that.
  expect(gather_departures({0, 10, 20, 200}, 100, 2) ==
           std::vector<int64_t>{10, 10, 120, 300},
         "gather_departures does not follow the writer's rule");
  expect(delay.p50_ms >= delay.writer_p50_ms &&
           delay.max_ms >= delay.writer_max_ms,
         "the request left before the write reached the writer");
  expect(day.presync.propagated_changes > 0 && day.held_changes > 0,
         "the generated day propagated nothing");
  expect(day.presync.graph_requests > 0 && day.seed.graph_requests > 0 &&
           day.polling.graph_requests > 0,
         "a policy made no Graph request");
  expect(day.reads_per_cycle == day.reads_per_cycle_floor,
         "reads per cycle differ from ceil(persons / 650)");
  expect(day.presync.redundant_writes == 0, "presync wrote redundantly");
  expect(reporter.ns_per_op.size() >= 5, "a micro-benchmark did not run");
  for (const auto& p : problems) {
    std::fprintf(stderr, "bench check: %s\n", p.c_str());
  }
  return problems.empty() ? 0 : 1;
}
