// One tenant of `presync run` (DESIGN.md §2): the Graph and Connect
// clients, the directory and identity matching, the first reads of both
// sides, and the actors that keep them in step — supervisor and person
// actors, write queues, the presence writer and poller, the Kinesis
// consumer and the Connect writer.
//
// A tenant runs on a thread of its own. Its start sequence retries every
// step that fails for a reason outside presync (a token endpoint down, a
// throttled directory read) with a capped back-off until it succeeds or
// the process stops, so one tenant's trouble never blocks another.
#pragma once

#include "actors/messages.hpp"
#include "app/tenant_directory.hpp"
#include "config/config.hpp"
#include "protocol/identity.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace presync::metrics {
class sync_metrics;
} // namespace presync::metrics

namespace presync::connect {
struct user_summary;
} // namespace presync::connect

namespace presync::store {
class state_store;
} // namespace presync::store

namespace presync::app {

/// Counters of one tenant since start, for the summary line.
struct tenant_totals {
  uint64_t connect_events = 0; ///< connect_change inputs
  uint64_t teams_changes = 0;  ///< teams_observation inputs
  uint64_t teams_writes = 0;   ///< write results for Teams (not refreshes)
  uint64_t connect_writes = 0; ///< write results for Connect
  uint64_t refreshes = 0;
  uint64_t throttled = 0; ///< write attempts answered throttled
  uint64_t failed = 0;    ///< write attempts given up
  std::map<std::string, uint64_t> decisions; ///< by decision name
  uint64_t http_requests =
    0; ///< every outbound request: Graph, Connect, Kinesis
  uint64_t connect_requests = 0; ///< Connect API calls
  uint64_t kinesis_calls = 0;    ///< GetRecords calls
  uint64_t kinesis_records = 0;  ///< records read
  uint64_t kinesis_malformed = 0;
  uint64_t kinesis_failures = 0; ///< failed or throttled Kinesis calls
  uint64_t poll_cycles = 0;      ///< presence poll cycles completed
  uint64_t poll_failures = 0;    ///< presence batches failed
};

/// Where a tenant is in its life.
enum class tenant_phase : uint8_t {
  starting, ///< the start sequence runs
  running,  ///< actors run; ready once the first poll cycle completed
  draining, ///< intake stopped, queued writes flushing
  stopped,
};

/// One tenant's runtime. Thread-safe observers; start and stop from the
/// owning thread.
class tenant_runtime {
 public:
  tenant_runtime(caf::actor_system& sys, config::tenant_config cfg,
                 std::shared_ptr<metrics::sync_metrics> metrics,
                 config::env_lookup env);
  ~tenant_runtime();

  tenant_runtime(const tenant_runtime&) = delete;
  tenant_runtime& operator=(const tenant_runtime&) = delete;

  /// Starts the tenant's thread: the start sequence, then the periodic
  /// work (directory refresh, readiness, the summary line every minute).
  void start();

  /// Keeps the tenant's durable state in `store` (Kinesis checkpoints,
  /// person records, the last value written to each side), which must
  /// outlive the tenant; without it everything lives in memory and every
  /// start is fresh. Call before start().
  void use_store(store::state_store* store) { store_ = store; }

  /// Lets an idle person actor end after `idle` (actors.rest_after; zero:
  /// never). Call before start().
  void rest_persons_after(duration idle) { rest_after_ = idle; }

  /// Stops taking in changes (poller, consumer), waits until the write
  /// queues are empty or `deadline` passes, then ends every actor. Returns
  /// the writes still queued when it gave up (0: all flushed).
  uint64_t shut_down(std::chrono::steady_clock::time_point deadline);

  /// Returns true once the directory is loaded and the first full poll
  /// cycle completed, and the token is valid.
  bool ready() const;

  /// Returns why the tenant is not ready, or "ready".
  std::string readiness() const;

  /// Returns the tenant's id.
  const std::string& id() const { return cfg_.id; }

  /// Returns what the API reads: the directory snapshot (published after
  /// start and every directory round), the presence board, person
  /// queries and click-to-dial. Thread-safe.
  tenant_directory& directory() const { return *directory_; }

  /// Returns the counters so far.
  tenant_totals totals() const;

  /// Applies a new config of this tenant on the tenant's thread: sync
  /// settings (maps, holds, windows), rate limits and identity apply at
  /// once; what the running clients were built with (endpoints, ids,
  /// credentials, the poll interval, the session lifetime) is logged as
  /// needing a restart and kept.
  void reload(config::tenant_config next);

  /// Returns the identity conflicts of the last directory round (accounts
  /// not synced).
  std::vector<identity_conflict> conflicts() const;

  struct parts;

 private:
  void run();
  bool start_sequence();
  void rebuild_teams_accounts();
  void rebuild_agents(const std::vector<connect::user_summary>& users);
  void match_people();
  void refresh_directory(caf::scoped_actor& self);
  void publish_people_counts();
  void publish_directory();
  void apply_reload(caf::scoped_actor& self, config::tenant_config next);
  void periodic();
  void log_summary(const tenant_totals& now, const tenant_totals& before,
                   std::chrono::seconds span);
  bool wait_for(std::chrono::steady_clock::duration d);
  void poll_adapter_counters(caf::scoped_actor& self);
  bool reconcile(const char* reason);
  void log_reconciled(const char* reason, size_t persons, size_t connect,
                      size_t teams, std::chrono::milliseconds took);
  void set_readiness(std::string why);

  caf::actor_system& sys_;
  config::tenant_config cfg_;
  std::shared_ptr<metrics::sync_metrics> metrics_;
  config::env_lookup env_;
  std::unique_ptr<parts> parts_;
  std::unique_ptr<tenant_directory> directory_;

  std::thread thread_;
  mutable std::mutex mutex_; ///< guards the members below
  std::condition_variable wake_;
  bool stopping_ = false;
  bool ready_ = false;
  std::string readiness_ = "starting";
  std::atomic<tenant_phase> phase_{tenant_phase::starting};
  tenant_totals polled_; ///< adapter counters, refreshed by periodic()
  std::vector<identity_conflict> conflicts_; ///< as of the last round
  std::optional<config::tenant_config> pending_reload_;
  store::state_store* store_ = nullptr; ///< durable state; may be null
  duration rest_after_ = config::actors_config{}.rest_after;
};

} // namespace presync::app
