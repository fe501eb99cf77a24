#include "app/run_cmd.hpp"

#include "adapters/http/server.hpp"
#include "adapters/log/log.hpp"
#include "adapters/metrics/metrics.hpp"
#include "adapters/store/startup.hpp"
#include "app/api.hpp"
#include "app/runtime_config.hpp"
#include "app/tenant_runtime.hpp"
#include "config/config.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <pthread.h>
#include <sys/stat.h>

namespace presync::app {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* usage =
  R"(usage: presync run --config FILE [--reset-state]

Runs the sync service: every tenant of FILE (see config/examples/ and
`presync check-config`), the API server with /healthz and /readyz on
server.listen, and Prometheus metrics on metrics.listen. Logs are one JSON
object per line on stdout.

Secrets come from the environment variables the file names (the Graph
client secret, the API tokens) and AWS credentials from the usual AWS
variables (keys, web identity or the container endpoint).

SIGHUP, or a change of FILE (also through a swapped symlink, as a
Kubernetes ConfigMap update does): re-read FILE. Maps, holds, windows,
rate limits, identity rules and the log level apply at once; an invalid
file is rejected with check-config's messages and the running config
stays; changes that need a restart (tenants, ports, endpoints, ids) are
logged as such.

SIGTERM or SIGINT: stop taking in changes, flush queued writes for at most
server.shutdown_grace, exit 0. A second signal exits at once (status 1).

State (Kinesis checkpoints, each person's state and the last value written
to each side) is kept in store.path, created on first start; a restart
resumes from it, reconciles both sides and re-writes nothing already
right. A store file that cannot be read (corrupt, not a presync store, or
from a newer version) stops the start with a message naming it;
--reset-state deletes it and starts fresh. A missing file is a fresh start.

exit status: 0 after a shutdown, 1 on a start-up failure (a port that
cannot be bound), 2 for a usage error or an invalid config file
)";

const log::logger& logger() {
  static const log::logger l{"main"};
  return l;
}

log::level to_log_level(config::log_config::level l) {
  switch (l) {
  case config::log_config::level::debug:
    return log::level::debug;
  case config::log_config::level::info:
    return log::level::info;
  case config::log_config::level::warning:
    return log::level::warning;
  case config::log_config::level::error:
    return log::level::error;
  }
  return log::level::info;
}

/// Tells whether a config file changed: its resolved inode, size or
/// modification time.
class config_watch {
 public:
  explicit config_watch(std::string path) : path_(std::move(path)) {
    changed();
  }

  bool changed() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      return false; // gone for a moment while a symlink is swapped
    }
    auto now = std::make_tuple(st.st_ino, st.st_size, st.st_mtim.tv_sec,
                               st.st_mtim.tv_nsec);
    bool differs = now != last_;
    last_ = now;
    return differs;
  }

 private:
  std::string path_;
  std::tuple<ino_t, off_t, time_t, long> last_{};
};

/// Lists top-level settings that only a restart applies.
std::vector<std::string> restart_only_changes(const config::presync_config& a,
                                              const config::presync_config& b) {
  std::vector<std::string> out;
  std::vector<std::string> ids_a;
  std::vector<std::string> ids_b;
  for (const auto& t : a.tenants) {
    ids_a.push_back(t.id);
  }
  for (const auto& t : b.tenants) {
    ids_b.push_back(t.id);
  }
  if (ids_a != ids_b) {
    out.emplace_back("tenants");
  }
  if (a.server.listen.to_string() != b.server.listen.to_string()) {
    out.emplace_back("server.listen");
  }
  if (a.server.api_tokens_env != b.server.api_tokens_env) {
    out.emplace_back("server.api_tokens_env");
  }
  if (a.server.read_timeout != b.server.read_timeout) {
    out.emplace_back("server.read_timeout");
  }
  if (a.metrics.listen.to_string() != b.metrics.listen.to_string()) {
    out.emplace_back("metrics.listen");
  }
  if (a.store.path != b.store.path) {
    out.emplace_back("store.path");
  }
  if (a.actors.scheduler_threads != b.actors.scheduler_threads ||
      a.actors.scheduler_policy != b.actors.scheduler_policy ||
      a.actors.throughput != b.actors.throughput ||
      a.actors.rest_after != b.actors.rest_after) {
    out.emplace_back("actors");
  }
  return out;
}

