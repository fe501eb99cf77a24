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
#include <vector>

#include <pthread.h>

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

SIGTERM or SIGINT: stop taking in changes, flush queued writes for at most
server.shutdown_grace, exit 0. A second signal exits at once (status 1).

State (Kinesis checkpoints) is kept in store.path, created on first
start. A store file that cannot be read (corrupt, not a presync store, or
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
    if (arg == "--config" && i + 1 < argc) {
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
    std::fputs(usage, stderr);
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
  } catch (const std::exception& e) {
    logger().error("metrics_listen_failed",
                   {log::kv("address", cfg->metrics.listen.to_string()),
                    log::kv("error", e.what())});
    return 1;
  }

  // The durable state: a store that cannot be read stops the start, so a
  // damaged file never turns silently into a fresh start.
  auto store = store::open_state_store(cfg->store.path, reset_state);
  if (!store) {
    return 1;
  }

  std::vector<std::unique_ptr<tenant_runtime>> tenants;
  for (const auto& t : cfg->tenants) {
    tenants.push_back(std::make_unique<tenant_runtime>(sys, t, metrics, env));
    tenants.back()->use_store(store.get());
  }

  api_context ctx;
  ctx.tenants = &tenants;
  ctx.tokens = parse_api_tokens(env(cfg->server.api_tokens_env).value_or(""));
  auto api = http::server::start(
    cfg->server.listen.to_string(),
    [&ctx](const http::server_request& req) { return handle_api(ctx, req); });
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

  // Wait for a signal. SIGHUP will reload the config (issue 8); until
  // then it is acknowledged and ignored.
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) {
      break;
    }
    logger().warning("reload_not_supported",
                     {log::kv("detail", "restart presync to apply changes")});
  }
  logger().info(
    "stopping",
    {log::kv("signal", sig),
     log::kv("grace_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
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
  tenants.clear();
  if (auto e = store->flush()) {
    logger().error("store_write_failed", {log::kv("error", e->describe())});
  }
  store.reset();
  logger().info("stopped", {log::kv("writes_left", left.load())});
  return 0;
}

} // namespace presync::app