/// Re-reads the config. An invalid file is rejected with check-config's
/// messages and the running config stays; a valid one applies what can
/// apply while running (log level, each tenant's sync settings and rate
/// limits) and names what needs a restart.
void reload(const std::string& file, config::presync_config& running,
            std::vector<std::unique_ptr<tenant_runtime>>& tenants,
            metrics::sync_metrics& metrics, const config::env_lookup& env) {
  config::diagnostics diags{file};
  auto next = config::load_config_file(file, diags, env);
  if (!next) {
    for (const auto& line : diags.format_all()) {
      logger().error("config_problem", {log::kv("detail", line)});
    }
    logger().error("config_rejected",
                   {log::kv("config", file),
                    log::kv("errors", diags.error_count()),
                    log::kv("detail", "the running config stays")});
    metrics.count_config_reload(false);
    return;
  }

  log::set_level(to_log_level(next->log.min_level));
  for (const auto& path : restart_only_changes(running, *next)) {
    logger().warning("config_change_needs_restart", {log::kv("path", path)});
  }
  for (auto& t : tenants) {
    for (const auto& nt : next->tenants) {
      if (nt.id == t->id()) {
        t->reload(nt);
      }
    }
  }
  auto restart_only = running;
  running = *next;
  running.tenants = restart_only.tenants; // what the runtimes started with
  running.server.listen = restart_only.server.listen;
  running.server.read_timeout = restart_only.server.read_timeout;
  running.metrics.listen = restart_only.metrics.listen;
  metrics.count_config_reload(true);
  logger().info("config_reloaded", {log::kv("config", file)});
}

/// Logs the store's counters: rows asked for and written, transactions.
void log_store_stats(const store::sqlite_store& store) {
  auto st = store.stats();
  logger().info("store_stats", {log::kv("queued", st.queued),
                                log::kv("coalesced", st.coalesced),
                                log::kv("committed", st.committed),
                                log::kv("batches", st.batches)});
}

} // namespace

int run_main(int argc, char** argv) {
  std::string file;
  bool reset_state = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (arg == "--config") {
      if (i + 1 == argc) {
        std::fprintf(stderr, "presync run: --config needs a FILE\n\n%s", usage);
        return 2;
      }
      file = argv[++i];
    } else if (arg == "--reset-state") {
      reset_state = true;
    } else {
      std::fprintf(stderr, "presync run: unexpected argument '%s'\n\n%s",
                   argv[i], usage);
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "presync run: --config FILE is required\n\n%s", usage);
    return 2;
  }

  // The config must be valid as a whole before anything starts.
  auto env = config::process_environment();
  config::diagnostics diags{file};
  auto cfg = config::load_config_file(file, diags, env);
  for (const auto& line : diags.format_all()) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  if (!cfg) {
    std::fprintf(stderr, "presync run: %s is not valid; nothing started\n",
                 file.c_str());
    return 2;
  }
  log::set_level(to_log_level(cfg->log.min_level));

  // Signals are taken by this thread alone, with sigwait; every thread
  // started from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config sys_cfg;
  if (auto err = configure_actor_system(sys_cfg, cfg->actors)) {
    std::fprintf(stderr, "presync run: actors: %s\n", err->describe().c_str());
    return 2;
  }
  caf::actor_system sys{sys_cfg};

  auto registry = std::make_shared<prometheus::Registry>();
  auto metrics = std::make_shared<metrics::sync_metrics>(registry);
  std::unique_ptr<metrics::metrics_server> metrics_server;
  try {
    metrics_server = std::make_unique<metrics::metrics_server>(
      cfg->metrics.listen.to_string(), registry);
  } catch (const std::exception&) {
    // prometheus-cpp says only that its server could not start; the
    // usual cause is a port in use or an address not on this machine.
    logger().error(
      "metrics_listen_failed",
      {log::kv("address", cfg->metrics.listen.to_string()),
       log::kv("error", "cannot listen on " + cfg->metrics.listen.to_string() +
                          " (port in use, or not an address "
                          "of this machine)")});
    std::fprintf(stderr, "presync run: metrics.listen: cannot listen on %s\n",
                 cfg->metrics.listen.to_string().c_str());
    return 1;
  }

  // The durable state: a store that cannot be read stops the start, so a
  // damaged file never turns silently into a fresh start.
  auto store = store::open_state_store(
    cfg->store.path, reset_state, [metrics](double seconds) {
      metrics->observe_store_write("commit", seconds);
    });
  if (!store) {
    return 1;
  }

  std::vector<std::unique_ptr<tenant_runtime>> tenants;
  for (const auto& t : cfg->tenants) {
    tenants.push_back(std::make_unique<tenant_runtime>(sys, t, metrics, env));
    tenants.back()->use_store(store.get());
    tenants.back()->rest_persons_after(cfg->actors.rest_after);
  }

  // The API answers from the tenants' directories; event streams and
  // click-to-dial calls run off the server's thread.
  auto events = std::make_unique<event_hub>();
  auto blocking = std::make_unique<task_runner>();
  api_context ctx;
  ctx.tenants = &tenants;
  ctx.directory_of = [](const tenant_runtime& t) {
    return &t.directory();
  };
  ctx.tokens = parse_api_tokens(env(cfg->server.api_tokens_env).value_or(""));
  ctx.cors_origins = cfg->server.cors_origins;
  ctx.events = events.get();
  ctx.blocking = blocking.get();
  http::server_limits api_limits;
  api_limits.read_timeout = cfg->server.read_timeout;
  auto api = http::server::start(
    cfg->server.listen.to_string(),
    http::async_request_handler{
      [&ctx](http::server_request req, http::responder out) {
        serve_api(ctx, std::move(req), std::move(out));
      }},
    api_limits);
  if (!api) {
    logger().error("api_listen_failed",
                   {log::kv("address", cfg->server.listen.to_string()),
                    log::kv("error", api.err().describe())});
    return 1;
  }
  logger().info("started",
                {log::kv("config", file),
                 log::kv("tenants", cfg->tenants.size()),
                 log::kv("api_port", int{(*api)->port()}),
                 log::kv("metrics_port", int{metrics_server->port()})});
  for (auto& t : tenants) {
    t->start();
  }

  // Wait for a signal, and watch the file: SIGHUP or a change of what the
  // path resolves to (a ConfigMap update swaps a symlink) reloads it.
  config_watch watch{file};
  int sig = 0;
  auto next_store_stats = steady::now() + 10s;
  for (;;) {
    timespec wait{2, 0};
    siginfo_t info;
    sig = sigtimedwait(&signals, &info, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      break;
    }
    if (steady::now() >= next_store_stats) {
      next_store_stats += 10s;
      log_store_stats(*store);
    }
    // Both test the file, so an edit followed by SIGHUP reloads once.
    bool edited = watch.changed();
    if (sig == SIGHUP || edited) {
      reload(file, *cfg, tenants, *metrics, env);
    }
  }
  logger().info(
    "stopping",
    {log::kv("signal", sig),
     log::kv("grace", std::chrono::duration_cast<std::chrono::milliseconds>(
                        cfg->server.shutdown_grace))});

  // Drain on a thread of its own, so that a second signal still ends the
  // process at once.
  std::atomic<bool> drained{false};
  std::atomic<uint64_t> left{0};
  auto deadline = steady::now() + cfg->server.shutdown_grace;
  std::thread drain{[&] {
    for (auto& t : tenants) {
      left += t->shut_down(deadline);
    }
    drained = true;
  }};
  timespec tick{0, 100'000'000};
  while (!drained) {
    siginfo_t info;
    int got = sigtimedwait(&signals, &info, &tick);
    if (got == SIGTERM || got == SIGINT) {
      logger().warning("stopped_at_once",
                       {log::kv("detail", "second signal during drain")});
      std::fflush(stdout);
      std::_Exit(1);
    }
  }
  drain.join();
  api->reset();
  events.reset();
  blocking.reset();
  tenants.clear();
  if (auto e = store->flush()) {
    logger().error("store_write_failed", {log::kv("error", e->describe())});
  }
  log_store_stats(*store);
  store.reset();
  logger().info("stopped", {log::kv("writes_left", left.load())});
  return 0;
}

} // namespace presync::app
